"""Whisper's decoder asked directly: how likely each phrase is for a recording, and what it would write.

The measuring instrument of `tutor.speech.recognition`, which decides what to do with the
scores. For one loaded Whisper model (faster-whisper's CTranslate2 `Whisper`):
- `_encode`: the encoder's output for a clip, in a window of any length;
- `_free_hypotheses`: Whisper's own best transcripts, decoding freely;
- `score_phrases`: log P(phrase | audio), the decoder forced through each phrase's tokens
  (`Whisper.align`, which returns the probability of every forced token);
- `_likely_openings`: the phrases whose first tokens are likeliest, for a few decoding calls;
- `_numbers_after`: the numbers Whisper writes after a command's words, in their context.
Nothing here imports Gradio or Keras.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from tutor.speech.transcription import _repeats_itself, tidy_transcript
from tutor.words import words_to_digits

FIRST_TOKENS = 8  # likeliest openings whose next tokens are looked at (see _likely_openings)
OPENING_TOKENS = 3  # tokens of each phrase's opening scored so
LIKELY_PHRASES = 16  # phrases with the likeliest two opening tokens, scored in full
SCORE_BATCH = 8  # phrases per decoder call (the frames are copied for each; 8 ran faster than 24)
NUMBER_BEAM = 3  # continuations read for a number slot (see _numbers_after)


class Phrase(Protocol):
    """What `_likely_openings` reads of a phrase (a `tutor.speech.recognition.Expected`): its
    text as said, and the phrase with a number slot it was filled from, if any."""

    @property
    def said(self) -> str: ...

    @property
    def template(self) -> Any: ...


PhraseT = TypeVar("PhraseT", bound=Phrase)


class _Decoder:
    """Whisper's parts this module drives directly, built once per loaded model."""

    def __init__(self, model: Any) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model = model
        self.tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                                   task="transcribe", language="en")
        self.suppressed = get_suppressed_tokens(self.tokenizer, [-1])
        self.start = [*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        self.tokens: dict[str, list[int]] = {}

    def encode_text(self, text: str) -> list[int]:
        tokens = self.tokens.get(text)
        if tokens is None:
            tokens = self.tokenizer.encode(" " + text.strip())
            if len(self.tokens) < 5000:
                self.tokens[text] = tokens
        return tokens


_decoders: dict[int, _Decoder] = {}
_decoders_lock = threading.Lock()


def _decoder(model: Any) -> _Decoder:
    with _decoders_lock:
        decoder = _decoders.get(id(model))
        if decoder is None or decoder.model is not model:
            _decoders.clear()
            decoder = _decoders[id(model)] = _Decoder(model)
        return decoder


def _storage(array: np.ndarray) -> Any:
    from faster_whisper.transcribe import get_ctranslate2_storage

    return get_ctranslate2_storage(np.ascontiguousarray(array))


def _encode(decoder: _Decoder, samples: np.ndarray, window: float = 30.0) -> np.ndarray:
    """The encoder's output for a `window`-second input holding this clip, then silence."""
    frames = int(window * 100)  # 10 ms mel frames
    features = decoder.model.feature_extractor(samples, padding=0)[:, :frames]
    features = np.pad(features, ((0, 0), (0, frames - features.shape[-1])))
    return np.asarray(decoder.model.model.encode(_storage(features[None]), to_cpu=True))


def _free_hypotheses(decoder: _Decoder, encoded: np.ndarray, seconds: float, prompt: str | None,
                     beam_size: int) -> tuple[list[str], bool]:
    """Whisper's own best transcripts (best first) and whether it thinks there was no speech."""
    tokenizer = decoder.tokenizer
    previous = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())] if prompt else []
    full_prompt = [*previous[: decoder.model.max_length // 2], *decoder.start]
    result = decoder.model.model.generate(
        _storage(encoded), [full_prompt], beam_size=beam_size, num_hypotheses=min(3, beam_size),
        max_length=len(full_prompt) + int(12 + 8 * seconds), return_scores=True,
        return_no_speech_prob=True, suppress_blank=True, suppress_tokens=decoder.suppressed,
    )[0]
    texts = []
    for tokens in result.sequences_ids:
        text = tidy_transcript(tokenizer.decode(tokens).strip())
        if re.search(r"[A-Za-z0-9]", text) and not _repeats_itself(text) and text not in texts:
            texts.append(text)
    tokens = result.sequences_ids[0] if result.sequences_ids else []
    average_log_prob = result.scores[0] * len(tokens) / (len(tokens) + 1) if result.scores else -9.0
    silent = result.no_speech_prob > 0.6 and average_log_prob < -1.0  # faster-whisper's rule
    return texts, silent


def score_phrases(decoder: _Decoder, encoded: np.ndarray, frames: int, phrases: Sequence[str],
                  prompt: str | None = None) -> list[float]:
    """log P(phrase | audio) for each phrase: the decoder forced through its tokens, seeing the
    first `frames` encoder frames, after `prompt` as the previous text when one is given."""
    return _score_tokens(decoder, encoded, frames, [decoder.encode_text(phrase) for phrase in phrases],
                         prompt)


def _score_tokens(decoder: _Decoder, encoded: np.ndarray, frames: int, tokens: Sequence[list[int]],
                  prompt: str | None = None) -> list[float]:
    frames = max(1, min(frames, encoded.shape[1]))
    window = encoded[:, :frames]
    start = decoder.start
    if prompt:
        start = [decoder.tokenizer.sot_prev, *decoder.encode_text(prompt), *decoder.start]
    scores: list[float] = []
    for first in range(0, len(tokens), SCORE_BATCH):
        batch = tokens[first:first + SCORE_BATCH]
        features = _storage(np.repeat(window, len(batch), axis=0))
        results = decoder.model.model.align(features, start, batch, [frames * 2] * len(batch))
        for result in results:
            probabilities = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), 1e-12)
            scores.append(float(np.log(probabilities).sum()))
    return scores


def _next_token_log_probs(decoder: _Decoder, window: np.ndarray,
                          prefixes: Sequence[list[int]]) -> np.ndarray:
    """log P(next token | audio, start + prefix) over the whole vocabulary, one row a prefix:
    one decoding call for all of them (`window`: encoder frames, one copy for each prefix).

    The prefix's own tokens are forced, and CTranslate2 returns the logits of every position
    from the first, a row each: the row after the prefix is the one wanted.
    """
    results = decoder.model.model.generate(
        _storage(np.repeat(window, len(prefixes), axis=0)),
        [[*decoder.start, *prefix] for prefix in prefixes], beam_size=1,
        max_length=len(decoder.start) + max(map(len, prefixes)) + 2, return_logits_vocab=True)
    logits = np.stack([np.asarray(result.logits[0], dtype=np.float64)[len(prefix)]
                       for prefix, result in zip(prefixes, results, strict=True)])
    top = logits.max(axis=1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))


def _likely_openings(decoder: _Decoder, encoded: np.ndarray, frames: int,
                     phrases: Sequence[PhraseT]) -> list[PhraseT]:
    """The LIKELY_PHRASES phrases whose first OPENING_TOKENS tokens are likeliest for this audio.

    Scoring costs about the same for each phrase whatever its length, so instead of scoring
    every phrase, a few decoding calls give the probability of every possible next token at
    once: the first token, then the next one after each of the FIRST_TOKENS likeliest
    openings so far, and so on; only the phrases that open best are scored in full. (Three
    tokens, because many phrases share two: "Show the ...", "Go to ...".)
    """
    if len(phrases) <= LIKELY_PHRASES:
        return list(phrases)
    tokens = {phrase.said: tuple(decoder.encode_text(phrase.said)) for phrase in phrases}
    phrases = [phrase for phrase in phrases if tokens[phrase.said]]
    frames = max(1, min(frames, encoded.shape[1]))
    window = encoded[:, :frames]
    score = dict.fromkeys(tokens, 0.0)
    reached = dict.fromkeys(tokens, 0)  # how many opening tokens of each phrase were scored
    for depth in range(OPENING_TOKENS):
        open_prefixes = {tokens[phrase.said][:depth] for phrase in phrases
                         if reached[phrase.said] == depth and len(tokens[phrase.said]) > depth}
        prefixes = sorted(open_prefixes, key=lambda prefix: -max(
            score[phrase.said] for phrase in phrases if tokens[phrase.said][:depth] == prefix))
        prefixes = prefixes[:FIRST_TOKENS]
        if not prefixes:
            break
        following = dict(zip(prefixes, _next_token_log_probs(decoder, window, [list(p) for p in prefixes]),
                             strict=True))
        for phrase in phrases:
            said = tokens[phrase.said]
            if reached[phrase.said] == depth and said[:depth] in following and len(said) > depth:
                score[phrase.said] += following[said[:depth]][said[depth]]
                reached[phrase.said] = depth + 1

    def opening_score(phrase: PhraseT) -> tuple[bool, float]:
        # phrases scored as far as their openings go (or to their end) first, then the others
        said = phrase.said
        return reached[said] >= min(OPENING_TOKENS, len(tokens[said])), score[said]

    chosen: list[PhraseT] = []
    per_template: dict[Any, int] = {}
    for phrase in sorted(phrases, key=opening_score, reverse=True):
        if len(chosen) == LIKELY_PHRASES or reached[phrase.said] == 0:
            break
        # the numbers tried in one slot open alike: two of them hold the place of their
        # phrase, whose number is then read by `_numbers_after`
        if phrase.template and per_template.get(phrase.template, 0) >= 2:
            continue
        per_template[phrase.template] = per_template.get(phrase.template, 0) + 1
        chosen.append(phrase)
    return chosen


def _numbers_after(decoder: _Decoder, encoded: np.ndarray, frames: int,
                   openings: Sequence[str]) -> list[list[str]]:
    """The numbers Whisper writes after each opening, a template's words before its number slot,
    forced ("Show training image" then, freely, "42"): heard in the command's own context, where
    free decoding wrote "Show training image photo to". The NUMBER_BEAM best continuations each
    give the number they start with, likeliest first; one list an opening."""
    prefixes = [decoder.encode_text(opening) for opening in openings]
    frames = max(1, min(frames, encoded.shape[1]))
    results = decoder.model.model.generate(
        _storage(np.repeat(encoded[:, :frames], len(prefixes), axis=0)),
        [[*decoder.start, *prefix] for prefix in prefixes], beam_size=NUMBER_BEAM,
        num_hypotheses=NUMBER_BEAM, max_length=len(decoder.start) + max(map(len, prefixes)) + 12,
        suppress_blank=False, suppress_tokens=decoder.suppressed)
    numbers: list[list[str]] = []
    for prefix, result in zip(prefixes, results, strict=True):
        found: list[str] = []
        numbers.append(found)
        for tokens in result.sequences_ids:
            rest = decoder.tokenizer.decode(tokens[len(prefix):] if tokens[:len(prefix)] == prefix
                                            else tokens)
            rest = words_to_digits(rest.strip())
            start = re.match(r"\d[\d,]*(?:\.\d+)?", rest)
            number = start.group().rstrip(",").replace(",", "") if start else None
            if number and number not in found:
                found.append(number)
    return numbers
