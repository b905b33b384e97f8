"""The office digest from a store snapshot and ``now``.

A summary first: tasks and assignments counted apart, and a table by unit (overdue, the longest overdue,
done, open, completion rate). Then the details: who is late, on what, by how long, and what they last
reported; what is due soon; ongoing work whose units have gone silent; deadlines a person should check;
tasks no unit has (待分配); units nobody can reach; messages that could not be delivered. Built fresh
each time from the database (level-triggered like the planner), so a missed digest loses nothing: the
next one says the same and more.

It goes out only at a sending moment (working days, from ``send_hour``, before ``send_until_hour``); a
dry run shows what it would say at any time, without writing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, cast

from reminder import delivery, planner, routing, store
from reminder.model import (
    Assignment,
    DeadlineKind,
    MessageStatus,
    NoticeRoute,
    OutboxMessage,
    Stage,
)
from reminder.render import (
    ALL_FORMS,
    DigestContext,
    DigestTotals,
    DueSoonItem,
    FailedMessage,
    OverdueGroup,
    OverdueItem,
    Renderer,
    ReviewItem,
    SilentItem,
    StandingRow,
    UnassignedTask,
    UnitItem,
    UnroutableUnit,
    WorkCounts,
    digest_context,
)
from reminder.store import NoticeBatch

if TYPE_CHECKING:
    import sqlite_utils

    from reminder.config import Config

DUE_SOON_DAYS = 7
# Each section lists at most this many items (overdue: per unit too), most urgent first, and the
# digest says how many it left out: at a million assignments an uncut digest is 10-17 MB, more
# than mail servers accept.
SECTION_LIMIT = 100
PER_UNIT_LIMIT = 10

REVIEW_REASONS = {DeadlineKind.NONE: "未写明或无法识别完成时限，已按默认日期推定",
                  DeadlineKind.RELATIVE: "相对时限，尚未登记起算日期（reminder event）"}


@dataclass(frozen=True)
class DigestSummary:
    """What `reminder digest` did: the whole counts per section, the subject, the routes it went to,
    and (unless a dry run) how many messages were queued and what delivery did."""

    totals: dict[str, int]
    subject: str
    routes: int
    text: str | None = None                              # the digest itself, on a dry run
    queued: int | None = None
    delivered: delivery.DeliveryCounts | None = None
    waiting_until: datetime | None = None                # not a sending moment: nothing queued until then

    def as_dict(self) -> dict:
        summary: dict = {**self.totals, "subject": self.subject, "routes": self.routes}
        if self.waiting_until is not None:
            summary["waiting_until"] = self.waiting_until.isoformat()
        if self.text is not None:
            return {**summary, "text": self.text}
        return {**summary, "queued": self.queued,
                "delivered": self.delivered.as_dict() if self.delivered else {}}


def build_context(db: sqlite_utils.Database, config: Config, now: datetime) -> DigestContext:
    """The digest template's context (see ``reminder.render.DigestContext``)."""
    today = now.astimezone(config.zone).date()
    store.refresh_due_dates(db, config.due_dates(), now)
    store.refresh_units(db, config.directory, now)
    overdue, due_soon = _dated(db, config, today)
    silent, review = _silent(db, today), _review(db)
    unroutable = _unroutable(db, config)
    failed = [FailedMessage(unit=m.message.unit, channel=m.message.route.channel, subject=m.message.subject,
                            attempts=m.message.attempts, last_error=m.message.last_error or "",
                            unknown_attempts=m.message.unknown_attempts)
              for m in store.list_messages(db, status=MessageStatus.DEAD)]
    calendar = config.working_calendar()
    notes = [calendar.coverage_note(year) or "" for year in calendar.uncovered(store.years_in_use(db))]
    standings = _standings(db, today)
    unassigned = [UnassignedTask(plan_title=t.plan_title, task_number=t.number, task_ref=str(t.ref), text=t.text,
                                 units_text=t.units_text) for t in store.unassigned_tasks(db)]
    totals = DigestTotals(overdue=sum(g["total"] for g in overdue), due_soon=len(due_soon), silent=len(silent),
                          review=len(review), unroutable=len(unroutable), failed=len(failed),
                          unassigned=len(unassigned), standings=len(standings))
    work = store.work_totals(db)
    return digest_context(config.office.name, now, overdue=_cut_overdue(overdue), due_soon=due_soon[:SECTION_LIMIT],
                          silent=silent[:SECTION_LIMIT], review=review[:SECTION_LIMIT],
                          unroutable=unroutable[:SECTION_LIMIT], failed=failed[:SECTION_LIMIT],
                          totals=totals, limit=SECTION_LIMIT, calendar_notes=notes,
                          standings=standings[:SECTION_LIMIT], unassigned=unassigned[:SECTION_LIMIT],
                          queue_url=_queue_url(config),
                          work=WorkCounts(tasks=work.tasks, tasks_done=work.tasks_done, unassigned=work.unassigned,
                                          assignments=work.assignments, assignments_done=work.assignments_done))


def _queue_url(config: Config) -> str | None:
    """The office queue's address for the digest, when the web app is configured."""
    if config.web is None:
        return None
    from reminder.web.links import office_url

    return office_url(config.web.base_url, "queue")


def _standings(db: sqlite_utils.Database, today: date) -> list[StandingRow]:
    """The summary table by unit: the most overdue first."""
    return [StandingRow(unit=s.unit, overdue=s.overdue, longest_overdue_days=s.longest_overdue_days, done=s.done,
                        open=s.open, completion=f"{s.completion_rate:.0%}") for s in store.unit_standings(db, today)]


def _cut_overdue(groups: list[OverdueGroup]) -> list[OverdueGroup]:
    """The most overdue units first, each with at most PER_UNIT_LIMIT items, SECTION_LIMIT in all."""
    cut, room = [], SECTION_LIMIT
    for group in groups:
        if room <= 0:
            break
        items = group["items"][: min(PER_UNIT_LIMIT, room)]
        cut.append(OverdueGroup(unit=group["unit"], items=items, total=group["total"]))
        room -= len(items)
    return cut


def run_digest(db: sqlite_utils.Database, config: Config, now: datetime, *, dry_run: bool = False,
               holder: str = "digest", renderer: Renderer | None = None) -> DigestSummary:
    """Render the digest and queue it to the office's routes (once per day), then deliver.

    Only at a sending moment: otherwise nothing is queued and ``waiting_until`` says when it could go.
    A dry run shows the digest as of ``now`` (any date, before the import too) as a tick at ``now`` would
    leave the database, and writes nothing (:func:`reminder.store.preview`).
    """
    if dry_run:
        with store.preview(db):
            from reminder.tick import plan_pass

            plan_pass(db, config, now, as_of=True)
            return _digest(db, config, now, True, holder, renderer)
    return _digest(db, config, now, False, holder, renderer)


def _digest(db: sqlite_utils.Database, config: Config, now: datetime, dry_run: bool, holder: str,
            renderer: Renderer | None) -> DigestSummary:
    renderer = renderer or Renderer(config.templates)
    calendar = config.working_calendar()
    waiting = None if planner.sending_moment(now, config.policy, calendar) else planner.next_sending_moment(
        now, config.policy, calendar)
    context = build_context(db, config, now)
    routes = routing.office_routes(config)
    rendered = renderer.render_digest(context, routing.forms_for(routes) if not dry_run else ALL_FORMS)
    day = now.astimezone(config.zone).date().isoformat()
    messages = [OutboxMessage(key=f"digest:{day}:{route.channel}:{route.id}", unit=config.office.name, route=route,
                              subject=rendered.subject, text=rendered.text, html=rendered.html,
                              markdown=rendered.markdown) for route in routes]
    totals = dict(cast(dict[str, int], context["totals"]))
    if dry_run:
        return DigestSummary(totals, rendered.subject, len(messages), text=rendered.text, waiting_until=waiting)
    if waiting is not None:
        return DigestSummary(totals, rendered.subject, len(messages), queued=0, waiting_until=waiting)
    queued = store.enqueue(db, [NoticeBatch((), NoticeRoute.QUEUED, messages)], [], now)
    return DigestSummary(totals, rendered.subject, len(messages), queued=queued,
                         delivered=delivery.deliver_due(db, config, now, holder))


def _dated(db: sqlite_utils.Database, config: Config, today: date) -> tuple[list[OverdueGroup], list[DueSoonItem]]:
    """Overdue items by unit (the most overdue unit first) and items due within a week, by the tasks'
    effective due dates (the dates the notices show)."""
    policy = config.policy
    overdue: dict[str, list[OverdueItem]] = {}
    due_soon = []
    dated = store.dated_assignments(db, today + timedelta(days=DUE_SOON_DAYS))
    notes = store.latest_notes(db, [a.id for a in dated if a.due and a.due.day < today])
    for assignment in dated:
        due = assignment.due
        if due is None:
            continue
        item = _item(assignment, due.day, due.inferred, today)
        if due.day < today:
            days = (today - due.day).days
            note = notes.get(assignment.id)
            overdue.setdefault(assignment.unit, []).append(
                OverdueItem(**item, days_overdue=days, escalated=days > policy.escalate_after_days,
                            last_note=note.note if note else None,
                            last_note_at=note.at.astimezone(config.zone).date() if note else None))
        elif (due.day - today).days <= DUE_SOON_DAYS:
            due_soon.append(DueSoonItem(**item, unit=assignment.unit))
    units = sorted(overdue, key=lambda u: -max(i["days_overdue"] for i in overdue[u]))
    return ([OverdueGroup(unit=u, items=sorted(overdue[u], key=lambda i: -i["days_overdue"]), total=len(overdue[u]))
             for u in units],
            sorted(due_soon, key=lambda i: i["due"] or today))


def _item(assignment: Assignment, due: date, inferred: bool, today: date) -> UnitItem:
    task = assignment.task
    return UnitItem(stage="overdue" if due < today else "reminder", plan_title=task.plan_title,
                    task_number=task.number, task_ref=str(task.ref), text=task.text,
                    deadline_text=task.deadline.text, due=due, due_inferred=inferred,
                    days_left=(due - today).days, late=False, milestone=None, period=None,
                    due_written=task.due.written if task.due else None, new=False, last_report=None,
                    units_text=task.units_text, due_change=str(assignment.due_change or ""))


def _silent(db: sqlite_utils.Database, today: date) -> list[SilentItem]:
    """Ongoing work whose unit stayed silent past the grace period; ``due`` of a silence notice is the
    day its unit last reported (or the assignment began)."""
    silent = []
    for notice in store.office_notices(db, Stage.SILENT):
        task, last = notice.assignment.task, notice.due
        silent.append(SilentItem(unit=notice.unit, plan_title=task.plan_title, task_number=task.number,
                                 task_ref=str(task.ref), text=task.text, last_progress=last,
                                 days_silent=(today - last).days if last else 0))
    return silent


def _review(db: sqlite_utils.Database) -> list[ReviewItem]:
    return [ReviewItem(plan_title=t.plan_title, task_number=t.number, task_ref=str(t.ref),
                       deadline_text=t.deadline.text or "", reason=REVIEW_REASONS[t.deadline.kind])
            for t in store.tasks_needing_review(db)]


def _unroutable(db: sqlite_utils.Database, config: Config) -> list[UnroutableUnit]:
    """Units with open work and no way to reach them (no contact, no fallback channel)."""
    return [UnroutableUnit(unit=unit, tasks=tasks) for unit, tasks in store.open_units(db)
            if not routing.routes_for(config, unit)]
