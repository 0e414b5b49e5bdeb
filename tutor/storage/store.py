"""The learner store: each learner's progress saved as it happens, and loaded back after a restart.

What is saved: the whole `Session` but its runtime parts (lesson state, checks, flashcards, chat,
code log, runs with their settings and histories) as one JSON record, each run's weights as
`np.savez` bytes, and the current Keras model as a `.keras` file.

Two back ends share the schema, the migrations and every statement:

* SQLite (the default): `brain-tutor.sqlite3` in the folder `BRAIN_TUTOR_STATE_DIR` (default
  `./tutor-data`), in WAL mode with `synchronous=FULL`, so a save that returned True survives a
  kill -9 and a power cut. The model is a Keras file in `models/` beside the database, written to a
  temporary file, flushed to disk and renamed into place before the row that names it commits.
* PostgreSQL, when `BRAIN_TUTOR_DATABASE_URL` is `postgresql://...`: for several app replicas
  behind a load balancer. Replicas share no disk, so the model's Keras file goes into the database
  (a `bytea` column) in the same transaction as the record.

Safety: a learner id is checked (16-128 characters of `A-Z a-z 0-9 - _`, what
`secrets.token_urlsafe` makes) before it touches anything, and only its SHA-256 is stored: it is the
database key and the model file's name, so no learner input becomes a file path, and the ids
(which work like passwords) are not readable from the database or the folder. Every statement is
a constant with bound parameters. Faults: a full disk, a read-only folder, a locked or unreachable
database never raise out of `save`; it logs, returns False and `health()` says why, and the tutor
keeps teaching without saving.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tutor.ml import saving
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.session import Run, Session

log = logging.getLogger(__name__)

DATABASE_URL_VARIABLE = "BRAIN_TUTOR_DATABASE_URL"
STATE_DIR_VARIABLE = "BRAIN_TUTOR_STATE_DIR"
DEFAULT_STATE_DIR = "tutor-data"
OFF_VALUES = frozenset({"off", "none", "false", "0", "no"})
DATABASE_FILE = "brain-tutor.sqlite3"
MODELS_FOLDER = "models"

RECORD_FORMAT = 1  # the layout of the JSON record; session_from_record reads this one and older
LEARNER_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
SAVING = "Progress is saved as you go."

# Schema history. Each entry: (version, statements). Never edit a released step: append a new one.
# The SQL is shared: SQLite accepts PostgreSQL's type names (BYTEA gets blob-compatible affinity,
# DOUBLE PRECISION real affinity), and both speak INSERT ... ON CONFLICT ... DO UPDATE.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE learners ("
            " learner TEXT PRIMARY KEY,"  # SHA-256 of the learner id, never the id itself
            " record TEXT NOT NULL,"  # session_to_record as JSON
            " updated_at DOUBLE PRECISION NOT NULL)",
        ),
    ),
    (
        2,
        (
            "ALTER TABLE learners ADD COLUMN model_digest TEXT",
            "CREATE TABLE run_weights ("
            " learner TEXT NOT NULL REFERENCES learners (learner) ON DELETE CASCADE,"
            " number INTEGER NOT NULL,"
            " digest TEXT NOT NULL,"  # of the run's record: the weights belong to that run only
            " weights BYTEA NOT NULL,"  # np.savez of the weight arrays
            " PRIMARY KEY (learner, number))",
            "CREATE TABLE models ("  # PostgreSQL only; SQLite keeps the Keras file beside it
            " learner TEXT PRIMARY KEY REFERENCES learners (learner) ON DELETE CASCADE,"
            " digest TEXT NOT NULL,"
            " keras BYTEA NOT NULL)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

SELECT_LEARNER = "SELECT record, model_digest FROM learners WHERE learner = ?"
SELECT_MODEL_DIGEST = "SELECT model_digest FROM learners WHERE learner = ?"
UPSERT_LEARNER = (
    "INSERT INTO learners (learner, record, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (learner) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at"
)
SET_MODEL_DIGEST = "UPDATE learners SET model_digest = ? WHERE learner = ?"
SELECT_RUN_DIGESTS = "SELECT number, digest FROM run_weights WHERE learner = ?"
SELECT_RUN_WEIGHTS = "SELECT number, digest, weights FROM run_weights WHERE learner = ?"
UPSERT_RUN_WEIGHTS = (
    "INSERT INTO run_weights (learner, number, digest, weights) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (learner, number) DO UPDATE SET digest = excluded.digest, weights = excluded.weights"
)
DELETE_RUN_WEIGHTS = "DELETE FROM run_weights WHERE learner = ? AND number = ?"
UPSERT_MODEL = (
    "INSERT INTO models (learner, digest, keras) VALUES (?, ?, ?) "
    "ON CONFLICT (learner) DO UPDATE SET digest = excluded.digest, keras = excluded.keras"
)
SELECT_MODEL = "SELECT keras FROM models WHERE learner = ? AND digest = ?"
DELETE_MODEL = "DELETE FROM models WHERE learner = ?"
DELETE_ALL_RUN_WEIGHTS = "DELETE FROM run_weights WHERE learner = ?"
DELETE_LEARNER = "DELETE FROM learners WHERE learner = ?"
CREATE_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
SELECT_VERSION = "SELECT version FROM schema_version"
INSERT_VERSION = "INSERT INTO schema_version (version) VALUES (?)"
UPDATE_VERSION = "UPDATE schema_version SET version = ?"


class InvalidLearnerId(ValueError):
    """A learner id that is not one the tutor makes: refused before it is used anywhere."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Brain Tutor; this one does not write to it."""


# --------------------------------------------------------------------------------------------
# Learner ids


def valid_learner_id(value: object) -> bool:
    """Whether `value` looks like an id from `secrets.token_urlsafe` (16-128 URL-safe characters)."""
    return isinstance(value, str) and LEARNER_ID.fullmatch(value) is not None


def new_learner_id() -> str:
    """A fresh id, the same kind `Session` makes."""
    return secrets.token_urlsafe(16)


def learner_key(learner_id: str) -> str:
    """The stored key of a checked id: 64 hex digits, used for the row and the model file name."""
    if not valid_learner_id(learner_id):
        raise InvalidLearnerId("a learner id is 16 to 128 letters, digits, '-' or '_'")
    return hashlib.sha256(b"brain-tutor-learner:" + learner_id.encode("ascii")).hexdigest()


# --------------------------------------------------------------------------------------------
# Session <-> record


def _plain(value: Any) -> Any:
    """A JSON-safe copy: dicts, lists, str, int, float, bool and None only."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    return str(value)


def _spec_record(spec: ModelSpec) -> dict[str, Any]:
    return {
        "hidden": [[int(units), str(activation)] for units, activation in spec.hidden],
        "convolutional": bool(spec.convolutional),
    }


def _spec_from(record: Mapping[str, Any] | None) -> ModelSpec:
    record = record or {}
    hidden = tuple((int(units), str(activation)) for units, activation in record.get("hidden", ()))
    return ModelSpec(hidden=hidden, convolutional=bool(record.get("convolutional", False)))


def _settings_from(record: Mapping[str, Any] | None) -> TrainSettings:
    known = {item.name for item in dataclasses.fields(TrainSettings)}
    return TrainSettings(**{key: value for key, value in (record or {}).items() if key in known})


def _run_record(run: Run) -> dict[str, Any]:
    return {
        "number": int(run.number),
        "model": str(run.model),
        "settings": _plain(run.settings),
        "spec": _spec_record(run.spec),
        "history": _plain(run.history),
        "seconds": float(run.seconds),
        "stopped": bool(run.stopped),
        "diverged": bool(run.diverged),
        "has_weights": run.weights is not None,
    }


def _run_from(record: Mapping[str, Any]) -> Run:
    return Run(
        number=int(record["number"]),
        model=str(record.get("model", "")),
        settings=_settings_from(record.get("settings")),
        spec=_spec_from(record.get("spec")),
        history=[dict(row) for row in record.get("history", [])],
        seconds=float(record.get("seconds", 0.0)),
        stopped=bool(record.get("stopped", False)),
        diverged=bool(record.get("diverged", False)),
    )


def _record_and_runs(session: Session) -> tuple[dict[str, Any], list[Run]]:
    runs = list(session.runs)  # one snapshot: a training thread may append while we save
    pending = session.pending_card
    record = {
        "format": RECORD_FORMAT,
        "id": session.id,
        "state_id": session.state_id,
        "visited": _plain(session.visited),
        "model_spec": _spec_record(session.model_spec),
        "settings": _plain(session.settings),
        "compiled": bool(session.compiled),
        "history": _plain(session.history),
        "runs": [_run_record(run) for run in runs],
        "steps_per_second": session.steps_per_second,
        "card_queue": [[str(split), int(index)] for split, index in session.card_queue],
        "pending_card": None if pending is None else [str(pending[0]), int(pending[1])],
        "flashcard_answers": _plain(session.flashcard_answers),
        "pending_check": session.pending_check,
        "check_attempts": _plain(session.check_attempts),
        "checks_passed": _plain(session.checks_passed),
        "transcript": _plain(session.transcript),
        "code_log": _plain(session.code_log),
    }
    return record, runs


def session_to_record(session: Session) -> dict[str, Any]:
    """Everything about a learner but the model, its lock, the training thread and the RNG.

    Plain JSON types only (dataclasses become dicts, tuples lists); runs carry `has_weights`
    but not the weights, which the store keeps apart. Floats may be NaN (a diverged run).
    """
    return _record_and_runs(session)[0]


def session_from_record(record: Mapping[str, Any]) -> Session:
    """The Session a record describes. The model and the runs' weights are loaded separately."""
    if int(record.get("format", 1)) > RECORD_FORMAT:
        raise ValueError(f"record format {record.get('format')} is newer than this Brain Tutor")
    pending = record.get("pending_card")
    session = Session(
        state_id=str(record.get("state_id", "")),
        visited=[str(item) for item in record.get("visited", [])],
        model_spec=_spec_from(record.get("model_spec")),
        settings=_settings_from(record.get("settings")),
        compiled=bool(record.get("compiled", False)),
        history=[dict(row) for row in record.get("history", [])],
        runs=[_run_from(run) for run in record.get("runs", [])],
        steps_per_second=record.get("steps_per_second"),
        card_queue=[(str(split), int(index)) for split, index in record.get("card_queue", [])],
        pending_card=None if pending is None else (str(pending[0]), int(pending[1])),
        flashcard_answers=[dict(answer) for answer in record.get("flashcard_answers", [])],
        pending_check=record.get("pending_check"),
        check_attempts={str(key): int(value) for key, value in record.get("check_attempts", {}).items()},
        checks_passed={str(key): bool(value) for key, value in record.get("checks_passed", {}).items()},
        transcript=[dict(message) for message in record.get("transcript", [])],
        code_log=[dict(entry) for entry in record.get("code_log", [])],
    )
    if record.get("id"):
        session.id = str(record["id"])
    return session


def _json(value: Any) -> str:
    # ensure_ascii: no raw NUL or lone surrogate reaches the database (PostgreSQL refuses both).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


def _run_digest(run_record: Mapping[str, Any]) -> str:
    return _digest(json.dumps(run_record, sort_keys=True).encode())


# --------------------------------------------------------------------------------------------
# Weights


def arrays_to_bytes(arrays: Sequence[Any]) -> bytes:
    """A list of arrays as `np.savez` bytes (uncompressed: trained floats barely compress)."""
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(array) for array in arrays])
    return buffer.getvalue()


def arrays_from_bytes(data: bytes) -> list[np.ndarray]:
    """The list `arrays_to_bytes` stored, in order; never unpickles anything."""
    with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
        return [archive[f"arr_{index}"] for index in range(len(archive.files))]


def _model_digest(session: Session) -> str:
    """What identifies the saved model: its weights, spec, settings and whether it is compiled."""
    meta = _json(
        {
            "spec": _spec_record(session.model_spec),
            "settings": _plain(session.settings),
            "compiled": bool(session.compiled),
        }
    ).encode()
    parts = [meta]
    for weights in session.model.get_weights():
        array = np.ascontiguousarray(weights)
        parts += [f"{array.dtype.str}{array.shape}".encode(), array.tobytes()]
    return _digest(*parts)


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


def _attach_model(session: Session, load: Any) -> None:
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


# --------------------------------------------------------------------------------------------
# Stores


class Store:
    """Where learners' progress goes. This base class saves nothing (saving turned off)."""

    kind = "none"

    def __init__(self, reason: str = "Not saving: saving is turned off.") -> None:
        self._reason = reason

    def save(self, session: Session) -> bool:
        """Save everything about `session`; True once it is durable. Never raises."""
        return False

    def load(self, learner_id: str) -> Session | None:
        """The saved learner, model included, or None (not saved, or the store cannot be read).

        Raises InvalidLearnerId for an id the tutor would never make. After None, start a new
        session with a new id, so that a store that comes back is not overwritten.
        """
        learner_key(learner_id)
        return None

    def delete(self, learner_id: str) -> bool:
        """Forget a learner: their record, runs and model. True when nothing of them is left."""
        learner_key(learner_id)
        return False

    def health(self) -> str:
        """One line for the page: saving, or why not."""
        return self._reason

    @property
    def saving(self) -> bool:
        """Whether the last attempt to reach the store worked."""
        return False

    @property
    def location(self) -> str:
        """Where the data goes, for operators' logs (not for the page)."""
        return "nowhere"

    def close(self) -> None:
        """Release the connection; the store reconnects if used again."""


NullStore = Store


class _SQLStore(Store):
    """The shared logic; subclasses connect, run statements and keep the model."""

    dialect = ""
    retries = 0  # extra attempts after the connection broke (a restarted server)

    def __init__(self) -> None:
        super().__init__(SAVING)
        self._conn: Any = None
        self._lock = threading.RLock()  # one connection, one statement at a time
        self._learner_locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self._problem: str | None = None
        with contextlib.suppress(Exception):
            self._guard(self._connection)  # report a fault from the start

    # ---- subclass hooks -------------------------------------------------------------------
    def _open(self) -> Any:
        raise NotImplementedError

    def _transaction(self, write: bool, conn: Any = None) -> contextlib.AbstractContextManager[Any]:
        """A transaction on `conn` (default: the store's connection); `write` takes the write lock."""
        raise NotImplementedError

    def _execute(self, tx: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _version_table_exists(self, tx: Any) -> bool:
        raise NotImplementedError

    def _lock_for_migration(self, tx: Any) -> None:
        """Keep two processes from migrating at once (SQLite: BEGIN IMMEDIATE already does)."""

    def _describe(self, error: BaseException) -> str:
        raise NotImplementedError

    def _broken(self, error: BaseException) -> bool:
        return False

    def _prepare_model(self, key: str, digest: str, model: Any) -> Any:
        """Serialise the model before the transaction; returns what `_put_model` needs."""
        raise NotImplementedError

    def _put_model(self, tx: Any, key: str, digest: str | None, prepared: Any) -> None:
        raise NotImplementedError

    def _get_model(self, tx: Any, key: str, digest: str) -> Any:
        """Something `_load_model` turns into a Keras model, or None."""
        raise NotImplementedError

    def _load_model(self, stored: Any) -> Any:
        raise NotImplementedError

    def _after_commit(self, key: str, digest: str | None) -> None:
        """Tidy up after a save or delete (SQLite: old model files)."""

    # ---- connection and faults ------------------------------------------------------------
    def _connection(self) -> Any:
        with self._lock:
            if self._conn is None:
                conn = self._open()
                try:
                    self._migrate(conn)
                except BaseException:
                    with contextlib.suppress(Exception):
                        conn.close()
                    raise
                self._conn = conn
            return self._conn

    def _reset_connection(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
            self._conn = None

    def _guard(self, work: Any) -> Any:
        """Run `work`, retrying once on a broken connection; record and re-raise a fault."""
        attempts = 1 + self.retries
        for attempt in range(attempts):
            try:
                result = work()
            except Exception as error:
                broken = self._broken(error)
                if broken or isinstance(error, SchemaTooNew):
                    self._reset_connection()
                if broken and attempt + 1 < attempts:
                    continue
                self._fault(error)
                raise
            if self._problem is not None:
                log.info("learner store works again: %s", self.location)
            self._problem = None
            return result
        raise AssertionError("unreachable")

    def _fault(self, error: BaseException) -> None:
        problem = self._describe(error)
        if problem != self._problem:  # once per new problem, not once per turn
            log.warning("Not saving learner progress (%s): %s [%s: %s]", self.location, problem,
                        type(error).__name__, error, exc_info=problem.startswith("an unexpected"))
        self._problem = problem

    def health(self) -> str:
        return SAVING if self._problem is None else f"Not saving: {self._problem}."

    @property
    def saving(self) -> bool:
        return self._problem is None

    def close(self) -> None:
        self._reset_connection()

    def _learner_lock(self, key: str) -> Any:
        with self._locks_guard:
            lock = self._learner_locks.get(key)
            if lock is None:
                lock = threading.RLock()
                self._learner_locks[key] = lock
            return lock

    # ---- schema ---------------------------------------------------------------------------
    def _schema_version(self, tx: Any) -> int | None:
        if not self._version_table_exists(tx):
            return None
        rows = self._execute(tx, SELECT_VERSION)
        return max((int(row[0]) for row in rows), default=None)

    def _migrate(self, conn: Any) -> None:
        with self._transaction(False, conn) as tx:
            version = self._schema_version(tx)
        if version == SCHEMA_VERSION:
            return  # up to date: nothing is written, so a read-only database still loads
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaTooNew(f"schema version {version}, this Brain Tutor knows {SCHEMA_VERSION}")
        with self._transaction(True, conn) as tx:
            self._lock_for_migration(tx)
            self._execute(tx, CREATE_VERSION_TABLE)
            version = self._schema_version(tx)
            if version is None:
                self._execute(tx, INSERT_VERSION, (0,))
                version = 0
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(f"schema version {version}, this Brain Tutor knows {SCHEMA_VERSION}")
            for number, statements in MIGRATIONS:
                if number <= version:
                    continue
                for statement in statements:
                    self._execute(tx, statement)
                self._execute(tx, UPDATE_VERSION, (number,))
                log.info("learner store migrated to schema version %d", number)

    # ---- the public operations ------------------------------------------------------------
    def save(self, session: Session) -> bool:
        if not valid_learner_id(getattr(session, "id", None)):
            log.warning("not saving a session with an invalid learner id")
            return False
        key = learner_key(session.id)
        try:
            with self._learner_lock(key):
                return self._guard(lambda: self._save(key, session))
        except Exception:
            return False

    def _save(self, key: str, session: Session) -> bool:
        record, runs = _record_and_runs(session)
        record.pop("id")  # the key is the id's hash; the id itself is not stored
        text = _json(record)
        model_action, digest, prepared = self._model_part(key, session)
        with self._lock, self._transaction(True) as tx:
            stored_runs = dict(self._execute(tx, SELECT_RUN_DIGESTS, (key,)))
            self._execute(tx, UPSERT_LEARNER, (key, text, time.time()))
            if model_action == "put":
                self._put_model(tx, key, digest, prepared)
                self._execute(tx, SET_MODEL_DIGEST, (digest, key))
            elif model_action == "none":
                self._put_model(tx, key, None, None)
                self._execute(tx, SET_MODEL_DIGEST, (None, key))
            current = set()
            for run, run_record in zip(runs, record["runs"], strict=True):
                number = int(run.number)
                if run.weights is None:
                    continue
                current.add(number)
                run_digest = _run_digest(run_record)
                if stored_runs.get(number) != run_digest:
                    weights = arrays_to_bytes(run.weights)
                    self._execute(tx, UPSERT_RUN_WEIGHTS, (key, number, run_digest, weights))
            for number in stored_runs:
                if number not in current:
                    self._execute(tx, DELETE_RUN_WEIGHTS, (key, number))
            kept = self._execute(tx, SELECT_MODEL_DIGEST, (key,))[0][0]
        self._after_commit(key, kept)
        return True

    def _model_part(self, key: str, session: Session) -> tuple[str, str | None, Any]:
        """("none"|"keep"|"put", digest, prepared): what to do with the current model."""
        if session.model is None:
            return "none", None, None
        if not session.model_lock.acquire(blocking=False):
            return "keep", None, None  # a fit holds the model: the one saved before stays
        try:
            model = session.model
            if model is None:
                return "none", None, None
            digest = _model_digest(session)
            with self._lock, self._transaction(False) as tx:
                rows = self._execute(tx, SELECT_MODEL_DIGEST, (key,))
            if rows and rows[0][0] == digest:
                return "keep", digest, None
            return "put", digest, self._prepare_model(key, digest, model)
        finally:
            session.model_lock.release()

    def load(self, learner_id: str) -> Session | None:
        key = learner_key(learner_id)
        with self._learner_lock(key):  # a save of this learner cannot swap the model meanwhile
            try:
                found = self._guard(lambda: self._read(key))
            except Exception:
                return None
            if found is None:
                return None
            try:
                return self._rebuild(learner_id, *found)
            except Exception:  # a record this code cannot read: start afresh, keep the row
                log.exception("could not rebuild a saved learner from %s", self.location)
                return None

    def _rebuild(self, learner_id: str, record: dict, run_rows: dict, stored_model: Any) -> Session:
        session = session_from_record(record)
        session.id = learner_id
        for run, run_record in zip(session.runs, record.get("runs", []), strict=True):
            row = run_rows.get(run.number)
            if row is not None and row[0] == _run_digest(run_record):
                run.weights = arrays_from_bytes(row[1])
        if stored_model is not None:
            _attach_model(session, lambda: self._load_model(stored_model))
        # else no model (none yet, or a fit held it at every save): the next step builds one
        return session

    def _read(self, key: str) -> tuple[dict, dict, Any] | None:
        with self._lock, self._transaction(False) as tx:
            rows = self._execute(tx, SELECT_LEARNER, (key,))
            if not rows:
                return None
            text, model_digest = rows[0]
            run_rows = {
                int(number): (digest, weights)
                for number, digest, weights in self._execute(tx, SELECT_RUN_WEIGHTS, (key,))
            }
            stored_model = self._get_model(tx, key, model_digest) if model_digest else None
        return json.loads(text), run_rows, stored_model

    def delete(self, learner_id: str) -> bool:
        key = learner_key(learner_id)
        try:
            with self._learner_lock(key):
                self._guard(lambda: self._delete(key))
            return True
        except Exception:
            return False

    def _delete(self, key: str) -> None:
        with self._lock, self._transaction(True) as tx:
            self._execute(tx, DELETE_ALL_RUN_WEIGHTS, (key,))
            self._execute(tx, DELETE_MODEL, (key,))
            self._execute(tx, DELETE_LEARNER, (key,))
        self._after_commit(key, None)
        self._after_delete()

    def _after_delete(self) -> None:
        """Scrub what a delete leaves behind where possible."""


# --------------------------------------------------------------------------------------------
# SQLite


_SQLITE_PROBLEMS = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the data folder is read-only",
    "SQLITE_CANTOPEN": "the database file cannot be opened (is the data folder writable?)",
    "SQLITE_BUSY": "the database is locked by another program",
    "SQLITE_LOCKED": "the database is locked by another program",
    "SQLITE_IOERR": "the disk reported an input/output error",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_NOTADB": "the database file is damaged",
    "SQLITE_PERM": "the data folder is read-only",
}
_SQLITE_MESSAGES = (  # Python 3.10 has no sqlite_errorname: match the message
    ("disk is full", "SQLITE_FULL"),
    ("readonly", "SQLITE_READONLY"),
    ("unable to open", "SQLITE_CANTOPEN"),
    ("locked", "SQLITE_BUSY"),
    ("disk i/o", "SQLITE_IOERR"),
    ("malformed", "SQLITE_CORRUPT"),
    ("not a database", "SQLITE_NOTADB"),
)


def _describe_os_error(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full"
    if error.errno == errno.EROFS:
        return "the data folder is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "the data folder is read-only (no permission to write)"
    if error.errno in (errno.ENOTDIR, errno.ENOENT):
        return "the data folder cannot be created"
    return f"the data folder cannot be written ({error.strerror or error})"


def _describe_common(error: BaseException) -> str | None:
    if isinstance(error, SchemaTooNew):
        return f"the database was written by a newer Brain Tutor ({error})"
    if isinstance(error, OSError):
        return _describe_os_error(error)
    return None


class SQLiteStore(_SQLStore):
    """The embedded store: one SQLite file (WAL) and the models' Keras files in one folder.

    One connection, used by one thread at a time (a lock); saves are small and quick.
    `synchronous=FULL`: a commit waits for the WAL to reach the disk, so an acknowledged save
    survives a power cut too (NORMAL would survive a killed process, not a power cut).
    `max_bytes` caps the database size (for small disks, and tests of a full disk).
    """

    kind = "sqlite"
    dialect = "sqlite"

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int | None = None) -> None:
        self.folder = Path(folder).absolute()
        self.path = self.folder / DATABASE_FILE
        self.models = self.folder / MODELS_FOLDER
        self.max_bytes = max_bytes
        super().__init__()

    @property
    def location(self) -> str:
        return f"SQLite {self.path}"

    def _open(self) -> sqlite3.Connection:
        # Private folders: transcripts are personal. (An existing folder keeps its mode.)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.models.mkdir(mode=0o700, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite at %s is in %s mode, not WAL", self.path, mode)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA secure_delete=ON")  # "forget me" overwrites what it deletes
            if self.max_bytes is not None:
                page_size = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count={max(1, int(self.max_bytes) // int(page_size))}")
        except BaseException:
            conn.close()
            raise
        self._sweep_temporary_files()
        return conn

    def _sweep_temporary_files(self, older_than: float = 3600) -> None:
        """Remove half-written model files a killed process left (after an hour, to be safe)."""
        cutoff = time.time() - older_than
        for path in self.models.glob(".*.tmp.keras"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    @contextlib.contextmanager
    def _transaction(self, write: bool, conn: Any = None) -> Iterator[Any]:
        conn = conn if conn is not None else self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _execute(self, tx: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return tx.execute(sql, tuple(params)).fetchall()

    def _version_table_exists(self, tx: Any) -> bool:
        rows = self._execute(
            tx, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", ("schema_version",)
        )
        return bool(rows)

    def _describe(self, error: BaseException) -> str:
        common = _describe_common(error)
        if common is not None:
            return common
        if isinstance(error, sqlite3.Error):
            name = getattr(error, "sqlite_errorname", "") or ""
            if not name:
                message = str(error).lower()
                name = next((code for text, code in _SQLITE_MESSAGES if text in message), "")
            if name.startswith("SQLITE_CANTOPEN") and self.folder.is_dir() \
                    and not os.access(self.folder, os.W_OK):
                return "the data folder is read-only"  # WAL cannot make its -shm file there
            for prefix, problem in _SQLITE_PROBLEMS.items():
                if name.startswith(prefix):
                    return problem
            return f"the database reported an error ({error})"
        return f"an unexpected error ({type(error).__name__})"

    def _model_path(self, key: str, digest: str) -> Path:
        return self.models / f"{key}-{digest[:32]}.keras"

    def _prepare_model(self, key: str, digest: str, model: Any) -> Path:
        path = self._model_path(key, digest)
        _write_keras_file(model, path)  # on disk before the row that names it commits
        return path

    def _put_model(self, tx: Any, key: str, digest: str | None, prepared: Any) -> None:
        return None  # the file is in place; the learner's row names it by digest

    def _get_model(self, tx: Any, key: str, digest: str) -> Path | None:
        path = self._model_path(key, digest)
        if not path.is_file():
            log.warning("a saved model file is missing: %s", path.name)
            return None
        return path

    def _load_model(self, stored: Any) -> Any:
        return saving.load_model_file(stored)

    def _after_commit(self, key: str, digest: str | None) -> None:
        keep = self._model_path(key, digest).name if digest else None
        for path in self.models.glob(f"{key}-*.keras"):
            if path.name != keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    def _after_delete(self) -> None:
        # Deleted pages are zeroed (secure_delete); the old ones still in the WAL go as well.
        with contextlib.suppress(sqlite3.Error), self._lock:
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --------------------------------------------------------------------------------------------
# PostgreSQL


class PostgresStore(_SQLStore):
    """The shared store for several replicas: records, run weights and models in PostgreSQL.

    `url`: a libpq connection string or URL (`postgresql://user:password@host:port/db`).
    One connection per process, used by one thread at a time; a connection that breaks (a
    restarted server) is reopened and the statement retried once. Schema changes run under an
    advisory lock, so replicas that start together migrate once.
    """

    kind = "postgresql"
    dialect = "postgresql"
    retries = 1
    MIGRATION_LOCK = 7_524_771_001  # pg_advisory_xact_lock key: any constant of our own

    def __init__(self, url: str, connect_timeout: int = 5) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        super().__init__()

    @property
    def location(self) -> str:
        try:
            from psycopg.conninfo import conninfo_to_dict

            parts = conninfo_to_dict(self.url)
        except Exception:
            return "PostgreSQL (unparsable URL)"
        host = parts.get("host") or "localhost"
        return f"PostgreSQL {host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"

    def _open(self) -> Any:
        import psycopg

        return psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=self.connect_timeout,
            application_name="brain-tutor",
        )

    @contextlib.contextmanager
    def _transaction(self, write: bool, conn: Any = None) -> Iterator[Any]:
        conn = conn if conn is not None else self._connection()
        with conn.transaction():
            if not write:  # one snapshot for the record, its runs and its model
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn

    def _execute(self, tx: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cursor = tx.execute(sql.replace("?", "%s"), tuple(params))
        return cursor.fetchall() if cursor.description is not None else []

    def _version_table_exists(self, tx: Any) -> bool:
        rows = self._execute(tx, "SELECT to_regclass(?) IS NOT NULL", ("schema_version",))
        return bool(rows[0][0])

    def _lock_for_migration(self, tx: Any) -> None:
        self._execute(tx, "SELECT pg_advisory_xact_lock(?)", (self.MIGRATION_LOCK,))

    def _broken(self, error: BaseException) -> bool:
        conn = self._conn
        if conn is None:
            return False
        return bool(getattr(conn, "broken", False) or getattr(conn, "closed", False))

    def _describe(self, error: BaseException) -> str:
        common = _describe_common(error)
        if common is not None:
            return common
        try:
            import psycopg
            from psycopg import errors
        except ImportError:
            return "PostgreSQL support is not installed (pip install 'psycopg[binary]')"
        if isinstance(error, errors.DiskFull):
            return "the database server's disk is full"
        if isinstance(error, errors.ReadOnlySqlTransaction):
            return "the database is read-only"
        if isinstance(error, errors.InsufficientPrivilege):
            return "the database user may not write"
        if isinstance(error, errors.QueryCanceled):
            return "the database took too long"
        if isinstance(error, psycopg.OperationalError):
            return "the database server cannot be reached"
        if isinstance(error, psycopg.Error):
            return f"the database reported an error ({type(error).__name__})"
        return f"an unexpected error ({type(error).__name__})"

    def _prepare_model(self, key: str, digest: str, model: Any) -> bytes:
        return _keras_bytes(model)

    def _put_model(self, tx: Any, key: str, digest: str | None, prepared: Any) -> None:
        if digest is None:
            self._execute(tx, DELETE_MODEL, (key,))
        else:
            self._execute(tx, UPSERT_MODEL, (key, digest, prepared))

    def _get_model(self, tx: Any, key: str, digest: str) -> bytes | None:
        rows = self._execute(tx, SELECT_MODEL, (key, digest))
        return bytes(rows[0][0]) if rows else None

    def _load_model(self, stored: Any) -> Any:
        return saving.model_from_bytes(stored)


# --------------------------------------------------------------------------------------------


def open_store(environ: Mapping[str, str] | None = None) -> Store:
    """The store the environment asks for. Never raises: a fault shows in `health()`.

    `BRAIN_TUTOR_DATABASE_URL=postgresql://...`: PostgreSQL (for replicas).
    Otherwise SQLite in `BRAIN_TUTOR_STATE_DIR` (default `./tutor-data`); `off` saves nothing.
    """
    env = os.environ if environ is None else environ
    url = env.get(DATABASE_URL_VARIABLE, "").strip()
    if url:
        if url.startswith(("postgresql://", "postgres://")):
            return PostgresStore(url)
        log.warning("%s must start with postgresql://; not saving", DATABASE_URL_VARIABLE)
        return Store(f"Not saving: {DATABASE_URL_VARIABLE} is not a postgresql:// URL.")
    folder = env.get(STATE_DIR_VARIABLE, "").strip()
    if folder.lower() in OFF_VALUES:
        return Store(f"Not saving: {STATE_DIR_VARIABLE} is '{folder}'.")
    return SQLiteStore(folder or DEFAULT_STATE_DIR)
