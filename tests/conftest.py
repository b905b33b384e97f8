"""Shared fixtures and helpers: where the seed documents live, fresh database paths, a config writer,
the command line, and real servers on loopback (tests/servers.py) started per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.servers import HttpServer, SmtpServer

from tests.websupport import _clock_back, browser, page, site  # noqa: F401  (the web tests' fixtures)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
MAIL_DOMAIN = "rongjiang.example"
SMTP_FROM = f"reminder@{MAIL_DOMAIN}"


def seed_path(prefix: str) -> Path:
    """The seed whose name starts with ``prefix`` ("002"); skips the test when the seeds are absent."""
    if not SEEDS.is_dir():
        pytest.skip(f"seed documents not found at {SEEDS} (CI puts ../shared beside the checkout)")
    matches = sorted(SEEDS.glob(f"{prefix}_*"))
    if not matches:
        pytest.skip(f"no seed named {prefix}_* in {SEEDS}")
    return matches[0]


def open_all_week(days: int = 7) -> tuple[str, str]:
    """(top-level keys, a [calendar] table) that make every moment of the coming days a sending moment:
    for tests of a service on the real clock (`reminder run`), which must send whatever the day and hour
    they happen to run at. Notices go out on working days from send_hour only; here send_hour is 0 and
    every day from yesterday on is declared a working day."""
    from datetime import date, timedelta

    start = date.today() - timedelta(days=1)
    workdays = ", ".join(f'"{start + timedelta(days=i)}"' for i in range(days + 2))
    return "send_hour = 0\ndigest_hour = 0", f"[calendar]\nextra_workdays = [{workdays}]"


def write_config(folder: Path, tables: str = "", *, top: str = "", database: Path | None = None,
                 fallback: bool = True, smtp_port: int | None = None, smtp: str = "",
                 policy: dict[str, int] | None = None, always_open: bool = False) -> Path:
    """Write ``folder/config.toml`` and return its path.

    The database is ``folder/reminder.db`` unless ``database`` says otherwise; with ``fallback`` units
    without contacts get .eml files in ``folder/outbox``; ``smtp_port`` adds an [smtp] table for a local
    plain-text server (more [smtp] keys in ``smtp``); ``policy`` fills [policy]; ``top`` holds more
    top-level keys and ``tables`` more tables ([office], [[units]] …), as TOML text. ``always_open``: the
    sending window is open at any moment of the coming days (see :func:`open_all_week`).
    """
    parts = [f'database = "{database or folder / "reminder.db"}"']
    if fallback:
        parts.append('fallback_channel = "file"')
    if always_open:
        keys, calendar = open_all_week()
        parts.append(keys)
        tables = tables + "\n" + calendar
    parts.append(top)
    if fallback:
        parts.append(f'[file]\ndir = "{folder / "outbox"}"')
    if policy:
        parts.append("[policy]\n" + "\n".join(f"{key} = {value}" for key, value in policy.items()))
    if smtp_port:
        parts.append(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\nfrom_addr = "{SMTP_FROM}"\n'
                     + smtp)
    parts.append(tables)
    path = folder / "config.toml"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def invoke(config: Path | None, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run the command line in this process (``--config config`` first when given)."""
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli_group(), [*prefix, *args], env=env, catch_exceptions=False)


def cli_group():
    from reminder.cli import cli

    return cli


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "reminder.db"


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def http_server():
    with HttpServer() as server:
        yield server
