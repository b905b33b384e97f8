"""Office users' password hashes: scrypt from the standard library, so no extra dependency.

A hash is one self-describing string, ``scrypt$n$r$p$<salt>$<key>`` (salt and key in unpadded
base64url), so the cost can be raised later without breaking the hashes already in configs:
verifying reads the parameters from the hash itself. ``reminder hash-password`` makes one.

The parameters (N=2^15, r=8, p=3: 32 MiB and about 0.4 s per check on a small server) are one of
the scrypt settings OWASP's password-storage guidance lists. Login attempts are rate-limited too
(``reminder.web.throttle``), so the cost per guess only has to hold against a stolen config.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

SCHEME = "scrypt"
N, R, P = 2**15, 8, 3
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD_CHARS = 10

_HASH = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})\Z")


class BadHash(ValueError):
    """A string that is not a hash this module made (a typo in the config, a pasted password)."""


@dataclass(frozen=True, repr=False)
class PasswordHash:
    """A parsed hash; ``repr`` hides the key so a hash never lands in a log whole."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def __repr__(self) -> str:
        return f"PasswordHash(scrypt n={self.n} r={self.r} p={self.p}, ***)"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: scrypt needs 128 * r * n bytes (32 MiB here); the default limit is exactly that, too tight.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * r * n + 1024 * 1024, dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """A new hash of ``password`` with a random salt, for ``[[web.users]] password_hash``."""
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def parse_hash(text: str) -> PasswordHash:
    """Check the form of a stored hash (the config does this at load); raises BadHash."""
    found = _HASH.match(text.strip())
    if not found:
        raise BadHash("is not a password hash made by `reminder hash-password` (scrypt$N$r$p$salt$key)")
    n, r, p = (int(found[i]) for i in (1, 2, 3))
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 64 or n > 2**22:
        raise BadHash(f"has scrypt parameters out of range (N={n}, r={r}, p={p})")
    return PasswordHash(n, r, p, _unb64(found[4]), _unb64(found[5]))


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Whether ``password`` matches; compares in constant time."""
    key = _derive(password, stored.salt, stored.n, stored.r, stored.p)
    return hmac.compare_digest(key, stored.key)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None: too short to stand a guessing attack."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if not password.strip():
        return "the password must not be blank"
    return None
