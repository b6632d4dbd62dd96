from datetime import date, datetime

import pytest

from scoring.jpdate import fiscal_year, fiscal_year_label, to_jst


@pytest.mark.parametrize("day,fy", [(date(2025, 4, 1), 2025), (date(2026, 3, 31), 2025),
                                    (date(2026, 1, 15), 2025), (date(2025, 3, 31), 2024)])
def test_fiscal_year_runs_april_to_march(day, fy):
    assert fiscal_year(day) == fy


@pytest.mark.parametrize("year,label", [
    (2025, "2025年度（令和7年度）"), (2019, "2019年度（令和元年度）"), (2020, "2020年度（令和2年度）"),
    (2018, "2018年度（平成30年度）"), (1989, "1989年度（平成元年度）")])
def test_fiscal_year_in_the_japanese_era(year, label):
    assert fiscal_year_label(year) == label


def test_utc_is_shown_in_japan_time():
    # 2025-03-31 16:00 UTC is already 1 April in Japan: the next fiscal year.
    moment = to_jst(datetime(2025, 3, 31, 16, 0))
    assert (moment.month, moment.day, moment.hour) == (4, 1, 1)
    assert fiscal_year(moment.date()) == 2025
