"""The ONNX models the reader runs, found inside the installed ``rapidocr`` wheel.

The wheel (Apache-2.0, see ``MODEL_CARD.md``) ships PaddleOCR's PP-OCRv6 small detection
and recognition models. We use the files only: the package's Python code is never
imported, so its configuration layer and image loaders stay out of the node. Each file
is checked against the SHA-256 pinned here before a session opens it; nothing is ever
downloaded at run time::

    path = locate(RECOGNITION)            # raises ModelError if absent or altered
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from node.alpr.errors import ModelChecksumError, ModelNotFoundError

#: The distribution that ships the models; pinned to one minor release in pyproject.toml.
WHEEL = "rapidocr"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One model file of the wheel and the checksum it MUST have."""

    name: str
    sha256: str


#: PP-OCRv6 small text detection (DB): a text probability map at input resolution.
DETECTION = ModelFile(
    "PP-OCRv6_det_small.onnx", "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"
)
#: PP-OCRv6 small text recognition (CTC); its character list is in the model's metadata.
RECOGNITION = ModelFile(
    "PP-OCRv6_rec_small.onnx", "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"
)


def wheel_models_dir() -> Path:
    """The ``models`` folder of the installed wheel, found without importing the package."""
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(WHEEL, f"the {WHEEL!r} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def locate(model: ModelFile, directory: Path | None = None) -> Path:
    """Path of ``model`` in ``directory`` (default: the wheel), verified against its pin."""
    path = (directory if directory is not None else wheel_models_dir()) / model.name
    if not path.is_file():
        raise ModelNotFoundError(model.name, f"{path} does not exist")
    actual = _sha256(path)
    if actual != model.sha256:
        raise ModelChecksumError(path, model.sha256, actual)
    return path


@functools.cache
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
