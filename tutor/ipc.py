"""Messages between the server and its helper processes: a length, then the pickled object.

Only our own processes are at either end of these pipes (started by `tutor.figures.render` and
`tutor.ml.workers`), so unpickling what arrives is safe.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

_LENGTH = struct.Struct(">Q")
MOST_BYTES = 1024 * 1024 * 1024  # a sanity bound: a garbled length must not allocate the machine


def read_exactly(stream: IO[bytes], count: int) -> bytes:
    """`count` bytes from the stream; EOFError if it closes first."""
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise EOFError("the other process closed the pipe")
        data += chunk
    return data


def pickled(message: Any) -> bytes:
    """The message as it travels; raises what pickle raises for what cannot travel."""
    return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def write_pickled(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def read_pickled(stream: IO[bytes], most_bytes: int = MOST_BYTES) -> bytes:
    """One message's bytes, not yet unpickled; EOFError if the pipe closes or the length is garbled."""
    (length,) = _LENGTH.unpack(read_exactly(stream, _LENGTH.size))
    if length > most_bytes:
        raise EOFError("a garbled message length")
    return read_exactly(stream, length)


def write_message(stream: IO[bytes], message: Any) -> None:
    write_pickled(stream, pickled(message))


def read_message(stream: IO[bytes], most_bytes: int = MOST_BYTES) -> Any:
    return pickle.loads(read_pickled(stream, most_bytes))


def answer_channel() -> IO[bytes]:
    """In a helper process: its stdout for answers, and stdout itself pointed at stderr, so a
    stray print (TensorFlow's, a library's) never lands among the answers."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return answers


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=timeout)


def start_helper_process(module: str, *arguments: str) -> subprocess.Popen[bytes]:
    """`python -m <module>` with pipes on stdin and stdout, able to import this package even
    when the server found it through a path set at run time (a host app's `sys.path`)."""
    package_root = str(Path(__file__).resolve().parents[1])
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    return subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, env=environment,
    )
