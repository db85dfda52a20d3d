"""Writing ``index.html`` and ``report.json`` so that a failure leaves no partial report.

Both files are written to temporary names in the output directory, flushed to disk, and
only then renamed into place; a report that cannot be written raises
:class:`~audit.report.errors.ReportError` and leaves any earlier report as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from audit.report.errors import ReportError
from audit.report.html import render
from audit.report.publish import Json

HTML_FILE = "index.html"
JSON_FILE = "report.json"


def _stage(out: Path, name: str, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(tmp)


def write_report(doc: Json, out: Path) -> tuple[Path, Path]:
    """Write the page and the JSON of ``doc`` into ``out``; returns their paths."""
    page = render(doc).encode("utf-8")
    data = (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    staged: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        staged = [_stage(out, HTML_FILE, page), _stage(out, JSON_FILE, data)]
        targets = (out / HTML_FILE, out / JSON_FILE)
        for tmp, target in zip(staged, targets, strict=True):
            os.replace(tmp, target)
    except OSError as e:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
        raise ReportError(f"{out}: cannot write the report: {e.strerror or e}") from e
    return targets
