"""Reading a 500-task plan in every format (issue 8's target: under 1 s each).

The same plan (500 tasks in 50 merged sections, a lead and responsible units, a deadline each) is
written by the test suite's renderers (tests/layouts.py) as .docx, .xlsx, .xls, HTML with rowspans,
PDF, the text extractions and the paragraph layouts; each is then read in-process with
``read_plan`` (read, detect, ingest, deadlines, units), once to warm imports and caches, then
--runs times; the median is printed per format.

Run: python bench/read.py [--tasks N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the renderers live in the test suite
TARGET_SECONDS = 1.0


def plan_spec(tasks: int):
    from tests.layouts import PlanSpec, TaskSpec

    return PlanSpec(tasks=tuple(
        TaskSpec(section=f"{'一二三四五六七八九十'[n // 50 % 10]}、第{n // 10 + 1}组重点工作",
                 text=f"做好第{n + 1}项政务公开工作，细化公开内容，按要求推进落实并及时更新。",
                 lead="县财政局", others=("县审计局", "各乡镇人民政府"),
                 deadline=("2021年9月30日前", "年底前", "持续推进", "每季度")[n % 4])
        for n in range(tasks)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from reminder.ingest import read_plan
    from tests.layouts import FORMATS, render

    spec = plan_spec(args.tasks)
    print(f"{'format':<14} {'bytes':>9} {'tasks':>5} {'read ms':>8}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for fmt in FORMATS:
            path = render(spec, fmt, Path(folder))
            tasks = len(read_plan(path).tasks)  # warm: imports, the converter table, caches
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                read_plan(path)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{fmt:<14} {path.stat().st_size:>9} {tasks:>5} {median * 1000:>8.0f}")
    verdict = "ok" if worst < TARGET_SECONDS else "MISSED"
    print(f"slowest: {worst * 1000:.0f} ms for {args.tasks} tasks (target < {TARGET_SECONDS * 1000:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
