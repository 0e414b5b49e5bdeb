"""Everything about one learner, in one object that is passed explicitly.

Gradio shares module globals between every user, so nothing per learner lives anywhere else.
The Keras model is guarded by `model_lock`: no two threads touch it at once.
"""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from tutor.ml.backend import ModelSpec, TrainSettings


@dataclass
class Run:
    """One training: its settings, per-epoch history, duration and outcome."""

    number: int
    model: str
    settings: TrainSettings
    spec: ModelSpec = field(default_factory=ModelSpec)
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    diverged: bool = False
    weights: list[Any] | None = None
    seed: int | None = None  # the seed of the run's initial weights and shuffling, to repeat it

    @property
    def final_val_accuracy(self) -> float | None:
        for row in reversed(self.history):
            if "val_accuracy" in row:
                return row["val_accuracy"]
        return None


@dataclass
class TrainingJob:
    """A fit running in a background thread for this learner."""

    stop: threading.Event
    thread: threading.Thread | None = None
    latest: Any = None  # the last TrainingUpdate
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@dataclass
class Dialogue:
    """What the conversation is about right now, so that a follow-up ("why?", "simpler please",
    "and the bias?") is read against it. Saved with the learner's progress."""

    topic: str = ""  # the knowledge key last explained ("glossary:bias"), or "" for none
    kind: str = ""  # what the last answer was about: concept, comparison, figure, run, check
    subjects: list[str] = field(default_factory=list)  # glossary terms of the last answer
    question: str = ""  # the learner's last question, as typed
    answer: str = ""  # the text of the last answer
    depth: int = 0  # how many "tell me more" steps deep into the topic
    guided: bool = False  # the last reply was a guiding question (never twice in a row)
    figure: str = ""  # the description (alt text) of the last figure shown, for "what is this?"

    def remember(self, topic: str, kind: str, question: str, answer: str,
                 subjects: list[str] | None = None) -> None:
        """Make this answer the one the next follow-up refers to."""
        self.topic, self.kind, self.question, self.answer = topic, kind, question, answer
        self.subjects = list(subjects or [])
        self.depth = 0
        self.guided = False


@dataclass
class Session:
    """One learner's lesson position, model, runs, flashcards and checks."""

    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    state_id: str = ""
    visited: list[str] = field(default_factory=list)
    model: Any = None
    model_spec: ModelSpec = field(default_factory=ModelSpec)
    settings: TrainSettings = field(default_factory=TrainSettings)
    compiled: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    steps_per_second: float | None = None
    training: TrainingJob | None = None
    model_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    card_queue: list[tuple[str, int]] = field(default_factory=list)
    pending_card: tuple[str, int] | None = None
    flashcard_answers: list[dict[str, Any]] = field(default_factory=list)
    pending_check: str | None = None
    check_attempts: dict[str, int] = field(default_factory=dict)
    checks_passed: dict[str, bool] = field(default_factory=dict)
    transcript: list[dict[str, str]] = field(default_factory=list)
    # every piece of code that ran: {"state", "kind", "code", "records"}; older saves lack "records"
    code_log: list[dict[str, Any]] = field(default_factory=list)
    dialogue: Dialogue = field(default_factory=Dialogue)
    # mastery per concept id (tutor.engine.mastery keeps the inside of each entry) and the
    # evidence that moved it, oldest first
    mastery: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    pending_prediction: dict[str, Any] | None = None  # a "predict before you run" guess to grade
    class_code: str = ""  # the class the learner joined ("" for none)
    pseudonym: str = ""  # the name an instructor sees; no other personal data is kept
    entered_at: float = 0.0  # when the current step was entered (time.time()), for time on step
    rng: random.Random = field(default_factory=random.Random, repr=False)
    slots: Any = field(default=None, repr=False)  # the Tutor's shared TrainingSlots (runtime only)
    request_times: list[float] = field(default_factory=list, repr=False)  # for the rate limit

    @property
    def flashcard_score(self) -> tuple[int, int]:
        """(right, asked) over every graded flashcard."""
        right = sum(1 for answer in self.flashcard_answers if answer["correct"])
        return right, len(self.flashcard_answers)

    @property
    def is_training(self) -> bool:
        return self.training is not None and self.training.running

    def reset(self) -> None:
        """Start the lesson over: a fresh model, no runs, no answers (the id stays)."""
        if self.training is not None:
            self.training.stop.set()
        keep_id, keep_slice, keep_slots = self.id, self.settings.train_slice, self.slots
        self.__dict__.update(Session().__dict__)
        self.id, self.slots = keep_id, keep_slots
        self.settings = TrainSettings(train_slice=keep_slice)
