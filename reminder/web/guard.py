"""What keeps the office's pages and every form safe: sessions, CSRF tokens, the login throttle.

* **Sessions** are server-side: the cookie holds a random token, the store its SHA-256 (a copy of
  the database opens nothing), and logging out ends the session there, so a copied cookie stops
  working too. The cookie is HttpOnly, SameSite=Lax, and Secure whenever the request came over
  https (directly, or through a reverse proxy named in ``web.trusted_proxy``).
* **CSRF**: every form carries a token, HMAC of what binds the browser (its session token when
  logged in, else a random cookie of its own) under a key derived for CSRF only. A POST without the
  matching token is refused before any handler runs.
* **Login throttle**: after ``web.login_attempts`` failures for one user name from one address
  within ``web.login_window_minutes``, further attempts are refused (even with the right password)
  until the oldest failure leaves the window. Kept in memory: one process serves the app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from datetime import datetime, timedelta

SESSION_COOKIE = "reminder_session"
CSRF_COOKIE = "reminder_csrf"
CSRF_FIELD = "csrf_token"
THROTTLE_MAX_KEYS = 10_000   # forget the oldest entries beyond this, so sprayed names cannot fill memory


def new_token() -> str:
    """A fresh random token for a cookie (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CsrfTokens:
    """Form tokens bound to one browser (its session or its CSRF cookie) by HMAC."""

    def __init__(self, key: bytes):
        self._key = key

    def token_for(self, binding: str) -> str:
        return hmac.new(self._key, binding.encode("utf-8"), hashlib.sha256).hexdigest()

    def is_valid(self, binding: str | None, token: str | None) -> bool:
        if not binding or not token:
            return False
        return hmac.compare_digest(self.token_for(binding), token)


class LoginThrottle:
    """Failed logins per (client address, user name) in a sliding window; thread-safe."""

    def __init__(self, attempts: int, window: timedelta):
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(address: str, user: str) -> tuple[str, str]:
        return address, user.strip().casefold()

    def blocked_until(self, address: str, user: str, now: datetime) -> datetime | None:
        """When this address may try this user again, or None if it may now."""
        with self._lock:
            times = self._recent(self._key(address, user), now)
            if len(times) < self.attempts:
                return None
            return times[0] + self.window

    def failed(self, address: str, user: str, now: datetime) -> None:
        with self._lock:
            key = self._key(address, user)
            self._recent(key, now).append(now)
            if len(self._failures) > THROTTLE_MAX_KEYS:
                self._forget_oldest()

    def succeeded(self, address: str, user: str) -> None:
        with self._lock:
            self._failures.pop(self._key(address, user), None)

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _forget_oldest(self) -> None:
        for key in [k for k, times in self._failures.items() if not times]:
            del self._failures[key]
        by_last = sorted(self._failures, key=lambda k: self._failures[k][-1])
        for key in by_last[: len(by_last) // 2]:
            del self._failures[key]
