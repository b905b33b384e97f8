"""Secrets and private files (issue 10, points 14 and 15), through real processes and servers.

* A password in a webhook URL (``http://user:password@host/…``) is never stored in the database or shown
  in an error or a listing: the outbox keeps the route id and the host, the channel reads the URL from the
  config (or the environment) when it sends.
* The folders the service creates (the database's, the file channel's outbox) are owner-only whatever
  the umask it was started with.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.servers import HttpServer, Reply, generic_receiver

PASSWORD = "pw-Zs7Kq9"
PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 做好财政预决算公开。 | 县财政局 | 2021年9月30日前 |\n"
        "| 2 | 做好社会救助信息公开。 | 县民政局 | 2021年9月30日前 |\n")


def cli(config: Path, *args: str, env: dict | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), *args], check=False, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})},
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def database_bytes(database: Path) -> bytes:
    return b"".join(Path(f"{database}{suffix}").read_bytes() for suffix in ("", "-wal", "-shm")
                    if Path(f"{database}{suffix}").exists())


def test_a_password_in_a_webhook_url_is_never_stored_or_shown(tmp_path):
    with HttpServer() as http:
        http.routes["/ok"] = generic_receiver(None)
        http.routes["/down"] = lambda request: Reply(500, {"error": "down"})
        base = f"http://gwgk:{PASSWORD}@127.0.0.1:{http.port}"
        tables = (f'\n[[units]]\nname = "县财政局"\nwebhooks = [{{ kind = "generic", url = "{base}/ok?token=t1" }}]\n'
                  '\n[[units]]\nname = "县民政局"\nwebhooks = [{ kind = "generic", url_env = "MZJ_HOOK" }]\n')
        config = write_config(tmp_path, tables, database=tmp_path / "r.db", fallback=False)
        env = {"MZJ_HOOK": f"{base}/down?token=t2"}
        (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
        outputs = [cli(config, "import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00", env=env),
                   cli(config, "tick", "--now", "2021-10-08T10:00", "--json", env=env),
                   cli(config, "notices", "--json", env=env),
                   cli(config, "digest", "--now", "2021-10-08T16:00", "--dry-run", env=env)]
        assert [len(http.received("/ok")), len(http.received("/down"))] == [1, 1]
        # The URL's user part did its job: the server got HTTP basic credentials.
        assert http.received("/ok")[0].headers.get("Authorization", "").startswith("Basic ")
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert not any(PASSWORD in o.stdout + o.stderr for o in outputs)
    assert PASSWORD.encode() not in database_bytes(tmp_path / "r.db")
    assert "127.0.0.1" in outputs[2].stdout  # the host is still shown, so people know where it went
    # A URL the config refuses is named without its password too.
    bad = write_config(tmp_path, '\n[[units]]\nname = "县财政局"\nwebhooks = [{ kind = "generic", url = '
                                 f'"ftp://gwgk:{PASSWORD}@127.0.0.1/hook" }}]\n', database=tmp_path / "r.db")
    refused = cli(bad, "tasks")
    assert refused.returncode == 1 and "units[0].webhooks[0].url" in refused.stderr
    assert PASSWORD not in refused.stderr


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_folders_the_service_creates_are_owner_only_whatever_the_umask(tmp_path, umask):
    database = tmp_path / "data" / "reminder" / "r.db"
    outbox = tmp_path / "spool" / "outbox"
    config = write_config(tmp_path, database=database)
    config.write_text(config.read_text(encoding="utf-8").replace(str(tmp_path / "outbox"), str(outbox)),
                      encoding="utf-8")
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    for args in (("import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00"),
                 ("tick", "--now", "2021-10-08T10:00")):
        result = cli(config, *args, umask=umask)
        assert result.returncode == 0, result.stderr
    assert len(list(outbox.glob("*.eml"))) == 2
    created = [tmp_path / "data", database.parent, tmp_path / "spool", outbox]
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in created} == \
        {p.name: "0o700" for p in created}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in outbox.iterdir()} == {"0o600"}
