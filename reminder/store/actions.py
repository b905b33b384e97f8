"""The loop (issue 11): the 留痕 of every action, 签收, 报送进展, and the 办结 / 延期 requests the office decides.

Every function here writes its action row in the same transaction as the change it records, so the
history can never disagree with the state: an assignment is done exactly when a 办结 was confirmed (or
marked done by the CLI) and not reopened since, and its ``due_extended`` is the ``new_due`` of the last
approved 延期. ``actions`` is append-only (triggers refuse UPDATE and DELETE).

Decisions go through :func:`decide`; a request is decided once (a second decision raises StoreError,
so two office users clicking at once cannot both confirm).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import sqlite_utils

from reminder.errors import StoreError
from reminder.model import (
    Action,
    ActionKind,
    Actor,
    ActorKind,
    AssignmentStatus,
    LoopRequest,
    ReportKind,
    ReportOutcome,
    RequestKind,
    RequestState,
    TaskRef,
)
from reminder.store.base import LOOK_NOW, chunks, inserted_id, iso, timestamp, to_json, transaction
from reminder.store.tasks import assignments_by_id, record_progress

ACTION_COLUMNS = ("id, at, actor_kind, actor, kind, assignment_id, task_id, plan_id, unit, message_id, note, "
                  "file, link, old_due, new_due, request_id")


# --------------------------------------------------------------------------------------------------
# The 留痕.

def record_action(db: sqlite_utils.Database, kind: ActionKind, actor: Actor, now: datetime, *,
                  assignment_id: int | None = None, task_id: int | None = None, plan_id: int | None = None,
                  unit: str = "", message_id: int | None = None, note: str = "", file: str | None = None,
                  link: str | None = None, old_due: date | None = None, new_due: date | None = None,
                  request_id: int | None = None) -> Action:
    """Append one action. Given an ``assignment_id``, its task, plan and unit are filled in from it, so
    the unit's and the task's histories find the action without a join."""
    with transaction(db, f"record {kind}"):
        if assignment_id is not None:
            row = db.execute("SELECT a.task_id, t.plan_id, a.unit FROM assignments a JOIN tasks t ON t.id = a.task_id "
                             "WHERE a.id = ?", [assignment_id]).fetchone()
            if row is None:
                raise StoreError(f"no assignment with id {assignment_id}")
            task_id, plan_id, unit = row
        elif task_id is not None and plan_id is None:
            found = db.execute("SELECT plan_id FROM tasks WHERE id = ?", [task_id]).fetchone()
            plan_id = found[0] if found else None
        cursor = db.execute(
            f"INSERT INTO actions ({ACTION_COLUMNS.removeprefix('id, ')}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [timestamp(now), str(actor.kind), actor.name, str(kind), assignment_id, task_id, plan_id, unit,
             message_id, note or "", file, link, iso(old_due), iso(new_due), request_id])
        action_id = inserted_id(cursor)
    return Action(id=action_id, at=now, actor=actor, kind=kind, assignment_id=assignment_id, task_id=task_id,
                  plan_id=plan_id, unit=unit, message_id=message_id, note=note or "", file=file, link=link,
                  old_due=old_due, new_due=new_due, request_id=request_id)


def task_refs(db: sqlite_utils.Database, actions: Sequence[Action]) -> dict[int, TaskRef]:
    """The 登记号 of the tasks ``actions`` are about (task id -> ref), removed tasks too, so a history can
    say which task each action was on."""
    ids = sorted({a.task_id for a in actions if a.task_id is not None})
    refs: dict[int, TaskRef] = {}
    for part in chunks(ids):
        rows = db.execute("SELECT id, plan_id, number FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
                          [to_json(part)]).fetchall()
        refs.update({row[0]: TaskRef(row[1], row[2]) for row in rows})
    return refs


def history(db: sqlite_utils.Database, *, assignment_ids: Sequence[int] | None = None, unit: str | None = None,
            task_id: int | None = None, plan_id: int | None = None, limit: int | None = None) -> list[Action]:
    """Actions matching every filter given, oldest first (the newest ``limit`` of them when given)."""
    where: list[str] = []
    params: list[str | int] = []
    if assignment_ids is not None:
        where.append("assignment_id IN (SELECT value FROM json_each(?))")
        params.append(to_json(sorted(assignment_ids)))
    for column, value in (("unit", unit), ("task_id", task_id), ("plan_id", plan_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {ACTION_COLUMNS} FROM actions" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    return [action_of(r) for r in reversed(list(db.query(sql, params)))]


def action_of(row: Mapping) -> Action:
    """An ``actions`` row as an Action."""
    return Action(
        id=row["id"], at=datetime.fromisoformat(row["at"]), actor=Actor(ActorKind(row["actor_kind"]), row["actor"]),
        kind=ActionKind(row["kind"]), assignment_id=row["assignment_id"], task_id=row["task_id"],
        plan_id=row["plan_id"], unit=row["unit"], message_id=row["message_id"], note=row["note"],
        file=row["file"], link=row["link"], old_due=_day(row["old_due"]), new_due=_day(row["new_due"]),
        request_id=row["request_id"])


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --------------------------------------------------------------------------------------------------
# What a unit does.

def acknowledge(db: sqlite_utils.Database, assignment_id: int, actor: Actor, now: datetime) -> Action:
    """签收: keep the action (every time) and the first one's time on the assignment."""
    with transaction(db, "acknowledge"):
        action = record_action(db, ActionKind.ACK, actor, now, assignment_id=assignment_id)
        db.execute("UPDATE assignments SET acknowledged_at = coalesce(acknowledged_at, ?) WHERE id = ?",
                   [timestamp(now), assignment_id])
    return action


def report_progress(db: sqlite_utils.Database, assignment_id: int, actor: Actor, now: datetime, note: str,
                    file: str | None = None, link: str | None = None, at: datetime | None = None) -> Action:
    """报送进展: the action, and a progress report the planner counts (check-ins, overdue repeats); ``at``
    is when it happened, if earlier (a report that came by phone)."""
    with transaction(db, "report progress"):
        action = record_action(db, ActionKind.PROGRESS, actor, now, assignment_id=assignment_id, note=note,
                               file=file, link=link)
        record_progress(db, assignment_id, ReportKind.PROGRESS, _with_evidence(note, file, link), now, at)
    return action


def _with_evidence(note: str, file: str | None, link: str | None) -> str:
    """The progress note as `reminder status` shows it: the text, then what came with it."""
    extras = [f"附件：{file.rsplit('/', 1)[-1]}" if file else "", f"链接：{link}" if link else ""]
    return "；".join(part for part in (note, *extras) if part)


def request_done(db: sqlite_utils.Database, assignment_id: int, actor: Actor, now: datetime, note: str,
                 file: str | None = None, link: str | None = None) -> LoopRequest:
    """申请办结: a request the office confirms or returns. Refused (StoreError) when the assignment is
    done already or a 办结 request of it is pending."""
    return _request(db, RequestKind.DONE, assignment_id, actor, now, note, file=file, link=link)


def request_extension(db: sqlite_utils.Database, assignment_id: int, actor: Actor, now: datetime, new_due: date,
                      reason: str) -> LoopRequest:
    """申请延期 to ``new_due``: refused (StoreError) when the date is not after the current due date or
    not after today, or a 延期 request of it is pending."""
    current = assignments_by_id(db, [assignment_id])
    due = current[0].due if current else None
    if current and due is None:
        raise StoreError("this task has no single due date to extend (ongoing, recurring, or waiting for its event)")
    if due is not None and new_due <= due.day:
        raise StoreError(f"the new date {new_due} must be after the current due date {due.day}")
    if new_due <= now.date():
        raise StoreError(f"the new date {new_due} must be in the future")
    return _request(db, RequestKind.EXTEND, assignment_id, actor, now, reason, new_due=new_due,
                    old_due=due.day if due else None)


def _request(db: sqlite_utils.Database, kind: RequestKind, assignment_id: int, actor: Actor, now: datetime,
             note: str, *, file: str | None = None, link: str | None = None, new_due: date | None = None,
             old_due: date | None = None) -> LoopRequest:
    action_kind = ActionKind.REQUEST_DONE if kind is RequestKind.DONE else ActionKind.REQUEST_EXTEND
    with transaction(db, f"request {kind}"):
        status = db.execute("SELECT status FROM assignments WHERE id = ? AND removed_at IS NULL",
                            [assignment_id]).fetchone()
        if status is None:
            raise StoreError(f"no current assignment with id {assignment_id}")
        if status[0] == AssignmentStatus.DONE:
            raise StoreError("this task is done already (办结)")
        if db.execute("SELECT 1 FROM requests WHERE assignment_id = ? AND kind = ? AND state = 'pending'",
                      [assignment_id, str(kind)]).fetchone():
            raise StoreError(f"a {kind} request of this task is waiting for the office already")
        action = record_action(db, action_kind, actor, now, assignment_id=assignment_id, note=note, file=file,
                               link=link, old_due=old_due, new_due=new_due)
        cursor = db.execute("INSERT INTO requests (assignment_id, kind, action_id, new_due, created_at) "
                            "VALUES (?, ?, ?, ?, ?)", [assignment_id, str(kind), action.id, iso(new_due), timestamp(now)])
        request_id = inserted_id(cursor)
    return get_request(db, request_id)


# --------------------------------------------------------------------------------------------------
# What the office decides.

def decide(db: sqlite_utils.Database, request_id: int, accept: bool, actor: Actor, now: datetime,
           note: str = "") -> LoopRequest:
    """Confirm or return a 办结 request, approve or refuse a 延期 request, once.

    Confirmed 办结: the assignment is done (its notices stop). Approved 延期: the assignment's own due
    date becomes the one asked for (``due_extended``; the task's date is kept, the history has both) and
    its schedule starts over now, so the next pass plans the new date's notices and no stage of it that
    fell before today is caught up as 补发. A return or refusal should carry a reason (``note``).
    """
    with transaction(db, "decide a request"):
        request = get_request(db, request_id)
        if request.state is not RequestState.PENDING:
            raise StoreError(f"request {request_id} was decided already ({request.state})")
        kind = _decision_kind(request.kind, accept)
        assignment = request.assignment
        old_due = assignment.due.day if assignment.due else None
        extend = accept and request.kind is RequestKind.EXTEND
        decision = record_action(db, kind, actor, now, assignment_id=assignment.id, note=note, request_id=request.action.id,
                                 old_due=old_due if extend else None, new_due=request.new_due if extend else None)
        cursor = db.execute("UPDATE requests SET state = ?, decision_id = ?, decided_at = ? WHERE id = ? AND state = 'pending'",
                            [str(RequestState.ACCEPTED if accept else RequestState.REFUSED), decision.id,
                             timestamp(now), request_id])
        if cursor.rowcount != 1:
            raise StoreError(f"request {request_id} was decided already")
        if accept and request.kind is RequestKind.DONE:
            record_progress(db, assignment.id, ReportKind.DONE, request.action.note, now)
            _withdraw_pending(db, assignment.id, now)
        elif extend:
            db.execute("UPDATE assignments SET due_extended = ?, planned_from = ?, next_check_at = ?, updated_at = ? "
                       "WHERE id = ?", [iso(request.new_due), timestamp(now), LOOK_NOW, timestamp(now), assignment.id])
    return get_request(db, request_id)


def _decision_kind(kind: RequestKind, accept: bool) -> ActionKind:
    if kind is RequestKind.DONE:
        return ActionKind.CONFIRM if accept else ActionKind.RETURN
    return ActionKind.APPROVE if accept else ActionKind.REFUSE


def _withdraw_pending(db: sqlite_utils.Database, assignment_id: int, now: datetime) -> None:
    """A done assignment has nothing left to extend: its pending requests leave the queue."""
    db.execute("UPDATE requests SET state = 'withdrawn', decided_at = ? WHERE assignment_id = ? AND state = 'pending'",
               [timestamp(now), assignment_id])


def mark_done(db: sqlite_utils.Database, assignment_id: int, actor: Actor, now: datetime, note: str = "",
              at: datetime | None = None) -> bool:
    """`reminder done`: done without a request (the office knows it is). False when it was done already."""
    with transaction(db, "mark done"):
        outcome = record_progress(db, assignment_id, ReportKind.DONE, note, now, at)
        if outcome is not ReportOutcome.RECORDED:
            return False
        record_action(db, ActionKind.DONE, actor, now, assignment_id=assignment_id, note=note)
        _withdraw_pending(db, assignment_id, now)
    return True


def reopen(db: sqlite_utils.Database, assignment_id: int, actor: Actor, now: datetime, note: str = "") -> bool:
    """`reminder reopen`: open again (done by mistake). False when it was open."""
    with transaction(db, "reopen"):
        if record_progress(db, assignment_id, ReportKind.REOPEN, note, now) is not ReportOutcome.RECORDED:
            return False
        record_action(db, ActionKind.REOPEN, actor, now, assignment_id=assignment_id, note=note)
    return True


# --------------------------------------------------------------------------------------------------
# Reading requests.

REQUEST_COLUMNS = "id, assignment_id, kind, action_id, new_due, state, decision_id"


def get_request(db: sqlite_utils.Database, request_id: int) -> LoopRequest:
    found = _requests(db, "WHERE id = ?", [request_id])
    if not found:
        raise StoreError(f"no request with id {request_id}; `reminder requests` lists them")
    return found[0]


def pending_requests(db: sqlite_utils.Database, unit: str | None = None) -> list[LoopRequest]:
    """Requests waiting for the office (of one unit, when given), oldest first."""
    if unit is None:
        return _requests(db, "WHERE state = 'pending' ORDER BY created_at, id", [])
    return _requests(db, "WHERE state = 'pending' AND assignment_id IN (SELECT id FROM assignments WHERE unit = ?) "
                         "ORDER BY created_at, id", [unit])


def requests_of(db: sqlite_utils.Database, assignment_ids: Sequence[int]) -> dict[int, list[LoopRequest]]:
    """Every request of the given assignments, by assignment id, oldest first."""
    found: dict[int, list[LoopRequest]] = {}
    for chunk in chunks(sorted(assignment_ids)):
        for request in _requests(db, "WHERE assignment_id IN (SELECT value FROM json_each(?)) ORDER BY id",
                                 [to_json(chunk)]):
            found.setdefault(request.assignment.id, []).append(request)
    return found


def _requests(db: sqlite_utils.Database, where: str, params: list) -> list[LoopRequest]:
    rows = list(db.query(f"SELECT {REQUEST_COLUMNS} FROM requests {where}", params))
    if not rows:
        return []
    assignments = {a.id: a for a in assignments_by_id(db, sorted({r["assignment_id"] for r in rows}))}
    action_ids = [r["action_id"] for r in rows] + [r["decision_id"] for r in rows if r["decision_id"]]
    actions = {a.id: a for a in _actions_by_id(db, action_ids)}
    return [LoopRequest(id=r["id"], kind=RequestKind(r["kind"]), assignment=assignments[r["assignment_id"]],
                        action=actions[r["action_id"]], state=RequestState(r["state"]), new_due=_day(r["new_due"]),
                        decision=actions.get(r["decision_id"])) for r in rows]


def _actions_by_id(db: sqlite_utils.Database, ids: Sequence[int]) -> list[Action]:
    found: list[Action] = []
    for chunk in chunks(sorted(set(ids))):
        found.extend(action_of(r) for r in db.query(
            f"SELECT {ACTION_COLUMNS} FROM actions WHERE id IN (SELECT value FROM json_each(?))", [to_json(chunk)]))
    return found
