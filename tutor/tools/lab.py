"""Beyond the notebook: experiments, runs and looking inside the model.

Each experiment changes the learner's settings or architecture within fixed bounds, starts a
fresh model (so runs compare fairly) and says in one line what it expects. Runs can be compared
and restored. The look-inside tools draw what the neurons learned, the confusion matrix, the most
confident mistakes and, for the CNN, the first layer's filters.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from tutor.figures import curve_plots, model_plots, picture_plots
from tutor.ml import backend, codegen, data, probes, seeds
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.reply import Reply
from tutor.session import Session
from tutor.tools import own_image
from tutor.tools.lesson import CLASS_NAMES, model_inputs
from tutor.tools.registry import ToolInputError, _not_while_training, tool

MAX_UNITS = 1024
MAX_HIDDEN_LAYERS = 3
MAX_BATCH = 4096
MIN_LEARNING_RATE, MAX_LEARNING_RATE = 1e-6, 1.0
MIN_SLICE = 100
QUICK = {"batch_size": 256, "optimizer": "adam", "learning_rate": 5e-3, "steps_per_execution": 50,
         "cooldown": True}


def _validated(changes: dict[str, Any], session: Session) -> tuple[ModelSpec, TrainSettings, list[str]]:
    """Apply `changes` to copies of the learner's spec and settings; refuse anything out of range."""
    spec, settings = session.model_spec, session.settings
    expectations: list[str] = []
    if changes.get("quick") is True:
        settings = replace(settings, scaled=True, **QUICK)
        expectations.append("Quick mode: batches of 256 with a larger Adam step (0.005), ten "
                            "times smaller for the last epoch so the model settles, and 50 steps "
                            "per call, so training takes a fraction of the time for about the same "
                            "accuracy; pixels are scaled to 0-1.")
    elif changes.get("quick") is False:
        settings = replace(settings, batch_size=32, optimizer="adam", learning_rate=None,
                           steps_per_execution=1, cooldown=False)
        expectations.append("Back to the notebook's settings: batch 32, Adam's default step.")
    if "scaled" in changes and changes["scaled"] is not None:
        scaled = bool(changes["scaled"])
        settings = replace(settings, scaled=scaled)
        expectations.append(
            "Pixels scaled to 0-1: expect a loss near 0.45 instead of 10-17, a smooth validation "
            "curve and about 84% accuracy." if scaled else
            "Raw 0-255 pixels, as in the notebook: expect a large loss and a jumpy curve.")
    if changes.get("hidden") is not None:
        hidden = []
        for layer in changes["hidden"]:
            units, activation = int(layer[0]), str(layer[1]).lower()
            if not 1 <= units <= MAX_UNITS:
                raise ToolInputError(f"A hidden layer can have 1 to {MAX_UNITS:,} neurons; "
                                     f"{units:,} is out of range. Nothing changed.")
            if activation not in backend.ACTIVATIONS:
                raise ToolInputError(f"I know these activations: {', '.join(backend.ACTIVATIONS)}.")
            hidden.append((units, activation))
        if len(hidden) > MAX_HIDDEN_LAYERS:
            raise ToolInputError(f"Up to {MAX_HIDDEN_LAYERS} hidden layers here, to keep training "
                                 "quick on this machine. Nothing changed.")
        spec = replace(spec, hidden=tuple(hidden))
        if hidden:
            extra = sum(units for units, _ in hidden)
            expectations.append(
                f"{len(hidden)} hidden layer(s) ({extra:,} neurons): the network can combine pixels "
                "into shapes before deciding, so expect 86-88% with scaled pixels, a bit slower.")
        else:
            expectations.append("No hidden layers: back to ten neurons reading pixels directly.")
    if changes.get("convolutional") is not None:
        spec = replace(spec, convolutional=bool(changes["convolutional"]),
                       hidden=() if changes["convolutional"] else spec.hidden)
        if changes["convolutional"]:
            expectations.append("A small CNN: filters that look for edges and textures anywhere in "
                                "the image. Expect about 85-88% after one epoch, slower per epoch.")
    if changes.get("optimizer") is not None:
        name = str(changes["optimizer"]).lower()
        if name not in backend.OPTIMIZERS:
            raise ToolInputError(f"I know these optimizers: {', '.join(backend.OPTIMIZERS)}.")
        settings = replace(settings, optimizer=name)
        expectations.append({
            "adam": "Adam: a separate, adaptive step for every weight; a safe default.",
            "sgd": "SGD: plain steps down the slope; slower to settle, sensitive to the learning rate.",
            "rmsprop": "RMSprop: scales steps by recent gradient sizes, close to Adam.",
        }[name])
    if changes.get("learning_rate") is not None:
        rate = float(changes["learning_rate"])
        if not (math.isfinite(rate) and MIN_LEARNING_RATE <= rate <= MAX_LEARNING_RATE):
            raise ToolInputError(
                f"A learning rate between {MIN_LEARNING_RATE:g} and {MAX_LEARNING_RATE:g} please; "
                f"{changes['learning_rate']} is out of range. Nothing changed.")
        settings = replace(settings, learning_rate=rate)
        expectations.append(
            f"Learning rate {rate:g}: " + ("big steps, fast but may overshoot or blow up."
                                           if rate >= 0.05 else "small steps, steady but slower."
                                           if rate <= 1e-4 else "a moderate step size."))
    if changes.get("batch_size") is not None:
        batch = int(changes["batch_size"])
        if not 1 <= batch <= MAX_BATCH:
            raise ToolInputError(f"A batch size from 1 to {MAX_BATCH:,} please; {batch:,} is out of "
                                 "range. Nothing changed.")
        settings = replace(settings, batch_size=batch)
        expectations.append(f"Batch size {batch}: {math.ceil(data.train_size() / batch):,} steps per epoch; "
                            + ("fewer, larger steps: faster per epoch, each step averages more "
                               "images." if batch > 32 else "more, noisier steps."))
    if "train_slice" in changes:
        size, total = changes["train_slice"], data.train_size()
        if size is not None:
            size = int(size)
            if not MIN_SLICE <= size <= total:
                raise ToolInputError(f"Train on {MIN_SLICE} to {total:,} images; {size:,} is out of "
                                     "range. Nothing changed.")
            if size == total:
                size = None
        settings = replace(settings, train_slice=size)
        expectations.append(
            f"Training on the first {size:,} images: faster, but less to learn from, so expect "
            "lower validation accuracy." if size else f"Training on all {total:,} images.")
    return spec, settings, expectations


@tool
def new_experiment(
    session: Session,
    scaled: bool | None = None,
    hidden: list | None = None,
    convolutional: bool | None = None,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    quick: bool | None = None,
    train_slice: int | None = None,
) -> Reply:
    """Change settings or architecture within bounds, then start a fresh model to train."""
    _not_while_training(session)
    changes = {key: value for key, value in locals().items() if key != "session"}
    if train_slice is None:
        changes.pop("train_slice")
    spec, settings, expectations = _validated(changes, session)
    settings = replace(settings, seed=seeds.new_seed(session.rng))  # a fresh start of its own
    with session.model_lock:
        session.model_spec, session.settings = spec, settings
        session.model = backend.build_model(spec, seed=settings.seed)
        backend.compile_model(session.model, settings)
        session.compiled = True
        session.history = []
        total = backend.parameter_count(session.model)
    runs = f" Your {len(session.runs)} earlier run(s) are kept: say `compare runs`." if session.runs else ""
    text = (
        f"**New experiment:** {spec.describe()}, {_settings_line(settings)}, {total:,} parameters. "
        + " ".join(expectations)
        + f"{runs} Say `train for 5 epochs` (or `train for 1 epoch` for the CNN) to find out."
    )
    code = codegen.model_code(spec, settings.seed) + "\n\n" + codegen.compile_code(settings)
    return Reply(text=text, code=code, kind="tool",
                 records=[codegen.record("new_experiment", spec=spec, settings=settings)])


def _settings_line(settings: TrainSettings) -> str:
    rate = "default rate" if settings.learning_rate is None else f"rate {settings.learning_rate:g}"
    pixels = "scaled pixels" if settings.scaled else "raw pixels"
    images = f", first {settings.train_slice:,} images" if settings.train_slice else ""
    cooldown = ", last epoch at a tenth of the rate" if settings.cooldown else ""
    return f"{pixels}, {settings.optimizer} ({rate}{cooldown}), batch {settings.batch_size}{images}"


@tool
def compare_runs(session: Session) -> Reply:
    """A table of every run and their validation accuracy curves overlaid."""
    if not session.runs:
        raise ToolInputError("No runs yet. Train once (say `train for 5 epochs`) and try again.")
    rows = [
        "| run | model | settings | epochs | time | val accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for run in session.runs:
        accuracy = run.final_val_accuracy
        status = " (stopped)" if run.stopped else " (failed: NaN)" if run.diverged else ""
        seed = "" if run.seed is None else f", seed {run.seed}"
        rows.append(
            f"| {run.number} | {run.model} | {_settings_line(run.settings)}{seed} | {len(run.history)}"
            f"{status} | {run.seconds:.1f} s | "
            f"{'' if accuracy is None or run.diverged else f'{accuracy:.1%}'} |")
    curves = [(f"run {run.number}", run.history) for run in session.runs if run.history]
    figures = [curve_plots.compare_curves(curves)] if curves else []
    best = max((run for run in session.runs
                if run.final_val_accuracy is not None and not run.diverged and run.weights),
               key=lambda run: run.final_val_accuracy, default=None)
    text = "\n".join(rows)
    if best is not None:
        text += f"\n\nBest so far: **run {best.number}** at {best.final_val_accuracy:.1%}. "
        text += "Say `use run N` to get a run's model back."
    if session.runs[-1].seed is not None:
        text += ("\n\nA run's seed decides its first weights and the order of the images: "
                 "`train again with the same start` repeats the last run, curve and all.")
    return Reply(text=text, figures=figures, kind="tool")


@tool
def use_run(session: Session, number: int = 0) -> Reply:
    """Restore the model, settings and history of an earlier run (0 = the one before the last)."""
    _not_while_training(session)
    usable = [run for run in session.runs if run.weights is not None]
    if not usable:
        raise ToolInputError("There is no finished run to go back to yet.")
    if number == 0:  # undo: an untrained change goes back to the last run, else the one before
        run = usable[-1] if not session.history or len(usable) < 2 else usable[-2]
    else:
        matches = [run for run in usable if run.number == int(number)]
        if not matches:
            raise ToolInputError(f"I have runs {', '.join(str(run.number) for run in usable)}; "
                                 f"there is no run {number}.")
        run = matches[0]
    with session.model_lock:
        session.model_spec = run.spec
        session.settings = replace(run.settings, epochs=5, seed=run.seed)
        session.model = backend.build_model(run.spec, seed=run.seed)
        session.model.brain_tutor_seed = run.seed  # None: a run from before seeds were kept
        backend.compile_model(session.model, session.settings)
        backend.restore_weights(session.model, run.weights)
        session.compiled = True
        session.history = list(run.history)
    accuracy = run.final_val_accuracy
    return Reply(
        text=f"Back to **run {run.number}**: {run.model}, {_settings_line(run.settings)}"
        + (f", validation accuracy {accuracy:.1%}." if accuracy is not None else "."),
        kind="tool",
    )


def _validation_predictions(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and predicted classes for every validation image."""
    dataset = data.load_dataset()
    images = dataset.scaled("valid") if session.settings.scaled else dataset.valid_images
    with session.model_lock:
        logits = backend.predict_logits(session.model, images)
    return backend.softmax(logits), logits.argmax(axis=1)


def _needs_trained_model(session: Session) -> None:
    _not_while_training(session)
    if session.model is None or not session.history:
        raise ToolInputError("Train your model first (say `train for 5 epochs`): an untrained "
                             "model has nothing to show yet.")


@tool
def weight_maps(session: Session) -> Reply:
    """The ten output neurons' 784 weights drawn as 28x28 pictures: what each one looks for."""
    _needs_trained_model(session)
    if session.model_spec.hidden or session.model_spec.convolutional:
        raise ToolInputError(
            "Weight maps are easy to read only for the one-layer model, whose output neurons "
            "look straight at the pixels. Say `use the one-layer model`, train, and ask again.")
    with session.model_lock:
        weights = backend.output_weights(session.model)
    text = ("Each picture is one neuron's 784 weights laid out as the image. Red pixels push that "
            "class's score up, blue ones push it down: you can often see a blurry template, "
            "like two legs for Trouser.")
    code = ("weights = model.layers[-1].get_weights()[0]  # shape (784, 10)\n"
            "for neuron in range(10):\n"
            "    plt.subplot(2, 5, neuron + 1)\n"
            "    plt.imshow(weights[:, neuron].reshape(28, 28), cmap='RdBu_r')")
    return Reply(text=text, code=code, figures=[model_plots.weight_maps(weights, CLASS_NAMES)],
                 kind="tool", records=[codegen.record("weight_maps")])


@tool
def confusion_matrix(session: Session) -> Reply:
    """Which classes the model mixes up, on every validation image."""
    _needs_trained_model(session)
    _, predicted = _validation_predictions(session)
    labels = data.load_dataset().valid_labels
    matrix = backend.confusion_counts(labels, predicted)
    off = matrix - np.diag(np.diag(matrix))
    true, guess = divmod(int(off.argmax()), 10)
    text = (f"Rows are the true class, columns what your model said; the diagonal is right. It "
            f"is right on {int(np.trace(matrix)):,} of {len(labels):,}. The biggest mix-up: "
            f"**{CLASS_NAMES[true]}** taken for **{CLASS_NAMES[guess]}** {off[true, guess]} times.")
    code = ("predicted = model.predict(valid_images).argmax(axis=1)\n"
            "tf.math.confusion_matrix(valid_labels, predicted)")
    return Reply(text=text, code=code, figures=[model_plots.confusion_matrix(matrix, CLASS_NAMES)],
                 kind="tool", records=[codegen.record("confusion_matrix")])


@tool
def mistakes(session: Session, count: int = 10) -> Reply:
    """A gallery of the validation images the model got wrong with the most confidence."""
    _needs_trained_model(session)
    probabilities, predicted = _validation_predictions(session)
    dataset = data.load_dataset()
    wrong = np.flatnonzero(predicted != dataset.valid_labels)
    if len(wrong) == 0:
        return Reply(text="Your model got every validation image right!", kind="tool")
    confidence = probabilities[wrong, predicted[wrong]]
    chosen = wrong[np.argsort(-confidence)[: max(1, min(int(count), 20))]]
    captions = [
        f"#{index}: said {CLASS_NAMES[predicted[index]]} ({probabilities[index, predicted[index]]:.0%}),"
        f" is {CLASS_NAMES[dataset.valid_labels[index]]}"
        for index in chosen
    ]
    figure = picture_plots.image_gallery(dataset.valid_images[chosen], captions,
                                         "The model's most confident mistakes")
    text = (f"Your model is wrong on {len(wrong):,} of {len(dataset.valid_labels):,} validation images. "
            "These are the ones it was most sure about. Would you have got them right?")
    return Reply(text=text, figures=[figure], kind="tool")


@tool
def cnn_filters(session: Session, index: int = 0) -> Reply:
    """The CNN's first-layer filters and what each one sees in one validation image."""
    _needs_trained_model(session)
    if not session.model_spec.convolutional:
        raise ToolInputError("Filters belong to the CNN. Say `use a CNN`, train for 1 epoch, and "
                             "ask again.")
    dataset = data.load_dataset()
    if not 0 <= int(index) < len(dataset.valid_images):
        raise ToolInputError(f"Pick a validation image from 0 to {len(dataset.valid_images) - 1:,}.")
    with session.model_lock:
        image = model_inputs(session, dataset.valid_images[int(index) : int(index) + 1])
        kernels, activations = probes.first_convolution(session.model, image)  # (3, 3, 32), (26, 26, 32)
    count = kernels.shape[-1]
    figures = [
        picture_plots.image_gallery([kernels[:, :, number] for number in range(count)],
                                    [f"filter {number}" for number in range(count)],
                                    "First-layer filters (3 x 3 weights)", cols=8),
        picture_plots.image_gallery([activations[:, :, number] for number in range(count)],
                                    [f"map {number}" for number in range(count)],
                                    f"What each filter sees in validation image {index}", cols=8),
    ]
    text = (f"Each 3 x 3 filter slides over the image and lights up where its pattern appears. "
            f"Bright areas in the maps are where filter N found its edge or texture in validation "
            f"image {index} ({CLASS_NAMES[int(dataset.valid_labels[int(index)])]}).")
    return Reply(text=text, figures=figures, kind="tool")


@tool
def you_vs_model(session: Session) -> Reply:
    """Your flashcard answers next to the model's on the same cards."""
    _needs_trained_model(session)
    if not session.flashcard_answers:
        raise ToolInputError("Play a few flashcards first (`go to flashcards` or `another card`).")
    dataset = data.load_dataset()
    rows = ["| card | you said | model said | truth |", "|---|---|---|---|"]
    you = model_right = 0
    for answer in session.flashcard_answers:
        images, labels = dataset.split(answer["split"])
        with session.model_lock:
            logits = backend.predict_logits(
                session.model, model_inputs(session, images[answer["index"] : answer["index"] + 1]))
        guess = int(logits.argmax())
        truth = int(labels[answer["index"]])
        you += answer["guess"] == truth
        model_right += guess == truth
        rows.append(f"| {answer['split']} {answer['index']} | {CLASS_NAMES[answer['guess']]} | "
                    f"{CLASS_NAMES[guess]} | {CLASS_NAMES[truth]} |")
    total = len(session.flashcard_answers)
    return Reply(text="\n".join(rows) + f"\n\nYou: **{you} of {total}**. The model: "
                 f"**{model_right} of {total}**.", kind="tool")


def predict_own_image(session: Session, image: Any) -> Reply:
    """Preprocess a learner's own picture step by step, then show the model's ten outputs."""
    _not_while_training(session)
    steps = own_image.preprocess(image)
    if session.settings.scaled:
        steps.append(own_image.Step("scaled to 0-1", steps[-1].image / np.float32(255.0)))
    from tutor.tools.lesson import ensure_model

    notes = ensure_model(session)
    final = steps[-1].image if not session.settings.scaled else steps[-2].image  # 28x28 uint8
    with session.model_lock:
        logits = backend.predict_logits(session.model, model_inputs(session, final[np.newaxis]))[0]
    predicted = int(logits.argmax())
    confidence = float(backend.softmax(logits)[predicted])
    gallery = picture_plots.image_gallery([step.image for step in steps], [step.name for step in steps],
                                          "Your picture, step by step", cols=len(steps))
    bars = model_plots.output_bars(logits, CLASS_NAMES, None, title="Ten outputs for your picture")
    text = (" ".join(notes) + f"\n\nYour model says **{CLASS_NAMES[predicted]}** "
            f"({confidence:.0%} after softmax)." + own_image.HONEST_NOTE).strip()
    if not session.history:
        text += "\n\n*Your model has not trained yet, so this is a guess from random weights.*"
    return Reply(text=text, figures=[gallery, bars], kind="tool")
