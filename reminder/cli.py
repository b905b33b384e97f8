"""Command line: the only place where errors become exit codes and JSON is printed.

Exit codes: 0 success, 1 a failure the user can fix (the message says how), 2 usage error.
Heavy modules are imported inside the command that needs them, so ``reminder --help`` is fast.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime

import click

from reminder import __version__
from reminder.deadline_types import SANE_YEARS, year_is_sane
from reminder.errors import ReminderError

YEAR_RANGE = click.IntRange(*SANE_YEARS)
"""--plan-year: a year outside it is a typo, refused before it reaches a date computation."""


def _print_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=None, default=str))


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2021-09-30", param_hint=option)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a time like 2021-09-30T09:00", param_hint="--now")
    _check_year(moment.year, value, "--now")
    return moment


def _parse_sane_date(value: str | None, option: str) -> date | None:
    """A date a person gives for the plans to count from (an event, an issue date): in SANE_YEARS."""
    day = _parse_date(value, option)
    if day is not None:
        _check_year(day.year, value, option)
    return day


def _check_year(year: int, value, option: str) -> None:
    if not year_is_sane(year):
        raise click.BadParameter(f"'{value}' is outside the years {SANE_YEARS[0]}-{SANE_YEARS[1]}; check the "
                                 "year", param_hint=option)


def _holder(kind: str) -> str:
    """This process's holder id for claims and leases: never shared with another process, so one
    process never takes over another's claims while that one is alive."""
    import socket

    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


class _Group(click.Group):
    """Turns the package's own errors into exit code 1 with a one-line message."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ReminderError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="reminder")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (TOML). Default: $REMINDER_CONFIG, else ./config.toml, else built-in defaults.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="SQLite database file; overrides the config's 'database'.")
@click.pass_context
def cli(ctx, config_path, db_path):
    """Keep open-government (政务公开) task plans on schedule: read plans, remind units, escalate."""
    ctx.obj = {"config_path": config_path, "db_path": db_path}


def _config(ctx):
    """Load the config once per command run."""
    if "config" not in ctx.obj:
        from reminder.config import load_config

        ctx.obj["config"] = load_config(ctx.obj["config_path"])
    return ctx.obj["config"]


def _db(ctx, refresh: bool = True):
    """The database, migrated, with every task's effective due date computed by the config's rule and its
    assignments resolved by the config's unit directory (aliases, groups). ``refresh`` False for previews,
    which do that inside a transaction they roll back."""
    from reminder import store

    config = _config(ctx)
    db = store.open_db(ctx.obj["db_path"] or config.database)
    if refresh:
        now = _now(ctx, None)
        store.refresh_due_dates(db, config.due_dates(), now)
        store.refresh_units(db, config.directory, now)
    return db


# --- reading plans --------------------------------------------------------------------------------

@cli.command()
@click.argument("text", required=False)
@click.option("--plan-year", type=YEAR_RANGE, help="Year of the plan; fills in dates written without a year. Default: this year.")
@click.option("--issued", help="Issue date of the plan (YYYY-MM-DD), for dates relative to it.")
@click.option("--json", "as_json", is_flag=True, help="Print the parsed deadline as JSON.")
def deadline(text, plan_year, issued, as_json):
    """Parse deadline TEXT (时限要求) into a due date.

    With no TEXT, reads one phrase a line from standard input and writes one result a line.
    """
    from reminder import clock
    from reminder import deadline as deadlines

    year = plan_year or clock.today().year
    issued_on = _parse_sane_date(issued, "--issued")
    phrases = [text] if text is not None else (line.rstrip("\r\n") for line in sys.stdin)
    for phrase in phrases:
        result = deadlines.parse(phrase, year, issued_on)
        if as_json:
            _print_json(result.as_dict())
        else:
            click.echo(_describe_deadline(result))


def _describe_deadline(result) -> str:
    parts = [str(result.kind)]
    if result.due:
        parts.append(result.due.isoformat() + (" (year inferred)" if result.inferred_year else ""))
    for milestone in result.milestones:
        parts.append(f"[{milestone.due.isoformat()} {milestone.what}]")
    if result.every:
        parts.append(f"every {result.every}")
    if result.offset:
        parts.append(f"{result.offset.n} {result.offset.unit}(s) after {result.offset.after}")
    return " ".join(parts)


@cli.command()
@click.argument("file")
@click.option("--plan-year", type=YEAR_RANGE, help="Plan year, when the document does not say it.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole plan as JSON.")
def parse(file, plan_year, as_json):
    """Parse a plan document (.txt .docx .xlsx .xls .html .pdf, or a web address) without touching the database."""
    from reminder.ingest import read_plan

    plan = read_plan(file, plan_year=plan_year)
    if as_json:
        _print_json(plan.as_dict())
        return
    click.echo(f"{plan.title or '(untitled)'} ({plan.plan_year}), issued {plan.issued or 'unknown'}: {len(plan.tasks)} tasks")
    for task in plan.tasks:
        due = task.deadline.due.isoformat() if task.deadline.due else str(task.deadline.kind)
        click.echo(f"  {task.number:>4}  {due:<10}  {'、'.join(task.units)[:40]}  {task.text[:30]}")
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command("import")
@click.argument("files", nargs=-1, required=True)
@click.option("--plan-year", type=YEAR_RANGE, help="Plan year, when a document does not say it.")
@click.option("--json", "as_json", is_flag=True, help="Print one import report per file as JSON.")
@click.option("--now", "now_text", help="Record the import as of this time (ISO); reminders are planned from it.")
@click.pass_context
def import_(ctx, files, plan_year, as_json, now_text):
    """Import plan documents (files or web addresses) into the database (again: updates the plan and
    reports what changed).

    Every file is read before anything is written: if one cannot be read, nothing is stored.
    """
    from reminder import store
    from reminder.ingest import read_plan
    from reminder.present import progress

    plans = []
    with progress(files, "reading") as bar:
        for file in bar:
            plans.append(read_plan(file, plan_year=plan_year))
    config = _config(ctx)
    db = _db(ctx)
    reports = store.import_plans(db, plans, _now(ctx, now_text), due_dates=config.due_dates(),
                                 units=config.directory)
    calendar = config.working_calendar()
    for plan, report in zip(plans, reports):
        unknown = config.directory.unknown_units(plan)
        uncovered = calendar.uncovered(_plan_years(plan))
        if as_json:
            _print_json({**report.as_dict(), "warnings": list(plan.warnings),
                         "unknown_units": [{"unit": unit, "tasks": numbers} for unit, numbers in unknown.items()],
                         "calendar_warnings": [calendar.coverage_note(year) for year in uncovered]})
            continue
        for line in import_summary(report):
            click.echo(line)
        for warning in plan.warnings:
            click.echo(f"warning: {plan.source}: {warning}", err=True)
        for unit, numbers in unknown.items():
            which = ("tasks " if len(numbers) > 1 else "task ") + ", ".join(numbers)
            click.echo(f"warning: {plan.source}: unit '{unit}' ({which}) is not in the unit directory; it is "
                       f"kept, but add it or an alias to [[units]] in the config so its reminders reach it", err=True)
        _warn_uncovered(calendar, uncovered, f"{plan.source}: ")


def _plan_years(plan) -> set[int]:
    """The years a plan's dates fall in: its own year and every written date's."""
    years = {plan.plan_year}
    for task in plan.tasks:
        years.update(d.year for d in (task.deadline.due, *(m.due for m in task.deadline.milestones)) if d)
    return years


def _warn_uncovered(calendar, years, where: str = "") -> None:
    """One warning per year the working-day calendar does not cover (it then counts weekends only)."""
    for year in years:
        click.echo(f"warning: {where}{calendar.coverage_note(year)} (the working-day calendar does not cover "
                   f"{year}: only Saturdays and Sundays count as rest days; add the year's holidays and 调休 "
                   "workdays under [calendar] in the config, or upgrade the holidays package; "
                   f"`reminder calendar {year}` shows what is known)", err=True)


def import_summary(report) -> list[str]:
    """Short lines for people: the outcome first, then one line per kind of change."""
    head = f"plan {report.plan_id} {report.title or '(untitled)'} ({report.plan_year}): {report.status}"
    if report.status == "created":
        return [f"{head}, {len(report.tasks_added)} tasks, {len(report.assignments_added)} assignments"]
    if report.matched_by == "source":
        head += " (recognised by its file name)"
    lines = [head]
    if report.plan_changes:
        lines.append("  plan: " + ", ".join(report.plan_changes) + " changed")
    if report.tasks_added:
        lines.append("  tasks added: " + ", ".join(report.tasks_added))
    if report.tasks_removed:
        lines.append("  tasks removed: " + ", ".join(report.tasks_removed))
    lines += ["  " + _describe_change(c) for c in report.tasks_changed]
    if report.assignments_added or report.assignments_removed:
        lines.append(f"  assignments: {len(report.assignments_added)} added, "
                     f"{len(report.assignments_removed)} removed")
    for number, unit, before, after in report.units_respelled:
        lines.append(f"  task {number}: {unit} is written {after} now (was {before}); its done marks and "
                     "reports are kept")
    return lines


def _describe_change(change) -> str:
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




@cli.command()
@click.option("--unit", help="Only tasks of this unit (its name or alias in the unit directory, a group for its "
                             "members, an exact name or part of it); a unit's group tasks are its own.")
@click.option("--due-before", help="Only tasks due on or before this date (YYYY-MM-DD).")
@click.option("--kind", type=click.Choice(["fixed", "ongoing", "recurring", "relative", "none"]),
              help="Only tasks whose deadline is of this kind.")
@click.option("--plan", "plan_ref", help="Only tasks of this plan (id or part of its title).")
@click.option("--json", "as_json", is_flag=True, help="Print the tasks as a JSON list.")
@click.pass_context
def tasks(ctx, unit, due_before, kind, plan_ref, as_json):
    """List imported tasks; dates that were inferred are marked as inferred."""
    from reminder import store

    db = _db(ctx)
    listings = store.list_tasks(db, unit=unit, due_before=_parse_date(due_before, "--due-before"),
                                kind=kind, plan=plan_ref, rule=_config(ctx).directory)
    if as_json:
        reports = store.reports_of(db, [a.id for listing in listings for a in listing.assignments])
        _print_json([_task_json(listing, reports) for listing in listings])
        return
    from reminder.present import KIND_NAMES, table

    rows = []
    for listing in listings:
        task = listing.task
        due = task.due.day.isoformat() if task.due else "-"
        if task.due and task.due.inferred:
            due += "（推定）"
        rows.append([str(task.ref), KIND_NAMES.get(str(task.deadline.kind), str(task.deadline.kind)), due,
                     "、".join(a.unit for a in listing.assignments) or "待分配", task.text])
    if listings:
        for line in table(["登记号", "时限类型", "到期日", "责任单位", "任务内容"], rows, widths={3: 30, 4: 40}):
            click.echo(line)
    if not listings:
        click.echo("no tasks match", err=True)
    years = {t.task.plan_year for t in listings} | {t.task.due.day.year for t in listings if t.task.due}
    _warn_uncovered(_config(ctx).working_calendar(), _config(ctx).working_calendar().uncovered(years))


def _time(moment: datetime | None) -> str | None:
    """An instant as the store writes it (UTC, fixed width), for JSON output."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment else None


def _task_json(listing, reports=None) -> dict:
    """`reminder tasks --json`: one object per task (the shape README documents)."""
    reports = reports or {}
    task = listing.task
    return {
        "id": str(task.ref),
        "task_id": task.id,
        "plan_id": task.ref.plan_id,
        "plan_title": task.plan_title,
        "plan_year": task.plan_year,
        "number": task.number,
        "section": list(task.section),
        "text": task.text,
        "kind": str(task.deadline.kind),
        "due": task.due.day.isoformat() if task.due else None,
        "due_written": task.due.written.isoformat() if task.due else None,
        "inferred": bool(task.due and task.due.inferred),
        "deadline_text": task.deadline.text,
        "deadline": task.deadline.as_dict(),
        "units": [a.unit for a in listing.assignments],
        "lead_units": [a.unit for a in listing.assignments if a.role == "lead"],
        "units_text": task.units_text,
        "line": task.line,
        "status": str(listing.status),
        "removed": task.removed,
        "assignments": [{"id": a.id, "unit": a.unit, "role": str(a.role), "status": str(a.status),
                         "done_at": _time(a.done_at), "written": a.written, "via_group": a.via_group,
                         "assigned_by": str(a.assigned_by), "assigned_at": _time(a.started_at),
                         "reports": [_report_json(r) for r in reports.get(a.id, ())]}
                        for a in listing.assignments],
    }


def _report_json(report) -> dict:
    """A unit's report in JSON: kind, note, when it happened (``at``) and when it was entered."""
    return {"kind": str(report.kind), "note": report.note, "at": _time(report.at),
            "recorded_at": _time(report.recorded_at)}


# --- reminding ------------------------------------------------------------------------------------

def _now(ctx, value: str | None, hour: int | None = None):
    """--now as an aware time in the office's timezone (a naive ISO time is read as local); a bare date
    (2021-09-30) is that day at ``hour`` when one is given (the send hour for a tick, the digest hour for a
    digest), else at midnight."""
    from zoneinfo import ZoneInfo

    from reminder import clock

    config = _config(ctx)
    moment = _parse_now(value)
    if moment is None:
        return clock.now(config.timezone)
    if hour is not None and value is not None and len(value.strip()) == 10:
        moment = moment.replace(hour=hour)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(config.timezone))


@cli.command()
@click.option("--now", "now_text", help="Run as of this time (ISO, e.g. 2021-11-01T09:30; a bare date is that day "
                                        "at send_hour); default: now.")
@click.option("--dry-run", is_flag=True, help="Show what would go out at --now (any date, before the import too); "
                                              "change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def tick(ctx, now_text, dry_run, as_json):
    """One planning and delivery pass: queue what is due by now, then send the outbox.

    Nothing goes out outside the sending window (working days, from send_hour, before send_until_hour):
    the pass then says when the next sending moment is."""
    from reminder.tick import run_tick

    config = _config(ctx)
    now = _now(ctx, now_text, config.send_hour)
    db = _db(ctx, refresh=not dry_run)
    if not dry_run:
        _recover_clock(db, config, now)
    from reminder.present import SendingMeter

    meter = SendingMeter()
    try:
        report = run_tick(db, config, now, dry_run=dry_run, holder=_holder("tick"), meter=meter)
    finally:
        meter.close()
    if as_json:
        _print_json(report.as_dict())
        return
    from reminder.present import CHANNEL_NAMES, tick_line

    click.echo(tick_line(report, now, config, dry_run))
    for preview in report.preview:
        click.echo(f"  → {preview.unit}（{CHANNEL_NAMES.get(preview.route.channel, preview.route.channel)} "
                   f"{preview.route.destination}）：{preview.subject}")
    for unit in report.unroutable:
        click.echo(f"warning: no contact for {unit}; add it to [[units]] or set fallback_channel", err=True)


@cli.command()
@click.option("--now", "now_text", help="Build the digest as of this time (ISO; a bare date is that day at "
                                        "digest_hour); default: now.")
@click.option("--dry-run", is_flag=True, help="Print the digest as of --now (any date); change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def digest(ctx, now_text, dry_run, as_json):
    """Build the office's escalation digest and send it to the office's contacts (on working days, in the
    sending window)."""
    from reminder.digest import run_digest

    config = _config(ctx)
    now = _now(ctx, now_text, config.digest_hour)
    summary = run_digest(_db(ctx, refresh=not dry_run), config, now, dry_run=dry_run, holder=_holder("digest"))
    if as_json:
        _print_json(summary.as_dict())
    elif dry_run:
        click.echo(summary.subject)
        click.echo(summary.text)
    elif summary.waiting_until is not None:
        click.echo(f"not sent: {now:%Y-%m-%d %H:%M} is outside the sending window; the digest goes out on working "
                   f"days in it (next: {summary.waiting_until:%Y-%m-%d %H:%M}); --dry-run shows it now")
    else:
        from reminder.present import delivery_summary

        sent = delivery_summary(summary.delivered, config, "汇总") or "没有发出（已发送过，或没有发往办公室的渠道）"
        click.echo(f"{now.astimezone(config.zone):%Y-%m-%d %H:%M} {summary.subject}：{sent}")


def _recover_clock(db, config, now) -> None:
    """Say loudly when the clock went back past the stored times (it ran ahead and was corrected), after
    recovering from it (reminder.daemon.recover_clock)."""
    from reminder.daemon import recover_clock

    jump = recover_clock(db, config, now)
    if jump is not None:
        click.echo(f"warning: {jump.describe()}", err=True)


@cli.command()
@click.option("--tick-seconds", default=60, show_default=True, type=click.IntRange(1, 86400),
              help="How often to plan and deliver.")
@click.option("--lease-seconds", type=click.IntRange(1, 86400 * 3),
              help="How long the deliverer lease lasts unless renewed (a standby takes over after it); "
                   "default: three ticks, at least 30.")
@click.option("-v", "--verbose", is_flag=True, help="Log every tick, also those that sent nothing (without it, a "
                                                   "tick logs one line when it sent or failed something).")
@click.pass_context
def run(ctx, tick_seconds, lease_seconds, verbose):
    """Run as a service: tick now (catching up), then on schedule; digest daily. Stop with SIGTERM.

    With a [web] section in the config it also serves the web app (see `reminder serve`)."""
    from reminder.daemon import Daemon
    from reminder.present import setup_logging

    config = _config(ctx)
    setup_logging(config.zone, verbose)
    path = ctx.obj["db_path"] or config.database
    _db(ctx).close()  # fail fast (exit 1) on a database that cannot be opened
    web = _start_web(config, path) if config.web else None
    try:
        Daemon(config, path, tick_seconds=tick_seconds, lease_seconds=lease_seconds).run()
    finally:
        if web:
            web.stop()


@cli.command()
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "dead"]), help="Only messages in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def notices(ctx, status, as_json):
    """List messages in the outbox (newest first) with the tasks they carry."""
    from reminder import store

    listings = store.list_messages(_db(ctx), status=status)
    rows = [_message_json(listing) for listing in listings]
    if as_json:
        _print_json(rows)
        return
    from reminder.present import CHANNEL_NAMES, STAGE_NAMES, STATUS_NAMES, local_time, table

    zone = _config(ctx).zone
    cells = [[listing.message.id, STATUS_NAMES.get(r["status"], r["status"]), r["attempts"],
              CHANNEL_NAMES.get(r["channel"], r["channel"]), r["unit"],
              "、".join(STAGE_NAMES.get(stage, stage) for stage in r["stage"].split(",")), ",".join(r["tasks"]) or "-",
              local_time(listing.message.created_at, zone), local_time(listing.message.sent_at, zone),
              r["last_error"] or ""] for listing, r in zip(listings, rows)]
    if cells:
        for line in table(["编号", "状态", "次数", "渠道", "单位", "阶段", "任务", "生成时间", "发出时间", "错误"], cells,
                          right=(0, 2), widths={4: 16, 6: 20, 9: 60}):
            click.echo(line)
    else:
        click.echo("no messages" + (f" with status {status}" if status else ""), err=True)


@cli.command()
@click.argument("message_id", type=int)
@click.pass_context
def show(ctx, message_id):
    """Print message MESSAGE_ID (an id `reminder notices` shows) as the unit reads it: subject, where it
    goes, and its text."""
    from reminder import store
    from reminder.present import CHANNEL_NAMES, local_time

    message = store.get_message(_db(ctx), message_id)
    zone = _config(ctx).zone
    channel = CHANNEL_NAMES.get(message.route.channel, message.route.channel)
    click.echo(f"主题：{message.subject}")
    click.echo(f"发往：{message.unit}（{channel} {message.route.destination}）")
    click.echo(f"状态：{message.status}，生成 {local_time(message.created_at, zone)}"
               + (f"，发出 {local_time(message.sent_at, zone)}" if message.sent_at else ""))
    click.echo("")
    click.echo(message.text if message.text is not None
               else "（正文已按 retention_days 删除，只保留主题和发送记录）")


def _message_json(listing) -> dict:
    """`reminder notices --json`: one object per message; ``stage`` is "digest" for one with no notices."""
    message = listing.message
    return {"id": message.id, "unit": message.unit, "channel": message.route.channel,
            "stage": ",".join(listing.stages) or "digest", "status": str(message.status),
            "attempts": message.attempts, "unknown_attempts": message.unknown_attempts,
            "tasks": list(listing.tasks), "created_at": _time(message.created_at),
            "sent_at": _time(message.sent_at), "last_error": message.last_error, "subject": message.subject}


@cli.command()
@click.argument("message_id", type=int)
@click.pass_context
def retry(ctx, message_id):
    """Queue a dead message again (e.g. after fixing a contact), and try to send it now. A message that
    is being sent right now is refused (it would go out twice)."""
    from reminder import delivery, store

    db = _db(ctx)
    now = _now(ctx, None)
    store.retry_message(db, message_id, now)
    delivered = delivery.deliver_due(db, _config(ctx), now, _holder("retry"), message_ids=[message_id])
    click.echo(f"message {message_id} queued; delivered: {delivered.as_dict()}")


def _report(ctx, task, unit, note, kind, on=None, now_text=None):
    """Record a unit's report and keep it in the 留痕 (actor: the CLI's user); the assignment and whether
    it was recorded (False: it was done, or open, already)."""
    from reminder import store

    db = _db(ctx)
    now = _now(ctx, now_text)
    assignment = store.find_assignment(db, task, unit, _config(ctx).directory)
    actor, note = _cli_actor(), note or ""
    if kind == "done":
        return assignment, store.mark_done(db, assignment.id, actor, now, note, at=_reported_on(ctx, on, now))
    if kind == "reopen":
        return assignment, store.reopen(db, assignment.id, actor, now, note)
    store.report_progress(db, assignment.id, actor, now, note, at=_reported_on(ctx, on, now))
    return assignment, True


def _cli_actor():
    """Who acts from the command line: the operating-system user running it."""
    import getpass

    from reminder.model import Actor, ActorKind

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    return Actor(ActorKind.CLI, name)


def _reported_on(ctx, on: str | None, now):
    """--on DATE: when a report that came earlier (by phone) happened: that day at noon, never later than now."""
    from datetime import time

    day = _parse_date(on, "--on")
    if day is None:
        return None
    local_today = now.astimezone(_config(ctx).zone).date()
    if day > local_today:
        raise click.BadParameter(f"{day} is in the future; a report is recorded on the day it came", param_hint="--on")
    moment = datetime.combine(day, time(12), tzinfo=_config(ctx).zone)
    return min(moment, now)


_ON_HELP = "The day the unit reported, if earlier than today (YYYY-MM-DD), e.g. by phone."


def _records_at(what: str):
    """``--now``, for a command that records ``what`` in the 留痕: as of this time, like `tick --now`
    and `import --now` (previews, tests, and entering the past in order)."""
    return click.option("--now", "now_text", help=f"Record {what} as of this time (ISO, e.g. 2021-09-30T10:00; "
                                                  "default: now).")


@cli.command()
@click.argument("task")
@click.option("--unit", required=True, help="The unit that finished (its name or alias; a group's member by name).")
@click.option("--note", default="", help="What was done.")
@click.option("--on", "on", help=_ON_HELP)
@click.pass_context
def done(ctx, task, unit, note, on):
    """Mark TASK done for a unit; its notices stop. TASK is the id `reminder tasks` shows (1-17),
    or a bare number when only one plan has it."""
    assignment, recorded = _report(ctx, task, unit, note, "done", on)
    if not recorded:
        since = f" since {assignment.done_at.astimezone(_config(ctx).zone):%Y-%m-%d}" if assignment.done_at else ""
        click.echo(f"task {assignment.task.ref} is already done for {assignment.unit}{since}; nothing recorded")
        return
    click.echo(f"task {assignment.task.ref} done for {assignment.unit}")


@cli.command()
@click.argument("task")
@click.option("--unit", required=True, help="The unit reporting (its name or alias; a group's member by name).")
@click.option("--note", required=True, help="The progress made.")
@click.option("--on", "on", help=_ON_HELP)
@click.pass_context
def progress(ctx, task, unit, note, on):
    """Record progress on TASK for a unit; check-ins and overdue repeats count from the report."""
    assignment, _ = _report(ctx, task, unit, note, "progress", on)
    click.echo(f"progress recorded on task {assignment.task.ref} for {assignment.unit}")


@cli.command()
@click.argument("task")
@click.option("--unit", required=True, help="The unit whose task reopens.")
@click.option("--note", default="", help="Why.")
@_records_at("the reopening")
@click.pass_context
def reopen(ctx, task, unit, note, now_text):
    """Reopen TASK for a unit that was marked done by mistake."""
    assignment, recorded = _report(ctx, task, unit, note, "reopen", now_text=now_text)
    if not recorded:
        click.echo(f"task {assignment.task.ref} is open for {assignment.unit} (not done); nothing to reopen")
        return
    click.echo(f"task {assignment.task.ref} reopened for {assignment.unit}")


@cli.command()
@click.argument("task")
@click.option("--unit", required=True, help="The unit acknowledging (its name or alias; a group's member by name).")
@_records_at("the 签收")
@click.pass_context
def ack(ctx, task, unit, now_text):
    """Record that a unit acknowledged TASK (签收), e.g. by phone; its page shows it as 已签收."""
    from reminder import store

    db = _db(ctx)
    assignment = store.find_assignment(db, task, unit, _config(ctx).directory)
    store.acknowledge(db, assignment.id, _cli_actor(), _now(ctx, now_text))
    click.echo(f"task {assignment.task.ref} acknowledged for {assignment.unit}")


@cli.command()
@click.option("--unit", help="Only this unit's requests (its exact name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def requests(ctx, unit, as_json):
    """List the 办结 and 延期 requests waiting for the office, oldest first; `reminder decide` answers them."""
    from reminder import store

    pending = store.pending_requests(_db(ctx), unit=unit)
    if as_json:
        _print_json([_request_json(r) for r in pending])
        return
    if not pending:
        click.echo("no requests waiting")
    zone = _config(ctx).zone
    for r in pending:
        what = "done" if r.kind == "done" else f"extend to {r.new_due}"
        due = r.assignment.due.day if r.assignment.due else "-"
        click.echo(f"#{r.id}  {r.action.at.astimezone(zone):%Y-%m-%d %H:%M}  {r.assignment.unit}  task "
                   f"{r.assignment.task.ref} (due {due}): {what}" + (f" -- {r.action.note}" if r.action.note else ""))


def _request_json(request) -> dict:
    return {"id": request.id, "kind": str(request.kind), "state": str(request.state), "unit": request.assignment.unit,
            "task": str(request.assignment.task.ref), "due": _iso_day(request.assignment.due),
            "new_due": request.new_due.isoformat() if request.new_due else None, "note": request.action.note,
            "file": request.action.file, "link": request.action.link, "at": _time(request.action.at),
            "decision": _action_json(request.decision) if request.decision else None}


def _iso_day(due) -> str | None:
    return due.day.isoformat() if due else None


def _action_json(action) -> dict:
    return {"id": action.id, "at": _time(action.at), "actor": str(action.actor), "kind": str(action.kind),
            "unit": action.unit, "task_id": action.task_id, "note": action.note, "file": action.file,
            "link": action.link, "old_due": action.old_due.isoformat() if action.old_due else None,
            "new_due": action.new_due.isoformat() if action.new_due else None, "request_id": action.request_id}


@cli.command()
@click.argument("request_id", type=int)
@click.option("--accept/--refuse", required=True, help="Confirm 办结 / approve 延期, or return / refuse it.")
@click.option("--note", default="", help="The office's answer; required with --refuse (the unit sees it).")
@_records_at("the decision (an approved 延期 replans from it)")
@click.pass_context
def decide(ctx, request_id, accept, note, now_text):
    """Answer request REQUEST_ID (`reminder requests`): a confirmed 办结 closes the task for the unit; an
    approved 延期 moves that unit's due date and its reminders follow the new date."""
    from reminder import store

    if not accept and not note.strip():
        raise click.UsageError("--refuse needs --note with the reason (the unit sees it)")
    decided = store.decide(_db(ctx), request_id, accept, _cli_actor(), _now(ctx, now_text), note.strip())
    assignment = decided.assignment
    if decided.kind == "extend" and accept:
        click.echo(f"task {assignment.task.ref}: {assignment.unit} now due {decided.new_due}")
    else:
        click.echo(f"request #{request_id} {decided.state} (task {assignment.task.ref}, {assignment.unit})")


@cli.command()
@click.option("--unit", help="Only this unit's actions (its exact name).")
@click.option("--task", "task_ref", help="Only this task's actions (its id, 1-17).")
@click.option("--limit", type=int, default=50, show_default=True, help="The latest this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def history(ctx, unit, task_ref, limit, as_json):
    """The 留痕: every 签收, report, request and decision (from the pages and the CLI), oldest first."""
    from reminder import store

    db = _db(ctx)
    task_id = store.get_task(db, task_ref).task.id if task_ref else None
    actions = store.history(db, unit=unit, task_id=task_id, limit=limit)
    if as_json:
        _print_json([_action_json(a) for a in actions])
        return
    zone = _config(ctx).zone
    for a in actions:
        dates = f" {a.old_due or ''}->{a.new_due}" if a.new_due else ""
        click.echo(f"{a.at.astimezone(zone):%Y-%m-%d %H:%M}  {a.actor}  {a.kind}{dates}  {a.unit}"
                   + (f" -- {a.note}" if a.note else ""))


@cli.command()
@click.argument("task")
@click.option("--unit", required=True, help="The unit to give TASK to (a name or alias; a group gives it to each "
                                            "member).")
@click.option("--remove", is_flag=True, help="Take TASK away from the unit instead.")
@click.pass_context
def assign(ctx, task, unit, remove):
    """Give TASK to a unit (a task the plan left without units is 待分配 until then), or take it away.

    A re-import of the plan keeps what the office decided here."""
    from reminder import store

    config = _config(ctx)
    db = _db(ctx)
    found = store.get_task(db, task).task
    name = unit.strip()
    if remove:
        units = store.unassign_unit(db, found.id, name, config.directory, _now(ctx, None))
        click.echo(f"task {found.ref} taken from {'、'.join(units)}")
        return
    resolution = config.directory.resolve_name(name)
    if not resolution.known and len(config.directory):
        click.echo(f"warning: '{name}' is not in the unit directory; its reminders go to the fallback channel or "
                   "it is listed as unroutable until you add it to [[units]]", err=True)
    units = store.assign_unit(db, found.id, name, config.directory, _now(ctx, None))
    if not units:
        click.echo(f"task {found.ref} already has {'、'.join(resolution.units)}; nothing changed")
        return
    click.echo(f"task {found.ref} given to {'、'.join(units)}")


@cli.command()
@click.argument("task")
@click.option("--name", default="", help="The event as the deadline names it (印发); default: the deadline's own.")
@click.option("--date", "day", required=True, help="When it happened (YYYY-MM-DD).")
@click.pass_context
def event(ctx, task, name, day):
    """Record the date of the event a relative deadline counts from (印发后3个工作日内)."""
    from reminder import store

    db = _db(ctx)
    found = store.get_task(db, task).task
    offset = found.deadline.offset
    name = name or (offset.after if offset else "")
    if not name:
        raise click.UsageError(f"task {found.ref} has no relative deadline; pass --name")
    store.record_event(db, found.id, name, _parse_sane_date(day, "--date"), _now(ctx, None), _config(ctx).due_dates())
    click.echo(f"task {found.ref}: {name} on {day}")


@cli.command()
@click.option("--plan", "plan_ref", help="Plan id or part of its title (default: all plans).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def status(ctx, plan_ref, as_json):
    """A plan's progress by unit: open, done and overdue assignments, the latest report and note."""
    from reminder import store

    today = _now(ctx, None).astimezone(_config(ctx).zone).date()
    rows = store.plan_status(_db(ctx), plan_ref, today)
    if as_json:
        _print_json([{"plan_id": r.plan_id, "plan_title": r.plan_title, "unit": r.unit, "open": r.open,
                      "done": r.done, "overdue": r.overdue, "last_report_at": _time(r.last_report_at),
                      "last_note": ({"task": str(r.last_note.ref), **_report_json(r.last_note)}
                                    if r.last_note else None)} for r in rows])
        return
    from reminder.present import local_time, table

    zone = _config(ctx).zone
    for plan_id in dict.fromkeys(r.plan_id for r in rows):
        of_plan = [r for r in rows if r.plan_id == plan_id]
        click.echo(f"计划 {plan_id}：{of_plan[0].plan_title}")
        cells = [[r.unit, r.open, r.done, r.overdue, local_time(r.last_report_at, zone),
                  f"{r.last_note.ref}：{r.last_note.note}" if r.last_note else "-"] for r in of_plan]
        for line in table(["单位", "未完成", "已完成", "逾期", "最近报送", "最近说明"], cells, right=(1, 2, 3),
                          widths={0: 24, 5: 40}):
            click.echo("  " + line)
    if not rows:
        click.echo("no plans imported yet (`reminder import FILE`)", err=True)


@cli.command("calendar")
@click.argument("year", type=click.IntRange(1900, 2200), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the year's days as JSON.")
@click.pass_context
def calendar_(ctx, year, as_json):
    """The working-day calendar for YEAR (default: this year): the holidays and 调休 workdays in force,
    where each comes from (the holidays package, the config), and the years it covers."""
    from reminder import clock
    from reminder.workdays import library_source

    config = _config(ctx)
    calendar = config.working_calendar()
    year = year or clock.today(config.timezone).year
    schedule = calendar.schedule(year)
    if as_json:
        _print_json({"year": year, "covered": schedule.covered, "covered_years": list(calendar.covered_years),
                     "rest_days": [{"date": d.day.isoformat(), "name": d.name, "source": d.source}
                                   for d in schedule.rest_days],
                     "workdays": [{"date": d.day.isoformat(), "name": d.name, "source": d.source}
                                  for d in schedule.workdays]})
        return
    library_years = calendar.library_years
    span = f"{library_years[0]}-{library_years[-1]}" if library_years else "no years"
    overrides = len(config.calendar.extra_holidays) + len(config.calendar.extra_workdays)
    click.echo(f"{library_source()} covers {span}; the config ([calendar]) adds {len(config.calendar.extra_holidays)} "
               f"holidays and {len(config.calendar.extra_workdays)} workdays" + (":" if overrides else "."))
    config_years = sorted({d.year for d in (*config.calendar.extra_holidays, *config.calendar.extra_workdays)})
    if config_years:
        click.echo("  in " + ", ".join(map(str, config_years)))
    if not schedule.covered:
        click.echo(f"{year}: {calendar.coverage_note(year)}: not covered, so only Saturdays and Sundays are rest "
                   "days. Add the State Council's schedule for the year under [calendar] (extra_holidays, "
                   "extra_workdays) in the config, or upgrade the holidays package.")
        return
    click.echo(f"{year}: rest days (statutory holidays):")
    for d in schedule.rest_days:
        click.echo(f"  {d.day.isoformat()} {_weekday(d.day)}  {d.source:<18}  {d.name}")
    click.echo(f"{year}: 调休 workdays (weekend days worked):" + ("" if schedule.workdays else " none"))
    for d in schedule.workdays:
        click.echo(f"  {d.day.isoformat()} {_weekday(d.day)}  {d.source:<18}  {d.name}")


def _weekday(day: date) -> str:
    return "周" + "一二三四五六日"[day.weekday()]


@cli.group("config")
def config_():
    """The configuration file: check it."""


@config_.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the units, their routes and the warnings as JSON.")
@click.pass_context
def config_check(ctx, as_json):
    """Validate the config (exit 1 naming the key when it is wrong), then print each unit's effective
    routes (which mailbox or robot its notices go to, shared with whom; a group's members) and warnings.
    Every other command validates the config the same way before it runs."""
    from reminder.routing import directory_report

    config = _config(ctx)
    units, warnings = directory_report(config)
    if as_json:
        _print_json({"source": str(config.source) if config.source else None, "warnings": warnings,
                     "units": [{"unit": u.unit, "aliases": list(u.aliases), "groups": list(u.groups),
                                "members": list(u.members),
                                "routes": [{"id": r.id, "channel": r.channel, "destination": r.destination,
                                            "shared_with": list(others)} for r, others in u.routes]}
                               for u in units]})
        return
    click.echo(f"config {config.source or '(built-in defaults)'}: valid")
    for u in units:
        names = f"{u.unit}" + (f" (also {'、'.join(u.aliases)})" if u.aliases else "")
        if u.members:
            click.echo(f"  {names}: group of {len(u.members)}: {'、'.join(u.members)}")
            continue
        groups = f" [in {'、'.join(u.groups)}]" if u.groups else ""
        click.echo(f"  {names}{groups}:" + ("" if u.routes else " no route"))
        for route, others in u.routes:
            shared = f" (shared with {'、'.join(others)})" if others else ""
            click.echo(f"      {route.channel:<8} {route.destination}{shared}")
    if not len(config.directory):
        fallback = "the fallback channel (.eml files)" if config.fallback_channel else "nowhere (unroutable)"
        click.echo(f"  no [[units]]: every unit's notices go to {fallback}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.group()
def units():
    """The unit directory (names, aliases, contacts)."""


@units.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--write", is_flag=True, help="Write into the config file: add the new units, update the contacts "
                                            "(emails, webhooks) of units already there, and report each change.")
@click.option("--skip-bad", is_flag=True, help="Import the good rows when some rows are bad (each bad row is "
                                               "reported by line); without it a bad row stops the import.")
@click.pass_context
def units_import(ctx, file, write, skip_bad):
    """Read a unit directory kept in Excel or CSV and print (or --write) its [[units]] TOML."""
    from pathlib import Path

    from reminder.directory_import import add_to_config, read_units, units_to_toml

    found, problems = read_units(file)
    for problem in problems:
        click.echo(f"{'skipped' if skip_bad else 'error'}: {problem}", err=True)
    if problems and not skip_bad:
        raise click.ClickException(f"{len(problems)} bad row(s) in {file}; nothing was "
                                   f"{'written' if write else 'printed'}. Fix them, or pass --skip-bad to "
                                   "import the other rows")
    if not write:
        click.echo(units_to_toml(found))
        return
    target = Path(ctx.obj["config_path"] or os.environ.get("REMINDER_CONFIG") or "config.toml")
    added, changes = add_to_config(target, found)
    click.echo(f"{len(added)} units added to {target}" + (f": {'、'.join(added)}" if added else "")
               + f"; {len(changes)} contact(s) updated" + (":" if changes else ""))
    for change in changes:
        click.echo(f"  {change}")


@units.command("list")
@click.pass_context
def units_list(ctx):
    """Each unit of the directory: its aliases, a group's members, and where its messages go (its effective
    routes, as `reminder config check` works them out)."""
    from reminder.present import CHANNEL_NAMES, table
    from reminder.routing import directory_report

    config = _config(ctx)
    units, _ = directory_report(config)
    rows = []
    for u in units:
        if u.members:
            where = "各成员单位各自的渠道"
        elif u.routes:
            where = "；".join(f"{CHANNEL_NAMES.get(r.channel, r.channel)} {r.destination}"
                             + (f"（与{'、'.join(others)}共用）" if others else "") for r, others in u.routes)
        else:
            where = "无（汇总中列为无法送达）"
        rows.append([u.unit, "、".join(u.aliases) or "-", "、".join(u.members) or "-", where])
    if not rows:
        fallback = "the fallback channel (.eml files)" if config.fallback_channel else "nowhere (unroutable)"
        click.echo(f"no [[units]] in {config.source or 'the built-in defaults'}: every unit's notices go to {fallback}")
        return
    for line in table(["单位", "别名", "成员单位", "消息发往"], rows, widths={1: 24, 2: 30}):
        click.echo(line)


@cli.command()
@click.argument("target", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--keep", type=click.IntRange(1, 10000), help="Keep only the newest N backups in the folder.")
@click.pass_context
def backup(ctx, target, keep):
    """Copy the database to TARGET (a folder, or a file ending in .db) while the service runs."""
    from pathlib import Path

    from reminder.backup import backup_database

    db = _db(ctx)
    result = backup_database(db.conn, Path(target), _now(ctx, None), keep=keep)
    click.echo(f"backup written to {result.path}"
               + (f"; removed {len(result.removed)} older backup(s)" if result.removed else ""))


# --- the web app ----------------------------------------------------------------------------------

def _start_web(config, db_path, host=None, port=None):
    from reminder.web.server import start_web

    return start_web(config, db_path, host, port)


@cli.command()
@click.option("--host", help="Address to listen on; default: the config's web.bind (127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port; default: the config's web.port (8080).")
@click.pass_context
def serve(ctx, host, port):
    """Serve the web app alone (units' pages, the office's board) until SIGTERM or Ctrl-C."""
    import signal
    import threading

    from reminder.present import setup_logging

    config = _config(ctx)
    setup_logging(config.zone)
    path = ctx.obj["db_path"] or config.database
    _db(ctx).close()  # fail fast (exit 1) on a database that cannot be opened
    server = _start_web(config, path, host, port)
    click.echo(f"serving {server.local_url} (links point to {(config.web or _web_defaults()).base_url}); "
               "stop with Ctrl-C", err=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    server.stop()


def _web_defaults():
    from reminder.config import WebConfig

    return WebConfig()


@cli.command()
@click.argument("unit")
@click.option("--revoke", is_flag=True, help="Stop every link of UNIT made so far from opening, instead.")
@click.pass_context
def link(ctx, unit, revoke):
    """Print UNIT's own link to its page (signed, expiring after web.link_days).

    UNIT is a unit's exact name as the tasks or the unit directory name it. With --revoke, the unit's
    earlier links stop working at once; run it again without --revoke for a new one.
    """
    from reminder import store
    from reminder.web.keys import derive, load_secret
    from reminder.web.links import link_url, make_token

    config = _config(ctx)
    web = config.web or _web_defaults()
    db = _db(ctx)
    name = _link_unit(db, config, unit)
    now = _now(ctx, None)
    if revoke:
        store.revoke_unit_links(db, name, now, by="cli")
        click.echo(f"every earlier link of {name} is revoked; `reminder link {name}` makes a new one")
        return
    token, expires = make_token(derive(load_secret(web), "unit-link"), name,
                                store.unit_link_generation(db, name), now, web.link_days)
    click.echo(link_url(web.base_url, token))
    click.echo(f"{name}: opens until {expires.astimezone(config.zone):%Y-%m-%d %H:%M}", err=True)


def _link_unit(db, config, unit: str) -> str:
    """The exact unit a link is for: a name some task is assigned to, else a directory unit's name."""
    from reminder import store

    name = unit.strip()
    matches = store.match_units(db, name, config.directory)
    if matches == [name]:
        return name
    known = config.directory.lookup(name)
    if known is not None:
        return known.name
    hint = f"; did you mean: {'、'.join(matches[:10])}" if matches else ""
    raise click.ClickException(f"no task is assigned to a unit named '{name}' and the unit directory does not "
                               f"know it{hint} (a link is for one exact unit)")


@cli.command("hash-password")
def hash_password():
    """Make a password hash for [[web.users]] password_hash; reads the password from a prompt or stdin."""
    from reminder.web.passwords import hash_password as make_hash
    from reminder.web.passwords import password_problem

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    click.echo(make_hash(password))


def main() -> None:
    cli(prog_name="reminder")


@cli.group()
def export():
    """Exports for the office: the 台账 (.xlsx) and the annual report's 落实情况 paragraph."""


_AS_OF_HELP = ("As of this time (ISO; a bare date is that day): days overdue and 亮灯 are counted from it "
              "(default: now).")


def _ledger(ctx, plan_ref, now_text):
    from reminder import store
    from reminder.ledger import ledger_rows

    config = _config(ctx)
    db = _db(ctx)
    plans = store.match_plans(db, plan_ref) if plan_ref else None
    if plans == []:
        raise click.ClickException(f"no plan matches '{plan_ref}'; `reminder tasks` shows the imported plans")
    today = _now(ctx, now_text).astimezone(config.zone).date()
    return ledger_rows(db, today, config.zone, config.policy.yellow_within_days, plans), today


@export.command("ledger")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--plan", "plan_ref", help="Only this plan (id or part of its title).")
@click.option("--now", "now_text", help=_AS_OF_HELP)
@click.pass_context
def export_ledger(ctx, file, plan_ref, now_text):
    """Write the 台账 to FILE (.xlsx): one row per task × unit, as of today."""
    from reminder.ledger import write_xlsx
    from reminder.present import progress

    rows, today = _ledger(ctx, plan_ref, now_text)
    with progress(rows, "writing", at_least=EXPORT_BAR_AT_LEAST) as bar:
        write_xlsx(bar, file, today)
    click.echo(f"{len(rows)} rows written to {file}")


EXPORT_BAR_AT_LEAST = 2000
"""Rows of the 台账 before writing it shows a bar (a few thousand rows take a second or more)."""


@export.command("summary")
@click.option("--plan", "plan_ref", help="Only this plan (id or part of its title).")
@click.option("--now", "now_text", help=_AS_OF_HELP)
@click.pass_context
def export_summary(ctx, plan_ref, now_text):
    """Print the 落实情况 paragraph of each plan, as of today, for the annual report."""
    from reminder.ledger import summaries

    rows, today = _ledger(ctx, plan_ref, now_text)
    for _, text in summaries(rows, today):
        click.echo(text)
