"""Rows of cells -> Plan: header, sections, numbering, units, deadlines, noise.

Plans share a family resemblance, not a format. So the algorithm finds the header row by its
vocabulary (具体要求, 牵头单位, 时限要求 …), gives each column a role, and then reads every row by
role *and* by content: a cell that starts with 一、 or （一） is a section heading wherever it sits, a
line that starts with "12." starts task 12 even when several tasks share one cell, and a blank units
cell means "same as the row above" (a merged cell). Web extractions that put every cell on its own
line are reassembled from the same header ("stream" layout).

Pure apart from ``read_plan``, which reads the file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path

from reminder import deadline as deadlines
from reminder import textnorm
from reminder.errors import InputError
from reminder.model import Deadline, DeadlineKind, Plan, Task
from reminder.readers import Document, Row
from reminder.units import is_placeholder, split_units


class Role(Enum):
    NUMBER = "number"
    SECTION = "section"
    TEXT = "text"
    LEAD = "lead"
    UNITS = "units"
    DEADLINE = "deadline"
    OTHER = "other"


# Header vocabulary, most specific first: the first pattern a header cell contains decides its role.
HEADER_VOCABULARY: tuple[tuple[str, Role], ...] = (
    ("序号", Role.NUMBER), ("编号", Role.NUMBER),
    ("牵头落实单位", Role.UNITS), ("牵头责任单位", Role.UNITS),
    ("牵头单位", Role.LEAD), ("牵头部门", Role.LEAD), ("主办单位", Role.LEAD), ("牵头领导", Role.OTHER),
    ("责任单位", Role.UNITS), ("落实单位", Role.UNITS), ("配合单位", Role.UNITS), ("协办单位", Role.UNITS),
    ("责任部门", Role.UNITS), ("配合部门", Role.UNITS), ("参与单位", Role.UNITS), ("承办单位", Role.UNITS),
    ("实施单位", Role.UNITS), ("负责单位", Role.UNITS), ("责任主体", Role.UNITS), ("责任科室", Role.UNITS),
    ("时限", Role.DEADLINE), ("完成时间", Role.DEADLINE), ("时间要求", Role.DEADLINE), ("时间安排", Role.DEADLINE),
    ("完成日期", Role.DEADLINE), ("截止时间", Role.DEADLINE), ("截止日期", Role.DEADLINE),
    ("时间节点", Role.DEADLINE), ("完成期限", Role.DEADLINE), ("进度安排", Role.DEADLINE),
    ("备注", Role.OTHER), ("完成情况", Role.OTHER), ("进展情况", Role.OTHER),
    # Text-like columns: the rightmost becomes the requirement text, the others sections.
    ("具体要求", Role.TEXT), ("具体任务", Role.TEXT), ("工作任务", Role.TEXT), ("任务内容", Role.TEXT),
    ("工作内容", Role.TEXT), ("主要任务", Role.TEXT), ("重点任务", Role.TEXT), ("工作措施", Role.TEXT),
    ("具体措施", Role.TEXT), ("工作要求", Role.TEXT), ("任务分工", Role.TEXT), ("目标任务", Role.TEXT),
    ("任务事项", Role.TEXT), ("工作事项", Role.TEXT), ("主要内容", Role.TEXT), ("重点工作", Role.TEXT),
    ("具体内容", Role.TEXT), ("工作举措", Role.TEXT), ("主要措施", Role.TEXT), ("任务要求", Role.TEXT),
    ("工作目标", Role.TEXT), ("任务名称", Role.TEXT),
    ("类别", Role.SECTION), ("重点领域", Role.SECTION), ("工作类别", Role.SECTION), ("任务类别", Role.SECTION),
    ("总体要求", Role.TEXT),
)
# Inline labels of plans written as paragraphs ("牵头单位：县财政局；完成时限：2021年底前").
LABELS = {
    "牵头单位": Role.LEAD, "牵头部门": Role.LEAD, "牵头": Role.LEAD,
    "责任单位": Role.UNITS, "落实单位": Role.UNITS, "配合单位": Role.UNITS, "责任部门": Role.UNITS,
    "协办单位": Role.UNITS, "参与单位": Role.UNITS,
    "完成时限": Role.DEADLINE, "时限要求": Role.DEADLINE, "完成时间": Role.DEADLINE, "时间要求": Role.DEADLINE,
    "时限": Role.DEADLINE, "截止时间": Role.DEADLINE,
}
LABEL_RE = re.compile(r"(?P<label>" + "|".join(sorted(LABELS, key=len, reverse=True)) + r")\s*[:：]\s*"
                      r"(?P<value>[^；;）)\n]*)[；;）)]?")
NO_TASKS_MESSAGE = ("found a task table header but no numbered tasks under it; number the tasks (1. 2. …) "
                    "or add a 序号 column")
MAX_HEADER_CELL = 12  # header cells are short labels
MAX_LABEL_EXTRA = 4   # "具体工作任务" is a label; "深化重点领域公开" is a heading that contains one

# Section headings: 一、… is level 0, （一）… level 1. Extraction sometimes loses the numeral
# ("、聚焦…", ")狠抓…"), so a bare 、 or closing bracket at the start still marks the level.
CN_NUMERAL = "一二三四五六七八九十百零〇"
SECTION_PATTERNS: tuple[tuple[re.Pattern, int], ...] = (
    (re.compile(rf"^第[{CN_NUMERAL}]+(部分|章|节|篇)"), 0),
    (re.compile(rf"^[{CN_NUMERAL}]+\s*[、.．]"), 0),
    (re.compile(r"^、"), 0),
    (re.compile(rf"^[（(]\s*[{CN_NUMERAL}]+\s*[）)]"), 1),
    (re.compile(r"^[)）]"), 1),
)
# Task numbers, by style. A document uses the first style found in its text cells.
TASK_STYLES: tuple[re.Pattern, ...] = (
    re.compile(r"^(\d{1,3})\s*[.．、)）]\s*"),
    re.compile(r"^[（(](\d{1,3})[）)]\s*"),
    re.compile(r"^([①-⑳])\s*"),
)
BARE_NUMBER = re.compile(r"^(\d{1,3})\s*[.．、]?$")
CN_NUMBER_CELL = re.compile(r"^([一二三四五六七八九十]{1,3})\s*[.．、]?$")  # a 序号 cell written 一, 二 …
MAX_NUMBER_JUMP = 5  # a number further ahead than this is more likely text ("100.5万") than a task

YEAR = re.compile(r"(20\d\d)\s*年")
PLAN_WORDS = re.compile(r"方案|要点|分工|分解|任务|清单|台账|计划|安排")
DATE_TEXT = (
    rf"(?P<y>\d{{4}}|[{CN_NUMERAL}]{{4}})\s*年\s*(?P<m>\d{{1,2}}|[{CN_NUMERAL}]{{1,3}})\s*月\s*"
    rf"(?P<d>\d{{1,2}}|[{CN_NUMERAL}]{{1,3}})\s*日"
    r"|(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})"
)
ISSUED_LABELLED = re.compile(rf"(发布时间|发布日期|成文日期|印发日期|发文日期|公开日期)\s*[:：]?\s*({DATE_TEXT})")
ISSUED_ALONE = re.compile(rf"^[（(]?\s*({DATE_TEXT})\s*[）)]?$")


@dataclass
class _Draft:
    """A task being assembled from one or more cells."""

    number: str
    line: int
    section: tuple[str, ...]
    text_lines: list[str] = field(default_factory=list)
    lead_cells: list[str] = field(default_factory=list)
    unit_cells: list[str] = field(default_factory=list)
    deadline_cell: str = ""


@dataclass(frozen=True)
class _Header:
    index: int                  # row index of the (last) header row
    roles: tuple[Role, ...]
    stream: bool                # True: one cell per row, reassemble by role order


def read_plan(path: str | Path, plan_year: int | None = None) -> Plan:
    """Read a plan document from disk (any supported format) without touching the database."""
    from reminder.readers import read_document

    return build_plan(read_document(str(path)), plan_year=plan_year)


def build_plan(document: Document, plan_year: int | None = None) -> Plan:
    """Turn a document's rows into a Plan, or raise InputError saying why it is not a plan."""
    rows = [_normalize_row(row) for row in document.rows]
    rows = [row for row in rows if any(row.cells)]
    header = _find_header(rows)
    if header is None:
        drafts, ignored, first = _LabelledReader().read(rows)
        if not drafts:
            raise InputError(
                "no task table found: expected a header row naming the requirement, unit and deadline "
                "columns (具体要求 / 责任单位 / 时限要求 …) followed by numbered tasks, or numbered "
                "paragraphs with labels such as 牵头单位：… 完成时限：…",
                path=document.path,
            )
        before, after = rows[:first], []
    else:
        reader = _StreamReader(header) if header.stream else _TableReader(header)
        drafts, ignored = reader.read(rows[header.index + 1 :])
        if not drafts:
            raise InputError(NO_TASKS_MESSAGE, path=document.path, line=rows[header.index].line)
        before, after = rows[: header.index], rows[header.index + 1 :]
    return _assemble(document, before, after, drafts, ignored, plan_year)


def _assemble(document: Document, before: list[Row], after: list[Row], drafts: list[_Draft],
              ignored: list[Row], plan_year: int | None) -> Plan:
    """Title, year and issue date from the text around the tasks; then the tasks themselves."""
    preamble = [cell for cell in map(_lone_cell, before) if cell]
    trailer = [cell for cell in map(_lone_cell, after) if cell]
    issued = _find_issued(preamble) or _find_issued(trailer[-8:])
    title = _find_title(preamble) or Path(document.path).stem
    year = plan_year or _find_year(title, preamble, issued)
    if year is None:
        raise InputError("cannot tell the plan year from the title or text; pass --plan-year", document.path)
    drafts = _qualify_restarted_numbers(drafts, document.path)
    tasks, warnings = _finish(drafts, year, issued)
    warnings = _numbering_warnings(drafts) + warnings + _ignored_warnings(ignored)
    return Plan(title=title, plan_year=year, issued=issued, source=document.path,
                tasks=tuple(tasks), warnings=tuple(warnings))


# --- header -----------------------------------------------------------------------------------

def _find_header(rows: list[Row]) -> _Header | None:
    """The first row (or run of one-cell rows) that reads as a plan table header."""
    for index, row in enumerate(rows):
        if len(row.cells) > 1:
            roles = _header_roles(row.cells)
            if roles:
                return _merge_second_header_row(rows, index, roles)
        else:
            run = _header_run(rows, index)
            if run:
                labels = [row.cells[0] for row in rows[index : index + len(run)]]
                return _Header(index=index + len(run) - 1, roles=_assign_text_role(run, labels), stream=True)
    return None


def _header_roles(cells: tuple[str, ...]) -> tuple[Role, ...] | None:
    roles = [_cell_role(cell) for cell in cells]
    filled = [r for r, c in zip(roles, cells) if c]
    known = [r for r in filled if r is not None]
    if len(set(known)) < 2 or len(known) < len(filled) - 1 or not _has_task_columns(known):
        return None
    return _assign_text_role([r or Role.OTHER for r in roles], list(cells))


def _header_run(rows: list[Row], start: int) -> list[Role]:
    """Consecutive one-cell rows that are header labels: the web-extraction layout."""
    run: list[Role] = []
    for row in rows[start:]:
        role = _cell_role(row.cells[0]) if len(row.cells) == 1 else None
        if role is None:
            break
        run.append(role)
    return run if len(run) >= 3 and _has_task_columns(run) else []


def _cell_role(cell: str) -> Role | None:
    label = _label(cell)
    if not label or len(label) > MAX_HEADER_CELL or _section_level(label) is not None:
        return None
    for word, role in HEADER_VOCABULARY:
        if word in label and len(label) - len(word) <= MAX_LABEL_EXTRA:
            return role
    return None


def _has_task_columns(roles: list[Role]) -> bool:
    has_text = Role.TEXT in roles
    has_detail = any(r in roles for r in (Role.UNITS, Role.LEAD, Role.DEADLINE))
    return has_text and has_detail


def _assign_text_role(roles: list[Role], labels: list[str]) -> tuple[Role, ...]:
    """Of several text-like columns the rightmost holds the requirement and those to its left are
    sections (工作要求 | 具体任务 | 具体要求). A header merged across columns repeats its label and
    stays one text column."""
    text_columns = [i for i, r in enumerate(roles) if r is Role.TEXT]
    if not text_columns:
        return tuple(roles)
    text_label = _label(labels[text_columns[-1]])
    return tuple(Role.SECTION if r is Role.TEXT and _label(labels[i]) != text_label else r
                 for i, r in enumerate(roles))


def _label(cell: str) -> str:
    return re.sub(r"\s+", "", cell)


def _merge_second_header_row(rows: list[Row], index: int, roles: tuple[Role, ...]) -> _Header:
    """Two-level headers (责任单位 over 牵头单位 | 配合单位): the lower row refines the upper."""
    if index + 1 < len(rows) and len(rows[index + 1].cells) == len(roles):
        lower = [_cell_role(c) for c in rows[index + 1].cells]
        if sum(r is not None for r in lower) >= 2:
            merged = tuple(lo if lo in (Role.LEAD, Role.UNITS) and up is Role.UNITS else up
                           for up, lo in zip(roles, lower))
            return _Header(index=index + 1, roles=merged, stream=False)
    return _Header(index=index, roles=roles, stream=False)


def _is_repeated_header(row: Row) -> bool:
    """Word repeats the header row on every page; web pages repeat single labels."""
    known = [_cell_role(c) for c in row.cells if c]
    return bool(known) and all(r is not None for r in known) and (len(known) >= 2 or len(row.cells) == 1)


# --- rows -> task drafts ------------------------------------------------------------------------

class _Sections:
    """The current section path; a heading replaces its level and everything below it."""

    def __init__(self) -> None:
        self.levels: list[tuple[float, str]] = []

    def enter(self, text: str, column_level: float) -> None:
        level = _section_level(text)
        level = column_level if level is None else level
        self.levels = [(lv, t) for lv, t in self.levels if lv < level] + [(level, text)]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.levels)


class _Numbering:
    """Decides whether a line starts a task, using the document's numbering style and sequence."""

    def __init__(self) -> None:
        self.style: re.Pattern | None = None
        self.last = 0

    def match(self, line: str) -> tuple[str, str] | None:
        styles = (self.style,) if self.style else TASK_STYLES
        for style in styles:
            found = style.match(line)
            if found and self.plausible(_number_value(found.group(1))):
                self.style = style
                return str(_number_value(found.group(1))), line[found.end():]
        return None

    def plausible(self, number: int) -> bool:
        return number == 1 or self.last < number <= self.last + MAX_NUMBER_JUMP

    def accept(self, number: str) -> None:
        self.last = int(number)


class _TableReader:
    """Rows with several cells, read through the header's column roles."""

    def __init__(self, header: _Header):
        self.roles = header.roles
        self.sections = _Sections()
        self.numbering = _Numbering()
        self.previous_units: tuple[list[str], list[str]] = ([], [])

    def read(self, rows: list[Row]) -> tuple[list[_Draft], list[Row]]:
        drafts: list[_Draft] = []
        ignored: list[Row] = []
        for row in rows:
            if _is_repeated_header(row):
                continue
            found = self._read_row(row)
            if found is None:
                ignored.append(row)
            drafts.extend(found or [])
        return drafts, ignored

    def _read_row(self, row: Row) -> list[_Draft] | None:
        filled = [c for c in row.cells if c]
        if len(filled) == 1 and _section_level(filled[0]) is not None:
            self.sections.enter(filled[0], 0)
            return []
        by_role = self._by_role(row.cells)
        for level, cell in enumerate(by_role[Role.SECTION]):
            if cell:
                self.sections.enter(cell, level)
        drafts = self._tasks_in_row(row, by_role)
        if drafts is None:
            return None
        self._attach_details(drafts, by_role)
        return drafts

    def _by_role(self, cells: tuple[str, ...]) -> dict[Role, list[str]]:
        roles, aligned = _align(self.roles, cells)
        by_role: dict[Role, list[str]] = {role: [] for role in Role}
        for role, cell in zip(roles, aligned):
            by_role[role].append(cell)
        by_role[Role.TEXT] = self._merged_text(by_role[Role.TEXT], by_role[Role.SECTION])
        return by_role

    @staticmethod
    def _merged_text(cells: list[str], sections: list[str]) -> list[str]:
        """A text header merged over several columns: headings in its left cells are sections,
        repeats of one merged cell count once, and the rest is the requirement."""
        parts: list[str] = []
        for i, cell in enumerate(cells):
            if not cell or (parts and cell == parts[-1]):
                continue
            if i < len(cells) - 1 and _section_level(cell) is not None:
                sections.append(cell)
            else:
                parts.append(cell)
        return ["\n".join(parts)]

    def _tasks_in_row(self, row: Row, by_role: dict[Role, list[str]]) -> list[_Draft] | None:
        text = (by_role[Role.TEXT] or [""])[0]
        number_cell = _arabic(next((c for c in by_role[Role.NUMBER] if c), ""))
        details = by_role[Role.LEAD] + by_role[Role.UNITS] + by_role[Role.DEADLINE]
        if not text and not number_cell and not any(details):
            return []  # a row of section headings only
        bare = BARE_NUMBER.match(number_cell)
        if bare:
            number = str(int(bare.group(1)))
            self.numbering.accept(number)
            draft = _Draft(number=number, line=row.line, section=self.sections.path)
            draft.text_lines.append(_strip_number(text, number))
            return [draft]
        return _split_numbered_lines(text, row.line, self.sections, self.numbering)

    def _attach_details(self, drafts: list[_Draft], by_role: dict[Role, list[str]]) -> None:
        leads, units = by_role[Role.LEAD], by_role[Role.UNITS]
        if not any(c.strip() for c in leads + units):
            leads, units = self.previous_units  # a blank units cell continues a merged cell
        self.previous_units = (leads, units)
        deadline_cell = next((c for c in by_role[Role.DEADLINE] if c and not is_placeholder(c)), "")
        for draft in drafts:
            draft.lead_cells, draft.unit_cells = list(leads), list(units)
            draft.deadline_cell = deadline_cell


class _StreamReader:
    """One cell per row (web extraction): a task number starts a row, then cells fill its columns."""

    def __init__(self, header: _Header):
        roles = list(header.roles)
        text_at = roles.index(Role.TEXT)
        self.after_text = [r for r in roles[text_at + 1 :] if r in (Role.LEAD, Role.UNITS, Role.DEADLINE)]
        self.sections = _Sections()
        self.numbering = _Numbering()

    def read(self, rows: list[Row]) -> tuple[list[_Draft], list[Row]]:
        drafts: list[_Draft] = []
        ignored: list[Row] = []
        expecting: list[Role] = []
        for row in rows:
            cell = " ".join(c for c in row.cells if c)
            if len(row.cells) == 1 and _cell_role(cell) is not None:
                continue  # a repeated header label
            started = self._start(cell, row.line)
            if started is not None:
                drafts.append(started[0])
                expecting = started[1]
            elif _section_level(cell) is not None and not (expecting and expecting[0] is Role.TEXT):
                self.sections.enter(cell, 0)
                expecting = []
            elif drafts and expecting:
                _fill(drafts[-1], expecting, cell)
            else:
                ignored.append(row)
        return drafts, ignored

    def _start(self, cell: str, line: int) -> tuple[_Draft, list[Role]] | None:
        bare = BARE_NUMBER.match(cell)
        if bare and self.numbering.plausible(int(bare.group(1))):
            number = str(int(bare.group(1)))
            self.numbering.accept(number)
            return _Draft(number=number, line=line, section=self.sections.path), [Role.TEXT] + self.after_text
        numbered = self.numbering.match(cell)
        if numbered:
            number, rest = numbered
            self.numbering.accept(number)
            draft = _Draft(number=number, line=line, section=self.sections.path, text_lines=[rest])
            return draft, list(self.after_text)
        return None


def _fill(draft: _Draft, expecting: list[Role], cell: str) -> None:
    """Give the cell to the next expected column; a deadline-looking cell skips a missing units cell."""
    role = expecting[0]
    if role in (Role.LEAD, Role.UNITS) and Role.DEADLINE in expecting and _looks_like_deadline(cell):
        role = Role.DEADLINE
    expecting.remove(role)
    if role is Role.TEXT:
        draft.text_lines.append(cell)
    elif role is Role.LEAD:
        draft.lead_cells.append(cell)
    elif role is Role.UNITS:
        draft.unit_cells.append(cell)
    elif role is Role.DEADLINE and not is_placeholder(cell):
        draft.deadline_cell = cell


def _looks_like_deadline(cell: str) -> bool:
    return len(cell) <= 30 and deadlines.looks_like_deadline(cell)


def _split_numbered_lines(text: str, line: int, sections: _Sections, numbering: _Numbering) -> list[_Draft] | None:
    """A text cell may open with a section heading and hold several numbered tasks."""
    drafts: list[_Draft] = []
    for text_line in (t.strip() for t in text.split("\n")):
        if not text_line:
            continue
        numbered = numbering.match(text_line)
        if numbered:
            number, rest = numbered
            numbering.accept(number)
            drafts.append(_Draft(number=number, line=line, section=sections.path, text_lines=[rest]))
        elif not drafts and _section_level(text_line) is not None:
            sections.enter(text_line, 1)
        elif drafts:
            drafts[-1].text_lines.append(text_line)
        else:
            return None  # text with no task number: not a task row
    return drafts or None


class _LabelledReader:
    """Plans written as numbered paragraphs rather than a table (messy text, notices pasted into a
    page): "1. 做好……（牵头单位：县财政局；配合单位：县审计局；完成时限：2021年底前）". Labels may also
    stand on lines of their own under the task. Only labelled tasks count, so a report with
    numbered paragraphs but no unit or deadline labels is still refused."""

    def __init__(self) -> None:
        self.sections = _Sections()
        self.numbering = _Numbering()

    def read(self, rows: list[Row]) -> tuple[list[_Draft], list[Row], int]:
        drafts: list[_Draft] = []
        first = len(rows)
        for index, row in enumerate(rows):
            for line in " ".join(c for c in row.cells if c).split("\n"):
                line = line.strip()
                started = self._line(line, row.line, drafts)
                if started and first == len(rows):
                    first = index
        labelled = [d for d in drafts if d.lead_cells or d.unit_cells or d.deadline_cell]
        if len(labelled) < max(1, len(drafts) // 2):
            return [], [], first
        return drafts, [], first

    def _line(self, line: str, number: int, drafts: list[_Draft]) -> bool:
        numbered = self.numbering.match(line)
        if numbered and (LABEL_RE.search(line) or not drafts or drafts[-1].text_lines):
            self.numbering.accept(numbered[0])
            draft = _Draft(number=numbered[0], line=number, section=self.sections.path)
            drafts.append(draft)
            _take_labels(draft, numbered[1])
            return True
        if _section_level(line) is not None and not LABEL_RE.match(line):
            self.sections.enter(line, 0)
        elif drafts and line:
            _take_labels(drafts[-1], line)
        return False


def _take_labels(draft: _Draft, text: str) -> None:
    """Move "牵头单位：…" style labels out of the text into the draft's unit and deadline fields."""
    for found in LABEL_RE.finditer(text):
        role, value = LABELS[found.group("label")], found.group("value").strip()
        if role is Role.LEAD:
            draft.lead_cells.append(value)
        elif role is Role.UNITS:
            draft.unit_cells.append(value)
        elif not is_placeholder(value):
            draft.deadline_cell = value
    # the labels leave their brackets behind: "…工作。（" or "…工作。（）"
    rest = re.sub(r"[（(]\s*(?:[）)]|$)", "", LABEL_RE.sub("", text).strip(" ；;，,")).strip(" ；;，,")
    if rest:
        draft.text_lines.append(rest)


# --- drafts -> tasks ----------------------------------------------------------------------------

def _finish(drafts: list[_Draft], year: int, issued: date | None) -> tuple[list[Task], list[str]]:
    tasks: list[Task] = []
    warnings: list[str] = []
    for draft in drafts:
        text = "\n".join(t for t in draft.text_lines if t).strip()
        deadline = _deadline_of(draft, text, year, issued)
        split = split_units(draft.lead_cells, draft.unit_cells)
        units_text = "；".join(c for c in draft.lead_cells + draft.unit_cells if c and not is_placeholder(c))
        task = Task(number=draft.number, section=draft.section, text=text, deadline=deadline,
                    lead_units=split.lead_units, units=split.units, units_text=units_text, line=draft.line)
        tasks.append(task)
        warnings.extend(_task_warnings(task, draft, issued))
    return tasks, warnings


def _deadline_of(draft: _Draft, text: str, year: int, issued: date | None) -> Deadline:
    """The deadline column decides when it has a value; otherwise the requirement text does."""
    if draft.deadline_cell:
        return deadlines.parse(draft.deadline_cell, year, issued)
    return deadlines.parse(text, year, issued)


def _task_warnings(task: Task, draft: _Draft, issued: date | None) -> list[str]:
    where = f"task {task.number} (line {task.line})"
    warnings = []
    if not task.units:
        warnings.append(f"{where}: no responsible unit found; assign one before reminders can go out")
    if not task.text:
        warnings.append(f"{where}: the requirement text is empty")
    if draft.deadline_cell and task.deadline.kind is DeadlineKind.NONE and not deadlines.says_no_deadline(draft.deadline_cell):
        warnings.append(f"{where}: deadline '{draft.deadline_cell}' could not be read; "
                        "the plan's default due date will apply until a person fixes it")
    if issued and task.deadline.due and task.deadline.due < issued:
        warnings.append(f"{where}: deadline {task.deadline.due.isoformat()} is already past at the "
                        f"issue date {issued.isoformat()}")
    return warnings


def _qualify_restarted_numbers(drafts: list[_Draft], path: str) -> list[_Draft]:
    """Plans that restart numbering in each part get numbers like "2.1"; true duplicates are refused."""
    counts = Counter(d.number for d in drafts)
    if all(n == 1 for n in counts.values()):
        return drafts
    parts = [d.section[0] if d.section else "" for d in drafts]
    keyed = Counter(zip(parts, (d.number for d in drafts)))
    duplicate = next((k for k, n in keyed.items() if n > 1), None)
    if duplicate is not None:
        lines = [str(d.line) for d, p in zip(drafts, parts) if (p, d.number) == duplicate]
        raise InputError(f"task number {duplicate[1]} appears more than once (lines {', '.join(lines)}); "
                         "number every task once so reminders can refer to it", path=path)
    order = list(dict.fromkeys(parts))
    for draft, part in zip(drafts, parts):
        draft.number = f"{order.index(part) + 1}.{draft.number}"
    return drafts


def _numbering_warnings(drafts: list[_Draft]) -> list[str]:
    warnings = []
    previous = 0
    for draft in drafts:
        current = int(draft.number.rsplit(".", 1)[-1])
        if current > previous + 1 and current != 1:
            warnings.append(f"line {draft.line}: task numbers jump from {previous} to {current}; "
                            "a task may be missing from the document")
        previous = current
    return warnings


def _ignored_warnings(ignored: list[Row]) -> list[str]:
    """Say what was not read as part of a task, so nothing is dropped silently."""
    if not ignored:
        return []
    first = " ".join(c for c in ignored[0].cells if c)
    sample = first if len(first) <= 30 else first[:29] + "…"
    where = f"line {ignored[0].line}" if len(ignored) == 1 else f"lines {ignored[0].line}-{ignored[-1].line}"
    return [f"{where}: {len(ignored)} row(s) outside any numbered task were not imported "
            f"(first: '{sample}')"]


# --- metadata -------------------------------------------------------------------------------------

def _find_title(preamble: list[str]) -> str | None:
    """The plan's own title beats the covering notice (关于印发…的通知)."""
    best, best_score = None, 0
    for line in preamble[:40]:
        if not 6 <= len(line) <= 80:
            continue
        score = 2 * bool(PLAN_WORDS.search(line)) + bool(YEAR.search(line))
        if line.startswith("关于") or line.endswith("通知") or "〔" in line:
            score -= 2
        if re.search(r"[，,。《:：]", line):
            score -= 2  # a sentence that mentions the plan, not its title
        if score > best_score:
            best, best_score = line, score
    if best is None and preamble:
        notice = re.sub(r"^关于印发|的通知$", "", preamble[0])
        return notice if len(notice) >= 4 else None
    return best


def _find_year(title: str, preamble: list[str], issued: date | None) -> int | None:
    found = YEAR.search(title)
    if found:
        return int(found.group(1))
    years = Counter(int(y) for line in preamble for y in YEAR.findall(line))
    if years:
        return years.most_common(1)[0][0]
    return issued.year if issued else None


def _find_issued(lines: list[str]) -> date | None:
    for line in lines:
        found = ISSUED_LABELLED.search(line)
        if found:
            return _date_from(found)
    for line in lines:
        found = ISSUED_ALONE.match(line.replace(" ", ""))
        if found:
            return _date_from(found)
    return None


def _date_from(found: re.Match) -> date | None:
    parts = found.groupdict()
    if parts.get("iy"):
        y, m, d = parts["iy"], parts["im"], parts["id"]
    else:
        y, m, d = parts["y"], parts["m"], parts["d"]
    try:
        year = int(y) if y.isdigit() else int("".join(str(textnorm.cn_to_int(c)) for c in y))
        return date(year, _int(m), _int(d))
    except (ValueError, TypeError):
        return None


def _int(text: str) -> int:
    return int(text) if text.isdigit() else textnorm.cn_to_int(text)


# --- small helpers ----------------------------------------------------------------------------------

def _normalize_row(row: Row) -> Row:
    """Normalise the text; a row whose filled cells all repeat one text is one merged cell (a title)."""
    cells = tuple(textnorm.normalize(c).strip() for c in row.cells)
    filled = {c for c in cells if c}
    if len(cells) > 1 and len(filled) == 1 and cells.count(next(iter(filled))) > 1:
        cells = (next(iter(filled)),)
    return Row(cells=cells, line=row.line)


def _lone_cell(row: Row) -> str | None:
    """The text of a row that holds one filled cell: a paragraph, or a title typed into A1 of a sheet
    whose other columns are blank (not merged, so the reader gives the row the sheet's width)."""
    filled = [cell for cell in row.cells if cell]
    return filled[0] if len(filled) == 1 else None


def _align(roles: tuple[Role, ...], cells: tuple[str, ...]) -> tuple[tuple[Role, ...], tuple[str, ...]]:
    """Line a row up with the header from the right, where the unit and deadline columns are.

    A row wider than the header has its category split over several cells (类别 spanning two
    columns): the extra cells on the left are sections. A narrower row lost cells on the left.
    """
    if len(cells) > len(roles):
        return (Role.SECTION,) * (len(cells) - len(roles)) + roles, cells
    return roles, ("",) * (len(roles) - len(cells)) + cells


def _section_level(text: str) -> int | None:
    for pattern, level in SECTION_PATTERNS:
        if pattern.match(text):
            return level
    return None


def _arabic(cell: str) -> str:
    """A 序号 cell written in Chinese numerals (十二) reads as its number (12)."""
    found = CN_NUMBER_CELL.match(cell)
    return str(textnorm.cn_to_int(found.group(1))) if found else cell


def _number_value(token: str) -> int:
    if token.isdecimal():  # not isdigit(): ① is a "digit" to Unicode, but int() refuses it
        return int(token)
    return ord(token) - ord("①") + 1


def _strip_number(text: str, number: str) -> str:
    for style in TASK_STYLES:
        found = style.match(text)
        if found and str(_number_value(found.group(1))) == number:
            return text[found.end():]
    return text
