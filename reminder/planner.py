"""(assignment, policy, calendar, now) -> the notices that should exist by now.  Pure.

Level-triggered planning (DESIGN.md): nothing here remembers what was scheduled. For one assignment
the planner lists every *stage* its deadline implies (reminders N days before, the due day, repeating
overdue notices, escalation, check-ins), each with the moment it fires, and returns

* the latest unit-facing stage that has fired by ``now`` — earlier ones that were never sent (the
  daemon was down) are coalesced into it, so a unit gets one notice, marked late, not a burst;
* office-facing stages that have fired (escalation of overdue or silent assignments);
* ``next_check_at``: when the next stage fires, so the store only hands us assignments with work due.

Every notice carries a unique key built from the day it fires, the assignment, the stage and the date
it is about (``2021-11-08:a5:overdue:2021-11-01``), so inserting the same notice twice is a no-op and a
changed deadline (a corrected plan) yields new keys.

Stages fire on working days at the send hour. A due date on a holiday or weekend moves to the next
working day; reminders N days before move back to the working day before, so they are never late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reminder.model import (
    OFFICE_STAGES,
    UNIT_STAGES,
    Assignment,
    AssignmentStatus,
    Deadline,
    DeadlineKind,
    DueDate,
    Every,
    Notice,
    OffsetUnit,
    Policy,
    Stage,
)

if TYPE_CHECKING:
    from reminder.workdays import Calendar

PERIOD_MONTHS = {Every.YEAR: 12, Every.HALF_YEAR: 6, Every.QUARTER: 3, Every.MONTH: 1}


@dataclass(frozen=True)
class Decision:
    """What should exist for one assignment by now, and when to look at it again (None: never, until
    something changes it: a report, an event, a corrected plan)."""

    notices: tuple[Notice, ...]
    next_check_at: datetime | None


@dataclass(frozen=True)
class _Target:
    """One date a unit must meet: the due date, a milestone, or the end of a recurring period.
    ``due`` is a working day; ``written`` the date before it was moved off a rest day."""

    due: date
    inferred: bool
    written: date | None = None
    milestone: str | None = None
    period: str | None = None
    start: date | None = None        # reminders before this day make no sense (a period's start)
    nags_when_overdue: bool = True   # repeating overdue notices and escalation


@dataclass(frozen=True)
class _Stage:
    stage: Stage
    fire_on: date
    target: _Target


def plan_assignment(assignment: Assignment, policy: Policy, calendar: Calendar, now: datetime) -> Decision:
    """The notices that should exist for ``assignment`` by ``now``, and when to look again."""
    # A stage fires at the send hour of its day: it has fired by now when its day is this one or before.
    today = _local_date(now, policy)
    fired_until = today if _fire_at(today, policy) <= now else today - timedelta(days=1)
    stages = _stages(assignment, policy, calendar, now)
    fired = [s for s in stages if s.fire_on <= fired_until]
    pending = min((s.fire_on for s in stages if s.fire_on > fired_until), default=None)
    notices = []
    unit_fired = [s for s in fired if s.stage in UNIT_STAGES]
    if unit_fired:
        latest = max(unit_fired, key=lambda s: (s.fire_on, UNIT_STAGES.index(s.stage)))
        notices.append(_notice(assignment, latest, policy, now))
    notices.extend(_notice(assignment, s, policy, now) for s in fired if s.stage in OFFICE_STAGES)
    return Decision(notices=tuple(notices), next_check_at=_fire_at(pending, policy) if pending else None)


def effective_due(deadline: Deadline, plan_year: int, policy: Policy, calendar: Calendar,
                  events: dict[str, date] | None = None) -> DueDate | None:
    """The one place a task's effective due date is computed: the working day its last date falls on
    (a milestone plan's last step; the policy's default when the text gives none), the date as written,
    and whether it was inferred. None when the task has no single date (ongoing, recurring, a relative
    deadline whose event is not recorded yet)."""
    if deadline.kind in (DeadlineKind.ONGOING, DeadlineKind.RECURRING):
        return None
    targets = _targets_for_deadline(deadline, plan_year, policy, calendar, events or {})
    finals = [t for t in targets if t.nags_when_overdue] or targets
    if not finals:
        return None
    final = max(finals, key=lambda t: t.due)
    return DueDate(final.due, final.written or final.due, final.inferred)


class DueDates:
    """:func:`effective_due` bound to one policy and calendar: what the store calls for every task it
    writes, so ``reminder tasks``, ``--due-before``, the digest and the notices show one date.

    ``fingerprint`` changes when a task's effective date could (the policy's default due date, the
    calendar's days); the store then recomputes the dates it holds.
    """

    def __init__(self, policy: Policy, calendar: Calendar):
        self.policy = policy
        self.calendar = calendar

    def __call__(self, deadline: Deadline, plan_year: int, events: dict[str, date] | None = None) -> DueDate | None:
        return effective_due(deadline, plan_year, self.policy, self.calendar, events)

    @property
    def fingerprint(self) -> str:
        month, day = self.policy.default_due
        return f"default {month:02}-{day:02}|{self.calendar.fingerprint}"


# --- stages ---------------------------------------------------------------------------------------

def _stages(assignment: Assignment, policy: Policy, calendar: Calendar, now: datetime) -> list[_Stage]:
    task = assignment.task
    kind, done = task.deadline.kind, assignment.status is AssignmentStatus.DONE
    if kind is DeadlineKind.ONGOING or (kind is DeadlineKind.RECURRING
                                        and task.deadline.every in (None, Every.UNSPECIFIED)):
        return [] if done else _checkin_stages(assignment, policy, calendar, now)
    if done and kind is not DeadlineKind.RECURRING:
        return []
    stages: list[_Stage] = []
    for target in _targets_for_deadline(task.deadline, task.plan_year, policy, calendar, task.events):
        if kind is DeadlineKind.RECURRING and _reported_within(assignment, target):
            continue
        stages.extend(_target_stages(target, assignment, policy, calendar, now))
    return stages


def _target_stages(target: _Target, assignment: Assignment, policy: Policy, calendar: Calendar,
                   now: datetime) -> list[_Stage]:
    stages = []
    for days in sorted(policy.remind_days_before, reverse=True):
        fire_on = calendar.previous_workday(target.due - timedelta(days=days))
        if target.start is None or fire_on >= target.start:
            stages.append(_Stage(Stage.REMINDER, fire_on, target))
    stages.append(_Stage(Stage.DUE, target.due, target))
    if target.nags_when_overdue:
        stages.extend(_overdue_stages(target, assignment, policy, calendar, now))
    return stages


def _overdue_stages(target: _Target, assignment: Assignment, policy: Policy, calendar: Calendar,
                    now: datetime) -> list[_Stage]:
    """Overdue notices repeat from the due day, or from the unit's last report if it is later."""
    anchor = target.due
    reported = assignment.last_report_at
    if reported and reported.date() > anchor:
        anchor = reported.date()
    interval = timedelta(days=max(1, policy.overdue_repeat_days))
    stages = []
    today = _local_date(now, policy)
    # Only the latest repeat that has fired and the next one count (the planner sends the latest stage
    # reached), so start a couple of repeats before today instead of walking every one since the due
    # day; step back while that one falls after yesterday (a long holiday can push a repeat forward).
    k = max(1, (today - anchor).days // interval.days - 2)
    while k > 1 and calendar.next_workday(anchor + k * interval) > today - timedelta(days=1):
        k -= 1
    while True:
        fire_on = calendar.next_workday(anchor + k * interval)
        stages.append(_Stage(Stage.OVERDUE, fire_on, target))
        if fire_on > today:
            break  # one pending stage is enough to know when to look again
        k += 1
    escalate_on = calendar.next_workday(target.due + timedelta(days=policy.escalate_after_days))
    stages.append(_Stage(Stage.ESCALATION, escalate_on, target))
    return stages


def _checkin_stages(assignment: Assignment, policy: Policy, calendar: Calendar, now: datetime) -> list[_Stage]:
    """Ongoing work: a check-in every period since the last report; silence past grace escalates."""
    start = (assignment.created_at or now).date()
    reported = assignment.last_report_at
    anchor = max(start, reported.date()) if reported else start
    every = timedelta(days=max(1, policy.checkin_every_days))
    today = _local_date(now, policy)
    stages = []
    k = 1
    while True:
        fire_on = calendar.next_workday(anchor + k * every)
        stages.append(_Stage(Stage.CHECKIN, fire_on, _Target(due=anchor + k * every, inferred=False)))
        if fire_on > today:
            break
        k += 1
    silent_on = calendar.next_workday(anchor + every + timedelta(days=policy.checkin_grace_days))
    stages.append(_Stage(Stage.SILENT, silent_on, _Target(due=anchor, inferred=False)))
    return stages


def _reported_within(assignment: Assignment, target: _Target) -> bool:
    """A recurring period is met when the unit reported (done or progress) after it began."""
    reported = assignment.last_report_at.date() if assignment.last_report_at else None
    return reported is not None and target.start is not None and reported >= target.start


# --- targets --------------------------------------------------------------------------------------

def _targets_for_deadline(deadline: Deadline, plan_year: int, policy: Policy, calendar: Calendar,
                          events: dict[str, date]) -> list[_Target]:
    kind = deadline.kind
    if kind is DeadlineKind.FIXED:
        return _fixed_targets(deadline, calendar)
    if kind is DeadlineKind.NONE:
        due = policy.default_due_date(plan_year)
        return [_Target(due=calendar.next_workday(due), inferred=True, written=due)]
    if kind is DeadlineKind.RECURRING:
        return _recurring_targets(deadline, plan_year, calendar)
    if kind is DeadlineKind.RELATIVE:
        return _relative_targets(deadline, calendar, events)
    return []


def _fixed_targets(deadline: Deadline, calendar: Calendar) -> list[_Target]:
    milestones = sorted(deadline.milestones, key=lambda m: m.due)
    if len(milestones) <= 1:
        if deadline.due is None:
            return []
        what = milestones[0].what if milestones else None
        return [_Target(due=calendar.next_workday(deadline.due), inferred=deadline.inferred_year, milestone=what,
                        written=deadline.due)]
    last = len(milestones) - 1
    return [_Target(due=calendar.next_workday(m.due), inferred=deadline.inferred_year, milestone=m.what,
                    nags_when_overdue=(i == last), written=m.due)
            for i, m in enumerate(milestones)]


def _recurring_targets(deadline: Deadline, plan_year: int, calendar: Calendar) -> list[_Target]:
    """Every period of the plan year ends with a due date; weeks end on Friday."""
    if deadline.every is Every.WEEK:
        first = date(plan_year, 1, 1)
        friday = first + timedelta(days=(4 - first.weekday()) % 7)
        targets = []
        while friday.year == plan_year:
            week = friday.isocalendar().week
            targets.append(_Target(due=calendar.next_workday(friday), inferred=False,
                                   period=f"{plan_year}年第{week}周", start=friday - timedelta(days=4),
                                   nags_when_overdue=False))
            friday += timedelta(days=7)
        return targets
    months = PERIOD_MONTHS.get(deadline.every, 12) if deadline.every else 12
    targets = []
    for start_month in range(1, 13, months):
        start = date(plan_year, start_month, 1)
        end = _month_end(plan_year, start_month + months - 1)
        targets.append(_Target(due=calendar.next_workday(end), inferred=False,
                               period=_period_label(plan_year, start_month, months), start=start,
                               nags_when_overdue=False))
    return targets


def _relative_targets(deadline: Deadline, calendar: Calendar, events: dict[str, date]) -> list[_Target]:
    offset = deadline.offset
    if offset is None:
        return []
    event = events.get(offset.after) or (next(iter(events.values())) if len(events) == 1 else None)
    if event is None:
        return []  # waits for `reminder event`; the digest lists it for review
    if offset.unit is OffsetUnit.WORKDAY:
        due = calendar.add_workdays(event, offset.n)
    elif offset.unit is OffsetUnit.MONTH:
        due = _add_months(event, offset.n)
    else:
        due = event + timedelta(days=offset.n)
    return [_Target(due=calendar.next_workday(due), inferred=False, written=due)]


# --- notices ----------------------------------------------------------------------------------------

def _notice(assignment: Assignment, stage: _Stage, policy: Policy, now: datetime) -> Notice:
    target = stage.target
    tag = target.period or target.due.isoformat()
    # The day it fires comes first: keys written by one tick are neighbours in the store's key index.
    key = f"{stage.fire_on.isoformat()}:a{assignment.id}:{stage.stage}:{tag}"
    late = stage.fire_on < _local_date(now, policy)
    return Notice(key=key, assignment=assignment, stage=stage.stage, fire_at=_fire_at(stage.fire_on, policy),
                  due=target.due, due_inferred=target.inferred, late=late, milestone=target.milestone,
                  period=target.period)


def _fire_at(day: date, policy: Policy) -> datetime:
    """The moment a stage of ``day`` fires: the send hour, in the office's time zone."""
    return _send_time(day, policy.send_hour, policy.timezone)


@lru_cache(maxsize=8192)
def _send_time(day: date, hour: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=_zone(zone))


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_date(now: datetime, policy: Policy) -> date:
    return now.astimezone(_zone(policy.timezone)).date() if now.tzinfo else now.date()


def _month_end(year: int, month: int) -> date:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return min(day.replace(year=year, month=month, day=1) + timedelta(days=day.day - 1), _month_end(year, month))


def _period_label(year: int, start_month: int, months: int) -> str:
    if months == 12:
        return f"{year}年度"
    if months == 6:
        return f"{year}年{'上' if start_month == 1 else '下'}半年"
    if months == 3:
        return f"{year}年第{(start_month - 1) // 3 + 1}季度"
    return f"{year}年{start_month}月"
