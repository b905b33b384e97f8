"""The Flask application: a unit's page from its signed link, the office's login, board and files.

``create_app(config, db_path, now=…)`` builds it; ``now`` is the clock (tests step it), every
request reads the time from it. The pages are thin on purpose: they read through the store's public
functions and will grow into the full loop (签收, 进展, 办结, 延期, the queue) on the typed model.

Every response carries headers that forbid scripts, framing and referrers (a unit's link is its
credential: it must not leak to another site in a Referer header) and is not cached. Every POST is
checked for its CSRF token before its handler runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from jinja2 import StrictUndefined
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from reminder import clock, store
from reminder.config import Config, WebConfig
from reminder.model import (
    Deadline,
    DeadlineKind,
    DueDate,
    TaskRecord,
    TaskRef,
)
from reminder.web import files as stored_files
from reminder.web.guard import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    CsrfTokens,
    LoginThrottle,
    new_token,
    token_hash,
)
from reminder.web.keys import derive, load_secret
from reminder.web.links import BadLink, LinkProblem, UnitLink, make_token, read_token
from reminder.web.passwords import (
    PasswordHash,
    hash_password,
    parse_hash,
    verify_password,
)

STATE = "reminder"            # app.extensions key of the WebState
FORM_OVERHEAD = 64 * 1024     # a request may exceed the file limit by this much (the form's other fields)
WEEKDAYS = "一二三四五六日"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_SAFE_NEXT = re.compile(r"/[A-Za-z0-9_\-/]*\Z")


@dataclass
class WebState:
    """Everything the pages need, built once per app."""

    config: Config
    web: WebConfig
    db_path: Path
    now: Callable[[], datetime]
    link_key: bytes
    csrf: CsrfTokens
    throttle: LoginThrottle
    users: dict[str, PasswordHash]
    calendar: Any
    _decoy: PasswordHash | None = None

    @property
    def decoy(self) -> PasswordHash:
        """Checked when the user name is unknown, so a wrong name costs as long as a wrong password."""
        if self._decoy is None:
            self._decoy = parse_hash(hash_password(new_token()))
        return self._decoy

    def issue_link(self, unit: str, generation: int) -> tuple[str, datetime]:
        """A token for ``unit`` made now (see ``reminder.web.links``)."""
        return make_token(self.link_key, unit, generation, self.now(), self.web.link_days)


def create_app(config: Config, db_path: str | Path, now: Callable[[], datetime] | None = None,
               secret: bytes | None = None) -> Flask:
    """The web app over the database at ``db_path``. ``secret`` overrides the configured key (tests)."""
    web = config.web or WebConfig()
    secret = secret if secret is not None else load_secret(web)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=web.max_upload_mb * 1024 * 1024 + FORM_OVERHEAD,
                      SEND_FILE_MAX_AGE_DEFAULT=3600, TEMPLATES_AUTO_RELOAD=False)
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.filters["cn_date"] = cn_date
    app.extensions[STATE] = WebState(
        config=config, web=web, db_path=Path(db_path), now=now or (lambda: clock.now(config.timezone)),
        link_key=derive(secret, "unit-link"), csrf=CsrfTokens(derive(secret, "csrf")),
        throttle=LoginThrottle(web.login_attempts, timedelta(minutes=web.login_window_minutes)),
        users={u.name: parse_hash(u.password_hash) for u in web.users},
        calendar=config.working_calendar())
    _install_guards(app)
    _install_office_pages(app)
    from reminder.web.loop import install_loop

    install_loop(app)   # the unit's page and answers, the office's queue and history

    from reminder.web import office

    office.install(app)
    return app


def state() -> WebState:
    from flask import current_app

    return current_app.extensions[STATE]


def db():
    """This request's connection (opened on first use, closed at the end of the request)."""
    if "db" not in g:
        g.db = store.open_db(state().db_path)
    return g.db


def cn_date(day: date | str | None) -> str:
    """2021年11月1日（周一）."""
    if day is None:
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return f"{day.year}年{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def error_page(status: int, title: str, message: str, advice: str = "") -> Response:
    back_url, back_label = way_back()
    return page("error.html", status, title=title, message=message, advice=advice, back_url=back_url,
                back_label=back_label)


def way_back() -> tuple[str, str]:
    """Where an error page sends a person on (address, words; ("", "") for nowhere): a unit to its own
    page when the link in the address still opens it, the office to the page it came from (or the
    board; pages send no Referer, so it is told by the address); anyone else to nothing, so an error
    page never leads a stranger into the app."""
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "u":
        try:
            open_link(parts[2])
        except BadLink:
            return "", ""
        return url_for("unit_page", token=parts[2]), "返回本单位的任务页面"
    if not g.get("user"):
        return "", ""
    if len(parts) > 3 and parts[1] == "task" and TaskRef.parse(parts[2]) is not None:
        return url_for("task_page", ref=parts[2]), "返回任务页面"
    section = {"queue": ("queue", "返回待办"), "history": ("queue", "返回待办"), "import": ("import_form", "返回导入"),
               "files": ("files", "返回文件")}.get(parts[1] if len(parts) > 1 else "")
    if section:
        return url_for(section[0]), section[1]
    return url_for("board"), "返回看板"


# ---------------------------------------------------------------------------------------------
# Guards: the connection, CSRF on every POST, the office session, security headers.


def _install_guards(app: Flask) -> None:
    @app.before_request
    def check_csrf():
        g.user = _session_user()
        if request.method == "POST" and not state().csrf.is_valid(_binding(), request.form.get(CSRF_FIELD)):
            return error_page(400, "表单已失效", "这个表单已过期，或不是从本系统的页面提交的，因此没有处理。",
                              "请返回上一页，刷新后重新提交。")
        return None

    @app.context_processor
    def globals_for_templates():
        return {"csrf_field": CSRF_FIELD, "csrf_token": lambda: state().csrf.token_for(_binding()),
                "office": state().config.office, "user": g.get("user"), "zone": state().config.zone}

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if g.get("new_csrf_cookie"):
            _set_cookie(response, CSRF_COOKIE, g.new_csrf_cookie, max_age=None)
        return response

    @app.teardown_appcontext
    def close_db(_exc):
        connection = g.pop("db", None)
        if connection is not None:
            connection.close()

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if err.code == 413:
            limit = state().web.max_upload_mb
            return error_page(413, "文件太大", f"上传的文件超过 {limit} MB 的上限，没有保存。", "请压缩或拆分后再上传。")
        if err.code == 404:
            return error_page(404, "页面不存在", "没有这个页面。", "请检查地址，或从通知中的链接进入。")
        return error_page(err.code or 500, "无法处理请求", err.description or "")


def _session_user() -> str | None:
    """The office user of a live session cookie, or None (also when that user left the config)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user = store.office_session_user(db(), token_hash(token), state().now())
    return user if user in state().users else None


def _binding() -> str:
    """What CSRF tokens are bound to: the live session's token, else this browser's own CSRF cookie."""
    if g.get("user"):
        return request.cookies[SESSION_COOKIE]
    cookie = request.cookies.get(CSRF_COOKIE) or g.get("new_csrf_cookie")
    if not cookie:
        if request.method == "POST":
            return ""   # a POST from a browser we never gave a form to: no token can match
        g.new_csrf_cookie = cookie = new_token()
    return cookie


def _set_cookie(response: BaseResponse, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax",
                        secure=request.is_secure, path=request.script_root or "/")


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not g.get("user"):
            return redirect(url_for("login", next=request.path))
        return view(*args, **kwargs)
    return wrapper


# ---------------------------------------------------------------------------------------------
# A unit's page, opened from its signed link.


LINK_PROBLEMS = {
    LinkProblem.TAMPERED: ("链接无效", "这个链接不完整或被改动过，无法打开。"),
    LinkProblem.EXPIRED: ("链接已过期", "这个链接已超过有效期。"),
    LinkProblem.REVOKED: ("链接已停用", "这个链接已被停用。"),
}


def open_link(token: str) -> UnitLink:
    """The unit a link opens for, checked against the key, the clock and the store's revocations."""
    return read_token(state().link_key, token, state().now(),
                      lambda unit: store.unit_link_generation(db(), unit))


# ---------------------------------------------------------------------------------------------
# The office: login, board, files, logout.


def _install_office_pages(app: Flask) -> None:
    @app.get("/")
    def home():
        return redirect(url_for("board"))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            if g.get("user"):
                return redirect(url_for("board"))
            return page("login.html", name="", problem="", next=request.args.get("next", ""))
        return _log_in(request.form.get("name", "").strip(), request.form.get("password", ""),
                       request.form.get("next", ""))

    @app.post("/logout")
    def logout():
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            store.end_office_session(db(), token_hash(token), state().now())
        response = redirect(url_for("login"))
        response.delete_cookie(SESSION_COOKIE, path=request.script_root or "/")
        return response

    @app.get("/board")
    @login_required
    def board():
        from reminder.web.office import board_page

        return board_page()

    @app.route("/files", methods=["GET", "POST"])
    @login_required
    def files():
        problem, saved = "", None
        if request.method == "POST":
            problem, saved = _upload(request.files.get("file"))
        return page("files.html", 400 if problem else 200, files=stored_files.list_files(state().web.files_dir),
                    problem=problem, saved=saved, limit=state().web.max_upload_mb,
                    types="、".join(stored_files.ALLOWED_TYPES))

    @app.get("/files/<path:relative>")
    @login_required
    def download(relative: str):
        path = stored_files.resolve_download(state().web.files_dir, relative)
        if path is None:
            abort(404)
        return send_file(path, as_attachment=True, download_name=path.name, max_age=0)


def _log_in(name: str, password: str, next_path: str) -> BaseResponse:
    web_state, now, address = state(), state().now(), request.remote_addr or ""
    until = web_state.throttle.blocked_until(address, name, now)
    if until is not None:
        local = until.astimezone(web_state.config.zone)
        return page("login.html", 429, name=name, next=next_path,
                    problem=f"登录失败次数过多，请于 {local:%H:%M} 后再试。")
    stored = web_state.users.get(name)
    if not verify_password(password, stored or web_state.decoy) or stored is None:
        web_state.throttle.failed(address, name, now)
        return page("login.html", 401, name=name, next=next_path, problem="用户名或密码不正确。")
    web_state.throttle.succeeded(address, name)
    token = new_token()
    lifetime = timedelta(hours=web_state.web.session_hours)
    store.create_office_session(db(), token_hash(token), name, now, now + lifetime)
    response = redirect(request.script_root + next_path if _SAFE_NEXT.match(next_path) else url_for("board"))
    _set_cookie(response, SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()))
    return response


def _upload(upload) -> tuple[str, stored_files.StoredFile | None]:
    if upload is None or not upload.filename:
        return "请选择要上传的文件。", None
    try:
        return "", stored_files.save_upload(state().web.files_dir, upload.filename, upload.stream,
                                            state().web.max_upload_mb * 1024 * 1024)
    except stored_files.UploadRefused as refused:
        return str(refused), None


# ---------------------------------------------------------------------------------------------
# Packaging check (CI runs it from an installed wheel, outside the checkout).

TEMPLATES = ("base.html", "error.html", "link_error.html", "unit.html", "login.html", "board.html", "files.html",
             "queue.html", "history.html", "_actions.html",
             "import.html", "import_preview.html", "import_done.html", "task.html", "summary.html")
STATIC = ("app.css", "loop.css")


def _board_sample(task: TaskRecord) -> dict[str, Any]:
    from reminder.model import Assignment
    from reminder.store.plans import PlanSummary
    from reminder.web.board import BoardFilter, build_board

    plans = build_board([Assignment(id=1, task=task, unit="县财政局")], date(2021, 6, 1), 7)
    summary = PlanSummary(1, "计划", 2021, None, "plan.docx", "", clock.now(), clock.now(), 1, 1)
    return {"plans": plans, "chosen": BoardFilter(), "plan_choices": [summary], "unit_choices": ["县财政局"],
            "today": date(2021, 6, 1), "show_grid": True}


def packaged_files_check() -> None:
    """Raise unless every page template and static file shipped, and each page renders; print nothing.

    Templates left out of the package data would otherwise fail only when someone opens the page.
    """
    import tempfile

    root = Path(__file__).parent
    missing = [f"templates/{name}" for name in TEMPLATES if not (root / "templates" / name).is_file()]
    missing += [f"static/{name}" for name in STATIC if not (root / "static" / name).is_file()]
    if missing:
        raise FileNotFoundError(f"web files missing from {root}: {', '.join(missing)}; "
                                "check [tool.setuptools.package-data] in pyproject.toml")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Config(web=WebConfig(files_dir=Path(folder) / "files")), Path(folder) / "check.db",
                         secret=b"packaged-files-check" * 2)
        task = TaskRecord(id=1, ref=TaskRef(1, "1"), plan_title="计划", plan_year=2021, section=(), text="任务",
                          deadline=Deadline(text="年底前", kind=DeadlineKind.FIXED, due=date(2021, 12, 31)),
                          due=DueDate(date(2021, 12, 31), date(2021, 12, 31)))
        samples: dict[str, dict[str, Any]] = {
            "error.html": {"title": "t", "message": "m", "advice": "a", "back_url": "/queue", "back_label": "返回"},
            "link_error.html": {"title": "t", "message": "m", "unit": "县财政局"},
            "unit.html": {"unit": "县财政局", "zone": Config().zone, "expires": clock.now(), "token": "t",
                          "tasks": [_sample_unit_view(task)], "ok": "", "problem": "", "limit": 20,
                          "types": "pdf", "today": date(2021, 6, 1)},
            "history.html": {"unit": "", "actions": []},
            "login.html": {"name": "", "problem": "p", "next": ""},
            "board.html": _board_sample(task),
            "files.html": {"files": [], "problem": "", "saved": None, "limit": 20, "types": "pdf"},
        }
        with app.test_request_context("/", headers={"Cookie": f"{SESSION_COOKIE}=check"}):
            g.user = "check"
            for name, context in samples.items():
                if "</html>" not in render_template(name, **context):
                    raise RuntimeError(f"web template {name} rendered an incomplete page")
        with app.test_client() as client:
            if b"lamp" not in client.get("/static/loop.css").data:
                raise RuntimeError("static/loop.css is not served")
            if b"max-width" not in client.get("/static/app.css").data:
                raise RuntimeError("static/app.css is not served")


def _sample_unit_view(task: TaskRecord):
    """A unit page's row for the packaging check."""
    from reminder.model import Assignment, Light
    from reminder.web.loop import UnitTaskView

    return UnitTaskView(Assignment(id=1, task=task, unit="县财政局"), Light.GREEN, "正常", (), ())
