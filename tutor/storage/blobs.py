"""The binary parts of a learner: each run's weights as `np.savez` bytes, the model as a Keras file.

The SQL stores keep these beside the JSON record (`tutor.storage.records`): SQLite writes the
model to a file atomically (`_write_keras_file`), PostgreSQL stores its bytes (`_keras_bytes`).
Both are looked up here at call time, so a test can make them fail like a full disk.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tutor.ml import saving
from tutor.session import Session

log = logging.getLogger(__name__)


def arrays_to_bytes(arrays: Sequence[Any]) -> bytes:
    """A list of arrays as `np.savez` bytes (uncompressed: trained floats barely compress)."""
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(array) for array in arrays])
    return buffer.getvalue()


def arrays_from_bytes(data: bytes) -> list[np.ndarray]:
    """The list `arrays_to_bytes` stored, in order; never unpickles anything."""
    with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
        return [archive[f"arr_{index}"] for index in range(len(archive.files))]


def _write_keras_file(model: Any, path: Path) -> None:
    """`model.save` to `path` atomically: a temporary file beside it, fsync, rename, fsync folder."""
    temporary = path.with_name(f".{path.stem}-{secrets.token_hex(4)}.tmp.keras")
    try:
        model.save(str(temporary))
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _keras_bytes(model: Any) -> bytes:
    return saving.model_to_bytes(model)


def attach_model(session: Session, load: Callable[[], Any]) -> None:
    """Put the saved model in `session` (compiling it if the learner had); on failure, none."""
    try:
        model = load()
        if session.compiled and not getattr(model, "compiled", False):
            from tutor.ml.backend import compile_model

            compile_model(model, session.settings)
        session.model = model
    except Exception:  # a damaged file costs the model, never the rest of the progress
        log.exception("could not load a saved model; the learner gets a fresh one when needed")
        session.model = None
        session.compiled = False
