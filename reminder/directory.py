"""The unit directory: a unit name as a plan writes it -> the configured unit and its contacts.

Plans name the same unit several ways: 区财政局, 财政局 (the prefix dropped because the plan is
the district's own), or an alias (区政数局 for 区政务服务数据管理局). Groups (区直各单位, 各镇（街）)
stand for their members. Matching is deliberately narrow: exact name, alias, or the name with a
single administrative prefix added or removed. Anything else is unknown and returns None, so a
person fixes the directory instead of a reminder silently reaching the wrong office.

The entries (:class:`UnitConfig`, with their :class:`WebhookConfig` contacts) are defined here;
``reminder.config`` reads them from ``[[units]]`` tables and validates them. Pure: never touches files.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from reminder.model import Plan, Resolution, Secret

WEBHOOK_TIMEOUT = 10.0
"""Seconds a webhook request may take in all, from connecting to the last byte of the answer, unless its
``timeout`` says otherwise."""

# One-character administrative prefixes a plan may carry or drop: 区财政局 = 财政局 in a district
# plan, 县民政局 = 民政局 in a county plan. Two-character ones (区委, 市政府) are real parts of names.
PREFIXES = "区县市州省"


def redact_url(url: str) -> str:
    """``scheme://host/***``: robot URLs carry their access token in the path or query, and a URL may carry
    ``user:password@`` before the host; neither is shown or stored."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/***" if host else "***"


@dataclass(frozen=True, repr=False)
class WebhookConfig:
    """A group-robot or generic webhook; ``secret`` signs requests (DingTalk, Feishu, generic)."""

    kind: str
    url: str
    url_env: str | None = None  # the variable ``url`` was read from, if it came from the env
    secret: Secret | None = field(default=None, metadata={"toml": ("secret_env",)})
    # Seconds in all for one request and its answer (a total deadline, see reminder.channels.deadline).
    # A hung robot host costs this once per delivery pass; its other messages wait for the next one.
    timeout: float = WEBHOOK_TIMEOUT

    def __repr__(self) -> str:
        return (f"WebhookConfig(kind={self.kind!r}, url={redact_url(self.url)!r}, "
                f"url_env={self.url_env!r}, secret={self.secret!r}, timeout={self.timeout!r})")

    __str__ = __repr__


@dataclass(frozen=True)
class UnitConfig:
    """One entry of the unit directory; a group lists ``members`` (names of other units)."""

    name: str
    aliases: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    members: tuple[str, ...] = ()

    @property
    def is_group(self) -> bool:
        return bool(self.members)

    @property
    def has_contacts(self) -> bool:
        return bool(self.emails or self.webhooks)


def normalize_name(name: str) -> str:
    """The form names are compared in: NFKC (full-width brackets -> ASCII), no whitespace.

    So 各镇（街、园区） and 各镇(街、园区) and "区 财政局" from a squeezed PDF all match.
    """
    return "".join(unicodedata.normalize("NFKC", name).split())


@dataclass(frozen=True)
class Contacts:
    """Where a unit's messages go; falsy when there is nowhere (the unit is unroutable)."""

    emails: tuple[str, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.emails or self.webhooks)


class DirectoryConflict(ValueError):
    """The configured units contradict each other; ``index`` and ``field`` locate the entry."""

    def __init__(self, message: str, index: int, field: str):
        self.index = index
        self.field = field
        super().__init__(message)


class _Cycle(Exception):
    """A group reached itself again while expanding its members."""


class Directory:
    """Look up configured units by the names plans use; see the module docstring for the rules."""

    def __init__(self, units: Sequence[UnitConfig]):
        self.units = tuple(units)
        self._index: dict[str, int] = {}
        for i, unit in enumerate(self.units):
            self._register(unit.name, i, "name")
            for alias in unit.aliases:
                self._register(alias, i, "aliases")
        for i, unit in enumerate(self.units):
            self._check_members(unit, i)

    def _register(self, name: str, i: int, field: str) -> None:
        """Index one name or alias; two units claiming the same one cannot both be meant."""
        key = normalize_name(name)
        other = self._index.setdefault(key, i)
        if other != i:
            raise DirectoryConflict(
                f"'{name}' is already the name or an alias of unit '{self.units[other].name}'; "
                f"each name may belong to one unit only",
                i,
                field,
            )

    def _check_members(self, unit: UnitConfig, i: int) -> None:
        """Every member must resolve, and a group may not contain itself (directly or not)."""
        for member in unit.members:
            if self.lookup(member) is None:
                raise DirectoryConflict(
                    f"member '{member}' is not the name or alias of a configured unit "
                    f"(or matches more than one); add it as a [[units]] entry or fix the spelling",
                    i,
                    "members",
                )
        try:
            self._expand(i, ())
        except _Cycle:
            raise DirectoryConflict(
                f"group '{unit.name}' contains itself through its members", i, "members"
            ) from None

    def _find(self, name: str) -> int | None:
        """Index of the unit ``name`` means, or None when it is unknown or ambiguous."""
        key = normalize_name(name)
        if key in self._index:
            return self._index[key]
        candidates = {self._index[p + key] for p in PREFIXES if p + key in self._index}
        if len(key) > 2 and key[0] in PREFIXES and key[1:] in self._index:
            candidates.add(self._index[key[1:]])
        return candidates.pop() if len(candidates) == 1 else None

    def _expand(self, i: int, seen: tuple[int, ...]) -> tuple[int, ...]:
        """Leaf units under unit ``i``, in member order, without repeats."""
        if i in seen:
            raise _Cycle(i)
        unit = self.units[i]
        if not unit.members:
            return (i,)
        leaves: list[int] = []
        for member in unit.members:
            found = self._find(member)
            for leaf in self._expand(found, (*seen, i)) if found is not None else ():
                if leaf not in leaves:
                    leaves.append(leaf)
        return tuple(leaves)

    def lookup(self, name: str) -> UnitConfig | None:
        """The configured entry ``name`` means (a group stays a group), or None."""
        i = self._find(name)
        return None if i is None else self.units[i]

    def resolve(self, name: str) -> tuple[UnitConfig, ...] | None:
        """The units ``name`` stands for: itself, or a group's members (nested groups flattened)."""
        i = self._find(name)
        return None if i is None else tuple(self.units[j] for j in self._expand(i, ()))

    def contacts_for(self, name: str) -> Contacts | None:
        """Where to send ``name``'s messages; None when the name is unknown.

        A group with contacts of its own (a mailing list) uses them; otherwise it reaches every
        member's contacts. An empty ``Contacts`` means the unit is known but unroutable.
        """
        unit = self.lookup(name)
        if unit is None:
            return None
        own = Contacts(unit.emails, unit.webhooks)
        if own or not unit.members:
            return own
        emails: dict[str, None] = {}
        hooks: dict[WebhookConfig, None] = {}
        for member in self.resolve(name) or ():
            emails.update(dict.fromkeys(member.emails))
            hooks.update(dict.fromkeys(member.webhooks))
        return Contacts(tuple(emails), tuple(hooks))

    # --- the store's unit rule (``reminder.model.UnitRule``) ----------------------------------------

    def resolve_name(self, written: str) -> Resolution:
        """What a plan's unit name stands for: the directory's name of the unit (an alias resolved), or a
        group's members (nested groups flattened); unknown names stand for themselves as written.

        A group with members stands for them even when it has contacts of its own: each member is
        reminded, reports and is ranked on its own (``reminder config check`` says the group's own
        contacts go unused).
        """
        i = self._find(written)
        if i is None:
            return Resolution(written, (written,))
        unit = self.units[i]
        if not unit.members:
            return Resolution(written, (unit.name,), known=True)
        members = tuple(self.units[j].name for j in self._expand(i, ()))
        return Resolution(written, members, group=True, known=True)

    @property
    def fingerprint(self) -> str:
        """Changes whenever a name could resolve differently: names, aliases or members edited. An empty
        directory resolves every name as written, as the store's default rule does, and says so."""
        if not self.units:
            return "as written"
        shape = [[u.name, list(u.aliases), list(u.members)] for u in self.units]
        return "directory " + hashlib.sha256(json.dumps(shape, ensure_ascii=False).encode()).hexdigest()[:16]

    def groups_of(self, name: str) -> tuple[str, ...]:
        """The names of the groups that list ``name`` (a unit's name) among their members, nested ones too."""
        return tuple(unit.name for unit in self.units
                     if unit.members and any(m.name == name for m in self.resolve(unit.name) or ()))

    def unknown_units(self, plan: Plan) -> dict[str, list[str]]:
        """Units ``plan`` names that this directory does not know: {unit as written: [task numbers]}.

        Empty when the directory is empty (nothing to compare with). Such units are still imported;
        they are reported so that a typo or a new unit is fixed, not silently unroutable.
        """
        if not self.units:
            return {}
        unknown: dict[str, list[str]] = {}
        for task in plan.tasks:
            for unit in task.units:
                if self.lookup(unit) is None:
                    unknown.setdefault(unit, []).append(task.number)
        return unknown

    def __iter__(self) -> Iterator[UnitConfig]:
        return iter(self.units)

    def __len__(self) -> int:
        return len(self.units)
