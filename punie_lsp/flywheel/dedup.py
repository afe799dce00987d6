"""Near-duplicate detection: MinHash signatures of word shingles, banded for candidates, then verified.

Two examples are near-duplicates when the estimated Jaccard similarity of their 3-word shingle sets is at
least `threshold` (0.8 by default): the same question asked with a different file name, the same block
re-run. Signatures are computed with numpy (128 permutations of a 32-bit shingle hash); locality-sensitive
hashing with 16 bands of 8 rows finds the candidate pairs (a pair at similarity 0.8 is a candidate with
probability 0.95, one at 0.5 with probability 0.06), so the cost grows with the number of examples, not its
square.
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ("MinHasher", "near_duplicate_groups", "normalise")

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PRIME = (1 << 31) - 1


def normalise(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN.findall(text.lower())


class MinHasher:
    """MinHash signatures of texts.

    Args:
        permutations: signature length (a multiple of `bands`).
        bands: LSH bands (rows per band = permutations / bands).
        shingle: words per shingle.
        seed: seed of the permutations (fixed, so signatures are comparable across runs).
    """

    def __init__(self, *, permutations: int = 128, bands: int = 16, shingle: int = 3, seed: int = 1) -> None:
        assert permutations % bands == 0, "permutations must be a multiple of bands"
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _PRIME, size=(permutations, 1), dtype=np.uint64)
        self.b = rng.integers(0, _PRIME, size=(permutations, 1), dtype=np.uint64)
        self.bands = bands
        self.rows = permutations // bands
        self.shingle = shingle

    def signature(self, text: str) -> npt.NDArray[np.uint64]:
        """The MinHash signature of `text`."""
        tokens = normalise(text)
        size = self.shingle
        if len(tokens) <= size:
            shingles = {" ".join(tokens)}
        else:
            shingles = {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}
        hashes = np.fromiter(
            (zlib.crc32(s.encode()) for s in shingles), dtype=np.uint64, count=len(shingles)
        ).reshape(1, -1)
        return ((self.a * hashes + self.b) % _PRIME).min(axis=1)

    def band_keys(self, signature: npt.NDArray[np.uint64]) -> list[bytes]:
        """One bucket key per band."""
        rows = self.rows
        return [
            bytes([band]) + signature[band * rows : (band + 1) * rows].tobytes() for band in range(self.bands)
        ]


def near_duplicate_groups(
    texts: Sequence[str], *, threshold: float = 0.8, hasher: MinHasher | None = None
) -> list[list[int]]:
    """Group indices of near-duplicate texts (groups of one included), in order of first appearance.

    Args:
        texts: the texts to compare.
        threshold: minimum estimated Jaccard similarity of two texts in a group.
        hasher: the signature maker (default: 128 permutations, 16 bands of 8 rows).
    """
    hasher = hasher or MinHasher()
    signatures = [hasher.signature(text) for text in texts]
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[bytes, list[int]] = defaultdict(list)
    for index, signature in enumerate(signatures):
        for key in hasher.band_keys(signature):
            buckets[key].append(index)
    needed = threshold * (len(signatures[0]) if signatures else 0)
    compared: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2:
            continue
        representatives: list[int] = [members[0]]
        for member in members[1:]:
            for representative in representatives:
                if find(member) == find(representative):
                    break
                if (representative, member) in compared:
                    continue  # not similar: decided in an earlier band
                compared.add((representative, member))
                if np.count_nonzero(signatures[member] == signatures[representative]) >= needed:
                    parent[find(member)] = find(representative)
                    break
            else:
                representatives.append(member)
    groups: dict[int, list[int]] = {}
    for index in range(len(texts)):
        groups.setdefault(find(index), []).append(index)
    return sorted(groups.values(), key=lambda group: group[0])
