"""Importing a plan from the office's pages: stage the document, preview what the import would store,
then import it on confirm.

A document (an upload, or what a web address returned) is kept in a private folder
(``<web.files_dir>/.imports/<random>/``, owner-only, out of reach of the download route, which refuses
hidden names) together with where it came from. The preview reads it with the same readers as
`reminder import` and asks the store what the import would change (``store.preview_import``: the real
import, rolled back); nothing is stored until the office confirms, and the confirm reads the very same
staged bytes again and checks that the plan is still the one previewed.

A confirmed document moves to the stored files (``<files_dir>/<random>/<name>``, what the import's
留痕 names, downloadable by the office) and its staging folder goes; a preview nobody confirmed is
removed by the next preview once it is a day old.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlite_utils

from reminder import store
from reminder.directory import Directory
from reminder.model import ActionKind, Actor, DeadlineKind, DueRule, Plan, Task
from reminder.store.plans import ImportReport
from reminder.web.files import PLAN_TYPES, clean_name, extension, save_upload

STAGING = ".imports"
META = "source.json"
STALE_AFTER_SECONDS = 24 * 3600
"""A staged document nobody confirmed within this long is removed by the next preview."""
_TOKEN = re.compile(r"[0-9a-f]{16}\Z")


@dataclass(frozen=True)
class StagedPlan:
    """A document waiting for its preview and confirm: ``token`` names it in forms, ``source`` is what
    the plan records as where it came from (the uploaded file's name, or the web address)."""

    token: str
    path: Path
    source: str
    charset: str | None = None


@dataclass(frozen=True)
class ImportPreview:
    """What a confirm would store: the store's report, plus what a person should check first."""

    staged: StagedPlan
    plan: Plan
    digest: str
    report: ImportReport
    unknown_units: dict[str, list[str]]     # unit as written -> task numbers (units the directory lacks)
    unread_deadlines: list[Task]            # tasks whose deadline gave no date: the policy's default applies
    warnings: tuple[str, ...]


def staging_folder(files_dir: Path) -> Path:
    return files_dir / STAGING


def remove_stale(files_dir: Path, now: float | None = None) -> list[str]:
    """Remove the staging folders last written more than a day before ``now`` (seconds since the epoch,
    the clock file times use; default: the system's), so previews nobody confirmed do not pile up.
    Returns the tokens removed."""
    folder = staging_folder(files_dir)
    if not folder.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - STALE_AFTER_SECONDS
    removed = []
    for entry in folder.iterdir():
        if _TOKEN.match(entry.name) and entry.is_dir() and not entry.is_symlink() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def stage_upload(files_dir: Path, filename: str, stream: BinaryIO, max_bytes: int) -> StagedPlan:
    """Keep an uploaded plan document (type and size checked); raises UploadRefused."""
    folder = staging_folder(files_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    saved = save_upload(folder, filename, stream, max_bytes, types=PLAN_TYPES)
    return _with_meta(folder, saved.path, source=saved.name)


def stage_url(files_dir: Path, url: str, max_bytes: int) -> StagedPlan:
    """Download a published plan (one bounded GET, see ``reminder.fetch``) and keep what came back.

    Raises InputError when the address cannot be read or answers with more than ``max_bytes``.
    """
    from reminder.fetch import fetch_url

    fetched = fetch_url(url, max_bytes=max_bytes)
    folder = staging_folder(files_dir) / secrets.token_hex(8)
    folder.mkdir(parents=True, mode=0o700)
    name = clean_name(fetched.name) or "page"
    if extension(name) not in PLAN_TYPES:   # the readers tell the format by the content; the name only breaks ties
        name += ".html" if b"<" in fetched.data[:4096] else ".txt"
    (folder / name).write_bytes(fetched.data)
    return _with_meta(folder.parent, f"{folder.name}/{name}", source=url, charset=fetched.charset)


def _with_meta(folder: Path, relative: str, source: str, charset: str | None = None) -> StagedPlan:
    token, _ = relative.split("/", 1)
    (folder / token / META).write_text(json.dumps({"file": relative.split("/", 1)[1], "source": source,
                                                   "charset": charset}, ensure_ascii=False), encoding="utf-8")
    return StagedPlan(token=token, path=folder / relative, source=source, charset=charset)


def load_staged(files_dir: Path, token: str) -> StagedPlan | None:
    """The staged document ``token`` names, or None (unknown, or not a token at all: no path is built
    from anything but 16 hex digits)."""
    if not _TOKEN.match(token or ""):
        return None
    folder = staging_folder(files_dir) / token
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = folder / clean_name(meta["file"])
    if not path.is_file():
        return None
    return StagedPlan(token=token, path=path, source=meta["source"], charset=meta.get("charset"))


def was_confirmed(files_dir: Path, token: str) -> bool:
    """Whether the document ``token`` named was imported already (a confirm sent twice)."""
    return bool(_TOKEN.match(token or "")) and (files_dir / token).is_dir() \
        and not (staging_folder(files_dir) / token).exists()


def read_staged(staged: StagedPlan, plan_year: int | None = None) -> Plan:
    """The plan in a staged document, read as `reminder import` reads it; raises InputError."""
    from reminder.ingest import build_plan
    from reminder.readers import read_bytes

    document = read_bytes(staged.path.read_bytes(), staged.source, name=staged.path.name, charset=staged.charset)
    return build_plan(document, plan_year=plan_year)


def preview(db: sqlite_utils.Database, staged: StagedPlan, now: datetime, due_dates: DueRule,
            directory: Directory, plan_year: int | None = None) -> ImportPreview:
    """Read the staged plan and report what importing it now would change; stores nothing."""
    plan = read_staged(staged, plan_year)
    report = store.preview_import(db, plan, now, due_dates=due_dates, units=directory)
    return ImportPreview(staged=staged, plan=plan, digest=store.plan_digest(plan), report=report,
                         unknown_units=directory.unknown_units(plan),
                         unread_deadlines=[t for t in plan.tasks if t.deadline.kind == DeadlineKind.NONE],
                         warnings=plan.warnings)


class PlanChanged(Exception):
    """The staged document no longer reads as the plan that was previewed."""


def confirm(db: sqlite_utils.Database, staged: StagedPlan, digest: str, now: datetime, due_dates: DueRule,
            directory: Directory, actor: Actor, plan_year: int | None = None) -> tuple[Plan, ImportReport]:
    """Import the staged plan, if it is still the one previewed (same ``digest``), and keep in the 留痕
    who imported what from where, in the same transaction."""
    plan = read_staged(staged, plan_year)
    if not secrets.compare_digest(store.plan_digest(plan), digest):
        raise PlanChanged
    staging = staged.path.parent
    files_dir = staging.parent.parent
    kept = files_dir / staged.token / staged.path.name
    kept.parent.mkdir(mode=0o700)
    shutil.copyfile(staged.path, kept)
    try:
        with store.transaction(db, f"import {staged.source}"):
            report = store.import_plan(db, plan, now, due_dates=due_dates, units=directory)
            store.record_action(db, ActionKind.IMPORT, actor, now, plan_id=report.plan_id, link=staged.source,
                                file=f"{staged.token}/{staged.path.name}",
                                note=f"{report.status}: +{len(report.tasks_added)} -{len(report.tasks_removed)} "
                                     f"~{len(report.tasks_changed)} tasks")
    except BaseException:
        shutil.rmtree(kept.parent, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return plan, report
