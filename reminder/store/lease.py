"""Named leases in the ``locks`` table, such as the single-deliverer lease the daemon renews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from reminder.store.base import timestamp, transaction


@dataclass(frozen=True)
class Lease:
    """Who holds a named lease, since when, and until when unless renewed."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def acquire_lock(db: sqlite_utils.Database, name: str, holder: str, now: datetime, ttl_seconds: int,
                 *, reclaim_messages: bool = False) -> bool:
    """Take or renew the named lease; True when ``holder`` has it. An expired lease is taken over,
    so a second daemon waits while the first renews, and takes over when the first dies.

    With ``reclaim_messages``, taking the lease over from another holder also puts the messages that
    holder left in 'sending' back in the queue, in the same transaction. Its lease expired, so it
    stopped renewing it: it died (kill -9, power loss) or lost the database, and will never record
    what became of them. Without this they would wait for :func:`claim_messages`' stale takeover
    (ten minutes). The one message in flight when it died may go out twice; see ``reminder.delivery``.
    """
    with transaction(db, f"take the {name} lock"):
        before = db.execute("SELECT holder FROM locks WHERE name = ?", [name]).fetchone()
        # The upsert changes a row (rowcount 1) exactly when the lease is free, ours, or expired.
        cursor = db.execute("""INSERT INTO locks (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
                      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                          acquired_at = CASE WHEN locks.holder = excluded.holder THEN locks.acquired_at
                                             ELSE excluded.acquired_at END,
                          expires_at = excluded.expires_at
                      WHERE locks.holder = excluded.holder OR locks.expires_at < excluded.acquired_at""",
                   [name, holder, timestamp(now), timestamp(now + timedelta(seconds=ttl_seconds))])
        held = cursor.rowcount == 1
        if held and reclaim_messages and before and before[0] != holder:
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


