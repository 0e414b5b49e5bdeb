"""The voice's errors: every failure a learner can cause or meet, with a message to show as it is.

Shared by speech in (`recording`, `transcription`, `recognition`) and speech out (`synthesis`,
`playback`), so that a caller catches one `VoiceError` whichever side failed.
"""

from __future__ import annotations


class VoiceError(Exception):
    """A voice problem with a message fit to show the learner."""


class VoiceUnavailable(VoiceError):
    """A voice engine or model is not installed or cannot run here."""


class VoiceInputError(VoiceError):
    """The recording cannot be used: missing, silent, too long or not audio."""

