"""``reminder run``: APScheduler decides *when*; ``tick`` and ``digest`` decide *what*.

* A tick runs at start-up (catching up whatever fell due while the service was down; the planner
  coalesces stale stages) and then every ``tick_seconds``; the digest runs daily at ``digest_hour``
  on working days. Jobs coalesce and never overlap.
* Only one daemon delivers from one database: each tick renews a lease in the ``locks`` table. A
  second daemon stands by while the lease is held and takes over once it expires (the first died).
* SIGTERM / SIGINT stop the scheduler after the batch in flight; claimed but unsent messages go
  back to the queue, and the lease is released so a successor can start at once.

Each job opens its own SQLite connection: APScheduler runs jobs in a worker thread, and a
connection belongs to the thread that made it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from reminder import clock, store

log = logging.getLogger("reminder.daemon")

LOCK_NAME = "deliverer"


class Daemon:
    def __init__(self, config, db_path, tick_seconds: int = 60):
        self.config = config
        self.db_path = db_path
        self.tick_seconds = tick_seconds
        self.lease_seconds = max(30, 3 * tick_seconds)
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.scheduler = None

    def run(self) -> None:
        """Block until SIGTERM/SIGINT."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler = BlockingScheduler(
            timezone=self.config.timezone, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self.scheduler.add_job(self.tick, IntervalTrigger(seconds=self.tick_seconds, timezone=self.config.timezone),
                               id="tick", next_run_time=clock.now(self.config.timezone))
        self.scheduler.add_job(self.digest, CronTrigger(hour=self.config.digest_hour, timezone=self.config.timezone),
                               id="digest")
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("reminder daemon %s started: tick every %ss, digest at %s:00", self.holder,
                 self.tick_seconds, self.config.digest_hour)
        self.scheduler.start()
        self._release()
        log.info("reminder daemon %s stopped", self.holder)

    def tick(self) -> None:
        from reminder.tick import run_tick

        db = store.open_db(self.db_path)
        try:
            now = clock.now(self.config.timezone)
            if not store.acquire_lock(db, LOCK_NAME, self.holder, now, self.lease_seconds):
                held = store.lock_holder(db, LOCK_NAME) or {}
                log.info("another daemon (%s) is delivering from this database; standing by", held.get("holder"))
                return
            report = run_tick(db, self.config, now, holder=self.holder, should_stop=self.stopping.is_set)
            if report.notices or report.delivered.get("sent") or report.delivered.get("retry"):
                log.info("tick: %s", report.as_dict() | {"preview": None})
        except Exception:
            log.exception("tick failed; the next tick retries")
        finally:
            db.close()

    def digest(self) -> None:
        from reminder.digest import run_digest

        db = store.open_db(self.db_path)
        try:
            now = clock.now(self.config.timezone)
            if not self.config.working_calendar().is_workday(now.date()):
                return
            if store.acquire_lock(db, LOCK_NAME, self.holder, now, self.lease_seconds):
                log.info("digest: %s", run_digest(db, self.config, now, holder=self.holder))
        except Exception:
            log.exception("digest failed; it is rebuilt from the database next time")
        finally:
            db.close()

    def _stop(self, signum, frame) -> None:
        log.info("signal %s: stopping after the batch in flight", signum)
        self.stopping.set()
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    def _release(self) -> None:
        db = store.open_db(self.db_path)
        try:
            store.release_claims(db, self.holder)
            store.release_lock(db, LOCK_NAME, self.holder)
        finally:
            db.close()
