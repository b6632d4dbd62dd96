"""Which characters text from people may hold: one rule for forms, CSV files and banks.

Refused everywhere: C0 controls (NUL above all: PostgreSQL cannot store it, openpyxl cannot
write it, and it has broken session cookies), DEL and C1 controls, UTF-16 surrogates (no
UTF-8 encoding exists for them, so a page or a database write holding one fails), U+FFFE
and U+FFFF (not allowed in XML: XLSX and QTI), the line and paragraph separators U+2028/
U+2029 (invisible line breaks that split log and CSV lines and some script parsers), and
the bidirectional embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069 (they
make a name or a staff number display as something else; Japanese text never needs
them). Multi-line text also allows TAB and LF; a CR of CRLF is normalised to LF first.
Zero-width joiners, variation selectors and similar format characters stay allowed:
names and emoji need them, and they break nothing."""
from __future__ import annotations

import re

_ALWAYS = ("\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e"
           "\u2066-\u2069\ufffe\uffff")
_SINGLE_LINE = re.compile(f"[\t\n{_ALWAYS}]")
_MULTI_LINE = re.compile(f"[{_ALWAYS}]")


def normalise_newlines(text: str) -> str:
    """CRLF (what browsers send from a textarea, and Windows files) as LF."""
    return text.replace("\r\n", "\n")


def find_forbidden(text: str, multiline: bool = False) -> int:
    """The index of the first refused character, or -1. Multi-line text is expected with
    its newlines normalised: a CR left in it is refused."""
    m = (_MULTI_LINE if multiline else _SINGLE_LINE).search(text)
    return m.start() if m else -1


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


_NAMES_JA = {"\t": "タブ", "\n": "改行", "\r": "改行"}


def message_ja(ch: str, label: str = "") -> str:
    """「氏名に使用できない制御文字（U+0000）が含まれています。」 (without a label for a CSV cell,
    whose row and column say where)."""
    where = f"{label}に" if label else ""
    name = f" {_NAMES_JA[ch]}" if ch in _NAMES_JA else ""
    return f"{where}使用できない制御文字（{code_point(ch)}{name}）が含まれています。"


def message_en(ch: str) -> str:
    return f"control character {code_point(ch)} is not allowed"


def scrub(text: str) -> str:
    """One line of text with every refused character replaced by U+FFFD: for what is kept
    but not worth refusing (the name an uploaded file had on the sender's computer)."""
    return _SINGLE_LINE.sub("\ufffd", text)
