"""Benchmark: reminder.deadline.parse against dateparser, on the same phrases, measured the same way.

Run:  python bench/deadlines.py [--repeat N] [--startup-runs N] [--show-wrong]

It prints four things:

1. Speed, on a generated corpus of distinct phrases (templates x dates x numeral styles: short deadline
   cells of every kind and whole requirement sentences, with the expected kind and due date of each known
   when it is generated). Both parsers get the same phrases and the same treatment: one warm-up pass,
   then --repeat timed passes each, taken in turn (CPU time); the best pass counts. Each one's share
   right is printed beside its speed.
2. Accuracy on a hand-written set (bench/deadline_phrases.tsv): phrases in the wording real plans use,
   written apart from the parser's vocabulary tables, with the answer a careful person gives. This, not
   the generated corpus (whose phrases come from templates that know the vocabulary), is the accuracy
   figure to quote.
3. Two 40 KB requirement texts full of dates: milliseconds per parse (best of --repeat), to show there
   is no quadratic path.
4. Start-up: ``reminder deadline 年底前 --plan-year 2021 --json`` as a whole process, median of
   --startup-runs runs, beside ``python -c pass`` and ``reminder --help`` run the same way (interleaved).

What "right" means:
- ours: kind and due match (and, on the hand-written set, ``every`` too);
- dateparser knows no kinds, so a fixed phrase is right when it returns a datetime on the expected date,
  any other phrase when it returns None (claims no date). It is given its best chance: RELATIVE_BASE =
  1 January of the plan year (so year-less dates land in the plan year, not this year) and
  PREFER_DAY_OF_MONTH = last (so 9月 reads as 30 September).
"""

from __future__ import annotations

import argparse
import calendar
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reminder.deadline import parse

PLAN_YEAR = 2021
CN = "〇一二三四五六七八九"
HAND_WRITTEN = Path(__file__).with_name("deadline_phrases.tsv")
LONG_TEXT_BYTES = 40 * 1024


@dataclass(frozen=True)
class Case:
    text: str
    kind: str
    due: date | None
    group: str  # "short" or "long"
    every: str | None = None


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
    if d > 1:  # a range whose end has only a day
        cells.append((f"{y}年{m}月1日至{d}日", full))
    if y == PLAN_YEAR:
        cells += [
            (f"{m}月{d}日前", full),
            (f"{m}月底前", month_end),
            (f"{cn_small(m)}月底前", month_end),
            (f"{m} 月底前", month_end),
            (f"{m}月份", month_end),
        ]
    if y == PLAN_YEAR + 1:
        cells += [(f"次年{m}月", month_end), (f"明年{m}月底前", month_end), (f"下一年度{m}月底前", month_end)]
    return cells


YEAR_WORDS = [
    ("年底前", (12, 31)), ("年内", (12, 31)), ("年末", (12, 31)), ("全年", (12, 31)), ("年终前", (12, 31)),
    ("本年度内", (12, 31)), ("岁末", (12, 31)),
    ("上半年", (6, 30)), ("年中", (6, 30)), ("下半年", (12, 31)), ("下半年启动", (12, 31)),
    ("一季度", (3, 31)), ("第二季度", (6, 30)), ("三季度末", (9, 30)), ("第四季度", (12, 31)),
    ("9月上旬", (9, 10)), ("9月中旬", (9, 20)), ("9月下旬", (9, 30)), ("6月至9月", (9, 30)),
    ("持续推进，年底前完成阶段性任务", (12, 31)), ("6月底前……压缩至90个工作日以内", (6, 30)),
    ("2021年6月30日前制定工作方案，12月底前完成", (12, 31)), ("2021年6月30日前制定工作方案", (6, 30)),
    ("截至2021年9月30日", (9, 30)), ("2021年6月—12月", (12, 31)),
]

ONGOING = ["持续推进", "长期坚持", "常态化", "持续开展", "长期", "日常", "持续推進", "長期堅持", "常态化推进"]
RECURRING = ["每年至少1次", "每季度", "每月", "每半年", "每周", "定期", "按月", "按季度", "每季度报送", "每年至少召开一次"]
RELATIVE = ["印发后3个工作日内", "收到申请之日起20个工作日内", "印发后{n}个工作日内", "收到申请之日起{n}个工作日内",
            "收到通知后{n}日内", "方案印发后{n}个月内"]
NONE = ["--", "—", "及时", "立即", "按要求", "当场", "", "无", "当场办结", "2021年以来", "自2022年1月1日起施行"]
# Named holidays, and the festival they name (the due date comes from the calendar, as a person reads it).
HOLIDAYS = {"春节": "spring_festival", "清明节": "tomb_sweeping", "劳动节": "labour_day", "五一": "labour_day",
            "端午节": "dragon_boat", "中秋节": "mid_autumn", "国庆节": "national_day", "国庆": "national_day"}

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
    "做好常态化疫情防控信息公开，扎实做好疫苗接种信息公开和舆论引导工作。",
]
LONG_RECURRING = [
    "各镇（街、园区）、区直各单位主要负责同志每年至少听取1次政务公开工作汇报，专题研究部署政务公开工作。",
    "各级政务公开领导小组每年至少召开一次会议，及时研究解决政务公开重点难点问题。",
    "各单位要每季度报送一次政务公开工作进展情况，确保工作落实到位。",
    # recurrence and ongoing words count anywhere in a sentence (the named period wins over 定期)
    "持续深化地方政府债务信息公开，通过集中统一平台定期公开地方政府债务限额、余额等信息。",
]
ONGOING_LEADS = ["持续推进", "常态化开展", "长期坚持", "持续深化"]
RELATIVE_SENTENCES = ["{lead}，文件印发后，应于{n}个工作日内在政府网站公开。",
                      "{lead}，收到申请之日起，{n}个工作日内予以答复。"]


def build_corpus(seed: int = 7) -> list[Case]:
    """About 2,500 distinct phrases with their expected readings."""
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
        add(word, "recurring", None, "short")
    for d in (5, 10, 15, 20, 25):  # recurring with a day inside each period: due is the first such day
        add(f"每月{d}日前", "recurring", date(PLAN_YEAR, 1, d), "short")
        add(f"每季度首月{d}日前", "recurring", date(PLAN_YEAR, 1, d), "short")
        add(f"每年{d // 5}月{d}日前", "recurring", date(PLAN_YEAR, d // 5, d), "short")
    for template in RELATIVE:
        for n in (3, 5, 7, 10, 15, 20, 30):
            add(template.format(n=n), "relative", None, "short")
    for word in NONE:
        add(word, "none", None, "short")
    for word, festival in HOLIDAYS.items():
        for form in ("{}前", "{}之前", "{}放假前"):
            add(form.format(word), "fixed", holiday_due(festival, PLAN_YEAR), "short")
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
            add(f"{rng.choice(ONGOING_LEADS)}{lead[2:]}，{tail}", "ongoing", None, "long")
        for template in RELATIVE_SENTENCES:
            add(template.format(lead=lead, n=rng.choice((3, 5, 10, 15))), "relative", None, "long")
        add(f"{lead}，第二季度完成{rng.choice(TAILS)}", "fixed", date(PLAN_YEAR, 6, 30), "long")
        add(f"{lead}，国庆节前{rng.choice(TAILS)}", "fixed", holiday_due("national_day", PLAN_YEAR), "long")
    for text in LONG_NOT_DEADLINE:
        add(text, "none", None, "long")
    for text in LONG_RECURRING:
        add(text, "recurring", None, "long")
    return list(cases.values())


def holiday_due(festival: str, year: int) -> date:
    """The last working day before the festival: the statutory calendar read directly."""
    from reminder.workdays import Calendar, festival_day

    day = festival_day(festival, year)
    assert day is not None
    return Calendar().previous_workday(day, include_today=False)


def hand_written_cases() -> list[Case]:
    """bench/deadline_phrases.tsv: text, kind, due (or -), every (or -); # starts a comment."""
    cases = []
    for line in HAND_WRITTEN.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, kind, due, every = line.split("\t")
        cases.append(Case(text, kind, None if due == "-" else date.fromisoformat(due), "hand-written",
                          None if every == "-" else every))
    return cases


# --- measuring ------------------------------------------------------------------------------------------


def best_pass_us(readers: dict[str, Callable[[str], object]], texts: list[str], repeat: int
                 ) -> dict[str, tuple[float, list]]:
    """For each reader: CPU µs per text of its best pass, and its results (from a warm-up pass).

    Every reader gets one warm-up pass (lazy tables, caches, the calendar), then ``repeat`` rounds in
    which each reader does one timed pass in turn, so that both see the same conditions (on a shared
    machine a neighbour's load comes and goes). The timed passes drop each result as the next text is
    read, as a reader of a plan does; keeping thousands of results alive would time the garbage
    collector walking them, not the parser.
    """
    results = {name: [read(text) for text in texts] for name, read in readers.items()}
    best = dict.fromkeys(readers, float("inf"))
    for _ in range(repeat):
        for name, read in readers.items():
            started = time.process_time()
            for text in texts:
                read(text)
            best[name] = min(best[name], time.process_time() - started)
    return {name: (best[name] / len(texts) * 1e6, results[name]) for name in readers}


def ours_right(case: Case, result, check_every: bool = False) -> bool:
    right = (str(result.kind), result.due) == (case.kind, case.due)
    if check_every:
        right = right and (str(result.every) if result.every else None) == case.every
    return right


def dateparser_reader() -> Callable[[str], datetime | None] | None:
    try:
        import dateparser
    except ImportError:
        return None
    settings = {"RELATIVE_BASE": datetime(PLAN_YEAR, 1, 1), "PREFER_DAY_OF_MONTH": "last"}
    return lambda text: dateparser.parse(text, languages=["zh"], settings=settings)


def dateparser_right(case: Case, got: datetime | None) -> bool:
    if case.kind == "fixed":
        return got is not None and got.date() == case.due
    return got is None


def share(right: int, total: int) -> str:
    return f"{right}/{total} = {right / total:.1%}"


def long_texts(corpus: list[Case]) -> dict[str, str]:
    """Requirement texts of LONG_TEXT_BYTES: the corpus's sentences with dates one after another, and a
    dense one with a date that is not a deadline and a time limit in every clause (the previous parser
    compared every time limit with every date there, a quadratic path)."""
    sentences = [c.text for c in corpus if c.group == "long" and c.kind == "fixed"]
    dense = [f"自{m}月{d}日起，{n}个工作日内；" for n in (3, 5, 7) for m in range(1, 13) for d in range(1, 29)]
    texts = {}
    for name, parts in (("the corpus's sentences", sentences), ("a date and a time limit in every clause", dense)):
        chosen: list[str] = []
        size = 0
        while size < LONG_TEXT_BYTES:
            part = parts[len(chosen) % len(parts)]
            chosen.append(part)
            size += len(part.encode("utf-8"))
        texts[name] = "".join(chosen)
    return texts


def startup_ms(runs: int) -> dict[str, float]:
    """Median wall-clock ms of whole processes, the three commands interleaved run by run.

    Bytecode caching is left on (PYTHONDONTWRITEBYTECODE removed from the environment) and each command
    runs once untimed first, as an installed program runs: otherwise every run compiles every module
    from source again.
    """
    reminder = shutil.which("reminder") or str(Path(sys.executable).with_name("reminder"))
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "reminder --help": [reminder, "--help"],
        "reminder deadline 年底前 --plan-year 2021 --json": [reminder, "deadline", "年底前", "--plan-year", "2021",
                                                         "--json"],
    }
    for command in commands.values():
        subprocess.run(command, stdout=subprocess.DEVNULL, env=env, check=True)
    out = subprocess.run(commands["reminder deadline 年底前 --plan-year 2021 --json"], capture_output=True,
                         text=True, env=env, check=True).stdout
    assert '"due": "2021-12-31"' in out, out
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, env=env, check=True)
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes for each parser; the best counts")
    parser.add_argument("--startup-runs", type=int, default=21, help="whole-process runs of each command")
    parser.add_argument("--show-wrong", action="store_true", help="list phrases ours reads wrong")
    args = parser.parse_args()

    corpus = build_corpus()
    texts = [c.text for c in corpus]
    n, n_short = len(corpus), sum(c.group == "short" for c in corpus)
    n_fixed = sum(c.kind == "fixed" for c in corpus)
    print(f"speed corpus: {n} distinct phrases ({n_short} short cells, {n - n_short} requirement sentences; "
          f"{n_fixed} fixed, {n - n_fixed} ongoing/recurring/relative/none); plan year {PLAN_YEAR}; "
          f"for both parsers one warm-up pass, then the best of {args.repeat} passes taken in turn, CPU time")

    def ours(text: str):
        return parse(text, PLAN_YEAR)

    read_dateparser = dateparser_reader()
    readers: dict[str, Callable[[str], object]] = {"ours": ours}
    if read_dateparser is not None:
        readers["dateparser"] = read_dateparser
    timed = best_pass_us(readers, texts, args.repeat)
    us, results = timed["ours"]
    us_short = best_pass_us({"ours": ours}, [c.text for c in corpus if c.group == "short"], args.repeat)["ours"][0]
    us_long = best_pass_us({"ours": ours}, [c.text for c in corpus if c.group == "long"], args.repeat)["ours"][0]
    wrong = [(c, r) for c, r in zip(corpus, results) if not ours_right(c, r)]
    fixed_right = n_fixed - sum(1 for c, _ in wrong if c.kind == "fixed")
    print(f"  reminder.deadline.parse : {us:8.2f} µs/phrase (short {us_short:.2f}, long {us_long:.2f}); "
          f"right {share(n - len(wrong), n)}; fixed right {share(fixed_right, n_fixed)}")
    if args.show_wrong:
        for case, result in wrong:
            print(f"     wrong: {case.text!r} expected {case.kind} {case.due}, got {result.kind} {result.due}")
    if read_dateparser is None:
        print("  dateparser              : not installed; skipped (pip install dateparser)")
    else:
        dp_us, dp_results = timed["dateparser"]
        dp_right = sum(dateparser_right(c, r) for c, r in zip(corpus, dp_results))
        dp_fixed = sum(dateparser_right(c, r) for c, r in zip(corpus, dp_results) if c.kind == "fixed")
        print(f"  dateparser.parse (zh)   : {dp_us:8.2f} µs/phrase; right {share(dp_right, n)}; "
              f"fixed right {share(dp_fixed, n_fixed)}")
        print(f"  speed ratio             : reminder is {dp_us / us:.0f}x faster")

    hand = hand_written_cases()
    hand_results = [parse(c.text, PLAN_YEAR) for c in hand]
    hand_wrong = [(c, r) for c, r in zip(hand, hand_results) if not ours_right(c, r, check_every=True)]
    print(f"hand-written phrases ({HAND_WRITTEN.name}): {len(hand)}")
    print(f"  reminder.deadline.parse : right {share(len(hand) - len(hand_wrong), len(hand))} "
          f"(kind, due and every)")
    for case, result in hand_wrong:
        print(f"     wrong: {case.text!r} expected {case.kind} {case.due} {case.every or ''}, "
              f"got {result.kind} {result.due} {result.every or ''}")
    if read_dateparser is not None:
        dp_hand = [read_dateparser(c.text) for c in hand]
        n_hand_fixed = sum(c.kind == "fixed" for c in hand)
        dp_hand_right = sum(dateparser_right(c, r) for c, r in zip(hand, dp_hand))
        dp_hand_fixed = sum(dateparser_right(c, r) for c, r in zip(hand, dp_hand) if c.kind == "fixed")
        print(f"  dateparser.parse (zh)   : right {share(dp_hand_right, len(hand))}; "
              f"fixed right {share(dp_hand_fixed, n_hand_fixed)}")

    for name, text in long_texts(corpus).items():
        parse(text, PLAN_YEAR)
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = parse(text, PLAN_YEAR)
            best = min(best, time.perf_counter() - started)
        print(f"long text, {name}: {len(text.encode('utf-8')) / 1024:.0f} KB, {len(text)} characters, "
              f"{len(result.milestones)} dated milestones: {best * 1000:.1f} ms per parse (best of {args.repeat})")

    medians = startup_ms(args.startup_runs)
    print(f"start-up, median of {args.startup_runs} whole-process runs (interleaved):")
    for name, ms in medians.items():
        print(f"  {name:48s} {ms:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
