"""A real chat-completions server on loopback, for testing the LLM path without a remote model.

The remote language model is the one thing the tests may stand in for; everything between the
tutor and the socket (httpx, server-sent events, tool calling, timeouts) stays real. The server
holds a queue of scripted responses; each POST to `/v1/chat/completions` (or `/chat/completions`)
takes the next one and records the request, so a test can check what the client sent.

    with ChatCompletionsServer() as server:
        server.enqueue_tool_call("show_image", {"split": "valid", "index": 6174})
        server.enqueue_text("That one is a sneaker.")
        provider = OpenAICompatible(base_url=server.url, timeout=3)
        ...
        assert server.requests[1].tool_results[0]["content"].startswith("Validation image 6174")

A scripted response is text (streamed in pieces of a few characters), tool calls (streamed as
`delta.tool_calls` pieces), raw SSE lines (for malformed streams), or a failure: `http_error`
(HTTP 500), `die_midway` (a few text pieces, then the socket closes without finishing the
chunked body), `stall` (nothing at all until well past the client's timeout), `stall_midway`
(headers and a few pieces, then silence) or `garbage` (a `data:` line that is not JSON).
Requests with `"stream": false` get one ordinary JSON completion instead.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAILURES = ("http_error", "die_midway", "stall", "stall_midway", "garbage")
COMPLETION_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: its path, headers (lower-case names) and JSON body."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def json(self) -> Any:
        return self.body

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("tools") or []) if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        return [tool["function"]["name"] for tool in self.tools]

    @property
    def system_prompt(self) -> str:
        return next((m.get("content") or "" for m in self.messages if m.get("role") == "system"), "")

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The `role: tool` messages: what the client reports back after running a tool."""
        return [message for message in self.messages if message.get("role") == "tool"]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Scripted:
    """One queued response."""

    kind: str  # "text", "tool_calls", "raw", or one of FAILURES
    text: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    status: int = 500


class ChatCompletionsServer:
    """A scripted OpenAI-style chat-completions endpoint on 127.0.0.1, in a daemon thread."""

    def __init__(
        self,
        chunk_size: int = 4,
        chunk_delay: float = 0.002,
        stall_seconds: float = 30.0,
        model: str = "scripted-model",
    ) -> None:
        self.chunk_size = max(1, chunk_size)
        self.chunk_delay = chunk_delay
        self.stall_seconds = stall_seconds
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"llm-server-{self.port}", daemon=True,
        )
        self._thread.start()

    # ----- the API tests use ------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL a client appends `/chat/completions` to."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pending(self) -> int:
        """How many scripted responses are still queued."""
        with self._lock:
            return len(self._queue)

    def enqueue_text(self, text: str) -> None:
        """Answer the next request with `text`, streamed a few characters at a time."""
        self._push(Scripted("text", text=text))

    def enqueue_tool_call(
        self, name: str, arguments: dict[str, Any] | str | None = None, call_id: str | None = None,
        text: str = "",
    ) -> str:
        """Answer the next request with one tool call (and optional text first); returns its id.

        `arguments` may be a string to send arguments that are not valid JSON.
        """
        return self.enqueue_tool_calls([(name, arguments, call_id)], text=text)[0]

    def enqueue_tool_calls(
        self, calls: list[tuple[str, dict[str, Any] | str | None, str | None]], text: str = ""
    ) -> list[str]:
        """Answer the next request with several tool calls: `(name, arguments, id or None)`."""
        scripted = Scripted("tool_calls", text=text)
        for name, arguments, call_id in calls:
            call_id = call_id or f"call_{next(self._ids)}"
            encoded = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
            scripted.calls.append({"id": call_id, "name": name, "arguments": encoded})
        self._push(scripted)
        return [call["id"] for call in scripted.calls]

    def enqueue_raw(self, lines: list[str]) -> None:
        """Answer the next request with these SSE lines verbatim (a blank line follows each)."""
        self._push(Scripted("raw", lines=list(lines)))

    def enqueue_failure(self, kind: str, status: int = 500) -> None:
        """Fail the next request: one of FAILURES (`status` is for `http_error`)."""
        if kind not in FAILURES:
            raise ValueError(f"unknown failure {kind!r}; choose one of {', '.join(FAILURES)}")
        self._push(Scripted(kind, status=status))

    def close(self) -> None:
        """Stop serving; stalled responses wake up and end."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ChatCompletionsServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- internals ----------------------------------------------------------------------
    def _push(self, scripted: Scripted) -> None:
        with self._lock:
            self._queue.append(scripted)

    def _take(self, request: RecordedRequest) -> Scripted | None:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else None

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def _pieces(self, text: str) -> list[str]:
        size = self.chunk_size
        return [text[start:start + size] for start in range(0, len(text), size)]

    def _events(self, scripted: Scripted) -> list[dict[str, Any]]:
        """The stream's chunks for a text or tool-call response, before `[DONE]`."""
        events = [self._chunk({"role": "assistant", "content": ""})]
        events += [self._chunk({"content": piece}) for piece in self._pieces(scripted.text)]
        if scripted.kind == "text":
            return [*events, self._chunk({}, "stop")]
        for index, call in enumerate(scripted.calls):
            name = call["name"]
            half = max(1, len(name) // 2)
            events.append(self._chunk({"tool_calls": [{
                "index": index, "id": call["id"], "type": "function",
                "function": {"name": name[:half], "arguments": ""},
            }]}))
            if name[half:]:
                events.append(self._chunk({"tool_calls": [{
                    "index": index, "function": {"name": name[half:]}}]}))
            events += [
                self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in self._pieces(call["arguments"])
            ]
        return [*events, self._chunk({}, "tool_calls")]

    def _completion(self, scripted: Scripted) -> dict[str, Any]:
        """A whole non-streaming completion for a text or tool-call response."""
        message: dict[str, Any] = {"role": "assistant", "content": scripted.text or None}
        if scripted.kind == "tool_calls":
            message["tool_calls"] = [
                {"id": call["id"], "type": "function",
                 "function": {"name": call["name"], "arguments": call["arguments"]}}
                for call in scripted.calls
            ]
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if scripted.kind == "tool_calls" else "stop"}],
        }


def _handler_for(server: ChatCompletionsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is its right
                self.close_connection = True

        # ----- plumbing ----------------------------------------------------------------
        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _start_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _write(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            if server.chunk_delay:
                time.sleep(server.chunk_delay)

        def _event(self, payload: Any) -> None:
            self._write(f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n")

        def _end_stream(self) -> None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _die(self) -> None:
            """Close the socket at once, in the middle of the chunked body."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        # ----- requests ----------------------------------------------------------------
        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send_json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path not in COMPLETION_PATHS:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body: Any = json.loads(raw or b"null")
            except json.JSONDecodeError:
                body = {"_unreadable": raw[:200].decode(errors="replace")}
            headers = {name.lower(): value for name, value in self.headers.items()}
            scripted = server._take(RecordedRequest(self.path, headers, body))
            if scripted is None:
                self._send_json(500, {"error": {"message": "the scripted server has no response left"}})
                return
            streaming = not isinstance(body, dict) or body.get("stream", False) is not False
            self._respond(scripted, streaming)

        def _respond(self, scripted: Scripted, streaming: bool) -> None:
            kind = scripted.kind
            if kind == "http_error":
                self._send_json(scripted.status, {"error": {"message": "scripted server error",
                                                            "type": "server_error"}})
                return
            if kind == "stall":
                server._closing.wait(server.stall_seconds)
                self.close_connection = True
                return
            if not streaming and kind in ("text", "tool_calls"):
                self._send_json(200, server._completion(scripted))
                return
            self._start_stream()
            if kind in ("die_midway", "stall_midway"):
                text = scripted.text or "Logits are the raw scores a model gives each class before"
                for piece in server._pieces(text)[:3]:
                    self._event(server._chunk({"content": piece}))
                if kind == "stall_midway":
                    server._closing.wait(server.stall_seconds)
                self._die()
                return
            if kind == "garbage":
                self._event(server._chunk({"content": "Hel"}))
                self._event("{this is not json")
            elif kind == "raw":
                for line in scripted.lines:
                    self._write(f"{line}\n\n")
            else:
                for event in server._events(scripted):
                    self._event(event)
                self._event("[DONE]")
            self._end_stream()

    return Handler
