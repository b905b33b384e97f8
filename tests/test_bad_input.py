"""Bad input tried (issue 4): arbitrary text, near-miss tables, broken files and broken configs.

Every property here also bounds the time per input (hypothesis ``deadline``), so a parser that
backtracks on some input fails the test instead of hanging the daemon. Every file and config case
goes through the real command line and checks three things: exit code 1, a message naming the file
or the key, and a database exactly as it was (every table dumped before and after).
"""

from __future__ import annotations

import functools
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminder import deadline as deadlines
from reminder.cli import cli
from reminder.errors import InputError
from reminder.ingest import build_plan
from reminder.model import DeadlineKind, Plan
from reminder.readers import MAX_COMPRESSION_RATIO, Document, read_document
from reminder.readers.text import read_text_rows
from reminder.units import split_units

PER_INPUT = timedelta(seconds=1)  # hypothesis fails an example that takes longer than this
# REMINDER_FUZZ_EXAMPLES=5000 pytest tests/test_bad_input.py fuzzes longer than CI does.
PROPERTY = settings(deadline=PER_INPUT, max_examples=int(os.environ.get("REMINDER_FUZZ_EXAMPLES", "300")),
                    suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------------
# Alphabets biased towards the vocabulary each parser branches on, mixed with arbitrary text.

DEADLINE_ALPHABET = ("0123456789０１２年月日号底末前后内以之至到—-~./度季第旬上中下半全每按定期个工作天周起"
                     "〇零一二两三四五六七八九十廿次明今持续推进长期坚持常态化及时印发收到申请完成截止"
                     "，,。；、：（）()〔〕《》 \u3000\n")
DEADLINE_PHRASES = ("2021年", "9月底前", "年底前", "第一季度", "二季度末", "上半年", "下半年", "上旬", "下旬",
                    "每季度", "每年至少1次", "每月28日前", "持续推进", "长期坚持", "印发后3个工作日内",
                    "收到申请之日起20个工作日内", "2021年6月—12月", "6月至9月", "次年3月", "二〇二一年九月三十日",
                    "2021.06.30", "2020.12", "截至目前", "自2022年1月1日起施行", "国办发〔2019〕54号", "2月30日",
                    "13月", "0月0日", "9999年", "12 月底前", "十二月底")
UNIT_ALPHABET = "区县市财政局民政教育各镇街园有关部门单位牵头负责配合落实等、，；;,（）()【】〔〕：:\n 　。-—/无"
UNIT_PHRASES = ("区财政局牵头", "县民政局、农业农村局等有关部门落实", "各镇（街、园区）", "牵头单位：县财政局",
                "责任单位：", "（牵头）", "——", "无", "等有关部门", "区", "、、", "（", "）", "牵头负责")


def mixed_text(alphabet: str, phrases: tuple[str, ...], max_parts: int = 12) -> st.SearchStrategy[str]:
    """Text that hits a parser's paths: vocabulary phrases, characters from its alphabet, anything."""
    part = st.one_of(st.sampled_from(phrases), st.text(alphabet=alphabet, max_size=12), st.text(max_size=8))
    return st.lists(part, max_size=max_parts).map("".join)


# ---------------------------------------------------------------------------------------------------
# Properties: the unit splitter, the deadline parser, the text importer


@PROPERTY
@given(st.lists(mixed_text(UNIT_ALPHABET, UNIT_PHRASES), max_size=3),
       st.lists(mixed_text(UNIT_ALPHABET, UNIT_PHRASES), max_size=3))
def test_split_units_never_raises_and_keeps_its_shape(lead_cells, unit_cells):
    split = split_units(lead_cells, unit_cells)
    assert all(isinstance(name, str) and name.strip() for name in split.units)
    assert set(split.lead_units) <= set(split.units)
    assert list(split.units[: len(split.lead_units)]) == list(split.lead_units)  # leads first
    assert len(set(split.units)) == len(split.units)  # no duplicates


@PROPERTY
@given(mixed_text(DEADLINE_ALPHABET, DEADLINE_PHRASES, max_parts=20), st.integers(2000, 2099),
       st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2110, 12, 31))))
def test_deadline_parser_on_text_mixed_with_its_vocabulary(text, plan_year, issued):
    result = deadlines.parse(text, plan_year, issued)
    _check_deadline(result, plan_year)
    json.dumps(result.as_dict(), ensure_ascii=False)  # the CLI contract can always print it
    if result.span is not None:
        assert 0 <= result.span[0] < result.span[1] <= len(text)


def test_deadline_parser_time_is_bounded_on_long_vocabulary_runs():
    """Adversarial repetitions of the parser's own vocabulary, each under the per-input bound."""
    for phrase in DEADLINE_PHRASES:
        text = (phrase + "，") * 2000
        started = time.perf_counter()
        _check_deadline(deadlines.parse(text, 2021), 2021)
        assert time.perf_counter() - started < PER_INPUT.total_seconds(), phrase


def _check_deadline(result, plan_year: int) -> None:
    """No impossible date: every date a real ``date``, inside the plan's window (plan_year-1 .. +5)."""
    dates = ([result.due] if result.due else []) + [m.due for m in result.milestones]
    for day in dates:
        assert isinstance(day, date)
        assert plan_year - 1 <= day.year <= plan_year + 5
    if result.kind is DeadlineKind.FIXED:
        assert result.due is not None
    if result.kind is DeadlineKind.NONE:
        assert result.due is None and not result.milestones


def _check_plan(plan: Plan, plan_year: int | None) -> None:
    assert isinstance(plan, Plan)
    if plan_year is not None:
        assert plan.plan_year == plan_year
    numbers = [task.number for task in plan.tasks]
    assert plan.tasks and all(numbers) and len(set(numbers)) == len(numbers)
    for task in plan.tasks:
        _check_deadline(task.deadline, plan.plan_year)
        assert set(task.lead_units) <= set(task.units)
    json.dumps(plan.as_dict(), ensure_ascii=False, default=str)


def _import_text(text: str, plan_year: int | None) -> Plan | None:
    """read_text_rows + build_plan; None when refused with an InputError (any other error fails)."""
    rows = read_text_rows(text, "fuzz.txt")
    try:
        return build_plan(Document(path="fuzz.txt", format="text", rows=rows), plan_year=plan_year)
    except InputError as error:
        assert error.path == "fuzz.txt" and "fuzz.txt" in str(error)
        return None


PLAN_ALPHABET = ("\t\n|｜ 　序号具体任务工作要求牵头责任配合单位完成时限时间一二三、（）().．1234567890"
                 "年月底前区县财政局民政各镇2021持续推进每季度")


@PROPERTY
@given(st.one_of(st.text(max_size=400), st.text(alphabet=PLAN_ALPHABET, max_size=400)),
       st.one_of(st.none(), st.integers(2000, 2099)))
def test_text_importer_on_arbitrary_documents(text, plan_year):
    plan = _import_text(text, plan_year)
    if plan is not None:
        _check_plan(plan, plan_year)


# --- near-miss plan tables ---------------------------------------------------------------------------

HEADER_WORDS = ("序号", "具体任务", "牵头单位", "配合单位", "完成时限")
EXTRA_HEADERS = ("工作任务", "责任单位", "时间要求", "备注", "类别", "")
NUMBER_CELLS = ("1", "2", "3.", "（4）", "5、", "", "一、", "（二）", "①", "100.5万", "--", "9")
UNIT_CELLS = ("县财政局", "县民政局、教育局", "各镇（街、园区）", "", "——", "区财政局牵头，区民政局落实", "同上")
DEADLINE_CELLS = ("2021年9月30日前", "年底前", "持续推进", "每季度", "", "--", "2月30日", "印发后3个工作日内",
                  "2021.06.30", "按要求", "13月底前")
FREE_CELL = st.text(alphabet=PLAN_ALPHABET, max_size=20)


@st.composite
def near_miss_tables(draw):
    """A header of the real vocabulary in any order (some columns missing, some extra), rows of
    plausible and implausible cells, in any of the layouts plans arrive in."""
    header = list(draw(st.permutations(HEADER_WORDS)))
    header = [h for h in header if draw(st.booleans()) or h == "具体任务"]
    header += draw(st.lists(st.sampled_from(EXTRA_HEADERS), max_size=2))
    header = draw(st.permutations(header))
    pools = {"序号": NUMBER_CELLS, "牵头单位": UNIT_CELLS, "配合单位": UNIT_CELLS, "责任单位": UNIT_CELLS,
             "完成时限": DEADLINE_CELLS, "时间要求": DEADLINE_CELLS}
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(st.one_of(st.sampled_from(pools[h]), FREE_CELL) if h in pools else FREE_CELL) for h in header]
        rows.append(row[: draw(st.integers(max(len(row) - 1, 0), len(row)))])  # sometimes a cell short
    title = draw(st.sampled_from(["某县2021年政务公开工作任务分工", "任务分工", "", "关于印发2022年工作要点的通知"]))
    return title, list(header), rows, draw(st.sampled_from(["pipe", "tabs", "word", "stream"]))


def render_table(title: str, header: list[str], rows: list[list[str]], layout: str) -> str:
    lines = [title] if title else []
    for cells in [header] + rows:
        if layout == "pipe":
            lines.append("| " + " | ".join(cells) + " |")
        elif layout == "tabs":
            lines.append("\t".join(cells))
        elif layout == "word":  # Word table extraction: a tab-indented line per cell, a blank line per row
            lines.extend(["\t" + cell for cell in cells] + [""])
        else:  # web extraction: every cell on its own line
            lines.extend(cell for cell in cells if cell)
    return "\n".join(lines) + "\n"


@PROPERTY
@given(near_miss_tables(), st.one_of(st.none(), st.integers(2000, 2099)))
def test_near_miss_tables_are_imported_or_refused_cleanly(table, plan_year):
    plan = _import_text(render_table(*table), plan_year)
    if plan is not None:
        _check_plan(plan, plan_year)


TASK_TEXT = st.text(alphabet="做好政务公开信息平台建设的工作要求落实推进", min_size=1, max_size=15)


@PROPERTY
@given(st.permutations(HEADER_WORDS), st.lists(st.tuples(TASK_TEXT, st.sampled_from(UNIT_CELLS[:3]),
                                                          st.sampled_from(DEADLINE_CELLS[:4])),
                                                min_size=1, max_size=6),
       st.sampled_from(["pipe", "tabs", "word"]))
def test_a_well_formed_table_in_any_column_order_keeps_every_task(header, tasks, layout):
    """The near-miss generator's control: the same vocabulary, well filled, loses nothing."""
    rows = []
    for number, (text, units, due) in enumerate(tasks, start=1):
        cells = {"序号": str(number), "具体任务": text, "牵头单位": units, "配合单位": "县教育局", "完成时限": due}
        rows.append([cells[h] for h in header])
    plan = _import_text(render_table("某县2021年政务公开工作任务分工", list(header), rows, layout), None)
    assert plan is not None
    _check_plan(plan, 2021)
    assert [(t.number, t.text) for t in plan.tasks] == [(str(n), t[0]) for n, t in enumerate(tasks, start=1)]
    for task, (_, units, _) in zip(plan.tasks, tasks):
        assert "县教育局" in task.units and set(task.lead_units) == set(split_units([units], []).units)


# ---------------------------------------------------------------------------------------------------
# Files, through `reminder import`: a message naming the file, exit 1, the database unchanged

GOOD_PLAN = ("某县2021年政务公开工作任务分工\n"
             "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
             "| 1 | 做好财政预决算公开。 | 县财政局 | 2021年9月30日前 |\n"
             "| 2 | 做好社会救助信息公开。 | 县民政局、县教育局 | 年底前 |\n")


def run_cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def dump(db_path: Path) -> dict | None:
    """Every table's rows (and the schema), to tell "unchanged" from "changed" exactly."""
    if not db_path.exists():
        return None
    with sqlite3.connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        data = {t: sorted(conn.execute(f"SELECT * FROM [{t}]").fetchall(), key=repr) for t in tables}
        data["sqlite_master"] = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    return data


@pytest.fixture
def filled_db(tmp_path) -> Path:
    """A database already holding one plan, so "unchanged" means something."""
    db_path = tmp_path / "reminder.db"
    (tmp_path / "good.txt").write_text(GOOD_PLAN, encoding="utf-8")
    result = run_cli("--db", str(db_path), "import", str(tmp_path / "good.txt"), "--now", "2021-06-01T08:00")
    assert result.exit_code == 0, result.output
    assert dump(db_path)["tasks"]
    return db_path


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("某县2021年政务公开工作任务分工")
    table = document.add_table(rows=3, cols=4)
    for row, cells in enumerate((("序号", "具体任务", "责任单位", "完成时限"),
                                 ("1", "做好财政预决算公开。", "县财政局", "2021年9月30日前"),
                                 ("2", "做好社会救助信息公开。", "县民政局", "年底前"))):
        for col, text in enumerate(cells):
            table.cell(row, col).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["某县2021年政务公开工作任务分工"])
    sheet.append(["序号", "具体任务", "责任单位", "完成时限"])
    sheet.append([1, "做好财政预决算公开。", "县财政局", "2021年9月30日前"])
    sheet.append([2, "做好社会救助信息公开。", "县民政局", "年底前"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The same package with some members replaced (None removes one): damaged, but a valid zip."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = replace.get(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
    return buffer.getvalue()


def truncated(data: bytes, share: float) -> bytes:
    return data[: int(len(data) * share)]


HTML_PLAN_IN_SCRIPT = """<!DOCTYPE html><html><head><title>某县2021年政务公开工作任务分工</title>
<script>var plan = "<table><tr><td>序号</td><td>具体任务</td><td>责任单位</td></tr>
<tr><td>1</td><td>脚本里的任务</td><td>县脚本局</td></tr></table>";</script></head>
<body><h1>某县2021年政务公开工作任务分工</h1><p>正文见附件。</p></body></html>"""

# (file name, how to make its bytes, what the message must say)
BAD_FILES = [
    ("truncated-early.docx", lambda: truncated(docx_bytes(), 0.2), "is not a valid .docx"),
    ("truncated-late.docx", lambda: truncated(docx_bytes(), 0.97), "is not a valid .docx"),
    ("truncated-early.xlsx", lambda: truncated(xlsx_bytes(), 0.2), "is not a valid .xlsx"),
    ("truncated-late.xlsx", lambda: truncated(xlsx_bytes(), 0.97), "is not a valid .xlsx"),
    ("foreign-content-types.docx", lambda: rezip(docx_bytes(), {"[Content_Types].xml": b"<Types/>"}),
     "is not a valid .docx"),
    ("foreign-rels.docx", lambda: rezip(docx_bytes(), {"word/_rels/document.xml.rels": b"<x/>"}),
     "is not a valid .docx"),
    ("no-body.docx", lambda: rezip(docx_bytes(), {"word/document.xml": (
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>')}),
     "is not a valid .docx"),
    ("foreign-content-types.xlsx", lambda: rezip(xlsx_bytes(), {"[Content_Types].xml": b"<Types/>"}),
     "is not a valid .xlsx"),
    ("foreign-workbook.xlsx", lambda: rezip(xlsx_bytes(), {"xl/workbook.xml": b"<x/>"}), "no task table found"),
    ("broken-sheet.xlsx", lambda: rezip(xlsx_bytes(), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData>"}),
     "is not a valid .xlsx"),
    ("noise.txt", lambda: bytes(range(0x80, 0x100)) * 40, "is not a text document"),
    ("header-only.txt", lambda: GOOD_PLAN.split("| 1 |")[0].encode(), "no tasks under it"),
    ("duplicate-numbers.txt", lambda: GOOD_PLAN.replace("| 2 |", "| 1 |").encode(),
     "task number 1 appears more than once (lines 3, 4)"),
    ("plan-only-in-a-script.html", lambda: HTML_PLAN_IN_SCRIPT.encode(), "no task table found"),
]


@pytest.mark.parametrize(("name", "make", "says"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_refused_naming_it_and_the_database_is_unchanged(tmp_path, filled_db, name, make, says):
    bad = tmp_path / name
    bad.write_bytes(make())
    before = dump(filled_db)
    result = run_cli("--db", str(filled_db), "import", str(tmp_path / "good.txt"), str(bad))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert f"{bad}" in result.stderr and says in result.stderr
    assert result.stderr.count("\n") == 1  # one clear line, not a traceback
    assert dump(filled_db) == before


@functools.cache
def _package(kind: str) -> tuple[bytes, tuple[str, ...]]:
    data = docx_bytes() if kind == "docx" else xlsx_bytes()
    return data, tuple(zipfile.ZipFile(io.BytesIO(data)).namelist())


@pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl's remarks about the damage it tolerates
@settings(deadline=PER_INPUT, max_examples=int(os.environ.get("REMINDER_FUZZ_EXAMPLES", "300")) // 2,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["docx", "xlsx"]), st.data())
def test_damaged_office_files_raise_only_input_errors(kind, data):
    """Any cut of the file, or any damage to one part inside a still valid zip: refused cleanly."""
    whole, members = _package(kind)
    how = data.draw(st.sampled_from(["cut the file", "drop a part", "foreign part", "cut a part", "splice"]))
    if how == "cut the file":
        damaged = whole[: data.draw(st.integers(1, len(whole) - 1), label="at")]
    else:
        name = data.draw(st.sampled_from(members), label="part")
        part = zipfile.ZipFile(io.BytesIO(whole)).read(name)
        start = data.draw(st.integers(0, len(part)), label="from")
        end = data.draw(st.integers(start, min(len(part), start + 64)), label="to")
        filler = data.draw(st.one_of(st.binary(max_size=8), st.sampled_from([b"<x/>", b"<", b"\xff\xfe", b"&"])),
                           label="filler")
        damaged = rezip(whole, {name: {"drop a part": None,
                                       "foreign part": b'<?xml version="1.0"?><x xmlns="urn:x"><y/></x>',
                                       "cut a part": part[:start],
                                       "splice": part[:start] + filler + part[end:]}[how]})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"plan.{kind}")
        path.write_bytes(damaged)
        try:
            build_plan(read_document(path))
        except InputError as error:
            assert str(path) in str(error)


ZIP_BOMB_BYTES = 150 * 1024 * 1024  # zeros: deflate packs them over 200 to 1


def write_zip_bomb(path: Path, declared: int | None = None) -> Path:
    """A .docx whose word/document.xml is 150 MB of zeros, written in chunks (never in memory).

    ``declared`` rewrites the size its central directory entry states, as a crafted bomb does to
    slip past checks that trust the declared sizes.
    """
    real = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for info in real.infolist():  # a complete package, so a reader really opens the document part
            if info.filename != "word/document.xml":
                archive.writestr(info.filename, real.read(info))
        with archive.open("word/document.xml", "w") as member:
            chunk = b"0" * 2**20
            for _ in range(ZIP_BOMB_BYTES // len(chunk)):
                member.write(chunk)
    info = zipfile.ZipFile(path).getinfo("word/document.xml")
    assert info.compress_size * MAX_COMPRESSION_RATIO < ZIP_BOMB_BYTES  # really a bomb
    if declared is not None:
        data = bytearray(path.read_bytes())
        entry = data.rindex(b"PK\x01\x02")  # the last entry of the central directory: written last
        assert data[entry + 46:entry + 46 + 17] == b"word/document.xml"
        data[entry + 24:entry + 28] = declared.to_bytes(4, "little")  # its uncompressed size
        path.write_bytes(bytes(data))
        assert zipfile.ZipFile(path).getinfo("word/document.xml").file_size == declared
    return path


# Runs the command in a child and reports its peak memory. VmHWM, not getrusage: Linux carries
# ru_maxrss over an exec, so a child would report the (large) pytest process it was forked from.
MEASURED = """
import sys
from reminder.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="reminder")
except SystemExit as done:
    code = done.code
status = open("/proc/self/status").read()
print("peak_kb", status.split("VmHWM:")[1].split()[0], file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux's /proc")
@pytest.mark.parametrize("declared", [None, 4096], ids=["honest-sizes", "understated-size"])
def test_docx_zip_bomb_is_refused_quickly_in_little_memory(tmp_path, filled_db, declared):
    bomb = write_zip_bomb(tmp_path / "bomb.docx", declared)
    before = dump(filled_db)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, "--db", str(filled_db), "import", str(bomb)],
                          capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    peak_mb = int(done.stderr.split("peak_kb")[1]) / 1024
    assert peak_mb < 100, f"peak memory {peak_mb:.0f} MB: the bomb was inflated"  # inflated it is 150 MB
    assert done.returncode == 1, done.stderr
    assert f"{bomb}: " in done.stderr and "possible zip bomb" in done.stderr
    assert elapsed < 10
    assert dump(filled_db) == before


CIRCLED_PLAN = ("某县2021年政务公开工作任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                "|  | ①做好财政预决算公开。 | 县财政局 | 9月底前 |\n|  | ②做好社会救助信息公开。 | 县民政局 | 年底前 |\n")


def test_tasks_numbered_with_circled_digits_import(tmp_path):
    """Found by the near-miss fuzzer: ① is a digit to str.isdigit() but not to int()."""
    (tmp_path / "plan.txt").write_text(CIRCLED_PLAN, encoding="utf-8")
    result = run_cli("--db", str(tmp_path / "r.db"), "import", str(tmp_path / "plan.txt"), "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(run_cli("--db", str(tmp_path / "r.db"), "tasks", "--json").stdout)
    assert [(t["number"], t["text"]) for t in listed] == [("1", "做好财政预决算公开。"), ("2", "做好社会救助信息公开。")]


def test_a_sheet_titled_in_an_unmerged_first_cell_gives_the_plan_year(tmp_path):
    """Found by the security tests: a title typed into A1 of a four-column sheet (not merged) came
    back as a four-cell row, so it was not read as the title and the import asked for --plan-year."""
    (tmp_path / "plan.xlsx").write_bytes(xlsx_bytes())
    result = run_cli("--db", str(tmp_path / "r.db"), "import", str(tmp_path / "plan.xlsx"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["title"], report["plan_year"]) == ("某县2021年政务公开工作任务分工", 2021)


# --- encodings and web pages that must import -------------------------------------------------------

def _tasks(db_path: Path) -> list[tuple]:
    listed = json.loads(run_cli("--db", str(db_path), "tasks", "--json").stdout)
    return [(t["number"], t["text"], tuple(t["units"]), t["due"]) for t in listed]


@pytest.mark.parametrize("encode", [
    lambda text: text.encode("gbk"),
    lambda text: text.replace("\n", "\r\n").encode("gbk"),
    lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    lambda text: text.encode("utf-16"),  # with its BOM, as Notepad writes "Unicode"
    lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    lambda text: text.encode("utf-16-le"),  # no BOM
    lambda text: text.encode("gb18030"),
], ids=["gbk", "gbk-crlf", "utf8-bom", "utf16", "utf16be-bom", "utf16le-no-bom", "gb18030"])
def test_plans_in_every_chinese_windows_encoding_import_like_utf8(tmp_path, encode):
    (tmp_path / "utf8.txt").write_text(GOOD_PLAN, encoding="utf-8")
    (tmp_path / "other.txt").write_bytes(encode(GOOD_PLAN))
    for name in ("utf8", "other"):
        result = run_cli("--db", str(tmp_path / f"{name}.db"), "import", str(tmp_path / f"{name}.txt"))
        assert result.exit_code == 0, result.output
    expected = _tasks(tmp_path / "utf8.db")
    assert [t[:2] for t in expected] == [("1", "做好财政预决算公开。"), ("2", "做好社会救助信息公开。")]
    assert _tasks(tmp_path / "other.db") == expected


SCRIPTED_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>某县2021年政务公开工作任务分工</title>
<script>var rows = "<table><tr><td>序号</td><td>具体任务</td></tr><tr><td>9</td><td>脚本任务甲</td></tr></table>";</script>
<style>td::after { content: "脚本任务乙"; }</style></head><body>
<h1>某县2021年政务公开工作任务分工</h1>
<script>document.write("<p>3. 脚本任务丙 县脚本局 2021年9月30日前</p>");</script>
<table><tr><th>序号</th><th>具体任务</th><th>责任单位</th><th>完成时限</th></tr>
<tr><td>1</td><td>做好财政预决算公开。<script>alert("脚本任务丁")</script></td><td>县财政局</td><td>9月底前</td></tr>
<tr><td>2</td><td>做好社会救助信息公开。</td><td>县民政局<noscript>县脚本局</noscript></td><td>年底前</td></tr>
<script>/* 3 | 脚本任务戊 | 县脚本局 */</script>
</table><script src="tracker.js"></script><noscript><p>4. 脚本任务己</p></noscript></body></html>"""


def test_scripts_in_a_web_page_never_become_tasks(tmp_path):
    (tmp_path / "page.html").write_text(SCRIPTED_PAGE, encoding="utf-8")
    result = run_cli("--db", str(tmp_path / "r.db"), "import", str(tmp_path / "page.html"))
    assert result.exit_code == 0, result.output
    tasks = _tasks(tmp_path / "r.db")
    assert [(number, text, units) for number, text, units, _ in tasks] == [
        ("1", "做好财政预决算公开。", ("县财政局",)), ("2", "做好社会救助信息公开。", ("县民政局",))]
    stored = json.dumps(dump(tmp_path / "r.db"), ensure_ascii=False, default=str)
    assert "脚本" not in stored and "alert" not in stored and "tracker" not in stored


# ---------------------------------------------------------------------------------------------------
# Config: every wrong key or type names the key, through `reminder --config bad.toml tasks`

UNIT = '[[units]]\nname = "县财政局"\n'
HOOK = 'webhooks = [{ kind = "dingtalk", url = "https://oapi.dingtalk.com/robot/send?access_token=tok-Qx31" }]\n'

BROKEN_CONFIGS = [
    # (config text, the key the message must name)
    ("[smpt]\nhost = \"x\"", "smpt"),
    ("databse = \"x.db\"", "databse"),
    ("database = [\"x.db\"]", "database"),
    ("send_hour = 9.5", "send_hour"),
    ("digest_hour = \"16\"", "digest_hour"),
    ("timezone = 8", "timezone"),
    ("templates = false", "templates"),
    ("fallback_channel = \"email\"", "fallback_channel"),
    ("policy = \"strict\"", "policy"),
    ("[policy]\nescalate_after_days = -1", "policy.escalate_after_days"),
    ("[policy]\ncheckin_every_days = \"30\"", "policy.checkin_every_days"),
    ("[policy]\nretry_base_seconds = 0", "policy.retry_base_seconds"),
    ("[policy]\nremind_days_before = [7, \"1\"]", "policy.remind_days_before[1]"),
    ("[office]\nname = 3", "office.name"),
    ("[office]\nwebhooks = { kind = \"dingtalk\" }", "office.webhooks"),
    ("[office]\nwebhooks = [{ kind = \"dingtalk\", url = 3 }]", "office.webhooks[0].url"),
    ("[office]\nwebhooks = [{ kind = \"dingtalk\", url = \"https://a.cn/x\", token = \"t\" }]",
     "office.webhooks[0].token"),
    ("[smtp]\nhost = 25", "smtp.host"),
    ("[smtp]\nport = \"587\"", "smtp.port"),
    ("[smtp]\nsecurity = true", "smtp.security"),
    ("[smtp]\nhost = \"smtp.example.gov.cn\"\nfrom_addr = \"a@example.gov.cn\"\nfrom_name = []", "smtp.from_name"),
    ("[smtp]\npassword_env = \"P\"", "smtp.password_env"),
    ("[file]\ndirectory = \"out\"", "file.directory"),
    ("[calendar]\nextra_workdays = \"2021-10-09\"", "calendar.extra_workdays"),
    ("[calendar]\nextra_holidays = [20211001]", "calendar.extra_holidays[0]"),
    ("[[units]]\nname = 3", "units[0].name"),
    ("[[units]]\nname = \"\"", "units[0].name"),
    (UNIT + "aliases = \"财政局\"", "units[0].aliases"),
    (UNIT + "members = [3]", "units[0].members[0]"),
    (UNIT + "phone = \"12345\"", "units[0].phone"),
    (UNIT + "emails = [\"czj@example\"]", "units[0].emails[0]"),
    (UNIT + '[[units]]\nname = "县民政局"\nwebhooks = [{ kind = "feishu", url = "https://a.cn/x", secret = "s" }]',
     "units[1].webhooks[0].secret"),
    (UNIT + 'webhooks = [{ kind = "wecom", url_env = "has-dash" }]', "units[0].webhooks[0].url_env"),
    (UNIT + HOOK.replace('}]', ', secret_env = 7 }]'), "units[0].webhooks[0].secret_env"),
]


@pytest.mark.parametrize(("text", "key"), BROKEN_CONFIGS, ids=[c[1] for c in BROKEN_CONFIGS])
def test_a_broken_config_stops_the_cli_naming_the_key(tmp_path, text, key):
    config = tmp_path / "bad.toml"
    config.write_text(f'database = "{tmp_path / "never.db"}"\n' * ("database" not in text) + text + "\n",
                      encoding="utf-8")
    result = run_cli("--config", str(config), "tasks")
    assert result.exit_code == 1, result.output
    assert f"config key '{key}'" in result.stderr and str(config) in result.stderr
    assert "tok-Qx31" not in result.output
    assert not (tmp_path / "never.db").exists()


SECRET_ENV = {"SMTP_PW": "pw-Qx41", "DING_SECRET": "ding-Qx42", "FEISHU_URL": "https://open.feishu.cn/hook/tok-Qx43",
              "OFFICE_URL": "https://oapi.dingtalk.com/robot/send?access_token=tok-Qx44", "OFFICE_SECRET": "sec-Qx45"}
SECRET_CONFIG = """
[smtp]
host = "smtp.example.gov.cn"
username = "gwgk@example.gov.cn"
password_env = "SMTP_PW"
from_addr = "gwgk@example.gov.cn"

[office]
webhooks = [{ kind = "dingtalk", url_env = "OFFICE_URL", secret_env = "OFFICE_SECRET" }]

[[units]]
name = "县财政局"
webhooks = [
  { kind = "dingtalk", url = "https://oapi.dingtalk.com/robot/send?access_token=tok-Qx46", secret_env = "DING_SECRET" },
  { kind = "feishu", url_env = "FEISHU_URL" },
]
"""


@pytest.mark.parametrize(("missing", "key"), [
    ("SMTP_PW", "smtp.password_env"),
    ("OFFICE_URL", "office.webhooks[0].url_env"),
    ("OFFICE_SECRET", "office.webhooks[0].secret_env"),
    ("DING_SECRET", "units[0].webhooks[0].secret_env"),
    ("FEISHU_URL", "units[0].webhooks[1].url_env"),
])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_a_missing_secret_names_the_environment_variable(tmp_path, missing, key, how):
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "never.db"}"\n' + SECRET_CONFIG, encoding="utf-8")
    env = {**SECRET_ENV, missing: None if how == "unset" else ""}  # None removes it from the environment
    result = run_cli("--config", str(config), "tasks", env=env)
    assert result.exit_code == 1, result.output
    state = "is not set" if how == "unset" else "is empty"
    assert f"config key '{key}'" in result.stderr and f"environment variable {missing} {state}" in result.stderr
    assert "Qx4" not in result.output  # no other secret is shown alongside
    assert not (tmp_path / "never.db").exists()
    assert run_cli("--config", str(config), "tasks", env=SECRET_ENV).exit_code == 0  # the control


# ---------------------------------------------------------------------------------------------------
# An unknown unit in a plan is reported, not dropped

DIRECTORY = """
[[units]]
name = "县财政局"
aliases = ["财政局"]
emails = ["czj@example.gov.cn"]

[[units]]
name = "县民政局"

[[units]]
name = "各乡镇"
members = ["县民政局"]
"""
UNITS_PLAN = ("某县2021年政务公开工作任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
              "| 1 | 任务甲。 | 财政局、县民政局 | 9月底前 |\n"
              "| 2 | 任务乙。 | 县财政局牵头，县统计局、各乡镇落实 | 年底前 |\n"
              "| 3 | 任务丙。 | 县统计局；各街道 | 年底前 |\n")


def _unit_config(tmp_path: Path, directory: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "r.db"}"\n' + directory, encoding="utf-8")
    (tmp_path / "plan.txt").write_text(UNITS_PLAN, encoding="utf-8")
    return config


def test_a_unit_missing_from_the_directory_is_reported_and_kept(tmp_path):
    config = _unit_config(tmp_path, DIRECTORY)
    result = run_cli("--config", str(config), "import", str(tmp_path / "plan.txt"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "not in the unit directory" in line]
    assert len(warnings) == 2  # one line per unknown unit, listing its tasks
    assert "unit '县统计局' (tasks 2, 3)" in warnings[0] and "unit '各街道' (task 3)" in warnings[1]
    assert all(str(tmp_path / "plan.txt") in line and "[[units]]" in line for line in warnings)
    # known names are not reported: an alias, a name with its prefix, a group
    assert not any(name in result.stderr for name in ("'财政局'", "'县财政局'", "'县民政局'", "'各乡镇'"))
    with sqlite3.connect(tmp_path / "r.db") as conn:
        assigned = set(conn.execute("SELECT t.number, a.unit FROM assignments a JOIN tasks t ON t.id = a.task_id"))
    conn.close()
    assert {("2", "县统计局"), ("3", "县统计局"), ("3", "各街道")} <= assigned


def test_unknown_units_are_listed_in_the_json_report(tmp_path):
    config = _unit_config(tmp_path, DIRECTORY)
    result = run_cli("--config", str(config), "import", str(tmp_path / "plan.txt"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["unknown_units"] == [{"unit": "县统计局", "tasks": ["2", "3"]}, {"unit": "各街道", "tasks": ["3"]}]
    assert {"task": "3", "unit": "各街道"} in report["assignments_added"]


def test_without_a_unit_directory_nothing_is_called_unknown(tmp_path):
    config = _unit_config(tmp_path, "")
    result = run_cli("--config", str(config), "import", str(tmp_path / "plan.txt"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["unknown_units"] == [] and "not in the unit directory" not in result.stderr
