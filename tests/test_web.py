"""The web app's groundwork without a browser: links, keys, passwords, the [web] config, the store's
web block, uploads and downloads, sessions and headers over real HTTP (requests against waitress).
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from reminder import store
from reminder.cli import cli
from reminder.config import WebConfig, load_config, parse_config
from reminder.errors import ConfigError
from reminder.web import files as stored_files
from reminder.web.guard import LoginThrottle
from reminder.web.keys import derive, load_secret
from reminder.web.links import BadLink, LinkProblem, make_token, read_token
from reminder.web.passwords import BadHash, hash_password, parse_hash, verify_password
from tests.servers import free_port
from tests.websupport import (
    ENV,
    KEY,
    LOGIN_ATTEMPTS,
    PASSWORD,
    USER,
    hashed,
    serve_site,
)

NOW = datetime(2021, 6, 1, 1, 0, tzinfo=UTC)
LINK_KEY = derive(b"s" * 32, "unit-link")


# ---------------------------------------------------------------------------------------------
# Links


def _read(token, now=NOW, generation=0, key=LINK_KEY):
    return read_token(key, token, now, lambda unit: generation)


def test_a_link_names_its_unit_and_opens_until_it_expires():
    token, expires = make_token(LINK_KEY, "县财政局", 0, NOW, 30)
    assert expires == NOW + timedelta(days=30)
    assert _read(token).unit == "县财政局"
    assert _read(token, now=expires - timedelta(seconds=1)).unit == "县财政局"
    with pytest.raises(BadLink) as bad:
        _read(token, now=expires)
    assert bad.value.problem == LinkProblem.EXPIRED and bad.value.unit == "县财政局"


def test_a_changed_or_foreign_link_is_tampered_and_names_no_unit():
    token, _ = make_token(LINK_KEY, "县财政局", 0, NOW, 30)
    other, _ = make_token(LINK_KEY, "县民政局", 0, NOW, 30)
    payload, mac = token.split(".")
    forged = [f"{other.split('.')[0]}.{mac}", f"{payload}.{mac[:-1]}", f"{payload[:-1]}x.{mac}", payload,
              f"{payload}.", ".", "", f"{payload}.{mac}=", f"{payload}.{mac}.x", "县财政局.abc", "a" * 3000]
    for bad_token in forged:
        with pytest.raises(BadLink) as bad:
            _read(bad_token)
        assert bad.value.problem == LinkProblem.TAMPERED and bad.value.unit is None, bad_token
    with pytest.raises(BadLink):  # another key (another installation, or a rotated key)
        _read(token, key=derive(b"t" * 32, "unit-link"))
    with pytest.raises(BadLink):  # the same secret for another purpose
        _read(token, key=derive(b"s" * 32, "csrf"))


def test_a_link_of_an_older_generation_is_revoked():
    token, _ = make_token(LINK_KEY, "县财政局", 0, NOW, 30)
    with pytest.raises(BadLink) as bad:
        _read(token, generation=1)
    assert bad.value.problem == LinkProblem.REVOKED


def test_revocation_is_per_unit_in_the_store(db_path):
    db = store.open_db(db_path)
    assert store.unit_link_generation(db, "县财政局") == 0
    assert store.revoke_unit_links(db, "县财政局", NOW, by="cli") == 1
    assert store.revoke_unit_links(db, "县财政局", NOW) == 2
    assert store.unit_link_generation(db, "县民政局") == 0
    names = [r["name"] for r in db.query("SELECT name FROM _sqlite_migrations WHERE migration_set = 'reminder'")]
    assert "0006_web_unit_links_and_office_sessions" in names


def test_office_sessions_end_at_logout_and_at_expiry(db_path):
    db = store.open_db(db_path)
    store.create_office_session(db, "h1", USER, NOW, NOW + timedelta(hours=12))
    assert store.office_session_user(db, "h1", NOW) == USER
    assert store.office_session_user(db, "h1", NOW + timedelta(hours=12)) is None
    assert store.office_session_user(db, "h2", NOW) is None
    assert store.end_office_session(db, "h1", NOW) is True
    assert store.office_session_user(db, "h1", NOW) is None
    assert store.end_office_session(db, "h1", NOW) is False


# ---------------------------------------------------------------------------------------------
# The signing key


def test_the_key_file_is_generated_once_owner_only_and_reused(tmp_path):
    web = WebConfig(secret_key_file=tmp_path / "keys" / "web.key")
    first = load_secret(web)
    assert len(first) == 32
    assert stat.S_IMODE(web.secret_key_file.stat().st_mode) == 0o600
    assert load_secret(web) == first
    assert list(web.secret_key_file.parent.iterdir()) == [web.secret_key_file]  # no temporary left behind


def test_a_key_file_others_may_read_is_refused(tmp_path):
    web = WebConfig(secret_key_file=tmp_path / "web.key")
    load_secret(web)
    web.secret_key_file.chmod(0o644)
    with pytest.raises(ConfigError) as err:
        load_secret(web)
    assert err.value.key == "web.secret_key_file" and "chmod 600" in str(err.value)


def test_a_damaged_key_file_is_refused(tmp_path):
    path = tmp_path / "web.key"
    path.write_text("short\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="does not hold a key"):
        load_secret(WebConfig(secret_key_file=path))


def test_the_key_from_the_environment_wins_and_a_short_one_is_refused(tmp_path):
    cfg = parse_config({"web": {"secret_key_env": "WEB_KEY"}}, {"WEB_KEY": KEY}, base_dir=tmp_path)
    assert load_secret(cfg.web) == KEY.encode() and not (tmp_path / "web.key").exists()
    assert KEY not in repr(cfg)
    with pytest.raises(ConfigError) as err:
        parse_config({"web": {"secret_key_env": "WEB_KEY"}}, {"WEB_KEY": "short-Zw9"})
    assert err.value.key == "web.secret_key_env" and "short-Zw9" not in str(err.value)


# ---------------------------------------------------------------------------------------------
# Passwords and hash-password


def test_password_hashes_verify_and_reveal_nothing():
    made = hashed(PASSWORD)
    assert PASSWORD not in made and made.startswith("scrypt$")
    stored = parse_hash(made)
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "x", stored)
    assert hash_password(PASSWORD) != made  # salted
    assert "***" in repr(stored)
    for bad in ("plain-password", "scrypt$3$8$1$" + "a" * 22 + "$" + "b" * 43, "scrypt$16384$8$1$short$b"):
        with pytest.raises(BadHash):
            parse_hash(bad)


def test_hash_password_reads_stdin_never_argv():
    result = CliRunner().invoke(cli, ["hash-password"], input="a-long-enough-password\n")
    assert result.exit_code == 0, result.output
    assert verify_password("a-long-enough-password", parse_hash(result.stdout.strip()))
    assert CliRunner().invoke(cli, ["hash-password", "a-long-enough-password"]).exit_code == 2
    short = CliRunner().invoke(cli, ["hash-password"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output


# ---------------------------------------------------------------------------------------------
# The [web] config


def test_no_web_section_means_no_web_app():
    assert parse_config({}, {}).web is None
    web = parse_config({"web": {}}, {}, base_dir=Path("/srv/r")).web
    assert web.bind == "127.0.0.1" and web.base_url == "http://127.0.0.1:8080"
    assert web.secret_key_file == Path("/srv/r/web.key") and web.files_dir == Path("/srv/r/files")


@pytest.mark.parametrize(("web", "key", "fragment"), [
    ({"port": 0}, "web.port", "from 1 to 65535"),
    ({"prot": 8080}, "web.prot", "did you mean 'port'"),
    ({"bind": "0.0.0.0 8080"}, "web.bind", "IP address or host name"),
    ({"base_url": "gk.example.gov.cn"}, "web.base_url", "https://"),
    ({"base_url": "https://gk.example.gov.cn/?a=1"}, "web.base_url", "must be the address"),
    ({"link_days": 0}, "web.link_days", "from 1 to 366"),
    ({"trusted_proxy": "nginx"}, "web.trusted_proxy", "IP address of the reverse proxy"),
    ({"secret_key_env": "MISSING"}, "web.secret_key_env", "MISSING is not set"),
    ({"secret_key": "literal"}, "web.secret_key", "environment variable"),
    ({"users": [{"name": "li", "password_hash": "hunter2-Zw8"}]}, "web.users[0].password_hash",
     "reminder hash-password"),
    ({"users": [{"name": "li", "password": "hunter2-Zw8"}]}, "web.users[0].password", "reminder hash-password"),
    ({"users": [{"name": "li wang", "password_hash": "x"}]}, "web.users[0].name", "spaces"),
    ({"users": [{"name": "li"}]}, "web.users[0].password_hash", "is required"),
])
def test_bad_web_config_names_the_key(tmp_path, web, key, fragment):
    path = tmp_path / "config.toml"
    lines = ["[web]"]
    for name, value in web.items():
        if name == "users":
            rows = ", ".join("{ " + ", ".join(f'{k} = "{v}"' for k, v in user.items()) + " }" for user in value)
            lines.append(f"users = [{rows}]")
        else:
            lines.append(f"{name} = {value!r}".replace("'", '"'))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, {"K": KEY})
    assert err.value.key == key, str(err.value)
    assert fragment in str(err.value)
    assert "hunter2-Zw8" not in str(err.value)


def test_a_user_listed_twice_is_refused():
    users = [{"name": "li", "password_hash": hashed(PASSWORD)}] * 2
    with pytest.raises(ConfigError) as err:
        parse_config({"web": {"users": users}}, {})
    assert err.value.key == "web.users[1].name"


# ---------------------------------------------------------------------------------------------
# Uploads and downloads (the functions)


def test_downloads_never_leave_the_files_folder(tmp_path):
    folder = tmp_path / "files"
    (folder / "ab12").mkdir(parents=True)
    (folder / "ab12" / "报告.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "config.toml").write_text("secret")
    (folder / "ab12" / "link.pdf").symlink_to(tmp_path / "config.toml")
    (folder / "out").symlink_to(tmp_path)
    assert stored_files.resolve_download(folder, "ab12/报告.pdf") == (folder / "ab12" / "报告.pdf").resolve()
    for attempt in ("../config.toml", "ab12/../../config.toml", "/etc/passwd", "ab12/link.pdf",
                    "out/config.toml", "ab12\\..\\..\\config.toml", "ab12", "", "ab12/./报告.pdf",
                    ".hidden", "ab12/missing.pdf", "ab12/报告.pdf\x00.txt"):
        assert stored_files.resolve_download(folder, attempt) is None, attempt


def test_uploads_are_checked_by_name_content_and_size(tmp_path):
    import io

    folder = tmp_path / "files"
    saved = stored_files.save_upload(folder, "C:\\Users\\li\\..\\整改报告.pdf", io.BytesIO(b"%PDF-1.7 body"), 100)
    assert saved.name == "整改报告.pdf" and saved.size == 13
    assert (folder / saved.path).read_bytes() == b"%PDF-1.7 body"
    refused = [("page.html", b"<html>"), ("run.exe", b"MZ"), ("整改报告.pdf", b"<html><script>"),
               ("表.xlsx", b"%PDF-"), ("说明.txt", b"\x00\x01\x02binary"), ("empty.pdf", b""),
               ("big.pdf", b"%PDF-" + b"x" * 200), ("noext", b"%PDF-")]
    for name, content in refused:
        with pytest.raises(stored_files.UploadRefused):
            stored_files.save_upload(folder, name, io.BytesIO(content), 100)
    assert len(list(folder.iterdir())) == 1, "a refused upload leaves nothing behind"
    text = stored_files.save_upload(folder, "说明.txt", io.BytesIO("整改说明".encode("gb18030")), 100)
    assert text.name == "说明.txt"


def test_the_login_throttle_counts_per_address_and_user_in_a_sliding_window():
    throttle = LoginThrottle(3, timedelta(minutes=15))
    for minute in range(3):
        assert throttle.blocked_until("10.0.0.1", "li", NOW + timedelta(minutes=minute)) is None
        throttle.failed("10.0.0.1", "li", NOW + timedelta(minutes=minute))
    assert throttle.blocked_until("10.0.0.1", "LI ", NOW + timedelta(minutes=3)) == NOW + timedelta(minutes=15)
    assert throttle.blocked_until("10.0.0.2", "li", NOW) is None
    assert throttle.blocked_until("10.0.0.1", "wang", NOW) is None
    assert throttle.blocked_until("10.0.0.1", "li", NOW + timedelta(minutes=15)) is None


# ---------------------------------------------------------------------------------------------
# Over HTTP: headers, cookies, CSRF, uploads, downloads


def _login(site, session: requests.Session, **headers) -> requests.Response:
    form = session.get(f"{site.url}/login", headers=headers)
    # Sent by hand: behind an https proxy the cookie is Secure, and requests keeps those off http.
    binding = {"reminder_csrf": form.cookies["reminder_csrf"]} if "reminder_csrf" in form.cookies else {}
    return session.post(f"{site.url}/login", data={"csrf_token": _csrf(form), "name": USER, "password": PASSWORD},
                        headers=headers, cookies=binding, allow_redirects=False)


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)[1]


def test_every_page_forbids_scripts_framing_referrers_and_caching(site):
    for path in ("/login", site.link("县财政局").removeprefix(site.url), "/u/forged.token", "/nowhere"):
        response = requests.get(site.url + path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script" not in response.text
    css = requests.get(f"{site.url}/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """The app as it runs behind nginx on the same server: trusted_proxy = 127.0.0.1."""
    served, server = serve_site(tmp_path_factory.mktemp("proxied"), extra_config='trusted_proxy = "127.0.0.1"\n')
    yield served
    server.stop()


def test_session_cookie_is_secure_only_behind_a_trusted_https_proxy(proxied):
    behind_https = _login(proxied, requests.Session(), **{"X-Forwarded-Proto": "https"})
    assert behind_https.status_code == 302
    cookie = behind_https.headers["Set-Cookie"]
    assert "reminder_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    plain = _login(proxied, requests.Session())
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_behind_a_trusted_proxy_the_throttle_counts_the_real_client(proxied):
    def attempt(client: str) -> int:
        session = requests.Session()
        form = session.get(f"{proxied.url}/login")
        return session.post(f"{proxied.url}/login", headers={"X-Forwarded-For": client}, allow_redirects=False,
                            data={"csrf_token": _csrf(form), "name": USER, "password": "wrong-guess"}).status_code

    assert [attempt("203.0.113.7") for _ in range(LOGIN_ATTEMPTS + 1)] == [401] * LOGIN_ATTEMPTS + [429]
    assert attempt("203.0.113.8") == 401   # another client behind the same proxy is not locked out


def test_a_forwarded_proto_from_an_untrusted_peer_is_ignored(site):
    response = _login(site, requests.Session(), **{"X-Forwarded-Proto": "https"})
    assert response.status_code == 302 and "Secure" not in response.headers["Set-Cookie"]


def test_a_token_from_another_browser_does_not_pass(site):
    attacker, victim = requests.Session(), requests.Session()
    attacker_token = _csrf(attacker.get(f"{site.url}/login"))
    assert _login(site, victim).status_code == 302
    response = victim.post(f"{site.url}/logout", data={"csrf_token": attacker_token}, allow_redirects=False)
    assert response.status_code == 400
    assert victim.get(f"{site.url}/board", allow_redirects=False).status_code == 200  # still logged in


def test_uploads_over_http_are_limited_by_size_and_type_and_download_back(site):
    session = requests.Session()
    assert _login(site, session).status_code == 302
    files_page = session.get(f"{site.url}/files")
    token = _csrf(files_page)
    pdf = b"%PDF-1.4\n" + b"0" * 1000
    saved = session.post(f"{site.url}/files", data={"csrf_token": token}, files={"file": ("整改报告.pdf", pdf)})
    assert saved.status_code == 200 and "已保存：整改报告.pdf" in saved.text
    href = re.search(r'href="(/files/[0-9a-f]+/[^"]+)"', saved.text)[1]
    download = session.get(site.url + href)
    assert download.content == pdf and "attachment" in download.headers["Content-Disposition"]
    assert requests.get(site.url + href, allow_redirects=False).status_code == 302  # not without a login

    html = session.post(f"{site.url}/files", data={"csrf_token": token},
                        files={"file": ("page.pdf", b"<html><script>alert(1)</script>")})
    assert html.status_code == 400 and "不符" in html.text
    too_big = session.post(f"{site.url}/files", data={"csrf_token": token},
                           files={"file": ("big.pdf", b"%PDF-" + b"0" * (1024 * 1024 + 70 * 1024))})
    assert too_big.status_code == 413 and "文件太大" in too_big.text
    no_token = session.post(f"{site.url}/files", files={"file": ("a.pdf", pdf)})
    assert no_token.status_code == 400
    assert len(stored_files.list_files(site.state.web.files_dir)) == 1


def test_download_paths_that_climb_out_get_nothing(site):
    session = requests.Session()
    assert _login(site, session).status_code == 302
    for path in ("/files/../config.toml", "/files/%2e%2e/config.toml", "/files/..%2fconfig.toml",
                 "/files/x/%2e%2e/%2e%2e/config.toml", "/files//etc/passwd", "/files/%2fetc%2fpasswd"):
        response = session.get(site.url + path, allow_redirects=False)
        assert response.status_code in (404, 308), path
        assert "secret_key_env" not in response.text


def test_a_base_url_with_a_path_serves_pages_and_links_under_it(tmp_path):
    prefixed, server = serve_site(tmp_path / "prefixed", base_path="/gk")
    try:
        page = requests.get(prefixed.link("县财政局"))
        assert page.status_code == 200 and "做好财政预决算公开" in page.text
        assert 'href="/gk/static/app.css"' in page.text
        login = requests.get(f"{prefixed.url}/board", allow_redirects=False)
        assert login.headers["Location"].startswith("/gk/login")
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Commands: link, serve, run


def test_link_refuses_a_name_that_is_not_one_exact_unit(site):
    result = CliRunner().invoke(cli, ["--config", str(site.config_path), "link", "财政局"], env=ENV)
    assert result.exit_code == 1 and "县财政局" in result.output and "one exact unit" in result.output


def _wait_for(url: str, seconds: float = 20.0) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["serve"], ["run", "--tick-seconds", "3600"]])
def test_serve_and_run_serve_the_app_and_stop_on_sigterm(tmp_path, command):
    port = free_port()
    served, server = serve_site(tmp_path)   # just to write a config and a database with a plan
    server.stop()
    config = served.config_path.read_text(encoding="utf-8").replace("port = 8080", f"port = {port}")
    served.config_path.write_text(config, encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(served.config_path), *command],
                               env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/login").status_code == 200
        link = subprocess.run([sys.executable, "-m", "reminder", "--config", str(served.config_path), "link",
                               "县民政局"], env={**os.environ, **ENV}, capture_output=True, text=True, check=True)
        url = link.stdout.strip().replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        assert "做好社会救助信息公开" in requests.get(url).text
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "web app stopped" in output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/login", timeout=2)


def test_the_example_config_documents_a_working_web_section():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    assert "web" in data
    assert parse_config(data, {}, base_dir=example.parent).web.bind == "127.0.0.1"


def test_the_packaged_files_check_renders_every_page_template():
    """CI runs this check on the built wheel; a template that needs a new key fails here first."""
    from reminder.web.app import packaged_files_check

    assert packaged_files_check() is None
