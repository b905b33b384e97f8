"""What the operator and the clerk read on a terminal: aligned tables, local times, one line per tick.

Only the human output lives here; ``--json`` keeps the machine form (``reminder.cli``). Nothing here
reads the clock or the database: it formats what it is given.

Tables are aligned by *display* width, not by ``len``: a Chinese character (East Asian Wide or
Full-width) takes two terminal columns, so ``str.ljust`` would push every column after a unit name
out of line. A small helper over ``unicodedata.east_asian_width`` does this; a table library would be
a dependency for some twenty lines, and its own styling (boxes, colours) is noise in a log or a pipe.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reminder.config import Config
    from reminder.delivery import DeliveryCounts
    from reminder.tick import TickReport

CHANNEL_NAMES = {"smtp": "邮件", "file": "文件", "dingtalk": "钉钉", "wecom": "企业微信", "feishu": "飞书",
                 "generic": "webhook"}
"""Channel kinds as the office calls them."""

STATUS_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "dead": "失败"}
STAGE_NAMES = {"reminder": "即将到期", "due": "今日到期", "overdue": "逾期", "checkin": "进展询问",
               "escalation": "督办", "silent": "未报进展", "digest": "汇总"}
KIND_NAMES = {"fixed": "限期完成", "ongoing": "持续推进", "recurring": "周期性", "relative": "相对时限",
              "none": "未写时限"}

COLUMN_GAP = "  "


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: two for a wide or full-width character, none for a combining mark."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns (a "…" marks the cut), on one line."""
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        columns = display_width(char)
        if used + columns > width - 1:
            break
        kept.append(char)
        used += columns
    return "".join(kept) + "…"


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` columns (on the left when ``right``, for numbers)."""
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[int] = (),
          widths: dict[int, int] | None = None) -> list[str]:
    """Lines of an aligned table: a header row, a rule, then ``rows``. ``right`` names the columns aligned
    right (counts); ``widths`` caps a column's width (longer cells are cut with "…"). The last column is
    not padded, so no line ends in spaces."""
    caps = widths or {}
    cells = [[fit(str(value), caps[i]) if i in caps else " ".join(str(value).split())
              for i, value in enumerate(row)] for row in rows]
    sizes = [max([display_width(h), *(display_width(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        last = len(values) - 1
        parts = [value if i == last and i not in right else pad(value, sizes[i], i in right)
                 for i, value in enumerate(values)]
        return COLUMN_GAP.join(parts).rstrip()

    return [line(headers), line(["-" * size for size in sizes]), *(line(r) for r in cells)]


def local_time(moment: datetime | None, zone: tzinfo, empty: str = "-") -> str:
    """An instant as the office reads it: its own local time to the minute (2021-10-08 09:00)."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else empty


def zone_label(moment: datetime) -> str:
    """The zone of a local time as a person reads it: its abbreviation and offset (CST +08:00)."""
    offset = moment.strftime("%z")
    return f"{moment.tzname()} {offset[:3]}:{offset[3:]}" if offset else (moment.tzname() or "")


def where_it_went(config: Config, channel: str) -> str | None:
    """Where a channel's messages went, for the tick line: the folder of .eml files, the mail server."""
    if channel == "file":
        return _short_path(config.file.dir)
    if channel == "smtp":
        return config.smtp.host
    return None


def _short_path(path: Path) -> str:
    """A folder as the operator typed it: relative to the working folder when it is inside it."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return f"./{relative.as_posix()}" if relative.parts else "."


def delivery_summary(counts: DeliveryCounts | None, config: Config, noun: str = "提醒") -> str:
    """"已发送 6 条提醒（文件 6 → ./outbox）", with what waits for a retry or was given up; ``noun`` names
    what was sent (提醒, 汇总)."""
    if not counts:
        return ""
    parts = []
    if counts.sent:
        by_channel = []
        for channel, n in counts.sent_by_channel.items():
            where = where_it_went(config, channel)
            by_channel.append(f"{CHANNEL_NAMES.get(channel, channel)} {n}" + (f" → {where}" if where else ""))
        parts.append(f"已发送 {counts.sent} 条{noun}（{'，'.join(by_channel)}）")
    if counts.retry or counts.deferred:
        parts.append(f"{counts.retry + counts.deferred} 条稍后重试")
    if counts.dead:
        parts.append(f"{counts.dead} 条发送失败（reminder notices --status dead）")
    if counts.unknown:
        parts.append(f"其中 {counts.unknown} 条对方可能已收到")
    return "，".join(parts)


def tick_line(report: TickReport, now: datetime, config: Config, dry_run: bool = False) -> str:
    """One line per tick, in the office's local time: what went out and where, or why nothing did."""
    when = now.astimezone(config.zone).strftime("%Y-%m-%d %H:%M")
    if report.waiting_until is not None:
        window = f"工作日 {config.send_hour}:00 起" + (f"、{config.policy.send_until_hour}:00 前"
                                                    if config.policy.send_until_hour else "")
        return (f"{when} 不在发送时段（{window}），不发送；下次发送 "
                f"{local_time(report.waiting_until, config.zone)}")
    if dry_run:
        return (f"{when} 预览：将发送 {len(report.preview)} 条提醒（检查 {report.checked} 项分配）；"
                "未写入、未发送")
    sent = delivery_summary(report.delivered, config)
    if sent:
        return f"{when} {sent}"
    if report.messages:
        return f"{when} 新增 {report.messages} 条提醒，尚未发出"
    return f"{when} 没有要发送的提醒（检查 {report.checked} 项分配）"


class LocalTimeFormatter(logging.Formatter):
    """Log lines stamped in the office's time zone, with the zone written out (2021-10-08 09:00:00 CST),
    whatever zone the server runs in: a clerk compares them with the notices' local dates."""

    def __init__(self, zone: tzinfo):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S ") + (moment.tzname() or moment.strftime("%z"))


def setup_logging(zone: tzinfo, verbose: bool = False) -> None:
    """Log to stderr (the journal, under systemd) in the office's time; ``verbose`` (debug level) adds every
    tick, the standby's ticks and the HTTP libraries' requests."""
    handler = logging.StreamHandler()
    handler.setFormatter(LocalTimeFormatter(zone))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)  # -v: the HTTP libraries' requests too
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def progress(items: Sequence, label: str, at_least: int = 4):
    """A progress bar on stderr over ``items`` when stderr is a terminal and there are ``at_least`` of them;
    otherwise ``items`` as they are, so a log or a pipe gets no bar and no label line."""
    import sys

    import click

    if len(items) < at_least or not sys.stderr.isatty():
        return _Plain(items)
    return click.progressbar(items, label=label, file=sys.stderr, show_pos=True)


class _Plain:
    """``with`` over items without a bar (the shape of click.progressbar)."""

    def __init__(self, items: Sequence):
        self.items = items

    def __enter__(self) -> Sequence:
        return self.items

    def __exit__(self, *exc: object) -> None:
        return None


SENDING_BAR_AT_LEAST = 50
"""Messages a delivery pass must have before it shows a bar: a short pass is over before a bar says anything."""


class SendingMeter:
    """A bar over the messages a pass sends, on a terminal only. Delivery learns its size as it claims
    messages (a batch at a time), so the bar appears once the claimed total reaches ``at_least`` and
    grows with later batches; off a terminal it does nothing, so a log or a pipe gets no bar."""

    def __init__(self, label: str = "sending", at_least: int = SENDING_BAR_AT_LEAST):
        import sys

        self.label, self.at_least = label, at_least
        self.total = self.done = 0
        self.stream = sys.stderr
        self.bar: Any = None

    def grow(self, count: int) -> None:
        """``count`` more messages were claimed."""
        self.total += count
        if self.bar is not None:
            self.bar.length = self.total
        elif self.total >= self.at_least and self.stream.isatty():
            import click

            self.bar = click.progressbar(length=self.total, label=self.label, file=self.stream, show_pos=True)
            self.bar.__enter__()
            self.bar.update(self.done)

    def step(self) -> None:
        """One message is taken up (to be sent, or deferred with its endpoint)."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
