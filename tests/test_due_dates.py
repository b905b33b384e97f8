"""One effective due date per task, everywhere; and the 登记号 a notice prints is a ref every command takes.

Through the command line, on a real database file and the file channel's real .eml files."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

from tests.conftest import invoke, write_config

# 2021-10-30 is a Saturday: the task is really due on Monday 2021-11-01. 2021-10-01 is in the National
# Day holiday: due on Friday 2021-10-08 (the first working day after it).
PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 做好财政预决算公开。 | 县财政局 | 2021年10月30日前 |\n"
        "| 2 | 做好国庆前信息发布。 | 县审计局 | 2021年10月1日前 |\n")


def setup(tmp_path: Path, extra: str = "", plans: dict[str, str] | None = None):
    config = write_config(tmp_path, extra, database=tmp_path / "r.db")

    def run(*args):
        result = invoke(config, *args)
        assert result.exit_code == 0, result.output
        return result.output

    for name, text in (plans or {"plan.txt": PLAN}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        run("import", str(tmp_path / name), "--now", "2021-06-01T08:00")
    return run, config


def tasks(run, *args) -> dict[str, dict]:
    return {t["id"]: t for t in json.loads(run("tasks", "--json", *args))}


def test_tasks_due_before_the_digest_and_the_notice_show_the_working_day_due_date(tmp_path):
    run, _ = setup(tmp_path)
    listed = tasks(run)
    assert (listed["1-1"]["due"], listed["1-1"]["due_written"]) == ("2021-11-01", "2021-10-30")
    assert (listed["1-2"]["due"], listed["1-2"]["due_written"]) == ("2021-10-08", "2021-10-01")
    assert "2021-11-01" in run("tasks") and "2021-10-30" not in run("tasks")
    # --due-before compares the effective date: due on 11-01, not before 10-31
    assert set(tasks(run, "--due-before", "2021-10-31")) == {"1-2"}
    assert set(tasks(run, "--due-before", "2021-11-01")) == {"1-1", "1-2"}
    # the digest on Friday 10-29: 1-1 is due within the week on 11-01 (3 days), not overdue; only 1-2 is
    digest = run("digest", "--now", "2021-10-29T16:00", "--dry-run")
    assert "逾期1项，近期到期1项" in digest.splitlines()[0]
    assert "完成日期：2021年11月1日，距到期还有3天" in digest and "已逾期21天" in digest
    # on Saturday 10-30 1-1 is still not overdue; on Tuesday 11-02 it is, by one day
    assert "逾期1项，近期到期1项" in run("digest", "--now", "2021-10-30T16:00", "--dry-run").splitlines()[0]
    later = run("digest", "--now", "2021-11-02T16:00", "--dry-run")
    assert "逾期2项" in later.splitlines()[0] and "已逾期1天" in later
    # the due-day notice goes out on Monday and names Monday
    run("tick", "--now", "2021-11-01T10:00")
    notice = _emails(tmp_path, "县财政局")[-1]
    assert notice["subject"].startswith("【到期提醒】")
    assert "2021年11月1日" in notice.get_body(("plain",)).get_content()


def test_a_calendar_override_moves_the_stored_due_dates_and_the_planner_follows(tmp_path):
    run, config = setup(tmp_path)
    assert tasks(run)["1-1"]["due"] == "2021-11-01"
    # The office declares Saturday 10-30 a working day (as a 调休 would): the task is due that day.
    config.write_text(config.read_text(encoding="utf-8") + '[calendar]\nextra_workdays = [2021-10-30]\n',
                      encoding="utf-8")
    assert tasks(run)["1-1"]["due"] == "2021-10-30"
    run("tick", "--now", "2021-10-30T10:00")
    assert _emails(tmp_path, "县财政局")[-1]["subject"].startswith("【到期提醒】")


def test_the_registration_number_in_a_notice_is_a_ref_that_finds_the_right_task_among_two_plans(tmp_path):
    """Both plans have a task 1 for 县财政局. The notice prints each task's ref, and `reminder done` with
    it closes that plan's task only, also after a third plan is imported."""
    other = PLAN.replace("某县2021年政务公开任务分工", "某县2021年政务公开重点工作清单").replace(
        "做好财政预决算公开。", "推进政府信息主动公开。")
    run, config = setup(tmp_path, plans={"a.txt": PLAN, "b.txt": other})
    run("tick", "--now", "2021-11-01T10:00")
    [notice] = _emails(tmp_path, "县财政局")
    body = notice.get_body(("plain",)).get_content()
    refs = re.findall(r"登记号：(\S+)", body)
    assert sorted(refs) == ["1-1", "2-1"]
    assert body.index("推进政府信息主动公开") > body.index("做好财政预决算公开")  # plan 2's task is listed second
    third = PLAN.replace("某县2021年政务公开任务分工", "另一县2021年任务分工")
    (tmp_path / "c.txt").write_text(third, encoding="utf-8")
    run("import", str(tmp_path / "c.txt"), "--now", "2021-06-01T08:00")
    second_ref = refs[1]
    assert "done" in run("done", second_ref, "--unit", "县财政局")
    listed = tasks(run, "--unit", "县财政局")
    assert listed["2-1"]["status"] == "done" and "推进政府信息主动公开" in listed["2-1"]["text"]
    assert listed["1-1"]["status"] == "open" and listed["3-1"]["status"] == "open"


def _emails(tmp_path: Path, unit: str) -> list[email.message.EmailMessage]:
    """The .eml files the file channel wrote for ``unit``, oldest first."""
    found = []
    for path in sorted((tmp_path / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if unit in message["subject"]:
            found.append(message)
    return found
