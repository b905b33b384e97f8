"""A total deadline for one exchange with a server, whatever the server does meanwhile.

A socket timeout bounds each read, not the exchange: a server that trickles one byte every two seconds
renews a five-second timeout for ever, and a body that never ends is read for ever. So each exchange
(one webhook request with its answer; one SMTP connection set-up, or one message sent over it) runs
under a ``Deadline``. One watchdog thread for the process keeps the deadlines of the exchanges in
flight; when one passes, it shuts down every socket that exchange uses. A read blocked on the peer then
returns at once, the channel sees ``expired`` and reports the timeout. Shutting a socket down (not
closing it) is safe from another thread: its owner still closes it.

The channels register what holds their sockets (``watch``): an ``smtplib.SMTP`` object, a urllib3
connection. Both keep their socket in ``sock``; the SMTP channel also keeps the plain socket under a TLS
layer in ``raw_sock``. A socket that appears after the deadline passed (a connect that was still
running) is shut down as soon as the watchdog sees it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any, Self

POLL_AFTER_EXPIRY = 0.05
"""Seconds between looks for sockets that appear after a deadline passed."""

_current = threading.local()


class Deadline:
    """``with Deadline(seconds) as deadline:`` the exchange inside gets ``seconds`` in all.

    ``expired`` says the watchdog fired (the channel then reports a timeout, whatever exception the cut
    connection raised); ``connected`` says a socket was seen, so the request may have gone out.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self.done = False
        self._owners: list[Any] = []
        self._saw_socket = False
        self._outer: Deadline | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        _WATCHDOG.add(self, time.monotonic() + self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done = True  # the watchdog forgets it at its next look
        _current.deadline = self._outer

    @property
    def connected(self) -> bool:
        """Some watched owner had a socket: the connection was made, so the request may have been sent."""
        with self._lock:
            return self._saw_socket or any(_sockets(owner) for owner in self._owners)

    def watch(self, owner: Any) -> None:
        """Shut ``owner``'s sockets down when the deadline passes (at once if it has passed)."""
        with self._lock:
            self._owners.append(owner)
            expired = self.expired
        if expired:
            self.cut()

    def cut(self) -> None:
        """The deadline has passed: shut down every socket of the exchange (the watchdog calls this)."""
        with self._lock:
            self.expired = True
            owners = list(self._owners)
        for owner in owners:
            if _sockets(owner):
                self._saw_socket = True
            _shut(owner)


class _Watchdog:
    """One thread for the process: sleeps until the earliest deadline in flight, cuts the exchanges whose
    deadline passed, and keeps cutting them (sockets may appear late) until they end."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._cut: list[Deadline] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline, at: float) -> None:
        with self._wake:
            heapq.heappush(self._heap, (at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reminder-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                due = self._due(time.monotonic())
                self._cut = [d for d in self._cut if not d.done] + due
                self._wake.wait(self._sleep())
            for deadline in self._cut:
                deadline.cut()

    def _due(self, now: float) -> list[Deadline]:
        due = []
        while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
            _, _, deadline = heapq.heappop(self._heap)
            if not deadline.done:
                due.append(deadline)
        return due

    def _sleep(self) -> float | None:
        if self._cut:
            return POLL_AFTER_EXPIRY
        return max(0.0, self._heap[0][0] - time.monotonic()) if self._heap else None


_WATCHDOG = _Watchdog()


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
