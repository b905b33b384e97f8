"""deadline.parse: case tables for every rule of DESIGN.md "Deadlines", plus hypothesis properties.

Each case names the substring of the input that ``span`` must cover (``span_text``), so a wrong span fails
and the table stays readable.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminder import deadline
from reminder.deadline import parse
from reminder.model import Deadline, DeadlineKind, Every, Milestone, Offset, OffsetUnit
from reminder.textnorm import normalize

PLAN_YEAR = 2021
D = date


def _span_text(result: Deadline) -> str | None:
    return None if result.span is None else result.text[result.span[0]:result.span[1]]


# ---------------------------------------------------------------------------------------------------------
# fixed: (text, due, inferred_year, span_text)
# ---------------------------------------------------------------------------------------------------------
FIXED = [
    # full dates and their markers
    ("2021年9月30日前", D(2021, 9, 30), False, "2021年9月30日前"),
    ("2021年10月30日前", D(2021, 10, 30), False, "2021年10月30日前"),
    ("2021年9月30日", D(2021, 9, 30), False, "2021年9月30日"),
    ("2021年9月30日之前", D(2021, 9, 30), False, "2021年9月30日之前"),
    ("2021年6月30日以前", D(2021, 6, 30), False, "2021年6月30日以前"),
    ("2021年9月30号前", D(2021, 9, 30), False, "2021年9月30号前"),
    ("9月30日前", D(2021, 9, 30), True, "9月30日前"),
    # month ends
    ("9月底前", D(2021, 9, 30), True, "9月底前"),
    ("2021年9月底前", D(2021, 9, 30), False, "2021年9月底前"),
    ("6月末", D(2021, 6, 30), True, "6月末"),
    ("2月底前", D(2021, 2, 28), True, "2月底前"),
    ("2024年2月底", D(2024, 2, 29), False, "2024年2月底"),
    # year ends and whole-year words
    ("年底前", D(2021, 12, 31), True, "年底前"),
    ("2021年底前", D(2021, 12, 31), False, "2021年底前"),
    ("2021年年底前", D(2021, 12, 31), False, "2021年年底前"),
    ("年内", D(2021, 12, 31), True, "年内"),
    ("年末", D(2021, 12, 31), True, "年末"),
    ("全年", D(2021, 12, 31), True, "全年"),
    ("2021年内", D(2021, 12, 31), False, "2021年内"),
    ("2021年度内完成", D(2021, 12, 31), False, "2021年度内"),
    ("今年底前", D(2021, 12, 31), True, "今年底前"),
    # half years
    ("上半年", D(2021, 6, 30), True, "上半年"),
    ("年中", D(2021, 6, 30), True, "年中"),
    ("下半年", D(2021, 12, 31), True, "下半年"),
    ("2022年上半年", D(2022, 6, 30), False, "2022年上半年"),
    ("下半年启动", D(2021, 12, 31), True, "下半年"),
    # quarters
    ("一季度", D(2021, 3, 31), True, "一季度"),
    ("第一季度", D(2021, 3, 31), True, "第一季度"),
    ("一季度末", D(2021, 3, 31), True, "一季度末"),
    ("二季度", D(2021, 6, 30), True, "二季度"),
    ("第三季度前", D(2021, 9, 30), True, "第三季度前"),
    ("四季度", D(2021, 12, 31), True, "四季度"),
    ("2022年第1季度", D(2022, 3, 31), False, "2022年第1季度"),
    # 旬
    ("9月上旬", D(2021, 9, 10), True, "9月上旬"),
    ("9月中旬", D(2021, 9, 20), True, "9月中旬"),
    ("9月下旬", D(2021, 9, 30), True, "9月下旬"),
    ("2月下旬", D(2021, 2, 28), True, "2月下旬"),
    # bare months
    ("2021年12月", D(2021, 12, 31), False, "2021年12月"),
    ("9月份", D(2021, 9, 30), True, "9月份"),
    ("11月", D(2021, 11, 30), True, "11月"),
    ("9月前", D(2021, 9, 30), True, "9月前"),
    # next year
    ("次年3月", D(2022, 3, 31), True, "次年3月"),
    ("次年3月底前", D(2022, 3, 31), True, "次年3月底前"),
    ("明年6月30日前", D(2022, 6, 30), True, "明年6月30日前"),
    ("明年底", D(2022, 12, 31), True, "明年底"),
    # ranges -> their end
    ("6月至9月", D(2021, 9, 30), True, "6月至9月"),
    ("6-9月", D(2021, 9, 30), True, "6-9月"),
    ("2021年6月—12月", D(2021, 12, 31), False, "2021年6月—12月"),
    ("2021年6月-2022年3月", D(2022, 3, 31), False, "2021年6月-2022年3月"),
    ("2021年6月1日至9月30日", D(2021, 9, 30), False, "2021年6月1日至9月30日"),
    # spreadsheet forms
    ("2021.06.30", D(2021, 6, 30), False, "2021.06.30"),
    ("2021/9/30", D(2021, 9, 30), False, "2021/9/30"),
    ("2021-09-30", D(2021, 9, 30), False, "2021-09-30"),
    ("2020.12", D(2020, 12, 31), False, "2020.12"),
    ("2021.9", D(2021, 9, 30), False, "2021.9"),
    ("2021.06.30前", D(2021, 6, 30), False, "2021.06.30前"),
    # Chinese numerals, full width, traditional, PDF spaces
    ("二〇二一年九月三十日", D(2021, 9, 30), False, "二〇二一年九月三十日"),
    ("二〇二一年九月三十日前", D(2021, 9, 30), False, "二〇二一年九月三十日前"),
    ("二零二一年十二月底", D(2021, 12, 31), False, "二零二一年十二月底"),
    ("十二月底", D(2021, 12, 31), True, "十二月底"),
    ("九月二十日前", D(2021, 9, 20), True, "九月二十日前"),
    ("十月廿一日", D(2021, 10, 21), True, "十月廿一日"),
    ("元月底", D(2021, 1, 31), True, "元月底"),
    ("２０２１年９月３０日前", D(2021, 9, 30), False, "２０２１年９月３０日前"),
    ("１２月底前", D(2021, 12, 31), True, "１２月底前"),
    ("２０２１．０６．３０", D(2021, 6, 30), False, "２０２１．０６．３０"),
    ("年底前完成第一階段任務", D(2021, 12, 31), True, "年底前"),
    ("2021年9月30日前完成第三季度任務", D(2021, 9, 30), False, "2021年9月30日前完成第三季度"),
    ("12 月底前", D(2021, 12, 31), True, "12 月底前"),
    ("2021 年 9 月 30 日前", D(2021, 9, 30), False, "2021 年 9 月 30 日前"),
    ("\u3000 2021年底前 ", D(2021, 12, 31), False, "2021年底前"),
    # 截至 in a short cell is a date
    ("截至2021年9月30日", D(2021, 9, 30), False, "2021年9月30日"),
    ("截止9月底", D(2021, 9, 30), True, "9月底"),
    # ongoing work with a date is fixed at that date
    ("持续推进，年底前完成阶段性任务", D(2021, 12, 31), True, "年底前"),
    ("長期堅持，2021年底前完成", D(2021, 12, 31), False, "2021年底前"),
    # a processing time beside a date takes the date
    ("6月底前……压缩至90个工作日以内", D(2021, 6, 30), True, "6月底前"),
    # noise around
    ("[bookmark: _Hlk1]2021年底前", D(2021, 12, 31), False, "2021年底前"),
    ("32.2021年底前", D(2021, 12, 31), False, "2021年底前"),
]


@pytest.mark.parametrize(("text", "due", "inferred", "span_text"), FIXED)
def test_fixed(text: str, due: date, inferred: bool, span_text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.FIXED
    assert result.due == due
    assert result.inferred_year is inferred
    assert _span_text(result) == span_text
    assert result.text == text
    assert result.every is None and result.offset is None


def test_fixed_cell_with_one_date_and_words_after_has_one_milestone() -> None:
    result = parse("2021年6月30日前制定工作方案", PLAN_YEAR)
    assert result.due == D(2021, 6, 30)
    assert result.milestones == (Milestone(D(2021, 6, 30), "制定工作方案"),)
    assert _span_text(result) == "2021年6月30日前"


def test_fixed_cell_with_only_a_date_has_no_milestone() -> None:
    assert parse("2021年9月30日前", PLAN_YEAR).milestones == ()


# (text, milestones, due, inferred, span_text)
MILESTONES = [
    (
        "2021年6月30日前制定工作方案，12月底前完成",
        [(D(2021, 6, 30), "制定工作方案"), (D(2021, 12, 31), "完成")],
        D(2021, 12, 31), False, "2021年6月30日前制定工作方案，12月底前",
    ),
    (
        "6月30日前制定方案，12月底前完成",
        [(D(2021, 6, 30), "制定方案"), (D(2021, 12, 31), "完成")],
        D(2021, 12, 31), True, "6月30日前制定方案，12月底前",
    ),
    (
        "9月底前完成摸底；年底前全面完成整改",
        [(D(2021, 9, 30), "完成摸底"), (D(2021, 12, 31), "全面完成整改")],
        D(2021, 12, 31), True, "9月底前完成摸底；年底前",
    ),
    (
        "制定方案：2021年6月底前；全面完成：2021年12月底前",
        [(D(2021, 6, 30), "制定方案"), (D(2021, 12, 31), "全面完成")],
        D(2021, 12, 31), False, "2021年6月底前；全面完成：2021年12月底前",
    ),
    (
        "2022年3月底前报送总结，2021年12月底前完成",  # due is the latest, order kept as written
        [(D(2022, 3, 31), "报送总结"), (D(2021, 12, 31), "完成")],
        D(2022, 3, 31), False, "2022年3月底前报送总结，2021年12月底前",
    ),
]


@pytest.mark.parametrize(("text", "milestones", "due", "inferred", "span_text"), MILESTONES)
def test_milestones(text: str, milestones: list, due: date, inferred: bool, span_text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.FIXED
    assert [(m.due, m.what) for m in result.milestones] == milestones
    assert result.due == due
    assert result.inferred_year is inferred
    assert _span_text(result) == span_text


# ---------------------------------------------------------------------------------------------------------
# ongoing: (text, span_text)
# ---------------------------------------------------------------------------------------------------------
ONGOING = [
    ("持续推进", "持续推进"),
    ("长期坚持", "长期坚持"),
    ("常态化", "常态化"),
    ("持续开展", "持续开展"),
    ("长期", "长期"),
    ("日常", "日常"),
    ("長期堅持", "長期堅持"),
    ("持續推進", "持續推進"),
    ("按要求持续推进", "持续推进"),
    (" 持续 推进 ", "持续 推进"),
    ("常态化开展", "常态化开展"),
    # long text: a clause that is just the phrase
    ("健全政务公开工作机制，及时更新办事指南，完善配套制度，持续推进。", "持续推进"),
]


@pytest.mark.parametrize(("text", "span_text"), ONGOING)
def test_ongoing(text: str, span_text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.ONGOING
    assert result.due is None and result.milestones == () and result.every is None
    assert _span_text(result) == span_text


# ---------------------------------------------------------------------------------------------------------
# recurring: (text, every, due (anchor) or None, inferred, span_text)
# ---------------------------------------------------------------------------------------------------------
RECURRING = [
    ("每年至少1次", Every.YEAR, None, False, "每年至少1次"),
    ("每年一次", Every.YEAR, None, False, "每年一次"),
    ("每季度", Every.QUARTER, None, False, "每季度"),
    ("每季", Every.QUARTER, None, False, "每季"),
    ("每月", Every.MONTH, None, False, "每月"),
    ("每半年", Every.HALF_YEAR, None, False, "每半年"),
    ("每周", Every.WEEK, None, False, "每周"),
    ("每星期", Every.WEEK, None, False, "每星期"),
    ("定期", Every.UNSPECIFIED, None, False, "定期"),
    ("按月", Every.MONTH, None, False, "按月"),
    ("按季度", Every.QUARTER, None, False, "按季度"),
    ("按季度报送", Every.QUARTER, None, False, "按季度报送"),
    ("每季度報送", Every.QUARTER, None, False, "每季度報送"),
    ("每季度末", Every.QUARTER, None, False, "每季度末"),
    # a day inside the period: due = first such day from 1 January of the plan year
    ("每年1月31日前", Every.YEAR, D(2021, 1, 31), True, "每年1月31日前"),
    ("每年3月底前", Every.YEAR, D(2021, 3, 31), True, "每年3月底前"),
    ("每年年底前", Every.YEAR, D(2021, 12, 31), True, "每年年底前"),
    ("每月28日前", Every.MONTH, D(2021, 1, 28), True, "每月28日前"),
    ("每月底", Every.MONTH, D(2021, 1, 31), True, "每月底"),
    ("每月5号前报送", Every.MONTH, D(2021, 1, 5), True, "每月5号前报送"),
    # long text: only an explicit clause
    (
        "各镇（街、园区）、区直各单位主要负责同志每年至少听取1次政务公开工作汇报，专题研究部署政务公开工作。",
        Every.YEAR, None, False, "每年至少听取1次",
    ),
    (
        "各级、各部门政务公开领导小组要充分发挥统筹协调、监督调度作用，每年至少召开一次会议，及时研究解决问题。",
        Every.YEAR, None, False, "每年至少召开一次",
    ),
    ("各单位要每季度报送一次政务公开工作进展情况，确保工作落实到位。", Every.QUARTER, None, False, "每季度报送一次"),
]


@pytest.mark.parametrize(("text", "every", "due", "inferred", "span_text"), RECURRING)
def test_recurring(text: str, every: Every, due: date | None, inferred: bool, span_text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.RECURRING
    assert result.every is every
    assert result.due == due
    assert result.inferred_year is inferred
    assert result.milestones == ()
    assert _span_text(result) == span_text


@pytest.mark.parametrize(
    ("text", "issued", "due"),
    [
        ("每年1月31日前", D(2021, 3, 1), D(2022, 1, 31)),   # January already past when issued
        ("每年1月31日前", D(2021, 1, 10), D(2021, 1, 31)),
        ("每月28日前", D(2021, 6, 17), D(2021, 6, 28)),
        ("每月28日前", D(2021, 6, 29), D(2021, 7, 28)),
        ("每月28日前", D(2021, 12, 29), D(2022, 1, 28)),
        # June has no 31st: the anchor is the first period holding the day as written, so that the
        # planner can read "31" off it (June itself is still due on the 30th: see period_due_dates)
        ("每月31日前", D(2021, 6, 1), D(2021, 7, 31)),
        ("每月28日前", D(2020, 12, 20), D(2021, 1, 28)),   # issued before the plan year: from 1 January
        ("每月28日前", D(2030, 1, 1), D(2021, 1, 28)),     # issued after the plan year: ignored
    ],
)
def test_recurring_anchor_follows_issue_date(text: str, issued: date, due: date) -> None:
    assert parse(text, PLAN_YEAR, issued=issued).due == due


# ---------------------------------------------------------------------------------------------------------
# relative: (text, n, unit, after, span_text)
# ---------------------------------------------------------------------------------------------------------
RELATIVE = [
    ("印发后3个工作日内", 3, OffsetUnit.WORKDAY, "印发", "印发后3个工作日内"),
    ("收到申请之日起20个工作日内", 20, OffsetUnit.WORKDAY, "收到申请", "收到申请之日起20个工作日内"),
    ("自收到申请之日起20个工作日内", 20, OffsetUnit.WORKDAY, "收到申请", "收到申请之日起20个工作日内"),
    ("印发后三个工作日内", 3, OffsetUnit.WORKDAY, "印发", "印发后三个工作日内"),
    ("印發後３個工作日內", 3, OffsetUnit.WORKDAY, "印发", "印發後３個工作日內"),
    ("收到通知后15日内", 15, OffsetUnit.DAY, "收到通知", "收到通知后15日内"),
    ("发布之日起30天内", 30, OffsetUnit.DAY, "发布", "发布之日起30天内"),
    ("方案印发后1个月内", 1, OffsetUnit.MONTH, "方案印发", "方案印发后1个月内"),
    ("会议结束后两周内", 14, OffsetUnit.DAY, "会议结束", "会议结束后两周内"),
    ("5个工作日内", 5, OffsetUnit.WORKDAY, "", "5个工作日内"),  # short cell: event not written
    (
        "凡是涉及制发规范性文件的县直部门，应当在本部门规范性文件印发后3个工作日内，将文件定稿电子版发送至县政府办公室。",
        3, OffsetUnit.WORKDAY, "本部门规范性文件印发", "本部门规范性文件印发后3个工作日内",
    ),
]


@pytest.mark.parametrize(("text", "n", "unit", "after", "span_text"), RELATIVE)
def test_relative(text: str, n: int, unit: OffsetUnit, after: str, span_text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.RELATIVE
    assert result.offset == Offset(n, unit, after)
    assert result.due is None and result.every is None
    assert _span_text(result) == span_text


# ---------------------------------------------------------------------------------------------------------
# none
# ---------------------------------------------------------------------------------------------------------
NONE = [
    "", " ", "--", "—", "——", "-", "/", "无", "及时", "立即", "按要求", "当场", "当场办结", "及时更新",
    "\u3000", "？？？", "abc", "上一年度", "2020年以来", "第32号",
    "自2022年1月1日起施行", "自2021年10月1日起", "2021年6月以来",
    "截至目前已完成80%的任务。",
    "2月30日前", "2021年13月", "2021.13.01", "9月31日前",
    "2035年底前",  # a written year far from the plan's: a target, not this plan's deadline
    "2019年底前",
]


@pytest.mark.parametrize("text", NONE)
def test_none(text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.NONE
    assert result.due is None and result.span is None and result.milestones == ()
    assert result.every is None and result.offset is None and result.inferred_year is False
    assert result.text == text


# ---------------------------------------------------------------------------------------------------------
# long requirement texts: deadlines inside, and dates that are not deadlines
# (text, kind, due, span_text)
# ---------------------------------------------------------------------------------------------------------
LONG = [
    (
        "推进部门规范性文件统一公开，2021年底前通过政府网站政府信息公开专栏集中公开本部门现行有效规范性文件，并实现动态更新调整。",
        DeadlineKind.FIXED, D(2021, 12, 31), "2021年底前",
    ),
    ("32.2021年底前，政府网站全部支持互联网协议第6版。", DeadlineKind.FIXED, D(2021, 12, 31), "2021年底前"),
    (
        "落实《国务院办公厅关于进一步优化地方政务服务便民热线的指导意见》(国办发〔202053号)要求,2021年底前,"
        "除110119120122等紧急热线外,实现政务服务便民热线一个号码服务。",
        DeadlineKind.FIXED, D(2021, 12, 31), "2021年底前",
    ),
    (
        "全面推进规章和规范性文件集中统一公开，2021年9月底前，全县行政机关要将现行有效规章和规范性文件全部录入政策文件栏目。",
        DeadlineKind.FIXED, D(2021, 9, 30), "2021年9月底前",
    ),
    (
        "各区要及时公开涉农补贴申报信息，同时汇总当年面向农村的各类惠民惠农补贴资金实际发放结果，年底前将发放结果以村为单位公开。",
        DeadlineKind.FIXED, D(2021, 12, 31), "年底前",
    ),
    ("加强队伍建设，县直各部门和各乡镇人民政府年内至少开展1次政务公开专题培训。", DeadlineKind.FIXED, D(2021, 12, 31), "年内"),
    ("各地各部门要对照要求开展自查，2021年9月30日，全面完成清理工作。", DeadlineKind.FIXED, D(2021, 9, 30), "2021年9月30日"),
    ("各地要加快推进平台建设，确保2021年9月完成上线，并及时做好运维保障工作。", DeadlineKind.FIXED, D(2021, 9, 30), "2021年9月"),
    ("各单位要认真组织实施，于下半年启动专项检查，并将检查结果报区政务公开办。", DeadlineKind.FIXED, D(2021, 12, 31), "下半年"),
    ("做好历史公报数字化工作，次年3月底前将情况报送市政府办公室，逾期视为未完成。", DeadlineKind.FIXED, D(2022, 3, 31), "次年3月底前"),
    # processing time beside a date: the date
    (
        "深化工程建设项目审批制度改革，6月底前将审批时间压缩至90个工作日以内，并向社会公开。",
        DeadlineKind.FIXED, D(2021, 6, 30), "6月底前",
    ),
    # recurring and relative inside sentences
    (
        "各区、各部门主要负责同志每年至少听取1次政务公开工作汇报，专题研究部署政务公开工作。",
        DeadlineKind.RECURRING, None, "每年至少听取1次",
    ),
    # none: document numbers, labels, statuses, effective dates, vague vocabulary
    (
        "各级行政机关要严格落实《国务院办公厅政府信息与政务公开办公室关于政府信息公开年度报告有关事项的通知》"
        "（国办公开办函〔2019〕60号）文件要求，规范政府信息公开工作年度报告格式和内容。",
        DeadlineKind.NONE, None, None,
    ),
    ("认真贯彻落实《国务院办公厅关于印发2020年政务公开工作要点的通知》(国办发〔2020〕17号)要求。", DeadlineKind.NONE, None, None),
    ("按照国办发〔2019〕54号文件精神，进一步规范政府信息公开申请办理工作。", DeadlineKind.NONE, None, None),
    ("珠府办〔2022〕6号文件印发以来，各单位认真落实相关要求，取得积极成效。", DeadlineKind.NONE, None, None),
    ("建立本地区、本系统2021年政务公开工作重点任务台账，提出具体工作措施，明确具体分工。", DeadlineKind.NONE, None, None),
    ("将2022年政务公开工作要点落实情况作为政务公开考核的重要内容，确保各项任务落实到位。", DeadlineKind.NONE, None, None),
    ("对上一年度工作要点落实情况进行全面总结，及时查漏补缺，推动问题整改。", DeadlineKind.NONE, None, None),
    ("2020年以来，全区政务公开工作取得明显成效，公开质量进一步提升。", DeadlineKind.NONE, None, None),
    ("截至2021年6月底，全县已累计公开政府信息1.2万条，回应关切300余次。", DeadlineKind.NONE, None, None),
    ("截至目前已完成政府信息公开目录编制，正在开展动态调整。", DeadlineKind.NONE, None, None),
    ("《政府信息公开条例》自2019年5月15日起施行，各单位要认真贯彻执行。", DeadlineKind.NONE, None, None),
    ("市政府于2021年9月10日印发实施方案，各单位要认真贯彻落实。", DeadlineKind.NONE, None, None),
    ("2021年中央经济工作会议精神要认真贯彻落实，统一部署，扎实推进。", DeadlineKind.NONE, None, None),
    ("围绕实现全年经济社会发展目标任务，加强重大政策解读。", DeadlineKind.NONE, None, None),
    # ongoing and recurring words count anywhere in a sentence (issue 8); a named period would beat 定期
    ("8.持续深化地方政府债务信息公开，通过集中统一平台定期公开地方政府债务限额、余额等信息。", DeadlineKind.RECURRING, None, "定期公开"),
    ("加强政务公开队伍建设，定期组织开展政府信息公开工作培训和研讨交流，不断提升业务能力。", DeadlineKind.RECURRING, None, "定期组织"),
    # ... but not the noun phrase for the epidemic measures
    ("（四）做好常态化疫情防控信息公开，扎实做好疫苗接种信息公开和舆论引导工作。", DeadlineKind.NONE, None, None),
    ("进一步推进审批服务便民化，将审批时间压缩至90个工作日以内，并向社会公开。", DeadlineKind.NONE, None, None),
    ("统一月报格式，按照统一口径汇总各单位数据，做好分析研判。", DeadlineKind.NONE, None, None),
    ("到2035年基本实现社会主义现代化远景目标，政务公开制度体系更加完善。", DeadlineKind.NONE, None, None),
]


@pytest.mark.parametrize(("text", "kind", "due", "span_text"), LONG)
def test_long_texts(text: str, kind: DeadlineKind, due: date | None, span_text: str | None) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is kind
    assert result.due == due
    assert _span_text(result) == span_text


def test_long_text_milestone_is_the_clause_after_the_date() -> None:
    result = parse(LONG[0][0], PLAN_YEAR)
    assert result.milestones == (
        Milestone(D(2021, 12, 31), "通过政府网站政府信息公开专栏集中公开本部门现行有效规范性文件"),
    )
    assert result.span == (14, 21)


def test_ongoing_and_recurring_words_count_in_sentences_too_but_a_date_wins() -> None:
    assert parse("定期", PLAN_YEAR).kind is DeadlineKind.RECURRING
    assert parse("常态化", PLAN_YEAR).kind is DeadlineKind.ONGOING
    sentence = "按照有关要求，定期公开相关信息，做好常态化监测工作，持续深化公开内容。"
    result = parse(sentence, PLAN_YEAR)
    assert (result.kind, result.every) == (DeadlineKind.RECURRING, Every.UNSPECIFIED)
    dated = "按照有关要求，定期公开相关信息，做好常态化监测工作，持续深化公开内容，2021年9月底前完成目录编制。"
    assert (parse(dated, PLAN_YEAR).kind, parse(dated, PLAN_YEAR).due) == (DeadlineKind.FIXED, D(2021, 9, 30))


def test_plan_year_comes_from_the_caller_not_the_clock() -> None:
    assert parse("年底前", 2019).due == D(2019, 12, 31)
    assert parse("次年3月", 2030).due == D(2031, 3, 31)
    assert parse("2021年底前", 2021).inferred_year is False
    assert parse("年底前", 2021).inferred_year is True


def test_month_after_a_written_year_inherits_it_not_the_plan_year() -> None:
    result = parse("2022年6月30日前制定方案，12月底前完成", 2021)
    assert [m.due for m in result.milestones] == [D(2022, 6, 30), D(2022, 12, 31)]
    assert result.inferred_year is False


def test_as_dict_matches_the_json_contract() -> None:
    result = parse("2021年6月30日前制定工作方案，12月底前完成", PLAN_YEAR)
    assert result.as_dict() == {
        "text": "2021年6月30日前制定工作方案，12月底前完成",
        "kind": "fixed",
        "due": "2021-12-31",
        "milestones": [{"due": "2021-06-30", "what": "制定工作方案"}, {"due": "2021-12-31", "what": "完成"}],
        "every": None,
        "offset": None,
        "inferred_year": False,
        "span": [0, 23],
    }
    assert parse("印发后3个工作日内", PLAN_YEAR).as_dict()["offset"] == {"n": 3, "unit": "workday", "after": "印发"}


def test_span_points_into_the_original_text_with_noise_removed_in_between() -> None:
    text = "[bookmark: _Hlk72762406]區(qū)直各單位２０２１年底前完成"
    result = parse(text, PLAN_YEAR)
    assert result.due == D(2021, 12, 31)
    assert text[result.span[0]:result.span[1]] == "２０２１年底前"


def test_parse_never_raises_even_when_its_inside_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object) -> Deadline:
        raise RuntimeError("bug")

    monkeypatch.setattr(deadline, "_parse", boom)
    assert parse("2021年底前", PLAN_YEAR) == Deadline(text="2021年底前", kind=DeadlineKind.NONE)


def test_parse_accepts_none_as_empty_text() -> None:
    assert parse(None, PLAN_YEAR).kind is DeadlineKind.NONE  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------------------

# An alphabet rich in the parser's vocabulary, so random text reaches every branch.
VOCAB_ALPHABET = (
    "0123456789０１２３年月日号底末前后内以之至到—-~./年度季第旬上中下半全每按定期个工作天周起施行以来截至"
    "〇零一二两三四五六七八九十廿元次明今持续推进长期坚持常态化日常及时立即印发收到申请完成，,。；、：（）()〔〕《》 \u3000"
)
vocab_text = st.text(alphabet=VOCAB_ALPHABET, max_size=60)
any_text = st.one_of(st.text(max_size=200), vocab_text)


def _check_invariants(result: Deadline, text: str, plan_year: int) -> None:
    assert result.text == text
    if result.due is not None:
        assert plan_year - 1 <= result.due.year <= plan_year + 5
        assert 1 <= result.due.month <= 12
    for milestone in result.milestones:
        assert plan_year - 1 <= milestone.due.year <= plan_year + 5
    if result.kind is DeadlineKind.NONE:
        assert result.span is None and result.due is None
    else:
        assert result.span is not None
        start, end = result.span
        assert 0 <= start < end <= len(text)
    if result.kind is DeadlineKind.FIXED:
        assert result.due is not None
        assert not result.milestones or result.due == max(m.due for m in result.milestones)
    if result.kind is DeadlineKind.RECURRING:
        assert result.every is not None
    if result.kind is DeadlineKind.RELATIVE:
        assert result.offset is not None and result.offset.n > 0


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text, st.integers(min_value=1990, max_value=2100))
def test_inner_parser_never_needs_the_safety_net(text: str, plan_year: int) -> None:
    """Call the inner function: the outer try/except must stay a safety net, not hide bugs."""
    result = deadline._parse(text, plan_year, None)
    _check_invariants(result, text, plan_year)


@settings(max_examples=200, deadline=None)
@given(any_text, st.integers(min_value=1990, max_value=2100), st.dates())
def test_parse_with_any_issue_date_keeps_invariants(text: str, plan_year: int, issued: date) -> None:
    _check_invariants(deadline._parse(text, plan_year, issued), text, plan_year)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=50), st.integers())
def test_parse_never_raises_for_any_plan_year(text: str, plan_year: int) -> None:
    assert isinstance(parse(text, plan_year), Deadline)


@settings(max_examples=30, deadline=None)
@given(st.lists(vocab_text, min_size=1, max_size=5))
def test_parse_is_fast_on_long_text(parts: list[str]) -> None:
    text = "".join(parts) * 200  # up to ~60 kB
    started = time.perf_counter()
    parse(text, PLAN_YEAR)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "年" * 50_000, "2021年" * 10_000, "每年" * 10_000, "后1个工作日内" * 5000, "〔2019〕" * 10_000,
        "《" * 50_000, "持续推进，" * 10_000, "1" * 50_000, "6月至" * 10_000, "一二三四五六七八九十" * 5000,
    ],
)
def test_pathological_inputs_finish_quickly(text: str) -> None:
    started = time.perf_counter()
    result = parse(text, PLAN_YEAR)
    assert time.perf_counter() - started < 2.0
    _check_invariants(result, text, PLAN_YEAR)


years = st.integers(min_value=PLAN_YEAR - 1, max_value=PLAN_YEAR + 5)
real_dates = st.dates(min_value=D(PLAN_YEAR - 1, 1, 1), max_value=D(PLAN_YEAR + 5, 12, 31))
CN_DIGITS = "〇一二三四五六七八九"


def _cn_small(n: int) -> str:
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")) + (CN_DIGITS[ones] if ones else "")


@settings(max_examples=200, deadline=None)
@given(real_dates, st.sampled_from(["前", "之前", "", "以前"]), st.booleans(), st.booleans())
def test_any_written_date_reads_back(day: date, marker: str, chinese: bool, full_width: bool) -> None:
    if chinese:
        text = f"{''.join(CN_DIGITS[int(c)] for c in str(day.year))}年{_cn_small(day.month)}月{_cn_small(day.day)}日{marker}"
    else:
        text = f"{day.year}年{day.month}月{day.day}日{marker}"
    if full_width:
        text = text.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
    result = parse(text, PLAN_YEAR)
    assert (result.kind, result.due, result.inferred_year) == (DeadlineKind.FIXED, day, False)
    assert result.span == (0, len(text))


@settings(max_examples=200, deadline=None)
@given(real_dates, st.sampled_from([".", "/", "-"]), st.booleans())
def test_spreadsheet_dates_read_back(day: date, sep: str, pad: bool) -> None:
    fmt = "{:02d}" if pad else "{}"
    text = sep.join([str(day.year), fmt.format(day.month), fmt.format(day.day)])
    assert parse(text, PLAN_YEAR).due == day


@settings(max_examples=100, deadline=None)
@given(years, st.integers(min_value=1, max_value=12), st.sampled_from(["底前", "底", "末", "份", ""]))
def test_month_ends_read_back(year: int, month: int, suffix: str) -> None:
    import calendar

    result = parse(f"{year}年{month}月{suffix}", PLAN_YEAR)
    assert result.due == D(year, month, calendar.monthrange(year, month)[1])


@settings(max_examples=100, deadline=None)
@given(real_dates, st.sampled_from(["，", "。", "；", "、"]), st.text(alphabet="的工作要求单位部门落实", max_size=20))
def test_date_with_marker_found_inside_any_sentence(day: date, punct: str, filler: str) -> None:
    text = f"各单位要加强组织领导{punct}{day.year}年{day.month}月{day.day}日前{filler}完成相关工作任务。"
    result = parse(text, PLAN_YEAR)
    assert result.due == day
    assert result.text[result.span[0]:result.span[1]] == f"{day.year}年{day.month}月{day.day}日前"



# A deadline cell that is only a month.day, only a year, or every n periods (short cells only).
@pytest.mark.parametrize("text, kind, due, every, inferred", [
    ("9.30前", "fixed", date(2021, 9, 30), None, True),
    ("12/31", "fixed", date(2021, 12, 31), None, True),
    ("2021年", "fixed", date(2021, 12, 31), None, False),    # like a bare month: the period's last day
    ("2021年度", "fixed", date(2021, 12, 31), None, False),
    ("2022年底", "fixed", date(2022, 12, 31), None, False),
    ("每两个月", "recurring", None, "unspecified", False),
    ("每3个月报送", "recurring", None, "unspecified", False),
    ("9.31前", "none", None, None, False),                   # no such day
    ("13.40", "none", None, None, False),
    ("2030年", "none", None, None, False),                   # outside the plan's window: a target, not a deadline
])
def test_whole_short_cells(text, kind, due, every, inferred):
    result = parse(text, 2021)
    assert (str(result.kind), result.due, result.every and str(result.every), result.inferred_year) == (
        kind, due, every, inferred)


def test_a_year_inside_a_sentence_is_still_not_a_deadline():
    assert parse("建立本地区、本系统2021年政务公开工作重点任务台账，明确具体分工", 2021).kind is DeadlineKind.NONE


@pytest.mark.parametrize("text, expected", [
    ("2031年9月30日前", True), ("2041年底前", True), ("年底前", True), ("持续推进", True), ("每季度", True),
    ("县财政局", False), ("各镇（街、园区）", False), ("--", False),
])
def test_looks_like_deadline_does_not_depend_on_a_plan_year(text, expected):
    from reminder.deadline import looks_like_deadline

    assert looks_like_deadline(text) is expected


# =========================================================================================================
# Deadline phrases real plans use (issue 8): one table per class, with traditional and full-width forms
# =========================================================================================================

# Ongoing and recurring markers anywhere in a requirement sentence: (text, kind, every, span_text)
MARKERS_IN_SENTENCES = [
    ("常态化开展政策解读，及时回应社会关切。", DeadlineKind.ONGOING, None, "常态化开展"),
    ("持续推进基层政务公开标准化规范化建设，不断提升公开质量。", DeadlineKind.ONGOING, None, "持续推进"),
    ("持续深化政务公开，推动公开内容更加全面、更加规范。", DeadlineKind.ONGOING, None, "持续"),
    ("各单位要长期坚持政务公开工作例会制度，及时研究解决问题。", DeadlineKind.ONGOING, None, "长期坚持"),
    ("政务公开工作要常抓不懈，确保各项任务落到实处。", DeadlineKind.ONGOING, None, "常抓不懈"),
    ("做好政府网站日常监测，发现问题及时整改。", DeadlineKind.ONGOING, None, "日常"),
    ("定期公开财政预决算信息，主动接受社会监督。", DeadlineKind.RECURRING, Every.UNSPECIFIED, "定期公开"),
    ("每半年开展一次政务公开工作自查，并形成自查报告。", DeadlineKind.RECURRING, Every.HALF_YEAR, "每半年开展一次"),
    ("按季度通报各单位政务公开工作情况，推动问题整改。", DeadlineKind.RECURRING, Every.QUARTER, "按季度通报"),
    ("各部门要每两个月梳理一次政策文件，及时更新目录。", DeadlineKind.RECURRING, Every.UNSPECIFIED, "每两个月梳理一次"),
    # a named period wins over 定期, wherever it stands; recurring wins over ongoing
    ("定期开展网站检查，每季度通报一次检查结果。", DeadlineKind.RECURRING, Every.QUARTER, "每季度通报一次"),
    ("持续推进政务公开，每年至少召开一次专题会议。", DeadlineKind.RECURRING, Every.YEAR, "每年至少召开一次"),
    # traditional characters
    ("持續推進政務公開標準化建設，不斷提升公開質量。", DeadlineKind.ONGOING, None, "持續推進"),
    ("常態化開展政策解讀，及時回應社會關切。", DeadlineKind.ONGOING, None, "常態化開展"),
    ("定期公開財政預決算資訊，主動接受社會監督。", DeadlineKind.RECURRING, Every.UNSPECIFIED, "定期公開"),
    ("每半年開展一次政務公開工作自查，並形成自查報告。", DeadlineKind.RECURRING, Every.HALF_YEAR, "每半年開展一次"),
    # noun phrases that only look like the markers
    ("做好常态化疫情防控信息公开，扎实做好疫苗接种信息公开。", DeadlineKind.NONE, None, None),
    ("在疫情防控常态化条件下，做好政务服务工作。", DeadlineKind.NONE, None, None),
    ("长期以来，政务公开工作取得明显成效，群众满意度不断提升。", DeadlineKind.NONE, None, None),
    ("建立健全政务公开长效机制，推动各项工作落实到位。", DeadlineKind.NONE, None, None),
    ("主动适应经济发展新常态，做好重大政策解读工作。", DeadlineKind.NONE, None, None),
]


@pytest.mark.parametrize(("text", "kind", "every", "span_text"), MARKERS_IN_SENTENCES)
def test_ongoing_and_recurring_markers_in_sentences(text: str, kind: DeadlineKind, every: Every | None,
                                                     span_text: str | None) -> None:
    result = parse(text, PLAN_YEAR)
    assert (result.kind, result.every, _span_text(result)) == (kind, every, span_text)
    assert result.due is None


@pytest.mark.parametrize("text", [
    "持续深化政务公开，2021年底前完成政务公开事项目录编制。",
    "常态化开展政策解读，9月底前完成解读平台建设。",
    "定期公开财政信息，2021年12月31日前完成历史数据整理。",
    "持續深化政務公開，２０２１年底前完成目錄編制。",
])
def test_a_date_in_the_sentence_wins_over_the_markers(text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.FIXED and result.due.month in (9, 12)


# Year ends, quarters inside sentences, next-year words: (text, due, inferred, span_text)
YEAR_QUARTER_NEXT_YEAR = [
    ("年终前", D(2021, 12, 31), True, "年终前"),
    ("年度终了前", D(2021, 12, 31), True, "年度终了前"),
    ("年度结束前", D(2021, 12, 31), True, "年度结束前"),
    ("岁末", D(2021, 12, 31), True, "岁末"),
    ("年底之前", D(2021, 12, 31), True, "年底之前"),
    ("本年度内", D(2021, 12, 31), True, "本年度内"),
    ("今年以内", D(2021, 12, 31), True, "今年以内"),
    ("当年年底前", D(2021, 12, 31), True, "当年年底前"),
    ("2021年度末", D(2021, 12, 31), False, "2021年度末"),
    ("歲末前", D(2021, 12, 31), True, "歲末前"),
    ("年終前完成", D(2021, 12, 31), True, "年終前"),
    # quarters inside a sentence
    ("第二季度完成政务公开目录编制工作。", D(2021, 6, 30), True, "第二季度"),
    ("各单位于三季度开展专项检查，并报送检查结果。", D(2021, 9, 30), True, "三季度"),
    ("二季度末前全面完成系统上线。", D(2021, 6, 30), True, "二季度末前"),
    ("第一季度内制定工作方案，报区政务公开办备案。", D(2021, 3, 31), True, "第一季度内"),
    ("第４季度完成全部整改任务。", D(2021, 12, 31), True, "第４季度"),
    # the next year before a month or a quarter
    ("下一年度1月底前", D(2022, 1, 31), True, "下一年度1月底前"),
    ("下年3月底前", D(2022, 3, 31), True, "下年3月底前"),
    ("下一年度第一季度", D(2022, 3, 31), True, "下一年度第一季度"),
    ("次年一季度", D(2022, 3, 31), True, "次年一季度"),
    ("来年6月底前", D(2022, 6, 30), True, "来年6月底前"),
    ("次年度3月31日前", D(2022, 3, 31), True, "次年度3月31日前"),
    ("明年上半年", D(2022, 6, 30), True, "明年上半年"),
    ("下年度２月底前", D(2022, 2, 28), True, "下年度２月底前"),
    ("于下一年度1月底前报送上一年度工作总结。", D(2022, 1, 31), True, "下一年度1月底前"),
]


@pytest.mark.parametrize(("text", "due", "inferred", "span_text"), YEAR_QUARTER_NEXT_YEAR)
def test_year_ends_quarters_and_next_year(text: str, due: date, inferred: bool, span_text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert (result.kind, result.due, result.inferred_year, _span_text(result)) == (
        DeadlineKind.FIXED, due, inferred, span_text)


def test_a_period_word_that_names_a_report_is_not_a_deadline() -> None:
    result = parse("各单位要于7月10日前报送上半年工作总结。", PLAN_YEAR)
    assert (result.due, _span_text(result)) == (D(2021, 7, 10), "7月10日前")
    assert parse("认真总结上半年工作情况，查找存在的问题。", PLAN_YEAR).kind is DeadlineKind.NONE


# Ranges: their end, also when the end has only a day and when they stand inside a sentence
RANGES = [
    ("2023年4月1日至15日", 2023, D(2023, 4, 15), "2023年4月1日至15日"),
    ("4月1日-15日", 2021, D(2021, 4, 15), "4月1日-15日"),
    ("4月1日～15日", 2021, D(2021, 4, 15), "4月1日～15日"),
    ("4月1日到15日", 2021, D(2021, 4, 15), "4月1日到15日"),
    ("四月一日至十五日", 2021, D(2021, 4, 15), "四月一日至十五日"),
    ("４月１日－１５日", 2021, D(2021, 4, 15), "４月１日－１５日"),
    ("2021年6月1日—6月30日", 2021, D(2021, 6, 30), "2021年6月1日—6月30日"),
    ("6月中旬至7月上旬", 2021, D(2021, 7, 10), "6月中旬至7月上旬"),
    ("9月至年底", 2021, D(2021, 12, 31), "9月至年底"),
    ("2021年6月至9月，在全区范围内开展政务公开专项检查。", 2021, D(2021, 9, 30), "2021年6月至9月"),
    ("各单位于6月1日至15日集中开展自查，并报送自查报告。", 2021, D(2021, 6, 15), "6月1日至15日"),
    ("7—8月组织开展政务公开业务培训，提升队伍素质。", 2021, D(2021, 8, 31), "7—8月"),
    ("即日起至9月30日，在全区开展政务公开专项检查。", 2021, D(2021, 9, 30), "9月30日"),
    ("2023年4月1日至15日在全市范围内开展集中宣传活动。", 2023, D(2023, 4, 15), "2023年4月1日至15日"),
]


@pytest.mark.parametrize(("text", "plan_year", "due", "span_text"), RANGES)
def test_ranges_mean_their_end(text: str, plan_year: int, due: date, span_text: str) -> None:
    result = parse(text, plan_year)
    assert (result.kind, result.due, _span_text(result)) == (DeadlineKind.FIXED, due, span_text)


@pytest.mark.parametrize("text", [
    "2020年6月至2021年5月的数据要全部公开。",  # a period described, not a schedule
    "4月15日至1日",                           # runs backwards: unreadable, left for a person
    "9月至6月",
])
def test_ranges_that_are_not_deadlines(text: str) -> None:
    assert parse(text, PLAN_YEAR).kind is DeadlineKind.NONE


# Recurring with a day inside each period: (text, issued, every, anchor due, due days in 2021)
def _monthly(day: int) -> list[date]:
    return [D(2021, m, min(day, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1])) for m in range(1, 13)]


RECURRING_WITH_DAY = [
    ("每月10日前", None, Every.MONTH, D(2021, 1, 10), _monthly(10)),
    ("每月5日前报送上月工作情况", None, Every.MONTH, D(2021, 1, 5), _monthly(5)),
    ("每月的10日前", None, Every.MONTH, D(2021, 1, 10), _monthly(10)),
    ("每月１０日前", None, Every.MONTH, D(2021, 1, 10), _monthly(10)),
    ("每月前5日", None, Every.MONTH, D(2021, 1, 5), _monthly(5)),
    ("每月上旬", None, Every.MONTH, D(2021, 1, 10), _monthly(10)),
    ("每月下旬", None, Every.MONTH, D(2021, 1, 31), _monthly(31)),
    ("每月底前", None, Every.MONTH, D(2021, 1, 31), _monthly(31)),
    ("每月30日前", None, Every.MONTH, D(2021, 1, 30), _monthly(30)),
    ("每月31日前", D(2021, 6, 1), Every.MONTH, D(2021, 7, 31), _monthly(31)),  # June still due on the 30th
    ("每季度首月15日前", None, Every.QUARTER, D(2021, 1, 15),
     [D(2021, 1, 15), D(2021, 4, 15), D(2021, 7, 15), D(2021, 10, 15)]),
    ("每季度第一个月10日前报送上季度工作情况", None, Every.QUARTER, D(2021, 1, 10),
     [D(2021, 1, 10), D(2021, 4, 10), D(2021, 7, 10), D(2021, 10, 10)]),
    ("每季度结束后15日内", None, Every.QUARTER, D(2021, 1, 15),
     [D(2021, 1, 15), D(2021, 4, 15), D(2021, 7, 15), D(2021, 10, 15)]),
    ("每季度末月25日前", None, Every.QUARTER, D(2021, 3, 25),
     [D(2021, 3, 25), D(2021, 6, 25), D(2021, 9, 25), D(2021, 12, 25)]),
    ("每季度最后一个月20日前", None, Every.QUARTER, D(2021, 3, 20),
     [D(2021, 3, 20), D(2021, 6, 20), D(2021, 9, 20), D(2021, 12, 20)]),
    ("每季度首月15日前", D(2021, 5, 1), Every.QUARTER, D(2021, 7, 15),
     [D(2021, 1, 15), D(2021, 4, 15), D(2021, 7, 15), D(2021, 10, 15)]),
    ("每半年结束后10日内", None, Every.HALF_YEAR, D(2021, 1, 10), [D(2021, 1, 10), D(2021, 7, 10)]),
    ("每年1月31日前", None, Every.YEAR, D(2021, 1, 31), [D(2021, 1, 31)]),
    ("每年一季度", None, Every.YEAR, D(2021, 3, 31), [D(2021, 3, 31)]),
    ("每年上半年", None, Every.YEAR, D(2021, 6, 30), [D(2021, 6, 30)]),
    ("每周五前", None, Every.WEEK, D(2021, 1, 1), [D(2021, 1, 1) + timedelta(days=7 * i) for i in range(53)]),
    ("每星期一", D(2021, 3, 3), Every.WEEK, D(2021, 3, 8),
     [D(2021, 1, 4) + timedelta(days=7 * i) for i in range(52)]),
    # traditional characters, and inside a sentence
    ("每季度首月15日前報送", None, Every.QUARTER, D(2021, 1, 15),
     [D(2021, 1, 15), D(2021, 4, 15), D(2021, 7, 15), D(2021, 10, 15)]),
    ("各单位每月10日前将上月信息公开情况报区政务公开办。", None, Every.MONTH, D(2021, 1, 10), _monthly(10)),
]


@pytest.mark.parametrize(("text", "issued", "every", "due", "due_days"), RECURRING_WITH_DAY)
def test_recurring_with_a_day_inside_each_period(text: str, issued: date | None, every: Every, due: date,
                                                   due_days: list[date]) -> None:
    result = parse(text, PLAN_YEAR, issued=issued)
    assert (result.kind, result.every, result.due, result.inferred_year) == (DeadlineKind.RECURRING, every, due, True)
    assert list(deadline.period_due_dates(result, 2021)) == due_days
    # the planner gets the deadline back from the store's JSON: the same days follow from it
    assert list(deadline.period_due_dates(Deadline.from_dict(result.as_dict()), 2021)) == due_days


def test_period_due_dates_of_the_next_year_keep_the_written_day() -> None:
    result = parse("每月31日前", PLAN_YEAR)
    assert deadline.period_due_dates(result, 2024)[1] == D(2024, 2, 29)
    assert deadline.period_due_dates(parse("每季度末月25日前", PLAN_YEAR), 2022)[0] == D(2022, 3, 25)


@pytest.mark.parametrize("text", ["每季度", "每季度末", "每年至少1次", "定期", "持续推进", "2021年底前", "每季度结束后10个工作日内报送"])
def test_deadlines_without_a_day_inside_the_period_have_no_period_due_dates(text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert deadline.period_due_dates(result, 2021) == ()
    if result.kind is DeadlineKind.RECURRING:
        assert result.due is None  # each period is due at its end


# Relative clauses inside a sentence: (text, n, unit, after, span_text)
RELATIVE_IN_SENTENCES = [
    ("区政府办公室在文件印发后，应于5个工作日内在政府网站公开。", 5, OffsetUnit.WORKDAY, "文件印发", "文件印发后，应于5个工作日内"),
    ("收到申请之日起，20个工作日内予以答复。", 20, OffsetUnit.WORKDAY, "收到申请", "收到申请之日起，20个工作日内"),
    ("会议召开后，须在2个工作日内公开会议情况。", 2, OffsetUnit.WORKDAY, "会议召开", "会议召开后，须在2个工作日内"),
    ("各部门在政策出台后的10日内报送解读方案。", 10, OffsetUnit.DAY, "政策出台", "政策出台后的10日内"),
    ("重要政策文件印发后，要在三个工作日内发布解读材料。", 3, OffsetUnit.WORKDAY, "重要政策文件印发",
     "重要政策文件印发后，要在三个工作日内"),
    ("文件印發後，應於5個工作日內公開。", 5, OffsetUnit.WORKDAY, "文件印发", "文件印發後，應於5個工作日內"),
    ("方案印发后，各单位应于1个月内制定具体措施。", 1, OffsetUnit.MONTH, "方案印发", "方案印发后，各单位应于1个月内"),
]


@pytest.mark.parametrize(("text", "n", "unit", "after", "span_text"), RELATIVE_IN_SENTENCES)
def test_relative_clauses_in_sentences(text: str, n: int, unit: OffsetUnit, after: str, span_text: str | None) -> None:
    result = parse(text, PLAN_YEAR)
    assert (result.kind, result.offset) == (DeadlineKind.RELATIVE, Offset(n, unit, after))
    if span_text is not None:
        assert _span_text(result) == span_text


def test_a_period_without_its_event_in_a_sentence_is_not_relative() -> None:
    assert parse("审批时限压缩至15个工作日以内，并向社会公开。", PLAN_YEAR).kind is DeadlineKind.NONE
    assert parse("文件印发后，各单位要认真贯彻落实，5个工作日内报送情况。", PLAN_YEAR).kind is DeadlineKind.NONE


# Named holidays: the last working day before the holiday, on the statutory calendar
HOLIDAYS_2021 = [
    ("春节前", D(2021, 2, 10)),        # 2021-02-11..17 off; the 10th is the last working day
    ("春节放假前", D(2021, 2, 10)),
    ("元宵节前", D(2021, 2, 25)),
    ("清明节前", D(2021, 4, 2)),
    ("劳动节前", D(2021, 4, 30)),
    ("五一前", D(2021, 5, 4) - timedelta(days=4)),
    ("端午节前", D(2021, 6, 11)),
    ("七一前", D(2021, 6, 30)),
    ("中秋节前", D(2021, 9, 18)),       # 18 September 2021 was a Saturday worked in lieu (调休)
    ("国庆节前", D(2021, 9, 30)),
    ("国庆前", D(2021, 9, 30)),
    ("元旦前", D(2021, 12, 31)),        # the New Year's Day that closes the plan year
    ("春節前", D(2021, 2, 10)),
    ("國慶節前", D(2021, 9, 30)),
    ("中秋節之前", D(2021, 9, 18)),
]


@pytest.mark.parametrize(("text", "due"), HOLIDAYS_2021)
def test_named_holidays(text: str, due: date) -> None:
    result = parse(text, PLAN_YEAR)
    assert (result.kind, result.due, result.inferred_year, _span_text(result)) == (DeadlineKind.FIXED, due, True, text)


FESTIVAL_OF = {"春节": "spring_festival", "清明节": "tomb_sweeping", "劳动节": "labour_day", "端午节": "dragon_boat",
               "中秋节": "mid_autumn", "国庆节": "national_day"}


@pytest.mark.parametrize("year", [2019, 2021, 2022, 2023, 2024, 2025, 2026])
@pytest.mark.parametrize("word", sorted(FESTIVAL_OF))
def test_holiday_deadline_is_the_last_working_day_before_the_holiday(word: str, year: int) -> None:
    from reminder.workdays import Calendar, festival_day

    calendar = Calendar()
    due = parse(f"{word}前", year).due
    festival = festival_day(FESTIVAL_OF[word], year)
    assert due is not None and festival is not None
    assert calendar.is_workday(due) and due < festival
    assert not any(calendar.is_workday(due + timedelta(days=i)) for i in range(1, (festival - due).days))


@pytest.mark.parametrize(("text", "plan_year", "issued", "due", "inferred"), [
    ("2022年春节前", 2021, None, D(2022, 1, 30), False),       # a Sunday worked in lieu
    ("春节前", 2021, D(2021, 4, 1), D(2022, 1, 30), True),     # issued after this year's: the next one
    ("春节前", 2021, D(2021, 1, 15), D(2021, 2, 10), True),
    ("元旦前", 2023, None, D(2023, 12, 29), True),              # 30-31 December 2023 were a weekend
    ("2022年元旦前", 2021, None, D(2021, 12, 31), False),
    ("国庆节前", 2023, None, D(2023, 9, 28), True),             # 29 Sep - 6 Oct 2023 off (中秋 and 国庆 together)
])
def test_holiday_years(text: str, plan_year: int, issued: date | None, due: date, inferred: bool) -> None:
    result = parse(text, plan_year, issued=issued)
    assert (result.due, result.inferred_year) == (due, inferred)


def test_holidays_inside_sentences_and_what_is_not_a_holiday_deadline() -> None:
    result = parse("各单位要在春节前完成走访慰问工作，并报送情况。", PLAN_YEAR)
    assert (result.due, _span_text(result)) == (D(2021, 2, 10), "春节前")
    for text in ("春节期间", "国庆节后", "春节前后", "做好春节期间值班值守工作。", "国庆假期", "中秋国庆"):
        assert parse(text, PLAN_YEAR).kind is DeadlineKind.NONE, text
    assert parse("2200年春节前", 2200).kind is DeadlineKind.NONE  # a year the calendar does not know


def test_the_calendar_is_imported_only_when_a_holiday_word_appears() -> None:
    code = (
        "import sys\n"
        "from reminder.deadline import parse, looks_like_deadline\n"
        "for text in ('2021年底前', '持续推进，定期公开', '每月10日前', '印发后3个工作日内', '各单位要在年底前完成。'):\n"
        "    parse(text, 2021)\n"
        "assert looks_like_deadline('春节前')\n"
        "before = 'holidays' in sys.modules or 'reminder.workdays' in sys.modules\n"
        "parse('春节前', 2021)\n"
        "print(before, 'reminder.workdays' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# Several actors with several dates in one sentence: (text, milestones, due)
SEVERAL_ACTORS = [
    (
        "市财政局6月底前完成预算公开，各区政府9月底前完成本级公开。",
        [(D(2021, 6, 30), "市财政局完成预算公开"), (D(2021, 9, 30), "各区政府完成本级公开")], D(2021, 9, 30),
    ),
    (
        "市级部门6月底前完成，县级部门9月底前完成，乡镇年底前完成。",
        [(D(2021, 6, 30), "市级部门完成"), (D(2021, 9, 30), "县级部门完成"), (D(2021, 12, 31), "乡镇完成")],
        D(2021, 12, 31),
    ),
    (
        "县发改局于2021年8月31日前、县住建局于2021年10月31日前分别完成清理工作。",
        [(D(2021, 8, 31), "县发改局"), (D(2021, 10, 31), "县住建局分别完成清理工作")], D(2021, 10, 31),
    ),
    (
        "各区于2021年11月底前完成自查，市直各单位于10月底前完成自查。",  # due is the latest, not the last written
        [(D(2021, 11, 30), "各区完成自查"), (D(2021, 10, 31), "市直各单位完成自查")], D(2021, 11, 30),
    ),
    (
        "市財政局６月底前完成預算公開，各區政府９月底前完成本級公開。",
        [(D(2021, 6, 30), "市财政局完成预算公开"), (D(2021, 9, 30), "各区政府完成本级公开")], D(2021, 9, 30),
    ),
]


@pytest.mark.parametrize(("text", "milestones", "due"), SEVERAL_ACTORS)
def test_several_actors_with_several_dates(text: str, milestones: list, due: date) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.kind is DeadlineKind.FIXED
    assert [(m.due, m.what) for m in result.milestones] == milestones
    assert result.due == due


@pytest.mark.parametrize(("text", "expected"), [
    ("春节前", True), ("4月1日-15日", True), ("每季度首月15日前", True), ("下一年度1月底前", True),
    ("常态化开展", True), ("印发后，应于5个工作日内", True), ("国庆节后", False), ("县长期护理保险办公室", False),
    ("长期坚持，常态化开展", True), ("每季度报送一次。", True), ("按要求持续推进", True),
    # requirements with an ongoing or recurring word in them are not deadline cells (the ingest tells
    # columns apart by this), though parse reads them as ongoing / recurring when no column decides
    ("规范政务新媒体管理，开展常态化检查。", False), ("定期公开财政预决算信息。", False),
])
def test_looks_like_deadline_knows_the_new_phrases(text: str, expected: bool) -> None:
    assert deadline.looks_like_deadline(text) is expected


# ---------------------------------------------------------------------------------------------------------
# properties over the new vocabulary
# ---------------------------------------------------------------------------------------------------------

NEW_VOCAB_ALPHABET = (
    VOCAB_ALPHABET + "春节国庆元旦清明端午中秋劳动五一七宵假放首末月个结束后的应于须在常态化长期坚持定每半年终岁本下来度"
    "～—至到分别局区县市完成开展"
)
new_vocab_text = st.text(alphabet=NEW_VOCAB_ALPHABET, max_size=60)


@settings(max_examples=400, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(new_vocab_text, st.integers(min_value=2015, max_value=2030), st.one_of(st.none(), st.dates()))
def test_new_vocabulary_keeps_the_invariants(text: str, plan_year: int, issued: date | None) -> None:
    result = deadline._parse(text, plan_year, issued)
    _check_invariants(result, text, plan_year)
    for milestone in result.milestones:
        assert isinstance(milestone.due, date)


def _simplified_to_traditional() -> dict[int, str]:
    """One traditional form for every simplified character that has one (normalising maps it back)."""
    from reminder.trad2simp import SIMPLIFIED, TRADITIONAL

    table: dict[int, str] = {}
    for trad, simp in zip(TRADITIONAL, SIMPLIFIED):
        table.setdefault(ord(simp), trad)
    # full-width forms of the ASCII characters that normalise back to ASCII (not ，；：（）！？)
    for code in range(0x21, 0x7F):
        if chr(code + 0xFEE0) not in "，；：（）！？":
            table[code] = chr(code + 0xFEE0)
    return table


TO_TRADITIONAL = _simplified_to_traditional()
CELL_PHRASES = [text for text, *_ in FIXED + RELATIVE + RECURRING_WITH_DAY + RANGES + YEAR_QUARTER_NEXT_YEAR]
SENTENCE_PHRASES = [text for text, *_ in LONG + MARKERS_IN_SENTENCES + RELATIVE_IN_SENTENCES + SEVERAL_ACTORS]


def _comparable(result: Deadline) -> dict:
    """Everything but the text as written (spans hold: the mapping is one character to one)."""
    data = result.as_dict()
    del data["text"]
    return data


@settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.sampled_from(CELL_PHRASES + SENTENCE_PHRASES), new_vocab_text, st.text(max_size=40)),
       st.sampled_from([2020, 2021, 2023]))
def test_traditional_and_full_width_text_reads_like_simplified_half_width(text: str, plan_year: int) -> None:
    simple = normalize(text)  # the simplified, half-width form (spaces and noise as they were)
    written = simple.translate(TO_TRADITIONAL)
    assert normalize(written) == simple
    assert _comparable(parse(written, plan_year)) == _comparable(parse(simple, plan_year))


@pytest.mark.parametrize(("text", "kind", "due", "every"), [
    ("11月上中旬", DeadlineKind.FIXED, D(2021, 11, 20), None),
    ("10月中下旬", DeadlineKind.FIXED, D(2021, 10, 31), None),
    ("本年度", DeadlineKind.FIXED, D(2021, 12, 31), None),       # a year word alone, like 2021年度
    ("次年", DeadlineKind.FIXED, D(2022, 12, 31), None),
    ("一年一次", DeadlineKind.RECURRING, None, Every.YEAR),        # a count per period without 每
    ("半年一次", DeadlineKind.RECURRING, None, Every.HALF_YEAR),
    ("一周一次", DeadlineKind.RECURRING, None, Every.WEEK),
    ("日常工作", DeadlineKind.ONGOING, None, None),
    ("12月20日前后", DeadlineKind.NONE, None, None),               # around a date: left for a person
    ("9月底左右", DeadlineKind.NONE, None, None),
    ("统一年度报告格式", DeadlineKind.NONE, None, None),
    ("一季度", DeadlineKind.FIXED, D(2021, 3, 31), None),
])
def test_more_cell_forms(text: str, kind: DeadlineKind, due: date | None, every: Every | None) -> None:
    result = parse(text, PLAN_YEAR)
    assert (result.kind, result.due, result.every) == (kind, due, every)


@pytest.mark.parametrize("text", [
    "2021 年 9 月 30 日前", "2021\t年9月\n30日前", "２０２１ 年 ９ 月 ３０ 日前", "[bookmark: _x]2021 年 9 月 30 日前",
])
def test_spaces_and_noise_around_a_date_keep_its_span(text: str) -> None:
    result = parse(text, PLAN_YEAR)
    assert result.due == D(2021, 9, 30)
    assert normalize(_span_text(result), drop_spaces=True) == "2021年9月30日前"
