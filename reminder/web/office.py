"""The office's tools beyond the board: importing a plan (upload or web address, preview, confirm).

Installed by ``create_app``; every route here is behind the login, and every POST has passed the CSRF
check in ``reminder.web.app`` before it arrives.
"""

from __future__ import annotations

from flask import Flask, request

from reminder.errors import InputError, ReminderError
from reminder.web import imports
from reminder.web.app import db, login_required, page, state
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
        staged = imports.load_staged(state().web.files_dir, request.form.get("token", ""))
        if staged is None or problem:
            return _form_page("找不到待导入的文件，请重新上传。", 400)
        try:
            plan, report = imports.confirm(db(), staged, request.form.get("digest", ""), state().now(),
                                           state().config.due_dates(), state().config.directory, plan_year)
        except imports.PlanChanged:
            return _form_page("文件内容与预览时不一致，未导入。请重新上传并预览。", 409)
        except ReminderError as failed:
            return _form_page(f"未导入：{failed}", 400)
        return page("import_done.html", plan=plan, report=report)


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
