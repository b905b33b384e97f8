"""Channels against real servers on loopback: aiosmtpd for email, http.server for the webhooks.

Servers live in tests/servers.py (shared with bench/deliver.py); the fixtures below start one per test.
Every error message is also checked for secrets and webhook tokens.
"""

from __future__ import annotations

import email
import json
import shutil
import ssl
import subprocess
import time
from email import policy
from pathlib import Path
from urllib.parse import unquote

import pytest

from reminder.channels import (
    CHANNELS,
    DingTalkChannel,
    FeishuChannel,
    FileChannel,
    SmtpChannel,
    WebhookChannel,
    WeComChannel,
)
from reminder.channels.file import file_name
from reminder.channels.robot import RateLimiter, split_markdown, utf8_cost
from reminder.config import DEFAULT_PORTS, SmtpConfig
from reminder.directory import WebhookConfig
from reminder.errors import DeliveryError
from reminder.model import Message, Secret
from tests.servers import (
    LOOPBACK,
    HttpServer,
    Reply,
    SilentServer,
    SmtpServer,
    dingtalk_robot,
    feishu_robot,
    free_port,
    generic_receiver,
    wecom_robot,
)

SECRET = "SECc0ffee-do-not-leak-9f8e7d"
TOKEN = "tok3n-in-the-url-5a4b3c"
PASSWORD = "pa55-word-do-not-leak"


def msg(key="task:6|unit:县财政局|stage:due|period:2021", to=("县财政局 <czj@example.cn>",),
        subject="【提醒】任务6 今日到期", text="县财政局：任务6 今天到期。", html="<p>县财政局：任务6 今天到期。</p>",
        markdown="### 任务6 今日到期\n县财政局：请于今日完成。"):
    return Message(key=key, to=tuple(to), subject=subject, text=text, html=html, markdown=markdown)


def assert_no_secrets(*errors):
    for err in errors:
        assert err is not None
        for secret in (SECRET, TOKEN, PASSWORD):
            assert secret not in str(err)


def deliver(channel, messages):
    """Send each message as delivery does, one at a time on one connection, and collect each result:
    None when it was delivered, else the DeliveryError ``send`` raised."""
    results = []
    for message in messages:
        try:
            channel.send(message)
        except DeliveryError as error:
            results.append(error)
        else:
            results.append(None)
    return results


def smtp(host, port=None, *, from_addr, security="starttls", username=None, password=None, timeout=10.0,
         cafile=None, from_name=None):
    """An SMTP channel from the settings a validated [smtp] table gives."""
    return SmtpChannel(SmtpConfig(host=host, port=port or DEFAULT_PORTS[security], security=security,
                                  username=username, password=Secret("SMTP_PASSWORD", password) if password else None,
                                  from_addr=from_addr, from_name=from_name, timeout=timeout,
                                  cafile=Path(cafile) if cafile else None))


def webhook(cls, url, secret=None, timeout=10.0, **settings):
    """A webhook channel of class ``cls`` from a WebhookConfig, as the config gives it."""
    hook = WebhookConfig(cls.kind, url, secret=Secret("HOOK_SECRET", secret) if secret else None, timeout=timeout)
    return cls(hook, **settings)


def robot(cls, url, **settings):
    """A robot with its own limiter, so tests never share one through the process-wide registry."""
    limiter = RateLimiter(cls.messages_per_minute, cls.messages_per_second)
    return webhook(cls, url, limiter=limiter, **settings)


def parse_mail(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


# --- SMTP ---------------------------------------------------------------------------------------


def test_smtp_batch_uses_one_connection_and_encodes_chinese(smtp_server):
    channel = smtp(LOOPBACK, smtp_server.port, security="none", from_addr="gkb@example.cn",
                          from_name="县政务公开办")
    messages = [msg(key=f"k{i}", to=(f"单位{i} <u{i}@example.cn>", "cc@example.cn")) for i in range(3)]
    try:
        assert deliver(channel, messages) == [None, None, None]
    finally:
        channel.close()
    received = smtp_server.handler.messages
    assert [m["to"] for m in received] == [[f"u{i}@example.cn", "cc@example.cn"] for i in range(3)]
    assert smtp_server.handler.connections == 1
    mail = parse_mail(received[0]["data"])
    assert mail["Subject"] == "【提醒】任务6 今日到期"
    assert mail["From"].addresses[0].display_name == "县政务公开办"
    assert mail["To"].addresses[0].display_name == "单位0"
    assert mail.get_body(("plain",)).get_content().strip() == "县财政局：任务6 今天到期。"
    assert "<p>县财政局" in mail.get_body(("html",)).get_content()
    assert received[0]["data"].isascii()  # headers encoded, bodies transfer-encoded


def test_smtp_message_id_follows_the_key(smtp_server):
    channel = smtp(LOOPBACK, smtp_server.port, security="none", from_addr="gkb@example.cn")
    deliver(channel, [msg(key="same"), msg(key="same"), msg(key="other")])
    channel.close()
    ids = [parse_mail(m["data"])["Message-ID"] for m in smtp_server.handler.messages]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@example.cn>")


def test_smtp_refused_recipients_are_classified_and_the_batch_goes_on(smtp_server):
    channel = smtp(LOOPBACK, smtp_server.port, security="none", from_addr="gkb@example.cn")
    results = deliver(channel, [
        msg(key="a", to=("nobody@refused.test",)),
        msg(key="b", to=("later@busy.test",)),
        msg(key="c", to=("ok@example.cn", "nobody@refused.test")),
        msg(key="d", to=("ok@example.cn",)),
        msg(key="e", to=("later@busy.test", "nobody@refused.test")),
    ])
    channel.close()
    refused, busy, partial, ok, mixed = results
    assert refused.permanent and "nobody@refused.test" in str(refused) and "550" in str(refused)
    assert not busy.permanent and "450" in str(busy)
    assert partial.permanent and "delivered to the other recipients" in str(partial)
    assert ok is None
    assert mixed.permanent  # one 5xx decides: a retry would not reach that address either
    assert [m["to"] for m in smtp_server.handler.messages] == [["ok@example.cn"], ["ok@example.cn"]]
    assert smtp_server.handler.connections == 1


def test_smtp_data_rejection_5xx_permanent_4xx_transient():
    with SmtpServer() as server:
        handler = server.handler
        verdicts = iter(["554 5.7.1 rejected as spam", "451 4.3.0 try again", None])

        async def handle_DATA(srv, session, envelope, _orig=handler.handle_DATA):
            verdict = next(verdicts)
            return verdict or await _orig(srv, session, envelope)

        handler.handle_DATA = handle_DATA
        channel = smtp(LOOPBACK, server.port, security="none", from_addr="gkb@example.cn")
        spam, later, ok = deliver(channel, [msg(key="1"), msg(key="2"), msg(key="3")])
        channel.close()
    assert spam.permanent and "554" in str(spam)
    assert not later.permanent and "451" in str(later)
    assert ok is None and len(server.handler.messages) == 1


def test_smtp_login_and_bad_password_never_shown():
    with SmtpServer(users={"gkb": PASSWORD}) as server:
        good = smtp(LOOPBACK, server.port, security="none", from_addr="gkb@example.cn",
                           username="gkb", password=PASSWORD)
        assert deliver(good, [msg()]) == [None]
        good.close()
        bad = smtp(LOOPBACK, server.port, security="none", from_addr="gkb@example.cn",
                          username="gkb", password=PASSWORD + "x")
        errors = deliver(bad, [msg(key="1"), msg(key="2")])
        bad.close()
    assert all(e is not None and e.permanent and "login" in str(e) for e in errors)
    assert_no_secrets(*errors)
    assert PASSWORD not in repr(bad)
    assert len(server.handler.messages) == 1


def test_smtp_connection_refused_is_transient_and_unreachable():
    """``unreachable``: nothing was sent, so delivery records the same error for the rest of the pass's
    email instead of trying again (tests/test_faults.py checks the pass)."""
    channel = smtp(LOOPBACK, free_port(), security="none", from_addr="gkb@example.cn",
                   username="gkb", password=PASSWORD)
    [error] = deliver(channel, [msg(key="1")])
    assert error is not None and not error.permanent and error.unreachable and not error.maybe_delivered
    assert_no_secrets(error)


def test_smtp_silent_server_times_out_quickly():
    with SilentServer() as server:
        channel = smtp(LOOPBACK, server.port, security="none", from_addr="gkb@example.cn", timeout=0.5)
        start = time.monotonic()
        [error] = deliver(channel, [msg(key="1")])
        elapsed = time.monotonic() - start
    assert error is not None and not error.permanent and error.unreachable and "no answer" in str(error)
    assert elapsed < 1.5


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command line."""
    if not shutil.which("openssl"):
        pytest.skip("openssl command not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def test_smtp_starttls_with_login_trusts_only_the_configured_ca(certificate):
    cert, context = certificate
    with SmtpServer(users={"gkb": PASSWORD}, tls_context=context) as server:
        settings = dict(security="starttls", from_addr="gkb@example.cn", username="gkb", password=PASSWORD)
        trusted = smtp(LOOPBACK, server.port, cafile=str(cert), **settings)
        assert deliver(trusted, [msg()]) == [None]
        trusted.close()
        untrusted = smtp(LOOPBACK, server.port, **settings)
        [error] = deliver(untrusted, [msg(key="2")])
    assert error.permanent and "smtp.cafile" in str(error)
    assert_no_secrets(error)
    assert len(server.handler.messages) == 1


def test_smtp_implicit_tls(certificate):
    cert, context = certificate
    with SmtpServer(ssl_context=context) as server:
        channel = smtp(LOOPBACK, server.port, security="ssl", from_addr="gkb@example.cn", cafile=str(cert))
        assert deliver(channel, [msg(), msg(key="2")]) == [None, None]
        channel.close()
    assert server.handler.connections == 1


def test_smtp_server_without_starttls_is_a_permanent_config_error(smtp_server):
    channel = smtp(LOOPBACK, smtp_server.port, security="starttls", from_addr="gkb@example.cn")
    [error] = deliver(channel, [msg()])
    assert error.permanent and "STARTTLS" in str(error)


def test_smtp_message_without_address_is_permanent(smtp_server):
    channel = smtp(LOOPBACK, smtp_server.port, security="none", from_addr="gkb@example.cn")
    no_to, bad_to = deliver(channel, [msg(to=()), msg(to=("not-an-address",))])
    channel.close()
    assert no_to.permanent and bad_to.permanent


# --- file ---------------------------------------------------------------------------------------


def test_file_channel_writes_eml_once_per_key(tmp_path):
    folder = tmp_path / "out" / "notices"
    channel = FileChannel(folder, from_addr="gkb@example.cn", from_name="县政务公开办")
    message = msg(key="../../etc/任务6|县财政局")
    assert deliver(channel, [message]) == [None]
    assert deliver(channel, [message, msg(key="other")]) == [None, None]
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" and f.parent == folder for f in files)
    mail = parse_mail(channel.path_for(message).read_bytes())
    assert mail["Subject"] == "【提醒】任务6 今日到期"
    assert mail["From"].addresses[0].display_name == "县政务公开办"
    assert mail.get_body(("plain",)).get_content().strip() == "县财政局：任务6 今天到期。"
    assert mail.get_body(("html",)) is not None
    assert "任务6" in channel.path_for(message).name


def test_file_names_keep_distinct_keys_apart():
    assert file_name("a/b") != file_name("a:b")
    assert file_name("a/b") == file_name("a/b")
    assert len(file_name("长" * 500)) < 200


def test_file_channel_unwritable_folder_is_transient(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    [error] = deliver(FileChannel(blocker / "sub"), [msg()])
    assert error is not None and not error.permanent


# --- generic webhook ----------------------------------------------------------------------------


def test_generic_webhook_signs_the_raw_body_and_sends_the_key(http_server):
    http_server.routes["/hook"] = generic_receiver(SECRET)
    channel = webhook(WebhookChannel, http_server.url("/hook"), secret=SECRET)
    key = "task:6|unit:县财政局|stage:due"
    assert deliver(channel, [msg(key=key), msg(key="plain-key")]) == [None, None]
    channel.close()
    first, second = http_server.received("/hook")
    assert unquote(first.headers["Idempotency-Key"]) == key
    assert second.headers["Idempotency-Key"] == "plain-key"
    assert abs(int(first.headers["X-Reminder-Timestamp"]) - time.time()) < 60
    payload = first.json()
    assert payload == {"key": key, "subject": "【提醒】任务6 今日到期", "text": "县财政局：任务6 今天到期。",
                       "markdown": "### 任务6 今日到期\n县财政局：请于今日完成。",
                       "html": "<p>县财政局：任务6 今天到期。</p>", "to": ["县财政局 <czj@example.cn>"]}
    assert SECRET.encode() not in first.body and SECRET not in json.dumps(first.headers)
    assert first.client_port == second.client_port  # one keep-alive connection for the batch


def test_generic_webhook_wrong_secret_is_permanent(http_server):
    http_server.routes["/hook"] = generic_receiver(SECRET)
    [error] = deliver(webhook(WebhookChannel, http_server.url("/hook"), secret="wrong-" + SECRET), [msg()])
    assert error.permanent and "401" in str(error)
    assert_no_secrets(error)


@pytest.mark.parametrize("status, headers, permanent, retry_after", [
    (500, {}, False, None),
    (503, {"Retry-After": "30"}, False, 30.0),
    (429, {"Retry-After": "7"}, False, 7.0),
    (404, {}, True, None),
])
def test_generic_webhook_status_classes(http_server, status, headers, permanent, retry_after):
    http_server.routes[f"/{TOKEN}"] = lambda request: Reply(status, {"error": "x"}, headers)
    [error] = deliver(webhook(WebhookChannel, http_server.url(f"/{TOKEN}"), secret=SECRET), [msg()])
    assert error is not None and error.permanent is permanent and str(status) in str(error)
    assert error.retry_after == retry_after
    assert_no_secrets(error)


def test_webhook_that_hangs_times_out_within_bounds(http_server):
    http_server.routes["/slow"] = lambda request: Reply(delay=3)
    channel = webhook(WebhookChannel, http_server.url(f"/slow?token={TOKEN}"), timeout=0.4)
    start = time.monotonic()
    [error] = deliver(channel, [msg()])
    elapsed = time.monotonic() - start
    assert not error.permanent and "no answer within 0.4 s" in str(error)
    assert elapsed < 1.5
    assert_no_secrets(error)


def test_webhook_unreachable_is_transient():
    [error] = deliver(webhook(WebhookChannel, f"http://{LOOPBACK}:{free_port()}/hook?access_token={TOKEN}"), [msg()])
    assert not error.permanent and "cannot connect" in str(error)
    assert_no_secrets(error)


def test_redirect_to_another_host_is_not_followed(http_server):
    with HttpServer(host="127.0.0.2") as elsewhere:
        elsewhere.routes["/steal"] = generic_receiver(None)
        http_server.routes["/hook"] = lambda request: Reply(302, {}, {"Location": elsewhere.url("/steal")})
        for channel in (webhook(WebhookChannel, http_server.url("/hook"), secret=SECRET),
                        robot(DingTalkChannel, http_server.url(f"/hook?access_token={TOKEN}"), secret=SECRET)):
            [error] = deliver(channel, [msg()])
            assert error.permanent and "redirects" in str(error) and "127.0.0.2" in str(error)
            assert_no_secrets(error)
        assert elsewhere.requests == []
    assert len(http_server.received("/hook")) == 2


# --- DingTalk -----------------------------------------------------------------------------------


def test_dingtalk_signed_markdown_is_accepted(http_server):
    http_server.routes["/robot/send"] = dingtalk_robot(SECRET)
    channel = robot(DingTalkChannel, http_server.url(f"/robot/send?access_token={TOKEN}"), secret=SECRET)
    assert deliver(channel, [msg(), msg(key="2")]) == [None, None]
    requests_ = http_server.received("/robot/send")
    assert [r.query["access_token"] for r in requests_] == [TOKEN, TOKEN]
    assert requests_[0].json() == {"msgtype": "markdown", "markdown": {
        "title": "【提醒】任务6 今日到期", "text": "### 任务6 今日到期\n县财政局：请于今日完成。"}}
    assert SECRET.encode() not in requests_[0].body
    assert TOKEN not in repr(channel) and SECRET not in repr(channel)


def test_dingtalk_wrong_secret_is_a_permanent_failure_despite_http_200(http_server):
    http_server.routes["/robot/send"] = dingtalk_robot(SECRET)
    channel = robot(DingTalkChannel, http_server.url(f"/robot/send?access_token={TOKEN}"), secret="SECwrong")
    unsigned = robot(DingTalkChannel, http_server.url(f"/robot/send?access_token={TOKEN}"))
    errors = deliver(channel, [msg()]) + deliver(unsigned, [msg()])
    assert all(e.permanent and "310000" in str(e) and "dingtalk.secret" in str(e) for e in errors)
    assert_no_secrets(*errors)


@pytest.mark.parametrize("reply, permanent, retry_after", [
    ({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}, False, 60.0),
    ({"errcode": 300001, "errmsg": "token is not exist"}, True, None),
    ({"errcode": -1, "errmsg": "系统繁忙"}, False, None),
    ({"unexpected": True}, False, None),
])
def test_dingtalk_error_code_inside_200(http_server, reply, permanent, retry_after):
    http_server.routes["/robot/send"] = lambda request: Reply(200, reply)
    [error] = deliver(robot(DingTalkChannel, http_server.url(f"/robot/send?access_token={TOKEN}")), [msg()])
    assert error is not None and error.permanent is permanent and error.retry_after == retry_after
    assert_no_secrets(error)


def test_dingtalk_non_json_200_is_a_failure(http_server):
    http_server.routes["/robot/send"] = lambda request: Reply(200, b"<html>portal</html>")
    [error] = deliver(robot(DingTalkChannel, http_server.url("/robot/send")), [msg()])
    assert error is not None and not error.permanent


def long_markdown(lines=1500):
    return "\n".join(f"- 任务{i}：区财政局牵头，各镇（街、园区）落实，2021年9月30日前完成。" for i in range(lines))


def test_dingtalk_long_markdown_is_split_at_lines_within_the_limit(http_server):
    http_server.routes["/robot/send"] = dingtalk_robot(SECRET)
    text = long_markdown()
    channel = robot(DingTalkChannel, http_server.url("/robot/send"), secret=SECRET)
    assert deliver(channel, [msg(markdown=text)]) == [None]
    parts = [r.json()["markdown"] for r in http_server.received("/robot/send")]
    n = len(parts)
    assert n >= 5
    for i, part in enumerate(parts, 1):
        assert len(part["text"].encode()) <= DingTalkChannel.max_message_bytes
        assert part["text"].startswith(f"({i}/{n})\n") and part["title"].endswith(f"({i}/{n})")
    rejoined = "\n".join(p["text"].split("\n", 1)[1] for p in parts)
    assert rejoined == text  # split at line boundaries only, nothing lost or reordered


# --- WeCom --------------------------------------------------------------------------------------


def test_wecom_markdown_split_to_4096_bytes(http_server):
    http_server.routes["/cgi-bin/webhook/send"] = wecom_robot()
    channel = robot(WeComChannel, http_server.url(f"/cgi-bin/webhook/send?key={TOKEN}"))
    text = long_markdown(150)
    assert len(text.encode()) > 3 * 4096
    assert deliver(channel, [msg(markdown=text)]) == [None]
    contents = [r.json()["markdown"]["content"] for r in http_server.received("/cgi-bin/webhook/send")]
    assert len(contents) >= 4 and all(len(c.encode()) <= 4096 for c in contents)
    assert http_server.requests[0].json()["msgtype"] == "markdown"


@pytest.mark.parametrize("reply, permanent", [
    ({"errcode": 45009, "errmsg": "api freq out of limit"}, False),
    ({"errcode": 93000, "errmsg": "invalid webhook url"}, True),
])
def test_wecom_error_codes(http_server, reply, permanent):
    http_server.routes["/send"] = lambda request: Reply(200, reply)
    [error] = deliver(robot(WeComChannel, http_server.url(f"/send?key={TOKEN}")), [msg()])
    assert error is not None and error.permanent is permanent
    assert_no_secrets(error)


# --- Feishu -------------------------------------------------------------------------------------


def test_feishu_signed_card_is_accepted(http_server):
    http_server.routes[f"/open-apis/bot/v2/hook/{TOKEN}"] = feishu_robot(SECRET)
    channel = robot(FeishuChannel, http_server.url(f"/open-apis/bot/v2/hook/{TOKEN}"), secret=SECRET)
    assert deliver(channel, [msg()]) == [None]
    payload = http_server.requests[0].json()
    assert payload["msg_type"] == "interactive"
    assert payload["card"]["header"]["title"]["content"] == "【提醒】任务6 今日到期"
    assert payload["card"]["elements"][0]["content"] == "### 任务6 今日到期\n县财政局：请于今日完成。"
    assert SECRET not in json.dumps(payload, ensure_ascii=False)


def test_feishu_wrong_secret_is_permanent(http_server):
    http_server.routes[f"/hook/{TOKEN}"] = feishu_robot(SECRET)
    [error] = deliver(robot(FeishuChannel, http_server.url(f"/hook/{TOKEN}"), secret="wrong"), [msg()])
    assert error.permanent and "19021" in str(error)
    assert_no_secrets(error)


@pytest.mark.parametrize("reply, permanent", [
    ({"code": 9499, "msg": "too many request"}, False),
    ({"code": 11232, "msg": "frequency limited psm"}, False),
    ({"StatusCode": 19001, "StatusMessage": "param invalid: incoming webhook access token invalid"}, True),
])
def test_feishu_error_codes(http_server, reply, permanent):
    http_server.routes[f"/hook/{TOKEN}"] = lambda request: Reply(200, reply)
    [error] = deliver(robot(FeishuChannel, http_server.url(f"/hook/{TOKEN}")), [msg()])
    assert error is not None and error.permanent is permanent
    assert_no_secrets(error)


def test_feishu_long_markdown_body_stays_under_20_kb(http_server):
    http_server.routes["/hook"] = feishu_robot(SECRET)
    # Quotes and backslashes grow when JSON-escaped: the budget must count the escaped size.
    text = "\n".join(f'- "任务{i}" \\ 说明\t{"长" * (i % 40)}' for i in range(1200))
    clock = FakeClock()  # more than 5 parts: the per-second limit would otherwise make this wait
    limiter = RateLimiter(100, 5, clock=clock, sleep=clock.sleep)
    channel = webhook(FeishuChannel, http_server.url("/hook"), secret=SECRET, limiter=limiter)
    assert deliver(channel, [msg(markdown=text)]) == [None]
    bodies = [r.body for r in http_server.received("/hook")]
    assert len(bodies) >= 3 and all(len(b) <= 20 * 1024 for b in bodies)
    contents = [json.loads(b)["card"]["elements"][0]["content"] for b in bodies]
    assert "\n".join(c.split("\n", 1)[1] for c in contents) == text


# --- rate limiting and splitting ----------------------------------------------------------------


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def max_in_window(times, span):
    return max(sum(1 for u in times if t <= u < t + span) for t in times)


def test_rate_limiter_keeps_twenty_a_minute_without_waiting(http_server):
    clock = FakeClock()
    sent_at = []
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    channel = webhook(DingTalkChannel, http_server.url("/robot/send"), limiter=limiter)
    http_server.routes["/robot/send"] = lambda request: (sent_at.append(clock()), Reply(200, {"errcode": 0}))[1]
    start = time.monotonic()
    assert deliver(channel, [msg(key=str(i)) for i in range(45)]) == [None] * 45
    assert time.monotonic() - start < 5
    assert len(sent_at) == 45
    assert max_in_window(sent_at, 60.0) == 20
    assert 120.0 <= clock.now - 1000.0 < 121.0  # two full waits, no more


def test_rate_limiter_per_second_window():
    clock = FakeClock()
    limiter = RateLimiter(100, 5, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(12):
        limiter.wait()
        times.append(clock())
    assert max_in_window(times, 1.0) == 5
    assert max_in_window(times, 60.0) == 12
    assert clock.now - 1000.0 == pytest.approx(2.0)


def test_default_limiter_is_shared_per_robot_url():
    a = webhook(DingTalkChannel, "https://oapi.dingtalk.com/robot/send?access_token=shared-test")
    b = webhook(DingTalkChannel, "https://oapi.dingtalk.com/robot/send?access_token=shared-test")
    c = webhook(DingTalkChannel, "https://oapi.dingtalk.com/robot/send?access_token=other-test")
    assert a.limiter is b.limiter is not c.limiter


@pytest.mark.parametrize("text, budget", [
    ("短消息", 100),
    ("a\nbb\nccc\n\ndddd", 6),
    ("长" * 100, 31),               # one long line, cut between characters
    ("x" * 10 + "\n" + "字" * 30, 20),
])
def test_split_markdown_respects_budget_and_keeps_text(text, budget):
    parts = split_markdown(text, budget)
    assert all(sum(utf8_cost(line) for line in part.split("\n")) <= budget for part in parts)
    if len(text.encode()) < budget:
        assert parts == [text]
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


# --- registry -----------------------------------------------------------------------------------


def test_registry_names_every_kind_the_config_accepts():
    from reminder.config import FALLBACK_CHANNELS, WEBHOOK_KINDS

    assert set(CHANNELS) == {"smtp", *FALLBACK_CHANNELS, *WEBHOOK_KINDS}
    assert isinstance(FileChannel("/tmp/x"), FileChannel)


def test_limits_are_class_attributes():
    assert (DingTalkChannel.max_message_bytes, DingTalkChannel.messages_per_minute) == (20000, 20)
    assert (WeComChannel.max_message_bytes, WeComChannel.messages_per_minute) == (4096, 20)
    assert (FeishuChannel.messages_per_minute, FeishuChannel.messages_per_second) == (100, 5)
    for cls in CHANNELS.values():
        assert hasattr(cls, "send") and hasattr(cls, "close")


def test_delivery_errors_are_delivery_errors(http_server):
    http_server.routes["/x"] = lambda request: Reply(500)
    [error] = deliver(webhook(WebhookChannel, http_server.url("/x")), [msg()])
    assert isinstance(error, DeliveryError)
