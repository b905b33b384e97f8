"""Email over SMTP, and the MIME builder that the file channel shares.

One connection carries every message of a delivery pass (opening one per message costs a TLS handshake
and a login each, and mail servers throttle clients that reconnect in a loop): it is opened by the first
``send`` and kept until ``close``. Each message gets a Message-ID derived from its idempotency key, so a
receiver, or a person, can recognise a repeat sent after a crash.

``smtp.timeout`` is a total deadline (``reminder.channels.deadline``): opening the connection (connect,
TLS, login) gets that long in all, and so does each message, however the server trickles its replies.
Whether the receiver may have a message that failed is known from where it failed: only a failure
after the data went out (the DATA command) leaves that open.

Addresses with characters outside ASCII (财政局@example.cn) need the server's SMTPUTF8 extension; the
config accepts them only with ``smtp.smtputf8 = true``, and a server without the extension refuses
them for good.

The settings come from ``[smtp]`` as ``SmtpConfig``, validated when the config loads; the channel trusts
them.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import localtime, parseaddr
from typing import TYPE_CHECKING, ClassVar

from ..errors import DeliveryError
from ..model import Message
from .deadline import Deadline

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..config import SmtpConfig


def _address_header(addresses: Sequence[str]) -> list[Address] | str:
    """Addresses as a header value. An internationalised address (SMTPUTF8) is set as text: ``Address``
    refuses a non-ASCII local part, and smtplib sends the header as UTF-8 to a server that offers SMTPUTF8."""
    if all(address.isascii() for address in addresses):
        return [parse_address(address) for address in addresses]
    return ", ".join(addresses)


def message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt of one notice, so repeats can be dropped.

    The key is hashed because it may hold Chinese unit names and characters not allowed in a msg-id.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<reminder.{digest}@{domain or 'localhost'}>"


def parse_address(text: str) -> Address:
    """``区财政局 <czj@example.cn>`` or a bare address -> an ``Address`` the email package encodes.

    ``Address`` with a non-ASCII display name is written as an RFC 2047 encoded-word in UTF-8, which
    is what Chinese mail clients expect; hand-formatting the header would get this wrong.
    """
    name, addr = parseaddr(text)
    if "@" not in addr:
        raise DeliveryError(f"not an email address: {text!r}; write it as name@domain", permanent=True)
    return Address(display_name=name, addr_spec=addr)


def build_email(message: Message, from_addr: str, from_name: str | None = None, date=None,
                cte: str = "base64") -> EmailMessage:
    """The MIME message for ``message``: plain text, plus an HTML alternative when there is one.

    ``date`` defaults to now in local time; the file channel and SMTP share this so an .eml on disk has
    the headers and parts that would have been sent. ``cte`` is the bodies' transfer encoding: base64 for
    SMTP (7-bit clean for any relay, whether it offers 8BITMIME or not, and shorter than
    quoted-printable for Chinese text; the reader's mail client decodes it, so nobody sees it), "8bit"
    for the file channel, whose .eml a person also reads with ``cat`` or ``less``.
    """
    email = EmailMessage(policy=SMTP_POLICY)
    sender = Address(display_name=from_name or "", addr_spec=from_addr)
    email["From"] = sender
    if message.to:  # the file channel, as the fallback for units without contacts, has none
        email["To"] = _address_header(message.to)
    if message.reply_to:  # a unit's reply reaches the office, not the sending mailbox
        email["Reply-To"] = _address_header(message.reply_to)
    email["Subject"] = message.subject
    email["Date"] = date or localtime()
    email["Message-ID"] = message_id(message.key, sender.domain)
    email.set_content(message.text, charset="utf-8", cte=cte)
    if message.html:
        email.add_alternative(message.html, subtype="html", charset="utf-8", cte=cte)
    return email


def _is_transient_code(code: int) -> bool:
    """SMTP's own rule: 4xx is "try again later", 5xx is final."""
    return 400 <= code < 500


def _response_text(err: smtplib.SMTPResponseException) -> str:
    raw = err.smtp_error
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


class SmtpChannel:
    """Email through one SMTP server, STARTTLS or implicit TLS or plain, with optional login.

    ``smtp.cafile`` names extra CA certificates for intranet servers signed by an office's own CA.
    """

    kind: ClassVar[str] = "smtp"
    max_message_bytes: ClassVar[int | None] = None
    messages_per_minute: ClassVar[int | None] = None
    messages_per_second: ClassVar[int | None] = None

    def __init__(self, settings: SmtpConfig):
        if settings.host is None or settings.from_addr is None:
            raise DeliveryError("email is not configured ([smtp] host and from_addr); cannot send", permanent=True)
        self.host = settings.host
        self.port = settings.port
        self.from_addr = settings.from_addr
        self.from_name = settings.from_name
        self.security = settings.security
        self.username = settings.username
        self._password = settings.password.reveal() if settings.password else None
        self.timeout = settings.timeout
        self.cafile = str(settings.cafile) if settings.cafile else None
        self._conn: _Smtp | None = None

    def __repr__(self) -> str:
        # Never show the password, even in a debugger or a log line that prints the object.
        return f"SmtpChannel({self.host}:{self.port}, security={self.security}, username={self.username!r})"

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def send(self, message: Message) -> None:
        """Send one message on the open connection (opening it first if needed), within ``timeout`` in
        all; raise DeliveryError, classified, when the server does not take it. A lost connection is
        reopened by the next send."""
        if not message.to:
            raise DeliveryError(f"message {message.key!r} has no email address to send to; "
                                "add one to the unit's contacts", permanent=True)
        email = build_email(message, self.from_addr, self.from_name)
        conn = self._connection()
        with Deadline(self.timeout) as deadline:
            deadline.watch(conn)
            conn.in_data = False
            try:
                refused = conn.send_message(email)
            except OSError as err:  # smtplib's errors are OSErrors too
                raise self._send_error(err, conn, deadline.expired) from None
        if refused:
            raise self._refused(refused, delivered_to_others=True)

    def _send_error(self, err: OSError, conn: _Smtp, expired: bool) -> DeliveryError:
        """Classify a failure while sending one message. The receiver may have it only when the failure
        came after the data went out (a server that dropped the line or went quiet after DATA)."""
        sent = conn.in_data
        if expired or _timed_out(err):  # the deadline, or the socket's own timeout just before it
            self._drop()
            return DeliveryError(f"{self.where}: no answer within {self.timeout} s while sending; will retry",
                                 maybe_delivered=sent, no_answer=True)
        if isinstance(err, smtplib.SMTPRecipientsRefused):
            return self._refused(err.recipients, delivered_to_others=False)
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"{self.where} does not offer SMTPUTF8, which an address with characters "
                                 "outside ASCII needs; use an ASCII address for the unit", permanent=True)
        if isinstance(err, smtplib.SMTPServerDisconnected):
            self._conn = None  # reopen for the next message
            return DeliveryError(f"{self.where} closed the connection while sending; will retry",
                                 maybe_delivered=sent)
        if isinstance(err, smtplib.SMTPResponseException):
            self._reset_after(err)
            return DeliveryError(f"{self.where} answered {err.smtp_code} {_response_text(err)}",
                                 permanent=not _is_transient_code(err.smtp_code))
        self._drop()
        return DeliveryError(f"{self.where}: connection failed while sending ({type(err).__name__}); "
                             "will retry", maybe_delivered=sent)

    def close(self) -> None:
        """Say QUIT politely; a server that is already gone is not an error here."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _connection(self) -> _Smtp:
        """The open connection, opening and logging in on first use (or after a drop), within ``timeout``
        in all. A failure to connect, secure or log in raises DeliveryError with ``unreachable`` set:
        nothing was sent."""
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> _Smtp:
        conn: _Smtp = _SmtpSsl(context=self._tls_context(), timeout=self.timeout) if self.security == "ssl" \
            else _Smtp(timeout=self.timeout)
        conn._host = self.host  # type: ignore[attr-defined]  # what TLS checks the certificate against; set by the constructor's connect
        with Deadline(self.timeout) as deadline:
            deadline.watch(conn)
            try:
                conn.connect(self.host, self.port)
                if self.security == "starttls":
                    conn.starttls(context=self._tls_context())
                if self.username:
                    conn.login(self.username, self._password or "")
            except OSError as err:  # smtplib's and ssl's errors are all OSErrors
                conn.close()
                if deadline.expired:
                    raise self._no_answer() from None
                raise self._connection_error(err) from None
        if deadline.expired:  # a reply cut off at the deadline can read as a whole one ("220 sl")
            conn.close()
            raise self._no_answer()
        return conn

    def _no_answer(self) -> DeliveryError:
        return DeliveryError(f"{self.where}: no answer within {self.timeout} s; will retry", unreachable=True)

    def _connection_error(self, err: Exception) -> DeliveryError:
        """Classify a failure to connect, secure or log in. Messages name the server, never the password."""
        if isinstance(err, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{self.where} refused the login for user {self.username!r} "
                f"({err.smtp_code}); check smtp.username and the password",
                permanent=not _is_transient_code(err.smtp_code), unreachable=True)  # 454: temporary
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return self._not_supported_error(err)
        if isinstance(err, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{self.where}: TLS certificate not trusted ({err.verify_message}); "
                "set smtp.cafile to the office CA or fix the server certificate", permanent=True, unreachable=True)
        if isinstance(err, smtplib.SMTPResponseException):
            return DeliveryError(f"{self.where} answered {err.smtp_code} {_response_text(err)}",
                                 permanent=not _is_transient_code(err.smtp_code), unreachable=True)
        if _timed_out(err):
            return DeliveryError(f"{self.where}: no answer within {self.timeout} s; will retry", unreachable=True)
        return DeliveryError(f"{self.where}: cannot connect ({type(err).__name__}: {err}); will retry",
                             unreachable=True)

    def _not_supported_error(self, err: smtplib.SMTPNotSupportedError) -> DeliveryError:
        """The server lacks STARTTLS or AUTH: a config mismatch that retrying cannot fix."""
        if "AUTH" in str(err):
            return DeliveryError(f"{self.where} does not offer login (AUTH); remove smtp.username "
                                 "or use the server's submission port", permanent=True, unreachable=True)
        return DeliveryError(f"{self.where} does not offer STARTTLS; set smtp.security to match "
                             "the server (ssl for port 465, none for a trusted local relay)", permanent=True,
                             unreachable=True)

    def _refused(self, refused: dict, delivered_to_others: bool) -> DeliveryError:
        """Refused recipients: transient only when every refusal was a 4xx (mailbox busy, greylisting).

        A 5xx for any address means the address is wrong; retrying would only repeat the message to the
        recipients that did accept it, so that is permanent and the digest shows it to a person.
        """
        parts = [f"{addr} ({code} {_as_text(text)})" for addr, (code, text) in refused.items()]
        transient = all(_is_transient_code(code) for code, _ in refused.values())
        note = "; delivered to the other recipients" if delivered_to_others else ""
        fix = "will retry" if transient else "fix the address in the unit directory"
        return DeliveryError(f"{self.where} refused {', '.join(parts)}{note}; {fix}", permanent=not transient)

    def _reset_after(self, err: smtplib.SMTPResponseException) -> None:
        """After a refused transaction, RSET so the next message starts clean; 421 means the server left."""
        if err.smtp_code == 421 or self._conn is None:
            self._drop()
            return
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class _Smtp(smtplib.SMTP):
    """``smtplib.SMTP`` that shows its plain socket (``raw_sock``) to a ``Deadline`` as soon as it exists,
    and notes when the message data starts going out (``in_data``): from then on a failure leaves the
    receiver possibly holding the message."""

    raw_sock: socket.socket | None = None
    in_data = False

    def _get_socket(self, host, port, timeout):
        self.raw_sock = super()._get_socket(host, port, timeout)
        return self.raw_sock

    def data(self, msg):
        self.in_data = True
        return super().data(msg)


class _SmtpSsl(smtplib.SMTP_SSL, _Smtp):
    """Implicit TLS; ``_Smtp._get_socket`` runs under ``SMTP_SSL``'s, so the socket under TLS is seen."""


def _timed_out(err: BaseException) -> bool:
    """True for a timeout, also when smtplib wrapped it as "Connection unexpectedly closed: timed out"."""
    return isinstance(err, TimeoutError) or isinstance(err.__context__, TimeoutError)


def _as_text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
