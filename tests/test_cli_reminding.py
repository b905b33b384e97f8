"""The reminding commands: tick, notices, retry, done, progress, status, event, digest, units import."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reminder.cli import cli
from tests.conftest import invoke, write_config

PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 任务甲。 | 县财政局 | 2021年9月30日前 |\n"
        "| 2 | 任务乙。 | 县审计局 | 持续推进 |\n"
        "| 3 | 文件印发后公开。 | 县财政局 | 印发后3个工作日内 |\n")


@pytest.fixture
def env(tmp_path):
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    config = write_config(tmp_path, database=tmp_path / "r.db", policy={"max_attempts": 2})

    def run(*args):
        return invoke(config, *args)
    assert run("import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00").exit_code == 0
    return run, tmp_path


def test_tick_dry_run_writes_nothing_then_tick_delivers_to_files(env):
    run, tmp = env
    dry = json.loads(run("tick", "--now", "2021-09-30T10:00", "--dry-run", "--json").output)
    assert dry["messages"] >= 1 and any(p["unit"] == "县财政局" for p in dry["preview"])
    assert json.loads(run("notices", "--json").output) == []
    real = json.loads(run("tick", "--now", "2021-09-30T10:00", "--json").output)
    assert real["delivered"]["sent"] == real["messages"] >= 1
    listed = json.loads(run("notices", "--json").output)
    finance = [n for n in listed if n["unit"] == "县财政局"]
    assert finance and finance[0]["status"] == "sent" and finance[0]["tasks"] == ["1"]
    assert {"id", "unit", "channel", "stage", "status", "attempts", "tasks", "created_at", "sent_at"} <= set(finance[0])
    assert len(list((tmp / "outbox").glob("*.eml"))) == real["messages"]


def test_done_stops_notices_and_status_shows_it(env):
    run, _ = env
    run("tick", "--now", "2021-09-30T10:00")
    result = run("done", "1", "--unit", "县财政局", "--note", "已完成")
    assert result.exit_code == 0 and "done" in result.output
    run("tick", "--now", "2021-10-20T10:00")
    units = {p["unit"] for p in json.loads(run("notices", "--json").output) if p["stage"] == "overdue"}
    assert "县财政局" not in units
    status = json.loads(run("status", "--json").output)
    finance = next(r for r in status if r["unit"] == "县财政局")
    assert (finance["open"], finance["done"]) == (1, 1)


def test_progress_on_an_ongoing_task_resets_its_checkins(env):
    run, _ = env
    assert run("progress", "2", "--unit", "审计局", "--note", "已开展").exit_code == 0  # part of the name works
    run("tick", "--now", "2021-07-02T10:00")
    checkins = [n for n in json.loads(run("notices", "--json").output) if n["unit"] == "县审计局"]
    assert checkins == []  # progress recorded "now" (after 06-01): next check-in is 30 days after it


def test_relative_deadline_waits_for_its_event(env):
    run, _ = env
    before = json.loads(run("tick", "--now", "2021-07-09T10:00", "--json", "--dry-run").output)
    assert not any("文件印发" in p["text"] for p in before["preview"])
    result = run("event", "3", "--date", "2021-07-01")
    assert result.exit_code == 0 and "印发" in result.output
    after = json.loads(run("tick", "--now", "2021-07-09T10:00", "--json", "--dry-run").output)
    assert any("文件印发后公开" in p["text"] for p in after["preview"])


def test_unknown_unit_or_task_is_a_clear_error(env):
    run, _ = env
    result = CliRunner().invoke(cli, ["--config", str(env[1] / "config.toml"), "done", "1", "--unit", "县教育局"])
    assert result.exit_code == 1 and "县财政局" in result.output
    result = CliRunner().invoke(cli, ["--config", str(env[1] / "config.toml"), "done", "99", "--unit", "县财政局"])
    assert result.exit_code == 1


def test_retry_requeues_a_dead_message(env, tmp_path):
    run, tmp = env
    (tmp / "outbox").write_text("not a folder")  # the file channel cannot write: transient, then dead
    run("tick", "--now", "2021-09-30T10:00")
    run("tick", "--now", "2021-09-30T12:00")
    dead = json.loads(run("notices", "--status", "dead", "--json").output)
    assert dead and dead[0]["attempts"] == 2
    (tmp / "outbox").unlink()
    result = run("retry", str(dead[0]["id"]))
    assert result.exit_code == 0 and "'sent': 1" in result.output
    still_dead = {n["id"] for n in json.loads(run("notices", "--status", "dead", "--json").output)}
    assert dead[0]["id"] not in still_dead
    sent = {n["id"] for n in json.loads(run("notices", "--status", "sent", "--json").output)}
    assert dead[0]["id"] in sent


def test_digest_dry_run_prints_the_office_digest(env):
    run, _ = env
    run("tick", "--now", "2021-10-20T10:00")
    result = run("digest", "--now", "2021-10-20T16:00", "--dry-run")
    assert result.exit_code == 0
    assert "【政务公开任务督办】" in result.output and "县财政局" in result.output


def test_units_import_prints_toml(env, tmp_path):
    run, _ = env
    (tmp_path / "units.csv").write_text("单位名称,别名,邮箱\n县财政局,财政局,cz@example.gov.cn\n", encoding="utf-8")
    result = run("units", "import", str(tmp_path / "units.csv"))
    assert result.exit_code == 0
    assert "[[units]]" in result.output and "cz@example.gov.cn" in result.output


def test_units_import_write_appends_atomically_and_fails_with_a_message(tmp_path):
    from tests.conftest import invoke

    sheet = tmp_path / "units.csv"
    sheet.write_text("单位名称,别名,邮箱\n县财政局,财政局,cz@example.gov.cn\n县审计局,,sj@example.gov.cn\n",
                     encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('# 本县配置\ndatabase = "r.db"\n\n[[units]]\nname = "县审计局"\n', encoding="utf-8")
    config.chmod(0o600)
    result = invoke(config, "units", "import", str(sheet), "--write")
    assert result.exit_code == 0 and "1 units added" in result.output and "县审计局" in result.output
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# 本县配置\n") and text.count("[[units]]") == 2 and "cz@example.gov.cn" in text
    assert (config.stat().st_mode & 0o777) == 0o600  # replaced, with its permissions kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".config.toml.")]  # no temporary left
    # A config that is not TOML: a message and exit 1, the file untouched.
    broken = tmp_path / "broken.toml"
    broken.write_text("[[units]\nname = \n", encoding="utf-8")
    result = invoke(None, "--config", str(broken), "units", "import", str(sheet), "--write")
    assert result.exit_code == 1 and "not valid TOML" in result.output and "Traceback" not in result.output
    assert broken.read_text(encoding="utf-8") == "[[units]\nname = \n"
    # A folder that does not exist: a message, exit 1.
    result = invoke(None, "--config", str(tmp_path / "nowhere" / "config.toml"), "units", "import", str(sheet),
                    "--write")
    assert result.exit_code == 1 and "does not exist" in result.output
