"""Unit cells -> leads and responsible units (DESIGN.md "Units")."""

import pytest

from reminder.units import split_units

CASES = [
    # (lead cells, unit cells, expected leads, expected units)
    ([], ["区财政局牵头，区民政局、农业农村局等有关部门落实；各镇（街、园区）"],
     ["区财政局"], ["区财政局", "区民政局", "区农业农村局", "各镇（街、园区）"]),
    ([], ["区直各单位；各镇（街、园区）"], [], ["区直各单位", "各镇（街、园区）"]),
    ([], ["区政务公开办牵头，区有关单位落实；各镇（街、园区）"],
     ["区政务公开办"], ["区政务公开办", "区有关单位", "各镇（街、园区）"]),
    ([], ["区科工商信局、交通运输局、卫健局、市场监管局；各镇（街、园区）"], [],
     ["区科工商信局", "区交通运输局", "区卫健局", "区市场监管局", "各镇（街、园区）"]),
    ([], ["各区政府（管委会）；市卫生健康局、市政务服务数据管理局牵头，市直其他单位按职能分工落实"],
     ["市卫生健康局", "市政务服务数据管理局"],
     ["市卫生健康局", "市政务服务数据管理局", "各区政府（管委会）", "市直其他单位"]),
    ([], ["各区政府（管委会）；市教育局等单位按职能分工落实"], [], ["各区政府（管委会）", "市教育局"]),
    ([], ["区政务公开办牵头，区直各单位、各镇（街、园区）落实"],
     ["区政务公开办"], ["区政务公开办", "区直各单位", "各镇（街、园区）"]),
    (["县发展改革局，相关规划编制牵头部门"], ["--"], ["县发展改革局", "相关规划编制牵头部门"],
     ["县发展改革局", "相关规划编制牵头部门"]),
    (["县直各部门，\n各乡镇人民政府"], ["--"], ["县直各部门", "各乡镇人民政府"], ["县直各部门", "各乡镇人民政府"]),
    ([], ["政务公开指导办、政府网站,各相关科室"], [], ["政务公开指导办", "政府网站", "各相关科室"]),
    ([], ["“放管服”改革和营商环境监督科、政务公开指导办"], [], ["“放管服”改革和营商环境监督科", "政务公开指导办"]),
    (["县财政局"], ["县税务局、审计局"], ["县财政局"], ["县财政局", "县税务局", "县审计局"]),
    ([], ["县财政局（牵头）、县审计局"], ["县财政局"], ["县财政局", "县审计局"]),
    ([], ["牵头单位：县财政局；责任单位：县审计局"], ["县财政局"], ["县财政局", "县审计局"]),
    ([], ["--"], [], []),
    ([], [""], [], []),
]


@pytest.mark.parametrize("leads, units, expected_leads, expected_units", CASES)
def test_split_units(leads, units, expected_leads, expected_units):
    split = split_units(leads, units)
    assert list(split.lead_units) == expected_leads
    assert list(split.units) == expected_units


def test_bracketed_list_is_not_split():
    assert split_units([], ["各镇（街、园区）"]).units == ("各镇（街、园区）",)


def test_no_lead_marker_means_every_unit_is_responsible():
    split = split_units([], ["县卫生健康局、县公安局、县市场监管局"])
    assert split.lead_units == ()
    assert split.units == ("县卫生健康局", "县公安局", "县市场监管局")


def test_lead_column_that_also_names_cooperating_units():
    split = split_units(["县财政局牵头，县审计局配合"], [])
    assert split.lead_units == ("县财政局",)
    assert split.units == ("县财政局", "县审计局")
    assert split_units(["县财政局负责"], []).lead_units == ("县财政局",)
