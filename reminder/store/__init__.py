"""The SQLite store: schema, migrations, plan import, task queries, the outbox. All SQL of the project lives here.

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
    ``kind`` (fixed|ongoing|recurring|relative|none), ``due`` (the effective due date, a working day,
    computed by ``reminder.planner.effective_due`` and kept up to date by :mod:`~reminder.store.due`; NULL
    for ongoing and recurring work and a relative deadline before its event), ``due_written`` (the date
    before it moved off a rest day), ``inferred`` (1 when a person should know the date was not written
    as such: kind none -> the default policy date, or the year was inferred),
    ``units_text`` (the unit cell as written), ``units`` (JSON ``[[name as written, role], …]``, leads
    first: what the assignments are derived from), ``line``, ``created_at``, ``updated_at``, ``removed_at``.
    The id people see and type is the *ref* ``"<plan id>-<number>"`` (``"1-17"``), see :func:`get_task`.
``assignments`` -- task x unit; unique ``(task_id, unit)``. ``unit`` is the unit directory's name (an
    alias resolved; a group's members one row each), or the name as written when the directory does not
    know it; ``written`` the plan's name it came from, ``via_group`` the group (as written) when it came
    from one. ``role`` (lead|responsible), ``position`` (order in the unit cell, leads first), ``status``
    (open|done), ``done_at``, ``next_check_at``, ``created_at``, ``updated_at``, ``removed_at``,
    ``assigned_at`` (when the unit got the task), ``planned_from`` (when its schedule last started over:
    stages that fired before are not caught up as 补发), ``assigned_by`` (plan|office: a re-import changes
    only the plan's rows).
    ``next_check_at`` is when the planner must look at the assignment again; the planner reads only rows
    with ``next_check_at <= now`` through a (partial) index, so a tick costs in proportion to what is
    due, not to the size of the database. NULL means "nothing to look at" (removed, or the planner said
    so). Import sets it to the import time for new assignments and for those whose deadline changed.
``progress`` -- what a unit reported against an assignment: ``kind`` (done|progress|reopen), ``note``,
    ``at`` (when it happened: ``--on``), ``recorded_at`` (when it was entered).
``events`` -- dates of the events that relative deadlines count from (印发后3个工作日内): ``task_id``,
    ``name``, ``date``, ``recorded_at``; unique ``(task_id, name)``.
``messages`` -- the outbox: ``key`` (unique idempotency key), ``unit``, ``channel``, ``destination`` (what
    people see: addresses, a webhook's host, a folder), ``route`` (the id of the configured contact it goes
    to, see ``reminder.routing``; NULL for messages queued before migration 0003), ``subject``, ``text``, ``html``, ``markdown``, ``status`` (pending|sending|sent|dead), ``attempts``,
    ``next_attempt_at``, ``last_error``, ``created_at``, ``sent_at``, ``claimed_by``, ``claimed_at``,
    ``unknown_attempts`` (of ``attempts``, those whose outcome is unknown: the receiver may have it).
    Indexed on ``(status, next_attempt_at)`` so that finding what to deliver is an index range.
``notices`` -- one row per planned item: ``key`` (unique, built by the planner from the day it fires,
    the assignment, the stage and the date it is about), ``assignment_id`` (NULL for office-level items), ``unit``, ``stage``
    (reminder|due|overdue|checkin for units; escalation|silent for the office digest), ``period``,
    ``due``, ``inferred``, ``late`` (sent after its day: caught up after downtime), ``milestone``,
    ``fire_at``, ``route`` (queued: a message carries it; unroutable: the unit has no contact and
    there is no fallback; office: digest only), ``created_at``, ``message_id`` (unused since migration
    0003: see ``message_notices``).
    ``body_dropped_at``: when ``retention_days`` dropped its text, HTML and markdown (subject and state stay).
``message_notices`` -- which notices each message carries: ``message_id``, ``notice_id``. A notice is in one
    message per route of its unit.
``deliveries`` -- every attempt to send a message: ``message_id``, ``attempt``, ``at``, ``ok``, ``error``,
    ``outcome`` (sent|failed|unknown: the request went out and no verdict came back).
``settings`` -- ``name``, ``value``: what the stored due dates were computed with (``due_rule``), the
    assignments resolved with (``unit_rule``: the unit directory's fingerprint), and the latest time a tick
    ran for (``clock_seen``).
``locks`` -- named leases such as the single-deliverer lock and each deliverer's claims lease
    (``claims:<holder>``): ``name`` (primary key), ``holder``, ``acquired_at``, ``expires_at``,
    ``renewed_at`` (the holder's clock at its last renewal; a lease renewed in the future is not believed).
``actions`` -- the 留痕, append-only (triggers refuse UPDATE and DELETE): ``at``, ``actor_kind``
    (unit|office|cli|system), ``actor``, ``kind`` (``model.ActionKind``), ``assignment_id``, ``task_id``,
    ``plan_id``, ``unit``, ``message_id``, ``note``, ``file`` (an upload's path in ``web.files_dir``),
    ``link``, ``old_due``, ``new_due``, ``request_id`` (a decision: the request action it answers).
``requests`` -- 办结 (done) and 延期 (extend) requests: ``assignment_id``, ``kind``, ``action_id``,
    ``new_due``, ``state`` (pending|accepted|refused|withdrawn), ``decision_id``, ``created_at``,
    ``decided_at``; at most one pending of each kind per assignment. ``assignments.due_extended`` is
    the date an approved 延期 gave the unit, ``assignments.acknowledged_at`` its first 签收.

Modules, by what they hold: :mod:`~reminder.store.schema` (migrations, :func:`open_db`),
:mod:`~reminder.store.plans` (import and its report), :mod:`~reminder.store.tasks` (tasks, assignments and
what units report), :mod:`~reminder.store.outbox` (enqueue, claim, mark, retry), :mod:`~reminder.store.lease`
(the deliverer lease), :mod:`~reminder.store.snapshot` (what the digest reads), :mod:`~reminder.store.web`
(unit link generations and office sessions), :mod:`~reminder.store.units` (a task's assignments derived
from the unit names its plan wrote: aliases, groups, the office's own), :mod:`~reminder.store.ticks` (what a
pass writes; the preview that writes nothing), :mod:`~reminder.store.timeline` (the latest time seen; a clock
that went back past it), :mod:`~reminder.store.actions` (the 留痕 of every action; 签收, 进展, the 办结 and
延期 requests and the office's decisions); :mod:`~reminder.store.base`
holds transactions and times. The names below are the public API. Every sqlite3 error they meet leaves as a
StoreError naming the file and the fix; every write happens in one transaction that takes the write lock up
front.

The schema is built by named migrations (sqlite-utils :class:`~sqlite_utils.Migrations`, recorded in
``_sqlite_migrations``); :func:`schema_version` is the number applied, mirrored in ``PRAGMA user_version``
for outside tools. Migrations are append-only: never edit one that has shipped, add the next.
"""

from __future__ import annotations

from reminder.store.actions import (
    acknowledge,
    decide,
    get_request,
    history,
    mark_done,
    pending_requests,
    record_action,
    reopen,
    report_progress,
    request_done,
    request_extension,
    requests_of,
    task_refs,
)
from reminder.store.base import chunks, db_path, timestamp, transaction
from reminder.store.due import recompute_due_dates, refresh_due_dates
from reminder.store.edits import edit_task_units, set_task_due
from reminder.store.lease import CLOCK_SLACK, Lease, acquire_lock, claims_lock, lock_holder, release_lock
from reminder.store.outbox import (
    NoticeBatch,
    claim_messages,
    defer_message,
    drop_old_bodies,
    end_claims,
    enqueue,
    existing_notice_keys,
    get_message,
    list_messages,
    mark_failed,
    mark_sent,
    release_claims,
    retry_message,
)
from reminder.store.plans import (
    ImportReport,
    ImportStatus,
    PlanSummary,
    TaskChange,
    import_plan,
    import_plans,
    list_plans,
    match_plans,
    plan_digest,
    preview_import,
)
from reminder.store.schema import (
    BUSY_TIMEOUT_S,
    SCHEMA_VERSION,
    open_db,
    schema_version,
)
from reminder.store.snapshot import (
    dated_assignments,
    last_overdue_notices,
    office_notices,
    open_units,
    overdue_assignments,
    tasks_needing_review,
    unassigned_tasks,
    unit_standings,
    work_totals,
    years_in_use,
)
from reminder.store.tasks import (
    DUE_ASSIGNMENTS_SQL,
    LOOK_NOW,
    assignments_by_id,
    current_assignments,
    due_by_unit,
    find_assignment,
    get_task,
    latest_notes,
    list_tasks,
    list_tasks_sql,
    match_units,
    plan_status,
    record_event,
    record_progress,
    reports_of,
)
from reminder.store.ticks import Carried, plan_as_of, preview, record_plan
from reminder.store.timeline import CLOCK_JUMP, ClockJump, check_clock, latest_stored_time
from reminder.store.units import assign_unit, default_unit_rule, refresh_units, unassign_unit
from reminder.store.web import (
    create_office_session,
    end_office_session,
    office_session_user,
    revoke_unit_links,
    unit_link_generation,
)

__all__ = [
    "BUSY_TIMEOUT_S",
    "CLOCK_JUMP",
    "CLOCK_SLACK",
    "DUE_ASSIGNMENTS_SQL",
    "LOOK_NOW",
    "SCHEMA_VERSION",
    "Carried",
    "ClockJump",
    "ImportReport",
    "ImportStatus",
    "Lease",
    "NoticeBatch",
    "PlanSummary",
    "TaskChange",
    "acknowledge",
    "acquire_lock",
    "assign_unit",
    "assignments_by_id",
    "check_clock",
    "chunks",
    "claim_messages",
    "claims_lock",
    "create_office_session",
    "current_assignments",
    "dated_assignments",
    "db_path",
    "decide",
    "default_unit_rule",
    "defer_message",
    "drop_old_bodies",
    "due_by_unit",
    "edit_task_units",
    "end_claims",
    "end_office_session",
    "enqueue",
    "existing_notice_keys",
    "find_assignment",
    "get_message",
    "get_request",
    "get_task",
    "history",
    "import_plan",
    "import_plans",
    "last_overdue_notices",
    "latest_notes",
    "latest_stored_time",
    "list_messages",
    "list_plans",
    "list_tasks",
    "list_tasks_sql",
    "lock_holder",
    "mark_done",
    "mark_failed",
    "mark_sent",
    "match_plans",
    "match_units",
    "office_notices",
    "office_session_user",
    "open_db",
    "open_units",
    "overdue_assignments",
    "pending_requests",
    "plan_as_of",
    "plan_digest",
    "plan_status",
    "preview",
    "preview_import",
    "recompute_due_dates",
    "record_action",
    "record_event",
    "record_plan",
    "record_progress",
    "refresh_due_dates",
    "refresh_units",
    "release_claims",
    "release_lock",
    "reopen",
    "report_progress",
    "reports_of",
    "request_done",
    "request_extension",
    "requests_of",
    "retry_message",
    "revoke_unit_links",
    "schema_version",
    "set_task_due",
    "task_refs",
    "tasks_needing_review",
    "timestamp",
    "transaction",
    "unassign_unit",
    "unassigned_tasks",
    "unit_link_generation",
    "unit_standings",
    "work_totals",
    "years_in_use",
]
