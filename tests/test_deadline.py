"""deadline.parse: case tables for every rule of DESIGN.md "Deadlines", plus hypothesis properties.

Each case names the substring of the input that ``span`` must cover (``span_text``), so a wrong span fails
and the table stays readable.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminder import deadline
from reminder.deadline import parse
from reminder.model import Deadline, DeadlineKind, Every, Milestone, Offset, OffsetUnit

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
        ("每月31日前", D(2021, 6, 1), D(2021, 6, 30)),     # a short month: its last day
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
    ("8.持续深化地方政府债务信息公开，通过集中统一平台定期公开地方政府债务限额、余额等信息。", DeadlineKind.NONE, None, None),
    ("（四）做好常态化疫情防控信息公开，扎实做好疫苗接种信息公开和舆论引导工作。", DeadlineKind.NONE, None, None),
    ("加强政务公开队伍建设，定期组织开展政府信息公开工作培训和研讨交流，不断提升业务能力。", DeadlineKind.NONE, None, None),
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


def test_same_words_read_directly_in_short_cells_but_not_in_sentences() -> None:
    assert parse("定期", PLAN_YEAR).kind is DeadlineKind.RECURRING
    assert parse("常态化", PLAN_YEAR).kind is DeadlineKind.ONGOING
    sentence = "按照有关要求，定期公开相关信息，做好常态化监测工作，持续深化公开内容。"
    assert parse(sentence, PLAN_YEAR).kind is DeadlineKind.NONE


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
