"""Deadline text -> ``Deadline`` (kind, due, milestones, every, offset, span).

``parse(text, plan_year, issued=None)`` is pure: the year of a date that does not say it comes from
``plan_year``, never from the clock. It never raises for a ``str`` and never returns an impossible date;
what it cannot read is kind ``none`` (a person then sees the plan's default, marked as inferred).

The same function reads a short deadline cell (``2021年9月30日前``, ``持续推进``) and a whole requirement
text with a deadline inside (``……，2021年底前通过政府网站集中公开……``).

Algorithm
---------
1. Normalise (``textnorm``: full-width, traditional, pinyin, bookmarks; all whitespace dropped so that
   ``12 月底前`` reads ``12月底前``), keeping a map back to the original for ``span``.
2. Mask what only looks like a date: document numbers (国办发〔2019〕54号, 〔2022〕6号) and titles in 《》.
3. Find, in this order of precedence, and return the first kind found:
   - ``fixed``: every date expression (DATE_RE) that passes the context check (``_is_deadline``).
     A range (6月至9月) counts once, by its end. Several dates -> ``milestones`` (what = the words after each
     date up to the next clause break) and ``due`` = the latest. One date followed by words -> one
     milestone. A date written inside a recurrence (每年1月31日前) belongs to the recurrence.
     Ongoing words or a processing time beside a date do not matter: the date wins.
   - ``relative``: ``<event>后 / 之日起 N 个工作日|日|天|月|周 内`` -> ``Offset(n, unit, after=event)``;
     weeks become 7·n days.
   - ``recurring``: 每年 / 每半年 / 每季度 / 每月 / 每周, 按月 / 按季度 …; 定期 -> ``unspecified``.
   - ``ongoing``: 持续推进, 长期坚持, 常态化, 持续开展, 长期, 日常 ….
   - ``none``.

Short cells and long text
-------------------------
Text longer than LONG_TEXT_CHARS, or holding sentence punctuation (。；！？), is "long": a requirement.
There the vocabulary is read conservatively, because 持续深化…, 做好常态化疫情防控…, 定期公开… are
descriptions, not deadlines:
- a date counts only when followed by a deadline marker (前, 之前, 底前, 以内, 为止 …), when its own words
  mean an end (年底, 月末, 上旬, 年内, 季度末), when followed by a completion verb (完成, 启动, 实现 …), or when
  it stands alone as a time adverbial between clause breaks (``，2021年9月30日，``); 全年 and 年中 need a
  marker; 截至 + date is a status ("截至2021年6月底，已……"), not a deadline;
- a recurrence counts only with an explicit trigger after it (至少, N次, 开展, 召开, 报送, 听取 … or a date);
  定期 never does;
- ongoing counts only when a whole clause is the phrase (``，持续推进。``);
- a relative period needs its event (印发后…, 收到申请之日起…): ``压缩至90个工作日以内`` is a processing time.
In short cells all vocabulary applies directly, and 截至 + date is a date.

Everywhere: a bare year (2021年政务公开工作要点, 2020年以来, 上一年度) is never a deadline; a date followed by
起 / 以来 / 开始 / 施行 / 实施 / 之后 (自2022年1月1日起施行) is a start, not a deadline; a full date followed by
印发 / 发布 / 签发 / 召开 is an event date; a written year outside plan_year-1 .. plan_year+5 is a target or
a reference (到2035年 …), not a deadline of this plan.

Judgement calls (documented so they can be changed in one place)
-----------------------------------------------------------------
- ``inferred_year`` is True whenever the year number was derived from ``plan_year`` rather than written:
  bare 9月底前, 年底前, and also 次年 / 明年 / 今年 (relative to the plan year).
- A month without a year after a written year inherits that year (2021年6月30日前…，12月底前… -> 2021).
- 9月前 is read like 9月 (its last day), as offices use it; 上旬/中旬/下旬 -> 10th / 20th / last day.
- ``recurring`` with a day inside the period (每年1月31日前, 每月28日前, 每年年底): ``due`` is the anchor of the
  series, the first such day on or after ``issued`` (when ``issued`` falls in the plan year) or else on or
  after 1 January of the plan year; ``every`` gives the period; no milestones. Without a day inside the
  period, ``due`` is None (the series ends each period, as DESIGN.md says).
- ``span`` of ``fixed`` covers the dates used with their markers (from the first to the last); of
  ``recurring`` the 每… phrase up to its trigger; of ``relative`` the event through 内; of ``ongoing`` the phrase.
- An impossible date (2月30日) is not a deadline; it is skipped, not repaired.
"""

from __future__ import annotations

import contextlib

import calendar
import re
from dataclasses import dataclass
from datetime import date

from reminder.model import Deadline, DeadlineKind, Every, Milestone, Offset, OffsetUnit
from reminder.textnorm import cn_to_int, normalize_with_map

__all__ = ["parse", "looks_like_deadline", "says_no_deadline"]

# =========================================================================================================
# Vocabulary (data; the algorithm below only reads these tables)
# =========================================================================================================

# Text longer than this (normalised, without spaces) is read as a requirement sentence, conservatively.
LONG_TEXT_CHARS = 20
# Punctuation that makes a text a sentence whatever its length.
SENTENCE_PUNCT = "。；;！!？?"
# Clause breaks: where a milestone's "what" ends and where ongoing clauses are cut.
CLAUSE_BREAKS = "，,；;。！!？?\n"

# Written years further than this from the plan year are targets or references, not deadlines.
YEAR_WINDOW = (-1, 5)

# Years said in words, as offsets from the plan year.
RELATIVE_YEARS = {"今年": 0, "本年": 0, "当年": 0, "次年": 1, "明年": 1, "翌年": 1}

# Whole-year words -> 12-31. With a year in front (2021年底) the 年 belongs to the year.
YEAR_END_WORDS = ("年底", "年末", "年内", "年度内", "全年")
YEAR_END_AFTER_YEAR = ("度内", "底", "末", "内")

# Half-year words -> month whose last day is due.
HALF_YEAR_WORDS = {"上半年": 6, "年中": 6, "下半年": 12}

# 旬 (ten-day period) -> day of month; None = the month's last day.
XUN_DAYS = {"上旬": 10, "中旬": 20, "下旬": None}

# Words after a date that say "by then"; consumed into the date's span.
DEADLINE_MARKERS = ("底前", "之前", "以前", "前", "以内", "之内", "内", "为止", "止")

# Words right after an unmarked date that make it a start or a reference, not a deadline.
NOT_DEADLINE_AFTER = ("起", "以来", "开始", "至今", "施行", "实施", "以后", "之后", "后", "的")
# Verbs right after an unmarked full date (with a day) that make it the date of an event.
EVENT_VERBS_AFTER = ("印发", "发布", "签发", "颁布", "召开", "举行", "成立", "生效", "公布")
# Words before a date that make it a status line in long text (截至2021年6月底，已……).
STATUS_BEFORE = ("截至", "截止", "截止到", "截至到")
# Verbs after an unmarked date that make it a deadline in long text (2021年9月完成…, 下半年启动).
COMPLETION_VERBS_AFTER = ("完成", "启动", "实现", "建成", "结束", "到位", "上线", "办结", "出台", "印发实施")
# Vague period words that need a marker in long text (完成全年目标, 年中 …).
VAGUE_WORDS = ("全年", "年中")

# Connectors of a range (6月至9月, 2021年6月—12月).
RANGE_LINKS = "至到—–\\-~～"

# Recurrence periods after 每 / 按.
EVERY_WORDS = {
    "年": Every.YEAR, "年度": Every.YEAR, "半年": Every.HALF_YEAR,
    "季": Every.QUARTER, "季度": Every.QUARTER, "月": Every.MONTH, "月度": Every.MONTH,
    "周": Every.WEEK, "星期": Every.WEEK,
}
# Words within a few characters after 每X that make it an explicit recurrence in long text.
RECUR_TRIGGERS = (
    "至少", "不少于", "不低于", "开展", "召开", "报送", "听取", "举办", "组织", "通报", "更新", "发布",
    "公开", "上报", "报告", "检查", "督查", "调度", "评估", "分析", "梳理", "汇总", "研究", "进行",
)
# How far after 每X a trigger may stand (characters, never across a clause break).
RECUR_TRIGGER_WINDOW = 10
# Regular, period not said: short cells only.
REGULAR_WORDS = ("定期",)

# Ongoing vocabulary for short cells, longest first so the span covers the whole phrase.
ONGOING_WORDS = (
    "持续推进", "持续开展", "持续实施", "持续落实", "长期坚持", "长期推进", "常态化推进", "常态化开展",
    "常态化", "长期", "持续", "常态", "日常", "长效",
)
# In long text a clause must be exactly one of these (optionally led by 并/要/应 …).
ONGOING_CLAUSES = (
    "持续推进", "持续开展", "持续实施", "长期坚持", "长期推进", "常态化推进", "常态化开展",
    "持续", "长期", "常态化", "日常",
)
ONGOING_CLAUSE_LEADS = ("并", "要", "需", "须", "应", "均", "且")

# Whole short cells the general grammar leaves alone: month.day (9.30前), a year alone (2021年度:
# within that year), and every n periods (每两个月), a recurrence with no Every value of its own.
MONTH_DAY_CELL = re.compile(r"^(1[0-2]|0?[1-9])[./](3[01]|[12]\d|0?[1-9])日?(?:前|之前|以前|止)?$")
YEAR_CELL = re.compile(r"^(20\d\d)年(?:度)?(?:内|底|末|底前|内完成)?$")
EVERY_N_CELL = re.compile(r"^每(?:[两二三四五六七八九十]|\d{1,2})个?(?:月|季度|周|年)")

# Whole cells that say there is no deadline.
NONE_PHRASES = frozenset(
    {"", "-", "--", "---", "—", "——", "/", "无", "暂无", "及时", "立即", "按要求", "当场", "即时", "随时", "适时"}
)

# Relative periods: link words between the event and the count, and units.
RELATIVE_LINKS = ("之日起", "之日后", "之后", "以后", "起", "后")
RELATIVE_UNITS = {
    "工作日": (OffsetUnit.WORKDAY, 1), "自然日": (OffsetUnit.DAY, 1), "日历日": (OffsetUnit.DAY, 1),
    "日": (OffsetUnit.DAY, 1), "天": (OffsetUnit.DAY, 1), "月": (OffsetUnit.MONTH, 1),
    "周": (OffsetUnit.DAY, 7), "星期": (OffsetUnit.DAY, 7),
}
# Words that end the event phrase when reading backwards from the link (应当在本部门文件印发后 -> 本部门文件印发).
EVENT_STOPS = "在自从于"
EVENT_MAX_CHARS = 12

# Characters that can start a Chinese-numeral month only as part of a word (统一月报, 逐一, 第一), so a
# Chinese-numeral month right after them is not a month.
CN_MONTH_BLOCKERS = "统唯逐单同划之第每周万进专其一二三四五六七八九十"

# =========================================================================================================
# Patterns (compiled once at import)
# =========================================================================================================

_CN = "〇零○O一二两三四五六七八九"
_CN_YEAR_DIGITS = "〇零○O一二三四五六七八九"
_YEAR = (
    rf"(?:(?P<y>(?<!\d)(?:19|20)\d\d(?!\d)|(?<![{_CN}十])[{_CN_YEAR_DIGITS}]{{4}})年"
    rf"|(?P<yrel>{'|'.join(RELATIVE_YEARS)}))"
)
_MONTH_NUM = rf"(?:(?<![\d.])(?:1[0-2]|0?[1-9])|(?<![{CN_MONTH_BLOCKERS}])(?:十[一二]?|[一二三四五六七八九]|元))"
_DAY_NUM = r"(?:(?<!\d)(?:3[01]|[12]\d|0?[1-9])(?!\d)|三十一?|二十[一二三四五六七八九]?|廿[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])"
_NOT_YEAR_WORD = rf"(?<![\d{_CN}十百半每上去前近本今明次翌当])"
_DATE = (
    # spreadsheet forms: 2021.06.30, 2021/9/30, 2021-09-30, 2020.12
    r"(?<![\d.])(?P<sy>(?:19|20)\d\d)(?P<sep>[./-])(?P<sm>1[0-2]|0?[1-9])"
    r"(?:(?P=sep)(?P<sd>3[01]|[12]\d|0?[1-9]))?(?!\.?\d)"
    rf"|(?:{_YEAR})?(?:"
    # month [day | 旬 | 底/末], optionally the start of a month range before it (6月至9月, 6-9月)
    rf"(?:(?P<mf>{_MONTH_NUM})(?:月份?)?[{RANGE_LINKS}]+)?(?P<m>{_MONTH_NUM})月份?"
    rf"(?:(?P<d>{_DAY_NUM})[日号]|(?P<xun>{'|'.join(XUN_DAYS)})|(?P<mend>底|末))?"
    # 年底 / 年末 / 年内 / 全年 (also after a year: 2021年年底)
    rf"|{_NOT_YEAR_WORD}(?P<ye>{'|'.join(YEAR_END_WORDS)})"
    # 上半年 / 下半年 / 年中 (年中 not in 年中央)
    rf"|{_NOT_YEAR_WORD}(?P<half>上半年|下半年|年中(?![央国华心间期外]))"
    # quarters: 一季度, 第一季度, 一季度末 (not 每一季度)
    rf"|(?<![每\d])(?:第)?(?P<q>[一二三四1-4])季度(?P<qe>末|底)?"
    # after a written year only: 2021年底, 2021年内, 今年底, 2021年度内
    rf"|(?<=年)(?P<yb>{'|'.join(YEAR_END_AFTER_YEAR)})"
    r")"
)
# Every date expression starts with one of these; the lookahead lets the regex engine skip other positions
# in C instead of trying every branch there (6x faster on requirement sentences).
_DATE_FIRST = rf"0-9{_CN}十元年全上下第{''.join(RELATIVE_YEARS)}"
DATE_RE = re.compile(rf"(?=[{_DATE_FIRST}])(?:{_DATE})")
_DATE_GROUPS = ("sy", "sm", "sd", "y", "yrel", "mf", "m", "d", "xun", "mend", "ye", "half", "q", "qe", "yb")
MARKER_RE = re.compile("|".join(DEADLINE_MARKERS))
RANGE_GAP_RE = re.compile(rf"[{RANGE_LINKS}]+")

# A day or a month-and-day inside a recurrence period: 每年(1月31日前), 每月(28日前), 每月(底).
IN_YEAR_RE = re.compile(
    rf"(?P<m>{_MONTH_NUM})月份?(?:(?P<d>{_DAY_NUM})[日号]|(?P<xun>{'|'.join(XUN_DAYS)})|(?P<mend>底|末))?"
    rf"|(?P<ye>年底|年末)"
)
IN_MONTH_RE = re.compile(rf"(?P<d>{_DAY_NUM})[日号]")
RECUR_RE = re.compile(
    rf"(?P<lead>每|按)一?(?P<p>{'|'.join(sorted(EVERY_WORDS, key=len, reverse=True))})(?P<tail>底|末)?"
)
RECUR_COUNT_RE = re.compile(r"[\d一二两三四五六七八九十]+次")
RECUR_TRIGGER_RE = re.compile("|".join(RECUR_TRIGGERS))
REGULAR_RE = re.compile("|".join(REGULAR_WORDS))

RELATIVE_RE = re.compile(
    rf"(?=[0-9{_CN}十百廿{''.join(link[0] for link in RELATIVE_LINKS)}])"
    rf"(?P<link>{'|'.join(RELATIVE_LINKS)})?"
    rf"(?P<n>(?<!\d)\d{{1,3}}|[{_CN}十百廿]{{1,4}})个?"
    rf"(?P<unit>{'|'.join(sorted(RELATIVE_UNITS, key=len, reverse=True))})(?:之内|以内|内)"
)
EVENT_RE = re.compile(rf"[^{CLAUSE_BREAKS}、：:()（）\s{EVENT_STOPS}]*$")

ONGOING_RE = re.compile("|".join(ONGOING_WORDS))
ONGOING_CLAUSE_RE = re.compile(
    rf"(?:{'|'.join(ONGOING_CLAUSE_LEADS)})?(?:{'|'.join(ONGOING_CLAUSES)})(?:下去)?"
)
CLAUSE_RE = re.compile(rf"[^{CLAUSE_BREAKS}]+")
SENTENCE_RE = re.compile(f"[{SENTENCE_PUNCT}]")

# Masked before dates are looked for: document numbers (〔2019〕54号, [2020]53号, (2021)3号, the garbled
# 〔202053号) and titles in 《》, whose years and periods belong to another document.
MASK_RE = re.compile(
    r"[〔［\[【(（](?:19|20)\d\d[〕］\]】)）]\d*号?"
    r"|〔(?:19|20)\d\d\d*号"
    r"|《[^《》]{0,80}》"
)

# Cheap pre-checks: skip a whole search when its first character cannot occur.
_MAY_MASK_RE = re.compile(r"[〔［\[【(（《]")
_MAY_RECUR_RE = re.compile(r"[每按定]")

_STRIP = " \t、:：…—-·.。，,；;"


# =========================================================================================================
# Algorithm
# =========================================================================================================


def parse(text: str, plan_year: int, issued: date | None = None) -> Deadline:
    """Read one deadline cell or requirement text; see the module docstring for the rules.

    Never raises for a ``str``: a bug in one phrase must not stop a whole plan from loading, so anything
    unexpected becomes kind ``none`` (which people are shown as "date inferred").
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    try:
        return _parse(text, plan_year, issued)
    except Exception:  # noqa: BLE001 - contract: never raise; kind none is reviewed by a person
        return Deadline(text=text, kind=DeadlineKind.NONE)


@dataclass(slots=True)
class _Hit:
    """One date expression found in the working text, before and after its year is resolved."""

    start: int
    end: int            # after the marker, if any
    core_end: int       # before the marker
    year: int | None    # written year
    year_rel: int | None  # 次年 = 1, 今年 = 0
    month: int
    day: int | None     # None = the month's last day
    marked: bool        # followed by 前 / 之前 / 以内 …
    inherent: bool      # its own words mean an end (年底, 月末, 上旬, 季度末)
    precise: bool       # has a day of month
    vague: bool         # 全年 / 年中
    is_range: bool = False
    due: date | None = None
    inferred: bool = False


_WRITTEN_YEAR_RE = re.compile(r"(\d{4})\s*年")


def looks_like_deadline(text: str) -> bool:
    """True when ``text`` reads as a deadline whatever the plan year turns out to be.

    The ingest asks this of a cell before it knows the plan's year (to tell a deadline cell from a
    units cell). A year written in the text is taken as the plan year, so a written date is never
    thrown out as "too far from the plan year"; without one, the year does not change the answer.
    """
    norm = normalize_with_map(text, drop_spaces=True)[0]
    written = _WRITTEN_YEAR_RE.search(norm)
    year = int(written.group(1)) if written else 2000
    return parse(text, year).kind is not DeadlineKind.NONE


def says_no_deadline(text: str) -> bool:
    """True when the text explicitly means "no deadline" (及时, 按要求, --), as opposed to a
    deadline we could not read; the ingest warns only about the latter."""
    return normalize_with_map(text, drop_spaces=True)[0].strip(_STRIP) in NONE_PHRASES


def _parse(text: str, plan_year: int, issued: date | None) -> Deadline:
    norm, index = normalize_with_map(text, drop_spaces=True)
    if norm.strip(_STRIP) in NONE_PHRASES:
        return Deadline(text=text, kind=DeadlineKind.NONE)
    work = _mask(norm)
    long = len(norm) > LONG_TEXT_CHARS or SENTENCE_RE.search(norm) is not None

    recur = _find_recurrence(work, long, plan_year, issued) if _MAY_RECUR_RE.search(work) else None
    raw = _find_dates(work)
    consumed = recur[2] if recur else None
    hits = [h for h in raw if not (consumed and h.start < consumed[1] and h.end > consumed[0])]
    hits = _resolve_years([h for h in hits if _is_deadline(h, work, long)], plan_year)
    if hits:
        return _fixed(text, norm, index, hits)
    relative = _find_relative(work, norm, long, raw) if "内" in work else None
    if relative:
        offset, span = relative
        return Deadline(text=text, kind=DeadlineKind.RELATIVE, offset=offset, span=_orig(index, span))
    if recur:
        every, due, span = recur
        return Deadline(text=text, kind=DeadlineKind.RECURRING, every=every, due=due,
                        inferred_year=due is not None, span=_orig(index, span))
    ongoing = _find_ongoing(work, long)
    if ongoing:
        return Deadline(text=text, kind=DeadlineKind.ONGOING, span=_orig(index, ongoing))
    return Deadline(text=text, kind=DeadlineKind.NONE) if long else _short_cell(text, norm, index, plan_year)


def _short_cell(text: str, norm: str, index: list[int], plan_year: int) -> Deadline:
    """Whole-cell forms that only make sense in a deadline column: 9.30前, 2021年度, 每两个月."""
    cell = norm.strip(_STRIP)
    span = _orig(index, (norm.find(cell), norm.find(cell) + len(cell))) if cell else None
    found = MONTH_DAY_CELL.match(cell)
    if found:
        with contextlib.suppress(ValueError):
            due = date(plan_year, int(found.group(1)), int(found.group(2)))
            return Deadline(text=text, kind=DeadlineKind.FIXED, due=due, inferred_year=True, span=span)
    found = YEAR_CELL.match(cell)
    if found and YEAR_WINDOW[0] <= int(found.group(1)) - plan_year <= YEAR_WINDOW[1]:
        return Deadline(text=text, kind=DeadlineKind.FIXED, due=date(int(found.group(1)), 12, 31), span=span)
    if EVERY_N_CELL.match(cell):
        return Deadline(text=text, kind=DeadlineKind.RECURRING, every=Every.UNSPECIFIED, span=span)
    return Deadline(text=text, kind=DeadlineKind.NONE)


def _mask(norm: str) -> str:
    """Blank out (same length, so offsets hold) document numbers and titles: their dates are not ours."""
    if _MAY_MASK_RE.search(norm) is None:  # the common case, checked in C
        return norm
    return MASK_RE.sub(lambda m: "\x00" * len(m.group()), norm)


def _orig(index: list[int], span: tuple[int, int]) -> tuple[int, int]:
    """Map a [start, end) span of the normalised text back onto the original text."""
    return index[span[0]], index[span[1] - 1] + 1


# ---- fixed dates ----------------------------------------------------------------------------------------


def _find_dates(work: str) -> list[_Hit]:
    """Every date expression in ``work``, in order, with ranges folded into their end."""
    hits: list[_Hit] = []
    for m in DATE_RE.finditer(work):
        hit = _hit(m, work)
        if hit is None:
            continue
        if hits and _links_range(work, hits[-1], hit):
            start = hits.pop()
            if hit.year is None and hit.year_rel is None:
                hit.year, hit.year_rel = start.year, start.year_rel
            hit.start, hit.is_range = start.start, True
        hits.append(hit)
    return hits


def _links_range(work: str, first: _Hit, second: _Hit) -> bool:
    """True when ``first`` is the start of a range ending at ``second`` (2021年6月1日至9月30日)."""
    if first.marked or second.start <= first.core_end:
        return False
    return RANGE_GAP_RE.fullmatch(work, first.core_end, second.start) is not None


def _hit(m: re.Match[str], work: str) -> _Hit | None:
    """Turn one DATE_RE match into a ``_Hit``; None when it is not a usable date (2021年内 without year …)."""
    sy, sm, sd, y, yrel, mf, mo, d, xun, mend, ye, half, q, qe, yb = m.group(*_DATE_GROUPS)
    year = year_rel = None
    day: int | None = None
    inherent = vague = False
    if sy:
        year, month = int(sy), int(sm)
        day = int(sd) if sd else None
    else:
        if y:
            year = int(y) if y.isdigit() else cn_to_int(y)
        elif yrel:
            year_rel = RELATIVE_YEARS[yrel]
        if mo:
            month = _small_number(mo)
            if d:
                day = _small_number(d)
            elif xun:
                day, inherent = XUN_DAYS[xun], True
            inherent = inherent or bool(mend)
            if mf and _small_number(mf) >= month:
                return None  # 9月至6月 is not a range we can read
        elif ye or yb:
            if yb and year is None and year_rel is None:
                return None
            month, inherent, vague = 12, ye != "全年", ye == "全年"
        elif half:
            month, vague = HALF_YEAR_WORDS[half], half == "年中"
        else:
            month, inherent = _small_number(q) * 3, bool(qe)
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    marker = MARKER_RE.match(work, m.end())
    end = marker.end() if marker else m.end()
    return _Hit(m.start(), end, m.end(), year, year_rel, month, day, marker is not None, inherent,
                day is not None, vague, is_range=bool(mf))


def _small_number(s: str) -> int:
    """Month, day or quarter number written in digits or Chinese (元月 = 1)."""
    if s.isdigit():  # the patterns only let ASCII digits or Chinese numerals through
        return int(s)
    return 1 if s == "元" else cn_to_int(s)


def _is_deadline(hit: _Hit, work: str, long: bool) -> bool:
    """Does the context make this date a deadline? (The rules are in the module docstring.)"""
    after = work[hit.end:hit.end + 4]
    before = work[max(0, hit.start - 4):hit.start]
    if not hit.marked:
        if after.startswith(NOT_DEADLINE_AFTER):
            return False
        if hit.precise and after.startswith(EVENT_VERBS_AFTER):
            return False
    if not long:
        return True
    if before.endswith(STATUS_BEFORE):
        return False
    if hit.marked:
        return True
    if hit.vague:
        return False
    if after.startswith(COMPLETION_VERBS_AFTER):
        return True
    if hit.inherent and not hit.is_range:
        return True
    stands_alone = (not after or after[0] in CLAUSE_BREAKS) and (not before or before[-1] in CLAUSE_BREAKS + "：:")
    return stands_alone and not hit.is_range


def _resolve_years(hits: list[_Hit], plan_year: int) -> list[_Hit]:
    """Give each hit a year (written, inherited from an earlier written year, or the plan's) and a due date."""
    low, high = plan_year + YEAR_WINDOW[0], plan_year + YEAR_WINDOW[1]
    context: tuple[int, bool] | None = None
    kept: list[_Hit] = []
    for hit in hits:
        if hit.year is not None:
            if not low <= hit.year <= high:
                continue
            year, inferred = hit.year, False
        elif hit.year_rel is not None:
            year, inferred = plan_year + hit.year_rel, True
        else:
            year, inferred = context or (plan_year, True)
        due = _make_date(year, hit.month, hit.day)
        if due is None:
            continue
        if hit.year is not None or hit.year_rel is not None:
            context = (year, inferred)
        hit.due, hit.inferred = due, inferred
        kept.append(hit)
    return kept


def _make_date(year: int, month: int, day: int | None) -> date | None:
    """The date, with ``day=None`` meaning the month's last day; None if it does not exist (2月30日)."""
    last = _month_length(year, month)
    if day is None:
        return date(year, month, last)
    return date(year, month, day) if day <= last else None


def _fixed(text: str, norm: str, index: list[int], hits: list[_Hit]) -> Deadline:
    """Build the fixed deadline: due = latest date, milestones with what each date asks for."""
    milestones: list[Milestone] = []
    for i, hit in enumerate(hits):
        stop = hits[i + 1].start if i + 1 < len(hits) else len(norm)
        what = _clause_after(norm, hit.end, stop)
        if not what and len(hits) > 1:
            prev_end = hits[i - 1].end if i else 0
            what = _clause_before(norm, prev_end, hit.start)
        milestones.append(Milestone(hit.due, what))
    if len(hits) == 1 and not milestones[0].what:
        milestones = []
    return Deadline(
        text=text,
        kind=DeadlineKind.FIXED,
        due=max(h.due for h in hits),
        milestones=tuple(milestones),
        inferred_year=any(h.inferred for h in hits),
        span=_orig(index, (hits[0].start, hits[-1].end)),
    )


def _clause_after(norm: str, start: int, stop: int) -> str:
    """The words after a date up to the next clause break: what is due then (…前<制定工作方案>，)."""
    m = CLAUSE_RE.match(norm, start, stop)
    return m.group().strip(_STRIP) if m else ""


def _clause_before(norm: str, start: int, stop: int) -> str:
    """The words before a date back to the previous clause break (制定方案：<date>)."""
    clauses = CLAUSE_RE.findall(norm, start, stop)
    return clauses[-1].strip(_STRIP) if clauses and not norm[stop - 1:stop] in CLAUSE_BREAKS else ""


# ---- recurring -----------------------------------------------------------------------------------------


def _find_recurrence(
    work: str, long: bool, plan_year: int, issued: date | None
) -> tuple[Every, date | None, tuple[int, int]] | None:
    """The first explicit recurrence: (every, anchor due or None, span in work)."""
    for m in RECUR_RE.finditer(work):
        every = EVERY_WORDS[m.group("p")]
        anchor, end = _in_period_day(work, m, every)
        trigger = _trigger_end(work, m.end())
        if long and anchor is None and trigger is None and not m.group("tail"):
            continue
        due = _anchor_date(every, anchor, plan_year, issued) if anchor else None
        return every, due, (m.start(), max(end, trigger or 0))
    if not long:
        m = REGULAR_RE.search(work)
        if m:
            return Every.UNSPECIFIED, None, m.span()
    return None


def _in_period_day(work: str, m: re.Match[str], every: Every) -> tuple[tuple[int, int | None] | None, int]:
    """The day inside each period, if written (每年<1月31日>前, 每月<28日>前, 每月<底>): ((month, day), end)."""
    end = m.end()
    if m.group("tail"):
        if every is Every.YEAR:
            return (12, None), end
        if every is Every.MONTH:
            return (0, None), end
        return None, end
    day_match = None
    if every is Every.YEAR:
        day_match = IN_YEAR_RE.match(work, end)
    elif every is Every.MONTH:
        day_match = IN_MONTH_RE.match(work, end)
    if not day_match:
        return None, end
    g = day_match.group
    if every is Every.YEAR:
        if g("ye"):
            month, day = 12, None
        else:
            month = _small_number(g("m"))
            day = _small_number(g("d")) if g("d") else XUN_DAYS[g("xun")] if g("xun") else None
    else:
        month, day = 0, _small_number(g("d"))  # month 0: the month of each period
    marker = MARKER_RE.match(work, day_match.end())
    return (month, day), marker.end() if marker else day_match.end()


def _trigger_end(work: str, start: int) -> int | None:
    """End of the recurrence trigger within the window and the same clause: a count (1次) if there is
    one, so the span reads 每年至少听取1次, else the first trigger word (至少, 召开 …)."""
    window = CLAUSE_RE.match(work, start, start + RECUR_TRIGGER_WINDOW)
    if not window:
        return None
    count = RECUR_COUNT_RE.search(window.group()) or RECUR_TRIGGER_RE.search(window.group())
    return start + count.end() if count else None


def _anchor_date(every: Every, anchor: tuple[int, int | None], plan_year: int, issued: date | None) -> date | None:
    """First in-period day on or after the reference (issued within the plan year, else 1 January)."""
    ref = date(plan_year, 1, 1)
    if issued is not None and ref < issued <= date(plan_year, 12, 31):
        ref = issued
    month, day = anchor
    if every is Every.YEAR:
        candidate = _clamped(ref.year, month, day)
        return candidate if candidate >= ref else _clamped(ref.year + 1, month, day)
    candidate = _clamped(ref.year, ref.month, day)
    if candidate >= ref:
        return candidate
    year, month = (ref.year + 1, 1) if ref.month == 12 else (ref.year, ref.month + 1)
    return _clamped(year, month, day)


def _clamped(year: int, month: int, day: int | None) -> date:
    """The day in that month, moved back to the last day when the month is shorter (每月31日 in June)."""
    last = _month_length(year, month)
    return date(year, month, last if day is None else min(day, last))


def _month_length(year: int, month: int) -> int:
    """Days in the month; ``calendar.monthrange`` also computes a weekday we do not need."""
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ---- relative ------------------------------------------------------------------------------------------


def _find_relative(
    work: str, norm: str, long: bool, raw_dates: list[_Hit]
) -> tuple[Offset, tuple[int, int]] | None:
    """The first ``<event>后 N 个工作日内``; without its event only in a short cell (after = "")."""
    for m in RELATIVE_RE.finditer(work):
        if any(h.start < m.end() and h.end > m.start() for h in raw_dates):
            continue  # 9月30日内 is a date, not 30 days
        n = _small_number(m.group("n"))
        if n <= 0:
            continue
        event, event_start = ("", m.start())
        if m.group("link"):
            event, event_start = _event_before(norm, m.start())
        if long and not event:
            continue
        unit, factor = RELATIVE_UNITS[m.group("unit")]
        return Offset(n * factor, unit, event), (event_start, m.end())
    return None


def _event_before(norm: str, link_start: int) -> tuple[str, int]:
    """The event phrase before 后 / 之日起, back to a clause break or a preposition (在, 自, 从, 于)."""
    lo = max(0, link_start - EVENT_MAX_CHARS)
    m = EVENT_RE.search(norm, lo, link_start)
    if not m or not m.group():
        return "", link_start
    return m.group(), m.start()


# ---- ongoing -------------------------------------------------------------------------------------------


def _find_ongoing(work: str, long: bool) -> tuple[int, int] | None:
    """Span of the ongoing phrase; in long text only a clause that is the phrase and nothing else."""
    if not long:
        m = ONGOING_RE.search(work)
        return m.span() if m else None
    for clause in CLAUSE_RE.finditer(work):
        m = ONGOING_CLAUSE_RE.fullmatch(clause.group())
        if m:
            return clause.span()
    return None
