"""The embedded back end: one SQLite file in WAL mode and the models' Keras files beside it.

The default store: `brain-tutor.sqlite3` in the data folder, `synchronous=FULL` so that a save
that returned True survives a kill -9 and a power cut, and each model a Keras file in `models/`,
written atomically before the row that names it commits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tutor.ml import saving
from tutor.storage import blobs
from tutor.storage.sql import SQLStore, describe_common

log = logging.getLogger(__name__)

DATABASE_FILE = "brain-tutor.sqlite3"
MODELS_FOLDER = "models"

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


class SQLiteStore(SQLStore):
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
        common = describe_common(error)
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
        blobs._write_keras_file(model, path)  # on disk before the row that names it commits
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
