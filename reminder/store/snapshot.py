"""The digest's snapshot of the store: what is overdue or due soon, silent, in need of review, unreachable."""

from __future__ import annotations

from datetime import date

import sqlite_utils

from reminder.store.tasks import ASSIGNMENT_ROWS, attach_reports_and_events


def office_notices(db: sqlite_utils.Database, stage: str) -> list[dict]:
    """Escalation or silence notices whose assignment is still open, with task and plan."""
    return [dict(r) for r in db.query("""
        SELECT n.*, a.unit AS assignment_unit, t.number, t.text, t.deadline, p.title AS plan_title
        FROM notices n JOIN assignments a ON a.id = n.assignment_id JOIN tasks t ON t.id = a.task_id
        JOIN plans p ON p.id = t.plan_id
        WHERE n.stage = ? AND a.status = 'open' AND a.removed_at IS NULL ORDER BY n.id""", [stage])]


def tasks_needing_review(db: sqlite_utils.Database) -> list[dict]:
    """Deadlines a person should look at: none (date inferred) and relative ones still waiting."""
    rows = [dict(r) for r in db.query("""
        SELECT t.id, t.number, t.kind, t.deadline, p.title AS plan_title,
               (SELECT count(*) FROM events e WHERE e.task_id = t.id) AS events
        FROM tasks t JOIN plans p ON p.id = t.plan_id
        WHERE t.removed_at IS NULL AND (t.kind = 'none' OR t.kind = 'relative')
        ORDER BY p.id, CAST(t.number AS INTEGER)""")]
    return [r for r in rows if r["kind"] == "none" or not r["events"]]


def dated_assignments(db: sqlite_utils.Database, due_until: date) -> list[dict]:
    """Open assignments of dated tasks (fixed, none) due by ``due_until``, and relative ones with an event."""
    rows = [dict(r) for r in db.query(ASSIGNMENT_ROWS + """
        WHERE a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL
          AND ((t.kind IN ('fixed', 'none') AND t.due <= ?)
               OR (t.kind = 'relative' AND EXISTS (SELECT 1 FROM events e WHERE e.task_id = t.id)))""",
        [due_until.isoformat()])]
    attach_reports_and_events(db, rows)
    return rows


def open_units(db: sqlite_utils.Database) -> list[dict]:
    """Every unit with open assignments, and how many tasks."""
    return [dict(r) for r in db.query("""
        SELECT a.unit, count(DISTINCT a.task_id) AS tasks FROM assignments a JOIN tasks t ON t.id = a.task_id
        WHERE a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY a.unit ORDER BY a.unit""")]


