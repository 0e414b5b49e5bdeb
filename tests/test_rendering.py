"""The drawing helper process: the same PNGs as drawing in-process, and never a lost figure."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tutor.figures import curve_plots, render

HISTORY = [{"loss": 1.0 / epoch, "accuracy": 0.6 + 0.05 * epoch, "val_loss": 1.2 / epoch,
            "val_accuracy": 0.55 + 0.05 * epoch} for epoch in range(1, 6)]


@pytest.fixture
def helper() -> Iterator[None]:
    assert render.start_helper()
    yield
    render.stop_helper()


def test_the_helper_draws_the_same_png_as_this_process(helper):
    figure = curve_plots.training_curves(HISTORY).figure
    assert render.helper_running()
    assert render.png_bytes(figure) == render.draw_here(figure)


def test_the_helper_does_the_drawing_not_the_calling_thread(helper):
    figure = curve_plots.training_curves(HISTORY).figure
    render.png_bytes(figure)  # the helper's first drawing loads its fonts
    started = time.thread_time()
    render.png_bytes(figure)
    via_helper = time.thread_time() - started
    started = time.thread_time()
    render.draw_here(figure)
    here = time.thread_time() - started
    assert via_helper < here / 2, (via_helper, here)


def test_a_dead_helper_costs_no_figure(helper):
    for process in [helper.process for helper in render._helpers]:
        process.kill()
        process.wait()
    for _ in render._helpers[:]:  # each dead helper is found out by one drawing
        png = curve_plots.training_curves(HISTORY).png()
        assert png.startswith(b"\x89PNG")
    assert not render.helper_running()  # drawn in-process from then on
    assert curve_plots.training_curves(HISTORY).png().startswith(b"\x89PNG")


def test_a_second_helper_draws_while_the_first_is_busy(helper):
    import threading

    assert render.start_helper(2)  # as on a machine with four cores
    busy = render._take_helper()  # as if it were drawing another learner's figure
    assert busy is not None
    drawn: list[bytes] = []
    try:
        figure = curve_plots.training_curves(HISTORY).figure
        worker = threading.Thread(target=lambda: drawn.append(render.png_bytes(figure)))
        worker.start()
        worker.join(timeout=60)
        assert drawn and drawn[0].startswith(b"\x89PNG")  # it did not wait for the busy one
    finally:
        render._idle.put(busy)


def test_a_figure_the_helper_cannot_draw_is_drawn_here(helper):
    class Unpicklable:
        def __reduce__(self):
            raise pickle_error

    pickle_error = TypeError("cannot pickle this")
    figure = curve_plots.training_curves(HISTORY).figure
    figure.unpicklable = Unpicklable()  # an attribute pickle refuses
    assert render.png_bytes(figure).startswith(b"\x89PNG")
    assert render.helper_running()  # the helper stays for the next figure


def test_the_helper_starts_from_any_folder(tmp_path, monkeypatch):
    """A host app may run elsewhere and find this package through its own `sys.path`."""
    render.stop_helper()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    try:
        assert render.start_helper()
        figure = curve_plots.training_curves(HISTORY).figure
        assert render.png_bytes(figure) == render.draw_here(figure)
        assert render.helper_running()  # it drew, rather than failing over to this process
    finally:
        render.stop_helper()
