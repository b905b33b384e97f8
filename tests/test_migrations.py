"""A database made by the previous release (schema 0002) migrates and keeps working: its due dates become
effective ones, its queued webhook message (stored with a hashed URL, no route id) is still delivered,
and its notices still show in `reminder notices`."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import sqlite_utils
from click.testing import CliRunner

from reminder import store
from reminder.cli import cli
from reminder.directory import redact_url
from reminder.store.schema import MIGRATIONS
from tests.servers import HttpServer, generic_receiver

STAMP = "2021-06-01T00:00:00.000000+00:00"


def old_database(path, hook_url: str) -> None:
    """Schema 0002 with what the previous release wrote: a task due Saturday 2021-10-30 (stored as
    written), its assignment, a due notice and the pending message carrying it (notices.message_id)."""
    db = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(db, stop_before="0003_route_ids_message_links_outcomes")
    deadline = {"text": "2021年10月30日前", "kind": "fixed", "due": "2021-10-30", "milestones": [], "every": None,
                "offset": None, "inferred_year": False, "span": [0, 11]}
    legacy = f"{redact_url(hook_url)}#{hashlib.sha256(hook_url.encode()).hexdigest()[:12]}"
    with db.conn:
        db.execute("INSERT INTO plans VALUES (1, '某县2021年任务分工', 2021, NULL, 'p.txt', 'p.txt', '', ?, ?)",
                   [STAMP, STAMP])
        db.execute("INSERT INTO tasks (id, plan_id, number, section, text, deadline, kind, due, inferred, "
                   "units_text, created_at, updated_at) VALUES (1, 1, '1', '[]', '做好财政预决算公开。', ?, "
                   "'fixed', '2021-10-30', 0, '县财政局', ?, ?)", [json.dumps(deadline, ensure_ascii=False),
                                                                    STAMP, STAMP])
        db.execute("INSERT INTO assignments (id, task_id, unit, role, position, status, next_check_at, created_at, "
                   "updated_at) VALUES (1, 1, '县财政局', 'responsible', 0, 'open', NULL, ?, ?)", [STAMP, STAMP])
        db.execute("INSERT INTO messages (id, key, unit, channel, destination, subject, text, status, attempts, "
                   "next_attempt_at, created_at) VALUES (1, 'generic:县财政局:old', '县财政局', 'generic', ?, "
                   "'【到期提醒】县财政局', '正文', 'pending', 0, ?, ?)", [legacy, STAMP, STAMP])
        db.execute("INSERT INTO notices (key, assignment_id, unit, stage, due, fire_at, route, created_at, "
                   "message_id) VALUES ('a1:due:2021-11-01:2021-11-01', 1, '县财政局', 'due', '2021-11-01', ?, "
                   "'queued', ?, 1)", [STAMP, STAMP])
    db.close()


def test_a_database_of_the_previous_release_migrates_and_its_queue_still_delivers(tmp_path):
    with HttpServer() as http:
        http.routes["/hook"] = generic_receiver(None)
        url = http.url("/hook") + "?access_token=old-token"
        old_database(tmp_path / "r.db", url)
        config = tmp_path / "config.toml"
        config.write_text(f'database = "{tmp_path / "r.db"}"\n[[units]]\nname = "县财政局"\n'
                          f'webhooks = [{{ kind = "generic", url = "{url}" }}]\n', encoding="utf-8")

        def run(*args):
            result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            return result.output

        [task] = json.loads(run("tasks", "--json"))
        assert (task["due"], task["due_written"]) == ("2021-11-01", "2021-10-30")  # recomputed on open
        run("tick", "--now", "2021-11-01T10:00")
        assert len(http.received("/hook")) == 1  # the legacy row found its webhook again
    [listed] = json.loads(run("notices", "--json"))
    assert (listed["status"], listed["stage"], listed["tasks"]) == ("sent", "due", ["1"])
    # the old notice key was rewritten (day first), so the planner found it and planned nothing twice
    with store.open_db(tmp_path / "r.db") as db:
        assert db.execute("SELECT key FROM notices").fetchall() == [("2021-11-01:a1:due:2021-11-01",)]
    with store.open_db(tmp_path / "r.db") as db:
        assert store.schema_version(db) == store.SCHEMA_VERSION
        assert db.execute("SELECT outcome FROM deliveries").fetchall() == [("sent",)]


def schema_0006_database(path) -> None:
    """Schema 0006 as the previous release left it: one task for the group 县直各部门 (one assignment under
    the group's name, marked done by the office, with its report) and one for 县发展改革委 (an alias, open)."""
    db = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(db, stop_before="0007_unit_identity_and_reports")
    deadline = {"text": "2021年9月30日前", "kind": "fixed", "due": "2021-09-30", "milestones": [], "every": None,
                "offset": None, "inferred_year": False, "span": [0, 11]}
    with db.conn:
        db.execute("INSERT INTO plans VALUES (1, '某县2021年任务分工', 2021, NULL, 'p.txt', 'p.txt', '', ?, ?)",
                   [STAMP, STAMP])
        for task_id, unit in ((1, "县直各部门"), (2, "县发展改革委")):
            db.execute("INSERT INTO tasks (id, plan_id, number, section, text, deadline, kind, due, due_written, "
                       "inferred, units_text, created_at, updated_at) VALUES (?, 1, ?, '[]', '做好公开。', ?, 'fixed', "
                       "'2021-09-30', '2021-09-30', 0, ?, ?, ?)",
                       [task_id, str(task_id), json.dumps(deadline, ensure_ascii=False), unit, STAMP, STAMP])
        db.execute("INSERT INTO assignments (id, task_id, unit, role, position, status, done_at, next_check_at, "
                   "created_at, updated_at) VALUES (1, 1, '县直各部门', 'responsible', 0, 'done', ?, NULL, ?, ?)",
                   [STAMP, STAMP, STAMP])
        db.execute("INSERT INTO progress (assignment_id, kind, note, at) VALUES (1, 'done', '已办结', ?)", [STAMP])
        db.execute("INSERT INTO assignments (id, task_id, unit, role, position, status, next_check_at, created_at, "
                   "updated_at) VALUES (2, 2, '县发展改革委', 'responsible', 0, 'open', NULL, ?, ?)", [STAMP, STAMP])
    db.close()


def test_a_database_of_schema_0006_gets_one_identity_per_unit_and_keeps_what_was_recorded(tmp_path):
    schema_0006_database(tmp_path / "r.db")
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "r.db"}"\n'
                      '[[units]]\nname = "县发展和改革局"\naliases = ["县发展改革委"]\n'
                      '[[units]]\nname = "县财政局"\n[[units]]\nname = "县民政局"\n'
                      '[[units]]\nname = "县直各部门"\nmembers = ["县财政局", "县民政局"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "tasks", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tasks = {t["id"]: t for t in json.loads(result.output)}
    # the group's row became its members', each starting as the group row stood (done, with its date)
    group = {a["unit"]: a for a in tasks["1-1"]["assignments"]}
    assert set(group) == {"县财政局", "县民政局"}
    assert {a["status"] for a in group.values()} == {"done"} and {a["via_group"] for a in group.values()} == {"县直各部门"}
    assert tasks["1-1"]["units_text"] == "县直各部门"
    # the alias row is the directory's unit now: the same row, so the same id and reports
    [fgj] = tasks["1-2"]["assignments"]
    assert (fgj["id"], fgj["unit"], fgj["written"], fgj["status"]) == (2, "县发展和改革局", "县发展改革委", "open")
    with store.open_db(tmp_path / "r.db") as db:
        assert db.execute("SELECT unit, removed_at IS NOT NULL FROM assignments WHERE id = 1").fetchone() == (
            "县直各部门", 1)  # the group's own row stays, removed, with its report attached
        assert db.execute("SELECT count(*) FROM progress WHERE assignment_id = 1").fetchone()[0] == 1
        assert json.loads(db.execute("SELECT units FROM tasks WHERE id = 1").fetchone()[0]) == [
            ["县直各部门", "responsible"]]
