"""Features as the protocols read them: per-video clip features, video means, and the 5-clip scorer."""

from __future__ import annotations

import numpy as np
import torch

from latentanon.metrics import five_clip_indices


def video_features(store, tokens: bool = False) -> list[torch.Tensor]:
    """Every video's pooled clip features as float32 (T, D) tensors (``tokens``: (T, T', D) clip tokens), in store
    order."""
    feats = torch.from_numpy((store.tokens() if tokens else store.pooled()).astype(np.float32))
    offsets, counts = store.videos["clip_offset"], store.videos["clip_count"]
    return [feats[o : o + c] for o, c in zip(offsets, counts)]


def video_means(store) -> np.ndarray:
    """(V, D) float32: the mean of each video's pooled clip features (a privacy image is one static clip)."""
    feats, rows = store.pooled().astype(np.float32), store.clip_video_rows()
    counts = np.bincount(rows, minlength=store.num_videos)[:, None]
    x = np.zeros((store.num_videos, feats.shape[1]), np.float64)
    np.add.at(x, rows, feats)
    return (x / np.maximum(counts, 1)).astype(np.float32)


def five_clip_rows(offsets: np.ndarray, counts: np.ndarray, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The action-recognition test views: 5 evenly spaced clips of each video.

    Args:
        offsets, counts: the store's ``clip_offset`` / ``clip_count`` columns.
        videos: video rows to score.

    Returns:
        ``(clip rows (M,), owner (M,))``: store clip rows, and the index into ``videos`` each belongs to.
    """
    rows = [offsets[v] + five_clip_indices(int(counts[v])) for v in videos]
    owner = np.repeat(np.arange(len(videos)), [len(r) for r in rows])
    return (np.concatenate(rows) if rows else np.zeros(0, np.int64)), owner


def clip_average(probs: np.ndarray, owner: np.ndarray, n_videos: int) -> np.ndarray:
    """(n_videos, K) mean of each video's clip probabilities ``probs`` (M, K), grouped by ``owner`` (M,)."""
    mean = np.zeros((n_videos, probs.shape[1]))
    np.add.at(mean, owner, probs)
    return mean / np.bincount(owner, minlength=n_videos)[:, None]
