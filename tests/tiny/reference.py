"""Independent references read straight from the GGUF: llama.cpp's SPM tokenizer and a numpy Gemma 3 forward.

Neither shares code with the converter: the tokenizer follows llama.cpp's `llm_tokenizer_spm` (special-token
partition, then score-ordered bigram merges with byte fallback) on the GGUF's tokens, scores and types; the
forward pass follows llama.cpp's graph on the GGUF tensors as stored (norm weights used as `1 + w` directly,
NEOX rope, tied head), dequantized with `gguf`.
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

_CONTROL, _USER_DEFINED = 3, 4


class SpmReference:
    """llama.cpp's SentencePiece-BPE tokenizer over a GGUF vocabulary."""

    def __init__(self, reader: GGUFReader) -> None:
        tokens = reader.get_field("tokenizer.ggml.tokens")
        scores = reader.get_field("tokenizer.ggml.scores")
        types = reader.get_field("tokenizer.ggml.token_type")
        assert tokens is not None and scores is not None and types is not None
        self.tokens = [bytes(tokens.parts[i]).decode("utf-8") for i in tokens.data]
        self.scores = [float(scores.parts[i][0]) for i in scores.data]
        self.types = [int(types.parts[i][0]) for i in types.data]
        self.ids = {token: index for index, token in enumerate(self.tokens)}
        self.special = sorted(
            (i for i, t in enumerate(self.types) if t in (_CONTROL, _USER_DEFINED)),
            key=lambda i: -len(self.tokens[i]),
        )

    def _partition(self, text: str, parse_special: bool) -> list[str | int]:
        fragments: list[str | int] = [text]
        for token_id in self.special:
            if self.types[token_id] == _CONTROL and not parse_special:
                continue
            needle = self.tokens[token_id]
            out: list[str | int] = []
            for fragment in fragments:
                if isinstance(fragment, int):
                    out.append(fragment)
                    continue
                pieces = fragment.split(needle)
                for index, piece in enumerate(pieces):
                    if index:
                        out.append(token_id)
                    if piece:
                        out.append(piece)
            fragments = out
        return fragments

    def _spm(self, text: str) -> list[int]:
        symbols = list(text.replace(" ", "\u2581"))
        nexts = [i + 1 if i + 1 < len(symbols) else -1 for i in range(len(symbols))]
        prevs = [i - 1 for i in range(len(symbols))]
        queue: list[tuple[float, int, int, int]] = []

        def add(left: int, right: int) -> None:
            if left == -1 or right == -1:
                return
            joined = symbols[left] + symbols[right]
            token_id = self.ids.get(joined)
            if token_id is None:
                return
            heapq.heappush(queue, (-self.scores[token_id], left, right, len(joined)))

        for index in range(1, len(symbols)):
            add(index - 1, index)
        while queue:
            _, left, right, size = heapq.heappop(queue)
            if not symbols[left] or not symbols[right] or len(symbols[left]) + len(symbols[right]) != size:
                continue
            symbols[left] += symbols[right]
            symbols[right] = ""
            nexts[left] = nexts[right]
            if nexts[right] >= 0:
                prevs[nexts[right]] = left
            add(prevs[left], left)
            add(left, nexts[left])
        # Every merge forms a vocabulary token, so a symbol that is not one is a single unknown character:
        # llama.cpp writes it as byte tokens.
        out: list[int] = []
        index = 0 if symbols else -1
        while index != -1:
            token_id = self.ids.get(symbols[index])
            if token_id is None:
                out.extend(self.ids[f"<0x{byte:02X}>"] for byte in symbols[index].encode("utf-8"))
            else:
                out.append(token_id)
            index = nexts[index]
        return out

    def encode(self, text: str, *, add_bos: bool = True, parse_special: bool = True) -> list[int]:
        """Token ids as llama.cpp computes them."""
        ids = [self.ids["<bos>"]] if add_bos else []
        for fragment in self._partition(text, parse_special):
            ids.extend([fragment] if isinstance(fragment, int) else self._spm(fragment))
        return ids


def _tensor(reader: GGUFReader, name: str) -> np.ndarray:
    tensor = next(t for t in reader.tensors if t.name == name)
    shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))
    return np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32).reshape(shape)


class GemmaReference:
    """A numpy Gemma 3 forward pass on the GGUF tensors as llama.cpp uses them."""

    def __init__(self, gguf_path: Path) -> None:
        reader = GGUFReader(gguf_path)
        self.reader = reader

        def meta(key: str) -> float:
            field = reader.get_field(f"gemma3.{key}")
            assert field is not None
            return float(field.contents())

        self.layers = int(meta("block_count"))
        self.heads = int(meta("attention.head_count"))
        self.head_dim = int(meta("attention.key_length"))
        self.eps = meta("attention.layer_norm_rms_epsilon")
        self.rope_global = meta("rope.freq_base")
        self.weights = {t.name: _tensor(reader, t.name) for t in reader.tensors}
        """Every tensor dequantized to float32, numpy order, GGUF names, norms as stored (`1 + w`)."""
        self.tokenizer = SpmReference(reader)

    @staticmethod
    def _norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight

    def _rope(self, x: np.ndarray, base: float) -> np.ndarray:
        half = self.head_dim // 2
        freqs = base ** (-np.arange(0, half, dtype=np.float64) * 2 / self.head_dim)
        angles = np.arange(x.shape[0])[:, None] * freqs[None, :]
        cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    def last_logits(self, ids: list[int]) -> np.ndarray:
        """The logits after the last token of `ids` (no cache, causal attention)."""
        w = self.weights
        x = w["token_embd.weight"][ids] * np.float32(math.sqrt(w["token_embd.weight"].shape[1]))
        steps = len(ids)
        mask = np.triu(np.full((steps, steps), -np.inf), 1)
        for layer in range(self.layers):
            p = f"blk.{layer}."
            h = self._norm(x, w[p + "attn_norm.weight"], self.eps)
            q = (h @ w[p + "attn_q.weight"].T).reshape(steps, self.heads, self.head_dim)
            k = (h @ w[p + "attn_k.weight"].T).reshape(steps, -1, self.head_dim)
            v = (h @ w[p + "attn_v.weight"].T).reshape(steps, -1, self.head_dim)
            q = self._norm(q, w[p + "attn_q_norm.weight"], self.eps)
            k = self._norm(k, w[p + "attn_k_norm.weight"], self.eps)
            base = self.rope_global if (layer + 1) % 6 == 0 else 10_000.0
            q, k = self._rope(q, base), self._rope(k, base)
            k = np.repeat(k, self.heads // k.shape[1], axis=1)
            v = np.repeat(v, self.heads // v.shape[1], axis=1)
            scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(256) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = np.einsum("hqk,khd->qhd", scores, v).reshape(steps, -1) @ w[p + "attn_output.weight"].T
            x = x + self._norm(attn, w[p + "post_attention_norm.weight"], self.eps)
            h = self._norm(x, w[p + "ffn_norm.weight"], self.eps)
            gate = h @ w[p + "ffn_gate.weight"].T
            gelu = 0.5 * gate * (1 + np.tanh(math.sqrt(2 / math.pi) * (gate + 0.044715 * gate**3)))
            mlp = (gelu * (h @ w[p + "ffn_up.weight"].T)) @ w[p + "ffn_down.weight"].T
            x = x + self._norm(mlp, w[p + "post_ffw_norm.weight"], self.eps)
        last = self._norm(x[-1], w["output_norm.weight"], self.eps)
        return w["token_embd.weight"] @ last.astype(np.float32)
