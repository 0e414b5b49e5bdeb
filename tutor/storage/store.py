"""The learner store: each learner's progress saved as it happens, and loaded back after a restart.

This module holds what every caller needs: the `Store` interface (by itself it saves nothing,
for saving turned off) and the learner ids. The rest of the package: `records` (a Session as a
JSON record), `blobs` (weights and models as bytes and files), `sql` (the schema and the logic
both databases share), `sqlite` and `postgres` (the back ends), `environment` (`open_store`).

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

import hashlib
import re
import secrets
import threading
import weakref

from tutor.session import Session

LEARNER_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
SAVING = "Progress is saved as you go."


class InvalidLearnerId(ValueError):
    """A learner id that is not one the tutor makes: refused before it is used anywhere."""


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
# Stores


class Store:
    """Where learners' progress goes. This base class saves nothing (saving turned off)."""

    kind = "none"

    def __init__(self, reason: str = "Not saving: saving is turned off.") -> None:
        self._reason = reason
        # class code -> learner key -> live Session: what a store that saves nothing knows of
        # a class (this process's learners, while they are in memory)
        self._live: dict[str, weakref.WeakValueDictionary[str, Session]] = {}
        self._live_lock = threading.Lock()

    def save(self, session: Session) -> bool:
        """Save everything about `session`; True once it is durable. Never raises."""
        self._remember(session)
        return False

    def _remember(self, session: Session) -> None:
        """Note a live learner of a class, for `class_learners` when nothing is saved."""
        code = getattr(session, "class_code", "")
        if not code or not valid_learner_id(getattr(session, "id", None)):
            return
        key = learner_key(session.id)
        with self._live_lock:
            for members in self._live.values():
                members.pop(key, None)  # a learner is in one class at a time
            self._live.setdefault(code, weakref.WeakValueDictionary())[key] = session

    def _forget_live(self, key: str) -> None:
        with self._live_lock:
            for members in self._live.values():
                members.pop(key, None)

    def class_learners(self, class_code: str) -> dict[str, Session]:
        """Every learner of a class, by stored key (never the learner id), oldest first:
        sessions to read, without their models. This base class knows the live ones only."""
        with self._live_lock:
            return dict(self._live.get(class_code, {}).items())

    def class_codes(self) -> list[str]:
        """The classes that have learners, sorted."""
        with self._live_lock:
            return sorted(code for code, members in self._live.items() if len(members))

    def load(self, learner_id: str) -> Session | None:
        """The saved learner, model included, or None (not saved, or the store cannot be read).

        Raises InvalidLearnerId for an id the tutor would never make. After None, start a new
        session with a new id, so that a store that comes back is not overwritten.
        """
        learner_key(learner_id)
        return None

    def delete(self, learner_id: str) -> bool:
        """Forget a learner: their record, runs and model. True when nothing of them is left."""
        self._forget_live(learner_key(learner_id))
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

