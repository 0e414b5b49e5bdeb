"""The drawing helper process: the same PNGs as drawing in-process, and never a lost figure."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tutor import plots, rendering

HISTORY = [{"loss": 1.0 / epoch, "accuracy": 0.6 + 0.05 * epoch, "val_loss": 1.2 / epoch,
            "val_accuracy": 0.55 + 0.05 * epoch} for epoch in range(1, 6)]


@pytest.fixture
def helper() -> Iterator[None]:
    assert rendering.start_helper()
    yield
    rendering.stop_helper()


def test_the_helper_draws_the_same_png_as_this_process(helper):
    figure = plots.training_curves(HISTORY).figure
    assert rendering.helper_running()
    assert rendering.png_bytes(figure) == rendering.draw_here(figure)


def test_the_helper_does_the_drawing_not_the_calling_thread(helper):
    figure = plots.training_curves(HISTORY).figure
    rendering.png_bytes(figure)  # the helper's first drawing loads its fonts
    started = time.thread_time()
    rendering.png_bytes(figure)
    via_helper = time.thread_time() - started
    started = time.thread_time()
    rendering.draw_here(figure)
    here = time.thread_time() - started
    assert via_helper < here / 2, (via_helper, here)


def test_a_dead_helper_costs_no_figure(helper):
    rendering._helper.process.kill()
    rendering._helper.process.wait()
    png = plots.training_curves(HISTORY).png()
    assert png.startswith(b"\x89PNG")
    assert not rendering.helper_running()  # drawn in-process from then on


def test_a_figure_the_helper_cannot_draw_is_drawn_here(helper):
    class Unpicklable:
        def __reduce__(self):
            raise pickle_error

    pickle_error = TypeError("cannot pickle this")
    figure = plots.training_curves(HISTORY).figure
    figure.unpicklable = Unpicklable()  # an attribute pickle refuses
    assert rendering.png_bytes(figure).startswith(b"\x89PNG")
    assert rendering.helper_running()  # the helper stays for the next figure
