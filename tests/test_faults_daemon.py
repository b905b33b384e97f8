"""Faults survived by real processes: `reminder run` killed with SIGKILL mid-batch and restarted, a
delivery that outlasts the deliverer lease while another daemon stands by, a database another
process keeps locked past the busy timeout, and `reminder import` / `reminder tick` on a read-only
database or a full disk. Real SMTP server (aiosmtpd, slowed down), real subprocesses."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import logging
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from reminder.channels.smtp import message_id
from reminder.config import load_config
from reminder.daemon import Daemon
from tests.conftest import MAIL_DOMAIN as DOMAIN
from tests.conftest import write_config as shared_config
from tests.servers import RecordingHandler, SmtpServer

UNITS = ["县财政局", "县审计局", "县教育局", "县民政局", "县司法局", "县公安局", "县卫生健康局", "县交通运输局",
         "县水务局", "县林业局", "县商务局", "县统计局"]


def plan_text(units, year: int = 2021) -> str:
    rows = "".join(f"| {i} | 做好第{i}项政务公开工作。 | {unit} | {year}年9月30日前 |\n" for i, unit in enumerate(units, 1))
    return f"某县{year}年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n{rows}"


def write_config(folder: Path, database: Path, smtp_port: int | None = None, shared_mailbox: bool = False) -> Path:
    """Units with email when there is a mail server (each its own address, or all one shared mailbox, as
    a county's units often share one); otherwise everything goes to the file channel."""
    if not smtp_port:
        return shared_config(folder, database=database, always_open=True)

    def address(i: int) -> str:
        return f"gwgk@{DOMAIN}" if shared_mailbox else f"u{i:02}@{DOMAIN}"

    units = "".join(f'\n[[units]]\nname = "{u}"\nemails = ["{address(i)}"]\n' for i, u in enumerate(UNITS))
    return shared_config(folder, units, database=database, fallback=False, smtp_port=smtp_port,
                         always_open=True)


def cli(config: Path, *args, check=True, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), *args], capture_output=True,
                          text=True, check=check, timeout=60, preexec_fn=preexec_fn)


def start_daemon(config: Path, log: Path) -> subprocess.Popen:
    with open(log, "a", encoding="utf-8") as out:  # a file, not a pipe: a pipe nobody reads can fill and block it
        return subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), "run", "--tick-seconds", "1"],
                                stdout=out, stderr=subprocess.STDOUT)


def stop(daemon: subprocess.Popen) -> int:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.wait(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def rows(database: Path, sql: str = "SELECT * FROM messages ORDER BY id") -> list[dict]:
    with closing(sqlite3.connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


# --- kill -9 mid-batch, then a restart -------------------------------------------------------------

DATA_DELAY = 0.3


class SlowHandler(RecordingHandler):
    """Keeps each message as soon as its data has arrived, then waits before saying 250: a real server
    has queued the mail by then, but the client does not know it yet."""

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(DATA_DELAY)
        return reply


def received(server) -> list[str]:
    """Message-IDs in the order the server took them."""
    return [email.message_from_bytes(m["data"], policy=email.policy.default)["Message-ID"]
            for m in server.handler.messages]


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_delivers_everything_with_bounded_duplicates(tmp_path):
    """Twelve units, each with its own mailbox on one mail server, so the killed daemon sends all twelve
    messages over one SMTP connection. Each result is recorded before the next message goes, so at most
    the one message in flight can go out twice (recording a whole connection's results at its end would
    repeat all that the server had taken before the kill). (Units sharing one mailbox get one message per
    tick between them, so they would not make a batch.)"""
    database = tmp_path / "r.db"
    server = SmtpServer()
    server.handler = server.controller.handler = SlowHandler()
    config = write_config(tmp_path, database, smtp_port=server.port)
    (tmp_path / "plan.txt").write_text(plan_text(UNITS), encoding="utf-8")
    cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
    log = tmp_path / "daemon.log"
    with server:
        first = start_daemon(config, log)
        try:
            # the start-up tick claims all twelve overdue notices and sends them one by one
            assert wait_for(lambda: len(server.handler.messages) >= 4, 30), log.read_text()
            first.kill()  # SIGKILL: no signal handler runs, claims and the lease stay behind
            first.wait(timeout=10)
        finally:
            first.kill()
        time.sleep(0.5)  # let the server finish taking what reached it before the kill
        killed_connections = server.handler.connections
        after_kill = rows(database)
        accepted = set(received(server))
        in_flight = {message_id(r["key"], DOMAIN) for r in after_kill if r["status"] == "sending"} & accepted
        assert any(r["status"] == "sending" for r in after_kill), "the kill should land mid-batch"
        assert len(after_kill) == len(UNITS)

        second = start_daemon(config, log)
        try:
            # It stands by until the dead daemon's lease (30 s) expires, then takes over and re-queues
            # what the dead one had claimed at once, instead of after the ten-minute stale-claim wait.
            assert wait_for(lambda: all(r["status"] == "sent" for r in rows(database)), 60), log.read_text()
        finally:
            code = stop(second)
    assert code == 0
    output = log.read_text()
    assert "standing by" in output  # no second deliverer while the dead one's lease was still valid
    counts = Counter(received(server))
    assert set(counts) == {message_id(r["key"], DOMAIN) for r in after_kill}  # every message delivered
    duplicates = {mid for mid, n in counts.items() if n > 1}
    # The bound. A message goes out twice only when the server had taken it but the killed daemon had
    # not yet recorded it as sent. Delivery records each message's result before sending the next, so
    # on each connection at most one message is in that window: exactly the messages the server had
    # and the outbox still called 'sending'. Each repeat has the same Message-ID, so a receiver (or a
    # person) can drop it.
    assert killed_connections == 1  # the killed daemon sent its messages over one connection
    assert duplicates == in_flight and len(duplicates) <= killed_connections
    assert max(counts.values()) <= 2
    assert sum(counts.values()) == len(UNITS) + len(duplicates)


@pytest.mark.slow
def test_a_delivery_longer_than_the_lease_keeps_it_so_a_standby_never_resends_in_flight_messages(tmp_path, caplog):
    """Two deliverers in one process, driven tick by tick, with a 2 s lease (the daemon's lease is a
    plain attribute). The first spends about 4 s on one tick against a slow server; the standby asks
    for the lease every 0.2 s meanwhile. Taking over from an expired holder re-queues its claims, so if
    the busy deliverer did not renew its lease between batches the standby would send the same
    messages again while the first is still sending them."""
    database = tmp_path / "r.db"
    server = SmtpServer()
    server.handler = server.controller.handler = SlowHandler()
    config_path = write_config(tmp_path, database, smtp_port=server.port)
    (tmp_path / "plan.txt").write_text(plan_text(UNITS), encoding="utf-8")
    cli(config_path, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
    config = load_config(config_path, env={})
    busy, standby = Daemon(config, database), Daemon(config, database)
    for name, daemon in (("busy", busy), ("standby", standby)):
        daemon.holder, daemon.lease_seconds = name, 2
    caplog.set_level(logging.INFO, logger="reminder.daemon")
    with server:
        worker = threading.Thread(target=busy.tick)
        started = time.monotonic()
        worker.start()
        assert wait_for(lambda: server.handler.messages, 20)  # the busy one has the lease and is sending
        while worker.is_alive():
            standby.tick()
            time.sleep(0.2)
        worker.join()
        took = time.monotonic() - started
    assert took > busy.lease_seconds + 1  # the tick did outlast the lease
    assert "standing by" in caplog.text and "lease passed" not in caplog.text
    assert Counter(received(server)).most_common(1)[0][1] == 1  # nothing sent twice
    assert {r["status"] for r in rows(database)} == {"sent"} and len(server.handler.messages) == len(UNITS)


# --- the database locked past the busy timeout -----------------------------------------------------

LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@pytest.mark.slow
def test_daemon_logs_a_lock_held_past_the_busy_timeout_and_delivers_at_a_later_tick(tmp_path):
    from reminder.store import BUSY_TIMEOUT_S

    database = tmp_path / "r.db"
    config = write_config(tmp_path, database)
    (tmp_path / "plan.txt").write_text(plan_text(UNITS[:2]), encoding="utf-8")
    cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(database), str(BUSY_TIMEOUT_S + 2)],
                              stdout=subprocess.PIPE, text=True)
    log = tmp_path / "daemon.log"
    daemon = None
    try:
        assert locker.stdout.readline().strip() == "locked"
        daemon = start_daemon(config, log)
        assert wait_for(lambda: "tick failed" in log.read_text(), BUSY_TIMEOUT_S + 10), log.read_text()
        assert daemon.poll() is None  # still running
        locker.wait(timeout=30)
        assert wait_for(lambda: rows(database) and all(r["status"] == "sent" for r in rows(database)), 30), \
            log.read_text()
    finally:
        locker.kill()
        code = stop(daemon) if daemon else None
    assert code == 0
    output = log.read_text()
    assert "tick failed; the next tick retries" in output
    assert f"StoreError: {database}: cannot take the deliverer lock: database is locked" in output
    assert "Fix: another process kept the database locked" in output


# --- a read-only database, a full disk -------------------------------------------------------------

NOW = "2021-10-08T10:00"


@pytest.fixture
def imported(tmp_path):
    """A database holding one plan, closed; a second plan to import; the config naming both folders."""
    def make(database: Path) -> Path:
        config = write_config(tmp_path, database)
        (tmp_path / "plan.txt").write_text(plan_text(UNITS[:3]), encoding="utf-8")
        (tmp_path / "plan2.txt").write_text(plan_text(UNITS[3:6], year=2022), encoding="utf-8")
        cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
        return config
    return make


def snapshot(database: Path) -> dict:
    with closing(sqlite3.connect(database)) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("plans", "tasks", "assignments", "notices", "messages", "deliveries")}
        counts["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return counts


def assert_refused_cleanly(result, database: Path, *words: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith(f"error: {database}: cannot "), message  # one line, naming the file
    assert "Fix: " in message and all(w in message for w in words), message


@contextmanager
def read_only(*paths: Path):
    """Make ``paths`` unwritable. Root ignores permission bits, so as root use the immutable
    attribute (chattr +i), which stops root too; skip if the file system cannot do that."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if not shutil.which("chattr"):
        pytest.skip("running as root, which ignores file modes, and chattr is not installed")
    done = []
    try:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
                pytest.skip(f"running as root, which ignores file modes, and {p} cannot be made immutable here")
            done.append(p)
        yield
    finally:
        for p in done:
            subprocess.run(["chattr", "-i", str(p)], check=True)


@pytest.mark.parametrize("what", ["database file", "database file and its folder"])
def test_read_only_database_import_and_tick_exit_1_naming_the_file_and_write_nothing(tmp_path, imported, what):
    folder = tmp_path / "data"
    database = folder / "r.db"
    config = imported(database)
    before, digest = snapshot(database), hashlib.sha256(database.read_bytes()).hexdigest()
    with read_only(database, *([folder] if "folder" in what else [])):
        results = [cli(config, "import", str(tmp_path / "plan2.txt"), check=False),
                   cli(config, "tick", "--now", NOW, check=False)]
    for result in results:
        assert_refused_cleanly(result, database, *(["read-only"] if what == "database file" else ["write"]))
    assert hashlib.sha256(database.read_bytes()).hexdigest() == digest
    assert snapshot(database) == before
    assert not (tmp_path / "outbox").exists()  # nothing was sent either
    cli(config, "tick", "--now", NOW)  # writable again: the same tick goes through
    assert snapshot(database)["messages"] == 3


@contextmanager
def tiny_disk(folder: Path, free_bytes: int):
    """A tmpfs at ``folder`` with only ``free_bytes`` left once the caller has put its files there
    (root only); yields a function that fills it up."""
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root; the file-size-limit case covers the rest")
    try:
        def fill():
            stat = os.statvfs(folder)
            (folder / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - free_bytes))
        yield fill
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def file_size_limit(limit: int):
    """For preexec_fn: files this process writes may not grow past ``limit`` bytes (EFBIG, as when a
    disk fills; Python ignores SIGXFSZ). Reading the bigger database is still allowed."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("how", ["tmpfs", "file size limit"])
def test_full_disk_import_and_tick_exit_1_naming_the_file_and_write_nothing(tmp_path, imported, how):
    if how == "tmpfs":
        disk = tmp_path / "disk"
        with tiny_disk(disk, free_bytes=40 * 1024) as fill:
            database = disk / "r.db"
            config = imported(database)
            fill()
            before = snapshot(database)
            results = [cli(config, "import", str(tmp_path / "plan2.txt"), check=False),
                       cli(config, "tick", "--now", NOW, check=False)]
            for result in results:
                assert_refused_cleanly(result, database, "full")
            assert snapshot(database) == before
            (disk / "filler").unlink()  # space freed: the same commands now go through
            cli(config, "import", str(tmp_path / "plan2.txt"))
            cli(config, "tick", "--now", NOW)
            assert snapshot(database)["messages"] == 3
        return
    database = tmp_path / "r.db"
    config = imported(database)
    before = snapshot(database)
    # Room for SQLite's 32 KiB shared-memory file, not for the tick's or the import's write-ahead log.
    limited = file_size_limit(40_000)
    results = [cli(config, "import", str(tmp_path / "plan2.txt"), check=False, preexec_fn=limited),
               cli(config, "tick", "--now", NOW, check=False, preexec_fn=limited)]
    for result in results:
        assert_refused_cleanly(result, database)
    assert snapshot(database) == before
    cli(config, "tick", "--now", NOW)
    assert snapshot(database)["messages"] == 3
