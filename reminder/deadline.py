"""Deadline text -> ``Deadline`` (kind, due, milestones, every, offset, span).

``parse(text, plan_year, issued=None)`` is pure: the year of a date that does not say it comes from
``plan_year``, never from the clock. It never raises for a ``str`` and never returns an impossible date;
what it cannot read is kind ``none`` (a person then sees the plan's default, marked as inferred).

The same function reads a short deadline cell (``2021年9月30日前``, ``持续推进``) and a whole requirement
text with a deadline inside (``……，2021年底前通过政府网站集中公开……``).

Algorithm
---------
1. Normalise (``textnorm``: full-width, traditional, pinyin, bookmarks; all whitespace dropped so that
   ``12 月底前`` reads ``12月底前``), keeping a map back to the original for ``span``. Text with no
   character that needs it (most cells) is used as it is, without a map.
2. A short text that is one date and nothing else (2021年9月30日前, 年底前: most deadline cells) is read
   directly: ``CELL_DATE_RE.fullmatch``, the date's fields, its year, the result.
3. Otherwise one pass of one regular expression (TOKEN) over the text finds every token in order:
   masks (document numbers 国办发〔2019〕54号 and titles in 《》, whose dates are not ours and are
   skipped), dates (DATE, with the deadline marker after them), recurrences (每季度, 按月, 定期), relative
   periods (5个工作日内) and ongoing words. Lookaheads on a token's first two characters let the regex
   engine pass over the rest of a sentence without trying any branch. A recurrence reads the day inside
   its period right after it (每年<1月31日前>), and the tokens that day covers are skipped. Everything
   after this is linear in the text: a token's context is a few characters around it, and the clause
   words of several dates come from one list of clause breaks.
4. The kind is the first of these that the text holds:
   - ``fixed``: every date token that passes the context check (``_is_deadline``). A range (6月至9月,
     4月1日至15日) counts once, by its end. Several dates -> ``milestones`` (what = the words of the
     clause around each date) and ``due`` = the latest. One date followed by words -> one milestone.
     Ongoing words or a processing time beside a date do not matter: the date wins.
   - ``relative``: ``<event>后 / 之日起 [，各单位应于] N 个工作日|日|天|月|周 内`` -> ``Offset(n, unit,
     after=event)``; weeks become 7·n days.
   - ``recurring``: 每年 / 每半年 / 每季度 / 每月 / 每周, 按月 / 按季度, 一年一次, 每两个月 …; 定期 / 不定期 ->
     ``unspecified`` (a named period wins over 定期 wherever it stands).
   - ``ongoing``: 持续推进, 长期坚持, 常态化, 持续开展, 长期, 日常 ….
   - ``none``.

Short cells and long text
-------------------------
Text longer than LONG_TEXT_CHARS, or holding sentence punctuation (。；！？), is "long": a requirement.
There a date counts only when the context makes it a deadline:
- when followed by a deadline marker (前, 之前, 底前, 以内, 为止 …), when its own words mean an end
  (年底, 月末, 上旬, 年内, 季度末), when it is a range (于6月至9月开展…: its end), when 至 / 到 stands before
  it (即日起至9月30日), when an action verb follows (完成, 启动, 开展, 召开 …, so 第二季度完成… counts and
  报送上半年工作总结 does not), or when it stands alone as a time adverbial between clause breaks
  (``，2021年9月30日，``); 全年 and 年中 need a marker; 截至 + date is a status ("截至2021年6月底，已……");
- a relative period needs its event (印发后…, 收到申请之日起，应于…): ``压缩至90个工作日以内`` is a
  processing time;
- recurrence words count anywhere (每半年…, 定期公开…, 按月报送…);
- ongoing words count anywhere as what they are in a requirement: 持续<verb> (持续深化…), 长期坚持 / 长期推进
  / 长期<verb>, 常态化…, 常抓不懈, 久久为功 …, 日常<监测|管理|维护…>; not the noun phrases 常态化疫情防控,
  长期以来, 长效机制, 新常态.
In short cells every date counts directly, so does an ongoing word that ends the cell or its clause
(长期, 日常; but not 长期护理保险, a unit's name), and 截至 + date is a date.

Everywhere: a bare year (2021年政务公开工作要点, 2020年以来, 上一年度) is never a deadline; a date followed by
起 / 以来 / 开始 / 施行 / 实施 / 之后 (自2022年1月1日起施行) is a start, not a deadline; a full date followed by
印发 / 发布 / 签发 / 召开 is an event date; a written year outside plan_year-1 .. plan_year+5 is a target or
a reference (到2035年 …), not a deadline of this plan; X前后 (around X: 12月20日前后, 春节前后) is an
approximation, not a deadline, and is left for a person.

Named holidays
--------------
春节前, 国庆节前, 元旦前, 清明节前, 五一前 / 劳动节前, 端午节前, 中秋节前, 元宵节前, 七一前 (also with 假期 /
放假: 春节放假前): the last working day before the holiday, on the statutory calendar (``reminder.workdays``,
imported only when a holiday word appears, so the plain path stays fast). The holiday is the one of the
plan year (or of the year written: 2022年春节前), with two readings spelled out:
- 元旦前 without a year is the New Year's Day that closes the plan year (its 31 December or the last
  working day before), since the one that opens it is behind every plan;
- when ``issued`` falls in the plan year after that year's holiday (a plan issued in April saying 春节前),
  it is the next year's holiday, the only one still ahead; ``inferred_year`` says the year was not written.
The calendar used is the library's, without the config's ``[calendar]`` overrides, which the parser
does not see. A holiday the calendar does not know that year is not read (kind ``none``).

Recurring with a day inside each period
---------------------------------------
每月10日前, 每季度首月15日前, 每季度末月25日前, 每年1月31日前, 每年一季度, 每周五, 每月下旬,
每季度结束后15日内 (the first month of the next period): ``every`` is the period and ``due`` the anchor
of the series, so that the planner can compute every period's due day from the ``Deadline`` alone (see
``Deadline``'s docstring and ``period_due_dates``): the first such day on or after the reference day
(``issued`` when it falls in the plan year, else 1 January of the plan year) in a period whose month holds
the day as written. ``due.day`` is the written day (31 for 月底 / 下旬, "the last day"), ``due.month``'s
place in its period is the month within each period, and for weeks ``due.weekday()`` is the weekday.
每季度N日前 without a month means the first month of each quarter. Without a day inside the period
(每季度, 每季度末), ``due`` is None: each period is due at its end. A day counted in working days after
each period (每季度结束后10个工作日内) cannot be carried this way and stays a plain recurrence.

Judgement calls (documented so they can be changed in one place)
-----------------------------------------------------------------
- ``inferred_year`` is True whenever the year number was derived from ``plan_year`` rather than written:
  bare 9月底前, 年底前, 春节前, and also 次年 / 明年 / 下一年度 / 今年 (relative to the plan year), and for
  recurring deadlines with an anchor.
- A month without a year after a written year inherits that year (2021年6月30日前…，12月底前… -> 2021).
- 9月前 is read like 9月 (its last day), as offices use it; 上旬/中旬/下旬 -> 10th / 20th / last day.
- Several dates: each milestone's ``what`` is the clause's words before the date (from the previous
  date or clause break, so the actor is kept: 市财政局…, 各区…) and after it (to the next break).
- ``span`` of ``fixed`` covers the dates used with their markers (from the first to the last); of
  ``recurring`` the 每… phrase up to its trigger; of ``relative`` the event through 内; of ``ongoing`` the phrase.
- An impossible date (2月30日) is not a deadline; it is skipped, not repaired.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

from reminder.deadline_types import Deadline, DeadlineKind, Every, Milestone, Offset, OffsetUnit
from reminder.textnorm import cn_to_int, normalize, normalize_with_optional_map

if TYPE_CHECKING:
    from reminder.workdays import Calendar

__all__ = ["looks_like_deadline", "parse", "period_due_dates", "says_no_deadline"]

# =========================================================================================================
# Vocabulary (data; the algorithm below only reads these tables)
# =========================================================================================================

# Text longer than this (normalised, without spaces) is read as a requirement sentence, conservatively.
LONG_TEXT_CHARS = 20
# Punctuation that makes a text a sentence whatever its length.
SENTENCE_PUNCT = "。；;！!？?"
# Clause breaks: where a milestone's "what" ends.
CLAUSE_BREAKS = "，,；;。！!？?\n"

# Written years further than this from the plan year are targets or references, not deadlines.
YEAR_WINDOW = (-1, 5)

# Years said in words, as offsets from the plan year (longest first where one is a prefix of another).
RELATIVE_YEARS = {
    "今年度": 0, "今年": 0, "本年度": 0, "本年": 0, "当年度": 0, "当年": 0,
    "下一年度": 1, "下一年": 1, "下年度": 1, "下年": 1, "次年度": 1, "次年": 1, "明年度": 1, "明年": 1,
    "翌年": 1, "来年": 1,
}

# Whole-year words -> 12-31 (全年 is vague: it needs a marker in a sentence).
YEAR_END_WORDS = ("年度终了", "年度结束", "年度内", "年度末", "年底", "年末", "年终", "年内", "岁末", "全年")
# The same after a written or relative year (2021年底, 2021年度内, 今年以内, 下一年度末).
YEAR_END_AFTER_YEAR = ("度内", "度末", "底", "末", "终", "以内", "内")

# Half-year words -> month whose last day is due.
HALF_YEAR_WORDS = {"上半年": 6, "年中": 6, "下半年": 12}

# 旬 (ten-day period) -> day of month; 31 = the month's last day.
XUN_DAYS = {"上旬": 10, "中旬": 20, "下旬": 31, "上中旬": 20, "中下旬": 31}
LAST_DAY = 31

# Words after a date that say "by then"; consumed into the date's span. 前后 (around) is not one.
DEADLINE_MARKERS = ("前", "底前", "之前", "以前", "以内", "之内", "内", "为止", "止")

# Words right after an unmarked date that make it a start or a reference, not a deadline.
NOT_DEADLINE_AFTER = ("起", "以来", "开始", "至今", "施行", "实施", "以后", "之后", "后", "的", "前后", "左右")
# Verbs right after an unmarked full date (with a day) that make it the date of an event.
EVENT_VERBS_AFTER = ("印发", "发布", "签发", "颁布", "召开", "举行", "成立", "生效", "公布")
# Words before a date that make it a status line in long text (截至2021年6月底，已……).
STATUS_BEFORE = ("截至", "截止", "截止到", "截至到")
# Words before a date that make it the end of a period (即日起至9月30日, 延长至2022年6月).
UNTIL_BEFORE = ("至", "到")
# Verbs after an unmarked date that make it a deadline in long text (2021年9月完成…, 第二季度开展…),
# optionally after an adverb (基本完成, 全面启动).
ACTION_ADVERBS = ("全面", "基本", "初步", "全部", "如期", "集中")
ACTION_VERBS_AFTER = (
    "完成", "启动", "实现", "建成", "结束", "到位", "上线", "办结", "出台", "印发实施", "开展", "召开",
    "组织", "举办", "部署", "制定", "编制", "推出", "建立", "报送", "提交", "上报", "开通", "投入", "推开",
    "验收",
)
# Vague period words that need a marker in long text (完成全年目标, 年中 …).
VAGUE_WORDS = ("全年", "年中")
# Words right after a range that make it a description, not a schedule (每年6-9月为汛期).
NOT_SCHEDULE_AFTER = ("为", "是")

# Connectors of a range (6月至9月, 2021年6月—12月, 4月1日至15日), and how many may stand in a row.
RANGE_LINKS = "至到—–\\-~～"
RANGE_GAP_MAX = 3

# Named holidays -> the festival key of ``reminder.workdays.FESTIVAL_NAMES``; 元宵 is 14 days after the
# Spring Festival; 七一 is a date, not a holiday (the working day before 1 July). Longest first.
HOLIDAY_WORDS = {
    "五一国际劳动节": "labour_day", "五一劳动节": "labour_day", "劳动节": "labour_day", "五一节": "labour_day",
    "五一": "labour_day", "春节": "spring_festival", "国庆节": "national_day", "国庆": "national_day",
    "元旦": "new_year", "清明节": "tomb_sweeping", "清明": "tomb_sweeping", "端午节": "dragon_boat",
    "端午": "dragon_boat", "中秋节": "mid_autumn", "中秋": "mid_autumn", "元宵节": "lantern", "元宵": "lantern",
    "七一": "july_first",
}
HOLIDAY_SUFFIXES = ("小长假", "长假", "假期", "放假")
LANTERN_AFTER_SPRING_FESTIVAL = 14

# Recurrence periods after 每 / 按 / 逐.
EVERY_WORDS = {
    "年度": Every.YEAR, "年": Every.YEAR, "半年": Every.HALF_YEAR,
    "季度": Every.QUARTER, "季": Every.QUARTER, "月度": Every.MONTH, "月": Every.MONTH,
    "周": Every.WEEK, "星期": Every.WEEK,
}
# Months in each period, for the day inside a period.
PERIOD_MONTHS = {Every.YEAR: 12, Every.HALF_YEAR: 6, Every.QUARTER: 3, Every.MONTH: 1}
# The month inside a quarter or half-year (每季度<首月>15日前).
MONTH_IN_PERIOD = {
    "首月": 0, "第一个月": 0, "第1个月": 0, "第二个月": 1, "第2个月": 1, "第三个月": 2, "第3个月": 2,
    "末月": -1, "最后一个月": -1, "最后1个月": -1,
}
# Weekday words after 每周 (Monday = 0).
WEEKDAYS = {"一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3, "五": 4, "5": 4,
            "六": 5, "6": 5, "日": 6, "天": 6, "7": 6}
# Words within a few characters after 每X that belong to the recurrence's span (每年至少听取1次).
RECUR_TRIGGERS = (
    "至少", "不少于", "不低于", "开展", "召开", "报送", "听取", "举办", "组织", "通报", "更新", "发布",
    "公开", "上报", "报告", "检查", "督查", "调度", "评估", "分析", "梳理", "汇总", "研究", "进行",
)
RECUR_TRIGGER_WINDOW = 10
# Regular, period not said.
REGULAR_WORDS = ("不定期", "定期")

# Ongoing vocabulary, longest first so the span covers the whole phrase. In a short cell any of them.
ONGOING_WORDS = (
    "持续推进", "持续开展", "持续实施", "持续落实", "长期坚持", "长期推进", "常态化推进", "常态化开展",
    "常抓不懈", "长抓不懈", "久久为功", "坚持不懈", "持之以恒", "贯穿全年", "经常性", "不间断",
    "常态化", "长期", "持续", "常态", "日常", "长效",
)
# In a sentence: what may follow 持续 (anything but these), 长期 and 日常 for them to mean ongoing work;
# 常态化 is ongoing unless it names the epidemic measures (常态化疫情防控).
NOT_ONGOING_AFTER_CONTINUOUS = ("性", "时间", "期间", "了")
ONGOING_AFTER_LONG_TERM = ("坚持", "推进", "开展", "保持", "跟踪", "关注", "公开", "执行", "实施", "有效", "坚守")
ONGOING_AFTER_DAILY = ("监测", "监管", "管理", "维护", "更新", "巡查", "检查", "运维", "保障", "督查", "调度", "工作")
NOT_ONGOING_NORMALISED = ("疫情",)
ONGOING_ONLY_IN_CELLS = ("常态", "长效")

# Whole short cells the general grammar leaves alone: month.day (9.30前) and a year alone (2021年度:
# within that year).
MONTH_DAY_CELL = re.compile(r"^(1[0-2]|0?[1-9])[./](3[01]|[12]\d|0?[1-9])日?(?:前|之前|以前|止)?$")
YEAR_CELL = re.compile(r"^(20\d\d)年(?:度)?(?:内|底|末|底前|内完成)?$")

# Whole cells that say there is no deadline.
NONE_PHRASES = frozenset(
    {"", "-", "--", "---", "—", "——", "/", "无", "暂无", "及时", "立即", "按要求", "当场", "即时", "随时", "适时"}
)

# Relative periods: link words between the event and the count, what may stand between the link and
# the count (印发后，应于5个工作日内), and units.
RELATIVE_LINKS = ("之日起", "之日后", "之后", "以后", "起", "后")
RELATIVE_GAP_WORDS = ("务必", "应当", "应", "须", "需", "要", "均", "并", "在", "于")
RELATIVE_UNITS = {
    "工作日": (OffsetUnit.WORKDAY, 1), "自然日": (OffsetUnit.DAY, 1), "日历日": (OffsetUnit.DAY, 1),
    "日": (OffsetUnit.DAY, 1), "天": (OffsetUnit.DAY, 1), "月": (OffsetUnit.MONTH, 1),
    "周": (OffsetUnit.DAY, 7), "星期": (OffsetUnit.DAY, 7),
}
# Words that end the event phrase when reading backwards from the link (应当在本部门文件印发后 -> 本部门文件印发).
EVENT_STOPS = "在自从于"
EVENT_MAX_CHARS = 12
# Longest actor between the link and the count (，各有关单位应于…), and how far back the link may stand.
RELATIVE_ACTOR_CHARS = 8
LINK_WINDOW = 20

# Words left at the end of a milestone's lead-in that belong to the date, not to what is due (各区于…),
# and how far from the end a run of them is looked for.
LEAD_TAIL_WORDS = ("务必", "力争", "争取", "确保", "应当", "应", "须", "需", "要", "并", "将", "在", "于")
LEAD_TAIL_WINDOW = 12

# Separators stripped from the ends of words shown to people (what is due, the event).
_STRIP_CHARS = " \t、:：…—-·.。，,；;"

# Characters that can start a Chinese-numeral month only as part of a word (统一月报, 逐一, 第一), so a
# Chinese-numeral month right after them is not a month.
CN_MONTH_BLOCKERS = "统唯逐单同划之第每周万进专其一二三四五六七八九十"

# =========================================================================================================
# Patterns (compiled once at import)
# =========================================================================================================


def _alternation(words) -> str:
    """A regex alternation of literal words, longest first so the longest one wins at a position."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CN = "〇零○O一二两三四五六七八九"
_CN_YEAR_DIGITS = "〇零○O一二三四五六七八九"


def _starts(chars: str) -> str:
    """A lookahead for the characters a branch can start with: the regex engine then rejects a
    position in one table lookup instead of trying the branch (most characters of a sentence)."""
    return f"(?=[{re.escape(''.join(sorted(set(chars))))}])"


# A written year (2021年, 二〇二一年) or a year word (次年, 下一年度).
_YEAR = (
    rf"(?:{_starts('0123456789' + _CN_YEAR_DIGITS)}"
    rf"(?P<y>(?<!\d)(?:19|20)\d\d|(?<![{_CN}十])[{_CN_YEAR_DIGITS}]{{4}})年"
    rf"|{_starts(''.join(w[0] for w in RELATIVE_YEARS))}(?P<yrel>{_alternation(RELATIVE_YEARS)}))"
)


_MONTH_FIRST = "0123456789一二三四五六七八九十元"
_MONTH_NUM = rf"(?:(?<![\d.])(?:1[0-2]|0?[1-9])|(?<![{CN_MONTH_BLOCKERS}])(?:十[一二]?|[一二三四五六七八九]|元))"
# A day always stands between 月 (or a range link) and 日 / 号, which bound it, so it needs no lookarounds.
_DAY_NUM = r"(?:3[01]|[12]\d|0?[1-9]|三十一?|二十[一二三四五六七八九]?|廿[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])"
_NOT_YEAR_WORD = rf"(?<![\d{_CN}十百半每上去前近本今明次翌当来])"
_HOLIDAY_FIRST = "".join(w[0] for w in HOLIDAY_WORDS)
_DATE = (
    # A year, once read, is not given back to try the rest without it (possessive ?+): nothing that
    # starts with a year reads as a date from its first digit.
    rf"{_YEAR}?+(?:"
    # month [day [至 day] | 旬 | 底/末]; without 月 only as the start of a range (6-9月, 6至9月), which
    # is joined to its end in Python
    rf"{_starts(_MONTH_FIRST)}(?P<m>{_MONTH_NUM})(?:(?P<mk>月)份?"
    rf"(?:(?P<d>{_DAY_NUM})[日号](?:[{RANGE_LINKS}]+(?P<d2>{_DAY_NUM})[日号])?"
    rf"|(?P<xun>{_alternation(XUN_DAYS)})|(?P<mend>底|末))?"
    rf"|(?=[{RANGE_LINKS}]+{_MONTH_NUM}月))"
    # 年底 / 年末 / 年内 / 全年 … (also after a year: 2021年年底)
    rf"|{_starts(''.join(w[0] for w in YEAR_END_WORDS))}{_NOT_YEAR_WORD}(?P<ye>{_alternation(YEAR_END_WORDS)})"
    # 上半年 / 下半年 / 年中 (年中 not in 年中央)
    rf"|{_starts('上下年')}{_NOT_YEAR_WORD}(?P<half>上半年|下半年|年中(?![央国华心间期外]))"
    # quarters: 一季度, 第一季度, 一季度末 (not 每一季度)
    rf"|{_starts('第一二三四1234')}(?<![每\d])(?:第)?(?P<q>[一二三四1-4])季度(?P<qe>末|底)?"
    # named holidays: 春节(假期), 国庆节 … (a marker must follow; checked in _hit)
    rf"|{_starts(_HOLIDAY_FIRST)}(?<![\d{_CN}十])(?P<hol>{_alternation(HOLIDAY_WORDS)})"
    rf"(?:{_alternation(HOLIDAY_SUFFIXES)})?"
    # right after a written or relative year (checked in _hit): 2021年底, 2021年内, 今年底, 下一年度末
    rf"|(?<=[年度])(?P<yb>{_alternation(YEAR_END_AFTER_YEAR)})"
    r")"
    # spreadsheet forms: 2021.06.30, 2021/9/30, 2021-09-30, 2020.12
    r"|(?=[12])(?<![\d.])(?P<sy>(?:19|20)\d\d)(?P<sep>[./-])(?P<sm>1[0-2]|0?[1-9])"
    r"(?:(?P=sep)(?P<sd>3[01]|[12]\d|0?[1-9]))?(?!\.?\d)"
)
# Words after a date that say "by then", read in the same match as the date (前后, around, is not one).
# No marker is the start of another, so they are tried as listed, the commonest (前) first.
_MARKER = "|".join(f"{re.escape(word)}(?!后)" if word.endswith("前") else re.escape(word)
                   for word in DEADLINE_MARKERS)

_RECUR = (
    rf"(?P<rlead>每|按)(?:一个?|个)?(?P<rp>{_alternation(EVERY_WORDS)})(?P<rtail>底|末)?(?!月)"
    r"|逐(?P<rstep>月|季度|季)"
    r"|每(?P<rn>[两二三四五六七八九十]|\d{1,2})个?(?:月|季度|周|年|星期)"
    rf"|(?P<reg>{_alternation(REGULAR_WORDS)})"
    # a count per period without 每: 一年一次, 半年一次, 一周一次
    rf"|(?<![\d{_CN}十])一?(?P<rper>半年|年|周|星期)[一两1]次"
)
_RELATIVE = (
    # the count is read whole (possessive): a shorter count would not be the one written
    rf"(?P<n>(?<!\d)\d{{1,3}}+|[{_CN}十百廿]{{1,4}}+)个?"
    rf"(?P<unit>{_alternation(RELATIVE_UNITS)})(?:之内|以内|内)"
)
_MASK = (
    r"[〔［\[【(（](?:19|20)\d\d[〕］\]】)）]\d*号?"
    r"|〔(?:19|20)\d\d\d*号"
    r"|《[^《》]{0,80}》"
)
# The characters each kind of token can start with. Each alternative below is guarded by a lookahead of
# its own, so that the regex engine rejects a position in C without trying the alternative's branches.
_DATE_FIRST = (
    "0123456789" + _CN + "十元年全岁上下第" + "".join(w[0] for w in RELATIVE_YEARS)
    + "".join(w[0] for w in HOLIDAY_WORDS)
)
_FIRST = {
    "date": _DATE_FIRST,
    "mask": "〔［[【(（《",
    "recur": "每按逐定不一半",
    "ongoing": "".join(w[0] for w in ONGOING_WORDS),
    "rel": "0123456789" + _CN + "十百廿",
}


def _guard(kind: str) -> str:
    return _starts(_FIRST[kind])


def _token_start() -> str:
    """Lookaheads for the first two characters of any token: most characters of a sentence fail the
    first (one table lookup), and most of the rest (一 in 统一, 本 in 本部门, 中 in 集中) the second,
    before any branch is tried. Built from the vocabulary, so a new word cannot be missed."""
    numerals = _CN + "十廿百"
    after_numeral = numerals + "月季日天周工年星"
    unit_first = "".join(unit[0] for unit in RELATIVE_UNITS)  # 三个<工>作日内
    any_second = "〔［[【(（《每按第"
    seconds: dict[str, set[str]] = {}
    words = (*RELATIVE_YEARS, *YEAR_END_WORDS, *HALF_YEAR_WORDS, *HOLIDAY_WORDS, *ONGOING_WORDS,
             *REGULAR_WORDS, "元月", "逐月", "逐季", "半年")
    for word in words:
        seconds.setdefault(word[0], set()).add(word[1])
    # No token starts inside a number (every pattern that starts with a digit or a numeral looks behind
    # for one), so the digits and numerals after the first are rejected here too.
    numeral = (f"(?<![{re.escape(numerals)}])[{re.escape(numerals)}]"
               f"(?:[{re.escape(after_numeral)}]|个[{re.escape(unit_first)}])")
    branches = [f"[{re.escape(any_second)}]", r"(?<!\d)\d", numeral]
    branches += [f"{re.escape(first)}[{re.escape(''.join(sorted(after)))}]"
                 for first, after in sorted(seconds.items()) if first not in numerals + any_second]
    assert set(''.join(_FIRST.values())) <= set(any_second + "0123456789" + numerals + ''.join(seconds))
    return f"{_starts(''.join(_FIRST.values()))}(?={'|'.join(branches)})"


def _without_groups(pattern: str) -> str:
    """The pattern with its named groups made non-capturing. The one pass carries only the date's groups
    (each group costs something in every match); the rarer tokens are read again with their own pattern."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


# One pass finds every token in order. The date comes first: no other token starts where a date can,
# except a relative period (5个工作日内), which must not take the day of 9月30日内.
TOKEN = (
    f"{_token_start()}(?:"
    f"{_guard('date')}(?P<date>(?:{_DATE})(?P<mark>{_MARKER})?)"
    f"|{_guard('mask')}(?P<mask>{_MASK})"
    f"|{_guard('recur')}(?P<recur>{_without_groups(_RECUR)})"
    f"|{_guard('ongoing')}(?P<ongoing>{_alternation(ONGOING_WORDS)})"
    f"|{_guard('rel')}(?P<rel>{_without_groups(_RELATIVE)})"
    ")"
)

# A whole cell that is one date: the same groups without the token guards, which a cell does not need.
CELL_DATE_RE = re.compile(f"(?:{_DATE})(?P<mark>{_MARKER})?")


@cache
def _pattern(source: str) -> re.Pattern[str]:
    """A pattern compiled on first use. Compiling them all at import took ~25 ms of every process's start
    (``reminder deadline 年底前``), while a text needs the cell pattern and seldom more."""
    return re.compile(source)
MARKER = _MARKER  # compiled on first use (``_pattern``), as is LEAD_TAIL: ~6 ms of start-up together
ACTION_AFTER_RE = re.compile(rf"(?:{_alternation(ACTION_ADVERBS)})?(?:{_alternation(ACTION_VERBS_AFTER)})")
RANGE_GAP_RE = re.compile(rf"[{RANGE_LINKS}]+")
SENTENCE_RE = re.compile(f"[{SENTENCE_PUNCT}]")
CLAUSE_RE = re.compile(rf"[^{CLAUSE_BREAKS}]+")
CLAUSE_BREAK_RE = re.compile(rf"[{CLAUSE_BREAKS}]")
LEAD_TAIL = rf"(?:{_alternation(LEAD_TAIL_WORDS)}|[{re.escape(_STRIP_CHARS)}])+\Z"

# Patterns compiled on first use (``_pattern``): the day inside a recurrence's period, read right
# after the 每X, …
IN_YEAR = (
    rf"(?P<m>{_MONTH_NUM})月份?(?:(?P<d>{_DAY_NUM})[日号]|(?P<xun>{_alternation(XUN_DAYS)})|(?P<mend>底|末))?"
    rf"|(?P<ye>年底|年末)|第?(?P<q>[一二三四1-4])季度(?:末|底)?|(?P<half>上半年|年中|下半年)"
)
_IN_MONTH_DAY = rf"(?:(?P<d>{_DAY_NUM})[日号]|(?P<xun>{_alternation(XUN_DAYS)})|(?P<mend>底|末))"
IN_MONTH = rf"(?:的)?{_IN_MONTH_DAY}|前(?P<first>{_DAY_NUM})[日天]"
IN_PERIOD = (
    rf"(?P<which>{_alternation(MONTH_IN_PERIOD)})的?{_IN_MONTH_DAY}"
    rf"|(?P<d0>{_DAY_NUM})[日号]|前(?P<first>{_DAY_NUM})[日天]"
)
AFTER_PERIOD = rf"(?:结束)?后(?P<n>{_DAY_NUM})(?:个自然日|个日历日|日|天)(?:之内|以内|内)"
IN_WEEK = r"(?P<wd>[一二三四五六日天1-7])(?![次个遍天日])"
RECUR_COUNT = r"[\d一二两三四五六七八九十]+次"
RECUR_TRIGGER = _alternation(RECUR_TRIGGERS)

# The link before a count, then what may stand between them: 的, one comma, an actor (各单位), 应于 …
# (文件印发后，各单位应于5个工作日内). The actor holds no 后 / 起, so the link found is the last one.
LINK_BEFORE = (
    rf"(?P<link>{_alternation(RELATIVE_LINKS)})的?[，,]?[^{CLAUSE_BREAKS}后起]{{0,{RELATIVE_ACTOR_CHARS}}}?"
    rf"(?:{_alternation(RELATIVE_GAP_WORDS)}){{0,2}}$"
)
PERIOD_EVENT = rf"每(?:{_alternation(EVERY_WORDS)})"
EVENT = rf"[^{CLAUSE_BREAKS}、：:()（）\s{EVENT_STOPS}]*$"

_STRIP = _STRIP_CHARS


# Enum members as plain names: looking a member up on its enum class costs ten times a global lookup,
# and the parser does it for every result.
_EVERY_HALF_YEAR = Every.HALF_YEAR
_EVERY_MONTH = Every.MONTH
_EVERY_QUARTER = Every.QUARTER
_EVERY_UNSPECIFIED = Every.UNSPECIFIED
_EVERY_WEEK = Every.WEEK
_EVERY_YEAR = Every.YEAR
_KIND_FIXED = DeadlineKind.FIXED
_KIND_NONE = DeadlineKind.NONE
_KIND_ONGOING = DeadlineKind.ONGOING
_KIND_RECURRING = DeadlineKind.RECURRING
_KIND_RELATIVE = DeadlineKind.RELATIVE

# Fixed deadlines (nearly every result) are built as the tuple they are, without NamedTuple's
# Python-level __new__: every field is given anyway, and it halves the cost of building the result.
_build = tuple.__new__
assert Deadline._fields == ("text", "kind", "due", "milestones", "every", "offset", "inferred_year", "span")


# =========================================================================================================
# Public functions
# =========================================================================================================


def parse(text: str, plan_year: int, issued: date | None = None) -> Deadline:
    """Read one deadline cell or requirement text; see the module docstring for the rules.

    Never raises for a ``str``: a bug in one phrase must not stop a whole plan from loading, so anything
    unexpected becomes kind ``none`` (which people are shown as "date inferred").
    """
    try:
        return _parse(text, plan_year, issued)
    except Exception:  # noqa: BLE001 - contract: never raise; kind none is reviewed by a person
        if not isinstance(text, str):  # None or a number from a spreadsheet cell: read its text
            return parse("" if text is None else str(text), plan_year, issued)
        return Deadline(text=text, kind=_KIND_NONE)


def looks_like_deadline(text: str) -> bool:
    """True when ``text`` reads as a deadline cell whatever the plan year turns out to be.

    The ingest asks this of a cell before it knows the plan's year (to tell a deadline cell from a
    units cell or a short requirement). Written years are not checked against a plan year, and a
    holiday counts without looking its date up, so the answer costs one ordinary parse. A reading
    without a date (ongoing, or recurring at each period's end) makes a deadline cell only when every
    clause of the cell is mostly such words: 持续推进, 长期坚持，常态化开展 and 每季度报送一次 are deadline
    cells, while 规范政务新媒体管理，开展常态化检查。 and 定期公开财政预决算信息 are requirements with such a
    word in them.
    """
    try:
        result = _parse(text, 2000, None, any_year=True)
        if result.kind is _KIND_NONE:
            return False
        if result.due is not None or result.offset is not None:
            return True
        clauses = CLAUSE_RE.findall(normalize(text, drop_spaces=True))
        return all(_mostly_deadline_words(clause) for clause in clauses if clause.strip(_STRIP))
    except Exception:  # noqa: BLE001 - same contract as parse: an unreadable cell is not a deadline
        return False


def _mostly_deadline_words(clause: str) -> bool:
    """The clause reads as a deadline, and the words that say so are at least half of it."""
    result = _parse(clause, 2000, None, any_year=True)
    if result.kind is _KIND_NONE or result.span is None:
        return False
    return (result.span[1] - result.span[0]) * 2 >= len(clause.strip(_STRIP))


def says_no_deadline(text: str) -> bool:
    """True when the text explicitly means "no deadline" (及时, 按要求, --), as opposed to a
    deadline we could not read; the ingest warns only about the latter."""
    return normalize(text, drop_spaces=True).strip(_STRIP) in NONE_PHRASES


def period_due_dates(deadline: Deadline, year: int) -> tuple[date, ...]:
    """Every period's due day in calendar ``year`` of a recurring deadline with a day inside its period.

    Computed from ``every`` and the anchor ``due`` alone (see ``Deadline``): the month at the anchor's
    place inside each period, on the anchor's day, or that month's last day when it is shorter; for
    weeks, the anchor's weekday. Empty for any other deadline (a plain recurrence is due at each
    period's end, which needs no anchor).
    """
    anchor, every = deadline.due, deadline.every
    if deadline.kind is not _KIND_RECURRING or anchor is None or every is None:
        return ()
    if every is _EVERY_WEEK:
        first = date(year, 1, 1)
        day = first + timedelta(days=(anchor.weekday() - first.weekday()) % 7)
        days = []
        while day.year == year:
            days.append(day)
            day += timedelta(days=7)
        return tuple(days)
    months = PERIOD_MONTHS.get(every)
    if months is None:
        return ()
    place = (anchor.month - 1) % months
    return tuple(_clamped(year, start + place, anchor.day) for start in range(1, 13, months))


# =========================================================================================================
# Algorithm
# =========================================================================================================


class _Hit:
    """One date expression found in the text, before and after its year is resolved.

    A plain class with class-level defaults, not slots: the constructor then sets only what every date
    has, which is measurably cheaper on the hot path (one hit per deadline cell).
    """

    marked = False            # followed by 前 / 之前 / 以内 …
    inherent = False          # its own words mean an end (年底, 月末, 上旬, 季度末)
    vague = False             # 全年 / 年中
    is_range = False
    opens_range = False       # 6 in 6-9月: only a range's start, dropped unless joined to its end
    holiday: str | None = None  # festival key (春节前 …), resolved on the calendar
    due: date | None = None
    inferred = False

    def __init__(self, start: int, core_end: int, year: int | None, year_rel: int | None, month: int,
                 day: int | None):
        self.start = start
        self.end = core_end       # after the marker, if any (set by _hit)
        self.core_end = core_end  # before the marker
        self.year = year          # written year
        self.year_rel = year_rel  # 次年 = 1, 今年 = 0
        self.month = month
        self.day = day            # None = the month's last day


class _Recurrence:
    """A recurrence token with the day inside its period, if written."""

    __slots__ = ("due", "every", "in_period_end", "regular", "span")

    def __init__(self, every: Every, due: date | None, span: tuple[int, int], in_period_end: int, regular: bool):
        self.every = every
        self.due = due
        self.span = span
        self.in_period_end = in_period_end  # tokens starting before this belong to the recurrence
        self.regular = regular              # 定期: only if no named period turns up


def _parse(text: str, plan_year: int, issued: date | None, *, any_year: bool = False) -> Deadline:
    norm, index = normalize_with_optional_map(text, drop_spaces=True)
    if len(norm) <= LONG_TEXT_CHARS:
        # The most common cell is one date and nothing else (2021年9月30日前, 年底前): it needs none of
        # the context rules, so it is read directly. Anything else takes the general path.
        whole = CELL_DATE_RE.fullmatch(norm)
        if whole is not None:
            hit = _hit(whole, _CELL_DATE_GROUPS)
            if (hit is not None and not hit.opens_range
                    and _date_hit(hit, None, plan_year, issued, any_year) is not None):
                span = (hit.start, hit.end) if index is None else _orig(index, (hit.start, hit.end))
                return _build(Deadline, (text, _KIND_FIXED, hit.due, (), None, None, hit.inferred, span))
    long = len(norm) > LONG_TEXT_CHARS or SENTENCE_RE.search(norm) is not None

    hits: list[_Hit] = []
    recurrence: _Recurrence | None = None
    relative: tuple[Offset, tuple[int, int]] | None = None
    ongoing: tuple[int, int] | None = None
    skip_until = 0
    token_re = _pattern(TOKEN)
    date_groups = _date_groups_of_token()
    for m in token_re.finditer(norm):
        if skip_until and m.start() < skip_until:
            continue
        token = m.lastgroup
        if token == "date":
            hit = _hit(m, date_groups)
            if hit is not None:
                if hits and _links_range(norm, hits[-1], hit):
                    hit = _joined_range(hits.pop(), hit)
                if hit is not None:
                    hits.append(hit)
        elif token == "recur":
            found = _recurrence(m, norm, plan_year, issued)
            skip_until = found.in_period_end
            if recurrence is None or (recurrence.regular and not found.regular):
                recurrence = found
        elif token == "rel" and relative is None:
            relative = _relative(m, norm, long)
        elif token == "ongoing" and ongoing is None and _is_ongoing(m, norm, long):
            ongoing = m.span()

    if hits:
        hits = _deadlines(hits, norm, long, plan_year, issued, any_year)
        if hits:
            return _fixed(text, norm, index, hits)
    if relative:
        offset, span = relative
        return Deadline(text=text, kind=_KIND_RELATIVE, offset=offset, span=_orig(index, span))
    if recurrence:
        return Deadline(text=text, kind=_KIND_RECURRING, every=recurrence.every, due=recurrence.due,
                        inferred_year=recurrence.due is not None, span=_orig(index, recurrence.span))
    if ongoing:
        return Deadline(text=text, kind=_KIND_ONGOING, span=_orig(index, ongoing))
    if long:
        return Deadline(text=text, kind=_KIND_NONE)
    return _short_cell(text, norm, index, plan_year, any_year)


def _short_cell(text: str, norm: str, index: list[int] | None, plan_year: int, any_year: bool) -> Deadline:
    """Whole-cell forms that only make sense in a deadline column: 9.30前, 2021年度, 本年度."""
    cell = norm.strip(_STRIP)
    if not cell:
        return Deadline(text=text, kind=_KIND_NONE)
    at = norm.find(cell)
    span = _orig(index, (at, at + len(cell)))
    found = MONTH_DAY_CELL.match(cell)
    if found:
        due = _make_date(plan_year, int(found.group(1)), int(found.group(2)))
        if due is not None:
            return Deadline(text=text, kind=_KIND_FIXED, due=due, inferred_year=True, span=span)
    found = YEAR_CELL.match(cell)
    if found and (any_year or YEAR_WINDOW[0] <= int(found.group(1)) - plan_year <= YEAR_WINDOW[1]):
        return Deadline(text=text, kind=_KIND_FIXED, due=date(int(found.group(1)), 12, 31), span=span)
    if cell in RELATIVE_YEARS:  # 本年度, 次年: within that year, like 2021年度
        due = date(plan_year + RELATIVE_YEARS[cell], 12, 31)
        return Deadline(text=text, kind=_KIND_FIXED, due=due, inferred_year=True, span=span)
    return Deadline(text=text, kind=_KIND_NONE)


def _orig(index: list[int] | None, span: tuple[int, int]) -> tuple[int, int]:
    """Map a [start, end) span of the normalised text back onto the original text."""
    if index is None:
        return span
    return index[span[0]], index[span[1] - 1] + 1


# ---- fixed dates ----------------------------------------------------------------------------------------


def _links_range(norm: str, first: _Hit, second: _Hit) -> bool:
    """True when ``first`` is the start of a range ending at ``second`` (2021年6月1日至9月30日)."""
    gap = second.start - first.core_end
    if first.marked or not 0 < gap <= RANGE_GAP_MAX or first.holiday or second.holiday:
        return False
    return RANGE_GAP_RE.fullmatch(norm, first.core_end, second.start) is not None


def _joined_range(start: _Hit, end: _Hit) -> _Hit | None:
    """``end`` made to stand for the whole range; None for a range that runs backwards (9月至6月)."""
    if end.year is None and end.year_rel is None:
        if (end.month, end.day or LAST_DAY) <= (start.month, start.day or 0):
            return None
        end.year, end.year_rel = start.year, start.year_rel
    end.start, end.is_range = start.start, True
    return end


# The date's groups, in pattern order: they are numbered one after another inside the "date" group, so
# one slice of ``Match.groups()`` gives them all (a lookup per group by name costs more than the rest
# of reading a date). Checked here, so that a change to the pattern cannot shift them unnoticed.
_DATE_GROUP_NAMES = ("y", "yrel", "m", "mk", "d", "d2", "xun", "mend", "ye", "half", "q", "qe", "hol", "yb",
                     "sy", "sep", "sm", "sd", "mark")
_CELL_DATE_GROUPS = slice(0, len(_DATE_GROUP_NAMES))


@cache
def _date_groups_of_token() -> slice:
    return _date_groups(_pattern(TOKEN))


def _date_groups(pattern: re.Pattern[str]) -> slice:
    """Where the date's groups sit in ``Match.groups()`` of ``pattern``, checked against the names."""
    assert tuple(sorted(_DATE_GROUP_NAMES, key=pattern.groupindex.__getitem__)) == _DATE_GROUP_NAMES
    return slice(pattern.groupindex["y"] - 1, pattern.groupindex["mark"])


assert _date_groups(CELL_DATE_RE) == _CELL_DATE_GROUPS


def _hit(m: re.Match[str], groups: slice) -> _Hit | None:
    """Turn one date token into a ``_Hit``; None when it is not a usable date (4月15日至1日, 春节 alone …).

    ``groups`` is where the date's groups sit in ``m.groups()`` (of TOKEN or CELL_DATE_RE).
    """
    y, yrel, mo, mk, d, d2, xun, mend, ye, half, q, qe, hol, yb, sy, _, sm, sd, mark = m.groups()[groups]
    start, end = m.span()
    core_end = end - len(mark) if mark else end
    if sy:
        hit = _Hit(start, core_end, int(sy), None, int(sm), int(sd) if sd else None)
    elif mo and mk and not xun:  # the commonest: [year] month [day] (2021年9月30日, 9月底)
        year = None if not y else int(y) if y.isdigit() else cn_to_int(y)
        hit = _Hit(start, core_end, year, RELATIVE_YEARS[yrel] if yrel else None, _SMALL_NUMBERS[mo],
                   _SMALL_NUMBERS[d] if d else None)
        if d2:
            if _SMALL_NUMBERS[d2] <= hit.day:  # type: ignore[operator]  # d2 only follows a day
                return None  # 4月15日至1日 is not a range we can read
            hit.day, hit.is_range = _SMALL_NUMBERS[d2], True
        elif mend:
            hit.inherent = True
    else:
        year = None if not y else int(y) if y.isdigit() else cn_to_int(y)
        hit = _Hit(start, core_end, year, RELATIVE_YEARS[yrel] if yrel else None, 12, None)
        if mo:
            hit.month = _SMALL_NUMBERS[mo]
            if not mk:
                hit.opens_range = True
            else:  # 上旬 / 中旬 / 下旬
                day = XUN_DAYS[xun]
                hit.day, hit.inherent = (None if day == LAST_DAY else day), True
        elif ye or yb:
            if yb and not (y or yrel):
                return None  # 底 / 内 after a 年 that is not a year
            hit.vague = ye in VAGUE_WORDS
            hit.inherent = not hit.vague
        elif half:
            hit.month, hit.vague = HALF_YEAR_WORDS[half], half in VAGUE_WORDS
        elif q:
            hit.month, hit.inherent = _SMALL_NUMBERS[q] * 3, bool(qe)
        elif mark:
            hit.holiday, hit.month = HOLIDAY_WORDS[hol], 1
        else:
            return None  # 春节期间, 国庆节后: a holiday is a deadline only with 前
    if mark:
        hit.marked, hit.end = True, end
    return hit


def _small_number(s: str) -> int:
    """Month, day, quarter or count written in digits or Chinese (元月 = 1)."""
    number = _SMALL_NUMBERS.get(s)
    return number if number is not None else cn_to_int(s)


def _small_numbers() -> dict[str, int]:
    """Every way the patterns let a month, day or quarter through (9, 09, 九, 廿一, 元), read once."""
    ones = "一二三四五六七八九"
    numbers = {"元": 1, "十": 10, "二十": 20, "廿": 20, "三十": 30}
    for n in range(1, 32):
        numbers[str(n)] = numbers[f"{n:02d}"] = n
    for i, one in enumerate(ones, start=1):
        numbers[one] = i
        numbers["十" + one], numbers["二十" + one], numbers["廿" + one] = 10 + i, 20 + i, 20 + i
    numbers["三十一"] = 31
    return numbers


_SMALL_NUMBERS = _small_numbers()


def _is_deadline(hit: _Hit, norm: str, long: bool) -> bool:
    """Does the context make this date a deadline? (The rules are in the module docstring.)"""
    marked = hit.marked
    if not marked:
        after = norm[hit.end:hit.end + 4]
        if after.startswith(NOT_DEADLINE_AFTER):
            return False
        if hit.day is not None and after.startswith(EVENT_VERBS_AFTER):
            return False
    if not long:
        return True
    start = hit.start
    before = norm[start - 4 if start > 4 else 0:start]
    if before.endswith(STATUS_BEFORE):
        return False
    if marked or before.endswith(UNTIL_BEFORE):
        return True
    if hit.vague:
        return False
    if ACTION_AFTER_RE.match(norm, hit.end) is not None:
        return True
    if hit.is_range:
        return not after.startswith(NOT_SCHEDULE_AFTER)
    if hit.inherent:
        return True
    return (not after or after[0] in CLAUSE_BREAKS) and (not before or before[-1] in CLAUSE_BREAKS + "：:")


def _deadlines(hits: list[_Hit], norm: str, long: bool, plan_year: int, issued: date | None,
               any_year: bool) -> list[_Hit]:
    """The hits that are deadlines of this plan, dated: the context decides (``_is_deadline``), and a
    year not written is inherited from an earlier written one (2021年6月30日前…，12月底前…)."""
    context: tuple[int, bool] | None = None
    kept: list[_Hit] = []
    for hit in hits:
        if hit.opens_range or not _is_deadline(hit, norm, long):
            continue
        year = _date_hit(hit, context, plan_year, issued, any_year)
        if year is None:
            continue
        if hit.year is not None or hit.year_rel is not None:
            context = (year, hit.inferred)
        kept.append(hit)
    return kept


def _date_hit(hit: _Hit, context: tuple[int, bool] | None, plan_year: int, issued: date | None,
              any_year: bool) -> int | None:
    """Set the hit's due date and ``inferred``; return the year used, or None when the hit is not a
    deadline of this plan (a year far from the plan's, 2月30日, a holiday the calendar does not know)."""
    year = hit.year
    if year is not None:
        if not any_year and not plan_year + YEAR_WINDOW[0] <= year <= plan_year + YEAR_WINDOW[1]:
            return None
        inferred = False
    elif hit.year_rel is not None:
        year, inferred = plan_year + hit.year_rel, True
    else:
        year, inferred = context or (plan_year, True)
    if hit.holiday is None:  # the year is the plan's, near it (relative) or checked above
        try:
            hit.due = date(year, hit.month, hit.day or _month_length(year, hit.month))
        except ValueError:
            return None  # 2月30日: not a date, skipped rather than repaired
    elif any_year:
        hit.due = date(year, 12, 31)  # a holiday is a deadline; which day does not matter here
    else:
        due = _holiday_due(hit.holiday, year, written=hit.year is not None, plan_year=plan_year, issued=issued)
        if due is None or not plan_year + YEAR_WINDOW[0] <= due.year <= plan_year + YEAR_WINDOW[1]:
            return None
        hit.due = due
    hit.inferred = inferred
    return year


def _make_date(year: int, month: int, day: int | None) -> date | None:
    """The date, with ``day=None`` meaning the month's last day; None if it does not exist (2月30日)."""
    last = _month_length(year, month) if month == 2 else _MONTH_DAYS[month]
    if day is None:
        return date(year, month, last)
    return date(year, month, day) if day <= last else None


def _fixed(text: str, norm: str, index: list[int] | None, hits: list[_Hit]) -> Deadline:
    """Build the fixed deadline: due = latest date, milestones with what each date asks for."""
    first = hits[0]
    if len(hits) == 1:
        clause = CLAUSE_RE.match(norm, first.end)
        what = clause.group().strip(_STRIP) if clause else ""
        single: tuple[Milestone, ...] = (_build(Milestone, (first.due, what)),) if what else ()
        return _build(Deadline, (text, _KIND_FIXED, first.due, single, None, None, first.inferred,
                                 _orig(index, (first.start, first.end))))
    milestones = tuple(_build(Milestone, (hit.due, what)) for hit, what in zip(hits, _milestone_words(norm, hits)))
    return Deadline(
        text, _KIND_FIXED, max(m.due for m in milestones), milestones,
        inferred_year=any(h.inferred for h in hits), span=_orig(index, (first.start, hits[-1].end)),
    )


def _milestone_words(norm: str, hits: list[_Hit]) -> list[str]:
    """What each of several dates asks for: the words of its clause before it (the actor: <市财政局>6月底前,
    <制定方案：>2021年6月底前) and after it up to the next clause break (…前<完成预算公开>，).

    When the next date stands in the same clause, the words between go to this date, except those after
    the last 、, which lead the next one (县发改局于8月31日前、<县住建局于>10月31日前). The clause breaks are
    found once and looked up by bisection, so a text with thousands of dates stays linear.
    """
    breaks = [m.start() for m in CLAUSE_BREAK_RE.finditer(norm)]
    first = bisect_left(breaks, hits[0].start)
    leads = [norm[breaks[first - 1] + 1 if first else 0:hits[0].start]] + [""] * (len(hits) - 1)
    afters = [""] * len(hits)
    for i, hit in enumerate(hits):
        stop = hits[i + 1].start if i + 1 < len(hits) else len(norm)
        after = bisect_left(breaks, hit.end)
        clause_end = breaks[after] if after < len(breaks) else len(norm)
        if i + 1 < len(hits) and clause_end >= stop:  # the next date stands in the same clause
            between = norm[hit.end:stop]
            cut = between.rfind("、")
            afters[i] = _without_lead_tail(between[:cut] if cut >= 0 else between)
            leads[i + 1] = between[cut + 1:] if cut >= 0 else ""
        else:
            afters[i] = norm[hit.end:clause_end].strip(_STRIP)
            if i + 1 < len(hits):  # from the last break before the next date
                leads[i + 1] = norm[breaks[bisect_left(breaks, stop) - 1] + 1:stop]
    return [_without_lead_tail(lead) + after for lead, after in zip(leads, afters)]


def _without_lead_tail(words: str) -> str:
    """The words without the run of 于 / 要 / 确保 … (and separators) they end with, looked for only
    near the end, so a long lead-in costs no more than a short one."""
    words = words.strip(_STRIP)
    tail = _pattern(LEAD_TAIL).search(words, max(0, len(words) - LEAD_TAIL_WINDOW))
    return words[:tail.start()].strip(_STRIP) if tail else words


# ---- named holidays ------------------------------------------------------------------------------------


@cache
def _calendar() -> Calendar:
    """The statutory calendar, built on first use only: plain dates never need it."""
    from reminder.workdays import Calendar

    return Calendar()


def _holiday_due(holiday: str, year: int, *, written: bool, plan_year: int, issued: date | None) -> date | None:
    """The last working day before the holiday (see "Named holidays" in the module docstring)."""
    if holiday == "new_year" and not written:
        year += 1  # the New Year's Day that closes the year
    due = _working_day_before(holiday, year)
    if (due is not None and not written and issued is not None and year == plan_year
            and date(plan_year, 1, 1) < issued <= date(plan_year, 12, 31) and due < issued):
        due = _working_day_before(holiday, year + 1)  # already behind the plan when it was issued
    return due


@cache
def _working_day_before(holiday: str, year: int) -> date | None:
    """The last working day before the holiday (a festival key, or 元宵 / 七一) in ``year``."""
    from reminder.workdays import festival_day

    if holiday == "july_first":
        day: date | None = date(year, 7, 1)
    elif holiday == "lantern":
        spring = festival_day("spring_festival", year)
        day = spring + timedelta(days=LANTERN_AFTER_SPRING_FESTIVAL) if spring else None
    else:
        day = festival_day(holiday, year)
    return _calendar().previous_workday(day, include_today=False) if day else None


# ---- recurring -----------------------------------------------------------------------------------------


def _recurrence(m: re.Match[str], norm: str, plan_year: int, issued: date | None) -> _Recurrence:
    """Read a recurrence token: its period, the day inside the period if written, and its span."""
    m = _pattern(_RECUR).match(norm, m.start())  # type: ignore[assignment]  # the token matched, so this does
    period, tail, step, per, regular = m.group("rp", "rtail", "rstep", "rper", "reg")
    if period:
        every = EVERY_WORDS[period]
    elif step or per:
        every = EVERY_WORDS[step or per]
    else:
        every = _EVERY_UNSPECIFIED
    place, end = _in_period_day(norm, m.end(), every, tail)
    trigger = _trigger_end(norm, end)
    due = _anchor_date(every, place, plan_year, issued) if place else None
    return _Recurrence(every, due, (m.start(), max(end, trigger or 0)), end, regular is not None)


def _in_period_day(norm: str, start: int, every: Every, tail: str | None) -> tuple[tuple[int, int] | None, int]:
    """The day inside each period, if written: ((month within the period, day), end of the words).

    Month within the period counts from 0; for weeks it is the weekday. Day 31 means the last day.
    """
    if tail:
        if every is _EVERY_YEAR:
            return (11, LAST_DAY), start
        if every is _EVERY_MONTH:
            return (0, LAST_DAY), start
        return None, start  # 每季度末: the period's end, which needs no anchor
    place: tuple[int, int] | None = None
    found: re.Match[str] | None = None
    if every is _EVERY_WEEK:
        found = _pattern(IN_WEEK).match(norm, start)
        if found:
            place = (WEEKDAYS[found.group("wd")], 0)
    elif every is _EVERY_YEAR:
        found = _pattern(IN_YEAR).match(norm, start)
        if found:
            place = _in_year(found)
    elif every is _EVERY_MONTH:
        found = _pattern(IN_MONTH).match(norm, start)
        if found:
            place = (0, _in_month_day(found))
    elif every in (_EVERY_QUARTER, _EVERY_HALF_YEAR):
        found = _pattern(IN_PERIOD).match(norm, start)
        if found:
            place = _in_longer_period(found, PERIOD_MONTHS[every])
    if found is None and every in PERIOD_MONTHS:
        found = _pattern(AFTER_PERIOD).match(norm, start)  # 每季度结束后15日内: in the next period's first month
        if found:
            place = (0, _small_number(found.group("n")))
    if found is None or place is None:
        return None, start
    marker = _pattern(MARKER).match(norm, found.end())
    return place, marker.end() if marker else found.end()


def _in_year(found: re.Match[str]) -> tuple[int, int]:
    """每年<3月底> / <1月31日> / <年底> / <一季度> / <上半年> -> (month - 1, day)."""
    if found.group("ye"):
        return 11, LAST_DAY
    if found.group("q"):
        return _small_number(found.group("q")) * 3 - 1, LAST_DAY
    if found.group("half"):
        return HALF_YEAR_WORDS[found.group("half")] - 1, LAST_DAY
    month = _small_number(found.group("m"))
    return month - 1, _in_month_day(found)


def _in_month_day(found: re.Match[str]) -> int:
    """The day of the month a match names: N日, 上旬/中旬/下旬, 底/末 (31 = the last day), 前N日."""
    groups = found.groupdict()
    if groups.get("d"):
        return _small_number(groups["d"])
    if groups.get("first"):
        return _small_number(groups["first"])
    if groups.get("xun"):
        return XUN_DAYS[groups["xun"]]
    return LAST_DAY  # 底 / 末, or a bare month in a year (每年3月)


def _in_longer_period(found: re.Match[str], months: int) -> tuple[int, int]:
    """每季度<首月15日> / <末月25日> / <10日> (first month) / <前10日> -> (month within the period, day)."""
    which = found.group("which")
    if which:
        place = MONTH_IN_PERIOD[which] % months
        return place, _in_month_day(found)
    return 0, _small_number(found.group("d0") or found.group("first"))


def _trigger_end(norm: str, start: int) -> int | None:
    """End of the recurrence trigger within the window and the same clause: a count (1次) if there is
    one, so the span reads 每年至少听取1次, else the first trigger word (至少, 召开 …)."""
    window = CLAUSE_RE.match(norm, start, start + RECUR_TRIGGER_WINDOW)
    if not window:
        return None
    count = _pattern(RECUR_COUNT).search(window.group()) or _pattern(RECUR_TRIGGER).search(window.group())
    return start + count.end() if count else None


def _anchor_date(every: Every, place: tuple[int, int], plan_year: int, issued: date | None) -> date | None:
    """The series anchor: the first in-period day on or after the reference day (``issued`` within the
    plan year, else 1 January) in a period whose month holds the day exactly as written (see ``Deadline``)."""
    ref = date(plan_year, 1, 1)
    if issued is not None and ref < issued <= date(plan_year, 12, 31):
        ref = issued
    month_in_period, day = place
    if every is _EVERY_WEEK:
        return ref + timedelta(days=(month_in_period - ref.weekday()) % 7)
    months = PERIOD_MONTHS[every]
    year, start = ref.year, (ref.month - 1) // months * months + 1
    fallback: date | None = None
    for _ in range(12 // months + 2):  # at most a year and a period ahead
        month = start + month_in_period
        candidate = _clamped(year, month, day)
        if candidate >= ref:
            if candidate.day == day:
                return candidate
            fallback = fallback or candidate
        year, start = (year + 1, 1) if start + months > 12 else (year, start + months)
    return fallback  # the day never exists in that month (每年2月底 -> 28 or 29 February)


def _clamped(year: int, month: int, day: int) -> date:
    """The day in that month, moved back to the last day when the month is shorter (每月31日 in June)."""
    return date(year, month, min(day, _month_length(year, month)))


# Days of each month outside February (index = month).
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_length(year: int, month: int) -> int:
    """Days in the month; ``calendar.monthrange`` also computes a weekday we do not need."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return _MONTH_DAYS[month]


# ---- relative ------------------------------------------------------------------------------------------


def _relative(m: re.Match[str], norm: str, long: bool) -> tuple[Offset, tuple[int, int]] | None:
    """``<event>后[，应于] N 个工作日内``; without its event only in a short cell (after = "")."""
    m = _pattern(_RELATIVE).match(norm, m.start())  # type: ignore[assignment]  # the token matched, so this does
    n = _small_number(m.group("n"))
    if n <= 0:
        return None
    start = m.start()
    event, event_start = "", start
    link = _pattern(LINK_BEFORE).search(norm, max(0, start - LINK_WINDOW), start)
    if link:
        event, event_start = _event_before(norm, link.start())
        if not event:
            event_start = start
    if (long and not event) or _pattern(PERIOD_EVENT).match(event):
        return None  # no event in a sentence; 每季度结束后10个工作日内 is a recurrence, not an event
    unit, factor = RELATIVE_UNITS[m.group("unit")]
    return Offset(n * factor, unit, event), (event_start, m.end())


def _event_before(norm: str, link_start: int) -> tuple[str, int]:
    """The event phrase before 后 / 之日起, back to a clause break or a preposition (在, 自, 从, 于)."""
    lo = max(0, link_start - EVENT_MAX_CHARS)
    m = _pattern(EVENT).search(norm, lo, link_start)
    if not m or not m.group():
        return "", link_start
    return m.group(), m.start()


# ---- ongoing -------------------------------------------------------------------------------------------


def _is_ongoing(m: re.Match[str], norm: str, long: bool) -> bool:
    """Is this ongoing word what it says (see the module docstring)? In a short cell a word that ends
    the cell or its clause (长期, 日常, 持续推进。) always is; otherwise the word must be used as in a
    sentence (长期坚持…, not 长期护理保险)."""
    word, end = m.group(), m.end()
    if not long and (end == len(norm) or norm[end] in _STRIP):
        return True
    if word in ONGOING_ONLY_IN_CELLS:
        return False
    if word == "持续":
        return not norm.startswith(NOT_ONGOING_AFTER_CONTINUOUS, end)
    if word == "长期":
        return norm.startswith(ONGOING_AFTER_LONG_TERM, end)
    if word == "日常":
        return norm.startswith(ONGOING_AFTER_DAILY, end)
    if word.startswith("常态化"):
        return not norm.startswith(NOT_ONGOING_NORMALISED, end) and not norm.endswith("疫情防控", 0, m.start())
    return True
