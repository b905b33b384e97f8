"""``reminder run``: APScheduler decides *when*; ``tick`` and ``digest`` decide *what*.

* A tick runs at start-up (catching up whatever fell due while the service was down; the planner
  coalesces stale stages) and then every ``tick_seconds``; the digest runs daily at ``digest_hour``
  on working days. Jobs coalesce and never overlap.
* Only one daemon delivers from one database: each tick takes or renews a lease in the ``locks`` table,
  and while a tick or digest runs a heartbeat thread renews it every third of its length, however long
  one message takes (``reminder.heartbeat``). A second daemon stands by while the lease is held and
  takes over once it expires (the first died); it then puts the messages the dead one had claimed
  back in the queue at once. A daemon that finds mid-tick that it lost the lease stops delivering
  before its next message, so a takeover repeats at most the one message in flight.
* Before each tick the stored times are checked against the clock: a clock that went back past them
  (it ran ahead and was corrected) is logged loudly and recovered from (``reminder.store.timeline``).
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
from datetime import timedelta
from typing import Any

from reminder import clock, store
from reminder.heartbeat import Heartbeat
from reminder.model import SANE_YEARS, year_is_sane
from reminder.present import delivery_summary, tick_line

log = logging.getLogger("reminder.daemon")

LOCK_NAME = "deliverer"


def recover_clock(db, config, now) -> store.ClockJump | None:
    """Check ``now`` against the stored times; a clock that went back past them (it ran ahead and was
    corrected) is logged loudly and recovered from (``reminder.store.timeline``)."""
    from reminder.delivery import MAX_BACKOFF_SECONDS

    longest = timedelta(seconds=max(MAX_BACKOFF_SECONDS, config.policy.max_retry_after_seconds))
    jump = store.check_clock(db, now, longest)
    if jump is not None:
        log.error("%s", jump.describe())
    return jump


def default_lease_seconds(tick_seconds: int) -> int:
    """The deliverer lease unless ``--lease-seconds`` says otherwise: three ticks, at least 30 s."""
    return max(30, 3 * tick_seconds)


STARTUP_WAIT_S = 60.0
"""How long a stop signal waits for a starting scheduler to run before giving up on stopping it."""


class Daemon:
    def __init__(self, config, db_path, tick_seconds: int = 60, lease_seconds: int | None = None):
        self.config = config
        self.db_path = db_path
        self.tick_seconds = tick_seconds
        self.lease_seconds = lease_seconds or default_lease_seconds(tick_seconds)
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.started = threading.Event()  # the scheduler exists and is about to run
        self.scheduler: Any = None  # the APScheduler BlockingScheduler, once run() made it
        self.standing_by: bool | None = None  # None until the first tick knows whether it delivers
        self.quiet_ticks_logged = False        # the start-up tick logs its line even when it sent nothing

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
        log.info("reminder daemon %s started: tick every %ss, digest at %s:00 (%s) on working days, "
                 "database %s", self.holder, self.tick_seconds, self.config.digest_hour, self.config.timezone,
                 self.db_path)
        self.started.set()
        if not self.stopping.is_set():  # a signal that came while starting up stops it here
            scheduler.start()
        self._release()
        log.info("reminder daemon %s stopped", self.holder)

    def tick(self) -> None:
        from reminder.tick import run_tick

        now = clock.now(self.config.timezone)
        if not year_is_sane(now.year):
            log.error("the clock says %s, outside the years %s-%s: it is broken; nothing is planned or sent until "
                      "it is set right", now.isoformat(), *SANE_YEARS)
            return
        db = store.open_db(self.db_path)
        try:
            if not self._lease(db, now):
                self._stand_by(db)
                return
            self._deliver()
            recover_clock(db, self.config, now)
            # This process delivers in one worker thread, so any message it still has claimed was left
            # by a tick that failed midway (a lock past the busy timeout): queue it again now.
            store.release_claims(db, self.holder)
            with self._keep_lease() as beat:
                report = run_tick(db, self.config, now, holder=self.holder,
                                  should_stop=lambda: self._should_stop(beat))
            self._log_tick(report, now)
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
                with self._keep_lease():
                    summary = run_digest(db, self.config, now, holder=self.holder)
                log.info("digest %s: %s", summary.subject, delivery_summary(summary.delivered, self.config, "汇总")
                         or ("not sent: outside the sending window" if summary.waiting_until else "nothing sent"))
        except Exception:
            log.exception("digest failed; it is rebuilt from the database next time")
        finally:
            db.close()

    def _log_tick(self, report, now) -> None:
        """One human line per tick that sent or failed something, and for the start-up tick (so a newcomer
        sees that it works, or when the next sending moment is); another quiet tick only with ``run -v``
        (at debug level), so a week's log is a list of what went out."""
        line = tick_line(report, now, self.config)
        first, self.quiet_ticks_logged = not self.quiet_ticks_logged, True
        if report.notices or report.delivered or first:
            log.info("%s", line)
        else:
            log.debug("%s", line)
        for unit in report.unroutable:
            log.warning("no contact for %s; add it to [[units]] or set fallback_channel", unit)

    def _stand_by(self, db) -> None:
        """Say once that another daemon delivers and this one stands by (not at every tick)."""
        if self.standing_by:
            log.debug("still standing by")
            return
        self.standing_by = True
        held = store.lock_holder(db, LOCK_NAME)
        log.info("another daemon (%s) is delivering from this database; standing by, and taking over if its "
                 "lease (%ss) runs out", held.holder if held else None, self.lease_seconds)

    def _deliver(self) -> None:
        """Say when this daemon starts delivering: at the first tick, and again when it takes over."""
        if self.standing_by is False:
            return
        log.info("%s", "the other daemon's lease ran out; taking over delivery" if self.standing_by
                 else "delivering from this database")
        self.standing_by = False

    def _lease(self, db, now) -> bool:
        """Take or renew the deliverer lease; taking it from a dead daemon frees what that one claimed."""
        return store.acquire_lock(db, LOCK_NAME, self.holder, now, self.lease_seconds, reclaim_messages=True)

    def _keep_lease(self) -> Heartbeat:
        """The lease, renewed from a thread of its own while a job runs (see ``reminder.heartbeat``)."""
        return Heartbeat(str(self.db_path), LOCK_NAME, self.holder, self.lease_seconds,
                         lambda: clock.now(self.config.timezone))

    def _should_stop(self, beat: Heartbeat) -> bool:
        """Asked before each message: stop on SIGTERM, or once the lease is lost (a standby took it
        over: it holds our claims now, and sending on would repeat them)."""
        if beat.lost.is_set():
            log.warning("the deliverer lease passed to another daemon during this tick; stopping delivery")
            return True
        return self.stopping.is_set()

    def _stop(self, signum, frame) -> None:
        log.info("%s: stopping after the message in flight", signal.Signals(signum).name)
        self.stopping.set()
        threading.Thread(target=self._shutdown, daemon=True).start()

    def _shutdown(self) -> None:
        """Stop the scheduler once it runs. A signal can come while the service starts (systemd stopping
        it during a slow first start): then ``run`` sees ``stopping`` and never starts the scheduler, or
        the scheduler is between being made and running, and this waits for it rather than failing."""
        from apscheduler.schedulers import SchedulerNotRunningError

        if not self.started.wait(STARTUP_WAIT_S):
            return
        deadline = time.monotonic() + STARTUP_WAIT_S
        while time.monotonic() < deadline:
            try:
                self.scheduler.shutdown(wait=True)
                return
            except SchedulerNotRunningError:  # made, not running yet (or never: run() saw the signal)
                time.sleep(0.05)

    def _release(self) -> None:
        db = store.open_db(self.db_path)
        try:
            store.release_claims(db, self.holder)
            store.release_lock(db, LOCK_NAME, self.holder)
        finally:
            db.close()
