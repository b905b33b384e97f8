"""Named leases in the ``locks`` table: the single-deliverer lease the daemon renews, and each deliverer's
claims lease (``claims:<holder>``), which says its claimed messages are still being sent.

A lease is believed only while its expiry is ahead and it was not renewed in the reader's future: a
renewal stamped later than ``now + CLOCK_SLACK`` was written by a clock that ran ahead (then corrected),
and its expiry, perhaps years ahead, means nothing. Such a lease counts as expired, and taking it over
logs loudly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from reminder.store.base import timestamp, transaction

log = logging.getLogger(__name__)

CLOCK_SLACK = timedelta(minutes=5)
"""How far in the future a stored time may lie before it is taken for the mark of a clock that ran
ahead: processes on one server share one clock, so anything beyond a correction's jitter."""

LIVE_SQL = "(expires_at >= :live AND coalesce(renewed_at, acquired_at) <= :ahead)"
"""A ``locks`` row that is believed at ``:live`` (``:ahead`` = ``:live`` + CLOCK_SLACK)."""


@dataclass(frozen=True)
class Lease:
    """Who holds a named lease, since when, and until when unless renewed."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def claims_lock(holder: str) -> str:
    """The name of ``holder``'s claims lease."""
    return f"claims:{holder}"


def live_params(now: datetime) -> dict[str, str]:
    """The parameters of :data:`LIVE_SQL` at ``now``."""
    return {"live": timestamp(now), "ahead": timestamp(now + CLOCK_SLACK)}


def acquire_lock(db: sqlite_utils.Database, name: str, holder: str, now: datetime, ttl_seconds: float,
                 *, reclaim_messages: bool = False) -> bool:
    """Take or renew the named lease; True when ``holder`` has it. An expired lease is taken over,
    so a second daemon waits while the first renews, and takes over when the first dies. A lease
    renewed in our future (a clock that ran ahead) counts as expired.

    With ``reclaim_messages``, taking the lease over from another holder also puts the messages that
    holder left in 'sending' back in the queue, in the same transaction. Its lease expired, so it
    stopped renewing it: it died (kill -9, power loss) or lost the database, and will never record
    what became of them. The one message in flight when it died may go out twice; see ``reminder.delivery``.
    """
    params = {"name": name, "holder": holder, "at": timestamp(now),
              "expires": timestamp(now + timedelta(seconds=ttl_seconds)), **live_params(now)}
    with transaction(db, f"take the {name} lock"):
        before = db.execute(f"SELECT holder, {LIVE_SQL}, expires_at FROM locks WHERE name = :name",
                            params).fetchone()
        # The upsert changes a row (rowcount 1) exactly when the lease is free, ours, or not believed.
        cursor = db.execute("""INSERT INTO locks (name, holder, acquired_at, expires_at, renewed_at)
                      VALUES (:name, :holder, :at, :expires, :at)
                      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                          acquired_at = CASE WHEN locks.holder = excluded.holder THEN locks.acquired_at
                                             ELSE excluded.acquired_at END,
                          expires_at = excluded.expires_at, renewed_at = excluded.renewed_at
                      WHERE locks.holder = excluded.holder OR NOT (locks.expires_at >= :live
                            AND coalesce(locks.renewed_at, locks.acquired_at) <= :ahead)""", params)
        held = cursor.rowcount == 1
        if held and before and before[0] != holder:
            if before[2] >= params["live"]:  # not expired, yet not believed: renewed in our future
                log.error("the %s lease of %s was renewed by a clock ahead of this one (it runs until %s, now is "
                          "%s): the clock was wrong and has been corrected; the lease is taken over", name,
                          before[0], before[2], params["at"])
            if reclaim_messages:
                db.execute("""UPDATE messages SET status = 'pending', claimed_by = NULL
                              WHERE status = 'sending' AND claimed_by = ?""", [before[0]])
    return held


def release_lock(db: sqlite_utils.Database, name: str, holder: str) -> bool:
    """Give the lease up; False when ``holder`` did not hold it (it expired and another took it)."""
    with transaction(db, f"release the {name} lock"):
        cursor = db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", [name, holder])
    return cursor.rowcount == 1


def lock_holder(db: sqlite_utils.Database, name: str) -> Lease | None:
    row = db.execute("SELECT name, holder, acquired_at, expires_at FROM locks WHERE name = ?", [name]).fetchone()
    if row is None:
        return None
    return Lease(row[0], row[1], datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3]))
