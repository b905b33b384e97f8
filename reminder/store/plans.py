"""Plans: importing a plan (idempotent, in one transaction) and the report of what changed; listing plans.

The report is data (:class:`ImportReport`); the CLI decides how to print it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import PurePath

import sqlite_utils

from reminder.errors import StoreError
from reminder.model import Deadline, DeadlineKind, DueRule, Plan, Task, UnitRule
from reminder.store.base import (
    expect_one,
    inserted_id,
    iso,
    timestamp,
    to_json,
    transaction,
)
from reminder.store.due import default_due_rule, refresh_due_dates
from reminder.store.units import (
    UnitChanges,
    assignees,
    default_unit_rule,
    refresh_units,
    remove_assignment,
    stored_rows,
    sync_task_units,
    written_units,
)

# --------------------------------------------------------------------------------------------------
# Import.

class ImportStatus(StrEnum):
    CREATED = "created"      # a plan not stored before
    UPDATED = "updated"      # a new version of a stored plan: something changed
    UNCHANGED = "unchanged"  # the same plan again: nothing written


@dataclass(frozen=True)
class TaskChange:
    """What changed in one task kept across a re-import. ``fields`` is a subset of
    ("deadline", "units", "section", "text", "line"), in that order; ``before``/``after`` hold those
    fields' values (deadline: {kind, due, inferred, text}; units: {units, lead_units, units_text})."""

    number: str
    fields: tuple[str, ...]
    before: dict
    after: dict

    def as_dict(self) -> dict:
        return {"number": self.number, "fields": list(self.fields), "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`import_plan`, for the CLI to print and for tests to check.

    ``matched_by`` says how an existing plan was
    recognised ("title": same title and plan year; "source": same file name and plan year; None when
    created). Assignments are ``(task number, unit)`` pairs, units by the directory's names (a group is
    one pair per member). ``units_respelled`` lists units the new version names another way (an alias,
    a group spelled differently) as ``(task number, unit, name before, name now)``: they keep their
    assignment, with its done mark and reports.
    """

    plan_id: int
    title: str
    plan_year: int
    status: ImportStatus
    matched_by: str | None = None
    plan_changes: tuple[str, ...] = ()
    tasks_added: tuple[str, ...] = ()
    tasks_removed: tuple[str, ...] = ()
    tasks_changed: tuple[TaskChange, ...] = ()
    assignments_added: tuple[tuple[str, str], ...] = ()
    assignments_removed: tuple[tuple[str, str], ...] = ()
    units_respelled: tuple[tuple[str, str, str, str], ...] = ()

    def as_dict(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "title": self.title,
            "plan_year": self.plan_year,
            "status": str(self.status),
            "matched_by": self.matched_by,
            "plan_changes": list(self.plan_changes),
            "tasks_added": list(self.tasks_added),
            "tasks_removed": list(self.tasks_removed),
            "tasks_changed": [c.as_dict() for c in self.tasks_changed],
            "assignments_added": [{"task": n, "unit": u} for n, u in self.assignments_added],
            "assignments_removed": [{"task": n, "unit": u} for n, u in self.assignments_removed],
            "units_respelled": [{"task": n, "unit": u, "before": b, "after": a}
                                for n, u, b, a in self.units_respelled],
        }


@dataclass(frozen=True)
class _TaskRow:
    """A task in its stored form, computed before the transaction starts (pure)."""

    number: str
    section: str
    text: str
    deadline: str
    kind: str
    due: str | None
    due_written: str | None
    inferred: int
    units_text: str
    line: int | None
    units: tuple[tuple[str, str], ...]  # (unit as written, role) in cell order, leads first

    @property
    def units_json(self) -> str:
        """The ``tasks.units`` column: the names as written, with their roles."""
        return to_json([list(pair) for pair in self.units])


def plan_digest(plan: Plan) -> str:
    """sha256 of what a plan says (title, year, issue date, tasks), not of where it was read from."""
    content = plan.as_dict()
    del content["source"], content["warnings"]
    return hashlib.sha256(to_json(content, canonical=True).encode()).hexdigest()


def _task_row(task: Task, plan_year: int, due_dates: DueRule) -> _TaskRow:
    """The stored form of a task, with its effective due date (see ``reminder.planner.effective_due``;
    a task with no deadline gets the policy's default, marked inferred)."""
    deadline = task.deadline
    due = due_dates(deadline, plan_year)
    leads = set(task.lead_units)
    names = list(dict.fromkeys((*task.lead_units, *task.units)))  # leads first, each unit once
    return _TaskRow(
        number=task.number,
        section=to_json(list(task.section)),
        text=task.text,
        deadline=to_json(deadline.as_dict()),
        kind=str(deadline.kind),
        due=iso(due.day) if due else None,
        due_written=iso(due.written) if due else None,
        inferred=int(bool(due and due.inferred)),
        units_text=task.units_text,
        line=task.line,
        units=tuple((u, "lead" if u in leads else "responsible") for u in names),
    )


def _check_plan(plan: Plan) -> None:
    """Refuse, before writing anything, a plan whose task numbers repeat: tasks are matched by number."""
    seen: dict[str, Task] = {}
    for task in plan.tasks:
        if task.number in seen:
            where = f" (lines {seen[task.number].line} and {task.line})" if task.line else ""
            raise StoreError(
                f"{plan.source}: task number {task.number} appears twice{where}. Fix: correct the "
                "numbering in the document and import it again; nothing was stored."
            )
        seen[task.number] = task


class _Diff:
    """Accumulates what an import changed; becomes an ImportReport at the end."""

    def __init__(self) -> None:
        self.plan_changes: list[str] = []
        self.added: list[str] = []
        self.removed: list[str] = []
        self.changed: list[TaskChange] = []
        self.assigned: list[tuple[str, str]] = []
        self.unassigned: list[tuple[str, str]] = []
        self.respelled: list[tuple[str, str, str, str]] = []

    def any(self) -> bool:
        return bool(self.plan_changes or self.added or self.removed or self.changed
                    or self.assigned or self.unassigned or self.respelled)

    def units(self, number: str, changes: UnitChanges) -> None:
        self.assigned += [(number, unit) for unit in changes.added]
        self.unassigned += [(number, unit) for unit in changes.removed]
        self.respelled += [(number, unit, before, after) for unit, before, after in changes.respelled]

    def report(self, plan_id: int, plan: Plan, status: ImportStatus, matched_by: str | None) -> ImportReport:
        return ImportReport(
            plan_id=plan_id, title=plan.title or "", plan_year=plan.plan_year, status=status,
            matched_by=matched_by, plan_changes=tuple(self.plan_changes), tasks_added=tuple(self.added),
            tasks_removed=tuple(self.removed), tasks_changed=tuple(self.changed),
            assignments_added=tuple(self.assigned), assignments_removed=tuple(self.unassigned),
            units_respelled=tuple(self.respelled),
        )


def import_plan(db: sqlite_utils.Database, plan: Plan, now: datetime,
                due_dates: DueRule | None = None, units: UnitRule | None = None) -> ImportReport:
    """Write ``plan`` to the store in one transaction and report what changed.

    Idempotent: importing the same plan again writes nothing and reports "unchanged". A corrected
    version of a stored plan (see the plan identity in the module docstring) updates tasks in place,
    matched by task number; tasks that vanished are marked removed with their assignments, and tasks
    or units that come back are restored, so status and progress recorded against them survive.
    ``due_dates`` computes each task's effective due date (default: the default policy on the statutory
    calendar); the dates already stored are brought up to date with it first. ``units`` (the unit
    directory; default: every name as written) turns the plan's unit names into assignments: an alias
    is the directory's unit, a group one assignment per member (see :mod:`reminder.store.units`). On any
    failure nothing is written and StoreError says why.
    """
    due_dates = due_dates or default_due_rule()
    rule = units if units is not None else default_unit_rule()
    when = timestamp(now)
    _check_plan(plan)
    rows = [_task_row(t, plan.plan_year, due_dates) for t in plan.tasks]
    digest = plan_digest(plan)
    with transaction(db, f"import plan {plan.title!r} from {plan.source}"):
        refresh_due_dates(db, due_dates)
        refresh_units(db, rule, now)
        found, matched_by = _find_plan(db, plan)
        diff = _Diff()
        if found is None:
            plan_id = _insert_plan(db, plan, digest, when)
        else:
            plan_id = found["id"]
            diff.plan_changes = _plan_changes(found, plan, digest)
        _sync_tasks(db, plan_id, _with_events(db, plan_id, plan.plan_year, rows, due_dates), rule, when, diff)
        if found is not None and diff.any():
            _update_plan(db, plan_id, plan, digest, when)
    status = (ImportStatus.CREATED if found is None
              else ImportStatus.UPDATED if diff.any() else ImportStatus.UNCHANGED)
    return diff.report(plan_id, plan, status, matched_by)


def import_plans(db: sqlite_utils.Database, plans: Sequence[Plan], now: datetime,
                 due_dates: DueRule | None = None, units: UnitRule | None = None) -> list[ImportReport]:
    """Import several plans in one transaction: all of them are stored, or (on any error) none."""
    with transaction(db, f"import {len(plans)} plans"):
        return [import_plan(db, plan, now, due_dates, units) for plan in plans]


class _Rollback(Exception):
    """Raised inside a preview's transaction so that everything it wrote is rolled back."""


def preview_import(db: sqlite_utils.Database, plan: Plan, now: datetime,
                   due_dates: DueRule | None = None, units: UnitRule | None = None) -> ImportReport:
    """What :func:`import_plan` would report for ``plan`` now, with nothing stored.

    The import itself runs, inside a transaction that is then rolled back, so the preview can never
    differ from the import by a second implementation drifting away from the first. For a plan not
    stored yet, ``plan_id`` is the id it would get.
    """
    found: list[ImportReport] = []
    try:
        with transaction(db, f"preview the import of {plan.title!r}"):
            found.append(import_plan(db, plan, now, due_dates, units))
            raise _Rollback
    except _Rollback:
        pass
    return found[0]


def _with_events(db: sqlite_utils.Database, plan_id: int | None, plan_year: int, rows: list[_TaskRow],
                 due_dates: DueRule) -> list[_TaskRow]:
    """Relative deadlines of tasks already stored keep counting from their recorded events."""
    if plan_id is None or not any(r.kind == DeadlineKind.RELATIVE for r in rows):
        return rows
    events: dict[str, dict[str, date]] = {}
    for r in db.query("SELECT t.number, e.name, e.date FROM events e JOIN tasks t ON t.id = e.task_id "
                      "WHERE t.plan_id = ?", [plan_id]):
        events.setdefault(r["number"], {})[r["name"]] = date.fromisoformat(r["date"])
    updated = []
    for row in rows:
        if row.kind == DeadlineKind.RELATIVE and row.number in events:
            due = due_dates(Deadline.from_dict(json.loads(row.deadline)), plan_year, events[row.number])
            row = replace(row, due=iso(due.day) if due else None, due_written=iso(due.written) if due else None,
                          inferred=int(bool(due and due.inferred)))
        updated.append(row)
    return updated


def _find_plan(db: sqlite_utils.Database, plan: Plan) -> tuple[dict | None, str | None]:
    """The stored plan this one is a version of, and how it was recognised (see the module docstring)."""
    if plan.title:
        rows = list(db.query("SELECT * FROM plans WHERE title = ? AND plan_year = ? AND title <> ''",
                             [plan.title, plan.plan_year]))
        if rows:
            return rows[0], "title"
    rows = list(db.query("SELECT * FROM plans WHERE source_name = ? AND plan_year = ?",
                         [PurePath(plan.source).name, plan.plan_year]))
    if len(rows) == 1:  # two plans from files of one name: neither is surely this one
        return rows[0], "source"
    return None, None


def _plan_columns(plan: Plan, digest: str) -> dict:
    """The plans row for ``plan``, less the timestamps."""
    return {
        "title": plan.title or "",  # no title line: identified by its file name (see the package docstring)
        "plan_year": plan.plan_year,
        "issued": iso(plan.issued),
        "source": plan.source,
        "source_name": PurePath(plan.source).name,
        "sha256": digest,
    }


def _insert_plan(db: sqlite_utils.Database, plan: Plan, digest: str, when: str) -> int:
    row = _plan_columns(plan, digest) | {"imported_at": when, "updated_at": when}
    cursor = db.execute(
        "INSERT INTO plans (title, plan_year, issued, source, source_name, sha256, imported_at, updated_at) "
        "VALUES (:title, :plan_year, :issued, :source, :source_name, :sha256, :imported_at, :updated_at)",
        row,
    )
    return inserted_id(cursor)


def _plan_changes(stored: dict, plan: Plan, digest: str) -> list[str]:
    """Which of the plan's own fields differ from the stored row (the sha256 follows the tasks)."""
    new = _plan_columns(plan, digest)
    return [name for name in ("title", "issued", "source") if stored[name] != new[name]]


def _update_plan(db: sqlite_utils.Database, plan_id: int, plan: Plan, digest: str, when: str) -> None:
    row = _plan_columns(plan, digest) | {"updated_at": when, "id": plan_id}
    cursor = db.execute(
        "UPDATE plans SET title = :title, issued = :issued, source = :source, source_name = :source_name, "
        "sha256 = :sha256, updated_at = :updated_at WHERE id = :id",
        row,
    )
    expect_one(cursor, f"update plan {plan_id}")


def _sync_tasks(db: sqlite_utils.Database, plan_id: int, rows: list[_TaskRow], rule: UnitRule, when: str,
                diff: _Diff) -> None:
    """Make the plan's stored tasks match ``rows``: add, restore, update in place, mark removed."""
    stored = {r["number"]: r for r in db.query("SELECT * FROM tasks WHERE plan_id = ?", [plan_id])}
    units = stored_rows(db, [r["id"] for r in stored.values()])
    for row in rows:
        old = stored.get(row.number)
        if old is None:
            task_id = _insert_task(db, plan_id, row, when)
            diff.added.append(row.number)
        else:
            task_id = old["id"]
            if old["removed_at"] is not None:
                diff.added.append(row.number)
            if old["due_office"] is not None:  # the office's date stands, whatever the plan now says
                row = replace(row, due=old["due"], due_written=old["due_written"], inferred=old["inferred"])
            _update_task(db, old, row, when, diff)
        changes = sync_task_units(db, task_id, assignees(row.units, rule), units.get(task_id, []), rule, when)
        diff.units(row.number, changes)
    kept = {row.number for row in rows}
    for number, old in stored.items():
        if number not in kept and old["removed_at"] is None:
            _remove_task(db, old["id"], number, units.get(old["id"], []), when, diff)


_TASK_FIELDS = ("section", "text", "deadline", "kind", "due", "due_written", "inferred", "units_text", "line",
                "units")


def _task_values(row: _TaskRow) -> dict:
    """The ``tasks`` columns of a row (``units`` as its JSON)."""
    return {f: row.units_json if f == "units" else getattr(row, f) for f in _TASK_FIELDS}


def _insert_task(db: sqlite_utils.Database, plan_id: int, row: _TaskRow, when: str) -> int:
    values = _task_values(row)
    values |= {"plan_id": plan_id, "number": row.number, "created_at": when, "updated_at": when}
    cursor = db.execute(
        f"INSERT INTO tasks (plan_id, number, created_at, updated_at, {', '.join(_TASK_FIELDS)}) "
        f"VALUES (:plan_id, :number, :created_at, :updated_at, {', '.join(':' + f for f in _TASK_FIELDS)})",
        values,
    )
    return inserted_id(cursor)


def _written_view(stored: str) -> dict:
    """A task's units as the plan wrote them, in the shape the report shows."""
    pairs = written_units(stored)
    return {"units": [name for name, _ in pairs], "lead_units": [name for name, role in pairs if role == "lead"]}


def _deadline_view(deadline_json: str, due: str | None, inferred: int) -> dict:
    """The part of a deadline a person compares in a report: kind, effective due date, source text."""
    d = json.loads(deadline_json)
    return {"kind": d["kind"], "due": due, "inferred": bool(inferred), "text": d["text"]}


def _task_changes(old: dict, row: _TaskRow) -> TaskChange | None:
    """What differs between a stored task (with its assignments) and its new version; None if nothing.

    JSON columns are compared parsed, so a change of key order in ``as_dict`` is not a change.
    """
    before: dict = {}
    after: dict = {}
    if ((json.loads(old["deadline"]), old["kind"], old["due"], old["inferred"])
            != (json.loads(row.deadline), row.kind, row.due, row.inferred)):
        before["deadline"] = _deadline_view(old["deadline"], old["due"], old["inferred"])
        after["deadline"] = _deadline_view(row.deadline, row.due, row.inferred)
    old_units = _written_view(old["units"]) | {"units_text": old["units_text"]}
    new_units = _written_view(row.units_json) | {"units_text": row.units_text}
    if old_units != new_units:
        before["units"], after["units"] = old_units, new_units
    if json.loads(old["section"]) != json.loads(row.section):
        before["section"], after["section"] = json.loads(old["section"]), json.loads(row.section)
    for name in ("text", "line"):
        if old[name] != getattr(row, name):
            before[name], after[name] = old[name], getattr(row, name)
    if not before:
        return None
    return TaskChange(row.number, tuple(before), before, after)


def _update_task(db: sqlite_utils.Database, old: dict, row: _TaskRow, when: str, diff: _Diff) -> None:
    """Update a kept (or returning) task in place; report what changed unless it was just restored."""
    restoring = old["removed_at"] is not None
    change = _task_changes(old, row)
    if change is None and not restoring:
        return
    values = _task_values(row) | {"id": old["id"], "updated_at": when}
    cursor = db.execute(
        f"UPDATE tasks SET {', '.join(f'{f} = :{f}' for f in _TASK_FIELDS)}, updated_at = :updated_at, "
        "removed_at = NULL WHERE id = :id",
        values,
    )
    expect_one(cursor, f"update task {row.number}")
    if change is not None and "deadline" in change.fields:
        # The planner must look again at every open assignment: its schedule moved (and started over, so a
        # stage of the new deadline that fired before now is not caught up as 补发).
        db.execute("UPDATE assignments SET next_check_at = ?, planned_from = ?, updated_at = ? "
                   "WHERE task_id = ? AND removed_at IS NULL AND status = 'open'", [when, when, when, old["id"]])
    if change is not None and not restoring:
        diff.changed.append(change)


def _remove_task(db: sqlite_utils.Database, task_id: int, number: str, assignments: list[dict], when: str,
                 diff: _Diff) -> None:
    """A task gone from the corrected plan: marked removed with its assignments, kept for its history."""
    expect_one(db.execute("UPDATE tasks SET removed_at = ?, updated_at = ? WHERE id = ?", [when, when, task_id]),
               f"remove task {number}")
    for a in assignments:
        if a["removed_at"] is None:
            remove_assignment(db, a["id"], when)
            diff.unassigned.append((number, a["unit"]))
    diff.removed.append(number)


def match_plans(db: sqlite_utils.Database, plan: int | str) -> list[int]:
    """The ids of the plans that ``plan`` means: an id (int or digits), else the plan with exactly that
    title, else every plan whose title contains it."""
    if isinstance(plan, int) or str(plan).strip().isdecimal():  # not isdigit: int() refuses ¹
        return [int(plan)]
    text = str(plan).strip()
    rows = db.execute("SELECT id FROM plans WHERE title = ? ORDER BY id", [text]).fetchall()
    if not rows:
        rows = db.execute("SELECT id FROM plans WHERE instr(title, ?) > 0 ORDER BY id", [text]).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class PlanSummary:
    """A stored plan with its counts of current tasks and open assignments."""

    id: int
    title: str
    plan_year: int
    issued: date | None
    source: str
    sha256: str
    imported_at: datetime
    updated_at: datetime
    tasks: int
    open_assignments: int


def list_plans(db: sqlite_utils.Database) -> list[PlanSummary]:
    """Every plan with its counts of current tasks and open assignments, newest plan year first."""
    return [PlanSummary(id=r["id"], title=r["title"], plan_year=r["plan_year"],
                        issued=date.fromisoformat(r["issued"]) if r["issued"] else None, source=r["source"],
                        sha256=r["sha256"], imported_at=datetime.fromisoformat(r["imported_at"]),
                        updated_at=datetime.fromisoformat(r["updated_at"]), tasks=r["tasks"],
                        open_assignments=r["open_assignments"]) for r in db.query("""
        SELECT p.id, p.title, p.plan_year, p.issued, p.source, p.sha256, p.imported_at, p.updated_at,
               (SELECT count(*) FROM tasks t WHERE t.plan_id = p.id AND t.removed_at IS NULL) AS tasks,
               (SELECT count(*) FROM assignments a JOIN tasks t ON t.id = a.task_id
                 WHERE t.plan_id = p.id AND a.removed_at IS NULL AND t.removed_at IS NULL
                   AND a.status = 'open') AS open_assignments
        FROM plans p ORDER BY p.plan_year DESC, p.id
    """)]


