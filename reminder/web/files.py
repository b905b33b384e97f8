"""Files people upload (evidence, plan documents) and the one way back out.

Uploads: a size limit (``web.max_upload_mb``; the request as a whole is also capped before it is
read) and a list of types that offices exchange, each checked twice: by the name's extension and by
the first bytes of the content, so a renamed executable or HTML page is refused. A file is stored
under a random folder name in ``web.files_dir``, keeping the name it was uploaded with for people.

Downloads: :func:`resolve_download` gives a path only if it lies inside the files folder after every
symbolic link is followed; ``..``, absolute paths, backslashes and hidden names are refused first.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_ZIP = (b"PK\x03\x04",)                       # .docx .xlsx .ofd are zip packages
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # .doc .xls .wps .et (compound documents)
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",), "ofd": _ZIP,
    "docx": _ZIP, "xlsx": _ZIP, "doc": _OLE, "xls": _OLE, "wps": _OLE, "et": _OLE,
    "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
    "txt": (),  # checked as text instead
}
ALLOWED_TYPES = tuple(SIGNATURES)
PLAN_TYPES: dict[str, tuple[bytes, ...]] = {
    ext: SIGNATURES[ext] for ext in ("docx", "doc", "wps", "xlsx", "xls", "et", "pdf", "txt")
} | {"html": (), "htm": ()}
"""What a plan may be uploaded as: the formats ``reminder.readers`` reads (web pages saved as files too)."""
CHUNK = 64 * 1024
MAX_NAME_CHARS = 100
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


class UploadRefused(Exception):
    """An upload that is not stored; the message (zh-CN) is shown to the person who sent it."""


@dataclass(frozen=True)
class StoredFile:
    path: str     # relative to the files folder, "<random>/<name>": what the download route takes
    name: str     # the name it was uploaded with (cleaned)
    size: int


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def clean_name(name: str) -> str:
    """A file name safe to store and to offer back: no folders, no control or reserved characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip().lstrip(".")
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME_CHARS - len(ext) - 1] + dot + ext) if dot else base[:MAX_NAME_CHARS]
    return base


def save_upload(folder: Path, filename: str, stream: BinaryIO, max_bytes: int,
                types: Mapping[str, tuple[bytes, ...]] = SIGNATURES) -> StoredFile:
    """Store one uploaded file after checking its type (one of ``types``: extension -> the content's
    possible first bytes, empty for text) and size; raises UploadRefused."""
    name = clean_name(filename or "")
    ext = extension(name)
    if ext not in types:
        raise UploadRefused(f"不支持的文件类型“.{ext or '无扩展名'}”。可上传：{'、'.join(types)}。")
    target_dir = folder / secrets.token_hex(8)
    target_dir.mkdir(parents=True, mode=0o700)
    target = target_dir / name
    try:
        size = _copy_limited(stream, target, max_bytes)
        _check_content(target, types[ext], ext)
    except BaseException:
        shutil.rmtree(target_dir, ignore_errors=True)
        raise
    return StoredFile(f"{target_dir.name}/{name}", name, size)


def _copy_limited(stream: BinaryIO, target: Path, max_bytes: int) -> int:
    size = 0
    with open(target, "xb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UploadRefused(f"文件超过 {max_bytes // (1024 * 1024)} MB 的上限，请压缩或拆分后再上传。")
            out.write(chunk)
    if size == 0:
        raise UploadRefused("文件是空的。")
    return size


def _check_content(path: Path, signatures: tuple[bytes, ...], ext: str) -> None:
    with open(path, "rb") as f:
        head = f.read(CHUNK)
    if signatures and not head.startswith(signatures):
        raise UploadRefused(f"文件内容与扩展名“.{ext}”不符，未保存。")
    if not signatures and (b"\x00" in head or not _is_text(head)):
        raise UploadRefused(f"“.{ext}”文件须是文本（UTF-8 或 GBK 编码）。")


def _is_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as err:
            if err.start >= len(head) - 4:   # a character cut at the end of the sample
                return True
    return False


def resolve_download(folder: Path, relative: str) -> Path | None:
    """The stored file ``relative`` names, or None if it is not a file inside ``folder``."""
    if not relative or "\\" in relative or "\x00" in relative or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    root = folder.resolve()
    try:
        path = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def list_files(folder: Path) -> list[StoredFile]:
    """Every stored file, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith("."):
            for file in entry.iterdir():
                if file.is_file() and not file.is_symlink():
                    found.append((file.stat().st_mtime, StoredFile(f"{entry.name}/{file.name}", file.name,
                                                                   file.stat().st_size)))
    return [stored for _, stored in sorted(found, key=lambda pair: pair[0], reverse=True)]

