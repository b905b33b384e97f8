"""The ``file`` channel: each message becomes an .eml file in a folder.

It lets a newcomer see real notices with no mail server, and is the fallback for units without contacts.
The file is the MIME message SMTP would send (same builder, same headers and parts), so it opens in any
mail client; its bodies are 8bit UTF-8 rather than base64, so ``cat`` shows the notice as it reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import ClassVar

from ..errors import DeliveryError
from ..folders import make_private_dirs
from ..model import Message
from .smtp import build_email

# Characters kept in file names: letters (any script, so 区财政局 stays readable), digits, - _ .
_UNSAFE = re.compile(r"[^\w.-]+")
_MAX_STEM = 100


def file_name(key: str) -> str:
    """A safe, stable file name for ``key``: same key, same name, so a resend overwrites.

    Sanitising alone could map two keys to one name (``a/b`` and ``a:b``), so a short hash of the
    exact key is appended; it also keeps long keys within file-system limits.
    """
    stem = _UNSAFE.sub("_", key).strip("._")[:_MAX_STEM] or "message"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return f"{stem}-{digest}.eml"


class FileChannel:
    """Writes messages as .eml files into ``directory`` (created owner-only if missing); each file is
    owner-only too (a temporary file renamed into place)."""

    kind: ClassVar[str] = "file"
    max_message_bytes: ClassVar[int | None] = None
    messages_per_minute: ClassVar[int | None] = None
    messages_per_second: ClassVar[int | None] = None

    def __init__(self, directory: str | os.PathLike, *, from_addr: str = "reminder@localhost",
                 from_name: str | None = None):
        self.directory = Path(directory)
        self.from_addr = from_addr
        self.from_name = from_name

    def send(self, message: Message) -> None:
        """Write one message as an .eml file. A full or read-only disk is transient (DeliveryError)."""
        try:
            make_private_dirs(self.directory)
        except OSError as err:
            raise DeliveryError(f"cannot create folder {self.directory}: {err.strerror}; check the path",
                                unreachable=True) from None
        data = build_email(message, self.from_addr, self.from_name, cte="8bit").as_bytes()
        target = self.path_for(message)
        try:
            _write_atomically(target, data)  # through a temporary file: a crash never leaves half a message
        except OSError as err:
            raise DeliveryError(f"cannot write {target}: {err.strerror}; check disk space and permissions") from None

    def close(self) -> None:
        """Nothing to release; present for the Channel contract."""

    def path_for(self, message: Message) -> Path:
        return self.directory / file_name(message.key)


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside ``target``, then rename over it; remove the temporary on failure."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
