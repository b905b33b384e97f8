"""HTTP delivery: the shared plumbing (``HttpChannel``) and the generic JSON webhook.

Webhook URLs are credentials (DingTalk's access_token, WeCom's key, Feishu's hook id sit in them), so no
error message here ever shows a URL's path or query, only its host. Redirects are never followed: a
webhook that moved, or a hostile redirect, must not receive a signed body somewhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import string
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote, urlsplit

import requests

from ..errors import DeliveryError
from ..model import Message

if TYPE_CHECKING:
    from ..directory import WebhookConfig


class _HideRequestTargets(logging.Filter):
    """Hide the path and query of every URL urllib3 logs, keeping scheme and host.

    urllib3 logs each request at DEBUG (``"POST /robot/send?access_token=… HTTP/1.1" 200``), so a
    daemon run with ``-v`` would write every robot's token into the service log. The arguments are
    rewritten before formatting, whatever handler or level the operator configures.
    """

    _URL = re.compile(r"^((?:https?://[^/?#\s]+)?)[/?]\S*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._URL.sub(r"\1/***", arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        return True


for _name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"):
    # A filter on a logger sees only the records logged on that very logger, hence each module's own.
    logging.getLogger(_name).addFilter(_HideRequestTargets())


def public_host(url: str) -> str:
    """``scheme://host:port`` of ``url``: enough to say where, without the token in path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _redirect_target(location: str) -> str:
    """Where a redirect points, host only; a relative Location stays on the same host."""
    return public_host(location) if urlsplit(location).hostname else "the same host"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date (RFC 9110 allows both)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
            self._session = requests.Session()
        return self._session

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        """POST ``body``; return the 2xx response or raise a classified ``DeliveryError``.

        Both the connect and the read timeout are ``self.timeout``, so a hung server costs at most about
        twice that. Exception texts from requests are not used: they quote the full URL with its token.
        A timeout waiting for the answer means the request went out: the receiver may have it.
        """
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        try:
            response = self._http_session().post(
                url, data=body, headers=headers, timeout=(self.timeout, self.timeout), allow_redirects=False)
        except requests.ConnectTimeout:
            raise DeliveryError(f"{self.where}: cannot connect within {self.timeout} s; will retry",
                                unreachable=True) from None
        except requests.Timeout:
            raise DeliveryError(f"{self.where}: no answer within {self.timeout} s; will retry",
                                maybe_delivered=True) from None
        except requests.ConnectionError:
            raise DeliveryError(f"{self.where}: cannot connect; will retry", unreachable=True) from None
        except requests.RequestException as err:
            raise DeliveryError(f"{self.where}: request failed ({type(err).__name__}); will retry") from None
        self._check_status(response)
        return response

    def _check_status(self, response: requests.Response) -> None:
        """2xx passes; 3xx permanent (not followed); 429 and 5xx transient; other 4xx permanent."""
        status = response.status_code
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
