"""The loop's pages: a unit answers from its link (签收, 报送进展, 申请办结, 申请延期) and the office decides
in its queue (确认 / 退回 办结, 同意 / 不同意 延期, resend a dead message), every step kept in the 留痕.

A unit's link is its only credential, so every unit route takes the unit from the signed token and
checks that the assignment a form names is that unit's own, current and open; a form naming any
other assignment gets a refusal page and changes nothing. Forms are plain HTML (no script), each
carrying the CSRF token that ``app._install_guards`` checks before any handler runs.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO, cast

from flask import Flask, abort, g, redirect, request, send_file, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from reminder import routing, store
from reminder.errors import StoreError
from reminder.lights import LIGHT_LABELS, assignment_light
from reminder.model import (
    Action,
    ActionKind,
    Actor,
    ActorKind,
    Assignment,
    AssignmentStatus,
    Light,
    LoopRequest,
    MessageStatus,
    RequestKind,
    TaskRecord,
    TaskRef,
)
from reminder.web import files as stored_files
from reminder.web.app import LINK_PROBLEMS, db, error_page, login_required, open_link, page, state
from reminder.web.links import BadLink

MAX_NOTE_CHARS = 2000
MAX_LINK_CHARS = 500
_WEB_LINK = re.compile(r"https?://[^\s<>\"']+\Z")

ACTION_LABELS = {
    ActionKind.ACK: "签收", ActionKind.PROGRESS: "报送进展", ActionKind.REQUEST_DONE: "申请办结",
    ActionKind.REQUEST_EXTEND: "申请延期", ActionKind.CONFIRM: "确认办结", ActionKind.RETURN: "退回办结申请",
    ActionKind.APPROVE: "同意延期", ActionKind.REFUSE: "不同意延期", ActionKind.EDIT_DUE: "调整截止日期",
    ActionKind.EDIT_UNITS: "调整责任单位", ActionKind.IMPORT: "导入计划", ActionKind.RESEND: "重发通知",
    ActionKind.DONE: "标记办结", ActionKind.REOPEN: "重新打开",
}
"""What each action is called on the pages."""

DONE_MESSAGES = {"ack": "已签收。", "progress": "进展已报送。", "done": "办结申请已提交，等待办公室确认。",
                 "extend": "延期申请已提交，等待办公室答复。",
                 "repeat": "这份内容刚才已经提交过（可能点了两次），没有重复记录。"}
REPEAT_WITHIN = timedelta(minutes=10)
"""A progress report the same as the unit's last one within this long is a form sent twice, not news."""
QUEUE_MESSAGES = {"accepted": "已处理：同意。", "refused": "已处理：退回 / 不同意，理由已告知单位。",
                  "resent": "通知已重新排队发送。"}


@dataclass(frozen=True)
class UnitTaskView:
    """One open assignment as its unit's page shows it."""

    assignment: Assignment
    light: Light
    light_label: str
    pending: tuple[RequestKind, ...]   # requests waiting for the office
    history: tuple[Action, ...]        # what the unit and the office did on it, oldest first

    @property
    def task(self) -> TaskRecord:
        return self.assignment.task

    @property
    def extended_from(self) -> date | None:
        """The task's own date when an approved 延期 gave this unit another one."""
        task_due = self.task.due
        return task_due.day if self.assignment.due_extended and task_due else None


def install_loop(app: Flask) -> None:
    """Register the unit's answers and the office's queue on ``app``."""
    from reminder.web.app import STATE

    app.jinja_env.globals.update(action_labels=ACTION_LABELS, actor_text=actor_text,
                                 config_zone=app.extensions[STATE].config.zone)
    _install_unit_routes(app)
    _install_queue_routes(app)


def actor_text(actor: Actor, for_unit: bool = False) -> str:
    """Who did it, in words; a unit sees the office as the office (not which clerk)."""
    office = state().config.office.name
    if actor.kind is ActorKind.UNIT:
        return actor.name
    if for_unit:
        return office
    return {ActorKind.OFFICE: f"{office}（{actor.name}）", ActorKind.CLI: f"命令行（{actor.name or '办公室'}）",
            ActorKind.SYSTEM: "系统"}[actor.kind]


# ---------------------------------------------------------------------------------------------
# The unit.

def _install_unit_routes(app: Flask) -> None:
    @app.get("/u/<token>")
    def unit_page(token: str):
        link, refused = _link_or_refusal(token)
        if refused is not None:
            return refused
        ok = DONE_MESSAGES.get(request.args.get("ok", ""), "")
        return _unit_page(token, link.unit, link.expires, ok=ok)

    @app.post("/u/<token>/act")
    def unit_act(token: str):
        link, refused = _link_or_refusal(token)
        if refused is not None:
            return refused
        assignment = _own_open_assignment(link.unit, request.form.get("assignment", ""))
        if assignment is None:
            return error_page(403, "无法办理", "这项任务不属于本单位，或已办结、已撤销，没有做任何改动。",
                              "请从本单位的链接重新打开页面。")
        what = request.form.get("action", "")
        try:
            done = "repeat" if _repeated(what, assignment) else _act(what, assignment, Actor(ActorKind.UNIT, link.unit))
        except (StoreError, ValueError) as problem:
            return _unit_page(token, link.unit, link.expires, problem=_problem_text(problem), status=400)
        return redirect(url_for("unit_page", token=token, ok=done) + f"#a{assignment.id}", code=303)

    @app.get("/u/<token>/files/<path:relative>")
    def unit_file(token: str, relative: str):
        link, refused = _link_or_refusal(token)
        if refused is not None:
            return refused
        if not any(a.file == relative for a in store.history(db(), unit=link.unit)):
            abort(404)
        return _download(relative)


def _link_or_refusal(token: str) -> tuple[Any, BaseResponse | None]:
    try:
        return open_link(token), None
    except BadLink as bad:
        title, message = LINK_PROBLEMS[bad.problem]
        return None, page("link_error.html", 403, title=title, message=message, unit=bad.unit)


def _own_open_assignment(unit: str, field: str) -> Assignment | None:
    """The assignment a form names, only if it is ``unit``'s own, current and open."""
    if not field.isdecimal():
        return None
    found = store.assignments_by_id(db(), [int(field)])
    if not found:
        return None
    assignment = found[0]
    if assignment.unit != unit or assignment.status is not AssignmentStatus.OPEN or assignment.task.removed:
        return None
    return assignment if not _removed(assignment.id) else None


def _removed(assignment_id: int) -> bool:
    row = db().execute("SELECT removed_at FROM assignments WHERE id = ?", [assignment_id]).fetchone()
    return row is None or row[0] is not None


def _repeated(what: str, assignment: Assignment) -> bool:
    """Whether this form repeats what the unit just did (a double tap, a form sent again): a 签收 of an
    assignment already acknowledged, or the same progress report (note, link, file name) as its last
    within :data:`REPEAT_WITHIN`. 办结 and 延期 need no check: a second one waits behind the first."""
    if what == "ack":
        return assignment.acknowledged_at is not None
    if what != "progress":
        return False
    mine = [a for a in store.history(db(), assignment_ids=[assignment.id])
            if a.actor.kind is ActorKind.UNIT and a.kind is ActionKind.PROGRESS]
    if not mine or state().now() - mine[-1].at > REPEAT_WITHIN:
        return False
    last, upload = mine[-1], request.files.get("file")
    name = stored_files.clean_name(upload.filename) if upload is not None and upload.filename else None
    return (last.note, last.link or "", last.file.rsplit("/", 1)[-1] if last.file else None) == (
        request.form.get("note", "").strip(), request.form.get("link", "").strip(), name)


def _act(what: str, assignment: Assignment, actor: Actor) -> str:
    """Do what the form asks and say what was done (a key of DONE_MESSAGES); raises ValueError (a field
    is wrong) or StoreError (the state refuses)."""
    now, note = state().now(), _note(request.form.get("note", ""))
    if what == "ack":
        store.acknowledge(db(), assignment.id, actor, now)
    elif what == "extend":
        if not note:
            raise ValueError("请写明延期的理由。")
        store.request_extension(db(), assignment.id, actor, now, _new_due(request.form.get("new_due", "")), note)
    elif what in ("progress", "done"):
        _report(what, assignment, actor, now, note)
    else:
        raise ValueError("未知的操作。")
    return what


def _report(what: str, assignment: Assignment, actor: Actor, now: datetime, note: str) -> None:
    """报送进展 or 申请办结 with a note and, optionally, a file or a link (the file is removed again when
    the store refuses the report, so nothing is left that no action names)."""
    link = _web_link(request.form.get("link", ""))
    stored = _save(request.files.get("file"))
    if not (note or stored or link):
        raise ValueError("请填写说明，或附上文件或链接。")
    try:
        if what == "progress":
            store.report_progress(db(), assignment.id, actor, now, note, file=stored, link=link)
        else:
            store.request_done(db(), assignment.id, actor, now, note, file=stored, link=link)
    except BaseException:
        if stored:
            shutil.rmtree(state().web.files_dir / stored.split("/", 1)[0], ignore_errors=True)
        raise


def _note(text: str) -> str:
    note = text.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"说明太长（{len(note)} 字），请控制在 {MAX_NOTE_CHARS} 字以内，详细材料可作附件。")
    return note


def _web_link(text: str) -> str | None:
    link = text.strip()
    if not link:
        return None
    if len(link) > MAX_LINK_CHARS or not _WEB_LINK.match(link):
        raise ValueError("链接须以 http:// 或 https:// 开头，且不超过 500 个字符。")
    return link


def _new_due(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("请选择新的截止日期（年-月-日）。") from None


def _save(upload: FileStorage | None) -> str | None:
    if upload is None or not upload.filename:
        return None
    try:
        saved = stored_files.save_upload(state().web.files_dir, upload.filename, cast(BinaryIO, upload.stream),
                                         state().web.max_upload_mb * 1024 * 1024)
    except stored_files.UploadRefused as refused:
        raise ValueError(str(refused)) from None
    return saved.path


PROBLEMS = {
    "is done already": "这项任务已办结。",
    "waiting for the office already": "同类申请已提交，正在等待办公室答复。",
    "must be after the current due date": "新的截止日期须晚于现在的截止日期。",
    "must be in the future": "新的截止日期须在今天之后。",
    "no single due date": "这项任务没有单一的截止日期（持续推进、定期报送或等待事件），无需申请延期。",
}


def _problem_text(problem: Exception) -> str:
    """What a refusal says to a unit clerk (store messages are for the CLI, in English)."""
    if isinstance(problem, ValueError):
        return str(problem)
    text = str(problem)
    return next((zh for en, zh in PROBLEMS.items() if en in text), "没有办理成功，请刷新页面后重试。")


def _unit_page(token: str, unit: str, expires: datetime, *, ok: str = "", problem: str = "",
               status: int = 200) -> BaseResponse:
    return page("unit.html", status, unit=unit, token=token, tasks=unit_views(unit), expires=expires,
                zone=state().config.zone, ok=ok, problem=problem, limit=state().web.max_upload_mb,
                types="、".join(stored_files.ALLOWED_TYPES), today=state().now().date())


def unit_views(unit: str) -> list[UnitTaskView]:
    """Every open, current assignment of exactly ``unit`` (never of a unit whose name merely contains
    it), red first, then by due date, with its 亮灯, pending requests and history."""
    today = state().now().astimezone(state().config.zone).date()
    mine = [a for listing in store.list_tasks(db(), unit=unit) for a in listing.assignments
            if a.unit == unit and a.status is AssignmentStatus.OPEN]
    actions: dict[int, list[Action]] = {}
    for action in store.history(db(), unit=unit):
        if action.assignment_id is not None:
            actions.setdefault(action.assignment_id, []).append(action)
    pending = _pending_by_assignment(store.pending_requests(db(), unit=unit))
    yellow = state().config.policy.yellow_within_days
    views = []
    for assignment in mine:
        light = assignment_light(assignment, today, yellow)
        views.append(UnitTaskView(assignment, light, LIGHT_LABELS[light], pending.get(assignment.id, ()),
                                  tuple(actions.get(assignment.id, ()))))
    order = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2, Light.DONE: 3}
    return sorted(views, key=lambda v: (order[v.light], v.assignment.due.day if v.assignment.due else date.max))


def _pending_by_assignment(requests: Sequence[LoopRequest]) -> dict[int, tuple[RequestKind, ...]]:
    found: dict[int, tuple[RequestKind, ...]] = {}
    for r in requests:
        found[r.assignment.id] = (*found.get(r.assignment.id, ()), r.kind)
    return found


def _download(relative: str) -> BaseResponse:
    path = stored_files.resolve_download(state().web.files_dir, relative)
    if path is None:
        abort(404)
    return send_file(path, as_attachment=True, download_name=path.name, max_age=0)


# ---------------------------------------------------------------------------------------------
# The office's queue.

@dataclass(frozen=True)
class QueueView:
    """What waits for the office, in the order it is shown."""

    requests: list[LoopRequest]
    review: list[TaskRecord]          # deadlines a person must check (unreadable, inferred)
    unassigned: list[TaskRecord]      # tasks without units
    no_contact: list[tuple[str, int, bool]]   # (unit, open tasks, reached only through the fallback)
    dead: list[Any]                   # MessageListing of dead messages
    recent: list[Action]              # the latest actions (留痕)
    task_refs: dict[int, TaskRef]     # the 登记号 of the tasks those actions are on


def _install_queue_routes(app: Flask) -> None:
    @app.get("/queue")
    @login_required
    def queue():
        ok = QUEUE_MESSAGES.get(request.args.get("ok", ""), "")
        return page("queue.html", queue=queue_view(), ok=ok, problem="")

    @app.post("/queue/decide")
    @login_required
    def queue_decide():
        accept = request.form.get("decision") == "accept"
        note = request.form.get("note", "").strip()[:MAX_NOTE_CHARS]
        field = request.form.get("request", "")
        if not accept and not note:
            return page("queue.html", 400, queue=queue_view(), ok="", problem="退回或不同意时，请写明理由（单位会看到）。")
        try:
            if not field.isdecimal():
                raise StoreError("no such request")
            store.decide(db(), int(field), accept, Actor(ActorKind.OFFICE, g.user), state().now(), note)
        except StoreError:
            return page("queue.html", 409, queue=queue_view(), ok="", problem="这项申请已处理过或不存在，页面已刷新。")
        return redirect(url_for("queue", ok="accepted" if accept else "refused"), code=303)

    @app.post("/queue/resend")
    @login_required
    def queue_resend():
        field = request.form.get("message", "")
        try:
            if not field.isdecimal():
                raise StoreError("no such message")
            resend(int(field), Actor(ActorKind.OFFICE, g.user))
        except StoreError:
            return page("queue.html", 409, queue=queue_view(), ok="", problem="这条通知无法重发（已发出、正在发送或不存在）。")
        return redirect(url_for("queue", ok="resent"), code=303)

    @app.get("/history")
    @login_required
    def office_history():
        unit = request.args.get("unit", "").strip()
        actions = store.history(db(), unit=unit or None, limit=500)
        return page("history.html", unit=unit, actions=list(reversed(actions)),
                    task_refs=store.task_refs(db(), actions))

    @app.get("/evidence/<path:relative>")
    @login_required
    def evidence(relative: str):
        return _download(relative)


def resend(message_id: int, actor: Actor) -> None:
    """Queue a dead message again and keep the action (the message's unit is the action's)."""
    now = state().now()
    with store.transaction(db(), "resend a message"):
        store.retry_message(db(), message_id, now)
        row = db().execute("SELECT unit FROM messages WHERE id = ?", [message_id]).fetchone()
        store.record_action(db(), ActionKind.RESEND, actor, now, message_id=message_id, unit=row[0] if row else "")


def queue_view() -> QueueView:
    config = state().config
    no_contact = []
    for unit, tasks in store.open_units(db()):
        routes = routing.routes_for(config, unit)
        if not routes or all(r.id.startswith("fallback:") for r in routes):
            no_contact.append((unit, tasks, bool(routes)))
    recent = list(reversed(store.history(db(), limit=30)))
    return QueueView(requests=store.pending_requests(db()), review=store.tasks_needing_review(db()),
                     unassigned=store.unassigned_tasks(db()), no_contact=no_contact,
                     dead=store.list_messages(db(), MessageStatus.DEAD), recent=recent,
                     task_refs=store.task_refs(db(), recent))
