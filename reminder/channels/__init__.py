"""Channels: the edge where rendered messages leave the process.

Every channel has the same small contract, ``Channel`` below, so delivery can send through any of them
without knowing which. The registry ``CHANNELS`` is written out by hand (no metaclass self-registration)
so a reader sees every kind in one place and the config can name them.

A channel is built from typed, validated config (``SmtpConfig``, ``WebhookConfig``, a folder) and trusts
it: the one validator is ``reminder.config``. ``send`` delivers one message or raises ``DeliveryError``,
whose fields say whether a retry can help (``permanent``), how long the server asked us to wait
(``retry_after``), whether nothing could be sent at all (``unreachable``) and whether the receiver may
have it anyway (``maybe_delivered``). The outbox records each result before the next send.
"""

from __future__ import annotations

from typing import Protocol

from ..model import Message
from .dingtalk import DingTalkChannel
from .feishu import FeishuChannel
from .file import FileChannel
from .smtp import SmtpChannel
from .webhook import WebhookChannel
from .wecom import WeComChannel

__all__ = [
    "CHANNELS",
    "WEBHOOK_CHANNELS",
    "Channel",
    "DingTalkChannel",
    "FeishuChannel",
    "FileChannel",
    "SmtpChannel",
    "WeComChannel",
    "WebhookChannel",
]


class Channel(Protocol):
    """What delivery needs from a channel.

    ``send`` delivers one message over the channel's connection (one SMTP session, one HTTP session),
    opening it on first use, and raises ``DeliveryError`` when the message did not get through.
    ``close`` releases the connection; a channel sends many messages before it.

    Every channel class also states its limits as class attributes, so tests and the planner can read
    them without a connection: ``max_message_bytes`` (``None`` when the service has no practical limit),
    ``messages_per_minute`` and ``messages_per_second`` (``None`` when unlimited; robots enforce them
    client-side).
    """

    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


WEBHOOK_CHANNELS: dict[str, type[WebhookChannel | DingTalkChannel | WeComChannel | FeishuChannel]] = {
    "generic": WebhookChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
}
"""The channels a ``WebhookConfig`` of each ``kind`` is sent through."""

CHANNELS: dict[str, type] = {"smtp": SmtpChannel, "file": FileChannel, **WEBHOOK_CHANNELS}
