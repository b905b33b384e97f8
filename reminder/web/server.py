"""waitress serving the app in a thread, so ``reminder run`` keeps its scheduler in the main thread.

waitress is a pure-Python WSGI server (no compiler, no C extension, runs wherever Python does),
buffers slow clients before the app sees a request, and knows how to trust a reverse proxy's
X-Forwarded-* headers from one address only (``web.trusted_proxy``), clearing them otherwise.
A ``base_url`` with a path (``https://gk.example.gov.cn/reminder``) becomes waitress's
``url_prefix``, so the app's own links carry it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from urllib.parse import urlsplit

from reminder.config import Config, WebConfig
from reminder.errors import ConfigError

log = logging.getLogger("reminder.web")

THREADS = 4
BODY_BACKSTOP = 1024 * 1024
PROXY_HEADERS = "x-forwarded-proto x-forwarded-for x-forwarded-host"


class WebServer:
    """Bind at construction (so a taken port fails at once), serve on ``start()``, stop on ``stop()``."""

    def __init__(self, app, web: WebConfig, host: str | None = None, port: int | None = None):
        from waitress.server import create_server  # type: ignore[import-untyped]

        # The app refuses an oversized upload with a page people can read; waitress's own limit, a
        # little higher, is the backstop that never lets a huge body be buffered at all.
        options: dict = {"threads": THREADS, "ident": "reminder",
                         "max_request_body_size": app.config["MAX_CONTENT_LENGTH"] + BODY_BACKSTOP}
        prefix = urlsplit(web.base_url).path.rstrip("/")
        if prefix:
            options["url_prefix"] = prefix
        if web.trusted_proxy:
            options.update(trusted_proxy=web.trusted_proxy, trusted_proxy_headers=PROXY_HEADERS)
        self.host = host or web.bind
        try:
            self._server = create_server(app, host=self.host, port=web.port if port is None else port, **options)
        except OSError as err:
            raise ConfigError(f"cannot listen on {self.host}:{web.port if port is None else port}: {err.strerror}; "
                              "stop the program using that port or choose another web.port", "web.port") from None
        self.port = int(self._server.effective_port)
        self._thread: threading.Thread | None = None

    @property
    def local_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self._thread = threading.Thread(target=self._server.run, name="reminder-web", daemon=True)
        self._thread.start()
        log.info("web app listening on %s", self.local_url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish (up to ``timeout``), close every socket."""
        from waitress import wasyncore  # type: ignore[import-untyped]

        self._server.task_dispatcher.shutdown(timeout=timeout)
        wasyncore.close_all(self._server._map)
        if self._thread is not None:
            self._thread.join(timeout)
        log.info("web app stopped")


def start_web(config: Config, db_path: str | Path, host: str | None = None, port: int | None = None) -> WebServer:
    """Build the app from the config and serve it in a background thread."""
    from reminder.web.app import create_app

    web = config.web or WebConfig()
    return WebServer(create_app(config, db_path), web, host, port).start()
