"""onnxruntime sessions: one intra-op thread each, on the GPU when there is one.

Throughput comes from one worker process per camera, not from threads inside a session,
so every session is pinned to a single intra-op thread. ``CUDAExecutionProvider`` is used
when the installed onnxruntime offers it (``onnxruntime-gpu`` and a GPU), CPU otherwise;
the provider actually chosen is reported so the CLI can print it::

    model = open_model(locate(DETECTION))
    print(model.provider)                 # "CPUExecutionProvider"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from node.alpr.errors import ModelError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def choose_providers(available: Sequence[str], *, prefer_gpu: bool = True) -> list[str]:
    """The execution providers to ask for, best first: CUDA when offered, CPU always."""
    if prefer_gpu and CUDA in available:
        return [CUDA, CPU]
    return [CPU]


class OnnxModel:
    """A loaded model with one float input and one output, typed for the rest of the package."""

    def __init__(self, session: Any, path: Path) -> None:
        self._session = session
        self._input = str(session.get_inputs()[0].name)
        self.path = path
        #: The provider that runs the model: ``CUDAExecutionProvider`` or ``CPUExecutionProvider``.
        self.provider = str(session.get_providers()[0])
        meta = session.get_modelmeta().custom_metadata_map
        #: Custom metadata of the model file (the recognizer's character list lives here).
        self.metadata: Mapping[str, str] = {str(k): str(v) for k, v in meta.items()}

    def run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Run the model on an NCHW batch and return its first output as float32."""
        (out,) = self._session.run(None, {self._input: batch})[:1]
        return np.asarray(out, dtype=np.float32)


def open_model(path: Path, *, prefer_gpu: bool = True) -> OnnxModel:
    """Open ``path`` in a session with one intra-op thread on the best available provider."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    providers = choose_providers(ort.get_available_providers(), prefer_gpu=prefer_gpu)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as e:  # onnxruntime raises its own untyped exceptions
        raise ModelError(f"{path}: onnxruntime cannot load the model: {e}") from e
    return OnnxModel(session, path)
