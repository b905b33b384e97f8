"""Faults survived, in process: the clock is passed to ``run_tick``, the servers are real.

A mail server that is down and comes back (or never does), webhooks that hang, crawl, rate-limit, fail
or answer 200 with an error code, a clock that jumps backwards, a database another process keeps
locked. Each test says which guarantee it holds up; the process-level faults (kill -9, a read-only or
full disk) are in ``test_faults_daemon.py``.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import load_config
from reminder.digest import build_context
from reminder.errors import StoreError
from reminder.ingest import read_plan
from reminder.tick import run_tick
from tests.conftest import write_config
from tests.servers import (
    HttpServer,
    Reply,
    SilentServer,
    SmtpServer,
    dingtalk_robot,
    free_port,
    generic_receiver,
)

TZ = ZoneInfo("Asia/Shanghai")
# Tasks due 2021-09-30; on this day (a working day after the National Day holiday) each unit's due
# notice is late and goes out at once.
AFTER_DUE = datetime(2021, 10, 8, 10, tzinfo=TZ)
IMPORTED = datetime(2021, 6, 1, 8, tzinfo=TZ)
DOMAIN = "rongjiang.example"


def plan_text(units) -> str:
    rows = "".join(f"| {i} | 做好第{i}项政务公开工作。 | {unit} | 2021年9月30日前 |\n" for i, unit in enumerate(units, 1))
    return f"某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n{rows}"


def setup(tmp_path, units: dict[str, str], smtp_port: int | None = None, max_attempts: int = 6, env=None):
    """Config with ``units`` ({name: the body of its [[units]] table}), one task per unit, imported."""
    tables = "".join(f'\n[[units]]\nname = "{name}"\n{body}\n' for name, body in units.items())
    path = write_config(tmp_path, tables, top="send_hour = 9", fallback=False, smtp_port=smtp_port,
                        smtp="timeout = 5\n", policy={"max_attempts": max_attempts, "retry_base_seconds": 60})
    config = load_config(path, env=env or {})
    (tmp_path / "plan.txt").write_text(plan_text(units), encoding="utf-8")
    db = store.open_db(config.database)
    store.import_plans(db, [read_plan(tmp_path / "plan.txt")], IMPORTED)
    return config, db


def email_unit(address: str) -> str:
    return f'emails = ["{address}"]'


def hook_unit(kind: str, url: str, timeout: float | None = None) -> str:
    return f'webhooks = [{{ kind = "{kind}", url = "{url}"' + (f", timeout = {timeout}" if timeout else "") + " }]"


def messages(db, **where) -> list[dict]:
    sql = "SELECT * FROM messages" + ("".join(f" AND {k} = :{k}" for k in where).replace(" AND", " WHERE", 1))
    return [dict(r) for r in db.query(sql + " ORDER BY id", where)]


def attempts(db, message_id: int) -> list[dict]:
    return [dict(r) for r in db.query("SELECT * FROM deliveries WHERE message_id = ? ORDER BY attempt", [message_id])]


def received_ids(smtp) -> list[str]:
    """Message-IDs in the order the server accepted them."""
    return [email.message_from_bytes(m["data"], policy=email.policy.default)["Message-ID"]
            for m in smtp.handler.messages]


def message_id_of(row: dict) -> str:
    from reminder.channels.smtp import message_id

    return message_id(row["key"], DOMAIN)


def at_(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the mail server down, then up; down for good -------------------------------------------------

def test_mail_server_down_for_three_attempts_then_up_delivers_all_in_order_with_growing_backoff(tmp_path):
    """While the server is down, each pass tries the first message only (one connection attempt, not one
    per unit) and defers the others, untried, to the same next attempt; when it is back, all go out in
    order."""
    units = {"县财政局": email_unit(f"czj@{DOMAIN}"), "县审计局": email_unit(f"sjj@{DOMAIN}"),
             "县教育局": email_unit(f"jyj@{DOMAIN}")}
    smtp = SmtpServer()  # its port is chosen but nothing listens until it is started: connection refused
    config, db = setup(tmp_path, units, smtp_port=smtp.port)
    ticks = [AFTER_DUE + timedelta(seconds=30 * i) for i in range(60)]  # every 30 s for half an hour
    up = False
    with ExitStack() as stack:
        for now in ticks:
            rows = messages(db)
            if not up and rows and rows[0]["attempts"] >= 3:
                stack.enter_context(smtp)  # the server comes back once the first message failed three times
                up = True
            run_tick(db, config, now)
    rows = messages(db)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"sent"}
    assert received_ids(smtp) == [message_id_of(r) for r in rows]  # each once, in outbox order
    first, *rest = rows
    tries = attempts(db, first["id"])
    assert [t["ok"] for t in tries] == [0, 0, 0, 1]
    assert "cannot connect" in tries[0]["error"]
    gaps = [(at_(b["at"]) - at_(a["at"])).total_seconds() for a, b in zip(tries, tries[1:])]
    # Exponential backoff from retry_base_seconds (60, 120, 240), observed at the 30 s tick grid:
    # 60 ticks made four attempts, not sixty (no hot loop).
    assert gaps == sorted(gaps) and gaps[0] >= 60 and gaps[1] >= 120 and gaps[2] >= 240, gaps
    for row in rest:  # never tried while the server was down; sent in the same pass as the first
        assert [t["ok"] for t in attempts(db, row["id"])] == [1]
        assert attempts(db, row["id"])[0]["at"] == tries[-1]["at"]


def test_mail_server_down_for_good_ends_dead_after_max_attempts_and_the_digest_reports_it(tmp_path):
    """Each message in turn spends its attempts against the dead server (the others wait untried), and
    each ends dead after max_attempts, listed in the digest."""
    units = {"县财政局": email_unit(f"czj@{DOMAIN}"), "县审计局": email_unit(f"sjj@{DOMAIN}")}
    config, db = setup(tmp_path, units, smtp_port=free_port(), max_attempts=3)
    for minutes in range(0, 24 * 60, 10):  # a day of ticks every ten minutes
        run_tick(db, config, AFTER_DUE + timedelta(minutes=minutes))
    rows = messages(db)
    assert [(r["status"], r["attempts"]) for r in rows] == [("dead", 3), ("dead", 3)]
    assert all(len(attempts(db, r["id"])) == 3 for r in rows)  # nothing after dead
    failed = build_context(db, config, AFTER_DUE + timedelta(days=1))["failed"]
    assert {(f["unit"], f["attempts"]) for f in failed} == {("县财政局", 3), ("县审计局", 3)}
    assert all("cannot connect" in f["last_error"] for f in failed)


# --- webhooks that hang, crawl, rate-limit, fail ---------------------------------------------------

@pytest.mark.slow
def test_misbehaving_webhooks_cost_bounded_time_and_do_not_hold_up_other_units(tmp_path):
    """The hung and the too-slow hook are on hosts of their own: a host that does not answer in time
    defers its other messages, here there are none."""
    with SmtpServer() as smtp, HttpServer() as http, HttpServer() as slow_host, SilentServer() as silent:
        http.routes["/ok"] = generic_receiver(None)
        http.routes["/slow"] = lambda request: Reply(200, {"ok": True}, delay=0.5)  # within its timeout
        slow_host.routes["/slower"] = lambda request: Reply(200, {"ok": True}, delay=1.5)  # past its timeout
        http.routes["/limited"] = lambda request: Reply(429, {"error": "slow down"}, {"Retry-After": "3600"})
        http.routes["/broken"] = lambda request: Reply(503, {"error": "down"})
        http.routes["/busy-robot"] = lambda request: Reply(200, {"errcode": 130101, "errmsg": "send too fast"})
        http.routes["/bad-token"] = lambda request: Reply(200, {"errcode": 300001, "errmsg": "token is not exist"})
        http.routes["/ding"] = dingtalk_robot(None)
        units = {
            "县财政局": hook_unit("generic", http.url("/ok")),
            "县审计局": hook_unit("generic", f"http://127.0.0.1:{silent.port}/hook", timeout=1),  # hangs
            "县教育局": hook_unit("generic", http.url("/slow")),
            "县民政局": hook_unit("generic", slow_host.url("/slower"), timeout=1),
            "县司法局": hook_unit("generic", http.url("/limited")),
            "县公安局": hook_unit("generic", http.url("/broken")),
            "县卫生健康局": hook_unit("dingtalk", http.url("/busy-robot") + "?access_token=t1"),
            "县交通运输局": hook_unit("dingtalk", http.url("/bad-token") + "?access_token=t2"),
            "县水务局": hook_unit("dingtalk", http.url("/ding") + "?access_token=t3"),
            "县商务局": email_unit(f"swj@{DOMAIN}"),
        }
        config, db = setup(tmp_path, units, smtp_port=smtp.port)
        started = time.monotonic()
        report = run_tick(db, config, AFTER_DUE)
        elapsed = time.monotonic() - started
        # Two hooks time out after 1 s each and one answers in 0.5 s; with the channels' default
        # 10 s timeout this tick took over 20 s.
        assert elapsed < 6, f"the tick took {elapsed:.1f} s"
        status = {r["unit"]: r for r in messages(db)}
        assert report.delivered.as_dict() == {"sent": 4, "retry": 5, "dead": 1, "unknown": 2, "deferred": 0}
        # everyone else in the same tick got theirs, before and after the hung one
        assert {u for u, r in status.items() if r["status"] == "sent"} == {"县财政局", "县教育局", "县水务局", "县商务局"}
        assert len(smtp.handler.messages) == 1 and http.received("/ding") and http.received("/ok")
        assert "no answer within 1.0 s" in status["县审计局"]["last_error"]
        # 429: Retry-After (an hour) beats the 60 s backoff; 503 and errcode 130101 back off and retry
        assert at_(status["县司法局"]["next_attempt_at"]) >= AFTER_DUE + timedelta(seconds=3600)
        assert at_(status["县公安局"]["next_attempt_at"]) == AFTER_DUE + timedelta(seconds=60)
        assert at_(status["县卫生健康局"]["next_attempt_at"]) >= AFTER_DUE + timedelta(seconds=60)
        # an errcode that retrying cannot fix, inside HTTP 200, is dead at once
        assert (status["县交通运输局"]["status"], status["县交通运输局"]["attempts"]) == ("dead", 1)
        assert "300001" in status["县交通运输局"]["last_error"]

        run_tick(db, config, AFTER_DUE + timedelta(minutes=5))
        assert len(http.received("/limited")) == 1  # the rate limit is kept: not asked again within the hour
        assert len(http.received("/broken")) == 2 and len(http.received("/busy-robot")) == 2
        assert len(http.received("/bad-token")) == 1
        # the request that timed out reached the receiver; its retry carries the same Idempotency-Key,
        # so the receiver can drop the repeat
        slower = slow_host.received("/slower")
        assert len(slower) == 2 and slower[0].headers["Idempotency-Key"] == slower[1].headers["Idempotency-Key"]

        http.routes["/limited"] = generic_receiver(None)
        run_tick(db, config, AFTER_DUE + timedelta(seconds=3600))
        assert messages(db, unit="县司法局")[0]["status"] == "sent"
        assert len(smtp.handler.messages) == 1 and len(http.received("/ok")) == 1  # nothing sent twice


def test_webhook_timeout_is_a_config_key_with_a_bounded_range(tmp_path):
    from reminder.config import ConfigError, parse_config

    hook = {"kind": "generic", "url": "http://127.0.0.1:9/hook"}
    assert parse_config({"units": [{"name": "县财政局", "webhooks": [hook]}]}, {}).units[0].webhooks[0].timeout == 10
    with pytest.raises(ConfigError, match=r"units\[0\]\.webhooks\[0\]\.timeout"):
        parse_config({"units": [{"name": "县财政局", "webhooks": [{**hook, "timeout": 0}]}]}, {})


# --- the clock jumping backwards -----------------------------------------------------------------

def test_clock_jumping_backwards_sends_nothing_twice_and_forward_time_carries_on(tmp_path):
    """The same days ticked straight through, and with the clock jumping back twice on the way: the
    same notices and the same mails, each once."""
    units = {"县财政局": email_unit(f"czj@{DOMAIN}"), "县审计局": email_unit(f"sjj@{DOMAIN}")}
    forward = [AFTER_DUE + timedelta(days=d) for d in range(0, 30)]
    jumps = {AFTER_DUE + timedelta(days=2): [AFTER_DUE, AFTER_DUE - timedelta(days=2)],  # back two, four days
             AFTER_DUE + timedelta(days=10): [datetime(2021, 5, 1, 10, tzinfo=TZ)]}    # back before the import

    def run(folder, with_jumps):
        folder.mkdir()
        with SmtpServer() as smtp:
            config, db = setup(folder, units, smtp_port=smtp.port)
            for now in forward:
                run_tick(db, config, now)
                for back in jumps.get(now, []) if with_jumps else []:
                    before = len(smtp.handler.messages)
                    report = run_tick(db, config, back)
                    assert (report.notices, report.messages, len(smtp.handler.messages)) == (0, 0, before)
        notices = [(r["key"], r["stage"], r["fire_at"]) for r in db.query("SELECT * FROM notices ORDER BY id")]
        return notices, received_ids(smtp), messages(db)

    straight_notices, straight_mail, _ = run(tmp_path / "straight", with_jumps=False)
    notices, mail, rows = run(tmp_path / "jumps", with_jumps=True)
    assert len(straight_mail) >= 6  # due, then overdue every 7 days, for two units: time moved on
    assert notices == straight_notices
    assert mail == straight_mail and len(set(mail)) == len(mail)
    assert {r["status"] for r in rows} == {"sent"}


def test_a_message_waiting_to_retry_is_not_sent_early_when_the_clock_goes_back(tmp_path):
    with HttpServer() as http:
        http.routes["/hook"] = lambda request: Reply(503, {"error": "down"})
        config, db = setup(tmp_path, {"县财政局": hook_unit("generic", http.url("/hook"))})
        run_tick(db, config, AFTER_DUE)
        run_tick(db, config, AFTER_DUE - timedelta(days=2))
        run_tick(db, config, AFTER_DUE + timedelta(seconds=30))
        assert len(http.received("/hook")) == 1  # the retry is due at +60 s, whatever came between
        http.routes["/hook"] = generic_receiver(None)
        run_tick(db, config, AFTER_DUE + timedelta(seconds=60))
        assert len(http.received("/hook")) == 2 and messages(db)[0]["status"] == "sent"


# --- the database locked by another process ------------------------------------------------------

LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock, as another reminder process or a backup tool holds it
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@contextmanager
def locked_by_another_process(path, seconds: float):
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        yield locker
    finally:
        locker.wait(timeout=seconds + 30)


def test_a_tick_waits_for_a_short_lock_and_succeeds(tmp_path):
    with SmtpServer() as smtp:
        config, db = setup(tmp_path, {"县财政局": email_unit(f"czj@{DOMAIN}")}, smtp_port=smtp.port)
        with locked_by_another_process(config.database, 2):
            started = time.monotonic()
            report = run_tick(db, config, AFTER_DUE)
            waited = time.monotonic() - started
        assert waited >= 1.5  # it waited for the lock (busy timeout) instead of failing
        assert report.messages == 1 and report.delivered.sent == 1 and len(smtp.handler.messages) == 1


@pytest.mark.slow
def test_a_lock_outlasting_the_busy_timeout_is_a_clear_store_error_and_the_next_tick_recovers(tmp_path):
    config, db = setup(tmp_path, {"县财政局": email_unit(f"czj@{DOMAIN}")}, smtp_port=free_port())
    db.close()
    impatient = store.open_db(config.database, busy_timeout=0.5)
    with locked_by_another_process(config.database, 3):
        with pytest.raises(StoreError) as caught:
            run_tick(impatient, config, AFTER_DUE)
    message = str(caught.value)
    assert str(config.database) in message and "locked" in message and "Fix:" in message
    assert messages(impatient) == [] and impatient.execute("SELECT count(*) FROM notices").fetchone()[0] == 0
    report = run_tick(impatient, config, AFTER_DUE)  # the lock is gone: the same tick now goes through
    assert report.messages == 1


def test_a_deliverer_whose_claim_was_taken_over_logs_the_attempt_and_stops(tmp_path, caplog):
    """A deliverer that went quiet for longer than its lease finds, when it records a result, that
    another deliverer took its messages over: the attempt is logged, the new holder's state is left
    alone, and it sends nothing more."""
    from reminder import delivery
    from reminder.errors import LostClaim

    config, db = setup(tmp_path, {u: "" for u in ("县财政局", "县审计局", "县教育局")})
    config = dataclasses.replace(config, fallback_channel="file")
    run_tick(db, config, AFTER_DUE, deliver=False)
    claimed = store.claim_messages(db, AFTER_DUE, "slow")
    assert len(claimed) == 3
    store.acquire_lock(db, "deliverer", "slow", AFTER_DUE, 30)
    # The standby takes the expired lease over and with it the slow one's claims, then claims them.
    later = AFTER_DUE + timedelta(minutes=5)
    assert store.acquire_lock(db, "deliverer", "standby", later, 30, reclaim_messages=True)
    assert len(store.claim_messages(db, later, "standby")) == 3
    with pytest.raises(LostClaim):
        store.mark_sent(db, claimed[0].id, "slow", later)
    [row] = messages(db, id=claimed[0].id)
    assert (row["status"], row["claimed_by"]) == ("sending", "standby")  # the new holder's, untouched
    assert [a["ok"] for a in attempts(db, claimed[0].id)] == [1]  # but the send is on record
    # Through delivery: the takeover happens while the slow deliverer is about to send its first message.
    store.release_claims(db, "standby")
    outbox = tmp_path / "outbox"
    before = len(list(outbox.glob("*.eml"))) if outbox.exists() else 0
    taken = []

    slow_at, standby_at = later + timedelta(minutes=1), later + timedelta(minutes=6)

    def standby_takes_over() -> bool:
        if not taken:  # the slow one's lease has expired by then: its claims pass to the standby
            assert store.acquire_lock(db, "deliverer", "standby2", standby_at, 30, reclaim_messages=True)
            taken.extend(store.claim_messages(db, standby_at, "standby2"))
        return False

    assert store.acquire_lock(db, "deliverer", "slow2", slow_at, 30)
    counts = delivery.deliver_due(db, config, slow_at, "slow2", should_stop=standby_takes_over)
    assert len(taken) == 3 and counts.sent == 0 and len(counts.lost_claims) == 1
    assert len(list(outbox.glob("*.eml"))) == before + 1  # the one in flight went out, then it stopped
    assert {r["claimed_by"] for r in messages(db)} == {"standby2"}
    assert "no longer holds its claim" in caplog.text
