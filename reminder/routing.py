"""Where messages go: a unit's (or the office's) routes, each one configured contact with a stable id.

A route id names a contact in the config, not its address: ``unit:县财政局:email`` (the unit's email
addresses), ``unit:县财政局:webhook:0`` (its first webhook), ``office:email``, ``office:webhook:1``,
``fallback:file``. The outbox stores the id; delivery asks :func:`contact` for the contact the config
holds under it now. So no webhook URL (which carries the robot's token) is ever stored, a corrected
address is used by messages already queued, and a contact removed from the config fails its messages
permanently instead of sending them somewhere else.

One message per address: units that share a mailbox or a robot (a county often has one DingTalk group
for all its units) get one message there per pass, with a section per unit (:func:`destinations`). A
robot shared by units is named by its first owner's route id; email addresses that serve exactly the
same units go together, under ``unit:<name>:email`` when they are all of one unit's addresses and that
unit's alone, else under ``email:<address>,<address>`` (the addresses still configured for some unit or
the office are used; none left fails the message for good). Units that share nothing each get their own
message; the fallback file channel is never shared (an .eml per unit, for the office to forward).

A group without contacts of its own reaches its members' contacts (``reminder.directory``): their
email addresses in one message, and each member's webhooks under the member's own route ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reminder.directory import UnitConfig, WebhookConfig, redact_url
from reminder.errors import DeliveryError
from reminder.model import Route

if TYPE_CHECKING:
    from reminder.config import Config


@dataclass(frozen=True)
class Emails:
    """Email addresses, sent to through the configured SMTP server; replies go to ``reply_to`` (the
    office's addresses: a unit that answers a notice reaches the office, not the sending mailbox)."""

    addresses: tuple[str, ...]
    reply_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Folder:
    """The file channel's folder: each message becomes an .eml file there (Reply-To as for email)."""

    path: Path
    reply_to: tuple[str, ...] = ()


Contact = Emails | Folder | WebhookConfig
"""What a route id names in the config."""

FALLBACK_FILE = "fallback:file"
EMAIL_ROUTE = "email:"
"""The prefix of a route naming email addresses that several units share."""


@dataclass(frozen=True)
class Destination:
    """Where one message of a pass goes: a route, and the units whose items it carries (several when
    they share the route's mailbox or robot), in the order asked for."""

    route: Route
    units: tuple[str, ...]


_Key = tuple[str, ...]
"""A contact as the units share it: ("email", address), ("webhook", kind, url) or ("fallback", unit)."""


def destinations(config: Config, units: Sequence[str]) -> tuple[list[Destination], list[str]]:
    """The messages a pass sends for ``units`` (each with items to send): one per address, carrying every
    unit reached there; and the units that cannot be reached at all (no contact, no fallback channel)."""
    keys = {unit: _contact_keys(config, unit) for unit in units}
    unroutable = [unit for unit in units if not keys[unit]]
    served: dict[_Key, list[str]] = {}
    for unit in units:
        for key in keys[unit]:
            served.setdefault(key, []).append(unit)
    found: list[Destination] = []
    mailboxes: dict[tuple[str, ...], list[str]] = {}  # the units served -> the addresses serving exactly them
    for key, who in served.items():
        if key[0] == "email":
            mailboxes.setdefault(tuple(who), []).append(key[1])
        elif key[0] == "webhook":
            found.append(Destination(_hook_route(config, key[1], key[2]), tuple(who)))
        else:
            found.append(Destination(Route(FALLBACK_FILE, "file", str(config.file.dir)), tuple(who)))
    for served_units, addresses in mailboxes.items():
        found.append(Destination(_email_route(config, served_units, addresses), served_units))
    order = {unit: i for i, unit in enumerate(units)}
    found.sort(key=lambda d: (min(order[u] for u in d.units), d.route.channel != "smtp", d.route.id))
    return found, unroutable


def sharing_groups(config: Config, units: Sequence[str]) -> list[list[str]]:
    """``units`` in groups that share a mailbox or a robot, directly or through one another, in order: a
    pass plans each group together, so that a shared address gets one message."""
    parent = {unit: unit for unit in units}

    def root(unit: str) -> str:
        while parent[unit] != unit:
            parent[unit] = parent[parent[unit]]
            unit = parent[unit]
        return unit

    owner: dict[_Key, str] = {}
    for unit in units:
        for key in _contact_keys(config, unit):
            if key[0] == "fallback":
                continue
            if key in owner:
                parent[root(unit)] = root(owner[key])
            else:
                owner[key] = unit
    groups: dict[str, list[str]] = {}
    for unit in units:
        groups.setdefault(root(unit), []).append(unit)
    return list(groups.values())


def _contact_keys(config: Config, unit: str) -> list[_Key]:
    """The contacts a unit's messages go to, as shared keys; the fallback when it has none; [] when it
    cannot be reached."""
    contacts = config.directory.contacts_for(unit)
    keys: list[_Key] = []
    if contacts:
        if config.smtp.configured:
            keys += [("email", address) for address in contacts.emails]
        keys += [("webhook", hook.kind, hook.url) for hook in contacts.webhooks]
    if not keys and config.fallback_channel == "file":
        keys.append(("fallback", unit))
    return list(dict.fromkeys(keys))


def _hook_route(config: Config, kind: str, url: str) -> Route:
    """A robot's route, named by the first unit in the directory that has it."""
    for owner in config.directory:
        for i, hook in enumerate(owner.webhooks):
            if (hook.kind, hook.url) == (kind, url):
                return Route(f"unit:{owner.name}:webhook:{i}", kind, redact_url(url))
    raise ValueError(f"no unit in the directory has the {kind} webhook {redact_url(url)}")


def _email_route(config: Config, units: Sequence[str], addresses: Sequence[str]) -> Route:
    """Email to ``addresses``, serving ``units``: the unit's own route when they are all of one unit's
    addresses and nobody else's, else a route naming the addresses."""
    if len(units) == 1:
        contacts = config.directory.contacts_for(units[0])
        entry = config.directory.lookup(units[0])
        if entry is not None and contacts and tuple(contacts.emails) == tuple(addresses):
            return Route(f"unit:{entry.name}:email", "smtp", ",".join(addresses))
    return Route(EMAIL_ROUTE + ",".join(addresses), "smtp", ",".join(addresses))


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
    elif kind == "email":
        found = _shared_emails(config, rest)
    if isinstance(found, Emails | Folder):
        return replace(found, reply_to=config.office.emails)
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


def _shared_emails(config: Config, rest: str) -> Emails | None:
    """The addresses of an ``email:`` route that some unit (or the office) still has."""
    configured = {address for unit in config.units for address in unit.emails} | set(config.office.emails)
    kept = tuple(address for address in rest.split(",") if address in configured)
    return Emails(kept) if kept else None


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


@dataclass(frozen=True)
class UnitRoutes:
    """One directory unit as a pass reaches it: its routes (each with the other units that share it), the
    groups it is a member of; for a group, its members instead (it is never reminded itself)."""

    unit: str
    aliases: tuple[str, ...]
    routes: tuple[tuple[Route, tuple[str, ...]], ...]
    groups: tuple[str, ...] = ()
    members: tuple[str, ...] = ()


def directory_report(config: Config) -> tuple[list[UnitRoutes], list[str]]:
    """The effective routes of every unit in the directory (``reminder config check``) and warnings about
    what will not work as the config seems to intend."""
    directory = config.directory
    leaves = [u.name for u in directory if not u.members]
    found, unroutable = destinations(config, leaves)
    by_unit: dict[str, list[tuple[Route, tuple[str, ...]]]] = {}
    for destination in found:
        for unit in destination.units:
            others = tuple(u for u in destination.units if u != unit)
            by_unit.setdefault(unit, []).append((destination.route, others))
    report = []
    for entry in directory:
        if entry.members:
            members = tuple(m.name for m in directory.resolve(entry.name) or ())
            report.append(UnitRoutes(entry.name, entry.aliases, (), members=members))
        else:
            report.append(UnitRoutes(entry.name, entry.aliases, tuple(by_unit.get(entry.name, ())),
                                     groups=directory.groups_of(entry.name)))
    return report, _warnings(config, unroutable)


def _warnings(config: Config, unroutable: Sequence[str]) -> list[str]:
    warnings = []
    for entry in config.directory:
        if entry.members and entry.has_contacts:
            warnings.append(f"group {entry.name}: its members are reminded one by one, each at its own contacts; "
                            "the group's own emails and webhooks are not used (move them to the members)")
    if not config.office.emails:
        warnings.append("[office] emails is empty: emails to units carry no Reply-To, so a unit's reply goes to "
                        "the sending mailbox, and notices can name no office address; add the office's address")
    if not config.smtp.configured:
        with_email = [u.name for u in config.directory if u.emails and not u.members]
        if with_email:
            warnings.append(f"{len(with_email)} units have email addresses but [smtp] host is not set: no email is "
                            "sent (" + "、".join(with_email[:5]) + ("…" if len(with_email) > 5 else "") + ")")
    for unit in unroutable:
        warnings.append(f"unit {unit} has no contact and no fallback_channel is set: its notices reach nobody "
                        "(the digest lists it as unroutable)")
    return warnings
