"""The SQLite store, on real database files: opening, migrations, idempotent import, faults, queries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminder import store
from reminder.cli import import_summary
from reminder.errors import StoreError
from reminder.model import Deadline, DeadlineKind, Plan, Policy, Task
from reminder.planner import DueDates
from reminder.workdays import Calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 1, 9, 0, tzinfo=SHANGHAI)
LATER = NOW + timedelta(days=30)
TABLES = ("plans", "tasks", "assignments", "progress", "events", "notices", "messages", "message_notices", "settings",
          "deliveries", "locks", "unit_links", "office_sessions", "actions", "requests")
MIGRATIONS = ["0001_plans_tasks_assignments", "0002_events_notices_outbox_locks",
              "0003_route_ids_message_links_outcomes", "0004_effective_due_dates", "0005_retention_and_time_ordered_notice_keys",
              "0006_web_unit_links_and_office_sessions", "0007_unit_identity_and_reports",
              "0008_unknown_outcomes_and_lease_renewals", "0009_loop_actions_and_requests",
              "0010_office_due_dates_and_board_indexes"]


def task(number, due=date(2021, 9, 30), units=("区财政局",), leads=(), text=None, kind=None, inferred_year=False):
    kind = kind or (DeadlineKind.FIXED if due else DeadlineKind.NONE)
    deadline = Deadline(text=f"{due}前" if due else "", kind=kind, due=due, inferred_year=inferred_year)
    return Task(number=str(number), section=("一、推进决策公开",), text=text or f"任务{number}的要求",
                deadline=deadline, lead_units=tuple(leads), units=tuple(dict.fromkeys((*leads, *units))),
                units_text="、".join(dict.fromkeys((*leads, *units))), line=10 + int(number))


def plan(*tasks, title="2021年政务公开工作要点分工方案", year=2021, source="/plans/分工方案.docx"):
    return Plan(title=title, plan_year=year, issued=date(2021, 5, 20), source=source, tasks=tuple(tasks))


V1 = plan(
    task(1, date(2021, 9, 30), units=("区民政局",), leads=("区财政局",)),
    task(2, date(2021, 10, 30), units=("区教育局", "区卫健局")),
    task(3, date(2021, 12, 31), units=("区司法局",)),
    task(4, None, kind=DeadlineKind.ONGOING, units=("各镇（街、园区）",)),
)
# The corrected version: 1's deadline moved, 2's 区卫健局 replaced by 区医保局, 3 gone, 5 new.
V2 = plan(
    task(1, date(2021, 11, 30), units=("区民政局",), leads=("区财政局",)),
    task(2, date(2021, 10, 30), units=("区教育局", "区医保局")),
    task(4, None, kind=DeadlineKind.ONGOING, units=("各镇（街、园区）",)),
    task(5, date(2021, 8, 31), units=("区政务服务数据管理局",)),
)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "reminder.db"


@pytest.fixture
def db(db_path):
    database = store.open_db(db_path)
    yield database
    database.close()


def dump(db):
    """Every row of every table, to prove that something wrote nothing."""
    return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def assignment(db, number, unit, plan_id=1):
    rows = list(db.query(
        "SELECT a.* FROM assignments a JOIN tasks t ON t.id = a.task_id "
        "WHERE t.plan_id = ? AND t.number = ? AND a.unit = ?", [plan_id, str(number), unit]))
    assert len(rows) == 1, rows
    return rows[0]


def refs(listings):
    return [str(listing.task.ref) for listing in listings]


def units(listing, role=None):
    return [a.unit for a in listing.assignments if role is None or a.role == role]


def hold_write_lock(path, seconds):
    """Another *process* takes the write lock (BEGIN IMMEDIATE) and keeps it for ``seconds``."""
    code = ("import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2])); c.execute('COMMIT')\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


# --- opening ----------------------------------------------------------------------------------------

def test_new_database_is_owner_only_even_with_a_permissive_umask(db_path):
    old = os.umask(0)
    try:
        db = store.open_db(db_path)
        store.import_plan(db, V1, NOW)  # a write, so the -wal and -shm files exist too
    finally:
        os.umask(old)
    files = [p for p in db_path.parent.iterdir()]
    assert {p.name for p in files} >= {"reminder.db", "reminder.db-wal", "reminder.db-shm"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o600" for p in files}
    db.close()


def test_open_sets_wal_busy_timeout_foreign_keys_and_records_the_schema(db):
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.schema_version(db) == store.SCHEMA_VERSION == len(MIGRATIONS)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    names = [r["name"] for r in db.query("SELECT name FROM _sqlite_migrations WHERE migration_set = 'reminder'")]
    assert names == MIGRATIONS
    assert set(TABLES) <= set(db.table_names())


def test_reopening_applies_no_migration_twice_and_keeps_data(db_path):
    with store.open_db(db_path) as db:
        store.import_plan(db, V1, NOW)
    with store.open_db(db_path) as db:
        assert db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(MIGRATIONS)
        assert len(store.list_tasks(db)) == 4


def test_processes_opening_a_new_database_at_once_migrate_it_once(db_path):
    """Without one write lock around the migrations, the losers fail on "table plans already exists"."""
    code = ("import sys; from reminder.store import open_db, schema_version\n"
            "print(schema_version(open_db(sys.argv[1])))")
    checkout = Path(store.__file__).parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=checkout) for _ in range(6)]
    results = [p.communicate(timeout=60) for p in procs]
    expected = [(0, str(len(MIGRATIONS)))] * 6
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, results)] == expected, results
    with store.open_db(db_path) as db:
        assert db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(MIGRATIONS)


def test_a_database_from_a_newer_reminder_is_refused(db_path):
    with store.open_db(db_path) as db:
        db["_sqlite_migrations"].insert({"migration_set": "reminder", "name": "0099_future", "applied_at": "x"})
    with pytest.raises(StoreError, match="newer version of reminder.*0099_future"):
        store.open_db(db_path)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a shopping list, not a database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        store.open_db(path)
    assert str(path) in str(err.value) and "Fix:" in str(err.value)
    assert path.read_bytes() == before


def test_a_path_that_cannot_be_created_says_so(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError) as err:
        store.open_db(blocker / "reminder.db")
    assert str(blocker / "reminder.db") in str(err.value) and "Fix:" in str(err.value)


# --- import -----------------------------------------------------------------------------------------

def test_first_import_creates_plan_tasks_and_one_assignment_per_unit(db):
    report = store.import_plan(db, V1, NOW)
    assert report.status == "created" and report.plan_id == 1
    assert report.tasks_added == ("1", "2", "3", "4")
    assert len(report.assignments_added) == 6
    roles = {(r["unit"], r["role"]) for r in db.query(
        "SELECT a.unit, a.role FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE t.number = '1'")}
    assert roles == {("区财政局", "lead"), ("区民政局", "responsible")}
    # New assignments are due for a planner look at once.
    assert {r[0] for r in db.execute("SELECT next_check_at FROM assignments")} == {store.timestamp(NOW)}
    assert import_summary(report) == ["plan 1 2021年政务公开工作要点分工方案 (2021): created, 4 tasks, 6 assignments"]


def test_importing_the_same_plan_twice_writes_nothing(db):
    store.import_plan(db, V1, NOW)
    before, changes = dump(db), db.conn.total_changes
    report = store.import_plan(db, V1, LATER)
    assert report.status == "unchanged"
    assert report.as_dict()["tasks_added"] == [] and report.as_dict()["tasks_changed"] == []
    assert db.conn.total_changes == changes
    assert dump(db) == before
    assert import_summary(report) == ["plan 1 2021年政务公开工作要点分工方案 (2021): unchanged"]


def test_corrected_plan_updates_in_place_and_reports_what_changed(db):
    store.import_plan(db, V1, NOW)
    kept = assignment(db, 2, "区教育局")
    db["progress"].insert({"assignment_id": kept["id"], "kind": "done", "note": "已完成",
                           "at": store.timestamp(NOW)})
    db.execute("UPDATE assignments SET status = 'done', done_at = ?, next_check_at = NULL WHERE id = ?",
               [store.timestamp(NOW), kept["id"]])
    task_ids = {r["number"]: r["id"] for r in db.query("SELECT id, number FROM tasks")}

    report = store.import_plan(db, V2, LATER)

    assert (report.status, report.plan_id, report.matched_by) == ("updated", 1, "title")
    assert report.tasks_added == ("5",) and report.tasks_removed == ("3",)
    changed = {c.number: c for c in report.tasks_changed}
    assert set(changed) == {"1", "2"}
    assert changed["1"].fields == ("deadline",)
    assert changed["1"].before["deadline"]["due"] == "2021-09-30"
    assert changed["1"].after["deadline"]["due"] == "2021-11-30"
    assert changed["2"].fields == ("units",)
    assert changed["2"].after["units"]["units"] == ["区教育局", "区医保局"]
    assert set(report.assignments_added) == {("2", "区医保局"), ("5", "区政务服务数据管理局")}
    assert set(report.assignments_removed) == {("2", "区卫健局"), ("3", "区司法局")}
    lines = import_summary(report)
    assert "task 1: deadline 2021-09-30 -> 2021-11-30" in "\n".join(lines)
    assert "tasks removed: 3" in "\n".join(lines)

    # Tasks kept their ids; the kept assignment kept its status and its progress.
    kept_ids = {r["number"]: r["id"] for r in db.query("SELECT id, number FROM tasks WHERE number <> '5'")}
    assert kept_ids == task_ids
    after = assignment(db, 2, "区教育局")
    assert (after["id"], after["status"]) == (kept["id"], "done")
    notes = [r["note"] for r in db.query("SELECT note FROM progress WHERE assignment_id = ?", [kept["id"]])]
    assert notes == ["已完成"]
    # Removed rows are marked, not deleted, and leave the planner's list.
    assert assignment(db, 2, "区卫健局")["removed_at"] == store.timestamp(LATER)
    assert units(store.get_task(db, "1-2")) == ["区教育局", "区医保局"]
    assert json.loads(json.dumps(report.as_dict()))["tasks_removed"] == ["3"]
    gone = assignment(db, 3, "区司法局")
    assert gone["removed_at"] == store.timestamp(LATER) and gone["next_check_at"] is None
    assert [t.task.number for t in store.list_tasks(db)] == ["5", "2", "1", "4"]
    # The moved deadline puts task 1's open assignments back before the planner.
    assert assignment(db, 1, "区财政局")["next_check_at"] == store.timestamp(LATER)
    assert db.execute("SELECT count(*) FROM plans").fetchone()[0] == 1


def test_reimporting_the_corrected_plan_is_unchanged(db):
    store.import_plan(db, V1, NOW)
    store.import_plan(db, V2, LATER)
    before = dump(db)
    assert store.import_plan(db, V2, LATER + timedelta(days=1)).status == "unchanged"
    assert dump(db) == before


def test_a_task_that_comes_back_is_restored_with_its_history(db):
    store.import_plan(db, V1, NOW)
    old = assignment(db, 3, "区司法局")
    db["progress"].insert({"assignment_id": old["id"], "kind": "progress", "note": "进行中",
                           "at": store.timestamp(NOW)})
    store.import_plan(db, V2, LATER)
    report = store.import_plan(db, V1, LATER + timedelta(days=1))
    assert "3" in report.tasks_added and ("3", "区司法局") in report.assignments_added
    back = assignment(db, 3, "区司法局")
    assert back["id"] == old["id"] and back["removed_at"] is None
    assert db.execute("SELECT count(*) FROM progress WHERE assignment_id = ?", [old["id"]]).fetchone()[0] == 1


def test_a_corrected_title_is_recognised_by_file_name_but_next_year_is_a_new_plan(db):
    store.import_plan(db, V1, NOW)
    retitled = plan(*V1.tasks, title="2021年政务公开工作要点任务分工")
    report = store.import_plan(db, retitled, LATER)
    assert (report.status, report.plan_id, report.matched_by) == ("updated", 1, "source")
    assert report.plan_changes == ("title",)
    next_year = plan(*V1.tasks, title="2022年政务公开工作要点任务分工", year=2022)
    assert store.import_plan(db, next_year, LATER).status == "created"
    assert db.execute("SELECT count(*) FROM plans").fetchone()[0] == 2


def test_a_failed_import_leaves_the_database_as_it_was(db):
    store.import_plan(db, V1, NOW)
    before = dump(db)
    # Valid changes first, then a task the schema refuses (an unknown deadline kind) at the very end:
    # without one transaction the earlier writes would stay.
    bad = plan(*V2.tasks, task(6, date(2021, 9, 1), kind="someday"))
    with pytest.raises(StoreError) as err:
        store.import_plan(db, bad, LATER)
    assert "nothing was written" in str(err.value) and str(store.db_path(db)) in str(err.value)
    assert dump(db) == before
    assert not db.conn.in_transaction


def test_import_plans_stores_all_or_none(db):
    broken = plan(task(1, kind="someday"), title="坏的方案", source="/plans/bad.docx")
    with pytest.raises(StoreError):
        store.import_plans(db, [V1, broken], NOW)
    assert dump(db) == {t: [] for t in TABLES}
    reports = store.import_plans(db, [V1, V1], NOW)
    assert [r.status for r in reports] == ["created", "unchanged"]


def test_a_plan_with_a_repeated_task_number_is_refused_before_writing(db):
    with pytest.raises(StoreError, match="task number 2 appears twice"):
        store.import_plan(db, plan(task(1), task(2), task(2)), NOW)
    assert dump(db) == {t: [] for t in TABLES}


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        store.timestamp(datetime(2021, 6, 1))
    assert store.timestamp(NOW) == "2021-06-01T01:00:00.000000+00:00"


# --- faults -----------------------------------------------------------------------------------------

def test_a_database_locked_by_another_process_is_waited_for(db, db_path):
    locker = hold_write_lock(db_path, 1.0)
    started = time.monotonic()
    report = store.import_plan(db, V1, NOW)
    waited = time.monotonic() - started
    locker.communicate(timeout=10)
    assert locker.returncode == 0
    assert report.status == "created" and waited >= 0.8
    assert len(store.list_tasks(db)) == 4


def test_a_lock_held_past_the_busy_timeout_is_a_clear_error(db_path):
    db = store.open_db(db_path, busy_timeout=0.2)
    locker = hold_write_lock(db_path, 2.0)
    try:
        with pytest.raises(StoreError) as err:
            store.import_plan(db, V1, NOW)
        assert "locked" in str(err.value) and str(db_path) in str(err.value)
    finally:
        locker.communicate(timeout=10)
    assert dump(db) == {t: [] for t in TABLES}
    db.close()


def _make_unwritable(path):
    """chmod for ordinary users; root ignores modes, so also try the immutable attribute."""
    path.chmod(0o400)
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    try:
        open(path, "r+b").close()
    except OSError:
        return True
    return False


def _make_writable(path):
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o600)


def test_a_read_only_database_file_is_a_clear_error(db_path):
    with store.open_db(db_path) as db:
        store.import_plan(db, V1, NOW)
    try:
        if not _make_unwritable(db_path):
            pytest.skip("cannot make a file read-only here (root without chattr)")
        with pytest.raises(StoreError) as err, store.open_db(db_path) as db:
            store.import_plan(db, V2, LATER)
        assert str(db_path) in str(err.value) and "read-only" in str(err.value)
    finally:
        _make_writable(db_path)
    with store.open_db(db_path) as db:
        assert [t.task.number for t in store.list_tasks(db)] == ["1", "2", "3", "4"]


def test_a_full_disk_is_a_clear_error_and_writes_nothing(db):
    store.import_plan(db, V1, NOW)
    before = dump(db)
    # Cap the file at its current size: the next page SQLite needs fails as a full disk would.
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    big = plan(*V2.tasks, *(task(n, text="很长的要求" * 400) for n in range(10, 60)))
    with pytest.raises(StoreError) as err:
        store.import_plan(db, big, LATER)
    assert "full" in str(err.value) and "nothing was written" in str(err.value)
    assert dump(db) == before


# --- queries ----------------------------------------------------------------------------------------

@pytest.fixture
def two_plans(db):
    store.import_plan(db, V1, NOW)
    other = plan(
        task(1, date(2021, 7, 15), units=("县财政局",)),
        task(2, None, units=("区财政局某科",)),
        task(7, date(2021, 3, 31), units=("县民政局",), inferred_year=True),
        title="榕江县2021年政务公开工作任务分工", source="/plans/榕江.txt")
    store.import_plan(db, other, NOW)
    return db


def test_list_tasks_filters_by_unit_exactly_or_by_substring(two_plans):
    exact = store.list_tasks(two_plans, unit="区财政局")
    assert refs(exact) == ["1-1"]  # not 区财政局某科
    assert units(exact[0]) == ["区财政局", "区民政局"] and units(exact[0], role="lead") == ["区财政局"]
    assert refs(store.list_tasks(two_plans, unit="财政")) == ["2-1", "1-1", "2-2"]
    assert store.list_tasks(two_plans, unit="外交部") == []


def test_list_tasks_filters_by_due_kind_and_plan(two_plans):
    assert refs(store.list_tasks(two_plans, due_before=date(2021, 9, 30))) == ["2-7", "2-1", "1-1"]
    assert refs(store.list_tasks(two_plans, kind="ongoing")) == ["1-4"]
    assert refs(store.list_tasks(two_plans, plan=2, kind="fixed")) == ["2-7", "2-1"]
    assert refs(store.list_tasks(two_plans, plan=1)) == ["1-1", "1-2", "1-3", "1-4"]
    assert refs(store.list_tasks(two_plans, plan="榕江", kind="none")) == ["2-2"]
    assert refs(store.list_tasks(two_plans, plan="2", kind="none")) == ["2-2"]
    assert store.list_tasks(two_plans, plan="淮南") == []


def test_list_tasks_marks_inferred_dates_and_status(two_plans):
    by_id = {str(t.task.ref): t.task for t in store.list_tasks(two_plans)}
    assert (by_id["2-2"].deadline.kind, by_id["2-2"].due.day, by_id["2-2"].due.inferred) == (
        "none", date(2021, 12, 31), True)
    assert by_id["2-7"].due.inferred is True and by_id["1-1"].due.inferred is False
    assert by_id["1-4"].due is None and by_id["1-1"].deadline.text == "2021-09-30前"
    two_plans.execute("UPDATE assignments SET status = 'done' WHERE unit = '区财政局'")
    assert store.list_tasks(two_plans, unit="区财政局")[0].status == "done"
    assert store.get_task(two_plans, "1-1").status == "open"  # 区民政局 has not finished


def test_default_due_for_tasks_without_deadline_follows_the_policy(db):
    rule = DueDates(Policy(default_due=(11, 30)), Calendar())
    store.import_plan(db, plan(task(1, None)), NOW, due_dates=rule)
    due = store.get_task(db, "1").task.due
    assert (due.day, due.written, due.inferred) == (date(2021, 11, 30), date(2021, 11, 30), True)


def test_get_task_by_id_or_unambiguous_number(two_plans):
    assert store.get_task(two_plans, "2-7").task.text == "任务7的要求"
    assert str(store.get_task(two_plans, "7").task.ref) == "2-7"
    with pytest.raises(StoreError) as err:
        store.get_task(two_plans, "1")
    assert "1-1" in str(err.value) and "2-1" in str(err.value)
    with pytest.raises(StoreError, match="no task '99'"):
        store.get_task(two_plans, "99")


def test_list_plans_counts_current_tasks(two_plans):
    store.import_plan(two_plans, V2, LATER)
    assert [(p.id, p.tasks) for p in store.list_plans(two_plans)] == [(1, 4), (2, 3)]


@pytest.mark.parametrize("filters", [
    {"units": ["区财政局"]}, {"due_before": date(2021, 9, 30)}, {"kind": "fixed"}, {"plans": [1]},
])
def test_filtered_queries_use_indexes(db, filters):
    args = {"units": None, "due_before": None, "kind": None, "plans": None, "include_removed": False} | filters
    sql, params = store.list_tasks_sql(**args)
    plan_rows = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert not [r for r in plan_rows if r.startswith(("SCAN t", "SCAN a"))], plan_rows


@pytest.mark.parametrize("sql", [
    "SELECT id FROM assignments WHERE next_check_at <= ?",
    "SELECT id FROM messages WHERE status = 'pending' AND next_attempt_at <= ?",
])
def test_planner_and_outbox_queries_have_an_index(db, sql):
    plan_rows = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, ["2021-06-01"])]
    assert all("USING" in r and "INDEX" in r for r in plan_rows), plan_rows


# --- property: importing B over A leaves the same current state as importing B alone ---------------

UNITS = ("区财政局", "区民政局", "区教育局", "各镇（街、园区）")
versions = st.lists(
    st.tuples(st.integers(1, 6), st.sampled_from([None, date(2021, 6, 30), date(2021, 12, 31)]),
              st.lists(st.sampled_from(UNITS), min_size=1, max_size=3, unique=True), st.booleans()),
    max_size=6, unique_by=lambda t: t[0],
).map(lambda specs: plan(*(task(n, due, units=units[1:] if lead else units, leads=units[:1] if lead else ())
                           for n, due, units, lead in specs)))


def current_state(db):
    return sorted(
        (t.task.number, t.task.deadline.kind, t.task.due, t.task.text, tuple(units(t)), tuple(units(t, role="lead")))
        for t in store.list_tasks(db))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=versions, second=versions)
def test_any_correction_converges_and_is_idempotent(first, second):
    with store.open_db(":memory:") as both, store.open_db(":memory:") as only:
        store.import_plan(both, first, NOW)
        store.import_plan(both, second, LATER)
        store.import_plan(only, second, LATER)
        assert current_state(both) == current_state(only)
        assert store.import_plan(both, second, LATER + timedelta(days=1)).status == "unchanged"
