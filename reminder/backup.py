"""``reminder backup``: a consistent copy of the database while the service keeps running.

SQLite's online backup API copies the pages under a read transaction, so the copy is a database
as it was at one instant, even while the daemon writes (a plain ``cp`` of a WAL database can
catch it mid-checkpoint). The copy is written to a temporary file beside the target and renamed
into place, so a half-written backup never carries the final name, and it is owner-only, like the
database itself.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reminder.errors import StoreError

BACKUP_PREFIX = "reminder-"
BACKUP_SUFFIX = ".db"


@dataclass(frozen=True)
class BackupResult:
    path: Path                   # the copy just written
    removed: tuple[Path, ...]    # older copies deleted under --keep


def backup_database(source: sqlite3.Connection, target: Path, now: datetime, keep: int | None = None) -> BackupResult:
    """Copy the open database ``source`` to ``target``.

    ``target`` is a folder (the copy is named ``reminder-YYYYmmdd-HHMMSS.db`` after ``now``) or a
    file path ending in ``.db``. With ``keep``, only the newest ``keep`` copies named that way stay
    in the folder. Raises StoreError naming the path when it cannot be written.
    """
    if target.suffix == BACKUP_SUFFIX and not target.is_dir():
        folder, path = target.parent, target
    else:
        folder, path = target, target / f"{BACKUP_PREFIX}{now:%Y%m%d-%H%M%S}{BACKUP_SUFFIX}"
    partial = path.with_name(path.name + ".partial")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _copy(source, partial)
        os.replace(partial, path)
    except (OSError, sqlite3.Error) as err:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise StoreError(f"{path}: cannot write the backup ({err}). Fix: check that the folder exists, "
                         "is writable by the user running reminder, and has free space") from err
    removed = _prune(folder, keep) if keep else ()
    return BackupResult(path=path, removed=removed)


def _copy(source: sqlite3.Connection, partial: Path) -> None:
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(partial, 0o600)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()


def _prune(folder: Path, keep: int) -> tuple[Path, ...]:
    """Delete all but the newest ``keep`` backups (by name, which sorts by time)."""
    copies = sorted(p for p in folder.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}") if p.is_file())
    old = copies[:-keep] if keep > 0 else copies
    for path in old:
        path.unlink()
    return tuple(old)
