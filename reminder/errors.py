"""One exception tree for the whole package; only ``cli`` turns it into exit codes.

::

    ReminderError                 base; ``str(err)`` is a message fit for the user
     ├── InputError(path, line)   a document or input that cannot be read as a plan (exit 1)
     ├── ConfigError(key)         a config key that is missing, unknown or of the wrong type (exit 1)
     ├── StoreError               the database cannot be opened, migrated or written (exit 1)
     └── DeliveryError(permanent) a channel could not deliver; ``permanent`` says not to retry

Messages name the file, line or key, and say how to fix the problem. They never contain secrets.
"""

from __future__ import annotations


class ReminderError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(ReminderError):
    """A document or other input that cannot be understood.

    ``path`` and ``line`` (1-based, optional) locate the problem so the message can name them.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message)


class ConfigError(ReminderError):
    """A configuration problem, named by its dotted key (``smtp.port``)."""

    def __init__(self, message: str, key: str | None = None):
        self.key = key
        super().__init__(f"config key '{key}': {message}" if key else message)


class StoreError(ReminderError):
    """The SQLite store cannot be opened, migrated or written."""


class DeliveryError(ReminderError):
    """A channel failed to deliver a message.

    ``permanent`` is True when retrying cannot help (a rejected address, a bad webhook token);
    transient failures (timeouts, 5xx, rate limits) leave it False so the outbox retries with backoff.
    """

    def __init__(self, message: str, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)
