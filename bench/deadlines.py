"""Benchmark: reminder.deadline.parse against dateparser on a generated corpus of deadline phrases.

Run:  python bench/deadlines.py [--repeat N]

The corpus is generated from templates x dates x numeral styles, each phrase with its expected kind and
due date known at generation time: short deadline cells (fixed, ongoing, recurring, relative, none) and
whole requirement sentences with a deadline inside or with dates that are not deadlines. For each parser it
prints CPU microseconds per phrase and the share of phrases read right.

- ours is right when kind and due match;
- dateparser knows no kinds, so on fixed phrases it is right when it returns a datetime on the expected
  date, and on the others when it returns None (it claims no date). It is given its best chance:
  RELATIVE_BASE = 1 January of the plan year (so year-less dates land in the plan year, not this year) and
  PREFER_DAY_OF_MONTH = last (so 9月 reads as 30 September).
"""

from __future__ import annotations

import argparse
import calendar
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reminder.deadline import parse  # noqa: E402

PLAN_YEAR = 2021
CN = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Case:
    text: str
    kind: str
    due: date | None
    group: str  # "short" or "long"


def cn_year(y: int) -> str:
    return "".join(CN[int(c)] for c in str(y))


def cn_small(n: int) -> str:
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else CN[tens] + "十")) + (CN[ones] if ones else "")


def full_width(s: str) -> str:
    return s.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})


def last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


# --- fixed short cells: (template builder, due) ----------------------------------------------------------


def fixed_cells(y: int, m: int, d: int) -> list[tuple[str, date]]:
    """Every way a plan writes one date in a deadline cell."""
    full = date(y, m, d)
    month_end = last_day(y, m)
    q = (m - 1) // 3 + 1
    cells = [
        (f"{y}年{m}月{d}日前", full),
        (f"{y}年{m}月{d}日", full),
        (f"{y}年{m}月{d}日之前", full),
        (f"{cn_year(y)}年{cn_small(m)}月{cn_small(d)}日前", full),
        (full_width(f"{y}年{m}月{d}日前"), full),
        (f"{y} 年 {m} 月 {d} 日前", full),
        (f"{y}.{m:02d}.{d:02d}", full),
        (f"{y}/{m}/{d}", full),
        (f"{y}-{m:02d}-{d:02d}", full),
        (f"{y}年{m}月底前", month_end),
        (f"{y}年{m}月", month_end),
        (f"{y}.{m:02d}", month_end),
        (f"{cn_year(y)}年{cn_small(m)}月底", month_end),
        (f"{y}年第{cn_small(q)}季度", last_day(y, q * 3)),
    ]
    if y == PLAN_YEAR:
        cells += [
            (f"{m}月{d}日前", full),
            (f"{m}月底前", month_end),
            (f"{cn_small(m)}月底前", month_end),
            (f"{m} 月底前", month_end),
            (f"{m}月份", month_end),
        ]
    if y == PLAN_YEAR + 1:
        cells += [(f"次年{m}月", month_end), (f"明年{m}月底前", month_end)]
    return cells


YEAR_WORDS = [
    ("年底前", (12, 31)), ("年内", (12, 31)), ("年末", (12, 31)), ("全年", (12, 31)),
    ("上半年", (6, 30)), ("年中", (6, 30)), ("下半年", (12, 31)), ("下半年启动", (12, 31)),
    ("一季度", (3, 31)), ("第二季度", (6, 30)), ("三季度末", (9, 30)), ("第四季度", (12, 31)),
    ("9月上旬", (9, 10)), ("9月中旬", (9, 20)), ("9月下旬", (9, 30)), ("6月至9月", (9, 30)),
    ("持续推进，年底前完成阶段性任务", (12, 31)), ("6月底前……压缩至90个工作日以内", (6, 30)),
    ("2021年6月30日前制定工作方案，12月底前完成", (12, 31)), ("2021年6月30日前制定工作方案", (6, 30)),
    ("截至2021年9月30日", (9, 30)), ("2021年6月—12月", (12, 31)),
]

ONGOING = ["持续推进", "长期坚持", "常态化", "持续开展", "长期", "日常", "持续推進", "長期堅持", "常态化推进"]
RECURRING = ["每年至少1次", "每季度", "每月", "每半年", "每周", "定期", "按月", "按季度", "每年1月31日前", "每月28日前",
             "每季度报送", "每年至少召开一次"]
RELATIVE = ["印发后3个工作日内", "收到申请之日起20个工作日内", "印发后{n}个工作日内", "收到申请之日起{n}个工作日内",
            "收到通知后{n}日内", "方案印发后{n}个月内"]
NONE = ["--", "—", "及时", "立即", "按要求", "当场", "", "无", "当场办结", "2021年以来", "自2022年1月1日起施行"]

# --- long requirement sentences ---------------------------------------------------------------------------

LEADS = [
    "推进部门规范性文件统一公开",
    "各单位要结合实际制定年度工作方案",
    "全面完成村（居）民委员会公开事项清单梳理工作",
    "落实《国务院办公厅关于进一步优化地方政务服务便民热线的指导意见》（国办发〔2020〕53号）要求",
    "建立本地区、本系统2021年政务公开工作重点任务台账",
    "按照国办公开办函〔2019〕60号文件要求规范年报格式",
]
TAILS = [
    "通过政府网站政府信息公开专栏集中公开本部门现行有效规范性文件，并实现动态更新调整。",
    "报区政务公开办备案，并及时在政府网站公开。",
    "完成历史公报数字化工作。",
    "实现政务服务便民热线一个号码服务。",
]
LONG_NOT_DEADLINE = [
    "建立本地区、本系统2021年政务公开工作重点任务台账，提出具体工作措施，明确具体分工。",
    "将2022年政务公开工作要点落实情况作为政务公开考核的重要内容，确保各项任务落实到位。",
    "2020年以来，全区政务公开工作取得明显成效，公开质量进一步提升。",
    "截至目前已完成政府信息公开目录编制，正在开展动态调整。",
    "《政府信息公开条例》自2019年5月15日起施行，各单位要认真贯彻执行。",
    "持续深化地方政府债务信息公开，通过集中统一平台定期公开地方政府债务限额、余额等信息。",
    "做好常态化疫情防控信息公开，扎实做好疫苗接种信息公开和舆论引导工作。",
]
LONG_RECURRING = [
    "各镇（街、园区）、区直各单位主要负责同志每年至少听取1次政务公开工作汇报，专题研究部署政务公开工作。",
    "各级政务公开领导小组每年至少召开一次会议，及时研究解决政务公开重点难点问题。",
    "各单位要每季度报送一次政务公开工作进展情况，确保工作落实到位。",
]


def build_corpus(seed: int = 7) -> list[Case]:
    """At least 1,000 distinct phrases with their expected readings."""
    rng = random.Random(seed)
    cases: dict[str, Case] = {}

    def add(text: str, kind: str, due: date | None, group: str) -> None:
        cases.setdefault(text, Case(text, kind, due, group))

    dates = [date(y, m, d) for y in (PLAN_YEAR, PLAN_YEAR + 1) for m in range(1, 13) for d in (10, 15, 20, 28, 30, 31)
             if d <= calendar.monthrange(y, m)[1]]
    for day in dates:
        for text, due in fixed_cells(day.year, day.month, day.day):
            add(text, "fixed", due, "short")
    for word, (m, d) in YEAR_WORDS:
        add(word, "fixed", date(PLAN_YEAR, m, d), "short")
    for word in ONGOING:
        add(word, "ongoing", None, "short")
    for word in RECURRING:
        due = None
        if word == "每年1月31日前":
            due = date(PLAN_YEAR, 1, 31)
        elif word == "每月28日前":
            due = date(PLAN_YEAR, 1, 28)
        add(word, "recurring", due, "short")
    for template in RELATIVE:
        for n in (3, 5, 7, 10, 15, 20, 30):
            add(template.format(n=n), "relative", None, "short")
    for word in NONE:
        add(word, "none", None, "short")
    # long sentences: lead，<date>前 tail
    for day in rng.sample(dates, 60):
        y, m, d = day.year, day.month, day.day
        forms = [
            (f"{y}年{m}月{d}日前", day),
            (f"{y}年{m}月底前", last_day(y, m)),
            (f"{cn_year(y)}年{cn_small(m)}月{cn_small(d)}日前", day),
            (full_width(f"{y}年{m}月{d}日前"), day),
        ]
        for lead in rng.sample(LEADS, 2):
            for form, due in forms:
                add(f"{lead}，{form}{rng.choice(TAILS)}", "fixed", due, "long")
    for lead in LEADS:
        for tail in TAILS:
            add(f"{lead}，年底前{tail}", "fixed", date(PLAN_YEAR, 12, 31), "long")
            add(f"{lead}，{tail}", "none", None, "long")
    for text in LONG_NOT_DEADLINE:
        add(text, "none", None, "long")
    for text in LONG_RECURRING:
        add(text, "recurring", None, "long")
    return list(cases.values())


def time_ours(corpus: list[Case], repeat: int) -> tuple[float, int, list[Case]]:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        results = [parse(case.text, PLAN_YEAR) for case in corpus]
        best = min(best, time.process_time() - started)
    wrong = [c for c, r in zip(corpus, results) if (str(r.kind), r.due) != (c.kind, c.due)]
    return best / len(corpus) * 1e6, len(corpus) - len(wrong), wrong


def time_dateparser(corpus: list[Case]) -> tuple[float, int, int, int] | None:
    try:
        import dateparser
    except ImportError:
        return None
    settings = {"RELATIVE_BASE": datetime(PLAN_YEAR, 1, 1), "PREFER_DAY_OF_MONTH": "last"}
    dateparser.parse("2021年9月30日", languages=["zh"], settings=settings)  # warm its caches
    started = time.process_time()
    results = [dateparser.parse(case.text, languages=["zh"], settings=settings) for case in corpus]
    elapsed = time.process_time() - started
    right = right_fixed = 0
    n_fixed = sum(1 for c in corpus if c.kind == "fixed")
    for case, got in zip(corpus, results):
        if case.kind == "fixed":
            ok = got is not None and got.date() == case.due
            right_fixed += ok
        else:
            ok = got is None
        right += ok
    return elapsed / len(corpus) * 1e6, right, right_fixed, n_fixed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing runs for ours; the best is kept")
    parser.add_argument("--show-wrong", action="store_true", help="list phrases ours reads wrong")
    args = parser.parse_args()

    corpus = build_corpus()
    n = len(corpus)
    n_short = sum(c.group == "short" for c in corpus)
    n_fixed = sum(c.kind == "fixed" for c in corpus)
    print(f"corpus: {n} distinct phrases ({n_short} short cells, {n - n_short} requirement sentences; "
          f"{n_fixed} fixed, {n - n_fixed} ongoing/recurring/relative/none); plan year {PLAN_YEAR}")

    us, right, wrong = time_ours(corpus, args.repeat)
    short = [c for c in corpus if c.group == "short"]
    us_short, _, _ = time_ours(short, args.repeat)
    long_ = [c for c in corpus if c.group == "long"]
    us_long, _, _ = time_ours(long_, args.repeat)
    fixed_right = sum(1 for c in corpus if c.kind == "fixed") - sum(1 for c in wrong if c.kind == "fixed")
    print(f"reminder.deadline.parse : {us:8.1f} µs/phrase (short {us_short:.1f}, long {us_long:.1f}); "
          f"right {right}/{n} = {right / n:.1%}; fixed right {fixed_right}/{n_fixed} = {fixed_right / n_fixed:.1%}")
    if args.show_wrong:
        for case in wrong:
            print("   wrong:", case)

    dp = time_dateparser(corpus)
    if dp is None:
        print("dateparser              : not installed; skipped (pip install dateparser)")
        return 0
    dp_us, dp_right, dp_fixed_right, _ = dp
    print(f"dateparser.parse (zh)   : {dp_us:8.1f} µs/phrase; right {dp_right}/{n} = {dp_right / n:.1%}; "
          f"fixed right {dp_fixed_right}/{n_fixed} = {dp_fixed_right / n_fixed:.1%}")
    print(f"speed ratio             : reminder is {dp_us / us:.0f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
