"""The outbox's state machine.

* **enqueue**: a tick's new notices and the messages that carry them are written together, each message
  with its notices in one pass (the link rows in ``message_notices``), before anything is sent;
* **claim**: a deliverer takes due messages with one conditional UPDATE, so no two deliverers send one,
  and holds them under its claims lease (``claims:<holder>``, see :mod:`~reminder.store.lease`): another
  deliverer takes them over only once that lease has expired;
* **mark**: each attempt's result is recorded as soon as it is known (sent; pending again at a later
  time; dead), only by the deliverer that holds the claim; an attempt of unknown outcome is counted
  apart (``unknown_attempts``); a message not tried because its endpoint was down is **deferred**;
* **retry**: a person puts a dead message back in the queue (never one that is being sent).

Rows are never deleted; after ``retention_days`` the bodies of sent messages are dropped, their subject
and delivery record kept (:func:`drop_old_bodies`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from reminder.errors import LostClaim, StoreError
from reminder.model import (
    DeliveryOutcome,
    MessageListing,
    MessageStatus,
    Notice,
    NoticeRoute,
    OutboxMessage,
    Route,
)
from reminder.store.base import chunks, expect_one, timestamp, transaction
from reminder.store.lease import LIVE_SQL, claims_lock, live_params

STALE_CLAIM_SECONDS = 600
"""A message left 'sending' this long by a holder that never had a lease row (claimed by a version before
claims leases) is claimed again."""

ERROR_CHARS = 500
"""Stored error texts are cut to this length."""


@dataclass(frozen=True)
class NoticeBatch:
    """What one planning pass writes for one unit: its new notices, where they went, and the messages
    that carry them (one per route; none when the notices are the office's or the unit is unroutable)."""

    notices: Sequence[Notice]
    route: NoticeRoute
    messages: Sequence[OutboxMessage] = ()


def existing_notice_keys(db: sqlite_utils.Database, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are stored already (the planner proposes; only new notices are written)."""
    found: set[str] = set()
    for chunk in chunks(list(keys)):
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(f"SELECT key FROM notices WHERE key IN ({marks})", chunk))
    return found


def enqueue(db: sqlite_utils.Database, batches: Iterable[NoticeBatch],
            next_checks: Sequence[tuple[int, datetime | None]], now: datetime) -> int:
    """Write a planning pass in one transaction: notices, the messages carrying them with their links, and
    when to look at each assignment again. Returns the number of messages inserted.

    A notice or message whose key is stored already is left alone (another tick got there first), and
    a message that was there already gets no new links.
    """
    when = timestamp(now)
    inserted = 0
    with transaction(db, "record planned notices"):
        for batch in batches:
            notice_ids = _insert_notices(db, batch.notices, batch.route, when)
            for message in batch.messages:
                message_id = _insert_message(db, message, when)
                if message_id is None:
                    continue
                inserted += 1
                db.conn.executemany("INSERT INTO message_notices (message_id, notice_id) VALUES (?, ?)",
                                    ((message_id, notice_id) for notice_id in notice_ids))
        db.conn.executemany("UPDATE assignments SET next_check_at = ? WHERE id = ?",
                            ((timestamp(next_at) if next_at else None, assignment_id)
                             for assignment_id, next_at in next_checks))
    return inserted


NOTICE_COLUMNS = ("key", "assignment_id", "unit", "stage", "period", "due", "inferred", "late", "milestone",
                  "fire_at", "route", "created_at")


NOTICES_PER_STATEMENT = 64
"""Notices inserted by one statement. One fixed size (the rest go one by one), so the connection's
statement cache holds two compiled INSERTs, not one per batch length."""


def _insert_notices(db: sqlite_utils.Database, notices: Sequence[Notice], route: NoticeRoute, when: str) -> list[int]:
    """Insert the notices; the ids of those that were not there yet."""
    ids: list[int] = []
    full = len(notices) - len(notices) % NOTICES_PER_STATEMENT
    batches = [notices[i:i + NOTICES_PER_STATEMENT] for i in range(0, full, NOTICES_PER_STATEMENT)]
    for batch in batches + [[n] for n in notices[full:]]:
        marks = ",".join(["(" + ",".join("?" * len(NOTICE_COLUMNS)) + ")"] * len(batch))
        params = [value for n in batch for value in (
            n.key, n.assignment.id, n.unit, str(n.stage), n.period or "", n.due.isoformat() if n.due else None,
            int(n.due_inferred), int(n.late), n.milestone, timestamp(n.fire_at), str(route), when)]
        cursor = db.conn.execute(f"INSERT OR IGNORE INTO notices ({', '.join(NOTICE_COLUMNS)}) VALUES {marks} "
                                 "RETURNING id", params)
        ids.extend(row[0] for row in cursor.fetchall())
    return ids


def _insert_message(db: sqlite_utils.Database, message: OutboxMessage, when: str) -> int | None:
    cursor = db.conn.execute(
        """INSERT OR IGNORE INTO messages (key, unit, channel, destination, route, subject, text, html, markdown,
                                           status, attempts, next_attempt_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)""",
        [message.key, message.unit, message.route.channel, message.route.destination, message.route.id,
         message.subject, message.text or "", message.html, message.markdown, when, when])
    return cursor.lastrowid if cursor.rowcount == 1 else None


# --------------------------------------------------------------------------------------------------
# Claim, mark, retry.

def _message(row: Mapping) -> OutboxMessage:
    """A messages row as an OutboxMessage (with its body when the row has it)."""
    def instant(name: str) -> datetime | None:
        return datetime.fromisoformat(row[name]) if row.get(name) else None

    return OutboxMessage(
        key=row["key"], unit=row["unit"],
        route=Route(id=row.get("route") or "", channel=row["channel"], destination=row["destination"]),
        subject=row["subject"], text=None if row.get("body_dropped_at") else row.get("text"),
        html=row.get("html"), markdown=row.get("markdown"),
        id=row["id"], status=MessageStatus(row["status"]), attempts=row["attempts"],
        next_attempt_at=instant("next_attempt_at"), last_error=row["last_error"],
        created_at=instant("created_at"), sent_at=instant("sent_at"),
        unknown_attempts=row.get("unknown_attempts") or 0)


_ORPHANED = f"""status = 'sending' AND NOT EXISTS (
        SELECT 1 FROM locks WHERE locks.holder = messages.claimed_by AND {LIVE_SQL})
    AND (EXISTS (SELECT 1 FROM locks WHERE locks.holder = messages.claimed_by)
         OR claimed_at < :stale OR claimed_at > :ahead)"""
"""A 'sending' message whose claimer is gone: no lease of its holder is believed any more, and either
the holder had one (it expired: the process died), or the claim is older than STALE_CLAIM_SECONDS, or
it was stamped in our future (by a clock that ran ahead)."""


def claim_messages(db: sqlite_utils.Database, now: datetime, holder: str, limit: int = 200,
                   stale_after_seconds: int = STALE_CLAIM_SECONDS, *, live_at: datetime | None = None,
                   lease_seconds: float | None = None,
                   message_ids: Sequence[int] | None = None) -> list[OutboxMessage]:
    """Claim pending messages that are due at ``now``, and 'sending' ones whose claimer is gone, with one
    conditional UPDATE; another deliverer can never claim the same row. Oldest first.

    Leases are judged at ``live_at`` (the real time; default ``now``). With ``lease_seconds``, the same
    transaction takes ``holder``'s claims lease for that long when it claimed anything: the caller keeps
    it alive while it sends and gives it back with :func:`end_claims`. ``message_ids`` limits the claim
    to those messages.
    """
    live = live_at or now
    params = {"holder": holder, "now": timestamp(now), "limit": limit, **live_params(live),
              "stale": timestamp(now - timedelta(seconds=stale_after_seconds))}
    only = ""
    if message_ids is not None:
        only = f"AND id IN ({','.join(str(int(i)) for i in message_ids) or 'NULL'})"
    with transaction(db, "claim messages"):
        cursor = db.execute(f"""
            UPDATE messages SET status = 'sending', claimed_by = :holder, claimed_at = :now
            WHERE id IN (SELECT id FROM messages
                         WHERE ((status = 'pending' AND next_attempt_at <= :now) OR ({_ORPHANED})) {only}
                         ORDER BY id LIMIT :limit)
            RETURNING *""", params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        if rows and lease_seconds:
            db.execute("""INSERT INTO locks (name, holder, acquired_at, expires_at, renewed_at)
                          VALUES (?, ?, ?, ?, ?)
                          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                              expires_at = excluded.expires_at, renewed_at = excluded.renewed_at""",
                       [claims_lock(holder), holder, params["live"],
                        timestamp(live + timedelta(seconds=lease_seconds)), params["live"]])
    return sorted((_message(row) for row in rows), key=lambda m: m.id or 0)


def end_claims(db: sqlite_utils.Database, holder: str) -> int:
    """A delivery pass is over: put what ``holder`` still has claimed back in the queue and give its
    claims lease up. Returns the number of messages put back."""
    with transaction(db, "end a delivery pass"):
        cursor = db.execute("""UPDATE messages SET status = 'pending', claimed_by = NULL
                               WHERE status = 'sending' AND claimed_by = ?""", [holder])
        db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", [claims_lock(holder), holder])
    return cursor.rowcount


def mark_sent(db: sqlite_utils.Database, message_id: int, holder: str, now: datetime) -> None:
    """Record that ``holder`` delivered the message. Raises LostClaim (after logging the delivery) when
    ``holder`` no longer holds its claim: another deliverer took it over and may send it again."""
    _record(db, message_id, holder, now, DeliveryOutcome.SENT, None, None)


def mark_failed(db: sqlite_utils.Database, message_id: int, holder: str, now: datetime, error: str,
                retry_at: datetime | None, outcome: DeliveryOutcome = DeliveryOutcome.FAILED) -> MessageStatus:
    """Record a failed attempt (``outcome`` UNKNOWN: it may have arrived, counted in ``unknown_attempts``);
    ``retry_at`` None means give up (dead). Returns the new status. Raises LostClaim as :func:`mark_sent`
    does."""
    status = MessageStatus.PENDING if retry_at else MessageStatus.DEAD
    _record(db, message_id, holder, now, outcome, error[:ERROR_CHARS], retry_at)
    return status


def _record(db: sqlite_utils.Database, message_id: int, holder: str, now: datetime, outcome: DeliveryOutcome,
            error: str | None, retry_at: datetime | None) -> None:
    """One attempt, in one transaction: the log row, and the message's new state if ``holder`` still
    holds its claim. The log row is written either way: the attempt happened."""
    when = timestamp(now)
    with transaction(db, "record a delivery attempt"):
        row = db.execute("SELECT attempts FROM messages WHERE id = ?", [message_id]).fetchone()
        if row is None:
            raise StoreError(f"no message with id {message_id}")
        attempt = row[0] + 1
        ok = outcome is DeliveryOutcome.SENT
        db.execute("INSERT INTO deliveries (message_id, attempt, at, ok, error, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                   [message_id, attempt, when, int(ok), error, str(outcome)])
        if ok:
            cursor = db.execute("""UPDATE messages SET status = 'sent', attempts = ?, sent_at = ?, last_error = NULL
                                   WHERE id = ? AND claimed_by = ? AND status = 'sending'""",
                                [attempt, when, message_id, holder])
        else:
            status = MessageStatus.PENDING if retry_at else MessageStatus.DEAD
            unknown = int(outcome is DeliveryOutcome.UNKNOWN)
            cursor = db.execute("""UPDATE messages SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,
                                   unknown_attempts = unknown_attempts + ?, claimed_by = NULL
                                   WHERE id = ? AND claimed_by = ? AND status = 'sending'""",
                                [str(status), attempt, error, timestamp(retry_at) if retry_at else None, unknown,
                                 message_id, holder])
        lost = cursor.rowcount != 1
    if lost:
        raise LostClaim(f"message {message_id}: {holder} no longer holds its claim (another deliverer took it "
                        f"over); the attempt ({outcome}) is logged, the message's state is left to the new holder")


def defer_message(db: sqlite_utils.Database, message_id: int, holder: str, until: datetime, note: str) -> None:
    """Put a claimed message back untried until ``until`` (its endpoint is down; trying it now would only
    wait out the same timeout). No attempt is counted; ``note`` says why in ``last_error``. Raises
    LostClaim when ``holder`` no longer holds the claim."""
    with transaction(db, "defer a message"):
        cursor = db.execute("""UPDATE messages SET status = 'pending', next_attempt_at = ?, last_error = ?,
                               claimed_by = NULL WHERE id = ? AND claimed_by = ? AND status = 'sending'""",
                            [timestamp(until), note[:ERROR_CHARS], message_id, holder])
    if cursor.rowcount != 1:
        raise LostClaim(f"message {message_id}: {holder} no longer holds its claim (another deliverer took it "
                        "over); it is left to the new holder")


def retry_message(db: sqlite_utils.Database, message_id: int, now: datetime) -> MessageStatus:
    """Put a dead (or failed) message back in the queue, due now; its attempt counts restart. A message
    being sent (claimed by a deliverer) is refused: queueing it again would send it twice."""
    with transaction(db, "retry a message"):
        row = db.execute("SELECT status, claimed_by FROM messages WHERE id = ?", [message_id]).fetchone()
        if row is None:
            raise StoreError(f"no message with id {message_id}; `reminder notices` lists them")
        if row[0] == "sent":
            raise StoreError(f"message {message_id} was already sent; nothing to retry")
        if row[0] == "sending":
            raise StoreError(f"message {message_id} is being sent right now (by {row[1]}); retrying it would send "
                             "it twice. Wait for that attempt: `reminder notices` shows how it ends")
        cursor = db.execute("""UPDATE messages SET status = 'pending', attempts = 0, unknown_attempts = 0,
                               next_attempt_at = ?, claimed_by = NULL WHERE id = ? AND status IN ('pending', 'dead')""",
                            [timestamp(now), message_id])
        expect_one(cursor, f"queue message {message_id} again")
    return MessageStatus.PENDING


def release_claims(db: sqlite_utils.Database, holder: str) -> int:
    """Put messages claimed by ``holder`` but not sent back in the queue (a clean shutdown)."""
    with transaction(db, "release claimed messages"):
        cursor = db.execute("""UPDATE messages SET status = 'pending', claimed_by = NULL
                               WHERE status = 'sending' AND claimed_by = ?""", [holder])
    return cursor.rowcount


DROP_BATCH = 5000
"""Bodies dropped per call, so one call is a short transaction even when a long backlog falls due."""


def drop_old_bodies(db: sqlite_utils.Database, now: datetime, retention_days: int, limit: int = DROP_BATCH) -> int:
    """Drop the text, HTML and markdown of up to ``limit`` messages sent more than ``retention_days`` before
    ``now`` (the oldest first); their subject, status, attempts, notices and delivery log stay. Returns how
    many were dropped."""
    cutoff = now - timedelta(days=retention_days)
    with transaction(db, "drop the bodies of old messages"):
        cursor = db.execute("""
            UPDATE messages SET text = '', html = NULL, markdown = NULL, body_dropped_at = ?
            WHERE id IN (SELECT id FROM messages WHERE status = 'sent' AND body_dropped_at IS NULL
                         AND sent_at < ? ORDER BY sent_at LIMIT ?)""", [timestamp(now), timestamp(cutoff), limit])
    return cursor.rowcount


def get_message(db: sqlite_utils.Database, message_id: int) -> OutboxMessage:
    """One message with its body (``text`` is None once ``retention_days`` dropped it)."""
    rows = list(db.query("SELECT * FROM messages WHERE id = ?", [message_id]))
    if not rows:
        raise StoreError(f"no message {message_id} in the outbox; `reminder notices` lists them")
    return _message(rows[0])


def list_messages(db: sqlite_utils.Database, status: MessageStatus | str | None = None) -> list[MessageListing]:
    """Messages (without their bodies) with the stages and task numbers they carry, newest first."""
    where, params = ("WHERE m.status = ?", [str(status)]) if status else ("", [])
    rows = db.query(f"""
        SELECT m.id, m.key, m.unit, m.channel, m.destination, m.route, m.subject, m.status, m.attempts,
               m.last_error, m.created_at, m.sent_at, m.next_attempt_at, m.unknown_attempts,
               (SELECT json_group_array(DISTINCT n.stage) FROM message_notices l JOIN notices n ON n.id = l.notice_id
                WHERE l.message_id = m.id) AS stages,
               (SELECT json_group_array(t.number) FROM message_notices l JOIN notices n ON n.id = l.notice_id
                JOIN assignments a ON a.id = n.assignment_id JOIN tasks t ON t.id = a.task_id
                WHERE l.message_id = m.id) AS tasks
        FROM messages m {where} ORDER BY m.id DESC""", params)
    return [MessageListing(message=_message(row), stages=tuple(json.loads(row["stages"] or "[]")),
                           tasks=tuple(sorted(set(json.loads(row["tasks"] or "[]")), key=lambda n: (len(n), n))))
            for row in rows]
