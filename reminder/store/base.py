"""What every part of the store shares: transactions, the stored form of times, and turning SQLite's
errors into StoreErrors that name the file and the fix."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache

import sqlite_utils

from reminder.errors import StoreError
from reminder.model import Deadline

# --------------------------------------------------------------------------------------------------
# Faults: every sqlite3 error that leaves this module becomes a StoreError naming the file and the fix.

_FIXES = (
    # (SQLite error name prefix, message fragment, what to tell the user)
    ("SQLITE_BUSY", "locked", ("another process kept the database locked for longer than the busy timeout; "
     "let it finish (or stop it) and try again")),
    ("SQLITE_LOCKED", "locked", "the database is locked by another connection; try again"),
    ("SQLITE_READONLY", "readonly", ("the database file or its directory is read-only; give the user running "
     "reminder write access to both (SQLite writes -wal and -shm files beside the database)")),
    ("SQLITE_FULL", "is full", "the disk holding the database is full; free some space and try again"),
    ("SQLITE_NOTADB", "not a database", ("this file is not an SQLite database; set the database path to a new "
     "file or to the right one")),
    ("SQLITE_CORRUPT", "malformed", "the database file is damaged; restore it from a backup"),
    ("SQLITE_CANTOPEN", "unable to open", ("check that the directory exists and that the user running "
     "reminder can write to it")),
    ("SQLITE_IOERR", "I/O error", "the disk reported an error; check free space and the file system"),
    ("SQLITE_CONSTRAINT", "constraint", ("the data breaks a rule of the database schema; this is a bug in "
     "reminder or in the plan's reading, please report it with the file")),
)


def db_path(db: sqlite_utils.Database) -> str:
    """The main database file of a connection, for messages (":memory:" when there is none)."""
    try:
        for row in db.conn.execute("PRAGMA database_list"):
            if row[1] == "main":
                return row[2] or ":memory:"
    except sqlite3.Error:
        pass
    return "the database"


def fault(path: str | os.PathLike, exc: BaseException, doing: str) -> StoreError:
    """Turn an sqlite3 or OS error into a StoreError that names the file and says how to fix it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    fix = "check the file and try again"
    for prefix, fragment, advice in _FIXES:
        if name.startswith(prefix) or (not name and fragment in text):
            fix = advice
            break
    if isinstance(exc, PermissionError):
        fix = "give the user running reminder write access to the file and its directory"
    elif isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:  # ENOSPC
        fix = "the disk is full; free some space and try again"
    return StoreError(f"{os.fspath(path)}: cannot {doing}: {text}. Fix: {fix}")


# --------------------------------------------------------------------------------------------------
# Transactions and time.

@contextmanager
def transaction(db: sqlite_utils.Database, doing: str) -> Iterator[None]:
    """One write transaction, taking the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when another
    process wrote in between (WAL snapshots cannot be upgraded); taking the lock first lets the busy
    timeout do its job. Any sqlite3 error rolls everything back and becomes a StoreError. Inside an
    already open transaction this nests as a savepoint instead.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise fault(db_path(db), exc, doing) from exc
    try:
        yield
        db.conn.execute("COMMIT")
    except BaseException as exc:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise fault(db_path(db), exc, f"{doing}; nothing was written") from exc
        raise


def timestamp(moment: datetime) -> str:
    """The stored form of an instant: UTC, fixed width, so text order is time order in SQL."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


LOOK_NOW = timestamp(datetime(1970, 1, 1, tzinfo=UTC))
"""``next_check_at`` for "plan this again at the next tick, whatever its time" (a report, an event, a
changed due date)."""


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def to_json(value, canonical: bool = False) -> str:
    """Compact JSON; ``canonical`` sorts keys, for hashing. Stored JSON keeps the ``as_dict`` key order
    (it is shown as is) and is compared parsed, so a key order change never reads as a change."""
    return json.dumps(value, ensure_ascii=False, sort_keys=canonical, separators=(",", ":"))


def expect_one(cursor: sqlite3.Cursor, doing: str) -> None:
    """A conditional UPDATE must change exactly one row; anything else means the row is not in the
    state the caller believed (another process got there first, or it does not exist)."""
    if cursor.rowcount != 1:
        raise StoreError(f"could not {doing}: {cursor.rowcount} rows matched instead of one")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made."""
    if cursor.lastrowid is None:
        raise StoreError("an insert made no row")
    return cursor.lastrowid


@lru_cache(maxsize=4096)
def parse_deadline(stored: str) -> Deadline:
    """A task's stored deadline JSON, parsed once: every unit of a task (and many tasks) share it.
    Safe to share because a Deadline is frozen."""
    return Deadline.from_dict(json.loads(stored))


def events_of(db: sqlite_utils.Database, task_ids: Iterable[int]) -> dict[int, dict[str, date]]:
    """The recorded events of each task (name -> date), by task id."""
    events: dict[int, dict[str, date]] = {}
    for chunk in chunks(list(task_ids)):
        marks = ",".join("?" * len(chunk))
        for r in db.execute(f"SELECT task_id, name, date FROM events WHERE task_id IN ({marks})", chunk):
            events.setdefault(r[0], {})[r[1]] = date.fromisoformat(r[2])
    return events


def chunks(values: list, size: int = 500) -> Iterator[list]:
    """``values`` in slices of at most ``size`` (SQLite caps the parameters of one statement)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]

