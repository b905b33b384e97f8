"""No duplicate storms (issue 10, points 1-4), with real processes against real local servers.

* Two `reminder run` on one database while one delivery takes longer than the lease: the standby never
  takes over from a live daemon, so every message is received once.
* Overlapping `reminder tick` processes: each claims under its own holder id, and never takes over the
  claims of one that is alive, however old they look.
* `reminder retry ID` on a message being sent is refused.
* A message whose outcome is unknown (the mail server dropped the line after DATA, the webhook answered
  after its timeout) is retried with the same key at most ``max_unknown_attempts`` times, counted apart
  from failures, and the digest says the receiver may have it.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminder import delivery, store
from reminder.channels.smtp import message_id
from reminder.config import load_config
from reminder.tick import run_tick
from tests.conftest import MAIL_DOMAIN as DOMAIN
from tests.conftest import write_config
from tests.servers import DroppingHandler, HttpServer, RecordingHandler, Reply, SmtpServer
from tests.test_faults_daemon import received, rows, stop, wait_for

UNITS = ["县财政局", "县审计局", "县教育局", "县民政局", "县司法局", "县公安局"]


def plan_text(units) -> str:
    body = "".join(f"| {i} | 做好第{i}项政务公开工作。 | {unit} | 2021年9月30日前 |\n" for i, unit in enumerate(units, 1))
    return f"某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n{body}"


def setup(tmp_path: Path, units, smtp_port: int, smtp: str = "",
          policy: dict | None = None, always_open: bool = False) -> Path:
    """Units with email addresses of their own at the local server (their messages go over one
    connection), imported. ``always_open`` for a service on the real clock: every moment of the coming
    days is a sending moment."""
    tables = "".join(f'\n[[units]]\nname = "{u}"\nemails = ["u{i:02}@{DOMAIN}"]\n' for i, u in enumerate(units))
    config = write_config(tmp_path, tables, database=tmp_path / "r.db", fallback=False, smtp_port=smtp_port,
                          smtp=smtp, policy=policy, always_open=always_open)
    (tmp_path / "plan.txt").write_text(plan_text(units), encoding="utf-8")
    cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
    return config


def cli(config: Path, *args, check=True, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), *args], capture_output=True,
                          text=True, check=check, timeout=timeout)


def start(config: Path, log: Path, *args: str) -> subprocess.Popen:
    with open(log, "a", encoding="utf-8") as out:
        return subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), *args],
                                stdout=out, stderr=subprocess.STDOUT)


def claims(database: Path) -> list[tuple[str, str]]:
    """(status, claimed_by) of every message being sent."""
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute("SELECT status, claimed_by FROM messages WHERE status = 'sending'").fetchall()


# --- 1. a batch longer than the lease, two daemons -------------------------------------------------

@pytest.mark.slow
def test_two_daemons_and_a_batch_three_leases_long_every_message_is_received_once(tmp_path):
    """Each message takes 1.3 s to be accepted and the lease lasts 1 s, so the batch of four takes five
    lease periods. The standby asks for the lease every second. Renewing the lease only between messages
    let it lapse during every message: the standby took over, re-queued the claims and sent them again,
    then the first took it back, and so on. The heartbeat keeps it while the daemon lives."""
    server = SmtpServer(handler=RecordingHandler(data_delay=1.3))
    config = setup(tmp_path, UNITS[:4], server.port, always_open=True)
    database, log_a, log_b = tmp_path / "r.db", tmp_path / "a.log", tmp_path / "b.log"
    args = ("run", "--tick-seconds", "1", "--lease-seconds", "1")
    with server:
        first = start(config, log_a, *args)
        try:
            assert wait_for(lambda: server.handler.messages, 20), log_a.read_text()  # it is sending
            standby = start(config, log_b, *args)
            try:
                done = wait_for(lambda: rows(database) and all(r["status"] == "sent" for r in rows(database)), 30)
                time.sleep(1.0)  # a standby that took over would be sending its repeats now
            finally:
                standby_code = stop(standby)
        finally:
            first_code = stop(first)
    assert done, log_a.read_text() + log_b.read_text()
    assert (first_code, standby_code) == (0, 0)
    counts = Counter(received(server))
    assert set(counts) == {message_id(r["key"], DOMAIN) for r in rows(database)}
    assert max(counts.values()) == 1, counts  # every message received once: no takeover, no repeat
    assert "standing by" in log_b.read_text() and "lease passed" not in log_a.read_text()


# --- 2. overlapping cron ticks ---------------------------------------------------------------------

@pytest.mark.slow
def test_overlapping_ticks_claim_under_their_own_ids_and_never_take_a_live_ones_claims(tmp_path):
    """The second tick runs for a time eleven minutes later (a cron tick that started while the first
    was still sending, ten minutes on): the first's claims look stale by their age, but its lease says
    it is alive. Both ticks were holder "cli", and the second took the first's claims and sent them too."""
    server = SmtpServer(handler=RecordingHandler(data_delay=1.0))
    config = setup(tmp_path, UNITS[:5], server.port)
    database = tmp_path / "r.db"
    with server:
        first = subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), "tick", "--now",
                                  "2021-10-08T10:00"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: server.handler.messages, 20)
            holders = {holder for _, holder in claims(database)}
            second = cli(config, "tick", "--now", "2021-10-08T10:11", "--json")
            out, err = first.communicate(timeout=30)
        finally:
            first.kill()
    assert first.returncode == 0, err
    counts = Counter(received(server))
    assert len(counts) == 5 and max(counts.values()) == 1, counts
    assert holders and all(h.startswith("tick:") and h.endswith(f":{first.pid}") for h in holders), holders
    assert json.loads(second.stdout)["delivered"] == {}  # nothing of its own to send, nothing taken over
    assert {r["status"] for r in rows(database)} == {"sent"}
    assert "已发送 5 条提醒（" in out


# --- 3. `reminder retry` on a message being sent --------------------------------------------------

@pytest.mark.slow
def test_retry_of_a_message_being_sent_is_refused_and_it_goes_out_once(tmp_path):
    server = SmtpServer(handler=RecordingHandler(data_delay=1.5))
    config = setup(tmp_path, UNITS[:3], server.port)
    database = tmp_path / "r.db"
    with server:
        ticking = subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), "tick", "--now",
                                    "2021-10-08T10:00"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: server.handler.messages, 20)
            last = rows(database)[-1]
            assert last["status"] == "sending"  # claimed by the tick, not sent yet
            retried = cli(config, "retry", str(last["id"]), check=False)
            ticking.communicate(timeout=30)
        finally:
            ticking.kill()
    assert retried.returncode == 1 and "Traceback" not in retried.stderr
    assert f"message {last['id']} is being sent right now" in retried.stderr
    counts = Counter(received(server))
    assert len(counts) == 3 and max(counts.values()) == 1, counts
    assert {r["status"] for r in rows(database)} == {"sent"}


# --- 4. unknown outcomes ---------------------------------------------------------------------------

TICKS = ["2021-10-08T10:00", "2021-10-08T10:02", "2021-10-08T10:05", "2021-10-08T10:10", "2021-10-08T10:20"]
"""Each past the backoff (60 s, doubling) of the one before: every tick retries what is still pending."""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["smtp drops the line after DATA", "webhook answers after its timeout"])
def test_unknown_outcomes_are_retried_with_the_same_key_a_bounded_number_of_times_and_reported(tmp_path, where):
    """Every attempt reached the receiver. With max_attempts = 6 it got a copy at every tick (six in all),
    and the message was reported as failed; now the unknown attempts stop at max_unknown_attempts (3),
    each with the same Message-ID / Idempotency-Key, and the digest says the receiver may have it."""
    with SmtpServer(handler=DroppingHandler()) as smtp, HttpServer() as http:
        http.routes["/hook"] = lambda request: Reply(200, {"ok": True}, delay=1.6)
        if where.startswith("smtp"):
            config = setup(tmp_path, UNITS[:1], smtp.port)
        else:
            tables = f'\n[[units]]\nname = "{UNITS[0]}"\nwebhooks = [{{ kind = "generic", url = "{http.url("/hook")}", ' \
                     'timeout = 1 }]\n'
            config = write_config(tmp_path, tables, database=tmp_path / "r.db", fallback=False)
            (tmp_path / "plan.txt").write_text(plan_text(UNITS[:1]), encoding="utf-8")
            cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        reports = [json.loads(cli(config, "tick", "--now", now, "--json").stdout)["delivered"] for now in TICKS]
        digest = cli(config, "digest", "--now", "2021-10-08T16:00", "--dry-run").stdout
        keys = [m["Message-ID"] for m in map(_parse, smtp.handler.messages)] if where.startswith("smtp") \
            else [r.headers["Idempotency-Key"] for r in http.received("/hook")]
    [row] = rows(tmp_path / "r.db")
    assert len(keys) == 3 and len(set(keys)) == 1  # three copies reached it, all with one key
    assert (row["status"], row["attempts"], row["unknown_attempts"]) == ("dead", 3, 3)
    outcomes = [r["outcome"] for r in rows(tmp_path / "r.db", "SELECT outcome FROM deliveries ORDER BY id")]
    assert outcomes == ["unknown"] * 3
    assert [r.get("unknown", 0) for r in reports[:3]] == [1, 1, 1] and all(not r for r in reports[3:])
    assert [r["dead"] for r in reports[:3]] == [0, 0, 1]
    notices = json.loads(cli(config, "notices", "--json").stdout)
    assert notices[0]["unknown_attempts"] == 3
    assert "其中3次已发出但未获答复，对方可能已收到" in digest


def _parse(message: dict):
    return email.message_from_bytes(message["data"], policy=email.policy.default)


# --- 1. stop sending the moment the lease is lost -------------------------------------------------

def test_a_deliverer_whose_claims_lease_is_taken_stops_after_the_message_in_flight(tmp_path, caplog):
    """The heartbeat finds the claims lease in another holder's hands (here: written over, as after a
    database stall long enough for another deliverer to take it); delivery stops before the next message
    and the rest go back to the queue for the new holder."""
    server = SmtpServer(handler=RecordingHandler(data_delay=0.6))
    config_path = setup(tmp_path, UNITS[:5], server.port)
    config = load_config(config_path, env={})
    db = store.open_db(tmp_path / "r.db")
    now = datetime(2021, 10, 8, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    run_tick(db, config, now, deliver=False)
    caplog.set_level(logging.WARNING)

    def take_the_lease() -> None:
        wait_for(lambda: server.handler.messages, 10)
        with closing(sqlite3.connect(tmp_path / "r.db")) as conn, conn:
            conn.execute("UPDATE locks SET holder = 'other' WHERE name = 'claims:first'")

    with server:
        thief = threading.Thread(target=take_the_lease)
        thief.start()
        counts = delivery.deliver_due(db, config, now, "first", lease_seconds=1)
        thief.join()
    assert "the claims:first lease of first is lost: another process holds it now" in caplog.text
    assert 1 <= counts.sent <= 2 and len(server.handler.messages) == counts.sent  # stopped after the one in flight
    left = [r for r in rows(tmp_path / "r.db") if r["status"] != "sent"]
    assert len(left) == 5 - counts.sent and {r["status"] for r in left} == {"pending"}
