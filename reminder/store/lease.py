"""Named leases in the ``locks`` table, such as the single-deliverer lease the daemon renews."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from reminder.store.base import timestamp, transaction

# --------------------------------------------------------------------------------------------------
# The single-deliverer lease, and digest snapshots.

def acquire_lock(db: sqlite_utils.Database, name: str, holder: str, now: datetime, ttl_seconds: int,
                 *, reclaim_messages: bool = False) -> bool:
    """Take or renew the named lease; True when ``holder`` has it. An expired lease is taken over,
    so a second daemon waits while the first renews, and takes over when the first dies.

    With ``reclaim_messages``, taking the lease over from another holder also puts the messages that
    holder left in 'sending' back in the queue, in the same transaction. Its lease expired, so it
    stopped renewing it: it died (kill -9, power loss) or lost the database, and will never record
    what became of them. Without this they would wait for :func:`claim_messages`' stale takeover
    (ten minutes). The one message in flight when it died may go out twice; see ``reminder.outbox``.
    """
    with transaction(db, f"take the {name} lock"):
        before = db.execute("SELECT holder FROM locks WHERE name = ?", [name]).fetchone()
        db.execute("""INSERT INTO locks (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
                      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                          acquired_at = CASE WHEN locks.holder = excluded.holder THEN locks.acquired_at
                                             ELSE excluded.acquired_at END,
                          expires_at = excluded.expires_at
                      WHERE locks.holder = excluded.holder OR locks.expires_at < excluded.acquired_at""",
                   [name, holder, timestamp(now), timestamp(now + timedelta(seconds=ttl_seconds))])
        row = db.execute("SELECT holder FROM locks WHERE name = ?", [name]).fetchone()
        held = bool(row) and row[0] == holder
        if held and reclaim_messages and before and before[0] != holder:
            db.execute("""UPDATE messages SET status = 'pending', claimed_by = NULL
                          WHERE status = 'sending' AND claimed_by = ?""", [before[0]])
    return held


def release_lock(db: sqlite_utils.Database, name: str, holder: str) -> None:
    with transaction(db, f"release the {name} lock"):
        db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", [name, holder])


def lock_holder(db: sqlite_utils.Database, name: str) -> dict | None:
    rows = list(db.query("SELECT * FROM locks WHERE name = ?", [name]))
    return dict(rows[0]) if rows else None


