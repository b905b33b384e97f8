"""Security (issue 4): secrets stay secret, user text stays inert, webhooks go only where the config
says, and the database is private. Everything runs through the command line or the daemon process,
against real servers on loopback (tests/servers.py)."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reminder.cli import cli
from tests.conftest import write_config as shared_config
from tests.servers import (
    HttpServer,
    Reply,
    SmtpServer,
    dingtalk_robot,
    generic_receiver,
)

# Distinctive values: if any of them shows up anywhere it was not meant to, a grep finds it.
SMTP_USER = "gwgk@county.example"
SECRETS = {
    "REMINDER_SMTP_PASSWORD": "smtp-pw-Zs7Kq1",
    "CZJ_DING_SECRET": "SECding-Zs7Kq2",       # the robot expects another one: signature rejected
    "MZJ_HOOK_SECRET": "hook-secret-Zs7Kq3",   # signs a webhook that answers 500
    "OFFICE_DING_SECRET": "SECoffice-Zs7Kq6",  # right: the office robot accepts the digest
}
DING_TOKEN = "tok-Zs7Kq4"    # in a robot URL written in the config file
OFFICE_TOKEN = "tok-Zs7Kq5"  # in a robot URL read from the environment
FORBIDDEN = [*SECRETS.values(), DING_TOKEN, OFFICE_TOKEN]

PLAN = ("某县2021年政务公开工作任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 做好财政预决算公开。 | 县财政局 | 2021年9月30日前 |\n"
        "| 2 | 做好社会救助信息公开。 | 县民政局 | 2021年9月30日前 |\n"
        "| 3 | 做好义务教育招生信息公开。 | 县教育局 | 2021年9月30日前 |\n")


def run(config: Path, *args: str, env: dict | None = None):
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def ok(config: Path, *args: str, env: dict | None = None):
    result = run(config, *args, env=env)
    assert result.exit_code == 0, result.output
    return result


def write_config(tmp_path: Path, body: str) -> Path:
    """The config (secrets only by variable name) and, beside it, the plan to import."""
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    return shared_config(tmp_path, body, database=tmp_path / "r.db", always_open=True)


def leaks(blob: bytes | str) -> list[str]:
    """The secrets (or tokens) found in ``blob``, in plain text or UTF-16 (as SQLite could store it)."""
    found = []
    for secret in FORBIDDEN:
        forms = [secret] if isinstance(blob, str) else [secret.encode(), secret.encode("utf-16-le")]
        if any(form in blob for form in forms):
            found.append(secret)
    return found


def database_bytes(db_path: Path) -> bytes:
    """The database file and its -wal / -shm companions: recent writes may sit in the WAL."""
    return b"".join(Path(f"{db_path}{suffix}").read_bytes() for suffix in ("", "-wal", "-shm")
                    if Path(f"{db_path}{suffix}").exists())


@pytest.fixture
def world(tmp_path):
    """A config whose secrets all come from the environment, with robots and a mail server that
    fail in the ways that put error texts into the outbox, the digest and the logs."""
    with SmtpServer(users={SMTP_USER: SECRETS["REMINDER_SMTP_PASSWORD"]}) as smtp, HttpServer() as http:
        http.routes["/robot/send"] = dingtalk_robot("SEC-the-robot-has-another-secret")
        http.routes["/hook"] = lambda request: Reply(500, {"error": "down"})
        http.routes["/office/robot"] = dingtalk_robot(SECRETS["OFFICE_DING_SECRET"])
        config = write_config(tmp_path, f"""
[policy]
max_attempts = 2
retry_base_seconds = 60

[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
username = "{SMTP_USER}"
password_env = "REMINDER_SMTP_PASSWORD"
from_addr = "{SMTP_USER}"

[office]
name = "县政务公开办"
emails = ["office@county.example"]
webhooks = [{{ kind = "dingtalk", url_env = "OFFICE_DING_URL", secret_env = "OFFICE_DING_SECRET" }}]

[[units]]
name = "县财政局"
emails = ["czj@county.example"]
webhooks = [{{ kind = "dingtalk", url = "{http.url('/robot/send')}?access_token={DING_TOKEN}", \
secret_env = "CZJ_DING_SECRET" }}]

[[units]]
name = "县民政局"
webhooks = [{{ kind = "generic", url = "{http.url('/hook')}?token={DING_TOKEN}", secret_env = "MZJ_HOOK_SECRET" }}]
""")
        env = {**SECRETS, "OFFICE_DING_URL": f"{http.url('/office/robot')}?access_token={OFFICE_TOKEN}"}
        yield {"config": config, "env": env, "smtp": smtp, "http": http, "tmp": tmp_path}


# ---------------------------------------------------------------------------------------------------
# Secrets only from the environment; never in logs, notices, --json output or error messages


def test_secrets_never_reach_output_logs_the_database_or_messages(world, caplog):
    caplog.set_level(logging.DEBUG)  # everything any library logs, urllib3's request lines included
    config, env, tmp = world["config"], world["env"], world["tmp"]
    outputs = []

    def cli_(*args):
        result = run(config, *args, env=env)
        outputs.append(result.output)  # stdout and stderr
        return result

    imported = cli_("import", str(tmp / "plan.txt"), "--now", "2021-06-01T08:00", "--json")
    assert imported.exit_code == 0, imported.output
    assert cli_("tick", "--now", "2021-10-08T10:00", "--dry-run", "--json").exit_code == 0
    first = json.loads(cli_("tick", "--now", "2021-10-08T10:00", "--json").stdout)
    json.loads(cli_("tick", "--now", "2021-10-08T10:05", "--json").stdout)  # the 500 webhook's last attempt
    digest = json.loads(cli_("digest", "--now", "2021-10-08T16:00", "--json").stdout)
    messages = json.loads(cli_("notices", "--json").stdout)
    assert json.loads(cli_("tasks", "--json").stdout)
    cli_("status", "--json")
    dead = [m for m in messages if m["status"] == "dead"]
    for message in dead:
        cli_("retry", str(message["id"]))  # fails again, printing the error
    cli_("notices")

    # The scenario really exercised every path: mail with a login, a rejected signature, a 500,
    # a file for the unit without contacts, the digest to the office's robot.
    assert first["delivered"]["sent"] >= 2 and first["delivered"]["dead"] >= 1
    assert {m["unit"] for m in dead} == {"县财政局", "县民政局"}
    assert any("310000" in m["last_error"] for m in dead) and any("HTTP 500" in m["last_error"] for m in dead)
    assert any(m["to"] == ["czj@county.example"] for m in world["smtp"].handler.messages)
    assert world["http"].received("/office/robot") and digest["delivered"]["sent"] >= 1
    assert len(world["http"].received("/hook")) == 2 + len([m for m in dead if m["unit"] == "县民政局"])
    emls = list((tmp / "outbox").glob("*.eml"))
    assert emls

    assert not leaks("\n".join(outputs)), "a secret in the command output"
    records = [r for r in caplog.records if not r.name.startswith("mail.log")]  # aiosmtpd is the test's server
    assert records, "nothing was logged: the check below would prove nothing"
    assert not leaks("\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)), \
        "a secret in the logs"
    assert not leaks(database_bytes(tmp / "r.db")), "a secret in the database"
    for eml in emls:
        assert not leaks(eml.read_bytes()), eml
    for mail in world["smtp"].handler.messages:
        assert not leaks(mail["data"]), "a secret in a mail"
    for request in world["http"].requests:
        assert not leaks(request.body), "a secret in a webhook body"


def test_the_daemon_log_at_debug_level_shows_no_secret(world):
    """`reminder run -v` logs at DEBUG: the level where HTTP libraries print request URLs."""
    config, env, tmp = world["config"], world["env"], world["tmp"]
    ok(config, "import", str(tmp / "plan.txt"), "--now", "2021-06-01T08:00", env=env)
    daemon = subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), "run", "-v",
                               "--tick-seconds", "1"], env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (world["http"].received("/robot/send")
                                                   and world["http"].received("/hook")):
            time.sleep(0.1)
        time.sleep(0.5)
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=20)
    finally:
        daemon.kill()
    assert world["http"].received("/robot/send") and world["http"].received("/hook"), output
    assert "DEBUG" in output and "127.0.0.1" in output  # it did log its HTTP traffic
    assert not leaks(output), [line for line in output.splitlines() if leaks(line)][:3]


# ---------------------------------------------------------------------------------------------------
# User text reaches email and robots harmlessly

HOSTILE = "<script>alert(1)</script>[link](http://evil.example) **粗体** `code`\n# heading"


def test_hostile_task_text_is_escaped_in_email_html_and_inert_in_robot_markdown(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["某县2021年政务公开工作任务分工"])
    sheet.append(["序号", "具体任务", "责任单位", "完成时限"])
    sheet.append([1, HOSTILE, "县财政局、县教育局", "2021年9月30日前<img src=x onerror=alert(2)>"])
    workbook.save(tmp_path / "plan.xlsx")
    with SmtpServer() as smtp, HttpServer() as http:
        http.routes["/robot/send"] = dingtalk_robot(SECRETS["CZJ_DING_SECRET"])
        config = write_config(tmp_path, f"""
[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from_addr = "{SMTP_USER}"

[[units]]
name = "县财政局"
emails = ["czj@county.example"]
webhooks = [{{ kind = "dingtalk", url = "{http.url('/robot/send')}?access_token={DING_TOKEN}", \
secret_env = "CZJ_DING_SECRET" }}]
""")
        env = dict(SECRETS)
        ok(config, "import", str(tmp_path / "plan.xlsx"), "--now", "2021-06-01T08:00", env=env)
        stored = json.loads(run(config, "tasks", "--json", env=env).stdout)[0]["text"]
        assert "<script>alert(1)</script>" in stored and "\n# heading" in stored  # kept as written
        ok(config, "tick", "--now", "2021-10-08T10:00", env=env)
        [robot] = http.received("/robot/send")
        mails = [email.message_from_bytes(m["data"], policy=email.policy.default) for m in smtp.handler.messages]
    # the robot got markdown in which the task text is plain text
    assert robot.query.get("sign")  # the robot accepted it: signed, and answered errcode 0
    markdown = robot.json()["markdown"]["text"]
    assert "＜script＞alert(1)＜/script＞" in markdown and "<script" not in markdown and "<img" not in markdown
    assert "［link］(http://evil.example)" in markdown and "](http" not in markdown
    assert "＊＊粗体＊＊" in markdown and "**粗体**" not in markdown
    assert "｀code｀" in markdown and "`" not in markdown
    assert "＃ heading" in markdown and not any(line.lstrip().startswith("#") and "heading" in line
                                               for line in markdown.splitlines())
    # email: escaped in HTML (mail to the unit, and the .eml of the unit without contacts)
    emls = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in (tmp_path / "outbox").glob("*.eml")]
    assert len(mails) == 1 and len(emls) == 1
    for message in mails + emls:
        html = message.get_body(("html",)).get_content()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
        assert "&lt;img src=x onerror=alert(2)&gt;" in html and "<img" not in html
        assert "<a " not in html and "[link](http://evil.example)" in html  # a link only as text
        assert "<script>alert(1)</script>" in message.get_body(("plain",)).get_content()  # plain text as typed


# ---------------------------------------------------------------------------------------------------
# Webhook URLs come only from the config; redirects are not followed


def _messages(db_path: Path) -> list[dict]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM messages ORDER BY id")]
    conn.close()
    return rows


def test_the_outbox_stores_no_webhook_url_and_a_webhook_removed_from_the_config_fails_permanently(tmp_path):
    with HttpServer() as http:
        calls = []
        http.routes["/robot/a"] = lambda request: calls.append(request) or Reply(503, {"errcode": -1})
        http.routes["/robot/b"] = generic_receiver(None)
        unit_a = f"""
[[units]]
name = "县财政局"
webhooks = [{{ kind = "generic", url = "{http.url('/robot/a')}?access_token={DING_TOKEN}" }}]
"""
        unit_b = f"""
[[units]]
name = "县民政局"
webhooks = [{{ kind = "generic", url = "{http.url('/robot/b')}?access_token={OFFICE_TOKEN}" }}]
"""
        config = write_config(tmp_path, unit_a + unit_b)
        ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        ok(config, "tick", "--now", "2021-10-08T10:00")
        [pending] = [m for m in _messages(tmp_path / "r.db") if m["unit"] == "县财政局"]
        assert pending["status"] == "pending" and len(calls) == 1  # a 503: to be retried
        assert pending["destination"] == f"http://127.0.0.1:{http.port}/***"  # redacted
        assert pending["route"] == "unit:县财政局:webhook:0"  # the contact it goes to, found again in the config
        for row in _messages(tmp_path / "r.db"):
            assert not leaks(json.dumps(row, ensure_ascii=False, default=str)) and "/robot/" not in row["destination"]
        b_before = len(http.received("/robot/b"))
        # the operator removes 县财政局's robot; its pending message must not go anywhere else
        config = write_config(tmp_path, unit_a.split("webhooks")[0] + unit_b)
        result = run(config, "tick", "--now", "2021-10-08T12:00")
        assert result.exit_code == 0, result.output
        [failed] = [m for m in _messages(tmp_path / "r.db") if m["unit"] == "县财政局" and m["channel"] == "generic"]
        assert failed["status"] == "dead" and "no longer in the config" in failed["last_error"]
        assert len(calls) == 1 and len(http.received("/robot/b")) == b_before


def test_a_destination_edited_in_the_database_is_not_followed(tmp_path):
    """The URL is looked up in the config at send time, by the route id: a row whose destination was
    edited to point elsewhere still goes to the configured robot only."""
    with HttpServer() as http, HttpServer(host="127.0.0.2") as elsewhere:
        http.routes["/robot/a"] = generic_receiver(None)
        elsewhere.routes["/steal"] = generic_receiver(None)
        config = write_config(tmp_path, f"""
[[units]]
name = "县财政局"
webhooks = [{{ kind = "generic", url = "{http.url('/robot/a')}" }}]
""")
        ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        ok(config, "tick", "--now", "2021-10-08T10:00", "--dry-run")
        run(config, "tick", "--now", "2021-10-08T10:00")  # queues and sends
        with sqlite3.connect(tmp_path / "r.db") as conn:  # a later message, redirected by hand
            conn.execute("UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = ?, "
                         "destination = ? WHERE channel = 'generic'",
                         ("2021-10-08T00:00:00.000000+00:00", elsewhere.url("/steal")))
        conn.close()
        sent_before = len(http.received("/robot/a"))
        run(config, "tick", "--now", "2021-10-08T10:30")
        assert elsewhere.requests == []
        [row] = [m for m in _messages(tmp_path / "r.db") if m["channel"] == "generic"]
        assert row["status"] == "sent" and len(http.received("/robot/a")) == sent_before + 1


@pytest.mark.parametrize("kind", ["generic", "dingtalk"])
def test_a_redirect_to_another_host_is_not_followed(tmp_path, kind):
    with HttpServer() as http, HttpServer(host="127.0.0.2") as elsewhere:
        elsewhere.routes["/steal"] = generic_receiver(None)
        http.routes["/robot/send"] = lambda request: Reply(302, {}, {"Location": elsewhere.url("/steal")})
        secret = ', secret_env = "CZJ_DING_SECRET"' if kind == "dingtalk" else ""
        config = write_config(tmp_path, f"""
[[units]]
name = "县财政局"
webhooks = [{{ kind = "{kind}", url = "{http.url('/robot/send')}?access_token={DING_TOKEN}"{secret} }}]
""")
        env = dict(SECRETS)
        ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00", env=env)
        ok(config, "tick", "--now", "2021-10-08T10:00", env=env)
        assert len(http.received("/robot/send")) == 1 and elsewhere.requests == []
    [row] = [m for m in _messages(tmp_path / "r.db") if m["channel"] == kind]
    assert row["status"] == "dead"  # permanent: a redirect is a wrong URL, not a hiccup
    assert "redirects" in row["last_error"] and "127.0.0.2" in row["last_error"] and not leaks(row["last_error"])


# ---------------------------------------------------------------------------------------------------
# The database is readable by its owner only


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_database_and_its_wal_files_are_created_owner_only(tmp_path, umask):
    config = write_config(tmp_path, "")
    fresh = tmp_path / "new" / "d.db"  # the daemon's own first start creates this one, in a new folder
    (tmp_path / "daemon.toml").write_text(f'database = "{fresh}"\n', encoding="utf-8")
    old = os.umask(umask)
    try:
        ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        daemon = subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(tmp_path / "daemon.toml"),
                                   "run", "--tick-seconds", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    finally:
        os.umask(old)
    try:
        # -wal and -shm live while a connection is open (the last one to close removes them), so
        # look while the daemon runs: it writes its lease at every tick.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not Path(f"{fresh}-shm").exists():
            time.sleep(0.05)
        files = [*tmp_path.glob("r.db*"), *fresh.parent.iterdir()]
        modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=20)
    assert {"r.db", "d.db", "d.db-wal", "d.db-shm"} <= set(modes)
    assert modes == dict.fromkeys(modes, "0o600")
