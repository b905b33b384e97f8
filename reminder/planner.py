"""(assignments, policy, calendar, now) -> the notices that should exist by now.  Pure.

Level-triggered planning (DESIGN.md): nothing here remembers what was scheduled. For one assignment
the planner lists every *stage* its deadline implies (reminders N days before, the due day, escalation,
check-ins), each with the moment it fires, and returns (:func:`plan_assignment`)

* the latest unit-facing stage that has fired by ``now`` — earlier ones that were never sent (the
  daemon was down) are coalesced into it, so a unit gets one notice, not a burst;
* whether the assignment is overdue and due to be chased (``overdue_from``: from one overdue interval
  after its due date, or after the unit's last report);
* office-facing stages that have fired (escalation of overdue or silent assignments);
* ``next_check_at``: when the next stage fires, so the store only hands us assignments with work due.

For one unit, :func:`plan_unit` then decides what the unit hears in this pass, with what the store knows
(which notices exist, when the unit last had an overdue message):

* a due-day notice only on the due day: one that was never sent (downtime) is not sent late; the item
  is overdue by then, and says so;
* overdue notices per unit, not per task: at most one overdue message every ``overdue_repeat_days``,
  listing every overdue task of the unit;
* 补发 (``late``) only for a stage that fired while the assignment had this schedule and went unsent;
  a stage that fired before the unit got the task (an import, a re-import that added the unit) is not
  late, and is 新分配 (``new``) when the task was given to the unit after its plan brought it.

Every notice carries a unique key built from the day it fires, the assignment, the stage and the date
it is about (``2021-11-08:a5:overdue:2021-11-01``), so inserting the same notice twice is a no-op and a
changed deadline (a corrected plan) yields new keys.

Stages fire on working days at the send hour; nothing goes out outside the sending window
(:func:`sending_moment`: working days, from ``send_hour``, before ``send_until_hour``). A due date on a
holiday or weekend moves to the next working day (:func:`shift_note` says why); reminders N days before
move back to the working day before, so they are never late.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reminder.deadline import period_due_dates
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
    something changes it: a report, an event, a corrected plan). ``overdue_from`` is the first day the
    assignment is chased as overdue (None while it is not overdue, or never is: done, a step, a period)."""

    notices: tuple[Notice, ...]
    next_check_at: datetime | None
    overdue_from: date | None = None


@dataclass(frozen=True)
class UnitPlan:
    """What one unit's assignments come to in one pass: the new notices (the unit's, at most one per
    assignment, and the office's) and when to look at each assignment again."""

    notices: tuple[Notice, ...]
    next_checks: tuple[tuple[int, datetime | None], ...]


@dataclass(frozen=True)
class _Target:
    """One date a unit must meet: the due date, a milestone, or the end of a recurring period.
    ``due`` is a working day; ``written`` the date before it was moved off a rest day.
    ``nags_when_overdue``: the task's last date (not a step, not a period): once it passes, the task is
    overdue, chased and escalated."""

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
    """The notices that should exist for ``assignment`` by ``now``, and when to look again.

    The unit-facing notice is the latest stage that has fired; an assignment overdue past ``overdue_from``
    yields an overdue notice of today instead (:func:`plan_unit` decides whether the unit hears it now).
    """
    # A stage fires at the send hour of its day: it has fired by now when its day is this one or before.
    fired_until = _fired_until(now, policy)
    stages = _stages(assignment, policy, calendar, now)
    overdue_from = _overdue_from(assignment, policy, calendar)
    fired = [s for s in stages if s.fire_on <= fired_until]
    pending = [s.fire_on for s in stages if s.fire_on > fired_until]
    if overdue_from is not None and overdue_from > fired_until:
        pending.append(overdue_from)
    notices = []
    if overdue_from is not None and overdue_from <= fired_until:
        notices.append(overdue_notice(assignment, fired_until, policy))
    else:
        unit_fired = [s for s in fired if s.stage in UNIT_STAGES]
        if unit_fired:
            latest = max(unit_fired, key=lambda s: (s.fire_on, UNIT_STAGES.index(s.stage)))
            notices.append(_notice(assignment, latest, policy, now))
    notices.extend(_notice(assignment, s, policy, now) for s in fired if s.stage in OFFICE_STAGES)
    next_check = _fire_at(min(pending), policy) if pending else None
    return Decision(notices=tuple(notices), next_check_at=next_check, overdue_from=overdue_from)


def plan_unit(assignments: Sequence[Assignment], policy: Policy, calendar: Calendar, now: datetime, *,
              stored: Collection[str] = (), last_overdue: datetime | None = None,
              overdue: Callable[[], Sequence[Assignment]] = tuple,
              decisions: Mapping[int, Decision] | None = None) -> UnitPlan:
    """What one unit hears in this pass about ``assignments`` (those due for a look), and the office.

    ``stored`` holds the keys of notices that exist already (they are not new); ``last_overdue`` is when
    the unit last had overdue items; ``overdue`` reads its other open assignments past their due date,
    which an overdue message lists with the rest (read only when one goes out). ``decisions`` are the
    assignments' :func:`plan_assignment` results, when the caller has them already. Rules (see the
    module docstring): a due-day notice only on the due day; at most one overdue message per unit every
    ``overdue_repeat_days``, listing every overdue task.
    """
    today = _fired_until(now, policy)
    interval = timedelta(days=max(1, policy.overdue_repeat_days))
    notices: list[Notice] = []
    chase: list[Assignment] = []
    next_checks: dict[int, datetime | None] = {}
    for assignment in assignments:
        decision = (decisions or {}).get(assignment.id) or plan_assignment(assignment, policy, calendar, now)
        next_checks[assignment.id] = decision.next_check_at
        for notice in decision.notices:
            if notice.key in stored:
                continue
            if not notice.stage.for_unit:
                notices.append(notice)
            elif notice.stage is Stage.OVERDUE:
                chase.append(assignment)
            elif notice.stage is Stage.DUE and notice.fire_at.date() < today:
                # A due day that passed unsent: the item is overdue now (a step or a period is simply past).
                if notice.final:
                    chase.append(assignment)
            else:
                notices.append(notice)
    if not chase:
        return UnitPlan(tuple(notices), tuple(next_checks.items()))
    last = _local_date(last_overdue, policy) if last_overdue else None
    release = calendar.next_workday(last + interval) if last else today
    if release <= today:
        listed = {a.id: a for a in (*assignments, *overdue()) if _is_overdue(a, today)}
        listed.update((a.id, a) for a in chase)
        notices.extend(overdue_notice(a, today, policy, new=_newly_given(a, last_overdue)) for a in listed.values())
        release = calendar.next_workday(today + interval)
    again = _fire_at(release, policy)
    for assignment in chase:
        current = next_checks[assignment.id]
        next_checks[assignment.id] = again if current is None else min(current, again)
    return UnitPlan(tuple(notices), tuple(next_checks.items()))


def overdue_notice(assignment: Assignment, day: date, policy: Policy, new: bool = False) -> Notice:
    """The overdue notice of ``assignment`` going out on ``day``: about its effective due date."""
    due = assignment.due
    tag = due.day.isoformat() if due else "-"
    return Notice(key=f"{day.isoformat()}:a{assignment.id}:{Stage.OVERDUE}:{tag}", assignment=assignment,
                  stage=Stage.OVERDUE, fire_at=_fire_at(day, policy), due=due.day if due else None,
                  due_inferred=bool(due and due.inferred), due_written=due.written if due else None, new=new)


def _is_overdue(assignment: Assignment, today: date) -> bool:
    due = assignment.due
    return assignment.status is AssignmentStatus.OPEN and due is not None and due.day < today


def _newly_given(assignment: Assignment, last_overdue: datetime | None) -> bool:
    """Given to the unit by a later change (a re-import, the office) since its last overdue message."""
    given, created = assignment.started_at, assignment.task.created_at
    return (given is not None and created is not None and given > created
            and (last_overdue is None or given > last_overdue))


def _overdue_from(assignment: Assignment, policy: Policy, calendar: Calendar) -> date | None:
    """The first day an overdue assignment is chased: one overdue interval after its last date (or after
    the unit's last report, if later), on a working day. None when it is done or has no such date."""
    if assignment.status is AssignmentStatus.DONE or assignment.task.deadline.kind in (
            DeadlineKind.ONGOING, DeadlineKind.RECURRING):
        return None
    finals = [t for t in _assignment_targets(assignment, policy, calendar) if t.nags_when_overdue]
    if not finals:
        return None
    anchor = max(t.due for t in finals)
    reported = assignment.last_report_at
    if reported and reported.date() > anchor:
        anchor = reported.date()
    return calendar.next_workday(anchor + timedelta(days=max(1, policy.overdue_repeat_days)))


def sending_moment(now: datetime, policy: Policy, calendar: Calendar) -> bool:
    """Whether notices and the digest may go out at ``now``: a working day, from ``send_hour``, before
    ``send_until_hour`` (when set)."""
    local = now.astimezone(_zone(policy.timezone)) if now.tzinfo else now
    if not calendar.is_workday(local.date()) or local.hour < policy.send_hour:
        return False
    return policy.send_until_hour is None or local.hour < policy.send_until_hour


def next_sending_moment(now: datetime, policy: Policy, calendar: Calendar) -> datetime:
    """``now`` when it is a sending moment, else the next one (a working day at ``send_hour``)."""
    if sending_moment(now, policy, calendar):
        return now
    today = _local_date(now, policy)
    if calendar.is_workday(today) and now < _fire_at(today, policy):
        return _fire_at(today, policy)
    return _fire_at(calendar.next_workday(today, include_today=False), policy)


WEEKDAYS = "一二三四五六日"


def shift_note(written: date, day: date, calendar: Calendar) -> str | None:
    """Why a date moved, said once in a notice: "10月30日为周六，顺延至11月1日（周一）"; None if it did not."""
    if written == day:
        return None
    target = f"{day.month}月{day.day}日" if day.year == written.year else f"{day.year}年{day.month}月{day.day}日"
    return (f"{written.month}月{written.day}日为{_rest_reason(written, calendar)}，顺延至{target}"
            f"（周{WEEKDAYS[day.weekday()]}）")


def _rest_reason(day: date, calendar: Calendar) -> str:
    """What kind of rest day ``day`` is: the festival whose holiday (the run of rest days) it falls in,
    else 周六 / 周日."""
    names = {d.day: d.name for d in calendar.schedule(day.year).rest_days}
    first = last = day
    while not calendar.is_workday(first - timedelta(days=1)) and day - first < timedelta(days=10):
        first -= timedelta(days=1)
    while not calendar.is_workday(last + timedelta(days=1)) and last - day < timedelta(days=10):
        last += timedelta(days=1)
    festivals = [names[d].split("（")[0] for d in sorted(names) if first <= d <= last
                 and not names[d].startswith("休息日") and names[d] != "节假日"]
    if festivals:
        return f"{festivals[0]}假期"
    if day in names:
        return "法定节假日"
    return f"周{WEEKDAYS[day.weekday()]}" if day.weekday() >= 5 else "休息日"


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
    for target in _assignment_targets(assignment, policy, calendar):
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
        # Overdue notices are the unit's (plan_unit); the office hears once past the threshold.
        escalate_on = calendar.next_workday(target.due + timedelta(days=policy.escalate_after_days))
        stages.append(_Stage(Stage.ESCALATION, escalate_on, target))
    return stages


def _checkin_stages(assignment: Assignment, policy: Policy, calendar: Calendar, now: datetime) -> list[_Stage]:
    """Ongoing work: a check-in every period since the last report; silence past grace escalates."""
    start = (assignment.started_at or now).date()
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

def _assignment_targets(assignment: Assignment, policy: Policy, calendar: Calendar) -> list[_Target]:
    """The dates an assignment is chased for: its task's, or, after an approved 延期, the one new date the
    office agreed with this unit (the task's earlier steps are then behind it: only the new date counts)."""
    extended = assignment.due_extended
    if extended is not None:
        return [_Target(due=calendar.next_workday(extended), inferred=False, written=extended)]
    task = assignment.task
    return _targets_for_deadline(task.deadline, task.plan_year, policy, calendar, task.events)


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
    """Every period of the plan year has a due date: the day the text names inside each period
    (每月5日前: the 5th of every month), else the period's end; weeks end on Friday."""
    if deadline.due is not None:
        return _recurring_days(deadline, plan_year, calendar)
    if deadline.every is Every.WEEK:
        first = date(plan_year, 1, 1)
        friday = first + timedelta(days=(4 - first.weekday()) % 7)
        targets = []
        while friday.year == plan_year:
            targets.append(_week_target(friday, calendar))
            friday += timedelta(days=7)
        return targets
    months = _period_months(deadline)
    targets = []
    for start_month in range(1, 13, months):
        start = date(plan_year, start_month, 1)
        end = _month_end(plan_year, start_month + months - 1)
        targets.append(_Target(due=calendar.next_workday(end), inferred=False,
                               period=_period_label(plan_year, start_month, months), start=start,
                               nags_when_overdue=False))
    return targets


def _recurring_days(deadline: Deadline, plan_year: int, calendar: Calendar) -> list[_Target]:
    """A recurrence with a day inside each period (每月5日前, 每季度首月15日前, 每周五): one target on that
    day of every period, moved to a working day like any date and labelled with its period."""
    if deadline.every is Every.WEEK:
        return [_week_target(day, calendar) for day in period_due_dates(deadline, plan_year)]
    months = _period_months(deadline)
    targets = []
    for day in period_due_dates(deadline, plan_year):
        start_month = (day.month - 1) // months * months + 1
        targets.append(_Target(due=calendar.next_workday(day), inferred=False, written=day,
                               period=_period_label(plan_year, start_month, months),
                               start=date(plan_year, start_month, 1), nags_when_overdue=False))
    return targets


def _period_months(deadline: Deadline) -> int:
    """Months in each period of a recurrence (a year when it names none, as 定期 does)."""
    return PERIOD_MONTHS.get(deadline.every, 12) if deadline.every else 12


def _week_target(day: date, calendar: Calendar) -> _Target:
    """The target of the week holding ``day``: due that day (or the next working day), from its Monday."""
    iso = day.isocalendar()
    return _Target(due=calendar.next_workday(day), inferred=False, written=day,
                   period=f"{day.year}年第{iso.week}周", start=day - timedelta(days=day.weekday()),
                   nags_when_overdue=False)


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
    fire_at = _fire_at(stage.fire_on, policy)
    before = fire_at < assignment.planned_from if assignment.planned_from else False
    late = stage.fire_on < _local_date(now, policy) and not before
    given, created = assignment.started_at, assignment.task.created_at
    new = bool(given and created and given > created and fire_at < given)
    # A check-in asks for progress: it has no date to meet (its target's day only keys it); a silence
    # notice is about the day the unit last reported (or got the task).
    due = None if stage.stage is Stage.CHECKIN else target.due
    return Notice(key=key, assignment=assignment, stage=stage.stage, fire_at=fire_at, due=due,
                  due_inferred=target.inferred, late=late, milestone=target.milestone, period=target.period,
                  due_written=target.written if due else None, final=target.nags_when_overdue, new=new)


def _fired_until(now: datetime, policy: Policy) -> date:
    """The last day whose stages have fired by ``now``: today from the send hour, else yesterday."""
    today = _local_date(now, policy)
    return today if _fire_at(today, policy) <= now else today - timedelta(days=1)


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
    """The office's calendar day at ``now``."""
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
