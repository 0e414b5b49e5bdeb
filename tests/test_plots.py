"""Tests for the tutor.figures plot modules on synthetic arrays: every figure renders, has the right panels,
says what it shows in its alt text, and refuses bad input with a clear ValueError."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from tutor.figures import cache, common, curve_plots, model_plots, picture_plots
from tutor.reply import Plot

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def images(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)


@pytest.fixture
def labels(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 10, size=40)


def make_history(epochs: int, *, validation: bool = True) -> list[dict[str, float]]:
    history = []
    for e in range(epochs):
        logs = {"loss": 0.9 - 0.05 * e, "accuracy": 0.70 + 0.02 * e}
        if validation:
            logs |= {"val_loss": 0.95 - 0.04 * e, "val_accuracy": 0.68 + 0.015 * e}
        history.append(logs)
    return history


def assert_renders(plot: Plot) -> bytes:
    """The plot is well formed and really draws to a PNG."""
    assert isinstance(plot, Plot)
    assert isinstance(plot.figure, Figure)
    assert plot.alt.strip()
    assert "\n" not in plot.alt
    assert plot.alt.endswith(".")
    data = common.to_png_bytes(plot)
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000
    return data


def all_text(plot: Plot) -> str:
    """Every string drawn on the figure: titles, labels, tick labels, text artists."""
    fig = plot.figure
    fig.canvas.draw()
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(t for t in texts if isinstance(t, str))


# --------------------------------------------------------------------------- png helpers


def test_save_png_writes_file_and_returns_path(
    tmp_path: Path, images: np.ndarray
) -> None:
    plot = picture_plots.image_with_colorbar(images[0], "Training image 0", "Bag")
    target = tmp_path / "nested" / "folder" / "image.png"
    result = common.save_png(plot, str(target))
    assert result == target
    assert isinstance(result, Path)
    assert target.read_bytes().startswith(PNG_MAGIC)


def test_to_png_bytes_is_repeatable(images: np.ndarray) -> None:
    plot = picture_plots.image_with_colorbar(images[0], "Training image 0", "Bag")
    assert common.to_png_bytes(plot)[:8] == common.to_png_bytes(plot)[:8] == PNG_MAGIC


def test_png_is_drawn_once_even_when_threads_ask_together(images: np.ndarray) -> None:
    plot = curve_plots.training_curves([{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.7}])
    drawn = []
    original = plot.figure.savefig

    def counting_savefig(*args, **kwargs):
        drawn.append(1)
        return original(*args, **kwargs)

    plot.figure.savefig = counting_savefig
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(plot.png())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(drawn) == 1
    assert len(set(results)) == 1 and results[0].startswith(PNG_MAGIC)


def test_figures_of_shared_data_are_drawn_once_for_everyone(images: np.ndarray) -> None:
    shared = images.copy()
    shared.flags.writeable = False  # like the data set, which the tutor loads read-only
    first = picture_plots.image_with_colorbar(shared[3], "Flashcard: training image 3", None)
    again = picture_plots.image_with_colorbar(shared[3], "Flashcard: training image 3", None)
    assert again is first  # same data, same figure object, so its PNG is drawn once
    assert picture_plots.image_with_colorbar(shared[4], "Flashcard: training image 3", None) is not first
    assert picture_plots.image_with_colorbar(shared[3], "Flashcard: training image 3", "Bag") is not first

    grid = picture_plots.sample_grid(shared, np.arange(len(shared)) % 10, CLASS_NAMES, rows=2, cols=2)
    assert picture_plots.sample_grid(shared, np.arange(len(shared)) % 10, CLASS_NAMES, rows=2, cols=2) is grid
    assert picture_plots.sample_grid(
        shared, np.arange(len(shared)) % 10, CLASS_NAMES, rows=2, cols=3
    ) is not grid


def test_a_changed_array_is_a_new_figure(images: np.ndarray) -> None:
    picture = images[0].copy()
    before = picture_plots.image_with_colorbar(picture, "Your picture", "Bag")
    picture[0, 0] = 255 - picture[0, 0]  # a writeable array is keyed by its contents
    after = picture_plots.image_with_colorbar(picture, "Your picture", "Bag")
    assert after is not before
    assert common.to_png_bytes(after) != common.to_png_bytes(before)


def test_large_writeable_arrays_are_keyed_by_content(rng: np.random.Generator) -> None:
    pictures = rng.integers(0, 256, size=(2000, 28, 28), dtype=np.uint8)  # 1.5 MB, writeable
    labels = np.arange(2000) % 10
    before = picture_plots.sample_grid(pictures, labels, CLASS_NAMES, rows=1, cols=2)
    pictures[0] = 0
    assert picture_plots.sample_grid(pictures, labels, CLASS_NAMES, rows=1, cols=2) is not before


def test_the_shared_figure_cache_is_bounded(images: np.ndarray) -> None:
    for index in range(cache.SHARED_PLOT_LIMIT + 5):
        model_plots.model_diagram([{"name": f"dense_{index}", "kind": "Dense", "output": "(None, 10)",
                              "params": index}])
    assert len(cache._shared_plots) <= cache.SHARED_PLOT_LIMIT


# --------------------------------------------------------------------------- image_with_colorbar


def test_image_with_colorbar_labelled() -> None:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[5:20, 5:20] = 255
    plot = picture_plots.image_with_colorbar(image, "Training image 42", "Ankle boot")
    assert_renders(plot)
    assert len(plot.figure.axes) == 2  # the picture and its colour bar
    assert plot.title == "Training image 42"
    for fact in (
        "Training image 42",
        "28 by 28",
        "Ankle boot",
        "0 (black)",
        "255 (white)",
    ):
        assert fact in plot.alt
    assert "Ankle boot" in all_text(plot)
    (shown,) = plot.figure.axes[0].get_images()
    assert shown.get_cmap().name == "gray"


def test_image_with_colorbar_flashcard_hides_label(images: np.ndarray) -> None:
    plot = picture_plots.image_with_colorbar(images[3], "Mystery item")
    assert_renders(plot)
    assert "hidden" in plot.alt
    text = all_text(plot)
    for name in CLASS_NAMES:
        assert name not in plot.alt
        assert name not in text
        assert name not in plot.title


def test_image_with_colorbar_reports_real_range() -> None:
    image = np.linspace(0.25, 0.75, 12 * 10).reshape(12, 10)
    plot = picture_plots.image_with_colorbar(image, "Scaled", "Coat")
    assert "12 by 10" in plot.alt
    assert "0.25 (black)" in plot.alt
    assert "0.75 (white)" in plot.alt


def test_image_with_colorbar_accepts_trailing_channel(images: np.ndarray) -> None:
    plot = picture_plots.image_with_colorbar(images[0][..., None], "With channel", "Bag")
    assert "28 by 28" in plot.alt


@pytest.mark.parametrize(
    "bad",
    [np.zeros(784), np.zeros((2, 28, 28)), np.zeros((0, 28)), np.array([["a", "b"]])],
)
def test_image_with_colorbar_rejects_bad_shapes(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="image"):
        picture_plots.image_with_colorbar(bad, "bad")


# --------------------------------------------------------------------------- sample_grid


def test_sample_grid_default_first_25(images: np.ndarray, labels: np.ndarray) -> None:
    plot = picture_plots.sample_grid(images, labels, CLASS_NAMES)
    assert_renders(plot)
    assert len(plot.figure.axes) == 25
    assert "5 by 5" in plot.alt
    assert "indices 0 to 24" in plot.alt
    text = all_text(plot)
    for i in (0, 12, 24):
        assert f"{i}: {CLASS_NAMES[labels[i]]}" in text
    assert "25:" not in text
    # each class shown is counted in the alt text
    assert CLASS_NAMES[labels[0]] in plot.alt


def test_sample_grid_chosen_indices(images: np.ndarray, labels: np.ndarray) -> None:
    plot = picture_plots.sample_grid(
        images, labels, CLASS_NAMES, indices=[39, 7, 3], rows=1, cols=3
    )
    assert_renders(plot)
    assert len(plot.figure.axes) == 3
    text = all_text(plot)
    assert f"39: {CLASS_NAMES[labels[39]]}" in text
    assert "3 chosen indices" in plot.alt


def test_sample_grid_fewer_images_than_cells(
    images: np.ndarray, labels: np.ndarray
) -> None:
    plot = picture_plots.sample_grid(images[:7], labels[:7], CLASS_NAMES)
    assert len(plot.figure.axes) == 7
    assert "7 greyscale images" in plot.alt


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"indices": [40]}, "outside"),
        ({"indices": []}, "empty"),
        ({"indices": list(range(10)), "rows": 3, "cols": 3}, "do not fit"),
        ({"rows": 0}, "at least 1"),
    ],
)
def test_sample_grid_rejects_bad_arguments(
    images: np.ndarray, labels: np.ndarray, kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        picture_plots.sample_grid(images, labels, CLASS_NAMES, **kwargs)


def test_sample_grid_rejects_mismatched_data(
    images: np.ndarray, labels: np.ndarray
) -> None:
    with pytest.raises(ValueError, match="40 images but 39 labels"):
        picture_plots.sample_grid(images, labels[:39], CLASS_NAMES)
    with pytest.raises(ValueError, match="shape"):
        picture_plots.sample_grid(images.reshape(40, 784), labels, CLASS_NAMES)
    with pytest.raises(ValueError, match="outside the 3 classes"):
        picture_plots.sample_grid(images, np.full(40, 5), CLASS_NAMES[:3])
    with pytest.raises(ValueError, match="1-D"):
        picture_plots.sample_grid(images, np.eye(10)[labels], CLASS_NAMES)


# --------------------------------------------------------------------------- training_curves


def test_training_curves_full_history() -> None:
    history = make_history(5)
    plot = curve_plots.training_curves(history)
    assert_renders(plot)
    assert len(plot.figure.axes) == 2
    loss_ax, acc_ax = plot.figure.axes
    assert loss_ax.get_ylabel() == "loss"
    assert acc_ax.get_ylabel() == "accuracy"
    assert len(loss_ax.get_lines()) == 2  # training and validation
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3, 4, 5])
    assert loss_ax.get_lines()[0].get_marker() != "None"
    assert "5 epochs" in plot.alt
    assert "78.0%" in plot.alt  # last training accuracy 0.70 + 0.02 * 4
    assert "0.700" in plot.alt  # last training loss 0.9 - 0.05 * 4
    assert "74.0%" in plot.alt  # last validation accuracy 0.68 + 0.015 * 4
    assert "0.790" in plot.alt  # last validation loss 0.95 - 0.04 * 4


def test_training_curves_single_epoch_live() -> None:
    plot = curve_plots.training_curves(make_history(1))
    assert_renders(plot)
    assert "1 epoch:" in plot.alt
    for ax in plot.figure.axes:
        ticks = list(ax.get_xticks())
        assert ticks == [1]  # whole epochs only, even with a single point


def test_training_curves_without_validation_and_numpy_values() -> None:
    history = [{"loss": np.float32(0.5), "accuracy": np.float32(0.8)}]
    plot = curve_plots.training_curves(history)
    assert_renders(plot)
    assert all(len(ax.get_lines()) == 1 for ax in plot.figure.axes)
    assert "no validation" in plot.alt
    assert "80.0%" in plot.alt


def test_training_curves_survives_diverged_loss() -> None:
    history = make_history(2)
    history[-1]["loss"] = float("nan")
    plot = curve_plots.training_curves(history)
    assert_renders(plot)
    assert "not a number" in plot.alt


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "empty"),
        ({"loss": [0.5], "accuracy": [0.8]}, "list of per-epoch dicts"),
        ([{"loss": 0.5}], "'accuracy'"),
        ([{"loss": 0.5, "accuracy": 0.8}, {"accuracy": 0.9}], "epoch 2.*'loss'"),
        ([{"loss": "high", "accuracy": 0.8}], "non-numeric"),
        ([0.5], "not a dict"),
    ],
)
def test_training_curves_rejects_bad_history(history: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        curve_plots.training_curves(history)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- output_bars


def test_output_bars_wrong_prediction() -> None:
    outputs = np.array([-2.0, 0.5, 1.0, -3.5, 4.25, 0.0, 3.0, -1.0, 2.0, -0.5])
    plot = model_plots.output_bars(outputs, CLASS_NAMES, true_label=6)
    assert_renders(plot)
    assert len(plot.figure.axes) == 1
    ax = plot.figure.axes[0]
    bars = ax.patches
    assert len(bars) == 10
    heights = [bar.get_height() for bar in bars]
    np.testing.assert_allclose(heights, outputs)
    predicted_colour = bars[4].get_facecolor()
    assert all(bars[i].get_facecolor() != predicted_colour for i in range(10) if i != 4)
    assert bars[6].get_hatch()
    assert not bars[4].get_hatch()
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASS_NAMES
    assert ax.get_legend() is not None
    assert "predicts Coat" in plot.alt
    assert "4.25" in plot.alt
    assert "Shirt" in plot.alt
    assert "wrong" in plot.alt


def test_output_bars_right_prediction_and_batch_row() -> None:
    outputs = np.zeros((1, 10))
    outputs[0, 9] = 7.5
    plot = model_plots.output_bars(outputs, CLASS_NAMES, true_label=np.int64(9))
    assert_renders(plot)
    assert "Ankle boot at 7.5" in plot.alt
    assert "right" in plot.alt
    assert "wrong" not in plot.alt


def test_output_bars_without_true_label() -> None:
    plot = model_plots.output_bars(
        np.arange(10.0), CLASS_NAMES, true_label=None, title="Guess"
    )
    assert_renders(plot)
    assert plot.title == "Guess"
    assert "Ankle boot" in plot.alt
    assert "true class" not in plot.alt
    assert not any(bar.get_hatch() for bar in plot.figure.axes[0].patches)


@pytest.mark.parametrize(
    ("outputs", "names", "true_label", "message"),
    [
        (np.zeros(10), CLASS_NAMES[:9], 0, "expected 10 class names, got 9"),
        (np.zeros((2, 10)), CLASS_NAMES, 0, "one row"),
        (np.zeros(10), CLASS_NAMES, 10, "outside"),
        (np.zeros(10), CLASS_NAMES, 2.0, "integer"),
        (np.full(10, np.nan), CLASS_NAMES, 0, "NaN"),
        (np.array(["a"] * 10), CLASS_NAMES, 0, "numbers"),
        (np.zeros(10), "T-shirt", 0, "not one string"),
    ],
)
def test_output_bars_rejects_bad_input(
    outputs: np.ndarray, names: list[str], true_label: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        model_plots.output_bars(outputs, names, true_label)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- model_diagram

LAYERS = [
    {"name": "input", "kind": "Input", "output_shape": "(None, 28, 28)", "params": 0},
    {"name": "flatten", "kind": "Flatten", "output_shape": "(None, 784)", "params": 0},
    {"name": "dense", "kind": "Dense", "output_shape": "(None, 128)", "params": 100480},
    {"name": "dense_1", "kind": "Dense", "output_shape": "(None, 10)", "params": 1290},
]


def test_model_diagram_draws_every_layer() -> None:
    plot = model_plots.model_diagram(LAYERS)
    assert_renders(plot)
    text = all_text(plot)
    for layer in LAYERS:
        assert str(layer["name"]) in text
        assert str(layer["output_shape"]) in text
    assert "101,770" in text
    assert "101,770 parameters in total" in plot.alt
    assert "an Input layer" in plot.alt
    assert (
        plot.alt.index("input") < plot.alt.index("flatten") < plot.alt.index("dense_1")
    )
    ax = plot.figure.axes[0]
    assert len(ax.patches) == len(LAYERS)  # one box per layer
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == len(LAYERS) - 1


def test_model_diagram_single_input_layer() -> None:
    plot = model_plots.model_diagram(
        [
            {
                "name": "input",
                "kind": "Input",
                "output_shape": "(None, 28, 28)",
                "params": 0,
            }
        ]
    )
    assert_renders(plot)
    assert "0 parameters in total" in plot.alt


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([], "empty"),
        ([{"kind": "Dense", "output_shape": "(None, 10)", "params": 10}], "'name'"),
        ([{"name": "d", "kind": "Dense", "params": -1}], "params"),
        ([{"name": "d", "kind": "Dense", "params": 1.5}], "params"),
        (["Dense"], "not a dict"),
    ],
)
def test_model_diagram_rejects_bad_layers(layers: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_plots.model_diagram(layers)


# --------------------------------------------------------------------------- weight_maps


def test_weight_maps_grid_and_symmetric_scale(rng: np.random.Generator) -> None:
    weights = rng.normal(0, 0.1, size=(784, 10))
    weights[0, 3] = 0.9  # the most extreme weight sets the shared scale
    plot = model_plots.weight_maps(weights, CLASS_NAMES)
    assert_renders(plot)
    maps = [ax for ax in plot.figure.axes if ax.get_images()]
    assert len(maps) == 10
    assert len(plot.figure.axes) == 11  # ten maps and one shared colour bar
    assert [ax.get_title() for ax in maps] == CLASS_NAMES
    for ax in maps:
        (image,) = ax.get_images()
        low, high = image.get_clim()
        assert low == pytest.approx(-0.9)
        assert high == pytest.approx(0.9)
        assert image.get_cmap().name == "RdBu_r"
    (dress,) = maps[3].get_images()
    assert dress.get_array()[0, 0] == pytest.approx(
        0.9
    )  # column 3, pixel 0 at the top left
    assert "red" in plot.alt
    assert "push" in plot.alt
    assert "0.9" in plot.alt


def test_weight_maps_all_zero_weights_still_draw() -> None:
    plot = model_plots.weight_maps(np.zeros((784, 10)), CLASS_NAMES)
    assert_renders(plot)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.zeros((10, 784)), "not a square image"),
        (np.zeros(784), "shape"),
        (np.zeros((784, 9)), "expected 9 class names"),
    ],
)
def test_weight_maps_rejects_bad_shapes(weights: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_plots.weight_maps(weights, CLASS_NAMES)


# --------------------------------------------------------------------------- confusion_matrix


def test_confusion_matrix_counts_and_alt(rng: np.random.Generator) -> None:
    matrix = rng.integers(0, 20, size=(10, 10))
    np.fill_diagonal(matrix, 900)
    matrix[6, 0] = 150  # Shirt taken for T-shirt/top
    plot = model_plots.confusion_matrix(matrix, CLASS_NAMES)
    assert_renders(plot)
    assert len(plot.figure.axes) == 1
    ax = plot.figure.axes[0]
    assert ax.get_xlabel() == "predicted class"
    assert ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASS_NAMES
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASS_NAMES
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 100
    assert cells[6 * 10 + 0] == "150"
    assert "Shirt taken for T-shirt/top, 150 times" in plot.alt
    accuracy = np.trace(matrix) / matrix.sum()
    assert f"{accuracy * 100:.1f}%" in plot.alt
    assert f"{int(matrix.sum()):,}" in plot.alt


def test_confusion_matrix_perfect_model() -> None:
    plot = model_plots.confusion_matrix(np.diag([5, 6, 7]), ["a", "b", "c"])
    assert_renders(plot)
    assert "100.0%" in plot.alt
    assert "no mistakes" in plot.alt


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.zeros((10, 9)), "square"),
        (np.zeros((10, 10)), "all zeros"),
        (-np.eye(10), ">= 0"),
        (np.eye(3), "expected 3 class names"),
    ],
)
def test_confusion_matrix_rejects_bad_input(matrix: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_plots.confusion_matrix(matrix, CLASS_NAMES)


# --------------------------------------------------------------------------- image_gallery


def test_image_gallery_stacked_array(images: np.ndarray) -> None:
    captions = [f"true: Shirt\npred: Coat ({90 + i}%)" for i in range(7)]
    plot = picture_plots.image_gallery(images[:7], captions, "Most confident mistakes")
    assert_renders(plot)
    assert len(plot.figure.axes) == 7
    assert plot.title == "Most confident mistakes"
    assert "7 images in a 2 by 5 grid" in plot.alt
    assert "true: Shirt, pred: Coat (96%)" in plot.alt
    assert [ax.get_title() for ax in plot.figure.axes] == captions


def test_image_gallery_mixed_sizes(rng: np.random.Generator) -> None:
    pictures = [rng.random((28, 28)), rng.random((3, 3)), rng.random((13, 13, 1))]
    plot = picture_plots.image_gallery(
        pictures, ["input", "filter", "feature map"], "A convolution", cols=3
    )
    assert_renders(plot)
    shapes = [ax.get_images()[0].get_array().shape for ax in plot.figure.axes]
    assert shapes == [(28, 28), (3, 3), (13, 13)]
    assert "1 by 3 grid" in plot.alt


def test_image_gallery_shortens_long_alt(images: np.ndarray) -> None:
    plot = picture_plots.image_gallery(images[:25], [f"#{i}" for i in range(25)], "Many")
    assert "and 15 more" in plot.alt
    assert "#24" not in plot.alt


@pytest.mark.parametrize(
    ("pictures", "captions", "message"),
    [
        (np.zeros((3, 28, 28)), ["a", "b"], "3 images but 2 captions"),
        ([], [], "empty"),
        (np.zeros((28, 28)), ["a"], "single image"),
        ([np.zeros(5)], ["a"], "image 0"),
        (np.zeros((1, 28, 28)), "a", "sequence of strings"),
    ],
)
def test_image_gallery_rejects_bad_input(
    pictures: object, captions: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        picture_plots.image_gallery(pictures, captions, "bad")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- compare_curves


def test_compare_curves_one_line_per_run() -> None:
    runs = [
        ("lr 0.1", make_history(4)),
        ("lr 0.001", make_history(6)),
        ("tiny", make_history(2)),
    ]
    plot = curve_plots.compare_curves(runs)
    assert_renders(plot)
    ax = plot.figure.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["lr 0.1", "lr 0.001", "tiny"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2, 3, 4, 5, 6])
    assert ax.get_ylabel() == "validation accuracy"
    assert "3 runs" in plot.alt
    assert "lr 0.001 ends at 75.5%" in plot.alt  # 0.68 + 0.015 * 5
    assert "best final value is lr 0.001" in plot.alt


def test_compare_curves_loss_lower_is_better() -> None:
    plot = curve_plots.compare_curves(
        [("short", make_history(2)), ("long", make_history(8))], metric="loss"
    )
    assert_renders(plot)
    assert plot.alt.startswith("Training loss per epoch for 2 runs")
    assert "best final value is long with 0.550" in plot.alt


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([], "empty"),
        ([("a", [])], "empty or malformed"),
        ([("a", make_history(2, validation=False))], "no 'val_accuracy'"),
        ([make_history(2)], "pair"),
    ],
)
def test_compare_curves_rejects_bad_runs(runs: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        curve_plots.compare_curves(runs)


# --------------------------------------------------------------------------- module hygiene


def test_errors_are_value_errors() -> None:
    assert issubclass(common.PlotInputError, ValueError)


def test_never_imports_pyplot_or_frameworks() -> None:
    """Drawing must not load pyplot (global, not thread-safe) nor any ML or UI framework.

    Runs in a fresh interpreter; whatever tutor/__init__.py itself loads is the baseline, so
    the check is about what the figure modules add.
    """
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import tutor.reply\n"
        "before = set(sys.modules)\n"
        "from tutor.figures import common, curve_plots, model_plots, picture_plots\n"
        "p = curve_plots.training_curves([{'loss': 1.0, 'accuracy': 0.5}])\n"
        "assert common.to_png_bytes(p).startswith(b'\\x89PNG')\n"
        "p = picture_plots.image_with_colorbar(np.zeros((28, 28)), 'x')\n"
        "common.to_png_bytes(p)\n"
        "added = set(sys.modules) - before\n"
        "heavy = ('matplotlib.pyplot', 'tensorflow', 'keras', 'gradio')\n"
        "print('ADDED', sorted(m for m in added if m.split('.')[0] in heavy[1:] or m == heavy[0]))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    env.pop("MPLBACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ADDED []" in result.stdout, result.stdout
