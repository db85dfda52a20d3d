"""Errors of the plate reader, grouped by who is at fault.

A broken installation (:class:`ModelError`) is the operator's to fix and stops the reader
from starting; a bad frame (:class:`ImageError`) is the caller's and costs one frame, never
the run.
"""

from __future__ import annotations

from pathlib import Path


class AlprError(Exception):
    """Base class of the plate reader's errors."""


class ModelError(AlprError):
    """A model file is missing, altered or cannot be loaded by onnxruntime."""


class ModelNotFoundError(ModelError):
    """The wheel that ships the models is not installed, or lacks the file."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"model {name} not found: {detail}")
        self.name = name


class ModelChecksumError(ModelError):
    """A model file's SHA-256 differs from the one pinned in the model card."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(f"{path}: SHA-256 {actual} does not match the pinned {expected}")
        self.path = path
        self.expected = expected
        self.actual = actual


class ImageError(AlprError):
    """An image is empty, not 8-bit, or not a grey, BGR or BGRA array."""
