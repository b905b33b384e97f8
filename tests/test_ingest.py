"""Plan layouts beyond the seeds: other column orders, numbering styles, 配合单位, web extractions."""

from __future__ import annotations

from datetime import date

import pytest

from reminder.errors import InputError
from reminder.ingest import read_plan
from reminder.model import DeadlineKind


def write(tmp_path, text, name="plan.txt", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


PIPE_PLAN = """某县2023年政务公开重点工作任务分工
2023年3月5日
| 序号 | 工作任务 | 完成时限 | 牵头单位 | 配合单位 |
|---|---|---|---|---|
| 1 | 做好预决算公开工作，2023年8月底前完成。 | 2023年6月30日前 | 县财政局 | 县审计局、统计局 |
| 2 | 规范政务新媒体管理。 |  | 县政务服务中心 | 各乡镇人民政府 |
| 3 | 每季度开展一次网站检查。 | 持续推进 | 县政府办公室 |  |
"""


def test_pipe_table_with_number_column_and_cooperating_units(tmp_path):
    plan = read_plan(write(tmp_path, PIPE_PLAN))
    assert plan.title == "某县2023年政务公开重点工作任务分工"
    assert (plan.plan_year, plan.issued) == (2023, date(2023, 3, 5))
    first, second, third = plan.tasks
    assert first.number == "1" and first.text == "做好预决算公开工作，2023年8月底前完成。"
    # the deadline column decides even though the text names another date
    assert first.deadline.due == date(2023, 6, 30)
    assert first.lead_units == ("县财政局",)
    assert first.units == ("县财政局", "县审计局", "县统计局")
    # an empty deadline cell: the requirement text decides
    assert second.deadline.kind is DeadlineKind.NONE
    assert third.deadline.kind is DeadlineKind.ONGOING
    # a lead without cooperating units is not a blank row: nothing is carried from above
    assert third.units == ("县政府办公室",)


def test_blank_unit_cells_repeat_the_row_above(tmp_path):
    text = PIPE_PLAN.replace("| 3 | 每季度开展一次网站检查。 | 持续推进 | 县政府办公室 |  |",
                             "| 3 | 每季度开展一次网站检查。 | 持续推进 |  |  |")
    plan = read_plan(write(tmp_path, text))
    assert plan.tasks[2].units == plan.tasks[1].units
    assert plan.tasks[2].lead_units == ("县政务服务中心",)


def test_tab_separated_columns_in_another_order(tmp_path):
    text = ("某市2022年政务公开工作要点责任分解\n"
            "责任单位\t时间要求\t序号\t主要任务\n"
            "市财政局牵头，市审计局配合\t2022年底前\t1\t推进预算公开。\n"
            "市政务服务数据管理局\t每月\t2\t更新政策问答库。\n")
    plan = read_plan(write(tmp_path, text))
    assert [t.number for t in plan.tasks] == ["1", "2"]
    assert plan.tasks[0].lead_units == ("市财政局",)
    assert plan.tasks[0].units == ("市财政局", "市审计局")
    assert plan.tasks[0].deadline.due == date(2022, 12, 31)
    assert plan.tasks[1].deadline.kind is DeadlineKind.RECURRING


STREAM_PLAN = """关于印发某区2021年政务公开工作任务清单的通知
发布日期：2021年4月2日
某区2021年政务公开工作任务清单

重点工作

工作内容

责任单位

完成时限

一、深化重点领域公开

1.做好财政预决算公开。

区财政局

2021年9月底前

2.推进政府网站集约化。

区政务服务数据局

年底前

二、加强平台建设

3.做好政府公报工作。

区政府办公室

持续推进

您的意见建议（联系电话：12345）
"""


def test_one_cell_per_line_web_extraction(tmp_path):
    plan = read_plan(write(tmp_path, STREAM_PLAN))
    assert plan.title == "某区2021年政务公开工作任务清单"
    assert plan.issued == date(2021, 4, 2)
    assert [t.number for t in plan.tasks] == ["1", "2", "3"]
    assert plan.tasks[0].deadline.due == date(2021, 9, 30)
    assert plan.tasks[1].deadline.due == date(2021, 12, 31)
    assert plan.tasks[2].section == ("二、加强平台建设",)
    assert plan.tasks[2].units == ("区政府办公室",)
    assert any("not imported" in w for w in plan.warnings)


def test_numbering_restarting_in_each_part_is_qualified(tmp_path):
    text = ("某县2021年政务公开任务分工\n"
            "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 一、重点领域 |  |  |  |\n"
            "| 1 | 任务甲。 | 县财政局 | 年底前 |\n"
            "| 2 | 任务乙。 | 县财政局 | 年底前 |\n"
            "| 二、平台建设 |  |  |  |\n"
            "| 1 | 任务丙。 | 县政府办公室 | 年底前 |\n")
    plan = read_plan(write(tmp_path, text))
    assert [t.number for t in plan.tasks] == ["1.1", "1.2", "2.1"]
    assert plan.tasks[2].section == ("二、平台建设",)


def test_duplicate_task_numbers_are_refused_with_their_lines(tmp_path):
    text = ("某县2021年政务公开任务分工\n"
            "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 1 | 任务甲。 | 县财政局 | 年底前 |\n"
            "| 2 | 任务乙。 | 县财政局 | 年底前 |\n"
            "| 1 | 任务丙。 | 县政府办公室 | 年底前 |\n")
    with pytest.raises(InputError, match=r"task number 1 appears more than once \(lines 3, 5\)"):
        read_plan(write(tmp_path, text))


def test_table_without_task_numbers_is_numbered_in_document_order(tmp_path):
    text = ("某县2021年政务公开任务分工\n"
            "| 具体任务 | 责任单位 | 完成时限 |\n"
            "| 任务甲。 | 县财政局 | 年底前 |\n"
            "| 任务乙。 | 县审计局 | 6月底前 |\n")
    plan = read_plan(write(tmp_path, text))
    assert [(t.number, t.text, t.units) for t in plan.tasks] == [("1", "任务甲。", ("县财政局",)),
                                                                ("2", "任务乙。", ("县审计局",))]
    assert any("does not number its tasks" in w for w in plan.warnings)


def test_a_header_with_no_task_under_it_is_refused(tmp_path):
    text = "某县2021年政务公开任务分工\n| 具体任务 | 责任单位 | 完成时限 |\n"
    with pytest.raises(InputError, match="no tasks under it") as raised:
        read_plan(write(tmp_path, text))
    assert "plan.txt" in str(raised.value)


def test_two_level_header_splits_lead_and_cooperating_columns(tmp_path):
    text = ("某县2021年政务公开任务分工\n"
            "| 序号 | 具体任务 | 责任单位 | 责任单位 | 完成时限 |\n"
            "| 序号 | 具体任务 | 牵头单位 | 配合单位 | 完成时限 |\n"
            "| 1 | 任务甲。 | 县财政局 | 县审计局 | 2021年6月 |\n")
    plan = read_plan(write(tmp_path, text))
    (task,) = plan.tasks
    assert task.lead_units == ("县财政局",)
    assert task.units == ("县财政局", "县审计局")
    assert task.deadline.due == date(2021, 6, 30)


def test_parenthesised_numbering_style(tmp_path):
    text = ("某县2021年政务公开任务分工\n"
            "| 具体任务 | 责任单位 | 完成时限 |\n"
            "| （1）任务甲。 | 县财政局 | 年底前 |\n"
            "| （2）任务乙。 | 县审计局 | 年底前 |\n")
    plan = read_plan(write(tmp_path, text))
    assert [(t.number, t.text) for t in plan.tasks] == [("1", "任务甲。"), ("2", "任务乙。")]


def test_warnings_for_what_a_person_should_check(tmp_path):
    text = ("某县2021年政务公开任务分工\n"
            "二〇二一年九月十日\n"
            "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 1 | 任务甲。 | -- | 年底前 |\n"
            "| 2 | 任务乙。 | 县财政局 | 等上级通知 |\n"
            "| 3 | 任务丙。 | 县财政局 | 2021年6月30日前 |\n"
            "| 5 | 任务丁。 | 县财政局 | 年底前 |\n"
            "| 6 | 任务戊。 | 县财政局 | 按要求 |\n")
    plan = read_plan(write(tmp_path, text))
    assert plan.issued == date(2021, 9, 10)
    assert not any(w.startswith("task 6 ") for w in plan.warnings)  # 按要求 says "no deadline": nothing to fix
    joined = "\n".join(plan.warnings)
    assert "task 1 (line 4): no responsible unit found" in joined
    assert "task 2 (line 5): deadline '等上级通知' could not be read" in joined
    assert "task 3 (line 6): deadline 2021-06-30 is already past at the issue date 2021-09-10" in joined
    assert "task numbers jump from 3 to 5" in joined


def test_traditional_characters_are_kept_as_written_and_matched_normalised(tmp_path):
    text = ("某縣2021年政務公開任務分工\n"
            "| 序號 | 具體任務 | 責任單位 | 完成時限 |\n"
            "| 1 | 推進財政信息公開。 | 縣財政局、審計局 | 年底前 |\n"
            "| 2 | 做好區(qū)級網站建設。 | 區(qū)政務服務中心 | 長期堅持 |\n")
    plan = read_plan(write(tmp_path, text))
    assert plan.tasks[0].units == ("县财政局", "县审计局")  # unit identities are normalised
    assert plan.tasks[0].text == "推進財政信息公開。"  # what a person reads is as written
    assert plan.tasks[0].units_text == "縣財政局、審計局"
    assert plan.tasks[1].text == "做好區級網站建設。"  # pinyin a converter inserted is noise, not text
    assert plan.tasks[1].deadline.text == "長期堅持"
    assert plan.tasks[1].units == ("区政务服务中心",)
    assert plan.tasks[1].deadline.kind is DeadlineKind.ONGOING


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "gbk"])
def test_text_encodings_are_detected(tmp_path, encoding):
    plan = read_plan(write(tmp_path, PIPE_PLAN, encoding=encoding))
    assert len(plan.tasks) == 3
    assert plan.tasks[0].lead_units == ("县财政局",)


def test_plan_without_a_year_needs_one(tmp_path):
    text = ("某县政务公开任务分工\n"
            "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 1 | 任务甲。 | 县财政局 | 年底前 |\n")
    with pytest.raises(InputError, match="--plan-year"):
        read_plan(write(tmp_path, text))
    plan = read_plan(write(tmp_path, text), plan_year=2024)
    assert plan.tasks[0].deadline.due == date(2024, 12, 31)


LABELLED_PLAN = """某县2022年政务公开工作要点
（2022年3月1日）
一、推进重点领域信息公开
1.做好财政预决算公开工作。（牵头单位：县财政局；配合单位：县审计局；完成时限：2022年9月底前）
2.做好政府网站集约化工作，确保平稳运行。
牵头单位：县政务服务中心
完成时限：持续推进
二、加强政策解读
3.对重大政策开展解读。（责任单位：县直各部门；时间要求：每季度）
"""


def test_numbered_paragraphs_with_unit_and_deadline_labels(tmp_path):
    plan = read_plan(write(tmp_path, LABELLED_PLAN))
    assert (plan.title, plan.plan_year, plan.issued) == ("某县2022年政务公开工作要点", 2022, date(2022, 3, 1))
    one, two, three = plan.tasks
    assert one.text == "做好财政预决算公开工作。"
    assert one.lead_units == ("县财政局",) and one.units == ("县财政局", "县审计局")
    assert one.deadline.due == date(2022, 9, 30)
    assert two.text == "做好政府网站集约化工作，确保平稳运行。"
    assert two.lead_units == ("县政务服务中心",) and two.deadline.kind is DeadlineKind.ONGOING
    assert three.section == ("二、加强政策解读",) and three.units == ("县直各部门",)
    assert three.deadline.kind is DeadlineKind.RECURRING


def test_numbered_paragraphs_without_labels_are_not_a_plan(tmp_path):
    text = "某县2021年政务公开工作年度报告\n一、总体情况\n1.主动公开政府信息1893条。\n2.办理依申请公开23件。\n"
    with pytest.raises(InputError, match="no task table found"):
        read_plan(write(tmp_path, text))


def test_chinese_numerals_in_the_number_column(tmp_path):
    text = ("某县2021年政务公开任务分工\n| 序号 | 具体内容 | 责任单位 | 时间安排 |\n"
            "| 一 | 任务甲。 | 县财政局 | 年底前 |\n| 二 | 任务乙。 | 县审计局 | 6月底前 |\n")
    plan = read_plan(write(tmp_path, text))
    assert [(t.number, t.text) for t in plan.tasks] == [("1", "任务甲。"), ("2", "任务乙。")]
    assert plan.tasks[1].deadline.due == date(2021, 6, 30)


STREAM_PLAN_WITHOUT_UNITS_CELL = """某县2031年政务公开工作任务分工
序号
工作任务
责任单位
完成时限
1
做好预决算公开工作。
县财政局
2031年6月30日前
2
规范政务新媒体管理。
2031年底前
"""


def test_a_deadline_cell_in_a_missing_units_place_is_read_as_the_deadline_whatever_its_year(tmp_path):
    # Task 2 has no units cell: its deadline cell must not be taken for a unit, even though the
    # year 2031 is far from any fixed year the ingest might guess before it knows the plan's.
    plan = read_plan(write(tmp_path, STREAM_PLAN_WITHOUT_UNITS_CELL))
    second = plan.tasks[1]
    assert second.units == ()
    assert second.deadline.due == date(2031, 12, 31)
