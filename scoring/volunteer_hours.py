"""A volunteer group's activity time, totalled by fiscal year (April to March) and by kind
of activity, and who may be named in public: pure rules, no database."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .jpdate import fiscal_year


@dataclass
class YearTotals:
    """One fiscal year: minutes and number of activities per kind."""
    year: int
    minutes: dict[str, int] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    @property
    def total_minutes(self) -> int:
        return sum(self.minutes.values())

    @property
    def total_count(self) -> int:
        return sum(self.count.values())


def totals_by_year(activities: list[tuple[str, date, int]]) -> list[YearTotals]:
    """(kind, held on, minutes) per activity -> totals per fiscal year, newest year first."""
    years: dict[int, YearTotals] = {}
    for kind, held_on, minutes in activities:
        t = years.setdefault(fiscal_year(held_on), YearTotals(fiscal_year(held_on)))
        t.minutes[kind] = t.minutes.get(kind, 0) + minutes
        t.count[kind] = t.count.get(kind, 0) + 1
    return sorted(years.values(), key=lambda t: -t.year)


def hours_label(minutes: int) -> str:
    """90 -> '1時間30分', 120 -> '2時間', 45 -> '45分'."""
    h, m = divmod(minutes, 60)
    if h and m:
        return f"{h}時間{m}分"
    return f"{h}時間" if h else f"{m}分"


def may_name_in_public(publish_consent: bool, minor: bool, guardian_consent_on: date | None) -> bool:
    """A member is named on the public honours page only with their own consent to it; a
    member under 18 also needs a guardian's consent on record, as for taking part."""
    return publish_consent and (not minor or guardian_consent_on is not None)
