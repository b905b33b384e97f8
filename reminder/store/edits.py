"""What the office changes on a task by hand, with its reason kept in the 留痕: the due date, the units.

A due date the office sets is kept in ``tasks.due_office`` and copied to ``tasks.due``, the effective
due date every reader uses (the planner, 亮灯, the digest, the 台账); re-imports and changes of the due
rule leave it alone until the office clears it (the plan's date then comes back). Units are given and
taken through :func:`~reminder.store.units.assign_unit` / ``unassign_unit``, which mark the rows as the
office's, so a re-import keeps the decision. Every edit is one transaction with its action.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlite_utils

from reminder.errors import StoreError
from reminder.model import Action, ActionKind, Actor, DueRule, UnitRule
from reminder.store.actions import record_action
from reminder.store.base import expect_one, iso, timestamp, transaction
from reminder.store.due import recompute_due_dates
from reminder.store.units import assign_unit, unassign_unit


def _task_row(db: sqlite_utils.Database, task_id: int) -> tuple[int, str | None]:
    row = db.execute("SELECT plan_id, due FROM tasks WHERE id = ? AND removed_at IS NULL", [task_id]).fetchone()
    if row is None:
        raise StoreError(f"no current task with id {task_id}")
    return row[0], row[1]


def set_task_due(db: sqlite_utils.Database, task_id: int, day: date | None, actor: Actor, now: datetime,
                 reason: str, due_dates: DueRule) -> Action:
    """Set the task's due date to ``day`` (None: back to the plan's, computed by ``due_dates``), for
    ``reason``; its open assignments are planned again from now. Returns the 留痕 row."""
    if not reason.strip():
        raise StoreError("a changed due date needs a reason")
    when = timestamp(now)
    with transaction(db, "change a task's due date"):
        plan_id, old_due = _task_row(db, task_id)
        if day is None:
            db.execute("UPDATE tasks SET due_office = NULL, updated_at = ? WHERE id = ?", [when, task_id])
            recompute_due_dates(db, due_dates, [task_id], now)
        else:
            expect_one(db.execute("UPDATE tasks SET due_office = ?, due = ?, due_written = ?, inferred = 0, "
                                  "updated_at = ? WHERE id = ?", [iso(day), iso(day), iso(day), when, task_id]),
                       f"set the due date of task {task_id}")
        db.execute("UPDATE assignments SET next_check_at = ?, planned_from = ?, updated_at = ? "
                   "WHERE task_id = ? AND removed_at IS NULL AND status = 'open'", [when, when, when, task_id])
        new_due = db.execute("SELECT due FROM tasks WHERE id = ?", [task_id]).fetchone()[0]
        return record_action(db, ActionKind.EDIT_DUE, actor, now, task_id=task_id, plan_id=plan_id,
                             note=reason.strip(), old_due=date.fromisoformat(old_due) if old_due else None,
                             new_due=date.fromisoformat(new_due) if new_due else None)


def edit_task_units(db: sqlite_utils.Database, task_id: int, unit: str, remove: bool, actor: Actor, now: datetime,
                    reason: str, rule: UnitRule) -> tuple[list[str], Action | None]:
    """Give the task to ``unit`` (a group: each member), or take it away (``remove``), for ``reason``.
    Returns the units changed and the 留痕 row (None when nothing changed)."""
    if not reason.strip():
        raise StoreError("a change of units needs a reason")
    with transaction(db, "change a task's units"):
        plan_id, _ = _task_row(db, task_id)
        change = unassign_unit if remove else assign_unit
        units = change(db, task_id, unit.strip(), rule, now)
        if not units:
            return [], None
        verb = "取消" if remove else "增加"
        action = record_action(db, ActionKind.EDIT_UNITS, actor, now, task_id=task_id, plan_id=plan_id,
                               unit=units[0] if len(units) == 1 else "",
                               note=f"{verb}：{'、'.join(units)}。理由：{reason.strip()}")
    return units, action
