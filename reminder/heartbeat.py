"""A lease kept alive from a thread of its own while a long job runs.

Renewing a lease between messages is not enough: one message can take longer than the lease (a slow
mail server, a webhook at its deadline), and a standby that sees the lease expire takes over and sends
the same messages again, so both deliverers repeat each other's batch. A ``Heartbeat`` renews the lease
every third of its length whatever the job is doing, on its own SQLite connection (a connection belongs
to the thread that made it). If a renewal finds the lease taken by another holder, or the lease ran out
before it could be renewed (the database stayed locked; another process may have taken over in the
gap), ``lost`` is set: the job stops before its next message.

The caller takes the lease first (so it knows it holds it); the heartbeat only keeps it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Self

from reminder.errors import StoreError

log = logging.getLogger(__name__)


class Heartbeat:
    """``with Heartbeat(path, name, holder, ttl_seconds, wall) as beat:`` keeps the lease ``name`` of
    ``holder`` alive; ``beat.lost`` is set once it is not ours any more. ``wall`` gives the real time
    (leases are about processes being alive, not about the time a tick plans for).

    A database that is not a file (``:memory:``) cannot be opened twice; then nothing is renewed.
    """

    def __init__(self, db_path: str, name: str, holder: str, ttl_seconds: float, wall: Callable[[], datetime]):
        self.db_path = db_path
        self.name = name
        self.holder = holder
        self.ttl = float(ttl_seconds)
        self.wall = wall
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reminder-heartbeat-{name}", daemon=True)

    def __enter__(self) -> Self:
        if self.db_path != ":memory:":
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.ttl)

    def _run(self) -> None:
        from reminder import store

        expires = time.monotonic() + self.ttl  # the caller has just taken or renewed it
        db = None
        try:
            while not self._stop.wait(self.ttl / 3):
                if time.monotonic() > expires:
                    self._lose("it ran out before it could be renewed (the database was busy)")
                    return
                try:
                    db = db or store.open_db(self.db_path, busy_timeout=max(1.0, self.ttl / 3))
                    held = store.acquire_lock(db, self.name, self.holder, self.wall(), int(max(1, self.ttl)))
                except StoreError as err:
                    log.warning("could not renew the %s lease of %s: %s", self.name, self.holder, err)
                    continue
                if not held:
                    self._lose("another process holds it now")
                    return
                expires = time.monotonic() + self.ttl
        finally:
            if db is not None:
                db.close()

    def _lose(self, why: str) -> None:
        log.warning("the %s lease of %s is lost: %s; stopping after the message in flight", self.name,
                    self.holder, why)
        self.lost.set()
