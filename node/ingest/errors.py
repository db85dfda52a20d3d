"""Errors of video ingest and read imports, grouped by who is at fault.

A source that cannot be opened or decoded, or an import file that is not what it claims
(:class:`SourceError`, :class:`ImportFormatError`), is the operator's to fix and stops that
ingest before anything is stored. A bad row or frame inside an otherwise good source is
not an error at all: it is a counted :class:`~node.ingest.observed.Skip`, and the rest of
the ingest goes on.
"""

from __future__ import annotations

from node.errors import NodeError


class IngestError(NodeError):
    """Base class of ingest and import errors."""


class SourceError(IngestError):
    """A video file or stream cannot be opened, has no decodable frames, or is gone."""


class StreamLostError(SourceError):
    """A live stream stalled or disconnected and did not come back within the retries."""


class UnknownCameraError(IngestError):
    """Reads were attributed to a camera this node does not know."""

    def __init__(self, camera_id: str) -> None:
        super().__init__(
            f"unknown camera {camera_id!r}; add it with `accord node cameras add` first"
        )
        self.camera_id = camera_id


class ImportFormatError(IngestError):
    """An import file is unreadable as a whole (not JSON, no header, bad column map)."""
