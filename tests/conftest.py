"""Shared fixtures: where the seed documents live, fresh database paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.websupport import _clock_back, browser, page, site  # noqa: F401  (the web tests' fixtures)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


def seed_path(prefix: str) -> Path:
    """The seed whose name starts with ``prefix`` ("002"); skips the test when the seeds are absent."""
    if not SEEDS.is_dir():
        pytest.skip(f"seed documents not found at {SEEDS} (CI puts ../shared beside the checkout)")
    matches = sorted(SEEDS.glob(f"{prefix}_*"))
    if not matches:
        pytest.skip(f"no seed named {prefix}_* in {SEEDS}")
    return matches[0]


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "reminder.db"
