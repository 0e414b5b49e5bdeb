"""Export a learner's session as a Jupyter notebook that reproduces it, top to bottom.

    from tutor.export import export_notebook
    path = export_notebook(session, tutor.pack, "my-brain.ipynb")

The notebook is the learner's own path: a title, one setup cell (imports and the data), then for
every lesson step they visited, in order, the step's title and summary followed by the exact code
of every action that ran there (from `session.code_log`), and a closing table of their runs.
The model and training settings behind that code come from the records logged beside it
(`tutor.ml.codegen.record`); sessions saved before there were records are read from the code.

The code cells are the tutor's own code strings. Where those strings assume something the tutor
did silently (a model it built on the way, a compile it did first), the export adds a small cell,
tagged `brain-tutor-export`, so that the notebook runs in a fresh kernel. Set the environment
variable `BRAIN_TUTOR_EXPORT_SLICE` to train on the first N training images only (for a quick
check in CI); the images the notebook looks at by number are always kept.
Every model cell sets the seed its model started from in the tutor (added where the tutor's code
lacks it), so the notebook builds the same first weights and repeats itself when run again.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4

from tutor.engine.lessons import LessonPack
from tutor.ml import backend, codegen
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.ml.codegen import RESLICE_CODE, setup_code
from tutor.session import Run, Session

BUILD_TOOLS = ("build_model", "new_experiment", "train_same_start")  # records of a model built
EXPORT_TAG = "brain-tutor-export"  # the tag of every cell the export adds to the learner's code

# Where one action's code starts inside a block that joined several actions with blank lines
# (a lesson step's entry runs all its actions and logs their code as one piece).
SNIPPET_STARTS = (
    "import tensorflow as tf",  # GPU_CODE and data.LOAD_CODE
    "import matplotlib.pyplot as plt",  # show_image / flashcards
    "tf.keras.utils.set_random_seed(",  # codegen.model_code with a seed
    "number_of_classes = ",  # codegen.model_code (and new_experiment)
    "model.summary()",
    "model.compile(",
    "train_images_scaled = ",  # codegen.fit_code with scaled pixels
    "history = model.fit(",
    "model.predict(train_images[0:10])",
    "x = train_images\n",  # predict_image
    "x = valid_images\n",
    "weights = model.layers[-1]",  # weight_maps
    "predicted = model.predict(",  # confusion_matrix
)
# ...except where one action's own code has two of those starts (new_experiment, a scaled fit).
KEEP_TOGETHER = (
    ("number_of_classes = ", "model.compile("),
    ("tf.keras.utils.set_random_seed(", "model.compile("),
    ("train_images_scaled = ", "history = model.fit("),
)

# Code strings that do not run as the tutor writes them, with the smallest fix and why.
PATCHES: tuple[tuple[str, str, str], ...] = (
    (
        "number_of_classes = train_labels.max() + 1",
        "number_of_classes = int(train_labels.max()) + 1",
        "backend.model_code: train_labels.max() + 1 is a NumPy uint8, and Keras 3 Dense() "
        "accepts only a Python int for units (ValueError)",
    ),
)


@dataclass
class _Notebook:
    """What the cells built so far have defined, as a fresh kernel would have it."""

    cells: list[Any] = field(default_factory=list)
    model_code: str | None = None  # the code of the model the notebook last built
    model_spec: ModelSpec | None = None  # ...and the spec it builds
    compiled: bool = False
    last_compile: str = field(default_factory=lambda: codegen.compile_code(TrainSettings()))
    last_learner_code: str | None = None
    scaled_fit: bool = False  # the last fit trained on pixels divided by 255
    fits: int = 0
    unseeded: Any = None  # the last model cell, while it sets no seed and no fit has told it
    model_seed: int | None = None  # the seed the notebook's current model starts from
    unknown_starts: int = 0  # fits of a model whose seed nobody knows (an older session)

    def markdown(self, text: str) -> None:
        self.cells.append(v4.new_markdown_cell(text.strip()))

    def code(self, source: str, added: bool = False, patched: list[str] | None = None) -> None:
        metadata: dict[str, Any] = {}
        if added:
            metadata["tags"] = [EXPORT_TAG]
        if patched:
            metadata["brain_tutor"] = {"patched": patched}
        self.cells.append(v4.new_code_cell(source.strip(), metadata=metadata))


def build_notebook(session: Session, pack: LessonPack, today: datetime.date | None = None):
    """The learner's session as an nbformat v4 notebook (not executed)."""
    log = [dict(entry) for entry in list(session.code_log)]  # a copy: training may still append
    book = _Notebook()
    when = (today or datetime.date.today()).isoformat()
    book.markdown(
        f"# {pack.title}\n\n"
        f"*Exported from Brain Tutor on {when}.* This notebook reproduces your session: the code "
        "of every step you ran, in the order you ran it. Run it from top to bottom."
    )
    segments = _segments(log, list(session.visited))
    chunks = [chunk for _, codes in segments for code, _ in codes for chunk in split_code(code)]
    book.code(setup_code(_images_needed(chunks)), added=True)
    if not segments:
        return _finish(book)

    fit_runs = _runs_for_fits(session.runs, chunks)
    seen: set[str] = set()
    for state_id, codes in segments:
        book.markdown(_heading(pack, state_id, again=state_id in seen))
        seen.add(state_id)
        for code, records in codes:
            unused = list(records)  # what ran, in the order of the actions this code joins
            for chunk in split_code(code):
                _add_learner_code(book, chunk, fit_runs, unused)

    if book.model_code is not None:
        _add_final_model_cell(book, session)
    book.markdown(closing_markdown(session, book))
    return _finish(book)


def export_notebook(session: Session, pack: LessonPack, path: str | Path) -> Path:
    """Write the learner's notebook to `path` (a `.ipynb` file, or a folder to put one in)."""
    path = Path(path)
    if path.is_dir():
        path = path / "brain-tutor-session.ipynb"
    elif path.suffix != ".ipynb":
        path = path.with_name(path.name + ".ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = build_notebook(session, pack)
    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))
    return path


# ----- the pieces ---------------------------------------------------------------------------


def split_code(code: str) -> list[str]:
    """One piece per action in a block that joined several actions' code with blank lines."""
    chunks: list[str] = []
    for part in code.strip().split("\n\n"):
        starts = _start_of(part)
        if chunks and starts and not _kept_together(chunks[-1], starts):
            chunks.append(part)
        elif chunks:
            chunks[-1] += "\n\n" + part
        else:
            chunks.append(part)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def _start_of(part: str) -> str | None:
    for start in SNIPPET_STARTS:
        if part.startswith(start):
            return start
    return None


def _kept_together(chunk: str, start: str) -> bool:
    first = _start_of(chunk)
    return any(first == before and start == after for before, after in KEEP_TOGETHER)


def patch_code(code: str) -> tuple[str, list[str]]:
    """Apply PATCHES; return the code that runs and why each change was needed."""
    reasons = []
    for old, new, reason in PATCHES:
        if old in code:
            code = code.replace(old, new)
            reasons.append(reason)
    return code, reasons


Logged = tuple[str, list[dict[str, Any]]]  # one code_log entry's code and records


def _segments(log: list[dict[str, Any]], visited: list[str]) -> list[tuple[str, list[Logged]]]:
    """(state, [(code, records), ...]) in the order the learner went, with visited steps that
    ran no code. An entry logged before there were records has none."""
    grouped: list[tuple[str, list[Logged]]] = []
    for entry in log:
        code = str(entry.get("code") or "").strip()
        if not code:
            continue
        state = str(entry.get("state") or "")
        logged = (code, [dict(record) for record in entry.get("records") or []])
        if grouped and grouped[-1][0] == state:
            grouped[-1][1].append(logged)
        else:
            grouped.append((state, [logged]))
    ordered: list[tuple[str, list[Logged]]] = []
    emitted: set[str] = set()
    position = 0  # how far along `visited` the segments so far have come
    for state, codes in grouped:
        if state not in emitted and state in visited:
            index = visited.index(state)
            for earlier in visited[position:index]:
                if earlier not in emitted:
                    ordered.append((earlier, []))
                    emitted.add(earlier)
            position = max(position, index + 1)
        ordered.append((state, codes))
        emitted.add(state)
    ordered += [(state, []) for state in visited if state not in emitted]
    return ordered


def _heading(pack: LessonPack, state_id: str, again: bool) -> str:
    try:
        state = pack.get(state_id)
    except KeyError:
        return f"## {state_id or 'Before the lesson'}"
    number = pack.index(state_id) + 1
    if again:
        return f"## Back to step {number}: {state.title}"
    return f"## Step {number}: {state.title}\n\n{state.summary}".strip()


def _images_needed(chunks: list[str]) -> int:
    """How many training images the cells need: one past the highest index they look at."""
    needed = 0
    for chunk in chunks:
        for match in re.finditer(r"train_(?:images|labels)(?:_scaled)?\[(\d+)\]", chunk):
            needed = max(needed, int(match.group(1)) + 1)
        if "train_images[data_idx]" in chunk or re.search(r"^x = train_images$", chunk, re.M):
            for match in re.finditer(r"^data_idx = (\d+)$", chunk, re.M):
                needed = max(needed, int(match.group(1)) + 1)
    return needed


def _runs_for_fits(runs: list[Run], chunks: list[str]) -> list[Run | None]:
    """The run behind each fit cell, in order, when they pair up one to one (else unknown)."""
    fits = sum(1 for chunk in chunks if "model.fit(" in chunk)
    return list(runs) if len(runs) == fits else [None] * fits


def _add_learner_code(book: _Notebook, chunk: str, fit_runs: list[Run | None],
                      records: list[dict[str, Any]]) -> None:
    defines = "model = tf.keras.Sequential(" in chunk
    compiles = "model.compile(" in chunk
    fits = "model.fit(" in chunk
    built = _take(records, BUILD_TOOLS) if defines else None
    trained = _take(records, ("train",)) if fits else None
    if chunk == book.last_learner_code and not fits:  # a repeat changes nothing; a fit trains more
        return
    book.last_learner_code = chunk

    if defines and not compiles and book.model_code is not None:
        # The tutor's build_model keeps a model that exists and shows its code again.
        book.markdown(
            "The tutor showed your model's code again here and kept the model you already had "
            "(with anything it had learned), so this code is not run again:\n\n"
            f"```python\n{chunk}\n```"
        )
        return
    if not defines and re.search(r"\bmodel\.", chunk) and book.model_code is None:
        model = codegen.model_code(ModelSpec())
        book.markdown("The tutor built and compiled the notebook's model for you on the way:")
        code, reasons = patch_code(f"{model}\n\n{book.last_compile}")
        book.code("# Added by the export: the model the tutor built for you here.\n" + code,
                  added=True, patched=reasons)
        book.model_code, book.model_spec, book.compiled = model, ModelSpec(), True
        book.unseeded, book.model_seed = book.cells[-1], None
    if fits and not book.compiled:
        book.code("# Added by the export: the tutor compiled your model before training.\n"
                  + book.last_compile, added=True)
        book.compiled = True

    if defines and compiles:
        book.markdown(f"**New experiment:** {_spec_of(chunk, built).describe()}, a fresh model, "
                      "compiled again.")
    if fits:
        run = fit_runs[book.fits] if book.fits < len(fit_runs) else None
        settings = codegen.settings_from_record(trained["settings"]) if trained else None
        _seed_the_model(book, run.seed if run is not None and run.seed is not None
                        else settings.seed if settings is not None else None)
        book.markdown(_fit_note(chunk, run, settings, book.model_seed))
        book.fits += 1
    elif book.scaled_fit and "model.predict" in chunk and "_scaled" not in chunk:
        book.markdown("Your model learned from pixels divided by 255, and the tutor gave it scaled "
                      "pixels; this cell, as the tutor writes it, passes raw 0-255 pixels, so its "
                      "numbers differ from what the tutor showed.")

    code, reasons = patch_code(chunk)
    book.code(code, patched=reasons)

    if defines:
        book.model_code, book.compiled = chunk, compiles
        book.model_spec = _spec_of(chunk, built)
        book.model_seed = codegen.seed_from_code(chunk)
        book.unseeded = book.cells[-1] if book.model_seed is None else None
    if compiles:
        book.compiled = True
        match = re.search(r"^model\.compile\(.*?^\)", chunk, re.M | re.S)
        if match:
            book.last_compile = match.group(0)
    if fits:
        book.scaled_fit = "_scaled" in chunk
    if "load_data()" in chunk:
        book.code(RESLICE_CODE, added=True)


def _seed_the_model(book: _Notebook, seed: int | None) -> None:
    """Before a fit: a model cell that sets no seed gets the seed its model started from in the
    tutor (known only now, from the fit's run), so the notebook starts from the same weights."""
    if book.unseeded is not None and seed is not None:
        cell = book.unseeded
        cell.source = codegen.with_seed(cell.source, seed)
        notes = cell.metadata.setdefault("brain_tutor", {}).setdefault("patched", [])
        notes.append(f"the tutor started this model from seed {seed}: set here, the notebook "
                     "builds the same first weights and repeats itself when run again")
        book.model_seed = seed
    book.unseeded = None
    if book.model_seed is None:
        book.unknown_starts += 1


def _take(records: list[dict[str, Any]], tools: tuple[str, ...]) -> dict[str, Any] | None:
    """The first record not yet used of one of these tools (removed from `records`), if any."""
    for number, record in enumerate(records):
        if record.get("tool") in tools:
            return records.pop(number)
    return None


def _spec_of(code: str, record: dict[str, Any] | None) -> ModelSpec:
    """The spec behind a model's code: its record's, or (an older session) read from the code."""
    if record is not None and "model" in record:
        return codegen.spec_from_record(record["model"])
    return codegen.spec_from_code(code)


def _fit_note(code: str, run: Run | None, settings: TrainSettings | None = None,
              seed: int | None = None) -> str:
    """What a fit cell does, from the settings it ran with (else, an older session, its code)."""
    if settings is None:
        settings = codegen.settings_from_code(code)
    part = settings.train_slice
    images = f"the first {part:,} training images" if part else "all training images"
    pixels = "pixels scaled to 0-1" if settings.scaled else "raw 0-255 pixels"
    text = (f"You trained for {settings.epochs} epoch{'s' if settings.epochs != 1 else ''} here, "
            f"on {images}, with {pixels} and batches of {settings.batch_size}.")
    if seed is not None:
        text += f" The model started from seed {seed}."
    if run is not None:
        if run.diverged:
            text += (" In the tutor the loss became NaN and the tutor put your earlier weights "
                     "back; this cell does not.")
        elif run.stopped:
            text += f" You stopped it after {len(run.history)} epoch(s); this cell runs them all."
        if run.final_val_accuracy is not None and not run.diverged:
            text += f" Validation accuracy at the end: **{run.final_val_accuracy:.1%}**."
    return text


def _add_final_model_cell(book: _Notebook, session: Session) -> None:
    count = None
    if session.model is not None:
        with session.model_lock:
            count = backend.parameter_count(session.model)
    comment = f"# The tutor's model had {count:,} parameters.\n" if count is not None else ""
    book.markdown("Your final model:")
    book.code(comment + "print('parameters:', model.count_params())", added=True)


def closing_markdown(session: Session, book: _Notebook | None = None) -> str:
    """The learner's results: one row per run with its final validation accuracy."""
    lines = ["## Your results", ""]
    if session.runs:
        lines += [
            "| run | model | settings | epochs | final validation accuracy |",
            "|---|---|---|---|---|",
        ]
        for run in session.runs:
            accuracy = run.final_val_accuracy
            status = " (stopped)" if run.stopped else " (failed: NaN)" if run.diverged else ""
            shown = "" if accuracy is None else f"{accuracy:.1%}"
            seed = "" if run.seed is None else f", seed {run.seed}"
            lines.append(f"| {run.number} | {run.model} | {_settings_text(run.settings)}{seed} | "
                         f"{len(run.history)}{status} | {shown} |")
        best = max((run for run in session.runs if run.final_val_accuracy is not None),
                   key=lambda run: run.final_val_accuracy, default=None)
        if best is not None:
            lines += ["", f"Your best run was **run {best.number}** at "
                          f"{best.final_val_accuracy:.1%} on the validation images."]
    else:
        lines.append("You have not trained a model yet: say `train for 5 epochs` in the tutor.")
    if session.model is not None:
        lines += ["", f"Your model at the end: {session.model_spec.describe()}."]
        if book is not None and book.model_spec is not None and book.model_spec != session.model_spec:
            lines.append("The tutor restored an earlier run for you (`use run N`), which this "
                         "notebook does not replay, so its last model is the one built last.")
    if book is not None and book.fits and not book.unknown_starts:
        lines += ["", "Every model here starts from its seed (`tf.keras.utils.set_random_seed`): "
                      "the same first weights as in the tutor, and the same numbers each time you "
                      "run the notebook. They differ a little from the tutor's, which shuffled the "
                      "images in an order of its own."]
    else:
        lines += ["", "Numbers in a re-run differ a little: every training starts from new random "
                      "weights."]
    return "\n".join(lines)


def _settings_text(settings: TrainSettings) -> str:
    rate = "" if settings.learning_rate is None else f" (rate {settings.learning_rate:g})"
    images = f", first {settings.train_slice:,} images" if settings.train_slice else ""
    pixels = "scaled pixels" if settings.scaled else "raw pixels"
    return f"{pixels}, {settings.optimizer}{rate}, batch {settings.batch_size}{images}"


def _finish(book: _Notebook):
    notebook = v4.new_notebook(
        cells=book.cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "brain_tutor": {"exported": datetime.datetime.now().isoformat(timespec="seconds")},
        },
    )
    return notebook
