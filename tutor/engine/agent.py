"""One turn of the teaching agent: message -> intent -> lesson move, tool, grade or answer.

The agent yields Replies. Those with `final=True` are blocks to keep in the chat; those with
`final=False` are progress that the next one replaces. The last block of a turn carries the
lesson state and the next options. Nothing here imports Gradio or Keras.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from tutor.engine import checks
from tutor.engine.commands import SPLITS, Intent, clean_message, help_lines, parse_command
from tutor.engine.lessons import LessonPack, LessonState
from tutor.ml import data
from tutor.ml.data import CLASS_NAMES, DataUnavailable
from tutor.reply import Option, Reply
from tutor.session import Session
from tutor.tools import catalog, lesson, registry, training
from tutor.words import words_to_digits

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000

def _number(value: str) -> int:
    return int(value.replace(",", ""))


def _rate(value: str) -> float:
    try:
        return float(value.replace(",", ""))
    except ValueError as error:
        raise registry.ToolInputError(
            f"'{value[:20]}' is not a learning rate I can read; try 0.001.") from error


class Agent:
    """Turns learner messages into Replies for one lesson pack."""

    def __init__(
        self,
        pack: LessonPack,
        answer: Callable[[Session, str], Reply | Iterator[Reply] | None] | None = None,
    ) -> None:
        self.pack = pack
        self.answer = answer

    # ----- the turn -------------------------------------------------------------------
    def start(self, session: Session) -> Iterator[Reply]:
        """The first turn of a new session: enter the first state."""
        yield from self._guarded(session, lambda: self._enter(session, self.pack.first()))

    def handle(self, session: Session, message: Any) -> Iterator[Reply]:
        """Handle one learner message; never raises, always yields at least one block."""
        yield from self._guarded(session, lambda: self._dispatch(session, message))

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
            last.options = self.options_for(session)

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
        text = clean_message(message)
        if not session.state_id:
            yield from self._enter(session, self.pack.first())
            if not text or text in ("next", "start", "begin", "hi", "hello", "ok", "yes"):
                return
        if not text:
            yield Reply(text="I'm here whenever you're ready. " + self._hint(session), kind="help")
            return
        intent = parse_command(text, self.pack.step_names())
        if intent is not None:
            yield from self._run_intent(session, intent, text)
            return
        if session.pending_card is not None:
            guess = checks.parse_class(text)
            if guess is not None:
                yield from self._grade_card(session, guess)
                return
        state = self._find_state(text)
        if state is not None:
            yield from self._enter(session, state)
            return
        if session.pending_check:
            reply = self._grade_check(session, message)
            if reply is not None:
                yield reply
                return
        if self.answer is not None:
            answer = self.answer(session, message)
            if isinstance(answer, Reply):
                yield answer
                return
            if answer is not None:
                yield from answer
                return
        yield self._help(session, understood=False)

    # ----- intents --------------------------------------------------------------------
    def _run_intent(self, session: Session, intent: Intent, text: str) -> Iterator[Reply]:
        name, values = intent.name, intent.values
        position = self.pack.index(session.state_id)
        if name == "next":
            if position + 1 >= len(self.pack.states):
                yield Reply(text="This is the last step of the lesson. Say 'restart' to go again, "
                            "or ask me anything about what you built.", kind="help")
                return
            yield from self._enter(session, self.pack.states[position + 1])
        elif name == "back":
            if position == 0:
                yield Reply(text="We're at the very first step already.", kind="help")
                return
            yield from self._enter(session, self.pack.states[position - 1])
        elif name == "restart":
            session.reset()
            yield Reply(text="Starting over with a fresh model.", kind="help")
            yield from self._enter(session, self.pack.first())
        elif name == "goto":
            state = self.pack.find(values["target"])
            if state is None:
                names = ", ".join(f"`{state.id}`" for state in self.pack.states)
                yield Reply(text=f"I don't know a step called '{values['target'][:60]}'. "
                            f"The steps are: {names}.", kind="help")
                return
            yield from self._enter(session, state)
        elif name == "another_card":
            yield lesson.another_card(session)
        elif name == "skip":
            yield from self._skip(session)
        elif name == "show_image":
            split = SPLITS.get(values.get("split", "training"), "train")
            yield lesson.show_image(session, split, _number(values["number"]))
        elif name in ("train", "train_default"):
            epochs = _number(values["number"]) if "number" in values else 5
            yield from training.train(session, epochs)
        elif name == "predict":
            split = SPLITS.get(values.get("split", "training"), "train")
            yield lesson.predict_image(session, split, _number(values["number"]))
        elif name == "summary":
            yield lesson.summary(session)
        elif name == "curves":
            yield training.show_curves(session)
        elif name == "stop":
            if training.stop_training(session):
                yield Reply(text="Stopping after the current batch. The epochs already finished "
                            "are kept.", kind="training")
            else:
                yield Reply(text="Nothing is training right now.", kind="help")
        elif name == "check":
            yield self._ask_check(session)
        elif name == "help":
            yield self._help(session, understood=True)
        else:
            yield from self._experiment(session, name, values)

    def _experiment(self, session: Session, name: str, values: dict[str, str]) -> Iterator[Reply]:
        """Experiment and look-inside commands: each maps onto one bounded lab tool."""
        number = values.get("number") or values.get("number2")
        changes: dict[str, Any] | None = {
            "scale": {"scaled": True},
            "unscale": {"scaled": False},
            "one_layer": {"hidden": [], "convolutional": False},
            "cnn": {"convolutional": True},
            "quick_on": {"quick": True},
            "quick_off": {"quick": False},
        }.get(name)
        if name == "add_hidden":
            units = _number(values["units"]) if values.get("units") else 128
            activation = values.get("act") or values.get("act2") or "relu"
            hidden = [list(layer) for layer in session.model_spec.hidden] + [[units, activation]]
            changes = {"hidden": hidden, "convolutional": False}
        elif name == "optimizer":
            changes = {"optimizer": values["opt"]}
            if values.get("rate"):
                changes["learning_rate"] = _rate(values["rate"])
        elif name == "rate":
            changes = {"learning_rate": _rate(values["rate"])}
        elif name == "batch":
            changes = {"batch_size": _number(number)}
        elif name == "slice":
            changes = {"train_slice": _number(number)}
        elif name == "all_data":  # the whole training set, which new_experiment stores as "no slice"
            changes = {"train_slice": data.train_size()}
        if changes is not None:
            yield catalog.run_tool(session, "new_experiment", changes)
        elif name == "compare":
            yield catalog.run_tool(session, "compare_runs")
        elif name == "use_run":
            yield catalog.run_tool(session, "use_run", {"number": _number(number)})
        elif name == "undo":
            yield catalog.run_tool(session, "use_run", {"number": 0})
        elif name == "weights":
            yield catalog.run_tool(session, "weight_maps")
        elif name == "confusion":
            yield catalog.run_tool(session, "confusion_matrix")
        elif name == "mistakes":
            yield catalog.run_tool(session, "mistakes")
        elif name == "filters":
            yield catalog.run_tool(session, "cnn_filters", {"index": _number(number) if number else 0})
        elif name == "you_vs_model":
            yield catalog.run_tool(session, "you_vs_model")
        elif name == "export":
            yield self.export(session)

    def export(self, session: Session) -> Reply:
        """Write the learner's own path as a Jupyter notebook and offer it for download."""
        import tempfile
        from pathlib import Path

        from tutor.export import export_notebook

        folder = Path(tempfile.gettempdir()) / "brain-tutor-exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = export_notebook(session, self.pack, folder / f"brain-tutor-{uuid.uuid4().hex[:12]}.ipynb")
        steps = len(session.visited)
        return Reply(
            text=f"Here is your notebook: {steps} step(s) you visited, the exact code that ran with "
            "your settings, and your results. Open it in Jupyter or Colab and run it top to bottom.",
            files=[str(path)],
            kind="tool",
        )

    def go_to(self, session: Session, state_id: str) -> Iterator[Reply]:
        """Enter a state by id (for tools such as a language model's `go_to_step`)."""
        yield from self._enter(session, self.pack.get(state_id))

    def _enter(self, session: Session, state: LessonState) -> Iterator[Reply]:
        """Move to `state`: its text, then each of its actions, then its check question."""
        session.state_id = state.id
        session.pending_card = None
        session.card_queue = []
        session.pending_check = None
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
        if state.check is not None and session.pending_card is None:
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
        if session.pending_card is None:
            state = self.pack.get(session.state_id)
            if state.check is not None:
                session.pending_check = state.id
                reply.text += "\n\n" + checks.format_question(state.check)
        reply.options = self.options_for(session)
        yield reply

    def _skip(self, session: Session) -> Iterator[Reply]:
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
        if session.pending_check:
            state = self.pack.get(session.pending_check)
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

    def options_for(self, session: Session) -> list[Option]:
        """Buttons for what makes sense now: guesses for a card, else the state's options."""
        if session.pending_card is not None:
            return [Option(f"{label}: {name}", str(label)) for label, name in enumerate(CLASS_NAMES)] + [
                Option("Skip this card", "skip")
            ]
        if not session.state_id:
            return [Option("Start", "next")]
        options = list(self.pack.get(session.state_id).options)
        if session.pending_check:
            check = self.pack.get(session.pending_check).check
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
