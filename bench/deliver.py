"""Delivery throughput against local servers: SMTP (aiosmtpd) and a generic JSON webhook.

    python bench/deliver.py [--messages 2000] [--batch 100]

SMTP opens one connection per batch (as the outbox delivers), the webhook channel keeps one HTTP
session for the run. Targets (issue 3): at least 100 messages/s over SMTP, 200/s to webhooks.
The servers run in this process (threads), so the figures include their cost too.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for reminder and tests

from reminder.channels import SmtpChannel, WebhookChannel  # noqa: E402
from reminder.config import SmtpConfig  # noqa: E402
from reminder.directory import WebhookConfig  # noqa: E402
from reminder.errors import DeliveryError  # noqa: E402
from reminder.model import Message, Secret  # noqa: E402
from tests.servers import LOOPBACK, HttpServer, SmtpServer, generic_receiver  # noqa: E402

SECRET = "bench-secret"


def messages(n: int) -> list[Message]:
    """Realistic messages: Chinese subject and names, text, HTML and markdown of a few hundred bytes."""
    body = "\n".join(f"- 任务{i}：区财政局牵头，2021年9月30日前完成。" for i in range(8))
    return [Message(key=f"bench:{i}", to=(f"单位{i} <unit{i}@example.cn>",), subject=f"【提醒】第{i}号任务即将到期",
                    text=body, html=f"<pre>{body}</pre>", markdown=body) for i in range(n)]


def send_each(channel, messages: list[Message]) -> list:
    """Send one message at a time on the channel's connection, as delivery does; None per success."""
    results = []
    for message in messages:
        try:
            channel.send(message)
            results.append(None)
        except DeliveryError as error:
            results.append(error)
    return results


def batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def bench_smtp(items: list[Message], batch: int) -> tuple[float, int]:
    """Seconds to send ``items`` over SMTP, one connection per batch; checks every message arrived."""
    with SmtpServer() as server:
        start = time.perf_counter()
        for chunk in batches(items, batch):
            channel = SmtpChannel(SmtpConfig(host=LOOPBACK, port=server.port, security="none",
                                             from_addr="gkb@example.cn", from_name="县政务公开办"))
            results = send_each(channel, chunk)
            channel.close()
            assert results == [None] * len(chunk), [r for r in results if r]
        elapsed = time.perf_counter() - start
        assert len(server.handler.messages) == len(items)
        return elapsed, server.handler.connections


def bench_webhook(items: list[Message], batch: int) -> tuple[float, int]:
    """Seconds to POST ``items`` (signed) to a local webhook over one reused session."""
    with HttpServer() as server:
        server.routes["/hook"] = generic_receiver(SECRET)
        channel = WebhookChannel(WebhookConfig("generic", server.url("/hook"), secret=Secret("SECRET", SECRET)))
        start = time.perf_counter()
        for chunk in batches(items, batch):
            results = send_each(channel, chunk)
            assert results == [None] * len(chunk), [r for r in results if r]
        elapsed = time.perf_counter() - start
        channel.close()
        assert len(server.requests) == len(items)
        return elapsed, len({r.client_port for r in server.requests})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    items = messages(args.messages)
    for name, run, target in (("smtp", bench_smtp, 100), ("webhook", bench_webhook, 200)):
        elapsed, connections = run(items, args.batch)
        rate = len(items) / elapsed
        verdict = "ok" if rate >= target else "BELOW TARGET"
        print(f"{name:8} {len(items)} messages in {elapsed:6.2f} s = {rate:7.0f} msg/s "
              f"over {connections} connection(s)  (target >= {target}/s: {verdict})")


if __name__ == "__main__":
    main()
