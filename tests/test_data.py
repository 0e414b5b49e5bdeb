"""Fashion-MNIST is found offline and loaded once, read-only.

Keras fixes its cache folder when it is imported (from KERAS_HOME), so every "where do the files
come from" case runs in its own Python process. The four processes start together, because each
one spends seconds importing TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tutor.ml.data
from tutor.ml.data import CLASS_NAMES, DEBIAN_DIR, FILE_NAMES

ROOT = Path(__file__).resolve().parents[1]
MARK = "RESULT "

# Runs in the child: load (or fail to load) and report what happened as one JSON line.
CHILD_CODE = """
import json, os, pathlib, sys
import tutor.ml.data as d
empty_debian = os.environ.get("TEST_EMPTY_DEBIAN_DIR")
if empty_debian:
    d.DEBIAN_DIR = pathlib.Path(empty_debian)
out = {"candidates": [str(p) for p in d.candidate_dirs()], "cache": str(d.keras_cache_dir())}
try:
    ds = d.load_dataset()
except d.DataUnavailable as error:
    out["error"] = str(error)
    out["prepare"] = d.prepare_cache()
else:
    out.update(
        source=ds.source,
        train_shape=list(ds.train_images.shape),
        valid_shape=list(ds.valid_images.shape),
        train_42=int(ds.train_labels[42]),
        valid_6174=int(ds.valid_labels[6174]),
    )
cache = pathlib.Path(out["cache"])
out["cache_files"] = sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []
print("RESULT " + json.dumps(out))
"""


def _debian_installed() -> bool:
    return all((DEBIAN_DIR / name).is_file() for name in FILE_NAMES)


def _copy_files(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in FILE_NAMES:
        shutil.copyfile(source / name, target / name)
    return target


def _child_env(keras_home: Path, data_dir: Path | None = None, empty_debian: Path | None = None):
    env = dict(os.environ)
    for name in ("BRAIN_TUTOR_DATA_DIR", "TEST_EMPTY_DEBIAN_DIR"):
        env.pop(name, None)
    env["KERAS_HOME"] = str(keras_home)
    env["BRAIN_TUTOR_NO_DOWNLOAD"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if data_dir is not None:
        env["BRAIN_TUTOR_DATA_DIR"] = str(data_dir)
    if empty_debian is not None:
        env["TEST_EMPTY_DEBIAN_DIR"] = str(empty_debian)
    return env


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """Run the four loading scenarios in parallel child processes; their reports by name."""
    if not _debian_installed():
        pytest.skip(f"the Debian package dataset-fashion-mnist is not installed in {DEBIAN_DIR}")
    base = tmp_path_factory.mktemp("data-sources")
    empty = base / "empty"
    empty.mkdir()
    data_dir = _copy_files(DEBIAN_DIR, base / "own-folder")
    populated_home = base / "populated-keras"
    _copy_files(DEBIAN_DIR, populated_home / "datasets" / "fashion-mnist")
    setups = {
        # Empty Keras cache, nothing named: the Debian folder is linked in.
        "debian": dict(keras_home=base / "keras-debian"),
        # A named folder comes before the Debian folder (which also holds the files).
        "data_dir": dict(keras_home=base / "keras-named", data_dir=data_dir),
        # Keras's cache already holds the files: nothing else is needed.
        "keras_cache": dict(keras_home=populated_home, empty_debian=empty),
        # Nothing anywhere and no download allowed.
        "missing": dict(keras_home=base / "keras-missing", data_dir=empty, empty_debian=empty),
    }
    children = {
        name: subprocess.Popen(
            [sys.executable, "-c", CHILD_CODE],
            cwd=ROOT,
            env=_child_env(**setup),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, setup in setups.items()
    }
    reports = {}
    for name, child in children.items():
        stdout, stderr = child.communicate(timeout=240)
        lines = [line for line in stdout.splitlines() if line.startswith(MARK)]
        assert child.returncode == 0 and lines, f"{name} child failed:\n{stdout}\n{stderr[-3000:]}"
        reports[name] = json.loads(lines[-1][len(MARK) :])
    return {"base": base, "own_folder": data_dir, "empty": empty, **reports}


# ----- the arrays ---------------------------------------------------------------------------


def test_shapes_and_value_range(dataset):
    assert dataset.train_images.shape == (60000, 28, 28)
    assert dataset.valid_images.shape == (10000, 28, 28)
    assert dataset.train_labels.shape == (60000,)
    assert dataset.valid_labels.shape == (10000,)
    assert dataset.train_images.dtype == np.uint8
    assert int(dataset.train_images.min()) == 0 and int(dataset.train_images.max()) == 255


def test_labels_of_the_notebook_examples(dataset):
    assert int(dataset.train_labels[42]) == 9
    assert CLASS_NAMES[9] == "Ankle boot"
    assert int(dataset.valid_labels[6174]) == 7
    assert CLASS_NAMES[7] == "Sneaker"
    assert int(dataset.train_labels[8675]) == 6
    assert CLASS_NAMES[6] == "Shirt"


def test_six_thousand_training_images_per_class(dataset):
    counts = np.bincount(dataset.train_labels, minlength=10)
    assert counts.tolist() == [6000] * 10
    assert np.bincount(dataset.valid_labels, minlength=10).tolist() == [1000] * 10


@pytest.mark.parametrize("name", ["train_images", "train_labels", "valid_images", "valid_labels"])
def test_arrays_are_read_only(dataset, name):
    array = getattr(dataset, name)
    before = array.flat[0]
    with pytest.raises(ValueError):
        array.flat[0] = 1 if before != 1 else 2
    assert array.flat[0] == before


def test_scaled_images_are_shared_and_read_only(dataset):
    scaled = dataset.scaled("valid")
    assert scaled is dataset.scaled("valid")
    assert scaled.dtype == np.float32
    assert float(scaled.max()) == pytest.approx(1.0)
    np.testing.assert_allclose(scaled[6174], dataset.valid_images[6174] / 255.0, rtol=1e-6)
    with pytest.raises(ValueError):
        scaled[0, 0, 0] = 0.5
    with pytest.raises(ValueError):
        dataset.split("test")


def test_loaded_once(dataset):
    assert tutor.ml.data.is_loaded()
    assert tutor.ml.data.load_dataset() is dataset


# ----- where the files come from --------------------------------------------------------------


def _assert_loaded(report):
    assert "error" not in report, report.get("error")
    assert report["train_shape"] == [60000, 28, 28]
    assert report["valid_shape"] == [10000, 28, 28]
    assert report["train_42"] == 9
    assert report["valid_6174"] == 7
    assert sorted(report["cache_files"]) == sorted(FILE_NAMES)


def test_loads_from_the_debian_package(scenarios):
    report = scenarios["debian"]
    _assert_loaded(report)
    assert report["source"] == f"linked from {DEBIAN_DIR}"
    assert report["source"] == "linked from /usr/share/datasets/fashion-mnist"
    cache = Path(report["cache"])
    assert cache == scenarios["base"] / "keras-debian" / "datasets" / "fashion-mnist"
    for name in FILE_NAMES:
        assert (cache / name).resolve() == (DEBIAN_DIR / name).resolve()


def test_loads_from_the_named_folder_first(scenarios):
    report = scenarios["data_dir"]
    data_dir = scenarios["own_folder"]
    assert report["candidates"] == [str(data_dir), str(DEBIAN_DIR)]
    _assert_loaded(report)
    assert report["source"] == f"linked from {data_dir}"
    cache = Path(report["cache"])
    for name in FILE_NAMES:
        assert (cache / name).resolve() == (data_dir / name).resolve()


def test_loads_from_a_populated_keras_cache(scenarios):
    report = scenarios["keras_cache"]
    assert report["candidates"] == [str(scenarios["empty"])]  # no other folder could help
    _assert_loaded(report)
    assert report["source"] == "keras cache"


def test_clear_error_when_the_files_are_nowhere(scenarios):
    report = scenarios["missing"]
    assert report["prepare"] == "download"
    assert "source" not in report, "loading should have failed"
    message = report["error"]
    assert "apt-get install dataset-fashion-mnist" in message
    assert "BRAIN_TUTOR_DATA_DIR" in message
    assert "connect to the internet" in message.lower()
    assert report["cache"] in message  # where a download would go
    assert "Traceback" not in message
    assert report["cache_files"] == []
