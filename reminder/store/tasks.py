"""Tasks and what units report on them: the queries behind `reminder tasks`, `done`, `progress`,
`event` and `status`, and the planner's read of the assignments whose next check has come."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlite_utils

from reminder.errors import StoreError
from reminder.store.base import chunks, db_path, iso, timestamp, to_json, transaction
from reminder.store.plans import match_plans

PROGRESS_KINDS = ("done", "progress", "reopen")

# Queries for `reminder tasks`, `reminder done` and friends.

def make_ref(plan_id: int, number: str) -> str:
    """The id people see and type for a task: "<plan id>-<number>", stable across re-imports."""
    return f"{plan_id}-{number}"


def match_units(db: sqlite_utils.Database, unit: str) -> list[str]:
    """The assigned unit names that ``unit`` means: itself when some task is assigned to exactly that
    name, else every assigned name containing it (财政局 -> 区财政局, 县财政局), sorted.

    Exact first, so that 区财政局 does not also pick 区财政局某科; a substring otherwise, because people
    type short names. Reads the ``assignments_unit`` index only.
    """
    exact = db.execute("SELECT 1 FROM assignments WHERE unit = ? AND removed_at IS NULL LIMIT 1", [unit])
    if exact.fetchone():
        return [unit]
    rows = db.execute("SELECT DISTINCT unit FROM assignments WHERE instr(unit, ?) > 0 AND removed_at IS NULL "
                      "ORDER BY unit", [unit])
    return [r[0] for r in rows]


_TASK_SELECT = """
SELECT t.id AS task_id, t.plan_id, p.title AS plan_title, p.plan_year, t.number, t.section, t.text,
       t.kind, t.due, t.inferred, t.deadline, t.units_text, t.line, t.removed_at
FROM tasks t JOIN plans p ON p.id = t.plan_id
"""

_TASK_ORDER = " ORDER BY t.due IS NULL, t.due, t.plan_id, CAST(t.number AS INTEGER), t.number"


def list_tasks_sql(units: Sequence[str] | None, due_before: date | None, kind: str | None,
                    plans: Sequence[int] | None, include_removed: bool) -> tuple[str, dict]:
    """The list query and its parameters (separate so tests can check its plan uses indexes)."""
    where, params = [], {}
    if not include_removed:
        where.append("t.removed_at IS NULL")
    if plans is not None:
        where.append("t.plan_id IN (SELECT value FROM json_each(:plans))")
        params["plans"] = to_json(list(plans))
    if kind is not None:
        where.append("t.kind = :kind")
        params["kind"] = str(kind)
    if due_before is not None:
        where.append("t.due <= :due_before")
        params["due_before"] = iso(due_before)
    if units is not None:
        where.append("t.id IN (SELECT a.task_id FROM assignments a WHERE a.removed_at IS NULL "
                     "AND a.unit IN (SELECT value FROM json_each(:units)))")
        params["units"] = to_json(list(units))
    sql = _TASK_SELECT + (" WHERE " + " AND ".join(where) if where else "") + _TASK_ORDER
    return sql, params


def list_tasks(db: sqlite_utils.Database, unit: str | None = None, due_before: date | None = None,
               kind: str | None = None, plan: int | str | None = None,
               include_removed: bool = False) -> list[dict]:
    """Tasks matching every filter given, soonest due first (tasks without a date last).

    ``unit``: see :func:`match_units` (exact name, else substring); the task's ``status`` is then that of
    the matching units' assignments. ``due_before``: due on or before that date (tasks without a date
    are left out). ``kind``: a DeadlineKind value. ``plan``: see :func:`match_plans` (id, or title or
    part of it). Each dict has ``id`` (the ref people type, "1-17"), ``task_id`` (row id), ``plan_id``,
    ``plan_title``, ``plan_year``, ``number``, ``section`` (list), ``text``, ``kind``, ``due`` (ISO or
    None), ``inferred`` (bool), ``deadline_text``, ``deadline`` (dict), ``units``, ``lead_units``,
    ``units_text``, ``line``, ``status`` (open|done), ``removed`` (bool) and ``assignments``
    ([{id, unit, role, status, done_at}]).
    """
    units = match_units(db, unit) if unit is not None else None
    plans = match_plans(db, plan) if plan is not None else None
    if units == [] or plans == []:
        return []
    sql, params = list_tasks_sql(units, due_before, kind, plans, include_removed)
    rows = list(db.query(sql, params))
    by_task = _assignments_of(db, [r["task_id"] for r in rows])
    return [_task_dict(r, by_task.get(r["task_id"], []), units) for r in rows]


def _assignments_of(db: sqlite_utils.Database, task_ids: list[int]) -> dict[int, list[dict]]:
    """Active assignments of the given tasks, in cell order, by task id (one indexed query)."""
    by_task: dict[int, list[dict]] = {}
    if not task_ids:
        return by_task
    for a in db.query(
        "SELECT id, task_id, unit, role, status, done_at, next_check_at FROM assignments "
        "WHERE task_id IN (SELECT value FROM json_each(?)) AND removed_at IS NULL ORDER BY task_id, position",
        [to_json(task_ids)],
    ):
        by_task.setdefault(a["task_id"], []).append(a)
    return by_task


def _task_dict(row: dict, assignments: list[dict], units: Sequence[str] | None) -> dict:
    """A task row as the dict that list_tasks and get_task promise."""
    deadline = json.loads(row["deadline"])
    relevant = [a for a in assignments if units is None or a["unit"] in units]
    done = bool(relevant) and all(a["status"] == "done" for a in relevant)
    return {
        "id": make_ref(row["plan_id"], row["number"]),
        "task_id": row["task_id"],
        "plan_id": row["plan_id"],
        "plan_title": row["plan_title"],
        "plan_year": row["plan_year"],
        "number": row["number"],
        "section": json.loads(row["section"]),
        "text": row["text"],
        "kind": row["kind"],
        "due": row["due"],
        "inferred": bool(row["inferred"]),
        "deadline_text": deadline["text"],
        "deadline": deadline,
        "units": [a["unit"] for a in assignments],
        "lead_units": [a["unit"] for a in assignments if a["role"] == "lead"],
        "units_text": row["units_text"],
        "line": row["line"],
        "status": "done" if done else "open",
        "removed": row["removed_at"] is not None,
        "assignments": [
            {"id": a["id"], "unit": a["unit"], "role": a["role"], "status": a["status"], "done_at": a["done_at"]}
            for a in assignments
        ],
    }


def get_task(db: sqlite_utils.Database, task_ref: str) -> dict:
    """The task that ``task_ref`` names, as a :func:`list_tasks` dict.

    ``task_ref`` is the id that ``reminder tasks`` shows ("1-17": plan 1, task 17), or a bare task number
    ("17") when exactly one plan has a current task of that number. Raises StoreError when nothing
    matches, or listing the candidate ids when the number is ambiguous.
    """
    ref = task_ref.strip()
    plan_part, dash, number = ref.partition("-")
    if dash and plan_part.isdigit() and number:
        rows = list(db.query(_TASK_SELECT + " WHERE t.plan_id = ? AND t.number = ?", [int(plan_part), number]))
    else:
        rows = list(db.query(_TASK_SELECT + " WHERE t.number = ? AND t.removed_at IS NULL" + _TASK_ORDER, [ref]))
    if not rows:
        raise StoreError(f"no task {ref!r} in {db_path(db)}. Fix: run `reminder tasks` to see the task ids.")
    if len(rows) > 1:
        candidates = ", ".join(f"{make_ref(r['plan_id'], r['number'])} ({r['plan_title']})" for r in rows)
        raise StoreError(f"task number {ref!r} is in {len(rows)} plans: {candidates}. "
                         "Fix: give the task id instead of the bare number.")
    row = rows[0]
    return _task_dict(row, _assignments_of(db, [row["task_id"]]).get(row["task_id"], []), None)


# --------------------------------------------------------------------------------------------------
# Planning: what the planner needs, and writing what it decided (issue 3).

LOOK_NOW = timestamp(datetime(1970, 1, 1, tzinfo=UTC))
"""``next_check_at`` for "plan this again at the next tick, whatever its time" (a report, an event)."""


ASSIGNMENT_ROWS = """
    SELECT a.id AS assignment_id, a.task_id, a.unit, a.status, a.created_at, a.done_at,
           t.deadline, t.number, t.text, t.kind, t.due AS task_due, t.inferred,
           p.id AS plan_id, p.title AS plan_title, p.plan_year
    FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN plans p ON p.id = t.plan_id
"""
"""An assignment with its task and plan: what the planner and the digest read (see ``state_of``)."""

DUE_ASSIGNMENTS_SQL = ASSIGNMENT_ROWS + """
    WHERE a.next_check_at IS NOT NULL AND a.next_check_at <= ? AND a.removed_at IS NULL
    ORDER BY a.next_check_at"""
"""The planner's read (one parameter: now as :func:`timestamp`); ``EXPLAIN QUERY PLAN`` of it must
show a SEARCH through ``assignments_next_check`` (bench/tick.py prints it)."""


def due_assignments(db: sqlite_utils.Database, now: datetime, limit: int | None = None) -> list[dict]:
    """Assignments whose ``next_check_at`` has come, with their task, plan, last report and events.

    Reads through the partial index on ``next_check_at``, so the cost follows what is due.
    """
    sql = DUE_ASSIGNMENTS_SQL + (f" LIMIT {int(limit)}" if limit else "")
    rows = [dict(r) for r in db.query(sql, [timestamp(now)])]
    attach_reports_and_events(db, rows)
    return rows


def attach_reports_and_events(db: sqlite_utils.Database, rows: list[dict]) -> None:
    ids = [r["assignment_id"] for r in rows]
    task_ids = sorted({r["task_id"] for r in rows})
    reports: dict[int, str] = {}
    events: dict[int, dict[str, str]] = {}
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT assignment_id, max(at) AS at FROM progress WHERE assignment_id IN ({marks}) "
                          "GROUP BY assignment_id", chunk):
            reports[r["assignment_id"]] = r["at"]
    for chunk in chunks(task_ids):
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT task_id, name, date FROM events WHERE task_id IN ({marks})", chunk):
            events.setdefault(r["task_id"], {})[r["name"]] = r["date"]
    for row in rows:
        row["last_report_at"] = reports.get(row["assignment_id"])
        row["events"] = events.get(row["task_id"], {})


# --------------------------------------------------------------------------------------------------
# What units report, and events that relative deadlines count from.

def find_assignment(db: sqlite_utils.Database, task_ref: str, unit: str) -> dict:
    """The assignment of ``unit`` on the task ``task_ref``; the message lists the units it has."""
    task = get_task(db, task_ref)
    rows = [dict(r) for r in db.query("SELECT * FROM assignments WHERE task_id = ? AND removed_at IS NULL",
                                      [task["task_id"]])]
    exact = [r for r in rows if r["unit"] == unit] or [r for r in rows if unit in r["unit"]]
    if len(exact) != 1:
        names = "、".join(r["unit"] for r in rows) or "none"
        raise StoreError(f"task {task['id']} has no single unit matching '{unit}' (its units: {names})")
    return {**exact[0], "task_ref": task["id"]}


def record_progress(db: sqlite_utils.Database, assignment_id: int, kind: str, note: str, now: datetime) -> None:
    """done closes the assignment; progress and reopen make the planner look at it again now."""
    if kind not in PROGRESS_KINDS:
        raise ValueError(kind)
    when = timestamp(now)
    with transaction(db, f"record {kind}"):
        db.execute("INSERT INTO progress (assignment_id, kind, note, at) VALUES (?, ?, ?, ?)",
                   [assignment_id, kind, note or "", when])
        if kind == "done":
            db.execute("""UPDATE assignments SET status = 'done', done_at = ?, updated_at = ?,
                          next_check_at = CASE WHEN (SELECT kind FROM tasks WHERE tasks.id = assignments.task_id)
                                                    = 'recurring' THEN ? ELSE NULL END
                          WHERE id = ?""", [when, when, when, assignment_id])
        else:
            db.execute("""UPDATE assignments SET status = 'open', done_at = NULL, updated_at = ?, next_check_at = ?
                          WHERE id = ?""", [when, LOOK_NOW, assignment_id])


def record_event(db: sqlite_utils.Database, task_id: int, name: str, day: date, now: datetime) -> None:
    """Record the date an event happened (印发) so relative deadlines become dates."""
    when = timestamp(now)
    with transaction(db, "record an event"):
        db.execute("""INSERT INTO events (task_id, name, date, recorded_at) VALUES (?, ?, ?, ?)
                      ON CONFLICT (task_id, name) DO UPDATE SET date = excluded.date,
                      recorded_at = excluded.recorded_at""", [task_id, name, day.isoformat(), when])
        db.execute("UPDATE assignments SET next_check_at = ? WHERE task_id = ? AND removed_at IS NULL",
                   [LOOK_NOW, task_id])


def plan_status(db: sqlite_utils.Database, plan: str | None = None) -> list[dict]:
    """Progress of a plan by unit: open, done, and the latest report."""
    plan_ids = match_plans(db, plan) if plan else [r["id"] for r in db.query("SELECT id FROM plans")]
    if not plan_ids:
        raise StoreError(f"no plan matches '{plan}'; `reminder tasks` shows the imported plans")
    marks = ",".join("?" * len(plan_ids))
    return [dict(r) for r in db.query(f"""
        SELECT p.id AS plan_id, p.title AS plan_title, a.unit,
               sum(a.status = 'open') AS open, sum(a.status = 'done') AS done,
               (SELECT max(g.at) FROM progress g JOIN assignments b ON b.id = g.assignment_id
                JOIN tasks u ON u.id = b.task_id WHERE b.unit = a.unit AND u.plan_id = p.id) AS last_report_at
        FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN plans p ON p.id = t.plan_id
        WHERE p.id IN ({marks}) AND a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY p.id, a.unit ORDER BY p.id, open DESC, a.unit""", plan_ids)]


