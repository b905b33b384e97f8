"""A unit's own link: signed, scoped to one unit, expiring, revocable.

The link is ``<base_url>/u/<token>``, the token ``<payload>.<mac>``: the payload (base64url of
``["县财政局", generation, expires]``) names the unit, the unit's link generation when the link was
made and the instant it stops opening (Unix seconds); the MAC is HMAC-SHA256 (truncated to 128 bits)
of the payload under a key derived for this purpose only. Nothing else in the token is trusted.

* Scoped: the unit comes from the signed payload, never from the address or a form, so a link can
  only ever show its own unit's tasks; changing one character of it fails the MAC.
* Expiring: ``web.link_days`` after it is made. Notices carry a fresh link each time.
* Revocable: ``reminder link UNIT --revoke`` raises the unit's generation in the store; links made
  before carry the old one and stop opening at once (exact, whatever the clocks say).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

MAC_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}\Z")
MAX_TOKEN_CHARS = 2000
PATH = "/u/"


class LinkProblem(StrEnum):
    TAMPERED = "tampered"   # not a link we made, or changed since: no unit can be named
    EXPIRED = "expired"
    REVOKED = "revoked"


class BadLink(Exception):
    """Why a link does not open; ``unit`` is set when the link is genuine (expired or revoked)."""

    def __init__(self, problem: LinkProblem, unit: str | None = None):
        self.problem = problem
        self.unit = unit
        super().__init__(f"link {problem}" + (f" ({unit})" if unit else ""))


@dataclass(frozen=True)
class UnitLink:
    """What a genuine, current link says."""

    unit: str
    generation: int
    expires: datetime   # aware, UTC


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES]


def make_token(key: bytes, unit: str, generation: int, now: datetime, days: int) -> tuple[str, datetime]:
    """A token for ``unit`` that opens until ``now + days``; returns it and that instant."""
    expires = (now + timedelta(days=days)).astimezone(UTC).replace(microsecond=0)
    body = json.dumps([unit, generation, int(expires.timestamp())], ensure_ascii=False, separators=(",", ":"))
    payload = _b64(body.encode("utf-8"))
    return f"{payload}.{_b64(_mac(key, payload))}", expires


def link_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + PATH + token


def read_token(key: bytes, token: str, now: datetime, generation_of: Callable[[str], int]) -> UnitLink:
    """The unit a token opens, or BadLink saying why not.

    The MAC is checked before anything in the payload is read. ``generation_of(unit)`` gives the
    unit's current link generation from the store; a link of an older generation was revoked.
    """
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN.match(token):
        raise BadLink(LinkProblem.TAMPERED)
    payload, _, mac = token.partition(".")
    # Compared as text: one token per link, no second spelling of the same bytes passes.
    if not hmac.compare_digest(mac, _b64(_mac(key, payload))):
        raise BadLink(LinkProblem.TAMPERED)
    unit, generation, expires_at = json.loads(_unb64(payload).decode("utf-8"))
    expires = datetime.fromtimestamp(expires_at, UTC)
    if now >= expires:
        raise BadLink(LinkProblem.EXPIRED, unit)
    if generation != generation_of(unit):
        raise BadLink(LinkProblem.REVOKED, unit)
    return UnitLink(unit, generation, expires)


class NoticeLinks:
    """Each unit's own link for the notices of one pass, made at render time with the unit's current
    link generation (so a revoked unit's next notice carries a working link) and the key loaded once."""

    def __init__(self, key: bytes, base_url: str, days: int, generation_of: Callable[[str], int], now: datetime):
        self.key, self.base_url, self.days, self.generation_of, self.now = key, base_url, days, generation_of, now

    def __call__(self, unit: str) -> str:
        token, _ = make_token(self.key, unit, self.generation_of(unit), self.now, self.days)
        return link_url(self.base_url, token)


def office_url(base_url: str, page: str) -> str:
    """An office page's address (``queue``, ``board``) under ``base_url``."""
    return f"{base_url.rstrip('/')}/{page}"
