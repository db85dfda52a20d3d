"""Where a log is read from: an exported directory or a static web server (tlog-tiles)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from audit.errors import LogSourceError

#: Largest file an auditor reads (a full hash tile is 8 KiB; a bundle of 256 entries of
#: at most 16 KiB each is 4 MiB).
MAX_FILE = 8 * 1024 * 1024


class LogSource(Protocol):
    def read(self, path: str) -> bytes:
        """The bytes of ``path`` (relative, e.g. ``tile/0/000``); raises LogSourceError."""
        ...

    def exists(self, path: str) -> bool: ...


class DirectorySource:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise LogSourceError(f"{root} is not a directory")
        self.root = root

    def read(self, path: str) -> bytes:
        p = self.root / path
        try:
            data = p.read_bytes()
        except OSError as e:
            raise LogSourceError(f"{p}: {e.strerror or 'cannot be read'}") from e
        if len(data) > MAX_FILE:
            raise LogSourceError(f"{p}: larger than {MAX_FILE} bytes")
        return data

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file()


class HttpSource:
    """A log published by any static web server (read-only GETs)."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise LogSourceError(f"{base_url}: not an http(s) URL")
        self.base = base_url.rstrip("/") + "/"
        self.timeout_s = timeout_s

    def read(self, path: str) -> bytes:
        url = self.base + path
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:  # noqa: S310 - scheme checked
                data: bytes = resp.read(MAX_FILE + 1)
        except (urllib.error.URLError, OSError) as e:
            raise LogSourceError(f"{url}: {e}") from e
        if len(data) > MAX_FILE:
            raise LogSourceError(f"{url}: larger than {MAX_FILE} bytes")
        return data

    def exists(self, path: str) -> bool:
        try:
            self.read(path)
        except LogSourceError:
            return False
        return True


def open_source(location: str) -> LogSource:
    if location.startswith(("http://", "https://")):
        return HttpSource(location)
    return DirectorySource(Path(location))
