"""The deadline's value types: what ``reminder.deadline.parse`` returns and ``--json`` prints.

Part of the model (``reminder.model`` re-exports every name here), kept in a module of their own so a
process that only reads a deadline (``reminder deadline 年底前``, one process per phrase) does not build
the model's other two dozen types at start-up.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import NamedTuple


class DeadlineKind(StrEnum):
    FIXED = "fixed"          # a date: ``due`` is the inclusive last day
    ONGOING = "ongoing"      # 持续推进, 长期坚持 …: no date, progress check-ins instead
    RECURRING = "recurring"  # 每季度, 每年至少1次 …: due at the end of every period
    RELATIVE = "relative"    # 印发后3个工作日内: a date once the event's date is known
    NONE = "none"            # no deadline in the text; the plan's default policy applies


class Every(StrEnum):
    YEAR = "year"
    HALF_YEAR = "half-year"
    QUARTER = "quarter"
    MONTH = "month"
    WEEK = "week"
    UNSPECIFIED = "unspecified"  # 定期: regular, period not said


class OffsetUnit(StrEnum):
    WORKDAY = "workday"
    DAY = "day"
    MONTH = "month"


# The three deadline types are NamedTuples, not frozen dataclasses: just as immutable, hashable and
# comparable, with __slots__ = (), and built in a third of the time. A frozen dataclass sets each field
# through object.__setattr__, which made building the result the largest single cost of parsing a
# deadline cell (bench/deadlines.py), and the parser builds one for every cell and sentence it reads.


class Milestone(NamedTuple):
    """One dated step inside a deadline cell (6月30日前制定方案 -> due 06-30, what 制定方案)."""

    due: date
    what: str

    def as_dict(self) -> dict:
        return {"due": self.due.isoformat(), "what": self.what}


class Offset(NamedTuple):
    """A relative deadline: ``n`` units after ``after`` (the event, as written: 印发, 收到申请)."""

    n: int
    unit: OffsetUnit
    after: str

    def as_dict(self) -> dict:
        return {"n": self.n, "unit": str(self.unit), "after": self.after}


class Deadline(NamedTuple):
    """A parsed deadline; ``text`` and ``span`` keep where it came from so a person can check it.

    What ``due`` means depends on ``kind``:

    - ``fixed``: the inclusive last day (the latest of ``milestones`` when there are several).
    - ``recurring``: None when each period is simply due at its end (每季度, 每年至少1次). When the text
      names a day inside each period (每月10日前, 每季度首月15日前, 每年1月31日前, 每周五), ``due`` is
      the anchor of the series: the first such day on or after the reference day (``issued`` when it
      falls in the plan year, else 1 January of the plan year) in a period whose month has that day,
      so that ``due`` carries the day exactly as written. ``due.day`` is the day of the month (31
      stands for the month's last day: 月底, 下旬); ``due.month``'s place inside its period (for
      every="quarter", (month - 1) % 3) is the month within each period; for every="week",
      ``due.weekday()`` is the weekday. Each period's due day is that month of the period, on
      ``min(due.day, days in that month)``: ``reminder.deadline.period_due_dates`` computes them.
      Known loss: a February day written for every year (每年2月底) keeps the 28th in leap years.
    - ``ongoing``, ``relative``, ``none``: None (``offset`` holds a relative deadline's period).
    """

    text: str
    kind: DeadlineKind
    due: date | None = None
    milestones: tuple[Milestone, ...] = ()
    every: Every | None = None
    offset: Offset | None = None
    inferred_year: bool = False
    span: tuple[int, int] | None = None

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "kind": str(self.kind),
            "due": self.due.isoformat() if self.due else None,
            "milestones": [m.as_dict() for m in self.milestones],
            "every": str(self.every) if self.every else None,
            "offset": self.offset.as_dict() if self.offset else None,
            "inferred_year": self.inferred_year,
            "span": list(self.span) if self.span else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Deadline:
        """The inverse of ``as_dict``: the store keeps deadlines as this JSON."""
        offset = data.get("offset")
        span = data.get("span")
        return cls(
            text=data.get("text", ""),
            kind=DeadlineKind(data["kind"]),
            due=date.fromisoformat(data["due"]) if data.get("due") else None,
            milestones=tuple(Milestone(date.fromisoformat(m["due"]), m["what"]) for m in data.get("milestones", ())),
            every=Every(data["every"]) if data.get("every") else None,
            offset=Offset(offset["n"], OffsetUnit(offset["unit"]), offset["after"]) if offset else None,
            inferred_year=bool(data.get("inferred_year")),
            span=(int(span[0]), int(span[1])) if span else None,
        )


SANE_YEARS = (2000, 2100)
"""The first and last year a date may fall in when it comes from a person or the clock (a plan year, an
event's date, ``--now``): anything else is a typo (9999-12-30) or a broken clock, and date arithmetic near
year 9999 fails. Refused at the door, so no later tick trips over it."""


def year_is_sane(year: int) -> bool:
    return SANE_YEARS[0] <= year <= SANE_YEARS[1]
