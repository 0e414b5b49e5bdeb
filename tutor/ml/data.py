"""Find and load Fashion-MNIST once per process, offline first.

The learner sees `fashion_mnist.load_data()` in the lesson, so that is the call that runs.
Keras reads the four IDX files from its cache folder without downloading when they are
already there; this module puts them there from the Debian package `dataset-fashion-mnist`
(or a folder named by `BRAIN_TUTOR_DATA_DIR`) before Keras would reach for the network.
The arrays are loaded once and shared read-only by every learner.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

FILE_NAMES: tuple[str, ...] = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_DIR_VARIABLE = "BRAIN_TUTOR_DATA_DIR"
NO_DOWNLOAD_VARIABLE = "BRAIN_TUTOR_NO_DOWNLOAD"

LOAD_CODE = """import tensorflow as tf

fashion_mnist = tf.keras.datasets.fashion_mnist
(train_images, train_labels), (valid_images, valid_labels) = fashion_mnist.load_data()"""


class DataUnavailable(RuntimeError):
    """Fashion-MNIST could not be found or downloaded; the message names the fixes."""


@dataclass(frozen=True)
class Dataset:
    """The four Fashion-MNIST arrays, read-only, plus where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    valid_images: np.ndarray
    valid_labels: np.ndarray
    source: str
    _scaled: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _scaled_lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def scaled(self, name: str) -> np.ndarray:
        """The images of a split as float32 in 0-1, computed once and shared read-only."""
        with self._scaled_lock:
            if name not in self._scaled:
                images = (self.split(name)[0] / np.float32(255.0)).astype(np.float32)
                images.flags.writeable = False
                self._scaled[name] = images
            return self._scaled[name]

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels of "train" or "valid"."""
        if name == "train":
            return self.train_images, self.train_labels
        if name == "valid":
            return self.valid_images, self.valid_labels
        raise ValueError(f"unknown split {name!r}: use 'train' or 'valid'")


def keras_cache_dir() -> Path:
    """The folder where Keras's `fashion_mnist.load_data()` looks for the files.

    Mirrors Keras: `$KERAS_HOME`, else `~/.keras`, else `/tmp/.keras` when home is read-only.
    """
    try:
        from keras.src.backend import config

        root = Path(os.path.expanduser(config.keras_home()))
    except ImportError:  # pragma: no cover - keras missing is reported elsewhere
        home = os.environ.get("KERAS_HOME")
        root = Path(home) if home else Path.home() / ".keras"
    if not os.access(root if root.exists() else root.parent, os.W_OK):
        root = Path("/tmp/.keras")
    return root / "datasets" / "fashion-mnist"


def candidate_dirs() -> list[Path]:
    """Folders that may hold the four IDX files, in the order they are tried."""
    folders = []
    named = os.environ.get(DATA_DIR_VARIABLE)
    if named:
        folders.append(Path(named))
    folders.append(DEBIAN_DIR)
    return folders


def _has_all_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILE_NAMES)


def prepare_cache() -> str:
    """Make sure Keras's cache holds the four files; say where they came from.

    Returns "keras cache", "linked from <folder>" or "download" (Keras will fetch them).
    Links when it can, copies when a link is refused (another file system, say).
    """
    cache = keras_cache_dir()
    if _has_all_files(cache):
        return "keras cache"
    for folder in candidate_dirs():
        if not _has_all_files(folder):
            continue
        cache.mkdir(parents=True, exist_ok=True)
        for name in FILE_NAMES:
            target = cache / name
            if target.is_file():
                continue
            if target.is_symlink():  # a dangling link left by an older install
                target.unlink()
            try:
                target.symlink_to((folder / name).resolve())
            except OSError:
                shutil.copyfile(folder / name, target)
        return f"linked from {folder}"
    return "download"


def missing_data_message() -> str:
    """The friendly text a learner sees when the data set cannot be had."""
    return (
        "I could not find the Fashion-MNIST images, and downloading them did not work.\n\n"
        "Any one of these fixes it:\n"
        "1. Install the Debian package: `sudo apt-get install dataset-fashion-mnist`.\n"
        f"2. Put the four files ({', '.join(FILE_NAMES)}) in a folder and set "
        f"`{DATA_DIR_VARIABLE}` to that folder.\n"
        "3. Connect to the internet once, so that Keras downloads them into "
        f"`{keras_cache_dir()}`."
    )


_lock = threading.Lock()
_dataset: Dataset | None = None


def load_dataset() -> Dataset:
    """Load Fashion-MNIST once per process through Keras, and share it read-only.

    Raises DataUnavailable with the three fixes when the files are nowhere to be had.
    """
    global _dataset
    with _lock:
        if _dataset is not None:
            return _dataset
        source = prepare_cache()
        if source == "download" and os.environ.get(NO_DOWNLOAD_VARIABLE):
            raise DataUnavailable(missing_data_message())
        try:
            from keras.datasets import fashion_mnist

            (train_images, train_labels), (valid_images, valid_labels) = (
                fashion_mnist.load_data()
            )
        except Exception as error:  # network errors come in many types
            raise DataUnavailable(missing_data_message()) from error
        arrays = (train_images, train_labels, valid_images, valid_labels)
        for array in arrays:
            array.flags.writeable = False
        _dataset = Dataset(*arrays, source=source)
        return _dataset


def is_loaded() -> bool:
    """Whether the arrays are already in memory (a cheap check for the UI)."""
    return _dataset is not None


def train_size() -> int:
    """How many training images the data set holds (60,000 for Fashion-MNIST); loads it once."""
    return len(load_dataset().train_images)


def valid_size() -> int:
    """How many validation images the data set holds (10,000 for Fashion-MNIST); loads it once."""
    return len(load_dataset().valid_images)
