"""Reading an import file into memory, with the limits and messages every import shares.

Read imports (:mod:`node.ingest.jobs`) and hotlist imports (:mod:`node.hotlists.jobs`) parse
their files whole, so both refuse a file larger than :data:`MAX_IMPORT_BYTES` before
reading it, and say in one line which file could not be read and why. Kept apart from the
jobs so that an importer does not load the video pipeline.
"""

from __future__ import annotations

from pathlib import Path

from node.errors import SetupError
from node.ingest.errors import IngestError

#: Largest import file read (it is parsed in memory).
MAX_IMPORT_BYTES = 512 << 20


def read_import_text(path: Path) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped).

    Raises:
        SetupError: the file is missing or unreadable.
        IngestError: it is larger than :data:`MAX_IMPORT_BYTES` or not UTF-8.
    """
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise IngestError(f"{path}: {size} bytes is more than an import takes at once")
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise SetupError(f"{path}: no such file") from e
    except UnicodeDecodeError as e:
        raise IngestError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise SetupError(f"{path}: cannot read: {e.strerror}") from e
