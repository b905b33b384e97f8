"""Each layout class real plans use (issue 8), one test each, on invented examples."""

from __future__ import annotations

from datetime import date

import pytest

from reminder.ingest import read_plan
from reminder.model import DeadlineKind


def plan_of(tmp_path, text: str, name: str = "plan.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_plan(path)


def facts(plan) -> list[tuple]:
    return [(t.number, t.text, t.units, t.deadline.due) for t in plan.tasks]


TWO_TASKS = [("1", "做好预决算公开工作。", ("县财政局",), date(2021, 9, 30)),
             ("2", "规范政务新媒体管理。", ("县政务服务中心", "各乡镇人民政府"), date(2021, 12, 31))]


# --- 1. cell separators -----------------------------------------------------------------------------

def test_a_pipe_alone_on_its_own_line_between_cells(tmp_path):
    text = ("某县2021年政务公开任务分工\n序号\n|\n具体任务\n|\n责任单位\n|\n完成时限\n"
            "1\n|\n做好预决算公开工作。\n|\n县财政局\n|\n2021年9月30日前\n"
            "2\n|\n规范政务新媒体管理。\n|\n县政务服务中心、各乡镇人民政府\n|\n年底前\n")
    assert facts(plan_of(tmp_path, text)) == TWO_TASKS


def test_every_cell_line_ends_with_a_pipe(tmp_path):
    text = ("某县2021年政务公开任务分工\n序号 |\n具体任务 |\n责任单位 |\n完成时限 |\n"
            "1 |\n做好预决算公开工作。 |\n县财政局 |\n2021年9月30日前 |\n"
            "2 |\n规范政务新媒体管理。 |\n县政务服务中心、各乡镇人民政府 |\n年底前 |\n")
    assert facts(plan_of(tmp_path, text)) == TWO_TASKS


def test_a_number_cell_on_its_own_line_joins_the_rest_of_its_row(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "1\n| 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 |\n"
            "2\n| 规范政务新媒体管理。 | 县政务服务中心、各乡镇人民政府 | 年底前 |\n")
    assert facts(plan_of(tmp_path, text)) == TWO_TASKS


def test_rows_padded_with_empty_trailing_cells(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 序号 | 工作任务 | 具体要求 | 责任单位 | 完成时限 |\n"
            "| 一、财政信息 | 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 | |\n"
            "| 规范政务新媒体管理。 | 各科室 | |\n")
    plan = plan_of(tmp_path, text)
    assert [(t.number, t.text, t.units) for t in plan.tasks] == [
        ("1", "做好预决算公开工作。", ("县财政局",)), ("2", "规范政务新媒体管理。", ("各科室",))]
    assert plan.tasks[0].deadline.due == date(2021, 9, 30)
    assert plan.tasks[1].deadline.kind is DeadlineKind.NONE  # an empty deadline cell, no date in the text


def test_rows_without_their_leading_merged_cells_align_from_the_right(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 类别 | 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 一、财政信息 | 1 | 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 |\n"
            "| 2 | 做好债务信息公开。 | 县财政局 | 年底前 |\n"
            "| 二、平台建设 | 3 | 规范政务新媒体管理。 | 县政务服务中心 | 持续推进 |\n")
    plan = plan_of(tmp_path, text)
    assert [(t.number, t.section, t.units) for t in plan.tasks] == [
        ("1", ("一、财政信息",), ("县财政局",)), ("2", ("一、财政信息",), ("县财政局",)),
        ("3", ("二、平台建设",), ("县政务服务中心",))]
    assert plan.tasks[1].deadline.due == date(2021, 12, 31)


def test_a_row_with_only_its_requirement_inherits_the_merged_units(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 具体任务 | 牵头单位 | 责任单位 |\n"
            "| 做好预决算公开工作，9月底前完成。 | 县财政局 | 县审计局 |\n"
            "| 做好债务信息公开，年底前完成。 |\n")
    plan = plan_of(tmp_path, text)
    assert [t.units for t in plan.tasks] == [("县财政局", "县审计局")] * 2
    assert plan.tasks[1].lead_units == ("县财政局",)
    assert plan.tasks[1].deadline.due == date(2021, 12, 31)


# --- 2. headers -------------------------------------------------------------------------------------

def test_a_header_split_over_two_lines(tmp_path):
    text = ("某县2021年政务公开任务分工\n工作任务 | 具体要求\n| 责任单位 |\n"
            "| 一、财政信息 | 1.做好预决算公开工作，9月底前完成。 | 县财政局 |\n"
            "| 二、平台建设 | 2.规范政务新媒体管理。 | 县政务服务中心 |\n")
    plan = plan_of(tmp_path, text)
    assert [(t.number, t.text, t.section, t.units) for t in plan.tasks] == [
        ("1", "做好预决算公开工作，9月底前完成。", ("一、财政信息",), ("县财政局",)),
        ("2", "规范政务新媒体管理。", ("二、平台建设",), ("县政务服务中心",))]


@pytest.mark.parametrize(("text_label", "unit_label", "deadline_label"), [
    ("工作内容", "负责科室", "完成时间"), ("重点任务", "责任处室", "时间节点"), ("主要内容", "责任单位", "进度安排"),
    ("目标任务", "負責科室", "完成時間"), ("工作內容", "責任處室", "時間節點"),
])
def test_header_words_beyond_the_first_list_in_both_scripts(tmp_path, text_label, unit_label, deadline_label):
    text = (f"某县2021年政务公开任务分工\n| 序號 | {text_label} | {unit_label} | {deadline_label} |\n"
            "| 1 | 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 |\n"
            "| 2 | 规范政务新媒体管理。 | 县政务服务中心、各乡镇人民政府 | 年底前 |\n")
    assert facts(plan_of(tmp_path, text)) == TWO_TASKS


@pytest.mark.parametrize("header", ["|  | 具体任务 | 责任单位 | 完成时限 |", "| 具体任务 | 责任单位 | 完成时限 |"],
                         ids=["blank", "missing"])
def test_a_number_column_whose_header_cell_is_blank_or_missing(tmp_path, header):
    text = (f"某县2021年政务公开任务分工\n{header}\n"
            "| 1 | 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 |\n"
            "| 2 | 规范政务新媒体管理。 | 县政务服务中心、各乡镇人民政府 | 年底前 |\n")
    assert facts(plan_of(tmp_path, text)) == TWO_TASKS


def test_a_column_without_a_header_word_gets_its_role_from_its_cells(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 要办结的日子 |\n"
            "| 1 | 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 |\n"
            "| 2 | 规范政务新媒体管理。 | 县政务服务中心、各乡镇人民政府 | 年底前 |\n")
    assert facts(plan_of(tmp_path, text)) == TWO_TASKS


# --- 3. tasks without numbers -------------------------------------------------------------------------

def test_paragraphs_under_headings_each_followed_by_a_unit_line(tmp_path):
    text = ("某市2022年政务公开工作要点\n为做好今年政务公开工作，现提出如下要点。\n"
            "一、推进重点领域信息公开\n"
            "（一）做好住房保障信息公开，及时公开保障性住房分配结果。\n市住建局牵头落实\n"
            "（二）做好文化体育信息公开，年底前公开公共文化设施名录。\n市文旅局、市体育局分别牵头落实\n"
            "二、加强平台建设\n"
            "（一）推进政府网站集约化，持续推进。\n市政务服务数据管理局负责落实，各区参照落实\n")
    plan = plan_of(tmp_path, text)
    assert [(t.number, t.lead_units, t.units) for t in plan.tasks] == [
        ("1", ("市住建局",), ("市住建局",)),
        ("2", ("市文旅局", "市体育局"), ("市文旅局", "市体育局")),
        ("3", (), ("市政务服务数据管理局", "各区"))]
    assert plan.tasks[0].text == "（一）做好住房保障信息公开，及时公开保障性住房分配结果。"
    assert plan.tasks[1].deadline.due == date(2022, 12, 31)
    assert plan.tasks[2].section == ("二、加强平台建设",)
    assert any("numbered 1-3 in document order" in w for w in plan.warnings)
    assert all("为做好" not in t.text for t in plan.tasks)  # the notice before the tasks is no task


# --- 4. units outside a unit column ---------------------------------------------------------------------

def test_a_parenthesis_closing_each_paragraph_names_its_units(tmp_path):
    text = ("某市2022年政务公开工作要点\n"
            "1.做好财政信息公开，9月底前完成。（牵头单位：市财政局；责任单位：市审计局、市统计局）\n"
            "2.做好政务服务信息公开。（市政务服务数据管理局牵头，各区配合）\n")
    plan = plan_of(tmp_path, text)
    assert [(t.text, t.lead_units, t.units) for t in plan.tasks] == [
        ("做好财政信息公开，9月底前完成。", ("市财政局",), ("市财政局", "市审计局", "市统计局")),
        ("做好政务服务信息公开。", ("市政务服务数据管理局",), ("市政务服务数据管理局", "各区"))]
    assert plan.tasks[0].deadline.due == date(2022, 9, 30)


def test_separate_lead_and_responsible_unit_lines(tmp_path):
    text = ("某市2022年政务公开工作要点\n一、推进重点领域信息公开\n"
            "做好财政信息公开，9月底前完成。\n牵头单位：市财政局\n责任单位：市审计局；市统计局\n"
            "做好政务服务信息公开，年底前完成。\n牵头单位：市政务服务数据管理局\n责任单位：各区\n")
    plan = plan_of(tmp_path, text)
    assert [(t.number, t.lead_units, t.units) for t in plan.tasks] == [
        ("1", ("市财政局",), ("市财政局", "市审计局", "市统计局")),
        ("2", ("市政务服务数据管理局",), ("市政务服务数据管理局", "各区"))]


def test_a_note_puts_its_unit_on_every_later_task(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 1 | 做好预决算公开工作。 | 县财政局，以下各项均由各乡镇落实，不再一一列明 | 年底前 |\n"
            "| 2 | 规范政务新媒体管理。 | 县政务服务中心 | 年底前 |\n"
            "| 3 | 做好政府网站建设。 | 县政府办公室 | 年底前 |\n")
    plan = plan_of(tmp_path, text)
    assert [t.units for t in plan.tasks] == [("县财政局",), ("县政务服务中心", "各乡镇"),
                                             ("县政府办公室", "各乡镇")]
    assert all("以下" not in unit and "列明" not in unit for t in plan.tasks for unit in t.units)


@pytest.mark.parametrize(("cell", "leads", "units"), [
    ("市住建局牵头落实", ("市住建局",), ("市住建局",)),
    ("市文旅局、市体育局分别牵头落实", ("市文旅局", "市体育局"), ("市文旅局", "市体育局")),
    ("市财政局牵头，市审计局配合", ("市财政局",), ("市财政局", "市审计局")),
    ("各区参照落实", (), ("各区",)),
    ("市民政局负责落实", (), ("市民政局",)),
    ("市民政局、农业农村局等有关部门", (), ("市民政局", "市农业农村局")),
    ("市民政局；市教育局", (), ("市民政局", "市教育局")),
])
def test_unit_markers_are_stripped_from_names(cell, leads, units):
    from reminder.units import split_units

    split = split_units([], [cell])
    assert (split.lead_units, split.units) == (leads, units)


# --- 5. title, year, date ------------------------------------------------------------------------------

TABLE = ("| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
         "| 1 | 做好预决算公开工作。 | 县财政局 | 9月30日前 |\n")


def test_a_title_wrapped_over_two_lines(tmp_path):
    plan = plan_of(tmp_path, "某县2021年政务公开\n工作任务分工方案\n" + TABLE)
    assert plan.title == "某县2021年政务公开工作任务分工方案"


def test_no_title_line_gives_no_title_and_a_warning_never_the_file_name(tmp_path):
    plan = plan_of(tmp_path, TABLE.replace("9月30日前", "2021年9月30日前"), name="2021年计划.txt")
    assert plan.title is None and plan.plan_year == 2021
    assert any("no title line" in w for w in plan.warnings)


def test_the_plan_year_from_a_metadata_row_and_issued_from_it(tmp_path):
    plan = plan_of(tmp_path, "工作任务分工表\n生成日期：2023-02-15\n" + TABLE)
    assert plan.plan_year == 2023 and plan.issued == date(2023, 2, 15)
    assert plan.tasks[0].deadline.due == date(2023, 9, 30)


def test_the_plan_year_from_the_deadlines_when_nothing_else_says_it(tmp_path):
    text = ("| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 1 | 做好预决算公开工作。 | 县财政局 | 2024年9月30日前 |\n"
            "| 2 | 做好债务信息公开。 | 县财政局 | 2024年底前 |\n")
    assert plan_of(tmp_path, text).plan_year == 2024


@pytest.mark.parametrize("line", ["成文日期：2022年3月1日", "发布时间：2022-03-01 10:00", "2022年3月1日"])
def test_issued_from_the_signature_or_a_labelled_date(tmp_path, line):
    plan = plan_of(tmp_path, f"某县2022年政务公开任务分工\n{line}\n" + TABLE)
    assert plan.issued == date(2022, 3, 1)


# --- 6. section text stays out of task text ----------------------------------------------------------------

MERGED_TASK_GROUP_HTML = """<html><body><h1>某县2021年政务公开工作任务分工</h1><table>
<tr><th>序号</th><th colspan="2">工作任务</th><th>责任单位</th><th>完成时限</th></tr>
<tr><td>1</td><td rowspan="2">财政信息公开</td><td>做好预决算公开工作。</td><td>县财政局</td><td>9月底前</td></tr>
<tr><td>2</td><td>做好债务信息公开。</td><td>县财政局</td><td>年底前</td></tr>
<tr><td>3</td><td>平台建设</td><td>规范政务新媒体管理。</td><td>县政务服务中心</td><td>持续推进</td></tr>
</table></body></html>"""


def test_a_merged_task_group_cell_is_a_section_not_part_of_each_requirement(tmp_path):
    plan = plan_of(tmp_path, MERGED_TASK_GROUP_HTML, name="plan.html")
    assert [(t.text, t.section) for t in plan.tasks] == [
        ("做好预决算公开工作。", ("财政信息公开",)), ("做好债务信息公开。", ("财政信息公开",)),
        ("规范政务新媒体管理。", ("平台建设",))]


def test_a_merged_task_group_cell_in_word_is_a_section(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某县2021年政务公开工作任务分工")
    rows = [("序号", "工作任务", "工作任务", "责任单位"), ("1", "财政信息公开", "做好预决算公开工作。", "县财政局"),
            ("2", "", "做好债务信息公开。", "县财政局"), ("3", "平台建设", "规范政务新媒体管理。", "县政务服务中心")]
    table = document.add_table(rows=4, cols=4)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value and not (r == 0 and c == 2):
                table.cell(r, c).text = value
    table.cell(0, 1).merge(table.cell(0, 2))
    table.cell(1, 1).merge(table.cell(2, 1))
    path = tmp_path / "plan.docx"
    document.save(path)
    plan = read_plan(path)
    assert [(t.text, t.section) for t in plan.tasks] == [
        ("做好预决算公开工作。", ("财政信息公开",)), ("做好债务信息公开。", ("财政信息公开",)),
        ("规范政务新媒体管理。", ("平台建设",))]


# --- 7. page chrome is not a task: seed 003 in test_seeds.py; an invented page here -----------------------

def test_a_feedback_form_after_the_last_task_is_not_part_of_it(tmp_path):
    text = ("某区2021年政务公开工作任务清单\n序号\n工作任务\n责任单位\n完成时限\n"
            "1\n做好财政预决算公开。\n区财政局\n2021年9月底前\n"
            "您对本文有何意见建议？\n姓名：\n联系电话：\n验证码：\n")
    plan = plan_of(tmp_path, text)
    assert [(t.number, t.text) for t in plan.tasks] == [("1", "做好财政预决算公开。")]
    assert any("not imported" in w and "意见建议" in w for w in plan.warnings)


# --- plans of a thousand tasks and more -------------------------------------------------------------------

def test_a_plan_of_1200_tasks_imports_every_task(tmp_path):
    rows = "".join(f"| {n} | 做好第{n}项工作。 | 县财政局 | 年底前 |\n" for n in range(1, 1201))
    plan = plan_of(tmp_path, "某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n" + rows)
    assert [t.number for t in plan.tasks] == [str(n) for n in range(1, 1201)]
    assert plan.tasks[-1].text == "做好第1200项工作。"
    assert not plan.warnings


def test_numbered_text_past_999_keeps_its_number(tmp_path):
    rows = "".join(f"| {n}.做好第{n}项工作。 | 县财政局 | 年底前 |\n" for n in range(1, 1003))
    plan = plan_of(tmp_path, "某县2021年政务公开任务分工\n| 具体任务 | 责任单位 | 完成时限 |\n" + rows)
    assert len(plan.tasks) == 1002 and plan.tasks[-1].number == "1002"
