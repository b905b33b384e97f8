"""TOML config -> frozen ``Config``, validated on load.

Every problem raises ``ConfigError`` naming the dotted key (``smtp.port``, ``units[2].emails``,
index from 0) and saying how to fix it, so a bad config stops start-up instead of a reminder
going astray weeks later. ``config.example.toml`` documents every key (a test checks it).

Secrets (the SMTP password, webhook signing secrets, optionally webhook URLs, which carry an
access token) never live in the file: the config names an environment variable (``password_env``,
``secret_env``, ``url_env``) and the value is read from the environment at load. Secret values are
wrapped in ``Secret`` so repr/str show ``***``; no message here ever contains one.

Relative paths (``database``, ``templates``, ``file.dir``) are relative to the config file's
folder, so a service started from another working directory finds the same files.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reminder.directory import (
    WEBHOOK_TIMEOUT,
    Directory,
    DirectoryConflict,
    UnitConfig,
    WebhookConfig,
    redact_url,
)
from reminder.errors import ConfigError
from reminder.model import MonthDay, Policy, Secret

if TYPE_CHECKING:
    from reminder.planner import DueDates
    from reminder.workdays import Calendar

CONFIG_ENV = "REMINDER_CONFIG"          # names the config file when --config is not given
DEFAULT_CONFIG = Path("config.toml")   # read from the working directory if it exists
SECURITIES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
WEBHOOK_KINDS = ("dingtalk", "wecom", "feishu", "generic")
UNSIGNED_WEBHOOKS = ("wecom",)          # WeCom group robots have no signing secret
FALLBACK_CHANNELS = ("file",)           # channels that need no per-unit contact
YEAR_END = "year_end"                   # policy.default_due: 12-31 of the plan year
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # a plain-text SMTP login is allowed only to these

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_MMDD = re.compile(r"(\d{2})-(\d{2})\Z")


class _Invalid(ConfigError):
    """A ConfigError that keeps its message apart from the key, so callers can re-frame it."""

    def __init__(self, message: str, key: str | None):
        self.detail = message
        super().__init__(message, key)


# ---------------------------------------------------------------------------------------------
# The values


@dataclass(frozen=True)
class OfficeConfig:
    """The open-government office: receives the digest and escalations."""

    name: str = "政务公开办"
    emails: tuple[str, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    phone: str | None = None  # closes every notice with the office's contact, beside its emails


@dataclass(frozen=True)
class SmtpConfig:
    """Outgoing mail; ``host`` None means email is not configured."""

    host: str | None = None
    port: int = DEFAULT_PORTS["starttls"]
    security: str = "starttls"
    username: str | None = None
    password: Secret | None = field(default=None, metadata={"toml": ("password_env",)})
    from_addr: str | None = None
    from_name: str | None = None
    timeout: float = 30.0       # a total deadline: to connect and log in, and again for each message
    cafile: Path | None = None  # extra CA certificates, for a server signed by the office's own CA
    smtputf8: bool = False      # the server offers SMTPUTF8: addresses may hold characters outside ASCII

    @property
    def configured(self) -> bool:
        return self.host is not None


@dataclass(frozen=True)
class FileConfig:
    """The file channel: one .eml per message in ``dir`` (no server needed)."""

    dir: Path = Path("outbox")


@dataclass(frozen=True)
class CalendarConfig:
    """Overrides for the working-day calendar (a year the library does not know yet, local days)."""

    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``source`` is the file it came from (None for built-in defaults)."""

    database: Path = Path("reminder.db")
    digest_hour: int = 16
    templates: Path | None = None
    fallback_channel: str | None = None
    retention_days: int | None = None  # drop the bodies of sent messages this old; None: keep them
    policy: Policy = field(default_factory=Policy)
    office: OfficeConfig = OfficeConfig()
    smtp: SmtpConfig = SmtpConfig()
    file: FileConfig = FileConfig()
    units: tuple[UnitConfig, ...] = ()
    calendar: CalendarConfig = CalendarConfig()
    web: WebConfig | None = None  # None: no [web] section, `reminder run` serves no web app
    source: Path | None = field(default=None, compare=False, metadata={"toml": ()})

    @property
    def timezone(self) -> str:
        """The office's IANA time zone (``timezone``); the policy holds it, with ``send_hour``."""
        return self.policy.timezone

    @property
    def send_hour(self) -> int:
        return self.policy.send_hour

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def directory(self) -> Directory:
        """The unit directory built from ``units`` (validated at load, so this cannot fail)."""
        return Directory(self.units)

    def working_calendar(self) -> Calendar:
        """A ``reminder.workdays.Calendar`` with this config's overrides."""
        from reminder.workdays import Calendar

        return Calendar.from_config(self.calendar)

    def due_dates(self) -> DueDates:
        """The rule that gives every task its effective due date, with this config's policy and calendar."""
        from reminder.planner import DueDates

        return DueDates(self.policy, self.working_calendar())


def default_config() -> Config:
    """What runs with no config file: SQLite in the working folder, notices as files in ./outbox."""
    return Config(fallback_channel="file")


# ---------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the config: ``path``, else $REMINDER_CONFIG, else ./config.toml.

    Only the implicit ./config.toml may be missing (then the defaults apply, so a newcomer can
    run without writing a config); a file someone named explicitly must exist.
    """
    file = _locate(path, env)
    if file is None:
        return default_config()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read config file {file}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {file} is not UTF-8; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {file} is not valid TOML: {err}") from None
    except RecursionError:
        raise ConfigError(f"config file {file} nests tables or arrays far deeper than a reminder config "
                          "(a few levels); it is not a reminder config, or it is damaged") from None
    try:
        return parse_config(data, env, base_dir=file.parent, source=file)
    except _Invalid as err:
        raise ConfigError(f"{err.detail} (in {file})", err.key) from None


def _locate(path: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The config file to read, or None to use the defaults."""
    if path is not None:
        named, how = Path(path), "--config"
    elif env.get(CONFIG_ENV):
        named, how = Path(env[CONFIG_ENV]), f"${CONFIG_ENV}"
    else:
        return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None
    if not named.is_file():
        raise ConfigError(
            f"config file {named} (given by {how}) does not exist; "
            f"copy config.example.toml there or point {how} at an existing file"
        )
    return named


def parse_config(
    data: Mapping[str, Any],
    env: Mapping[str, str] = os.environ,
    base_dir: Path = Path("."),
    source: Path | None = None,
) -> Config:
    """Validate an already-parsed TOML document; raises ConfigError naming the key."""
    top = _Table(data, "")
    path = _path(base_dir)
    database = top.take("database", path, base_dir / "reminder.db")
    timezone = top.take("timezone", _timezone, "Asia/Shanghai")
    send_hour = top.take("send_hour", _int(0, 23), 9)
    send_until_hour = top.take("send_until_hour", _int(1, 24), None)
    digest_hour = top.take("digest_hour", _int(0, 23), 16)
    _check_sending_window(send_hour, send_until_hour, digest_hour)
    cfg = Config(
        database=database,
        digest_hour=digest_hour,
        templates=top.take("templates", _existing(base_dir, "folder"), None),
        fallback_channel=top.take("fallback_channel", _choice(FALLBACK_CHANNELS), None),
        retention_days=top.take("retention_days", _int(30, 36500), None),
        policy=_policy(top.table("policy"), send_hour, timezone, send_until_hour),
        office=_office(top.table("office"), env),
        smtp=_smtp(top.table("smtp"), env, base_dir),
        file=FileConfig(dir=_file_dir(top.table("file"), path, base_dir)),
        units=_units(top.take("units", _list(_table_value), ()), env),
        calendar=_calendar(top.table("calendar")),
        web=_web(top, env, base_dir),
        source=source,
    )
    top.finish()
    _check_addresses(cfg)
    return cfg


# ---------------------------------------------------------------------------------------------
# Sections


def _check_sending_window(send_hour: int, send_until_hour: int | None, digest_hour: int) -> None:
    """Notices and the digest go out on working days from send_hour, before send_until_hour: the window
    must be open, and the digest's hour inside it (else it would never go out)."""
    if send_until_hour is not None and send_until_hour <= send_hour:
        raise _Invalid(f"must be later than send_hour ({send_hour}), got {send_until_hour}", "send_until_hour")
    if digest_hour < send_hour or (send_until_hour is not None and digest_hour >= send_until_hour):
        until = f" and before send_until_hour ({send_until_hour})" if send_until_hour is not None else ""
        raise _Invalid(f"the digest goes out only in the sending window: set it from send_hour ({send_hour})"
                       f"{until}, got {digest_hour}", "digest_hour")


def _policy(t: _Table, send_hour: int, timezone: str, send_until_hour: int | None = None) -> Policy:
    days = t.take("remind_days_before", _list(_int(1, 3660)), (30, 7, 1))
    policy = Policy(
        remind_days_before=tuple(sorted(set(days), reverse=True)),
        overdue_repeat_days=t.take("overdue_repeat_days", _int(1, 366), 7),
        escalate_after_days=t.take("escalate_after_days", _int(0, 3660), 14),
        checkin_every_days=t.take("checkin_every_days", _int(1, 366), 30),
        checkin_grace_days=t.take("checkin_grace_days", _int(0, 366), 14),
        default_due=t.take("default_due", _default_due, (12, 31)),
        max_attempts=t.take("max_attempts", _int(1, 100), 6),
        retry_base_seconds=t.take("retry_base_seconds", _int(1, 86400), 60),
        max_unknown_attempts=t.take("max_unknown_attempts", _int(1, 100), 3),
        max_retry_after_seconds=t.take("max_retry_after_seconds", _int(60, 30 * 86400), 86400),
        yellow_within_days=t.take("yellow_within_days", _int(0, 366), 7),
        send_hour=send_hour,
        send_until_hour=send_until_hour,
        timezone=timezone,
    )
    t.finish()
    return policy


def _office(t: _Table, env: Mapping[str, str]) -> OfficeConfig:
    office = OfficeConfig(
        name=t.take("name", _header_text, "政务公开办"),
        emails=t.take("emails", _list(_email), ()),
        webhooks=_webhooks(t, env),
        phone=t.take("phone", _str, None),
    )
    t.finish()
    return office


def _smtp(t: _Table, env: Mapping[str, str], base_dir: Path) -> SmtpConfig:
    security = t.take("security", _choice(SECURITIES), "starttls")
    smtp = SmtpConfig(
        host=t.take("host", _str, None),
        port=t.take("port", _int(1, 65535), DEFAULT_PORTS[security]),
        security=security,
        username=t.take("username", _str, None),
        password=_secret(t, "password_env", env, "the SMTP password"),
        from_addr=t.take("from_addr", _email, None),
        from_name=t.take("from_name", _header_text, None),
        timeout=t.take("timeout", _number(1, 600), 30.0),
        cafile=t.take("cafile", _existing(base_dir, "file"), None),
        smtputf8=t.take("smtputf8", _bool, False),
    )
    t.finish(forbidden={"password": "password_env"})
    _check_smtp(smtp, t)
    return smtp


def _check_smtp(smtp: SmtpConfig, t: _Table) -> None:
    """Pairs of keys that only make sense together."""
    if smtp.username and smtp.password is None:
        raise _Invalid("is required when smtp.username is set (the NAME of the env var "
                       "holding the password)", t.key("password_env"))
    if smtp.password is not None and not smtp.username:
        raise _Invalid("is required when smtp.password_env is set", t.key("username"))
    if smtp.host and not smtp.from_addr:
        raise _Invalid("is required when smtp.host is set (the sender address, "
                       "e.g. gwgk@example.gov.cn)", t.key("from_addr"))
    if smtp.username and smtp.security == "none" and smtp.host not in LOOPBACK_HOSTS:
        raise _Invalid("logging in without TLS would send the password in clear to "
                       f"{smtp.host}; use starttls or ssl", t.key("security"))


def _check_addresses(cfg: Config) -> None:
    """Addresses with characters outside ASCII (财政局@example.cn) can be sent only with SMTPUTF8: refuse
    them unless ``smtp.smtputf8`` says the server offers it, instead of failing every message to them."""
    if cfg.smtp.smtputf8:
        return
    named = [("smtp.from_addr", cfg.smtp.from_addr or "")]
    named += [(f"office.emails[{i}]", a) for i, a in enumerate(cfg.office.emails)]
    named += [(f"units[{u}].emails[{i}]", a) for u, unit in enumerate(cfg.units) for i, a in enumerate(unit.emails)]
    for key, address in named:
        if not address.isascii():
            raise _Invalid(f"{address!r} has characters outside ASCII, which only a mail server with SMTPUTF8 "
                           "accepts; use an ASCII address, or set smtp.smtputf8 = true if the server offers "
                           "SMTPUTF8", key)


def _file_dir(t: _Table, path: Callable, base_dir: Path) -> Path:
    folder = t.take("dir", path, base_dir / "outbox")
    t.finish()
    return folder


def _calendar(t: _Table) -> CalendarConfig:
    cal = CalendarConfig(
        extra_holidays=t.take("extra_holidays", _list(_date), ()),
        extra_workdays=t.take("extra_workdays", _list(_date), ()),
    )
    t.finish()
    both = sorted(set(cal.extra_holidays) & set(cal.extra_workdays))
    if both:
        raise _Invalid(f"{both[0].isoformat()} is also in calendar.extra_holidays; "
                       "a day is either a holiday or a workday", t.key("extra_workdays"))
    return cal


def _units(tables: tuple[dict, ...], env: Mapping[str, str]) -> tuple[UnitConfig, ...]:
    units = tuple(parse_unit(raw, f"units[{i}]", env) for i, raw in enumerate(tables))
    try:
        Directory(units)
    except DirectoryConflict as err:
        raise _Invalid(str(err), f"units[{err.index}].{err.field}") from None
    return units


def parse_unit(raw: Mapping[str, Any], key: str, env: Mapping[str, str] = os.environ) -> UnitConfig:
    """One ``[[units]]`` table; ``key`` (``units[3]``) prefixes the keys in messages."""
    t = _Table(raw, key)
    unit = UnitConfig(
        name=t.take("name", _str),
        aliases=t.take("aliases", _list(_str), ()),
        emails=t.take("emails", _list(_email), ()),
        webhooks=_webhooks(t, env),
        members=t.take("members", _list(_str), ()),
    )
    t.finish()
    return unit


def _webhooks(t: _Table, env: Mapping[str, str]) -> tuple[WebhookConfig, ...]:
    tables = t.take("webhooks", _list(_table_value), ())
    return tuple(_webhook(_Table(raw, f"{t.key('webhooks')}[{i}]"), env)
                 for i, raw in enumerate(tables))


def _webhook(t: _Table, env: Mapping[str, str]) -> WebhookConfig:
    kind = t.take("kind", _choice(WEBHOOK_KINDS))
    if kind in UNSIGNED_WEBHOOKS and t.has("secret_env"):
        raise _Invalid(f"{kind} robots do not sign requests; remove it", t.key("secret_env"))
    url, url_env = _webhook_url(t, env)
    hook = WebhookConfig(kind=kind, url=url, url_env=url_env,
                         secret=_secret(t, "secret_env", env, "the signing secret"),
                         timeout=t.take("timeout", _number(1, 600), WEBHOOK_TIMEOUT))
    t.finish(forbidden={"secret": "secret_env"})
    return hook


def _webhook_url(t: _Table, env: Mapping[str, str]) -> tuple[str, str | None]:
    """(url, url_env): ``url`` in the file, or ``url_env`` naming a variable that holds it.

    The env form exists because a robot URL carries its access token.
    """
    if t.has("url") == t.has("url_env"):
        raise _Invalid("give exactly one of 'url' or 'url_env'", t.key("url"))
    if t.has("url"):
        return t.take("url", _url), None
    secret = _secret(t, "url_env", env, "the webhook URL")
    assert secret is not None  # url_env is present, so _secret read it or raised
    return _url(secret.reveal(), t.key("url_env")), secret.env


def _secret(t: _Table, name: str, env: Mapping[str, str], what: str) -> Secret | None:
    """Read the env var that ``t[name]`` names; a missing one names both key and variable."""
    var = t.take(name, _env_name, None)
    if var is None:
        return None
    value = env.get(var)
    if not value:
        state = "is empty" if var in env else "is not set"
        raise _Invalid(f"environment variable {var} {state}; it must hold {what}: "
                       f"set {var} in the service's environment", t.key(name))
    return Secret(var, value)


# ---------------------------------------------------------------------------------------------
# Reading tables and checking values. A checker takes (value, key) and returns the value to keep.


_REQUIRED = object()


class _Table:
    """A TOML table being read: each key is taken once, so whatever is left over is unknown."""

    def __init__(self, raw: Any, key: str):
        self._raw = dict(_table_value(raw, key))
        self._key = key
        self._known: list[str] = []

    def key(self, name: str) -> str:
        return f"{self._key}.{name}" if self._key else name

    def has(self, name: str) -> bool:
        return name in self._raw

    def take(self, name: str, check: Callable[[Any, str], Any], default: Any = _REQUIRED) -> Any:
        """The checked value of ``name``; missing -> ``default``, or an error if required."""
        self._known.append(name)
        if name not in self._raw:
            if default is _REQUIRED:
                raise _Invalid("is required", self.key(name))
            return default
        return check(self._raw.pop(name), self.key(name))

    def table(self, name: str) -> _Table:
        """A sub-table (missing -> empty, so its defaults are validated the same way)."""
        self._known.append(name)
        return _Table(self._raw.pop(name, {}), self.key(name))

    def finish(self, forbidden: Mapping[str, str] | None = None) -> None:
        """Reject leftover keys; ``forbidden`` maps a literal-secret key to its *_env twin."""
        for name in self._raw:
            if forbidden and name in forbidden:
                raise _Invalid(f"secrets may not be written in the config file; put the value in "
                               f"an environment variable and set {forbidden[name]} = \"ITS_NAME\"",
                               self.key(name))
            close = difflib.get_close_matches(name, self._known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(self._known)}"
            raise _Invalid(f"unknown key; {hint}", self.key(name))


def _kind(value: Any) -> str:
    """The TOML type of ``value`` for messages ('a string', 'an integer' …)."""
    if isinstance(value, bool):
        return "a boolean"
    for types, name in ((int, "an integer"), (float, "a float"), (str, "a string"),
                        (list, "an array"), (dict, "a table"), (datetime, "a date-time"),
                        (date, "a date")):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _table_value(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(f"must be a table, got {_kind(value)}", key)
    return value


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, got {_kind(value)}", key)
    if not value.strip():
        raise _Invalid("must not be empty", key)
    return value.strip()


def _header_text(value: Any, key: str) -> str:
    """Text that goes into a mail header (a sender's name, the office's name in subjects): a line break
    or another control character there would break the header, or add headers of its own."""
    text = _str(value, key)
    bad = next((c for c in text if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise _Invalid(f"must not contain a line break or control character (found {bad!r}); write it "
                       "on one line", key)
    return text


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, got {_kind(value)}", key)
    return value


def _int(low: int, high: int) -> Callable[[Any, str], int]:
    def check(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"must be an integer from {low} to {high}, got {_kind(value)}", key)
        if not low <= value <= high:
            raise _Invalid(f"must be from {low} to {high}, got {value}", key)
        return value
    return check


def _number(low: float, high: float) -> Callable[[Any, str], float]:
    def check(value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"must be a number of seconds, got {_kind(value)}", key)
        if not low <= value <= high:
            raise _Invalid(f"must be from {low} to {high}, got {value}", key)
        return float(value)
    return check


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, key: str) -> str:
        value = _str(value, key)
        if value not in options:
            raise _Invalid(f"must be one of {', '.join(repr(o) for o in options)}, got {value!r}", key)
        return value
    return check


def _list(item: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple]:
    def check(value: Any, key: str) -> tuple:
        if not isinstance(value, list):
            raise _Invalid(f"must be an array, got {_kind(value)}", key)
        return tuple(item(v, f"{key}[{i}]") for i, v in enumerate(value))
    return check


def _path(base_dir: Path) -> Callable[[Any, str], Path]:
    def check(value: Any, key: str) -> Path:
        return base_dir / Path(_str(value, key)).expanduser()
    return check


def _existing(base_dir: Path, what: str) -> Callable[[Any, str], Path]:
    """A path that must already exist as a ``what`` ("file": a certificate bundle; "folder": templates,
    which are read, not created)."""
    def check(value: Any, key: str) -> Path:
        path = _path(base_dir)(value, key)
        if not (path.is_file() if what == "file" else path.is_dir()):
            raise _Invalid(f"{what} {path} does not exist", key)
        return path
    return check


def _timezone(value: Any, key: str) -> str:
    name = _str(value, key)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai'",
                       key) from None
    return name


def _email(value: Any, key: str) -> str:
    address = _str(value, key)
    if not _EMAIL.match(address):
        raise _Invalid(f"{address!r} is not an email address (name@example.gov.cn)", key)
    return address


def _url(value: Any, key: str) -> str:
    url = _str(value, key)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid(f"must be an http(s) URL, got {redact_url(url)!r}", key)
    return url


def _env_name(value: Any, key: str) -> str:
    # The value is not echoed: someone may have pasted the secret itself here by mistake.
    name = _str(value, key)
    if not _ENV_NAME.match(name):
        raise _Invalid("must be the NAME of an environment variable (letters, digits, _), "
                       "not the secret itself", key)
    return name


def _date(value: Any, key: str) -> date:
    """A TOML date (2025-10-01) or the same as a string."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"must be a date written YYYY-MM-DD, got {value!r}", key)


def _default_due(value: Any, key: str) -> MonthDay:
    """'year_end' (12-31) or 'MM-DD' (a day that exists in every year, so not 02-29)."""
    text = _str(value, key)
    if text == YEAR_END:
        return (12, 31)
    found = _MMDD.match(text)
    try:
        if found:
            date(2001, int(found[1]), int(found[2]))
            return (int(found[1]), int(found[2]))
    except ValueError:
        pass
    raise _Invalid(f"must be 'year_end' or a month-day like '12-31', got {text!r}", key)


# ---------------------------------------------------------------------------------------------
# [web]: the units' pages and the office's board (reminder.web). Kept in one block, apart from
# the sections above, so that it reads (and merges) as one piece.

WEB_PORT = 8080
WEB_KEY_MIN_CHARS = 32   # a signing key from the environment: at least this long (256 bits as hex)


@dataclass(frozen=True, repr=False)
class WebUserConfig:
    """An office user who may log in to the board; ``password_hash`` from `reminder hash-password`."""

    name: str
    password_hash: str

    def __repr__(self) -> str:
        return f"WebUserConfig(name={self.name!r}, password_hash='***')"

    __str__ = __repr__


@dataclass(frozen=True)
class WebConfig:
    """The web app: where it listens, the address in links, how links and logins are guarded.

    The key that signs units' links and CSRF tokens comes from the environment variable named by
    ``secret_key_env`` when that is set, else from ``secret_key_file``, which is generated on first
    use (owner-only). Changing the key invalidates every link and session at once.
    """

    bind: str = "127.0.0.1"
    port: int = WEB_PORT
    base_url: str = f"http://127.0.0.1:{WEB_PORT}"   # what units and the office type or click
    link_days: int = 60                             # a unit's link opens for this long
    session_hours: int = 12                         # an office login lasts this long
    secret_key: Secret | None = field(default=None, metadata={"toml": ("secret_key_env",)})
    secret_key_file: Path = Path("web.key")
    trusted_proxy: str | None = None                # the proxy whose X-Forwarded-* headers count
    login_attempts: int = 5                         # failed logins allowed per address and user …
    login_window_minutes: int = 15                  # … within this many minutes
    max_upload_mb: int = 20
    files_dir: Path = Path("files")                 # uploaded files; downloads come only from here
    users: tuple[WebUserConfig, ...] = ()


def _web(top: _Table, env: Mapping[str, str], base_dir: Path) -> WebConfig | None:
    """The ``[web]`` section, or None when the config has none (the web app is then not served)."""
    present = top.has("web")
    t = top.table("web")
    if not present:
        return None
    path = _path(base_dir)
    bind = t.take("bind", _host, "127.0.0.1")
    port = t.take("port", _int(1, 65535), WEB_PORT)
    host = f"[{bind}]" if ":" in bind else bind
    web = WebConfig(
        bind=bind,
        port=port,
        base_url=t.take("base_url", _base_url, f"http://{host}:{port}"),
        link_days=t.take("link_days", _int(1, 366), 60),
        session_hours=t.take("session_hours", _int(1, 720), 12),
        secret_key=_web_key(t, env),
        secret_key_file=t.take("secret_key_file", path, base_dir / "web.key"),
        trusted_proxy=t.take("trusted_proxy", _ip_address, None),
        login_attempts=t.take("login_attempts", _int(1, 100), 5),
        login_window_minutes=t.take("login_window_minutes", _int(1, 1440), 15),
        max_upload_mb=t.take("max_upload_mb", _int(1, 1024), 20),
        files_dir=t.take("files_dir", path, base_dir / "files"),
        users=_web_users(t),
    )
    t.finish(forbidden={"secret_key": "secret_key_env"})
    return web


def _web_key(t: _Table, env: Mapping[str, str]) -> Secret | None:
    key = _secret(t, "secret_key_env", env, "the key that signs links")
    if key is not None and len(key.reveal()) < WEB_KEY_MIN_CHARS:
        raise _Invalid(f"environment variable {key.env} must hold at least {WEB_KEY_MIN_CHARS} characters "
                       f"(make one with: python3 -c 'import secrets; print(secrets.token_hex(32))')",
                       t.key("secret_key_env"))
    return key


def _web_users(t: _Table) -> tuple[WebUserConfig, ...]:
    tables = t.take("users", _list(_table_value), ())
    users = tuple(_web_user(_Table(raw, f"{t.key('users')}[{i}]")) for i, raw in enumerate(tables))
    seen: set[str] = set()
    for i, user in enumerate(users):
        if user.name in seen:
            raise _Invalid(f"user {user.name!r} is listed twice", f"{t.key('users')}[{i}].name")
        seen.add(user.name)
    return users


def _web_user(t: _Table) -> WebUserConfig:
    from reminder.web.passwords import BadHash, parse_hash

    if t.has("password"):
        # The value is not echoed: it is a password.
        raise _Invalid("passwords may not be written in the config; run `reminder hash-password` and "
                       "put what it prints in password_hash", t.key("password"))
    name = t.take("name", _str)
    if any(c.isspace() for c in name):
        raise _Invalid(f"a user name may not contain spaces, got {name!r}", t.key("name"))
    stored = t.take("password_hash", _str)
    try:
        parse_hash(stored)
    except BadHash as err:
        raise _Invalid(str(err), t.key("password_hash")) from None
    user = WebUserConfig(name=name, password_hash=stored)
    t.finish()
    return user


def _host(value: Any, key: str) -> str:
    """An address to listen on: an IP address or a host name, without a port."""
    text = _str(value, key)
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", text):
        raise _Invalid(f"must be an IP address or host name such as '127.0.0.1', got {text!r}", key)
    return text


def _ip_address(value: Any, key: str) -> str:
    text = _str(value, key)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _Invalid(f"must be the IP address of the reverse proxy (e.g. '127.0.0.1'), got {text!r}",
                       key) from None


def _base_url(value: Any, key: str) -> str:
    """The web app's public address: http(s), no query or fragment; kept without a trailing slash."""
    url = _str(value, key)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise _Invalid(f"must be the address units open, like 'https://gk.example.gov.cn/reminder', "
                       f"got {url!r}", key)
    return url.rstrip("/")
