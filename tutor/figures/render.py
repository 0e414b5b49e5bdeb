"""Draw figures into PNGs in helper processes, so that drawing never holds the server's Python lock.

Why: a matplotlib drawing takes 0.15-0.25 s of pure Python, and Python runs one thread at a
time. With twenty learners on one server, every drawing (a learner's training curve, their
prediction bars) made every other learner's turn wait. A figure pickles in under 10 ms; the
helper process unpickles and draws it on the other core while the server goes on.

A helper is `python -m tutor.figures.render`, a loop that reads pickled figures on stdin and writes
("png", bytes) or ("error", text) on stdout, framed as `tutor.ipc` frames every message. It
only ever receives figures this server made, so unpickling them is safe. With four cores or
more there are two of them (`HELPERS`), so that one learner's figure does not wait behind
another's. If none is started, or they die, figures are drawn in the calling thread as before:
a drawing is never lost, only slower.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import pickle
import queue
import sys
import threading
from typing import IO, Any

from tutor.ipc import (
    answer_channel,
    pickled,
    read_message,
    read_pickled,
    start_helper_process,
    stop_process,
    write_message,
    write_pickled,
)

log = logging.getLogger(__name__)

_MOST_BYTES = 64 * 1024 * 1024  # no PNG of ours comes near this: a longer answer is garbled


def draw_here(figure: Any) -> bytes:
    """The figure as PNG bytes, drawn in this thread."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class _Helper:
    """One helper process; one drawing at a time (it has one core's worth of work to do)."""

    def __init__(self) -> None:
        self.process = start_helper_process("tutor.figures.render")
        self.lock = threading.Lock()

    def draw(self, payload: bytes) -> bytes:
        """A pickled figure's PNG."""
        with self.lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None and stdout is not None
            write_pickled(stdin, payload)
            answer = read_message(stdout, _MOST_BYTES)
        if not (isinstance(answer, tuple) and len(answer) == 2 and answer[0] in ("png", "error")):
            raise RuntimeError("the drawing helper's answer is garbled")
        kind, data = answer
        if kind != "png":
            raise RuntimeError(str(data))
        return bytes(data)

    def stop(self) -> None:
        stop_process(self.process, timeout=5)


# Drawings at once. They share the cores with the server and the training workers: on two cores
# a second helper made the 20-learner benchmark slower (non-training p95 1.75 and 2.01 s against
# 1.06 and 1.68 s with one), so a second helper comes with the third and fourth core.
HELPERS = max(1, (os.cpu_count() or 1) // 2)
_helpers: list[_Helper] = []
_idle: queue.Queue[_Helper] = queue.Queue()
_helpers_lock = threading.Lock()


def start_helper(count: int = HELPERS) -> bool:
    """Start the helper processes once per server; False if none can start (then figures are
    drawn in-process)."""
    with _helpers_lock:
        for helper in [helper for helper in _helpers if helper.process.poll() is not None]:
            _retire(helper)
        while len(_helpers) < count:
            try:
                helper = _Helper()
            except OSError as error:
                log.warning("a drawing helper did not start (%s)", error)
                break
            atexit.register(helper.stop)
            _helpers.append(helper)
            _idle.put(helper)
        return bool(_helpers)


def _retire(helper: _Helper) -> None:
    """Forget a helper (the caller holds `_helpers_lock`); its queue entry is skipped later."""
    if helper in _helpers:
        _helpers.remove(helper)


def stop_helper() -> None:
    """Stop the helper processes (figures are then drawn in-process)."""
    with _helpers_lock:
        helpers = list(_helpers)
        _helpers.clear()
    for helper in helpers:
        helper.stop()


def helper_running() -> bool:
    with _helpers_lock:
        return any(helper.process.poll() is None for helper in _helpers)


def _take_helper() -> _Helper | None:
    """A free live helper (waiting for one if all are drawing), or None if none runs."""
    while True:
        with _helpers_lock:
            if not _helpers:
                return None
        try:
            helper = _idle.get(timeout=1.0)
        except queue.Empty:
            continue
        with _helpers_lock:
            if helper in _helpers:
                return helper


def png_bytes(figure: Any) -> bytes:
    """The figure as PNG bytes: drawn by a helper process when one runs, else here."""
    helper = _take_helper()
    if helper is None:
        return draw_here(figure)
    try:
        payload = pickled(figure)
    except Exception:  # something in this figure does not pickle: this figure is drawn here
        log.warning("a figure could not be sent to the drawing helper", exc_info=True)
        _idle.put(helper)
        return draw_here(figure)
    try:
        png = helper.draw(payload)
    except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as error:
        log.warning("a drawing helper failed (%s); it is not used again", error)
        with _helpers_lock:
            _retire(helper)
        helper.stop()
        return draw_here(figure)
    _idle.put(helper)
    return png


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper's loop: a pickled figure in, its PNG (or the error) out, until stdin closes."""
    while True:
        try:
            payload = read_pickled(stdin)
        except EOFError:
            return  # the server closed the pipe (or died): nothing left to draw
        try:
            answer = ("png", draw_here(pickle.loads(payload)))
        except Exception as error:  # reported to the server, which draws in-process instead
            answer = ("error", f"{type(error).__name__}: {error}")
        write_message(stdout, answer)


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    _serve(sys.stdin.buffer, answer_channel())
