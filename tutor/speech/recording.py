"""A learner's recording read and checked: 16 kHz mono float32 samples, what Whisper listens to.

Accepts a file path, file bytes, a `(sample_rate, array)` tuple (what `gr.Audio(type="numpy")`
gives) or a bare array, and refuses a missing, silent, too long or unreadable one with a
`VoiceInputError` before any model is loaded. Nothing here imports Gradio or Keras.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from tutor.speech.errors import VoiceInputError, VoiceUnavailable

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper listens at
MAX_SECONDS = 60.0  # longest question accepted
MAX_BYTES = 40_000_000  # a minute of 48 kHz stereo WAV is 11 MB; anything this big is refused unread
MIN_SECONDS = 0.2
SILENCE_PEAK = 0.01  # a recording whose loudest sample stays under 1% of full scale is silence


def _too_long(seconds: float, limit: float) -> VoiceInputError:
    return VoiceInputError(f"That recording is {seconds:.0f} seconds long; please keep questions "
                           f"under {'a minute' if limit == 60 else f'{limit:.0f} seconds'}.")


def _to_float_mono(samples: np.ndarray) -> np.ndarray:
    """Any integer or float PCM array, mono or (samples, channels), as float32 mono in [-1, 1]."""
    array = np.asarray(samples)
    if array.ndim == 2:
        channel_axis = 1 if array.shape[1] <= 8 else 0  # Gradio gives (samples, channels)
        array = array.astype(np.float32).mean(axis=channel_axis) if array.dtype.kind == "f" \
            else array.mean(axis=channel_axis).astype(array.dtype)
    if array.ndim != 1:
        raise VoiceInputError("I couldn't read that recording (it is not mono or stereo sound).")
    if array.dtype.kind == "i":
        scale = float(2 ** (8 * array.dtype.itemsize - 1))
        return (array.astype(np.float32) / scale).astype(np.float32)
    if array.dtype.kind == "u":
        middle = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array.astype(np.float32) - middle) / middle).astype(np.float32)
    if array.dtype.kind == "f":
        return np.nan_to_num(np.clip(array.astype(np.float32), -1.0, 1.0))
    raise VoiceInputError("I couldn't read that recording (its samples are not numbers).")


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    common = gcd(int(rate), SAMPLE_RATE)
    return resample_poly(samples, SAMPLE_RATE // common, int(rate) // common).astype(np.float32)


def _decode_file(source: str | io.BytesIO, max_seconds: float) -> np.ndarray:
    """Decode a file or bytes with PyAV to 16 kHz mono float32, refusing long ones early."""
    try:
        import av
    except ImportError as error:
        raise VoiceUnavailable("Speech input is off: faster-whisper is not installed "
                               "(pip install faster-whisper).") from error
    unreadable = VoiceInputError("That file isn't audio I can read. Please record again, or upload "
                                 "a WAV, MP3, OGG or WebM recording.")
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except FileNotFoundError as error:
        raise VoiceInputError("I couldn't find that recording. Please record again.") from error
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise unreadable from error
    limit = int((max_seconds + 0.5) * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    with container:
        if not container.streams.audio:
            raise VoiceInputError("That file has no sound in it. Please record again.")
        stream = container.streams.audio[0]
        declared = None
        if container.duration:
            declared = container.duration / av.time_base
        elif stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
        if declared is not None and declared > max_seconds + 0.5:
            raise _too_long(declared, max_seconds)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:  # no trustworthy header: stop as soon as it is too long
                    raise _too_long(total / SAMPLE_RATE, max_seconds)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as error:
            if not chunks:
                raise unreadable from error
            log.info("decoding stopped early: %s", error)
    if not chunks:
        raise VoiceInputError("That recording is empty. Please record again.")
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def load_audio(audio: Any, *, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Any accepted input as 16 kHz mono float32 samples; raises VoiceInputError (missing,
    silent, too long or unreadable audio).

    Accepted: a file path, raw file bytes, a `(sample_rate, array)` tuple (int16 or float,
    mono or stereo) or a bare float array already at 16 kHz.
    """
    no_audio = VoiceInputError("I didn't get any audio. Check that the browser may use your "
                               "microphone, then record your question again.")
    if audio is None:
        raise no_audio
    if isinstance(audio, (bytes, bytearray, memoryview)):
        if len(audio) == 0:
            raise no_audio
        if len(audio) > MAX_BYTES:
            raise VoiceInputError("That recording is too large; please keep questions under a minute.")
        return _decode_file(io.BytesIO(bytes(audio)), max_seconds)
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
        if not str(audio).strip() or not path.is_file():
            raise VoiceInputError("I couldn't find that recording. Please record again.")
        if path.stat().st_size == 0:
            raise no_audio
        if path.stat().st_size > MAX_BYTES:
            raise VoiceInputError("That recording is too large; please keep questions under a minute.")
        return _decode_file(str(path), max_seconds)
    if isinstance(audio, (tuple, list)) and len(audio) == 2:
        rate, samples = audio
        if samples is None:
            raise no_audio
        try:
            rate = int(rate)
        except (TypeError, ValueError) as error:
            raise VoiceInputError("I couldn't read that recording (no sample rate).") from error
        if rate <= 0:
            raise VoiceInputError("I couldn't read that recording (no sample rate).")
    elif isinstance(audio, np.ndarray):
        rate, samples = SAMPLE_RATE, audio
    else:
        raise VoiceInputError("I couldn't read that recording. Please record again.")
    samples = np.asarray(samples)
    if samples.size == 0:
        raise no_audio
    frames = samples.shape[0] if samples.ndim == 1 or samples.shape[1] <= 8 else samples.shape[1]
    if frames / rate > max_seconds + 0.5:
        raise _too_long(frames / rate, max_seconds)
    mono = _to_float_mono(samples)
    _check_sound(mono, frames / rate)  # before resampling: silence is refused at once
    return _resample(mono, rate)


def _check_sound(samples: np.ndarray, seconds: float) -> None:
    if seconds < MIN_SECONDS or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise VoiceInputError("I couldn't hear anything in that recording. Please speak a bit "
                              "closer to the microphone and try again.")


SPEECH_MARGIN = 0.8  # seconds of the recording kept before the first and after the last sound


def trim_to_speech(samples: np.ndarray, margin: float = SPEECH_MARGIN) -> np.ndarray:
    """The recording from `margin` seconds before its first sound to `margin` after its last.

    Why: how long a learner waits before pressing Stop should not change what they said. Whisper
    tiny heard one recorded "next" as "Next." with 0.5-1 s of silence after it and as "Thanks."
    with 1.5-2.2 s; with a fixed margin the same words give the same transcript. A sound is a
    20 ms frame within 20 dB of the loudest one.
    """
    frame = SAMPLE_RATE // 50
    count = len(samples) // frame
    if count == 0:
        return samples
    loudness = np.sqrt(np.mean(np.square(samples[: count * frame].reshape(count, frame)), axis=1))
    loud = np.flatnonzero(loudness > max(0.1 * float(loudness.max()), 1e-4))
    if loud.size == 0:
        return samples
    keep = int(margin * SAMPLE_RATE)
    return samples[max(0, loud[0] * frame - keep): min(len(samples), (loud[-1] + 1) * frame + keep)]
