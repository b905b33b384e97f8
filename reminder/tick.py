"""One pass as of ``now``: planner -> notices and messages in the outbox -> delivery.

Shared by ``reminder tick`` (cron, previews, tests) and the daemon. The daemon decides only *when*
to call it; this module decides *what*. Running it twice at the same ``now`` writes and sends nothing
the second time: notices and messages are keyed, and only missing ones are inserted.

For each unit with work due: the planner's notices that are not stored yet, one message per route of
the unit (rendered once), written with its notices in one pass; office-level notices are stored for the
digest; a unit nobody can reach has its notices stored as unroutable.

The tick stays small at any size: it first reads only which assignments are due and for whom (ids), then
reads, plans, renders and writes a few units at a time (about ``CHUNK_ASSIGNMENTS`` assignments, a unit
never split), each chunk in its own transaction. Memory follows the chunk, not what is due.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reminder import delivery, planner, routing, store
from reminder.model import Assignment, Notice, NoticeRoute, OutboxMessage, Route
from reminder.render import Renderer, UnitItem, unit_context
from reminder.store import NoticeBatch

if TYPE_CHECKING:
    import sqlite_utils

    from reminder.config import Config
    from reminder.workdays import Calendar


CHUNK_ASSIGNMENTS = 2000
"""Assignments read, planned and written together (whole units: one unit's are never split, so it gets
one message per tick however many are due)."""


@dataclass
class TickReport:
    checked: int = 0                      # assignments whose next check had come
    notices: int = 0                      # new notices (unit-facing and office)
    messages: int = 0                     # new outbox messages
    unroutable: list[str] = field(default_factory=list)
    delivered: delivery.DeliveryCounts | None = None
    preview: list[OutboxMessage] = field(default_factory=list)  # dry run: what would be queued
    bodies_dropped: int = 0               # sent messages whose bodies retention_days dropped

    def as_dict(self) -> dict:
        return {"checked": self.checked, "notices": self.notices, "messages": self.messages,
                "unroutable": self.unroutable, "delivered": self.delivered.as_dict() if self.delivered else {},
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
             should_stop: Callable[[], bool] = lambda: False) -> TickReport:
    """Plan every assignment that is due for a look, queue one message per unit and route, deliver."""
    renderer = renderer or shared_renderer(config.templates)
    calendar = config.working_calendar()
    if not dry_run:
        store.refresh_due_dates(db, config.due_dates())
    report = TickReport()
    for ids in _chunks(store.due_by_unit(db, now)):
        assignments = store.assignments_by_id(db, ids)
        report.checked += len(assignments)
        batches, next_checks = _plan(db, config, calendar, renderer, assignments, now, report)
        if dry_run:
            report.preview.extend(m for batch in batches for m in batch.messages)
            report.messages = len(report.preview)
        else:
            report.messages += store.enqueue(db, batches, next_checks, now)
    if dry_run:
        return report
    if deliver:
        report.delivered = delivery.deliver_due(db, config, now, holder, should_stop=should_stop)
    if config.retention_days:
        report.bodies_dropped = store.drop_old_bodies(db, now, config.retention_days)
    return report


def _chunks(due: dict[str, list[int]]) -> Iterator[list[int]]:
    """Assignment ids, a few units at a time: at least CHUNK_ASSIGNMENTS ids a chunk, or one whole unit."""
    chunk: list[int] = []
    for ids in due.values():
        chunk.extend(ids)
        if len(chunk) >= CHUNK_ASSIGNMENTS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _plan(db: sqlite_utils.Database, config: Config, calendar: Calendar, renderer: Renderer,
          assignments: Sequence[Assignment], now: datetime,
          report: TickReport) -> tuple[list[NoticeBatch], list[tuple[int, datetime | None]]]:
    """The notices, messages and next checks for ``assignments``; counts go into ``report``."""
    decisions = [(a, planner.plan_assignment(a, config.policy, calendar, now)) for a in assignments]
    proposed = [n for _, decision in decisions for n in decision.notices]
    stored = store.existing_notice_keys(db, [n.key for n in proposed])
    new = [n for n in proposed if n.key not in stored]
    report.notices += len(new)
    office = [n for n in new if not n.stage.for_unit]
    batches = [NoticeBatch(office, NoticeRoute.OFFICE)] if office else []
    by_unit: dict[str, list[Notice]] = {}
    for notice in new:
        if notice.stage.for_unit:
            by_unit.setdefault(notice.unit, []).append(notice)
    for unit, notices in by_unit.items():
        routes = routing.routes_for(config, unit)
        if not routes:
            report.unroutable.append(unit)
            batches.append(NoticeBatch(notices, NoticeRoute.UNROUTABLE))
            continue
        batches.append(NoticeBatch(notices, NoticeRoute.QUEUED, _messages(config, renderer, unit, notices, routes, now)))
    return batches, [(a.id, decision.next_check_at) for a, decision in decisions]


def _messages(config: Config, renderer: Renderer, unit: str, notices: Sequence[Notice], routes: Sequence[Route],
              now: datetime) -> list[OutboxMessage]:
    """The unit's notices rendered once (in the forms its routes show), as one message per route."""
    today = now.astimezone(config.zone).date()
    context = unit_context(unit, config.office.name, now, [item(n, today) for n in notices])
    rendered = renderer.render_unit(context, routing.forms_for(routes))
    keys = [n.key for n in notices]
    return [OutboxMessage(key=message_key(unit, route, keys), unit=unit, route=route, subject=rendered.subject,
                          text=rendered.text, html=rendered.html, markdown=rendered.markdown) for route in routes]


def message_key(unit: str, route: Route, notice_keys: Sequence[str]) -> str:
    """Stable across reruns and retries: the same notices to the same route give the same key."""
    digest = hashlib.sha256("\n".join(sorted(notice_keys)).encode()).hexdigest()[:16]
    where = hashlib.sha256((route.id or route.destination).encode()).hexdigest()[:8]
    return f"{route.channel}:{unit}:{where}:{digest}"


def item(notice: Notice, today: date) -> UnitItem:
    """A notice as the unit templates show it."""
    task = notice.assignment.task
    return UnitItem(stage=str(notice.stage), plan_title=task.plan_title, task_number=task.number,
                    task_ref=str(task.ref), text=task.text, deadline_text=task.deadline.text or "",
                    due=notice.due, due_inferred=notice.due_inferred,
                    days_left=(notice.due - today).days if notice.due else None,
                    late=notice.late, milestone=notice.milestone, period=notice.period)
