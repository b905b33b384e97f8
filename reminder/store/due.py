"""Effective due dates: every task's ``due`` is computed by one rule (``reminder.planner.DueDates``) and
kept up to date with it, so every reader (`reminder tasks`, ``--due-before``, the digest) sees the date
the notices show.

The rule depends on the config (the policy's default due date, the calendar's overrides) and on the
``holidays`` release. The store remembers the rule's fingerprint; :func:`refresh_due_dates` recomputes
every task when it changed, and sends the planner back to their assignments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlite_utils

from reminder.model import DueRule
from reminder.store.base import LOOK_NOW, events_of, iso, parse_deadline, timestamp, transaction

DUE_RULE_SETTING = "due_rule"
"""The ``settings`` row naming the rule the stored due dates were computed with."""



def default_due_rule() -> DueRule:
    """The rule with the default policy on the statutory calendar (no config overrides)."""
    from reminder.model import Policy
    from reminder.planner import DueDates
    from reminder.workdays import Calendar

    return DueDates(Policy(), Calendar())


def refresh_due_dates(db: sqlite_utils.Database, due_dates: DueRule, now: datetime | None = None) -> int:
    """Recompute every task's effective due date if the rule changed since they were stored; returns how
    many changed. Cheap when nothing changed (one read). Their assignments are planned again at once, and
    (given ``now``) their schedules start over then: a stage of the new date that fired before is no 补发."""
    fingerprint = due_dates.fingerprint
    stored = db.execute("SELECT value FROM settings WHERE name = ?", [DUE_RULE_SETTING]).fetchone()
    if stored and stored[0] == fingerprint:
        return 0
    with transaction(db, "recompute due dates"):
        changed = _recompute(db, due_dates, None, now)
        db.execute("INSERT INTO settings (name, value) VALUES (?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET value = excluded.value", [DUE_RULE_SETTING, fingerprint])
    return changed


def recompute_due_dates(db: sqlite_utils.Database, due_dates: DueRule, task_ids: Sequence[int],
                        now: datetime | None = None) -> int:
    """Recompute the given tasks' due dates (an event was recorded: a relative deadline became a date)."""
    with transaction(db, "recompute due dates"):
        return _recompute(db, due_dates, task_ids, now)


def _recompute(db: sqlite_utils.Database, due_dates: DueRule, task_ids: Sequence[int] | None,
               now: datetime | None) -> int:
    """Recompute the computed due dates; a task whose date the office set (``due_office``) keeps it."""
    where, params = ("WHERE t.due_office IS NULL", []) if task_ids is None else (
        "WHERE t.due_office IS NULL AND t.id IN (SELECT value FROM json_each(?))",
        [f"[{','.join(str(int(i)) for i in task_ids)}]"])
    rows = db.execute(f"SELECT t.id, t.deadline, t.due, t.due_written, t.inferred, p.plan_year "
                      f"FROM tasks t JOIN plans p ON p.id = t.plan_id {where}", params).fetchall()
    events = events_of(db, [r[0] for r in rows])
    updates = []
    for task_id, deadline, due, written, inferred, plan_year in rows:
        new = due_dates(parse_deadline(deadline), plan_year, events.get(task_id))
        values = (iso(new.day), iso(new.written), int(new.inferred)) if new else (None, None, 0)
        if values != (due, written, inferred):
            updates.append((*values, task_id))
    db.conn.executemany("UPDATE tasks SET due = ?, due_written = ?, inferred = ? WHERE id = ?", updates)
    db.conn.executemany("UPDATE assignments SET next_check_at = ? WHERE task_id = ? AND removed_at IS NULL",
                        ((LOOK_NOW, u[-1]) for u in updates))
    if now is not None:
        db.conn.executemany("UPDATE assignments SET planned_from = ? WHERE task_id = ? AND removed_at IS NULL",
                            ((timestamp(now), u[-1]) for u in updates))
    return len(updates)
