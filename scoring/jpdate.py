"""Japan time, fiscal years (年度, April to March) and the Japanese era."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
# (first day of the era, name); newest first.
ERAS = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和"))


def to_jst(moment: datetime) -> datetime:
    if moment.tzinfo is None:          # stored values are naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(JST)


def fiscal_year(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def era_year(year: int) -> tuple[str, int]:
    """Era of a fiscal year: the era in force at its start (1 April); 2019年度 is 令和元年度
    by the usual government reading, since the era changed within that year."""
    if year == 2019:
        return "令和", 1
    for start, name in ERAS:
        if date(year, 4, 1) >= start:
            return name, year - start.year + 1
    raise ValueError(f"year {year} is before the eras this system knows")


def fiscal_year_label(year: int) -> str:
    """2025 -> '2025年度（令和7年度）'; the first year of an era reads 元年."""
    era, n = era_year(year)
    return f"{year}年度（{era}{'元' if n == 1 else n}年度）"


class DateParseError(ValueError):
    pass


_ERA_START = {"令和": date(2019, 5, 1), "平成": date(1989, 1, 8), "昭和": date(1926, 12, 25),
              "大正": date(1912, 7, 30)}
_ERA_LETTER = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正"}
_ERA_END = {"平成": date(2019, 4, 30), "昭和": date(1989, 1, 7), "大正": date(1926, 12, 24)}


def parse_date(text: str) -> date:
    """A date as people write it in Japanese offices: 2025-04-01, 2025/4/1, 2025年4月1日,
    令和7年4月1日, 令和元年5月1日, R7.4.1, H31/4/30 (full- or half-width). A date outside
    its era (平成32年, 令和1年4月1日) is refused: it cannot be a real date."""
    import re
    import unicodedata
    s = unicodedata.normalize("NFKC", str(text)).strip().upper().replace(" ", "")
    if not s:
        raise DateParseError("日付が空です")
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s)
    if m:
        y, mo, d = map(int, m.groups())
        return _make(y, mo, d, text)
    m = re.fullmatch(r"(令和|平成|昭和|大正|[RHST])(元|\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s)
    if m:
        era = _ERA_LETTER.get(m.group(1), m.group(1))
        n = 1 if m.group(2) == "元" else int(m.group(2))
        if n < 1:
            raise DateParseError(f"「{text}」は正しい日付ではありません")
        start = _ERA_START[era]
        result = _make(start.year + n - 1, int(m.group(3)), int(m.group(4)), text)
        if result < start or (era in _ERA_END and result > _ERA_END[era]):
            raise DateParseError(f"「{text}」は{era}の期間外の日付です")
        return result
    raise DateParseError(f"「{text}」は日付として読めません（例: 2025-04-01、令和7年4月1日、R7.4.1）")


def _make(y: int, mo: int, d: int, text: str) -> date:
    try:
        return date(y, mo, d)
    except ValueError:
        raise DateParseError(f"「{text}」は存在しない日付です") from None


def format_date_jp(day: date) -> str:
    """2025-04-01 -> '2025年4月1日（令和7年4月1日）'."""
    for era, start in _ERA_START.items():
        if day >= start:
            n = day.year - start.year + 1
            return f"{day.year}年{day.month}月{day.day}日（{era}{'元' if n == 1 else n}年{day.month}月{day.day}日）"
    return f"{day.year}年{day.month}月{day.day}日"
