"""Web page speed (issue 11's targets): with 200 units and 5,000 assignments, the office's board and a
unit's page rendered through the app (Flask's test client: routing, the login check, the store's
queries, the templates; no network), warm passes, best and median of several.

The database is built through the real import path: 10 plans of 125 tasks, each task given to 4 of the
200 units (store.import_plans on plans read by reminder.ingest from generated text). Targets: the board
< 300 ms, a unit's page < 100 ms. The board is timed as it opens (counts and ranking of every plan) and
filtered to one plan (its units × tasks grid too).

Run: python bench/web.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from reminder import store
from reminder.config import Config, WebConfig, WebUserConfig
from reminder.ingest import read_plan
from reminder.web.app import STATE, create_app
from reminder.web.guard import SESSION_COOKIE, token_hash
from reminder.web.links import link_url
from reminder.web.passwords import hash_password

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 9, 15, 9, 0, tzinfo=ZONE)
UNITS = [f"县第{i:03d}局" for i in range(200)]
PLANS, TASKS, PER_TASK = 10, 125, 4
HASH = hash_password("bench-password-not-used")


def plan_text(index: int) -> str:
    lines = [f"某县2021年政务公开工作任务分工（第{index + 1}批）", "| 序号 | 具体任务 | 责任单位 | 完成时限 |"]
    for number in range(1, TASKS + 1):
        first = (index * TASKS + number) * 7
        units = "、".join(UNITS[(first + k * 53) % len(UNITS)] for k in range(PER_TASK))
        month = 3 + (number % 10)
        lines.append(f"| {number} | 做好第{number}项公开工作，按要求发布并解读。 | {units} | 2021年{month}月{10 + number % 18}日前 |")
    return "\n".join(lines) + "\n"


def build(folder: Path) -> Path:
    db_path = folder / "bench.db"
    plans = []
    for index in range(PLANS):
        path = folder / f"plan{index}.txt"
        path.write_text(plan_text(index), encoding="utf-8")
        plans.append(read_plan(path))
    db = store.open_db(db_path)
    store.import_plans(db, plans, NOW)
    count = db.execute("SELECT count(*), count(DISTINCT unit) FROM assignments WHERE removed_at IS NULL").fetchone()
    db.close()
    print(f"database: {PLANS} plans, {PLANS * TASKS} tasks, {count[0]} assignments, {count[1]} units")
    return db_path


def timed(client, path: str, runs: int, expect: bytes) -> tuple[float, float, int]:
    for _ in range(2):   # warm: templates compiled, caches filled, pages in the OS cache
        client.get(path)
    times = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or expect not in response.data:
            sys.exit(f"{path}: status {response.status_code}, unexpected page")
        size = len(response.data)
    return min(times), statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = build(Path(folder))
        config = Config(web=WebConfig(files_dir=Path(folder) / "files",
                                      users=(WebUserConfig("bench", HASH),)))
        app = create_app(config, db_path, now=lambda: NOW, secret=b"bench-web-secret" * 2)
        db = store.open_db(db_path)
        store.create_office_session(db, token_hash("bench-session"), "bench", NOW, NOW.replace(year=2022))
        db.close()
        client = app.test_client()
        client.set_cookie(SESSION_COOKIE, "bench-session")
        token, _ = app.extensions[STATE].issue_link(UNITS[7], 0)
        unit_path = link_url("", token)
        rows = [("board (every plan: counts, ranking)", "/board", b"plan-board"),
                ("board, one plan (grid of its units x tasks)", "/board?plan=1", b"table class=\"board\""),
                ("unit page", unit_path, UNITS[7].encode())]
        targets = {"/board": 300, "/board?plan=1": 300, unit_path: 100}
        for label, path, expect in rows:
            best, median, size = timed(client, path, args.runs, expect)
            verdict = "ok" if median < targets[path] else "OVER TARGET"
            print(f"{label:46} best {best:7.1f} ms  median {median:7.1f} ms  ({size // 1024} KB)  "
                  f"target < {targets[path]} ms: {verdict}")


if __name__ == "__main__":
    main()
