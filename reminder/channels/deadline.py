"""A total deadline for one exchange with a server, whatever the server does meanwhile.

A socket timeout bounds each read, not the exchange: a server that trickles one byte every two seconds
renews a five-second timeout for ever, and a body that never ends is read for ever. So each exchange
(one webhook request with its answer; one SMTP connection set-up, or one message sent over it) runs
under a ``Deadline``: a watchdog thread that, when the time is up, shuts down every socket the exchange
uses. A read blocked on the peer then returns at once, the channel sees ``expired`` and reports the
timeout. Shutting a socket down (not closing it) is safe from another thread: its owner still closes it.

The channels register what holds their sockets (``watch``): an ``smtplib.SMTP`` object, a urllib3
connection. Both keep their socket in ``sock``; the SMTP channel also keeps the plain socket under a TLS
layer in ``raw_sock``. A socket that appears after the deadline passed (a connect that was still
running) is shut down as soon as it does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any, Self

POLL_AFTER_EXPIRY = 0.05
"""Seconds between looks for sockets that appear after the deadline passed."""

_current = threading.local()


class Deadline:
    """``with Deadline(seconds) as deadline:`` the exchange inside gets ``seconds`` in all.

    ``expired`` says the watchdog fired (the channel then reports a timeout, whatever exception the cut
    connection raised); ``connected`` says a socket was seen, so the request may have gone out.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._owners: list[Any] = []
        self._saw_socket = False
        self._outer: Deadline | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = 0.0
        self._thread = threading.Thread(target=self._watch, name="reminder-deadline", daemon=True)

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        _current.deadline = self._outer

    def remaining(self) -> float:
        return max(0.0, self.seconds - (time.monotonic() - self._started))

    @property
    def connected(self) -> bool:
        """Some watched owner had a socket: the connection was made, so the request may have been sent."""
        with self._lock:
            return self._saw_socket or any(_sockets(owner) for owner in self._owners)

    def watch(self, owner: Any) -> None:
        """Shut ``owner``'s sockets down when the deadline passes (at once if it has passed)."""
        with self._lock:
            self._owners.append(owner)
            if _sockets(owner):
                self._saw_socket = True
            expired = self.expired
        if expired:
            _shut(owner)

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired = True
        while True:
            with self._lock:
                owners = list(self._owners)
            for owner in owners:
                if _sockets(owner):
                    self._saw_socket = True
                _shut(owner)
            if self._done.wait(POLL_AFTER_EXPIRY):
                return


def watch_current(owner: Any) -> None:
    """Put ``owner`` under the deadline this thread runs under, if any (see ``Deadline``)."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(owner)


def _sockets(owner: Any) -> list[socket.socket]:
    return [s for s in (getattr(owner, "sock", None), getattr(owner, "raw_sock", None)) if s is not None]


def _shut(owner: Any) -> None:
    for sock in _sockets(owner):
        with contextlib.suppress(OSError, ValueError):
            sock.shutdown(socket.SHUT_RDWR)
