"""Draw figures into PNGs in a helper process, so that drawing never holds the server's Python lock.

Why: a matplotlib drawing takes 0.15-0.25 s of pure Python, and Python runs one thread at a
time. With twenty learners on one server, every drawing (a learner's training curve, their
prediction bars) made every other learner's turn wait. A figure pickles in under 10 ms; the
helper process unpickles and draws it on the other core while the server goes on.

The helper is `python -m tutor.rendering`, a loop that reads pickled figures on stdin and writes
PNGs on stdout (each message is an 8-byte length and the bytes). It only ever receives figures
this server made, so unpickling them is safe. If it is not started, or dies, figures are drawn
in the calling thread as before: a drawing is never lost, only slower.
"""

from __future__ import annotations

import atexit
import io
import logging
import pickle
import struct
import subprocess
import sys
import threading
from typing import IO, Any

from tutor.pipes import read_exactly

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">BQ")  # status (0 = a PNG, 1 = an error message), length
_MOST_BYTES = 64 * 1024 * 1024  # no PNG of ours comes near this


def draw_here(figure: Any) -> bytes:
    """The figure as PNG bytes, drawn in this thread."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class _Helper:
    """One helper process; one drawing at a time (it has one core's worth of work to do)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tutor.rendering"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
        )
        self.lock = threading.Lock()

    def draw(self, payload: bytes) -> bytes:
        """A pickled figure's PNG."""
        with self.lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None and stdout is not None
            stdin.write(_HEADER.pack(0, len(payload)) + payload)
            stdin.flush()
            status, length = _HEADER.unpack(read_exactly(stdout, _HEADER.size))
            if status not in (0, 1) or length > _MOST_BYTES:
                raise RuntimeError("the drawing helper's answer is garbled")
            data = read_exactly(stdout, length)
        if status != 0:
            raise RuntimeError(data.decode("utf-8", "replace"))
        return data

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


_helper: _Helper | None = None
_helper_lock = threading.Lock()


def start_helper() -> bool:
    """Start the helper process once per server; False if it cannot start (then figures are
    drawn in-process)."""
    global _helper
    with _helper_lock:
        if _helper is None or _helper.process.poll() is not None:
            try:
                _helper = _Helper()
            except OSError as error:
                log.warning("figures are drawn in-process: the helper did not start (%s)", error)
                _helper = None
                return False
            atexit.register(_helper.stop)
        return True


def stop_helper() -> None:
    """Stop the helper process (figures are then drawn in-process)."""
    global _helper
    with _helper_lock:
        helper, _helper = _helper, None
    if helper is not None:
        helper.stop()


def helper_running() -> bool:
    helper = _helper
    return helper is not None and helper.process.poll() is None


def png_bytes(figure: Any) -> bytes:
    """The figure as PNG bytes: drawn by the helper process when it runs, else here."""
    global _helper
    helper = _helper
    if helper is not None:
        try:
            payload = pickle.dumps(figure, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # something in this figure does not pickle: this figure is drawn here
            log.warning("a figure could not be sent to the drawing helper", exc_info=True)
            return draw_here(figure)
        try:
            return helper.draw(payload)
        except (OSError, EOFError, RuntimeError, struct.error) as error:
            log.warning("the drawing helper failed (%s); drawing in-process from now on", error)
            with _helper_lock:
                if _helper is helper:
                    _helper = None
            helper.stop()
    return draw_here(figure)


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper's loop: a pickled figure in, its PNG (or the error) out, until stdin closes."""
    while True:
        try:
            _, length = _HEADER.unpack(read_exactly(stdin, _HEADER.size))
            payload = read_exactly(stdin, length)
        except EOFError:
            return  # the server closed the pipe (or died): nothing left to draw
        try:
            status, data = 0, draw_here(pickle.loads(payload))
        except Exception as error:  # reported to the server, which draws in-process instead
            status, data = 1, f"{type(error).__name__}: {error}".encode()
        stdout.write(_HEADER.pack(status, len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    import os

    import matplotlib

    matplotlib.use("Agg")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the PNGs
    _serve(sys.stdin.buffer, answers)
