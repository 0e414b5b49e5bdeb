"""The SQL shared by both back ends: the schema, its migrations, every statement, and `SQLStore`.

`SQLStore` is the logic of saving, loading and forgetting a learner over any SQL database: one
transaction per save, run weights rewritten only when their run changed, a model stored only when
its digest changed, faults recorded for `health()` instead of raised. Its subclasses
(`tutor.storage.sqlite`, `tutor.storage.postgres`) connect, run statements and keep the model.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from tutor.session import Session
from tutor.storage import blobs, records
from tutor.storage.store import SAVING, Store, learner_key, valid_learner_id

log = logging.getLogger(__name__)


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
    (
        3,
        (  # the class a learner joined, for the instructor's class reports (NULL: none)
            "ALTER TABLE learners ADD COLUMN class_code TEXT",
            "CREATE INDEX learners_by_class ON learners (class_code)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

SELECT_LEARNER = "SELECT record, model_digest FROM learners WHERE learner = ?"
SELECT_MODEL_DIGEST = "SELECT model_digest FROM learners WHERE learner = ?"
UPSERT_LEARNER = (
    "INSERT INTO learners (learner, record, updated_at, class_code) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (learner) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at,"
    " class_code = excluded.class_code"
)
SELECT_CLASS = "SELECT learner, record FROM learners WHERE class_code = ? ORDER BY updated_at, learner"
SELECT_CLASS_CODES = "SELECT DISTINCT class_code FROM learners WHERE class_code IS NOT NULL"
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


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Brain Tutor; this one does not write to it."""


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


def describe_common(error: BaseException) -> str | None:
    """The page's words for a fault either back end may meet (the disk, the schema), else None."""
    if isinstance(error, SchemaTooNew):
        return f"the database was written by a newer Brain Tutor ({error})"
    if isinstance(error, OSError):
        return _describe_os_error(error)
    return None


class SQLStore(Store):
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
        record, runs = records.record_and_runs(session)
        record.pop("id")  # the key is the id's hash; the id itself is not stored
        text = records.to_json(record)
        model_action, digest, prepared = self._model_part(key, session)
        with self._lock, self._transaction(True) as tx:
            stored_runs = dict(self._execute(tx, SELECT_RUN_DIGESTS, (key,)))
            self._execute(tx, UPSERT_LEARNER, (key, text, time.time(), session.class_code or None))
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
                run_digest = records.run_digest(run_record)
                if stored_runs.get(number) != run_digest:
                    weights = blobs.arrays_to_bytes(run.weights)
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
            digest = records.model_digest(session)
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
        session = records.session_from_record(record)
        session.id = learner_id
        for run, run_record in zip(session.runs, record.get("runs", []), strict=True):
            row = run_rows.get(run.number)
            if row is not None and row[0] == records.run_digest(run_record):
                run.weights = blobs.arrays_from_bytes(row[1])
        if stored_model is not None:
            blobs.attach_model(session, lambda: self._load_model(stored_model))
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

    def class_learners(self, class_code: str) -> dict[str, Session]:
        """Every saved learner of a class (sessions without models), oldest save first."""
        if not class_code:
            return {}
        try:
            rows = self._guard(lambda: self._class_rows(class_code))
        except Exception:
            return {}
        learners = {}
        for key, text in rows:
            try:
                learners[str(key)] = records.session_from_record(json.loads(text))
            except Exception:  # a record this code cannot read: left out of the report
                log.exception("could not read a saved learner of class %r", class_code)
        return learners

    def _class_rows(self, class_code: str) -> list[tuple]:
        with self._lock, self._transaction(False) as tx:
            return self._execute(tx, SELECT_CLASS, (class_code,))

    def class_codes(self) -> list[str]:
        try:
            rows = self._guard(lambda: self._class_code_rows())
        except Exception:
            return []
        return sorted(str(row[0]) for row in rows if row[0])

    def _class_code_rows(self) -> list[tuple]:
        with self._lock, self._transaction(False) as tx:
            return self._execute(tx, SELECT_CLASS_CODES)

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
