"""The unit directory (name matching, groups, contacts) and importing it from Excel / CSV."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reminder.config import load_config, parse_unit
from reminder.directory import Contacts, Directory, UnitConfig, WebhookConfig
from reminder.directory_import import (
    import_units,
    merge_units,
    split_names,
    units_to_toml,
)
from reminder.errors import InputError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

DING = WebhookConfig("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t1")
UNITS = (
    UnitConfig("区财政局", emails=("czj@example.gov.cn",), webhooks=(DING,)),
    UnitConfig("区政务服务数据管理局", aliases=("区政数局",), emails=("zsj@example.gov.cn",)),
    UnitConfig("区市场监管局", emails=("scj@example.gov.cn",)),
    UnitConfig("民政局", emails=("mzj@example.gov.cn",)),
    UnitConfig("区农业农村局"),
    UnitConfig("各镇（街、园区）", members=("太平镇", "街口街道")),
    UnitConfig("太平镇", emails=("tp@example.gov.cn",)),
    UnitConfig("街口街道", emails=("jk@example.gov.cn", "czj@example.gov.cn")),
    UnitConfig("区直各单位", members=("区财政局", "区政数局", "各镇(街、园区)")),
    UnitConfig("区直机关", members=("区财政局",), emails=("jg-list@example.gov.cn",)),
)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory(UNITS)


@pytest.mark.parametrize(
    "written, configured",
    [
        ("区财政局", "区财政局"),             # exact
        ("财政局", "区财政局"),               # the plan dropped the district prefix
        ("区政数局", "区政务服务数据管理局"),   # alias
        ("政数局", "区政务服务数据管理局"),     # alias, prefix dropped
        ("区民政局", "民政局"),               # the plan carries a prefix the directory does not
        ("市场监管局", "区市场监管局"),         # a name that itself starts with 市
        ("各镇(街、园区)", "各镇（街、园区）"),   # half-width brackets
        (" 区 财政局 ", "区财政局"),           # squeezed PDF text
    ],
)
def test_lookup_matches_the_ways_plans_write_names(directory, written, configured):
    assert directory.lookup(written).name == configured


@pytest.mark.parametrize("written", ["县财政局", "区教育局", "财政", "", "区"])
def test_unknown_names_are_not_guessed(directory, written):
    assert directory.lookup(written) is None
    assert directory.resolve(written) is None
    assert directory.contacts_for(written) is None


def test_an_ambiguous_short_name_is_not_guessed():
    both = Directory([UnitConfig("区财政局"), UnitConfig("市财政局")])
    assert both.lookup("财政局") is None
    assert both.lookup("市财政局").name == "市财政局"


def test_groups_resolve_to_their_members_flattened(directory):
    names = [u.name for u in directory.resolve("区直各单位")]
    assert names == ["区财政局", "区政务服务数据管理局", "太平镇", "街口街道"]
    assert [u.name for u in directory.resolve("财政局")] == ["区财政局"]


def test_contacts_for_a_unit(directory):
    assert directory.contacts_for("财政局") == Contacts(("czj@example.gov.cn",), (DING,))
    assert not directory.contacts_for("区农业农村局")  # known, but unroutable


def test_contacts_for_a_group_reach_every_member_once(directory):
    contacts = directory.contacts_for("各镇（街、园区）")
    assert contacts.emails == ("tp@example.gov.cn", "jk@example.gov.cn", "czj@example.gov.cn")


def test_a_group_with_its_own_contacts_uses_them(directory):
    assert directory.contacts_for("区直机关").emails == ("jg-list@example.gov.cn",)


# ---------------------------------------------------------------------------------------------
# Import from Excel / CSV


def make_xlsx(path: Path, rows: list[list]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[1]))
    book.save(path)
    return path


def make_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


HEADER = ["序号", "单位名称（必填）", "别名", "电子邮箱", "钉钉机器人 Webhook", "企业微信", "飞书",
          "联系人", "联系电话", "成员单位"]
SHEET = [
    ["榕江县政务公开责任单位通讯录"] + [None] * 9,
    HEADER,
    [1, "县财政局", "财政局、县国资办", "czj@example.gov.cn; czj2@example.gov.cn",
     "https://oapi.dingtalk.com/robot/send?access_token=aaa", None, None, "张三", "0855-1234567",
     None],
    [2, "县民政局", None, "mzj@example.gov.cn", None,
     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=bbb",
     "https://open.feishu.cn/open-apis/bot/v2/hook/ccc", "李四", None, None],
    [None, None, None, None, None, None, None, None, None, None],
    [3, "各乡镇（街道）", None, None, None, None, None, None, None, "古州镇、忠诚镇\n车江乡"],
    [4, "古州镇", None, None, None, None, None, None, None, None],
]


def test_import_xlsx(tmp_path):
    units = import_units(make_xlsx(tmp_path / "通讯录.xlsx", SHEET))
    assert [u.name for u in units] == ["县财政局", "县民政局", "各乡镇（街道）", "古州镇"]
    czj, mzj, towns, _ = units
    assert czj.aliases == ("财政局", "县国资办")
    assert czj.emails == ("czj@example.gov.cn", "czj2@example.gov.cn")
    assert [(h.kind, h.url[-3:]) for h in czj.webhooks] == [("dingtalk", "aaa")]
    assert [(h.kind, h.url[-3:]) for h in mzj.webhooks] == [("wecom", "bbb"), ("feishu", "ccc")]
    assert towns.members == ("古州镇", "忠诚镇", "车江乡")


def test_import_csv_with_english_headers(tmp_path):
    rows = [["Name", "Aliases", "Email", "DingTalk", "Webhook", "Members"],
            ["区财政局", "财政局", "czj@example.gov.cn", "", "https://hooks.example.cn/x", ""],
            ["区直各单位", "", "", "", "", "区财政局"]]
    units = import_units(make_csv(tmp_path / "units.csv", rows))
    assert units[0] == UnitConfig("区财政局", aliases=("财政局",), emails=("czj@example.gov.cn",),
                                  webhooks=(WebhookConfig("generic", "https://hooks.example.cn/x"),))
    assert units[1].members == ("区财政局",)


def test_import_gb18030_csv(tmp_path):
    rows = [["单位名称", "邮箱"], ["县财政局", "czj@example.gov.cn"]]
    units = import_units(make_csv(tmp_path / "units.csv", rows, encoding="gb18030"))
    assert units[0].name == "县财政局"


def test_a_row_without_a_name_names_file_and_row(tmp_path):
    rows = [["单位名称", "邮箱"], ["县财政局", "czj@example.gov.cn"], ["", "orphan@example.gov.cn"]]
    path = make_csv(tmp_path / "units.csv", rows)
    with pytest.raises(InputError) as err:
        import_units(path)
    assert err.value.path == str(path) and err.value.line == 3
    assert "单位名称" in str(err.value)


def test_a_bad_email_names_row_and_column(tmp_path):
    rows = [["单位名称", "电子邮件"], ["县财政局", "czj at example"]]
    path = make_xlsx(tmp_path / "units.xlsx", [["title", None], *rows])
    with pytest.raises(InputError) as err:
        import_units(path)
    assert err.value.line == 3
    assert "电子邮件" in str(err.value) and "县财政局" in str(err.value)


def test_a_name_listed_twice_names_the_second_row(tmp_path):
    rows = [["单位名称", "别名"], ["县财政局", ""], ["县国资办", "县财政局"]]
    with pytest.raises(InputError) as err:
        import_units(make_csv(tmp_path / "units.csv", rows))
    assert err.value.line == 3


def test_a_sheet_without_a_name_header_is_refused(tmp_path):
    with pytest.raises(InputError, match="单位名称"):
        import_units(make_csv(tmp_path / "units.csv", [["单位联系人", "电话"], ["张三", "1"]]))


def test_other_file_types_are_refused(tmp_path):
    path = tmp_path / "units.docx"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"\.xlsx or \.csv"):
        import_units(path)


def test_split_names_keeps_bracketed_lists_whole():
    assert split_names("各镇（街、园区）、区财政局，区民政局\n区教育局") == [
        "各镇（街、园区）", "区财政局", "区民政局", "区教育局"]


# ---------------------------------------------------------------------------------------------
# Writing TOML


def test_imported_units_round_trip_through_toml(tmp_path):
    units = import_units(make_xlsx(tmp_path / "通讯录.xlsx", SHEET))
    tables = tomllib.loads(units_to_toml(units))["units"]
    assert [parse_unit(t, f"units[{i}]", {}) for i, t in enumerate(tables)] == units


def test_secrets_are_written_as_variable_names(tmp_path):
    text = ('[[units]]\nname = "区财政局"\nwebhooks = [{ kind = "dingtalk", url_env = "U", '
            'secret_env = "S" }]\n')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path, {"U": "https://oapi.dingtalk.com/robot/send?access_token=Zq1",
                             "S": "secret-Zq2"})
    out = units_to_toml(cfg.units)
    assert 'url_env = "U"' in out and 'secret_env = "S"' in out and "Zq" not in out


names = st.text(min_size=1, max_size=20).map(str.strip).filter(bool)


@given(name=names, aliases=st.lists(names, max_size=3, unique=True))
def test_any_name_round_trips(name, aliases):
    aliases = [a for a in aliases if a != name]
    unit = UnitConfig(name, aliases=tuple(aliases))
    table = tomllib.loads(units_to_toml([unit]))["units"][0]
    assert parse_unit(table, "units[0]", {}) == unit


def test_merge_appends_only_new_units_and_the_result_loads(tmp_path):
    units = [UnitConfig("县教育局", emails=("jyj@example.gov.cn",)), UnitConfig("县财政局"),
             UnitConfig("各乡镇", members=("县教育局", "县民政局"))]
    original = EXAMPLE.read_text("utf-8")
    text, added, changes = merge_units(original, units)
    assert added == ["县教育局", "各乡镇"] and changes == []  # 县财政局 is in the example config, no contact given
    assert text.startswith(original)
    merged = tmp_path / "config.toml"
    merged.write_text(text, encoding="utf-8")
    cfg = load_config(merged, {})
    assert [u.name for u in cfg.directory.resolve("各乡镇")] == ["县教育局", "县民政局"]


def test_merge_with_nothing_new_leaves_the_text_alone():
    text = '[[units]]\nname = "区财政局"\n'
    assert merge_units(text, [UnitConfig("财政局", aliases=("区财政局",))]) == (text, [], [])


def test_the_directory_does_not_import_the_config():
    """The unit entries live in the directory module; the config imports it, never the other way, not
    even for type hints (that was a cycle)."""
    import ast

    import reminder.directory

    tree = ast.parse(Path(reminder.directory.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.endswith("config")}
