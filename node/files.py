"""Files of the node home written so that a crash leaves the old file or the new, never half.

Configuration, the held federation directory and pinned certificates are read at every
start; a torn write would stop the node or, worse, make it forget the newest directory
version it accepted (rollback protection).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Mode of a new file that holds nothing secret.
PUBLIC_MODE = 0o644


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: a temporary file beside it, flushed and synced,
    renamed over it, then the directory synced. ``mode`` ``None`` keeps the mode of the
    file being replaced (:data:`PUBLIC_MODE` for a new one)."""
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = PUBLIC_MODE
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
