"""The office's pages beyond login: the board, importing a plan (upload or web address, preview,
confirm), a task's page with its edits (due date, units, each with a reason) and history, and the
exports (the 台账 as .xlsx, the 落实情况 paragraph).

Installed by ``create_app``; every route here is behind the login, and every POST has passed the CSRF
check in ``reminder.web.app`` before it arrives.
"""

from __future__ import annotations

import io
from datetime import date

from flask import Flask, Response, abort, g, redirect, request, send_file, url_for

from reminder import store
from reminder.errors import InputError, ReminderError, StoreError
from reminder.model import ActionKind, Actor, ActorKind, TaskRef
from reminder.web import imports
from reminder.web.app import db, login_required, page, state
from reminder.web.board import BoardFilter, build_board
from reminder.web.files import PLAN_TYPES, UploadRefused

YEARS = range(2000, 2101)


def install(app: Flask) -> None:
    @app.get("/import")
    @login_required
    def import_form():
        return _form_page()

    @app.post("/import")
    @login_required
    def import_preview():
        plan_year, problem = _plan_year(request.form.get("plan_year", ""))
        if problem:
            return _form_page(problem, 400)
        limit = state().web.max_upload_mb * 1024 * 1024
        files_dir = state().web.files_dir
        url = request.form.get("url", "").strip()
        upload = request.files.get("file")
        imports.remove_stale(files_dir)
        try:
            if upload is not None and upload.filename:
                staged = imports.stage_upload(files_dir, upload.filename, upload.stream, limit)
            elif url:
                staged = imports.stage_url(files_dir, url, limit)
            else:
                return _form_page("请选择计划文件，或填写网址。", 400)
            shown = imports.preview(db(), staged, state().now(), state().config.due_dates(),
                                    state().config.directory, plan_year)
        except (UploadRefused, InputError) as refused:
            return _form_page(str(refused), 400)
        return page("import_preview.html", preview=shown, plan_year=plan_year or "")

    @app.post("/import/confirm")
    @login_required
    def import_confirm():
        plan_year, problem = _plan_year(request.form.get("plan_year", ""))
        token = request.form.get("token", "")
        staged = imports.load_staged(state().web.files_dir, token)
        if staged is None and imports.was_confirmed(state().web.files_dir, token):
            return _form_page("这份计划已经导入（确认只需一次），导入结果见看板和操作记录。", 409)
        if staged is None or problem:
            return _form_page("找不到待导入的文件（预览超过一天未确认会被清理），请重新上传。", 400)
        try:
            plan, report = imports.confirm(db(), staged, request.form.get("digest", ""), state().now(),
                                           state().config.due_dates(), state().config.directory, office_actor(),
                                           plan_year)
        except imports.PlanChanged:
            return _form_page("文件内容与预览时不一致，未导入。请重新上传并预览。", 409)
        except ReminderError as failed:
            return _form_page(f"未导入：{failed}", 400)
        return page("import_done.html", plan=plan, report=report)

    @app.get("/task/<ref>")
    @login_required
    def task_page(ref: str):
        return _task_page(_task_of(ref))

    @app.post("/task/<ref>/due")
    @login_required
    def task_due(ref: str):
        listing = _task_of(ref)
        text, reason = request.form.get("due", "").strip(), request.form.get("reason", "")
        clear = request.form.get("clear") == "1"
        try:
            day = None if clear else date.fromisoformat(text)
        except ValueError:
            return _task_page(listing, f"“{text}”不是日期（例如 2021-11-30）。", 400)
        try:
            store.set_task_due(db(), listing.task.id, day, office_actor(), state().now(), reason,
                               state().config.due_dates())
        except StoreError:
            return _task_page(listing, "请填写修改的理由。", 400)
        return redirect(url_for("task_page", ref=ref))

    @app.post("/task/<ref>/units")
    @login_required
    def task_units(ref: str):
        listing = _task_of(ref)
        unit, reason = request.form.get("unit", "").strip(), request.form.get("reason", "")
        if not unit or not reason.strip():
            return _task_page(listing, "请填写单位和理由。", 400)
        remove = request.form.get("remove") == "1"
        try:
            changed, _ = store.edit_task_units(db(), listing.task.id, unit, remove, office_actor(), state().now(),
                                               reason, state().config.directory)
        except StoreError:   # the store's one refusal here: no unit of the task matches (its words are the CLI's)
            changed = []
        if not changed:
            already = "不是这项任务的责任单位" if remove else "已是这项任务的责任单位"
            return _task_page(listing, f"“{unit}”{already}，未作改动。", 409)
        return redirect(url_for("task_page", ref=ref))

    @app.get("/export/ledger.xlsx")
    @login_required
    def ledger_xlsx():
        from reminder.ledger import ledger_rows, write_xlsx

        plan = _plan_arg()
        rows = ledger_rows(db(), today(), state().config.zone, state().config.policy.yellow_within_days,
                           [plan] if plan is not None else None)
        out = io.BytesIO()
        write_xlsx(rows, out, today())
        out.seek(0)
        name = f"台账-{today():%Y%m%d}" + (f"-计划{plan}" if plan is not None else "") + ".xlsx"
        return send_file(out, as_attachment=True, download_name=name, max_age=0,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.get("/export/summary")
    @login_required
    def summary_text():
        from reminder.ledger import ledger_rows, summaries

        plan = _plan_arg()
        rows = ledger_rows(db(), today(), state().config.zone, state().config.policy.yellow_within_days,
                           [plan] if plan is not None else None)
        paragraphs = summaries(rows, today())
        if request.args.get("format") == "text":
            return Response("\n\n".join(text for _, text in paragraphs) + "\n", mimetype="text/plain")
        return page("summary.html", paragraphs=paragraphs, plan=plan)


def office_actor() -> Actor:
    """The logged-in office user, as the 留痕 records them."""
    return Actor(ActorKind.OFFICE, g.user)


def _plan_arg() -> int | None:
    plan = request.args.get("plan", "")
    return int(plan) if plan.isdecimal() and len(plan) < 10 else None


def _task_of(ref: str):
    if TaskRef.parse(ref) is None:
        abort(404)
    try:
        return store.get_task(db(), ref)
    except StoreError:
        abort(404)


def _task_page(listing, problem: str = "", status: int = 200):
    from reminder.lights import LIGHT_LABELS, assignment_light

    day = today()
    yellow = state().config.policy.yellow_within_days
    shares = [(a, assignment_light(a, day, yellow)) for a in listing.assignments]
    actions = store.history(db(), task_id=listing.task.id)
    return page("task.html", status, listing=listing, shares=shares, labels=LIGHT_LABELS, actions=actions,
                problem=problem, kinds=ACTION_LABELS, removed=listing.task.removed)


ACTION_LABELS = {ActionKind.EDIT_DUE: "修改截止日期", ActionKind.EDIT_UNITS: "调整责任单位", ActionKind.IMPORT: "导入",
                 ActionKind.ACK: "签收", ActionKind.PROGRESS: "报送进展", ActionKind.REQUEST_DONE: "申请办结",
                 ActionKind.REQUEST_EXTEND: "申请延期", ActionKind.CONFIRM: "确认办结", ActionKind.RETURN: "退回",
                 ActionKind.APPROVE: "同意延期", ActionKind.REFUSE: "不同意延期", ActionKind.DONE: "办结",
                 ActionKind.REOPEN: "重新打开", ActionKind.RESEND: "重发"}


def _form_page(problem: str = "", status: int = 200):
    return page("import.html", status, problem=problem, limit=state().web.max_upload_mb,
                types="、".join(PLAN_TYPES))


def _plan_year(text: str) -> tuple[int | None, str]:
    """The optional plan year of the form, or a problem to show."""
    text = text.strip()
    if not text:
        return None, ""
    if not text.isdecimal() or int(text) not in YEARS:
        return None, f"计划年度“{text}”不是 {YEARS.start}–{YEARS.stop - 1} 之间的年份。"
    return int(text), ""


def today() -> date:
    """The office's calendar day now."""
    return state().now().astimezone(state().config.zone).date()


def board_page():
    """The board for the query string's filters (plan, unit, status): one query for the assignments."""
    chosen = BoardFilter.from_query(request.args.get("plan", ""), request.args.get("unit", ""),
                                    request.args.get("status", ""))
    plans = store.list_plans(db())
    found = store.current_assignments(db(), [chosen.plan] if chosen.plan is not None else None)
    units = sorted({a.unit for a in found})
    if chosen.unit is not None:
        found = [a for a in found if a.unit == chosen.unit]
    # The grid of every plan at once would be tens of thousands of cells: one plan's, or one unit's.
    show_grid = (chosen.plan is not None or chosen.unit is not None
                 or len({a.task.ref.plan_id for a in found}) <= 1)
    boards = build_board(found, today(), state().config.policy.yellow_within_days, chosen, show_grid)
    return page("board.html", plans=boards, chosen=chosen, plan_choices=plans, unit_choices=units, today=today(),
                show_grid=show_grid)
