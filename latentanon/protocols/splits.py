"""The protocols' one split rule: fit / val / test video rows of a store, validation never taken from test."""

from __future__ import annotations

import numpy as np


def split_videos(store, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Video rows of the fit / val / test splits.

    ``val`` is held out from ``train`` by whole subjects when every training video has a subject (videos of one
    subject share actor and scene, so mixing them with training videos overestimates accuracy), otherwise by
    videos stratified by label (a small validation split then still holds every class, normal and abnormal in
    AD). ``test`` is the store's ``test`` split, or ``val`` for datasets whose test labels are hidden.

    Args:
        store: a feature store (or a view with its ``videos`` table and ``path``).
        val_fraction: share of the training subjects (or of each class's videos) held out, in (0, 1).
        seed: seeds the choice.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    split = store.videos["split"]
    train = np.nonzero(split == "train")[0]
    test = np.nonzero(split == "test")[0]
    if not len(test):
        test = np.nonzero(split == "val")[0]
    if len(train) < 2 or not len(test):
        raise ValueError(
            f"{store.path}: need videos in the 'train' split and in 'test' (or 'val'); found splits "
            f"{sorted(set(split.tolist()))}"
        )
    rng = np.random.default_rng(seed)
    subjects = store.videos["subject"][train]
    if (subjects != "").all() and len(np.unique(subjects)) >= 2:
        names = rng.permutation(np.unique(subjects))
        held = names[: max(1, int(round(len(names) * val_fraction)))]
        val = np.sort(train[np.isin(subjects, held)])
    else:
        labels = store.videos["label"][train]
        picked = []
        for label in np.unique(labels):
            group = rng.permutation(train[labels == label])
            if len(group) >= 2:
                picked.extend(group[: max(1, int(round(len(group) * val_fraction)))].tolist())
        val = np.array(sorted(picked), dtype=np.int64)
    return {"fit": np.setdiff1d(train, val), "val": val, "test": test}
