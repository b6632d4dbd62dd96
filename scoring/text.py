"""Soft line breaks in Japanese text: an author wraps a long stem in the YAML source, and a
browser shows the break as a space (「（いわゆる偽ショップ）。 受理時に」). Japanese puts no
space between words, so a break beside a wide character goes, as the segment break
transformation of CSS Text Level 4 has it; between two English words it stays one space."""
from __future__ import annotations

import re
import unicodedata

_ZWSP = "\u200b"

# Korean is written with spaces between words: a break beside Hangul stays a space (CSS Text 4).
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF),
           (0xFFA0, 0xFFDC))


def _hangul(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in _HANGUL)


def is_wide(ch: str) -> bool:
    """East Asian wide, fullwidth or halfwidth (kanji, kana, 。「」（）, ｶ), Hangul aside."""
    return unicodedata.east_asian_width(ch) in ("W", "F", "H") and not _hangul(ch)


def segment_break(before: str, after: str) -> str:
    """What a soft line break between these two characters becomes: nothing when either is
    wide (or a zero-width space), else one space. An empty side (start or end of the text,
    or no character to compare) counts as not wide."""
    if _hangul(before or "a") or _hangul(after or "a"):
        return " "
    if any(ch and (ch == _ZWSP or is_wide(ch)) for ch in (before, after)):
        return ""
    return " "


# One line break with the spaces and tabs around it, between two lines that are not blank
# (a blank line ends a paragraph: that break is no soft one).
_SOFT_BREAK = re.compile(r"(?<=\S)[ \t]*\r?\n[ \t]*(?=\S)")


def join_soft_breaks(text: str) -> str:
    """Plain text (no Markdown) as one reads it: each soft line break, with the whitespace
    around it, becomes segment_break() of its two neighbours; paragraph breaks stay."""
    if not text or "\n" not in text:
        return text
    return _SOFT_BREAK.sub(
        lambda m: segment_break(text[m.start() - 1], text[m.end()]), text)
