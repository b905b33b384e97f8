"""What the web app keeps: unit link generations (revocation) and office sessions."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from reminder.store.base import timestamp, transaction


def unit_link_generation(db: sqlite_utils.Database, unit: str) -> int:
    """The generation a new link of ``unit`` carries, and the only one that opens (0 if never revoked)."""
    row = db.execute("SELECT generation FROM unit_links WHERE unit = ?", [unit]).fetchone()
    return row[0] if row else 0


def revoke_unit_links(db: sqlite_utils.Database, unit: str, now: datetime, by: str = "") -> int:
    """Stop every link of ``unit`` made so far from opening; returns the new generation."""
    with transaction(db, "revoke the unit's links"):
        db.execute("""INSERT INTO unit_links (unit, generation, revoked_at, revoked_by) VALUES (?, 1, ?, ?)
                      ON CONFLICT (unit) DO UPDATE SET generation = generation + 1,
                          revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by""",
                   [unit, timestamp(now), by])
    return unit_link_generation(db, unit)


def create_office_session(db: sqlite_utils.Database, token_hash: str, user: str, now: datetime,
                          expires: datetime) -> None:
    """Record a login; the cookie holds the token, the database only its hash."""
    with transaction(db, "record the login"):
        db.execute("INSERT INTO office_sessions (token_hash, user, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [token_hash, user, timestamp(now), timestamp(expires)])


def office_session_user(db: sqlite_utils.Database, token_hash: str, now: datetime) -> str | None:
    """The user of a live session (not ended, not expired), or None."""
    row = db.execute("""SELECT user FROM office_sessions
                        WHERE token_hash = ? AND ended_at IS NULL AND expires_at > ?""",
                     [token_hash, timestamp(now)]).fetchone()
    return row[0] if row else None


def end_office_session(db: sqlite_utils.Database, token_hash: str, now: datetime) -> bool:
    """Log out: the session stops opening pages at once. False when it was not live."""
    with transaction(db, "record the logout"):
        cursor = db.execute("UPDATE office_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                            [timestamp(now), token_hash])
    return cursor.rowcount == 1
