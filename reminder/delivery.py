"""Delivery: send what the outbox holds, recording each message's fate before the next one goes.

Record before you send: a message row exists (pending) before any network call (the tick writes it).
A deliverer claims due rows with a conditional UPDATE, so two processes never send the same row, then
sends them one at a time, each over the connection of its route (one SMTP session for all email, one
HTTP session per webhook), and writes the result of each as soon as it has it: sent; pending again at
a later time (exponential backoff, or what the server asked for); dead after the last attempt or a
refusal that retrying cannot fix. Rows are never deleted.

What a crash can repeat: if the process dies between a server taking a message and the outbox
recording it, that one message is sent again when its claim is taken over (a standby daemon taking an
expired lease, or ten minutes later for a `reminder tick` that died), with the same key (Message-ID,
Idempotency-Key) so a receiver can drop it. So at most one duplicate per connection in flight.

An ``unreachable`` error (the server could not be reached at all) is recorded for the rest of that
route's messages in this pass too, instead of each waiting out its own timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reminder import routing, store
from reminder.channels import WEBHOOK_CHANNELS, Channel, FileChannel, SmtpChannel
from reminder.errors import DeliveryError, LostClaim
from reminder.model import DeliveryOutcome, Message, MessageStatus, OutboxMessage

if TYPE_CHECKING:
    import sqlite_utils

    from reminder.config import Config

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 6 * 3600
CLAIM_LIMIT = 500
"""Messages claimed at once; the rest wait for the next pass."""


@dataclass
class DeliveryCounts:
    """What one delivery pass did: messages sent, put back for a retry, given up on (dead)."""

    sent: int = 0
    retry: int = 0
    dead: int = 0
    lost_claims: list[int] = field(default_factory=list)  # messages another deliverer took over meanwhile

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retry": self.retry, "dead": self.dead}

    def __bool__(self) -> bool:
        return bool(self.sent or self.retry or self.dead)


def deliver_due(db: sqlite_utils.Database, config: Config, now: datetime, holder: str, limit: int = CLAIM_LIMIT,
                should_stop: Callable[[], bool] = lambda: False) -> DeliveryCounts:
    """Send every message that is due; returns the counts.

    ``should_stop`` is asked before each message: on shutdown, or when the deliverer lost its lease, the
    message in flight finishes and the rest of what was claimed goes back to the queue.
    """
    counts = DeliveryCounts()
    claimed = store.claim_messages(db, now, holder, limit=limit)
    for messages in _by_connection(config, claimed).values():
        if not _send_all(db, config, now, holder, messages, counts, should_stop):
            store.release_claims(db, holder)  # ours only; after a lost claim the others hold the rest
            break
    return counts


def _by_connection(config: Config, messages: Sequence[OutboxMessage]) -> dict[str, list[OutboxMessage]]:
    """Claimed messages grouped by the connection they go over, in claim order: all email shares the one
    SMTP server, the file channel its folder; each webhook is its own."""
    groups: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        channel = message.route.channel
        key = channel if channel in ("smtp", "file") else message.route.id or message.route.destination
        groups.setdefault(f"{channel}:{key}", []).append(message)
    return groups


def _send_all(db: sqlite_utils.Database, config: Config, now: datetime, holder: str,
              messages: Sequence[OutboxMessage], counts: DeliveryCounts, should_stop: Callable[[], bool]) -> bool:
    """Send one connection's messages, recording each result at once. False when told to stop, or when
    another deliverer turned out to have taken a claim over (it holds the rest now)."""
    channel: Channel | None = None
    unreachable: DeliveryError | None = None
    try:
        for message in messages:
            if should_stop():
                return False
            error = unreachable
            if error is None:
                try:
                    target = routing.contact(config, message.route)
                    channel = channel or _open(config, target)
                    channel.send(_channel_message(message, target))
                except DeliveryError as failure:
                    error = failure
                    unreachable = failure if failure.unreachable else None
            if not _record(db, config, now, holder, message, error, counts):
                return False
    finally:
        if channel is not None:
            channel.close()
    return True


def _open(config: Config, target: routing.Contact) -> Channel:
    """The channel for one contact, from its validated config."""
    if isinstance(target, routing.Emails):
        if not config.smtp.configured:
            raise DeliveryError("email is not configured ([smtp] host); cannot send", permanent=True)
        return SmtpChannel(config.smtp)
    if isinstance(target, routing.Folder):
        return FileChannel(target.path)
    return WEBHOOK_CHANNELS[target.kind](target)


def _channel_message(message: OutboxMessage, target: routing.Contact) -> Message:
    """What a channel sends: the rendered forms, the key, and the addresses when it is email."""
    if message.text is None:
        raise DeliveryError(f"message {message.id} has no body any more; it cannot be sent", permanent=True)
    to = target.addresses if isinstance(target, routing.Emails) else ()
    reply_to = target.reply_to if isinstance(target, routing.Emails | routing.Folder) else ()
    return Message(key=message.key, to=to, subject=message.subject, text=message.text, html=message.html,
                   markdown=message.markdown, reply_to=reply_to)


def _record(db: sqlite_utils.Database, config: Config, now: datetime, holder: str, message: OutboxMessage,
            error: DeliveryError | None, counts: DeliveryCounts) -> bool:
    """Write one message's result before anything else is sent; False when the claim was lost."""
    assert message.id is not None  # claimed messages are stored ones
    try:
        if error is None:
            store.mark_sent(db, message.id, holder, now)
            counts.sent += 1
            return True
        outcome = DeliveryOutcome.UNKNOWN if error.maybe_delivered else DeliveryOutcome.FAILED
        status = store.mark_failed(db, message.id, holder, now, str(error), retry_at(config, message, error, now),
                                   outcome)
    except LostClaim as lost:
        log.warning("%s; this deliverer stops", lost)
        counts.lost_claims.append(message.id)
        return False
    if status is MessageStatus.PENDING:
        counts.retry += 1
    else:
        counts.dead += 1
    log.warning("message %s to %s via %s failed (%s): %s", message.id, message.unit, message.route.channel,
                status, error)
    return True


def retry_at(config: Config, message: OutboxMessage, error: DeliveryError, now: datetime) -> datetime | None:
    """Exponential backoff from the policy's base, at least what the server asked for; None (dead) when
    the error is permanent or the attempts are used up."""
    attempts = message.attempts + 1
    if error.permanent or attempts >= config.policy.max_attempts:
        return None
    delay = min(config.policy.retry_base_seconds * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    delay = max(delay, error.retry_after or 0)
    return now + timedelta(seconds=delay)
