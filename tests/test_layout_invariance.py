"""Layout invariance: one plan in every layout and format reads back to the same tasks.

``tests/layouts.py`` renders a plan as a Word table, an Excel sheet, a legacy .xls, a web page with
rowspans, a PDF, the text extractions of those, and paragraph plans; hypothesis varies the plan
(task count, merged sections, blank unit cells, column order, numbering style, traditional or
simplified characters). Each document must give the same numbers, texts, units, leads and deadlines.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminder import deadline as deadlines
from reminder.ingest import read_plan
from reminder.units import split_units
from tests.layouts import FORMATS, GRID_FORMATS, PlanSpec, TaskSpec, render

SECTIONS = ("一、深化重点领域信息公开", "二、加强政策解读回应", "三、夯实公开工作基础")
TEXTS = ("做好财政预决算公开工作，细化公开部门所属单位预决算。", "推进政府网站集约化建设，确保平稳运行。",
         "加强重大政策发布解读，及时回应社会关切。", "规范政务新媒体管理，开展常态化检查。",
         "做好疫情防控信息发布，强化政府系统内部信息整合。", "推动基层政务公开标准化规范化建设。")
LEADS = ("县财政局", "县政务服务中心", "县政府办公室", "县卫生健康局")
OTHERS = ((), ("县审计局",), ("县统计局", "县民政局"), ("各乡镇人民政府",))
DEADLINES = ("2021年9月30日前", "年底前", "持续推进", "每季度", "6月底前")
PLAN_YEAR = 2021


def expected(spec: PlanSpec) -> list[tuple]:
    rows = []
    for index, task in enumerate(spec.tasks):
        units = split_units([task.lead], ["、".join(task.others)])
        due = deadlines.parse(task.deadline, PLAN_YEAR)
        rows.append((str(index + 1), spec.written(task.text), units.lead_units, units.units,
                     str(due.kind), due.due, (spec.written(task.section),)))
    return rows


def read_back(path: Path) -> list[tuple]:
    plan = read_plan(path)
    assert plan.plan_year == PLAN_YEAR
    return [(t.number, t.text, t.lead_units, t.units, str(t.deadline.kind), t.deadline.due, t.section)
            for t in plan.tasks]


task_specs = st.builds(TaskSpec, section=st.just(""), text=st.sampled_from(TEXTS), lead=st.sampled_from(LEADS),
                       others=st.sampled_from(OTHERS), deadline=st.sampled_from(DEADLINES))


@st.composite
def plans(draw) -> PlanSpec:
    tasks = draw(st.lists(task_specs, min_size=1, max_size=7))
    # sections: consecutive groups, so a merged section cell spans several tasks
    cuts = sorted(draw(st.sets(st.integers(1, max(len(tasks) - 1, 1)), max_size=2)))
    groups = [0] * len(tasks)
    for cut in cuts:
        for index in range(cut, len(tasks)):
            groups[index] += 1
    tasks = [TaskSpec(SECTIONS[g], t.text, t.lead, t.others, t.deadline) for g, t in zip(groups, tasks)]
    tail = draw(st.permutations(("text", "lead", "units", "deadline")))
    number_at = draw(st.integers(0, 2))
    columns = ["section", *tail]
    columns.insert(number_at if number_at < 2 else len(columns), "number")
    return PlanSpec(tasks=tuple(tasks), numbering=draw(st.sampled_from(("column", "text", "none"))),
                    columns=tuple(columns), merge_sections=draw(st.booleans()),
                    blank_repeated_units=draw(st.booleans()), traditional=draw(st.booleans()))


@settings(max_examples=int(os.environ.get("REMINDER_LAYOUT_EXAMPLES", "30")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_every_layout_and_format_reads_back_to_the_same_tasks(spec):
    want = expected(spec)
    with tempfile.TemporaryDirectory() as folder:
        for fmt in FORMATS:
            got = read_back(render(spec, fmt, Path(folder)))
            assert got == want, f"{fmt}: {spec}"


SIMPLE = PlanSpec(tasks=(TaskSpec(SECTIONS[0], TEXTS[0], LEADS[0], OTHERS[2], DEADLINES[0]),
                         TaskSpec(SECTIONS[0], TEXTS[1], LEADS[0], OTHERS[2], DEADLINES[1]),
                         TaskSpec(SECTIONS[1], TEXTS[2], LEADS[1], OTHERS[0], DEADLINES[2])),
                  blank_repeated_units=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_a_plan_with_merged_cells(tmp_path, fmt):
    """The same check, named per format, so a failure says which reader or layout broke."""
    assert read_back(render(SIMPLE, fmt, tmp_path)) == expected(SIMPLE)


@pytest.mark.parametrize("fmt", GRID_FORMATS)
def test_traditional_plans_keep_their_characters_in_every_grid_format(tmp_path, fmt):
    spec = PlanSpec(tasks=SIMPLE.tasks, traditional=True, numbering="none")
    plan = read_plan(render(spec, fmt, tmp_path))
    assert plan.tasks[0].text == "做好財政預決算公開工作，細化公開部門所屬單位預決算。"
    assert plan.tasks[0].units == ("县财政局", "县统计局", "县民政局")
    assert plan.tasks[0].section == ("一、深化重點領域信息公開",)
    assert any("does not number its tasks" in w for w in plan.warnings)
