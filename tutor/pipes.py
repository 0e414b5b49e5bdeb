"""Messages between the server and its helper processes: a length, then the pickled object.

Only our own processes are at either end of these pipes (started by `tutor.rendering` and
`tutor.training_process`), so unpickling what arrives is safe.
"""

from __future__ import annotations

import pickle
import struct
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


def write_message(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    (length,) = _LENGTH.unpack(read_exactly(stream, _LENGTH.size))
    if length > MOST_BYTES:
        raise EOFError("a garbled message length")
    return pickle.loads(read_exactly(stream, length))
