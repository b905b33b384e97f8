"""DingTalk (钉钉) custom group robot: markdown messages, optional 加签 signing.

Payload ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; the reply is ``{"errcode", "errmsg"}``
and a non-zero errcode inside HTTP 200 is a failure. Limits: 20 messages a minute per robot; a message
of at most 20,000 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import ClassVar
from urllib.parse import quote_plus

from .robot import RobotChannel


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


class DingTalkChannel(RobotChannel):
    """A DingTalk group robot at ``url`` (``https://oapi.dingtalk.com/robot/send?access_token=…``)."""

    kind: ClassVar[str] = "dingtalk"
    max_message_bytes: ClassVar[int] = 20000
    messages_per_minute: ClassVar[int] = 20
    messages_per_second: ClassVar[int | None] = None
    rate_limit_codes: ClassVar[frozenset[int]] = frozenset({130101})  # send too fast
    permanent_codes: ClassVar[dict[int, str]] = {
        310000: "check dingtalk.secret (加签), the robot's keywords and its IP allow-list",
        300001: "check the access_token in dingtalk.url",
        300005: "check the access_token in dingtalk.url (the robot may have been removed)",
        400013: "the group was dissolved; set a new robot URL",
        400101: "check the access_token in dingtalk.url",
    }

    def request(self, title: str, content: str) -> tuple[str, dict]:
        payload = {"msgtype": "markdown", "markdown": {"title": title, "text": content}}
        return self._signed_url(), payload

    def _signed_url(self) -> str:
        """The URL with ``timestamp`` and ``sign`` appended when a secret is set; fresh for every post."""
        if not self._secret:
            return self.url
        timestamp = str(int(time.time() * 1000))
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}timestamp={timestamp}&sign={dingtalk_sign(self._secret, timestamp)}"
