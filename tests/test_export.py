"""Export a learner's session as a notebook, then run that notebook in a fresh Jupyter kernel.

The end-to-end test drives a real session (training on a 2,000-image slice), exports it, and
executes the notebook with nbclient: every cell must run, and the last model must be the one the
learner ended with. A kernel start, the TensorFlow import and the slice take about a minute.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tutor import Tutor
from tutor.export import EXPORT_TAG, build_notebook, export_notebook, split_code
from tutor.ml import backend, codegen
from tutor.tools import training

nbclient = pytest.importorskip("nbclient")

SLICE = 2000
MESSAGES = [
    "next",  # intro: check_gpu
    "next",  # data: load_data
    "next",  # flashcards: train 42
    "skip",  # ...then validation 6174
    "skip",
    "next",  # neuron-math: pixels of train 42
    "next",  # architecture: build_model
    "next",  # summary
    "next",  # loss: compile
    "next",  # training: 5 epochs on the slice
    "next",  # prediction: first ten, image 8675
    "scale the pixels",  # one experiment...
    "add a hidden layer of 32 relu neurons",
    "train for 1 epoch",
]


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def markdown_text(notebook):
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def step_titles(notebook):
    """The titles of the `## Step N: Title` headings, in order."""
    return [
        match.group(1)
        for text in markdown_text(notebook)
        for match in re.finditer(r"^## Step \d+: (.+)$", text, re.M)
    ]


def output_text(cell):
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


@pytest.fixture(scope="module")
def learner():
    """A real session through the lesson to prediction, plus one experiment, on a slice."""
    tutor = Tutor(train_slice=SLICE)
    session = tutor.new_session()
    for message in MESSAGES:
        reply = tutor.respond(session, message)
        assert reply.kind != "error", (message, reply.text)
    training.wait_for_training(session, timeout=300)
    assert len(session.runs) == 2
    return tutor, session


def test_the_session_exports_and_runs_in_a_fresh_kernel(learner, tmp_path, monkeypatch):
    tutor, session = learner
    path = export_notebook(session, tutor.pack, tmp_path / "session")
    assert path.suffix == ".ipynb" and path.is_file()
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)

    # The learner's path: every visited step's title, in the order they went.
    assert step_titles(notebook) == [tutor.pack.get(state).title for state in session.visited]
    sources = [cell.source for cell in code_cells(notebook)]
    assert "BRAIN_TUTOR_EXPORT_SLICE" in sources[0] and "load_data()" in sources[0]
    fits = [source for source in sources if "model.fit(" in source]
    assert len(fits) == 2 and all(f"train_images{s}[:{SLICE}]" in fit
                                  for fit, s in zip(fits, ["", "_scaled"], strict=True))
    assert "epochs=5" in fits[0] and "epochs=1" in fits[1]
    assert any("Dense(32, activation='relu')" in source for source in sources)
    markdown = "\n".join(markdown_text(notebook))
    assert "You trained for 5 epochs here" in markdown and "You trained for 1 epoch here" in markdown
    for run in session.runs:  # the closing table has every run's final validation accuracy
        assert f"{run.final_val_accuracy:.1%}" in markdown_text(notebook)[-1]

    # Run it as a learner would, on the slice (nbclient's kernel inherits this environment).
    monkeypatch.setenv("BRAIN_TUTOR_EXPORT_SLICE", str(SLICE))
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [output for cell in code_cells(notebook) for output in cell.outputs
              if output.output_type == "error"]
    assert not errors

    final = code_cells(notebook)[-1]
    count = backend.parameter_count(session.model)
    assert count == 784 * 32 + 32 + 32 * 10 + 10
    assert f"parameters: {count}" in output_text(final)
    assert any("correct answer:" in output_text(cell) for cell in code_cells(notebook))


def test_a_fresh_session_exports_just_the_setup(tmp_path):
    tutor = Tutor(train_slice=SLICE)
    session = tutor.new_session()
    notebook = build_notebook(session, tutor.pack)
    nbformat.validate(notebook)
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "code"]
    assert notebook.cells[0].source.startswith(f"# {tutor.pack.title}")
    setup = notebook.cells[1].source
    for needed in ("import tensorflow as tf", "import numpy as np", "import matplotlib.pyplot as plt",
                   "fashion_mnist.load_data()", "os.environ.get('BRAIN_TUTOR_EXPORT_SLICE')",
                   "number_of_classes = 10", "class_names = ['T-shirt/top'"):
        assert needed in setup
    compile(setup, "setup", "exec")

    path = export_notebook(session, tutor.pack, tmp_path / "fresh.ipynb")
    assert path == tmp_path / "fresh.ipynb"
    again = nbformat.read(str(path), as_version=4)
    nbformat.validate(again)
    assert [cell.source for cell in again.cells] == [cell.source for cell in notebook.cells]


def test_code_the_tutor_ran_silently_is_added_and_repeats_are_dropped():
    """Jumping straight to training: the tutor built and compiled the model without code."""
    tutor = Tutor(train_slice=SLICE)
    session = tutor.new_session()
    session.visited = ["intro", "training", "architecture", "summary"]
    fit = codegen.fit_code(backend.TrainSettings(train_slice=SLICE))
    session.code_log = [
        {"state": "intro", "kind": "lesson", "code": codegen.GPU_CODE},
        {"state": "training", "kind": "lesson", "code": fit},
        {"state": "architecture", "kind": "lesson", "code": codegen.model_code()},
        {"state": "summary", "kind": "lesson", "code": "model.summary()"},
        {"state": "summary", "kind": "tool", "code": "model.summary()"},
    ]
    notebook = build_notebook(session, tutor.pack)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    added = [cell.source for cell in cells if EXPORT_TAG in cell.metadata.get("tags", [])]
    assert len(added) == 3  # the setup, the model built on the way, the final parameter count
    assert "model.count_params()" in added[2]
    assert "int(train_labels.max()) + 1" in added[1] and "model.compile(" in added[1]
    sources = [cell.source for cell in cells]
    assert sources.index(added[1]) < sources.index(fit)
    assert sources.count("model.summary()") == 1
    # The architecture step kept the trained model: its code is shown, not run again.
    assert not any(source.startswith("number_of_classes") for source in sources)
    assert any("kept the model you already had" in text for text in markdown_text(notebook))
    assert step_titles(notebook) == [tutor.pack.get(state).title for state in session.visited]


def test_predictions_on_raw_pixels_after_a_scaled_fit_are_flagged():
    tutor = Tutor(train_slice=SLICE)
    session = tutor.new_session()
    session.visited = ["prediction"]
    settings = backend.TrainSettings(scaled=True, train_slice=SLICE)
    session.code_log = [
        {"state": "prediction", "kind": "tool",
         "code": codegen.model_code() + "\n\n" + codegen.compile_code(settings)},
        {"state": "prediction", "kind": "training", "code": codegen.fit_code(settings)},
        {"state": "prediction", "kind": "tool", "code": "model.predict(train_images[0:10])"},
    ]
    notebook = build_notebook(session, tutor.pack)
    nbformat.validate(notebook)
    markdown = "\n".join(markdown_text(notebook))
    assert "New experiment:** Flatten → Dense(10)" in markdown
    assert "passes raw 0-255 pixels" in markdown
    assert "with pixels scaled to 0-1" in markdown


def test_a_steps_joined_code_splits_into_one_cell_per_action():
    predict = "model.predict(train_images[0:10])"
    image = "x = train_images\nlabels = train_labels\ndata_idx = 8675\n\nplt.figure()\nplt.show()"
    experiment = codegen.model_code() + "\n\n" + codegen.compile_code()
    scaled_fit = codegen.fit_code(backend.TrainSettings(scaled=True))
    assert split_code(f"{predict}\n\n{image}") == [predict, image]
    assert split_code(experiment) == [experiment]
    assert split_code(scaled_fit) == [scaled_fit]
    assert split_code(f"{codegen.GPU_CODE}\n\n{experiment}") == [codegen.GPU_CODE, experiment]


def test_the_slice_keeps_the_images_the_notebook_looks_at(monkeypatch):
    tutor = Tutor(train_slice=SLICE)
    session = tutor.new_session()
    session.visited = ["prediction"]
    session.code_log = [{"state": "prediction", "kind": "tool",
                         "code": "x = train_images\nlabels = train_labels\ndata_idx = 8675\n\n"
                                 "print('correct answer:', labels[data_idx])"}]
    setup = code_cells(build_notebook(session, tutor.pack))[0].source
    namespace = {}
    slice_lines = "\n".join(line for line in setup.splitlines()
                            if line.startswith(("import os", "SLICE", "if SLICE", "    SLICE")))
    monkeypatch.setenv("BRAIN_TUTOR_EXPORT_SLICE", "2000")
    exec(slice_lines, namespace)
    assert namespace["SLICE"] == 8676


def test_the_export_reads_what_ran_from_the_records_beside_the_code():
    """A record (the tool's spec and settings) wins over what the code would say; an entry
    logged before there were records is still read from its code."""
    tutor = Tutor(train_slice=SLICE)
    settings = backend.TrainSettings(scaled=True, train_slice=SLICE)
    experiment = codegen.model_code() + "\n\n" + codegen.compile_code(settings)
    fit = codegen.fit_code(settings)  # 5 epochs on the slice, scaled
    recorded = [
        codegen.record("new_experiment", spec=backend.ModelSpec(hidden=((64, "relu"),)),
                       settings=settings),
        codegen.record("train", spec=backend.ModelSpec(hidden=((64, "relu"),)),
                       settings=backend.TrainSettings(epochs=3, batch_size=64)),
    ]
    notes = {}
    for style, records in (("new", recorded), ("old", None)):
        session = tutor.new_session()
        session.visited = ["prediction"]
        session.code_log = [
            {"state": "prediction", "kind": "tool", "code": experiment},
            {"state": "prediction", "kind": "training", "code": fit},
        ]
        if records is not None:
            for entry, record in zip(session.code_log, records, strict=True):
                entry["records"] = [record]
        notebook = build_notebook(session, tutor.pack)
        nbformat.validate(notebook)
        notes[style] = "\n".join(markdown_text(notebook))
        assert fit in [cell.source for cell in code_cells(notebook)]  # the code itself is kept
    assert "New experiment:** Flatten → Dense(64, relu) → Dense(10)" in notes["new"]
    assert "You trained for 3 epochs here, on all training images, with raw 0-255 pixels and " \
           "batches of 64." in notes["new"]
    assert "New experiment:** Flatten → Dense(10), a fresh model" in notes["old"]
    assert f"You trained for 5 epochs here, on the first {SLICE:,} training images, with pixels " \
           "scaled to 0-1 and batches of 32." in notes["old"]


def test_a_session_made_now_logs_records_and_exports_as_from_its_code(learner):
    tutor, session = learner
    assert all(entry.get("records") for entry in session.code_log)
    tools = [record["tool"] for entry in session.code_log for record in entry["records"]]
    assert tools.count("train") == 2 and "new_experiment" in tools and "flashcard" in tools
    fits = [record for entry in session.code_log for record in entry["records"]
            if record["tool"] == "train"]
    assert [record["settings"]["epochs"] for record in fits] == [5, 1]
    assert fits[1]["model"] == {"hidden": [[32, "relu"]], "convolutional": False}
    old_style = tutor.new_session()
    old_style.__dict__.update({key: value for key, value in session.__dict__.items()
                               if key not in ("code_log", "id")})
    old_style.code_log = [{key: value for key, value in entry.items() if key != "records"}
                          for entry in session.code_log]
    sources = [[cell.source for cell in build_notebook(one, tutor.pack).cells]
               for one in (session, old_style)]
    assert sources[0] == sources[1]
