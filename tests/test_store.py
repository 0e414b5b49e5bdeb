"""The learner store: records, models and runs saved and loaded, on SQLite and PostgreSQL.

Every store test runs against both back ends (`kind`); the PostgreSQL ones use the server that
`tests/pg.py` finds or starts, in a schema of their own, and skip only when there is none.
"""

from __future__ import annotations

import errno
import json
import math
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.local import free_port
from tests.pg import postgres_url, schema_url  # noqa: F401 (fixtures)
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.session import Run, Session
from tutor.storage import blobs as store_module
from tutor.storage.environment import open_store
from tutor.storage.postgres import PostgresStore
from tutor.storage.records import session_from_record, session_to_record
from tutor.storage.sql import MIGRATIONS, SCHEMA_VERSION
from tutor.storage.sqlite import DATABASE_FILE, MODELS_FOLDER, SQLiteStore
from tutor.storage.store import SAVING, InvalidLearnerId, Store, learner_key, valid_learner_id

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "'; DROP TABLE learners;-- ../../etc/passwd $(rm -rf /) `id` %s %(x)s ? \x00 \ud800 é 漢字 🙂"
BAD_IDS = [
    "../../etc/passwd",
    "'; DROP TABLE learners;--",
    "x" * 10_240,
    "",
    "short",
    "abcdefghijklmnop/q",
    "abcdefghijklmnopq\n",
    "abcdefghijklmnop\x00",
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐ",  # full-width letters: not ASCII
    None,
    12345678901234567890,
]


# --------------------------------------------------------------------------------------------
# Helpers


def same(first: Session, second: Session, weights: bool = True) -> bool:
    """Equal records (NaN equal to NaN: compared as JSON text); `weights`: also which runs have them."""

    def text(session: Session) -> str:
        record = session_to_record(session)
        if not weights:
            for run in record["runs"]:
                run.pop("has_weights")
        return json.dumps(record, sort_keys=True)

    return text(first) == text(second)


def small_model(seed: int, hidden: int = 8):
    from tutor.ml import backend

    model = backend.build_model(ModelSpec(hidden=((hidden, "relu"),)))
    backend.compile_model(model, TrainSettings())
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def weights_equal(first: list, second: list) -> bool:
    return len(first) == len(second) and all(
        np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, second, strict=True)
    )


def filled_session(seed: int = 0, with_model: bool = False) -> Session:
    """A learner with something in every saved field, hostile text included."""
    rng = np.random.default_rng(seed)
    session = Session()
    session.state_id = f"compile-{seed}"
    session.visited = ["welcome", "data", f"compile-{seed}"]
    session.model_spec = ModelSpec(hidden=((8, "relu"),))
    session.settings = TrainSettings(epochs=3, batch_size=64, optimizer="sgd", learning_rate=0.01,
                                     scaled=True, train_slice=2000, steps_per_execution=4)
    session.compiled = True
    session.history = [{"loss": 0.5 + seed, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.79}]
    session.runs = [
        Run(1, "Flatten → Dense(10)", TrainSettings(epochs=1), ModelSpec(),
            history=[{"loss": 0.7, "accuracy": 0.75, "val_accuracy": 0.74}], seconds=1.25,
            weights=[rng.standard_normal((784, 10)).astype(np.float32), np.zeros(10, np.float32)]),
        Run(2, "Flatten → Dense(10)", TrainSettings(learning_rate=100.0), ModelSpec(),
            history=[{"loss": math.nan, "accuracy": 0.1}], seconds=0.5, diverged=True, weights=None),
        Run(3, "CNN", TrainSettings(epochs=2), ModelSpec(hidden=((8, "relu"),), convolutional=True),
            history=[{"loss": 0.3}], seconds=2.0, stopped=True,
            weights=[rng.standard_normal((3, 3, 1, 32)).astype(np.float32)]),
    ]
    session.steps_per_second = 123.4
    session.card_queue = [("train", 5), ("valid", 7)]
    session.pending_card = ("train", 42)
    session.flashcard_answers = [
        {"split": "train", "index": 42, "guess": 3, "label": 3, "correct": True},
        {"split": "valid", "index": 1, "guess": 2, "label": 4, "correct": False},
    ]
    session.pending_check = "compile"
    session.check_attempts = {"data": 2, "compile": 1}
    session.checks_passed = {"data": True}
    session.transcript = [
        {"role": "user", "text": HOSTILE},
        {"role": "tutor", "text": f"**Welcome** learner {seed}"},
    ]
    session.code_log = [{"state": "data", "kind": "tool", "code": "import os; os.system('rm -rf /')"}]
    if with_model:
        session.model = small_model(seed)
    return session


@dataclass
class Place:
    """Where a test's data lives: a folder (SQLite) or a schema (PostgreSQL)."""

    kind: str
    where: Any
    stores: list[Store] = field(default_factory=list)

    def open(self, **options: Any) -> Store:
        if self.kind == "sqlite":
            store = SQLiteStore(self.where, **options)
        else:
            store = PostgresStore(self.where, **options)
        self.stores.append(store)
        return store

    def raw(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run one statement outside the store, committed."""
        if self.kind == "sqlite":
            Path(self.where).mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(Path(self.where) / DATABASE_FILE)
            try:
                with conn:
                    return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.where, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request, tmp_path) -> Iterator[Place]:
    if request.param == "sqlite":
        where: Any = tmp_path / "state"
    else:
        where = request.getfixturevalue("schema_url")
    spot = Place(request.param, where)
    yield spot
    spot.close()


def model_files(place: Place) -> list[str]:
    folder = Path(place.where) / MODELS_FOLDER
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------------------------
# Records


def test_record_round_trip_is_json_safe():
    session = filled_session()
    record = session_to_record(session)
    text = json.dumps(record)  # plain types only: this would raise on a tuple-free numpy value
    assert "Run(" not in text and "ModelSpec(" not in text
    back = session_from_record(json.loads(text))
    assert same(back, session, weights=False)
    assert back.id == session.id
    assert back.model_spec == session.model_spec and back.settings == session.settings
    assert back.pending_card == ("train", 42) and back.card_queue == [("train", 5), ("valid", 7)]
    assert back.runs[2].spec == session.runs[2].spec and back.runs[0].settings == TrainSettings(epochs=1)
    assert math.isnan(back.runs[1].history[0]["loss"])
    assert all(run.weights is None for run in back.runs) and back.model is None
    assert back.transcript[0]["text"] == HOSTILE
    assert back.flashcard_score == (1, 2)
    assert record["runs"][0]["has_weights"] and not record["runs"][1]["has_weights"]


def test_code_log_records_round_trip_and_old_entries_load():
    session = Session()
    record = {"tool": "train", "model": {"hidden": [[64, "relu"]], "convolutional": False},
              "settings": {"epochs": 3, "batch_size": 64, "scaled": True, "train_slice": None}}
    session.code_log = [
        {"state": "training", "kind": "training", "code": "history = model.fit(...)", "records": [record]},
        {"state": "data", "kind": "tool", "code": "model.summary()"},  # saved before records
    ]
    back = session_from_record(json.loads(json.dumps(session_to_record(session))))
    assert back.code_log == session.code_log
    assert back.code_log[0]["records"][0]["model"]["hidden"] == [[64, "relu"]]
    assert "records" not in back.code_log[1]


def test_record_defaults_and_newer_formats():
    old = session_from_record({"state_id": "data", "visited": ["welcome", "data"]})
    assert old.state_id == "data" and old.runs == [] and old.settings == TrainSettings()
    with pytest.raises(ValueError, match="newer"):
        session_from_record({"format": 99})


def test_learner_ids():
    assert valid_learner_id(Session().id)
    for bad in BAD_IDS:
        assert not valid_learner_id(bad)
        with pytest.raises(InvalidLearnerId):
            learner_key(bad)
    first, second = Session().id, Session().id
    assert learner_key(first) != learner_key(second) and len(learner_key(first)) == 64


# --------------------------------------------------------------------------------------------
# Save and load


def test_save_and_load_everything(place):
    session = filled_session(with_model=True)
    store = place.open()
    assert store.health() == SAVING and store.saving
    assert store.save(session)
    store.close()

    loaded = place.open().load(session.id)
    assert loaded is not None and loaded is not session
    assert same(loaded, session)
    assert loaded.id == session.id
    assert weights_equal(loaded.model.get_weights(), session.model.get_weights())
    assert loaded.model.compiled  # the learner had compiled it; training can go on at once
    assert weights_equal(loaded.runs[0].weights, session.runs[0].weights)
    assert loaded.runs[1].weights is None
    assert weights_equal(loaded.runs[2].weights, session.runs[2].weights)
    assert loaded.training is None and not loaded.is_training


def test_unknown_learner_loads_nothing(place):
    assert place.open().load(Session().id) is None


def test_an_unchanged_model_is_not_written_again(place, monkeypatch):
    store = place.open()
    calls = []
    original = store._prepare_model
    monkeypatch.setattr(store, "_prepare_model", lambda *a: calls.append(1) or original(*a))
    session = filled_session(with_model=True)
    assert store.save(session)
    session.transcript.append({"role": "user", "text": "next"})
    assert store.save(session)
    assert len(calls) == 1
    session.model.set_weights([w + 1 for w in session.model.get_weights()])
    assert store.save(session)
    assert len(calls) == 2
    if place.kind == "sqlite":
        assert len(model_files(place)) == 1  # the old file went once the new one was committed
    loaded = place.open().load(session.id)
    assert weights_equal(loaded.model.get_weights(), session.model.get_weights())
    assert loaded.transcript[-1]["text"] == "next"


def test_reset_drops_the_model_and_old_runs(place):
    store = place.open()
    session = filled_session(with_model=True)
    assert store.save(session)
    session.reset()
    session.runs = [Run(1, "new", TrainSettings(), weights=[np.arange(5, dtype=np.float32)])]
    assert store.save(session)
    loaded = place.open().load(session.id)
    assert loaded.model is None and not loaded.compiled
    assert [run.model for run in loaded.runs] == ["new"]
    assert weights_equal(loaded.runs[0].weights, [np.arange(5, dtype=np.float32)])
    assert place.raw("SELECT count(*) FROM run_weights")[0][0] == 1
    if place.kind == "sqlite":
        assert model_files(place) == []
    else:
        assert place.raw("SELECT count(*) FROM models")[0][0] == 0


def test_a_running_fit_keeps_the_model_saved_before(place):
    store = place.open()
    session = filled_session(with_model=True)
    assert store.save(session)
    before = session.model.get_weights()
    session.model.set_weights([w * 2 for w in before])
    holding, release = threading.Event(), threading.Event()

    def fit() -> None:
        with session.model_lock:
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=fit)
    thread.start()
    try:
        holding.wait(10)
        session.state_id = "training"
        assert store.save(session)  # does not wait for the fit
    finally:
        release.set()
        thread.join()
    loaded = place.open().load(session.id)
    assert loaded.state_id == "training"
    assert weights_equal(loaded.model.get_weights(), before)


def test_two_learners_never_mix(place):
    store = place.open()
    first, second = filled_session(1, with_model=True), filled_session(2, with_model=True)
    second.transcript.append({"role": "user", "text": "only the second learner said this"})
    assert store.save(first) and store.save(second)
    other = place.open()
    one, two = other.load(first.id), other.load(second.id)
    assert same(one, first) and same(two, second) and not same(one, two)
    assert weights_equal(one.model.get_weights(), first.model.get_weights())
    assert weights_equal(two.model.get_weights(), second.model.get_weights())
    assert not weights_equal(one.model.get_weights(), two.model.get_weights())
    assert weights_equal(one.runs[0].weights, first.runs[0].weights)
    assert weights_equal(two.runs[0].weights, second.runs[0].weights)


def test_forget_me_deletes_everything_of_that_learner(place):
    store = place.open()
    leaving, staying = filled_session(1, with_model=True), filled_session(2, with_model=True)
    assert store.save(leaving) and store.save(staying)
    assert store.delete(leaving.id)
    assert store.load(leaving.id) is None
    key = learner_key(leaving.id)
    for table in ("learners", "run_weights", "models"):
        assert place.raw(f"SELECT count(*) FROM {table} WHERE learner = ?", (key,))[0][0] == 0
    if place.kind == "sqlite":
        assert not [name for name in model_files(place) if key in name]
        assert len(model_files(place)) == 1
        database = (Path(place.where) / DATABASE_FILE).read_bytes()
        assert b"**Welcome** learner 1" not in database  # overwritten, not just unlinked
        assert b"**Welcome** learner 2" in database
    assert same(place.open().load(staying.id), staying)
    assert store.delete(leaving.id)  # forgetting twice is fine


def test_ids_are_stored_only_as_hashes(place):
    session = filled_session(with_model=True)
    assert place.open().save(session)
    assert place.raw("SELECT learner FROM learners") == [(learner_key(session.id),)]
    assert session.id not in place.raw("SELECT record FROM learners")[0][0]
    if place.kind == "sqlite":
        assert all(session.id not in name for name in model_files(place))
        assert session.id.encode() not in (Path(place.where) / DATABASE_FILE).read_bytes()


@pytest.mark.parametrize("bad_id", BAD_IDS, ids=lambda value: repr(value)[:20])
def test_invalid_ids_touch_nothing(place, bad_id, monkeypatch):
    store = place.open()
    assert store.save(filled_session())

    def listing() -> list:
        root = Path(place.where)
        return sorted((str(path), path.stat().st_size, path.stat().st_mtime_ns)
                      for path in root.rglob("*"))

    before_files = listing() if place.kind == "sqlite" else None
    before_rows = place.raw("SELECT learner, record FROM learners")
    touched = []
    monkeypatch.setattr(store, "_connection", lambda *a: touched.append("connection"))
    monkeypatch.setattr(store, "_transaction", lambda *a: touched.append("transaction"))
    monkeypatch.setattr(store, "_prepare_model", lambda *a: touched.append("model"))
    session = filled_session()
    session.id = bad_id
    assert store.save(session) is False
    with pytest.raises(InvalidLearnerId):
        store.load(bad_id)
    with pytest.raises(InvalidLearnerId):
        store.delete(bad_id)
    assert touched == []
    assert place.raw("SELECT learner, record FROM learners") == before_rows
    if place.kind == "sqlite":
        assert listing() == before_files


def test_damaged_saved_data_costs_only_that_part(place):
    store = place.open()
    session = filled_session(with_model=True)
    assert store.save(session)
    if place.kind == "sqlite":
        for name in model_files(place):
            (Path(place.where) / MODELS_FOLDER / name).write_bytes(b"not a keras file")
    else:
        place.raw("UPDATE models SET keras = ?", (b"not a keras file",))
    loaded = store.load(session.id)
    assert loaded.model is None and not loaded.compiled  # the next step builds a fresh one
    assert loaded.transcript == session.transcript
    assert weights_equal(loaded.runs[0].weights, session.runs[0].weights)

    unreadable = Session().id
    place.raw("INSERT INTO learners (learner, record, updated_at) VALUES (?, ?, ?)",
              (learner_key(unreadable), json.dumps({"format": 99}), 0.0))
    assert store.load(unreadable) is None
    assert store.health() == SAVING


def test_concurrent_saves_from_many_threads(place):
    store = place.open()
    sessions = [filled_session(seed) for seed in range(6)]
    results: list[bool] = []

    def work(session: Session) -> None:
        for turn in range(5):
            session.transcript.append({"role": "user", "text": f"turn {turn}"})
            results.append(store.save(session))

    threads = [threading.Thread(target=work, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 30
    for session in sessions:
        assert same(store.load(session.id), session)


# --------------------------------------------------------------------------------------------
# Schema versions and migrations


def test_a_new_database_is_at_the_current_version(place):
    place.open().save(filled_session())
    assert place.raw("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert [version for version, _ in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


# The version 1 schema, written out as it shipped (not taken from MIGRATIONS, which could drift).
V1_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
    "CREATE TABLE learners (learner TEXT PRIMARY KEY, record TEXT NOT NULL,"
    " updated_at DOUBLE PRECISION NOT NULL)",
)


def test_a_version_1_database_is_migrated_and_keeps_its_data(place):
    for statement in V1_SCHEMA:
        place.raw(statement)
    learner = Session().id
    v1_record = {  # what version 1 wrote: no run weights anywhere, no `has_weights`
        "format": 1, "state_id": "train", "visited": ["welcome", "train"],
        "model_spec": {"hidden": [[32, "relu"]], "convolutional": False},
        "settings": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "learning_rate": None,
                     "scaled": True, "train_slice": None, "steps_per_execution": 1},
        "compiled": True, "history": [{"loss": 0.4, "accuracy": 0.85}],
        "runs": [{"number": 1, "model": "Flatten → Dense(32, relu) → Dense(10)",
                  "settings": {"epochs": 2}, "spec": {"hidden": [[32, "relu"]]},
                  "history": [{"loss": 0.4}], "seconds": 3.5, "stopped": False, "diverged": False}],
        "flashcard_answers": [{"split": "train", "index": 1, "guess": 0, "label": 0, "correct": True}],
        "checks_passed": {"data": True}, "transcript": [{"role": "user", "text": HOSTILE}],
    }
    place.raw("INSERT INTO learners (learner, record, updated_at) VALUES (?, ?, ?)",
              (learner_key(learner), json.dumps(v1_record), 1.0))

    store = place.open()
    assert store.saving, store.health()
    assert place.raw("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    loaded = store.load(learner)
    assert loaded.state_id == "train" and loaded.checks_passed == {"data": True}
    assert loaded.model_spec == ModelSpec(hidden=((32, "relu"),))
    assert loaded.runs[0].seconds == 3.5 and loaded.runs[0].weights is None
    assert loaded.transcript[0]["text"] == HOSTILE and loaded.flashcard_score == (1, 1)
    assert loaded.model is None  # version 1 kept no model: the next step builds one

    loaded.model = small_model(7, hidden=32)
    loaded.runs[0].weights = [np.ones(3, np.float32)]
    assert store.save(loaded)  # the new tables work
    again = place.open().load(learner)
    assert weights_equal(again.model.get_weights(), loaded.model.get_weights())
    assert weights_equal(again.runs[0].weights, [np.ones(3, np.float32)])


def test_a_newer_schema_is_left_alone(place):
    session = filled_session()
    assert place.open().save(session)
    place.raw("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    before = place.raw("SELECT record FROM learners")
    store = place.open()
    assert not store.saving
    assert "newer Brain Tutor" in store.health() and store.health().startswith("Not saving")
    session.state_id = "changed"
    assert store.save(session) is False
    assert store.load(session.id) is None
    assert place.raw("SELECT record FROM learners") == before


# --------------------------------------------------------------------------------------------
# Faults: the tutor keeps teaching, the store says why it is not saving


def check_not_saving(store: Store, words: str) -> None:
    session = filled_session()
    assert store.save(session) is False
    assert store.health() == f"Not saving: {words}.", store.health()
    assert not store.saving
    assert store.load(session.id) is None
    assert store.delete(session.id) is False


def test_a_data_folder_that_cannot_exist(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    check_not_saving(SQLiteStore(blocker / "state"), "the data folder cannot be created")
    check_not_saving(open_store({"BRAIN_TUTOR_STATE_DIR": str(blocker / "state")}),
                     "the data folder cannot be created")


def test_a_full_database_keeps_the_last_save(tmp_path):
    store = SQLiteStore(tmp_path / "state", max_bytes=96 * 1024)
    session = filled_session()
    session.runs = []
    assert store.save(session), store.health()
    saved = session_to_record(session)
    session.transcript.append({"role": "tutor", "text": "x" * 400_000})
    assert store.save(session) is False
    assert store.health() == "Not saving: the disk is full."
    assert session_to_record(store.load(session.id)) == saved
    session.transcript.pop()  # space again: saving resumes and the page hears of it
    session.state_id = "after"
    assert store.save(session) and store.health() == SAVING
    assert store.load(session.id).state_id == "after"


def test_a_model_file_that_cannot_be_written(place, monkeypatch):
    store = place.open()
    session = filled_session(with_model=True)
    assert store.save(session)
    before = session.model.get_weights()

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "_write_keras_file", full)
    monkeypatch.setattr(store_module, "_keras_bytes", full)
    session.model.set_weights([w + 1 for w in before])
    session.state_id = "lost"
    assert store.save(session) is False
    assert store.health() == "Not saving: the disk is full."
    loaded = store.load(session.id)
    assert loaded.state_id == "compile-0"
    assert weights_equal(loaded.model.get_weights(), before)


READ_ONLY_CHILD = r"""
import json, os, subprocess, sys
from tutor.session import Session
from tutor.storage.sqlite import SQLiteStore

def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)

base = sys.argv[1]
out = {}
session = Session()
session.transcript = [{"role": "user", "text": "hello"}]

# A read-only file system from the start (a container with a read-only root, say).
os.makedirs(base + "/ro")
mount("-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", base + "/ro")
store = SQLiteStore(base + "/ro/state")
out["ro_fresh"] = [store.save(session), store.health(), store.load(session.id) is None]

# A data folder that turns read-only under a running tutor, then writable again.
os.makedirs(base + "/rw")
mount("--bind", base + "/rw", base + "/rw")
store = SQLiteStore(base + "/rw")
out["before"] = store.save(session)
store.close()  # a file open for writing would keep the remount from happening
mount("-o", "remount,bind,ro", base + "/rw")
session.state_id = "while read-only"
out["during"] = [store.save(session), store.health()]
mount("-o", "remount,bind,rw", base + "/rw")
out["after"] = [store.save(session), store.health(), store.load(session.id).state_id]

# A disk that fills up: a 192 KiB file system.
os.makedirs(base + "/full")
mount("-t", "tmpfs", "-o", "size=192k", "tmpfs", base + "/full")
store = SQLiteStore(base + "/full")
out["small"] = store.save(session)
session.transcript.append({"role": "tutor", "text": "y" * 400_000})
out["full"] = [store.save(session), store.health(), store.load(session.id).state_id]
print(json.dumps(out))
"""


def test_real_read_only_and_full_file_systems(tmp_path):
    """As root, chmod does not stop writes: real read-only and full mounts, in a private namespace."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs `unshare -m` (root, or a user namespace) to mount a read-only folder")
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", sys.executable, "-c", READ_ONLY_CHILD,
         str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode and "mount" in done.stderr and "permission denied" in done.stderr.lower():
        pytest.skip(f"cannot mount here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ro_fresh"] == [False, "Not saving: the data folder is read-only.", True]
    assert out["before"] is True
    assert out["during"] == [False, "Not saving: the data folder is read-only."]
    assert out["after"] == [True, SAVING, "while read-only"]
    assert out["small"] is True
    assert out["full"] == [False, "Not saving: the disk is full.", "while read-only"]


def test_an_unreachable_postgres_server():
    pytest.importorskip("psycopg")
    store = PostgresStore(f"postgresql://tutor@127.0.0.1:{free_port()}/none", connect_timeout=2)
    check_not_saving(store, "the database server cannot be reached")
    assert "127.0.0.1" in store.location and "password" not in store.location


def test_a_read_only_postgres_database(schema_url):  # noqa: F811
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    session = filled_session()
    assert PostgresStore(schema_url).save(session)
    options = conninfo_to_dict(schema_url)["options"] + " -c default_transaction_read_only=on"
    store = PostgresStore(make_conninfo(schema_url, options=options))
    assert same(store.load(session.id), session)  # still loads: the schema is current
    session.state_id = "changed"
    assert store.save(session) is False
    assert store.health() == "Not saving: the database is read-only."
    store.close()


def test_postgres_reconnects_after_the_connection_drops(schema_url):  # noqa: F811
    import psycopg

    store = PostgresStore(schema_url)
    session = filled_session()
    assert store.save(session)
    pid = store._conn.info.backend_pid
    with psycopg.connect(schema_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    session.state_id = "after the drop"
    assert store.save(session), store.health()
    assert store._conn.info.backend_pid != pid
    assert store.load(session.id).state_id == "after the drop"
    store.close()


def test_open_store_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = open_store({})
    assert isinstance(default, SQLiteStore) and default.folder == tmp_path / "tutor-data"
    assert (tmp_path / "tutor-data" / DATABASE_FILE).exists()
    chosen = open_store({"BRAIN_TUTOR_STATE_DIR": str(tmp_path / "chosen")})
    assert chosen.folder == tmp_path / "chosen"
    off = open_store({"BRAIN_TUTOR_STATE_DIR": "off"})
    assert type(off) is Store and off.save(filled_session()) is False
    assert off.health() == "Not saving: BRAIN_TUTOR_STATE_DIR is 'off'."
    wrong = open_store({"BRAIN_TUTOR_DATABASE_URL": "mysql://somewhere/db"})
    assert type(wrong) is Store and "postgresql://" in wrong.health()
    pytest.importorskip("psycopg")
    url = f"postgresql://u:secret@127.0.0.1:{free_port()}/db"
    remote = open_store({"BRAIN_TUTOR_DATABASE_URL": url, "BRAIN_TUTOR_STATE_DIR": "off"})
    assert isinstance(remote, PostgresStore) and "secret" not in remote.location
    for store in (default, chosen, remote):
        store.close()


# --------------------------------------------------------------------------------------------
# Durability: kill -9 in the middle of saving loses nothing that was acknowledged


DURABILITY_CHILD = r"""
import sys
import numpy as np
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.session import Run, Session
from tutor.storage.postgres import PostgresStore
from tutor.storage.sqlite import SQLiteStore

kind, where, learner, with_model = sys.argv[1:5]
store = SQLiteStore(where) if kind == "sqlite" else PostgresStore(where)
session = store.load(learner) or Session(id=learner)
if with_model == "1" and session.model is None:
    from tutor.ml import backend
    session.model = backend.build_model(ModelSpec(hidden=((16, "relu"),)))
    session.model_spec = ModelSpec(hidden=((16, "relu"),))
turn = len(session.transcript)
while True:
    session.transcript.append({"role": "user", "text": f"message {turn}"})
    session.state_id = f"step-{turn}"
    if session.model is not None:
        session.model.set_weights([np.full_like(w, turn) for w in session.model.get_weights()])
    if turn % 3 == 0:
        session.runs.append(Run(len(session.runs) + 1, f"run at {turn}", TrainSettings(),
                                history=[{"loss": float(turn)}],
                                weights=[np.full(2000, turn, np.float32)]))
    if not store.save(session):
        print("failed", store.health(), flush=True)
        sys.exit(3)
    print(f"ack {turn}", flush=True)
    turn += 1
"""


def run_and_kill(place: Place, learner: str, with_model: bool, acks_wanted: int,
                 rng: np.random.Generator) -> int:
    """Start a saving child, SIGKILL it mid-save after some acks; the last turn acknowledged."""
    child = subprocess.Popen(
        [sys.executable, "-c", DURABILITY_CHILD, place.kind, str(place.where), learner,
         "1" if with_model else "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    acked, buffer = -1, b""
    deadline = time.monotonic() + 120
    try:
        while buffer.count(b"ack ") < acks_wanted:
            assert time.monotonic() < deadline, "the child saved too slowly"
            ready, _, _ = select.select([child.stdout], [], [], 1)
            if ready:
                chunk = os.read(child.stdout.fileno(), 65536)
                assert chunk, f"the child ended early ({child.wait()}): {buffer[-300:]!r}"
                buffer += chunk
                acked = last_ack(buffer, acked)
        time.sleep(float(rng.uniform(0, 0.05)))  # somewhere inside the next save
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        buffer += child.stdout.read()  # acks printed before the kill count too
        child.stdout.close()
    assert b"failed" not in buffer, buffer[-300:]
    return last_ack(buffer, acked)


def last_ack(buffer: bytes, acked: int) -> int:
    for line in buffer.split(b"\n"):
        if line.startswith(b"ack "):
            acked = max(acked, int(line.split()[1]))
    return acked


def test_kill_9_mid_save_loses_nothing_acknowledged(place):
    learner = Session().id
    rng = np.random.default_rng(6)
    acked = -1
    for with_model in (False, False, True):  # the model round last: its child imports Keras
        acked = max(acked, run_and_kill(place, learner, with_model, 5 if with_model else 25, rng))
        loaded = place.open().load(learner)
        turns = len(loaded.transcript)
        assert turns - 1 >= acked, f"acknowledged turn {acked} lost (have {turns})"
        assert [m["text"] for m in loaded.transcript] == [f"message {n}" for n in range(turns)]
        assert loaded.state_id == f"step-{turns - 1}"
        assert [run.model for run in loaded.runs] == [f"run at {n}" for n in range(0, turns, 3)]
        for run in loaded.runs:
            turn = int(run.model.split()[-1])
            assert weights_equal(run.weights, [np.full(2000, turn, np.float32)])
        if with_model:  # the model saved with the record, never one from another turn
            assert all(np.all(w == turns - 1) for w in loaded.model.get_weights())
    if place.kind == "sqlite":
        assert place.raw("PRAGMA integrity_check") == [("ok",)]
        assert place.raw("PRAGMA journal_mode") == [("wal",)]
