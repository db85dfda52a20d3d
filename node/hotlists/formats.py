"""The file formats ``accord hotlist import`` reads (kept apart so the CLI loads fast)."""

from __future__ import annotations

import enum
from pathlib import Path


class HotlistFormat(enum.StrEnum):
    #: NCIC-style CSV with a header line, read through a column map.
    CSV = "csv"
    #: A JSON array of entries, or an object with an ``entries`` array.
    JSON = "json"

    @classmethod
    def for_path(cls, path: Path) -> HotlistFormat:
        """JSON for a ``.json`` file, else CSV."""
        return cls.JSON if path.suffix.lower() == ".json" else cls.CSV
