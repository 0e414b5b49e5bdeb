"""The offline voice: speech in through Whisper, speech out through espeak-ng (or piper).

Speech is made in the test with espeak-ng and sox, so nothing is downloaded. Tests that need an
engine are skipped, with the reason, where it is not installed; .ci/run installs them all.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import threading
import time
import wave

import numpy as np
import pytest

from benchmarks.voice import PHRASES, normalise_words, synthesize, tools_problem, word_error_rate
from tutor.engine.commands import clean_message, parse_command
from tutor.speech import errors, playback, prose, recording, synthesis, transcription, voice

LISTEN_PROBLEM = tools_problem() or transcription.transcription_problem()
needs_listening = pytest.mark.skipif(LISTEN_PROBLEM is not None, reason=str(LISTEN_PROBLEM))
needs_decoder = pytest.mark.skipif(transcription.transcription_problem() is not None,
                                   reason=str(transcription.transcription_problem()))
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
needs_espeak = pytest.mark.skipif(synthesis.EspeakEngine.binary() is None,
                                  reason="espeak-ng is not installed")

# How fast transcription is depends on the CPU and the load, so no test times it:
# benchmarks/voice.py and benchmarks/spoken_commands.py measure and print it.


# ----- what is read aloud (no engine needed) ------------------------------------------------

@pytest.mark.parametrize(
    ("markdown", "spoken"),
    [
        ("7,850 parameters", "seven thousand eight hundred fifty parameters."),
        ("It reached 84.3% accuracy.", "It reached eighty-four point three percent accuracy."),
        ("a learning rate of 0.001", "a learning rate of zero point zero zero one."),
        ("images are 28x28 pixels", "images are twenty-eight by twenty-eight pixels."),
        ("images are 28 × 28 pixels", "images are twenty-eight by twenty-eight pixels."),
        ("the 1st and 22nd epoch", "the first and twenty-second epoch."),
        ("loss went to -0.5", "loss went to minus zero point five."),
        ("**Dense** has [weights](https://keras.io) and *biases*", "Dense has weights and biases."),
        ("## Training\n\nIt learns.", "Training. It learns."),
        ("Use `from_logits=True` here.", "Use from logits equals True here."),
        ("$$784 \\times 10 + 10 = 7850$$",
         "seven hundred eighty-four times ten plus ten equals seven thousand eight hundred fifty."),
        ("$x_0$ is the first pixel", "ex zero is the first pixel."),
        ("$$\\int_0^1 f(t)\\,dt$$", "the formula."),
        ("- one item\n- another item", "one item. another item."),
        ("Took 12.5 s for 60000 images", "Took twelve point five seconds for sixty thousand images."),
    ],
)
def test_speakable_reads_prose_and_numbers(markdown, spoken):
    assert prose.speakable(markdown) == spoken


def test_speakable_drops_code_tables_images_and_html():
    markdown = (
        "Here is the model.\n\n```python\nmodel = keras.Sequential()\nmodel.fit(x, y)\n```\n\n"
        "| layer | params |\n|---|---|\n| Dense | 7,850 |\n\n"
        "![accuracy curve](curve.png)\n\n<details>Done</details> See https://example.org now."
    )
    spoken = prose.speakable(markdown)
    assert spoken == "Here is the model. Done See now."
    for dropped in ("keras", "Sequential", "params", "curve", "http", "|", "<"):
        assert dropped not in spoken


def test_speakable_stops_at_a_sentence_end_within_the_limit():
    markdown = " ".join(f"Sentence number {n} is here." for n in range(1, 60))
    spoken = prose.speakable(markdown, max_chars=200)
    assert len(spoken) <= 200
    assert spoken.endswith("here.")
    one_long_sentence = "word " * 300
    cut = prose.speakable(one_long_sentence, max_chars=100)
    assert len(cut) <= 101 and cut.endswith("word.")


def test_number_words():
    assert prose.number_words(7850) == "seven thousand eight hundred fifty"
    assert prose.number_words(100_480) == "one hundred thousand four hundred eighty"
    assert prose.number_words(60_000) == "sixty thousand"
    assert prose.number_words(0) == "zero"
    assert prose.number_words(-12) == "minus twelve"


@pytest.mark.parametrize(
    ("heard", "tidy"),
    [
        (" Show validation, image 6, 1, 7, 4.", "Show validation image 6174."),
        ("predict image 6-1-7-4", "predict image 6174"),
        ("predict image, 86, 75", "predict image 8675"),
        ("show training image 40 2", "show training image 42"),
        ("add a layer of 100, 28 neurons", "add a layer of 128 neurons"),
        ("it has 7,850 parameters", "it has 7,850 parameters"),
        ("a rate of 0.001", "a rate of 0.001"),
    ],
)
def test_tidy_transcript_joins_spoken_numbers(heard, tidy):
    assert transcription.tidy_transcript(heard) == tidy


def test_word_error_rate_normalises_numbers_and_punctuation():
    assert normalise_words("Train for three more epochs.") == ["train", "for", "3", "more", "epochs"]
    assert word_error_rate([("show validation image six one seven four", "Show validation image 6174.")]) == 0
    assert word_error_rate([("what is a logit", "what is that")]) == pytest.approx(0.5)


# ----- inputs refused before anything is transcribed --------------------------------------

@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (None, "didn't get any audio"),
        (b"", "didn't get any audio"),
        ((48_000, np.zeros(0, dtype=np.int16)), "didn't get any audio"),
        ((48_000, None), "didn't get any audio"),
        ((16_000, np.zeros(2 * 16_000, dtype=np.int16)), "couldn't hear anything"),
        ((44_100, np.zeros((2 * 44_100, 2), dtype=np.float32)), "couldn't hear anything"),
        ((16_000, np.ones(16_000 * 600, dtype=np.int16)), "under a minute"),
        ("/no/such/recording.wav", "couldn't find"),
        (12345, "couldn't read"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(audio, message):
    started = time.perf_counter()
    with pytest.raises(errors.VoiceInputError, match=message):
        transcription.transcribe(audio)
    seconds = time.perf_counter() - started  # refused before any model is loaded or run
    assert seconds < 2.0, f"took {seconds:.2f} s"


@needs_decoder
def test_text_file_renamed_wav_is_refused(tmp_path):
    fake = tmp_path / "question.wav"
    fake.write_text("this is not audio, just text with a .wav name\n" * 20)
    with pytest.raises(errors.VoiceInputError, match="isn't audio"):
        transcription.transcribe(fake)
    with pytest.raises(errors.VoiceInputError, match="isn't audio"):
        transcription.transcribe(fake.read_bytes())


@needs_decoder
def test_ten_minute_recording_is_refused_without_transcribing(tmp_path):
    long_file = tmp_path / "lecture.wav"  # ten minutes of a 440 Hz tone
    tone = np.sin(np.arange(600 * 8000) * 2 * np.pi * 440 / 8000) * 8000
    with wave.open(str(long_file), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(tone.astype("<i2").tobytes())
    for audio in (long_file, long_file.read_bytes()):
        started = time.perf_counter()
        with pytest.raises(errors.VoiceInputError, match="600 seconds long; please keep questions under"):
            transcription.transcribe(audio)
        seconds = time.perf_counter() - started  # about 0.01 s; transcribing it would take minutes
        assert seconds < 2.0, f"took {seconds:.2f} s"


@needs_decoder
@needs_sox
def test_long_recording_without_length_in_its_header_is_refused(tmp_path):
    piped = tmp_path / "piped.au"  # written to a pipe, so its header gives no length
    sound = subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "au", "-", "synth", "70", "sine",
                            "440"], check=True, capture_output=True)
    piped.write_bytes(sound.stdout)
    with pytest.raises(errors.VoiceInputError, match="under a minute"):
        transcription.transcribe(piped)


@needs_decoder
@needs_sox
def test_two_seconds_of_silence_in_a_file(tmp_path):
    silence = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silence), "trim", "0", "2"],
                   check=True, capture_output=True)
    with pytest.raises(errors.VoiceInputError, match="couldn't hear anything"):
        transcription.transcribe(silence)


def test_the_silence_before_stop_does_not_change_what_whisper_gets():
    rate = recording.SAMPLE_RATE
    rng = np.random.default_rng(7)
    word = (0.3 * np.sin(np.arange(int(0.4 * rate)) * 0.05)).astype(np.float32)
    hiss = lambda seconds: rng.normal(0, 0.001, int(seconds * rate)).astype(np.float32)  # noqa: E731
    short = np.concatenate([hiss(0.5), word, hiss(1.2)])
    long = np.concatenate([hiss(0.5), word, hiss(2.2)])
    assert len(recording.trim_to_speech(short)) == len(recording.trim_to_speech(long))
    margin = int(recording.SPEECH_MARGIN * rate)
    trimmed = recording.trim_to_speech(long)
    assert len(trimmed) == pytest.approx(int(0.5 * rate) + len(word) + margin, abs=rate // 50)
    assert np.abs(trimmed[-margin + rate // 50:]).max() < 0.01  # only silence after the word
    late = np.concatenate([hiss(3.0), word, hiss(0.2)])  # a long wait before speaking
    assert len(recording.trim_to_speech(late)) == pytest.approx(margin + len(word) + int(0.2 * rate),
                                                            abs=rate // 50)
    quiet = hiss(1.0)  # nothing louder than the hiss: left as it is
    assert len(recording.trim_to_speech(quiet)) == len(quiet)


def test_missing_model_folder_is_reported(monkeypatch):
    monkeypatch.setenv(transcription.MODEL_VARIABLE, "/no/such/whisper-model")
    assert "not a folder" in transcription.transcription_problem()
    assert "Voice" in voice.voice_status()
    with pytest.raises(errors.VoiceUnavailable, match="not a folder"):
        transcription.transcribe((16_000, np.full(16_000, 0.3, dtype=np.float32)))


# ----- speech in ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def heard(tmp_path_factory):
    """Every phrase spoken by espeak-ng and transcribed once: (phrase, transcript, CPU seconds)."""
    folder = tmp_path_factory.mktemp("voice")
    files = [synthesize(phrase.text, folder / f"phrase-{n:02d}.wav") for n, phrase in enumerate(PHRASES)]
    transcription.transcribe(files[0])  # loads the model: not timed
    results = []
    for phrase, path in zip(PHRASES, files, strict=True):
        cpu = time.process_time()
        try:
            transcript = transcription.transcribe(path)
        except errors.VoiceInputError:
            transcript = transcription.Transcript(text="", seconds=float("nan"))
        results.append((phrase, transcript, time.process_time() - cpu))
    return results


@needs_listening
def test_word_error_rate_on_tutor_phrases(heard):
    assert len(heard) >= 20
    pairs = [(phrase.text, transcript.text) for phrase, transcript, _ in heard]
    rate = word_error_rate(pairs)
    misheard = [pair for pair in pairs if word_error_rate([pair]) > 0]
    assert rate <= 0.10, f"WER {rate:.1%}: {misheard}"


@needs_listening
def test_every_spoken_command_parses_to_its_action(heard):
    wrong = []
    for phrase, transcript, _ in heard:
        if phrase.intent is None:
            continue
        intent = parse_command(clean_message(transcript.text))
        if intent is None or intent.name != phrase.intent or any(
            intent.values.get(key) != value for key, value in phrase.values.items()
        ):
            wrong.append((phrase.text, transcript.text, intent))
    assert not wrong


@needs_listening
def test_spoken_commands_drive_the_real_agent(heard, tutor_instance, session):
    said = {phrase.text: transcript.text for phrase, transcript, _ in heard}
    tutor_instance.start(session)
    assert session.state_id == "intro"
    assert tutor_instance.respond(session, said["next"]).state == "data"
    assert tutor_instance.respond(session, said["go back"]).state == "intro"
    reply = tutor_instance.respond(session, said["show validation image six one seven four"])
    assert reply.kind == "tool"
    assert reply.figures and "6174" in reply.figures[0].alt
    intent = parse_command(clean_message(said["train for three more epochs"]))
    assert intent is not None and intent.name == "train" and intent.values["number"] == "3"


@needs_listening
def test_every_input_form_gives_the_same_text(heard, tmp_path):
    path = synthesize("show validation image six one seven four", tmp_path / "command.wav")
    with wave.open(str(path)) as recording:
        samples = np.frombuffer(recording.readframes(recording.getnframes()), dtype=np.int16)
    from scipy.signal import resample_poly

    at_48k = resample_poly(samples.astype(np.float32) / 32768, 3, 1).astype(np.float32)
    forms = {  # a path was heard in the `heard` fixture
        "bytes": path.read_bytes(),
        "int16 stereo": (16_000, np.stack([samples, samples], axis=1)),
        "float32 48 kHz stereo": (48_000, np.stack([at_48k, at_48k], axis=1)),
    }
    texts = {name: clean_message(transcription.transcribe(audio).text) for name, audio in forms.items()}
    texts["path"] = clean_message(transcription.transcribe(path).text)
    assert len(set(texts.values())) == 1, texts  # the same recording, whatever its form


@needs_listening
def test_model_loads_once_across_threads(heard):
    models = []
    threads = [threading.Thread(target=lambda: models.append(transcription._whisper())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 4 and all(model is models[0] for model in models)


# ----- speech out --------------------------------------------------------------------------

@needs_espeak
def test_speak_with_espeak_returns_audio_quickly():
    speech = synthesis.speak("## Result\n\nTraining finished at **84.3%** validation accuracy.\n\n"
                         "```python\nmodel.fit()\n```", engine="espeak-ng")
    assert speech.engine == "espeak-ng"
    assert speech.text == "Result. Training finished at eighty-four point three percent validation accuracy."
    rate, samples = speech.audio
    assert rate > 8000 and samples.dtype == np.int16 and samples.ndim == 1
    assert speech.duration > 1.0 and np.abs(samples).max() > 1000
    assert speech.seconds_to_first_audio <= 0.5


@needs_espeak
def test_spoken_reply_can_be_heard_back(tmp_path):
    if LISTEN_PROBLEM:
        pytest.skip(LISTEN_PROBLEM)
    speech = synthesis.speak("Your model has 7,850 parameters.", engine="espeak-ng")
    path = speech.write_wav(tmp_path / "reply.wav")
    words = normalise_words(transcription.transcribe(path).text)
    assert "parameters" in words and "7850" in words


def test_missing_espeak_binary_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(synthesis.ESPEAK_VARIABLE, "/no/such/bin/espeak-ng")
    assert "espeak-ng" not in synthesis.available_engines()
    with pytest.raises(errors.VoiceUnavailable, match="espeak-ng is not installed at /no/such/bin/espeak-ng"):
        synthesis.speak("Hello.", engine="espeak-ng")


def test_no_engine_at_all(monkeypatch):
    monkeypatch.setenv(synthesis.ESPEAK_VARIABLE, "/no/such/bin/espeak-ng")
    monkeypatch.setattr(synthesis, "ENGINES", {"espeak-ng": synthesis.EspeakEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    assert synthesis.available_engines() == [] and not synthesis.can_speak()
    with pytest.raises(errors.VoiceUnavailable, match="read aloud: espeak-ng is not installed"):
        synthesis.speak("Hello.")
    assert "espeak-ng is not installed" in voice.voice_status()


class BrokenEngine:
    name = "broken"
    label = "broken"

    def problem(self):
        return None

    def prepare(self):
        return None

    def chunks(self, text):
        raise RuntimeError("the voice model crashed")


class ToneEngine:
    name = "tone"
    label = "tone"

    def problem(self):
        return None

    def prepare(self):
        return None

    def chunks(self, text):
        for _ in text.split("."):
            yield 8000, (np.sin(np.arange(800) / 3) * 10_000).astype(np.int16)


def test_a_failing_engine_falls_back_to_the_next(monkeypatch):
    monkeypatch.setattr(synthesis, "ENGINES", {"broken": BrokenEngine, "tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    assert synthesis.available_engines() == ["broken", "tone"]
    speech = synthesis.speak("One. Two.")
    assert speech.engine == "tone" and speech.duration > 0
    assert [rate for rate, _ in synthesis.speak_stream("One. Two.")] == [8000, 8000, 8000]
    with pytest.raises(errors.VoiceUnavailable, match="crashed"):
        synthesis.speak("One.", engine="broken")
    with pytest.raises(errors.VoiceInputError, match="nothing to read"):
        synthesis.speak("```python\nprint(1)\n```")


def test_preferred_engine_setting(monkeypatch):
    monkeypatch.setattr(synthesis, "ENGINES", {"broken": BrokenEngine, "tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    monkeypatch.setenv(synthesis.TTS_VARIABLE, "tone")
    assert synthesis.available_engines() == ["tone", "broken"]


@pytest.mark.skipif(synthesis.PiperEngine().problem() is not None,
                    reason=str(synthesis.PiperEngine().problem()))
def test_piper_speaks_when_installed():
    speech = synthesis.speak("The model learned. It is ninety percent right.", engine="piper")
    assert speech.engine.startswith("piper") and speech.duration > 1.0


# ----- streamed speech: the opening plays while the rest is made ----------------------------

STREAMED_REPLY = ("## Training finished\n\nYour model reached **84.3%** validation accuracy after "
                  "five epochs, which is good for a first try: most of its mistakes are shirts.\n\n"
                  "```python\nmodel.fit(x, y)\n```\n\nNext, we add a hidden layer. "
                  "Then we train the model again.")


@pytest.mark.parametrize(("text", "first", "rest"), [
    ("One neuron gives back one number. Then ten.", "One neuron gives back one number.", "Then ten."),
    ("In about ten minutes you went through the whole life of a neural network, from raw pixels "
     "to a trained model. Well done.",
     "In about ten minutes you went through the whole life of a neural network,",
     "from raw pixels to a trained model. Well done."),
    ("Flatten has a blind spot: it lays the seven hundred eighty-four pixels out in one long row "
     "and forgets which were neighbours.", "Flatten has a blind spot:",
     "it lays the seven hundred eighty-four pixels out in one long row and forgets which were "
     "neighbours."),
    ("A" + " very" * 30 + " long sentence with nowhere to cut.", "A" + " very" * 30 +
     " long sentence with nowhere to cut.", ""),
    ("No full stop", "No full stop", ""),
])
def test_the_opening_is_the_first_sentence_or_its_first_clause(text, first, rest):
    assert synthesis._first_piece(text) == (first, rest)
    assert " ".join(synthesis._pieces(text)) == text


def _spy_on(name, monkeypatch):
    """The texts the engine `name` is asked to synthesise, as it is asked."""
    asked = []
    if name == "espeak-ng":
        run = synthesis.subprocess.run

        def spied_run(command, **kwargs):
            asked.append(kwargs["input"].decode())
            return run(command, **kwargs)

        monkeypatch.setattr(synthesis.subprocess, "run", spied_run)
    else:
        engine = synthesis._engine(name)
        engine.prepare()
        synthesize = engine._voice.synthesize

        def spied_synthesize(text, *args, **kwargs):
            asked.append(text)
            yield from synthesize(text, *args, **kwargs)

        monkeypatch.setattr(engine._voice, "synthesize", spied_synthesize)
    return asked


@pytest.mark.parametrize("name", ["espeak-ng", "piper"])
def test_the_stream_gives_the_opening_before_the_rest_is_made(name, monkeypatch):
    if synthesis._engine(name).problem():
        pytest.skip(synthesis._engine(name).problem())
    spoken = prose.speakable(STREAMED_REPLY)
    asked = _spy_on(name, monkeypatch)
    stream = synthesis.speak_stream(STREAMED_REPLY, engine=name)
    rate, first = next(stream)
    assert asked == ["Training finished."]  # nothing after the opening sentence is made yet
    assert 0.3 < len(first) / rate < 3.0
    rest = list(stream)
    assert rest and all(chunk_rate == rate for chunk_rate, _ in rest)
    assert " ".join(asked) == spoken  # then every sentence, once, in order: the same prose
    assert "eighty-four point three percent" in spoken and "model.fit" not in spoken
    streamed = np.concatenate([first, *(samples for _, samples in rest)])
    whole = synthesis.speak(STREAMED_REPLY, engine=name)
    assert whole.text == spoken and whole.sample_rate == rate
    if name == "espeak-ng":  # deterministic: the very same audio as the whole-reply path
        assert np.array_equal(streamed, whole.samples)
    else:  # piper varies its timing a little from run to run
        assert abs(len(streamed) - len(whole.samples)) < 0.2 * len(whole.samples)


@pytest.mark.skipif(transcription.transcription_problem() is not None,
                    reason=str(transcription.transcription_problem()))
def test_the_streamed_pieces_joined_say_every_sentence():
    """Streaming loses nothing: the pieces joined are heard as well as the reply made whole.

    Compared with the whole reply's audio rather than with the text, since how well Whisper
    tiny hears a number like "84.3%" in synthetic speech differs between CPUs; both recordings
    say the same words, so a dropped or cut piece shows as extra errors in the streamed one.
    """
    engine = synthesis.available_engines()[0]
    pieces = list(synthesis.speak_stream(STREAMED_REPLY, engine=engine))
    rate = pieces[0][0]
    streamed = transcription.transcribe((rate, np.concatenate([samples for _, samples in pieces])), prompt="")
    whole_speech = synthesis.speak(STREAMED_REPLY, engine=engine)
    whole = transcription.transcribe(whole_speech.audio, prompt="")
    spoken = prose.speakable(STREAMED_REPLY)
    assert len(pieces) >= 2
    streamed_rate, whole_rate = (word_error_rate([(spoken, heard.text)]) for heard in (streamed, whole))
    assert streamed_rate <= whole_rate + 0.15, (engine, streamed.text, whole.text)
    assert streamed_rate <= 0.5, (engine, streamed.text)  # speech, not noise
    joined_seconds = sum(len(samples) for _, samples in pieces) / rate
    assert joined_seconds >= 0.9 * whole_speech.duration, (joined_seconds, whole_speech.duration)


def test_the_page_streams_each_piece_then_the_whole_reply(monkeypatch, tutor_instance):
    import base64
    import io
    import json

    import gradio as gr

    monkeypatch.setattr(synthesis, "ENGINES", {"tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    block = _voice_block(monkeypatch, tutor_instance)
    assert block.voice_stream.visible and "watch('value'" in block.voice_stream.js_on_load
    learner = tutor_instance.new_session()
    learner.transcript.append({"role": "tutor", "text": "One. Two. Three."})
    skip = type(gr.skip())

    updates = list(block._speak_last(learner, True))
    assert len(updates) == 5  # the tone engine's 4 pieces, one at a time, then the whole reply
    streamed = [update[0] for update in updates[:-1]]
    for before, after in itertools.pairwise(streamed):
        assert after.startswith(before + "\n")  # one line more: Gradio sends only the new line
    clips = [json.loads(line) for line in streamed[-1].split("\n")]
    assert [clip["index"] for clip in clips] == [0, 1, 2, 3]
    assert len({clip["turn"] for clip in clips}) == 1
    header, data = clips[0]["audio"].split(",", 1)
    assert header == "data:audio/wav;base64"
    with wave.open(io.BytesIO(base64.b64decode(data))) as clip:
        assert clip.getframerate() == 8000 and clip.getnframes() == 800
    rate, whole = updates[-1][1]
    assert rate == 8000 and len(whole) == 3200 and isinstance(updates[-1][0], skip)
    assert all(isinstance(update[1], skip) for update in updates[:-1])

    again = list(block._speak_last(learner, True))  # another turn: another turn id
    assert json.loads(again[0][0])["turn"] != clips[0]["turn"]
    assert all(isinstance(part, skip) for update in block._speak_last(learner, False) for part in update)


def test_the_page_says_why_a_reply_has_nothing_to_read(monkeypatch, tutor_instance):
    monkeypatch.setattr(synthesis, "ENGINES", {"tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    block = _voice_block(monkeypatch, tutor_instance)
    learner = tutor_instance.new_session()
    learner.transcript.append({"role": "tutor", "text": "```python\nprint(1)\n```"})
    updates = list(block._speak_last(learner, True))
    assert len(updates) == 1 and updates[0][2].startswith("Voice: There is nothing to read aloud")


def test_play_uses_the_first_player_that_works(monkeypatch):
    speech = synthesis.Speech(8000, np.zeros(800, dtype=np.int16), "test", "", 0.0, 0.0)
    monkeypatch.setattr(playback, "PLAYERS", [["no-such-player-here"]])
    assert playback.play(speech) is False
    fails, plays = [sys.executable, "-c", "raise SystemExit(1)"], [sys.executable, "-c", "pass"]
    monkeypatch.setattr(playback, "PLAYERS", [fails, plays])
    assert playback.play(speech) is True


def test_voice_status_is_one_line():
    status = voice.voice_status()
    assert status.startswith(("Voice:", "Voice unavailable:")) and "\n" not in status
    if transcription.can_transcribe() and synthesis.can_speak():
        assert status.startswith("Voice: Whisper")


# ----- the page and the tutor when an engine is missing -------------------------------------

def _voice_block(monkeypatch, tutor_instance, listen=None, speak=None):
    """The tutor's page built as if speech in (`listen`) or out (`speak`) had that problem."""
    import gradio as gr

    from tutor.web.page import TutorBlock

    monkeypatch.setattr(transcription, "transcription_problem", lambda: listen)
    monkeypatch.setattr(synthesis, "speech_problem", lambda: speak)
    if speak:
        monkeypatch.setattr(synthesis, "ENGINES", {})
        monkeypatch.setattr(synthesis, "_engines", {})
    monkeypatch.setattr(tutor_instance, "warm_up", lambda *args, **kwargs: None)  # no TensorFlow here
    with gr.Blocks():
        return TutorBlock(tutor_instance)


def test_page_hides_the_microphone_and_says_why_without_speech_input(monkeypatch, tutor_instance):
    problem = "Speech input is off: faster-whisper is not installed (pip install faster-whisper)."
    block = _voice_block(monkeypatch, tutor_instance, listen=problem)
    assert block.microphone.visible is False
    note = block.voice_note.value
    assert "Speech input is unavailable (faster-whisper is not installed" in note
    assert "type your questions instead" in note
    assert block.read_aloud.interactive is not False and block.voice_out.visible is not False


def test_page_disables_read_aloud_and_says_why_without_a_speech_engine(monkeypatch, tutor_instance):
    problem = "Replies can't be read aloud: espeak-ng is not installed (Debian: apt-get install espeak-ng)."
    block = _voice_block(monkeypatch, tutor_instance, speak=problem)
    assert block.read_aloud.interactive is False and block.read_aloud.value is False
    assert block.read_aloud.info == ("Unavailable: espeak-ng is not installed "
                                     "(Debian: apt-get install espeak-ng).")
    assert block.voice_out.visible is False
    assert "Replies can't be read aloud (espeak-ng is not installed" in block.voice_note.value
    assert block.microphone.visible is not False
    # a choice saved in the browser earlier is not restored when nothing can read aloud
    assert block._restore_read_aloud(True) is False


def test_page_with_no_voice_at_all(monkeypatch, tutor_instance):
    block = _voice_block(monkeypatch, tutor_instance, listen="Speech input is off: no model.",
                         speak="Replies can't be read aloud: no engine.")
    assert "Voice unavailable." in block.voice_note.value
    assert block.microphone.visible is False and block.read_aloud.interactive is False


def test_read_aloud_choice_is_restored_for_the_learner(monkeypatch, tutor_instance):
    import gradio as gr

    monkeypatch.setattr(synthesis, "ENGINES", {"tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    block = _voice_block(monkeypatch, tutor_instance)
    assert block.read_aloud.value is False  # off on a first visit
    assert block.read_aloud_saved.storage_key == "brain-tutor-read-aloud"
    assert block._restore_read_aloud(True) is True
    assert isinstance(block._restore_read_aloud(None), type(gr.skip()))


def test_speech_and_player_problems(monkeypatch):
    monkeypatch.setattr(synthesis, "ENGINES", {"broken": BrokenEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    assert synthesis.speech_problem() is None
    monkeypatch.setenv(synthesis.ESPEAK_VARIABLE, "/no/such/bin/espeak-ng")
    monkeypatch.setattr(synthesis, "ENGINES", {"espeak-ng": synthesis.EspeakEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    assert synthesis.speech_problem().startswith("Replies can't be read aloud: espeak-ng is not installed")
    monkeypatch.setattr(playback, "PLAYERS", [["no-such-player-here"]])
    assert "no audio player is installed" in playback.player_problem()


def test_reply_player_plays_in_the_background_and_reports_failure(monkeypatch):
    monkeypatch.setattr(synthesis, "ENGINES", {"tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    played = []
    monkeypatch.setattr(playback, "PLAYERS", [[sys.executable, "-c", "pass"]])
    monkeypatch.setattr(playback, "play", lambda speech: played.append(speech.text) or True)
    player = playback.ReplyPlayer()
    assert player.problem is None
    player.say("**One.** Two.")
    player.wait(timeout=10)
    assert played == ["One. Two."]
    problems = []
    monkeypatch.setattr(playback, "play", lambda speech: False)
    player.on_problem = problems.append
    player.say("Three.")
    player.wait(timeout=10)
    assert player.problem and "no audio player could play" in player.problem and problems
    player.say("Four.")  # not tried again
    player.wait(timeout=10)
    assert played == ["One. Two."]


def test_reply_player_says_why_without_a_player(monkeypatch):
    monkeypatch.setattr(synthesis, "ENGINES", {"tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    monkeypatch.setattr(playback, "PLAYERS", [["no-such-player-here"]])
    player = playback.ReplyPlayer()
    assert player.problem and "no audio player is installed" in player.problem
    player.say("Hello.")  # does nothing, raises nothing
    assert player._thread is None


def test_tutor_warm_up_loads_the_voice_in_its_own_thread(monkeypatch):
    from types import SimpleNamespace

    import tutor.api as tutor_module

    loaded = threading.Event()
    monkeypatch.setattr(voice, "warm_up", loaded.set)
    monkeypatch.setattr(transcription, "can_transcribe", lambda: True)
    monkeypatch.setattr(tutor_module.lesson, "warm_up", lambda: None)
    tutor = tutor_module.Tutor()
    tutor.answerer = SimpleNamespace(knowledge=None)
    started = time.perf_counter()
    tutor.warm_up()
    assert time.perf_counter() - started < 0.5  # app start does not wait for the voice
    assert loaded.wait(10)
    loaded.clear()
    tutor.warm_up()  # once per tutor
    assert not loaded.wait(0.3)


def test_terminal_chat_reads_replies_aloud(tutor_instance, tmp_path):
    import io

    from tutor.__main__ import chat

    said, out = [], io.StringIO()
    chat(tutor_instance, tmp_path, stream_in=io.StringIO("next\nquit\n"), out=out, speak=said.append)
    assert len(said) >= 2 and "Why build a brain?" in said[0] and any("Meet the data" in t for t in said)


def test_terminal_voice_flag_says_why_it_is_silent(monkeypatch, capsys):
    from tutor.__main__ import _reply_player

    monkeypatch.setattr(synthesis, "ENGINES", {"tone": ToneEngine})
    monkeypatch.setattr(synthesis, "_engines", {})
    monkeypatch.setattr(playback, "PLAYERS", [["no-such-player-here"]])
    assert _reply_player() is None
    assert "no audio player is installed" in capsys.readouterr().out
    monkeypatch.setattr(playback, "PLAYERS", [[sys.executable, "-c", "pass"]])
    assert _reply_player() is not None
    assert "replies are read aloud" in capsys.readouterr().out


# ----- the short encoder window ------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "repeats"),
    [("go back go back", True), ("Stop training. Stop training.", True), ("next next", True),
     ("show validation image 6174", False), ("what is a logit?", False), ("", False)],
)
def test_a_repeated_phrase_is_caught(text, repeats):
    assert transcription._repeats_itself(text) is repeats


def test_window_setting(monkeypatch):
    monkeypatch.delenv(transcription.WINDOW_VARIABLE, raising=False)
    assert transcription._window_seconds(3.0) == 0.0  # the standard 30 s window unless asked
    monkeypatch.setenv(transcription.WINDOW_VARIABLE, "15")
    assert transcription._window_seconds(3.0) == transcription.MIN_WINDOW == 15
    assert transcription._window_seconds(12.0) == 22.0
    assert transcription._window_seconds(25.0) == 0.0  # long enough for the standard 30 s window
    monkeypatch.setenv(transcription.WINDOW_VARIABLE, "0")
    assert transcription._window_seconds(3.0) == 0.0
    monkeypatch.setenv(transcription.WINDOW_VARIABLE, "20")
    assert transcription._window_seconds(3.0) == 20.0
    monkeypatch.setenv(transcription.WINDOW_VARIABLE, "soon")
    assert transcription._window_seconds(3.0) == 15.0


@needs_listening
def test_short_window_and_its_fallback_hear_the_same(heard, tmp_path, monkeypatch):
    path = synthesize("show training image forty two", tmp_path / "command.wav")
    short = transcription.transcribe(path, window=15)
    standard = transcription.transcribe(path)
    assert short.window == 15.0 and standard.window == 30.0
    assert clean_message(short.text) == clean_message(standard.text) == "show training image 42"
    monkeypatch.setattr(transcription, "_transcribe_window", lambda *args: None)  # untrusted: fall back
    fallback = transcription.transcribe(path, window=15)
    assert fallback.window == 30.0 and clean_message(fallback.text) == "show training image 42"
