"""The office digest from a store snapshot and ``now``.

Who is late, on what, by how long; what is due soon; ongoing work whose units have gone silent;
deadlines a person should check; units nobody can reach; messages that could not be delivered.
Built fresh each time from the database (level-triggered like the planner), so a missed digest
loses nothing: the next one says the same and more.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta

from reminder import outbox, planner, store
from reminder.model import Deadline

DUE_SOON_DAYS = 7
# Each section lists at most this many items (overdue: per unit too), most urgent first, and the
# digest says how many it left out: at a million assignments an uncut digest is 10-17 MB, more
# than mail servers accept.
SECTION_LIMIT = 100
PER_UNIT_LIMIT = 10
# How far past the written date an effective due date can move (Spring Festival is the longest).
HOLIDAY_SLACK_DAYS = 10


def build_context(db, config, now: datetime) -> dict:
    """The digest template's context (see ``reminder.render``)."""
    from reminder.tick import policy_of

    policy, calendar = policy_of(config), config.working_calendar()
    today = now.astimezone(config.zone).date()
    overdue, due_soon = _dated(db, policy, calendar, today)
    sections = {
        "overdue": overdue,
        "due_soon": due_soon,
        "silent": _silent(db, today),
        "review": _review(db),
        "unroutable": _unroutable(db, config),
        "failed": [{"unit": m["unit"], "channel": m["channel"], "subject": m["subject"],
                    "attempts": m["attempts"], "last_error": m["last_error"] or ""}
                   for m in store.list_messages(db, status="dead")],
    }
    totals = {key: len(items) for key, items in sections.items()}
    totals["overdue"] = sum(len(group["items"]) for group in overdue)
    return {"office": config.office.name, "now": now, **_cut(sections), "totals": totals, "limit": SECTION_LIMIT}


def _cut(sections: dict) -> dict:
    """Keep the most urgent items of each section (lists are already ordered by urgency)."""
    cut = {key: items[:SECTION_LIMIT] for key, items in sections.items() if key != "overdue"}
    groups, room = [], SECTION_LIMIT
    for group in sections["overdue"]:
        if room <= 0:
            break
        items = group["items"][: min(PER_UNIT_LIMIT, room)]
        groups.append({**group, "items": items, "total": len(group["items"])})
        room -= len(items)
    return {**cut, "overdue": groups}


def run_digest(db, config, now: datetime, *, dry_run: bool = False, holder: str = "digest", renderer=None) -> dict:
    """Render the digest and queue it to the office's routes (once per day), then deliver."""
    from reminder.render import Renderer

    renderer = renderer or Renderer(config.templates)
    context = build_context(db, config, now)
    rendered = renderer.render_digest(context)
    day = now.astimezone(config.zone).date().isoformat()
    messages = [outbox.message_row(f"digest:{day}:{route.channel}:{route.destination}", config.office.name,
                                   route, rendered, []) for route in outbox.office_routes(config)]
    summary = {**context["totals"], "subject": rendered.subject, "routes": len(messages)}
    if dry_run:
        return {**summary, "text": rendered.text}
    summary["queued"] = store.record_tick(db, [], messages, [], now)
    summary["delivered"] = outbox.deliver_due(db, config, now, holder)
    return summary


def _dated(db, policy, calendar, today: date) -> tuple[list[dict], list[dict]]:
    """Overdue items by unit (oldest first) and items due within a week."""
    rows = store.dated_assignments(db, today + timedelta(days=DUE_SOON_DAYS + HOLIDAY_SLACK_DAYS))
    overdue: dict[str, list[dict]] = defaultdict(list)
    due_soon = []
    for row in rows:
        deadline = Deadline.from_dict(json.loads(row["deadline"]))
        events = {k: date.fromisoformat(v) for k, v in row["events"].items()}
        due, inferred = planner.effective_due(deadline, row["plan_year"], policy, calendar, events)
        if due is None:
            continue
        item = _item(row, deadline, due, inferred, today)
        if due < today:
            days = (today - due).days
            overdue[row["unit"]].append({**item, "days_overdue": days,
                                         "escalated": days > policy.escalate_after_days})
        elif (due - today).days <= DUE_SOON_DAYS:
            due_soon.append({**item, "unit": row["unit"]})
    units = sorted(overdue, key=lambda u: -max(i["days_overdue"] for i in overdue[u]))
    return ([{"unit": u, "items": sorted(overdue[u], key=lambda i: -i["days_overdue"])} for u in units],
            sorted(due_soon, key=lambda i: i["due"]))


def _item(row: dict, deadline: Deadline, due: date, inferred: bool, today: date) -> dict:
    return {"stage": "overdue" if due < today else "reminder", "plan_title": row["plan_title"],
            "task_number": row["number"], "task_id": row["task_id"], "text": row["text"],
            "deadline_text": deadline.text, "due": due, "due_inferred": inferred,
            "days_left": (due - today).days, "late": False, "milestone": None, "period": None}


def _silent(db, today: date) -> list[dict]:
    silent = []
    for notice in store.office_notices(db, planner.SILENT):
        last = date.fromisoformat(notice["due"]) if notice["due"] else None
        silent.append({"unit": notice["unit"], "plan_title": notice["plan_title"], "task_number": notice["number"],
                       "text": notice["text"], "last_progress": last,
                       "days_silent": (today - last).days if last else 0})
    return silent


def _review(db) -> list[dict]:
    reasons = {"none": "未写明或无法识别完成时限，已按默认日期推定",
               "relative": "相对时限，尚未登记起算日期（reminder event）"}
    return [{"plan_title": r["plan_title"], "task_number": r["number"],
             "deadline_text": json.loads(r["deadline"]).get("text") or "", "reason": reasons[r["kind"]]}
            for r in store.tasks_needing_review(db)]


def _unroutable(db, config) -> list[dict]:
    """Units with open work and no way to reach them (no contact, no fallback channel)."""
    return [{"unit": r["unit"], "tasks": r["tasks"]} for r in store.open_units(db)
            if not outbox.routes_for(config, r["unit"])]
