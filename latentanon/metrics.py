"""Evaluation metrics: pure NumPy functions with validated inputs.

- ``average_precision`` / ``cmap``: per-class AP (area under the precision-recall curve, step-wise, as
  scikit-learn's ``average_precision_score``) and their mean, the privacy metric (lower = more private);
- ``five_clip_indices`` / ``video_top1``: the action-recognition protocol, softmax averaged over 5 evenly spaced
  clips per video, then top-1.
"""

from __future__ import annotations

import numpy as np


def _as_2d(name: str, x, dtype=None) -> np.ndarray:
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (N,) or 2-D (N, K), got shape {arr.shape}")
    return arr


def average_precision(scores, labels) -> float:
    """Average precision of one binary task: sum over positives of precision at their rank, divided by positives.

    Tied scores form a single threshold, as in scikit-learn's ``average_precision_score``.

    Args:
        scores: (N,) real scores, higher = more likely positive.
        labels: (N,) 0/1 ground truth with at least one positive.

    Returns:
        AP in [0, 1].
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have the same length, got {scores.shape} and {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    positives = int(labels.sum())
    if positives == 0:
        raise ValueError("average precision is undefined without a positive label")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    tp = np.cumsum(y)
    # evaluate precision/recall only at the last index of each group of tied scores
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp_at, n_at = tp[last], last + 1
    precision = tp_at / n_at
    recall = tp_at / positives
    recall_steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(precision * recall_steps))


def cmap(scores, labels) -> tuple[float, np.ndarray]:
    """Class-wise mean average precision over K binary attributes.

    Args:
        scores: (N, K) scores; labels: (N, K) 0/1. Attributes without a positive are an error (say which).

    Returns:
        (cMAP, per-attribute AP (K,)).
    """
    scores, labels = _as_2d("scores", scores, np.float64), _as_2d("labels", labels)
    if scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must have the same shape (N, K)")
    empty = np.nonzero(labels.sum(0) == 0)[0]
    if len(empty):
        raise ValueError(f"attributes {empty.tolist()} have no positive example: AP is undefined for them")
    aps = np.array([average_precision(scores[:, k], labels[:, k]) for k in range(labels.shape[1])])
    return float(aps.mean()), aps


def five_clip_indices(num_clips: int, count: int = 5) -> np.ndarray:
    """Indices of ``count`` evenly spaced clips, ``round(linspace(0, n - 1, count))`` (repeats for short videos)."""
    if num_clips <= 0:
        raise ValueError(f"a video needs at least one clip, got {num_clips}")
    return np.round(np.linspace(0, num_clips - 1, count)).astype(np.int64)


def video_top1(clip_probs, clip_video, video_labels) -> float:
    """Top-1 accuracy of videos whose prediction is the mean of their clips' class probabilities.

    Args:
        clip_probs: (M, C) per-clip class probabilities (softmax outputs).
        clip_video: (M,) index of the video each clip belongs to, in [0, V).
        video_labels: (V,) integer labels.
    """
    probs = _as_2d("clip_probs", clip_probs, np.float64)
    clip_video = np.asarray(clip_video, dtype=np.int64).ravel()
    video_labels = np.asarray(video_labels, dtype=np.int64).ravel()
    if len(clip_video) != len(probs):
        raise ValueError(f"clip_video has {len(clip_video)} entries for {len(probs)} clips")
    v = len(video_labels)
    if v == 0 or clip_video.min() < 0 or clip_video.max() >= v:
        raise ValueError(f"clip_video must index videos in [0, {v})")
    sums = np.zeros((v, probs.shape[1]))
    np.add.at(sums, clip_video, probs)
    counts = np.bincount(clip_video, minlength=v)
    if (counts == 0).any():
        raise ValueError(f"videos {np.nonzero(counts == 0)[0][:5].tolist()} have no clip")
    return float((sums.argmax(1) == video_labels).mean())
