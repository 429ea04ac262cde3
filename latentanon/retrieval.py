"""Nearest-neighbour search with faiss (exact, inner product on L2-normalised vectors), on the GPU when one is there.

Used by the k-nearest-neighbour privacy attacker and gait retrieval. faiss is imported on first use, never at import
time; ``faiss-cpu`` is a dependency, ``faiss-gpu`` an extra (``pip install latentanon[gpu]``).
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)
DEVICES = ("auto", "cpu", "gpu")


def _gpu_count(faiss) -> int:
    try:
        return int(faiss.get_num_gpus())
    except AttributeError:  # a CPU-only build has no GPU functions
        return 0


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def search(database: np.ndarray, queries: np.ndarray, k: int, device: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar database rows of every query.

    Args:
        database: (N, D) float vectors; queries: (Q, D) with the same D.
        k: neighbours per query, 1 <= k <= N.
        device: ``auto`` (a GPU index when faiss sees a GPU), ``cpu`` or ``gpu`` (an error without one).

    Returns:
        (similarities (Q, k) float32, indices (Q, k) int64), most similar first.
    """
    import faiss

    database, queries = np.asarray(database), np.asarray(queries)
    if database.ndim != 2 or queries.ndim != 2 or database.shape[1] != queries.shape[1]:
        raise ValueError(f"need database (N, D) and queries (Q, D) of one D; got {database.shape} and {queries.shape}")
    if not 1 <= k <= len(database):
        raise ValueError(f"k must be in 1..{len(database)} (the database size), got {k}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    gpus = _gpu_count(faiss)
    if device == "gpu" and not gpus:
        raise ValueError(
            "device='gpu' but faiss sees no GPU: install faiss-gpu (pip install latentanon[gpu]) or use cpu"
        )
    index = faiss.IndexFlatIP(database.shape[1])
    if gpus and device != "cpu":
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(np.ascontiguousarray(l2_normalize(database)))
    sims, idx = index.search(np.ascontiguousarray(l2_normalize(queries)), k)
    return sims, idx.astype(np.int64)
