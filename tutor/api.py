"""The public Python API: one Tutor per process, one Session per learner.

    from tutor import Tutor
    tutor = Tutor()
    session = tutor.new_session()
    reply = tutor.respond(session, "next")
    for update in tutor.stream(session, "train for 5 epochs"):
        ...
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.answers.providers import Provider, provider_from_env
from tutor.engine.lessons import DEFAULT_PACK, LessonPack, load_pack
from tutor.ml.backend import TrainSettings
from tutor.ml.slots import TrainingSlots
from tutor.reply import Reply
from tutor.session import Session
from tutor.speech.tutor_voice import TutorVoice, warm_up_voice
from tutor.storage import xapi
from tutor.storage.store import Store, new_learner_id, valid_learner_id
from tutor.tools import classes, registry

if TYPE_CHECKING:
    from tutor.answers.answerer import Answerer
    from tutor.engine.agent import Agent
    from tutor.engine.mastery import ConceptMap

log = logging.getLogger(__name__)

TRAIN_SLICE_VARIABLE = "BRAIN_TUTOR_TRAIN_SLICE"
FORGET = re.compile(r"^\s*(?:please\s+)?(?:forget me|delete my (?:data|progress)|erase me)\W*$",
                    re.IGNORECASE)


def __getattr__(name: str) -> Any:
    """`tutor.api.lesson` and `.training` as before. They, the answerer and the agent are imported
    when first used, not with the page: they bring matplotlib, SciPy and the search index."""
    if name in ("lesson", "training"):
        return importlib.import_module(f"tutor.tools.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Tutor(TutorVoice):
    """The teaching agent for one lesson pack; safe to share between learners."""

    def __init__(
        self,
        lessons: str | Path | LessonPack | None = None,
        train_slice: int | None = None,
        provider: Provider | None = None,
        training_slots: int | None = None,
        max_messages_per_minute: int | None = 60,
        store: Store | None = None,
    ) -> None:
        """`lessons`: a pack folder (default: the built-in lesson). `train_slice`: train on the
        first N images only, for slow machines and tests (default: `BRAIN_TUTOR_TRAIN_SLICE`).
        `provider`: an LLM for free-form questions (default: from `BRAIN_TUTOR_LLM_BASE_URL`,
        else the offline agent). `training_slots`: trainings that may run at once (default: the
        number of cores); the others wait in a fair queue. `max_messages_per_minute`: per
        learner; None switches the limit off. `store`: where progress is saved as it happens
        (`tutor.storage.environment.open_store()` reads the environment; default: not saved).
        """
        self.pack = lessons if isinstance(lessons, LessonPack) else load_pack(lessons or DEFAULT_PACK)
        if train_slice is None and os.environ.get(TRAIN_SLICE_VARIABLE, "").strip().isdigit():
            train_slice = int(os.environ[TRAIN_SLICE_VARIABLE]) or None
        self.train_slice = train_slice
        self.slots = TrainingSlots(training_slots)
        self.max_messages_per_minute = max_messages_per_minute
        self.store = store if store is not None else Store()  # default: saves nothing
        # xAPI statements to a learning record store, when BRAIN_TUTOR_XAPI_URL is set
        self.learning_records = xapi.from_env()
        self.provider = provider if provider is not None else provider_from_env()
        # the answerer and the agent are built on first use (`warm_up` builds them early)
        self._answerer: Answerer | None = None
        self._agent: Agent | None = None
        self._concepts: ConceptMap | None = None
        self._build_lock = threading.RLock()
        self._ready = threading.Event()
        self._warm_up_error: str | None = None
        self._warm_up_started = False
        self._warm_up_lock = threading.Lock()
        self._spoken_commands: tuple | None = None  # the spoken phrase table, read by the parser

    @property
    def answerer(self) -> Answerer:
        """Answers questions offline (`tutor.answers.answerer`); built on first use."""
        with self._build_lock:
            if self._answerer is None:
                from tutor.answers.answerer import Answerer

                self._answerer = Answerer(self.pack)
            return self._answerer

    @answerer.setter
    def answerer(self, answerer: Answerer) -> None:
        self._answerer = answerer

    @property
    def agent(self) -> Agent:
        """The teaching agent (`tutor.engine.agent`); built on first use."""
        with self._build_lock:
            if self._agent is None:
                from tutor.engine.agent import Agent
                from tutor.engine.intents import IntentReader, load_phrasings

                answerer = self.answerer
                agent = Agent(self.pack, answer=answerer, screen=answerer.steer_if_needed,
                              reader=IntentReader(load_phrasings(self.pack.folder),
                                                  encoder_factory=self._encoder))
                if self._concepts is not None:  # the page's mastery map read it already
                    agent.concepts = self._concepts
                if self.provider is not None:
                    from tutor.answers.llm import LLMAnswerer

                    agent.answer = LLMAnswerer(self.provider, answerer, self.pack, agent.go_to)
                self._agent = agent
            return self._agent

    @property
    def concepts(self) -> ConceptMap:
        """The concept map mastery is kept over (the agent's, without building the agent)."""
        with self._build_lock:
            if self._agent is not None:
                return self._agent.concepts
            if self._concepts is None:
                from tutor.engine.mastery import load_concepts

                self._concepts = load_concepts(self.pack)
            return self._concepts

    def _encoder(self) -> Callable[[list[str]], Any] | None:
        """The sentence encoder the knowledge base loaded (None when it runs on BM25 alone)."""
        encoder = self.answerer.knowledge.encoder
        return None if encoder is None else encoder.encode

    def warm_up(self, background: bool = True, voice: bool = True) -> None:
        """Build the agent, import TensorFlow and load the data set ahead of the first learner
        who needs them, and (with `voice`) the Whisper model and the speech engine ahead of the
        first spoken turn.

        In the background, so that a page can be served while TensorFlow imports. The voice is
        always loaded in a thread of its own (a second or two of CPU, once per process): the
        first spoken turn then takes the usual time, and nothing waits for it.
        """
        with self._warm_up_lock:
            if self._warm_up_started:
                return
            self._warm_up_started = True
        if voice:
            threading.Thread(target=warm_up_voice, name="tutor-voice-warm-up", daemon=True).start()

        def work() -> None:
            try:
                _ = self.agent  # the first turn needs it; the page is served without it
            except Exception:  # the first turn will try again and explain
                log.exception("building the agent failed")
            try:
                from tutor.tools import lesson

                lesson.warm_up()
            except Exception as error:  # reported through `status`, never raised into a page
                log.exception("warm-up failed")
                self._warm_up_error = str(error)
            finally:
                self._ready.set()
            try:
                _ = self.answerer.knowledge  # index (and embed) the glossary ahead of questions
                if self.agent.reader is not None:  # and the command phrasings, ahead of requests
                    self.agent.reader.understand("next")
            except Exception:  # the first question will try again and explain
                log.exception("indexing the knowledge base failed")

        if background:
            threading.Thread(target=work, name="tutor-warm-up", daemon=True).start()
        else:
            work()

    def train_in_processes(self) -> None:
        """Run every fit in a worker process, one per training slot (a server's choice).

        Fits in threads hold Python's lock, which every learner's chat turn needs; in worker
        processes they do not (see `tutor.ml.workers`). The page (`TutorBlock`) asks for
        this; the terminal chat and a `Tutor` used on its own keep the simpler threads.
        """
        from tutor.ml.workers import TrainingWorkers

        with self._warm_up_lock:
            if self.slots.workers is None:
                self.slots.workers = TrainingWorkers(self.slots.capacity)

    @property
    def ready(self) -> bool:
        """Whether TensorFlow and the data set are loaded (or failed to load)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the warm-up ends; True if it did within `timeout`."""
        return self._ready.wait(timeout)

    def status(self) -> str:
        """One line for the page: loading, ready, or what went wrong; and whether it saves."""
        if not self._ready.is_set():
            line = "Loading TensorFlow and the Fashion-MNIST images... you can start reading."
        elif self._warm_up_error:
            line = self._warm_up_error.splitlines()[0]
        else:
            line = "TensorFlow and the data set are loaded."
        if self.store.saving:
            return f"{line} Your progress is saved as you go."
        health = self.store.health()
        return line if "turned off" in health else f"{line} {health}"

    def new_session(self, class_code: str | None = None, pseudonym: str | None = None) -> Session:
        """A fresh learner, not yet started: their first message opens the first step.

        `class_code`: put them in that class (ValueError for a bad code), under `pseudonym` or
        a generated one ("Calm Otter"); an instructor sees only that name."""
        session = Session(slots=self.slots)
        if self.train_slice:
            session.settings = TrainSettings(train_slice=self.train_slice)
        if self.learning_records is not None:
            self.learning_records.watch(session)
        if class_code:
            self.join_class(session, class_code, pseudonym)
        return session

    def join_class(self, session: Session, class_code: str, pseudonym: str | None = None) -> Reply:
        """Put the learner in a class (as `join class CODE` does); ValueError for a bad code."""
        reply = classes.join_class(session, class_code, pseudonym)
        self.store.save(session)  # the class lists them at once
        if self.learning_records is not None:
            self.learning_records.observe(session)
        return reply

    def class_report(self, class_code: str) -> list[dict[str, Any]]:
        """One row per learner of the class, from the store (so across restarts): pseudonym,
        step, minutes on it, mastery per concept (id -> 0-1), and whether they look stuck."""
        titles = {state.id: state.title for state in self.pack.states}
        return [classes.report_row(session, titles.get(session.state_id, "not started"),
                                   self._mastery_numbers(session))
                for session in self.store.class_learners(classes.class_code(class_code)).values()]

    def class_questions(self, class_code: str, top: int = 10) -> list[tuple[str, int]]:
        """The class's most asked questions and how many learners asked each; no names."""
        learners = self.store.class_learners(classes.class_code(class_code))
        return [(text, count) for text, count in classes.common_questions(learners.values(), top * 3)
                if self.meaning(text) is None][:top]

    def _mastery_numbers(self, session: Session) -> dict[str, float]:
        try:
            return self.mastery(session)
        except Exception:  # no concept map: what the session holds
            return classes.mastery_numbers(session)

    def resume(self, learner_id: str | None) -> Session:
        """The learner's saved session when the store has one for this id, else a new one."""
        session = None
        if learner_id and valid_learner_id(learner_id):
            session = self.store.load(learner_id)
        if session is None:
            return self.new_session()
        session.slots = self.slots
        if self.learning_records is not None:
            self.learning_records.watch(session)
        if self.train_slice:
            session.settings = TrainSettings(**{**session.settings.__dict__,
                                                "train_slice": self.train_slice})
        return session

    def forget(self, session: Session) -> Reply:
        """Delete everything stored about this learner and start over under a new id."""
        deleted = self.store.delete(session.id)
        session.reset()
        session.id = new_learner_id()
        text = ("Done: I deleted your saved progress and we start over as strangers."
                if deleted or not self.store.saving else
                "I could not reach the saved data to delete it; please try again later.")
        return Reply(text=text, kind="help", options=self.agent.options_for(session))

    def save(self, session: Session) -> bool:
        """Save the learner's progress now (never raises; False when not saved)."""
        return self.store.save(session)

    def start(self, session: Session) -> Reply:
        """Open the first step (the welcome), as one merged Reply."""
        return merge_replies([reply for reply in self.stream(session, "") if reply.final])

    def stream(self, session: Session, message: str) -> Iterator[Reply]:
        """Handle a message, yielding blocks (`final=True`) and progress (`final=False`)."""
        if self._too_fast(session):
            yield Reply(
                text="You're sending messages faster than I can think! Give me a few seconds, "
                "then try again. Everything you did so far is safe.",
                state=session.state_id,
                options=self.agent.options_for(session),
                kind="help",
            )
            return
        if FORGET.match(str(message)):
            yield self.forget(session)
            return
        if str(message).strip():
            session.transcript.append({"role": "user", "text": str(message)[:2000]})
        dialogue = session.dialogue
        before = (session.state_id, dialogue.topic, dialogue.question, dialogue.kind)
        yield from self._turn(session, message)
        if session.state_id != before[0] and (dialogue.topic, dialogue.question, dialogue.kind) == before[1:]:
            dialogue.remember("", "step", "", "")  # a new step: "why?" is now about this step

    def _turn(self, session: Session, message: str) -> Iterator[Reply]:
        """The agent's blocks, logged, saved and noted as the dialogue's last figure."""
        step = session.state_id
        for reply in self.agent.handle(session, message):
            if reply.final and session.state_id != step:  # a new step: its clock starts
                session.entered_at, step = time.time(), session.state_id
            if reply.final and reply.figures:
                session.dialogue.figure = " ".join(plot.alt for plot in reply.figures if plot.alt)[:600]
            if reply.final and reply.text:
                session.transcript.append({"role": "tutor", "text": reply.text})
            if reply.final and reply.code and reply.kind != "error":
                session.code_log.append(  # the code, and beside it what ran with which settings
                    {"state": session.state_id, "kind": reply.kind, "code": reply.code,
                     "records": [dict(record) for record in reply.records]}
                )
            if reply.final:
                self.store.save(session)  # what the learner has seen is saved
                if self.learning_records is not None:  # queued for a background thread
                    self.learning_records.observe(session)
            yield reply

    def _too_fast(self, session: Session) -> bool:
        """A per-learner limit on messages per minute, so one tab cannot flood the server."""
        if not self.max_messages_per_minute:
            return False
        now = time.monotonic()
        session.request_times = [moment for moment in session.request_times if now - moment < 60]
        if len(session.request_times) >= self.max_messages_per_minute:
            return True
        session.request_times.append(now)
        return False

    def respond(self, session: Session, message: str) -> Reply:
        """Handle a message and return the whole turn as one Reply (waits for training)."""
        return merge_replies([reply for reply in self.stream(session, message) if reply.final])

    def predict_own_image(self, session: Session, image: object) -> Reply:
        """Preprocess a learner's own picture (array, PIL image, bytes or sketch dict) and
        predict it; bad input gets a friendly Reply, never an exception."""
        from tutor.tools import lab

        try:
            reply = lab.predict_own_image(session, image)
        except registry.ToolInputError as error:
            reply = Reply(text=str(error), kind="error")
        except Exception:  # the learner never sees a stack trace; the log keeps it
            log.exception("own image prediction failed")
            reply = Reply(text="I couldn't read that picture. Try a PNG or JPEG photo, or a "
                          "drawing on the sketch pad.", kind="error")
        reply.state = session.state_id
        reply.options = self.agent.options_for(session)
        return reply

    def meaning(self, message: str) -> str | None:
        """A key equal for messages that do the same thing ("go back" and "back"), None when
        the message is no command: how speech recognition tells rival phrases apart."""
        from tutor.engine.commands import clean_message, parse_command

        text = clean_message(message)
        intent = parse_command(text, self.pack.step_names())
        if intent is None:
            state = self.agent._find_state(text)
            return f"goto:{state.id}" if state is not None else None
        if intent.name == "goto":
            state = self.pack.find(str(intent.values.get("target", "")))
            return f"goto:{state.id}" if state is not None else f"goto:{intent.values.get('target')}"
        values = ",".join(f"{key}={value}" for key, value in sorted(intent.values.items()))
        return f"{intent.name}:{values}"

    def stop(self, session: Session) -> bool:
        """Stop this learner's training, if one runs."""
        from tutor.tools import training

        stopped = training.stop_training(session)
        self.store.save(session)
        return stopped

    def lesson_map(self, session: Session) -> list[dict[str, object]]:
        """Every step with its title, whether it was visited and whether it is current."""
        return [
            {
                "id": state.id,
                "title": state.title,
                "current": state.id == session.state_id,
                "visited": state.id in session.visited,
                "check_passed": session.checks_passed.get(state.id, False),
            }
            for state in self.pack.states
        ]

    def mastery(self, session: Session) -> dict[str, float]:
        """Concept id -> probability known (0-1), every concept of `lessons/concepts.yaml` (BKT:
        `tutor.engine.mastery`; a concept without evidence has the prior)."""
        from tutor.engine.mastery import probabilities

        return probabilities(self.concepts, session)


def merge_replies(replies: list[Reply]) -> Reply:
    """Join the blocks of one turn: texts and code in order, all figures, the last options."""
    if not replies:
        return Reply(text="")
    merged = Reply(text="", kind=replies[-1].kind)
    codes = []
    for reply in replies:
        if reply.text:
            merged.text = f"{merged.text}\n\n{reply.text}" if merged.text else reply.text
        if reply.code and reply.code not in codes:
            codes.append(reply.code)
            merged.records.extend(reply.records)
        merged.figures.extend(reply.figures)
        if reply.progress is not None:
            merged.progress = reply.progress
    merged.code = "\n\n".join(codes) or None
    merged.files = [path for reply in replies for path in reply.files]
    merged.options = replies[-1].options
    merged.state = replies[-1].state
    merged.steered = next((reply.steered for reply in replies if reply.steered), "")
    return merged
