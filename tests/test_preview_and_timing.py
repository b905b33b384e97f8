"""Issue 9, preview and timing: `tick --now X --dry-run` and `digest --now X --dry-run` show what would go
out on any date X, before the import too, and change nothing; notices and the digest go out only on
working days from send_hour (before send_until_hour), so a catch-up after downtime waits for the next
such moment instead of going out at night or on a Saturday."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import load_config
from reminder.digest import run_digest
from reminder.tick import run_tick
from tests.conftest import invoke, seed_path, write_config
from tests.servers import HttpServer, SmtpServer, generic_receiver

TZ = ZoneInfo("Asia/Shanghai")
TABLES = """
[office]
name = "榕江县政务公开办"
emails = ["office@rongjiang.example"]

[[units]]
name = "县政府办公室"
emails = ["zfb@rongjiang.example"]

[[units]]
name = "县财政局"
emails = ["czj@rongjiang.example"]

[[units]]
name = "县卫生健康局"
webhooks = [{ kind = "generic", url_env = "ROBOT_URL" }]

[[units]]
name = "县直各部门"
members = ["县财政局", "县卫生健康局"]
"""


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def fingerprint(path) -> tuple[str, dict[str, int]]:
    """The database file's hash and every table's row count."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with store.open_db(path) as db:
        counts = {name: db.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0] for name in db.table_names()}
    return digest, counts


@pytest.fixture
def imported(tmp_path):
    """Seed 002 imported on 2021-07-12 (after several of its reminders had fired) by the command line,
    with a real SMTP server and a robot."""
    with SmtpServer() as smtp, HttpServer() as http:
        http.routes["/robot"] = generic_receiver(None)
        env = {"ROBOT_URL": http.url("/robot")}
        config = write_config(tmp_path, TABLES, top="send_hour = 9\nsend_until_hour = 18", smtp_port=smtp.port)
        result = invoke(config, "import", str(seed_path("002")), "--now", "2021-07-12T08:00", env=env)
        assert result.exit_code == 0, result.output
        yield config, env, smtp, http


def test_a_preview_of_a_date_before_the_import_shows_what_would_go_out_and_changes_nothing(imported, tmp_path):
    config, env, smtp, http = imported
    database = tmp_path / "reminder.db"
    before = fingerprint(database)
    # 2021-05-31: the 30-day reminders of the tasks due 06-30 fire that day (a Monday), weeks before the import
    result = invoke(config, "tick", "--now", "2021-05-31", "--dry-run", "--json", env=env)
    assert result.exit_code == 0, result.output
    preview = json.loads(result.output)
    subjects = {p["unit"]: p["subject"] for p in preview["preview"]}
    assert subjects["县政府办公室"] == "【任务提醒】县政府办公室有1项政务公开任务即将到期"  # task 29, due 06-30
    assert {"县财政局", "县卫生健康局"} <= set(subjects)  # task 32 via the group 县直各部门
    assert all("补发" not in p["text"] for p in preview["preview"])
    assert "距到期还有30天" in next(p["text"] for p in preview["preview"] if p["unit"] == "县政府办公室")
    digest = invoke(config, "digest", "--now", "2021-07-01", "--dry-run", env=env)
    assert digest.exit_code == 0, digest.output
    assert "已逾期1天" in digest.output and "县政府办公室" in digest.output  # task 29 was due 06-30
    # a preview on a Saturday: nothing goes out then, and it says when the next sending moment is
    saturday = json.loads(invoke(config, "tick", "--now", "2021-06-05", "--dry-run", "--json", env=env).output)
    assert saturday["preview"] == [] and saturday["waiting_until"] == "2021-06-07T09:00:00+08:00"
    assert fingerprint(database) == before
    assert smtp.handler.messages == [] and http.requests == []
    # after the previews, the real first tick still sends everything once: the previews left no trace
    real = json.loads(invoke(config, "tick", "--now", "2021-07-12T10:00", "--json", env=env).output)
    assert real["messages"] > 0 and real["delivered"]["sent"] == real["messages"]


def test_a_preview_shows_groups_the_config_just_gained_without_writing_them(imported, tmp_path):
    config, env, _, _ = imported
    database = tmp_path / "reminder.db"
    text = config.read_text(encoding="utf-8").replace('members = ["县财政局", "县卫生健康局"]',
                                                      'members = ["县财政局", "县卫生健康局", "县审计局"]')
    config.write_text(text + '\n[[units]]\nname = "县审计局"\nemails = ["sjj@rongjiang.example"]\n', encoding="utf-8")
    before = fingerprint(database)
    preview = json.loads(invoke(config, "tick", "--now", "2021-07-12", "--dry-run", "--json", env=env).output)
    assert "县审计局" in {p["unit"] for p in preview["preview"]}
    assert fingerprint(database) == before


def test_a_catch_up_on_a_saturday_waits_for_monday_morning(imported, tmp_path):
    """Stepped daily, then down on Friday 2021-12-24, the day the 7-day reminders of the tasks due 12-31
    fire. The service restarts on the Saturday morning, that night, on the Sunday and on Monday at 07:00, and
    sends nothing; on Monday at 09:00 it catches up, once, marked 补发; after 18:00 nothing is sent."""
    config, env, smtp, http = imported
    loaded = load_config(config, env=env)
    db = store.open_db(loaded.database)
    day = date(2021, 7, 12)
    while day <= date(2021, 12, 23):
        run_tick(db, loaded, at(day))
        day = day.fromordinal(day.toordinal() + 1)
    sent = len(smtp.handler.messages), len(http.requests)
    for moment in (at(date(2021, 12, 25), 10), at(date(2021, 12, 25), 23), at(date(2021, 12, 26), 14),
                   at(date(2021, 12, 27), 7)):
        report = run_tick(db, loaded, moment)
        assert report.waiting_until == datetime(2021, 12, 27, 9, tzinfo=TZ), moment
        assert report.checked == 0 and not report.delivered
    assert (len(smtp.handler.messages), len(http.requests)) == sent
    report = run_tick(db, loaded, at(date(2021, 12, 27), 9))
    assert report.waiting_until is None and report.delivered.sent > 0
    caught_up = smtp.handler.messages[sent[0]:]
    assert caught_up and len(http.requests) > sent[1]
    texts = [m["data"].decode("ascii", "replace") for m in caught_up]
    assert texts and len({tuple(m["to"]) for m in caught_up}) == len(caught_up)  # once per address
    late = db.execute("SELECT count(*) FROM notices WHERE late = 1 AND fire_at LIKE '2021-12-24%'").fetchone()[0]
    assert late > 0  # the Friday's reminders, sent on Monday, say 补发
    after_monday = len(smtp.handler.messages)
    evening = run_tick(db, loaded, at(date(2021, 12, 28), 18))  # send_until_hour = 18: the window has closed
    assert evening.waiting_until == datetime(2021, 12, 29, 9, tzinfo=TZ)
    assert len(smtp.handler.messages) == after_monday
    # the digest keeps the same hours: on the Saturday nothing is queued, and it says when it could go
    summary = run_digest(db, loaded, at(date(2021, 12, 25), 16))
    assert summary.queued == 0 and summary.waiting_until == datetime(2021, 12, 27, 9, tzinfo=TZ)
    assert not db.execute("SELECT count(*) FROM messages WHERE key LIKE 'digest:%'").fetchone()[0]
    assert run_digest(db, loaded, at(date(2021, 12, 27), 16)).queued == 1
    db.close()


def test_the_sending_window_is_validated(tmp_path):
    config = write_config(tmp_path, top="send_hour = 9\nsend_until_hour = 8")
    result = invoke(config, "tasks")
    assert result.exit_code == 1 and "send_until_hour" in result.output
    config = write_config(tmp_path, top="send_hour = 9\nsend_until_hour = 15")  # digest_hour 16 is outside
    result = invoke(config, "status")
    assert result.exit_code == 1 and "digest_hour" in result.output
    assert load_config(write_config(tmp_path, top="send_hour = 9\nsend_until_hour = 17")).policy.send_until_hour == 17
