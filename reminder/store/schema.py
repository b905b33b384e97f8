"""The schema, built by named migrations, and opening a database file (created owner-only, migrated).

Migrations are append-only: never edit one that has shipped, add the next. The tables are described in
the package docstring (``reminder.store``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from reminder.errors import StoreError
from reminder.folders import make_private_dirs
from reminder.model import DeadlineKind
from reminder.store.base import db_path, fault, transaction

BUSY_TIMEOUT_S = 10.0
"""How long a statement waits for another process's lock before failing (the daemon, a CLI import and a
backup can overlap; none holds a lock for long)."""

FILE_MODE = 0o600
"""The database holds unit contacts and office correspondence: owner only."""

MIGRATIONS = sqlite_utils.Migrations("reminder")

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


@MIGRATIONS(name="0003_route_ids_message_links_outcomes")
def _m0003(db: sqlite_utils.Database) -> None:
    """Issue 7: messages name their route (a configured contact) instead of a hashed URL; a message links
    to every notice it carries and a notice to every message (one per route) through ``message_notices``,
    written with the message in one pass (``notices.message_id`` named only the first, and was set by
    looking every notice up again); each delivery attempt records its outcome (sent, failed, unknown)."""
    _run(db, """
    ALTER TABLE messages ADD COLUMN route TEXT;
    CREATE TABLE message_notices (
        message_id INTEGER NOT NULL REFERENCES messages (id),
        notice_id INTEGER NOT NULL REFERENCES notices (id),
        PRIMARY KEY (message_id, notice_id)
    ) WITHOUT ROWID;
    CREATE INDEX message_notices_notice ON message_notices (notice_id);
    INSERT INTO message_notices (message_id, notice_id)
        SELECT message_id, id FROM notices WHERE message_id IS NOT NULL;
    DROP INDEX notices_message;
    ALTER TABLE deliveries ADD COLUMN outcome TEXT CHECK (outcome IN ('sent', 'failed', 'unknown'));
    UPDATE deliveries SET outcome = CASE ok WHEN 1 THEN 'sent' ELSE 'failed' END
    """)


@MIGRATIONS(name="0004_effective_due_dates")
def _m0004(db: sqlite_utils.Database) -> None:
    """Issue 7: ``tasks.due`` is the effective (working-day) due date every reader uses, computed by the
    planner's rule; ``due_written`` keeps the date the text gave. ``settings`` holds what the stored
    dates were computed with (``due_rule``); until the first command that knows the config recomputes
    them, an old database's dates are the written ones."""
    _run(db, """
    ALTER TABLE tasks ADD COLUMN due_written TEXT CHECK (due_written IS NULL OR date(due_written) = due_written);
    UPDATE tasks SET due_written = due;
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """)


@MIGRATIONS(name="0005_retention_and_time_ordered_notice_keys")
def _m0005(db: sqlite_utils.Database) -> None:
    """Issue 7, a tick that stays small.

    * ``retention_days`` drops the bodies of sent messages once they are that old, keeping their subject
      and delivery record: ``body_dropped_at`` says when; the partial index finds the next ones to drop
      without reading the bodies.
    * Notice keys start with the day the notice fires (``2021-11-08:a5:overdue:2021-11-01``, was
      ``a5:overdue:2021-11-01:2021-11-08``), so a tick's new keys go to the end of the key index instead
      of one random page each; existing keys are rewritten the same way, so nothing is planned twice.
    * ``notices_assignment`` goes (the key index finds an assignment's notices by the ``a<id>:`` part
      after the date; nothing queried it), and ``notices_stage`` becomes an index of the office-level
      notices only, the ones the digest reads by stage.
    """
    _run(db, """
    ALTER TABLE messages ADD COLUMN body_dropped_at TEXT;
    CREATE INDEX messages_sent_with_body ON messages (sent_at) WHERE status = 'sent' AND body_dropped_at IS NULL;
    UPDATE notices SET key = substr(key, -10) || ':' || substr(key, 1, length(key) - 11)
        WHERE key GLOB 'a[0-9]*:*:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]';
    DROP INDEX notices_assignment;
    DROP INDEX notices_stage;
    CREATE INDEX notices_office ON notices (stage) WHERE stage IN ('escalation', 'silent')
    """)


@MIGRATIONS(name="0006_web_unit_links_and_office_sessions")
def _m0006(db: sqlite_utils.Database) -> None:
    """The web app: revocable unit links and server-side office sessions (a logout really ends one).

    ``unit_links`` -- one row per unit whose links were ever revoked: ``unit`` (primary key),
    ``generation`` (links carry the generation they were made in; a link of an older one was revoked),
    ``revoked_at``, ``revoked_by``. A unit without a row is at generation 0.
    ``office_sessions`` -- one row per office login: ``token_hash`` (SHA-256 of the cookie's random
    token, so a copy of the database opens no session), ``user``, ``created_at``, ``expires_at``,
    ``ended_at`` (logout).
    """
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


@MIGRATIONS(name="0007_unit_identity_and_reports")
def _m0007(db: sqlite_utils.Database) -> None:
    """Issue 9: one identity per unit, true wording.

    * ``tasks.units`` keeps the plan's unit names as written, with their roles (JSON ``[[name, role], …]``,
      leads first), so the assignments can be derived again when the unit directory changes: an alias
      becomes the directory's name, a group its members. Filled from the current assignments.
    * ``assignments.written`` is the plan's name the assignment came from (the alias, or the group),
      ``via_group`` the group when it came from one; ``assigned_at`` when the unit got the task (a unit
      added by a re-import is 新分配); ``planned_from`` when its schedule last started over (a stage that
      fired before is not caught up as 补发); ``assigned_by`` the plan or the office (`reminder assign`).
    * ``progress.recorded_at``: when a report was entered; ``at`` is when it happened (``--on``).
    * ``notices_unit_overdue``: a unit's last overdue notice, found at once (one overdue message per unit
      every ``overdue_repeat_days``).
    * ``settings.unit_rule``: what the stored assignments were resolved with (see ``store.units``).
    """
    _run(db, """
    ALTER TABLE tasks ADD COLUMN units TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(units));
    UPDATE tasks SET units = coalesce((SELECT json_group_array(json_array(unit, role)) FROM
        (SELECT unit, role FROM assignments WHERE task_id = tasks.id AND removed_at IS NULL ORDER BY position)),
        '[]');
    ALTER TABLE assignments ADD COLUMN written TEXT NOT NULL DEFAULT '';
    UPDATE assignments SET written = unit;
    ALTER TABLE assignments ADD COLUMN via_group TEXT;
    ALTER TABLE assignments ADD COLUMN assigned_at TEXT;
    UPDATE assignments SET assigned_at = created_at;
    ALTER TABLE assignments ADD COLUMN planned_from TEXT;
    UPDATE assignments SET planned_from = created_at;
    ALTER TABLE assignments ADD COLUMN assigned_by TEXT NOT NULL DEFAULT 'plan'
        CHECK (assigned_by IN ('plan', 'office'));
    ALTER TABLE progress ADD COLUMN recorded_at TEXT;
    UPDATE progress SET recorded_at = at;
    CREATE INDEX notices_unit_overdue ON notices (unit, fire_at) WHERE stage = 'overdue'
    """)


@MIGRATIONS(name="0008_unknown_outcomes_and_lease_renewals")
def _m0008(db: sqlite_utils.Database) -> None:
    """Issue 10, faults round two.

    * ``messages.unknown_attempts``: the attempts whose outcome is unknown (the request went out, no
      verdict came back), counted apart from failures: they have their own limit, and a message given up
      after one is reported as possibly received.
    * ``locks.renewed_at``: when the holder last renewed its lease, by its clock. A lease renewed in our
      future was written by a clock that ran ahead; it is not believed (a corrected clock must not leave
      a standby waiting for years).
    """
    _run(db, """
    ALTER TABLE messages ADD COLUMN unknown_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE locks ADD COLUMN renewed_at TEXT
    """)


@MIGRATIONS(name="0009_loop_actions_and_requests")
def _m0009(db: sqlite_utils.Database) -> None:
    """Issue 11, closing the loop: what units and the office do, kept for ever (留痕).

    * ``actions``: append-only (triggers refuse UPDATE and DELETE), one row per thing done: ``at``,
      ``actor_kind`` (unit|office|cli|system) and ``actor`` (the unit, the office user …), ``kind`` (see
      ``reminder.model.ActionKind``), what it concerns (``assignment_id``, ``task_id``, ``plan_id``,
      ``unit``, ``message_id``), ``note``, ``file`` (a stored upload's path) or ``link``, ``old_due`` and
      ``new_due`` (延期, a changed due date), ``request_id`` (a decision: the request action it answers).
    * ``requests``: the 办结 and 延期 requests waiting for the office and what became of them: ``kind``
      (done|extend), ``action_id`` (the request's action), ``new_due``, ``state``
      (pending|accepted|refused|withdrawn), ``decision_id`` (the deciding action), ``decided_at``. At most one
      pending request of each kind per assignment.
    * ``assignments.due_extended``: the due date an approved 延期 gave this unit (NULL: the task's);
      ``assignments.acknowledged_at``: the unit's first 签收.
    """
    _run(db, """
    ALTER TABLE assignments ADD COLUMN due_extended TEXT CHECK (due_extended IS NULL OR date(due_extended) = due_extended);
    ALTER TABLE assignments ADD COLUMN acknowledged_at TEXT;
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_kind TEXT NOT NULL CHECK (actor_kind IN ('unit', 'office', 'cli', 'system')),
        actor TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind <> ''),
        assignment_id INTEGER REFERENCES assignments (id),
        task_id INTEGER REFERENCES tasks (id),
        plan_id INTEGER REFERENCES plans (id),
        unit TEXT NOT NULL DEFAULT '',
        message_id INTEGER REFERENCES messages (id),
        note TEXT NOT NULL DEFAULT '',
        file TEXT,
        link TEXT,
        old_due TEXT CHECK (old_due IS NULL OR date(old_due) = old_due),
        new_due TEXT CHECK (new_due IS NULL OR date(new_due) = new_due),
        request_id INTEGER REFERENCES actions (id)
    );
    CREATE INDEX actions_assignment ON actions (assignment_id, id) WHERE assignment_id IS NOT NULL;
    CREATE INDEX actions_unit ON actions (unit, id) WHERE unit <> '';
    CREATE INDEX actions_task ON actions (task_id, id) WHERE task_id IS NOT NULL;
    CREATE INDEX actions_plan ON actions (plan_id, id) WHERE plan_id IS NOT NULL;
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        assignment_id INTEGER NOT NULL REFERENCES assignments (id),
        kind TEXT NOT NULL CHECK (kind IN ('done', 'extend')),
        action_id INTEGER NOT NULL UNIQUE REFERENCES actions (id),
        new_due TEXT CHECK (new_due IS NULL OR date(new_due) = new_due),
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'refused', 'withdrawn')),
        decision_id INTEGER REFERENCES actions (id),
        created_at TEXT NOT NULL,
        decided_at TEXT,
        CHECK ((kind = 'extend') = (new_due IS NOT NULL))
    );
    CREATE UNIQUE INDEX requests_one_pending ON requests (assignment_id, kind) WHERE state = 'pending';
    CREATE INDEX requests_pending ON requests (created_at) WHERE state = 'pending'
    """)
    # Triggers hold ';' inside their bodies, so they go one statement each.
    for verb in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER actions_no_{verb.lower()} BEFORE {verb} ON actions "
                   f"BEGIN SELECT RAISE(ABORT, 'actions are append-only (留痕)'); END")


@MIGRATIONS(name="0010_office_due_dates_and_board_indexes")
def _m0010(db: sqlite_utils.Database) -> None:
    """Issue 11, the office's views: a due date the office set for a task (``tasks.due_office``; NULL:
    the plan's, computed by the due rule) wins over the computed one in ``tasks.due`` until it is
    cleared, through re-imports and rule changes alike; the board's and the 台账's read of a plan's
    current tasks in order is an index range."""
    _run(db, """
    ALTER TABLE tasks ADD COLUMN due_office TEXT CHECK (due_office IS NULL OR date(due_office) = due_office);
    CREATE INDEX tasks_plan_current ON tasks (plan_id, number) WHERE removed_at IS NULL
    """)


SCHEMA_VERSION = len(MIGRATIONS._migrations)
"""The schema version this code builds: the number of migrations above."""


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
        raise fault(path, exc, "open the database") from exc
    try:
        db = sqlite_utils.Database(conn)
        _configure(db, busy_timeout)
        _migrate(db)
    except sqlite3.Error as exc:
        conn.close()
        raise fault(path, exc, "open the database") from exc
    except StoreError:
        conn.close()
        raise
    return db


def _create_private_file(path: Path) -> None:
    """Create an empty owner-only file unless one exists (O_EXCL, so an existing database is never touched),
    and the folders above it that are missing, owner-only too."""
    try:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise fault(path, exc, "create the database") from exc
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
    if db.journal_mode != "wal" and db_path(db) != ":memory:":
        db.enable_wal()


def _migrate(db: sqlite_utils.Database) -> None:
    """Apply pending migrations under one write lock, so two processes opening a new file do not race."""
    _refuse_newer_schema(db)
    if not MIGRATIONS.pending(db):
        return
    with transaction(db, "migrate the schema"):
        MIGRATIONS.apply(db)  # re-reads what is pending inside the lock; each step nests as a savepoint
        db.execute(f"PRAGMA user_version = {schema_version(db)}")


def _refuse_newer_schema(db: sqlite_utils.Database) -> None:
    """A database migrated by a newer reminder must not be used by this one: it would misread it."""
    known = {m.name for m in MIGRATIONS._migrations}
    unknown = [m.name for m in MIGRATIONS.applied(db) if m.name not in known]
    if unknown:
        raise StoreError(
            f"{db_path(db)}: the database was created by a newer version of reminder (migration "
            f"{unknown[0]} is unknown to this one). Fix: upgrade reminder, or use another database file."
        )


def schema_version(db: sqlite_utils.Database) -> int:
    """The number of this project's migrations applied to ``db`` (0 for a blank database)."""
    return len(MIGRATIONS.applied(db))


