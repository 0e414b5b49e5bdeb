"""Many learners at once on the real app: are turns still quick, is nothing mixed up, what does it cost?

Why this exists: the tutor promises a classroom, not one learner. A class of thirty shares one
server and two CPU cores, and reaches the training step within about a minute; their trainings
wait in a fair, bounded queue (`tutor.ml.slots.TrainingSlots`) and run in worker processes, and
everything else they do (reading a step, a flashcard, a question) should stay quick while those
trainings run. Each learner's lesson, flashcard score and model must stay their own, and each
extra learner should cost little memory. Unit tests cannot show any of this; only the real server
under real concurrent clients can.

The class-scale run (the issue's goals; notebook settings, all 60,000 training images, 2 cores):

    python benchmarks/load.py --slice 60000 --learners 30        # --arrive-within 60 by default

Goals, each printed as met or NOT MET at the end: no learner's training turn, from asking to the
curves, takes more than 3x a lone learner's (on the same server and slice); non-training turns
p95 <= 1 s while trainings run; <= 30 MB per extra learner; no errors, no leaks.

How: the script starts the real app (`python app.py`) in its own process group on 127.0.0.1 and a
free port, with `BRAIN_TUTOR_TRAIN_SLICE=<slice>` and a temporary `BRAIN_TUTOR_STATE_DIR`, waits
until `/` answers and the app says TensorFlow and the data set are loaded, then:

0. a warm-up learner goes through the lesson alone (`--no-warm-up` skips it): the server's first
   training starts its worker processes (TensorFlow and the data set, once), which took 40 s on a
   2,000-image slice, and that must not be the baseline;
1. one learner goes through the lesson alone (the reference: turn times without load, above all
   the training turn, asking to curves; and the true labels of the flashcards, which it reads
   from the tutor's own answers);
2. N learners go through it at once, each in a thread with its own `gradio_client.Client` (one
   Gradio session each, like a browser tab), pausing `--think` seconds (+-50 %, seeded) between
   turns. With `--arrive-within W` (60) each learner gets a moment a_i drawn uniformly from
   [0, W) (`--seed`, so a rerun has the same class): they start walking at a_i and ask to train at
   a_i + lead, waiting at the step before training if they get there early, where the lead is
   1.5x the lone learner's walk to the training step + 10 s; so the whole class asks to train
   within W s, bunched as a uniform draw bunches them (the report prints the first-to-last spread
   and anyone late). With `--arrive-within 0` they start `--stagger` s apart in all and ask
   whenever they get there (the earlier runs). The learners are split over `--processes` client
   processes (4), like tabs on several machines rather than thirty clients sharing one Python
   process and its lock; the processes connect their clients first, then all start at once.

Every learner clicks the offered options only, as the page's buttons send them: the option whose
label starts with "Next", and on a flashcard a guess option ("9: Ankle boot"). That walks the
notebook part of the lesson, step 1 to step 10, including the training step (5 epochs on the slice,
validated on 10,000 images) and the prediction step, where the learner also types "what is a
logit?", "how accurate is my model?" and "help". As in the browser, only the message is sent:
the server keeps each learner's chat and returns all of it with every update. Each turn is sent
with `client.submit` and its streamed outputs are polled, so the script sees the training box
while it runs:

- turn time: from sending the message until its last output arrived; a turn is a *training* turn
  when a training box appeared in it (or it was the "Next" into the training step, or "train for");
  all other turns are *non-training* turns, reported overall and for the ones that overlapped a
  training (queued or running) of some learner. Goal: non-training p95 <= 1 s.
- asking to curves: for a training turn, from sending the "Next" into the training step until
  the output that brought the training's final reply ("... epoch(s) in N s") and its curves (the
  figure after it). Per learner of the class (`benchmarks/load_class.py`): when they asked, how
  long they held, queue wait and highest place, the fit's seconds, asking to curves and its ratio
  to the lone learner's, and whether the fit ran together with others' (a line of the training
  turn, in the box, the status line or the final reply, that says "together" and is not in the
  lone learner's turn); then p50 and max and their ratios. Goal: max <= 3x the lone learner's.
- queue wait: from the training box's first line ("Training for 5 epoch(s)...") until the first
  "Epoch i/n" progress line, i.e. until the training got a slot and its fit began (for a learner
  who never queued, only the fit's setup); and whether the learner saw
  "Waiting for a free training slot" and their highest place in the queue. A training turn is
  also split into the fit itself (the seconds its final reply states), how far the shown progress
  lagged behind the fit (first to last "Epoch i/n" line minus the fit), and the time after the
  last progress line (the final reply and the rest of the step).
- errors: exceptions from the client, a turn past the deadline, replies that contain "Traceback"
  or "Something went wrong", a Next that did not move on, a training step that did not train.
- leaks (cross-learner mix-ups): every reply's learner id must be the learner's own; the lesson map
  must show exactly their position (steps before it visited, after it not); their own message must
  be echoed; and learners answer the two flashcards in different patterns (right/right, right/wrong,
  wrong/right, wrong/wrong, with wrong guesses that differ), so the score in the reply and in the
  lesson map ("Flashcards: R of A right") must be their own.
- memory: the resident set size of the app's whole process tree, the training workers
  (`python -m tutor.ml.workers`) and the figure helper included (psutil if installed, else
  /proc/<pid>/status VmRSS, summed over the process group), once loaded, after the learner alone
  (the workers have started by then), and after the N learners finished, with their clients
  still connected (their sessions are still alive); it is also printed by process. The cost of
  one extra learner is (RSS after 1 + N learners - RSS after 1 learner) / N. Goal: <= 30 MB.
  The peak is sampled every half second, and so is each app thread's CPU time, which is printed
  by thread name (TensorFlow names its pools; Python threads are all "python").

Everything is bounded: at most `--learners` threads, a hard `--deadline` for the whole run (1800 s;
turns still running then are cancelled and counted as errors), and the app's process group is
killed at the end whatever happens. The class-scale run takes about: the app's start, two lone
walks (about 15 turns each) with their trainings, then the lead + W + every class training; on
2 cores the trainings dominate (one at a time per slot unless the server runs waiting fits of the
same model together). The load generator runs on the same machine as the app, so the figures
include its CPU cost; both CPU times are printed. On a shared machine, trust the comparisons
(alone vs. under load) over the absolute seconds.

Run it from the repository root:

    python benchmarks/load.py --slice 60000 --learners 30  # the class: all images, within 60 s
    python benchmarks/load.py                              # 20 learners, 1,000-image slice
    python benchmarks/load.py --slice 2000 --learners 4 --arrive-within 10   # a quick check
    python benchmarks/load.py --arrive-within 0 --think 0 --stagger 0   # no pauses at all
    python benchmarks/load.py --json artifacts/load.json   # also write every figure as JSON
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRAINING_STEP = 8  # "Training": entering it trains 5 epochs
QUESTION_STEP = 9  # "Prediction": where the learner asks their questions
LAST_STEP = 10  # "What we built": the end of the notebook part of the lesson
QUESTIONS = ("what is a logit?", "how accurate is my model?", "help")
MAX_TURNS = 40  # per learner; the walk needs about 16
NON_TRAINING_GOAL_SECONDS = 1.0
ARRIVE_WITHIN_SECONDS = 60.0  # the class reaches the training step within a minute
MEMORY_GOAL_MB = 30.0
POLL_SECONDS = 0.02
SERVE_TIMEOUT_SECONDS = 180.0
READY_TIMEOUT_SECONDS = 300.0
ERROR_MARKERS = ("Traceback", "Something went wrong")
SPLITS = {"train": "training", "valid": "validation"}

CARD = re.compile(r"\*\*Flashcard: (training|validation) image (\d+)\.\*\*")
REVEAL = re.compile(r"`(train|valid)_labels\[(\d+)\]` -> (\d)")
SCORE_IN_REPLY = re.compile(r"Your flashcard score: (\d+) of (\d+)")
SCORE_IN_MAP = re.compile(r"Flashcards: (\d+) of (\d+) right")
MAP_ROW = re.compile(r"^([▶✓○]) (\d+)\.", re.MULTILINE)
QUEUE_PLACE = re.compile(r"Waiting for a free training slot: you are number (\d+)")
TOGETHER = re.compile(r"[^\n]*\btogether\b[^\n]*", re.IGNORECASE)  # "trained together with 3 others"
EPOCH_LINE = re.compile(r"Epoch \d+/\d+, step")
GUESS_LABEL = re.compile(r"^(\d): ")
FIT_SECONDS = re.compile(r"epoch\(s\) in ([\d.]+) s")

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
if str(ROOT) not in sys.path:  # run as a script: `benchmarks` is importable from the root
    sys.path.insert(0, str(ROOT))

from benchmarks.load_class import (  # noqa: E402
    Schedule,
    class_schedule,
    class_summary,
    goals,
    print_class,
    training_turn,
)


# ----- the app ---------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_app(port: int, train_slice: int, state_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """`python app.py` in its own process group, saving into `state_dir`, logging to `log_path`."""
    environment = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_PROFILING": "1",  # Gradio times each event inside the server (server_times)
        "BRAIN_TUTOR_TRAIN_SLICE": str(train_slice),
        "BRAIN_TUTOR_STATE_DIR": str(state_dir),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }
    environment.pop("BRAIN_TUTOR_DATABASE_URL", None)  # always the temporary SQLite store
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=environment, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )


def wait_until_served(process: subprocess.Popen[bytes], url: str, timeout: float) -> float:
    """Seconds until `url` answers HTTP 200; raises if the app exits or never answers."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app did not serve within {timeout:.0f} s")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """End the app and everything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # a straggler that outlived its leader
        os.killpg(process.pid, signal.SIGKILL)


def group_pids(group: int) -> list[int]:
    """The live processes of a process group, the leader first (psutil, else Linux /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        with contextlib.suppress(psutil.Error):
            leader = psutil.Process(group)
            return [group] + [child.pid for child in leader.children(recursive=True)]
        return []
    pids = [group] if Path(f"/proc/{group}").exists() else []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == group:
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group:  # fields after the name: state, ppid, pgrp, ...
                    pids.append(int(entry))
    return pids


def rss_mb(group: int) -> float | None:
    """Resident memory of the whole process group in MB (10^6 bytes); None if unreadable."""
    total = 0
    found = False
    try:
        import psutil
    except ImportError:
        psutil = None
    for pid in group_pids(group):
        if psutil is not None:
            with contextlib.suppress(psutil.Error):
                total += psutil.Process(pid).memory_info().rss
                found = True
            continue
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    found = True
    return total / 1e6 if found else None


def rss_by_process(group: int) -> dict[str, list[float]]:
    """The group's resident memory by process kind, in MB: "server" (app.py) and each helper by
    its module (`python -m tutor.ml.workers` is "tutor.ml.workers"), a list of one figure each."""
    kinds: dict[str, list[float]] = {}
    for pid in group_pids(group):
        with contextlib.suppress(OSError, ValueError, IndexError):
            words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            kind = (words[words.index("-m") + 1] if "-m" in words else
                    "server" if any(word.endswith("app.py") for word in words) else Path(words[0]).name)
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kinds.setdefault(kind, []).append(int(line.split()[1]) * 1024 / 1e6)
    return kinds


def cpu_seconds(group: int) -> float | None:
    """User + system CPU seconds used so far by the live processes of the group."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    found = False
    for pid in group_pids(group):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            found = True
    return total if found else None


class MemoryMonitor:
    """Samples the group's RSS every half second in the background, for the peak; and the CPU
    time of every thread of the app by its name (Linux), to show where the CPU went."""

    def __init__(self, group: int) -> None:
        self.group = group
        self.peak = 0.0
        self.threads: dict[tuple[int, int], tuple[str, float]] = {}  # (pid, tid) -> (name, CPU s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-monitor", daemon=True)

    def __enter__(self) -> MemoryMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        while not self._stop.wait(0.5):
            value = rss_mb(self.group)
            if value is not None:
                self.peak = max(self.peak, value)
            for pid in group_pids(self.group):
                with contextlib.suppress(OSError):
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        with contextlib.suppress(OSError, IndexError, ValueError):
                            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                            name = stat[stat.index("(") + 1:stat.rindex(")")]
                            fields = stat.rsplit(")", 1)[1].split()
                            used = (int(fields[11]) + int(fields[12])) / ticks
                            self.threads[(pid, int(tid))] = (name, used)

    def cpu_by_thread_name(self, start: dict[tuple[int, int], tuple[str, float]] | None = None
                           ) -> list[tuple[str, int, float]]:
        """(name with digits dropped, threads, CPU seconds since `start`), most CPU first."""
        groups: dict[str, list[float]] = {}
        for key, (name, used) in dict(self.threads).items():
            before = (start or {}).get(key, (name, 0.0))[1]
            groups.setdefault(re.sub(r"\d+", "#", name), []).append(used - before)
        return sorted(((name, len(values), sum(values)) for name, values in groups.items()),
                      key=lambda row: row[2], reverse=True)


def settled_rss(group: int, settle: float = 3.0, samples: int = 5) -> float | None:
    """The median of a few RSS samples after a short pause (the app frees memory in bursts)."""
    time.sleep(settle)
    values = []
    for _ in range(samples):
        value = rss_mb(group)
        if value is not None:
            values.append(value)
        time.sleep(0.5)
    return statistics.median(values) if values else None


def new_client(url: str) -> Any:
    """One Gradio session, like one browser tab.

    `ssl_verify=False`: the app is plain HTTP on 127.0.0.1, yet gradio_client opens a new
    httpx client for every request, and each one loaded the system's CA certificates: a third
    of the load generator's CPU, taken from the two cores the server is measured on.
    """
    from gradio_client import Client

    options = {"download_files": False, "verbose": False, "ssl_verify": False}
    try:
        return Client(url, analytics_enabled=False, **options)
    except TypeError:  # an older gradio_client without `analytics_enabled`
        return Client(url, **options)


def wait_until_ready(client: Any, timeout: float) -> tuple[float, str]:
    """Ask `/start` until the status line says TensorFlow and the data are loaded (or failed).

    The probe is one small session (no model) that stays for the whole run, in every RSS figure.
    """
    started = time.perf_counter()
    status = ""
    while time.perf_counter() - started < timeout:
        outputs = client.predict(None, api_name="/start")
        status = str(outputs[3])
        if not status.startswith("Loading"):
            return time.perf_counter() - started, status
        time.sleep(2.0)
    raise RuntimeError(f"TensorFlow and the data set were not loaded within {timeout:.0f} s: {status}")


# ----- one learner -----------------------------------------------------------------------------
@dataclass
class Turn:
    """One message and what came back."""

    learner: int
    phase: str  # "alone" or "together"
    message: str
    step: int  # the lesson step the learner was on when sending it
    started: float  # seconds since the run began
    seconds: float | None = None  # until the last output arrived; None if it never finished
    first_output_after: float | None = None  # until the first output (the echo) arrived
    history_messages: int = 0  # chat messages sent along with it
    training: bool = False
    outputs: int = 0
    training_box_after: float | None = None  # seconds from sending to the training box
    first_epoch_after: float | None = None  # seconds from sending to the first "Epoch i/n"
    queue_wait: float | None = None  # from the training box to the first "Epoch i/n"
    fit_seconds: float | None = None  # the fit's own duration, as the final reply states it
    last_epoch_after: float | None = None  # seconds from sending to the last "Epoch i/n" line
    timeline: list[tuple[float, str]] = field(default_factory=list)  # training box titles seen
    waited: bool = False  # saw "Waiting for a free training slot"
    max_place: int = 0
    curves_after: float | None = None  # seconds from sending to the final reply with the curves
    together_lines: list[str] = field(default_factory=list)  # lines that say "together"
    error: str | None = None

    @property
    def ended(self) -> float:
        return self.started + (self.seconds or 0.0)


@dataclass
class Learner:
    """A simulated learner: their id, guesses, turns and what went wrong."""

    index: int
    phase: str
    learner_id: str | None = None
    step: int = 0
    expected_right: int = 0
    expected_asked: int = 0
    finished: bool = False
    scheduled_ask: float | None = None  # when to ask to train, seconds since the run began
    held: float = 0.0  # seconds waited at the step before training for that moment
    turns: list[Turn] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)


def _texts(messages: Sequence[Any]) -> list[str]:
    """The text of chat messages (components such as plots are skipped)."""
    texts = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            text = part if isinstance(part, str) else part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str):
                texts.append(text if "data:image/" not in text else INLINE_IMAGE.sub("[figure]", text))
    return texts


INLINE_IMAGE = re.compile(r"!\[[^\]]*\]\(data:image/[a-z]+;base64,[A-Za-z0-9+/=]+\)")  # a chat figure


def _is_training_box(message: Any) -> bool:
    metadata = message.get("metadata") if isinstance(message, dict) else None
    return isinstance(metadata, dict) and str(metadata.get("title") or "").startswith("Training")


def latest_options(chat: Sequence[Any]) -> list[dict[str, str]]:
    """The buttons under the latest assistant message that has any."""
    for message in reversed(chat):
        if isinstance(message, dict) and message.get("options"):
            return [
                {"label": str(option.get("label") or option.get("value")), "value": str(option.get("value"))}
                for option in message["options"]
                if isinstance(option, dict)
            ]
    return []


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Walker:
    """Drives one learner through the lesson by the offered options, checking every reply."""

    def __init__(self, learner: Learner, client: Any, clock: float, deadline: float, think: float,
                 truth: dict[tuple[str, int], int], seed: int) -> None:
        self.learner = learner
        self.client = client
        self.clock = clock  # perf_counter at the start of the run
        self.deadline = deadline  # perf_counter value
        self.think = think
        self.truth = truth  # (split, index) -> label, learnt by the learner alone
        self.random = random.Random(seed)
        self.history: list[Any] = []
        self.pending_guess: tuple[tuple[str, int] | None, int] | None = None  # (card, guess)
        self.ask_at: float | None = None  # perf_counter value: ask to train no earlier than this

    # ----- one turn -----------------------------------------------------------------------------
    def send(self, api: str, arguments: tuple[Any, ...], message: str, planned_training: bool,
             step: int | None = None) -> Any:
        """Submit one turn, watch its streamed outputs, check the final one; None on failure."""
        learner = self.learner
        sent = time.perf_counter()
        turn = Turn(learner.index, learner.phase, message, learner.step if step is None else step,
                    sent - self.clock, history_messages=len(self.history) if api == "/respond" else 0)
        learner.turns.append(turn)
        finished_at: list[float] = []
        base = len(self.history) if api == "/respond" else 0
        try:
            job = self.client.submit(*arguments, api_name=api)
            job.future.add_done_callback(lambda _: finished_at.append(time.perf_counter()))
        except Exception as error:
            turn.error = f"submit failed: {type(error).__name__}: {error}"
            learner.errors.append(f"turn {message!r}: {turn.error}")
            return None
        seen = 0
        while True:
            done = job.done()
            outputs = job.outputs()
            now = time.perf_counter()
            if outputs and turn.first_output_after is None:
                turn.first_output_after = now - sent
            for output in outputs[seen:]:
                self._watch(turn, output, base, now - sent)
            seen = len(outputs)
            if done:
                break
            if now > self.deadline:
                with contextlib.suppress(Exception):
                    job.cancel()
                turn.error = "cancelled at the deadline"
                learner.errors.append(f"turn {message!r} at step {turn.step}: {turn.error}")
                return None
            time.sleep(POLL_SECONDS)
        turn.seconds = (finished_at[0] if finished_at else time.perf_counter()) - sent
        if turn.curves_after is not None:  # seen at a poll just after the turn ended
            turn.curves_after = min(turn.curves_after, turn.seconds)
        turn.outputs = seen
        try:
            final = job.result(timeout=30)
        except Exception as error:
            turn.error = f"{type(error).__name__}: {str(error)[:300]}"
            learner.errors.append(f"turn {message!r} at step {turn.step}: {turn.error}")
            return None
        if planned_training and not turn.training:
            turn.training = True
            learner.errors.append(f"turn {message!r} at step {turn.step}: no training box appeared")
        if turn.training_box_after is not None and turn.first_epoch_after is not None:
            turn.queue_wait = turn.first_epoch_after - turn.training_box_after
        elif turn.training and turn.first_epoch_after is None:
            learner.errors.append(f"turn {message!r}: the training never reported an epoch")
        self._check_final(turn, final, base, message if api == "/respond" else None)
        return final

    def _watch(self, turn: Turn, output: Any, base: int, after: float) -> None:
        """Look at one streamed output: the training box, the queue, the first epoch, and the
        final reply of the training with its curves (its "... epoch(s) in N s" text, then a
        figure)."""
        if not isinstance(output, (list, tuple)) or not output or not isinstance(output[0], list):
            return
        new = output[0][base:]
        boxes = [message for message in new if _is_training_box(message)]
        if not boxes:
            return
        turn.training = True
        if turn.training_box_after is None:
            turn.training_box_after = after
        title = str(boxes[-1].get("metadata", {}).get("title", ""))
        if not turn.timeline or turn.timeline[-1][1] != title:
            turn.timeline.append((round(after, 2), title))
        if turn.curves_after is None and not title.startswith("Training:"):  # the box closed
            texts = _texts_each(new)
            done = [index for index, text in enumerate(texts) if FIT_SECONDS.search(text)]
            if done and any("[figure]" in text for text in texts[done[0]:]):
                turn.curves_after = after
        status = output[3] if len(output) > 3 and isinstance(output[3], str) else ""
        _note_together(turn, [*_texts(boxes), status])
        for text in _texts(boxes):
            place = QUEUE_PLACE.search(text)
            if place:
                turn.waited = True
                turn.max_place = max(turn.max_place, int(place.group(1)))
            if EPOCH_LINE.search(text) and title.startswith("Training: epoch"):  # still running
                turn.last_epoch_after = after
                if turn.first_epoch_after is None:
                    turn.first_epoch_after = after

    def _check_final(self, turn: Turn, final: Any, base: int, message: str | None) -> None:
        """Errors and leaks in the final output of a turn; keeps the history for the next turn."""
        learner = self.learner
        where = f"turn {turn.message!r} at step {turn.step}"
        if not isinstance(final, (list, tuple)) or len(final) < 5 or not isinstance(final[0], list):
            learner.errors.append(f"{where}: unexpected outputs {str(final)[:200]}")
            return
        # the chat, the lesson map, the live curve, the status line, (the mastery map,) the
        # learner's id: the page keeps the id last
        chat, lesson_map, status, learner_id = final[0], final[1], final[3], final[-1]
        new = chat[base:]
        texts = [*_texts(new), str(status) if isinstance(status, str) else ""]
        for marker in ERROR_MARKERS:
            hits = [text for text in texts if marker in text]
            if hits:
                learner.errors.append(f"{where}: reply says {marker!r}: {hits[0][:200]!r}")
        if learner.learner_id is None:
            learner.learner_id = str(learner_id)
        elif learner_id != learner.learner_id:
            learner.leaks.append(f"{where}: learner id {learner_id!r}, not their own {learner.learner_id!r}")
        if message is not None:
            users = [text for item, text in zip(new, _texts_each(new), strict=True)
                     if isinstance(item, dict) and item.get("role") == "user"]
            if not users or _unescape(users[0]).strip() != message.strip():
                learner.leaks.append(f"{where}: their message came back as {users[:1]!r}")
        self.history = chat
        reply_text = "\n".join(_texts(new))
        reveals = [(SPLITS[split], int(index), int(label))
                   for split, index, label in REVEAL.findall(reply_text)]
        for split, index, label in reveals:
            known = self.truth.get((split, index))
            if known is None and learner.phase in ("warm-up", "alone"):
                self.truth[(split, index)] = label
            elif known is not None and known != label:
                learner.leaks.append(f"{where}: card {split} {index} revealed as {label}, it is {known}")
        if self.pending_guess is not None:
            self._expect_guess(where, reply_text, reveals)
        fit = FIT_SECONDS.search(reply_text)
        if turn.training and fit:
            turn.fit_seconds = float(fit.group(1))
        if turn.training:
            _note_together(turn, [text for item, text in zip(new, _texts_each(new), strict=True)
                                  if not (isinstance(item, dict) and item.get("role") == "user")])
            if turn.curves_after is None and fit and "[figure]" in reply_text[fit.start():]:
                turn.curves_after = turn.seconds  # came with the last output, between two polls
            elif turn.curves_after is None:
                learner.errors.append(f"{where}: the training turn ended without its curves")
        self._check_map(where, str(lesson_map))
        score = SCORE_IN_REPLY.findall(reply_text)
        expected = (learner.expected_right, learner.expected_asked)
        if score and (int(score[-1][0]), int(score[-1][1])) != expected:
            learner.leaks.append(f"{where}: reply score {score[-1][0]} of {score[-1][1]}, expected "
                                 f"{learner.expected_right} of {learner.expected_asked}")

    def _expect_guess(self, where: str, reply_text: str, reveals: list[tuple[str, int, int]]) -> None:
        """Count the guess just graded into the score this learner must see."""
        learner = self.learner
        card, guess = self.pending_guess or (None, 0)
        self.pending_guess = None
        label = self.truth.get(card) if card is not None else None
        if label is None and reveals:  # the card could not be read: trust its reveal
            label = reveals[0][2]
        if label is None:
            learner.errors.append(f"{where}: the flashcard's label was never revealed")
            return
        learner.expected_asked += 1
        learner.expected_right += int(label == guess)
        verdict = "**Right!**" if label == guess else f"you said {guess} ("
        if verdict not in reply_text:
            learner.leaks.append(f"{where}: the reply does not grade their guess {guess} "
                                 f"(expected {verdict!r}): {reply_text[:160]!r}")

    def _check_map(self, where: str, lesson_map: str) -> None:
        """The lesson map must show this learner's position and flashcard score, nobody else's."""
        learner = self.learner
        rows = MAP_ROW.findall(lesson_map)
        current = [int(number) for marker, number in rows if marker == "▶"]
        if len(current) != 1:
            learner.leaks.append(f"{where}: lesson map has no single current step: {current}")
            return
        step = current[0]
        if learner.step and step != learner.step:
            learner.leaks.append(f"{where}: lesson map shows step {step}, expected {learner.step}")
        wrong = [number for marker, number in rows
                 if (marker == "✓") != (int(number) < step) and marker != "▶"]
        if wrong:
            learner.leaks.append(f"{where}: lesson map ticks do not match a walk to step {step}: "
                                 f"rows {wrong}")
        learner.step = step
        score = SCORE_IN_MAP.findall(lesson_map)
        shown = (int(score[0][0]), int(score[0][1])) if score else (0, 0)
        if shown != (learner.expected_right, learner.expected_asked):
            learner.leaks.append(f"{where}: lesson map score {shown[0]} of {shown[1]}, expected "
                                 f"{learner.expected_right} of {learner.expected_asked}")

    # ----- the walk -----------------------------------------------------------------------------
    def pause(self) -> None:
        if self.think > 0:
            time.sleep(self.think * self.random.uniform(0.5, 1.5))

    def hold(self) -> None:
        """At the step before training, wait for this learner's moment to ask (`ask_at`), so the
        class reaches the training step as scheduled; a learner already late asks at once."""
        if self.ask_at is None:
            return
        wait = min(self.ask_at, self.deadline) - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
            self.learner.held += wait

    def guess(self, card: tuple[str, int] | None, number: int) -> int:
        """This learner's guess for their `number`-th card (0, 1).

        The pattern (right/right, right/wrong, wrong/right, wrong/wrong, by the bits of the
        learner's number) and the wrong guesses differ between learners, so a score shown to the
        wrong learner is caught. Without a known label (the learner alone) it guesses blind.
        """
        index = self.learner.index
        label = self.truth.get(card) if card is not None else None
        if label is None:
            return (9 + index + number) % 10
        if not ((index >> number) & 1):
            return label
        return (label + 1 + (index + number) % 9) % 10

    def walk(self) -> None:
        """Start, then Next / guess / ask until the end of the notebook part of the lesson."""
        learner = self.learner
        if self.send("/start", (None,), "(start)", planned_training=False) is None:
            return
        if learner.step != 1:
            learner.errors.append(f"/start opened step {learner.step}, not step 1")
        asked = False
        cards = 0
        for _ in range(MAX_TURNS):
            if learner.step >= LAST_STEP:
                learner.finished = True
                return
            if time.perf_counter() > self.deadline:
                learner.errors.append(f"deadline reached at step {learner.step}")
                return
            self.pause()
            if learner.step == QUESTION_STEP and not asked:
                asked = True
                for question in QUESTIONS:
                    if self.send("/respond", (question,), question, False) is None:
                        return
                    self.pause()
                continue
            options = latest_options(self.history)
            guesses = {int(GUESS_LABEL.match(option["label"]).group(1)): option["value"]
                       for option in options if GUESS_LABEL.match(option["label"])}
            if guesses:
                found = CARD.findall("\n".join(_texts(self.history)))
                card = (found[-1][0], int(found[-1][1])) if found else None
                guess = self.guess(card, cards)
                cards += 1
                self.pending_guess = (card, guess)
                value = guesses.get(guess, str(guess))
                if self.send("/respond", (value,), value, False) is None:
                    return
                continue
            following = [option for option in options if option["label"].startswith("Next")]
            if not following:
                learner.errors.append(f"no Next option at step {learner.step}: "
                                      f"{[option['label'] for option in options]}")
                return
            before = learner.step
            value = following[0]["value"]
            learner.step = before + 1  # where the lesson map must say we are after this turn
            training = before + 1 == TRAINING_STEP or value.startswith("train for")
            if training:
                self.hold()
            if self.send("/respond", (value,), value, training, step=before) is None:
                return
        learner.errors.append(f"gave up after {MAX_TURNS} turns at step {learner.step}")


def _curves_after(learner: Learner) -> float | None:
    """Seconds from asking to train until the curves arrived, in the learner's training turn."""
    turn = training_turn(learner)
    return turn.curves_after if turn is not None else None


def _walk_in(learner: Learner) -> float | None:
    """Seconds from the learner's first turn until they asked to train."""
    turn = training_turn(learner)
    return turn.started - learner.turns[0].started if turn is not None else None


def _texts_each(messages: Sequence[Any]) -> list[str]:
    """One text per message (empty for components), aligned with `messages`."""
    return [" ".join(_texts([message])) for message in messages]


def _note_together(turn: Turn, texts: Sequence[str]) -> None:
    """Keep the lines of a training turn that say "together" (a fit run with others' fits)."""
    for text in texts:
        for line in TOGETHER.findall(text):
            line = line.strip()[:200]
            if line and line not in turn.together_lines and len(turn.together_lines) < 5:
                turn.together_lines.append(line)


# ----- the run ---------------------------------------------------------------------------------
def run_learners(url: str, phase: str, indices: Sequence[int], clock: float, deadline: float,
                 think: float, truth: dict[tuple[str, int], int], clients: list[Any],
                 timing: dict[str, float] | None = None, schedule: Schedule | None = None,
                 begin: Callable[[], float] | None = None) -> list[Learner]:
    """Walk the given learners at once, one thread and one client each; joins by the deadline.

    The clients are made first (not timed); then `begin()` gives the start (a perf_counter
    value; default: now), and learner i starts and asks to train as `schedule` says (default:
    all start at once and ask whenever they get there). `timing["wall"]` is from the start to
    the end, `timing["begin"]` the start in seconds since `clock`.
    """
    learners = [Learner(index, phase) for index in indices]
    walkers = []
    for learner in learners:
        client = new_client(url)
        clients.append(client)
        walkers.append(Walker(learner, client, clock, deadline, think, truth, seed=learner.index))
    threads = []
    started = begin() if begin is not None else time.perf_counter()
    for walker in walkers:
        start_after, ask_after = (schedule or {}).get(walker.learner.index, (0.0, None))
        if ask_after is not None:
            walker.ask_at = started + ask_after
            walker.learner.scheduled_ask = walker.ask_at - clock

        def work(walker: Walker = walker, start_at: float = started + start_after) -> None:
            time.sleep(max(0.0, start_at - time.perf_counter()))
            try:
                walker.walk()
            except Exception as error:  # a bug here is reported, not allowed to hang the run
                walker.learner.errors.append(f"learner crashed: {type(error).__name__}: {error}")

        thread = threading.Thread(target=work, name=f"learner-{walker.learner.index}", daemon=True)
        threads.append(thread)
        thread.start()
    join_by = deadline + 35  # a turn cancelled at the deadline needs a moment to unwind
    for thread in threads:
        thread.join(timeout=max(0.0, join_by - time.perf_counter()))
    if timing is not None:
        timing["wall"] = time.perf_counter() - started
        timing["begin"] = started - clock
    for thread, walker in zip(threads, walkers, strict=True):
        if thread.is_alive():
            walker.learner.errors.append("still running after the deadline")
    return learners


def _walk_group(url: str, indices: list[int], clock: float, deadline: float, think: float,
                schedule: Schedule, truth: dict[tuple[str, int], int], connection: Any) -> None:
    """One client process: its learners' clients connect, it says "ready" and gets the start,
    its learners walk, the results go back, and their clients stay connected (their sessions
    alive, in the memory figure) until the parent says "close"."""
    clients: list[Any] = []
    timing: dict[str, float] = {}
    before = os.times()

    def begin() -> float:  # every client process starts its learners at the same moment
        connection.send("ready")
        start = connection.recv()
        if not isinstance(start, float):
            raise RuntimeError("the parent gave no start")
        return start

    learners = run_learners(url, "together", indices, clock, deadline, think, truth, clients,
                            timing, schedule=schedule, begin=begin)
    after = os.times()
    used = (after.user - before.user) + (after.system - before.system)
    connection.send((learners, timing.get("wall"), used))
    connection.recv()  # "close"
    for client in clients:
        with contextlib.suppress(Exception):
            client.close()


class ClientProcesses:
    """The learners split over a few client processes, like tabs on several machines.

    Why: browsers are independent, while twenty gradio_client sessions in one Python process
    share its one lock, so their own polling and decoding could delay what they measure. (On
    two cores the figures came out much the same either way.) Once every process has its
    clients, all of them start at one moment (`begin`, a perf_counter value: the clock is the
    machine's monotonic clock, the same in every process), and each learner follows `schedule`.
    """

    READY_TIMEOUT_SECONDS = 300.0  # for every client process to connect its clients

    def __init__(self, url: str, indices: Sequence[int], processes: int, clock: float,
                 deadline: float, think: float, schedule: Schedule,
                 truth: dict[tuple[str, int], int]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        groups = [list(indices[start::processes]) for start in range(processes)]
        self.connections = []
        self.processes = []
        self.begin: float | None = None
        for group in (group for group in groups if group):
            parent, child = context.Pipe()
            process = context.Process(target=_walk_group, daemon=True, args=(
                url, group, clock, deadline, think, schedule, truth, child))
            process.start()
            self.connections.append(parent)
            self.processes.append(process)

    def start(self) -> float:
        """Wait until every client process is ready, then start them all in half a second."""
        for connection in self.connections:
            if not connection.poll(self.READY_TIMEOUT_SECONDS) or connection.recv() != "ready":
                raise RuntimeError("a client process did not get ready")
        self.begin = time.perf_counter() + 0.5
        for connection in self.connections:
            connection.send(self.begin)
        return self.begin

    def results(self, timeout: float) -> tuple[list[Learner], float | None, float]:
        """(learners by index, wall seconds of the slowest group, the clients' CPU seconds)."""
        learners: list[Learner] = []
        walls, cpu = [], 0.0
        for connection in self.connections:
            if not connection.poll(timeout):
                raise RuntimeError("a client process gave no results by the deadline")
            group, wall, used = connection.recv()
            learners += group
            cpu += used
            if wall is not None:
                walls.append(wall)
        return sorted(learners, key=lambda learner: learner.index), max(walls, default=None), cpu

    def close(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.send("close")
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50": statistics.median(values) if values else None,
        "p95": _percentile(values, 0.95),
        "max": max(values) if values else None,
    }


def server_times(url: str) -> dict[str, Any] | None:
    """Gradio's own timing of each `/respond` turn inside the server (`GRADIO_PROFILING=1`):
    from the event's arrival in the queue to its last output, without the way to the client.

    A turn with six or more updates is counted as a training turn (the echo, the box, an update
    per epoch); the others are the non-training turns. None if the app does not serve traces.
    """
    try:
        with urllib.request.urlopen(f"{url}gradio_api/profiling/traces", timeout=30) as response:
            traces = json.loads(response.read())
    except (OSError, ValueError):
        return None
    turns = [trace for trace in traces if trace.get("fn_name") == "respond"]
    quick = [trace for trace in turns if trace.get("n_iterations", 0) < 6]
    return {
        "turns": len(turns),
        "non_training": _stats([trace["total_ms"] / 1000 for trace in quick]),
        "non_training_postprocess": _stats([trace["postprocess_ms"] / 1000 for trace in quick]),
        "non_training_function": _stats([trace["fn_call_ms"] / 1000 for trace in quick]),
    }


def _who(learner: Learner) -> str:
    return f"learner {learner.index}" if learner.phase == "together" else f"the {learner.phase} learner"


def summarise(learners: list[Learner], alone: list[Learner],
              warm_up: Sequence[Learner] = ()) -> dict[str, Any]:
    """Turn times, queue waits, errors and leaks of the learners who ran together; errors and
    leaks of the learners before them too."""
    everyone = [*warm_up, *alone, *learners]
    turns = [turn for learner in learners for turn in learner.turns if turn.seconds is not None]
    training = [turn for turn in turns if turn.training]
    other = [turn for turn in turns if not turn.training]
    spans = [(turn.started, turn.ended) for turn in training]
    during = [turn for turn in other
              if any(start < turn.ended and turn.started < end for start, end in spans)]
    waits = [turn.queue_wait for turn in training if turn.queue_wait is not None]
    split = [turn for turn in training if turn.queue_wait is not None and turn.fit_seconds is not None]
    slowest = sorted(other, key=lambda turn: turn.seconds or 0.0, reverse=True)[:5]
    alone_turns = [turn for learner in alone for turn in learner.turns if turn.seconds is not None]
    return {
        "learners": len(learners),
        "finished": sum(learner.finished for learner in learners),
        "turns": len(turns),
        "errors": [f"{_who(learner)}: {error}" for learner in everyone for error in learner.errors],
        "leaks": [f"{_who(learner)}: {leak}" for learner in everyone for leak in learner.leaks],
        "distinct_ids": len({learner.learner_id for learner in everyone if learner.learner_id}),
        "non_training": _stats([turn.seconds for turn in other]),
        "non_training_during_training": _stats([turn.seconds for turn in during]),
        "non_training_first_output": _stats([turn.first_output_after for turn in other
                                             if turn.first_output_after is not None]),
        "training": _stats([turn.seconds for turn in training]),
        "queue_wait": _stats(waits),
        "fit": _stats([turn.fit_seconds for turn in split]),
        "training_rest": _stats([(turn.seconds or 0.0) - turn.queue_wait - turn.fit_seconds
                                 for turn in split]),
        "training_outputs": _stats([float(turn.outputs) for turn in training]),
        "progress_lag": _stats([turn.last_epoch_after - turn.first_epoch_after - turn.fit_seconds
                                for turn in split if turn.last_epoch_after is not None]),
        "after_last_epoch": _stats([(turn.seconds or 0.0) - turn.last_epoch_after
                                    for turn in training if turn.last_epoch_after is not None]),
        "saw_waiting": sum(turn.waited for turn in training),
        "max_place": max((turn.max_place for turn in training), default=0),
        "slowest_non_training": [
            {"learner": turn.learner, "message": turn.message, "step": turn.step,
             "seconds": turn.seconds, "at": turn.started} for turn in slowest
        ],
        "alone_non_training": _stats([turn.seconds for turn in alone_turns if not turn.training]),
        "alone_training": _stats([turn.seconds for turn in alone_turns if turn.training]),
    }


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} MB"


def _line(stats: dict[str, Any]) -> str:
    return (f"p50 {_s(stats['p50'])}   p95 {_s(stats['p95'])}   max {_s(stats['max'])}   "
            f"({stats['count']} turns)")


def _verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= goal else "NOT MET"


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f}/{five:.1f}"


def app_log_problems(log_path: Path, limit: int = 8) -> tuple[int, list[str]]:
    """How many tracebacks / error lines the app logged, and the first few lines of them."""
    with contextlib.suppress(OSError):
        lines = log_path.read_text(errors="replace").splitlines()
        hits = [index for index, line in enumerate(lines)  # not TensorFlow's "E0000 ... cuInit"
                if line.startswith(("Traceback", "ERROR", "Exception"))]
        shown = []
        for index in hits[:limit]:
            shown.append(lines[index])
            shown.extend(line for line in lines[index + 1:index + 40] if line and not line.startswith(" "))
        return len(hits), shown[:limit * 3]
    return 0, []


def print_report(report: dict[str, Any]) -> None:
    together = report["together"]
    memory = report["memory"]
    print("\n" + "=" * 78)
    arrival = (f"asking to train within {report['arrive_within']:g} s" if report["arrive_within"] > 0
               else f"stagger {report['stagger']:g} s")
    print(f"load test: {report['learners']} learners at once (after 1 alone"
          f"{', and a warm-up learner before' if report['warm_up'] else ''}), slice "
          f"{report['slice']:,} images, 5 epochs, think {report['think']:g} s, {arrival}, "
          f"clients in {report.get('client_processes', 1)} process(es), "
          f"{report['cpus']} CPUs, load (1/5 min) "
          f"{report['load_before']} before, {report['load_after']} after")
    print(f"  learners finished       {together['finished']} of {together['learners']} "
          f"(+ the one alone: {'yes' if report['alone_finished'] else 'NO'}), {together['turns']} turns, "
          f"{together['distinct_ids']} distinct learner ids")
    print(f"  errors                  {len(together['errors'])}")
    for error in together["errors"][:10]:
        print(f"    - {error}")
    print(f"  leaks                   {len(together['leaks'])}")
    for leak in together["leaks"][:10]:
        print(f"    - {leak}")
    print(f"  app log                 {report['app_log_errors']} traceback/error line(s)")
    for line in report["app_log_excerpt"]:
        print(f"    | {line[:160]}")
    non = together["non_training"]
    print(f"  non-training turns      {_line(non)}")
    during = together["non_training_during_training"]
    verdict = _verdict(during["p95"], NON_TRAINING_GOAL_SECONDS)
    print(f"    while trainings ran   {_line(during)}   "
          f"(goal p95 <= {NON_TRAINING_GOAL_SECONDS:g} s: {verdict})")
    print(f"    first output (echo)   {_line(together['non_training_first_output'])}")
    server = report.get("server")
    if server:
        print(f"    inside the server     {_line(server['non_training'])}   (Gradio's timing, "
              f"queue to last output; the rest is the way to the client and the client itself)")
        print(f"      of which postprocess {_line(server['non_training_postprocess'])}")
    print(f"    alone, for reference  {_line(together['alone_non_training'])}")
    print(f"  training turns          {_line(together['training'])}")
    print(f"    alone, for reference  {_line(together['alone_training'])}")
    print(f"    the fit itself        {_line(together['fit'])}   (as the final reply states it)")
    print(f"    beyond wait and fit   {_line(together['training_rest'])}   "
          "(setup, streaming the progress, the final reply)")
    print(f"    progress shown - fit  {_line(together['progress_lag'])}   "
          "(first to last \"Epoch i/n\" line, minus the fit: the stream lagging the fit)")
    print(f"    after the last epoch  {_line(together['after_last_epoch'])}   "
          "(the last progress line to the end of the turn)")
    outputs = together["training_outputs"]
    print(f"    streamed outputs      p50 {outputs['p50'] or 0:.0f}   max {outputs['max'] or 0:.0f} "
          "per training turn")
    wait = together["queue_wait"]
    print(f"  queue waits             median {_s(wait['p50'])}   max {_s(wait['max'])}   "
          f"{together['saw_waiting']} of {together['training']['count']} trainings saw "
          f"\"Waiting for a free training slot\" (highest place {together['max_place']})")
    print("  slowest non-training turns:")
    for turn in together["slowest_non_training"]:
        print(f"    learner {turn['learner']:2d} step {turn['step']:2d} {turn['message']!r:30s} "
              f"{turn['seconds']:6.2f} s at t={turn['at']:.0f} s")
    print(f"  RSS                     at start {_mb(memory['start'])}   after 1 learner "
          f"{_mb(memory['one'])}   after 1 + {report['learners']} learners {_mb(memory['all'])}   "
          f"peak {_mb(memory['peak'])}")
    moments = (("after 1 learner", "one_by_process"),
               (f"after 1 + {report['learners']}", "all_by_process"))
    for label, key in moments:  # the workers are in the figures, and may come or go
        kinds = memory.get(key) or {}
        print(f"    {label:21s} " + ", ".join(
            f"{kind} {' + '.join(f'{value:,.0f}' for value in values)} MB" for kind, values in kinds.items()))
    per = memory["per_extra_learner"]
    print(f"  per extra learner       {'n/a' if per is None else f'{per:.1f} MB'}   "
          f"(goal <= {MEMORY_GOAL_MB:g} MB: {_verdict(per, MEMORY_GOAL_MB)})")
    print(f"  CPU seconds             app {_s(report['app_cpu'])}   load generator "
          f"{_s(report['generator_cpu'])}")
    if report.get("cpu_by_thread"):
        print("  app CPU while together, by thread name (threads, seconds):")
        for name, count, used in report["cpu_by_thread"]:
            print(f"    {name:24s} {count:4d} {used:8.1f} s")
    print(f"  total wall time         {_s(report['wall'])}   (app served after "
          f"{_s(report['served_after'])}, loaded after {_s(report['ready_after'])}, "
          f"together phase {_s(report['together_wall'])})")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=20, help="learners at once (20)")
    parser.add_argument("--slice", type=int, default=1000, metavar="N",
                        help="BRAIN_TUTOR_TRAIN_SLICE: train on the first N images (1000)")
    parser.add_argument("--port", type=int, default=None, help="serve the app here (default: a free port)")
    parser.add_argument("--think", type=float, default=1.0, metavar="SECONDS",
                        help="pause between a learner's turns, +-50%% (1.0; 0 for none)")
    parser.add_argument("--arrive-within", type=float, default=ARRIVE_WITHIN_SECONDS, metavar="SECONDS",
                        help="the class asks to train within this window: each learner starts at a "
                        "seeded random moment in it, walks to the training step and asks a fixed "
                        f"time later ({ARRIVE_WITHIN_SECONDS:g}); 0: no window, the learners start within "
                        "--stagger and ask whenever they get there")
    parser.add_argument("--seed", type=int, default=0, help="the draw of the arrival moments (0)")
    parser.add_argument("--stagger", type=float, default=2.0, metavar="SECONDS",
                        help="with --arrive-within 0, spread the learners' starts over this long (2.0)")
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="before the lone learner, another one walks the lesson alone, so the "
                        "server's first training (which starts its worker processes) is not the "
                        "baseline (on)")
    parser.add_argument("--deadline", type=float, default=1800.0, metavar="SECONDS",
                        help="hard limit for the whole run; turns still running are cancelled (1800)")
    parser.add_argument("--processes", type=int, default=4, metavar="N",
                        help="client processes the learners are split over (4); 1: all in this one")
    parser.add_argument("--nice", type=int, default=0, metavar="N",
                        help="after starting the app, lower this script's own CPU priority by N "
                        "(0): the clients stand in for browsers on other machines")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write every figure and turn to this JSON file")
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.learners <= 200:
        parser.error("--learners must be from 1 to 200")
    if arguments.slice < 1:
        parser.error("--slice must be at least 1")
    if arguments.think < 0 or arguments.stagger < 0 or arguments.arrive_within < 0 or arguments.deadline <= 0:
        parser.error("--think, --stagger and --arrive-within must be >= 0, --deadline > 0")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    clock = time.perf_counter()
    deadline = clock + arguments.deadline
    cpu_before = os.times()
    port = arguments.port or free_port()
    url = f"http://127.0.0.1:{port}/"
    state_dir = Path(tempfile.mkdtemp(prefix="brain-tutor-load-"))
    log_path = state_dir / "app.log"
    report: dict[str, Any] = {
        "learners": arguments.learners, "slice": arguments.slice, "think": arguments.think,
        "stagger": arguments.stagger, "arrive_within": arguments.arrive_within, "seed": arguments.seed,
        "warm_up": arguments.warm_up, "cpus": os.cpu_count(), "load_before": _load(),
        "client_processes": max(1, arguments.processes),
    }
    print(f"starting the app on {url} (slice {arguments.slice:,}, state in {state_dir}) ...", flush=True)
    process = start_app(port, arguments.slice, state_dir, log_path)
    if arguments.nice:  # the app keeps its priority; the learners' threads, started later, inherit this
        os.nice(arguments.nice)
        report["client_nice"] = arguments.nice
    clients: list[Any] = []
    groups: list[ClientProcesses] = []
    learners: list[Learner] = []
    alone: list[Learner] = []
    warm_up: list[Learner] = []
    memory: dict[str, Any] = {"start": None, "one": None, "all": None, "peak": None}
    try:
        report["served_after"] = wait_until_served(process, url, SERVE_TIMEOUT_SECONDS)
        probe = new_client(url)
        clients.append(probe)
        ready_after, status = wait_until_ready(probe, READY_TIMEOUT_SECONDS)
        report["ready_after"] = report["served_after"] + ready_after
        print(f"  served after {report['served_after']:.1f} s; {status}", flush=True)
        memory["start"] = settled_rss(process.pid)
        print(f"  RSS once loaded: {_mb(memory['start'])}", flush=True)
        truth: dict[tuple[str, int], int] = {}
        with MemoryMonitor(process.pid) as monitor:
            if arguments.warm_up:
                print("a warm-up learner alone (the server's first training starts its workers) ...",
                      flush=True)
                warm_up = run_learners(url, "warm-up", [0], clock, deadline, arguments.think, truth,
                                       clients)
                print(f"  done: {len(warm_up[0].turns)} turns, finished: {warm_up[0].finished}; "
                      f"training turn {_s(_curves_after(warm_up[0]))} to the curves", flush=True)
            print("one learner alone ...", flush=True)
            alone = run_learners(url, "alone", [0], clock, deadline, arguments.think, truth, clients)
            memory["one"] = settled_rss(process.pid)
            memory["one_by_process"] = rss_by_process(process.pid)
            print(f"  done: {len(alone[0].turns)} turns, finished: {alone[0].finished}; training turn "
                  f"{_s(_curves_after(alone[0]))} to the curves; RSS {_mb(memory['one'])}; "
                  f"flashcard labels {truth}", flush=True)
            indices = list(range(1, arguments.learners + 1))
            lead = None
            if arguments.arrive_within > 0:
                walk_in = _walk_in(alone[0])
                lead = 60.0 if walk_in is None else 1.5 * walk_in + 10.0
                report["lead"] = lead
                print(f"{arguments.learners} learners, asking to train within {arguments.arrive_within:g} s "
                      f"(each walks to the training step, then waits for their moment; {lead:.0f} s after "
                      f"starting: the lone walk took {_s(walk_in)}) ...", flush=True)
            else:
                print(f"{arguments.learners} learners at once ...", flush=True)
            schedule = class_schedule(indices, arguments.arrive_within, arguments.stagger, lead or 0.0,
                                      arguments.seed)
            timing: dict[str, float] = {}
            threads_before = dict(monitor.threads)
            with contextlib.suppress(OSError):  # the server's own timing: of the class only
                urllib.request.urlopen(urllib.request.Request(
                    f"{url}gradio_api/profiling/clear", method="POST"), timeout=10).close()
            if arguments.processes > 1:
                group = ClientProcesses(url, indices, arguments.processes, clock, deadline,
                                        arguments.think, schedule, truth)
                groups.append(group)
                timing["begin"] = group.start() - clock
                learners, timing["wall"], report["client_process_cpu"] = group.results(
                    max(0.0, deadline + 60 - time.perf_counter()))
            else:
                learners = run_learners(url, "together", indices, clock, deadline,
                                        arguments.think, truth, clients, timing, schedule=schedule)
            report["together_wall"] = timing.get("wall")
            report["together_begin"] = timing.get("begin")
            report["cpu_by_thread"] = monitor.cpu_by_thread_name(threads_before)[:6]
            memory["all"] = settled_rss(process.pid)
            memory["all_by_process"] = rss_by_process(process.pid)
            memory["peak"] = monitor.peak or None
        if memory["one"] is not None and memory["all"] is not None:
            memory["per_extra_learner"] = (memory["all"] - memory["one"]) / arguments.learners
        report["server"] = server_times(url)
        report["app_exit_code"] = process.poll()
        report["app_cpu"] = cpu_seconds(process.pid)
    except Exception as error:
        print(f"the run failed: {type(error).__name__}: {error}", flush=True)
        with contextlib.suppress(OSError):
            for line in log_path.read_text(errors="replace").splitlines()[-20:]:
                print(f"    | {line}")
        return 1
    finally:
        for group in groups:
            group.close()
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()
        kill_group(process)
    memory.setdefault("per_extra_learner", None)
    cpu_after = os.times()
    report["generator_cpu"] = ((cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
                               + report.get("client_process_cpu", 0.0))
    report["memory"] = memory
    report["alone_finished"] = bool(alone and alone[0].finished)
    report["together"] = summarise(learners, alone, warm_up)
    report["class"] = class_summary(learners, alone, warm_up, report.get("together_begin"),
                                    arguments.arrive_within, report.get("lead"))
    report["goals"] = goals(report, NON_TRAINING_GOAL_SECONDS, MEMORY_GOAL_MB)
    report["load_after"] = _load()
    report["wall"] = time.perf_counter() - clock
    report["app_log_errors"], report["app_log_excerpt"] = app_log_problems(log_path)
    report.setdefault("together_wall", None)
    print_report(report)
    print_class(report)
    if arguments.json is not None:
        report["turns"] = [asdict(turn) for learner in warm_up + alone + learners for turn in learner.turns]
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nfigures written to {arguments.json}")
    shutil.rmtree(state_dir, ignore_errors=True)
    together = report["together"]
    if report.get("app_exit_code") is not None:
        together["errors"].append(f"the app exited with code {report['app_exit_code']} during the run")
    return 1 if together["errors"] or together["leaks"] else 0


if __name__ == "__main__":
    sys.exit(main())
