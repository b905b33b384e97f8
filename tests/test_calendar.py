"""The calendar says what it does not know: `reminder calendar`, and the warnings at import, in `reminder
tasks` and in the digest for a year the holidays package (and the config) do not cover."""

from __future__ import annotations

import json
from datetime import date

from reminder.workdays import CONFIG_SOURCE, Calendar, library_source
from tests.conftest import invoke, write_config

NOTE_2027 = "2027年节假日安排尚未载入，按周末计算"
PLAN_2027 = ("某县2027年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
             "| 1 | 做好财政预决算公开。 | 县财政局 | 2027年10月8日前 |\n")


def runner(tmp_path, extra: str = ""):
    config = write_config(tmp_path, extra, database=tmp_path / "r.db")

    def run(*args):
        return invoke(config, *args)
    return run


def test_the_schedule_of_a_covered_year_names_each_day_and_its_source():
    calendar = Calendar(extra_holidays=[date(2026, 12, 31)], extra_workdays=[date(2026, 10, 4)])
    schedule = calendar.schedule(2026)
    assert schedule.covered
    rest = {d.day: d for d in schedule.rest_days}
    assert rest[date(2026, 1, 1)].name == "元旦" and rest[date(2026, 1, 1)].source == library_source()
    assert rest[date(2026, 12, 31)].source == CONFIG_SOURCE
    work = {d.day: d for d in schedule.workdays}
    assert work[date(2026, 1, 4)].name == "调休上班（1月2日休息）"  # the Sunday worked for Friday 01-02
    assert work[date(2026, 10, 4)].source == CONFIG_SOURCE
    assert calendar.coverage_note(2026) is None and calendar.uncovered([2025, 2026]) == []


def test_an_uncovered_year_has_a_note_unless_the_config_gives_its_days():
    assert Calendar().coverage_note(2027) == NOTE_2027 and Calendar().uncovered([2026, 2027, 2028]) == [2027, 2028]
    assert not Calendar().schedule(2027).covered and Calendar().schedule(2027).rest_days == ()
    typed = Calendar(extra_holidays=[date(2027, 2, 5)])
    assert typed.coverage_note(2027) is None and typed.schedule(2027).covered


def test_the_calendar_command_shows_days_sources_and_coverage(tmp_path):
    run = runner(tmp_path, "[calendar]\nextra_holidays = [2027-02-05]\nextra_workdays = [2027-02-20]\n")
    shown = run("calendar", "2026")
    assert shown.exit_code == 0
    assert "covers 2001-2026" in shown.output and "adds 1 holidays and 1 workdays" in shown.output
    assert "2026-10-01 周四  holidays" in shown.output and "国庆节" in shown.output
    assert "2026-01-04 周日" in shown.output and "调休上班" in shown.output
    data = json.loads(run("calendar", "2027", "--json").output)
    assert data["covered"] and 2027 in data["covered_years"]
    assert data["rest_days"] == [{"date": "2027-02-05", "name": "节假日", "source": CONFIG_SOURCE}]
    assert data["workdays"] == [{"date": "2027-02-20", "name": "调休上班", "source": CONFIG_SOURCE}]
    (tmp_path / "bare").mkdir()
    bare = runner(tmp_path / "bare")("calendar", "2028")
    assert bare.exit_code == 0 and "2028年节假日安排尚未载入，按周末计算" in bare.output
    assert "only Saturdays and Sundays" in bare.output


def test_a_plan_in_an_uncovered_year_warns_at_import_in_tasks_and_in_the_digest(tmp_path):
    run = runner(tmp_path)
    (tmp_path / "plan.txt").write_text(PLAN_2027, encoding="utf-8")
    imported = run("import", str(tmp_path / "plan.txt"), "--now", "2027-06-01T08:00")
    assert imported.exit_code == 0 and NOTE_2027 in imported.output and "[calendar]" in imported.output
    as_json = json.loads(run("import", str(tmp_path / "plan.txt"), "--json").output.splitlines()[0])
    assert as_json["calendar_warnings"] == [NOTE_2027]
    listed = run("tasks")
    assert listed.exit_code == 0 and NOTE_2027 in listed.output
    # 2027-10-08 is a Friday, a working day by weekends only (the real schedule may differ): said so
    assert "2027-10-08" in listed.output
    digest = run("digest", "--now", "2027-09-30T16:00", "--dry-run").output
    assert f"注：{NOTE_2027}" in digest
    # once the config gives 2027's days, nothing is said any more
    covered = runner(tmp_path, "[calendar]\nextra_holidays = [2027-10-01, 2027-10-04]\n")
    assert NOTE_2027 not in covered("tasks").output
    assert NOTE_2027 not in covered("digest", "--now", "2027-09-30T16:00", "--dry-run").output


def test_a_covered_plan_says_nothing_about_the_calendar(tmp_path):
    run = runner(tmp_path)
    (tmp_path / "plan.txt").write_text(PLAN_2027.replace("2027", "2021"), encoding="utf-8")
    assert "节假日安排尚未载入" not in run("import", str(tmp_path / "plan.txt")).output
    assert "节假日安排尚未载入" not in run("digest", "--now", "2021-09-30T16:00", "--dry-run").output
