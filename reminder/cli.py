"""Command line: the only place where errors become exit codes and JSON is printed.

Exit codes: 0 success, 1 a failure the user can fix (the message says how), 2 usage error.
Heavy modules are imported inside the command that needs them, so ``reminder --help`` is fast.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import click

from reminder import __version__
from reminder.errors import ReminderError


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
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a time like 2021-09-30T09:00", param_hint="--now")


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


def _db(ctx):
    from reminder import store

    path = ctx.obj["db_path"] or _config(ctx).database
    return store.open_db(path)


# --- reading plans --------------------------------------------------------------------------------

@cli.command()
@click.argument("text", required=False)
@click.option("--plan-year", type=int, help="Year of the plan; fills in dates written without a year. Default: this year.")
@click.option("--issued", help="Issue date of the plan (YYYY-MM-DD), for dates relative to it.")
@click.option("--json", "as_json", is_flag=True, help="Print the parsed deadline as JSON.")
def deadline(text, plan_year, issued, as_json):
    """Parse deadline TEXT (时限要求) into a due date.

    With no TEXT, reads one phrase a line from standard input and writes one result a line.
    """
    from reminder import clock
    from reminder import deadline as deadlines

    year = plan_year or clock.today().year
    issued_on = _parse_date(issued, "--issued")
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
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--plan-year", type=int, help="Plan year, when the document does not say it.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole plan as JSON.")
def parse(file, plan_year, as_json):
    """Parse a plan document (.txt .docx .xlsx .html) without touching the database."""
    from reminder.ingest import read_plan

    plan = read_plan(file, plan_year=plan_year)
    if as_json:
        _print_json(plan.as_dict())
        return
    click.echo(f"{plan.title} ({plan.plan_year}), issued {plan.issued or 'unknown'}: {len(plan.tasks)} tasks")
    for task in plan.tasks:
        due = task.deadline.due.isoformat() if task.deadline.due else str(task.deadline.kind)
        click.echo(f"  {task.number:>4}  {due:<10}  {'、'.join(task.units)[:40]}  {task.text[:30]}")
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--plan-year", type=int, help="Plan year, when a document does not say it.")
@click.option("--json", "as_json", is_flag=True, help="Print one import report per file as JSON.")
@click.pass_context
def import_(ctx, files, plan_year, as_json):
    """Import plan documents into the database (again: updates the plan and reports what changed).

    Every file is read before anything is written: if one cannot be read, nothing is stored.
    """
    from reminder import clock, store
    from reminder.ingest import read_plan

    plans = []
    with click.progressbar(files, label="reading", file=sys.stderr,
                           show_pos=True) if len(files) > 3 else _plain(files) as bar:
        for file in bar:
            plans.append(read_plan(file, plan_year=plan_year))
    config = _config(ctx)
    db = _db(ctx)
    reports = store.import_plans(db, plans, clock.now(config.timezone),
                                 default_due=config.policy.default_due_date)
    for plan, report in zip(plans, reports):
        if as_json:
            _print_json({**report.as_dict(), "warnings": list(plan.warnings)})
            continue
        for line in report.summary_lines():
            click.echo(line)
        for warning in plan.warnings:
            click.echo(f"warning: {plan.source}: {warning}", err=True)


class _plain:
    """A stand-in for click.progressbar when there are too few files to need one."""

    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items

    def __exit__(self, *exc):
        return False


@cli.command()
@click.option("--unit", help="Only tasks assigned to this unit (exact name or part of it).")
@click.option("--due-before", help="Only tasks due on or before this date (YYYY-MM-DD).")
@click.option("--kind", type=click.Choice(["fixed", "ongoing", "recurring", "relative", "none"]),
              help="Only tasks whose deadline is of this kind.")
@click.option("--plan", "plan_ref", help="Only tasks of this plan (id or part of its title).")
@click.option("--json", "as_json", is_flag=True, help="Print the tasks as a JSON list.")
@click.pass_context
def tasks(ctx, unit, due_before, kind, plan_ref, as_json):
    """List imported tasks; dates that were inferred are marked as inferred."""
    from reminder import store

    rows = store.list_tasks(_db(ctx), unit=unit, due_before=_parse_date(due_before, "--due-before"),
                            kind=kind, plan=plan_ref)
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        due = row["due"] or "-"
        if row["due"] and row["inferred"]:
            due += " (inferred)"
        click.echo(f"{row['id']:>5}  {row['number']:>4}  {row['kind']:<9}  {due:<22}  "
                   f"{'、'.join(row['units'])[:40]}  {row['text'][:30]}")
    if not rows:
        click.echo("no tasks match", err=True)


def main() -> None:
    cli(prog_name="reminder")
