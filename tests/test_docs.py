"""Documentation is tested: every command has help and an entry in the README, and every config key
the code reads is in config.example.toml (and nothing there is unknown to the code)."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path

import click
import pytest

from reminder.cli import cli
from reminder.config import Config
from reminder.model import Secret
from tests.conftest import ROOT
from tests.test_config import example_with_everything_on

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group = cli, prefix: str = "reminder") -> list[tuple[str, click.Command]]:
    """Every command, as people type it ("reminder units import"), with nested groups walked."""
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += commands(command, path)
        else:
            found.append((path, command))
    return found


def test_the_command_walk_finds_every_command():
    names = [path for path, _ in commands()]
    assert "reminder tick" in names and "reminder units import" in names and "reminder calendar" in names
    assert len(names) == 30  # backup, serve, link and hash-password came with deployment and the web app;
    # assign and config check with one identity per unit (issue 9); ack, requests, decide, history with the
    # loop, export ledger and export summary with the office views (issue 11); show and units list (issue 12)


@pytest.mark.parametrize(("path", "command"), commands(), ids=[p for p, _ in commands()])
def test_every_command_is_in_the_readme_and_has_help(path, command):
    assert f"`{path}" in README, f"README.md has no entry for `{path}`"
    assert command.help and command.help.strip(), f"{path} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} {param.opts[0]} has no help text"


def _documented_keys(value, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for name, inner in value.items():
            keys.add(prefix + name)
            keys |= _documented_keys(inner, f"{prefix}{name}.")
    elif isinstance(value, list):
        for inner in value:
            keys |= _documented_keys(inner, prefix)
    return keys


def _nested_dataclass(hint):
    """The config dataclass inside a hint like ``tuple[UnitConfig, ...]`` or ``X | None``."""
    if dataclasses.is_dataclass(hint) and hint is not Secret:
        return hint
    for arg in typing.get_args(hint):
        found = _nested_dataclass(arg)
        if found:
            return found
    return None


def _config_keys(cls, prefix: str = "") -> set[str]:
    """The keys the config reads: dataclass fields, renamed by their ``toml`` metadata (``password`` is
    read from ``password_env``), ``toml_top`` ones from the top level of the file."""
    keys: set[str] = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        keys.update(f.metadata.get("toml_top", ()))
        for name in f.metadata.get("toml", (f.name,)):
            keys.add(prefix + name)
            nested = _nested_dataclass(hints[f.name])
            if nested:
                keys |= _config_keys(nested, f"{prefix}{name}.")
    return keys


def test_every_config_key_is_documented_in_the_example():
    documented = _documented_keys(tomllib.loads(example_with_everything_on()))
    expected = _config_keys(Config)
    assert {"units.webhooks.secret_env", "smtp.password_env", "retention_days", "send_hour"} <= expected
    assert expected - documented == set()
    assert documented - expected == set()


def test_the_readme_config_reference_and_the_example_agree_on_every_key():
    """Every key the example config shows (its commented-out settings too) is in the README's config
    reference, and the reference names no key the example lacks; and the example loads as it is."""
    import re

    from reminder.config import load_config

    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    load_config(example, {})
    in_example = _documented_keys(tomllib.loads(example_with_everything_on()))
    in_example = {k for k in in_example if "." in k or k not in {"calendar", "file", "office", "policy", "smtp",
                                                                  "units", "web"}}
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Config reference", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    in_readme = {key for row in rows for key in re.findall(r"`([a-z0-9_.]+)`", row.split("|")[2])}
    assert in_example - in_readme == set(), "keys missing from the README's config reference"
    assert in_readme - in_example == set(), "keys in the README that the example does not show"
