"""A wrong clock must not silence the service (issue 10, point 8), with real processes.

One tick with a clock far in the future set every assignment's next check to that future and left the
lease with an expiry years ahead: after the clock was corrected nothing was planned, and a restarted
daemon stood by for a decade. Now the stored times are checked against the clock at every tick; a clock
that went back past them is logged loudly and recovered from: next checks are computed again from the
corrected clock, a lease renewed in the future is not believed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reminder import store
from tests.conftest import write_config
from tests.test_faults_daemon import stop, wait_for

UNITS = ["县财政局", "县审计局", "县教育局"]
PLAN = "某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n" + "".join(
    f"| {i} | 做好第{i}项政务公开工作。 | {unit} | 2021年9月30日前 |\n" for i, unit in enumerate(UNITS, 1))
# The days the notices of a task due 2021-09-30 fire on (30, 7 and 1 days before, due, overdue weekly).
DAYS = ["2021-08-31", "2021-09-23", "2021-09-30", "2021-10-08", "2021-10-15"]


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), *args], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


def imported(folder: Path, always_open: bool = False) -> Path:
    folder.mkdir()
    config = write_config(folder, database=folder / "r.db", always_open=always_open)
    (folder / "plan.txt").write_text(PLAN, encoding="utf-8")
    cli(config, "import", str(folder / "plan.txt"), "--now", "2021-06-01T08:00")
    return config


def query(database: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
def test_a_tick_with_a_clock_ten_years_ahead_then_corrected_plans_the_rest_of_the_year(tmp_path):
    straight = imported(tmp_path / "straight")
    wrong = imported(tmp_path / "wrong")
    for day in DAYS:
        cli(straight, "tick", "--now", f"{day}T10:00")
    cli(wrong, "tick", "--now", f"{DAYS[0]}T10:00")
    cli(wrong, "tick", "--now", "2031-09-01T10:00")  # the clock ran ten years ahead for one tick (a Monday)
    warnings = [cli(wrong, "tick", "--now", f"{day}T10:00").stderr for day in DAYS[1:]]
    assert "the clock went back" in warnings[0] and "3 assignments are planned again" in warnings[0]
    assert not any("the clock went back" in w for w in warnings[1:])  # recovered once, not at every tick

    def notices_of_2021(config: Path) -> list[tuple]:
        return query(config.parent / "r.db", "SELECT key, stage FROM notices WHERE key LIKE '2021-%' ORDER BY key")

    # Every notice the year should have had went out once the clock was right again (before: only the
    # first, and the 2031 ones; 222 of 287 notices of a year were never sent).
    assert notices_of_2021(wrong) == notices_of_2021(straight)
    assert sum(stage != "escalation" for _, stage in notices_of_2021(straight)) == len(UNITS) * len(DAYS)
    sent = "SELECT count(*) FROM messages WHERE status = 'sent' AND created_at LIKE '2021-%'"
    assert query(wrong.parent / "r.db", sent) == query(straight.parent / "r.db", sent)


@pytest.mark.slow
def test_a_restarted_daemon_takes_over_a_lease_renewed_by_a_clock_ahead_and_sends(tmp_path):
    """A daemon ran with its clock in 2035 (it ticked and held the lease for 90 s from then), and was
    stopped. A daemon started with the clock right stood by until 2035; now it takes the lease over at
    once, logs it, recovers the next checks and sends today's notices."""
    config = imported(tmp_path / "site", always_open=True)  # the daemon runs on the real clock
    database = config.parent / "r.db"
    cli(config, "tick", "--now", "2035-03-01T10:00")
    db = store.open_db(database)
    assert store.acquire_lock(db, "deliverer", "ahead:4242", datetime(2035, 3, 1, 2, tzinfo=UTC), 90)
    db.close()
    started = datetime.now(UTC) - timedelta(seconds=1)
    log = tmp_path / "daemon.log"
    with open(log, "w", encoding="utf-8") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), "run",
                                   "--tick-seconds", "1"], stdout=out, stderr=subprocess.STDOUT)
    try:
        def sent_today() -> bool:
            rows = query(database, "SELECT created_at FROM messages WHERE status = 'sent'")
            return any(started <= datetime.fromisoformat(r[0]) <= datetime.now(UTC) for r in rows)
        assert wait_for(sent_today, 15), log.read_text()
    finally:
        assert stop(daemon) == 0
    output = log.read_text()
    assert "renewed by a clock ahead of this one" in output and "the clock went back" in output
    assert query(database, "SELECT holder FROM locks WHERE name = 'deliverer'") == []  # released at stop
    # Planned from the corrected clock: a notice of every unit keyed by a day before 2035 (before, the
    # only notices were those of the 2035 tick).
    assert query(database, "SELECT count(DISTINCT unit) FROM notices WHERE key < '2035'") == [(len(UNITS),)]


def test_a_recovered_clock_with_nothing_to_send_is_reported_once_not_at_every_tick(tmp_path):
    """After a recovery the wrong clock's rows stay (the notices of 2031 are history). A corrected clock
    with nothing to send for a while (the night) must not be told at every tick that it went back."""
    config = imported(tmp_path / "site")
    cli(config, "tick", "--now", "2031-09-01T10:00")
    first = cli(config, "tick", "--now", "2021-09-22T22:00").stderr  # outside the window: nothing is sent
    later = [cli(config, "tick", "--now", f"2021-09-22T{time}").stderr for time in ("23:00", "23:30")]
    assert "the clock went back" in first
    assert not any("the clock went back" in text for text in later)
    # A clock that runs ahead again past everything seen since is a new jump, and is reported.
    cli(config, "tick", "--now", "2032-03-01T10:00")
    assert "the clock went back" in cli(config, "tick", "--now", "2021-09-23T10:00").stderr
