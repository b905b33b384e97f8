"""Rows of cells -> Plan: one reading path for every layout a plan arrives in.

Readers hand over rows: the rows of a grid (a table, spans resolved) and paragraphs as one-cell rows.
What a plan looks like then varies without end (one cell per line, rows missing their merged cells,
a number on a line of its own, units in a parenthesis after each paragraph …), so the ingest reads
every document the same way, in four steps:

1. **Columns.** The header (one or more rows, found by its vocabulary: 具体要求, 牵头单位, 时限要求 …)
   gives each column a role; a header cell that is blank or unknown gets the role its cells read as
   (numbers, deadlines, unit lists). A document without a header is read against the canonical order
   section | number | text | lead | units | deadline, each paragraph line placed by what it says
   (a heading, a 牵头单位：… label, a unit line, a closing parenthesis of units, requirement text).
2. **Placing.** A row as wide as the header is read by position; any other row is aligned to the
   columns by content (``_place``: the best monotone fit of its cells to the columns), so a row missing
   its leading merged cells, a row padded with empty cells and a one-cell line all land where they belong.
3. **Records.** Placed rows join into one record while they fill columns further right (a number line,
   then its text, then its units), so extractions that break a row over several lines come back whole.
4. **Tasks.** A record's number cell or numbered text lines ("12." …) start tasks; sections come from
   section cells and headings (一、 / （一）); a blank unit cell means "same as above"; a note
   "以下各项均由X落实" puts X on every later task. A document that numbers no task gets "1".."N" in
   document order, with a warning. A row that is not part of any task is reported in a warning.

Text is kept twice (``_Text``): as written, for what people read (``text``, ``units_text``,
``section``, the deadline's ``text``), and normalised (full-width, traditional, noise), for matching.
Pure apart from ``read_plan``, which reads the file or URL.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from reminder import deadline as deadlines
from reminder import textnorm
from reminder.errors import InputError
from reminder.model import Deadline, DeadlineKind, Plan, Task
from reminder.readers import Document, Row
from reminder.units import (
    is_placeholder,
    is_unit_line,
    looks_like_units,
    split_following_note,
    split_units,
)


class Role(Enum):
    NUMBER = "number"
    SECTION = "section"
    TEXT = "text"
    LEAD = "lead"
    UNITS = "units"
    DEADLINE = "deadline"
    OTHER = "other"


# Header vocabulary, most specific first: the first word a header cell contains decides its role.
# Cells are matched in normalised form, so traditional headers (責任單位) read the same.
HEADER_VOCABULARY: tuple[tuple[str, Role], ...] = (
    ("序号", Role.NUMBER), ("编号", Role.NUMBER),
    ("牵头落实单位", Role.UNITS), ("牵头责任单位", Role.UNITS),
    ("牵头单位", Role.LEAD), ("牵头部门", Role.LEAD), ("主办单位", Role.LEAD), ("牵头处室", Role.LEAD),
    ("牵头科室", Role.LEAD), ("主责单位", Role.LEAD), ("牵头领导", Role.OTHER), ("责任领导", Role.OTHER),
    ("分管领导", Role.OTHER), ("责任人", Role.OTHER), ("联系人", Role.OTHER),
    ("责任单位", Role.UNITS), ("落实单位", Role.UNITS), ("配合单位", Role.UNITS), ("协办单位", Role.UNITS),
    ("责任部门", Role.UNITS), ("配合部门", Role.UNITS), ("参与单位", Role.UNITS), ("承办单位", Role.UNITS),
    ("实施单位", Role.UNITS), ("负责单位", Role.UNITS), ("责任主体", Role.UNITS), ("责任科室", Role.UNITS),
    ("负责科室", Role.UNITS), ("责任处室", Role.UNITS), ("配合科室", Role.UNITS), ("配合处室", Role.UNITS),
    ("落实主体", Role.UNITS), ("负责部门", Role.UNITS),
    ("时限", Role.DEADLINE), ("完成时间", Role.DEADLINE), ("时间要求", Role.DEADLINE), ("时间安排", Role.DEADLINE),
    ("完成日期", Role.DEADLINE), ("截止时间", Role.DEADLINE), ("截止日期", Role.DEADLINE),
    ("时间节点", Role.DEADLINE), ("完成期限", Role.DEADLINE), ("进度安排", Role.DEADLINE),
    ("备注", Role.OTHER), ("完成情况", Role.OTHER), ("进展情况", Role.OTHER), ("落实情况", Role.OTHER),
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
# The bare words such labels are made of, for labels not listed above ("落实科室", "任务"); only short
# labels that name no unit (各相关科室 is a unit, not a header) count.
GENERIC_HEADER_WORDS: tuple[tuple[str, Role], ...] = (
    ("任务", Role.TEXT), ("内容", Role.TEXT), ("措施", Role.TEXT), ("事项", Role.TEXT), ("要求", Role.TEXT),
    ("单位", Role.UNITS), ("部门", Role.UNITS), ("科室", Role.UNITS), ("处室", Role.UNITS),
    ("时间", Role.DEADLINE), ("期限", Role.DEADLINE), ("节点", Role.DEADLINE),
)
MAX_GENERIC_EXTRA = 2
NOT_A_LABEL = re.compile(r"各|有关|相关|其他|所有|市|县|区|镇|街")
# Inline labels of plans written as paragraphs ("牵头单位：县财政局；完成时限：2021年底前").
LABELS = {
    "牵头单位": Role.LEAD, "牵头部门": Role.LEAD, "牵头": Role.LEAD,
    "责任单位": Role.UNITS, "落实单位": Role.UNITS, "配合单位": Role.UNITS, "责任部门": Role.UNITS,
    "协办单位": Role.UNITS, "参与单位": Role.UNITS, "配合部门": Role.UNITS, "责任科室": Role.UNITS,
    "负责科室": Role.UNITS, "责任处室": Role.UNITS,
    "完成时限": Role.DEADLINE, "时限要求": Role.DEADLINE, "完成时间": Role.DEADLINE, "时间要求": Role.DEADLINE,
    "时限": Role.DEADLINE, "截止时间": Role.DEADLINE, "时间节点": Role.DEADLINE,
}
_LABEL_WORDS = "|".join(sorted(LABELS, key=len, reverse=True))
# A label's value runs to the next label, a closing bracket or the line's end; "；" separates units
# inside it ("责任单位：市审计局；市统计局") unless another label follows.
LABEL_RE = re.compile(rf"(?P<label>{_LABEL_WORDS})\s*[:：]\s*"
                      rf"(?P<value>(?:[^；;（）()\n]|[（(][^（）()\n]*[）)]|[；;](?!\s*(?:{_LABEL_WORDS})\s*[:：]))*)"
                      r"[；;）)]?")
NO_TASKS_MESSAGE = "found a task table header but no tasks under it; check that the table's rows hold the tasks"
NO_PLAN_MESSAGE = ("no task table found: expected a header row naming the requirement, unit and deadline "
                   "columns (具体要求 / 责任单位 / 时限要求 …) followed by tasks, or task paragraphs with their "
                   "units (牵头单位：… , 市住建局牵头落实 …)")
MAX_HEADER_CELL = 12  # header cells are short labels
MAX_LABEL_EXTRA = 4   # "具体工作任务" is a label; "深化重点领域公开" is a heading that contains one
MAX_HEADER_ROWS = 8
TITLE_ENDING = re.compile(r"(方案|要点|清单|计划|台账|[表单])$|\d")  # "工作任务分工方案" is a title line, not a label

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
    re.compile(r"^(\d{1,4})\s*[.．、)）]\s*"),
    re.compile(r"^[（(](\d{1,4})[）)]\s*"),
    re.compile(r"^([①-⑳])\s*"),
)
BARE_NUMBER = re.compile(r"^(\d{1,4})\s*[.．、]?$")
CN_NUMBER_CELL = re.compile(r"^([一二三四五六七八九十]{1,3})\s*[.．、]?$")  # a 序号 cell written 一, 二 …
MAX_NUMBER_JUMP = 5  # a number further ahead than this is more likely text ("100.5万") than a task

YEAR = re.compile(r"(20\d\d)\s*年")
PLAN_WORDS = re.compile(r"方案|要点|分工|分解|任务|清单|台账|计划|安排")
DATE_TEXT = (
    rf"(?P<y>\d{{4}}|[{CN_NUMERAL}]{{4}})\s*年\s*(?P<m>\d{{1,2}}|[{CN_NUMERAL}]{{1,3}})\s*月\s*"
    rf"(?P<d>\d{{1,2}}|[{CN_NUMERAL}]{{1,3}})\s*日"
    r"|(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})"
)
ISSUED_LABELLED = re.compile(rf"(发布时间|发布日期|成文日期|印发日期|发文日期|公开日期|生成日期|生成时间|"
                             rf"发布于|印发时间)\s*[:：]?\s*({DATE_TEXT})")
ISSUED_ALONE = re.compile(rf"^[（(]?\s*({DATE_TEXT})\s*[）)]?$")
METADATA_YEAR = re.compile(r"(?:发布时间|发布日期|成文日期|生成日期|生成时间|印发日期)\s*[:：]?\s*(20\d\d)")
MAX_TITLE = 80
MAX_TITLE_PART = 40  # a line this short may be one line of a title wrapped over several
# A closing parenthesis that holds the paragraph's units: "……。（市财政局牵头，各区落实）".
CLOSING_PARENTHESIS = re.compile(r"[（(](?P<inner>[^（）()]*(?:[（(][^（）()]*[）)][^（）()]*)*)[）)]\s*[。.；;]?$")


# --- text as written and as matched ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Text:
    """Text as the document wrote it (``shown``) and normalised (``folded``), always of equal length,
    so a match found in the folded form cuts the same piece out of the written one."""

    shown: str
    folded: str

    @classmethod
    def of(cls, raw: str) -> _Text:
        folded, index = textnorm.normalize_with_map(raw)
        if len(folded) == len(raw):  # nothing removed: the common case, one translate
            shown = raw.translate(_SPACES)
        else:
            shown = "".join(raw[i] for i in index).translate(_SPACES)
        if len(shown) != len(folded):  # cannot happen (normalisation is one to one after noise removal)
            shown = folded
        return cls(shown, folded).strip()

    def __bool__(self) -> bool:
        return bool(self.folded)

    def cut(self, start: int, end: int | None = None) -> _Text:
        return _Text(self.shown[start:end], self.folded[start:end])

    def strip(self, chars: str | None = None) -> _Text:
        left = len(self.folded) - len(self.folded.lstrip(chars))
        right = len(self.folded.rstrip(chars))
        return self.cut(left, right) if left < right else _EMPTY

    def lines(self) -> list[_Text]:
        parts, start = [], 0
        for index, char in enumerate(self.folded):
            if char == "\n":
                parts.append(self.cut(start, index).strip())
                start = index + 1
        parts.append(self.cut(start).strip())
        return [part for part in parts if part]

    def without(self, span: tuple[int, int]) -> _Text:
        return _Text(self.shown[: span[0]] + self.shown[span[1]:], self.folded[: span[0]] + self.folded[span[1]:])


_EMPTY = _Text("", "")
# Spaces of every width read as a plain space in the written form too (they are invisible differences).
_SPACES = {ord(char): " " for char in "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
           "\u2008\u2009\u200a\u202f\u205f\u3000"}  # every Unicode space separator (Zs) and the tab


def _join(parts: Iterable[_Text], separator: str = "\n") -> _Text:
    parts = [part for part in parts if part]
    return _Text(separator.join(p.shown for p in parts), separator.join(p.folded for p in parts))


@dataclass(frozen=True)
class _Line:
    """A row of the document, its cells as ``_Text``."""

    cells: tuple[_Text, ...]
    line: int
    continued: bool = False  # the first row of a table going on from the previous page (``Row.continued``)

    @property
    def filled(self) -> list[_Text]:
        return [cell for cell in self.cells if cell]


# --- columns ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Columns:
    """The columns rows are placed into: one role each, in order; ``width`` is how many cells a row has
    when it is read by position (None: no row is, every row is placed by content)."""

    roles: tuple[Role, ...]
    width: int | None
    offset: int  # where position 0 of a positional row lands (1 when a number column was added in front)


@dataclass(frozen=True)
class _Header:
    start: int        # index of its first row
    end: int          # index after its last row
    roles: tuple[Role | None, ...]
    labels: tuple[str, ...]
    stacked: bool     # rows of one grid (read by position); else labels one after another (a stream)


PARAGRAPH_COLUMNS = _Columns(roles=(Role.SECTION, Role.NUMBER, Role.TEXT, Role.LEAD, Role.UNITS, Role.DEADLINE),
                             width=None, offset=0)


@lru_cache(maxsize=4096)
def _cell_role(cell: str) -> Role | None:
    label = re.sub(r"\s+", "", cell)
    if not label or len(label) > MAX_HEADER_CELL or _section_level(label) is not None or TITLE_ENDING.search(label):
        return None
    for word, role in HEADER_VOCABULARY:
        if word in label and len(label) - len(word) <= MAX_LABEL_EXTRA:
            return role
    if NOT_A_LABEL.search(label):
        return None
    for word, role in GENERIC_HEADER_WORDS:
        if word in label and len(label) - len(word) <= MAX_GENERIC_EXTRA:
            return role
    return None


def _label_row(line: _Line) -> bool:
    """A row whose filled cells are header labels (one unknown label is tolerated among three)."""
    filled = [cell.folded for cell in line.filled]
    known = sum(_cell_role(cell) is not None for cell in filled)
    return bool(filled) and known >= 1 and known >= len(filled) - (1 if len(filled) >= 3 else 0)


def _has_task_columns(roles: Iterable[Role | None]) -> bool:
    present = set(roles)
    return Role.TEXT in present and bool(present & {Role.UNITS, Role.LEAD, Role.DEADLINE})


def _find_header(lines: list[_Line], start: int = 0) -> _Header | None:
    """The first run of label rows, from ``start``, that names a task table's columns."""
    for index in range(start, len(lines)):
        header = _header_at(lines, index)
        if header is not None:
            return header
    return None


def _header_at(lines: list[_Line], index: int) -> _Header | None:
    run: list[_Line] = []
    for line in lines[index : index + MAX_HEADER_ROWS]:
        if not _label_row(line):
            break
        if run and len(run[0].cells) > 1 and len(line.cells) == len(run[0].cells) \
                and not _stacked_below(lines, index + len(run), run[-1]):
            break  # a grid header followed by a repeat of itself, not by a second header row
        run.append(line)
    if not run:
        return None
    widths = {len(line.cells) for line in run}
    if len(widths) == 1 and min(widths) > 1:
        roles, labels = _stack(run)
        stacked = True
    else:
        labels = tuple(cell.folded for line in run for cell in line.filled)
        roles = tuple(_cell_role(label) for label in labels)
        stacked = False
        if len(labels) < 3:
            return None
    known = [role for role in roles if role is not None]
    if len(set(known)) < 2 or not _has_task_columns(known):
        return None
    return _Header(start=index, end=index + len(run), roles=roles, labels=labels, stacked=stacked)


def _stacked_below(lines: list[_Line], index: int, upper: _Line) -> bool:
    """Two-level headers (责任单位 over 牵头单位 | 配合单位): a second label row of the same width."""
    if index >= len(lines):
        return False
    lower = lines[index]
    return (len(lower.cells) == len(upper.cells) and _label_row(lower)
            and sum(_cell_role(c.folded) is not None for c in lower.cells) >= 2)


def _stack(run: list[_Line]) -> tuple[tuple[Role | None, ...], tuple[str, ...]]:
    """Label rows of one grid: a lower row refines the upper (责任单位 -> 牵头单位 | 配合单位)."""
    roles: list[Role | None] = [None] * len(run[0].cells)
    labels = [""] * len(run[0].cells)
    for line in run:
        for column, cell in enumerate(line.cells):
            role = _cell_role(cell.folded)
            if role is None:
                continue
            if roles[column] is None or (roles[column] is Role.UNITS and role in (Role.LEAD, Role.UNITS)):
                roles[column], labels[column] = role, re.sub(r"\s+", "", cell.folded)
    return tuple(roles), tuple(labels)


def _columns(header: _Header, rows: list[_Line]) -> _Columns:
    """Roles for the header's columns: its words first, then what its cells read as."""
    roles = list(header.roles)
    if header.stacked:
        positional = [row for row in rows if len(row.cells) == len(roles)]
        for column, role in enumerate(roles):
            if role is None:
                roles[column] = _content_role([row.cells[column] for row in positional], roles)
        roles = _text_columns(roles, list(header.labels), positional)
    else:
        roles = _text_columns([role or Role.OTHER for role in roles], list(header.labels), [])
    final = [role or Role.OTHER for role in roles]
    width = len(final) if header.stacked else None
    if Role.NUMBER in final:
        return _Columns(roles=tuple(final), width=width, offset=0)
    return _Columns(roles=(Role.NUMBER, *final), width=width, offset=1)


def _content_role(cells: list[_Text], known: list[Role | None]) -> Role:
    """The role of a column without a header word, from what its cells read as."""
    kinds = Counter(_kind(cell.folded) for cell in cells if cell)
    total = sum(kinds.values())
    if not total:
        return Role.OTHER
    for kind, role in (("number", Role.NUMBER), ("deadline", Role.DEADLINE), ("units", Role.UNITS),
                       ("heading", Role.SECTION)):
        if kinds[kind] * 2 > total and role not in known:
            return role
    if (kinds["sentence"] + kinds["numbered"]) * 2 > total and Role.TEXT not in known:
        return Role.TEXT
    return Role.OTHER


def _text_columns(roles: list[Role | None], labels: list[str], rows: list[_Line]) -> list[Role | None]:
    """Of several text-like columns the rightmost holds the requirement; the others are sections
    (工作要求 | 具体任务 | 具体要求). Columns under one header merged across them (same label) are
    sections too where their cells repeat down the rows (a merged task-group cell) or are headings."""
    text_columns = [i for i, r in enumerate(roles) if r is Role.TEXT]
    if not text_columns:
        return roles
    last = text_columns[-1]
    for column in text_columns[:-1]:
        if labels[column] != labels[last] or _groups_rows(column, rows):
            roles[column] = Role.SECTION
    return roles


def _groups_rows(column: int, rows: list[_Line]) -> bool:
    values = [row.cells[column] for row in rows]
    filled = [v for v in values if v]
    if not filled:
        return False
    repeats = sum(1 for above, below in pairwise(values) if below and below == above)
    headings = sum(1 for v in filled if _section_level(v.folded) is not None)
    return repeats * 4 >= len(filled) or headings * 2 > len(filled)


# --- what a cell reads as, and where it fits ---------------------------------------------------------

_FIT: dict[str, dict[Role, float]] = {
    # kind of cell:  how well it fits each role (positive: a good fit)
    "number":      {Role.NUMBER: 4, Role.SECTION: -3, Role.TEXT: -2, Role.LEAD: -4, Role.UNITS: -4,
                    Role.DEADLINE: -2, Role.OTHER: -1},
    "heading":     {Role.NUMBER: -4, Role.SECTION: 3, Role.TEXT: 1, Role.LEAD: -3, Role.UNITS: -3,
                    Role.DEADLINE: -3, Role.OTHER: -1},
    "numbered":    {Role.NUMBER: -4, Role.SECTION: -1, Role.TEXT: 3, Role.LEAD: -3, Role.UNITS: -3,
                    Role.DEADLINE: -3, Role.OTHER: -1},
    "deadline":    {Role.NUMBER: -4, Role.SECTION: -2, Role.TEXT: -1, Role.LEAD: -1.5, Role.UNITS: -1.5,
                    Role.DEADLINE: 3, Role.OTHER: -0.5},
    "units":       {Role.NUMBER: -4, Role.SECTION: -1, Role.TEXT: -0.5, Role.LEAD: 2, Role.UNITS: 2,
                    Role.DEADLINE: -2, Role.OTHER: -0.5},
    "placeholder": {Role.NUMBER: -1, Role.SECTION: -1, Role.TEXT: -1, Role.LEAD: 0.5, Role.UNITS: 0.5,
                    Role.DEADLINE: 0.5, Role.OTHER: 0},
    "sentence":    {Role.NUMBER: -4, Role.SECTION: 0, Role.TEXT: 2, Role.LEAD: -2, Role.UNITS: -2,
                    Role.DEADLINE: -2, Role.OTHER: -0.5},
    "short":       {Role.NUMBER: -4, Role.SECTION: 0, Role.TEXT: 0.5, Role.LEAD: 0.5, Role.UNITS: 0.5,
                    Role.DEADLINE: -1, Role.OTHER: -0.5},
}
_RIGHTWARD = 0.01  # among equal fits, cells lean right (a short row lost its leading merged cells)
_NO_FIT = -1e9


@lru_cache(maxsize=65536)
def _kind(folded: str) -> str:
    """What a (normalised) cell reads as: see ``_FIT``."""
    text = folded.strip()
    if not text:
        return "placeholder"
    if BARE_NUMBER.match(text) or CN_NUMBER_CELL.match(text):
        return "number"
    if is_placeholder(text):
        return "placeholder"
    if _section_level(text) is not None:
        return "heading"
    if any(style.match(text) for style in TASK_STYLES):
        return "numbered"
    if len(text) > 30 and "。" in text:
        return "sentence"
    if len(text) <= 30 and deadlines.looks_like_deadline(text) and not looks_like_units(text):
        return "deadline"
    if looks_like_units(text):
        return "units"
    if len(text) > 25 or re.search(r"[。，,；;？！]", text):
        return "sentence"
    return "short"


def _place(cells: list[_Text], roles: tuple[Role, ...], first: int | None = None) -> tuple[float, dict[int, _Text]]:
    """The best order-keeping fit of ``cells`` to the columns (each cell one column).

    Returns (fit, {column: cell}). Placed freely (``first`` None), spare section columns stand on the
    left (negative numbers: a row wider than the header has its category split over several cells)
    and equal fits lean right (a short row lost its leading merged cells). Continuing a record
    (columns from ``first`` on), equal fits lean left: the next column is the likeliest.
    """
    if first is None:
        columns, lean = list(range(-len(cells), 0)) + list(range(len(roles))), _RIGHTWARD
    else:
        columns, lean = list(range(first, len(roles))), -_RIGHTWARD
    kinds = [_kind(cell.folded) if cell else "" for cell in cells]
    n, m = len(cells), len(columns)
    best = [[0.0] * (m + 1)] + [[_NO_FIT] * (m + 1) for _ in range(n)]
    for i in range(1, n + 1):
        for j in range(i, m + 1):
            column = columns[j - 1]
            role = roles[column] if column >= 0 else Role.SECTION
            fit = _FIT[kinds[i - 1]][role] if kinds[i - 1] else 0.0
            best[i][j] = max(best[i][j - 1], best[i - 1][j - 1] + fit + lean * j)
    placed: dict[int, _Text] = {}
    if n > m:
        return _NO_FIT, placed
    i, j = n, m
    while i > 0:
        if j > i and best[i][j] == best[i][j - 1]:
            j -= 1
            continue
        placed[columns[j - 1]] = cells[i - 1]
        i, j = i - 1, j - 1
    return best[n][m], placed


# --- records: placed rows joined into one row of the table -----------------------------------------------

@dataclass(frozen=True)
class _Group:
    """One row of the document placed into columns: {column: cell}; negative columns are extra sections."""

    line: int
    cells: dict[int, _Text]
    complete: bool  # read by position from a full row: nothing joins it
    roles: tuple[Role, ...]
    written: tuple[_Text, ...] = ()  # the row's cells as they came, when placed by content
    fit: float = 0.0                 # how well they fit where they were placed
    continued: bool = False          # first below a page break: may be the rest of the row above


@dataclass
class _Record:
    """One row of the table as the document meant it, possibly gathered from several lines."""

    cells: dict[int, _Text]
    line: int
    complete: bool
    roles: tuple[Role, ...]
    rows: int = 1  # how many rows of the document it was gathered from
    blank_units: bool = False  # a unit column got an empty cell (a merge from above), not no cell

    @property
    def last(self) -> int:
        return max(self.cells)

    def role(self, column: int) -> Role:
        return self.roles[column] if column >= 0 else Role.SECTION


def _records(groups: Iterable[_Group]) -> list[_Record]:
    """Join placed rows into records: a row continues the open record while it fills columns to the
    right of what the record holds; a number, a numbered line or a column already filled starts the
    next one. Requirement text may run over several lines until the record's units or deadline come."""
    records: list[_Record] = []
    rests: dict[int, tuple[_Text, _Text]] = {}  # column: (the rest of a broken cell, the cell made whole)
    for group in groups:
        cells = {column: cell for column, cell in group.cells.items() if cell}
        if not cells:
            continue
        current = records[-1] if records else None
        if rests:  # a merged cell broken by a page gives its rest to the rows it spans below: the whole of it
            held = current.cells if group.continued and current is not None else None
            cells = _made_whole(cells, rests, held)
            group = replace(group, cells=_made_whole(group.cells, rests, held))
        if group.continued and current is not None and _rest_of_broken_row(cells, current):
            rests.update(_join_broken_row(current, cells))
            continue
        if not (group.complete or current is None or current.complete or current.roles != group.roles):
            continued = _continuation(group, cells, current)
            cells = continued if continued is not None else {}
        blank_units = any(not cell and 0 <= column < len(group.roles)
                          and group.roles[column] in (Role.LEAD, Role.UNITS) for column, cell in group.cells.items())
        if not cells or current is None or group.complete or current.complete or current.roles != group.roles:
            cells = {column: cell for column, cell in group.cells.items() if cell}
            records.append(_Record(cells=cells, line=group.line, complete=group.complete, roles=group.roles,
                                   blank_units=blank_units))
            continue
        current.rows += 1
        current.blank_units = current.blank_units or blank_units
        for column, cell in cells.items():
            current.cells[column] = _join([current.cells[column], cell]) if column in current.cells else cell
    return records


CONTINUE_MARGIN = 1.0  # a row continues a record when its cells fit the columns after it nearly as well
SENTENCE_END = "。；;！!？?：:"


def _rest_of_broken_row(cells: dict[int, _Text], current: _Record) -> bool:
    """Is the first row below a page break the rest of the row above it (Word breaks a long row across
    pages, leaving the cells that had ended empty)? Not when it has a number or a numbered text, as a
    new row has; yes when the row above had one. Where rows carry no numbers, a row with requirement
    text of its own is a new row unless the text above stopped mid-sentence or the row brings none of
    units and deadline."""
    role = current.role

    def numbered(row: dict[int, _Text]) -> bool:
        return any(role(c) is Role.NUMBER or (role(c) is Role.TEXT and _numbered(cell.folded)) for c, cell in row.items())

    if not cells or numbered(cells):
        return False
    if numbered(current.cells):
        return True
    texts = [c for c in cells if role(c) is Role.TEXT]
    if not texts:
        return True
    above = [current.cells[c] for c in texts if c in current.cells]
    details = any(role(c) in (Role.LEAD, Role.UNITS, Role.DEADLINE) for c in cells)
    return not details or any(not cell.folded.endswith(tuple(SENTENCE_END)) for cell in above)


def _made_whole(cells: dict[int, _Text], rests: dict[int, tuple[_Text, _Text]],
                held: dict[int, _Text] | None = None) -> dict[int, _Text]:
    """Cells that repeat the rest of a broken merged cell, as the whole cell. Below the next page break
    (``held``: what the record above holds) only where the record above was made whole the same way:
    the merged cell goes on over that break too, while another cell's rest is new text to join."""
    def whole(column: int, cell: _Text) -> _Text:
        if column not in rests or cell != rests[column][0]:
            return cell
        if held is not None and held.get(column) != rests[column][1]:
            return cell
        return rests[column][1]
    return {column: whole(column, cell) for column, cell in cells.items()}


def _join_broken_row(record: _Record, cells: dict[int, _Text]) -> dict[int, tuple[_Text, _Text]]:
    """Each cell's rest joins its start directly (the page broke a line, not a paragraph), unless the
    start ended a sentence or the rest opens a numbered line or a heading. Returns, per column, the
    rest and the whole cell it made."""
    joined = {}
    for column, cell in cells.items():
        start = record.cells.get(column)
        if not start or start == cell:  # (the same text: a merged cell going on, given to every slot)
            record.cells[column] = cell
            continue
        ends_sentence = start.folded.endswith(tuple(SENTENCE_END))
        opens_line = _numbered(cell.folded) or _section_level(cell.folded) is not None
        record.cells[column] = _join([start, cell], "\n" if ends_sentence or opens_line else "")
        joined[column] = (cell, record.cells[column])
    return joined


def _continuation(group: _Group, cells: dict[int, _Text], current: _Record) -> dict[int, _Text] | None:
    """Where a partial row's cells go when they continue ``current``; None when they start a record."""
    if _starts_by_number(cells, current):
        return None
    filled = [cell for cell in group.written if cell]
    if filled and current.last + 1 < len(current.roles):
        fit, placed = _place(filled, current.roles, first=current.last + 1)
        if placed and fit >= group.fit - CONTINUE_MARGIN:
            return placed
    return None if _starts_record(cells, current) else cells


def _starts_by_number(cells: dict[int, _Text], current: _Record) -> bool:
    """A number or a numbered line starts a record, unless the record holds only its sections so far."""
    role = current.role
    if any(role(c) is Role.NUMBER or _numbered(cell.folded) for c, cell in cells.items()):
        return any(role(c) is not Role.SECTION for c in current.cells)
    return False


def _starts_record(cells: dict[int, _Text], current: _Record) -> bool:
    role = current.role
    if any(role(c) is Role.NUMBER or _numbered(cell.folded) for c, cell in cells.items()):
        return _starts_by_number(cells, current)
    first = min(cells)
    if first > current.last:
        return False
    has_details = any(role(c) in (Role.LEAD, Role.UNITS, Role.DEADLINE) for c in current.cells)
    return not (set(cells) == {first} and role(first) is Role.TEXT and first == current.last and not has_details)


def _numbered(folded: str) -> bool:
    return any(style.match(folded) for style in TASK_STYLES[:2])


# --- reading a table ---------------------------------------------------------------------------------

def _table_groups(lines: list[_Line], header: _Header) -> Iterator[_Group]:
    """Each row after the header, placed into the columns (by position when it has the header's width);
    a later header (Word repeats it on every page, or a second table starts) switches the columns."""
    index = header.end
    columns = _columns(header, _rows_until_next_header(lines, header.end))
    continued = False  # a page break above a repeated header: the row after the header goes on from it
    while index < len(lines):
        line = lines[index]
        continued = continued or line.continued
        if _label_row(line):
            again = _header_at(lines, index)
            if again is not None:
                if again.labels != header.labels:
                    header = again
                    columns = _columns(header, _rows_until_next_header(lines, header.end))
                    continued = False
                index = again.end
                continue
            if len(line.filled) >= 2 or len(line.cells) == 1:
                index += 1  # a repeated header label
                continue
        if continued and columns.width == len(line.cells):  # the rest of a row: its cells stay in their columns
            yield _Group(line.line, {columns.offset + i: cell for i, cell in enumerate(line.cells)}, True,
                         columns.roles, continued=True)
        else:
            yield replace(_table_row_group(line, columns), continued=continued)
        continued = False
        index += 1


def _table_row_group(line: _Line, columns: _Columns) -> _Group:
    """One row of a table placed into its columns: by position when it has the header's width and its
    cells fit there, else by content."""
    if columns.width == len(line.cells):
        by_position = {columns.offset + i: cell for i, cell in enumerate(line.cells)}
        if all(_FIT[_kind(cell.folded)][columns.roles[c]] >= 0 for c, cell in by_position.items() if cell):
            return _Group(line.line, by_position, True, columns.roles)  # every cell fits where it stands
    written = list(line.cells)
    fit, placed = _place(written, columns.roles)
    trimmed = list(written)
    while trimmed and not trimmed[-1]:
        trimmed.pop()  # empty cells padding the row's end, unless they stand in unit columns
    if len(trimmed) < len(written):
        trimmed_fit, trimmed_placed = _place(trimmed, columns.roles)
        if trimmed_fit > fit + _RIGHTWARD * len(columns.roles) * len(written):
            written, fit, placed = trimmed, trimmed_fit, trimmed_placed
    if columns.width == len(line.cells):
        by_position = {columns.offset + i: cell for i, cell in enumerate(line.cells)}
        if _fit(by_position, columns.roles) + MISFIT_MARGIN >= fit:
            return _Group(line.line, by_position, True, columns.roles)
    return _Group(line.line, placed, False, columns.roles, written=tuple(written), fit=fit)


MISFIT_MARGIN = 4.0  # a full row is read by position unless its cells fit other columns far better


def _fit(placed: dict[int, _Text], roles: tuple[Role, ...]) -> float:
    return sum(_FIT[_kind(cell.folded)][roles[column]] for column, cell in placed.items() if cell)


def _rows_until_next_header(lines: list[_Line], start: int) -> list[_Line]:
    rows = []
    for index in range(start, len(lines)):
        if _label_row(lines[index]) and _header_at(lines, index) is not None:
            break
        rows.append(lines[index])
    return rows


# --- reading paragraphs --------------------------------------------------------------------------------

def _paragraph_groups(lines: list[_Line]) -> Iterator[_Group]:
    """Paragraph lines placed into the canonical columns by what they say."""
    roles = PARAGRAPH_COLUMNS.roles
    flat = [(line.line, part) for line in lines for part in _join(line.filled, "\n").lines()]
    for index, (line, part) in enumerate(flat):
        following = flat[index + 1][1] if index + 1 < len(flat) else _EMPTY
        yield _Group(line, _paragraph_cells(part, following), False, roles)


def _paragraph_cells(part: _Text, following: _Text) -> dict[int, _Text]:
    section, _, text, lead, units, due = range(6)
    if LABEL_RE.search(part.folded):
        return _labelled(part, text, lead, units, due)
    if _section_level(part.folded) is not None and not is_unit_line(following.folded):
        return {section: part}
    if is_unit_line(part.folded):
        return {units: part}
    closing = CLOSING_PARENTHESIS.search(part.folded)
    if closing and looks_like_units(closing.group("inner")):
        inner = part.cut(closing.start("inner"), closing.end("inner"))
        return {text: part.cut(0, closing.start()).strip(), units: inner}
    return {text: part}


def _labelled(part: _Text, text: int, lead: int, units: int, due: int) -> dict[int, _Text]:
    """A line with 牵头单位：… / 完成时限：… labels: the labels' values, and the text around them."""
    cells: dict[int, _Text] = {}
    rest_spans = []
    position = 0
    for found in LABEL_RE.finditer(part.folded):
        rest_spans.append((position, found.start()))
        position = found.end()
        role = LABELS[found.group("label")]
        column = {Role.LEAD: lead, Role.UNITS: units}.get(role, due)
        value = part.cut(*found.span("value")).strip()
        cells[column] = _join([cells[column], value], "；") if column in cells else value
    rest_spans.append((position, len(part.folded)))
    rest = _join([part.cut(*span) for span in rest_spans], "")
    # the labels leave their brackets behind: "…工作。（" or "…工作。（）"
    rest = _strip_bracket_leftovers(rest)
    if rest:
        cells[text] = rest
    return cells


def _strip_bracket_leftovers(text: _Text) -> _Text:
    text = text.strip(" ；;，,")
    found = re.search(r"[（(]\s*(?:[）)]\s*)?$", text.folded)
    if found:
        text = text.cut(0, found.start())
    return text.strip(" ；;，,")


# --- records -> task drafts ----------------------------------------------------------------------------

@dataclass
class _Draft:
    """A task being assembled from one record (or one numbered line of a record)."""

    number: str
    line: int
    section: tuple[_Text, ...]
    text_lines: list[_Text] = field(default_factory=list)
    lead_cells: list[_Text] = field(default_factory=list)
    unit_cells: list[_Text] = field(default_factory=list)
    deadline_cell: _Text = _EMPTY

    @property
    def has_details(self) -> bool:
        return any(self.lead_cells) or any(self.unit_cells) or bool(self.deadline_cell)


class _Sections:
    """The current section path; a heading replaces its level and everything below it."""

    def __init__(self) -> None:
        self.levels: list[tuple[float, _Text]] = []

    def enter(self, text: _Text, column_level: float) -> None:
        found = _section_level(text.folded)
        level = column_level if found is None else found
        self.levels = [(lv, t) for lv, t in self.levels if lv < level] + [(level, text)]

    @property
    def path(self) -> tuple[_Text, ...]:
        return tuple(text for _, text in self.levels)


class _Numbering:
    """Decides whether a line starts a task, using the document's numbering style and sequence."""

    def __init__(self) -> None:
        self.style: re.Pattern | None = None
        self.last = 0

    def match(self, line: _Text) -> tuple[str, _Text] | None:
        styles = (self.style,) if self.style else TASK_STYLES
        for style in styles:
            found = style.match(line.folded)
            if found and self.plausible(_number_value(found.group(1))):
                self.style = style
                return str(_number_value(found.group(1))), line.cut(found.end())
        return None

    def plausible(self, number: int) -> bool:
        return number == 1 or self.last < number <= self.last + MAX_NUMBER_JUMP

    def accept(self, number: str) -> None:
        self.last = int(number)


class _TaskReader:
    """Records -> drafts: sections, numbers, the units carried down a merged cell."""

    def __init__(self, numbered: bool):
        self.numbered = numbered
        self.sections = _Sections()
        self.numbering = _Numbering()
        self.previous_units: tuple[list[_Text], list[_Text]] = ([], [])

    def read(self, records: list[_Record]) -> tuple[list[_Draft], list[_Record]]:
        drafts: list[_Draft] = []
        ignored: list[_Record] = []
        for record in records:
            found = self._read(record)
            if found is None:
                ignored.append(record)
            drafts.extend(found or [])
        return drafts, ignored

    def _by_role(self, record: _Record) -> dict[Role, list[_Text]]:
        by_role: dict[Role, list[_Text]] = {role: [] for role in Role}
        for column in sorted(record.cells):
            by_role[record.role(column)].append(record.cells[column])
        by_role[Role.TEXT] = [_merged_text(by_role[Role.TEXT], by_role[Role.SECTION])]
        return by_role

    def _read(self, record: _Record) -> list[_Draft] | None:
        filled = list(record.cells.values())
        if len(filled) == 1 and _section_level(filled[0].folded) is not None:
            self.sections.enter(filled[0], 0)
            return []
        by_role = self._by_role(record)
        for level, cell in enumerate(by_role[Role.SECTION]):
            self.sections.enter(cell, level)
        drafts = self._tasks(record, by_role)
        if drafts is None:
            return None
        self._attach_details(drafts, by_role, record.complete or record.blank_units)
        return drafts

    def _tasks(self, record: _Record, by_role: dict[Role, list[_Text]]) -> list[_Draft] | None:
        text = by_role[Role.TEXT][0]
        number_cell = next((c for c in by_role[Role.NUMBER] if c), _EMPTY)
        details = by_role[Role.LEAD] + by_role[Role.UNITS] + by_role[Role.DEADLINE]
        if not text and not number_cell and not any(details):
            return []  # a row of section headings only
        number = _bare_number(number_cell.folded)
        if number is not None:
            self.numbering.accept(number)
            draft = _Draft(number=number, line=record.line, section=self.sections.path)
            draft.text_lines.append(_strip_number(text, number))
            return [draft]
        if not self.numbered:
            if not text:
                return None
            return [_Draft(number="", line=record.line, section=self.sections.path, text_lines=[text])]
        return _split_numbered_lines(text, record.line, self.sections, self.numbering)

    def _attach_details(self, drafts: list[_Draft], by_role: dict[Role, list[_Text]], blank: bool) -> None:
        """Units and deadline for the record's tasks. A blank units cell, or a row that brings only
        its requirement (the rest merged from above), continues the units above."""
        leads, units = by_role[Role.LEAD], by_role[Role.UNITS]
        if not any(leads + units) and (blank or not any(by_role[Role.DEADLINE])):
            leads, units = self.previous_units
        self.previous_units = (leads, units)
        deadline_cell = next((c for c in by_role[Role.DEADLINE] if c and not is_placeholder(c.folded)), _EMPTY)
        for draft in drafts:
            draft.lead_cells, draft.unit_cells = list(leads), list(units)
            draft.deadline_cell = deadline_cell


def _merged_text(cells: list[_Text], sections: list[_Text]) -> _Text:
    """A text header merged over several columns: headings in its left cells are sections, repeats
    of one merged cell count once, and the rest is the requirement."""
    parts: list[_Text] = []
    for i, cell in enumerate(cells):
        if not cell or (parts and cell == parts[-1]):
            continue
        if i < len(cells) - 1 and _section_level(cell.folded) is not None:
            sections.append(cell)
        else:
            parts.append(cell)
    return _join(parts)


def _split_numbered_lines(text: _Text, line: int, sections: _Sections, numbering: _Numbering) -> list[_Draft] | None:
    """A text cell may open with a section heading and hold several numbered tasks."""
    drafts: list[_Draft] = []
    for text_line in text.lines():
        numbered = numbering.match(text_line)
        if numbered:
            number, rest = numbered
            numbering.accept(number)
            drafts.append(_Draft(number=number, line=line, section=sections.path, text_lines=[rest]))
        elif not drafts and _section_level(text_line.folded) is not None:
            sections.enter(text_line, 1)
        elif drafts:
            drafts[-1].text_lines.append(text_line)
        else:
            return None  # text with no task number: not a task row
    return drafts or None


def _bare_number(folded: str) -> str | None:
    """The task number a number cell holds (17, or 十二 read as 12), or None."""
    bare = BARE_NUMBER.match(folded)
    if bare:
        return str(int(bare.group(1)))
    chinese = CN_NUMBER_CELL.match(folded)
    return str(textnorm.cn_to_int(chinese.group(1))) if chinese else None


def _is_numbered(records: list[_Record]) -> bool:
    """Whether the document numbers its tasks: a number cell, or a text line that starts "1." …"""
    for record in records:
        for column, cell in record.cells.items():
            role = record.role(column)
            if role is Role.NUMBER and _bare_number(cell.folded) is not None:
                return True
            if role is Role.TEXT and any(_Numbering().match(line) for line in cell.lines()):
                return True
    return False


# --- the whole plan --------------------------------------------------------------------------------------

def read_plan(source: str | Path, plan_year: int | None = None) -> Plan:
    """Read a plan document from disk or from a web address, without touching the database."""
    from reminder.readers import read_source

    return build_plan(read_source(str(source)), plan_year=plan_year)


def build_plan(document: Document, plan_year: int | None = None) -> Plan:
    """Turn a document's rows into a Plan, or raise InputError saying why it is not a plan."""
    lines = _prepare(document.rows)
    header = _find_header(lines)
    if header is not None:
        records = _records(_table_groups(lines, header))
        before, after = lines[: header.start], lines[header.end :]
    else:
        records = _from_first_task(_records(_paragraph_groups(lines)))
        first_line = records[0].line if records else None
        before = [line for line in lines if first_line is None or line.line < first_line]
        after = []
    numbered = _is_numbered(records)
    drafts, ignored = _TaskReader(numbered).read(records)
    if header is None and not _is_plan(drafts):
        raise InputError(NO_PLAN_MESSAGE, path=document.path)
    if not drafts:
        raise InputError(NO_TASKS_MESSAGE, path=document.path, line=lines[header.start].line if header else None)
    warnings = []
    if not numbered:
        for number, draft in enumerate(drafts, start=1):
            draft.number = str(number)
        warnings.append(f"the document does not number its tasks; they are numbered 1-{len(drafts)} "
                        "in document order")
    _apply_following_notes(drafts)
    return _assemble(document, before, after, drafts, ignored, plan_year, warnings)


def _from_first_task(records: list[_Record]) -> list[_Record]:
    """In a paragraph plan, what comes before the first paragraph with units or a task number is the
    covering notice, not a task (the headings just before it still open sections)."""
    for index, record in enumerate(records):
        record_roles = {record.role(c) for c in record.cells}
        numbered = any(_numbered(cell.folded) for cell in record.cells.values())
        if record_roles & {Role.LEAD, Role.UNITS, Role.NUMBER} or numbered:
            start = index
            while start > 0 and {records[start - 1].role(c) for c in records[start - 1].cells} == {Role.SECTION}:
                start -= 1
            return records[start:]
    return []


def _is_plan(drafts: list[_Draft]) -> bool:
    """A paragraph document is a plan when most of its tasks name units or deadlines."""
    with_details = sum(1 for d in drafts if d.has_details)
    return bool(drafts) and with_details * 2 >= len(drafts)


def _apply_following_notes(drafts: list[_Draft]) -> None:
    """"以下各项均由各区落实，不再一一列明": the note's units join every later task; the note is no unit."""
    carried: list[_Text] = []
    for draft in drafts:
        found: list[_Text] = []
        for cells in (draft.lead_cells, draft.unit_cells):
            for index, cell in enumerate(cells):
                span, units = split_following_note(cell.folded)
                if span is not None:
                    found.append(cell.cut(*span))
                    cells[index] = cell.without(span).strip(" ，,；;。")
        for text_line in draft.text_lines:
            span, units = split_following_note(text_line.folded)
            if span is not None:
                found.append(text_line.cut(*span))
        if carried:
            draft.unit_cells = draft.unit_cells + carried
        for note in found:
            _, units = split_following_note(note.folded)
            start = note.folded.index(units)
            carried = carried + [note.cut(start, start + len(units))]


def _assemble(document: Document, before: list[_Line], after: list[_Line], drafts: list[_Draft],
              ignored: list[_Record], plan_year: int | None, warnings: list[str]) -> Plan:
    """Title, year and issue date from the text around the tasks; then the tasks themselves."""
    preamble = [cell for cell in map(_lone_cell, before) if cell]
    trailer = [cell for cell in map(_lone_cell, after) if cell]
    folded_preamble = [cell.folded for cell in preamble]
    issued = _find_issued(folded_preamble) or _find_issued([cell.folded for cell in trailer[-8:]])
    title = _find_title(preamble)
    if title is None:
        warnings.append("no title line found; the plan is shown by its file name until it has one")
    year = plan_year or _find_year(title.folded if title else "", folded_preamble, issued, drafts)
    if year is None:
        raise InputError("cannot tell the plan year from the title or text; pass --plan-year", document.path)
    drafts = _qualify_restarted_numbers(drafts, document.path)
    tasks, task_warnings = _finish(drafts, year, issued)
    warnings = warnings + _numbering_warnings(drafts) + task_warnings + _ignored_warnings(ignored)
    return Plan(title=title.shown if title else None, plan_year=year, issued=issued, source=document.path,
                tasks=tuple(tasks), warnings=tuple(warnings))


# --- drafts -> tasks ----------------------------------------------------------------------------

def _finish(drafts: list[_Draft], year: int, issued: date | None) -> tuple[list[Task], list[str]]:
    tasks: list[Task] = []
    warnings: list[str] = []
    for draft in drafts:
        text = _join(draft.text_lines).strip()
        deadline = _deadline_of(draft, text.shown, year, issued)
        split = split_units([c.folded for c in draft.lead_cells], [c.folded for c in draft.unit_cells])
        units_text = "；".join(c.shown for c in draft.lead_cells + draft.unit_cells
                              if c and not is_placeholder(c.folded))
        task = Task(number=draft.number, section=tuple(s.shown for s in draft.section), text=text.shown,
                    deadline=deadline, lead_units=split.lead_units, units=split.units, units_text=units_text,
                    line=draft.line)
        tasks.append(task)
        warnings.extend(_task_warnings(task, draft, issued))
    return tasks, warnings


def _deadline_of(draft: _Draft, text: str, year: int, issued: date | None) -> Deadline:
    """The deadline column decides when it has a value; otherwise the requirement text does."""
    if draft.deadline_cell:
        return deadlines.parse(draft.deadline_cell.shown, year, issued)
    return deadlines.parse(text, year, issued)


def _task_warnings(task: Task, draft: _Draft, issued: date | None) -> list[str]:
    where = f"task {task.number} (line {task.line})"
    warnings = []
    if not task.units:
        warnings.append(f"{where}: no responsible unit found; assign one before reminders can go out")
    if not task.text:
        warnings.append(f"{where}: the requirement text is empty")
    cell = draft.deadline_cell
    if cell and task.deadline.kind is DeadlineKind.NONE and not deadlines.says_no_deadline(cell.shown):
        warnings.append(f"{where}: deadline '{cell.shown}' could not be read; "
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
    parts = [d.section[0].folded if d.section else "" for d in drafts]
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


def _ignored_warnings(ignored: list[_Record]) -> list[str]:
    """Say what was not read as part of a task, so nothing is dropped silently."""
    if not ignored:
        return []
    first = " ".join(cell.shown for _, cell in sorted(ignored[0].cells.items()) if cell)
    sample = first if len(first) <= 30 else first[:29] + "…"
    where = f"line {ignored[0].line}" if len(ignored) == 1 else f"lines {ignored[0].line}-{ignored[-1].line}"
    count = sum(record.rows for record in ignored)
    return [f"{where}: {count} row(s) outside any numbered task were not imported (first: '{sample}')"]


# --- metadata -------------------------------------------------------------------------------------

def _find_title(preamble: list[_Text]) -> _Text | None:
    """The plan's own title beats the covering notice (关于印发…的通知); a title may be wrapped over
    two or three short lines."""
    best, best_score = None, 0
    lines = preamble[:40]
    for index, line in enumerate(lines):
        for candidate, parts in _title_candidates(lines, index):
            score = _title_score(candidate.folded)
            if len(parts) > 1 and score <= max(_title_score(p.folded) for p in parts):
                continue  # joining lines must make a better title than each line alone
            if score > best_score:
                best, best_score = candidate, score
    if best is None and preamble:
        notice = preamble[0]
        found = re.fullmatch(r"(?:.*?关于)?印发(.+?)的通知", notice.folded)
        if found and len(found.group(1)) >= 4:
            return notice.cut(*found.span(1))
    return best


def _title_candidates(lines: list[_Text], index: int) -> Iterator[tuple[_Text, list[_Text]]]:
    yield lines[index], [lines[index]]
    parts = [lines[index]]
    for following in lines[index + 1 : index + 3]:
        if len(parts[-1].folded) > MAX_TITLE_PART or re.search(r"[。：:，,；;]$", parts[-1].folded):
            return
        parts = parts + [following]
        yield _join(parts, ""), parts


def _title_score(line: str) -> int:
    if not 6 <= len(line) <= MAX_TITLE:
        return 0
    score = 2 * bool(PLAN_WORDS.search(line)) + bool(YEAR.search(line))
    if line.startswith(("关于", "附件")) or line.endswith("通知") or "〔" in line:
        score -= 2
    if re.search(r"[，,。《:：]", line):
        score -= 2  # a sentence that mentions the plan, not its title
    return score


def _find_year(title: str, preamble: list[str], issued: date | None, drafts: list[_Draft]) -> int | None:
    """The title's year; else the most common year around the table (its own title, a 生成日期 row);
    else the issue date's; else the years written in the deadlines."""
    found = YEAR.search(title)
    if found:
        return int(found.group(1))
    years = Counter(int(y) for line in preamble for y in YEAR.findall(line) + METADATA_YEAR.findall(line))
    if years:
        return years.most_common(1)[0][0]
    if issued:
        return issued.year
    written = Counter(int(y) for d in drafts for cell in [d.deadline_cell, *d.text_lines]
                      for y in YEAR.findall(cell.folded))
    return written.most_common(1)[0][0] if written else None


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

def _prepare(rows: Iterable[Row]) -> list[_Line]:
    """Rows as ``_Text`` cells, empty rows left out; a row whose filled cells all repeat one text is
    one merged cell (a title across the table)."""
    lines = []
    for row in rows:
        cells = tuple(_Text.of(cell) for cell in row.cells)
        filled = {cell for cell in cells if cell}
        if not filled:
            continue
        if len(cells) > 1 and len(filled) == 1 and cells.count(next(iter(filled))) > 1:
            cells = (next(iter(filled)),)
        lines.append(_Line(cells=cells, line=row.line, continued=row.continued))
    return lines


def _lone_cell(line: _Line) -> _Text | None:
    """The text of a row that holds one filled cell: a paragraph, or a title typed into A1 of a sheet
    whose other columns are blank (not merged, so the reader gives the row the sheet's width)."""
    filled = line.filled
    return filled[0] if len(filled) == 1 else None


def _section_level(text: str) -> int | None:
    for pattern, level in SECTION_PATTERNS:
        if pattern.match(text):
            return level
    return None


def _number_value(token: str) -> int:
    if token.isdecimal():  # not isdigit(): ① is a "digit" to Unicode, but int() refuses it
        return int(token)
    return ord(token) - ord("①") + 1


def _strip_number(text: _Text, number: str) -> _Text:
    for style in TASK_STYLES:
        found = style.match(text.folded)
        if found and str(_number_value(found.group(1))) == number:
            return text.cut(found.end())
    return text
