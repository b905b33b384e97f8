"""Soak: a simulated year of daemon ticks on a large database; memory must not grow.

    python bench/soak.py [--assignments 1000000] [--days 365] [--start 2021-01-01]
                                        [--max-minutes 0] [--keep]

The database comes from bench/tick.py's builder (the real schema through ``store.open_db``, bulk
inserts): N assignments, N/10 tasks, 10 of 100 units per task, no history. The deadlines are those
phrases with fixed dates in every month of the year (10th, 20th, 28th), plus 年底前, 6月底前, 9月底前,
持续推进, 长期坚持, 每季度, 每月, 及时 and a two-milestone deadline. The plans are imported on the start
day; the planner first looks at a plan's assignments on one of the first ten days (plan id mod 10),
as an office importing its plans over a fortnight (all at once, one tick would plan all N).

Units answer, so the work per day stays what a year of use gives (nobody answering would make every
task overdue and the notices table grow without end). Their reports are recorded through
``store.record_progress`` -- what ``reminder done`` / ``reminder progress`` call -- before each tick,
in one transaction per day, from a schedule made at build time (table ``soak_reports``):

* dated tasks: done at the due date + a lag drawn per assignment: 70% 0-25 days early, 25% 1-20
  days late, 5% 21-60 days late (so overdue notices, escalations and the digest all have work);
* 每季度 / 每月: a progress report in each period, 0-12 days before its end (3 days after, for 10%);
* ongoing (持续推进, 长期坚持): a progress report every 30-40 days; 5% never report (silent).

Routes, all on loopback: units 1-30 email through an aiosmtpd server, units 31-50 post to a generic
webhook receiver (HMAC-signed; units 31-35 to a flaky one that answers 503 to every 20th request, so
retries are exercised), units 51-100 the file channel (.eml files in a temporary folder, deleted at the
end; their size is printed). DingTalk is not used: its channel keeps the real 20-per-minute robot limit
in wall time, which would turn the soak into hours of sleeping. The servers run in a child process, so
what they keep is not counted in this process's memory; they count what they receive.

Each simulated working day (calendar from the config), at the send hour: a fresh connection (as each
daemon job opens one), ``run_tick(db, config, now)`` -- planning, outbox, delivery, with ``now``
injected -- and on the first working day of each week ``run_digest`` at the digest hour. The tick's
wall time is measured per day (report recording and the digest separately), VmRSS from
/proc/self/status after every simulated day, and Python's live objects (``gc.get_objects`` and
``sys.getallocatedblocks`` after gc.collect, not timed) at the start of each month.

Memory: VmRSS is sampled after each simulated day, then again after ``malloc_trim(0)`` (glibc gives
back the free heap it kept; untimed), which is the live memory. The raw maximum is what a server
must have (it follows the year's largest tick: all its due rows are in memory at once); the verdict
is on the live series, since glibc keeps the heap of a big tick and the raw series then reads higher
after the largest ticks (December's) without anything being kept: the largest live RSS of the last
quarter of the run against the largest of its second quarter, allowed 10% or 32 MiB more, whichever
is larger. ``--max-minutes`` stops the
simulation early and prints how far it got and the full-year estimate from the rate so far.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
from calendar import monthrange
import gc
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for reminder and tests
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/tick.py

import tick as tick_bench  # noqa: E402  (bench/tick.py: the database builder)

from reminder import store  # noqa: E402
from reminder.config import parse_config  # noqa: E402
from reminder.digest import run_digest  # noqa: E402
from reminder.tick import run_tick  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
SECRET_ENV = "SOAK_WEBHOOK_SECRET"
SECRET = "soak-secret"  # a test value for the loopback receiver, not a real credential
EMAIL_UNITS = range(1, 31)
WEBHOOK_UNITS = range(31, 51)
FLAKY_UNITS = range(31, 36)
FLAKY_EVERY = 20
GROWTH_RATIO, GROWTH_MIB = 0.10, 32
HOLDER = "soak"


# --- memory ---------------------------------------------------------------------------------------

def status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: the peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def trim_heap() -> bool:
    """Give freed heap back to the OS (glibc ``malloc_trim``), so VmRSS shows live memory, not what
    the allocator keeps after a big tick. False where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


# --- local servers, in a child process --------------------------------------------------------------

def serve(conn, secret: str) -> None:
    """Child process: an SMTP server and an HTTP server that count what they receive and keep nothing."""
    from tests.servers import HttpServer, RecordingHandler, Reply, SmtpServer, generic_receiver

    counts: Counter = Counter()

    class CountingHandler(RecordingHandler):
        async def handle_DATA(self, server, session, envelope):
            counts["smtp"] += 1
            counts["smtp_bytes"] += len(envelope.original_content or envelope.content)
            return "250 Message accepted"

    class Sink:  # stands in for HttpServer.requests: count, keep nothing
        def append(self, request) -> None:
            counts[f"http {request.path}"] += 1
            counts["http_bytes"] += len(request.body)

    check = generic_receiver(secret)

    def flaky(request):
        counts["flaky_seen"] += 1
        if counts["flaky_seen"] % FLAKY_EVERY == 0:
            counts["flaky_503"] += 1
            return Reply(503, {"error": "try later"})
        return check(request)

    smtp = SmtpServer()
    smtp.handler = smtp.controller.handler = CountingHandler()
    http = HttpServer()
    http.requests = Sink()
    http.routes.update({"/generic": check, "/flaky": flaky})
    with smtp, http:
        conn.send({"smtp_port": smtp.port, "http_url": http.url("")})
        conn.recv()  # "stop"
        conn.send(dict(counts))


# --- the database and the office ----------------------------------------------------------------

def soak_phrases(year: int) -> list[str]:
    return tick_bench.phrases(year, months=range(1, 13))


def build_database(path: Path, n: int, start: date) -> None:
    """bench/tick.py's builder with this year's deadlines; then the units' answers (``soak_reports``)."""
    first_look = [store.timestamp(datetime.combine(start + timedelta(days=k), dtime(0), ZONE)) for k in range(10)]
    tick_bench.build(path, n, deadlines=tick_bench.deadline_rows(soak_phrases(start.year), start.year),
                     plan_year=start.year, created=datetime.combine(start, dtime(8), ZONE),
                     next_check=lambda a, plan: first_look[plan % 10], history=False)
    db = store.open_db(path)
    rows = db.conn.execute("SELECT a.id, t.kind, t.due, t.deadline FROM assignments a JOIN tasks t "
                           "ON t.id = a.task_id").fetchall()
    with store.transaction(db, "schedule the units' answers"):
        db.conn.execute("CREATE TABLE soak_reports (day TEXT NOT NULL, assignment_id INTEGER NOT NULL, "
                        "kind TEXT NOT NULL)")
        db.conn.executemany("INSERT INTO soak_reports VALUES (?, ?, ?)",
                            (r for a, kind, due, deadline in rows for r in _answers(a, kind, due, deadline, start)))
        db.conn.execute("CREATE INDEX soak_reports_day ON soak_reports (day)")
    db.close()


def _answers(a: int, kind: str, due: str | None, deadline: str, start: date):
    """(day, assignment id, progress kind) for one assignment's answers over the year, deterministic."""
    h = (a * 2654435761) % 2**32
    u = (h % 1000) / 1000
    end = date(start.year, 12, 31) + timedelta(days=60)
    if kind in ("fixed", "none"):
        if u < 0.70:
            lag = -(h // 1000 % 26)
        elif u < 0.95:
            lag = 1 + h // 1000 % 20
        else:
            lag = 21 + h // 1000 % 40
        yield (date.fromisoformat(due) + timedelta(days=lag)).isoformat(), a, "done"
    elif kind == "recurring":
        months = 3 if '"quarter"' in deadline else 1
        for first in range(1, 13, months):
            last = first + months - 1
            period_end = date(start.year, last, monthrange(start.year, last)[1])
            early = (h >> first) % 13
            day = period_end + timedelta(days=3) if (h >> (first + 3)) % 10 == 0 else period_end - timedelta(days=early)
            yield day.isoformat(), a, "progress"
    elif kind == "ongoing" and u >= 0.05:
        day = start
        k = 0
        while day <= end:
            day += timedelta(days=30 + (h >> k) % 11)
            k += 1
            yield day.isoformat(), a, "progress"


def make_config(work: Path, smtp_port: int, http_url: str):
    units = []
    for i, name in enumerate(tick_bench.UNIT_POOL, start=1):
        unit: dict = {"name": name}
        if i in EMAIL_UNITS:
            unit["emails"] = [f"unit{i}@example.cn"]
        elif i in WEBHOOK_UNITS:
            path = "/flaky" if i in FLAKY_UNITS else "/generic"
            unit["webhooks"] = [{"kind": "generic", "url": f"{http_url}{path}?unit={i}", "secret_env": SECRET_ENV,
                                 "timeout": 5}]
        units.append(unit)
    raw = {"timezone": "Asia/Shanghai", "send_hour": 9, "digest_hour": 16, "fallback_channel": "file",
           "file": {"dir": str(work / "outbox")},
           "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from_addr": "gkb@example.cn",
                    "timeout": 10},
           "office": {"name": "县政务公开办", "emails": ["gkb-office@example.cn"]},
           "units": units}
    return parse_config(raw, env={SECRET_ENV: SECRET}, base_dir=work)


def record_answers(db, after: date, upto: date, now: datetime) -> int:
    """The units' reports dated in (after, upto], through store.record_progress, in one transaction."""
    rows = db.conn.execute("SELECT assignment_id, kind FROM soak_reports WHERE day > ? AND day <= ? ORDER BY day",
                           [after.isoformat(), upto.isoformat()]).fetchall()
    with store.transaction(db, "record the units' reports"):
        for assignment_id, kind in rows:
            store.record_progress(db, assignment_id, kind, "", now)
    return len(rows)


# --- the run --------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assignments", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365, help="simulated calendar days (ticks on working days)")
    ap.add_argument("--start", type=date.fromisoformat, default=date(2021, 1, 1))
    ap.add_argument("--max-minutes", type=float, default=0, help="stop the simulation after this much wall time")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (database, .eml files)")
    args = ap.parse_args()

    # The flaky receiver's 503s are expected and counted; their per-message warnings would bury the progress.
    logging.getLogger("reminder.delivery").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="reminder-soak-"))
    db_path = work / "soak.db"
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    servers = ctx.Process(target=serve, args=(child, SECRET), daemon=True)
    servers.start()
    ports = parent.recv()
    run_start = time.perf_counter()
    try:
        config = make_config(work, ports["smtp_port"], ports["http_url"])
        calendar = config.working_calendar()
        t0 = time.perf_counter()
        build_database(db_path, args.assignments, args.start)
        build_seconds = time.perf_counter() - t0
        db = store.open_db(db_path)
        scheduled = db.execute("SELECT count(*) FROM soak_reports").fetchone()[0]
        db.close()
        print(f"{args.assignments:,} assignments: database built in {build_seconds:.1f} s "
              f"({db_path.stat().st_size / 1e6:,.0f} MB; {scheduled:,} unit reports scheduled); work folder {work}")
        print(f"routes: units {EMAIL_UNITS.start}-{EMAIL_UNITS.stop - 1} smtp (aiosmtpd 127.0.0.1:{ports['smtp_port']}), "
              f"{WEBHOOK_UNITS.start}-{WEBHOOK_UNITS.stop - 1} generic webhook ({ports['http_url']}, "
              f"{FLAKY_UNITS.start}-{FLAKY_UNITS.stop - 1} flaky: 503 every {FLAKY_EVERY}th), "
              f"{WEBHOOK_UNITS.stop}-{len(tick_bench.UNIT_POOL)} file channel; servers in child pid {servers.pid}")
        print(f"RSS after build: {mib(status_kib('VmRSS'))}\n", flush=True)
        result = simulate(args, config, calendar, db_path)
    finally:
        parent.send("stop")
        received = parent.recv() if parent.poll(30) else {}
        servers.join(10)
        eml_bytes = sum(f.stat().st_size for f in (work / "outbox").glob("*")) if (work / "outbox").exists() else 0
        eml_count = len(list((work / "outbox").glob("*"))) if (work / "outbox").exists() else 0
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(args, result, received, eml_count, eml_bytes, time.perf_counter() - run_start, build_seconds)
    return 0


def simulate(args, config, calendar, db_path: Path) -> dict:
    totals: Counter = Counter()
    tick_s, digest_s, answer_s, rss, live, objects = [], [], [], [], [], []
    days_done = working = 0
    last_answers = date.min  # the first tick records every report dated up to it (early finishers)
    month = None
    started = time.perf_counter()
    stopped_early = False
    for k in range(args.days):
        day = args.start + timedelta(days=k)
        if (day.year, day.month) != month:
            if month is not None:
                progress(day - timedelta(days=1), totals, tick_s, rss, started)
            month = (day.year, day.month)
            gc.collect()
            objects.append((day, len(gc.get_objects()), sys.getallocatedblocks()))
        if calendar.is_workday(day):
            working += 1
            now = datetime.combine(day, dtime(config.send_hour), ZONE)
            db = store.open_db(db_path)  # a fresh connection per job, as the daemon does
            try:
                t = time.perf_counter()
                totals["reports"] += record_answers(db, last_answers, day, now - timedelta(hours=1))
                last_answers = day
                answer_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                r = run_tick(db, config, now, holder=HOLDER)
                tick_s.append(time.perf_counter() - t)
                totals["checked"] += r.checked
                totals["notices"] += r.notices
                totals["messages"] += r.messages
                totals["unroutable"] += len(r.unroutable)
                for key, value in (r.delivered.as_dict() if r.delivered else {}).items():
                    totals[f"delivered_{key}"] += value
                if _first_workday_of_week(day, calendar):
                    t = time.perf_counter()
                    d = run_digest(db, config, datetime.combine(day, dtime(config.digest_hour), ZONE), holder=HOLDER)
                    digest_s.append(time.perf_counter() - t)
                    totals["digests"] += 1
                    totals["digest_overdue_max"] = max(totals["digest_overdue_max"], d.totals["overdue"])
                    for key, value in (d.delivered.as_dict() if d.delivered else {}).items():
                        totals[f"delivered_{key}"] += value
            finally:
                db.close()
        rss.append((day, status_kib("VmRSS")))
        live.append((day, status_kib("VmRSS")) if trim_heap() else rss[-1])  # untimed, after the sample
        days_done = k + 1
        if args.max_minutes and time.perf_counter() - started > args.max_minutes * 60 and k + 1 < args.days:
            stopped_early = True
            break
    progress(args.start + timedelta(days=days_done - 1), totals, tick_s, rss, started)
    gc.collect()
    objects.append((args.start + timedelta(days=days_done), len(gc.get_objects()), sys.getallocatedblocks()))
    db = store.open_db(db_path)
    by_channel = [tuple(r) for r in db.execute("SELECT channel, status, count(*) FROM messages "
                                               "GROUP BY channel, status ORDER BY channel, status")]
    table_sizes = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                   for t in ("notices", "messages", "deliveries", "progress")}
    db.close()
    return {"totals": totals, "tick_s": tick_s, "digest_s": digest_s, "answer_s": answer_s, "rss": rss, "live": live,
            "objects": objects, "days_done": days_done, "working": working, "stopped_early": stopped_early,
            "sim_seconds": time.perf_counter() - started, "by_channel": by_channel, "tables": table_sizes,
            "db_mb": db_path.stat().st_size / 1e6}


def _first_workday_of_week(day: date, calendar) -> bool:
    monday = day - timedelta(days=day.weekday())
    return all(not calendar.is_workday(monday + timedelta(days=i)) for i in range(day.weekday()))


def progress(day: date, totals: Counter, tick_s: list[float], rss: list, started: float) -> None:
    recent = tick_s[-23:] or [0.0]
    print(f"{day}  wall {time.perf_counter() - started:7.0f} s  ticks {len(tick_s):3}  "
          f"checked {totals['checked']:>10,}  notices {totals['notices']:>9,}  messages {totals['messages']:>6,}  "
          f"sent {totals['delivered_sent']:>6,}  retry {totals['delivered_retry']:>4}  dead {totals['delivered_dead']:>3}  "
          f"tick median (month) {statistics.median(recent):6.2f} s  max {max(recent):6.2f} s  "
          f"RSS {mib(rss[-1][1]) if rss else '-'}", flush=True)


def report(args, res: dict, received: dict, eml_count: int, eml_bytes: int, wall: float, build_seconds: float) -> None:
    t = res["totals"]
    ticks, rss = res["tick_s"], res["rss"]
    print(f"\n=== soak: {args.assignments:,} assignments, {res['days_done']} of {args.days} simulated days "
          f"from {args.start} ({res['working']} working days ticked, {t['digests']} digests)"
          + (" -- STOPPED EARLY at --max-minutes" if res["stopped_early"] else ""))
    print(f"assignments checked {t['checked']:,}; unit reports recorded {t['reports']:,}")
    print(f"notices created {t['notices']:,}; messages queued by ticks {t['messages']:,}; "
          f"unroutable {t['unroutable']}; largest digest: {t['digest_overdue_max']:,} overdue items")
    print(f"delivery (ticks + digests): sent {t['delivered_sent']:,}, failed attempts retried {t['delivered_retry']:,}, "
          f"dead {t['delivered_dead']:,}")
    print("outbox by channel/status: " + ", ".join(f"{c}/{s} {n:,}" for c, s, n in res["by_channel"]))
    print(f"received by the servers: smtp {received.get('smtp', 0):,} messages "
          f"({received.get('smtp_bytes', 0) / 1e6:,.1f} MB); generic webhook "
          f"{received.get('http /generic', 0):,}, flaky {received.get('http /flaky', 0):,} "
          f"(of which 503 {received.get('flaky_503', 0)}); file channel {eml_count:,} .eml files "
          f"({eml_bytes / 1e6:,.1f} MB)")
    print(f"tables at the end: " + ", ".join(f"{k} {v:,}" for k, v in res["tables"].items())
          + f"; database {res['db_mb']:,.0f} MB")
    if ticks:
        print(f"tick wall time per working day (run_tick incl. delivery): median {statistics.median(ticks):.3f} s, "
              f"p95 {percentile(ticks, 0.95):.3f} s, max {max(ticks):.3f} s, total {sum(ticks):.0f} s")
    if res["digest_s"]:
        d = res["digest_s"]
        print(f"digest: median {statistics.median(d):.3f} s, max {max(d):.3f} s; recording unit reports: "
              f"median {statistics.median(res['answer_s']):.3f} s/day, max {max(res['answer_s']):.3f} s")
    per_day = res["sim_seconds"] / max(1, res["days_done"])
    print(f"simulation wall time {res['sim_seconds']:.0f} s = {per_day:.2f} s per simulated day "
          f"(ticks, digests, reports); build {build_seconds:.0f} s; whole run {wall:.0f} s")
    if res["days_done"] < args.days:
        print(f"ESTIMATE for all {args.days} days at this rate: {per_day * args.days / 60:.0f} min of simulation "
              f"+ {build_seconds / 60:.1f} min build (the year's later months carry more overdue work, "
              f"so treat it as a lower bound)")
    memory_verdict(rss, res["live"], res["objects"])


def memory_verdict(rss: list[tuple[date, int]], live: list[tuple[date, int]], objects: list) -> None:
    """Print the RSS figures; judge growth on the RSS after malloc_trim (live memory), the raw RSS
    also depending on how much the allocator keeps from the year's largest ticks."""
    for label, series in (("VmRSS after each simulated day", rss), ("VmRSS after malloc_trim (live)", live)):
        values = [kib for _, kib in series]
        n = len(values)
        at = {p: values[max(0, min(n - 1, round(p * n) - 1))] for p in (0.1, 0.5, 1.0)}
        print(f"{label}: max {mib(max(values))} on {series[values.index(max(values))][0]}; "
              f"at 10% {mib(at[0.1])}, 50% {mib(at[0.5])}, 100% {mib(at[1.0])}")
    print(f"peak RSS of the process (VmHWM): {mib(status_kib('VmHWM'))}")
    values = [kib for _, kib in live]
    n = len(values)
    print("after gc.collect at month starts (and after the last day): GC-tracked objects / allocated blocks "
          "(every object, strings too): " + ", ".join(f"{d:%m-%d} {c:,}/{b:,}" for d, c, b in objects))
    if n < 8:
        print("memory verdict: too few days to judge")
        return
    q = n // 4
    second, last = max(values[q:2 * q]), max(values[n - q:])
    allowed = max(second * GROWTH_RATIO, GROWTH_MIB * 1024)
    grows = last - second > allowed
    print(f"memory verdict (live RSS): max over the last quarter {mib(last)} vs the second quarter {mib(second)} "
          f"(allowed +{mib(allowed)}: max of {GROWTH_RATIO:.0%} and {GROWTH_MIB} MiB) -> "
          + ("GROWS" if grows else "does not grow"))


if __name__ == "__main__":
    sys.exit(main())
