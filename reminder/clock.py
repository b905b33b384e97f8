"""The only place that reads the system clock.

Everything else takes ``now`` as an argument, so tests and ``--now`` can step through time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


def now(timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """The current time as an aware datetime in the office's timezone."""
    return datetime.now(ZoneInfo(timezone)).replace(microsecond=0)


def today(timezone: str = DEFAULT_TIMEZONE) -> date:
    return now(timezone).date()
