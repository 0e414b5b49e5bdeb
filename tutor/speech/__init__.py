"""Speech in (Whisper, heard in the light of the turn) and speech out (espeak-ng, piper)."""
