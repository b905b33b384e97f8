"""Cost of one tick against a large database: time and memory must follow what is due, not the size.

    python bench/tick.py [--sizes 10000,100000,1000000] [--few 1000] [--repeat 3] [--all-cap 100000]
                         [--cache /tmp/reminder-bench-cache]

For each size N a synthetic SQLite database is built (through ``store.open_db``, so the schema is the real
one, then bulk ``executemany`` inserts in one transaction -- not the import path) and cached in
``--cache`` (building 1M takes minutes; each run works on a fresh copy):

* plans of 50 tasks, N/10 tasks, 10 units per task (from a directory of 100 units), so N assignments;
* each task's ``deadline`` is ``reminder.deadline.parse(phrase).as_dict()`` for one of a handful of
  phrases (fixed dates spread over 2021, 年底前, 6月底前, 持续推进, 每季度, 及时, milestones), and its
  effective due date is the planner's (``planner.DueDates``), as an import stores it;
* a history: one earlier notice per assignment and one sent message per 100 notices, so the notices
  and messages tables are as large as a year of use would make them;
* each unit's overdue list sent the day before (a daemon's steady state; a unit's first overdue list
  names all its overdue tasks, thousands per unit here, and is a one-off);
* every ``next_check_at`` in the future (1-60 days after "now").

Then, at a fixed "now" (2021-11-15 10:00 Asia/Shanghai, a Monday after the send hour), each tick runs
in a child process of its own, as a daemon's job would, so its peak memory can be read:

1. "few due, warm": 1,000 assignments (a random sample) are made due and the file is in the page cache;
   one ``run_tick(..., deliver=False)`` (planning + rendering + queueing in the outbox) is timed, then
   the delivery of what it queued (the file channel, .eml files in a temporary folder) separately.
   Repeated ``--repeat`` times with other samples; the median is compared with the target.
2. "few due, cold": the same with another 1,000, after dropping the database file from the OS page cache
   (``posix_fadvise(DONTNEED)``): a server whose memory does not hold the file.
3. "all due": every assignment is made due (capped at ``--all-cap``; the cap is printed).

The child first runs a warm-up tick on the same database with 100 other assignments due (imports, the
holiday calendar, compiled templates and parsed deadlines are then in place, as in a daemon at every tick
but its first), then makes the measured ones due (and, for "cold", drops the file from the page cache),
resets its peak-RSS mark (``/proc/self/clear_refs``), opens a fresh connection (not timed, as the daemon
opens one per job) and runs the measured tick; the peak RSS printed is that tick's high-water mark
(VmHWM), process baseline included.

Targets (issue 7): a 1,000-due tick at 1M assignments under 0.2 s warm and 0.4 s cold; peak RSS under
120 MiB for 1M with 1,000 due and under 200 MiB for 100k all due. The EXPLAIN QUERY PLAN of the planner's
read (``store.DUE_ASSIGNMENTS_SQL``) is printed to show it reads through the partial index.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout

from reminder import delivery, store
from reminder.config import parse_config
from reminder.deadline import parse
from reminder.model import Policy
from reminder.planner import DueDates
from reminder.tick import run_tick
from reminder.workdays import Calendar

PLAN_YEAR = 2021
NOW = datetime(2021, 11, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CREATED = datetime(2021, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TASKS_PER_PLAN = 50
UNITS_PER_TASK = 10
UNIT_POOL = [f"县第{i}局" for i in range(1, 101)]
TARGET_WARM, TARGET_COLD = 0.2, 0.4                  # seconds, 1,000 due at 1M
TARGET_RSS_FEW, TARGET_RSS_ALL = 120, 200           # MiB: 1M with 1,000 due; 100k all due
TARGET_SIZE, TARGET_DUE = 1_000_000, 1_000
BUILD_VERSION = 5  # bump when build() changes, so cached databases are rebuilt

def phrases(year: int, months=range(7, 13)) -> list[str]:
    """Deadline phrases as plans write them (fixed dates in ``months``); every task gets one, round robin."""
    return ([f"{year}年{m}月{d}日前" for m in months for d in (10, 20, 28)]
            + ["年底前", "6月底前", "9月底前", "持续推进", "长期坚持", "每季度", "每月", "及时",
               f"{year}年6月底前完成初稿，9月底前完成"])


PHRASES = phrases(PLAN_YEAR)


DUE_DATES = DueDates(Policy(), Calendar())
"""The due-date rule of the benchmark's config (default policy, no calendar overrides)."""


def deadline_rows(phrase_list=PHRASES, year: int = PLAN_YEAR) -> list[tuple[str, str, str | None, str | None, int]]:
    """(deadline JSON, kind, effective due, due as written, inferred) for every phrase, parsed once."""
    rows = []
    for phrase in phrase_list:
        deadline = parse(phrase, year)
        due = DUE_DATES(deadline, year)
        rows.append((json.dumps(deadline.as_dict(), ensure_ascii=False, separators=(",", ":")), str(deadline.kind),
                     due.day.isoformat() if due else None, due.written.isoformat() if due else None,
                     int(bool(due and due.inferred))))
    return rows


def build(path: Path, n: int, *, deadlines=None, plan_year: int = PLAN_YEAR, created: datetime = CREATED,
          next_check=None, history: bool = True) -> None:
    """A database of ``n`` assignments (n/10 tasks) with a year of notices and messages behind it.

    The keywords serve bench/soak.py: ``deadlines`` (from :func:`deadline_rows`) for other phrases or
    years, ``next_check(assignment_id, plan_id)`` -> the stored ``next_check_at`` (default: 1-60 days
    after NOW), ``history=False`` for a database with no notices and messages yet.
    """
    db = store.open_db(path)
    stamp = store.timestamp(created)
    deadlines = deadlines or deadline_rows()
    n_tasks = max(1, n // UNITS_PER_TASK)
    n_plans = max(1, -(-n_tasks // TASKS_PER_PLAN))
    rng = random.Random(42)
    if next_check is None:
        future = [store.timestamp(NOW + timedelta(days=d, hours=h)) for d in range(1, 61) for h in (0, 7)]

        def next_check(a: int, plan: int) -> str:
            return future[a % len(future)]
    with store.transaction(db, "build the benchmark database"):
        db.conn.executemany(
            "INSERT INTO plans (id, title, plan_year, source, source_name, sha256, imported_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, '', ?, ?)",
            ((p, f"某县{plan_year}年政务公开工作要点（{p}）", plan_year, f"plan{p}.txt", f"plan{p}.txt", stamp, stamp)
             for p in range(1, n_plans + 1)))

        units_of = [rng.sample(UNIT_POOL, UNITS_PER_TASK) for _ in range(n_tasks)]  # the first leads

        def tasks():
            for t in range(1, n_tasks + 1):
                deadline, kind, due, written, inferred = deadlines[t % len(deadlines)]
                units = json.dumps([[u, "lead" if i == 0 else "responsible"] for i, u in enumerate(units_of[t - 1])],
                                   ensure_ascii=False)
                yield (t, (t - 1) // TASKS_PER_PLAN + 1, str((t - 1) % TASKS_PER_PLAN + 1), '["一、重点任务"]',
                       f"第{t}项任务：推进政务公开标准化规范化建设，及时发布相关信息并做好解读。",
                       deadline, kind, due, written, inferred, "、".join(units_of[t - 1]), units, t, stamp, stamp)

        db.conn.executemany(
            "INSERT INTO tasks (id, plan_id, number, section, text, deadline, kind, due, due_written, inferred, "
            "units_text, units, line, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tasks())
        # What the stored due dates and assignments were derived with, as an import records it: the
        # benchmark's config has no unit directory, so names stay as written.
        db.execute("INSERT INTO settings (name, value) VALUES ('due_rule', ?), ('unit_rule', ?)",
                   [DUE_DATES.fingerprint, store.default_unit_rule().fingerprint])

        def assignments():
            a = 0
            for t in range(1, n_tasks + 1):
                for position, unit in enumerate(units_of[t - 1]):
                    a += 1
                    yield (a, t, unit, unit, "lead" if position == 0 else "responsible", position,
                           next_check(a, (t - 1) // TASKS_PER_PLAN + 1), stamp, stamp, stamp, stamp)

        db.conn.executemany(
            "INSERT INTO assignments (id, task_id, unit, written, role, position, status, next_check_at, "
            "created_at, updated_at, assigned_at, planned_from) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
            assignments())
        if history:  # a year of use behind it: one notice per assignment, one sent message per 100
            n_messages = max(1, n // 100)
            db.conn.executemany(
                "INSERT INTO messages (id, key, unit, channel, destination, subject, text, status, attempts, "
                "next_attempt_at, created_at, sent_at) VALUES (?, ?, ?, 'file', '/tmp', ?, '…', 'sent', 1, ?, ?, ?)",
                ((m, f"file:history:{m}", UNIT_POOL[m % len(UNIT_POOL)], "【提醒】", stamp, stamp, stamp)
                 for m in range(1, n_messages + 1)))
            db.conn.executemany(
                "INSERT INTO notices (id, key, assignment_id, unit, stage, due, fire_at, route, created_at) "
                "VALUES (?, ?, ?, ?, 'reminder', '2021-06-30', ?, 'queued', ?)",
                ((a, f"2021-06-01:a{a}:reminder:history", a, UNIT_POOL[a % len(UNIT_POOL)], stamp, stamp)
                 for a in range(1, n + 1)))
            db.conn.executemany("INSERT INTO message_notices (message_id, notice_id) VALUES (?, ?)",
                                (((a - 1) // 100 + 1, a) for a in range(1, n + 1)))
            # Each unit was sent its overdue list yesterday (a daemon in its steady state: the list repeats
            # every overdue_repeat_days). Without it the first measured tick would be the first overdue
            # list of every unit, which lists all of a unit's overdue tasks (here thousands per unit).
            first_of = {}
            for t, units in enumerate(units_of):
                for i, unit in enumerate(units):
                    first_of.setdefault(unit, t * UNITS_PER_TASK + i + 1)
            yesterday = store.timestamp(NOW - timedelta(days=1))
            db.conn.executemany(
                "INSERT INTO notices (key, assignment_id, unit, stage, due, fire_at, route, created_at) "
                "VALUES (?, ?, ?, 'overdue', '2021-06-30', ?, 'queued', ?)",
                ((f"2021-11-14:a{a}:overdue:history", a, unit, yesterday, yesterday) for unit, a in first_of.items()))
    db.execute("ANALYZE")
    db.close()


def make_due(path: Path, ids: list[int] | None, upto: int | None = None) -> None:
    """Set next_check_at to an hour before NOW for the given ids (or for ids <= upto)."""
    past = store.timestamp(NOW - timedelta(hours=1))
    db = store.open_db(path)
    with store.transaction(db, "make assignments due"):
        if ids is not None:
            db.conn.executemany("UPDATE assignments SET next_check_at = ? WHERE id = ?", ((past, i) for i in ids))
        else:
            db.conn.execute("UPDATE assignments SET next_check_at = ? WHERE id <= ?", [past, upto])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, nothing in the WAL
    db.close()


def evict(path: Path) -> None:
    """Drop the database file from the OS page cache (its pages are clean after the checkpoint), as
    after a reboot or on a server whose memory does not hold the file: the worst case for a tick."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def deliver_all(db, config) -> tuple[float, int]:
    """Seconds to deliver everything queued (file channel), and how many messages were sent."""
    sent = 0
    start = time.perf_counter()
    while True:
        counts = delivery.deliver_due(db, config, NOW, "bench")
        sent += counts.sent
        if not counts:
            break
    return time.perf_counter() - start, sent


def explain_due(db) -> list[str]:
    """The query plan of the planner's read, exactly as ``store.due_by_unit`` runs it."""
    rows = db.execute("EXPLAIN QUERY PLAN " + store.DUE_ASSIGNMENTS_SQL, [store.timestamp(NOW)]).fetchall()
    return [row[-1] for row in rows]


def cached_build(cache: Path, work: Path, n: int) -> Path:
    """A fresh copy of the benchmark database of size ``n``, built once per schema and builder version."""
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"bench-{n}-schema{store.SCHEMA_VERSION}-v{BUILD_VERSION}.db"
    if not cached.exists():
        start = time.perf_counter()
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build(partial, n)
        db = store.open_db(partial)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        partial.rename(cached)
        print(f"  built in {time.perf_counter() - start:.1f} s and cached as {cached}")
    path = work / f"bench-{n}.db"
    shutil.copyfile(cached, path)
    return path


def peak_rss_mib() -> float:
    """This process's peak resident memory since the last reset (VmHWM), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> bool:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def child_tick(path: str, outbox: str, warm_ids: list[int], ids: list[int] | None, upto: int | None, cold: bool,
               result) -> None:
    """In a fresh process: a warm-up tick on the same database, then the measured tick and its delivery."""
    config = parse_config({"fallback_channel": "file", "file": {"dir": outbox}}, env={}, base_dir=Path(outbox))
    make_due(Path(path), warm_ids)
    db = store.open_db(path)
    run_tick(db, config, NOW, deliver=True, holder="bench")
    db.close()
    make_due(Path(path), ids, upto)
    if cold:
        evict(Path(path))
    reset = reset_peak_rss()
    db = store.open_db(path)
    start = time.perf_counter()
    report = run_tick(db, config, NOW, deliver=False, holder="bench")
    seconds = time.perf_counter() - start
    rss = peak_rss_mib() if reset else float("nan")
    deliver_seconds, sent = deliver_all(db, config)
    db.close()
    result.put({"seconds": seconds, "rss": rss, "checked": report.checked, "notices": report.notices,
                "messages": report.messages, "deliver_seconds": deliver_seconds, "sent": sent})


def scenario(path: Path, work: Path, label: str, warm_ids: list[int], ids: list[int] | None = None,
             upto: int | None = None, cold: bool = False) -> dict:
    """Time one tick (planning and queueing) of the given assignments, and the delivery after it, in a
    child process; prints and returns its figures."""
    due = len(ids) if ids is not None else upto
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=child_tick, args=(str(path), str(work / "outbox"), warm_ids, ids, upto, cold,
                                                      queue))
    child.start()
    figures = queue.get()
    child.join()
    assert figures["checked"] == due, (figures["checked"], due)
    seconds, rate = figures["seconds"], figures["deliver_seconds"]
    print(f"  {label:<18} {due:>7,} due  tick {seconds:7.3f} s  {due / seconds:>7,.0f}/s  peak RSS "
          f"{figures['rss']:5.0f} MiB  ({figures['notices']:,} notices, {figures['messages']} messages)  "
          f"delivery {rate:6.3f} s ({figures['sent']} messages)")
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated assignment counts")
    ap.add_argument("--few", type=int, default=TARGET_DUE, help="assignments due in the 'few due' tick")
    ap.add_argument("--repeat", type=int, default=3, help="'few due' ticks to time (median reported)")
    ap.add_argument("--all-cap", type=int, default=100_000, help="cap on the 'all due' tick")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "reminder-bench-cache"),
                    help="folder where built databases are kept between runs")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    work = Path(tempfile.mkdtemp(prefix="reminder-bench-"))
    results: dict = {}
    try:
        for n in sizes:
            print(f"\n{n:,} assignments:")
            path = cached_build(Path(args.cache), work, n)
            print(f"  database {path.stat().st_size / 1e6:.0f} MB")
            if n == sizes[0]:
                db = store.open_db(path)
                print("  EXPLAIN QUERY PLAN of store.DUE_ASSIGNMENTS_SQL:")
                for line in explain_due(db):
                    print(f"    {line}")
                db.close()
            # Disjoint random samples, so each tick plans assignments that have no notices yet; 100 more
            # for each child's warm-up tick.
            warmups = args.repeat + 2
            sample = random.Random(n).sample(range(1, n + 1), min((args.repeat + 1) * args.few + 100 * warmups, n))
            warm_sets = [sorted(sample[i * 100:(i + 1) * 100]) for i in range(warmups)]
            sample = sample[100 * warmups:]
            samples = [sorted(sample[i:i + args.few]) for i in range(0, len(sample), args.few)]
            warm_runs = [scenario(path, work, f"few due #{i + 1}, warm", warm_sets[i], few)
                         for i, few in enumerate(samples[:args.repeat])]
            results[n] = {"warm": statistics.median(r["seconds"] for r in warm_runs),
                          "warm_rss": max(r["rss"] for r in warm_runs)}
            print(f"  few due, warm: median of {len(warm_runs)} ticks {results[n]['warm']:.3f} s")
            if len(samples) > args.repeat:
                cold = scenario(path, work, "few due, cold", warm_sets[-2], samples[args.repeat], cold=True)
                results[n] |= {"cold": cold["seconds"], "cold_rss": cold["rss"]}
            cap = min(n, args.all_cap)
            # Below the cap, the samples above were planned already: checked again, their notices exist.
            everything = scenario(path, work, "all due" if cap == n else "all due (cap)", warm_sets[-1], upto=cap)
            results[n] |= {"all": everything["seconds"], "all_rss": everything["rss"], "all_count": cap}
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    verdicts(results, args.few)
    return 0


def verdicts(results: dict, few: int) -> None:
    """The figures against the issue's targets."""
    print()
    if TARGET_SIZE in results:
        r = results[TARGET_SIZE]
        print(f"1M assignments, {few:,} due: warm median {r['warm']:.3f} s (target < {TARGET_WARM} s: "
              f"{'ok' if r['warm'] < TARGET_WARM else 'MISSED'})"
              + (f"; cold {r['cold']:.3f} s (target < {TARGET_COLD} s: {'ok' if r['cold'] < TARGET_COLD else 'MISSED'})"
                 if "cold" in r else ""))
        rss = max(r["warm_rss"], r.get("cold_rss", 0))
        print(f"1M assignments, {few:,} due: peak RSS {rss:.0f} MiB (target < {TARGET_RSS_FEW} MiB: "
              f"{'ok' if rss < TARGET_RSS_FEW else 'MISSED'})")
    if 100_000 in results and results[100_000]["all_count"] == 100_000:
        rss = results[100_000]["all_rss"]
        print(f"100k assignments, all due: peak RSS {rss:.0f} MiB (target < {TARGET_RSS_ALL} MiB: "
              f"{'ok' if rss < TARGET_RSS_ALL else 'MISSED'}), tick {results[100_000]['all']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
