"""Speech recognition that knows what the tutor expects to hear at this turn.

Whisper tiny, decoding freely, turns a lone "next" into "Thanks." and "use a cnn" into "You
can see an end.". The tutor knows what makes sense now (the step's buttons, the commands, the
step names, the image numbers), so it asks Whisper itself how likely each of those phrases is
for this recording: the decoder is forced through each phrase's tokens (CTranslate2's
`Whisper.align`, which returns the probability of every forced token) and the phrases are
ranked by the summed log-probability of their tokens. Whisper's own transcripts are scored the
same way, so the two compare on one scale:

1. One encoder pass (a 10 s window for a short clip, 30 s otherwise) and Whisper's free beam
   search: its three best transcripts.
2. The expected phrases that could be what was said: about as many syllables as the free
   transcript, a plausible length for the speech, and the likeliest first two tokens (two
   decoding steps give every first and second token's probability at once).
3. Those phrases and the free transcripts scored plainly, on the speech's frames; the best
   phrase of each of the four best meanings rescored with the free transcripts after the
   shortlist as the text said before (the context this turn gives).
4. `decide`: free words far likelier than any command, plainly, and not far behind in
   context, are a question, passed on as heard; a command clearly ahead of every other
   meaning, in context, is acted on (`Heard.message`); close calls are asked about, "Did you
   say **next**?", with the two or three best as buttons (`Heard.candidates`), and nothing
   happens until the learner picks.

The decoder-level measuring (encoding, free decoding, forced scoring, likely openings, numbers
read in context) is `tutor.speech.scoring`; this module filters the phrases and decides. The
thresholds were tuned on the tuning part of benchmarks/voice_sets.py only; the held-out
part gives the figures in docs/voice.md. Nothing here imports Gradio or Keras.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tutor.speech import transcription
from tutor.speech.errors import VoiceInputError, VoiceUnavailable
from tutor.speech.prose import number_words
from tutor.speech.recording import SAMPLE_RATE, _check_sound, load_audio, trim_to_speech
from tutor.speech.scoring import (
    _Decoder,
    _decoder,
    _encode,
    _free_hypotheses,
    _likely_openings,
    _numbers_after,
    score_phrases,
)
from tutor.speech.transcription import BEAM_SIZE, VOCABULARY_PROMPT
from tutor.words import words_to_digits

log = logging.getLogger(__name__)

# Decision thresholds, in nats of summed token log-probability (tuned on the tuning half of
# benchmarks/voice_sets.py only, clean and noisy; the held-out half never moved them).
ACCEPT_GAP = 3.0  # an expected phrase at most this much less likely than the free transcript is taken
CLEAR_MARGIN = 3.0  # ...when it beats every phrase meaning something else by at least this much
QUESTION_GAP = 7.0  # Whisper's own words this much likelier than any command, plainly: a question
QUESTION_CONTEXT_GAP = 2.0  # ...unless a command is this much likelier in context
ASK_GAP = 4.0  # closer than this, but not clearly: ask the learner which one they meant
MAX_CANDIDATES = 3  # buttons in "Did you say ...?"
SHORT_WINDOW = 10.0  # seconds of encoder input for a clip that fits it with 2 s to spare
SHORTLIST = 4  # phrases (of different meanings) rescored in context
FRAME_MARGIN = 50  # encoder frames (20 ms each) kept after the speech when scoring phrases
NUMBER_SLOT = "{n}"
NUMBER_TEMPLATES = 2  # phrases with a number slot whose number is read so, at most
# epochs, batch sizes and layer widths a learner is likely to ask for, tried in a number slot
# when Whisper wrote no number at all
GUESSED_NUMBERS = ("1", "2", "3", "5", "10", "20", "32", "64", "128")
# Syllables a second a phrase may imply for the recording's speech. Below the floor, the phrase
# is too short to be all that was said ("Help." for a three-second question: the decoder scores
# a phrase without asking whether the speech ends there); above the ceiling, too long.
MIN_SYLLABLE_RATE = 0.7
MAX_SYLLABLE_RATE = 10.0
# ...and as a share of the syllables in Whisper's own transcript (see fits_the_words)
FEWEST_SYLLABLES = 0.75
MOST_SYLLABLES = 1.7


@dataclass(frozen=True)
class Expected:
    """A phrase that makes sense at this turn: how Whisper would write it when said, and the
    message the tutor acts on (a command or a button's message). `guessed`: its number was
    not heard but tried (`with_numbers`), so it is asked about, never acted on. `template`:
    the phrase with a number slot that a number filled."""

    said: str
    message: str
    guessed: bool = False
    template: Expected | None = None  # the phrase with a number slot that a number filled


@dataclass(frozen=True)
class Heard:
    """What was heard, and whether the tutor may act on it.

    `text`: the learner's own words as Whisper wrote them, freely. `message`: what to act on, or
    None when unsure; then `candidates` are the best two or three expected phrases, to ask
    about. `scores`: (phrase, log-probability) of the best few, best first, for the benchmark.
    """

    text: str
    message: str | None
    candidates: tuple[Expected, ...] = ()
    seconds: float = 0.0
    duration: float = 0.0
    scores: tuple[tuple[str, float], ...] = field(default=(), repr=False)

    @property
    def unsure(self) -> bool:
        return self.message is None


def with_numbers(expected: Iterable[Expected], texts: Iterable[str]) -> list[Expected]:
    """Expand phrases with a number slot ("Show validation image {n}.") with every number
    written in the free hypotheses; when none was heard as a number (free decoding turns "ten
    epochs" into "the antenna"), with the usual settings, `GUESSED_NUMBERS`."""
    numbers = list(dict.fromkeys(number for text in texts for number in numbers_in(text)))
    guessed = not numbers
    numbers = numbers or list(GUESSED_NUMBERS)
    expanded: list[Expected] = []
    for phrase in expected:
        if NUMBER_SLOT not in phrase.said:
            expanded.append(phrase)
            continue
        expanded.extend(filled(phrase, number, guessed) for number in numbers)
    return expanded


def filled(template: Expected, number: str, guessed: bool = False) -> Expected:
    """`template`'s number slot filled with `number`."""
    return Expected(template.said.replace(NUMBER_SLOT, number),
                    template.message.replace(NUMBER_SLOT, number), guessed, template)


def numbers_in(text: str) -> list[str]:
    """The numbers written in `text`, in digits or words ("six one seven four" as 6174, the way
    the command parser reads it), without thousands separators."""
    numbers: list[str] = []
    for number in re.findall(r"\d[\d,]*(?:\.\d+)?", words_to_digits(text)):
        number = number.rstrip(",").replace(",", "")
        if number not in numbers:
            numbers.append(number)
    return numbers


def syllables(text: str) -> int:
    """About how many syllables `text` has when said (numbers as words): vowel groups per word,
    and a syllable a letter for an acronym ("SGD", "CNN", "U-S-G-B") or a word's capitals
    ("RMSprop": R-M-S-prop)."""
    text = re.sub(r"\d+", lambda match: number_words(int(match.group())), text)
    count = 0
    for word in re.findall(r"[A-Za-z']+", text):
        if len(word) > 1 and (word.isupper() or not re.search(r"[aeiouyAEIOUY]", word)):
            count += len(word)  # spelled out
            continue
        spelled = re.match(r"[A-Z]{2,}(?=[a-z])", word)  # "RMSprop": R-M-S, then "prop"
        if spelled:
            count += len(spelled.group())
            word = word[spelled.end():]
        word = word.lower()
        groups = len(re.findall(r"[aeiouy]+", word))
        silent_e = word.endswith("e") and groups > 1 and not word.endswith(("le", "ee"))
        count += groups - silent_e if spelled else max(1, groups - silent_e)
    return count


def speech_span(samples: np.ndarray) -> float:
    """Seconds from the first to the last loud 20 ms frame (within 20 dB of the loudest)."""
    frame = SAMPLE_RATE // 50
    count = len(samples) // frame
    if count == 0:
        return len(samples) / SAMPLE_RATE
    loudness = np.sqrt(np.mean(np.square(samples[: count * frame].reshape(count, frame)), axis=1))
    loud = np.flatnonzero(loudness > 0.1 * float(loudness.max()))
    return (loud[-1] - loud[0] + 1) / 50 if loud.size else count / 50


def fits_the_speech(phrase: str, span: float) -> bool:
    """Whether saying `phrase` could take about `span` seconds (see MIN_SYLLABLE_RATE)."""
    rate = syllables(phrase) / max(span, 0.2)
    return MIN_SYLLABLE_RATE <= rate <= MAX_SYLLABLE_RATE


def fits_the_words(phrase: str, heard: str) -> bool:
    """Whether `phrase` has about as many syllables as Whisper's own transcript `heard`.

    Free decoding gets words wrong but rarely their number of syllables ("You see an end." for
    "use a CNN"), and a forced phrase is scored without asking whether the speech ends with it:
    "I don't know." fits the start of "what does from logits mean?" well. So a phrase far
    shorter or longer than what was heard is not a candidate.
    """
    count, heard_count = syllables(phrase), syllables(heard)
    return FEWEST_SYLLABLES * heard_count - 0.5 <= count <= MOST_SYLLABLES * heard_count + 2



def _with_numbers_read(decoder: _Decoder, encoded: np.ndarray, frames: int,
                       shortlist: Sequence[Expected]) -> tuple[list[Expected], list[Expected]]:
    """(the shortlist with the numbers read in context, the phrases that are new in it).

    For the NUMBER_TEMPLATES first phrases with a number slot in the shortlist, the numbers
    read after their words (`_numbers_after`) join it as heard; numbers only guessed there
    give way to them. Where nothing was read, the shortlist stays as it was.
    """
    templates = list(dict.fromkeys(phrase.template for phrase in shortlist if phrase.template))
    if not templates:
        return list(shortlist), []
    templates = templates[:NUMBER_TEMPLATES]
    openings = [template.said.split(NUMBER_SLOT)[0] for template in templates]
    read = dict(zip(templates, _numbers_after(decoder, encoded, frames, openings), strict=True))
    kept = [phrase for phrase in shortlist if not (phrase.guessed and read.get(phrase.template))]
    new = [filled(template, number) for template, numbers in read.items() for number in numbers]
    new = [phrase for phrase in new if all(phrase.said != other.said for other in kept)]
    return [*kept, *new], new


def _spelled_like(phrases: Sequence[Expected], texts: Sequence[str], size: int = 2) -> list[Expected]:
    """The `size` phrases written most like Whisper's own words: what the free decoding found,
    if it was a command, stays in the running even when the rough scores missed it."""
    def likeness(phrase: Expected) -> float:
        said = phrase.said.lower().rstrip(".?!")
        return max(difflib.SequenceMatcher(None, said, text.lower().rstrip(".?!")).ratio() for text in texts)

    ranked = sorted(phrases, key=likeness, reverse=True)
    return [phrase for phrase in ranked[:size] if likeness(phrase) >= 0.6]


def _shortlist(scored: Sequence[tuple[Expected, float]], size: int,
               meaning: Callable[[str], str | None]) -> list[Expected]:
    """The best phrase of each of the `size` best meanings. The numbers in one slot, and the
    same command with or without "the", count as one meaning here: their number is read
    afterwards (`_with_numbers_read`), and two wordings of one command are no rivals."""
    def key(phrase: Expected) -> str:
        message = filled(phrase.template, "1").message if phrase.template else phrase.message
        return meaning(message) or message.lower()

    chosen: list[Expected] = []
    keys: set[str] = set()
    for phrase, _ in sorted(scored, key=lambda item: -item[1]):
        if key(phrase) not in keys:
            keys.add(key(phrase))
            chosen.append(phrase)
        if len(chosen) == size:
            break
    return chosen


def decide(free: Sequence[tuple[str, float, float]], expected: Sequence[tuple[Expected, float, float]],
           meaning: Callable[[str], str | None]) -> tuple[str | None, tuple[Expected, ...]]:
    """(message to act on or None, candidates to ask about) from the scored phrases.

    `free`: Whisper's own transcripts, `expected`: the shortlisted phrases, each with two
    scores: plain (the speech alone) and in context (after the shortlist as previous text).
    `meaning(message)`: a key equal for messages that do the same thing (None for a message
    that is no command). A free transcript that is a command competes as one.

    The plain scores tell a question from a command: the context makes every command likelier,
    a question's words too unless they were said. The scores in context pick the command.
    """
    commands: list[tuple[Expected, float, float, str]] = []  # best phrase of each meaning, best first
    entries = [*((phrase, plain, context, True) for phrase, plain, context in expected),
               *((Expected(text, text), plain, context, False) for text, plain, context in free)]
    for phrase, plain, context, is_expected in sorted(entries, key=lambda item: -item[2]):
        # an expected phrase always means something (a class name, a check's letter), even
        # when it is no command; a free transcript only when it is one
        key = meaning(phrase.message) or (phrase.message.lower() if is_expected else None)
        if key is not None and all(key != seen for *_, seen in commands):
            commands.append((phrase, plain, context, key))
    questions = [(text, plain, context) for text, plain, context in free if meaning(text) is None]
    if not commands:
        return (questions[0][0] if questions else None), ()
    if questions:
        # the words passed on are Whisper's own first choice (fewer word errors on the tuning
        # set than the likeliest in context); the best score in context is what commands face
        question = questions[0][0]
        question_context = max(context for _, _, context in questions)
        best_plain = max(plain for _, plain, _, _ in commands)
        if (max(plain for _, plain, _ in questions) - best_plain >= QUESTION_GAP
                and question_context >= commands[0][2] - QUESTION_CONTEXT_GAP):
            return question, ()
    else:
        question, question_context = "", -math.inf
    best, _, best_context, _ = commands[0]
    runner_up = commands[1][2] if len(commands) > 1 else -math.inf
    clear = best_context - runner_up >= CLEAR_MARGIN and not best.guessed  # a guessed number: ask
    if best_context >= question_context - ACCEPT_GAP and clear:
        return best.message, ()
    if best_context >= question_context - ASK_GAP or not question:
        return None, tuple(phrase for phrase, *_ in commands[:MAX_CANDIDATES])
    return question, ()


def hear(audio: Any, expected: Sequence[Expected], meaning: Callable[[str], str | None], *,
         prompt: str | None = None, beam_size: int = BEAM_SIZE) -> Heard:
    """Transcribe `audio` in the light of what is `expected` now (see the module docstring).

    Raises `VoiceInputError` for a missing, silent, too long or unreadable recording (or one
    with no words in it) and `VoiceUnavailable` when the engine is not installed.
    """
    started = time.perf_counter()
    samples = load_audio(audio)
    duration = len(samples) / SAMPLE_RATE
    _check_sound(samples, duration)
    samples = trim_to_speech(samples)
    decoder = _decoder(transcription._whisper())
    seconds = len(samples) / SAMPLE_RATE
    prompt = VOCABULARY_PROMPT if prompt is None else prompt
    try:
        encoded = _encode(decoder, samples, SHORT_WINDOW if seconds <= SHORT_WINDOW - 2 else 30.0)
        texts, silent = _free_hypotheses(decoder, encoded, seconds, prompt, beam_size)
        if (silent or not texts) and encoded.shape[1] < 1500:  # the short window can mislead
            encoded = _encode(decoder, samples)  # Whisper: then the standard 30 s window decides
            texts, silent = _free_hypotheses(decoder, encoded, seconds, prompt, beam_size)
    except Exception as error:  # the engine itself failed: not the learner's recording
        log.exception("transcription failed")
        raise VoiceUnavailable("Speech input failed on my side; please type your question "
                                     "this time.") from error
    if silent or not texts:
        raise VoiceInputError("I couldn't make out any words in that recording. Please try "
                                    "again, or type your question.")
    span = speech_span(samples)
    phrases = [phrase for phrase in with_numbers(expected, texts)
               if fits_the_speech(phrase.said, span) and fits_the_words(phrase.said, texts[0])]
    if not phrases:  # nothing expected could be this long: the learner's own words
        return Heard(texts[0], texts[0], seconds=time.perf_counter() - started, duration=duration)
    speech_frames = min(encoded.shape[1], int(seconds * 50) + FRAME_MARGIN)
    try:
        # 1. every expected phrase, cheaply: the speech's frames only, no prompt, and only the
        #    phrases whose first token is among the likeliest first tokens
        likely = _likely_openings(decoder, encoded, speech_frames, phrases)
        spelled = _spelled_like(phrases, texts)  # what free decoding wrote, if it was a command
        likely += [phrase for phrase in spelled if phrase not in likely]
        rough = score_phrases(decoder, encoded, speech_frames, [*texts, *(phrase.said for phrase in likely)])
        plain = dict(zip([*texts, *(phrase.said for phrase in likely)], rough, strict=True))
        shortlist = _shortlist(list(zip(likely, rough[len(texts):], strict=True)), SHORTLIST, meaning)
        shortlist += [phrase for phrase in spelled if phrase not in shortlist]
        shortlist, new = _with_numbers_read(decoder, encoded, speech_frames, shortlist)
        if new:
            plain.update(zip((phrase.said for phrase in new),
                             score_phrases(decoder, encoded, speech_frames, [p.said for p in new]),
                             strict=True))
        # 2. the shortlist and Whisper's own words on one scale, with the shortlist as the text
        #    that came before (what this turn makes likely)
        context = ", ".join(phrase.said.rstrip(".") for phrase in shortlist) + "."
        scores = score_phrases(decoder, encoded, speech_frames,
                               [*texts, *(phrase.said for phrase in shortlist)], context)
    except Exception:  # scoring is a refinement: without it, the free transcript as before
        log.exception("scoring the expected phrases failed")
        return Heard(texts[0], texts[0], seconds=time.perf_counter() - started, duration=duration)
    free = [(text, plain[text], score) for text, score in zip(texts, scores, strict=False)]
    scored = [(phrase, plain[phrase.said], score)
              for phrase, score in zip(shortlist, scores[len(texts):], strict=True)]
    message, candidates = decide(free, scored, meaning)
    best = sorted([*((text, score) for text, _, score in free),
                   *((phrase.said, score) for phrase, _, score in scored)], key=lambda item: -item[1])
    return Heard(text=texts[0], message=message, candidates=candidates,
                 seconds=time.perf_counter() - started, duration=duration,
                 scores=tuple((text, round(score, 2)) for text, score in best[:6]))
