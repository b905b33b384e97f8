"""The four real plans parse to exactly what the office published; the annual report is refused."""

from __future__ import annotations

from datetime import date

import pytest

from reminder.errors import InputError
from reminder.ingest import read_plan
from reminder.model import DeadlineKind, Every
from tests.conftest import seed_path

EXPECTED = {
    # seed prefix: (tasks, plan year, issued)
    "000": (46, 2021, None),
    "001": (57, 2022, date(2022, 6, 17)),
    "002": (32, 2021, None),
    "003": (28, 2021, date(2021, 9, 10)),
}


@pytest.fixture(scope="module")
def plans():
    return {prefix: read_plan(seed_path(prefix)) for prefix in EXPECTED}


def task(plan, number):
    return next(t for t in plan.tasks if t.number == str(number))


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_seed_counts_year_issue_date(plans, prefix):
    count, year, issued = EXPECTED[prefix]
    plan = plans[prefix]
    assert len(plan.tasks) == count
    assert plan.plan_year == year
    assert plan.issued == issued


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_seed_tasks_numbered_in_order_with_text_and_units(plans, prefix):
    plan = plans[prefix]
    assert [t.number for t in plan.tasks] == [str(n) for n in range(1, len(plan.tasks) + 1)]
    for t in plan.tasks:
        assert t.text, f"task {t.number} has no text"
        assert not t.text[0].isdigit() or not t.text.startswith(t.number + "."), t.text[:10]
        assert t.units, f"task {t.number} has no units"


def test_002_spot_checks(plans):
    plan = plans["002"]
    assert plan.title == "榕江县2021年政务公开工作方案责任分解表"
    six = task(plan, 6)
    assert six.deadline.due == date(2021, 10, 30)
    assert six.lead_units == ("县财政局",)
    assert task(plan, 17).deadline.due == date(2021, 9, 30)
    assert task(plan, 24).deadline.due == date(2021, 9, 30)
    last = task(plan, 32)
    assert last.deadline.due == date(2021, 6, 30)
    assert [m.what for m in last.deadline.milestones] == ["制定工作方案"]
    assert task(plan, 5).deadline.kind is DeadlineKind.ONGOING
    units = task(plan, 25).units
    assert len(units) == 7 and "州生态环境局榕江县分局" in units
    assert task(plan, 1).section == ("一、紧扣“十四五”开好局起好步深化政务公开", "（一）主动公开各类规划信息")
    assert task(plan, 15).units == ("县直各部门", "各乡镇人民政府")


def test_000_spot_checks(plans):
    plan = plans["000"]
    assert plan.title == "从化区2021年政务公开工作要点分工方案"
    assert task(plan, 7).lead_units == ("区财政局",)
    assert task(plan, 8).units == task(plan, 7).units
    assert task(plan, 8).lead_units == ("区财政局",)
    assert task(plan, 10).units == task(plan, 9).units
    assert "区农业农村局" in task(plan, 9).units
    for number in (28, 32):
        assert task(plan, number).deadline.kind is DeadlineKind.FIXED
        assert task(plan, number).deadline.due == date(2021, 12, 31)
    assert task(plan, 39).deadline.kind is DeadlineKind.RECURRING
    assert task(plan, 39).deadline.every is Every.YEAR
    # A year used as a label is not a deadline; nor is a document number.
    assert task(plan, 44).deadline.kind is not DeadlineKind.FIXED
    assert task(plan, 38).deadline.kind is not DeadlineKind.FIXED
    # The heading repeated after a page break is not duplicated in the section path.
    assert task(plan, 20).section == ("二、紧扣宏观政策落地见效深化政务公开", "（二）不断改进政策解读工作方式。")


def test_001_spot_checks(plans):
    plan = plans["001"]
    assert plan.title == "珠海市贯彻落实国家和省2022年政务公开工作要点分工方案"
    for number in (1, 2):
        assert set(task(plan, number).units) == {"市政府办公室", "市司法局"}
    assert task(plan, 11).lead_units == ("市卫生健康局", "市政务服务数据管理局")
    assert task(plan, 45).deadline.due == date(2022, 12, 31)
    assert task(plan, 19).section[-1] == "（三）围绕扩大有效投资、推动国家重大发展战略落地落实加强信息公开。"
    assert task(plan, 35).units == task(plan, 34).units


def test_003_spot_checks(plans):
    plan = plans["003"]
    assert plan.title == "淮南市人民政府办公室2021年政务公开重点工作任务分工"
    four = task(plan, 4)
    assert four.units == ("行财科",)
    assert four.deadline.due == date(2021, 12, 31)
    assert task(plan, 24).deadline.kind is DeadlineKind.ONGOING
    assert all("姓" not in t.text and "验 证 码" not in t.text for t in plan.tasks)
    assert "意见或建议" not in task(plan, 28).text
    assert any("not imported" in w for w in plan.warnings)  # the feedback form is reported, not a task


def test_annual_report_is_refused():
    with pytest.raises(InputError, match="no task table found") as raised:
        read_plan(seed_path("004"))
    assert "004_" in str(raised.value)


def test_annual_report_is_refused_by_the_cli_with_the_reason_and_exit_1():
    from click.testing import CliRunner

    from reminder.cli import cli

    result = CliRunner().invoke(cli, ["parse", str(seed_path("004")), "--json"])
    assert result.exit_code == 1
    assert "no task table found" in result.output and "004_" in result.output
