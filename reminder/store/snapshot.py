"""What the digest reads: assignments overdue or due soon, office notices (escalated, silent), deadlines a
person should check, units with open work. Built fresh for each digest, so a missed digest loses nothing."""

from __future__ import annotations

from datetime import date, datetime

import sqlite_utils

from reminder.model import Assignment, Notice, Stage, TaskRecord
from reminder.store.base import events_of
from reminder.store.tasks import (
    ASSIGNMENT_ROWS,
    TASK_COLUMNS,
    assignments_from_rows,
    task_record,
)


def office_notices(db: sqlite_utils.Database, stage: Stage) -> list[Notice]:
    """Escalation or silence notices whose assignment is still open, oldest first."""
    rows = list(db.query(ASSIGNMENT_ROWS.replace(
        "SELECT ", "SELECT n.key AS notice_key, n.stage AS notice_stage, n.fire_at AS notice_fire_at, "
                   "n.due AS notice_due, n.inferred AS notice_inferred, n.late AS notice_late, "
                   "n.milestone AS notice_milestone, n.period AS notice_period, ", 1)
        + " JOIN notices n ON n.assignment_id = a.id"
        " WHERE n.stage = ? AND a.status = 'open' AND a.removed_at IS NULL ORDER BY n.id", [str(stage)]))
    assignments = assignments_from_rows(db, rows)
    return [Notice(key=row["notice_key"], assignment=assignment, stage=Stage(row["notice_stage"]),
                   fire_at=datetime.fromisoformat(row["notice_fire_at"]),
                   due=date.fromisoformat(row["notice_due"]) if row["notice_due"] else None,
                   due_inferred=bool(row["notice_inferred"]), late=bool(row["notice_late"]),
                   milestone=row["notice_milestone"], period=row["notice_period"] or None)
            for row, assignment in zip(rows, assignments, strict=True)]


def tasks_needing_review(db: sqlite_utils.Database) -> list[TaskRecord]:
    """Deadlines a person should look at: none (date inferred) and relative ones still waiting."""
    rows = list(db.query(f"""
        SELECT {TASK_COLUMNS} FROM tasks t JOIN plans p ON p.id = t.plan_id
        WHERE t.removed_at IS NULL AND (t.kind = 'none' OR t.kind = 'relative')
        ORDER BY p.id, CAST(t.number AS INTEGER)"""))
    events = events_of(db, [r["task_id"] for r in rows])
    tasks = [task_record(r, events.get(r["task_id"])) for r in rows]
    return [t for t in tasks if t.deadline.kind == "none" or not t.events]


def dated_assignments(db: sqlite_utils.Database, due_until: date) -> list[Assignment]:
    """Open assignments of tasks whose effective due date is ``due_until`` or earlier (tasks with one
    date: fixed, none, relative once its event is recorded)."""
    rows = list(db.query(ASSIGNMENT_ROWS + """
        WHERE t.due <= ? AND a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL""",
        [due_until.isoformat()]))
    return assignments_from_rows(db, rows)


def years_in_use(db: sqlite_utils.Database) -> set[int]:
    """The years the working-day calendar must know: every plan's year and every current task's due year."""
    rows = db.execute("""SELECT plan_year FROM plans UNION
                         SELECT CAST(substr(due, 1, 4) AS INTEGER) FROM tasks
                         WHERE due IS NOT NULL AND removed_at IS NULL""").fetchall()
    return {r[0] for r in rows}


def open_units(db: sqlite_utils.Database) -> list[tuple[str, int]]:
    """Every unit with open assignments, and on how many tasks."""
    return [(r["unit"], r["tasks"]) for r in db.query("""
        SELECT a.unit, count(DISTINCT a.task_id) AS tasks FROM assignments a JOIN tasks t ON t.id = a.task_id
        WHERE a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY a.unit ORDER BY a.unit""")]
