"""The shared back end for several app replicas: records, run weights and models in PostgreSQL.

Replicas behind a load balancer share no disk, so the model's Keras file goes into the database
(a `bytea` column) in the same transaction as the record. psycopg is imported only when used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from tutor.ml import saving
from tutor.storage import blobs
from tutor.storage.sql import DELETE_MODEL, SELECT_MODEL, UPSERT_MODEL, SQLStore, describe_common


class PostgresStore(SQLStore):
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
        common = describe_common(error)
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
        return blobs._keras_bytes(model)

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
