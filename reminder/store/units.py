"""One identity per unit: a task's assignments derived from the unit names its plan wrote.

A plan names units as it likes: an alias (县发展改革委 for 县发展和改革局), a group (县直各部门（含本单位）).
The store keeps the names as written in ``tasks.units`` and derives the assignments from them through a
``UnitRule`` (the unit directory, ``reminder.directory.Directory``): one assignment per unit, under the
directory's name; a group the directory lists members for becomes one assignment per member (``via_group``
says which group, ``written`` how the plan wrote the name); a name the directory does not know stays one
assignment under that name.

The derivation runs at import (:func:`sync_task_units`) and again for every task whenever the directory
changes (:func:`refresh_units`, cheap when it did not). An assignment keeps its row, and so its status,
reports and notices, when its unit is spelled another way (an alias now known, a corrected plan); a
member assignment made from a group's row (a database from before groups were expanded) starts with
the group row's status and dates. Assignments the office gave or took away (`reminder assign`) are left
as the office set them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from reminder.errors import StoreError
from reminder.model import AssignedBy, Resolution, Role, UnitRule
from reminder.store.base import expect_one, timestamp, transaction

UNIT_RULE_SETTING = "unit_rule"
"""The ``settings`` row naming the rule the stored assignments were derived with."""


class _AsWritten:
    """The rule without a directory: every name is a unit of its own, as written."""

    fingerprint = "as written"

    def resolve_name(self, written: str) -> Resolution:
        return Resolution(written, (written,))


def default_unit_rule() -> UnitRule:
    """The rule when no directory is given: names stay as the plan wrote them."""
    return _AsWritten()


@dataclass(frozen=True)
class Assignee:
    """One unit a task should be assigned to, in cell order: its name in the store, its role, the plan's
    name it came from (``written``) and the group as written when it came from one."""

    unit: str
    role: Role
    written: str
    via_group: str | None = None


def assignees(units: Iterable[tuple[str, str]], rule: UnitRule) -> list[Assignee]:
    """The plan's ``(name as written, role)`` pairs as assignees: aliases resolved, groups expanded, each
    unit once (the first name that reaches it is kept; it leads when any name that reaches it does)."""
    found: dict[str, Assignee] = {}
    for written, role in units:
        resolution = rule.resolve_name(written)
        for unit in resolution.units:
            via = written if resolution.group else None
            if unit not in found:
                found[unit] = Assignee(unit, Role(role), written, via)
            elif role == Role.LEAD and found[unit].role is not Role.LEAD:
                found[unit] = Assignee(unit, Role.LEAD, found[unit].written, found[unit].via_group)
    return list(found.values())


@dataclass
class UnitChanges:
    """What one task's derivation changed: units added (or given back), removed, and kept under another
    spelling (``respelled``: unit, the name before, the name now)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    respelled: list[tuple[str, str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.respelled)


ROW_COLUMNS = ("id, unit, role, position, status, done_at, created_at, assigned_at, planned_from, removed_at, "
               "written, via_group, assigned_by")
"""The assignment columns :func:`sync_task_units` reads."""


def stored_rows(db: sqlite_utils.Database, task_ids: Sequence[int]) -> dict[int, list[dict]]:
    """Every assignment row (removed ones too) of the given tasks, by task id, in cell order."""
    by_task: dict[int, list[dict]] = {task_id: [] for task_id in task_ids}
    for row in db.query(f"SELECT task_id, {ROW_COLUMNS} FROM assignments "
                        "WHERE task_id IN (SELECT value FROM json_each(?)) ORDER BY task_id, position",
                        [json.dumps(list(task_ids))]):
        by_task[row["task_id"]].append(row)
    return by_task


def sync_task_units(db: sqlite_utils.Database, task_id: int, wanted: Sequence[Assignee], rows: Sequence[Mapping],
                    rule: UnitRule, when: str) -> UnitChanges:
    """Make one task's assignments those of ``wanted``; ``rows`` are its stored ones (removed too).

    A unit's row is found by its name; else a current row of the plan's whose name the rule now resolves
    to that unit (an old spelling) is renamed, keeping everything; else a current row of a group that
    now stands for its members gives a new member row its status and dates; else a new row is made.
    Rows of the plan that are not wanted any more are marked removed. The office's rows stay as they are.
    """
    changes = UnitChanges()
    by_unit = {row["unit"]: row for row in rows}
    live = [row for row in rows if row["removed_at"] is None and row["assigned_by"] == AssignedBy.PLAN]
    kept: set[int] = set()
    for position, assignee in enumerate(wanted):
        row = by_unit.get(assignee.unit)
        if row is not None:
            kept.add(row["id"])
            _keep(db, row, assignee, position, when, changes)
            continue
        source = _former(live, kept, assignee.unit, rule)
        if source is not None and rule.resolve_name(source["unit"]).units == (assignee.unit,):
            kept.add(source["id"])
            _rename(db, source, assignee, position, when, changes)
        else:
            _insert(db, task_id, assignee, position, when, inherit=source)
            changes.added.append(assignee.unit)
    for row in live:
        if row["id"] not in kept:
            remove_assignment(db, row["id"], when)
            changes.removed.append(row["unit"])
    return changes


def _former(live: Sequence[Mapping], kept: set[int], unit: str, rule: UnitRule) -> Mapping | None:
    """The current row that stood for ``unit`` under another name: an alias, or a group it is in."""
    for row in live:
        if row["id"] not in kept and unit in rule.resolve_name(row["unit"]).units:
            return row
    return None


def _keep(db: sqlite_utils.Database, row: Mapping, assignee: Assignee, position: int, when: str,
          changes: UnitChanges) -> None:
    """A wanted unit that has its row: given back if the plan had dropped it, its names and place updated."""
    if row["removed_at"] is not None:
        if row["assigned_by"] == AssignedBy.OFFICE:
            return  # the office took it away; a plan that names it again does not give it back
        expect_one(db.execute(
            "UPDATE assignments SET role = ?, position = ?, written = ?, via_group = ?, removed_at = NULL, "
            "assigned_at = ?, planned_from = ?, next_check_at = ?, updated_at = ? WHERE id = ?",
            [assignee.role, position, assignee.written, assignee.via_group, when, when, when, when, row["id"]]),
            f"restore {assignee.unit}")
        changes.added.append(assignee.unit)
        return
    values = (str(assignee.role), position, assignee.written, assignee.via_group)
    if (row["role"], row["position"], row["written"], row["via_group"]) == values:
        return
    if row["written"] and row["written"] != assignee.written:
        changes.respelled.append((assignee.unit, row["written"], assignee.written))
    expect_one(db.execute("UPDATE assignments SET role = ?, position = ?, written = ?, via_group = ?, updated_at = ? "
                          "WHERE id = ?", [*values, when, row["id"]]), f"update {assignee.unit}")


def _rename(db: sqlite_utils.Database, row: Mapping, assignee: Assignee, position: int, when: str,
            changes: UnitChanges) -> None:
    """The same unit under its directory name: the row (status, reports, notices) stays."""
    expect_one(db.execute(
        "UPDATE assignments SET unit = ?, role = ?, position = ?, written = ?, via_group = ?, updated_at = ? "
        "WHERE id = ?", [assignee.unit, assignee.role, position, assignee.written, assignee.via_group, when,
                         row["id"]]), f"rename {row['unit']}")
    changes.respelled.append((assignee.unit, row["written"] or row["unit"], assignee.written))


def _insert(db: sqlite_utils.Database, task_id: int, assignee: Assignee, position: int, when: str,
            inherit: Mapping | None = None, by: AssignedBy = AssignedBy.PLAN) -> None:
    """A new assignment; one made from a group's row starts with that row's status and dates."""
    status, done_at = (inherit["status"], inherit["done_at"]) if inherit else ("open", None)
    created = inherit["created_at"] if inherit else when
    assigned = (inherit["assigned_at"] or inherit["created_at"]) if inherit else when
    planned = (inherit["planned_from"] or assigned) if inherit else when
    db.execute(
        "INSERT INTO assignments (task_id, unit, role, position, status, done_at, next_check_at, created_at, "
        "updated_at, written, via_group, assigned_at, planned_from, assigned_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [task_id, assignee.unit, assignee.role, position, status, done_at,
         when if status == "open" else None, created, when, assignee.written, assignee.via_group, assigned,
         planned, by])


def remove_assignment(db: sqlite_utils.Database, assignment_id: int, when: str, by: AssignedBy | None = None) -> None:
    """Mark removed (never delete: reports and notices point at it) and take it off the planner's list;
    ``by`` the office: a re-import does not give it back."""
    sql = "UPDATE assignments SET removed_at = ?, next_check_at = NULL, updated_at = ?"
    params: list = [when, when]
    if by is not None:
        sql += ", assigned_by = ?"
        params.append(str(by))
    expect_one(db.execute(sql + " WHERE id = ?", [*params, assignment_id]), f"remove assignment {assignment_id}")


def written_units(stored: str) -> list[tuple[str, str]]:
    """A task's ``units`` column: the plan's ``(name as written, role)`` pairs."""
    return [(name, role) for name, role in json.loads(stored or "[]")]


def refresh_units(db: sqlite_utils.Database, rule: UnitRule, now: datetime) -> int:
    """Derive every current task's assignments again if the rule (the directory) changed since they were
    stored, as of ``now``; returns how many assignments changed. Cheap when nothing changed (one read)."""
    stored = db.execute("SELECT value FROM settings WHERE name = ?", [UNIT_RULE_SETTING]).fetchone()
    if stored and stored[0] == rule.fingerprint:
        return 0
    changed = 0
    with transaction(db, "resolve units with the unit directory"):
        tasks = db.execute("SELECT id, units FROM tasks WHERE removed_at IS NULL ORDER BY id").fetchall()
        when = timestamp(now)
        for start in range(0, len(tasks), 500):
            batch = tasks[start:start + 500]
            rows = stored_rows(db, [task_id for task_id, _ in batch])
            for task_id, units in batch:
                found = sync_task_units(db, task_id, assignees(written_units(units), rule), rows[task_id], rule,
                                        when)
                changed += len(found.added) + len(found.removed) + len(found.respelled)
        db.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                   "value = excluded.value", [UNIT_RULE_SETTING, rule.fingerprint])
    return changed


def assign_unit(db: sqlite_utils.Database, task_id: int, written: str, rule: UnitRule,
                now: datetime) -> list[str]:
    """The office gives a task to ``written`` (a unit, or a group: each member): the units newly
    assigned (a unit that has the task already is left as it is)."""
    when = timestamp(now)
    wanted = assignees([(written, Role.RESPONSIBLE)], rule)
    added = []
    with transaction(db, f"assign {written}"):
        rows = {row["unit"]: row for row in stored_rows(db, [task_id])[task_id]}
        position = len(rows)
        for assignee in wanted:
            row = rows.get(assignee.unit)
            if row is not None and row["removed_at"] is None:
                continue
            if row is not None:
                expect_one(db.execute(
                    "UPDATE assignments SET removed_at = NULL, status = 'open', done_at = NULL, written = ?, "
                    "via_group = ?, assigned_at = ?, planned_from = ?, assigned_by = 'office', next_check_at = ?, "
                    "updated_at = ? WHERE id = ?",
                    [assignee.written, assignee.via_group, when, when, when, when, row["id"]]),
                    f"assign {assignee.unit}")
            else:
                _insert(db, task_id, assignee, position, when, by=AssignedBy.OFFICE)
                position += 1
            added.append(assignee.unit)
    return added


def unassign_unit(db: sqlite_utils.Database, task_id: int, written: str, rule: UnitRule,
                  now: datetime) -> list[str]:
    """The office takes a task away from ``written`` (a unit, or a group: each member that has it through
    that group or directly); the units it was taken from. A re-import does not give it back."""
    when = timestamp(now)
    units = set(rule.resolve_name(written).units)
    removed = []
    with transaction(db, f"take a task from {written}"):
        for row in stored_rows(db, [task_id])[task_id]:
            if row["removed_at"] is None and (row["unit"] in units or row["via_group"] == written):
                remove_assignment(db, row["id"], when, by=AssignedBy.OFFICE)
                removed.append(row["unit"])
    if not removed:
        raise StoreError(f"no unit of this task matches '{written}'; nothing was removed")
    return removed
