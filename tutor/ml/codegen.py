"""The Keras code a notebook would run, written for the learner to read and copy.

Each builder in `tutor.ml.backend` has a twin here that writes the code it runs (`build_model`
and `model_code`, `compile_model` and `compile_code`, `train` and `fit_code`), so the learner
sees exactly the code behind every result. Plain strings only: nothing here imports Keras.
`record` writes, beside such code, what ran and with which settings (the seed among them) as
plain data, so that a notebook export reads the settings instead of parsing them back out of
the code; the readers `spec_from_code` and `settings_from_code` remain for sessions saved
before records. A model's code begins with `keras.utils.set_random_seed(seed)` when the tutor
knows its seed: a notebook has one learner, so the process-wide seed is the simple way there.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from tutor.ml.backend import VALIDATION_BATCH_SIZE, ModelSpec, TrainSettings
from tutor.ml.data import CLASS_NAMES

GPU_CODE = "import tensorflow as tf\n\ntf.config.list_physical_devices('GPU')"
NOTEBOOK_MODEL = ModelSpec()  # the defaults are the notebook's: one Dense layer,
NOTEBOOK_SETTINGS = TrainSettings()  # raw pixels, Adam, batch 32
SLICE_VARIABLE = "BRAIN_TUTOR_EXPORT_SLICE"  # an exported notebook trains on this many images


def record(tool: str, spec: ModelSpec | None = None, settings: TrainSettings | None = None,
           **details: Any) -> dict[str, Any]:
    """What one action ran, as JSON-safe data: the tool's name, the model spec and training
    settings it used (as `dataclasses.asdict` gives them) and any details, e.g. an image index."""
    entry: dict[str, Any] = {"tool": tool, **details}
    if spec is not None:
        entry["model"] = {"hidden": [list(layer) for layer in spec.hidden],
                          "convolutional": spec.convolutional}
    if settings is not None:
        entry["settings"] = dataclasses.asdict(settings)
    return entry


def spec_from_record(plain: Mapping[str, Any]) -> ModelSpec:
    """The ModelSpec a `record`'s "model" describes (lists back to tuples)."""
    hidden = tuple((int(units), str(activation)) for units, activation in plain.get("hidden", ()))
    return ModelSpec(hidden=hidden, convolutional=bool(plain.get("convolutional", False)))


def settings_from_record(plain: Mapping[str, Any]) -> TrainSettings:
    """The TrainSettings a `record`'s "settings" describe (unknown keys are left out)."""
    known = {item.name for item in dataclasses.fields(TrainSettings)}
    return TrainSettings(**{key: value for key, value in plain.items() if key in known})


def seed_code(seed: int) -> str:
    """The line that makes a notebook's next model start from `seed`: the same first weights as
    the tutor's model (`tutor.ml.seeds.kernel_seeds`), and the same run whenever it is run again."""
    return f"tf.keras.utils.set_random_seed({int(seed)})  # the run's seed: same start every time"


SEED_LINE = re.compile(r"^tf\.keras\.utils\.set_random_seed\((\d+)\)", re.M)


def seed_from_code(code: str) -> int | None:
    """The seed a `seed_code` line in `code` sets, if any."""
    match = SEED_LINE.search(code)
    return int(match.group(1)) if match else None


def with_seed(code: str, seed: int) -> str:
    """A `model_code` written without a seed, with the `seed_code` line it would have had."""
    return re.sub(r"^(?=number_of_classes = )", seed_code(seed) + "\n", code, count=1, flags=re.M)


def model_code(spec: ModelSpec = NOTEBOOK_MODEL, seed: int | None = None) -> str:
    """The Keras code that `build_model(spec, seed=seed)` runs, as the learner would type it."""
    lines = [
        *([seed_code(seed)] if seed is not None else []),
        "number_of_classes = int(train_labels.max()) + 1  # 10 (a plain int, as Keras 3 wants)",
        "",
        "model = tf.keras.Sequential([",
        "    tf.keras.Input(shape=(28, 28)),",
    ]
    if spec.convolutional:
        lines += [
            "    tf.keras.layers.Reshape((28, 28, 1)),",
            "    tf.keras.layers.Conv2D(32, 3, activation='relu'),",
            "    tf.keras.layers.MaxPooling2D(),",
            "    tf.keras.layers.Conv2D(64, 3, activation='relu'),",
            "    tf.keras.layers.MaxPooling2D(),",
        ]
    lines.append("    tf.keras.layers.Flatten(),")
    for units, activation in spec.hidden:
        lines.append(f"    tf.keras.layers.Dense({units}, activation='{activation}'),")
    lines += ["    tf.keras.layers.Dense(number_of_classes),", "])"]
    return "\n".join(lines)


def compile_code(settings: TrainSettings = NOTEBOOK_SETTINGS) -> str:
    """The Keras code that `compile_model(model, settings)` runs."""
    if settings.optimizer == "adam" and settings.learning_rate is None:
        optimizer = "'adam'"
    else:
        class_name = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}[settings.optimizer]
        rate = "" if settings.learning_rate is None else f"learning_rate={settings.learning_rate:g}"
        optimizer = f"tf.keras.optimizers.{class_name}({rate})"
    extra = (
        f",\n    steps_per_execution={settings.steps_per_execution}"
        if settings.steps_per_execution > 1
        else ""
    )
    return (
        "model.compile(\n"
        f"    optimizer={optimizer},\n"
        "    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
        f"    metrics=['accuracy']{extra}\n"
        ")"
    )


def fit_code(settings: TrainSettings = NOTEBOOK_SETTINGS) -> str:
    """The Keras code of the fit that `train` runs with these settings."""
    lines = []
    images, valid = "train_images", "valid_images"
    if settings.scaled:
        lines += [
            "train_images_scaled = train_images / 255.0",
            "valid_images_scaled = valid_images / 255.0",
            "",
        ]
        images, valid = "train_images_scaled", "valid_images_scaled"
    labels = "train_labels"
    if settings.train_slice:
        images = f"{images}[:{settings.train_slice}]"
        labels = f"{labels}[:{settings.train_slice}]"
    batch = "" if settings.batch_size == 32 else f"\n    batch_size={settings.batch_size},"
    lines += [
        "history = model.fit(",
        f"    {images},",
        f"    {labels},",
        f"    epochs={settings.epochs},{batch}",
        "    verbose=True,",
        f"    validation_data=({valid}, valid_labels),",
        f"    validation_batch_size={VALIDATION_BATCH_SIZE},  # same scores, in fewer steps",
    ]
    if settings.cools_down:
        last = settings.epochs - 1
        lines += [
            "    # the last epoch takes steps ten times smaller, to settle instead of jumping around",
            "    callbacks=[tf.keras.callbacks.LearningRateScheduler(",
            f"        lambda epoch: {settings.rate_at(0):g} if epoch < {last} else "
            f"{settings.rate_at(last):g})]",
        ]
    lines.append(")")
    return "\n".join(lines)


def spec_from_code(code: str) -> ModelSpec:
    """The ModelSpec whose `model_code` is `code` (read back from its layer lines)."""
    hidden = tuple(
        (int(units), activation)
        for units, activation in re.findall(r"Dense\((\d+), activation='(\w+)'\)", code)
    )
    return ModelSpec(hidden=hidden, convolutional="Conv2D(" in code)


def settings_from_code(code: str) -> TrainSettings:
    """The epochs, batch size, slice and scaling a `fit_code` cell trains with (the rest default)."""
    epochs = re.search(r"epochs=(\d+)", code)
    batch = re.search(r"\bbatch_size=(\d+)", code)  # not validation_batch_size
    part = re.search(r"\[:(\d+)\]", code)
    return TrainSettings(epochs=int(epochs.group(1)) if epochs else 1,
                         batch_size=int(batch.group(1)) if batch else 32, scaled="_scaled" in code,
                         train_slice=int(part.group(1)) if part else None)


def setup_code(images_needed: int = 0) -> str:
    """The first cell: imports, the data, the optional slice, the class count and names."""
    keep = (
        f"\nif SLICE is not None:\n    SLICE = max(SLICE, {images_needed})  "
        f"# this notebook looks at training image {images_needed - 1}"
        if images_needed
        else ""
    )
    return (
        "# Setup: the imports and the data every later cell uses.\n"
        "import os\n\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "import tensorflow as tf\n\n"
        f"# {SLICE_VARIABLE}=N trains on the first N training images only (unset: all 60,000).\n"
        f"SLICE = int(os.environ.get('{SLICE_VARIABLE}') or 0) or None{keep}\n\n"
        "fashion_mnist = tf.keras.datasets.fashion_mnist\n"
        "(train_images, train_labels), (valid_images, valid_labels) = fashion_mnist.load_data()\n"
        "train_images, train_labels = train_images[:SLICE], train_labels[:SLICE]\n\n"
        "number_of_classes = 10\n"
        f"class_names = {list(CLASS_NAMES)!r}"
    )


RESLICE_CODE = (
    f"# Added by the export: keep the {SLICE_VARIABLE} slice after loading the data again.\n"
    "train_images, train_labels = train_images[:SLICE], train_labels[:SLICE]"
)
