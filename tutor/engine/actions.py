"""Running a recognised command: moving through the lesson, a tool, an experiment.

`Actions` is the part of the agent that turns an `Intent` (from the command table or from the
meaning layer) into Replies; the agent (`tutor.engine.agent`) decides which intent a message is.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from tutor.engine.commands import SPLITS, Intent
from tutor.engine.lessons import LessonPack
from tutor.engine.slots import read_slots
from tutor.ml import data
from tutor.reply import Reply
from tutor.session import Session
from tutor.tools import catalog, classes, lab, lesson, registry, training

# the model and settings before each learner's last change, for an "undo" before any run: there is
# no run to go back to, but the change itself can be taken back (kept for recent sessions only)
_BEFORE: OrderedDict[str, tuple[Any, ...]] = OrderedDict()  # before and after: spec, settings
_BEFORE_LOCK = threading.Lock()
KEEP_BEFORE = 1024


def _number(value: str) -> int:
    return int(value.replace(",", ""))


def _rate(value: str) -> float:
    try:
        return float(value.replace(",", ""))
    except ValueError as error:
        raise registry.ToolInputError(
            f"'{value[:20]}' is not a learning rate I can read; try 0.001.") from error


class Actions:
    """Command execution for the Agent (a mixin: it relies on the agent's lesson moves)."""

    pack: LessonPack





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
            if state is None:  # "take me to the part about the loss function"
                named = read_slots(values["target"], self.pack.named_steps()).step
                state = self.pack.get(named) if named else None
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
        elif name == "retrain":  # a fresh model, same settings, then the same training again
            epochs = _number(values["number"]) if "number" in values else 5
            yield catalog.run_tool(session, "new_experiment", {})
            yield from training.train(session, epochs)
        elif name == "same_start":  # a fresh model from the last run's seed and settings
            yield from training.train_same_start(session)
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
        elif name == "review":  # "what should I review?", "review parameters"
            yield self.review_command(session, values)
        elif name == "progress":  # "how am I doing?"
            yield self.progress_report(session)
        elif name == "join_class":  # "join class demo", "join class demo as quiet otter"
            yield classes.join_class(session, values.get("code", ""), values.get("name"))
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
            yield self._change(session, name, changes)
        elif name == "compare":
            yield catalog.run_tool(session, "compare_runs")
        elif name == "use_run":
            yield catalog.run_tool(session, "use_run", {"number": _number(number)})
            session.pending_prediction = None  # an earlier run's model: nothing left to predict
        elif name == "undo":
            with _BEFORE_LOCK:
                before = _BEFORE.pop(session.id, None)
            if (before is not None and before[2:] == (session.model_spec, session.settings)
                    and not any(run.weights is not None for run in session.runs)):
                yield self._take_back(session, *before[:2])  # "set batch size to 64", then "undo that"
            else:
                yield catalog.run_tool(session, "use_run", {"number": 0})
            session.pending_prediction = None
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

    def _change(self, session: Session, name: str, changes: dict[str, Any]) -> Reply:
        """A new experiment; with an earlier run to compare with, a "predict before you run"
        question follows (`Coaching.ask_prediction`), and the tool's own expectation waits."""
        runs = len(session.runs)
        before = (session.model_spec, session.settings)
        try:
            expectations = lab._validated(changes, session)[2]  # what new_experiment will say it expects
        except registry.ToolInputError:
            expectations = []  # new_experiment refuses it below, with the same message
        reply = catalog.run_tool(session, "new_experiment", changes)
        with _BEFORE_LOCK:
            _BEFORE[session.id] = (*before, session.model_spec, session.settings)
            _BEFORE.move_to_end(session.id)
            while len(_BEFORE) > KEEP_BEFORE:
                _BEFORE.popitem(last=False)
        self.ask_prediction(session, name, reply, expectations, runs)
        return reply

    def _take_back(self, session: Session, spec: Any, settings: Any) -> Reply:
        """The model and settings from before the last change, as a fresh untrained model."""
        changes: dict[str, Any] = {}
        if spec != session.model_spec:
            changes.update(hidden=[list(layer) for layer in spec.hidden], convolutional=spec.convolutional)
        for field in ("scaled", "optimizer", "batch_size"):
            if getattr(settings, field) != getattr(session.settings, field):
                changes[field] = getattr(settings, field)
        if settings.base_rate != session.settings.base_rate:
            changes["learning_rate"] = settings.base_rate
        if settings.train_slice != session.settings.train_slice:
            changes["train_slice"] = settings.train_slice or data.train_size()
        if not changes:
            return Reply(text="There is nothing to undo: your settings are as they were.", kind="help")
        reply = catalog.run_tool(session, "new_experiment", changes)
        reply.text = f"Undone: back to the settings before your last change.\n\n{reply.text}"
        return reply

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

