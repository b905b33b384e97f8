"""The SQLite store: schema, migrations, plan import and task queries. All SQL of the project lives here.

Other modules call the functions below and never write SQL themselves, so the schema can change in one
place. The database is one SQLite file, opened by :func:`open_db` in WAL mode with a busy timeout (a
database locked by another process is waited for, not failed on) and foreign keys on. It is created
readable and writable by its owner only: it holds contacts and office correspondence.

Conventions
-----------
* Dates (``due``, ``issued``, event dates) are ISO dates, ``YYYY-MM-DD``.
* Instants (``*_at``) are UTC, fixed width, ``2021-06-01T00:00:00.000000+00:00``, so that text comparison
  in SQL (``next_check_at <= :now``) is time comparison. Callers pass timezone-aware datetimes (the clock
  is passed in, never read here); a naive one is refused, because mixing the two silently shifts times.
* Rows are never deleted. Tasks and assignments that vanish from a corrected plan get ``removed_at``, so
  progress, notices and deliveries recorded against them stay attached.
* JSON columns hold the value types' ``as_dict()`` forms (``section`` a list, ``deadline`` the object of
  ``reminder deadline --json``).

Tables
------
``plans`` -- one row per plan, whatever the number of times it was imported.
    ``id``, ``title``, ``plan_year``, ``issued``, ``source`` (path last imported from), ``source_name``
    (its file name), ``sha256`` (of the plan's content, see :func:`plan_digest`), ``imported_at`` (first
    import), ``updated_at`` (last import that changed something). Identity: a plan with the same
    non-empty ``title`` and ``plan_year`` is the same plan; failing that, the only plan of that
    ``plan_year`` imported from a file of the same name is. A corrected version therefore updates its
    plan instead of duplicating it, while next year's plan from a file of the same name does not
    overwrite this year's.
``tasks`` -- one row per numbered task of a plan; unique ``(plan_id, number)``.
    ``number`` (text, "17"), ``section`` (JSON list, outermost first), ``text``, ``deadline`` (JSON),
    ``kind`` (fixed|ongoing|recurring|relative|none), ``due`` (effective ISO date or NULL: ongoing,
    recurring without a date, relative before its event), ``inferred`` (1 when a person should know the
    date was not written as such: kind none -> the default policy date, or the year was inferred),
    ``units_text`` (the unit cell as written), ``line``, ``created_at``, ``updated_at``, ``removed_at``.
    The id people see and type is the *ref* ``"<plan id>-<number>"`` (``"1-17"``), see :func:`get_task`.
``assignments`` -- task x unit; unique ``(task_id, unit)``.
    ``role`` (lead|responsible), ``position`` (order in the unit cell, leads first), ``status``
    (open|done), ``done_at``, ``next_check_at``, ``created_at``, ``updated_at``, ``removed_at``.
    ``next_check_at`` is when the planner must look at the assignment again; the planner reads only rows
    with ``next_check_at <= now`` through a (partial) index, so a tick costs in proportion to what is
    due, not to the size of the database. NULL means "nothing to look at" (removed, or the planner said
    so). Import sets it to the import time for new assignments and for those whose deadline changed.
``progress`` -- what a unit reported against an assignment: ``kind`` (done|progress|reopen), ``note``,
    ``at``.
``events`` -- dates of the events that relative deadlines count from (印发后3个工作日内): ``task_id``,
    ``name``, ``date``, ``recorded_at``; unique ``(task_id, name)``.
``messages`` -- the outbox: ``key`` (unique idempotency key), ``unit``, ``channel``, ``destination``,
    ``subject``, ``text``, ``html``, ``markdown``, ``status`` (pending|sending|sent|dead), ``attempts``,
    ``next_attempt_at``, ``last_error``, ``created_at``, ``sent_at``, ``claimed_by``, ``claimed_at``.
    Indexed on ``(status, next_attempt_at)`` so that finding what to deliver is an index range.
``notices`` -- one row per planned item: ``key`` (unique, built by the planner from the assignment,
    stage and dates), ``assignment_id`` (NULL for office-level items), ``unit``, ``stage``
    (reminder|due|overdue|checkin for units; escalation|silent for the office digest), ``period``,
    ``due``, ``inferred``, ``late`` (sent after its day: caught up after downtime), ``milestone``,
    ``fire_at``, ``route`` (queued: a message carries it; unroutable: the unit has no contact and
    there is no fallback; office: digest only), ``created_at``, ``message_id``.
``deliveries`` -- every attempt to send a message: ``message_id``, ``attempt``, ``at``, ``ok``, ``error``.
``locks`` -- named leases such as the single-deliverer lock: ``name`` (primary key), ``holder``,
    ``acquired_at``, ``expires_at``.

Public API: :func:`open_db`, :func:`schema_version`, :func:`timestamp`, :func:`import_plan` (returns an
:class:`ImportReport`), :func:`import_plans`, :func:`plan_digest`, :func:`list_tasks`, :func:`get_task`,
:func:`match_units`, :func:`match_plans`, :func:`list_plans`, :func:`make_ref`. Every sqlite3 error they meet leaves as a StoreError naming the
file and the fix; every write happens in one transaction that takes the write lock up front.

The schema is built by named migrations (sqlite-utils :class:`~sqlite_utils.Migrations`, recorded in
``_sqlite_migrations``); :func:`schema_version` is the number applied, mirrored in ``PRAGMA user_version``
for outside tools. Migrations are append-only: never edit one that has shipped, add the next.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path, PurePath

import sqlite_utils

from .errors import StoreError
from .model import DeadlineKind, Plan, Task

BUSY_TIMEOUT_S = 10.0
"""How long a statement waits for another process's lock before failing (the daemon, a CLI import and a
backup can overlap; none holds a lock for long)."""

FILE_MODE = 0o600
"""The database holds unit contacts and office correspondence: owner only."""

MIGRATIONS = sqlite_utils.Migrations("reminder")

ROLES = ("lead", "responsible")
ASSIGNMENT_STATUSES = ("open", "done")
PROGRESS_KINDS = ("done", "progress", "reopen")
MESSAGE_STATUSES = ("pending", "sending", "sent", "dead")


# --------------------------------------------------------------------------------------------------
# Migrations. Each runs inside the transaction that records it; see the module docstring for the tables.

def _run(db: sqlite_utils.Database, script: str) -> None:
    """Run ``;``-separated DDL one statement at a time, inside the caller's transaction.

    (``executescript`` would commit first; the migration must stay atomic with its record.)
    """
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@MIGRATIONS(name="0001_plans_tasks_assignments")
def _m0001(db: sqlite_utils.Database) -> None:
    """Issue 2: what an import writes, plus the progress that a re-import must keep."""
    kinds = ", ".join(f"'{k}'" for k in DeadlineKind)
    _run(db, f"""
    CREATE TABLE plans (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        plan_year INTEGER NOT NULL,
        issued TEXT,
        source TEXT NOT NULL,
        source_name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX plans_identity ON plans (title, plan_year) WHERE title <> '';
    CREATE INDEX plans_source_name ON plans (source_name, plan_year);
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans (id),
        number TEXT NOT NULL CHECK (number <> ''),
        section TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(section)),
        text TEXT NOT NULL,
        deadline TEXT NOT NULL CHECK (json_valid(deadline)),
        kind TEXT NOT NULL CHECK (kind IN ({kinds})),
        due TEXT CHECK (due IS NULL OR date(due) = due),
        inferred INTEGER NOT NULL DEFAULT 0 CHECK (inferred IN (0, 1)),
        units_text TEXT NOT NULL DEFAULT '',
        line INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        removed_at TEXT
    );
    CREATE UNIQUE INDEX tasks_plan_number ON tasks (plan_id, number);
    CREATE INDEX tasks_number ON tasks (number);
    CREATE INDEX tasks_due ON tasks (due);
    CREATE INDEX tasks_kind_due ON tasks (kind, due);
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL REFERENCES tasks (id),
        unit TEXT NOT NULL CHECK (unit <> ''),
        role TEXT NOT NULL CHECK (role IN ('lead', 'responsible')),
        position INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
        done_at TEXT,
        next_check_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        removed_at TEXT
    );
    CREATE UNIQUE INDEX assignments_task_unit ON assignments (task_id, unit);
    CREATE INDEX assignments_unit ON assignments (unit, task_id);
    CREATE INDEX assignments_next_check ON assignments (next_check_at) WHERE next_check_at IS NOT NULL;
    CREATE TABLE progress (
        id INTEGER PRIMARY KEY,
        assignment_id INTEGER NOT NULL REFERENCES assignments (id),
        kind TEXT NOT NULL CHECK (kind IN ('done', 'progress', 'reopen')),
        note TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    CREATE INDEX progress_assignment ON progress (assignment_id, at)
    """)


@MIGRATIONS(name="0002_events_notices_outbox_locks")
def _m0002(db: sqlite_utils.Database) -> None:
    """Issue 3: relative-deadline events, planned notices, the outbox, delivery log, the deliverer lock."""
    _run(db, """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL REFERENCES tasks (id),
        name TEXT NOT NULL,
        date TEXT NOT NULL CHECK (date(date) = date),
        recorded_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX events_task_name ON events (task_id, name);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        unit TEXT NOT NULL,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        html TEXT,
        markdown TEXT,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        claimed_by TEXT,
        claimed_at TEXT
    );
    CREATE INDEX messages_due ON messages (status, next_attempt_at);
    CREATE INDEX messages_unit ON messages (unit, created_at);
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        assignment_id INTEGER REFERENCES assignments (id),
        unit TEXT NOT NULL DEFAULT '',
        stage TEXT NOT NULL,
        period TEXT NOT NULL DEFAULT '',
        due TEXT,
        inferred INTEGER NOT NULL DEFAULT 0,
        late INTEGER NOT NULL DEFAULT 0,
        milestone TEXT,
        fire_at TEXT,
        route TEXT NOT NULL DEFAULT 'queued' CHECK (route IN ('queued', 'unroutable', 'office')),
        created_at TEXT NOT NULL,
        message_id INTEGER REFERENCES messages (id)
    );
    CREATE INDEX notices_stage ON notices (stage, route);
    CREATE INDEX notices_assignment ON notices (assignment_id, created_at);
    CREATE INDEX notices_message ON notices (message_id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id),
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        error TEXT
    );
    CREATE INDEX deliveries_message ON deliveries (message_id, attempt);
    CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )
    """)


# ==================================================================================================
# BEGIN web migrations (issue 11: the web app). One block, to be moved into the store package as is.
# Tables:
# ``unit_links`` -- one row per unit whose links were ever revoked: ``unit`` (primary key),
#     ``generation`` (links carry the generation they were made in; a link of an older one was
#     revoked), ``revoked_at``, ``revoked_by``. A unit without a row is at generation 0.
# ``office_sessions`` -- one row per office login: ``token_hash`` (SHA-256 of the cookie's random
#     token, so a copy of the database opens no session), ``user``, ``created_at``, ``expires_at``,
#     ``ended_at`` (logout).

@MIGRATIONS(name="web_0001_unit_links")
def _m_web_0001(db: sqlite_utils.Database) -> None:
    """Revocable unit links and server-side office sessions (a logout really ends a session)."""
    _run(db, """
    CREATE TABLE unit_links (
        unit TEXT PRIMARY KEY CHECK (unit <> ''),
        generation INTEGER NOT NULL CHECK (generation > 0),
        revoked_at TEXT NOT NULL,
        revoked_by TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE office_sessions (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at TEXT
    )
    """)

# END web migrations
# ==================================================================================================


SCHEMA_VERSION = len(MIGRATIONS._migrations)
"""The schema version this code builds: the number of migrations above."""


# --------------------------------------------------------------------------------------------------
# Faults: every sqlite3 error that leaves this module becomes a StoreError naming the file and the fix.

_FIXES = (
    # (SQLite error name prefix, message fragment, what to tell the user)
    ("SQLITE_BUSY", "locked", "another process kept the database locked for longer than the busy timeout; "
     "let it finish (or stop it) and try again"),
    ("SQLITE_LOCKED", "locked", "the database is locked by another connection; try again"),
    ("SQLITE_READONLY", "readonly", "the database file or its directory is read-only; give the user running "
     "reminder write access to both (SQLite writes -wal and -shm files beside the database)"),
    ("SQLITE_FULL", "is full", "the disk holding the database is full; free some space and try again"),
    ("SQLITE_NOTADB", "not a database", "this file is not an SQLite database; set the database path to a new "
     "file or to the right one"),
    ("SQLITE_CORRUPT", "malformed", "the database file is damaged; restore it from a backup"),
    ("SQLITE_CANTOPEN", "unable to open", "check that the directory exists and that the user running "
     "reminder can write to it"),
    ("SQLITE_IOERR", "I/O error", "the disk reported an error; check free space and the file system"),
    ("SQLITE_CONSTRAINT", "constraint", "the data breaks a rule of the database schema; this is a bug in "
     "reminder or in the plan's reading, please report it with the file"),
)


def _db_path(db: sqlite_utils.Database) -> str:
    """The main database file of a connection, for messages (":memory:" when there is none)."""
    try:
        for row in db.conn.execute("PRAGMA database_list"):
            if row[1] == "main":
                return row[2] or ":memory:"
    except sqlite3.Error:
        pass
    return "the database"


def _fault(path: str | os.PathLike, exc: BaseException, doing: str) -> StoreError:
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
# Opening.

def open_db(path: str | os.PathLike, busy_timeout: float = BUSY_TIMEOUT_S) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, migrated to :data:`SCHEMA_VERSION`.

    The file is created with mode 0o600 *before* SQLite opens it, so it is never world-readable, not
    even for an instant; SQLite gives its -wal and -shm files the same mode. A database locked by another
    process is waited for up to ``busy_timeout`` seconds. Raises StoreError naming the path and a fix
    when the file cannot be created or opened, is not a database, or was made by a newer reminder.
    """
    memory = os.fspath(path) == ":memory:"
    if not memory:
        _create_private_file(Path(path))
    try:
        conn = sqlite3.connect(os.fspath(path), timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise _fault(path, exc, "open the database") from exc
    try:
        db = sqlite_utils.Database(conn)
        _configure(db, busy_timeout)
        _migrate(db)
    except sqlite3.Error as exc:
        conn.close()
        raise _fault(path, exc, "open the database") from exc
    except StoreError:
        conn.close()
        raise
    return db


def _create_private_file(path: Path) -> None:
    """Create an empty owner-only file unless one exists (O_EXCL, so an existing database is never touched)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise _fault(path, exc, "create the database") from exc
    try:
        os.fchmod(fd, FILE_MODE)  # the umask can only remove bits; make the mode exact anyway
    finally:
        os.close(fd)


def _configure(db: sqlite_utils.Database, busy_timeout: float) -> None:
    """Per-connection settings: the busy timeout first (WAL setup itself may have to wait), WAL, foreign keys."""
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    # Reading also fails here for a file that is not a database, before anything is written to it.
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if db.journal_mode != "wal" and _db_path(db) != ":memory:":
        db.enable_wal()


def _migrate(db: sqlite_utils.Database) -> None:
    """Apply pending migrations under one write lock, so two processes opening a new file do not race."""
    _refuse_newer_schema(db)
    if not MIGRATIONS.pending(db):
        return
    with _write(db, "migrate the schema"):
        MIGRATIONS.apply(db)  # re-reads what is pending inside the lock; each step nests as a savepoint
        db.execute(f"PRAGMA user_version = {schema_version(db)}")


def _refuse_newer_schema(db: sqlite_utils.Database) -> None:
    """A database migrated by a newer reminder must not be used by this one: it would misread it."""
    known = {m.name for m in MIGRATIONS._migrations}
    unknown = [m.name for m in MIGRATIONS.applied(db) if m.name not in known]
    if unknown:
        raise StoreError(
            f"{_db_path(db)}: the database was created by a newer version of reminder (migration "
            f"{unknown[0]} is unknown to this one). Fix: upgrade reminder, or use another database file."
        )


def schema_version(db: sqlite_utils.Database) -> int:
    """The number of this project's migrations applied to ``db`` (0 for a blank database)."""
    return len(MIGRATIONS.applied(db))


# --------------------------------------------------------------------------------------------------
# Transactions and time.

@contextmanager
def _write(db: sqlite_utils.Database, doing: str) -> Iterator[None]:
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
        raise _fault(_db_path(db), exc, doing) from exc
    try:
        yield
        db.conn.execute("COMMIT")
    except BaseException as exc:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _fault(_db_path(db), exc, f"{doing}; nothing was written") from exc
        raise


def timestamp(moment: datetime) -> str:
    """The stored form of an instant: UTC, fixed width, so text order is time order in SQL."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _json(value, canonical: bool = False) -> str:
    """Compact JSON; ``canonical`` sorts keys, for hashing. Stored JSON keeps the ``as_dict`` key order
    (it is shown as is) and is compared parsed, so a key order change never reads as a change."""
    return json.dumps(value, ensure_ascii=False, sort_keys=canonical, separators=(",", ":"))


# --------------------------------------------------------------------------------------------------
# Import.

@dataclass(frozen=True)
class TaskChange:
    """What changed in one task kept across a re-import. ``fields`` is a subset of
    ("deadline", "units", "section", "text", "line"), in that order; ``before``/``after`` hold those
    fields' values (deadline: {kind, due, inferred, text}; units: {units, lead_units, units_text})."""

    number: str
    fields: tuple[str, ...]
    before: dict
    after: dict

    def as_dict(self) -> dict:
        return {"number": self.number, "fields": list(self.fields), "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`import_plan`, for the CLI to print and for tests to check.

    ``status`` is "created", "updated" or "unchanged"; ``matched_by`` says how an existing plan was
    recognised ("title": same title and plan year; "source": same file name and plan year; None when
    created). Assignments are ``(task number, unit)`` pairs.
    """

    plan_id: int
    title: str
    plan_year: int
    status: str
    matched_by: str | None = None
    plan_changes: tuple[str, ...] = ()
    tasks_added: tuple[str, ...] = ()
    tasks_removed: tuple[str, ...] = ()
    tasks_changed: tuple[TaskChange, ...] = ()
    assignments_added: tuple[tuple[str, str], ...] = ()
    assignments_removed: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "title": self.title,
            "plan_year": self.plan_year,
            "status": self.status,
            "matched_by": self.matched_by,
            "plan_changes": list(self.plan_changes),
            "tasks_added": list(self.tasks_added),
            "tasks_removed": list(self.tasks_removed),
            "tasks_changed": [c.as_dict() for c in self.tasks_changed],
            "assignments_added": [{"task": n, "unit": u} for n, u in self.assignments_added],
            "assignments_removed": [{"task": n, "unit": u} for n, u in self.assignments_removed],
        }

    def summary_lines(self) -> list[str]:
        """Short lines for people: the outcome first, then one line per kind of change."""
        head = f"plan {self.plan_id} {self.title or '(untitled)'} ({self.plan_year}): {self.status}"
        if self.status == "created":
            return [f"{head}, {len(self.tasks_added)} tasks, {len(self.assignments_added)} assignments"]
        if self.matched_by == "source":
            head += " (recognised by its file name)"
        lines = [head]
        if self.plan_changes:
            lines.append("  plan: " + ", ".join(self.plan_changes) + " changed")
        if self.tasks_added:
            lines.append("  tasks added: " + ", ".join(self.tasks_added))
        if self.tasks_removed:
            lines.append("  tasks removed: " + ", ".join(self.tasks_removed))
        lines += ["  " + _describe_change(c) for c in self.tasks_changed]
        if self.assignments_added or self.assignments_removed:
            lines.append(f"  assignments: {len(self.assignments_added)} added, "
                         f"{len(self.assignments_removed)} removed")
        return lines


def _describe_change(change: TaskChange) -> str:
    """One line per changed task: deadline and units spelled out, the rest named."""
    parts = []
    for name in change.fields:
        old, new = change.before[name], change.after[name]
        if name == "deadline":
            parts.append(f"deadline {old['due'] or old['kind']} -> {new['due'] or new['kind']}")
        elif name == "units":
            parts.append(f"units {'、'.join(old['units']) or '-'} -> {'、'.join(new['units']) or '-'}")
        else:
            parts.append(f"{name} changed")
    return f"task {change.number}: " + "; ".join(parts)


@dataclass(frozen=True)
class _TaskRow:
    """A task in its stored form, computed before the transaction starts (pure)."""

    number: str
    section: str
    text: str
    deadline: str
    kind: str
    due: str | None
    inferred: int
    units_text: str
    line: int | None
    units: tuple[tuple[str, str], ...]  # (unit, role) in cell order, leads first


def plan_digest(plan: Plan) -> str:
    """sha256 of what a plan says (title, year, issue date, tasks), not of where it was read from."""
    content = plan.as_dict()
    del content["source"], content["warnings"]
    return hashlib.sha256(_json(content, canonical=True).encode()).hexdigest()


def _task_row(task: Task, default_due: date) -> _TaskRow:
    """The stored form of a task; a task with no deadline gets ``default_due``, marked inferred."""
    deadline = task.deadline
    if deadline.kind == DeadlineKind.NONE:
        due, inferred = default_due, True
    else:
        due, inferred = deadline.due, deadline.inferred_year
    leads = set(task.lead_units)
    names = list(dict.fromkeys((*task.lead_units, *task.units)))  # leads first, each unit once
    return _TaskRow(
        number=task.number,
        section=_json(list(task.section)),
        text=task.text,
        deadline=_json(deadline.as_dict()),
        kind=str(deadline.kind),
        due=_iso(due),
        inferred=int(bool(inferred)),
        units_text=task.units_text,
        line=task.line,
        units=tuple((u, "lead" if u in leads else "responsible") for u in names),
    )


def _check_plan(plan: Plan) -> None:
    """Refuse, before writing anything, a plan whose task numbers repeat: tasks are matched by number."""
    seen: dict[str, Task] = {}
    for task in plan.tasks:
        if task.number in seen:
            where = f" (lines {seen[task.number].line} and {task.line})" if task.line else ""
            raise StoreError(
                f"{plan.source}: task number {task.number} appears twice{where}. Fix: correct the "
                "numbering in the document and import it again; nothing was stored."
            )
        seen[task.number] = task


class _Diff:
    """Accumulates what an import changed; becomes an ImportReport at the end."""

    def __init__(self) -> None:
        self.plan_changes: list[str] = []
        self.added: list[str] = []
        self.removed: list[str] = []
        self.changed: list[TaskChange] = []
        self.assigned: list[tuple[str, str]] = []
        self.unassigned: list[tuple[str, str]] = []

    def any(self) -> bool:
        return bool(self.plan_changes or self.added or self.removed or self.changed
                    or self.assigned or self.unassigned)

    def report(self, plan_id: int, plan: Plan, status: str, matched_by: str | None) -> ImportReport:
        return ImportReport(
            plan_id=plan_id, title=plan.title or "", plan_year=plan.plan_year, status=status,
            matched_by=matched_by, plan_changes=tuple(self.plan_changes), tasks_added=tuple(self.added),
            tasks_removed=tuple(self.removed), tasks_changed=tuple(self.changed),
            assignments_added=tuple(self.assigned), assignments_removed=tuple(self.unassigned),
        )


def import_plan(db: sqlite_utils.Database, plan: Plan, now: datetime,
                default_due: date | None = None) -> ImportReport:
    """Write ``plan`` to the store in one transaction and report what changed.

    Idempotent: importing the same plan again writes nothing and reports "unchanged". A corrected
    version of a stored plan (see the plan identity in the module docstring) updates tasks in place,
    matched by task number; tasks that vanished are marked removed with their assignments, and tasks
    or units that come back are restored, so status and progress recorded against them survive.
    ``default_due`` is the due date of tasks without a deadline (default: the plan year's last day).
    On any failure nothing is written and StoreError says why.
    """
    when = timestamp(now)
    _check_plan(plan)
    rows = [_task_row(t, default_due or date(plan.plan_year, 12, 31)) for t in plan.tasks]
    digest = plan_digest(plan)
    with _write(db, f"import plan {plan.title!r} from {plan.source}"):
        found, matched_by = _find_plan(db, plan)
        diff = _Diff()
        if found is None:
            plan_id = _insert_plan(db, plan, digest, when)
        else:
            plan_id = found["id"]
            diff.plan_changes = _plan_changes(found, plan, digest)
        _sync_tasks(db, plan_id, rows, when, diff)
        if found is not None and diff.any():
            _update_plan(db, plan_id, plan, digest, when)
    status = "created" if found is None else "updated" if diff.any() else "unchanged"
    return diff.report(plan_id, plan, status, matched_by)


def import_plans(db: sqlite_utils.Database, plans: Sequence[Plan], now: datetime,
                 default_due: date | Callable[[int], date] | None = None) -> list[ImportReport]:
    """Import several plans in one transaction: all of them are stored, or (on any error) none.

    ``default_due`` may be a function of the plan year (the policy's ``default_due_date``), since
    the plans may be of different years.
    """
    with _write(db, f"import {len(plans)} plans"):
        return [import_plan(db, plan, now, default_due(plan.plan_year) if callable(default_due) else default_due)
                for plan in plans]


def _find_plan(db: sqlite_utils.Database, plan: Plan) -> tuple[dict | None, str | None]:
    """The stored plan this one is a version of, and how it was recognised (see the module docstring)."""
    if plan.title:
        rows = list(db.query("SELECT * FROM plans WHERE title = ? AND plan_year = ? AND title <> ''",
                             [plan.title, plan.plan_year]))
        if rows:
            return rows[0], "title"
    rows = list(db.query("SELECT * FROM plans WHERE source_name = ? AND plan_year = ?",
                         [PurePath(plan.source).name, plan.plan_year]))
    if len(rows) == 1:  # two plans from files of one name: neither is surely this one
        return rows[0], "source"
    return None, None


def _plan_columns(plan: Plan, digest: str) -> dict:
    """The plans row for ``plan``, less the timestamps."""
    return {
        "title": plan.title or "",  # no title line: identified by its file name (see the module docstring)
        "plan_year": plan.plan_year,
        "issued": _iso(plan.issued),
        "source": plan.source,
        "source_name": PurePath(plan.source).name,
        "sha256": digest,
    }


def _insert_plan(db: sqlite_utils.Database, plan: Plan, digest: str, when: str) -> int:
    row = _plan_columns(plan, digest) | {"imported_at": when, "updated_at": when}
    cursor = db.execute(
        "INSERT INTO plans (title, plan_year, issued, source, source_name, sha256, imported_at, updated_at) "
        "VALUES (:title, :plan_year, :issued, :source, :source_name, :sha256, :imported_at, :updated_at)",
        row,
    )
    return cursor.lastrowid


def _plan_changes(stored: dict, plan: Plan, digest: str) -> list[str]:
    """Which of the plan's own fields differ from the stored row (the sha256 follows the tasks)."""
    new = _plan_columns(plan, digest)
    return [name for name in ("title", "issued", "source") if stored[name] != new[name]]


def _update_plan(db: sqlite_utils.Database, plan_id: int, plan: Plan, digest: str, when: str) -> None:
    row = _plan_columns(plan, digest) | {"updated_at": when, "id": plan_id}
    db.execute(
        "UPDATE plans SET title = :title, issued = :issued, source = :source, source_name = :source_name, "
        "sha256 = :sha256, updated_at = :updated_at WHERE id = :id",
        row,
    )


def _sync_tasks(db: sqlite_utils.Database, plan_id: int, rows: list[_TaskRow], when: str,
                diff: _Diff) -> None:
    """Make the plan's stored tasks match ``rows``: add, restore, update in place, mark removed."""
    stored = {r["number"]: r for r in db.query("SELECT * FROM tasks WHERE plan_id = ?", [plan_id])}
    units = _stored_units(db, plan_id)
    for row in rows:
        old = stored.get(row.number)
        if old is None:
            task_id = _insert_task(db, plan_id, row, when)
            diff.added.append(row.number)
        else:
            task_id = old["id"]
            if old["removed_at"] is not None:
                diff.added.append(row.number)
            _update_task(db, old, row, units.get(task_id, []), when, diff)
        _sync_assignments(db, task_id, row, units.get(task_id, []), when, diff)
    kept = {row.number for row in rows}
    for number, old in stored.items():
        if number not in kept and old["removed_at"] is None:
            _remove_task(db, old["id"], number, units.get(old["id"], []), when, diff)


def _stored_units(db: sqlite_utils.Database, plan_id: int) -> dict[int, list[dict]]:
    """Every assignment of the plan (removed ones too), by task id, in cell order."""
    by_task: dict[int, list[dict]] = {}
    for a in db.query(
        "SELECT a.* FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE t.plan_id = ? "
        "ORDER BY a.task_id, a.position", [plan_id],
    ):
        by_task.setdefault(a["task_id"], []).append(a)
    return by_task


_TASK_FIELDS = ("section", "text", "deadline", "kind", "due", "inferred", "units_text", "line")


def _insert_task(db: sqlite_utils.Database, plan_id: int, row: _TaskRow, when: str) -> int:
    values = {f: getattr(row, f) for f in _TASK_FIELDS}
    values |= {"plan_id": plan_id, "number": row.number, "created_at": when, "updated_at": when}
    cursor = db.execute(
        f"INSERT INTO tasks (plan_id, number, created_at, updated_at, {', '.join(_TASK_FIELDS)}) "
        f"VALUES (:plan_id, :number, :created_at, :updated_at, {', '.join(':' + f for f in _TASK_FIELDS)})",
        values,
    )
    return cursor.lastrowid


def _active_units(assignments: list[dict]) -> dict:
    """The stored units of a task in the shape the report shows (and compares with :func:`_new_units`)."""
    active = [a for a in assignments if a["removed_at"] is None]
    leads = [a["unit"] for a in active if a["role"] == "lead"]
    return {"units": [a["unit"] for a in active], "lead_units": leads}


def _new_units(row: _TaskRow) -> dict:
    return {"units": [u for u, _ in row.units], "lead_units": [u for u, r in row.units if r == "lead"]}


def _deadline_view(deadline_json: str, due: str | None, inferred: int) -> dict:
    """The part of a deadline a person compares in a report: kind, effective due date, source text."""
    d = json.loads(deadline_json)
    return {"kind": d["kind"], "due": due, "inferred": bool(inferred), "text": d["text"]}


def _task_changes(old: dict, row: _TaskRow, assignments: list[dict]) -> TaskChange | None:
    """What differs between a stored task (with its assignments) and its new version; None if nothing.

    JSON columns are compared parsed, so a change of key order in ``as_dict`` is not a change.
    """
    before: dict = {}
    after: dict = {}
    if ((json.loads(old["deadline"]), old["kind"], old["due"], old["inferred"])
            != (json.loads(row.deadline), row.kind, row.due, row.inferred)):
        before["deadline"] = _deadline_view(old["deadline"], old["due"], old["inferred"])
        after["deadline"] = _deadline_view(row.deadline, row.due, row.inferred)
    old_units = _active_units(assignments) | {"units_text": old["units_text"]}
    new_units = _new_units(row) | {"units_text": row.units_text}
    if old_units != new_units:
        before["units"], after["units"] = old_units, new_units
    if json.loads(old["section"]) != json.loads(row.section):
        before["section"], after["section"] = json.loads(old["section"]), json.loads(row.section)
    for name in ("text", "line"):
        if old[name] != getattr(row, name):
            before[name], after[name] = old[name], getattr(row, name)
    if not before:
        return None
    return TaskChange(row.number, tuple(before), before, after)


def _update_task(db: sqlite_utils.Database, old: dict, row: _TaskRow, assignments: list[dict],
                 when: str, diff: _Diff) -> None:
    """Update a kept (or returning) task in place; report what changed unless it was just restored."""
    restoring = old["removed_at"] is not None
    change = _task_changes(old, row, assignments)
    if change is None and not restoring:
        return
    values = {f: getattr(row, f) for f in _TASK_FIELDS} | {"id": old["id"], "updated_at": when}
    db.execute(
        f"UPDATE tasks SET {', '.join(f'{f} = :{f}' for f in _TASK_FIELDS)}, updated_at = :updated_at, "
        "removed_at = NULL WHERE id = :id",
        values,
    )
    if change is not None and "deadline" in change.fields:
        # The planner must look again at every open assignment: its schedule moved.
        db.execute("UPDATE assignments SET next_check_at = ?, updated_at = ? "
                   "WHERE task_id = ? AND removed_at IS NULL AND status = 'open'", [when, when, old["id"]])
    if change is not None and not restoring:
        diff.changed.append(change)


def _sync_assignments(db: sqlite_utils.Database, task_id: int, row: _TaskRow, assignments: list[dict],
                      when: str, diff: _Diff) -> None:
    """One assignment per (task, unit): insert new units, restore returning ones, remove dropped ones.

    An assignment that stays keeps its id, status and progress; only its role and position follow the
    document. New and restored assignments are due for a planner look at once (next_check_at = now).
    """
    stored = {a["unit"]: a for a in assignments}
    for position, (unit, role) in enumerate(row.units):
        old = stored.get(unit)
        if old is None:
            db.execute(
                "INSERT INTO assignments (task_id, unit, role, position, next_check_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [task_id, unit, role, position, when, when, when])
            diff.assigned.append((row.number, unit))
        elif old["removed_at"] is not None:
            db.execute(
                "UPDATE assignments SET role = ?, position = ?, removed_at = NULL, next_check_at = ?, "
                "updated_at = ? WHERE id = ?", [role, position, when, when, old["id"]])
            diff.assigned.append((row.number, unit))
        elif (old["role"], old["position"]) != (role, position):
            db.execute("UPDATE assignments SET role = ?, position = ?, updated_at = ? WHERE id = ?",
                       [role, position, when, old["id"]])
    wanted = {unit for unit, _ in row.units}
    for unit, old in stored.items():
        if unit not in wanted and old["removed_at"] is None:
            _remove_assignment(db, old["id"], when)
            diff.unassigned.append((row.number, unit))


def _remove_assignment(db: sqlite_utils.Database, assignment_id: int, when: str) -> None:
    """Mark removed (never delete: progress and notices point at it) and take it off the planner's list."""
    db.execute("UPDATE assignments SET removed_at = ?, next_check_at = NULL, updated_at = ? WHERE id = ?",
               [when, when, assignment_id])


def _remove_task(db: sqlite_utils.Database, task_id: int, number: str, assignments: list[dict], when: str,
                 diff: _Diff) -> None:
    """A task gone from the corrected plan: marked removed with its assignments, kept for its history."""
    db.execute("UPDATE tasks SET removed_at = ?, updated_at = ? WHERE id = ?", [when, when, task_id])
    for a in assignments:
        if a["removed_at"] is None:
            _remove_assignment(db, a["id"], when)
            diff.unassigned.append((number, a["unit"]))
    diff.removed.append(number)


# --------------------------------------------------------------------------------------------------
# Queries for `reminder tasks`, `reminder done` and friends.

def make_ref(plan_id: int, number: str) -> str:
    """The id people see and type for a task: "<plan id>-<number>", stable across re-imports."""
    return f"{plan_id}-{number}"


def match_units(db: sqlite_utils.Database, unit: str) -> list[str]:
    """The assigned unit names that ``unit`` means: itself when some task is assigned to exactly that
    name, else every assigned name containing it (财政局 -> 区财政局, 县财政局), sorted.

    Exact first, so that 区财政局 does not also pick 区财政局某科; a substring otherwise, because people
    type short names. Reads the ``assignments_unit`` index only.
    """
    exact = db.execute("SELECT 1 FROM assignments WHERE unit = ? AND removed_at IS NULL LIMIT 1", [unit])
    if exact.fetchone():
        return [unit]
    rows = db.execute("SELECT DISTINCT unit FROM assignments WHERE instr(unit, ?) > 0 AND removed_at IS NULL "
                      "ORDER BY unit", [unit])
    return [r[0] for r in rows]


def match_plans(db: sqlite_utils.Database, plan: int | str) -> list[int]:
    """The ids of the plans that ``plan`` means: an id (int or digits), else the plan with exactly that
    title, else every plan whose title contains it."""
    if isinstance(plan, int) or str(plan).strip().isdigit():
        return [int(plan)]
    text = str(plan).strip()
    rows = db.execute("SELECT id FROM plans WHERE title = ? ORDER BY id", [text]).fetchall()
    if not rows:
        rows = db.execute("SELECT id FROM plans WHERE instr(title, ?) > 0 ORDER BY id", [text]).fetchall()
    return [r[0] for r in rows]


_TASK_SELECT = """
SELECT t.id AS task_id, t.plan_id, p.title AS plan_title, p.plan_year, t.number, t.section, t.text,
       t.kind, t.due, t.inferred, t.deadline, t.units_text, t.line, t.removed_at
FROM tasks t JOIN plans p ON p.id = t.plan_id
"""

_TASK_ORDER = " ORDER BY t.due IS NULL, t.due, t.plan_id, CAST(t.number AS INTEGER), t.number"


def _list_tasks_sql(units: Sequence[str] | None, due_before: date | None, kind: str | None,
                    plans: Sequence[int] | None, include_removed: bool) -> tuple[str, dict]:
    """The list query and its parameters (separate so tests can check its plan uses indexes)."""
    where, params = [], {}
    if not include_removed:
        where.append("t.removed_at IS NULL")
    if plans is not None:
        where.append("t.plan_id IN (SELECT value FROM json_each(:plans))")
        params["plans"] = _json(list(plans))
    if kind is not None:
        where.append("t.kind = :kind")
        params["kind"] = str(kind)
    if due_before is not None:
        where.append("t.due <= :due_before")
        params["due_before"] = _iso(due_before)
    if units is not None:
        where.append("t.id IN (SELECT a.task_id FROM assignments a WHERE a.removed_at IS NULL "
                     "AND a.unit IN (SELECT value FROM json_each(:units)))")
        params["units"] = _json(list(units))
    sql = _TASK_SELECT + (" WHERE " + " AND ".join(where) if where else "") + _TASK_ORDER
    return sql, params


def list_tasks(db: sqlite_utils.Database, unit: str | None = None, due_before: date | None = None,
               kind: str | None = None, plan: int | str | None = None,
               include_removed: bool = False) -> list[dict]:
    """Tasks matching every filter given, soonest due first (tasks without a date last).

    ``unit``: see :func:`match_units` (exact name, else substring); the task's ``status`` is then that of
    the matching units' assignments. ``due_before``: due on or before that date (tasks without a date
    are left out). ``kind``: a DeadlineKind value. ``plan``: see :func:`match_plans` (id, or title or
    part of it). Each dict has ``id`` (the ref people type, "1-17"), ``task_id`` (row id), ``plan_id``,
    ``plan_title``, ``plan_year``, ``number``, ``section`` (list), ``text``, ``kind``, ``due`` (ISO or
    None), ``inferred`` (bool), ``deadline_text``, ``deadline`` (dict), ``units``, ``lead_units``,
    ``units_text``, ``line``, ``status`` (open|done), ``removed`` (bool) and ``assignments``
    ([{id, unit, role, status, done_at}]).
    """
    units = match_units(db, unit) if unit is not None else None
    plans = match_plans(db, plan) if plan is not None else None
    if units == [] or plans == []:
        return []
    sql, params = _list_tasks_sql(units, due_before, kind, plans, include_removed)
    rows = list(db.query(sql, params))
    by_task = _assignments_of(db, [r["task_id"] for r in rows])
    return [_task_dict(r, by_task.get(r["task_id"], []), units) for r in rows]


def _assignments_of(db: sqlite_utils.Database, task_ids: list[int]) -> dict[int, list[dict]]:
    """Active assignments of the given tasks, in cell order, by task id (one indexed query)."""
    by_task: dict[int, list[dict]] = {}
    if not task_ids:
        return by_task
    for a in db.query(
        "SELECT id, task_id, unit, role, status, done_at, next_check_at FROM assignments "
        "WHERE task_id IN (SELECT value FROM json_each(?)) AND removed_at IS NULL ORDER BY task_id, position",
        [_json(task_ids)],
    ):
        by_task.setdefault(a["task_id"], []).append(a)
    return by_task


def _task_dict(row: dict, assignments: list[dict], units: Sequence[str] | None) -> dict:
    """A task row as the dict that list_tasks and get_task promise."""
    deadline = json.loads(row["deadline"])
    relevant = [a for a in assignments if units is None or a["unit"] in units]
    done = bool(relevant) and all(a["status"] == "done" for a in relevant)
    return {
        "id": make_ref(row["plan_id"], row["number"]),
        "task_id": row["task_id"],
        "plan_id": row["plan_id"],
        "plan_title": row["plan_title"],
        "plan_year": row["plan_year"],
        "number": row["number"],
        "section": json.loads(row["section"]),
        "text": row["text"],
        "kind": row["kind"],
        "due": row["due"],
        "inferred": bool(row["inferred"]),
        "deadline_text": deadline["text"],
        "deadline": deadline,
        "units": [a["unit"] for a in assignments],
        "lead_units": [a["unit"] for a in assignments if a["role"] == "lead"],
        "units_text": row["units_text"],
        "line": row["line"],
        "status": "done" if done else "open",
        "removed": row["removed_at"] is not None,
        "assignments": [
            {"id": a["id"], "unit": a["unit"], "role": a["role"], "status": a["status"], "done_at": a["done_at"]}
            for a in assignments
        ],
    }


def get_task(db: sqlite_utils.Database, task_ref: str) -> dict:
    """The task that ``task_ref`` names, as a :func:`list_tasks` dict.

    ``task_ref`` is the id that ``reminder tasks`` shows ("1-17": plan 1, task 17), or a bare task number
    ("17") when exactly one plan has a current task of that number. Raises StoreError when nothing
    matches, or listing the candidate ids when the number is ambiguous.
    """
    ref = task_ref.strip()
    plan_part, dash, number = ref.partition("-")
    if dash and plan_part.isdigit() and number:
        rows = list(db.query(_TASK_SELECT + " WHERE t.plan_id = ? AND t.number = ?", [int(plan_part), number]))
    else:
        rows = list(db.query(_TASK_SELECT + " WHERE t.number = ? AND t.removed_at IS NULL" + _TASK_ORDER, [ref]))
    if not rows:
        raise StoreError(f"no task {ref!r} in {_db_path(db)}. Fix: run `reminder tasks` to see the task ids.")
    if len(rows) > 1:
        candidates = ", ".join(f"{make_ref(r['plan_id'], r['number'])} ({r['plan_title']})" for r in rows)
        raise StoreError(f"task number {ref!r} is in {len(rows)} plans: {candidates}. "
                         "Fix: give the task id instead of the bare number.")
    row = rows[0]
    return _task_dict(row, _assignments_of(db, [row["task_id"]]).get(row["task_id"], []), None)


def list_plans(db: sqlite_utils.Database) -> list[dict]:
    """Every plan with its counts of current tasks and open assignments, newest plan year first."""
    return list(db.query("""
        SELECT p.id, p.title, p.plan_year, p.issued, p.source, p.sha256, p.imported_at, p.updated_at,
               (SELECT count(*) FROM tasks t WHERE t.plan_id = p.id AND t.removed_at IS NULL) AS tasks,
               (SELECT count(*) FROM assignments a JOIN tasks t ON t.id = a.task_id
                 WHERE t.plan_id = p.id AND a.removed_at IS NULL AND t.removed_at IS NULL
                   AND a.status = 'open') AS open_assignments
        FROM plans p ORDER BY p.plan_year DESC, p.id
    """))


# --------------------------------------------------------------------------------------------------
# Planning: what the planner needs, and writing what it decided (issue 3).

LOOK_NOW = timestamp(datetime(1970, 1, 1, tzinfo=timezone.utc))
"""``next_check_at`` for "plan this again at the next tick, whatever its time" (a report, an event)."""


_ASSIGNMENT_ROWS = """
    SELECT a.id AS assignment_id, a.task_id, a.unit, a.status, a.created_at, a.done_at,
           t.deadline, t.number, t.text, t.kind, t.due AS task_due, t.inferred,
           p.id AS plan_id, p.title AS plan_title, p.plan_year
    FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN plans p ON p.id = t.plan_id
"""
"""An assignment with its task and plan: what the planner and the digest read (see ``state_of``)."""

DUE_ASSIGNMENTS_SQL = _ASSIGNMENT_ROWS + """
    WHERE a.next_check_at IS NOT NULL AND a.next_check_at <= ? AND a.removed_at IS NULL
    ORDER BY a.next_check_at"""
"""The planner's read (one parameter: now as :func:`timestamp`); ``EXPLAIN QUERY PLAN`` of it must
show a SEARCH through ``assignments_next_check`` (bench/tick.py prints it)."""


def due_assignments(db: sqlite_utils.Database, now: datetime, limit: int | None = None) -> list[dict]:
    """Assignments whose ``next_check_at`` has come, with their task, plan, last report and events.

    Reads through the partial index on ``next_check_at``, so the cost follows what is due.
    """
    sql = DUE_ASSIGNMENTS_SQL + (f" LIMIT {int(limit)}" if limit else "")
    rows = [dict(r) for r in db.query(sql, [timestamp(now)])]
    _attach_reports_and_events(db, rows)
    return rows


def _attach_reports_and_events(db: sqlite_utils.Database, rows: list[dict]) -> None:
    ids = [r["assignment_id"] for r in rows]
    task_ids = sorted({r["task_id"] for r in rows})
    reports: dict[int, str] = {}
    events: dict[int, dict[str, str]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT assignment_id, max(at) AS at FROM progress WHERE assignment_id IN ({marks}) "
                          "GROUP BY assignment_id", chunk):
            reports[r["assignment_id"]] = r["at"]
    for chunk in _chunks(task_ids):
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT task_id, name, date FROM events WHERE task_id IN ({marks})", chunk):
            events.setdefault(r["task_id"], {})[r["name"]] = r["date"]
    for row in rows:
        row["last_report_at"] = reports.get(row["assignment_id"])
        row["events"] = events.get(row["task_id"], {})


def _chunks(values: list, size: int = 500):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def existing_notice_keys(db: sqlite_utils.Database, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(keys)):
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
    with _write(db, "record planned notices"):
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
            for chunk in _chunks(list(message["notice_keys"])):
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
    with _write(db, "claim messages"):
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
    with _write(db, "mark a message sent"):
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
    with _write(db, "mark a message failed"):
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
    with _write(db, "retry a message"):
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


# --------------------------------------------------------------------------------------------------
# What units report, and events that relative deadlines count from.

def find_assignment(db: sqlite_utils.Database, task_ref: str, unit: str) -> dict:
    """The assignment of ``unit`` on the task ``task_ref``; the message lists the units it has."""
    task = get_task(db, task_ref)
    rows = [dict(r) for r in db.query("SELECT * FROM assignments WHERE task_id = ? AND removed_at IS NULL",
                                      [task["task_id"]])]
    exact = [r for r in rows if r["unit"] == unit] or [r for r in rows if unit in r["unit"]]
    if len(exact) != 1:
        names = "、".join(r["unit"] for r in rows) or "none"
        raise StoreError(f"task {task['id']} has no single unit matching '{unit}' (its units: {names})")
    return {**exact[0], "task_ref": task["id"]}


def record_progress(db: sqlite_utils.Database, assignment_id: int, kind: str, note: str, now: datetime) -> None:
    """done closes the assignment; progress and reopen make the planner look at it again now."""
    if kind not in PROGRESS_KINDS:
        raise ValueError(kind)
    when = timestamp(now)
    with _write(db, f"record {kind}"):
        db.execute("INSERT INTO progress (assignment_id, kind, note, at) VALUES (?, ?, ?, ?)",
                   [assignment_id, kind, note or "", when])
        if kind == "done":
            db.execute("""UPDATE assignments SET status = 'done', done_at = ?, updated_at = ?,
                          next_check_at = CASE WHEN (SELECT kind FROM tasks WHERE tasks.id = assignments.task_id)
                                                    = 'recurring' THEN ? ELSE NULL END
                          WHERE id = ?""", [when, when, when, assignment_id])
        else:
            db.execute("""UPDATE assignments SET status = 'open', done_at = NULL, updated_at = ?, next_check_at = ?
                          WHERE id = ?""", [when, LOOK_NOW, assignment_id])


def record_event(db: sqlite_utils.Database, task_id: int, name: str, day: date, now: datetime) -> None:
    """Record the date an event happened (印发) so relative deadlines become dates."""
    when = timestamp(now)
    with _write(db, "record an event"):
        db.execute("""INSERT INTO events (task_id, name, date, recorded_at) VALUES (?, ?, ?, ?)
                      ON CONFLICT (task_id, name) DO UPDATE SET date = excluded.date,
                      recorded_at = excluded.recorded_at""", [task_id, name, day.isoformat(), when])
        db.execute("UPDATE assignments SET next_check_at = ? WHERE task_id = ? AND removed_at IS NULL",
                   [LOOK_NOW, task_id])


def plan_status(db: sqlite_utils.Database, plan: str | None = None) -> list[dict]:
    """Progress of a plan by unit: open, done, and the latest report."""
    plan_ids = match_plans(db, plan) if plan else [r["id"] for r in db.query("SELECT id FROM plans")]
    if not plan_ids:
        raise StoreError(f"no plan matches '{plan}'; `reminder tasks` shows the imported plans")
    marks = ",".join("?" * len(plan_ids))
    return [dict(r) for r in db.query(f"""
        SELECT p.id AS plan_id, p.title AS plan_title, a.unit,
               sum(a.status = 'open') AS open, sum(a.status = 'done') AS done,
               (SELECT max(g.at) FROM progress g JOIN assignments b ON b.id = g.assignment_id
                JOIN tasks u ON u.id = b.task_id WHERE b.unit = a.unit AND u.plan_id = p.id) AS last_report_at
        FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN plans p ON p.id = t.plan_id
        WHERE p.id IN ({marks}) AND a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY p.id, a.unit ORDER BY p.id, open DESC, a.unit""", plan_ids)]


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
    with _write(db, f"take the {name} lock"):
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
    with _write(db, f"release the {name} lock"):
        db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", [name, holder])


def lock_holder(db: sqlite_utils.Database, name: str) -> dict | None:
    rows = list(db.query("SELECT * FROM locks WHERE name = ?", [name]))
    return dict(rows[0]) if rows else None


def office_notices(db: sqlite_utils.Database, stage: str) -> list[dict]:
    """Escalation or silence notices whose assignment is still open, with task and plan."""
    return [dict(r) for r in db.query("""
        SELECT n.*, a.unit AS assignment_unit, t.number, t.text, t.deadline, p.title AS plan_title
        FROM notices n JOIN assignments a ON a.id = n.assignment_id JOIN tasks t ON t.id = a.task_id
        JOIN plans p ON p.id = t.plan_id
        WHERE n.stage = ? AND a.status = 'open' AND a.removed_at IS NULL ORDER BY n.id""", [stage])]


def tasks_needing_review(db: sqlite_utils.Database) -> list[dict]:
    """Deadlines a person should look at: none (date inferred) and relative ones still waiting."""
    rows = [dict(r) for r in db.query("""
        SELECT t.id, t.number, t.kind, t.deadline, p.title AS plan_title,
               (SELECT count(*) FROM events e WHERE e.task_id = t.id) AS events
        FROM tasks t JOIN plans p ON p.id = t.plan_id
        WHERE t.removed_at IS NULL AND (t.kind = 'none' OR t.kind = 'relative')
        ORDER BY p.id, CAST(t.number AS INTEGER)""")]
    return [r for r in rows if r["kind"] == "none" or not r["events"]]


def dated_assignments(db: sqlite_utils.Database, due_until: date) -> list[dict]:
    """Open assignments of dated tasks (fixed, none) due by ``due_until``, and relative ones with an event."""
    rows = [dict(r) for r in db.query(_ASSIGNMENT_ROWS + """
        WHERE a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL
          AND ((t.kind IN ('fixed', 'none') AND t.due <= ?)
               OR (t.kind = 'relative' AND EXISTS (SELECT 1 FROM events e WHERE e.task_id = t.id)))""",
        [due_until.isoformat()])]
    _attach_reports_and_events(db, rows)
    return rows


def open_units(db: sqlite_utils.Database) -> list[dict]:
    """Every unit with open assignments, and how many tasks."""
    return [dict(r) for r in db.query("""
        SELECT a.unit, count(DISTINCT a.task_id) AS tasks FROM assignments a JOIN tasks t ON t.id = a.task_id
        WHERE a.status = 'open' AND a.removed_at IS NULL AND t.removed_at IS NULL
        GROUP BY a.unit ORDER BY a.unit""")]


def release_claims(db: sqlite_utils.Database, holder: str) -> int:
    """Put messages claimed by ``holder`` but not sent back in the queue (a clean shutdown)."""
    with _write(db, "release claimed messages"):
        cursor = db.execute("""UPDATE messages SET status = 'pending', claimed_by = NULL
                               WHERE status = 'sending' AND claimed_by = ?""", [holder])
    return cursor.rowcount


# ==================================================================================================
# BEGIN web functions (issue 11: the web app). One block, to be moved into the store package as is.

def unit_link_generation(db: sqlite_utils.Database, unit: str) -> int:
    """The generation a new link of ``unit`` carries, and the only one that opens (0 if never revoked)."""
    row = db.execute("SELECT generation FROM unit_links WHERE unit = ?", [unit]).fetchone()
    return row[0] if row else 0


def revoke_unit_links(db: sqlite_utils.Database, unit: str, now: datetime, by: str = "") -> int:
    """Stop every link of ``unit`` made so far from opening; returns the new generation."""
    with _write(db, "revoke the unit's links"):
        db.execute("""INSERT INTO unit_links (unit, generation, revoked_at, revoked_by) VALUES (?, 1, ?, ?)
                      ON CONFLICT (unit) DO UPDATE SET generation = generation + 1,
                          revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by""",
                   [unit, timestamp(now), by])
    return unit_link_generation(db, unit)


def create_office_session(db: sqlite_utils.Database, token_hash: str, user: str, now: datetime,
                          expires: datetime) -> None:
    """Record a login; the cookie holds the token, the database only its hash."""
    with _write(db, "record the login"):
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
    with _write(db, "record the logout"):
        cursor = db.execute("UPDATE office_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                            [timestamp(now), token_hash])
    return cursor.rowcount == 1

# END web functions
# ==================================================================================================
