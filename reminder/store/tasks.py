"""Tasks, assignments and what units report on them: the queries behind `reminder tasks`, `done`,
`progress`, `event` and `status`, and the planner's read of the assignments whose next check has come.

Rows become :class:`~reminder.model.TaskRecord` and :class:`~reminder.model.Assignment` here, in one
place (:func:`task_record`, :func:`assignment_of`), so every reader sees the same fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache

import sqlite_utils

from reminder.errors import StoreError
from reminder.model import (
    AssignedBy,
    Assignment,
    AssignmentStatus,
    DueDate,
    DueRule,
    Report,
    ReportKind,
    ReportOutcome,
    Role,
    TaskListing,
    TaskRecord,
    TaskRef,
    UnitProgress,
    UnitRule,
)
from reminder.store.base import (
    LOOK_NOW,
    chunks,
    db_path,
    events_of,
    expect_one,
    iso,
    parse_deadline,
    timestamp,
    to_json,
    transaction,
)
from reminder.store.due import default_due_rule, recompute_due_dates
from reminder.store.plans import match_plans

# --------------------------------------------------------------------------------------------------
# Rows -> value types.

TASK_COLUMNS = """t.id AS task_id, t.plan_id, p.title AS plan_title, p.plan_year, t.number, t.section, t.text,
       t.kind, t.due, t.due_written, t.inferred, t.deadline, t.units_text, t.line, t.removed_at,
       t.created_at AS task_created_at, t.due_office IS NOT NULL AS due_by_office"""
"""The columns :func:`task_record` reads, from ``tasks t JOIN plans p``."""


@lru_cache(maxsize=4096)
def _section(stored: str) -> tuple[str, ...]:
    """A task's stored section headings (JSON list), parsed once; plans repeat them for many tasks."""
    return tuple(json.loads(stored))


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def task_record(row: Mapping, events: Mapping[str, date] | None = None) -> TaskRecord:
    """A ``tasks JOIN plans`` row (:data:`TASK_COLUMNS`) as a TaskRecord."""
    due = date.fromisoformat(row["due"]) if row["due"] else None
    written = date.fromisoformat(row["due_written"]) if row["due_written"] else due
    return TaskRecord(
        id=row["task_id"],
        ref=TaskRef(row["plan_id"], row["number"]),
        plan_title=row["plan_title"],
        plan_year=row["plan_year"],
        section=_section(row["section"]),
        text=row["text"],
        deadline=parse_deadline(row["deadline"]),
        due=DueDate(due, written or due, bool(row["inferred"])) if due else None,
        units_text=row["units_text"],
        line=row["line"],
        events=dict(events or {}),
        removed=row["removed_at"] is not None,
        created_at=_instant(row["task_created_at"]),
        due_by_office=bool(row["due_by_office"]),
    )


ASSIGNMENT_COLUMNS = ("a.id, a.task_id, a.unit, a.role, a.status, a.created_at, a.done_at, a.written, a.via_group, "
                      "a.assigned_at, a.planned_from, a.assigned_by, a.due_extended, a.acknowledged_at")
"""The columns :func:`assignment_of` reads, from ``assignments a``."""


def assignment_of(row: Mapping, task: TaskRecord, last_report_at: str | None = None) -> Assignment:
    """An assignments row (:data:`ASSIGNMENT_COLUMNS`) of ``task`` as an Assignment."""
    return Assignment(
        id=row["id"],
        task=task,
        unit=row["unit"],
        role=Role(row["role"]),
        status=AssignmentStatus(row["status"]),
        created_at=_instant(row["created_at"]),
        done_at=_instant(row["done_at"]),
        last_report_at=_instant(last_report_at),
        written=row["written"] or row["unit"],
        via_group=row["via_group"],
        assigned_at=_instant(row["assigned_at"]),
        planned_from=_instant(row["planned_from"]),
        assigned_by=AssignedBy(row["assigned_by"]),
        due_extended=date.fromisoformat(row["due_extended"]) if row["due_extended"] else None,
        acknowledged_at=_instant(row["acknowledged_at"]),
    )


# --------------------------------------------------------------------------------------------------
# Queries for `reminder tasks`, `reminder done` and friends.

def match_units(db: sqlite_utils.Database, unit: str, rule: UnitRule | None = None) -> list[str]:
    """The assigned unit names that ``unit`` means: the units the unit directory (``rule``) resolves it to
    (an alias: its unit; a group: its members), else itself when some task is assigned to exactly that
    name, else every assigned name containing it (财政局 -> 区财政局, 县财政局), sorted.

    Exact first, so that 区财政局 does not also pick 区财政局某科; a substring otherwise, because people
    type short names. Reads the ``assignments_unit`` index only.
    """
    if rule is not None:
        resolution = rule.resolve_name(unit.strip())
        if resolution.known:
            return list(resolution.units)
    exact = db.execute("SELECT 1 FROM assignments WHERE unit = ? AND removed_at IS NULL LIMIT 1", [unit])
    if exact.fetchone():
        return [unit]
    rows = db.execute("SELECT DISTINCT unit FROM assignments WHERE instr(unit, ?) > 0 AND removed_at IS NULL "
                      "ORDER BY unit", [unit])
    return [r[0] for r in rows]


_TASK_SELECT = f"SELECT {TASK_COLUMNS}\nFROM tasks t JOIN plans p ON p.id = t.plan_id\n"

_TASK_ORDER = " ORDER BY t.due IS NULL, t.due, t.plan_id, CAST(t.number AS INTEGER), t.number"


def list_tasks_sql(units: Sequence[str] | None, due_before: date | None, kind: str | None,
                   plans: Sequence[int] | None, include_removed: bool) -> tuple[str, dict]:
    """The list query and its parameters (separate so tests can check its plan uses indexes)."""
    where: list[str] = []
    params: dict[str, str | None] = {}
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
               include_removed: bool = False, rule: UnitRule | None = None) -> list[TaskListing]:
    """Tasks matching every filter given, soonest due first (tasks without a date last).

    ``unit``: see :func:`match_units` (the directory's unit for an alias, a group's members, an exact
    name, else a substring); a unit's group tasks are its own. The listing's ``status`` is then that
    of the matching units' assignments. ``due_before``: effective due date on or before that date (tasks
    without a date are left out). ``kind``: a DeadlineKind value. ``plan``: see :func:`match_plans` (id,
    or title or part of it).
    """
    units = match_units(db, unit, rule) if unit is not None else None
    plans = match_plans(db, plan) if plan is not None else None
    if units == [] or plans == []:
        return []
    sql, params = list_tasks_sql(units, due_before, kind, plans, include_removed)
    rows = list(db.query(sql, params))
    events = events_of(db, [r["task_id"] for r in rows])
    tasks = [task_record(r, events.get(r["task_id"])) for r in rows]
    by_task = _assignments_of(db, tasks)
    return [_listing(task, by_task.get(task.id, ()), units) for task in tasks]


def _assignments_of(db: sqlite_utils.Database, tasks: Sequence[TaskRecord]) -> dict[int, tuple[Assignment, ...]]:
    """Current assignments of the given tasks, in cell order, by task id (one indexed query)."""
    by_task: dict[int, list[Assignment]] = {}
    if not tasks:
        return {}
    task_of = {t.id: t for t in tasks}
    rows = list(db.query(
        f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments a "
        "WHERE a.task_id IN (SELECT value FROM json_each(?)) AND a.removed_at IS NULL ORDER BY a.task_id, a.position",
        [to_json(list(task_of))],
    ))
    reports = last_reports(db, [a["id"] for a in rows])
    for a in rows:
        by_task.setdefault(a["task_id"], []).append(assignment_of(a, task_of[a["task_id"]], reports.get(a["id"])))
    return {task_id: tuple(found) for task_id, found in by_task.items()}


def _listing(task: TaskRecord, assignments: Sequence[Assignment], units: Sequence[str] | None) -> TaskListing:
    relevant = [a for a in assignments if units is None or a.unit in units]
    done = bool(relevant) and all(a.status is AssignmentStatus.DONE for a in relevant)
    return TaskListing(task, tuple(assignments), AssignmentStatus.DONE if done else AssignmentStatus.OPEN)


def get_task(db: sqlite_utils.Database, task_ref: str) -> TaskListing:
    """The task that ``task_ref`` names, with its assignments.

    ``task_ref`` is the ref that ``reminder tasks`` shows and notices print as 登记号 ("1-17": plan 1, task
    17), or a bare task number ("17") when exactly one plan has a current task of that number. Raises
    StoreError when nothing matches, or listing the candidate refs when the number is ambiguous.
    """
    text = task_ref.strip()
    ref = TaskRef.parse(text)
    if ref is not None:
        rows = list(db.query(_TASK_SELECT + " WHERE t.plan_id = ? AND t.number = ?", [ref.plan_id, ref.number]))
    else:
        rows = list(db.query(_TASK_SELECT + " WHERE t.number = ? AND t.removed_at IS NULL" + _TASK_ORDER, [text]))
    if not rows:
        raise StoreError(f"no task {text!r} in {db_path(db)}. Fix: run `reminder tasks` to see the task ids.")
    if len(rows) > 1:
        candidates = ", ".join(f"{TaskRef(r['plan_id'], r['number'])} ({r['plan_title']})" for r in rows)
        raise StoreError(f"task number {text!r} is in {len(rows)} plans: {candidates}. "
                         "Fix: give the task id instead of the bare number.")
    task = task_record(rows[0], events_of(db, [rows[0]["task_id"]]).get(rows[0]["task_id"]))
    return _listing(task, _assignments_of(db, [task]).get(task.id, ()), None)


# --------------------------------------------------------------------------------------------------
# What the planner reads: assignments whose next check has come.

ASSIGNMENT_ROWS = f"""
    SELECT {ASSIGNMENT_COLUMNS}, {TASK_COLUMNS}
    FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN plans p ON p.id = t.plan_id
"""
"""An assignment with its task and plan, as :func:`assignments_from_rows` reads it."""

DUE_ASSIGNMENTS_SQL = """
    SELECT a.unit, a.id FROM assignments a
    WHERE a.next_check_at IS NOT NULL AND a.next_check_at <= ? AND a.removed_at IS NULL"""
"""The planner's first read (one parameter: now as :func:`timestamp`): which assignments are due, and for
whom. ``EXPLAIN QUERY PLAN`` of it must show a SEARCH through ``assignments_next_check`` (bench/tick.py
prints it), so a tick costs in proportion to what is due, not to the size of the database."""


def due_by_unit(db: sqlite_utils.Database, now: datetime) -> dict[str, list[int]]:
    """The ids of the assignments whose ``next_check_at`` has come, by unit, units in name order.

    Only ids are held (a few dozen bytes each), so the tick can then read and plan a few units at a time
    (:func:`assignments_by_id`) whatever the number due.
    """
    by_unit: dict[str, list[int]] = {}
    for unit, assignment_id in db.execute(DUE_ASSIGNMENTS_SQL, [timestamp(now)]):
        by_unit.setdefault(unit, []).append(assignment_id)
    return {unit: sorted(by_unit[unit]) for unit in sorted(by_unit)}


def assignments_by_id(db: sqlite_utils.Database, ids: Sequence[int]) -> list[Assignment]:
    """The given assignments with their task, plan, last report and events, in the order of ``ids``."""
    rows: list[Mapping] = []
    for chunk in chunks(sorted(ids)):  # in row order: neighbouring rows share pages, reads go forward
        rows.extend(db.query(ASSIGNMENT_ROWS + " WHERE a.id IN (SELECT value FROM json_each(?))",
                             [to_json(chunk)]))
    order = {assignment_id: i for i, assignment_id in enumerate(ids)}
    rows.sort(key=lambda r: order[r["id"]])
    return assignments_from_rows(db, rows)


def assignments_from_rows(db: sqlite_utils.Database, rows: Sequence[Mapping]) -> list[Assignment]:
    """:data:`ASSIGNMENT_ROWS` rows as Assignments, with each one's last report and its task's events.
    Rows of one task share one TaskRecord."""
    reports = last_reports(db, [r["id"] for r in rows])
    events = events_of(db, sorted({r["task_id"] for r in rows}))
    tasks: dict[int, TaskRecord] = {}
    found = []
    for row in rows:
        task = tasks.get(row["task_id"])
        if task is None:
            task = tasks[row["task_id"]] = task_record(row, events.get(row["task_id"]))
        found.append(assignment_of(row, task, reports.get(row["id"])))
    return found


def current_assignments(db: sqlite_utils.Database, plan_ids: Sequence[int] | None = None,
                        units: Sequence[str] | None = None) -> list[Assignment]:
    """Every current assignment of a current task (of the given plans and units, when given), with its
    task, last report and events, ordered by plan, task number and the unit cell's order: what the board
    and the 台账 show. A handful of queries whatever the number of rows."""
    where = ["a.removed_at IS NULL", "t.removed_at IS NULL"]
    params: list[str] = []
    if plan_ids is not None:
        where.append("t.plan_id IN (SELECT value FROM json_each(?))")
        params.append(to_json(list(plan_ids)))
    if units is not None:
        where.append("a.unit IN (SELECT value FROM json_each(?))")
        params.append(to_json(list(units)))
    rows = list(db.query(ASSIGNMENT_ROWS + " WHERE " + " AND ".join(where)
                         + " ORDER BY t.plan_id, CAST(t.number AS INTEGER), t.number, a.position", params))
    return assignments_from_rows(db, rows)


def last_reports(db: sqlite_utils.Database, assignment_ids: Sequence[int]) -> dict[int, str]:
    """The time of each assignment's latest report (done, progress or reopen), by assignment id: when it
    happened (``at``), which for a report given ``--on`` an earlier day is that day."""
    reports: dict[int, str] = {}
    for chunk in chunks(list(assignment_ids)):
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT assignment_id, max(at) AS at FROM progress WHERE assignment_id IN ({marks}) "
                          "GROUP BY assignment_id", chunk):
            reports[r["assignment_id"]] = r["at"]
    return reports


# --------------------------------------------------------------------------------------------------
# What units report, and events that relative deadlines count from.

def find_assignment(db: sqlite_utils.Database, task_ref: str, unit: str, rule: UnitRule | None = None) -> Assignment:
    """The assignment of ``unit`` on the task ``task_ref``; the message lists the units it has.

    ``unit`` is resolved by the unit directory (``rule``) first, so an alias finds its unit; a group
    stands for several units and is refused with their names (name the member instead).
    """
    listing = get_task(db, task_ref)
    candidates = listing.assignments
    names = "、".join(a.unit for a in candidates) or "none"
    resolution = rule.resolve_name(unit.strip()) if rule is not None else None
    if resolution is not None and resolution.known:
        if resolution.group:
            members = [a.unit for a in candidates if a.unit in resolution.units]
            raise StoreError(f"'{unit}' is a group ({len(resolution.units)} units); name the unit that reported "
                             f"(on task {listing.task.ref}: {'、'.join(members) or names})")
        exact = [a for a in candidates if a.unit in resolution.units]
    else:
        exact = [a for a in candidates if a.unit == unit] or [a for a in candidates if unit in a.unit]
    if len(exact) != 1:
        raise StoreError(f"task {listing.task.ref} has no single unit matching '{unit}' (its units: {names})")
    return exact[0]


def record_progress(db: sqlite_utils.Database, assignment_id: int, kind: ReportKind | str, note: str,
                    now: datetime, at: datetime | None = None) -> ReportOutcome:
    """Record a report as of ``now``; ``at`` is when it happened, if earlier (a report that came by phone).

    done closes the assignment (``already_done`` when it was closed: nothing recorded); reopen opens it
    again (``not_done`` when it was open: nothing to undo) and its schedule starts over; progress keeps
    the status and makes the planner look at an open assignment again now (check-ins and overdue
    repeats count from the report).
    """
    kind = ReportKind(kind)
    when = timestamp(now)
    happened = timestamp(min(at, now) if at is not None else now)
    with transaction(db, f"record {kind}"):
        row = db.execute("SELECT status FROM assignments WHERE id = ?", [assignment_id]).fetchone()
        if row is None:
            raise StoreError(f"no assignment with id {assignment_id}")
        if kind is ReportKind.DONE and row[0] == AssignmentStatus.DONE:
            return ReportOutcome.ALREADY_DONE
        if kind is ReportKind.REOPEN and row[0] == AssignmentStatus.OPEN:
            return ReportOutcome.NOT_DONE
        db.execute("INSERT INTO progress (assignment_id, kind, note, at, recorded_at) VALUES (?, ?, ?, ?, ?)",
                   [assignment_id, str(kind), note or "", happened, when])
        if kind is ReportKind.DONE:
            cursor = db.execute("""
                UPDATE assignments SET status = 'done', done_at = ?, updated_at = ?,
                    next_check_at = CASE WHEN (SELECT kind FROM tasks WHERE tasks.id = assignments.task_id)
                                              = 'recurring' THEN ? ELSE NULL END
                WHERE id = ?""", [happened, when, when, assignment_id])
        elif kind is ReportKind.REOPEN:
            cursor = db.execute("""UPDATE assignments SET status = 'open', done_at = NULL, updated_at = ?,
                                   planned_from = ?, next_check_at = ? WHERE id = ?""",
                                [when, when, LOOK_NOW, assignment_id])
        else:
            cursor = db.execute("""UPDATE assignments SET updated_at = ?,
                                   next_check_at = CASE status WHEN 'open' THEN ? ELSE next_check_at END
                                   WHERE id = ?""", [when, LOOK_NOW, assignment_id])
        expect_one(cursor, f"record {kind} for assignment {assignment_id}")
    return ReportOutcome.RECORDED


def reports_of(db: sqlite_utils.Database, assignment_ids: Sequence[int]) -> dict[int, list[Report]]:
    """Every report on the given assignments, by assignment id, oldest first."""
    found: dict[int, list[Report]] = {}
    for chunk in chunks(list(assignment_ids)):
        for r in db.query("SELECT assignment_id, kind, note, at, recorded_at FROM progress "
                          "WHERE assignment_id IN (SELECT value FROM json_each(?)) ORDER BY at, id", [to_json(chunk)]):
            found.setdefault(r["assignment_id"], []).append(_report(r))
    return found


def latest_notes(db: sqlite_utils.Database, assignment_ids: Sequence[int]) -> dict[int, Report]:
    """Each assignment's latest report that carries a note (what the unit last said), by assignment id."""
    found: dict[int, Report] = {}
    for chunk in chunks(list(assignment_ids)):
        for r in db.query("""SELECT assignment_id, kind, note, max(at) AS at, recorded_at FROM progress
                             WHERE assignment_id IN (SELECT value FROM json_each(?)) AND note <> ''
                             GROUP BY assignment_id""", [to_json(chunk)]):
            found[r["assignment_id"]] = _report(r)
    return found


def _report(row: Mapping, ref: TaskRef | None = None) -> Report:
    at = datetime.fromisoformat(row["at"])
    return Report(kind=ReportKind(row["kind"]), note=row["note"], at=at,
                  recorded_at=_instant(row["recorded_at"]) or at, ref=ref)


def record_event(db: sqlite_utils.Database, task_id: int, name: str, day: date, now: datetime,
                 due_dates: DueRule | None = None) -> None:
    """Record the date an event happened (印发) so relative deadlines become dates: the task's effective
    due date is computed again with it (``due_dates``, default: the default policy's rule)."""
    when = timestamp(now)
    with transaction(db, "record an event"):
        db.execute("""INSERT INTO events (task_id, name, date, recorded_at) VALUES (?, ?, ?, ?)
                      ON CONFLICT (task_id, name) DO UPDATE SET date = excluded.date,
                      recorded_at = excluded.recorded_at""", [task_id, name, day.isoformat(), when])
        db.execute("UPDATE assignments SET next_check_at = ?, planned_from = ? WHERE task_id = ? "
                   "AND removed_at IS NULL", [LOOK_NOW, when, task_id])
        recompute_due_dates(db, due_dates or default_due_rule(), [task_id], now)


def plan_status(db: sqlite_utils.Database, plan: str | None = None, today: date | None = None) -> list[UnitProgress]:
    """Progress of a plan by unit: open, done, overdue (effective due date before ``today``, when given),
    the latest report and the latest note."""
    plan_ids = match_plans(db, plan) if plan else [r["id"] for r in db.query("SELECT id FROM plans")]
    if not plan_ids:
        raise StoreError(f"no plan matches '{plan}'; `reminder tasks` shows the imported plans")
    marks = ",".join("?" * len(plan_ids))
    rows = list(db.query(f"""
        SELECT p.id AS plan_id, p.title AS plan_title, a.unit,
               sum(a.status = 'open') AS open, sum(a.status = 'done') AS done,
               sum(a.status = 'open' AND coalesce(a.due_extended, t.due) < :today) AS overdue,
               (SELECT max(g.at) FROM progress g JOIN assignments b ON b.id = g.assignment_id
                JOIN tasks u ON u.id = b.task_id WHERE b.unit = a.unit AND u.plan_id = p.id) AS last_report_at,
               (SELECT g.id FROM progress g JOIN assignments b ON b.id = g.assignment_id
                JOIN tasks u ON u.id = b.task_id WHERE b.unit = a.unit AND u.plan_id = p.id AND g.note <> ''
                ORDER BY g.at DESC, g.id DESC LIMIT 1) AS last_note_id
        FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN plans p ON p.id = t.plan_id
        WHERE p.id IN ({marks}) AND a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY p.id, a.unit ORDER BY p.id, open DESC, a.unit""".replace(":today", "?"),
        [today.isoformat() if today else "", *plan_ids]))
    notes = _notes_by_id(db, [r["last_note_id"] for r in rows if r["last_note_id"]])
    return [UnitProgress(plan_id=r["plan_id"], plan_title=r["plan_title"], unit=r["unit"], open=r["open"],
                         done=r["done"], last_report_at=_instant(r["last_report_at"]), overdue=r["overdue"] or 0,
                         last_note=notes.get(r["last_note_id"])) for r in rows]


def _notes_by_id(db: sqlite_utils.Database, report_ids: Sequence[int]) -> dict[int, Report]:
    """Reports by their row id, with the 登记号 of their task."""
    found: dict[int, Report] = {}
    for chunk in chunks(list(report_ids)):
        for r in db.query("""SELECT g.id, g.kind, g.note, g.at, g.recorded_at, t.plan_id, t.number FROM progress g
                             JOIN assignments a ON a.id = g.assignment_id JOIN tasks t ON t.id = a.task_id
                             WHERE g.id IN (SELECT value FROM json_each(?))""", [to_json(chunk)]):
            found[r["id"]] = _report(r, TaskRef(r["plan_id"], r["number"]))
    return found
