"""Where messages go: a unit's (or the office's) routes, each one configured contact with a stable id.

A route id names a contact in the config, not its address: ``unit:县财政局:email`` (the unit's email
addresses), ``unit:县财政局:webhook:0`` (its first webhook), ``office:email``, ``office:webhook:1``,
``fallback:file``. The outbox stores the id; delivery asks :func:`contact` for the contact the config
holds under it now. So no webhook URL (which carries the robot's token) is ever stored, a corrected
address is used by messages already queued, and a contact removed from the config fails its messages
permanently instead of sending them somewhere else.

A group without contacts of its own reaches its members' contacts (``reminder.directory``): their
email addresses in one message, and each member's webhooks under the member's own route ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reminder.directory import UnitConfig, WebhookConfig, redact_url
from reminder.errors import DeliveryError
from reminder.model import Route

if TYPE_CHECKING:
    from reminder.config import Config


@dataclass(frozen=True)
class Emails:
    """Email addresses, sent to through the configured SMTP server."""

    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Folder:
    """The file channel's folder: each message becomes an .eml file there."""

    path: Path


Contact = Emails | Folder | WebhookConfig
"""What a route id names in the config."""

FALLBACK_FILE = "fallback:file"


def routes_for(config: Config, unit: str) -> tuple[Route, ...]:
    """The routes of ``unit`` (as a plan names it); the fallback channel when it has no contact;
    () when it cannot be reached at all (it is listed as unroutable)."""
    entry = config.directory.lookup(unit)
    routes: list[Route] = []
    if entry is not None:
        contacts = config.directory.contacts_for(unit)
        if contacts and contacts.emails and config.smtp.configured:
            routes.append(Route(f"unit:{entry.name}:email", "smtp", ",".join(contacts.emails)))
        seen: set[tuple[str, str]] = set()  # members of a group may share one robot: post to it once
        for owner in _webhook_owners(config, entry.name):
            for i, hook in enumerate(owner.webhooks):
                if (hook.kind, hook.url) not in seen:
                    seen.add((hook.kind, hook.url))
                    routes.append(Route(f"unit:{owner.name}:webhook:{i}", hook.kind, redact_url(hook.url)))
    return tuple(routes) or _fallback(config)


def office_routes(config: Config) -> tuple[Route, ...]:
    """Where the office's digest goes: its emails and webhooks, else the fallback channel."""
    routes: list[Route] = []
    if config.office.emails and config.smtp.configured:
        routes.append(Route("office:email", "smtp", ",".join(config.office.emails)))
    routes.extend(Route(f"office:webhook:{i}", hook.kind, redact_url(hook.url))
                  for i, hook in enumerate(config.office.webhooks))
    return tuple(routes) or _fallback(config)


def _webhook_owners(config: Config, name: str) -> tuple[UnitConfig, ...]:
    """The directory entries whose webhooks reach ``name``: itself, or a group's members when the group
    has no contact of its own (as ``Directory.contacts_for`` decides), each once."""
    entry = config.directory.lookup(name)
    if entry is None:
        return ()
    if entry.has_contacts or not entry.members:
        return (entry,)
    return tuple(member for member in config.directory.resolve(name) or () if member.webhooks)


def _fallback(config: Config) -> tuple[Route, ...]:
    if config.fallback_channel == "file":
        return (Route(FALLBACK_FILE, "file", str(config.file.dir)),)
    return ()


def forms_for(routes: Sequence[Route]) -> set[str]:
    """The rendered forms the routes' channels show besides text: HTML in email and .eml files,
    markdown on group robots."""
    return {"html" if route.channel in ("smtp", "file") else "markdown" for route in routes}


def contact(config: Config, route: Route) -> Contact:
    """The contact the config holds for ``route`` now; DeliveryError (permanent) when it holds none.

    Messages queued before route ids existed (``route.id`` empty) are resolved by :func:`_legacy_contact`.
    """
    if not route.id:
        return _legacy_contact(config, route)
    kind, _, rest = route.id.partition(":")
    found: Contact | None = None
    if kind == "fallback" and rest == "file":
        found = Folder(config.file.dir)
    elif kind == "office":
        found = _office_contact(config, rest)
    elif kind == "unit":
        found = _unit_contact(config, rest)
    if found is None:
        raise DeliveryError(f"route {route.id} is no longer in the config; add the contact back and run "
                            "`reminder retry`", permanent=True)
    return found


def _office_contact(config: Config, rest: str) -> Contact | None:
    if rest == "email":
        return Emails(config.office.emails) if config.office.emails else None
    return _indexed(config.office.webhooks, rest)


def _unit_contact(config: Config, rest: str) -> Contact | None:
    """``<name>:email`` or ``<name>:webhook:<i>``; the name may itself hold colons, so parse from the end."""
    if rest.endswith(":email"):
        contacts = config.directory.contacts_for(rest[: -len(":email")])
        return Emails(contacts.emails) if contacts and contacts.emails else None
    name, _, index = rest.rpartition(":")
    name, _, what = name.rpartition(":")
    entry = config.directory.lookup(name) if what == "webhook" else None
    return _indexed(entry.webhooks, f"webhook:{index}") if entry is not None else None


def _indexed(hooks: tuple[WebhookConfig, ...], rest: str) -> WebhookConfig | None:
    what, _, index = rest.partition(":")
    if what != "webhook" or not index.isdigit() or int(index) >= len(hooks):
        return None
    return hooks[int(index)]


def _legacy_contact(config: Config, route: Route) -> Contact:
    """A message queued before migration 0003 stored its destination instead of a route id: email
    addresses, the file folder, or a webhook as ``scheme://host/***#<12 hex of sha256(url)>``."""
    if route.channel == "smtp":
        return Emails(tuple(a for a in route.destination.split(",") if "@" in a))
    if route.channel == "file":
        return Folder(Path(route.destination) if route.destination else config.file.dir)
    hooks = [h for unit in config.units for h in unit.webhooks] + list(config.office.webhooks)
    for hook in hooks:
        legacy = f"{redact_url(hook.url)}#{hashlib.sha256(hook.url.encode()).hexdigest()[:12]}"
        if hook.kind == route.channel and legacy == route.destination:
            return hook
    raise DeliveryError(f"no {route.channel} webhook {route.destination} in the config any more; add it back "
                        "and run `reminder retry`", permanent=True)
