"""One turn of the teaching agent: message -> intent -> lesson move, tool, grade or answer.

The agent yields Replies. Those with `final=True` are blocks to keep in the chat; those with
`final=False` are progress that the next one replaces. The last block of a turn carries the
lesson state and the next options. Nothing here imports Gradio or Keras.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from tutor.engine import checks
from tutor.engine.actions import Actions
from tutor.engine.bare import MOVES, BareWords, names_its_topic
from tutor.engine.coaching import Coaching, is_review
from tutor.engine.commands import clean_message, help_lines, parse_command
from tutor.engine.fillers import without_acknowledgement, without_reason
from tutor.engine.followups import read_follow_up
from tutor.engine.guiding import Guiding
from tutor.engine.intents import IntentReader
from tutor.engine.lessons import LessonPack, LessonState
from tutor.engine.mastery import load_concepts
from tutor.engine.meaning import ROWS, Meaning
from tutor.engine.slots import read_slots
from tutor.ml.data import CLASS_NAMES, DataUnavailable
from tutor.reply import Option, Reply
from tutor.session import Session
from tutor.tools import catalog, lesson, registry, training
from tutor.words import words_to_digits

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000

Answer = Callable[[Session, str], Reply | Iterator[Reply] | None]


class Agent(Meaning, Actions, Coaching, Guiding, BareWords):
    """Turns learner messages into Replies for one lesson pack.

    `answer` answers questions (offline or through a language model); `reader` understands
    commands said in the learner's own words; `screen` returns a steer-back reply for a message
    that must not be acted on (an order to change the tutor, an insult), else None.
    """

    def __init__(
        self,
        pack: LessonPack,
        answer: Answer | None = None,
        reader: IntentReader | None = None,
        screen: Callable[[Session, str], Reply | None] | None = None,
    ) -> None:
        self.pack = pack
        self.concepts = load_concepts(pack)  # the concept map that mastery is kept over
        self.answer = answer
        self.reader = reader
        self.screen = screen

    # ----- the turn -------------------------------------------------------------------
    def start(self, session: Session) -> Iterator[Reply]:
        """The first turn of a new session: enter the first state."""
        yield from self._guarded(session, lambda: self._enter(session, self.pack.first()))

    def handle(self, session: Session, message: Any) -> Iterator[Reply]:
        """Handle one learner message; never raises, always yields at least one block."""
        yield from self._guarded(session, lambda: self._turn(session, message))

    def _turn(self, session: Session, message: Any) -> Iterator[Reply]:
        yield from self._dispatch(session, message)
        yield from self.settle_prediction(session)  # a run after a "predict before you run"

    def _guarded(self, session: Session, produce: Callable[[], Iterator[Reply]]) -> Iterator[Reply]:
        blocks: list[Reply] = []
        try:
            for reply in produce():
                if reply.final:
                    blocks.append(reply)
                yield reply
        except (registry.ToolInputError, DataUnavailable) as error:  # written for the learner
            reply = Reply(text=str(error), kind="error")
            blocks.append(reply)
            yield reply
        except Exception:  # the learner never sees a stack trace; the log keeps it
            log.exception("turn failed")
            reply = Reply(
                text="Something went wrong on my side while doing that. Your progress is safe. "
                "Try again, or choose one of the options below.",
                kind="error",
            )
            blocks.append(reply)
            yield reply
        if not blocks:
            blocks.append(Reply(text="Done."))
            yield blocks[-1]
        last = blocks[-1]
        if not last.state:
            last.state = session.state_id
        if not last.options:
            last.options = self.options_for(session, quiz=last.kind == "check")

    def _dispatch(self, session: Session, message: Any) -> Iterator[Reply]:
        if not isinstance(message, str):
            message = "" if message is None else str(message)
        if len(message) > MAX_MESSAGE_CHARS:
            yield Reply(
                text=f"That message is {len(message):,} characters long; I read up to "
                f"{MAX_MESSAGE_CHARS:,}. Could you ask it in a shorter way?",
                kind="help",
            )
            return
        text = self.spelled(clean_message(message))
        if not session.state_id:
            yield from self._enter(session, self.pack.first())
            if not text or text in ("next", "start", "begin", "hi", "hello", "ok", "yes"):
                return
        if not text:
            yield Reply(text="I'm here whenever you're ready. " + self._hint(session), kind="help")
            return
        intent = parse_command(text, self.pack.step_names())
        if intent is None and without_acknowledgement(text) != text:  # "k got it. next"
            text = without_acknowledgement(text)
            intent = parse_command(text, self.pack.step_names())
        if intent is None and without_reason(text) != text:  # "scale them so they are 0 to 1"
            intent = parse_command(without_reason(text), self.pack.step_names())
        if intent is not None:
            self.remember_action(session, intent.name, text)
            row = ROWS.get(intent.name)
            if row is None or intent.name in MOVES or not names_its_topic(text, row):
                yield from self._run_intent(session, intent, text)
                return
            last = None  # "confusion matrix": shown, with both readings as buttons
            try:
                for reply in self._run_intent(session, intent, text):
                    if last is not None:
                        yield last
                    last = reply
            except registry.ToolInputError as error:  # "the filters" before any training
                last = Reply(text=str(error), kind="error")
            if last is not None:
                self.both_buttons(session, row, last)
                yield last
            return
        prediction = self.take_prediction(session, text)
        if prediction is not None:
            yield prediction
            return
        if session.pending_card is not None:
            guess = checks.parse_class(text)
            if guess is not None:
                yield from self._grade_card(session, guess)
                return
        if self.guided_concept(session) is not None:  # the learner's answer to a guiding question
            handled = yield from self.answer_guiding(session, text, message)
            if handled:
                return
        state = self._find_state(text)
        if state is not None and state.id != session.state_id and self.reader is not None:
            # "scaling": the step, and a command, and a concept: all three offered, no jump
            reading = next((reading for reading in self.reader.understand(text).readings
                            if reading.name not in MOVES), None)
            if reading is not None and reading.strong:
                command, _ = self.spell_out(session, reading.name, read_slots(text, ()))
                if command is not None:
                    yield from self.offer_readings(session, text, message, command, step=state)
                    return
        if state is not None:
            yield from self._enter(session, state)
            return
        review = is_review(session.pending_check)
        if session.pending_check and not self.not_an_answer(text):
            reply = self.grade_review(session, message) if review else self._grade_check(session, message)
            if reply is not None:
                yield reply
                return
        if session.pending_check and not review:
            guide = self._guide_check(session, text)
            if guide is not None:
                self.note_help(session, session.pending_check, "hint")
                yield guide
                return
        follow_up = read_follow_up(text)
        if follow_up is not None and follow_up.kind == "again" and session.dialogue.kind == "action":
            yield from self._repeat_action(session)
            return
        if follow_up is None:
            handled = yield from self.by_meaning(session, text, message)
            if handled:
                return
        yield from self._answer(session, message)

    def _answer(self, session: Session, message: str) -> Iterator[Reply]:
        """The answerer's reply to a question, or help when there is no answerer."""
        if self.answer is not None:
            answer = self.answer(session, message)
            if isinstance(answer, Reply):
                yield answer
                return
            if answer is not None:
                yield from answer
                return
        yield self._help(session, understood=False)

    def go_to(self, session: Session, state_id: str) -> Iterator[Reply]:
        """Enter a state by id (for tools such as a language model's `go_to_step`)."""
        yield from self._enter(session, self.pack.get(state_id))

    def _enter(self, session: Session, state: LessonState) -> Iterator[Reply]:
        """Move to `state`: its text, then each of its actions, then its check question."""
        session.state_id = state.id
        session.pending_card = None
        session.card_queue = []
        session.pending_check = None
        if any(action.name == "new_experiment" for action in state.actions):
            session.pending_prediction = None  # the step changes the settings: a guess would not fit
        if state.id not in session.visited:
            session.visited.append(state.id)
        number = self.pack.index(state.id)
        block = Reply(
            text=f"### Step {number + 1} of {len(self.pack.states)}: {state.title}\n\n{state.body}",
            state=state.id,
            kind="lesson",
        )
        streamed = False
        for action in state.actions:
            if action.name == "train" and session.history:
                result: Any = training.show_curves(session)
                result.text = ("You have trained this model already. Here is what it learned so "
                               "far; say 'train for 5 epochs' to keep going.\n\n" + result.text)
            elif action.name not in catalog.TOOLS:
                log.warning("lesson %s names unknown action %s", state.id, action.name)
                continue
            else:
                try:
                    result = catalog.run_tool(session, action.name, action.arguments)
                except registry.ToolInputError as error:  # the lesson text still shows
                    result = Reply(text=f"*{error}*", kind="help")
            if isinstance(result, Reply):
                _merge_into(block, result)
                continue
            yield block  # the lesson text stays above the live progress
            block = Reply(text="", state=state.id)
            for update in result:
                if update.final:
                    _merge_into(block, update)
                else:
                    yield update
            streamed = True
        block.state = state.id
        if block.text or block.figures or not streamed:
            yield block
        review = self.review_on_entry(session, state) if session.pending_card is None else None
        if review is not None:  # a weak concept this step builds on; the step's check follows it
            yield review
        elif state.check is not None and session.pending_card is None:
            session.pending_check = state.id
            yield Reply(
                text=checks.format_question(state.check) + "\n\n*Answer here, or just move on.*",
                state=state.id,
                kind="check",
                options=self.options_for(session),
            )
        else:
            block.options = self.options_for(session)

    # ----- flashcards and checks ------------------------------------------------------
    def _grade_card(self, session: Session, guess: int) -> Iterator[Reply]:
        reply = lesson.grade_card(session, guess)
        self.note_card(session, session.flashcard_answers[-1])
        if session.pending_card is None:
            state = self.pack.get(session.state_id)
            if state.check is not None:
                session.pending_check = state.id
                reply.text += "\n\n" + checks.format_question(state.check)
        reply.options = self.options_for(session)
        yield reply

    def _skip(self, session: Session) -> Iterator[Reply]:
        if self.guided_concept(session) is not None:  # "just tell me" after a guiding question
            yield from self.tell_guided(session)
            return
        if session.pending_card is not None:
            split, index = session.pending_card
            _, labels, _ = lesson._checked_index(split, index)
            label = int(labels[index])
            session.pending_card = None
            text = f"No problem: that card was label {label}, **{CLASS_NAMES[label]}**."
            if session.card_queue:
                following = lesson._card_reply(session, *session.card_queue.pop(0), lead="Next card. ")
                yield Reply(text=text + "\n\n" + following.text, code=following.code,
                            figures=following.figures, kind="flashcard", records=following.records,
                            options=self.options_for(session))
                return
            yield Reply(text=text, kind="flashcard")
            return
        if is_review(session.pending_check):
            yield self.skip_review(session)
            return
        if session.pending_check:
            state = self.pack.get(session.pending_check)
            self.note_help(session, state.id, "skip")
            session.pending_check = None
            yield Reply(text=f"Skipped. The answer was **{state.check.answer}**. "
                        f"{state.check.explanation}", kind="check")
            return
        yield Reply(text="There's nothing to skip right now.", kind="help")

    def _ask_check(self, session: Session) -> Reply:
        state = self.pack.get(session.state_id)
        if state.check is None:
            return Reply(text="This step has no check question.", kind="help")
        session.pending_check = state.id
        return Reply(text=checks.format_question(state.check), kind="check")

    def _grade_check(self, session: Session, message: str) -> Reply | None:
        state = self.pack.get(session.pending_check)
        check = state.check
        verdict = checks.grade(check, words_to_digits(message))
        if verdict is None:
            return None
        attempts = session.check_attempts.get(state.id, 0) + 1
        session.check_attempts[state.id] = attempts
        self.note_check(session, state.id, verdict, attempts, session.checks_passed.get(state.id) is True)
        if verdict:
            session.pending_check = None
            session.checks_passed[state.id] = True
            return Reply(text=f"**Correct!** {check.explanation}", kind="check")
        session.checks_passed.setdefault(state.id, False)
        if attempts == 1:
            return Reply(text=f"Not quite. Hint: {check.hint} Have another go, or say 'skip'.",
                         kind="check")
        session.pending_check = None
        return Reply(text=f"Not this time. The answer is **{check.answer}**. {check.explanation}",
                     kind="check")

    # ----- help and options -----------------------------------------------------------
    def _find_state(self, text: str) -> LessonState | None:
        if len(text) > 40:
            return None
        state = self.pack.find(text)
        return state if state is not None and text.replace("-", " ").strip() in (
            state.id.replace("-", " "), state.title.lower()) else None

    def options_for(self, session: Session, quiz: bool = True) -> list[Option]:
        """Buttons for what makes sense now: guesses for a card, else the state's options, with
        a pending quiz's choices only on a reply that asks it (`quiz`): under an answer to
        something else they would answer a question the learner no longer sees."""
        if session.pending_card is not None:
            return [Option(f"{label}: {name}", str(label)) for label, name in enumerate(CLASS_NAMES)] + [
                Option("Skip this card", "skip")
            ]
        if not session.state_id:
            return [Option("Start", "next")]
        options = list(self.pack.get(session.state_id).options)
        if session.pending_check and quiz:
            check = self.pending_question(session)
            if check is not None and check.kind == "choice":
                letters = [Option(f"{chr(97 + number)}) {choice}", chr(97 + number))
                           for number, choice in enumerate(check.choices)]
                options = letters + [option for option in options if option.message != "check"]
        return options

    def _hint(self, session: Session) -> str:
        if session.pending_card is not None:
            return "Guess the flashcard: type a label number 0-9 or a class name."
        return "Press a button below, or type 'next', or ask me a question."

    def _help(self, session: Session, understood: bool) -> Reply:
        lead = "" if understood else "I'm not sure what you mean. "
        state = self.pack.get(session.state_id) if session.state_id else self.pack.first()
        text = (f"{lead}We're at **{state.title}**. {self._hint(session)} Things I can do anywhere:\n\n"
                + "\n".join(help_lines()))
        return Reply(text=text, kind="help")


def _merge_into(block: Reply, other: Reply) -> None:
    """Append another reply's text, code and figures to a block."""
    if other.text:
        block.text = f"{block.text}\n\n{other.text}".strip()
    if other.code:
        block.code = f"{block.code}\n\n{other.code}" if block.code else other.code
        block.records.extend(other.records)
    block.figures.extend(other.figures)
    if other.progress is not None:
        block.progress = other.progress
