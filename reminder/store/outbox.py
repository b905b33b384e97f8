"""The outbox's state machine: notices and the messages that carry them are enqueued together; a
deliverer claims due messages with a conditional UPDATE and marks each sent, failed (retry later) or dead.
Rows are never deleted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlite_utils

from reminder.errors import StoreError
from reminder.store.base import chunks, timestamp, transaction


def existing_notice_keys(db: sqlite_utils.Database, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(list(keys)):
        marks = ",".join("?" * len(chunk))
        found.update(r["key"] for r in db.query(f"SELECT key FROM notices WHERE key IN ({marks})", chunk))
    return found


def record_tick(db: sqlite_utils.Database, notices: Sequence[dict], messages: Sequence[dict],
                next_checks: Sequence[tuple[int, datetime | None]], now: datetime) -> int:
    """Write one planning pass in one transaction: the new notices, the messages that carry them
    (the outbox rows exist before anything is sent), and when to look at each assignment again.

    ``messages`` items: {key, unit, channel, destination, subject, text, html, markdown, notice_keys}.
    Returns the number of messages inserted (a key already present is left alone).
    """
    when = timestamp(now)
    inserted = 0
    # executemany: one prepared statement for all rows (a tick writes thousands when many are due)
    with transaction(db, "record planned notices"):
        db.conn.executemany("""INSERT OR IGNORE INTO notices (key, assignment_id, unit, stage, period, due,
                               inferred, late, milestone, fire_at, route, created_at)
                               VALUES (:key, :assignment_id, :unit, :stage, :period, :due, :inferred, :late,
                                       :milestone, :fire_at, :route, :created_at)""",
                            ({**notice, "created_at": when} for notice in notices))
        for message in messages:
            cursor = db.execute("""INSERT OR IGNORE INTO messages (key, unit, channel, destination, subject,
                                   text, html, markdown, status, attempts, next_attempt_at, created_at)
                                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)""",
                                [message["key"], message["unit"], message["channel"], message["destination"],
                                 message["subject"], message["text"], message.get("html"),
                                 message.get("markdown"), when, when])
            if cursor.rowcount != 1:
                continue
            inserted += 1
            message_id = cursor.lastrowid
            for chunk in chunks(list(message["notice_keys"])):
                marks = ",".join("?" * len(chunk))
                db.execute(f"UPDATE notices SET message_id = ? WHERE key IN ({marks}) AND message_id IS NULL",
                           [message_id, *chunk])
        db.conn.executemany("UPDATE assignments SET next_check_at = ? WHERE id = ?",
                            ((timestamp(next_at) if next_at else None, assignment_id)
                             for assignment_id, next_at in next_checks))
    return inserted


# --------------------------------------------------------------------------------------------------
# The outbox: claim, mark sent, retry later, dead. Never deleted.

def claim_messages(db: sqlite_utils.Database, now: datetime, holder: str, limit: int = 200,
                   stale_after_seconds: int = 600) -> list[dict]:
    """Claim pending messages that are due, and 'sending' ones whose claimer died, with one
    conditional UPDATE; another deliverer can never claim the same row."""
    stale = timestamp(now - timedelta(seconds=stale_after_seconds))
    with transaction(db, "claim messages"):
        rows = db.execute("""
            UPDATE messages SET status = 'sending', claimed_by = ?, claimed_at = ?
            WHERE id IN (SELECT id FROM messages
                         WHERE (status = 'pending' AND next_attempt_at <= ?)
                            OR (status = 'sending' AND claimed_at < ?)
                         ORDER BY id LIMIT ?)
            RETURNING *""", [holder, timestamp(now), timestamp(now), stale, limit]).fetchall()
        columns = [c[0] for c in db.conn.execute("SELECT * FROM messages LIMIT 0").description]
    return sorted((dict(zip(columns, row)) for row in rows), key=lambda m: m["id"])


def mark_sent(db: sqlite_utils.Database, message_id: int, holder: str, now: datetime) -> None:
    with transaction(db, "mark a message sent"):
        row = db.execute("SELECT attempts FROM messages WHERE id = ?", [message_id]).fetchone()
        attempt = (row[0] if row else 0) + 1
        db.execute("""UPDATE messages SET status = 'sent', attempts = ?, sent_at = ?, last_error = NULL
                      WHERE id = ? AND claimed_by = ?""", [attempt, timestamp(now), message_id, holder])
        db.execute("INSERT INTO deliveries (message_id, attempt, at, ok) VALUES (?, ?, ?, 1)",
                   [message_id, attempt, timestamp(now)])


def mark_failed(db: sqlite_utils.Database, message_id: int, holder: str, now: datetime, error: str,
                retry_at: datetime | None) -> str:
    """Record a failed attempt; ``retry_at`` None means give up (dead). Returns the new status."""
    status = "pending" if retry_at else "dead"
    with transaction(db, "mark a message failed"):
        row = db.execute("SELECT attempts FROM messages WHERE id = ?", [message_id]).fetchone()
        attempt = (row[0] if row else 0) + 1
        db.execute("""UPDATE messages SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,
                      claimed_by = NULL WHERE id = ? AND claimed_by = ?""",
                   [status, attempt, error[:500], timestamp(retry_at) if retry_at else None, message_id, holder])
        db.execute("INSERT INTO deliveries (message_id, attempt, at, ok, error) VALUES (?, ?, ?, 0, ?)",
                   [message_id, attempt, timestamp(now), error[:500]])
    return status


def retry_message(db: sqlite_utils.Database, message_id: int, now: datetime) -> dict:
    """Put a dead (or failed) message back in the queue, due now; its attempt count restarts."""
    with transaction(db, "retry a message"):
        row = db.execute("SELECT status FROM messages WHERE id = ?", [message_id]).fetchone()
        if row is None:
            raise StoreError(f"no message with id {message_id}; `reminder notices` lists them")
        if row[0] == "sent":
            raise StoreError(f"message {message_id} was already sent; nothing to retry")
        db.execute("""UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = ?, claimed_by = NULL
                      WHERE id = ?""", [timestamp(now), message_id])
    return dict(next(db.query("SELECT id, status FROM messages WHERE id = ?", [message_id])))


def list_messages(db: sqlite_utils.Database, status: str | None = None) -> list[dict]:
    """Messages with the task numbers they carry, newest first."""
    where, params = ("WHERE m.status = ?", [status]) if status else ("", [])
    rows = [dict(r) for r in db.query(f"""
        SELECT m.id, m.unit, m.channel, m.destination, m.subject, m.status, m.attempts, m.last_error,
               m.created_at, m.sent_at, m.next_attempt_at,
               (SELECT group_concat(DISTINCT n.stage) FROM notices n WHERE n.message_id = m.id) AS stage,
               (SELECT json_group_array(t.number) FROM notices n JOIN assignments a ON a.id = n.assignment_id
                JOIN tasks t ON t.id = a.task_id WHERE n.message_id = m.id) AS tasks
        FROM messages m {where} ORDER BY m.id DESC""", params)]
    for row in rows:
        row["tasks"] = sorted(set(json.loads(row["tasks"] or "[]")), key=lambda n: (len(n), n))
        row["stage"] = row["stage"] or "digest"
    return rows


def release_claims(db: sqlite_utils.Database, holder: str) -> int:
    """Put messages claimed by ``holder`` but not sent back in the queue (a clean shutdown)."""
    with transaction(db, "release claimed messages"):
        cursor = db.execute("""UPDATE messages SET status = 'pending', claimed_by = NULL
                               WHERE status = 'sending' AND claimed_by = ?""", [holder])
    return cursor.rowcount
