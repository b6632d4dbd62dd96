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
