"""Config loading: defaults, file resolution, validation naming keys, secrets, documentation."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from datetime import date
from pathlib import Path

import pytest

from reminder.config import (
    Config,
    load_config,
    parse_config,
)
from reminder.errors import ConfigError
from reminder.model import Policy, Secret

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"

# Values for every *_env variable the example names once its optional lines are switched on.
EXAMPLE_ENV = {
    "REMINDER_SMTP_PASSWORD": "smtp-pass-Zq81",
    "CZJ_DINGTALK_SECRET": "SECdingtalk-Zq82",
    "CZJ_FEISHU_URL": "https://open.feishu.cn/open-apis/bot/v2/hook/token-Zq83",
    "CZJ_FEISHU_SECRET": "feishu-secret-Zq84",
    "OFFICE_DINGTALK_URL": "https://oapi.dingtalk.com/robot/send?access_token=office-Zq85",
    "OFFICE_DINGTALK_SECRET": "SEC-office-Zq86",
    "REMINDER_WEB_KEY": "web-key-of-at-least-32-characters-Zq87",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict | None = None) -> Config:
    return load_config(write(tmp_path, text), env or {})


# ---------------------------------------------------------------------------------------------
# Finding the file


def test_no_config_file_gives_runnable_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, {})
    assert cfg.database == Path("reminder.db")
    assert cfg.fallback_channel == "file"
    assert cfg.file.dir == Path("outbox")
    assert cfg.timezone == "Asia/Shanghai" and cfg.send_hour == 9
    assert cfg.policy == Policy()
    assert cfg.source is None


def test_config_toml_in_the_working_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "send_hour = 8\n")
    assert load_config(None, {}).send_hour == 8


def test_env_var_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "elsewhere.toml"
    other.write_text("send_hour = 10\n", encoding="utf-8")
    assert load_config(None, {"REMINDER_CONFIG": str(other)}).send_hour == 10


def test_explicit_path_wins_over_env(tmp_path):
    path = write(tmp_path, "send_hour = 11\n")
    assert load_config(path, {"REMINDER_CONFIG": "/nonexistent.toml"}).send_hour == 11


@pytest.mark.parametrize("how", ["path", "env"])
def test_a_named_file_that_does_not_exist_is_an_error(tmp_path, how):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="nope.toml") as err:
        if how == "path":
            load_config(missing, {})
        else:
            load_config(None, {"REMINDER_CONFIG": str(missing)})
    assert ("REMINDER_CONFIG" in str(err.value)) == (how == "env")


def test_invalid_toml_names_the_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.toml.*line 2"):
        load(tmp_path, "send_hour = 9\nsend_hour = = 3\n")


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "tpl").mkdir()
    cfg = load(tmp_path, 'database = "data/r.db"\ntemplates = "tpl"\n[file]\ndir = "out"\n')
    assert cfg.database == tmp_path / "data" / "r.db"
    assert cfg.templates == tmp_path / "tpl"
    assert cfg.file.dir == tmp_path / "out"
    assert load(tmp_path, "").database == tmp_path / "reminder.db"


# ---------------------------------------------------------------------------------------------
# Validation: every problem names its dotted key

UNIT = '[[units]]\nname = "区财政局"\n'

BAD = [
    # (config text, key the error must name, fragment of the message)
    ("send_hour = 24", "send_hour", "from 0 to 23"),
    ('send_hour = "9"', "send_hour", "a string"),
    ("send_hour = true", "send_hour", "a boolean"),
    ("digest_hour = -1", "digest_hour", "from 0 to 23"),
    ('timezone = "Asia/Beijing"', "timezone", "Asia/Shanghai"),
    ('databse = "x.db"', "databse", "did you mean 'database'"),
    ("database = 3", "database", "must be a string"),
    ('fallback_channel = "sms"', "fallback_channel", "'file'"),
    ('templates = "no-such-folder"', "templates", "does not exist"),
    ("policy = 3", "policy", "must be a table"),
    ("[policy]\nremind_days_before = [30, 0]", "policy.remind_days_before[1]", "from 1"),
    ("[policy]\nremind_days_before = 7", "policy.remind_days_before", "an array"),
    ('[policy]\nremind_days_before = ["7"]', "policy.remind_days_before[0]", "integer"),
    ("[policy]\nmax_attemps = 3", "policy.max_attemps", "did you mean 'max_attempts'"),
    ("[policy]\nmax_attempts = 0", "policy.max_attempts", "from 1"),
    ("[policy]\noverdue_repeat_days = 1.5", "policy.overdue_repeat_days", "a float"),
    ('[policy]\ndefault_due = "02-30"', "policy.default_due", "year_end"),
    ('[policy]\ndefault_due = "年底"', "policy.default_due", "12-31"),
    ('[smtp]\nsecurity = "tls"', "smtp.security", "'starttls'"),
    ("[smtp]\nport = 70000", "smtp.port", "65535"),
    ('[smtp]\ncafile = "no-such-ca.pem"', "smtp.cafile", "does not exist"),
    ('[smtp]\ntimeout = "30s"', "smtp.timeout", "number"),
    ('[smtp]\nhost = "smtp.example.gov.cn"', "smtp.from_addr", "required"),
    ('[smtp]\nusername = "u"', "smtp.password_env", "required"),
    ('[smtp]\nfrom_addr = "nobody"', "smtp.from_addr", "email address"),
    ('[smtp]\npassword_env = "has space"', "smtp.password_env", "NAME of an environment"),
    ('[office]\nemails = ["not-an-email"]', "office.emails[0]", "email address"),
    ('[office]\nemails = "a@example.gov.cn"', "office.emails", "an array"),
    ('[office]\nname = ""', "office.name", "empty"),
    ('[office]\nwebhooks = [{kind = "sms", url = "https://x.cn/"}]', "office.webhooks[0].kind",
     "'dingtalk'"),
    ('[file]\ndir = 3', "file.dir", "string"),
    ('[calendar]\nextra_holidays = ["2021-13-01"]', "calendar.extra_holidays[0]", "YYYY-MM-DD"),
    ("[calendar]\nextra_holidays = [2021-10-08T09:00:00]", "calendar.extra_holidays[0]",
     "YYYY-MM-DD"),
    ("[calendar]\nextra_holidays = [2021-10-08]\nextra_workdays = [2021-10-08]",
     "calendar.extra_workdays", "2021-10-08"),
    ('units = { name = "x" }', "units", "an array"),
    ("[[units]]\naliases = [\"x\"]", "units[0].name", "required"),
    (UNIT + 'email = ["a@example.gov.cn"]', "units[0].email", "did you mean 'emails'"),
    (UNIT + "emails = [3]", "units[0].emails[0]", "must be a string"),
    (UNIT + 'webhooks = [{kind = "dingtalk"}]', "units[0].webhooks[0].url", "exactly one"),
    (UNIT + 'webhooks = [{kind = "dingtalk", url = "https://a.cn/", url_env = "U"}]',
     "units[0].webhooks[0].url", "exactly one"),
    (UNIT + 'webhooks = [{kind = "dingtalk", url = "ftp://a.cn/x"}]', "units[0].webhooks[0].url",
     "http(s) URL"),
    (UNIT + 'webhooks = [{url = "https://a.cn/"}]', "units[0].webhooks[0].kind", "required"),
    (UNIT + 'webhooks = [{kind = "wecom", url = "https://a.cn/", secret_env = "S"}]',
     "units[0].webhooks[0].secret_env", "do not sign"),
    (UNIT + 'webhooks = ["https://a.cn/"]', "units[0].webhooks[0]", "must be a table"),
    (UNIT + UNIT, "units[1].name", "already"),
    (UNIT + '[[units]]\nname = "区民政局"\naliases = ["区财政局"]', "units[1].aliases", "already"),
    (UNIT + 'members = ["区教育局"]', "units[0].members", "区教育局"),
    ('[[units]]\nname = "甲组"\nmembers = ["乙组"]\n[[units]]\nname = "乙组"\nmembers = ["甲组"]',
     "units[0].members", "contains itself"),
]


@pytest.mark.parametrize("text, key, fragment", BAD, ids=[b[1] for b in BAD])
def test_bad_config_names_the_key(tmp_path, text, key, fragment):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text + "\n")
    assert err.value.key == key
    assert f"'{key}'" in str(err.value)
    assert fragment in str(err.value)
    assert str(tmp_path / "config.toml") in str(err.value)


def test_parse_config_raises_config_error_without_a_file():
    with pytest.raises(ConfigError) as err:
        parse_config({"send_hour": 25}, {})
    assert err.value.key == "send_hour"


# ---------------------------------------------------------------------------------------------
# Secrets

SMTP = """
[smtp]
host = "smtp.example.gov.cn"
username = "gwgk@example.gov.cn"
password_env = "REMINDER_SMTP_PASSWORD"
from_addr = "gwgk@example.gov.cn"
"""

HOOK = UNIT + """webhooks = [
  { kind = "dingtalk", url = "https://oapi.dingtalk.com/robot/send?access_token=tok-Zq90", secret_env = "DING_SECRET" },
  { kind = "feishu", url_env = "FEISHU_URL" },
]
"""
SECRET_VALUES = {
    "REMINDER_SMTP_PASSWORD": "pw-Zq91",
    "DING_SECRET": "ding-Zq92",
    "FEISHU_URL": "https://open.feishu.cn/open-apis/bot/v2/hook/tok-Zq93",
}


def test_secrets_are_read_from_the_environment(tmp_path):
    cfg = load(tmp_path, SMTP + HOOK, SECRET_VALUES)
    assert cfg.smtp.password == Secret("REMINDER_SMTP_PASSWORD", "pw-Zq91")
    assert cfg.smtp.password.reveal() == "pw-Zq91"
    ding, feishu = cfg.units[0].webhooks
    assert ding.secret.reveal() == "ding-Zq92"
    assert feishu.url == SECRET_VALUES["FEISHU_URL"] and feishu.secret is None


def test_secrets_never_appear_in_repr_or_str(tmp_path):
    cfg = load(tmp_path, SMTP + HOOK, SECRET_VALUES)
    shown = repr(cfg) + str(cfg) + repr(cfg.units[0].webhooks) + str(cfg.smtp.password)
    for token in ("Zq90", "Zq91", "Zq92", "Zq93"):
        assert token not in shown
    assert "***" in shown and "REMINDER_SMTP_PASSWORD" in shown


@pytest.mark.parametrize(
    "missing, key",
    [
        ("REMINDER_SMTP_PASSWORD", "smtp.password_env"),
        ("DING_SECRET", "units[0].webhooks[0].secret_env"),
        ("FEISHU_URL", "units[0].webhooks[1].url_env"),
    ],
)
def test_a_missing_secret_names_key_and_variable(tmp_path, missing, key):
    env = {k: v for k, v in SECRET_VALUES.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load(tmp_path, SMTP + HOOK, env)
    assert err.value.key == key
    assert missing in str(err.value) and "not set" in str(err.value)
    assert not re.search("Zq9[0-3]", str(err.value))


def test_an_empty_secret_counts_as_missing(tmp_path):
    with pytest.raises(ConfigError, match="REMINDER_SMTP_PASSWORD is empty"):
        load(tmp_path, SMTP, {**SECRET_VALUES, "REMINDER_SMTP_PASSWORD": ""})


def test_a_literal_password_is_refused_without_echoing_it(tmp_path):
    text = '[smtp]\npassword = "hunter2-Zq94"\n'
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert err.value.key == "smtp.password"
    assert "password_env" in str(err.value) and "Zq94" not in str(err.value)


def test_a_literal_webhook_secret_is_refused(tmp_path):
    text = UNIT + 'webhooks = [{kind = "dingtalk", url = "https://a.cn/x", secret = "s-Zq95"}]\n'
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert err.value.key == "units[0].webhooks[0].secret"
    assert "secret_env" in str(err.value) and "Zq95" not in str(err.value)


def test_a_secret_pasted_into_an_env_key_is_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, '[smtp]\npassword_env = "p@ss-Zq96"\n')
    assert "Zq96" not in str(err.value)


def test_a_bad_webhook_url_is_shown_without_its_token(tmp_path):
    text = UNIT + 'webhooks = [{kind = "generic", url = "htp://hooks.example.cn/tok-Zq97"}]\n'
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert "Zq97" not in str(err.value)


# ---------------------------------------------------------------------------------------------
# Values


def test_values_are_normalised(tmp_path):
    cfg = load(tmp_path, """
[policy]
remind_days_before = [1, 30, 7, 7]
default_due = "11-30"
[smtp]
security = "ssl"
[calendar]
extra_holidays = [2027-02-05, "2027-02-06"]
extra_workdays = ["2027-02-20"]
""")
    assert cfg.policy.remind_days_before == (30, 7, 1)
    assert cfg.policy.default_due_date(2021) == date(2021, 11, 30)
    assert Policy().default_due_date(2021) == date(2021, 12, 31)
    assert cfg.smtp.port == 465
    assert cfg.calendar.extra_holidays == (date(2027, 2, 5), date(2027, 2, 6))
    cal = cfg.working_calendar()
    assert not cal.is_workday(date(2027, 2, 5)) and cal.is_workday(date(2027, 2, 20))


def test_config_gives_the_unit_directory(tmp_path):
    cfg = load_config(EXAMPLE, {})
    assert [u.name for u in cfg.directory.resolve("县直各部门")] == [
        "县财政局", "县政务服务数据管理局", "县民政局", "县农业农村局"]
    assert cfg.directory.lookup("财政局").name == "县财政局"


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().digest_hour = 3


# ---------------------------------------------------------------------------------------------
# Documentation is tested: the example loads, and names every key

# "# key = value", "#   { ... }," and "# ]" lines are optional settings in the example.
OPTIONAL_LINE = re.compile(r"^# ((?:[A-Za-z_]\w*) = .*| +\{.*\},?|\])$")


def example_with_everything_on() -> str:
    return "\n".join(OPTIONAL_LINE.sub(r"\1", line) for line in EXAMPLE.read_text("utf-8").splitlines())


def test_example_config_loads_as_shipped():
    cfg = load_config(EXAMPLE, {})
    assert cfg.fallback_channel == "file"  # a newcomer sees notices with no mail server
    assert cfg.units


def test_example_config_loads_with_every_option_on(tmp_path):
    data = tomllib.loads(example_with_everything_on())
    (tmp_path / data["templates"]).mkdir()  # the files the example names, beside it
    (tmp_path / data["smtp"]["cafile"]).write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    cfg = parse_config(data, EXAMPLE_ENV, base_dir=tmp_path)
    assert cfg.smtp.configured and cfg.smtp.password.reveal() == "smtp-pass-Zq81"
    assert cfg.smtp.cafile == tmp_path / "office-ca.pem"
    assert cfg.calendar.extra_workdays == (date(2027, 2, 20),)


def test_a_clear_text_login_to_a_remote_server_is_refused(tmp_path):
    """The one validator: the SMTP channel trusts what the config let through."""
    text = ('[smtp]\nhost = "mail.example.cn"\nsecurity = "none"\nusername = "gkb"\npassword_env = "PW"\n'
            'from_addr = "gkb@example.cn"\n')
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text, {"PW": "pw-Zq97"})
    assert err.value.key == "smtp.security" and "in clear" in str(err.value) and "Zq97" not in str(err.value)
    local = load(tmp_path, text.replace("mail.example.cn", "127.0.0.1"), {"PW": "pw-Zq97"})
    assert local.smtp.security == "none"  # a relay on this machine may take a plain login
