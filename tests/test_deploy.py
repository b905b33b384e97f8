"""Deployment: the systemd units in deploy/ and `reminder backup` while the service writes."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reminder.cli import cli

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("reminder.service", "reminder-backup.service", "reminder-backup.timer")
INSTALLED = "/opt/reminder/.venv/bin/reminder"


def _verify(folder: Path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(folder / name)], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture
def unit_folder(tmp_path) -> Path:
    """The unit files with ExecStart pointing at this environment's `reminder` (verify checks the
    binary exists; /opt/reminder is where the README installs it on a server)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here; the units are checked where systemd is")
    here = shutil.which("reminder") or str(Path(sys.executable).with_name("reminder"))
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED, here),
                                     encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_verify_clean(unit_folder, name):
    done = _verify(unit_folder, name)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_verify_would_catch_a_broken_unit(unit_folder):
    broken = unit_folder / "reminder.service"
    broken.write_text(broken.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=sometimes"),
                      encoding="utf-8")
    assert "restart specifier" in _verify(unit_folder, "reminder.service").stderr


def test_service_unit_waits_for_the_network_and_keeps_its_files_private():
    text = (DEPLOY / "reminder.service").read_text(encoding="utf-8")
    for line in ("Wants=network-online.target", "After=network-online.target", "UMask=0077",
                 "KillSignal=SIGTERM", f"ExecStart={INSTALLED} run", "ReadWritePaths=/var/lib/reminder"):
        assert line in text.splitlines()


PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 任务甲。 | 县财政局 | 2021年9月30日前 |\n")


@pytest.fixture
def run(tmp_path):
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    db = tmp_path / "live.db"
    invoke = lambda *args: CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    assert invoke("import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00").exit_code == 0
    return invoke, db


def test_backup_is_a_consistent_private_copy_while_another_process_writes(run, tmp_path):
    invoke, db = run
    writer = sqlite3.connect(db)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE plans SET title = 'uncommitted'")
    try:
        result = invoke("backup", str(tmp_path / "backups"))
    finally:
        writer.rollback()
        writer.close()
    assert result.exit_code == 0, result.output
    copies = list((tmp_path / "backups").glob("reminder-*.db"))
    assert len(copies) == 1 and str(copies[0]) in result.output
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    with sqlite3.connect(copies[0]) as copy:
        assert copy.execute("SELECT title FROM plans").fetchall() == [("某县2021年政务公开任务分工",)]
        assert copy.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
    assert not list((tmp_path / "backups").glob("*.partial"))


def test_backup_keep_removes_the_oldest_copies(run, tmp_path):
    invoke, _ = run
    folder = tmp_path / "backups"
    folder.mkdir()
    for stamp in ("20200101-000000", "20200102-000000", "20200103-000000"):
        (folder / f"reminder-{stamp}.db").write_bytes(b"old")
    result = invoke("backup", str(folder), "--keep", "2")
    assert result.exit_code == 0 and "removed 2 older" in result.output
    names = sorted(p.name for p in folder.glob("reminder-*.db"))
    assert len(names) == 2 and names[0] == "reminder-20200103-000000.db"


def test_backup_to_an_unwritable_place_says_so(run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "live.db"), "backup", str(blocker / "sub")])
    assert result.exit_code == 1 and "cannot write the backup" in result.output
