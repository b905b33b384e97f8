"""Input that used to end in a traceback (issue 10, point 12, the cases not covered by the readers' tests
in test_bad_input.py and test_formats_published.py): superscript digits in a task reference, TOML nested
deeper than any config, a runtime error inside a user's template. Each gets a clear message and exit
code from the real command line, and writes nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import write_config

PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 做好第1项政务公开工作。 | 县财政局 | 2021年9月30日前 |\n")


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), *args], check=False, capture_output=True,
                          text=True, timeout=60)


def clear_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: "), result.stderr
    assert all(word in result.stderr for word in words), result.stderr


@pytest.fixture
def site(tmp_path) -> Path:
    config = write_config(tmp_path, database=tmp_path / "r.db")
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    assert cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00").returncode == 0
    return config


@pytest.mark.parametrize("ref", ["¹-1", "²", "1-¹"])
def test_superscript_digits_in_a_task_reference_are_no_task(site, ref):
    """Unicode calls ¹ a digit, int() refuses it: `reminder done ¹-1` ended in a ValueError traceback."""
    clear_error(cli(site, "done", ref, "--unit", "县财政局"), f"no task {ref!r}")


def test_superscript_digits_as_a_plan_are_no_plan(site):
    clear_error(cli(site, "status", "--plan", "¹"), "no plan matches '¹'")
    listed = cli(site, "tasks", "--plan", "¹")
    assert listed.returncode == 0 and "no tasks match" in listed.stderr and "Traceback" not in listed.stderr


def test_full_width_digits_in_a_task_reference_still_work(site):
    done = cli(site, "done", "１-1", "--unit", "县财政局")  # typed with a Chinese input method
    assert done.returncode == 0 and "task 1-1 done" in done.stdout, done.stderr


@pytest.mark.parametrize("nested", ["x = " + "[" * 5000 + "]" * 5000, "x = " + "{a = " * 3000 + "1" + "}" * 3000])
def test_toml_nested_far_deeper_than_a_config_is_a_config_error(tmp_path, nested):
    config = tmp_path / "deep.toml"
    config.write_text(nested + "\n", encoding="utf-8")
    clear_error(cli(config, "tasks"), str(config), "nests tables or arrays far deeper")


def test_a_runtime_error_inside_a_user_template_names_the_file_and_line_and_sends_nothing(site):
    templates = site.parent / "templates"
    templates.mkdir()
    (templates / "unit.txt.j2").write_text('{% set subject = "提醒：" ~ unit %}\n{{ office }}\n{{ 1 // 0 }}\n',
                                           encoding="utf-8")
    config = write_config(site.parent, top=f'templates = "{templates}"', database=site.parent / "r.db")
    clear_error(cli(config, "tick", "--now", "2021-10-08T10:00"), "config key 'templates'",
                f"{templates / 'unit.txt.j2'}:3", "ZeroDivisionError")
    with closing(sqlite3.connect(site.parent / "r.db")) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert not (site.parent / "outbox").exists()
