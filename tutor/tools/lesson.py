"""The notebook's own steps as tools: the GPU check, the data, flashcards, pixels, the model,
its summary and its predictions.

Each tool takes the learner's Session and simple arguments, runs the real backend, and returns
a Reply (text, the Keras code that ran, plots). `ensure_model` and `model_inputs` are the
helpers the other tool modules share: a built, compiled model and images in the form it expects.
Training lives in `tutor.tools.training`, the experiments in `tutor.tools.lab`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np

from tutor.figures import model_plots, picture_plots
from tutor.ml import backend, codegen, data, seeds
from tutor.reply import Reply
from tutor.session import Session
from tutor.tools.registry import ToolInputError, _not_while_training, tool

CLASS_NAMES = data.CLASS_NAMES
SPLIT_NAMES = {"train": "training", "valid": "validation"}
Split = Literal["train", "valid"]  # the hint that gives a language model the two split names


def _dataset() -> data.Dataset:
    return data.load_dataset()


def _checked_index(split: str, index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The split's arrays and a valid index, or a friendly ToolInputError."""
    if split not in SPLIT_NAMES:
        raise ToolInputError("Images come from the training set or the validation set.")
    images, labels = _dataset().split(split)
    try:
        index = int(index)
    except (TypeError, ValueError) as error:
        raise ToolInputError("An image number is a whole number, like 42.") from error
    if not 0 <= index < len(images):
        raise ToolInputError(
            f"The {SPLIT_NAMES[split]} set has images 0 to {len(images) - 1:,}; "
            f"{index:,} is out of range. Try a number in that range."
        )
    return images, labels, index


def _array_name(split: str) -> str:
    return "train_images" if split == "train" else "valid_images"


@tool
def check_gpu(session: Session) -> Reply:
    """Ask TensorFlow which GPUs it can see."""
    devices = backend.gpu_devices()
    if devices:
        text = f"TensorFlow found {len(devices)} GPU(s): {', '.join(devices)}. Training will use it."
    else:
        text = "TensorFlow found **no GPU** on this machine (`[]`), so the CPU will do the maths.\n"
    return Reply(text=text, code=codegen.GPU_CODE + f"\n# -> {devices!r}", kind="tool",
                 records=[codegen.record("check_gpu", devices=list(devices))])


@tool
def load_data(session: Session) -> Reply:
    """Load Fashion-MNIST and show a 5x5 grid of labelled training images."""
    dataset = _dataset()
    text = (
        f"Loaded: `train_images` {dataset.train_images.shape} and `valid_images` "
        f"{dataset.valid_images.shape}, pixels from {int(dataset.train_images.min())} to "
        f"{int(dataset.train_images.max())}, labels 0-9. Here are the first 25 flashcards."
    )
    figure = picture_plots.sample_grid(dataset.train_images, dataset.train_labels, CLASS_NAMES)
    return Reply(text=text, code=data.LOAD_CODE, figures=[figure], kind="tool",
                 records=[codegen.record("load_data")])


@tool
def show_image(session: Session, split: Split = "train", index: int = 42) -> Reply:
    """Show one image with a colour bar and its label.

    Args:
        split: "train" for the training set, "valid" for the validation set.
        index: the image's number in that set, from 0.
    """
    images, labels, index = _checked_index(split, index)
    label = int(labels[index])
    name = CLASS_NAMES[label]
    figure = picture_plots.image_with_colorbar(
        images[index], f"{SPLIT_NAMES[split].capitalize()} image {index}: {name}", name
    )
    text = f"{SPLIT_NAMES[split].capitalize()} image {index} is label {label}, **{name}**."
    return Reply(text=text, code=_image_code(split, index), figures=[figure], kind="tool",
                 records=[codegen.record("show_image", split=split, index=index)])


def _image_code(split: str, index: int) -> str:
    return (
        "import matplotlib.pyplot as plt\n\n"
        f"data_idx = {index}\n"
        "plt.figure()\n"
        f"plt.imshow({_array_name(split)}[data_idx], cmap='gray')\n"
        "plt.colorbar()\n"
        "plt.show()"
    )


def _card_reply(session: Session, split: str, index: int, lead: str = "") -> Reply:
    images, _, index = _checked_index(split, index)
    session.pending_card = (split, index)
    figure = picture_plots.image_with_colorbar(
        images[index], f"Flashcard: {SPLIT_NAMES[split]} image {index}", None
    )
    text = (
        f"{lead}**Flashcard: {SPLIT_NAMES[split]} image {index}.** What is it? "
        "Type the label number (0-9) or the class name."
    )
    return Reply(text=text, code=_image_code(split, index), figures=[figure], kind="flashcard",
                 records=[codegen.record("flashcard", split=split, index=index)])


@tool
def flashcards(session: Session, cards: list[list[Any]] | None = None) -> Reply:
    """Start a deck of flashcards: show the first card with its label hidden."""
    deck = [(str(split), int(index)) for split, index in (cards or [["train", 42]])]
    for split, index in deck:
        _checked_index(split, index)
    session.card_queue = deck[1:]
    return _card_reply(session, *deck[0])


@tool
def another_card(session: Session, split: Split = "valid") -> Reply:
    """Show a random flashcard from the training or validation set.

    Args:
        split: "train" for the training set, "valid" for the validation set.
    """
    images, _ = _dataset().split(split) if split in SPLIT_NAMES else (None, None)
    if images is None:
        raise ToolInputError("Images come from the training set or the validation set.")
    return _card_reply(session, split, session.rng.randrange(len(images)))


def grade_card(session: Session, guess: int) -> Reply:
    """Reveal the pending card, record the guess, and move to the next card in the deck."""
    if session.pending_card is None:
        raise ToolInputError("There is no flashcard waiting for a guess. Say 'another card'.")
    split, index = session.pending_card
    images, labels, _ = _checked_index(split, index)
    label = int(labels[index])
    correct = guess == label
    session.flashcard_answers.append(
        {"split": split, "index": index, "guess": guess, "label": label, "correct": correct}
    )
    session.pending_card = None
    right, asked = session.flashcard_score
    name = CLASS_NAMES[label]
    verdict = (
        f"**Right!** It is label {label}, {name}."
        if correct
        else f"Not quite: you said {guess} ({CLASS_NAMES[guess]}), the label is "
        f"**{label}, {name}**. Many people mix these up; the pictures are tiny."
    )
    text = (
        f"{verdict} The answer comes from `{'train_labels' if split == 'train' else 'valid_labels'}"
        f"[{index}]` -> {label}. Your flashcard score: {right} of {asked}."
    )
    figure = picture_plots.image_with_colorbar(
        images[index], f"{SPLIT_NAMES[split].capitalize()} image {index}: {name}", name
    )
    reply = Reply(text=text, figures=[figure], kind="flashcard")
    if session.card_queue:
        next_split, next_index = session.card_queue.pop(0)
        following = _card_reply(session, next_split, next_index, lead="Next card. ")
        reply.text += "\n\n" + following.text
        reply.figures += following.figures
        reply.code = following.code
    return reply


@tool
def show_pixels(session: Session, split: Split = "train", index: int = 42) -> Reply:
    """Print the raw 0-255 pixel values of one image: the numbers a neuron multiplies."""
    images, labels, index = _checked_index(split, index)
    image = np.asarray(images[index])
    rows = "\n".join(" ".join(f"{value:3d}" for value in row) for row in image)
    text = (
        f"Here are all 784 pixel values of {SPLIT_NAMES[split]} image {index} "
        f"({CLASS_NAMES[int(labels[index])]}): 28 rows of 28 numbers, 0 is black and 255 white. "
        f"{int((image > 0).sum())} of them are not zero. Each one will get its own weight.\n\n"
        f"```text\n{rows}\n```"
    )
    figure = picture_plots.image_with_colorbar(image, f"{SPLIT_NAMES[split].capitalize()} image {index}",
                                               CLASS_NAMES[int(labels[index])])
    return Reply(text=text, code=f"{_array_name(split)}[{index}]", figures=[figure], kind="tool",
                 records=[codegen.record("show_pixels", split=split, index=index)])


def model_inputs(session: Session, images: np.ndarray) -> np.ndarray:
    """Images as this learner's model expects them: raw 0-255, or scaled to 0-1."""
    if session.settings.scaled:
        return (np.asarray(images) / np.float32(255.0)).astype(np.float32)
    return images


def _fresh_model(session: Session) -> Any:
    """A new model of the learner's spec from a seed of their own (`session.rng`), recorded in
    their settings so the run and the exported notebook can repeat it."""
    seed = seeds.new_seed(session.rng)
    session.settings = replace(session.settings, seed=seed)
    return backend.build_model(session.model_spec, seed=seed)


def ensure_model(session: Session) -> list[str]:
    """Build and compile the learner's model if they have none yet; say what was done."""
    notes = []
    with session.model_lock:
        if session.model is None:
            session.model = _fresh_model(session)
            session.compiled = False
            notes.append("I built the model first (`Flatten` then `Dense(10)`).")
        if not session.compiled:
            backend.compile_model(session.model, session.settings)
            session.compiled = True
            notes.append("I compiled it with Adam and cross-entropy.")
    return notes


@tool
def build_model(session: Session, fresh: bool = False) -> Reply:
    """Build the model (Flatten then Dense(10)) and draw it; keeps an existing one unless fresh."""
    _not_while_training(session)
    with session.model_lock:
        kept = session.model is not None and not fresh
        if not kept:
            session.model = _fresh_model(session)
            session.compiled = False
            session.history = []
        rows = backend.layer_table(session.model)
    lead = "This is the model you already built (and trained, if you did)." if kept else (
        f"Built: {session.model_spec.describe()}."
    )
    figure = model_plots.model_diagram(rows)
    code = None if kept else codegen.model_code(session.model_spec, session.settings.seed)
    records = [] if kept else [codegen.record("build_model", spec=session.model_spec,
                                              settings=session.settings)]
    return Reply(text=lead, code=code, figures=[figure], kind="tool", records=records)


@tool
def summary(session: Session) -> Reply:
    """Print model.summary() and explain where the parameter count comes from."""
    _not_while_training(session)
    notes = []
    with session.model_lock:
        if session.model is None:
            session.model = _fresh_model(session)
            session.compiled = False
            notes.append("You had no model yet, so I built the notebook's one.")
        text_summary = backend.summary_text(session.model)
        rows = backend.layer_table(session.model)
        total = backend.parameter_count(session.model)
    explanation = _parameter_explanation(rows, total)
    text = " ".join(notes) + f"\n\n```text\n{text_summary}\n```\n\n{explanation}"
    return Reply(text=text.strip(), code="model.summary()", figures=[model_plots.model_diagram(rows)],
                 kind="tool", records=[codegen.record("summary")])


def _parameter_explanation(rows: list[dict[str, Any]], total: int) -> str:
    parts = []
    inputs = 784
    for row in rows:
        if row["kind"] == "Dense":
            units = int(str(row["output_shape"]).strip("()").split(",")[-1])
            fan_in = (int(row["params"]) - units) // units
            parts.append(
                f"`{row['name']}`: {fan_in:,} inputs x {units} neurons = {fan_in * units:,} "
                f"weights, plus {units} biases = **{int(row['params']):,}**"
            )
            inputs = units
    del inputs
    if len(parts) == 1 and total == 7850:
        return (
            "Where does **7,850** come from? Each of the 10 neurons has one weight per pixel: "
            "784 x 10 = 7,840 weights, plus one bias per neuron: 10. 7,840 + 10 = 7,850. "
            "`Flatten` only reshapes, so it has 0 parameters."
        )
    return "Counting the parameters: " + "; ".join(parts) + f". Total: **{total:,}**."


@tool
def compile_model(session: Session) -> Reply:
    """Compile the model with Adam, SparseCategoricalCrossentropy(from_logits=True), accuracy."""
    _not_while_training(session)
    notes = []
    with session.model_lock:
        if session.model is None:
            session.model = _fresh_model(session)
            notes.append("You had no model yet, so I built the notebook's one first.")
        backend.compile_model(session.model, session.settings)
        session.compiled = True
    compiled = (
        "Compiled. The model now knows how to measure its mistakes (the loss) and how to "
        "correct them (the optimizer)."
    )
    text = " ".join([*notes, compiled])
    return Reply(text=text, code=codegen.compile_code(session.settings), kind="tool",
                 records=[codegen.record("compile_model", settings=session.settings)])


def _untrained_note(session: Session) -> str:
    if session.history:
        return ""
    return (
        "\n\n*Your model has not trained yet, so these outputs come from random starting "
        "weights. Say 'train for 5 epochs' and ask again.*"
    )


@tool
def predict_first_ten(session: Session) -> Reply:
    """Predict the first ten training images and show the raw outputs as a table."""
    _not_while_training(session)
    dataset = _dataset()
    notes = ensure_model(session)
    with session.model_lock:
        logits = backend.predict_logits(session.model, model_inputs(session, dataset.train_images[:10]))
    predicted = logits.argmax(axis=1)
    header = "| image | " + " | ".join(str(label) for label in range(10)) + " | predicted | true |"
    rule = "|" + "---|" * 13
    rows = []
    for number in range(10):
        true = int(dataset.train_labels[number])
        cells = " | ".join(
            f"**{value:.0f}**" if label == predicted[number] else f"{value:.0f}"
            for label, value in enumerate(logits[number])
        )
        mark = "✓" if predicted[number] == true else "✗"
        rows.append(
            f"| {number} | {cells} | {CLASS_NAMES[predicted[number]]} {mark} | {CLASS_NAMES[true]} |"
        )
    right = int((predicted == dataset.train_labels[:10]).sum())
    text = (
        " ".join(notes)
        + "\n\nThe ten raw outputs (logits) of each neuron, columns 0-9; the biggest, in bold, "
        f"is the model's answer. It got **{right} of 10** right.\n\n"
        + "\n".join([header, rule, *rows])
        + _untrained_note(session)
    )
    scale = " / 255.0" if session.settings.scaled else ""
    return Reply(text=text.strip(), code=f"model.predict(train_images[0:10]{scale})", kind="tool",
                 records=[codegen.record("predict_first_ten", scaled=bool(scale))])


@tool
def predict_image(session: Session, split: Split = "train", index: int = 8675) -> Reply:
    """Predict one image and show it with the bar chart of its ten outputs.

    Args:
        split: "train" for the training set, "valid" for the validation set.
        index: the image's number in that set, from 0.
    """
    _not_while_training(session)
    images, labels, index = _checked_index(split, index)
    notes = ensure_model(session)
    with session.model_lock:
        logits = backend.predict_logits(session.model, model_inputs(session, images[index : index + 1]))[0]
    true = int(labels[index])
    predicted = int(np.argmax(logits))
    confidence = float(backend.softmax(logits)[predicted])
    verdict = "right" if predicted == true else "wrong"
    text = (
        " ".join(notes)
        + f"\n\nFor {SPLIT_NAMES[split]} image {index} the biggest output is neuron {predicted}, "
        f"**{CLASS_NAMES[predicted]}** ({confidence:.0%} after softmax). The correct answer is "
        f"{true}, **{CLASS_NAMES[true]}**: the model is {verdict}. "
        "Would you have been confused too?"
        + _untrained_note(session)
    )
    name = _array_name(split) + (" / 255.0" if session.settings.scaled else "")
    code = (
        f"x = {name}\nlabels = {'train_labels' if split == 'train' else 'valid_labels'}\n"
        f"data_idx = {index}\n\n"
        "plt.figure()\nplt.imshow(x[data_idx], cmap='gray')\nplt.colorbar()\nplt.show()\n\n"
        "x_values = range(number_of_classes)\n"
        "plt.figure()\n"
        "plt.bar(x_values, model.predict_on_batch(x[data_idx:data_idx+1]).flatten())\n"
        "plt.xticks(range(10))\nplt.show()\n\n"
        "print('correct answer:', labels[data_idx])"
    )
    figures = [
        picture_plots.image_with_colorbar(
            images[index], f"{SPLIT_NAMES[split].capitalize()} image {index}", CLASS_NAMES[true]
        ),
        model_plots.output_bars(logits, CLASS_NAMES, true,
                                title=f"Ten outputs for {SPLIT_NAMES[split]} image {index}"),
    ]
    record = codegen.record("predict_image", split=split, index=index, scaled=session.settings.scaled)
    return Reply(text=text.strip(), code=code, figures=figures, kind="tool", records=[record])


def warm_up() -> None:
    """Import TensorFlow and load the data set once, so the first lesson step is quick."""
    backend.gpu_devices()
    _dataset()
