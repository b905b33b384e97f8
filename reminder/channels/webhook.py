"""HTTP delivery: the shared plumbing (``HttpChannel``) and the generic JSON webhook.

Webhook URLs are credentials (DingTalk's access_token, WeCom's key, Feishu's hook id sit in them, and a
URL may carry ``user:password@``), so no error message here ever shows a URL's user part, path or query,
only its host. Redirects are never followed: a webhook that moved, or a hostile redirect, must not
receive a signed body somewhere else.

A webhook's ``timeout`` is a total deadline for one request and its answer (``reminder.channels.deadline``),
and the answer is read up to ``MAX_ANSWER_BYTES``: a server that trickles, or answers without end, costs
that long and that much, no more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import DeliveryError
from ..model import Message
from .deadline import Deadline, watch_current

if TYPE_CHECKING:
    from ..directory import WebhookConfig


class _HideRequestTargets(logging.Filter):
    """Hide the path and query of every URL urllib3 logs, keeping scheme and host.

    urllib3 logs each request at DEBUG (``"POST /robot/send?access_token=… HTTP/1.1" 200``), so a
    daemon run with ``-v`` would write every robot's token into the service log. The arguments are
    rewritten before formatting, whatever handler or level the operator configures.
    """

    _URL = re.compile(r"^((?:https?://[^/?#\s]+)?)[/?]\S*", re.IGNORECASE)
    _USERINFO = re.compile(r"^(https?://)[^/?#\s@]*@", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._hide(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True

    def _hide(self, text: str) -> str:
        return self._URL.sub(r"\1/***", self._USERINFO.sub(r"\1", text))


for _name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"):
    # A filter on a logger sees only the records logged on that very logger, hence each module's own.
    logging.getLogger(_name).addFilter(_HideRequestTargets())


def public_host(url: str) -> str:
    """``scheme://host:port`` of ``url``: enough to say where, without the user part, path or query."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def _redirect_target(location: str) -> str:
    """Where a redirect points, host only; a relative Location stays on the same host."""
    return public_host(location) if urlsplit(location).hostname else "the same host"


RETRY_AFTER_CEILING = 10 * 365 * 86400.0
"""Seconds of Retry-After believed at most (ten years); delivery caps it far lower (policy)."""


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date (RFC 9110 allows both); None
    when it is neither. A value past any sense (``9999999999999``) is cut to ``RETRY_AFTER_CEILING``."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_CEILING)
    try:
        when = parsedate_to_datetime(value)
        seconds = (when - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(0.0, seconds), RETRY_AFTER_CEILING)


MAX_ANSWER_BYTES = 1024 * 1024
"""The most of an answer read; a webhook's verdict is a few hundred bytes."""


@dataclass(frozen=True)
class Answer:
    """A webhook's answer: its status, headers and body; ``body`` None when it was longer than
    ``MAX_ANSWER_BYTES`` (the rest was not read, and the connection is not reused)."""

    status: int
    headers: Any
    body: bytes | None

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON (or was too long to read)."""
        if self.body is None:
            raise ValueError("the answer was too long to read")
        return json.loads(self.body.decode("utf-8"))


# A total deadline needs the sockets of the request in flight: urllib3 keeps them in its connections,
# so the pools build connections that put themselves under the thread's deadline for every request.

class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args, **kwargs):
        watch_current(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args, **kwargs):
        watch_current(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections (direct or through an HTTP proxy) can be cut at a deadline."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own classes: per-read timeouts only
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def _went_out(err: BaseException) -> bool:
    """A requests ConnectionError that came after the request was sent (the server dropped the line
    before answering), as opposed to one that kept it from being sent."""
    inner = err.args[0] if err.args else None
    return isinstance(inner, urllib3.exceptions.ProtocolError) or \
        isinstance(getattr(inner, "reason", None), urllib3.exceptions.ProtocolError)


class HttpChannel:
    """Base for channels that POST JSON: one ``requests.Session`` reused across messages.

    Built from a ``WebhookConfig`` (validated when the config loads: an http(s) URL with a host, a
    timeout in range). ``_post`` turns every transport failure and non-2xx status into a classified
    ``DeliveryError``; subclasses build the body and, for robots, read the error code inside a 200.
    """

    kind: ClassVar[str] = "http"
    max_message_bytes: ClassVar[int | None] = None
    messages_per_minute: ClassVar[int | None] = None
    messages_per_second: ClassVar[int | None] = None

    def __init__(self, hook: WebhookConfig):
        self.url = hook.url
        self._secret = hook.secret.reveal() if hook.secret else None
        self.timeout = hook.timeout
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({public_host(self.url)})"

    @property
    def where(self) -> str:
        return f"{self.kind} webhook at {public_host(self.url)}"

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _http_session(self) -> requests.Session:
        """One keep-alive session for this channel's lifetime: saves a TCP/TLS handshake per message."""
        if self._session is None:
            session = requests.Session()
            adapter = _WatchedAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        return self._session

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST ``body`` and read the answer, all within ``self.timeout``; return a 2xx answer or raise a
        classified ``DeliveryError``.

        Exception texts from requests are not used: they quote the full URL with its token. A timeout
        after the connection was made means the request may have gone out: the receiver may have it.
        """
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        with Deadline(self.timeout) as deadline:
            try:
                with self._http_session().post(url, data=body, headers=headers, stream=True,
                                               timeout=(self.timeout, self.timeout),
                                               allow_redirects=False) as response:
                    answer = Answer(response.status_code, response.headers, _read_capped(response))
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
                raise self._failed(err, deadline) from None
        self._check_status(answer)
        return answer

    def _failed(self, err: Exception, deadline: Deadline) -> DeliveryError:
        """Classify a request that got no complete answer."""
        read_timeout = isinstance(err, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError)
        if read_timeout or deadline.expired and deadline.connected:
            return DeliveryError(f"{self.where}: no answer within {self.timeout} s; will retry",
                                 maybe_delivered=True, no_answer=True)
        if deadline.expired or isinstance(err, requests.ConnectTimeout):
            return DeliveryError(f"{self.where}: cannot connect within {self.timeout} s; will retry",
                                 unreachable=True)
        if isinstance(err, requests.ConnectionError) and _went_out(err):
            return DeliveryError(f"{self.where} closed the connection before answering; will retry",
                                 maybe_delivered=True)
        if isinstance(err, requests.ConnectionError):
            return DeliveryError(f"{self.where}: cannot connect; will retry", unreachable=True)
        return DeliveryError(f"{self.where}: request failed ({type(err).__name__}); will retry",
                             maybe_delivered=True)

    def _check_status(self, response: Answer) -> None:
        """2xx passes; 3xx permanent (not followed); 429 and 5xx transient; other 4xx permanent."""
        status = response.status
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            target = _redirect_target(response.headers.get("Location", ""))
            raise DeliveryError(
                f"{self.where} redirects (HTTP {status} to {target}); redirects are not followed, "
                f"set {self.kind}.url to the final address", permanent=True)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429 or status >= 500:
            raise DeliveryError(f"{self.where} answered HTTP {status}; will retry", retry_after=retry_after)
        raise DeliveryError(f"{self.where} answered HTTP {status}; check {self.kind}.url and the secret",
                             permanent=True)


def _read_capped(response: requests.Response) -> bytes | None:
    """The body, or None when it is longer than ``MAX_ANSWER_BYTES`` (then left unread)."""
    data = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
    return data if len(data) <= MAX_ANSWER_BYTES else None


def ascii_header(value: str) -> str:
    """``value`` percent-encoded only where HTTP headers need it (non-ASCII, space, ``%``).

    Keys may hold Chinese unit names; ASCII keys pass through unchanged.
    """
    return quote(value, safe=_HEADER_SAFE)


_HEADER_SAFE = "".join(c for c in string.punctuation if c != "%")


def sign_body(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact bytes sent, as GitHub-style receivers verify it."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel(HttpChannel):
    """A generic JSON webhook: POST ``{key, subject, text, markdown, html, to}`` to ``url``.

    Headers: ``Idempotency-Key`` (the message key, percent-encoded so it is ASCII, so a receiver can drop
    repeats) and, with a ``secret``, ``X-Reminder-Timestamp`` (Unix seconds) and ``X-Reminder-Signature``
    (``sha256=`` + hex HMAC of the raw body).
    """

    kind: ClassVar[str] = "generic"

    def send(self, message: Message) -> None:
        body = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        self._post(self.url, body, self.headers(message, body))

    @staticmethod
    def payload(message: Message) -> dict:
        return {"key": message.key, "subject": message.subject, "text": message.text,
                "markdown": message.markdown, "html": message.html, "to": list(message.to)}

    def headers(self, message: Message, body: bytes) -> dict[str, str]:
        headers = {"Idempotency-Key": ascii_header(message.key)}
        if self._secret:
            headers["X-Reminder-Timestamp"] = str(int(time.time()))
            headers["X-Reminder-Signature"] = sign_body(self._secret, body)
        return headers
