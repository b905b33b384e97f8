"""What DingTalk, WeCom and Feishu group robots share: splitting, rate limiting, reading the reply.

The three services differ only in payload shape, signing and error codes; those live in their own modules
as small subclasses of ``RobotChannel``. The shared behaviour, and its traps:

- A robot answers HTTP 200 even when it rejects the message; the verdict is the error code in the body.
  Checking the status alone (as some notification libraries do) loses messages silently.
- Each robot caps the message size, so a long reminder is split at line boundaries into parts marked
  ``(1/3)``, ``(2/3)`` …, each within the cap.
- Each robot caps messages per minute (Feishu also per second); going over gets messages rejected, so a
  client-side limiter sleeps just long enough. The limiter is shared by every channel object posting to
  the same URL in this process, because the limit belongs to the robot, not to one batch.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from ..errors import DeliveryError
from ..model import Message
from .webhook import MAX_ANSWER_BYTES, Answer, HttpChannel

if TYPE_CHECKING:
    from ..directory import WebhookConfig


class RateLimiter:
    """Sliding-window limiter: at most ``per_minute`` sends in any 60 s and ``per_second`` in any 1 s.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so tests can check a minute's limit
    without waiting a minute. Thread-safe: callers queue on the lock while one sleeps.
    """

    def __init__(self, per_minute: int | None = None, per_second: int | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.windows = [(span, limit) for span, limit in ((60.0, per_minute), (1.0, per_second)) if limit]
        self.clock = clock
        self.sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until one more send fits in every window, then record it."""
        with self._lock:
            while (delay := self._delay(self.clock())) > 0:
                self.sleep(delay)
            self._sent.append(self.clock())
            longest = max((span for span, _ in self.windows), default=0.0)
            while self._sent and self._sent[0] <= self._sent[-1] - longest:
                self._sent.popleft()

    def _delay(self, now: float) -> float:
        """Seconds until the oldest send that fills a window leaves it (0 when there is room)."""
        delay = 0.0
        for span, limit in self.windows:
            recent = [t for t in self._sent if t > now - span]
            if len(recent) >= limit:
                delay = max(delay, recent[-limit] + span - now)
        return delay


_shared_limiters: dict[tuple[str, str], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(kind: str, url: str, per_minute: int | None, per_second: int | None) -> RateLimiter:
    """The process-wide limiter for one robot URL, so separate batches together keep its limit."""
    with _shared_lock:
        key = (kind, url)
        if key not in _shared_limiters:
            _shared_limiters[key] = RateLimiter(per_minute, per_second)
        return _shared_limiters[key]


def utf8_cost(line: str) -> int:
    """Bytes a line adds to a plain-text body: its UTF-8 length plus the newline."""
    return len(line.encode("utf-8")) + 1


def split_markdown(text: str, budget: int, cost: Callable[[str], int] = utf8_cost) -> list[str]:
    """Split ``text`` at line boundaries into parts whose line costs add up to at most ``budget``.

    A single line longer than the budget is cut between characters (never inside a UTF-8 sequence).
    Returns ``[text]`` unchanged when it fits.
    """
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for line in _fitting_lines(text.split("\n"), budget, cost):
        line_cost = cost(line)
        if current and used + line_cost > budget:
            parts.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += line_cost
    if current:
        parts.append("\n".join(current))
    return parts or [""]


def _fitting_lines(lines: list[str], budget: int, cost: Callable[[str], int]):
    """Yield each line, cutting any line that alone exceeds ``budget`` into pieces that fit."""
    for line in lines:
        while cost(line) > budget:
            cut = _longest_prefix(line, budget, cost)
            yield line[:cut]
            line = line[cut:]
        yield line


def _longest_prefix(line: str, budget: int, cost: Callable[[str], int]) -> int:
    """Length of the longest prefix of ``line`` within ``budget`` (at least one character)."""
    low, high = 1, len(line)
    while low < high:  # binary search: cost grows with the prefix length
        mid = (low + high + 1) // 2
        if cost(line[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _short(text: object, limit: int = 200) -> str:
    """A server's error message, cut to a readable length (DingTalk's run to several sentences)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


class RobotChannel(HttpChannel):
    """Base of the group-robot channels. Subclasses set the limits and codes and build the request.

    ``send`` sends a message as one or more parts; it succeeds only when all its parts do. A failed part
    stops that message (later parts are not sent) and its error says which part failed; a retry sends
    every part again, so earlier parts may appear twice in the group.
    """

    # Bytes kept free in each part for the "(12/34)" marker line.
    marker_reserve: ClassVar[int] = 16
    # Error codes in a 200 reply that mean "too many messages": transient, retry after a minute.
    rate_limit_codes: ClassVar[frozenset[int]] = frozenset()
    # Error codes that retrying cannot fix, each with the fix to tell the operator.
    permanent_codes: ClassVar[dict[int, str]] = {}

    def __init__(self, hook: WebhookConfig, *, limiter: RateLimiter | None = None):
        super().__init__(hook)
        self.limiter = limiter or shared_limiter(
            self.kind, hook.url, self.messages_per_minute, self.messages_per_second)

    # --- what subclasses provide -------------------------------------------------------------

    def request(self, title: str, content: str) -> tuple[str, dict]:
        """The URL to POST to (signed if needed) and the JSON payload for one part."""
        raise NotImplementedError

    def reply_code(self, reply: dict) -> tuple[int | None, str]:
        """The service's error code and message from a JSON reply (DingTalk and WeCom: errcode)."""
        return reply.get("errcode"), reply.get("errmsg", "")

    def line_cost(self, line: str) -> int:
        return utf8_cost(line)

    def content_budget(self, title: str) -> int:
        """Bytes of content allowed per part; by default the cap minus room for the marker."""
        return (self.max_message_bytes or 0) - self.marker_reserve

    # --- shared behaviour -------------------------------------------------------------------

    def parts(self, message: Message) -> list[tuple[str, str]]:
        """``(title, content)`` per part: the markdown (or the text), split to fit and marked."""
        content = (message.markdown or message.text).strip()
        chunks = split_markdown(content, self.content_budget(message.subject), self.line_cost)
        if len(chunks) == 1:
            return [(message.subject, chunks[0])]
        n = len(chunks)
        return [(f"{message.subject} ({i}/{n})", f"({i}/{n})\n{chunk}") for i, chunk in enumerate(chunks, 1)]

    def send(self, message: Message) -> None:
        parts = self.parts(message)
        for index, (title, content) in enumerate(parts, 1):
            try:
                self._send(title, content)
            except DeliveryError as err:
                if len(parts) == 1:
                    raise
                # Earlier parts were delivered: the group has some of the message already.
                raise DeliveryError(f"part {index} of {len(parts)}: {err}", permanent=err.permanent,
                                    retry_after=err.retry_after, unreachable=err.unreachable and index == 1,
                                    maybe_delivered=err.maybe_delivered or index > 1) from None

    def _send(self, title: str, content: str) -> None:
        self.limiter.wait()
        url, payload = self.request(title, content)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response = self._post(url, body, {})
        self._check_reply(response)

    def _check_reply(self, response: Answer) -> None:
        """Read the verdict inside a 2xx: code 0 is success; anything else raises, classified."""
        if response.body is None:
            raise DeliveryError(f"{self.where} answered {response.status} with more than {MAX_ANSWER_BYTES} "
                                "bytes; will retry", maybe_delivered=True)
        try:
            reply = response.json()
        except ValueError:
            raise DeliveryError(f"{self.where} answered {response.status} without a JSON reply; "
                                 "will retry") from None
        code, text = self.reply_code(reply) if isinstance(reply, dict) else (None, "")
        if code == 0:
            return
        if code is None:
            raise DeliveryError(f"{self.where} answered without an error code ({_short(reply)}); will retry")
        if code in self.rate_limit_codes:
            raise DeliveryError(f"{self.where} is rate limiting (code {code}: {_short(text)}); will retry",
                                 retry_after=60.0)
        if code in self.permanent_codes:
            raise DeliveryError(f"{self.where} rejected the message (code {code}: {_short(text)}); "
                                 f"{self.permanent_codes[code]}", permanent=True)
        raise DeliveryError(f"{self.where} answered error code {code}: {_short(text)}; will retry")
