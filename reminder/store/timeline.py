"""The latest time the store has seen, and recovering from a clock that went back past it.

A server whose clock ran far ahead (a dead RTC battery, a bad NTP answer) and was then corrected leaves
times in the store that lie in the corrected clock's future: every assignment's next check (so nothing
would be planned for years), retries due years ahead, leases and claims stamped in the future. Each tick
records the time it ran for (``settings.clock_seen``); when a tick's time lies more than ``CLOCK_JUMP``
before the latest stored time (that mark, the newest message, delivery or notice), the clock went back:
:func:`check_clock` recomputes from the corrected clock what the wrong one decided, in one transaction.

* Next checks ahead of now are reset, so the next planning pass looks at those assignments again and
  computes their next checks from the corrected clock. Planning is level-triggered and every notice is
  keyed by the day it fires, so this sends only what is due by the corrected clock and not sent yet.
* Retries due later than any delay delivery would choose (``max_delay``) are due now.
* Claims stamped in the future by a holder that holds no believed lease go back to the queue.
  (Leases renewed in the future are not believed anyway: see :mod:`~reminder.store.lease`.)

Small jumps back (less than ``CLOCK_JUMP``) need nothing: the next checks they leave fire a little late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from reminder.store.base import LOOK_NOW, timestamp, transaction
from reminder.store.lease import LIVE_SQL, live_params

CLOCK_JUMP = timedelta(hours=1)
"""How far back past the stored times a clock must go to count as corrected from a wrong time."""

SEEN = "clock_seen"
FORGIVEN = "clock_forgiven"
"""The latest wrong-clock time a recovery answered for: rows up to it are not a jump again."""


@dataclass(frozen=True)
class ClockJump:
    """A clock that went back: the latest time the store held, the clock now, and what was recomputed."""

    seen: datetime
    now: datetime
    next_checks: int
    retries: int
    claims: int

    def describe(self) -> str:
        return (f"the clock went back: the database holds times up to {self.seen.isoformat()}, but it is "
                f"{self.now.isoformat()} now. The clock was wrong (ahead) and has been corrected; recovered: "
                f"{self.next_checks} assignments are planned again from the corrected time, {self.retries} "
                f"retries are due now, {self.claims} claims stamped in the future went back to the queue. "
                "Check the server's time source (NTP) if this was not a deliberate correction")


def latest_stored_time(db: sqlite_utils.Database) -> datetime | None:
    """The latest time a tick ran for or a row was written at: the mark, the newest message, delivery
    and notice (each the row with the highest id, so this reads four rows). Rows a recovery already
    answered for (written by the wrong clock, up to ``clock_forgiven``) no longer count: a corrected
    clock with nothing to send for a while (a night) must not be reported as going back at every tick."""
    settings = {name: value for name, value in db.execute(
        "SELECT name, value FROM settings WHERE name IN (?, ?)", [SEEN, FORGIVEN])}
    rows = [datetime.fromisoformat(r[0]) for r in db.execute("""
        SELECT created_at FROM (SELECT created_at FROM messages ORDER BY id DESC LIMIT 1)
        UNION ALL SELECT at FROM (SELECT at FROM deliveries ORDER BY id DESC LIMIT 1)
        UNION ALL SELECT created_at FROM (SELECT created_at FROM notices ORDER BY id DESC LIMIT 1)""") if r[0]]
    forgiven = datetime.fromisoformat(settings[FORGIVEN]) if FORGIVEN in settings else None
    found = [t for t in rows if forgiven is None or t > forgiven]
    if SEEN in settings:
        found.append(datetime.fromisoformat(settings[SEEN]))
    return max(found) if found else None


def check_clock(db: sqlite_utils.Database, now: datetime, max_delay: timedelta) -> ClockJump | None:
    """Record ``now`` as seen; if the store holds times more than ``CLOCK_JUMP`` after it, recover (see the
    module docstring) and say what was done. ``max_delay`` is the longest wait delivery ever sets."""
    when = timestamp(now)
    with transaction(db, "check the clock against the stored times"):
        seen = latest_stored_time(db)
        jump = None
        if seen is not None and seen > now + CLOCK_JUMP:
            jump = _recover(db, now, seen, max_delay)
            _set(db, FORGIVEN, timestamp(seen))
        mark = when if jump or seen is None or seen < now else timestamp(seen)
        _set(db, SEEN, mark)
    return jump


def _set(db: sqlite_utils.Database, name: str, value: str) -> None:
    db.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = "
               "excluded.value", [name, value])


def _recover(db: sqlite_utils.Database, now: datetime, seen: datetime, max_delay: timedelta) -> ClockJump:
    when = timestamp(now)
    checks = db.execute("UPDATE assignments SET next_check_at = ? WHERE next_check_at > ?", [LOOK_NOW, when])
    retries = db.execute("""UPDATE messages SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?""",
                         [when, timestamp(now + max_delay)])
    claims = db.execute(f"""UPDATE messages SET status = 'pending', claimed_by = NULL, next_attempt_at = :now
                           WHERE status = 'sending' AND claimed_at > :ahead AND NOT EXISTS (
                               SELECT 1 FROM locks WHERE locks.holder = messages.claimed_by AND {LIVE_SQL})""",
                        {"now": when, **live_params(now)})
    return ClockJump(seen=seen, now=now, next_checks=checks.rowcount, retries=retries.rowcount,
                     claims=claims.rowcount)
