"""The import formats ``accord node import`` reads (kept apart so the CLI loads fast)."""

from __future__ import annotations

import enum


class ImportFormat(enum.StrEnum):
    #: OpenALPR / Rekor ``alpr_group`` records: JSON, a JSON array, or JSON Lines.
    OPENALPR = "openalpr"
    #: A CSV export with a header line and a column map.
    CSV = "csv"
