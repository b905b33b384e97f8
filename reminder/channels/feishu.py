"""Feishu (飞书) custom group robot: an interactive card with a title and a markdown body.

A card is used rather than ``text`` or ``post`` because it renders markdown and shows the subject as a
header. With a secret, the body carries ``timestamp`` (seconds) and ``sign``. The reply is
``{"code", "msg"}`` (older deployments: ``{"StatusCode", "StatusMessage"}``); non-zero inside a 200 is a
failure. Limits: 100 messages a minute and 5 a second per robot; a request body of at most 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import ClassVar

from .robot import RobotChannel

# Room for "timestamp": "1700000000", "sign": "<44 base64 characters>" in the body.
_SIGN_FIELDS_BYTES = 96


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg=empty)).

    Note the key and message are the other way round from DingTalk's; mixing them up is the usual
    cause of Feishu's 19021 "sign match fail".
    """
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _json_bytes(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


class FeishuChannel(RobotChannel):
    """A Feishu group robot at ``url`` (``https://open.feishu.cn/open-apis/bot/v2/hook/…``)."""

    kind: ClassVar[str] = "feishu"
    max_message_bytes: ClassVar[int] = 20 * 1024  # the whole request body
    messages_per_minute: ClassVar[int] = 100
    messages_per_second: ClassVar[int] = 5
    rate_limit_codes: ClassVar[frozenset[int]] = frozenset({9499, 11232, 99991400})
    permanent_codes: ClassVar[dict[int, str]] = {
        19001: "check the hook id in feishu.url",
        19021: "check feishu.secret, and that this server's clock is right (within an hour)",
        19022: "this server's IP is not in the robot's allow-list",
        19024: "the message lacks the robot's keyword; adjust the robot's security settings",
    }

    def request(self, title: str, content: str) -> tuple[str, dict]:
        payload = self._card(title, content)
        if self._secret:
            timestamp = str(int(time.time()))
            payload = {"timestamp": timestamp, "sign": feishu_sign(self._secret, timestamp), **payload}
        return self.url, payload

    def reply_code(self, reply: dict) -> tuple[int | None, str]:
        if "code" in reply:
            return reply["code"], reply.get("msg", "")
        return reply.get("StatusCode"), reply.get("StatusMessage", "")

    def line_cost(self, line: str) -> int:
        """Bytes the line adds inside the JSON string, escaped; its 2 quote bytes stand for the "\\n"."""
        return _json_bytes(line)

    def content_budget(self, title: str) -> int:
        """The 20 KB body cap less the card around the content, the marked title and the signature."""
        envelope = _json_bytes(self._card(f"{title} (999/999)", ""))
        return self.max_message_bytes - envelope - _SIGN_FIELDS_BYTES - self.marker_reserve

    @staticmethod
    def _card(title: str, content: str) -> dict:
        return {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": title}},
                "elements": [{"tag": "markdown", "content": content}],
            },
        }
