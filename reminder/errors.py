"""One exception tree for the whole package; only ``cli`` turns it into exit codes.

::

    ReminderError                 base; ``str(err)`` is a message fit for the user
     ├── InputError(path, line)   a document or input that cannot be read as a plan (exit 1)
     ├── ConfigError(key)         a config key that is missing, unknown or of the wrong type (exit 1)
     ├── StoreError               the database cannot be opened, migrated or written (exit 1)
     │    └── LostClaim           a deliverer recorded an attempt on a message another one had taken over
     └── DeliveryError(permanent, retry_after, unreachable, maybe_delivered, no_answer)
                                  a channel could not deliver one message; the fields say whether and
                                  when to retry, and what the receiver may have got

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


class LostClaim(StoreError):
    """A deliverer recorded the result of sending a message it no longer held: its claim was taken over
    (its lease expired while it was sending). The attempt is logged; the new holder owns the message."""


class DeliveryError(ReminderError):
    """A channel failed to deliver one message.

    ``permanent`` is True when retrying cannot help (a rejected address, a bad webhook token);
    transient failures (timeouts, 5xx, rate limits) leave it False so the outbox retries with backoff.
    ``retry_after`` is how many seconds the server asked us to wait (HTTP Retry-After, a robot's rate
    limit), or None. ``unreachable`` says nothing was sent because the endpoint could not be reached
    (connection refused, login failed), so the other messages for it would fail the same way now.
    ``maybe_delivered`` says the message went out and no verdict came back (a timeout after sending,
    a connection lost after the data): the receiver may have it, and a retry carries the same key.
    ``no_answer`` says the endpoint took the connection but did not answer within its deadline (hung,
    or trickling): the other messages for it would wait out the same deadline, so they wait for the
    next attempt instead.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 unreachable: bool = False, maybe_delivered: bool = False, no_answer: bool = False):
        self.permanent = permanent
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.maybe_delivered = maybe_delivered
        self.no_answer = no_answer
        super().__init__(message)

    @property
    def endpoint_down(self) -> bool:
        """The endpoint could not be reached or did not answer in time: sending it more now only waits."""
        return self.unreachable or self.no_answer
