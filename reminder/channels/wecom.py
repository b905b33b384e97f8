"""WeCom (企业微信) group robot: markdown messages.

Payload ``{"msgtype": "markdown", "markdown": {"content"}}``; the reply is ``{"errcode", "errmsg"}``.
Limits: 20 messages a minute per robot; markdown content of at most 4,096 bytes (UTF-8). WeCom robots have
no signing: the ``key`` in the URL is the only credential, so keep the URL secret.
"""

from __future__ import annotations

from typing import ClassVar

from .robot import RobotChannel


class WeComChannel(RobotChannel):
    """A WeCom group robot at ``url`` (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``).

    WeCom shows no title, only the content, so markdown templates should start with their own heading.
    The config refuses a ``secret_env`` for it.
    """

    kind: ClassVar[str] = "wecom"
    max_message_bytes: ClassVar[int] = 4096
    messages_per_minute: ClassVar[int] = 20
    messages_per_second: ClassVar[int | None] = None
    rate_limit_codes: ClassVar[frozenset[int]] = frozenset({45009})  # api freq out of limit
    permanent_codes: ClassVar[dict[int, str]] = {
        93000: "check the key in wecom.url (invalid webhook URL)",
        40008: "invalid message type; report this as a bug",
        40058: "the robot rejected the content; check the markdown template",
    }

    def request(self, title: str, content: str) -> tuple[str, dict]:
        return self.url, {"msgtype": "markdown", "markdown": {"content": content}}
