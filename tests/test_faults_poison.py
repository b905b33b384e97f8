"""One bad message must not stop the rest (issue 10, points 5-7), with real processes and servers.

* A message no channel can build (a header with a line break in it) fails for good, with the error
  recorded, and every later message still goes out; the digest is still built and sent, and lists it.
* A Retry-After of 9999999999999 seconds (or a date centuries ahead) parks the message for at most
  ``policy.max_retry_after_seconds`` (a day by default), instead of ending the tick with an OverflowError.
* What can never be sent is refused when the config loads: an address with characters outside ASCII
  unless ``smtp.smtputf8`` says the server takes them, a line break in a header value.
* A date outside 2000-2100 (``--now``, ``reminder event --date``, a plan year) is refused at the door.
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.model import NoticeRoute, OutboxMessage, Route
from tests.conftest import MAIL_DOMAIN as DOMAIN
from tests.conftest import write_config
from tests.servers import HttpServer, Reply, SmtpServer, generic_receiver

TZ = ZoneInfo("Asia/Shanghai")
NOW = "2021-10-08T10:00"
AT = datetime(2021, 10, 8, 10, tzinfo=TZ)


def plan_text(units, deadline: str = "2021年9月30日前") -> str:
    body = "".join(f"| {i} | 做好第{i}项政务公开工作。 | {unit} | {deadline} |\n" for i, unit in enumerate(units, 1))
    return f"某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n{body}"


def cli(config: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), *args], check=False, capture_output=True,
                          text=True, timeout=60)


def ok(config: Path, *args) -> subprocess.CompletedProcess:
    result = cli(config, *args)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


def refused(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert all(word in result.stderr for word in words), result.stderr


def rows(database: Path, sql: str = "SELECT * FROM messages ORDER BY id") -> list[dict]:
    with closing(sqlite3.connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


def subjects(smtp) -> list[str]:
    return [email.message_from_bytes(m["data"], policy=email.policy.default)["Subject"] for m in smtp.handler.messages]


# --- 5 and 6: a poison message and a Retry-After from the far future in one tick --------------------

@pytest.mark.parametrize(("retry_after", "cap"), [("9999999999999", None), ("Fri, 31 Dec 9999 23:59:59 GMT", 3600)])
def test_a_message_that_cannot_be_sent_fails_alone_and_the_rest_and_the_digest_go_out(tmp_path, retry_after, cap):
    with SmtpServer() as smtp, HttpServer() as http:
        http.routes["/limited"] = lambda request: Reply(429, {"error": "slow down"}, {"Retry-After": retry_after})
        http.routes["/ok"] = generic_receiver(None)
        units = {"县财政局": f'emails = ["czj@{DOMAIN}"]',
                 "县司法局": f'webhooks = [{{ kind = "generic", url = "{http.url("/limited")}" }}]',
                 "县审计局": f'emails = ["sjj@{DOMAIN}"]',
                 "县教育局": f'webhooks = [{{ kind = "generic", url = "{http.url("/ok")}" }}]'}
        tables = '\n[office]\nname = "县政务公开办"\nemails = ["office@county.example"]\n' + "".join(
            f'\n[[units]]\nname = "{name}"\n{body}\n' for name, body in units.items())
        config = write_config(tmp_path, tables, database=tmp_path / "r.db", fallback=False, smtp_port=smtp.port,
                              policy={"max_retry_after_seconds": cap} if cap else None)
        (tmp_path / "plan.txt").write_text(plan_text(units), encoding="utf-8")
        ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        # A message the SMTP channel cannot build (a line break in its subject: an older template, or a
        # row written by hand), queued before the tick's own, so it is the first one sent.
        db = store.open_db(tmp_path / "r.db")
        poison = OutboxMessage(key="poison", unit="县财政局", route=Route("unit:县财政局:email", "smtp", f"czj@{DOMAIN}"),
                               subject="提醒\r\nBcc: everyone@county.example", text="正文")
        store.enqueue(db, [store.NoticeBatch((), NoticeRoute.QUEUED, [poison])], [], AT - timedelta(minutes=1))
        db.close()

        tick = ok(config, "tick", "--now", NOW)
        status = {(r["unit"], r["key"] == "poison"): r for r in rows(tmp_path / "r.db")}
        assert status[("县财政局", True)]["status"] == "dead" and status[("县财政局", True)]["attempts"] == 1
        assert "unexpected error while sending: ValueError" in status[("县财政局", True)]["last_error"]
        for unit in ("县财政局", "县审计局", "县教育局"):  # the ones after it still went out
            assert status[(unit, False)]["status"] == "sent", unit
        limited = status[("县司法局", False)]
        assert limited["status"] == "pending"
        parked = datetime.fromisoformat(limited["next_attempt_at"]) - AT
        assert parked == timedelta(seconds=cap or 86400)  # capped: not parked for centuries
        assert "已发送 3 条提醒（" in tick.stdout and "，1 条稍后重试，1 条发送失败" in tick.stdout
        assert len(smtp.handler.messages) == 2 and not any("everyone@" in str(m["to"]) for m in smtp.handler.messages)

        ok(config, "tick", "--now", "2021-10-08T10:30")  # within the Retry-After: the 429 host is left alone
        assert len(http.received("/limited")) == 1

        digest = ok(config, "digest", "--now", "2021-10-08T16:00")
        assert "：已发送 1 条汇总（邮件 1 → 127.0.0.1）" in digest.stdout
        [office] = [m for m in smtp.handler.messages if m["to"] == ["office@county.example"]]
        text = email.message_from_bytes(office["data"], policy=email.policy.default).get_body(("plain",)).get_content()
        assert "发送失败的消息（1条）" in text and "unexpected error while sending: ValueError" in text


# --- 5: what can never be sent is refused by the config ----------------------------------------------

def test_an_address_outside_ascii_is_refused_without_smtputf8_and_delivered_with_it(tmp_path):
    with SmtpServer() as smtp:  # aiosmtpd offers SMTPUTF8
        tables = '\n[[units]]\nname = "县财政局"\nemails = ["财政局@county.example"]\n'
        config = write_config(tmp_path, tables, database=tmp_path / "r.db", fallback=False, smtp_port=smtp.port)
        (tmp_path / "plan.txt").write_text(plan_text(["县财政局"]), encoding="utf-8")
        refused(cli(config, "import", str(tmp_path / "plan.txt")), 1, "units[0].emails[0]", "smtp.smtputf8")
        config = write_config(tmp_path, tables, database=tmp_path / "r.db", fallback=False, smtp_port=smtp.port,
                              smtp="smtputf8 = true\n")
        ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        ok(config, "tick", "--now", NOW)
    assert [m["to"] for m in smtp.handler.messages] == [["财政局@county.example"]]
    assert [r["status"] for r in rows(tmp_path / "r.db")] == ["sent"]


@pytest.mark.parametrize(("table", "key"), [("smtp", "smtp.from_name"), ("office", "office.name")])
def test_a_line_break_in_a_header_value_is_refused_by_the_config(tmp_path, table, key):
    field = key.split(".")[1]
    smtp = f'{field} = "县政务公开办\\r\\nBcc: everyone@county.example"\n' if table == "smtp" else ""
    tables = "" if table == "smtp" else f'\n[office]\n{field} = "县政务公开办\\nBcc: x@county.example"\n'
    config = write_config(tmp_path, tables, database=tmp_path / "r.db", smtp_port=2525, smtp=smtp)
    refused(cli(config, "tasks"), 1, key, "line break")


# --- 7: dates outside any sense, refused at the door --------------------------------------------------

def test_dates_outside_2000_to_2100_are_refused_at_the_door_and_later_ticks_run(tmp_path):
    config = write_config(tmp_path, database=tmp_path / "r.db")
    (tmp_path / "plan.txt").write_text(plan_text(["县财政局"], deadline="印发后3个工作日内"), encoding="utf-8")
    ok(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")

    refused(cli(config, "event", "1-1", "--date", "9999-12-30"), 2, "--date", "2000-2100")
    refused(cli(config, "tick", "--now", "9999-12-31T10:00"), 2, "--now", "2000-2100")
    refused(cli(config, "tick", "--now", "0001-01-01T00:00"), 2, "--now")
    refused(cli(config, "import", str(tmp_path / "plan.txt"), "--plan-year", "99999"), 2, "--plan-year")
    refused(cli(config, "deadline", "年底前", "--plan-year", "9999"), 2, "--plan-year")
    refused(cli(config, "deadline", "印发后3个工作日内", "--plan-year", "2021", "--issued", "9999-12-30"), 2, "--issued")
    # (A year written in a document far from the plan's is no deadline to the parser: see test_deadline.)

    ok(config, "event", "1-1", "--date", "2021-07-01")
    tick = ok(config, "tick", "--now", NOW)
    assert "已发送 1 条提醒（" in tick.stdout
    assert [r["title"] for r in rows(tmp_path / "r.db", "SELECT title FROM plans")] == ["某县2021年政务公开任务分工"]
