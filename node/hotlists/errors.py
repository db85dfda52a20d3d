"""Errors of hotlist management. A bad import file is an
:class:`~node.ingest.errors.ImportFormatError`, as for read imports; these are the rest."""

from __future__ import annotations

from node.errors import NodeError


class HotlistError(NodeError):
    """A hotlist id, name or source is invalid, or a hotlist that must exist does not."""
