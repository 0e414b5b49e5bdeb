"""The Keras code a notebook would run, written for the learner to read and copy.

Each builder in `tutor.ml.backend` has a twin here that writes the code it runs (`build_model`
and `model_code`, `compile_model` and `compile_code`, `train` and `fit_code`), so the learner
sees exactly the code behind every result. Plain strings only: nothing here imports Keras.
"""

from __future__ import annotations

from tutor.ml.backend import VALIDATION_BATCH_SIZE, ModelSpec, TrainSettings

GPU_CODE = "import tensorflow as tf\n\ntf.config.list_physical_devices('GPU')"
NOTEBOOK_MODEL = ModelSpec()  # the defaults are the notebook's: one Dense layer,
NOTEBOOK_SETTINGS = TrainSettings()  # raw pixels, Adam, batch 32


def model_code(spec: ModelSpec = NOTEBOOK_MODEL) -> str:
    """The Keras code that `build_model(spec)` runs, as the learner would type it."""
    lines = [
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
