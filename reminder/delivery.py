"""Delivery: send what the outbox holds, recording each message's fate before the next one goes.

Record before you send: a message row exists (pending) before any network call (the tick writes it).
A deliverer claims due rows with a conditional UPDATE, so two processes never send the same row, then
sends them one at a time, each over the connection of its endpoint (one SMTP session for all email, one
HTTP session per webhook), and writes the result of each as soon as it has it: sent; pending again at
a later time (exponential backoff, or what the server asked for, within a cap); dead after the last
attempt or a refusal that retrying cannot fix. Rows are never deleted.

Claims are held under a lease. Every deliverer (a daemon, each `reminder tick` process) claims under
its own holder id and keeps a lease row (``claims:<holder>``) alive from a heartbeat thread while it
sends; another deliverer takes its claims over only once that lease has expired (it died). If the
heartbeat finds the lease lost, or the caller's ``should_stop`` says so (shutdown, the daemon's own
lease lost), the message in flight finishes and the rest go back to the queue.

What a crash can repeat: if the process dies between a server taking a message and the outbox
recording it, that one message is sent again when its claim is taken over, with the same key
(Message-ID, Idempotency-Key) so a receiver can drop it. So at most one duplicate per deliverer killed
or taken over, whatever the size of its batch.

Outcomes. An attempt whose outcome is unknown (the request went out and no verdict came back) is
counted apart from failures (``unknown_attempts``, at most ``policy.max_unknown_attempts``), retried
with the same key, and a message given up after one says so in the digest: the receiver may have it.
An endpoint that could not be reached or did not answer in time costs one timeout per pass: the rest
of its messages are deferred, not tried, to its next attempt. Any other error while sending one
message (a bug, a message the channel cannot build) fails that message for good, with the error
recorded, and delivery goes on with the next.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from reminder import routing, store
from reminder.channels import WEBHOOK_CHANNELS, Channel, FileChannel, SmtpChannel
from reminder.directory import WebhookConfig
from reminder.errors import DeliveryError, LostClaim
from reminder.heartbeat import Heartbeat
from reminder.model import DeliveryOutcome, Message, MessageStatus, OutboxMessage

if TYPE_CHECKING:
    import sqlite_utils

    from reminder.config import Config

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 6 * 3600
CLAIM_LIMIT = 500
"""Messages claimed at once; the rest wait for the next pass."""
CLAIM_LEASE_SECONDS = 30
"""How long a deliverer's claims stay its own without a heartbeat; it renews them every third of that."""


def wall_clock() -> datetime:
    """The real time, for leases: they say whether a process is alive, whatever ``now`` a tick plans for."""
    return datetime.now(UTC)


@dataclass
class DeliveryCounts:
    """What one delivery pass did: messages sent, put back for a retry, given up on (dead), and of those
    put back or given up, how many had an unknown outcome (the receiver may have them); messages
    deferred untried because their endpoint was down."""

    sent: int = 0
    retry: int = 0
    dead: int = 0
    unknown: int = 0
    deferred: int = 0
    lost_claims: list[int] = field(default_factory=list)  # messages another deliverer took over meanwhile
    sent_by_channel: dict[str, int] = field(default_factory=dict)  # of ``sent``, how many per channel kind

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retry": self.retry, "dead": self.dead, "unknown": self.unknown,
                "deferred": self.deferred}

    def __bool__(self) -> bool:
        return bool(self.sent or self.retry or self.dead or self.deferred)


class Meter(Protocol):
    """What follows a delivery pass's progress (the CLI's bar): messages claimed, then each one done."""

    def grow(self, count: int) -> None: ...

    def step(self) -> None: ...


def deliver_due(db: sqlite_utils.Database, config: Config, now: datetime, holder: str, limit: int = CLAIM_LIMIT,
                should_stop: Callable[[], bool] = lambda: False, *, message_ids: Sequence[int] | None = None,
                wall: Callable[[], datetime] = wall_clock,
                lease_seconds: int = CLAIM_LEASE_SECONDS, meter: Meter | None = None) -> DeliveryCounts:
    """Send every message that is due (or only ``message_ids``); returns the counts.

    ``should_stop`` is asked before each message: on shutdown, or when the deliverer lost its lease, the
    message in flight finishes and the rest of what was claimed goes back to the queue. ``meter`` hears
    how many were claimed and each one done (a progress bar on a terminal).
    """
    counts = DeliveryCounts()
    claimed = store.claim_messages(db, now, holder, limit=limit, live_at=wall(), lease_seconds=lease_seconds,
                                   message_ids=message_ids)
    if not claimed:
        return counts
    if meter is not None:
        meter.grow(len(claimed))
    with Heartbeat(store.db_path(db), store.claims_lock(holder), holder, lease_seconds, wall) as beat:
        def stop() -> bool:
            return beat.lost.is_set() or should_stop()

        try:
            for messages in _by_endpoint(config, claimed).values():
                if not _send_all(db, config, now, holder, messages, counts, stop, meter):
                    break
        finally:
            store.end_claims(db, holder)  # ours only; after a lost claim the others hold the rest
    return counts


def _by_endpoint(config: Config, messages: Sequence[OutboxMessage]) -> dict[str, list[OutboxMessage]]:
    """Claimed messages grouped by the endpoint they go to, in claim order: all email to the one SMTP
    server, the file channel to its folder, webhooks by scheme, host and port (several units' robots on
    one hung host cost one timeout, not one each)."""
    groups: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        groups.setdefault(_endpoint(config, message), []).append(message)
    return groups


def _endpoint(config: Config, message: OutboxMessage) -> str:
    channel = message.route.channel
    if channel in ("smtp", "file"):
        return channel
    try:
        target = routing.contact(config, message.route)
    except DeliveryError:
        return f"{channel}:{message.route.id}"  # fails on its own when it is sent
    if isinstance(target, WebhookConfig):
        from reminder.channels.webhook import public_host

        return f"http:{public_host(target.url)}"
    return f"{channel}:{message.route.id}"


def _send_all(db: sqlite_utils.Database, config: Config, now: datetime, holder: str,
              messages: Sequence[OutboxMessage], counts: DeliveryCounts, should_stop: Callable[[], bool],
              meter: Meter | None = None) -> bool:
    """Send one endpoint's messages, recording each result at once. False when told to stop, or when
    another deliverer turned out to have taken a claim over (it holds the rest now)."""
    channels: dict[str, Channel] = {}
    down: tuple[DeliveryError, datetime] | None = None  # the endpoint's failure, and when to try again
    try:
        for message in messages:
            if should_stop():
                return False
            if meter is not None:
                meter.step()
            if down is not None:
                if not _defer(db, holder, message, down, counts):
                    return False
                continue
            error = _attempt(config, message, channels)
            try:
                retry = _record(db, config, now, holder, message, error, counts)
            except LostClaim as lost:
                log.warning("%s; this deliverer stops", lost)
                counts.lost_claims.append(message.id or 0)
                return False
            if error is not None and error.endpoint_down:
                down = (error, retry or now + timedelta(seconds=config.policy.retry_base_seconds))
    finally:
        for channel in channels.values():
            _close(channel)
    return True


def _attempt(config: Config, message: OutboxMessage, channels: dict[str, Channel]) -> DeliveryError | None:
    """Send one message; its failure as a DeliveryError, None when it went through. Never raises: an
    error nobody foresaw becomes a permanent failure of this message, and its channel is closed (its
    state is unknown) so the next message starts clean."""
    key = None
    try:
        target = routing.contact(config, message.route)
        key = _connection_key(message, target)
        channel = channels.get(key) or channels.setdefault(key, _open(config, target))
        channel.send(_channel_message(message, target))
    except DeliveryError as failure:
        return failure
    except Exception as bug:  # one message must never stop the rest
        # The failure is logged as a warning with the others; the traceback, for a bug report, at debug level.
        log.debug("message %s to %s: unexpected error while sending", message.id, message.unit, exc_info=True)
        broken = channels.pop(key, None) if key else None
        if broken is not None:
            _close(broken)
        return DeliveryError(f"unexpected error while sending: {type(bug).__name__}: {mask_secrets(str(bug))}; "
                             "this message cannot be sent as it is (`reminder retry` after a fix)", permanent=True)
    return None


def _connection_key(message: OutboxMessage, target: routing.Contact) -> str:
    """Which channel object a message goes through: all email over the one SMTP session, files into their
    folder, each webhook its own (its URL, secret and rate limit)."""
    if isinstance(target, routing.Emails):
        return "smtp"
    if isinstance(target, routing.Folder):
        return f"file:{target.path}"
    return f"hook:{message.route.id or message.route.destination}"


def _close(channel: Channel) -> None:
    try:
        channel.close()
    except Exception:  # closing is best effort; the results are recorded already
        log.exception("closing a channel failed")


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
            error: DeliveryError | None, counts: DeliveryCounts) -> datetime | None:
    """Write one message's result before anything else is sent; returns when it is tried again (None:
    sent, or given up). Raises LostClaim when the claim was lost."""
    assert message.id is not None  # claimed messages are stored ones
    if error is None:
        store.mark_sent(db, message.id, holder, now)
        counts.sent += 1
        channel = message.route.channel
        counts.sent_by_channel[channel] = counts.sent_by_channel.get(channel, 0) + 1
        return None
    outcome = DeliveryOutcome.UNKNOWN if error.maybe_delivered else DeliveryOutcome.FAILED
    retry = retry_at(config, message, error, now)
    status = store.mark_failed(db, message.id, holder, now, mask_secrets(str(error)), retry, outcome)
    if status is MessageStatus.PENDING:
        counts.retry += 1
    else:
        counts.dead += 1
    counts.unknown += outcome is DeliveryOutcome.UNKNOWN
    log.warning("message %s to %s via %s failed (%s%s): %s", message.id, message.unit, message.route.channel,
                status, ", the receiver may have it" if error.maybe_delivered else "", error)
    return retry


def _defer(db: sqlite_utils.Database, holder: str, message: OutboxMessage, down: tuple[DeliveryError, datetime],
           counts: DeliveryCounts) -> bool:
    """Put a message back untried until its endpoint's next attempt; False when the claim was lost."""
    assert message.id is not None
    error, until = down
    try:
        store.defer_message(db, message.id, holder, until, f"not tried: {mask_secrets(str(error))}")
    except LostClaim as lost:
        log.warning("%s; this deliverer stops", lost)
        counts.lost_claims.append(message.id)
        return False
    counts.deferred += 1
    return True


def retry_at(config: Config, message: OutboxMessage, error: DeliveryError, now: datetime) -> datetime | None:
    """Exponential backoff from the policy's base, at least what the server asked for (capped at
    ``policy.max_retry_after_seconds``); None (dead) when the error is permanent or the attempts of its
    kind are used up: ``max_attempts`` failures, or ``max_unknown_attempts`` attempts of unknown outcome
    (each of which may have reached the receiver)."""
    policy = config.policy
    unknown = message.unknown_attempts + (1 if error.maybe_delivered else 0)
    failed = message.attempts - message.unknown_attempts + (0 if error.maybe_delivered else 1)
    if error.permanent or failed >= policy.max_attempts or unknown >= policy.max_unknown_attempts:
        return None
    tries = failed + unknown
    delay = min(policy.retry_base_seconds * 2 ** min(tries - 1, 32), MAX_BACKOFF_SECONDS)
    asked = min(error.retry_after or 0.0, float(policy.max_retry_after_seconds))
    return now + timedelta(seconds=max(delay, asked))


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@")


def mask_secrets(text: str) -> str:
    """``text`` with the user part of every URL in it masked (``https://***@host/…``): an error text from
    a library may quote a URL that carries a password."""
    return _USERINFO.sub(r"\1***@", text)
