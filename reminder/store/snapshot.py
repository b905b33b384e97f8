"""What the digest reads: assignments overdue or due soon, office notices (escalated, silent), deadlines a
person should check, units with open work, each unit's standing, tasks without units. Built fresh for each
digest, so a missed digest loses nothing. Also what a tick needs to know about a unit beyond what is due:
its overdue assignments and when it last got an overdue message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlite_utils

from reminder.model import Assignment, Notice, Stage, TaskRecord, UnitStanding, WorkTotals
from reminder.store.base import chunks, events_of, timestamp, to_json
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
    """Open assignments whose effective due date is ``due_until`` or earlier (tasks with one date: fixed,
    none, relative once its event is recorded). An approved 延期 only ever moves a date later, so the
    task's date selects a superset through its index; the assignment's own date then decides."""
    rows = list(db.query(ASSIGNMENT_ROWS + """
        WHERE t.due <= ? AND a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL""",
        [due_until.isoformat()]))
    return [a for a in assignments_from_rows(db, rows) if a.due is not None and a.due.day <= due_until]


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


def overdue_assignments(db: sqlite_utils.Database, units: Sequence[str], today: date) -> list[Assignment]:
    """The open assignments of ``units`` whose effective due date is before ``today``: what a unit's
    overdue message lists, whichever of them made it go out."""
    found: list[Assignment] = []
    for chunk in chunks(list(units)):
        rows = list(db.query(ASSIGNMENT_ROWS + """
            WHERE a.unit IN (SELECT value FROM json_each(?)) AND a.status = 'open' AND a.removed_at IS NULL
              AND t.removed_at IS NULL AND coalesce(a.due_extended, t.due) < ? ORDER BY a.unit, t.due, a.id""", [to_json(chunk), today.isoformat()]))
        found.extend(assignments_from_rows(db, rows))
    return found


def last_overdue_notices(db: sqlite_utils.Database, units: Sequence[str], now: datetime) -> dict[str, datetime]:
    """When each of ``units`` last had overdue items (the fire time of its latest overdue notice up to
    ``now``), by unit; units that never had any are absent. Notices a clock running ahead fired in the
    future do not count: after it is corrected the unit is reminded again on the right days. One index
    seek per unit (``notices_unit_overdue``)."""
    found: dict[str, datetime] = {}
    for unit in units:
        row = db.execute("SELECT max(fire_at) FROM notices WHERE unit = ? AND stage = 'overdue' AND fire_at <= ?",
                         [unit, timestamp(now)]).fetchone()
        if row and row[0]:
            found[unit] = datetime.fromisoformat(row[0])
    return found


def unit_standings(db: sqlite_utils.Database, today: date) -> list[UnitStanding]:
    """Every unit with current assignments: open, done, overdue (effective due date before ``today``) and
    the longest overdue in days; the most overdue first, then by name."""
    rows = db.query("""
        SELECT a.unit, sum(a.status = 'open') AS open, sum(a.status = 'done') AS done,
               sum(a.status = 'open' AND coalesce(coalesce(a.due_extended, t.due) < :today, 0)) AS overdue,
               max(CASE WHEN a.status = 'open' AND coalesce(a.due_extended, t.due) < :today
                        THEN julianday(:today) - julianday(coalesce(a.due_extended, t.due)) ELSE 0 END) AS longest
        FROM assignments a JOIN tasks t ON t.id = a.task_id
        WHERE a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY a.unit""", {"today": today.isoformat()})
    standings = [UnitStanding(unit=r["unit"], open=r["open"], done=r["done"], overdue=r["overdue"],
                              longest_overdue_days=int(r["longest"] or 0)) for r in rows]
    return sorted(standings, key=lambda s: (-s.overdue, -s.longest_overdue_days, s.completion_rate, s.unit))


def work_totals(db: sqlite_utils.Database) -> WorkTotals:
    """Current tasks and assignments, counted apart (a task is done when it has units and all are done)."""
    row = db.execute("""
        SELECT count(*), sum(units > 0 AND units = done), sum(units = 0), sum(units), sum(done) FROM (
            SELECT t.id, count(a.id) AS units, count(a.id) FILTER (WHERE a.status = 'done') AS done
            FROM tasks t LEFT JOIN assignments a ON a.task_id = t.id AND a.removed_at IS NULL
            WHERE t.removed_at IS NULL GROUP BY t.id)""").fetchone()
    return WorkTotals(tasks=row[0] or 0, tasks_done=row[1] or 0, unassigned=row[2] or 0, assignments=row[3] or 0,
                      assignments_done=row[4] or 0)


def unassigned_tasks(db: sqlite_utils.Database) -> list[TaskRecord]:
    """Current tasks that no unit has (待分配): the plan named none, or every unit was taken away."""
    rows = list(db.query(f"""
        SELECT {TASK_COLUMNS} FROM tasks t JOIN plans p ON p.id = t.plan_id
        WHERE t.removed_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.removed_at IS NULL)
        ORDER BY p.id, CAST(t.number AS INTEGER), t.number"""))
    events = events_of(db, [r["task_id"] for r in rows])
    return [task_record(r, events.get(r["task_id"])) for r in rows]
