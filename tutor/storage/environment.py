"""Which store the environment asks for: PostgreSQL, SQLite in a folder, or none (`open_store`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from tutor.storage.postgres import PostgresStore
from tutor.storage.sqlite import SQLiteStore
from tutor.storage.store import Store

log = logging.getLogger(__name__)

DATABASE_URL_VARIABLE = "BRAIN_TUTOR_DATABASE_URL"
STATE_DIR_VARIABLE = "BRAIN_TUTOR_STATE_DIR"
DEFAULT_STATE_DIR = "tutor-data"
OFF_VALUES = frozenset({"off", "none", "false", "0", "no"})


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
