"""The outbox: where a unit's items go, and delivering stored messages with retries.

Record before you send: a message row exists (status pending) before any network call, and its
fate is written after (sent, or pending again at a later time, or dead after the last attempt).
Rows are never deleted. A deliverer claims rows with a conditional UPDATE, so two processes never
send the same row. A row left in 'sending' by a deliverer that died is put back in the queue when
another daemon takes over its expired lease (``store.acquire_lock``), or claimed again after ten
minutes (a `reminder tick` that died). Only the batch in flight when it died can go out twice,
since each batch's results are recorded as soon as it is done; the other repeat is a server that
took a message but answered after the timeout. At-least-once, with bounded repeats that carry the
same key (Message-ID, Idempotency-Key) so a receiver can drop them.

Secrets never reach the database: a webhook's destination is stored redacted and looked up in the
config again at delivery time.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from reminder import store
from reminder.errors import DeliveryError
from reminder.model import Message

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Route:
    """One way to reach a unit: a channel kind and a destination as stored in the outbox."""

    channel: str
    destination: str


def webhook_destination(hook) -> str:
    """How a webhook is named in the outbox: the host and a short hash of the URL, never its token."""
    from reminder.config import redact_url

    return f"{redact_url(hook.url)}#{hashlib.sha256(hook.url.encode()).hexdigest()[:12]}"


def routes_for(config, unit: str) -> list[Route]:
    """The channels a unit's message goes to; the fallback when it has no contact; [] = unroutable."""
    contacts = config.directory.contacts_for(unit)
    routes = []
    if contacts and contacts.emails and config.smtp.configured:
        routes.append(Route("smtp", ",".join(contacts.emails)))
    for hook in contacts.webhooks if contacts else ():
        routes.append(Route(hook.kind, webhook_destination(hook)))
    if not routes and config.fallback_channel:
        routes.append(Route(config.fallback_channel, str(config.file.dir) if config.fallback_channel == "file" else ""))
    return routes


def office_routes(config) -> list[Route]:
    routes = []
    if config.office.emails and config.smtp.configured:
        routes.append(Route("smtp", ",".join(config.office.emails)))
    routes.extend(Route(h.kind, webhook_destination(h)) for h in config.office.webhooks)
    if not routes and config.fallback_channel:
        routes.append(Route(config.fallback_channel, str(config.file.dir) if config.fallback_channel == "file" else ""))
    return routes


def message_key(unit: str, route: Route, notice_keys: list[str]) -> str:
    """Stable across reruns and retries: the same notices to the same place give the same key."""
    digest = hashlib.sha256("\n".join(sorted(notice_keys)).encode()).hexdigest()[:16]
    return f"{route.channel}:{unit}:{hashlib.sha256(route.destination.encode()).hexdigest()[:8]}:{digest}"


def message_row(key: str, unit: str, route: Route, rendered, notice_keys: list[str]) -> dict:
    return {"key": key, "unit": unit, "channel": route.channel, "destination": route.destination,
            "subject": rendered.subject, "text": rendered.text, "html": rendered.html,
            "markdown": rendered.markdown, "notice_keys": notice_keys}


# --- delivery -------------------------------------------------------------------------------------

def deliver_due(db, config, now: datetime, holder: str, limit: int = 500, should_stop=lambda: False) -> dict:
    """Send every message that is due; returns counts {sent, retry, dead}.

    ``should_stop`` is asked before each batch: on shutdown the batch in flight finishes and the
    rest of what was claimed goes back to the queue.
    """
    counts = {"sent": 0, "retry": 0, "dead": 0}
    claimed = store.claim_messages(db, now, holder, limit=limit)
    for (channel, destination), batch in _batches(claimed).items():
        if should_stop():
            store.release_claims(db, holder)
            break
        results = _deliver_batch(config, channel, destination, batch)
        for row, error in zip(batch, results):
            if error is None:
                store.mark_sent(db, row["id"], holder, now)
                counts["sent"] += 1
            else:
                status = store.mark_failed(db, row["id"], holder, now, str(error),
                                           _retry_at(config, row, error, now))
                counts["retry" if status == "pending" else "dead"] += 1
                log.warning("message %s to %s via %s failed (%s): %s", row["id"], row["unit"], channel, status, error)
    return counts


def _batches(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    batches: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        batches.setdefault((row["channel"], row["destination"]), []).append(row)
    return batches


def _retry_at(config, row: dict, error: DeliveryError, now: datetime) -> datetime | None:
    """Exponential backoff from the policy's base; None (dead) when permanent or out of attempts."""
    attempts = row["attempts"] + 1
    if getattr(error, "permanent", False) or attempts >= config.policy.max_attempts:
        return None
    delay = min(config.policy.retry_base_seconds * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    delay = max(delay, getattr(error, "retry_after", None) or 0)
    return now + timedelta(seconds=delay)


def _deliver_batch(config, channel: str, destination: str, batch: list[dict]) -> list[DeliveryError | None]:
    try:
        sender = build_sender(config, channel, destination)
    except Exception as error:  # a config that no longer names this destination: cannot ever succeed
        failure = error if isinstance(error, DeliveryError) else DeliveryError(str(error), permanent=True)
        return [failure] * len(batch)
    try:
        return sender.deliver([_message(row) for row in batch])
    finally:
        sender.close()


def _message(row: dict) -> Message:
    to = tuple(a for a in row["destination"].split(",") if "@" in a) if row["channel"] == "smtp" else ()
    return Message(key=row["key"], to=to, subject=row["subject"], text=row["text"],
                   html=row["html"], markdown=row["markdown"])


def build_sender(config, channel: str, destination: str):
    """A channel object for one stored (channel, destination), with secrets from the config."""
    from reminder.channels import build_channel

    if channel == "smtp":
        smtp = config.smtp
        if not smtp.configured:
            raise DeliveryError("email is not configured ([smtp] host); cannot send", permanent=True)
        return build_channel("smtp", host=smtp.host, port=smtp.port, security=smtp.security,
                             username=smtp.username, password=smtp.password.reveal() if smtp.password else None,
                             from_addr=smtp.from_addr, from_name=smtp.from_name, timeout=smtp.timeout)
    if channel == "file":
        return build_channel("file", directory=destination or str(config.file.dir))
    hook = _find_webhook(config, channel, destination)
    return build_channel(channel, url=hook.url, secret=hook.secret.reveal() if hook.secret else None,
                         timeout=hook.timeout)


def _find_webhook(config, channel: str, destination: str):
    hooks = [h for unit in config.units for h in unit.webhooks] + list(config.office.webhooks)
    for hook in hooks:
        if hook.kind == channel and webhook_destination(hook) == destination:
            return hook
    raise DeliveryError(f"no {channel} webhook {destination} in the config any more; add it back and "
                        "run `reminder retry`", permanent=True)
