"""The privacy attacker: an MLP probe Linear(D, D)-ReLU-Linear(D, K) on z-scored features, one per video (the mean
of its clips' features; a privacy image is one static clip), trained on ``train``, the epoch chosen on ``val``
(the store's own, else held out from train), scored by cMAP on ``test`` (lower is more private; trivial baseline:
the mean base rate). Needs attribute ``labels`` per video (VISPR, the synthetic suites)."""

from __future__ import annotations

import numpy as np

from latentanon.protocols.features import video_means
from latentanon.protocols.result import ProtocolResult
from latentanon.protocols.settings import HeadSettings
from latentanon.protocols.splits import split_videos


def video_attribute_labels(store) -> np.ndarray:
    """(V, K) int64 attribute labels of every video (the ``labels`` annotation), or a clear error."""
    metas = [store.meta(v) for v in range(store.num_videos)]
    missing = sum(1 for m in metas if not m.get("labels"))
    if missing or not metas:
        raise ValueError(
            f"{store.path}: {missing} of {len(metas)} videos have no attribute labels; the privacy probe needs a "
            "store of a dataset with private attributes (vispr, or a synthetic suite)"
        )
    return np.array([m["labels"] for m in metas], dtype=np.int64)


def privacy_inputs(store, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The privacy probe's data: per-video features (V, D), attribute labels (V, K), split names (V,) with a
    validation split (the store's own, else held out from train) and the attribute names."""
    y = video_attribute_labels(store)
    split = np.asarray(store.videos["split"]).astype(object)
    if not ((split == "val").any() and (split == "test").any()):
        parts = split_videos(store, val_fraction, seed)
        split[parts["val"]] = "val"
    attributes = (store.group.attrs.get("dataset") or {}).get("attributes") or list(range(y.shape[1]))
    return video_means(store), y, split.astype(str), [str(a) for a in attributes]


def run_privacy(
    store, heads: HeadSettings, val_fraction: float = 0.1, seed: int = 0, progress: bool = True
) -> ProtocolResult:
    """Train and test the MLP attacker on ``store``'s per-video features (``progress`` is accepted for symmetry)."""
    from latentanon.probes import mlp_probe_cmap

    x, y, split, attributes = privacy_inputs(store, val_fraction, seed)
    result = mlp_probe_cmap(x, y, split, seed, heads.probe_epochs)
    static = bool((store.videos["status"] == "padded").all())
    metrics = {
        "task": "privacy",
        "metric": "cmap",
        "test_cmap": result["cmap"],
        "val_cmap": result["val_cmap"],
        "chance_cmap": result["chance_cmap"],
        "per_attribute_ap": dict(zip(attributes, result["per_attribute_ap"])),
        "base_rates": dict(zip(attributes, result["base_rates"])),
        "clips": "static (images)" if static else "moving (videos)",
        "best_epoch": result["best_epoch"],
        "videos": {
            "fit": int((split == "train").sum()),
            "val": int((split == "val").sum()),
            "test": result["test_items"],
        },
    }
    return ProtocolResult("privacy", "cmap", metrics)
