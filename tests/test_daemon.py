"""`reminder run` as a real process: catch-up at start, SIGTERM, one deliverer per database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import write_config

PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 任务甲。 | 县财政局 | 2021年9月30日前 |\n| 2 | 任务乙。 | 县审计局 | 持续推进 |\n")


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    write_config(tmp_path, database=tmp_path / "r.db", always_open=True)
    cli(tmp_path, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
    return tmp_path


def cli(workdir, *args):
    return subprocess.run([sys.executable, "-m", "reminder", "--config", str(workdir / "config.toml"), *args],
                          capture_output=True, text=True, check=True, timeout=60)


def start(workdir):
    return subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(workdir / "config.toml"), "run",
                             "--tick-seconds", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def sent(workdir):
    with sqlite3.connect(workdir / "r.db") as conn:
        return conn.execute("SELECT count(*) FROM messages WHERE status = 'sent'").fetchone()[0]


def holder(workdir):
    with sqlite3.connect(workdir / "r.db") as conn:
        row = conn.execute("SELECT holder FROM locks WHERE name = 'deliverer'").fetchone()
    return row[0] if row else None


@pytest.mark.slow
def test_startup_catches_up_and_sigterm_stops_cleanly(workdir):
    daemon = start(workdir)
    try:
        assert wait_for(lambda: sent(workdir) >= 2), "the start-up tick should deliver the overdue notices"
        files = list((workdir / "outbox").glob("*.eml"))
        assert len(files) == sent(workdir)
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=20)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, output
    assert "stopped" in output
    assert holder(workdir) is None  # the lease is released for a successor


@pytest.mark.slow
def test_second_daemon_stands_by_and_takes_over_when_the_first_dies(workdir):
    first = start(workdir)
    second = None
    try:
        assert wait_for(lambda: holder(workdir) == f"{os.uname().nodename}:{first.pid}")
        second = start(workdir)
        time.sleep(3)
        assert holder(workdir).endswith(f":{first.pid}")
        first.kill()  # kill -9: no clean release; the lease must expire first
        first.wait(timeout=10)
        assert wait_for(lambda: (holder(workdir) or "").endswith(f":{second.pid}"), seconds=60)
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=20)
    finally:
        first.kill()
        if second:
            second.kill()
    assert "standing by" in output


def test_ticking_twice_from_the_command_line_sends_nothing_new(workdir):
    first = cli(workdir, "tick", "--now", "2021-10-08T10:00", "--json")
    second = cli(workdir, "tick", "--now", "2021-10-08T10:00", "--json")
    import json

    assert json.loads(first.stdout)["messages"] >= 1
    assert json.loads(second.stdout)["messages"] == 0 and json.loads(second.stdout)["notices"] == 0


def test_a_stop_signal_during_start_up_stops_the_service_without_a_traceback(workdir):
    """systemd may stop the service while it is still starting (a slow first start after an upgrade).
    The signal came before the scheduler ran: its shutdown raised SchedulerNotRunningError in a thread
    and the service went on running. Now it stops, releases what it holds, and says so."""
    script = ("import logging, signal, sys\n"
              "logging.basicConfig(level=logging.INFO)\n"
              "from reminder.config import load_config\n"
              "from reminder.daemon import Daemon\n"
              "config = load_config(sys.argv[1], env={})\n"
              "daemon = Daemon(config, config.database, tick_seconds=1)\n"
              "daemon._stop(signal.SIGTERM, None)  # as if the signal came while starting\n"
              "daemon.run()\n")
    result = subprocess.run([sys.executable, "-c", script, str(workdir / "config.toml")], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "SIGTERM: stopping" in result.stderr and "stopped" in result.stderr
    assert holder(workdir) is None and sent(workdir) == 0  # nothing ran, nothing is held
