"""The secret that signs units' links and CSRF tokens, and the keys derived from it.

It comes from the environment variable that ``web.secret_key_env`` names, or else from
``web.secret_key_file``: generated once (32 random bytes, hex), readable by its owner only, and
refused if anyone else may read it, as ssh refuses a private key with loose permissions. Whoever
holds the key can make a link to any unit's page, so it never appears in output or logs.

Each use gets its own key, derived with HMAC from the secret (``derive(secret, "unit-link")``), so
a value signed for one purpose can never pass as another.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from reminder.config import WebConfig
from reminder.errors import ConfigError

KEY_BYTES = 32
FILE_MODE = 0o600


def load_secret(web: WebConfig) -> bytes:
    """The master secret: from the environment if configured, else from the key file (made if missing)."""
    if web.secret_key is not None:
        return web.secret_key.reveal().encode("utf-8")
    return _read_or_create(web.secret_key_file)


def derive(secret: bytes, purpose: str) -> bytes:
    """The key for one purpose ("unit-link", "csrf"); different purposes never share a key."""
    return hmac.new(secret, b"reminder-web\0" + purpose.encode("ascii"), hashlib.sha256).digest()


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        _create(path)
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except PermissionError:
        raise ConfigError(f"cannot read the key file {path}: permission denied; run reminder as the user "
                          "that owns it (the service user)", "web.secret_key_file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the key file {path}: {err}", "web.secret_key_file") from None
    if info.st_mode & 0o077:
        raise ConfigError(f"the key file {path} may be read by other users (mode {stat.filemode(info.st_mode)}); "
                          f"run: chmod 600 {path}", "web.secret_key_file")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise ConfigError(f"the key file {path} does not hold a key ({KEY_BYTES * 2} hex digits); delete it "
                          "and a new one is made (every link and login issued so far then stops working)",
                          "web.secret_key_file")
    return key


def _create(path: Path) -> None:
    """Write a new key atomically: a private temporary file, then a hard link that fails if one appeared.

    So two processes starting at once (``reminder run`` and ``reminder link``) agree on one key, and
    nobody ever reads a half-written file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink()
    except OSError as err:
        raise ConfigError(f"cannot create the key file {path}: {err.strerror}; check that its folder exists "
                          "and the service user may write to it", "web.secret_key_file") from None
