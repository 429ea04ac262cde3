"""Evaluation metrics: pure NumPy functions with validated inputs.

- ``frame_roc_auc`` (UCF-Crime, ShanghaiTech), ``frame_pr_auc_trapezoid`` (what the XD-Violence code calls AP) and
  ``frame_average_precision`` (step-wise AP, reported beside it under its own name): anomaly detection;

- ``average_precision`` / ``cmap``: per-class AP (area under the precision-recall curve, step-wise, as
  scikit-learn's ``average_precision_score``) and their mean, the privacy metric (lower = more private);
- ``five_clip_indices`` / ``video_top1``: the action-recognition protocol, softmax averaged over 5 evenly spaced
  clips per video, then top-1;
- ``tiou`` / ``activitynet_map``: temporal action detection mAP at tIoU thresholds (ActivityNet protocol).
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


def tiou(a, b) -> np.ndarray:
    """Temporal IoU of every segment in ``a`` with every segment in ``b``.

    Args:
        a: (N, 2) or (2,) [start, end]; b: (M, 2) or (2,).

    Returns:
        (N, M) tIoU in [0, 1] (0 where the union is empty).
    """
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 2), np.asarray(b, dtype=np.float64).reshape(-1, 2)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, None, 1] - a[:, None, 0]) + (b[None, :, 1] - b[None, :, 0]) - inter  # (N, M)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _detections(name: str, rows, width: int) -> list[tuple]:
    out = []
    for i, row in enumerate(rows):
        if len(row) != width:
            fields = "(video_id, label, start, end, score)" if width == 5 else "(video_id, label, start, end)"
            raise ValueError(f"{name}[{i}] must be {fields}, got {row!r}")
        nums = np.asarray(row[2:], dtype=np.float64)
        if not np.isfinite(nums).all() or nums[1] < nums[0]:
            raise ValueError(f"{name}[{i}] needs finite numbers and start <= end, got {row!r}")
        out.append((str(row[0]), row[1], *map(float, nums)))
    return out


def _interpolated_ap(tp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated AP from a TP/FP sequence in score order."""
    tp_cum = np.cumsum(tp)
    precision = np.r_[0.0, tp_cum / np.arange(1, len(tp) + 1), 0.0]
    recall = np.r_[0.0, tp_cum / num_gt, 1.0]
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone from the right
    steps = np.nonzero(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def activitynet_map(predictions, ground_truth, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)) -> dict:
    """Temporal action detection mAP (ActivityNet protocol, as used by THUMOS14 / TriDet).

    Per class, predictions are taken by decreasing score (ties keep input order); each one matches the
    unmatched ground truth of the same video with the highest tIoU >= threshold, otherwise it is a false
    positive. AP uses all-point interpolation; mAP averages the classes that have ground truth (predictions of
    other classes are ignored). Duplicate ground truth (same video, label and ends within 1e-3) counts once.

    Args:
        predictions: iterable of (video_id, label, start, end, score).
        ground_truth: iterable of (video_id, label, start, end), at least one.
        thresholds: tIoU thresholds in (0, 1].

    Returns:
        ``{"mAP@0.3": ..., ..., "average_mAP": mean over thresholds, "per_class": {label: (len(thresholds),) AP}}``.
    """
    preds, gts = _detections("predictions", predictions, 5), _detections("ground_truth", ground_truth, 4)
    thresholds = np.asarray(thresholds, dtype=np.float64).ravel()
    if len(thresholds) == 0 or (thresholds <= 0).any() or (thresholds > 1).any():
        raise ValueError(f"thresholds must be a non-empty list in (0, 1], got {thresholds.tolist()}")
    if not gts:
        raise ValueError("ground_truth is empty: mAP is undefined")
    unique: dict = {}  # (video, label) -> list of [start, end]
    for video, label, s, e in gts:
        kept = unique.setdefault((video, label), [])
        if not any(abs(s - s2) <= 1e-3 and abs(e - e2) <= 1e-3 for s2, e2 in kept):
            kept.append((s, e))
    labels = sorted({label for _, label in unique}, key=repr)
    per_class = {}
    for label in labels:
        gt_by_video = {v: np.asarray(segs) for (v, lab), segs in unique.items() if lab == label}
        num_gt = sum(len(segs) for segs in gt_by_video.values())
        cls_preds = [p for p in preds if p[1] == label]
        order = np.argsort(-np.asarray([p[4] for p in cls_preds]), kind="stable")
        aps = []
        for thr in thresholds:
            matched = {v: np.zeros(len(segs), dtype=bool) for v, segs in gt_by_video.items()}
            tp = np.zeros(len(cls_preds))
            for rank, j in enumerate(order):
                video, _, s, e, _ = cls_preds[j]
                if video not in gt_by_video:
                    continue
                ious = tiou((s, e), gt_by_video[video])[0]  # (G,)
                ious[matched[video]] = -1.0
                best = int(np.argmax(ious))
                if ious[best] >= thr:
                    matched[video][best], tp[rank] = True, 1.0
            aps.append(_interpolated_ap(tp, num_gt) if len(tp) else 0.0)
        per_class[label] = np.asarray(aps)
    table = np.stack(list(per_class.values()))  # (classes, thresholds)
    result = {f"mAP@{thr:g}": float(v) for thr, v in zip(thresholds, table.mean(0))}
    result["average_mAP"] = float(table.mean())
    result["per_class"] = per_class
    return result


# --------------------------------------------------------------------------------------------- frame-level (AD)


def _validate_frames(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 1 or labels.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D, got shapes {scores.shape} and {labels.shape}")
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have the same length, got {len(scores)} and {len(labels)}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be 0/1, got values {np.unique(labels)[:5]}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    labels = labels.astype(np.int64)
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise ValueError(f"labels need both classes, got {positives} positives out of {len(labels)}")
    return scores, labels


def _curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, highest threshold first."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each group of tied scores
    tp = np.cumsum(y)[last].astype(np.float64)
    fp = (last + 1) - tp
    return tp, fp


def frame_roc_auc(scores, labels) -> float:
    """Area under the ROC curve over frames.

    Args:
        scores: (N,) real frame scores, higher = more anomalous.
        labels: (N,) 0/1 frame ground truth containing both classes.

    Returns:
        ROC AUC in [0, 1].
    """
    scores, labels = _validate_frames(scores, labels)
    tp, fp = _curve(scores, labels)
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def frame_pr_auc_trapezoid(scores, labels) -> float:
    """Area under the precision-recall curve by the trapezoid rule (the released XD-Violence "AP").

    The curve starts at (recall 0, precision 1), as scikit-learn's ``precision_recall_curve``, and visits every
    distinct threshold; linear interpolation between points makes it optimistic next to step-wise AP.

    Args:
        scores: (N,) real frame scores, higher = more anomalous.
        labels: (N,) 0/1 frame ground truth containing both classes.

    Returns:
        PR AUC in [0, 1].
    """
    scores, labels = _validate_frames(scores, labels)
    tp, fp = _curve(scores, labels)
    precision = np.r_[1.0, tp / (tp + fp)]
    recall = np.r_[0.0, tp / tp[-1]]
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


def frame_average_precision(scores, labels) -> float:
    """Step-wise average precision over frames (scikit-learn's ``average_precision_score``).

    Args:
        scores: (N,) real frame scores, higher = more anomalous.
        labels: (N,) 0/1 frame ground truth containing both classes.

    Returns:
        AP in [0, 1].
    """
    scores, labels = _validate_frames(scores, labels)
    return average_precision(scores, labels)
