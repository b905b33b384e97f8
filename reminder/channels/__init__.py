"""Channels: the edge where rendered messages leave the process.

Every channel has the same small contract, ``Channel`` below, so the outbox can deliver through any of
them without knowing which. The registry ``CHANNELS`` is written out by hand (no metaclass
self-registration) so a reader sees every kind in one place and the config can name them.

Failures are returned, not swallowed: ``deliver`` gives one ``DeliveryError`` or ``None`` per message, and
each error says through ``permanent`` whether a retry can help. Channels may also set ``retry_after``
(seconds, or ``None``) on an error when the server said how long to wait; read it with
``getattr(err, "retry_after", None)``.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, Sequence

from ..errors import ConfigError, DeliveryError
from ..model import Message
from .dingtalk import DingTalkChannel
from .feishu import FeishuChannel
from .file import FileChannel
from .smtp import SmtpChannel
from .webhook import WebhookChannel
from .wecom import WeComChannel

__all__ = [
    "CHANNELS",
    "Channel",
    "DingTalkChannel",
    "FeishuChannel",
    "FileChannel",
    "SmtpChannel",
    "WeComChannel",
    "WebhookChannel",
    "build_channel",
]


class Channel(Protocol):
    """What the outbox needs from a channel.

    ``deliver`` sends a batch over one connection (one SMTP session, one HTTP session) and returns one
    result per message, in order: ``None`` when it was delivered, else the ``DeliveryError``. It does not
    raise for a failed message, so one bad address cannot hide the fate of the others in the batch.
    ``close`` releases the connection; a channel may be used for several batches before it.

    Limits are class attributes so the planner and tests can read them without a connection:
    ``max_message_bytes`` (``None`` when the service has no practical limit), ``messages_per_minute``
    and ``messages_per_second`` (``None`` when unlimited; robots enforce them client-side).
    """

    kind: ClassVar[str]
    max_message_bytes: ClassVar[int | None]
    messages_per_minute: ClassVar[int | None]
    messages_per_second: ClassVar[int | None]

    def deliver(self, messages: Sequence[Message]) -> list[DeliveryError | None]: ...

    def close(self) -> None: ...


CHANNELS: dict[str, type] = {
    "smtp": SmtpChannel,
    "file": FileChannel,
    "generic": WebhookChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
}


def build_channel(kind: str, **settings) -> Channel:
    """Make the channel named ``kind`` from plain keyword settings.

    An unknown kind or a setting the channel does not take is a config mistake, so both raise
    ``ConfigError`` naming what to fix rather than a bare ``KeyError``/``TypeError``.
    """
    try:
        cls = CHANNELS[kind]
    except KeyError:
        known = ", ".join(sorted(CHANNELS))
        raise ConfigError(f"unknown channel kind {kind!r}; use one of: {known}", key="kind") from None
    try:
        return cls(**settings)
    except TypeError as err:
        # The TypeError names the parameter, never its value, so no secret leaks here.
        raise ConfigError(f"bad settings for the {kind} channel: {err}", key=kind) from None
