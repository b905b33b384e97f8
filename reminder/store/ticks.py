"""What one planning pass writes, and the preview that writes nothing.

A tick's notices are stored with the messages that carry them. A message may carry the notices of several
units (a mailbox or a robot they share) and a unit's notices may travel in several messages (its own
mailbox and the shared robot), so each message names the keys of the notices it carries (``Carried``)
and is linked to them by key, all in one transaction with the notices and the assignments' next checks
(:func:`record_plan`). The writing itself is the outbox's (``reminder.store.outbox.enqueue``).

:func:`preview` runs a pass (refreshes, planning, the digest's reads) inside a transaction that is rolled
back: what `reminder tick --dry-run` and `reminder digest --dry-run` show is what a real pass would do
with the config as it is now, and the database is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from reminder.model import Notice, NoticeRoute, OutboxMessage
from reminder.store.base import LOOK_NOW, chunks, db_path, fault, timestamp, to_json, transaction
from reminder.store.outbox import NoticeBatch, enqueue


@dataclass(frozen=True)
class Carried:
    """A message for the outbox and the keys of the notices it carries (one unit's, or several units'
    when they share its address)."""

    message: OutboxMessage
    notice_keys: tuple[str, ...]


def record_plan(db: sqlite_utils.Database, notices: Sequence[tuple[Notice, NoticeRoute]], messages: Sequence[Carried],
                next_checks: Sequence[tuple[int, datetime | None]], now: datetime) -> int:
    """Store a pass in one transaction: the new notices (each with where it went), the messages and their
    links to the notices they carry, and when to look at each assignment again. Returns the number of
    messages inserted; a notice or message already stored (another pass got there first) is left alone."""
    by_route: dict[NoticeRoute, list[Notice]] = {}
    for notice, route in notices:
        by_route.setdefault(route, []).append(notice)
    batches = [NoticeBatch(found, route) for route, found in by_route.items()]
    batches.append(NoticeBatch((), NoticeRoute.QUEUED, [carried.message for carried in messages]))
    with transaction(db, "record planned notices and messages"):
        inserted = enqueue(db, batches, next_checks, now)
        _link(db, messages)
    return inserted


def _link(db: sqlite_utils.Database, messages: Sequence[Carried]) -> None:
    """Link each message to the notices it carries, by key (a repeat of a link is ignored)."""
    for carried in messages:
        for keys in chunks(list(carried.notice_keys)):
            db.execute("""INSERT OR IGNORE INTO message_notices (message_id, notice_id)
                          SELECT m.id, n.id FROM messages m, notices n
                          WHERE m.key = ? AND n.key IN (SELECT value FROM json_each(?))""",
                       [carried.message.key, to_json(keys)])


@contextmanager
def preview(db: sqlite_utils.Database) -> Iterator[None]:
    """Run the block in a transaction that is always rolled back: reads see its writes, nothing stays.

    The write lock is held meanwhile (another writer waits up to the busy timeout), so keep it short.
    """
    import sqlite3

    if db.conn.in_transaction:
        db.conn.execute("SAVEPOINT preview")
        try:
            yield
        finally:
            db.conn.execute("ROLLBACK TO preview")
            db.conn.execute("RELEASE preview")
        return
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise fault(db_path(db), exc, "start a preview") from exc
    try:
        yield
    finally:
        db.conn.execute("ROLLBACK")


def plan_as_of(db: sqlite_utils.Database, now: datetime) -> int:
    """For a preview of ``now``: every open assignment the unit got after ``now`` (a date before the
    import) or whose schedule started over after it is looked at too, as if it had been there all along.
    Only for use inside :func:`preview`. Returns how many."""
    cursor = db.execute("""UPDATE assignments SET next_check_at = ?
                           WHERE removed_at IS NULL AND status = 'open'
                             AND (assigned_at > ? OR planned_from > ? OR created_at > ?)""",
                        [LOOK_NOW, *([timestamp(now)] * 3)])
    return cursor.rowcount
