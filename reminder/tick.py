"""One pass as of ``now``: planner -> notices and messages in the outbox -> delivery.

Shared by ``reminder tick`` (cron, previews, tests) and the daemon. The daemon decides only *when*
to call it; this module decides *what*. Running it twice at the same ``now`` writes and sends nothing
the second time: notices and messages are keyed, and only missing ones are inserted.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from reminder import outbox, planner, store
from reminder.model import Deadline


@dataclass
class TickReport:
    checked: int = 0                      # assignments whose next check had come
    notices: int = 0                      # new notices (unit-facing and office)
    messages: int = 0                     # new outbox messages
    unroutable: list[str] = field(default_factory=list)
    delivered: dict = field(default_factory=dict)
    preview: list[dict] = field(default_factory=list)  # dry run: what would be queued

    def as_dict(self) -> dict:
        return {"checked": self.checked, "notices": self.notices, "messages": self.messages,
                "unroutable": self.unroutable, "delivered": self.delivered, "preview": self.preview}


def policy_of(config) -> planner.Policy:
    p = config.policy
    default_due = None if p.default_due == "year_end" else p.default_due_date(2000)
    return planner.Policy(remind_days_before=tuple(p.remind_days_before), overdue_repeat_days=p.overdue_repeat_days,
                          escalate_after_days=p.escalate_after_days, checkin_every_days=p.checkin_every_days,
                          checkin_grace_days=p.checkin_grace_days, default_due=default_due,
                          send_hour=config.send_hour, timezone=config.timezone)


def state_of(row: dict) -> planner.AssignmentState:
    """A store row (``store.due_assignments``) as the planner's input."""
    report = row.get("last_report_at")
    return planner.AssignmentState(
        assignment_id=row["assignment_id"], task_id=row["task_id"], unit=row["unit"], plan_year=row["plan_year"],
        deadline=_deadline(row["deadline"]), status=row["status"],
        started_at=datetime.fromisoformat(row["created_at"]),
        last_report_at=datetime.fromisoformat(report) if report else None,
        events={name: date.fromisoformat(day) for name, day in row.get("events", {}).items()})


@lru_cache(maxsize=4096)
def _deadline(stored: str) -> Deadline:
    """A task's stored deadline JSON, parsed once: every unit of a task (and many tasks) share it.
    Safe to share because a Deadline is frozen."""
    return Deadline.from_dict(json.loads(stored))


_renderers: dict = {}


def shared_renderer(templates):
    """A Renderer kept across ticks, so a daemon compiles its templates once, not at every tick.

    Jinja reloads a template whose file changed; a file added to, removed from or changed in the
    user's ``templates`` folder also gives a fresh Renderer (the key lists the folder), so what is
    rendered is exactly what a Renderer made now would render.
    """
    from reminder.render import Renderer

    key = (templates, _listing(templates))
    if key not in _renderers:
        _renderers.clear()
        _renderers[key] = Renderer(templates)
    return _renderers[key]


def _listing(folder) -> tuple:
    if folder is None:
        return ()
    try:
        with os.scandir(folder) as entries:
            return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries))
    except OSError:
        return ("unreadable",)  # Renderer reports the folder's problem itself


def run_tick(db, config, now: datetime, *, dry_run: bool = False, deliver: bool = True,
             holder: str = "tick", renderer=None, should_stop=lambda: False) -> TickReport:
    """Plan every assignment that is due for a look, queue one message per unit and route, deliver."""
    renderer = renderer or shared_renderer(config.templates)
    policy, calendar = policy_of(config), config.working_calendar()
    rows = store.due_assignments(db, now)
    decisions = [(row, planner.plan_assignment(state_of(row), policy, calendar, now)) for row in rows]
    new_items = _new_items(db, decisions)
    notices, messages, unroutable = _queue(config, renderer, new_items, now)
    report = TickReport(checked=len(rows), notices=len(notices), unroutable=unroutable)
    if dry_run:
        report.messages = len(messages)
        report.preview = [{k: m[k] for k in ("unit", "channel", "destination", "subject", "text")} for m in messages]
        return report
    next_checks = [(row["assignment_id"], decision.next_check_at) for row, decision in decisions]
    report.messages = store.record_tick(db, notices, messages, next_checks, now)
    if deliver:
        report.delivered = outbox.deliver_due(db, config, now, holder, should_stop=should_stop)
    return report


def _new_items(db, decisions) -> list[tuple[dict, planner.Item]]:
    candidates = {item.key: (row, item) for row, decision in decisions for item in decision.items}
    existing = store.existing_notice_keys(db, list(candidates))
    return [pair for key, pair in candidates.items() if key not in existing]


def _queue(config, renderer, new_items, now: datetime) -> tuple[list[dict], list[dict], list[str]]:
    """Notices for every new item; for each unit, one rendered message per route."""
    by_unit: dict[str, list[tuple[dict, planner.Item]]] = defaultdict(list)
    notices, messages, unroutable = [], [], []
    for row, item in new_items:
        if item.stage in planner.OFFICE_STAGES:
            notices.append(_notice(item, "office"))
        else:
            by_unit[item.unit].append((row, item))
    for unit, pairs in by_unit.items():
        routes = outbox.routes_for(config, unit)
        keys = [item.key for _, item in pairs]
        notices.extend(_notice(item, "queued" if routes else "unroutable") for _, item in pairs)
        if not routes:
            unroutable.append(unit)
            continue
        rendered = renderer.render_unit(unit_context(config, unit, pairs, now))
        for route in routes:
            messages.append(outbox.message_row(outbox.message_key(unit, route, keys), unit, route, rendered, keys))
    return notices, messages, unroutable


def unit_context(config, unit: str, pairs, now: datetime) -> dict:
    """The context the unit templates expect (see ``reminder.render``)."""
    today = now.astimezone(config.zone).date()
    return {"unit": unit, "office": config.office.name, "now": now,
            "items": [_item_context(row, item, today) for row, item in pairs]}


def _item_context(row: dict, item: planner.Item, today: date) -> dict:
    return {"stage": _template_stage(item.stage), "plan_title": row["plan_title"], "task_number": row["number"],
            "task_id": row["task_id"], "text": row["text"], "deadline_text": _deadline(row["deadline"]).text or "",
            "due": item.due, "due_inferred": item.due_inferred,
            "days_left": (item.due - today).days if item.due else None, "late": item.late,
            "milestone": item.milestone, "period": item.period}


def _template_stage(stage: str) -> str:
    return {planner.REMINDER: "reminder", planner.DUE: "due", planner.OVERDUE: "overdue",
            planner.CHECKIN: "checkin"}[stage]


def _notice(item: planner.Item, route: str) -> dict:
    return {"key": item.key, "assignment_id": item.assignment_id, "unit": item.unit, "stage": item.stage,
            "period": item.period or "", "due": item.due.isoformat() if item.due else None,
            "inferred": int(item.due_inferred), "late": int(item.late), "milestone": item.milestone,
            "fire_at": store.timestamp(item.fire_at), "route": route}
