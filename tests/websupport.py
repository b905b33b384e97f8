"""The web app served for real (waitress on a free loopback port) over a real SQLite file, with a
clock the tests step, and a headless Chromium shared by the whole session.

Imported by the web test modules (their fixtures are defined here and imported there), so the app,
its config file and its database are built once per module.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import load_config
from reminder.ingest import read_plan
from reminder.web.app import STATE, WebState, create_app
from reminder.web.links import link_url
from reminder.web.passwords import hash_password
from reminder.web.server import WebServer

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2021, 6, 1, 9, 0, tzinfo=ZONE)
KEY = "k" * 40 + "-web-Zw1"                 # the signing key, from the environment as in production
ENV = {"REMINDER_WEB_KEY": KEY}
USER, PASSWORD = "gwgk", "right-horse-battery-Zw2"
OTHER_USER, OTHER_PASSWORD = "wang", "another-long-password-Zw3"
LOGIN_ATTEMPTS = 3
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DOCS = Path(__file__).resolve().parents[1] / "docs"      # the README shows the screenshots saved here

# 县财政局 has tasks 1 and 3 (3 shared with 县审计局); 县民政局 has task 2 only. Task 1's text is
# hostile: it must show as text, never as markup.
PLAN = ("某县2021年政务公开工作任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 做好财政预决算公开<b>加粗</b><script>document.title='pwned'</script>。 | 县财政局 | 2021年10月30日前 |\n"
        "| 2 | 做好社会救助信息公开，公开低保名单。 | 县民政局 | 2021年9月30日前 |\n"
        "| 3 | 审计结果公开，整改情况向社会公布。 | 县审计局、县财政局 | 持续推进 |\n"
        "| 4 | 公布政府信息公开工作年度报告。 | 县政务服务数据管理局 | 2021年12月31日前 |\n")


class SteppingClock:
    """The app's clock: starts at START; tests move it and the fixture puts it back."""

    def __init__(self, start: datetime = START):
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Site:
    """A served app: where it is, its clock, config file, database and state."""

    url: str
    clock: SteppingClock
    config_path: Path
    db_path: Path
    folder: Path
    state: WebState

    def link(self, unit: str) -> str:
        """A fresh link of ``unit`` made now by the app's own key (as a notice will carry it)."""
        db = store.open_db(self.db_path)
        try:
            token, _ = self.state.issue_link(unit, store.unit_link_generation(db, unit))
        finally:
            db.close()
        return link_url(self.url, token)


def config_text(folder: Path, users: list[tuple[str, str]], extra: str = "") -> str:
    rows = ",\n".join(f'  {{ name = "{name}", password_hash = "{hashed}" }}' for name, hashed in users)
    return (f'database = "{folder / "r.db"}"\nfallback_channel = "file"\n[file]\ndir = "{folder / "outbox"}"\n'
            f'[office]\nname = "某县政务公开办"\nemails = ["gwgk@county.example"]\n'
            f'[web]\nport = 8080\nbase_url = "http://127.0.0.1:8080"\nlink_days = 30\n'
            f'secret_key_env = "REMINDER_WEB_KEY"\nlogin_attempts = {LOGIN_ATTEMPTS}\n'
            f'login_window_minutes = 15\nmax_upload_mb = 1\nfiles_dir = "{folder / "files"}"\n{extra}'
            f'users = [\n{rows}\n]\n')


_HASHES: dict[str, str] = {}


def hashed(password: str) -> str:
    """One scrypt hash per password per session (each costs about 0.4 s)."""
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


def serve_site(folder: Path, extra_config: str = "", base_path: str = "") -> tuple[Site, WebServer]:
    """Write the config, import PLAN, start the app on a free port with a stepping clock."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.txt").write_text(PLAN, encoding="utf-8")
    config_path = folder / "config.toml"
    config_path.write_text(config_text(folder, [(USER, hashed(PASSWORD)), (OTHER_USER, hashed(OTHER_PASSWORD))],
                                       extra_config), encoding="utf-8")
    config = load_config(config_path, ENV)
    db = store.open_db(config.database)
    store.import_plans(db, [read_plan(folder / "plan.txt")], START, due_dates=config.due_dates())
    db.close()
    clock = SteppingClock()
    app = create_app(config, config.database, now=clock.now)
    web = config.web
    if base_path:
        from dataclasses import replace

        web = replace(web, base_url=f"http://127.0.0.1:8080{base_path}")
    server = WebServer(app, web, port=0).start()
    site = Site(url=f"{server.local_url}{base_path}", clock=clock, config_path=config_path,
                db_path=config.database, folder=folder, state=app.extensions[STATE])
    return site, server


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    served, server = serve_site(tmp_path_factory.mktemp("web"))
    yield served
    server.stop()


@pytest.fixture(autouse=True)
def _clock_back(request):
    """Every test starts at START, whatever the one before did to the clock."""
    if "site" in request.fixturenames:
        site = request.getfixturevalue("site")
        if isinstance(site, Site):  # another module may define a `site` fixture of its own
            site.clock.moment = START
    yield


# --- the browser ------------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    """Debian's chromium (what .ci/run installs), or another local Chromium; $REMINDER_CHROMIUM wins."""
    named = os.environ.get("REMINDER_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _no_browser(reason: str):
    """Skip, unless CI said a browser must be there (then a missing one is a failure, not a skip)."""
    if os.environ.get("REMINDER_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (pip install playwright; never `playwright install`)")
    executable = find_chromium()
    if executable is None:
        _no_browser("no Chromium found (apt-get install chromium, or set REMINDER_CHROMIUM)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and page, phone-sized by default."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  locale="zh-CN", is_mobile=True, has_touch=True)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page, name: str, for_readme: bool = False) -> Path:
    """Save a full-page screenshot to tests/screenshots/ (and to docs/, committed, when the README shows it)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if for_readme:
        DOCS.mkdir(exist_ok=True)
        (DOCS / f"{name}.png").write_bytes(path.read_bytes())
    return path
