"""The working-day calendar against the State Council's published schedules, plus overrides."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reminder.workdays import Calendar

# The State Council's notices (国务院办公厅关于XXXX年部分节假日安排的通知), typed in independently of
# the `holidays` library so that an upgrade that changes a year is caught here.
# year: (rest-day spans as (first, last) "MM-DD", 调休 weekend days that are workdays)
PUBLISHED = {
    2020: (
        [("01-01", "01-01"), ("01-24", "02-02"), ("04-04", "04-06"), ("05-01", "05-05"),
         ("06-25", "06-27"), ("10-01", "10-08")],
        # 02-01 was announced as a workday, then cancelled by the Covid extension (国办发明电〔2020〕1号).
        ["01-19", "04-26", "05-09", "06-28", "09-27", "10-10"],
    ),
    2021: (
        [("01-01", "01-03"), ("02-11", "02-17"), ("04-03", "04-05"), ("05-01", "05-05"),
         ("06-12", "06-14"), ("09-19", "09-21"), ("10-01", "10-07")],
        ["02-07", "02-20", "04-25", "05-08", "09-18", "09-26", "10-09"],
    ),
    2022: (
        [("01-01", "01-03"), ("01-31", "02-06"), ("04-03", "04-05"), ("04-30", "05-04"),
         ("06-03", "06-05"), ("09-10", "09-12"), ("10-01", "10-07")],
        ["01-29", "01-30", "04-02", "04-24", "05-07", "10-08", "10-09"],
    ),
    2023: (
        [("01-01", "01-02"), ("01-21", "01-27"), ("04-05", "04-05"), ("04-29", "05-03"),
         ("06-22", "06-24"), ("09-29", "10-06")],
        ["01-28", "01-29", "04-23", "05-06", "06-25", "10-07", "10-08"],
    ),
    2024: (
        [("01-01", "01-01"), ("02-10", "02-17"), ("04-04", "04-06"), ("05-01", "05-05"),
         ("06-08", "06-10"), ("09-15", "09-17"), ("10-01", "10-07")],
        ["02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"],
    ),
    2025: (
        [("01-01", "01-01"), ("01-28", "02-04"), ("04-04", "04-06"), ("05-01", "05-05"),
         ("05-31", "06-02"), ("10-01", "10-08")],
        ["01-26", "02-08", "04-27", "09-28", "10-11"],
    ),
    2026: (
        [("01-01", "01-03"), ("02-15", "02-23"), ("04-04", "04-06"), ("05-01", "05-05"),
         ("06-19", "06-21"), ("09-25", "09-27"), ("10-01", "10-07")],
        ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
    ),
}


def _day(year: int, mmdd: str) -> date:
    return date(year, int(mmdd[:2]), int(mmdd[3:]))


def _published_workday(year: int, d: date) -> bool:
    spans, workdays = PUBLISHED[year]
    if d in {_day(year, w) for w in workdays}:
        return True
    resting = any(_day(year, a) <= d <= _day(year, b) for a, b in spans)
    return d.weekday() < 5 and not resting


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return Calendar()


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_every_day_matches_the_published_schedule(cal, year):
    day, wrong = date(year, 1, 1), []
    while day.year == year:
        if cal.is_workday(day) != _published_workday(year, day):
            wrong.append(day.isoformat())
        day += timedelta(days=1)
    assert wrong == []


def test_covered_years_include_the_published_ones(cal):
    assert set(PUBLISHED) <= set(cal.covered_years)
    assert cal.covered_years == tuple(sorted(cal.covered_years))


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2021, 10, 9), True),    # Saturday, 调休 workday after National Day
        (date(2021, 9, 18), True),    # Saturday, 调休 workday before Mid-Autumn
        (date(2021, 9, 26), True),    # Sunday, 调休 workday before National Day
        (date(2021, 10, 30), False),  # plain Saturday
        (date(2021, 11, 1), True),
        (date(2022, 1, 29), True),    # Saturday before Spring Festival 2022
        (date(2022, 1, 30), True),
    ],
)
def test_is_workday(cal, day, expected):
    assert cal.is_workday(day) is expected


@pytest.mark.parametrize("day", [date(2021, 10, d) for d in range(1, 8)])
def test_national_day_2021_is_a_holiday(cal, day):
    assert not cal.is_workday(day)


@pytest.mark.parametrize("day", [date(2022, 1, 31) + timedelta(days=i) for i in range(7)])
def test_spring_festival_2022_is_a_holiday(cal, day):
    assert not cal.is_workday(day)


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2021, 10, 30), date(2021, 11, 1)),  # Saturday due date moves to Monday
        (date(2021, 10, 1), date(2021, 10, 8)),   # National Day moves past the golden week
        (date(2021, 10, 9), date(2021, 10, 9)),   # a 调休 Saturday is itself a workday
        (date(2022, 1, 31), date(2022, 2, 7)),    # Spring Festival 2022
        (date(2021, 11, 1), date(2021, 11, 1)),
    ],
)
def test_next_workday(cal, day, expected):
    assert cal.next_workday(day) == expected


def test_next_workday_excluding_today(cal):
    assert cal.next_workday(date(2021, 11, 1), include_today=False) == date(2021, 11, 2)
    assert cal.next_workday(date(2021, 10, 8), include_today=False) == date(2021, 10, 9)


def test_previous_workday(cal):
    assert cal.previous_workday(date(2021, 10, 7)) == date(2021, 9, 30)
    assert cal.previous_workday(date(2021, 9, 30), include_today=False) == date(2021, 9, 29)


@pytest.mark.parametrize(
    "start, n, expected",
    [
        (date(2021, 9, 28), 3, date(2021, 10, 8)),   # 28 -> 29, 30, (Oct 1-7 off), Oct 8
        (date(2021, 9, 30), 1, date(2021, 10, 8)),
        (date(2021, 10, 7), 2, date(2021, 10, 9)),   # Oct 8 (Fri), Oct 9 (调休 Sat)
        (date(2021, 9, 24), 1, date(2021, 9, 26)),   # Fri -> Sun 调休 workday
        (date(2021, 11, 1), 0, date(2021, 11, 1)),
        (date(2021, 10, 8), -1, date(2021, 9, 30)),
        (date(2021, 9, 17), 20, date(2021, 10, 21)),  # 收到申请之日起20个工作日内
    ],
)
def test_add_workdays(cal, start, n, expected):
    assert cal.add_workdays(start, n) == expected


def test_workdays_between(cal):
    assert cal.workdays_between(date(2021, 9, 30), date(2021, 10, 8)) == 1
    assert cal.workdays_between(date(2021, 10, 8), date(2021, 9, 30)) == -1
    assert cal.workdays_between(date(2021, 10, 1), date(2021, 10, 1)) == 0
    year = sum(_published_workday(2021, date(2021, 1, 1) + timedelta(days=i)) for i in range(365))
    assert cal.workdays_between(date(2020, 12, 31), date(2021, 12, 31)) == year


days = st.dates(min_value=date(2019, 6, 1), max_value=date(2028, 6, 1))


@given(start=days, n=st.integers(min_value=-300, max_value=300))
def test_add_then_count_round_trips(start, n):
    cal = Calendar()
    end = cal.add_workdays(start, n)
    assert cal.workdays_between(start, end) == n
    if n:
        assert cal.is_workday(end)


@given(day=days)
def test_next_workday_is_the_first_workday(day):
    cal = Calendar()
    nxt = cal.next_workday(day)
    assert nxt >= day and cal.is_workday(nxt)
    assert all(not cal.is_workday(day + timedelta(days=i)) for i in range((nxt - day).days))


def test_overrides_win_over_the_library():
    cal = Calendar(extra_holidays=[date(2021, 11, 1)], extra_workdays=[date(2021, 10, 30)])
    assert not cal.is_workday(date(2021, 11, 1))
    assert cal.is_workday(date(2021, 10, 30))
    assert cal.next_workday(date(2021, 10, 31)) == date(2021, 11, 2)
    assert cal.add_workdays(date(2021, 10, 29), 1) == date(2021, 10, 30)


def test_a_date_in_both_override_lists_is_refused():
    with pytest.raises(ValueError, match="2021-11-01"):
        Calendar(extra_holidays=[date(2021, 11, 1)], extra_workdays=[date(2021, 11, 1)])


def test_uncovered_year_falls_back_to_weekends_and_warns():
    cal = Calendar()
    far = date(2099, 10, 1)  # a Thursday; National Day, but no schedule is known for 2099
    assert not cal.is_covered(far)
    assert cal.is_workday(far)
    assert not cal.is_workday(date(2099, 10, 3))  # Saturday
    assert cal.coverage_note(far.year) == "2099年节假日安排尚未载入，按周末计算"
    assert cal.coverage_note(2021) is None


def test_overrides_make_a_year_covered():
    schedule_2099 = [date(2099, 10, 1), date(2099, 10, 2)]
    cal = Calendar(extra_holidays=schedule_2099)
    assert cal.is_covered(date(2099, 1, 5))
    assert 2099 in cal.covered_years
    assert not cal.is_workday(date(2099, 10, 1))


def test_from_config_uses_the_calendar_section():
    class Section:
        extra_holidays = (date(2021, 11, 1),)
        extra_workdays = ()

    assert not Calendar.from_config(Section).is_workday(date(2021, 11, 1))
