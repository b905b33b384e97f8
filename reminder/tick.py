"""One pass as of ``now``: planner -> notices and messages in the outbox -> delivery.

Shared by ``reminder tick`` (cron, previews, tests) and the daemon. The daemon decides only *when*
to call it; this module decides *what*. Running it twice at the same ``now`` writes and sends nothing
the second time: notices and messages are keyed, and only missing ones are inserted.

Nothing is planned or sent outside a sending moment (working days, from ``send_hour``, before
``send_until_hour``): a pass at night or on a Saturday, a catch-up after downtime included, waits for the
next one (``TickReport.waiting_until``).

For each unit with work due: what the planner says it hears now (``planner.plan_unit``: the latest stage
of each assignment, one overdue message listing all its overdue tasks at most every
``overdue_repeat_days``), as new notices; one message per address, carrying every unit reached there (a
unit's own mailbox gets its own items; a robot or a mailbox several units share gets one message with a
section per unit); written with their notices in one pass. Office-level notices are stored for the
digest; a unit nobody can reach has its notices stored as unroutable.

The tick stays small at any size: it first reads only which assignments are due and for whom (ids), then
reads, plans, renders and writes a few units at a time (about ``CHUNK_ASSIGNMENTS`` assignments; a unit,
and units that share an address, never split), each chunk in its own transaction. Memory follows the
chunk, not what is due.

A dry run (:func:`run_tick` with ``dry_run``) is the same pass at any ``now``, before the import too (every
assignment is looked at as if it had been there all along), inside a transaction that is rolled back: it
shows what would go out and changes nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from reminder import delivery, planner, routing, store
from reminder.model import Assignment, Notice, NoticeRoute, OutboxMessage, Route, Stage
from reminder.render import OfficeContact, Renderer, UnitItem, notice_context
from reminder.store import Carried

if TYPE_CHECKING:
    import sqlite_utils

    from reminder.config import Config
    from reminder.workdays import Calendar


CHUNK_ASSIGNMENTS = 2000
"""Assignments read, planned and written together (whole units, and whole groups of units that share an
address: never split, so a unit, and a shared address, gets one message per tick however many are due)."""


@dataclass
class TickReport:
    checked: int = 0                      # assignments whose next check had come
    notices: int = 0                      # new notices (unit-facing and office)
    messages: int = 0                     # new outbox messages
    unroutable: list[str] = field(default_factory=list)
    delivered: delivery.DeliveryCounts | None = None
    preview: list[OutboxMessage] = field(default_factory=list)  # dry run: what would be queued
    bodies_dropped: int = 0               # sent messages whose bodies retention_days dropped
    waiting_until: datetime | None = None  # not a sending moment: nothing planned or sent until then

    def as_dict(self) -> dict:
        return {"checked": self.checked, "notices": self.notices, "messages": self.messages,
                "unroutable": self.unroutable, "delivered": self.delivered.as_dict() if self.delivered else {},
                "waiting_until": self.waiting_until.isoformat() if self.waiting_until else None,
                "preview": [{"unit": m.unit, "channel": m.route.channel, "destination": m.route.destination,
                             "subject": m.subject, "text": m.text} for m in self.preview]}


_renderers: dict = {}


def shared_renderer(templates: Path | None) -> Renderer:
    """A Renderer kept across ticks, so a daemon compiles its templates once, not at every tick.

    Jinja reloads a template whose file changed; a file added to, removed from or changed in the
    user's ``templates`` folder also gives a fresh Renderer (the key lists the folder), so what is
    rendered is exactly what a Renderer made now would render.
    """
    key = (templates, _listing(templates))
    if key not in _renderers:
        _renderers.clear()
        _renderers[key] = Renderer(templates)
    return _renderers[key]


def _listing(folder: Path | None) -> tuple:
    if folder is None:
        return ()
    try:
        with os.scandir(folder) as entries:
            return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries))
    except OSError:
        return ("unreadable",)  # Renderer reports the folder's problem itself


def run_tick(db: sqlite_utils.Database, config: Config, now: datetime, *, dry_run: bool = False,
             deliver: bool = True, holder: str = "tick", renderer: Renderer | None = None,
             should_stop: Callable[[], bool] = lambda: False, meter: delivery.Meter | None = None) -> TickReport:
    """Plan every assignment that is due for a look, queue one message per address, deliver.

    Outside a sending moment nothing is planned or delivered (``waiting_until`` says when it will be).
    ``dry_run`` shows what would be queued at ``now`` (any date) and changes nothing. ``meter`` follows
    the delivery (the command line's progress bar).
    """
    if dry_run:
        with store.preview(db):
            return plan_pass(db, config, now, as_of=True, renderer=renderer, keep_preview=True)
    report = plan_pass(db, config, now, renderer=renderer)
    if report.waiting_until is not None:
        return report
    if deliver:
        report.delivered = delivery.deliver_due(db, config, now, holder, should_stop=should_stop, meter=meter)
    if config.retention_days:
        report.bodies_dropped = store.drop_old_bodies(db, now, config.retention_days)
    return report


def plan_pass(db: sqlite_utils.Database, config: Config, now: datetime, *, as_of: bool = False,
              renderer: Renderer | None = None, keep_preview: bool = False) -> TickReport:
    """Plan and queue (deliver nothing): the notices that should exist by ``now`` and their messages.

    ``as_of`` (previews, inside ``store.preview``): assignments the units got after ``now`` are looked at
    too, as if the plan had been imported before. ``keep_preview`` keeps the queued messages in the report.
    """
    renderer = renderer or shared_renderer(config.templates)
    calendar = config.working_calendar()
    report = TickReport()
    if not planner.sending_moment(now, config.policy, calendar):
        report.waiting_until = planner.next_sending_moment(now, config.policy, calendar)
        return report
    store.refresh_due_dates(db, config.due_dates(), now)
    store.refresh_units(db, config.directory, now)
    if as_of:
        store.plan_as_of(db, now)
    due = store.due_by_unit(db, now)
    for units in _chunks(routing.sharing_groups(config, list(due)), due):
        assignments = store.assignments_by_id(db, [i for unit in units for i in due[unit]])
        report.checked += len(assignments)
        notices, messages, next_checks = _plan(db, config, calendar, renderer, assignments, now, report)
        report.messages += store.record_plan(db, notices, messages, next_checks, now)
        if keep_preview:
            report.preview.extend(carried.message for carried in messages)
    return report


def _chunks(groups: list[list[str]], due: dict[str, list[int]]) -> Iterator[list[str]]:
    """Units, a few at a time: at least CHUNK_ASSIGNMENTS due assignments a chunk, or one whole group of
    units that share an address."""
    chunk: list[str] = []
    size = 0
    for group in groups:
        chunk.extend(group)
        size += sum(len(due[unit]) for unit in group)
        if size >= CHUNK_ASSIGNMENTS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _plan(db: sqlite_utils.Database, config: Config, calendar: Calendar, renderer: Renderer,
          assignments: Sequence[Assignment], now: datetime, report: TickReport
          ) -> tuple[list[tuple[Notice, NoticeRoute]], list[Carried], list[tuple[int, datetime | None]]]:
    """The new notices (with where they go), the messages and the next checks for ``assignments``."""
    policy = config.policy
    decisions = {a.id: planner.plan_assignment(a, policy, calendar, now) for a in assignments}
    stored = store.existing_notice_keys(db, [n.key for d in decisions.values() for n in d.notices])
    by_unit: dict[str, list[Assignment]] = {}
    for assignment in assignments:
        by_unit.setdefault(assignment.unit, []).append(assignment)
    last_overdue = store.last_overdue_notices(db, list(by_unit), now)
    today = now.astimezone(config.zone).date()
    planned: list[Notice] = []
    next_checks: list[tuple[int, datetime | None]] = []
    for unit, own in by_unit.items():
        plan = planner.plan_unit(own, policy, calendar, now, stored=stored, last_overdue=last_overdue.get(unit),
                                 overdue=partial(store.overdue_assignments, db, [unit], today),
                                 decisions=decisions)
        planned.extend(plan.notices)
        next_checks.extend(plan.next_checks)
    listed = {n.key for n in planned if n.stage is Stage.OVERDUE}
    stored_now = store.existing_notice_keys(db, list(listed)) if listed else set()
    new = [n for n in planned if n.key not in stored_now]
    report.notices += len(new)
    routed: list[tuple[Notice, NoticeRoute]] = [(n, NoticeRoute.OFFICE) for n in new if not n.stage.for_unit]
    items: dict[str, list[Notice]] = {}
    for notice in new:
        if notice.stage.for_unit:
            items.setdefault(notice.unit, []).append(notice)
    destinations, unroutable = routing.destinations(config, list(items))
    report.unroutable.extend(unroutable)
    routed += [(n, NoticeRoute.UNROUTABLE) for unit in unroutable for n in items[unit]]
    routed += [(n, NoticeRoute.QUEUED) for unit in items if unit not in unroutable for n in items[unit]]
    links = notice_links(db, config, now)
    messages = [_message(config, calendar, renderer, destination, items, now, links) for destination in destinations]
    return routed, messages, next_checks


def notice_links(db: sqlite_utils.Database, config: Config, now: datetime) -> Callable[[str], str] | None:
    """Each unit's own page link for this pass's notices, or None when the web app is not configured
    (a notice then carries no link: one that opens nothing would be untrue)."""
    if config.web is None:
        return None
    from reminder.web.keys import derive, load_secret
    from reminder.web.links import NoticeLinks

    key = derive(load_secret(config.web), "unit-link")
    return NoticeLinks(key, config.web.base_url, config.web.link_days,
                       lambda unit: store.unit_link_generation(db, unit), now)


def _message(config: Config, calendar: Calendar, renderer: Renderer, destination: routing.Destination,
             items: dict[str, list[Notice]], now: datetime, links: Callable[[str], str] | None = None) -> Carried:
    """One message to one address, with a section per unit it carries (rendered in the forms its channel
    shows), and the keys of the notices in it."""
    today = now.astimezone(config.zone).date()
    blocks = [(unit, [item(n, today) for n in sorted(items[unit], key=_reading_order)]) for unit in destination.units]
    shifts = [planner.shift_note(i["due_written"], i["due"], calendar) or "" for _, found in blocks for i in found
              if i["due"] and i["due_written"] and i["due_written"] != i["due"]]
    context = notice_context(blocks, office_contact(config), now, [note for note in shifts if note],
                             by_email=destination.route.channel in ("smtp", "file"),
                             links={unit: links(unit) for unit in destination.units} if links else None)
    route = destination.route
    rendered = renderer.render_unit(context, routing.forms_for([route]))
    keys = tuple(n.key for unit in destination.units for n in items[unit])
    message = OutboxMessage(key=message_key(context["unit"], route, keys), unit=context["unit"], route=route,
                            subject=rendered.subject, text=rendered.text, html=rendered.html,
                            markdown=rendered.markdown)
    return Carried(message, keys)


def _reading_order(notice: Notice) -> tuple:
    """Within a stage, the earliest date first (the longest overdue, the soonest due), then by 登记号."""
    ref = notice.assignment.task.ref
    return (notice.due or date.max, ref.plan_id, len(ref.number), ref.number)


def office_contact(config: Config) -> OfficeContact:
    """How units reach the office, as notices say it (``[office]``: name, emails, phone)."""
    return OfficeContact(name=config.office.name, emails=list(config.office.emails), phone=config.office.phone)


def message_key(unit: str, route: Route, notice_keys: Sequence[str]) -> str:
    """Stable across reruns and retries: the same notices to the same route give the same key."""
    digest = hashlib.sha256("\n".join(sorted(notice_keys)).encode()).hexdigest()[:16]
    where = hashlib.sha256((route.id or route.destination).encode()).hexdigest()[:8]
    return f"{route.channel}:{unit}:{where}:{digest}"


def item(notice: Notice, today: date) -> UnitItem:
    """A notice as the unit templates show it."""
    assignment = notice.assignment
    task = assignment.task
    reported = assignment.last_report_at
    return UnitItem(stage=str(notice.stage), plan_title=task.plan_title, task_number=task.number,
                    task_ref=str(task.ref), text=task.text, deadline_text=task.deadline.text or "",
                    due=notice.due, due_inferred=notice.due_inferred,
                    days_left=(notice.due - today).days if notice.due else None,
                    late=notice.late, milestone=notice.milestone, period=notice.period,
                    due_written=notice.due_written, new=notice.new,
                    last_report=reported.date() if reported and notice.stage is Stage.CHECKIN else None,
                    units_text=task.units_text, due_change=str(assignment.due_change or ""))
