"""Plan import speed and command start-up time (issue 2's targets).

* parsing every seed in-process (read_plan: read, detect, ingest, deadlines, units), and importing it
  into a fresh SQLite file (parse + store.import_plans), median of several runs; target < 100 ms;
* `reminder --help` wall time in a fresh interpreter, median of several runs; target < 300 ms
  (heavy modules are imported lazily).

Run: python bench/import.py [--seeds DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from reminder import store
from reminder.ingest import read_plan

DEFAULT_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def import_once(path: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = store.open_db(Path(folder) / "bench.db")
        store.import_plans(db, [read_plan(path)], datetime.now(timezone.utc))
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    plans = [p for p in sorted(args.seeds.glob("*")) if not p.name.startswith("004")]
    if not plans:
        sys.exit(f"no seed documents in {args.seeds}")
    read_plan(plans[0])  # warm imports once, as a running process would have them
    print(f"{'seed':<28} {'tasks':>5} {'parse ms':>9} {'parse+store ms':>15}")
    worst = 0.0
    for path in plans:
        tasks = len(read_plan(path).tasks)
        parse = median_ms(lambda: read_plan(path), args.runs)
        full = median_ms(lambda: import_once(path), args.runs)
        worst = max(worst, full)
        print(f"{path.name:<28} {tasks:>5} {parse:>9.1f} {full:>15.1f}")
    print(f"slowest import: {worst:.1f} ms (target < 100 ms): {'ok' if worst < 100 else 'MISSED'}")
    command = [sys.executable, "-m", "reminder", "--help"]
    subprocess.run(command, capture_output=True, check=True)
    help_ms = median_ms(lambda: subprocess.run(command, capture_output=True, check=True), args.runs)
    print(f"`reminder --help`: {help_ms:.0f} ms (target < 300 ms): {'ok' if help_ms < 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
