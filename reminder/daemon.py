"""``reminder run``: APScheduler decides *when*; ``tick`` and ``digest`` decide *what*.

* A tick runs at start-up (catching up whatever fell due while the service was down; the planner
  coalesces stale stages) and then every ``tick_seconds``; the digest runs daily at ``digest_hour``
  on working days. Jobs coalesce and never overlap.
* Only one daemon delivers from one database: each tick renews a lease in the ``locks`` table, and
  a long delivery renews it between messages. A second daemon stands by while the lease is held and
  takes over once it expires (the first died); it then puts the messages the dead one had claimed
  back in the queue at once. A daemon that finds mid-tick that it lost the lease stops delivering.
* SIGTERM / SIGINT stop the scheduler after the message in flight; claimed but unsent messages go
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
import time
from typing import Any

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
        self.scheduler: Any = None  # the APScheduler BlockingScheduler, once run() made it
        self._renewed_at = 0.0  # time.monotonic() of the last lease renewal

    def run(self) -> None:
        """Block until SIGTERM/SIGINT."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = self.scheduler = BlockingScheduler(
            timezone=self.config.timezone, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        scheduler.add_job(self.tick, IntervalTrigger(seconds=self.tick_seconds, timezone=self.config.timezone),
                          id="tick", next_run_time=clock.now(self.config.timezone))
        scheduler.add_job(self.digest, CronTrigger(hour=self.config.digest_hour, timezone=self.config.timezone),
                          id="digest")
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("reminder daemon %s started: tick every %ss, digest at %s:00", self.holder,
                 self.tick_seconds, self.config.digest_hour)
        scheduler.start()
        self._release()
        log.info("reminder daemon %s stopped", self.holder)

    def tick(self) -> None:
        from reminder.tick import run_tick

        db = store.open_db(self.db_path)
        try:
            now = clock.now(self.config.timezone)
            if not self._lease(db, now):
                held = store.lock_holder(db, LOCK_NAME)
                log.info("another daemon (%s) is delivering from this database; standing by",
                         held.holder if held else None)
                return
            # This process delivers in one worker thread, so any message it still has claimed was left
            # by a tick that failed midway (a lock past the busy timeout): queue it again now.
            store.release_claims(db, self.holder)
            report = run_tick(db, self.config, now, holder=self.holder,
                              should_stop=lambda: self._should_stop(db))
            if report.notices or (report.delivered and (report.delivered.sent or report.delivered.retry)):
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
            if self._lease(db, now):
                log.info("digest: %s", run_digest(db, self.config, now, holder=self.holder).as_dict())
        except Exception:
            log.exception("digest failed; it is rebuilt from the database next time")
        finally:
            db.close()

    def _lease(self, db, now) -> bool:
        """Take or renew the deliverer lease; taking it from a dead daemon frees what that one claimed."""
        held = store.acquire_lock(db, LOCK_NAME, self.holder, now, self.lease_seconds, reclaim_messages=True)
        if held:
            self._renewed_at = time.monotonic()
        return held

    def _should_stop(self, db) -> bool:
        """Asked before each message: stop on SIGTERM, or once the lease is lost.

        A delivery can outlast the lease (a slow mail server, hundreds of messages), and a standby
        daemon would then take over and re-queue our claims while we are still sending them. So the
        lease is renewed here, every third of its length; if another daemon has it already, we stop
        and our remaining claims go back to the queue for it.
        """
        if self.stopping.is_set():
            return True
        if time.monotonic() - self._renewed_at < self.lease_seconds / 3:
            return False
        if self._lease(db, clock.now(self.config.timezone)):
            return False
        log.warning("the deliverer lease passed to another daemon during this tick; stopping delivery")
        return True

    def _stop(self, signum, frame) -> None:
        log.info("signal %s: stopping after the message in flight", signum)
        self.stopping.set()
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    def _release(self) -> None:
        db = store.open_db(self.db_path)
        try:
            store.release_claims(db, self.holder)
            store.release_lock(db, LOCK_NAME, self.holder)
        finally:
            db.close()
