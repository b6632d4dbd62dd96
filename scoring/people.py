"""Staff record fields as people type them: one parser per field, shared by the browser
form and the CSV import, each raising ValueError with a Japanese message for a bad value.

No Flask or database here: the caller checks what needs the database (affiliation codes,
staff numbers already taken)."""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from .jpdate import parse_date

STAFF_NUMBER_MAX = 32
NAME_MAX = 64
KANA_MAX = 128
POST_MAX = 64
EMAIL_MAX = 254

_STAFF_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-]*")
# Hiragana, katakana (with the long-vowel mark, middle dot and iteration marks) and spaces.
_KANA = re.compile(r"[\u3041-\u3096\u309D\u309E\u30A1-\u30FA\u30FB\u30FC\u30FD\u30FE ]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _squash_spaces(text: str) -> str:
    """One full-width space between name parts, as Japanese registers write them."""
    return "\u3000".join(text.replace("\u3000", " ").split())


def parse_staff_number(text: str) -> str:
    """Full-width digits typed in Excel become ASCII, so 'Ａ１２３' and 'A123' are one person."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if not s:
        raise ValueError("職員番号が空です")
    if len(s) > STAFF_NUMBER_MAX:
        raise ValueError(f"職員番号は{STAFF_NUMBER_MAX}文字以内にしてください")
    if not _STAFF_NUMBER.fullmatch(s):
        raise ValueError(f"職員番号「{text}」に使えない文字があります（半角英数字とハイフンのみ）")
    return s


def parse_name_kanji(text: str) -> str:
    # No NFKC: it would rewrite some name characters (compatibility ideographs).
    s = _squash_spaces(str(text).strip())
    if not s:
        raise ValueError("氏名が空です")
    if len(s) > NAME_MAX:
        raise ValueError(f"氏名は{NAME_MAX}文字以内にしてください")
    return s


def parse_name_kana(text: str) -> str:
    """ふりがな: hiragana or katakana and spaces; half-width katakana is widened (NFKC)."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if not s:
        raise ValueError("ふりがなが空です")
    if not _KANA.fullmatch(s):
        bad = dict.fromkeys(c for c in s if not _KANA.fullmatch(c))     # in order, once each
        raise ValueError("ふりがなはひらがな・カタカナ・空白で入力してください（使えない文字: "
                         + "".join(f"「{c}」" for c in bad) + "）")
    s = _squash_spaces(s)
    if len(s) > KANA_MAX:
        raise ValueError(f"ふりがなは{KANA_MAX}文字以内にしてください")
    return s


def parse_birth_date(text: str, today: date) -> date:
    """Western or Japanese-era dates (scoring.jpdate.parse_date); not in the future."""
    day = parse_date(text)
    if day >= today:
        raise ValueError(f"生年月日「{text}」が今日以降の日付です")
    return day


def parse_post(text: str) -> str:
    s = _squash_spaces(str(text).strip())
    if not s:
        raise ValueError("官職（階級）が空です")
    if len(s) > POST_MAX:
        raise ValueError(f"官職（階級）は{POST_MAX}文字以内にしてください")
    return s


def parse_email(text: str) -> str:
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if len(s) > EMAIL_MAX or not _EMAIL.fullmatch(s):
        raise ValueError(f"メールアドレス「{text}」の形式が正しくありません")
    return s


def parse_category(text: str, known: tuple[str, ...]) -> str:
    s = str(text).strip()
    if s not in known:
        raise ValueError(f"勤務形態「{text}」は登録できません（使える値: " + "、".join(known) + "）")
    return s


def kana_variants(text: str) -> set[str]:
    """A search for ふりがな finds hiragana and katakana spellings alike, typed with either
    space (stored furigana use the full-width one)."""
    s = _squash_spaces(unicodedata.normalize("NFKC", text))
    hira = "".join(chr(ord(c) - 0x60) if "\u30A1" <= c <= "\u30F6" else c for c in s)
    kata = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)
    return {s, hira, kata}


_AFFILIATION_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-]*")


def parse_affiliation_code(text: str) -> str:
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if not s:
        raise ValueError("所属コードが空です")
    if len(s) > 32 or not _AFFILIATION_CODE.fullmatch(s):
        raise ValueError(f"所属コード「{text}」は半角英数字・ハイフン・下線の32文字以内にしてください")
    return s


def parse_affiliation_name(text: str) -> str:
    s = _squash_spaces(str(text).strip())
    if not s:
        raise ValueError("所属名が空です")
    if len(s) > 128:
        raise ValueError("所属名は128文字以内にしてください")
    return s
