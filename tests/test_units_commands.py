"""`reminder units import --write` updates units already in the config; `--skip-bad`; `reminder units list`."""

from __future__ import annotations

import tomllib

from tests.conftest import invoke

CONFIG = '''# 本县配置
database = "r.db"
fallback_channel = "file"

[[units]]
# 财政局的联系方式
name = "县财政局"
aliases = ["财政局"]
emails = [
  "old@example.gov.cn",
]
webhooks = [{ kind = "dingtalk", url = "https://oapi.dingtalk.com/robot/send?access_token=OLD", timeout = 5 }]

[[units]]
name = "县民政局"

[[units]]
name = "县直各部门"
members = ["县财政局", "县民政局"]
'''


def write(tmp_path, sheet: str):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    path = tmp_path / "units.csv"
    path.write_text(sheet, encoding="utf-8")
    return config, path


def test_write_updates_contacts_of_units_already_there_and_reports_each(tmp_path):
    config, sheet = write(tmp_path, "单位名称,邮箱,钉钉\n"
                                    "财政局,new@example.gov.cn,https://oapi.dingtalk.com/robot/send?access_token=NEW\n"
                                    "县民政局,mz@example.gov.cn,\n"
                                    "县审计局,sj@example.gov.cn,\n")
    result = invoke(config, "units", "import", str(sheet), "--write")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"1 units added to {config}: 县审计局; 3 contact(s) updated:"
    assert "  县财政局: emails old@example.gov.cn -> new@example.gov.cn" in lines
    assert "  县财政局: webhooks 1 -> 1 (https://oapi.dingtalk.com/***)" in lines  # the token is not shown
    assert "  县民政局: emails - -> mz@example.gov.cn" in lines
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# 本县配置\n") and "# 财政局的联系方式" in text  # comments kept
    units = {u["name"]: u for u in tomllib.loads(text)["units"]}
    assert units["县财政局"]["emails"] == ["new@example.gov.cn"] and units["县财政局"]["aliases"] == ["财政局"]
    assert units["县财政局"]["webhooks"][0]["url"].endswith("token=NEW")
    assert units["县民政局"]["emails"] == ["mz@example.gov.cn"]
    assert units["县审计局"]["emails"] == ["sj@example.gov.cn"]
    assert units["县直各部门"]["members"] == ["县财政局", "县民政局"]
    assert invoke(config, "config", "check").exit_code == 0  # still a valid config
    again = invoke(config, "units", "import", str(sheet), "--write")
    assert again.stdout.splitlines() == [f"0 units added to {config}; 0 contact(s) updated"]


def test_an_empty_contact_cell_erases_nothing_and_an_unchanged_hook_keeps_its_keys(tmp_path):
    config, sheet = write(tmp_path, "单位名称,邮箱,钉钉\n"
                                    "县财政局,,https://oapi.dingtalk.com/robot/send?access_token=OLD\n")
    result = invoke(config, "units", "import", str(sheet), "--write")
    assert result.stdout.splitlines() == [f"0 units added to {config}; 0 contact(s) updated"]
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_bad_row_stops_the_import_unless_skip_bad(tmp_path):
    config, sheet = write(tmp_path, "单位名称,邮箱\n县财政局,new@example.gov.cn\n县审计局,sj-at-example\n"
                                    "县水务局,sw@example.gov.cn\n")
    refused = invoke(config, "units", "import", str(sheet), "--write")
    assert refused.exit_code == 1
    assert f"error: {sheet}:3: unit '县审计局': column 邮箱: 'sj-at-example' is not an email address" in refused.stderr
    assert "nothing was written" in refused.stderr and "--skip-bad" in refused.stderr
    assert config.read_text(encoding="utf-8") == CONFIG
    taken = invoke(config, "units", "import", str(sheet), "--write", "--skip-bad")
    assert taken.exit_code == 0
    assert f"skipped: {sheet}:3: unit '县审计局'" in taken.stderr
    assert taken.stdout.splitlines()[0] == f"1 units added to {config}: 县水务局; 1 contact(s) updated:"
    names = [u["name"] for u in tomllib.loads(config.read_text(encoding="utf-8"))["units"]]
    assert "县水务局" in names and "县审计局" not in names


def test_units_list_shows_aliases_members_and_where_messages_go(tmp_path):
    config, _ = write(tmp_path, "")
    result = invoke(config, "units", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["单位", "别名", "成员单位", "消息发往"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["县财政局"][1] == "财政局"
    assert rows["县财政局"][3:] == ["钉钉", "https://oapi.dingtalk.com/***"]  # no [smtp]: its robot only
    assert rows["县民政局"][3:] == ["文件", str(tmp_path / "outbox")]  # no contact: the fallback channel
    assert rows["县直各部门"][2] == "县财政局、县民政局" and rows["县直各部门"][3] == "各成员单位各自的渠道"
    assert "token" not in result.stdout
