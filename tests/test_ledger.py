"""The 台账 and the 落实情况 paragraph from the CLI: rows and figures checked against the store."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl

from reminder import store
from reminder.ingest import read_plan
from reminder.ledger import HEADERS
from reminder.model import Actor, ActorKind
from tests.conftest import invoke, write_config
from tests.websupport import PLAN

NOW = datetime(2021, 10, 9, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _setup(tmp_path):
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    config = write_config(tmp_path, database=tmp_path / "r.db")
    db = store.open_db(tmp_path / "r.db")
    store.import_plans(db, [read_plan(tmp_path / "plan.txt")], NOW)
    task = store.get_task(db, "1-3")
    store.record_progress(db, next(a.id for a in task.assignments if a.unit == "县审计局"), "done", "已公开", NOW)
    db.close()
    return config


def test_the_ledger_and_the_paragraph_state_the_stores_figures(tmp_path):
    config = _setup(tmp_path)
    out = tmp_path / "ledger.xlsx"
    result = invoke(config, "export", "ledger", str(out))
    assert result.exit_code == 0, result.output
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == HEADERS and len(rows) == 1 + 5
    summary = invoke(config, "export", "summary")
    assert summary.exit_code == 0, summary.output
    text = summary.stdout
    db = store.open_db(tmp_path / "r.db")
    try:
        found = store.current_assignments(db)
    finally:
        db.close()
    tasks = {a.task.id for a in found}
    done = [a for a in found if a.status == "done"]
    assert f"明确的{len(tasks)}项任务分解到{len({a.unit for a in found})}个单位，共{len(found)}项分工" in text
    assert f"分工已办结{len(done)}项，办结率{100 * len(done) / len(found):.1f}%" in text
    assert "0项任务已全部办结，4项正在推进（其中3项逾期）" in text   # today is years after the plan: 1, 2, 4 overdue
    assert "逾期未办结的分工：县政务服务数据管理局1项、县民政局1项、县财政局1项。" in text


def test_exports_and_decisions_take_now_as_other_commands_do(tmp_path):
    config = _setup(tmp_path)
    summary = invoke(config, "export", "summary", "--now", "2021-10-09")
    assert summary.exit_code == 0, summary.output
    assert "截至2021年10月9日，0项任务已全部办结，4项正在推进（其中1项逾期）" in summary.stdout   # only 2 (9-30)
    out = tmp_path / "ledger.xlsx"
    assert invoke(config, "export", "ledger", str(out), "--now", "2021-10-09").exit_code == 0
    sheet = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    late = {row[HEADERS.index("责任单位")]: row[HEADERS.index("逾期天数")] for row in sheet[1:]
            if row[HEADERS.index("逾期天数")]}
    assert late == {"县民政局": 9}
    assert "is not a time" in invoke(config, "export", "summary", "--now", "yesterday").output

    db = store.open_db(tmp_path / "r.db")
    try:
        mine = store.find_assignment(db, "1-2", "县民政局")
        asked = store.request_extension(db, mine.id, Actor(ActorKind.UNIT, "县民政局"), NOW, date(2021, 11, 30), "等数据")
    finally:
        db.close()
    assert invoke(config, "ack", "1-2", "--unit", "县民政局", "--now", "2021-10-09T10:00").exit_code == 0
    decided = invoke(config, "decide", str(asked.id), "--accept", "--now", "2021-10-11T15:30")
    assert decided.exit_code == 0, decided.output
    db = store.open_db(tmp_path / "r.db")
    try:
        kept = {a.kind: a.at for a in store.history(db, unit="县民政局")}
    finally:
        db.close()
    zone = ZoneInfo("Asia/Shanghai")
    assert kept["ack"] == datetime(2021, 10, 9, 10, 0, tzinfo=zone)
    assert kept["approve"] == datetime(2021, 10, 11, 15, 30, tzinfo=zone)
