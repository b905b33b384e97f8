"""Real servers on loopback for channel tests and bench/deliver.py: SMTP (aiosmtpd) and HTTP.

No pytest here, so the benchmark can use the same servers. The fake robots verify signatures with their
own implementation of each service's documented algorithm, not by calling the channel code, so a wrong
signature in the channel fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port free right now: aiosmtpd's Controller cannot bind port 0 and report it back."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------------------


class RecordingHandler:
    """aiosmtpd handler that keeps every message and the session (connection) it came in on.

    Recipients at ``refused.test`` get 550 and at ``busy.test`` 450, to exercise refusals. With
    ``data_delay`` it keeps each message as soon as its data has arrived, then waits that long before
    saying 250 (a slow server: it has the mail, the client does not know it yet).
    """

    def __init__(self, data_delay: float = 0.0):
        self.messages: list[dict] = []
        self.sessions: list[object] = []
        self.data_delay = data_delay

    @property
    def connections(self) -> int:
        """Distinct SMTP sessions that carried mail (session objects are one per connection)."""
        return len({id(s) for s in self.sessions})

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.test"):
            return "550 5.1.1 no such user"
        if address.endswith("@busy.test"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if session not in self.sessions:
            self.sessions.append(session)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.original_content or envelope.content})
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 Message accepted"


class DroppingHandler(RecordingHandler):
    """Takes each message (it is kept, as a real server would have queued it), then drops the connection
    instead of answering 250: the client cannot know whether the mail arrived."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        server.transport.abort()
        return "421 gone"


class SmtpServer:
    """An aiosmtpd server on a free loopback port, started and stopped as a context manager.

    ``users`` ({name: password}) turns on AUTH; ``tls_context`` offers STARTTLS; ``ssl_context`` makes it
    implicit TLS (SMTPS).
    """

    def __init__(self, users: dict[str, str] | None = None, tls_context=None, ssl_context=None,
                 handler: RecordingHandler | None = None):
        self.handler = handler or RecordingHandler()
        self.port = free_port()
        kwargs = {}
        if users is not None:
            kwargs["authenticator"] = self._authenticator(users)
            kwargs["auth_require_tls"] = tls_context is not None
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
        self.controller = Controller(self.handler, hostname=LOOPBACK, port=self.port,
                                     ssl_context=ssl_context, **kwargs)

    @staticmethod
    def _authenticator(users: dict[str, str]):
        def check(server, session, envelope, mechanism, auth_data):
            ok = users.get(auth_data.login.decode()) == auth_data.password.decode()
            return AuthResult(success=ok, handled=False)
        return check

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class SilentServer:
    """A TCP server that accepts connections and never says a word: a hung SMTP or HTTP peer."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self._held.append(conn)  # keep it open, say nothing

    def __enter__(self) -> "SilentServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for conn in self._held:
            conn.close()
        self.sock.close()


class ScriptedServer:
    """A TCP server on loopback that runs ``script(conn, server)`` for each connection in a thread of its
    own: peers that trickle, never stop talking, or say nothing at all, as no library server would.

    ``connections`` counts accepted connections; ``sent`` the bytes the scripts wrote. Closing the server
    closes every connection, which ends the scripts (their writes fail).
    """

    def __init__(self, script):
        self.script = script
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.sent = 0
        self.closed = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def write(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.connections += 1
                self._held.append(conn)
                threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.script(conn, self)

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closed.set()
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.sock.close()


def read_http_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers and a Content-Length body) from ``conn``; b"" when it closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def trickle(conn: socket.socket, server: ScriptedServer, data: bytes, interval: float) -> None:
    """Write ``data`` one byte every ``interval`` seconds (each byte renews a per-read timeout)."""
    for i in range(len(data)):
        if server.closed.wait(interval):
            return
        server.write(conn, data[i:i + 1])


def trickling_http(interval: float, body: bytes = b'{"errcode": 0, "errmsg": "ok"}'):
    """An HTTP peer that answers 200 one byte every ``interval`` seconds, headers included."""
    def script(conn: socket.socket, server: ScriptedServer) -> None:
        while read_http_request(conn):
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            trickle(conn, server, head + body, interval)
    return script


def endless_http(conn: socket.socket, server: ScriptedServer) -> None:
    """An HTTP peer that answers 200 with a body that never ends, as fast as the client reads it."""
    if not read_http_request(conn):
        return
    server.write(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    block = b'{"errcode": 0, "errmsg": "' + b"x" * 65536
    while not server.closed.is_set():
        server.write(conn, block)


def trickling_smtp(interval: float):
    """An SMTP peer whose every reply (the greeting too) comes one byte every ``interval`` seconds."""
    def script(conn: socket.socket, server: ScriptedServer) -> None:
        reader = conn.makefile("rb")
        trickle(conn, server, b"220 slow.test ESMTP\r\n", interval)
        while line := reader.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                trickle(conn, server, b"354 go ahead\r\n", interval)
                while (data := reader.readline()) and data != b".\r\n":
                    pass
                trickle(conn, server, b"250 ok\r\n", interval)
            elif verb == b"QUIT":
                trickle(conn, server, b"221 bye\r\n", interval)
                return
            else:
                trickle(conn, server, b"250 ok\r\n", interval)
    return script


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_port: int  # one value per TCP connection: shows whether a session was reused

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)  # dict/list -> JSON; bytes as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (a slow or hung server)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so session reuse can be measured
    disable_nagle_algorithm = True  # headers and body go out in two writes; avoid the 40 ms delayed-ACK stall

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        parts = urlsplit(self.path)
        request = Request("POST", parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                          dict(self.headers.items()), self.rfile.read(length), self.client_address[1])
        self.server.owner.requests.append(request)
        reply = self.server.owner.answer(request)
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        with contextlib.suppress(OSError):  # the client may have given up (timeout test)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass  # keep test output clean


class HttpServer:
    """A threading HTTP server on loopback; ``routes`` maps a path to ``app(request) -> Reply``.

    Every request is recorded in ``requests`` (also those to unknown paths, answered 404).
    """

    def __init__(self, host: str = LOOPBACK):
        self.requests: list[Request] = []
        self.routes: dict[str, object] = {}
        self.httpd = ThreadingHTTPServer((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.owner = self
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answer(self, request: Request) -> Reply:
        app = self.routes.get(request.path)
        return app(request) if app else Reply(404, {"error": "no such path"})

    def received(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> "HttpServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- fake robots: verify like the real services, answer like them -------------------------------


def dingtalk_robot(secret: str | None, max_skew_ms: int = 3_600_000):
    """DingTalk: with 加签, ``sign`` = urlencoded base64(HMAC-SHA256(secret, ts + "\\n" + secret))."""
    def app(request: Request) -> Reply:
        if secret:
            ts, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
            expected = base64.b64encode(
                hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
            # parse_qs already url-decoded ``sign`` once; the channel must have encoded it exactly once.
            fresh = ts.isdigit() and abs(int(ts) - time.time() * 1000) < max_skew_ms
            if not (fresh and hmac.compare_digest(sign, expected)):
                return Reply(200, {"errcode": 310000, "errmsg": "sign not match"})
        payload = request.json()
        if payload.get("msgtype") != "markdown" or not payload["markdown"].get("text"):
            return Reply(200, {"errcode": 40035, "errmsg": "缺少参数 markdown"})
        return Reply(200, {"errcode": 0, "errmsg": "ok"})
    return app


def feishu_robot(secret: str | None):
    """Feishu: body ``sign`` = base64(HMAC-SHA256(key=ts + "\\n" + secret, msg=b"")), ts in seconds."""
    def app(request: Request) -> Reply:
        payload = request.json()
        if secret:
            ts = str(payload.get("timestamp", ""))
            key = f"{ts}\n{secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = ts.isdigit() and abs(int(ts) - time.time()) < 3600
            if not (fresh and hmac.compare_digest(str(payload.get("sign", "")), expected)):
                return Reply(200, {"code": 19021, "data": {}, "msg": "sign match fail or timestamp is not "
                                                                    "within one hour from current time"})
        if payload.get("msg_type") not in ("text", "post", "interactive"):
            return Reply(200, {"code": 19002, "msg": "params error, msg_type need"})
        return Reply(200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"})
    return app


def wecom_robot():
    def app(request: Request) -> Reply:
        payload = request.json()
        content = payload.get("markdown", {}).get("content", "")
        if len(content.encode()) > 4096:
            return Reply(200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
        return Reply(200, {"errcode": 0, "errmsg": "ok"})
    return app


def generic_receiver(secret: str | None):
    """A generic webhook receiver that checks ``X-Reminder-Signature`` over the raw body."""
    def app(request: Request) -> Reply:
        if secret:
            expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("X-Reminder-Signature", ""), expected):
                return Reply(401, {"error": "bad signature"})
        return Reply(200, {"ok": True})
    return app

