"""Unit cells -> lead units and responsible units.

A plan's unit cell is a small sentence, not a list:
"区财政局牵头，区民政局、农业农村局等有关部门落实；各镇（街、园区）" names a lead (区财政局),
responsible units (区民政局, 区农业农村局 — the 区 prefix carries over) and a group (各镇（街、园区）).
The rules below are what offices write; anything we cannot classify stays as written, so a person
sees it rather than losing it. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Cells that mean "no unit here".
PLACEHOLDERS = {"", "-", "--", "—", "——", "/", "无", "暂无", "空"}

# A clause ending in one of these names its units as leads ("区财政局牵头").
LEAD_MARKERS = ("分别牵头负责落实", "分别牵头落实", "牵头负责落实", "分别牵头负责", "牵头组织落实", "牵头落实",
                "分别牵头", "牵头负责", "牵头", "为牵头单位", "主办", "负总责")
# Trailing verbs that mark responsible or cooperating units; stripped from the names.
RESPONSIBLE_SUFFIXES = (
    "按职能分工落实", "按职责分工落实", "按职责分工负责", "按职能分工负责", "分别负责", "共同负责",
    "配合落实", "负责落实", "具体落实", "组织落实", "抓好落实", "参照落实", "分别落实", "共同落实", "参照执行",
    "落实", "负责", "配合", "参与", "协同", "实施",
)
# Suffix words that say a unit only carries out or cooperates ("负责" alone says nothing either way).
COOPERATING_WORDS = ("配合", "参与", "协同", "协助", "落实", "参照")
# "区民政局、农业农村局等有关部门" -> the named ones; the "and others" tail names no one we can reach.
ETC_SUFFIX = re.compile(r"等(其他|其它)?(有关|相关)?(部门|单位|机构|科室)*$")
# Labels that some plans write inside a cell ("牵头单位：县财政局").
LEAD_LABEL = re.compile(r"^(牵头单位|牵头部门|牵头)[:：]")
OTHER_LABEL = re.compile(r"^(责任单位|落实单位|配合单位|协办单位|责任部门|参与单位|配合部门|责任科室|负责科室|责任处室)[:：]")
LEAD_NOTE = re.compile(r"[（(]牵头[）)]$")

# Administrative-level prefixes that carry over a list: 区民政局、农业农村局 -> 区农业农村局.
ADMIN_PREFIXES = "区县市州省"
# Words that begin with a prefix character but are not a prefix (市场监管局 is not 市 + 场监管局).
NOT_PREFIXED = ("市场", "区域", "县域", "市政设施", "省际")

_CLAUSE_SPLIT = "；;，,\n"  # "；" separates units like "、", and ends a marker's reach
_ITEM_SPLIT = "、"
_OPEN, _CLOSE = "（([【〔“", "）)]】〕”"


@dataclass(frozen=True)
class UnitSplit:
    """The result of reading unit cells: leads first in ``units``, no duplicates."""

    lead_units: tuple[str, ...]
    units: tuple[str, ...]


def split_units(lead_cells: list[str], unit_cells: list[str]) -> UnitSplit:
    """Read the lead column(s) and the other unit columns of one task.

    A unit in a lead column is a lead unless its clause says it only cooperates (…配合). In the
    other columns a 牵头 marker makes a lead; the rest are responsible. Without any lead, every unit
    named is responsible (``lead_units`` empty).
    """
    leads: list[str] = []
    others: list[str] = []
    for cell in lead_cells:
        for name, marker in _read_cell(cell):
            (others if marker == RESPONSIBLE else leads).append(name)
    for cell in unit_cells:
        for name, marker in _read_cell(cell):
            (leads if marker == LEAD else others).append(name)
    leads = _unique(leads)
    return UnitSplit(lead_units=tuple(leads), units=tuple(_unique(leads + others)))


def is_placeholder(cell: str) -> bool:
    return cell.strip() in PLACEHOLDERS


def is_group(name: str) -> bool:
    """Groups (区直各单位, 各镇（街、园区）, 县直各部门, 区有关单位) stand for several units."""
    return bool(re.search(r"各|有关|相关|其他|其它|所有|全体", name))


LEAD, RESPONSIBLE = "lead", "responsible"  # what a clause's marker says; None when it says nothing


def _read_cell(cell: str) -> list[tuple[str, str | None]]:
    """One cell -> [(unit name, marker)] in the order written."""
    if is_placeholder(cell):
        return []
    named: list[tuple[str, str | None]] = []
    for clause in _split_top_level(cell.strip(), _CLAUSE_SPLIT):
        named.extend(_read_clause(clause))
    return named


def _read_clause(clause: str) -> list[tuple[str, str | None]]:
    clause = clause.strip(" 　。.")
    marker: str | None = None
    if LEAD_LABEL.match(clause):
        clause, marker = LEAD_LABEL.sub("", clause), LEAD
    elif OTHER_LABEL.match(clause):
        clause, marker = OTHER_LABEL.sub("", clause), RESPONSIBLE
    for word in LEAD_MARKERS:
        if clause.endswith(word) and len(clause) > len(word):
            clause, marker = clause[: -len(word)], LEAD
            break
    stripped = _strip_suffixes(clause)
    if marker is None and any(word in clause[len(stripped):] for word in COOPERATING_WORDS):
        marker = RESPONSIBLE  # "…配合" under a lead column still only cooperates
    clause = stripped
    names = []
    prefix = ""
    for item in _split_top_level(clause, _ITEM_SPLIT):
        item_lead = marker
        if LEAD_NOTE.search(item):
            item, item_lead = LEAD_NOTE.sub("", item), LEAD
        name = _clean_name(item)
        if not name or is_placeholder(name):
            continue
        name, prefix = _carry_prefix(name, prefix)
        names.append((name, item_lead))
    return names


def _strip_suffixes(clause: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in RESPONSIBLE_SUFFIXES:
            if clause.endswith(suffix) and len(clause) > len(suffix):
                clause, changed = clause[: -len(suffix)], True
    return clause


def _clean_name(item: str) -> str:
    name = item.strip(" 　。.:：")
    bare = ETC_SUFFIX.sub("", name)
    return bare if bare else name


def _carry_prefix(name: str, prefix: str) -> tuple[str, str]:
    """Give ``name`` the list's admin prefix when it lacks one; return (name, prefix for next)."""
    own = _admin_prefix(name)
    if own:
        return name, own
    if prefix and not is_group(name) and not name.startswith(("各", "乡", "镇", "街")):
        return prefix + name, prefix
    return name, prefix


def _admin_prefix(name: str) -> str:
    if name[:1] in ADMIN_PREFIXES and not name.startswith(NOT_PREFIXED):
        return name[:1]
    return ""


def _split_top_level(text: str, separators: str) -> list[str]:
    """Split on separators that are not inside brackets: 各镇（街、园区） stays whole."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE and depth:
            depth -= 1
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return list(seen)


# ---- recognising unit text outside a unit column ------------------------------------------------

# A note that puts a unit on every later task: "……，以下各项均由各区落实，不再一一列明". The note's own
# words are never units; the named units join the tasks that follow it.
FOLLOWING_NOTE = re.compile(
    r"[，,；;]?\s*以下(?:各项|各条|所有|全部|任务|工作|事项|内容|重点)*(?:均|都|皆|全部)?由"
    r"(?P<units>[^，,。；;（）()]{1,40}?)(?:分别)?(?:牵头)?(?:负责)?(?:落实|负责|实施|承担|完成|执行)"
    r"(?:[，,；;]?\s*(?:不再|不)一一列(?:明|出|举))?[。；;]?"
)
# Endings of the names units have; a list whose items mostly end so is a unit list, not a sentence.
UNIT_ENDINGS = ("局", "办", "委", "府", "院", "部", "中心", "室", "科", "处", "会", "队", "所", "站", "馆", "团",
                "行", "司", "社", "校", "厅", "署", "组", "台", "单位", "部门", "机构", "街道", "镇", "乡", "区",
                "县", "市", "园区", "公司", "集团", "网站", "办公室", "分局", "支队", "大队")
# Words that end a line naming units and what they do ("市住建局牵头落实", "各区配合").
UNIT_LINE_MARKERS = tuple(sorted(set(LEAD_MARKERS + RESPONSIBLE_SUFFIXES), key=len, reverse=True))
MAX_UNIT_LIST = 80  # a unit list longer than this is a sentence that names units
MAX_UNIT_NAME = 24


def split_following_note(text: str) -> tuple[tuple[int, int] | None, str]:
    """Find a "以下各项均由X落实" note: (its span in ``text``, the units it names) or (None, "")."""
    found = FOLLOWING_NOTE.search(text)
    if found is None:
        return None, ""
    return found.span(), found.group("units").strip()


def looks_like_units(text: str) -> bool:
    """True when ``text`` (normalised) reads as a list of units rather than a sentence or a date."""
    text = text.strip(" 。.")
    if not text or len(text) > MAX_UNIT_LIST or "。" in text or any(ch.isdigit() for ch in text):
        return False
    names = [_strip_suffixes(_strip_lead_marker(clause))
             for clause in _split_top_level(text, _CLAUSE_SPLIT + _ITEM_SPLIT + " ")]
    names = [_clean_name(_label_free(name)) for name in names]
    names = [name for name in names if name and not is_placeholder(name)]
    if not names or any(len(name) > MAX_UNIT_NAME for name in names):
        return False
    unit_like = sum(1 for name in names if is_group(name) or _bare(name).endswith(UNIT_ENDINGS))
    return unit_like * 3 >= len(names) * 2


def is_unit_line(text: str) -> bool:
    """A line of a paragraph plan that only names units: a label (牵头单位：…) or a unit list that ends
    with what the units do (市住建局牵头落实, 市文旅局、市体育局分别牵头落实)."""
    text = text.strip(" 。.；;")
    if LEAD_LABEL.match(text) or OTHER_LABEL.match(text):
        return looks_like_units(_label_free(text)) or not _label_free(text)
    return text.endswith(UNIT_LINE_MARKERS) and looks_like_units(text)


def _label_free(text: str) -> str:
    return OTHER_LABEL.sub("", LEAD_LABEL.sub("", text.strip()))


def _strip_lead_marker(clause: str) -> str:
    for word in LEAD_MARKERS:
        if clause.endswith(word) and len(clause) > len(word):
            return clause[: -len(word)]
    return clause


def _bare(name: str) -> str:
    """A name without a closing bracket note: 各镇（街、园区） -> 各镇."""
    return re.sub(r"[（(][^（）()]*[）)]$", "", name)
