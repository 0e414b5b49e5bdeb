"""How often does the tutor do what a learner said aloud? Context-aware speech in, end to end.

Every phrase of a set in `benchmarks/voice_sets.py` is spoken by each espeak-ng voice at each
speed, and by piper's voice where it is installed (and, with --noise, the same again with white
noise at 20 dB SNR), then heard by `Tutor.hear` at the lesson step where a learner would say
it, so with that step's buttons and choices expected. Each utterance ends one of four ways:

- done: the tutor acts on a message that means what was said (`Tutor.meaning`);
- asked: it was unsure and asks "Did you say ...?" (nothing happens; never counted as done);
- question (commands only): it takes the words for a question and answers them; nothing is done;
- wrong: it does another command (for a question: does any command).

Questions are also scored by word error rate (`benchmarks.voice.word_error_rate`) of the text
the tutor answers. Seconds per utterance are wall time and process CPU time around `hear`
(one encoder pass, the free decoding and the phrase scoring); the first call (model load) is
not timed. The held-out set is the accuracy the docs report: nothing was tuned on it.

    python benchmarks/spoken_commands.py                  # the held-out set, clean
    python benchmarks/spoken_commands.py --set tuning --noise --show
    python benchmarks/spoken_commands.py --json artifacts/spoken.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.voice import p95, word_error_rate  # noqa: E402
from benchmarks.voice_sets import (  # noqa: E402
    HELD_OUT,
    NOISE_SNR_DB,
    PIPER,
    SPEEDS,
    TUNING,
    VOICES,
    Said,
    speak_to_file,
    voices,
)


@dataclass(frozen=True)
class Outcome:
    """One utterance: what was said, how, and what the tutor made of it."""

    said: str
    voice: str
    speed: int
    noisy: bool
    result: str  # "done", "asked", "question" or "wrong" (see judge)
    heard: str  # Whisper's own words
    acted_on: str | None  # the message the tutor acted on; None when it asked
    candidates: tuple[str, ...]
    wall_s: float
    cpu_s: float
    is_question: bool


def session_at(tutor, step: str, sessions: dict):
    """A learner at `step`, reached the way a learner gets there (one per step, reused)."""
    session = sessions.get(step)
    if session is None:
        session = tutor.new_session()
        tutor.respond(session, "")
        if step != "intro":
            tutor.respond(session, f"go to {step}")
        sessions[step] = session
    return session


def judge(tutor, said: Said, acted_on: str | None) -> str:
    """done, asked, question (a command passed on as a question: answered, nothing done) or
    wrong (another command done; for a question: any command done)."""
    if acted_on is None:
        return "asked"
    meaning = tutor.meaning(acted_on)
    if said.message is None:  # a question: fine as long as it is not acted on as a command
        return "done" if meaning is None else "wrong"
    if meaning is None:
        return "question"
    return "done" if meaning == tutor.meaning(said.message) else "wrong"


def evaluate(tutor, phrases: tuple[Said, ...] | list[Said], folder: Path, *,
             voices: tuple[str, ...] = VOICES, speeds: tuple[int, ...] = SPEEDS,
             noise: bool = False, show: bool = False) -> list[Outcome]:
    """Speak, hear and judge every phrase in every voice and speed (see the module docstring)."""
    sessions: dict = {}
    outcomes = []
    warmed = False
    for index, said in enumerate(phrases):
        session = session_at(tutor, said.step, sessions)
        for voice_name in voices:
            for speed in speeds[:1] if voice_name == PIPER else speeds:  # piper: its own pace
                name = f"{index:02d}-{voice_name.replace('+', '_')}-{speed}{'-noisy' if noise else ''}"
                path = folder / f"{name}.wav"
                speak_to_file(said.text, path, voice=voice_name, words_per_minute=speed,
                              noise_db=NOISE_SNR_DB if noise else None, seed=index)
                if not warmed:
                    tutor.hear(session, path)  # loads the model: not timed
                    warmed = True
                wall, cpu = time.perf_counter(), time.process_time()
                heard = tutor.hear(session, path)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                outcome = Outcome(said.text, voice_name, speed, noise, judge(tutor, said, heard.message),
                                  heard.text, heard.message,
                                  tuple(candidate.message for candidate in heard.candidates),
                                  wall, cpu, said.message is None)
                outcomes.append(outcome)
                if show:
                    mark = {"done": "  ", "asked": "? ", "question": "Q ", "wrong": "X "}[outcome.result]
                    print(f"{mark}{said.text!r} [{voice_name} {speed}] heard {heard.text!r} -> "
                          f"{heard.message!r} {outcome.candidates or ''} {wall:.2f} s  {heard.scores[:3]}")
    return outcomes


def summary(outcomes: list[Outcome], phrases) -> dict:
    """Rates of done, asked and wrong for commands and questions, the questions' WER, timings."""
    def rates(items: list[Outcome]) -> dict:
        count = max(len(items), 1)
        return {"utterances": len(items),
                **{result: sum(item.result == result for item in items) / count
                   for result in ("done", "asked", "question", "wrong")}}

    commands = [item for item in outcomes if not item.is_question]
    questions = [item for item in outcomes if item.is_question]
    pairs = [(item.said, item.acted_on if item.acted_on is not None else item.heard) for item in questions]
    walls = [item.wall_s for item in outcomes]
    return {
        "commands": rates(commands),
        "questions": {**rates(questions), "wer": word_error_rate(pairs),
                      "wer_free": word_error_rate([(item.said, item.heard) for item in questions])},
        "wall_mean_s": statistics.fmean(walls), "wall_p50_s": statistics.median(walls),
        "wall_p95_s": p95(walls), "cpu_mean_s": statistics.fmean(item.cpu_s for item in outcomes),
        "phrases": len(phrases), "load_average": os.getloadavg()[0],
    }


def print_summary(label: str, figures: dict) -> None:
    commands, questions = figures["commands"], figures["questions"]
    print(f"\n{label}: {figures['phrases']} phrases, {commands['utterances'] + questions['utterances']} "
          f"utterances ({os.cpu_count()} CPUs, load average {figures['load_average']:.1f})")
    print(f"  commands  ({commands['utterances']:3d}): done {commands['done']:6.1%}  "
          f"asked {commands['asked']:6.1%}  answered as a question {commands['question']:6.1%}  "
          f"wrong {commands['wrong']:6.1%}")
    print(f"  questions ({questions['utterances']:3d}): answered {questions['done']:6.1%}  "
          f"asked {questions['asked']:6.1%}  taken for a command {questions['wrong']:6.1%}  "
          f"WER {questions['wer']:5.1%} (free decoding alone {questions['wer_free']:5.1%})")
    print(f"  seconds per utterance: wall mean {figures['wall_mean_s']:.2f}, "
          f"p50 {figures['wall_p50_s']:.2f}, "
          f"p95 {figures['wall_p95_s']:.2f}; CPU mean {figures['cpu_mean_s']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("held-out", "tuning"), default="held-out")
    parser.add_argument("--noise", action="store_true",
                        help=f"also with white noise at {NOISE_SNR_DB:.0f} dB SNR")
    parser.add_argument("--show", action="store_true", help="print every utterance")
    parser.add_argument("--json", type=Path, help="also write the figures and outcomes here")
    args = parser.parse_args(argv)

    from benchmarks.voice import tools_problem
    from tutor import Tutor
    from tutor.speech import transcription

    problem = tools_problem() or transcription.transcription_problem()
    if problem:
        print(f"skipped: {problem}")
        return 0
    phrases = HELD_OUT if args.set == "held-out" else TUNING
    tutor = Tutor(train_slice=1000, max_messages_per_minute=None)
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="spoken-") as folder:
        for noisy in (False, True) if args.noise else (False,):
            label = f"{args.set}, {'20 dB noise' if noisy else 'clean'}"
            outcomes = evaluate(tutor, phrases, Path(folder), voices=voices(), noise=noisy, show=args.show)
            figures = summary(outcomes, phrases)
            print_summary(label, figures)
            report[label] = {"figures": figures, "outcomes": [asdict(item) for item in outcomes]}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
