"""Immutable value types shared by every step of the flow.

They carry data only; parsing, storing and sending live in their own modules. ``as_dict`` gives
the JSON shapes that DESIGN.md fixes as contracts (``reminder deadline --json``, ``reminder parse --json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

# The deadline's types live in their own light module, so that ``reminder deadline`` (a whole process per
# phrase) need not build every type below; they are part of the model all the same.
from reminder.deadline_types import (  # noqa: F401 - re-exported
    SANE_YEARS,
    Deadline,
    DeadlineKind,
    Every,
    Milestone,
    Offset,
    OffsetUnit,
    year_is_sane,
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
    reply_to: tuple[str, ...] = ()  # email: where a unit's reply goes (the office), the Reply-To header


# --------------------------------------------------------------------------------------------------
# The reminding flow: what the store holds and hands to the planner, the outbox, the templates and the
# web pages. The store builds these from its rows; nothing passes raw rows between modules.

@dataclass(frozen=True, repr=False)
class Secret:
    """A value read from the environment variable ``env`` (a password, a signing secret, a robot URL);
    shown as *** everywhere, so no message, log line or repr can leak it."""

    env: str
    value: str

    def reveal(self) -> str:
        """The real value, for the one call that needs it (SMTP login, signing)."""
        return self.value

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r}, value='***')"

    __str__ = __repr__


MonthDay = tuple[int, int]
"""A day of the year as (month, day), for dates that repeat every plan year: ``(12, 31)``."""


class Stage(StrEnum):
    """What a notice is about. Units hear about the first four; the last two go to the office digest."""

    REMINDER = "reminder"      # N days before the due date
    DUE = "due"                # on the due day
    OVERDUE = "overdue"        # after the due day, repeating
    CHECKIN = "checkin"        # ongoing work: a request for progress
    ESCALATION = "escalation"  # overdue past the threshold: the office should act
    SILENT = "silent"          # ongoing work without a report past the grace period

    @property
    def for_unit(self) -> bool:
        return self in UNIT_STAGES


UNIT_STAGES: tuple[Stage, ...] = (Stage.REMINDER, Stage.DUE, Stage.OVERDUE, Stage.CHECKIN)
"""The stages a unit hears about. On one day a later one in this tuple wins over an earlier one."""

OFFICE_STAGES: tuple[Stage, ...] = (Stage.ESCALATION, Stage.SILENT)

MOST_URGENT_FIRST: tuple[Stage, ...] = (Stage.OVERDUE, Stage.DUE, Stage.REMINDER, Stage.CHECKIN)
"""The order of the sections of a unit's notice, and which stage names its subject."""


class Role(StrEnum):
    LEAD = "lead"                # 牵头单位
    RESPONSIBLE = "responsible"  # 责任单位, 配合单位 …


class AssignmentStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class AssignedBy(StrEnum):
    """Who gave a unit its share of a task. A re-import changes only the plan's assignments: one the
    office added (`reminder assign`) stays, and one the office removed stays removed."""

    PLAN = "plan"
    OFFICE = "office"


class ReportKind(StrEnum):
    """What a unit (or the office for it) reported on an assignment."""

    DONE = "done"          # finished: its notices stop
    PROGRESS = "progress"  # progress made: check-ins and overdue repeats count from the report
    REOPEN = "reopen"      # marked done by mistake


class NoticeRoute(StrEnum):
    """Where a stored notice went."""

    QUEUED = "queued"          # a message in the outbox carries it
    UNROUTABLE = "unroutable"  # the unit has no contact and there is no fallback channel
    OFFICE = "office"          # an office-level notice, read by the digest only


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (``next_attempt_at``)
    SENDING = "sending"  # claimed by a deliverer
    SENT = "sent"
    DEAD = "dead"        # out of attempts, or refused for good: listed in the digest, `reminder retry` revives it


class DeliveryOutcome(StrEnum):
    """What one attempt to send a message came to, as the ``deliveries`` log records it."""

    SENT = "sent"        # the receiver accepted it
    FAILED = "failed"    # it did not get there (refused, unreachable)
    UNKNOWN = "unknown"  # it went out and no verdict came back (a timeout after sending): it may have arrived


@dataclass(frozen=True, order=True)
class TaskRef:
    """A task's stable reference, "<plan id>-<number>" ("1-17"): what people see (登记号) and type.

    It stays valid when another plan is imported and when this plan is imported again, corrected.
    """

    plan_id: int
    number: str

    def __str__(self) -> str:
        return f"{self.plan_id}-{self.number}"

    @classmethod
    def parse(cls, text: str) -> TaskRef | None:
        """The ref written in ``text`` ("1-17", "2-2.1"), or None when it is not one (a bare number)."""
        plan, dash, number = text.strip().partition("-")
        # isdecimal, not isdigit: superscripts (¹) are "digits" to Unicode, but int() refuses them
        return cls(int(plan), number) if dash and plan.isdecimal() and number else None


@dataclass(frozen=True)
class DueDate:
    """A task's effective due date: the working day it is really due, and the date the text gave.

    A deadline that falls on a weekend or holiday moves to the next working day (DESIGN.md); ``written``
    is the date before that move. ``inferred`` says the date was not written as such (no deadline: the
    policy's default; or the year was inferred), so everything shown to people says so.
    """

    day: date
    written: date
    inferred: bool = False


class DueRule(Protocol):
    """How a task's effective due date is computed (``reminder.planner.DueDates``): the store calls it
    for every task it writes. ``fingerprint`` changes whenever its answers could."""

    @property
    def fingerprint(self) -> str: ...

    def __call__(self, deadline: Deadline, plan_year: int,
                 events: dict[str, date] | None = None) -> DueDate | None: ...


@dataclass(frozen=True)
class Policy:
    """When notices go out and how delivery retries: the ``[policy]`` table, ``send_hour`` and ``timezone``.

    Days are calendar days; sending happens on working days. ``default_due`` is the due date of a task
    whose text gives none, as (month, day) of the plan year.
    """

    remind_days_before: tuple[int, ...] = (30, 7, 1)
    overdue_repeat_days: int = 7
    escalate_after_days: int = 14
    checkin_every_days: int = 30
    checkin_grace_days: int = 14
    default_due: MonthDay = (12, 31)
    max_attempts: int = 6
    retry_base_seconds: int = 60
    max_unknown_attempts: int = 3          # attempts that may have reached the receiver, before giving up
    max_retry_after_seconds: int = 86400   # the longest a server's Retry-After may park a message
    yellow_within_days: int = 7            # 亮灯: an open assignment due within this many days is yellow
    # Top-level keys of the config file, not of its [policy] table (the config reads them there).
    send_hour: int = field(default=9, metadata={"toml": (), "toml_top": ("send_hour",)})
    # Notices and the digest go out before this hour (None: any time after send_hour that day).
    send_until_hour: int | None = field(default=None, metadata={"toml": (), "toml_top": ("send_until_hour",)})
    timezone: str = field(default="Asia/Shanghai", metadata={"toml": (), "toml_top": ("timezone",)})

    def default_due_date(self, plan_year: int) -> date:
        """The due date given to a task whose deadline text has none (kind ``none``)."""
        month, day = self.default_due
        return date(plan_year, month, day)


class DueChange(StrEnum):
    """Who moved a unit's due date off the plan's: an approved 延期 (the unit's own date), or the office
    setting the task's date by hand."""

    EXTENDED = "extended"
    OFFICE = "office"


@dataclass(frozen=True)
class TaskRecord:
    """A task as the store holds it, with what a notice or a listing shows about its plan.

    ``id`` is the row id, internal to the store; people see and type ``ref``. ``due`` is the effective
    due date (None for ongoing and recurring work, and for a relative deadline before its event).
    ``events`` holds the dates of the events relative deadlines count from (印发 -> 2021-07-01).
    """

    id: int
    ref: TaskRef
    plan_title: str
    plan_year: int
    section: tuple[str, ...]
    text: str
    deadline: Deadline
    due: DueDate | None
    units_text: str = ""
    line: int | None = None
    events: dict[str, date] = field(default_factory=dict)
    removed: bool = False
    created_at: datetime | None = None  # when its plan first brought it (a unit added later is 新分配)
    due_by_office: bool = False         # the office set ``due`` by hand: it is not the plan's date

    @property
    def number(self) -> str:
        return self.ref.number


@dataclass(frozen=True)
class Assignment:
    """One unit's share of one task: what the planner plans, the unit reports on and the office ranks.

    ``unit`` is the directory's name for the unit (a plan's alias resolved), or the name as the plan wrote
    it when the directory does not know it. ``written`` is the name in the plan that gave this assignment:
    the unit as spelled there (an alias), or the group it is a member of; ``via_group`` is that group
    (县直各部门（含本单位）) when the assignment came from one, else None.

    ``created_at`` is when the row was made; ``assigned_at`` when the unit got the task (the import, a
    re-import or `reminder assign` that added it; check-ins of ongoing work count from there);
    ``planned_from`` when its schedule last started over (assigned, deadline changed, reopened): a stage
    that fired before it was never due to be sent, so catching it up is no 补发. ``last_report_at`` is
    the latest done or progress report; ``assigned_by`` says whether the plan or the office gave it.
    """

    id: int
    task: TaskRecord
    unit: str
    role: Role = Role.RESPONSIBLE
    status: AssignmentStatus = AssignmentStatus.OPEN
    created_at: datetime | None = None
    done_at: datetime | None = None
    last_report_at: datetime | None = None
    written: str = ""
    via_group: str | None = None
    assigned_at: datetime | None = None
    planned_from: datetime | None = None
    assigned_by: AssignedBy = AssignedBy.PLAN
    due_extended: date | None = None       # an approved 延期: this unit's due date instead of the task's
    acknowledged_at: datetime | None = None  # the unit's first 签收

    @property
    def started_at(self) -> datetime | None:
        """When the unit got the task (``assigned_at``, else the row's ``created_at``)."""
        return self.assigned_at or self.created_at

    @property
    def due(self) -> DueDate | None:
        """This unit's effective due date: the one an approved 延期 gave it, else the task's. Everything
        that chases or colours an assignment (the planner, 亮灯, the board) reads this, not ``task.due``."""
        if self.due_extended is not None:
            return DueDate(self.due_extended, self.due_extended, False)
        return self.task.due

    @property
    def due_change(self) -> DueChange | None:
        """Why ``due`` is not the date the plan's deadline text gives (None: it is), so that whatever
        shows the text beside the date can say so instead of contradicting itself."""
        if self.due_extended is not None:
            return DueChange.EXTENDED
        return DueChange.OFFICE if self.task.due_by_office else None


@dataclass(frozen=True)
class TaskListing:
    """A task with its current assignments, as `reminder tasks` lists it. ``status`` is done when every
    assignment the listing was asked about (all of them, or those of one unit) is done."""

    task: TaskRecord
    assignments: tuple[Assignment, ...]
    status: AssignmentStatus


@dataclass(frozen=True)
class Notice:
    """An item that should exist by now, the planner's output: one stage of one assignment.

    ``key`` is unique (assignment, stage, dates), so storing it twice is a no-op and a changed deadline
    gives new keys. ``due`` is the date this stage is about (a milestone's, a period's, the task's);
    ``late`` says it should have gone out on an earlier day (the service was down).
    """

    key: str
    assignment: Assignment
    stage: Stage
    fire_at: datetime
    due: date | None
    due_inferred: bool = False
    late: bool = False
    milestone: str | None = None
    period: str | None = None
    due_written: date | None = None  # the date the text gave, before it moved off a rest day
    final: bool = True               # about the task's last date: once it passes, the task is overdue
    new: bool = False                # its stage fired before the unit got the task by a later change (新分配)

    @property
    def unit(self) -> str:
        return self.assignment.unit


@dataclass(frozen=True)
class Route:
    """One way to reach a unit or the office: one contact in the config.

    ``id`` names that contact ("unit:县财政局:email", "unit:县财政局:webhook:0", "office:email",
    "fallback:file") and stays the same while the config keeps it; the outbox stores it and delivery
    finds the contact again by it, so no webhook URL (which carries a token) is stored. ``channel`` is the
    channel kind (smtp, file, generic, dingtalk, wecom, feishu); ``destination`` is what people see: the
    email addresses, the webhook's host, the folder.
    """

    id: str
    channel: str
    destination: str


@dataclass(frozen=True)
class OutboxMessage:
    """A message in the outbox: the rendered notices of one unit (or the office's digest) for one route.

    ``id`` and the delivery state are set once it is stored. ``text``, ``html`` and ``markdown`` are None
    where they were not read (listings) or were dropped after ``retention_days``; the subject and the
    delivery state are kept for ever.
    """

    key: str
    unit: str
    route: Route
    subject: str
    text: str | None
    html: str | None = None
    markdown: str | None = None
    id: int | None = None
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    unknown_attempts: int = 0  # of ``attempts``, those whose outcome is unknown: the receiver may have it


@dataclass(frozen=True)
class MessageListing:
    """A stored message with the stages and task numbers of the notices it carries (`reminder notices`)."""

    message: OutboxMessage
    stages: tuple[str, ...]
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class UnitProgress:
    """One unit's open and done assignments in one plan, and its latest report (`reminder status`)."""

    plan_id: int
    plan_title: str
    unit: str
    open: int
    done: int
    last_report_at: datetime | None
    overdue: int = 0                   # open assignments past their effective due date
    last_note: Report | None = None    # the unit's latest report with a note, in this plan


class ReportOutcome(StrEnum):
    """What recording a report came to: it was recorded, or the assignment already stood that way."""

    RECORDED = "recorded"
    ALREADY_DONE = "already_done"  # `done` on a done assignment: nothing recorded
    NOT_DONE = "not_done"          # `reopen` on an open assignment: nothing to undo


@dataclass(frozen=True)
class Report:
    """One thing a unit reported on an assignment (done, progress, reopen): ``at`` is when it happened
    (``--on`` for a report that came earlier by phone), ``recorded_at`` when it was entered; ``ref`` is
    the task's 登记号, for listings across tasks."""

    kind: ReportKind
    note: str
    at: datetime
    recorded_at: datetime
    ref: TaskRef | None = None


@dataclass(frozen=True)
class Resolution:
    """What a unit name in a plan stands for (``UnitRule``): the directory's names of the units it means
    (itself, or a group's members) and whether it is a group the directory expanded. ``known`` is False
    when the directory does not know the name; it then stands for itself as written."""

    written: str
    units: tuple[str, ...]
    group: bool = False
    known: bool = False


class UnitRule(Protocol):
    """How the store turns a plan's unit names into units (``reminder.directory.Directory``): aliases
    to the directory's names, groups to their members. ``fingerprint`` changes whenever its answers
    could; the store then resolves every task's units again (``store.refresh_units``)."""

    @property
    def fingerprint(self) -> str: ...

    def resolve_name(self, written: str) -> Resolution: ...


@dataclass(frozen=True)
class UnitStanding:
    """One unit's standing over every current assignment (the digest's summary, a board's ranking):
    assignments open and done, how many are overdue and by how long the longest is (days)."""

    unit: str
    open: int
    done: int
    overdue: int
    longest_overdue_days: int

    @property
    def completion_rate(self) -> float:
        """Done of all (0.0 when it has none)."""
        total = self.open + self.done
        return self.done / total if total else 0.0


@dataclass(frozen=True)
class WorkTotals:
    """Tasks and assignments counted apart: a task is done when every unit on it is done."""

    tasks: int
    tasks_done: int
    unassigned: int      # current tasks with no unit (待分配)
    assignments: int
    assignments_done: int


# --------------------------------------------------------------------------------------------------
# Closing the loop (issue 11): what units and the office do, and the requests waiting for the office.

class Light(StrEnum):
    """亮灯: how an assignment stands today (``reminder.lights``)."""

    GREEN = "green"    # on track (or ongoing work without a date)
    YELLOW = "yellow"  # due within ``policy.yellow_within_days``
    RED = "red"        # overdue
    DONE = "done"      # 办结


class ActorKind(StrEnum):
    """Who did something: a unit from its link, an office user logged in, the CLI, the service itself."""

    UNIT = "unit"
    OFFICE = "office"
    CLI = "cli"
    SYSTEM = "system"


class ActionKind(StrEnum):
    """Every kind of thing kept in the 留痕 (the ``actions`` table). Stored as text: add, never rename."""

    ACK = "ack"                        # 签收
    PROGRESS = "progress"              # 报送进展
    REQUEST_DONE = "request_done"      # 申请办结
    REQUEST_EXTEND = "request_extend"  # 申请延期
    CONFIRM = "confirm"                # the office confirms a 办结 request: the assignment is done
    RETURN = "return"                  # the office returns a 办结 request, with a reason
    APPROVE = "approve"                # the office approves a 延期 request: the due date moves
    REFUSE = "refuse"                  # the office refuses a 延期 request
    EDIT_DUE = "edit_due"              # the office changed a due date
    EDIT_UNITS = "edit_units"          # the office changed a task's units
    IMPORT = "import"                  # a plan was imported
    RESEND = "resend"                  # a dead message was sent again
    DONE = "done"                      # marked done directly (`reminder done`)
    REOPEN = "reopen"                  # opened again (`reminder reopen`)


@dataclass(frozen=True)
class Actor:
    """Who did it: ``kind`` and a name (the unit, the office user; the CLI's OS user; '' for the system)."""

    kind: ActorKind
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else str(self.kind)


@dataclass(frozen=True)
class Action:
    """One row of the 留痕: what was done, when, by whom, about what. Never changed once written.

    ``file`` is a stored upload's path relative to ``web.files_dir`` (what ``/files/<path>`` serves);
    ``old_due``/``new_due`` are set for a 延期 request (``new_due``) and a due date that moved (both);
    ``request_id`` is, for a decision, the id of the request action it answers.
    """

    id: int
    at: datetime
    actor: Actor
    kind: ActionKind
    assignment_id: int | None = None
    task_id: int | None = None
    plan_id: int | None = None
    unit: str = ""
    message_id: int | None = None
    note: str = ""
    file: str | None = None
    link: str | None = None
    old_due: date | None = None
    new_due: date | None = None
    request_id: int | None = None


class RequestKind(StrEnum):
    DONE = "done"      # 申请办结
    EXTEND = "extend"  # 申请延期


class RequestState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"    # 办结 confirmed / 延期 approved
    REFUSED = "refused"      # 办结 returned / 延期 refused
    WITHDRAWN = "withdrawn"  # the assignment was closed or removed another way before a decision


@dataclass(frozen=True)
class LoopRequest:
    """A 办结 or 延期 request and what became of it. ``action`` is the unit's request (note, evidence,
    the date asked for); ``decision`` the office's answer, once given."""

    id: int
    kind: RequestKind
    assignment: Assignment
    action: Action
    state: RequestState = RequestState.PENDING
    new_due: date | None = None
    decision: Action | None = None
