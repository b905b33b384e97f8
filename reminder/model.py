"""Frozen value types shared by every step of the flow.

They carry data only; parsing, storing and sending live in their own modules. ``as_dict`` gives
the JSON shapes that DESIGN.md fixes as contracts (``reminder deadline --json``, ``reminder parse --json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


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


@dataclass(frozen=True)
class Milestone:
    """One dated step inside a deadline cell (6月30日前制定方案 -> due 06-30, what 制定方案)."""

    due: date
    what: str

    def as_dict(self) -> dict:
        return {"due": self.due.isoformat(), "what": self.what}


@dataclass(frozen=True)
class Offset:
    """A relative deadline: ``n`` units after ``after`` (the event, as written: 印发, 收到申请)."""

    n: int
    unit: OffsetUnit
    after: str

    def as_dict(self) -> dict:
        return {"n": self.n, "unit": str(self.unit), "after": self.after}


@dataclass(frozen=True)
class Deadline:
    """A parsed deadline; ``text`` and ``span`` keep where it came from so a person can check it."""

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
        return cls(
            text=data.get("text", ""),
            kind=DeadlineKind(data["kind"]),
            due=date.fromisoformat(data["due"]) if data.get("due") else None,
            milestones=tuple(Milestone(date.fromisoformat(m["due"]), m["what"]) for m in data.get("milestones", ())),
            every=Every(data["every"]) if data.get("every") else None,
            offset=Offset(offset["n"], OffsetUnit(offset["unit"]), offset["after"]) if offset else None,
            inferred_year=bool(data.get("inferred_year")),
            span=tuple(data["span"]) if data.get("span") else None,
        )


@dataclass(frozen=True)
class Task:
    """One numbered task of a plan.

    ``units`` lists every unit named, leads first; ``lead_units`` is the subset marked as lead.
    ``units_text`` is the unit cell as written, for people to check the split.
    ``line`` is where the task starts in the source (1-based), for messages.
    """

    number: str
    section: tuple[str, ...]
    text: str
    deadline: Deadline
    lead_units: tuple[str, ...]
    units: tuple[str, ...]
    units_text: str
    line: int | None = None

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "section": list(self.section),
            "text": self.text,
            "deadline": self.deadline.as_dict(),
            "lead_units": list(self.lead_units),
            "units": list(self.units),
            "units_text": self.units_text,
        }


@dataclass(frozen=True)
class Plan:
    """A task-allocation plan as read from one document; ``title`` is None when the document has no
    title line (the plan is then known by its source's file name)."""

    title: str | None
    plan_year: int
    issued: date | None
    source: str
    tasks: tuple[Task, ...]
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "plan_year": self.plan_year,
            "issued": self.issued.isoformat() if self.issued else None,
            "source": self.source,
            "tasks": [t.as_dict() for t in self.tasks],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Message:
    """A rendered message, ready for one channel and one destination.

    ``key`` is the idempotency key (stable across retries, so a receiver can drop a repeat);
    ``to`` is the destination as the channel understands it (email addresses; unused by robots,
    whose destination is their configured URL). ``html`` is for email, ``markdown`` for robots.
    """

    key: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    markdown: str | None = None
