"""The Chinese working-day calendar: statutory holidays, 调休 weekend workdays, config overrides.

Source of truth is the ``holidays`` library's China calendar, which transcribes the State
Council's yearly notice (国务院办公厅关于XXXX年部分节假日安排的通知) including the weekend days
that become workdays (调休, exposed as ``weekend_workdays``). ``holidays`` 0.109 holds those
notices for 2001-2026; for later years it only *estimates* the statutory days, without 调休
and without the golden-week bridging, so we do not trust it there.

For a year outside the covered range the calendar falls back to weekends only (Saturday and
Sunday are rest days, every other day is a workday) and ``coverage_note`` says so, so a
person can add that year's schedule to ``[calendar]`` in the config. The State Council
publishes next year's schedule in November; a library release may lag behind it, which is
what the overrides are for. A year with any override date counts as covered: the operator
has typed its schedule in.

Pure: nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

# Saturday and Sunday, as ``date.weekday()`` numbers them.
WEEKEND = frozenset({5, 6})


@cache
def _library_schedule() -> tuple[range, frozenset[date], frozenset[date]]:
    """(years with an official schedule, holidays, 调休 workdays) from the ``holidays`` library.

    Cached because building the calendar takes ~0.1 s and every ``Calendar`` shares it; the
    import is here so that ``reminder --help`` does not pay for it.
    """
    import holidays

    years = _library_years()
    cn = holidays.China(years=years)
    rest = frozenset(d for d in cn if d.year in years)
    work = frozenset(d for d in cn.weekend_workdays if d.year in years)
    return years, rest, work


def _library_years() -> range:
    """The years whose State Council notice the installed ``holidays`` release transcribes.

    The China calendar keeps each notice's substituted days in ``special_public_holidays``,
    keyed by year; a year without an entry there is an estimate, not a published schedule.
    """
    from holidays.countries.china import ChinaStaticHolidays

    known = ChinaStaticHolidays.special_public_holidays
    return range(min(known), max(known) + 1)


# --- where each day comes from (issue 7: `reminder calendar`) ----------------------------------------

CONFIG_SOURCE = "config [calendar]"


@dataclass(frozen=True)
class Day:
    """A day the calendar treats specially: a rest day on a weekday, or a working weekend day (调休).
    ``name`` says why (元旦, 春节, 调休上班); ``source`` where it comes from (the library, the config)."""

    day: date
    name: str
    source: str


@dataclass(frozen=True)
class YearSchedule:
    """What the calendar knows about one year: its statutory rest days and 调休 workdays, and whether the
    year is covered at all (if not, only Saturdays and Sundays are rest days)."""

    year: int
    covered: bool
    rest_days: tuple[Day, ...]
    workdays: tuple[Day, ...]


def library_source() -> str:
    """How the library is named as a source: ``holidays 0.109``."""
    import holidays

    return f"holidays {holidays.__version__}"


@cache
def _library_names(year: int) -> dict[date, str]:
    """The library's Chinese names of the year's rest days (元旦, 春节, 休息日（由 2026-01-04 调休）)."""
    import holidays

    return dict(holidays.China(years=year, language="zh_CN").items())


def _workday_name(day: date, moved_to: dict[str, date]) -> str:
    rest = moved_to.get(day.isoformat())
    return f"调休上班（{rest.month}月{rest.day}日休息）" if rest else "调休上班"


class Calendar:
    """Which days are working days in mainland China, with the operator's overrides on top.

    ``extra_holidays`` and ``extra_workdays`` win over the library. A date in both is refused
    (ValueError) rather than silently resolved one way: the operator must say which is meant.
    """

    def __init__(self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()):
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as extra holidays and extra workdays: {days}")
        years, self._rest, self._work = _library_schedule()
        override_years = {d.year for d in self.extra_holidays | self.extra_workdays}
        self._covered = frozenset(years) | override_years

    @classmethod
    def from_config(cls, calendar_config) -> Calendar:
        """Build from ``Config.calendar`` (a ``CalendarConfig``)."""
        return cls(calendar_config.extra_holidays, calendar_config.extra_workdays)

    @property
    def covered_years(self) -> tuple[int, ...]:
        """Years with a known holiday schedule (library or config), ascending."""
        return tuple(sorted(self._covered))

    def is_covered(self, d: date) -> bool:
        """True when ``d``'s year has a known schedule; otherwise only weekends are rest days."""
        return d.year in self._covered

    # --- what this calendar knows (issue 7) ------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """Changes whenever a day's status can: another ``holidays`` release, other overrides. The store
        keeps the fingerprint its due dates were computed with, and recomputes them when it changes."""
        import holidays

        days = ",".join(sorted(d.isoformat() for d in self.extra_holidays)) + "|" + ",".join(
            sorted(d.isoformat() for d in self.extra_workdays))
        return f"holidays {holidays.__version__}|{days}"

    def coverage_note(self, year: int) -> str | None:
        """The short note people see (the digest, warnings) when ``year`` is not covered, else None."""
        return None if year in self._covered else f"{year}年节假日安排尚未载入，按周末计算"

    def uncovered(self, years: Iterable[int]) -> list[int]:
        """Those of ``years`` without a known schedule, ascending."""
        return sorted({y for y in years if y not in self._covered})

    def schedule(self, year: int) -> YearSchedule:
        """The statutory rest days (some fall on a weekend) and the 调休 workdays in force in ``year``,
        each with its source; plain weekends and plain weekdays are left out."""
        library = library_source()
        names = _library_names(year) if year in self.library_years else {}
        moved_to = {}  # 调休 workday -> the rest day it pays for, from names like 休息日（由 2026-01-04 调休）
        for day, name in names.items():
            for word in name.split("由 ")[1:]:
                moved_to[word[:10]] = day
        rest = [Day(d, names.get(d, "节假日"), library) for d in sorted(self._rest)
                if d.year == year and d not in self.extra_workdays]
        rest += [Day(d, "节假日", CONFIG_SOURCE) for d in sorted(self.extra_holidays) if d.year == year]
        work = [Day(d, _workday_name(d, moved_to), library) for d in sorted(self._work)
                if d.year == year and d not in self.extra_holidays]
        work += [Day(d, "调休上班", CONFIG_SOURCE) for d in sorted(self.extra_workdays) if d.year == year]
        return YearSchedule(year, year in self._covered, tuple(sorted(rest, key=lambda x: x.day)),
                            tuple(sorted(work, key=lambda x: x.day)))

    @property
    def library_years(self) -> range:
        """The years the ``holidays`` package holds a published schedule for."""
        return _library_schedule()[0]

    # --- days ---------------------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """True when government offices work on ``d`` (调休 Saturdays included)."""
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        if d in self._work:
            return True
        return d.weekday() not in WEEKEND and d not in self._rest

    def next_workday(self, d: date, include_today: bool = True) -> date:
        """The first working day on or after ``d`` (strictly after, if not ``include_today``).

        A deadline falling on a holiday or weekend moves here, as legal periods do in China.
        """
        day = d if include_today else d + timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def previous_workday(self, d: date, include_today: bool = True) -> date:
        """The last working day on or before ``d`` (strictly before, if not ``include_today``)."""
        day = d if include_today else d - timedelta(days=1)
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (before it, for negative ``n``); ``d`` for 0.

        ``d`` itself is never counted, matching "收到申请之日起N个工作日内": the event day is day 0.
        """
        step = timedelta(days=1 if n >= 0 else -1)
        day, left = d, abs(n)
        while left:
            day += step
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, a: date, b: date) -> int:
        """Working days stepped on walking from ``a`` to ``b``: ``a`` excluded, ``b`` included.

        Forward that is the interval (a, b]; backward it is [b, a), counted negative. So it is the
        inverse of ``add_workdays``: ``workdays_between(a, add_workdays(a, n)) == n``.
        """
        sign, step = (1, 1) if b >= a else (-1, -1)
        days = range(step, (b - a).days + step, step)
        return sign * sum(1 for i in days if self.is_workday(a + timedelta(days=i)))


# --- named festivals (春节前, 国庆节前 … in deadline text) -----------------------------------------

# The ``holidays`` library's (English) names of China's statutory festivals, by the keys the deadline
# parser uses. Names are matched as substrings, so "(observed)" days match too; the earliest is the day.
FESTIVAL_NAMES = {
    "new_year": "New Year's Day",
    "spring_festival": "Spring Festival",
    "tomb_sweeping": "Tomb-Sweeping Day",
    "labour_day": "Labor Day",
    "dragon_boat": "Dragon Boat Festival",
    "mid_autumn": "Mid-Autumn Festival",
    "national_day": "National Day",
}


@cache
def festival_day(festival: str, year: int) -> date | None:
    """The day of a statutory festival (a ``FESTIVAL_NAMES`` key) in ``year``, lunar ones included.

    None when the library has no such day that year (the lunar festivals became statutory in 2008).
    It is the festival itself, not its holiday period: the period and the working day before it are
    the ``Calendar``'s business.
    """
    import holidays

    days = [d for d in holidays.China(years=year).get_named(FESTIVAL_NAMES[festival]) if d.year == year]
    return min(days) if days else None
