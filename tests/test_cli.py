"""The command-line contracts of DESIGN.md: JSON shapes, exit codes, nothing stored on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from reminder.cli import cli
from tests.conftest import seed_path

DEADLINE_KEYS = {"text", "kind", "due", "milestones", "every", "offset", "inferred_year", "span"}


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_deadline_json_contract():
    result = invoke("deadline", "2021年6月30日前制定工作方案，12月底前完成", "--plan-year", "2021", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == DEADLINE_KEYS
    assert data["kind"] == "fixed" and data["due"] == "2021-12-31"
    assert data["milestones"] == [{"due": "2021-06-30", "what": "制定工作方案"}, {"due": "2021-12-31", "what": "完成"}]


def test_deadline_reads_stdin_one_phrase_a_line_in_order():
    result = invoke("deadline", "--plan-year", "2021", "--json", input="年底前\n持续推进\n每季度\n\n印发后3个工作日内\n")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [d["kind"] for d in lines] == ["fixed", "ongoing", "recurring", "none", "relative"]
    assert lines[0]["due"] == "2021-12-31" and lines[0]["inferred_year"] is True
    assert lines[4]["offset"] == {"n": 3, "unit": "workday", "after": "印发"}


def test_parse_json_contract_on_a_seed():
    result = invoke("parse", str(seed_path("002")), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"title", "plan_year", "issued", "source", "tasks", "warnings"}
    assert len(data["tasks"]) == 32
    first = data["tasks"][0]
    assert set(first) == {"number", "section", "text", "deadline", "lead_units", "units", "units_text"}
    assert first["number"] == "1" and not first["text"].startswith("1.")
    assert set(first["deadline"]) == DEADLINE_KEYS
    assert set(first["lead_units"]) <= set(first["units"])


def test_import_is_idempotent_and_tasks_lists_with_filters(db_path):
    seed = str(seed_path("002"))
    first = invoke("--db", str(db_path), "import", seed, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output.splitlines()[0])
    assert report["status"] == "created"
    before = _dump(db_path)
    again = invoke("--db", str(db_path), "import", seed, "--json")
    assert json.loads(again.output.splitlines()[0])["status"] == "unchanged"
    assert _dump(db_path) == before
    listed = json.loads(invoke("--db", str(db_path), "tasks", "--json").output)
    assert len(listed) == 32
    finance = json.loads(invoke("--db", str(db_path), "tasks", "--unit", "县财政局", "--json").output)
    assert [t["number"] for t in finance] == ["6"]
    ongoing = json.loads(invoke("--db", str(db_path), "tasks", "--kind", "ongoing", "--json").output)
    assert "5" in {t["number"] for t in ongoing} and all(t["kind"] == "ongoing" for t in ongoing)
    early = json.loads(invoke("--db", str(db_path), "tasks", "--due-before", "2021-07-01", "--json").output)
    assert {t["number"] for t in early} == {"29", "32"}


def test_tasks_marks_inferred_dates(db_path, tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                    "| 1 | 任务甲。 | 县财政局 | 按要求 |\n", encoding="utf-8")
    assert invoke("--db", str(db_path), "import", str(plan)).exit_code == 0
    text = invoke("--db", str(db_path), "tasks").output
    assert "2021-12-31（推定）" in text


def _bad_files(tmp_path):
    corrupt = tmp_path / "corrupt.docx"
    with zipfile.ZipFile(corrupt, "w") as archive:
        archive.writestr("word/document.xml", "<w:document><w:body>")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return [corrupt, tmp_path / "empty.txt", tmp_path / "binary.txt", tmp_path / "image.png",
            seed_path("004")]


def test_bad_files_exit_1_with_a_message_naming_the_file_and_store_nothing(db_path, tmp_path):
    assert invoke("--db", str(db_path), "import", str(seed_path("000"))).exit_code == 0
    before = _dump(db_path)
    for bad in _bad_files(tmp_path):
        result = CliRunner().invoke(cli, ["--db", str(db_path), "import", str(bad)])
        assert result.exit_code == 1, (bad, result.output)
        assert bad.name in result.output
        assert _dump(db_path) == before
        parsed = CliRunner().invoke(cli, ["parse", str(bad), "--json"])
        assert parsed.exit_code == 1


def test_one_bad_file_among_several_stores_nothing(db_path, tmp_path):
    result = CliRunner().invoke(cli, ["--db", str(db_path), "import", str(seed_path("002")), str(seed_path("004"))])
    assert result.exit_code == 1
    assert not db_path.exists() or json.loads(invoke("--db", str(db_path), "tasks", "--json").output) == []


def test_usage_error_exits_2():
    assert CliRunner().invoke(cli, ["deadline", "--plan-year", "abc"]).exit_code == 2
    assert CliRunner().invoke(cli, ["no-such-command"]).exit_code == 2


def test_annual_report_refused_by_the_installed_command(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "reminder", "--db", str(tmp_path / "x.db"), "import",
                                str(seed_path("004"))], capture_output=True, text=True)
    assert completed.returncode == 1
    assert "no task table found" in completed.stderr


def _dump(db_path):
    import sqlite3

    if not os.path.exists(db_path):
        return None
    with sqlite3.connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table' order by name")]
        return {t: sorted(conn.execute(f"select * from [{t}]").fetchall(), key=repr) for t in tables}


def test_importing_several_files_shows_progress(db_path):
    seeds = [str(seed_path(p)) for p in ("000", "001", "002", "003")]
    result = CliRunner().invoke(cli, ["--db", str(db_path), "import", *seeds])
    assert result.exit_code == 0, result.output
    assert "reading" not in result.output  # no bar, not even its label, when stderr is no terminal (a pty
    # test in tests/test_first_run.py shows the bar)
    assert result.output.count("created") == 4
