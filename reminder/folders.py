"""Folders the service creates (the database's, the file channel's outbox) are its owner's alone.

They hold unit contacts, office correspondence and messages. ``mkdir``'s mode is cut by the umask, and a
service started with umask 0 (or 022) would leave them readable by every local user; so each folder
created here gets mode 0700 exactly. Folders that exist already are left as their owner set them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

FOLDER_MODE = 0o700


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each owner-only (0700) whatever the umask. Raises OSError
    as ``mkdir`` does (FileExistsError when ``path`` is a file)."""
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile: theirs to set
            continue
        os.chmod(folder, FOLDER_MODE)  # the umask can only take bits away; make the mode exact anyway
    if not path.is_dir():
        raise FileExistsError(errno.EEXIST, "exists and is not a folder", str(path))
