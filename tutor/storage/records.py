"""A learner's Session as one plain JSON record and back, and the digests that tell what changed.

The record holds everything about a learner but the model, its lock, the training thread and the
RNG; the runs' weights and the model are stored apart (`tutor.storage.blobs`), each under a digest
(`run_digest`, `model_digest`) so that a save rewrites only what changed since the last one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.session import Dialogue, Run, Session

RECORD_FORMAT = 1  # the layout of the JSON record; session_from_record reads this one and older


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


def _dialogue_from(record: Mapping[str, Any] | None) -> Dialogue:
    """The saved dialogue state; unknown keys (a newer save) are dropped, none gives a fresh one."""
    known = {item.name for item in dataclasses.fields(Dialogue)}
    return Dialogue(**{key: value for key, value in (record or {}).items() if key in known})


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
        "seed": run.seed,
    }


def _run_from(record: Mapping[str, Any]) -> Run:
    return Run(
        number=int(record["number"]),
        model=str(record.get("model", "")),
        settings=_settings_from(record.get("settings")),
        spec=_spec_from(record.get("spec")),
        history=[dict(row) for row in record.get("history", [])],
        seconds=float(record.get("seconds", 0.0)),
        seed=None if record.get("seed") is None else int(record["seed"]),
        stopped=bool(record.get("stopped", False)),
        diverged=bool(record.get("diverged", False)),
    )


def record_and_runs(session: Session) -> tuple[dict[str, Any], list[Run]]:
    """The record and the runs it lists, from one snapshot of `session.runs`."""
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
        "dialogue": _plain(session.dialogue),
        "mastery": _plain(session.mastery),
        "evidence": _plain(session.evidence),
        "pending_prediction": _plain(session.pending_prediction),
        "class_code": session.class_code,
        "pseudonym": session.pseudonym,
        "entered_at": float(session.entered_at),
    }
    return record, runs


def session_to_record(session: Session) -> dict[str, Any]:
    """Everything about a learner but the model, its lock, the training thread and the RNG.

    Plain JSON types only (dataclasses become dicts, tuples lists); runs carry `has_weights`
    but not the weights, which the store keeps apart. Floats may be NaN (a diverged run).
    """
    return record_and_runs(session)[0]


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
        dialogue=_dialogue_from(record.get("dialogue")),
        mastery={str(key): value for key, value in (record.get("mastery") or {}).items()},
        evidence=[dict(item) for item in record.get("evidence") or []],
        pending_prediction=record.get("pending_prediction"),
        class_code=str(record.get("class_code") or ""),
        pseudonym=str(record.get("pseudonym") or ""),
        entered_at=float(record.get("entered_at") or 0.0),
    )
    if record.get("id"):
        session.id = str(record["id"])
    return session


def to_json(value: Any) -> str:
    """A record as compact JSON text (NaN allowed: a diverged run's loss)."""
    # ensure_ascii: no raw NUL or lone surrogate reaches the database (PostgreSQL refuses both).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


def run_digest(run_record: Mapping[str, Any]) -> str:
    """What identifies a run's record: its saved weights belong to that run only."""
    return _digest(json.dumps(run_record, sort_keys=True).encode())


def model_digest(session: Session) -> str:
    """What identifies the saved model: its weights, spec, settings and whether it is compiled."""
    meta = to_json(
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
