"""Attribute probes (the privacy attacker): pure functions over feature matrices.

The published privacy probe is a 2-layer MLP Linear(D, D)-ReLU-Linear(D, K) trained with binary cross-entropy on
the features of static clips of privacy images, scored by cMAP (lower is more private). latentanon z-scores the
probe's inputs with the training statistics (an un-normalised probe is fooled by a constant offset, see METHOD.md)
and keeps the epoch with the best *validation* cMAP, never the test one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from latentanon.metrics import cmap


def zscore(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Standardise ``train`` and ``others`` with the mean and standard deviation of ``train``."""
    mu, sd = train.mean(0), train.std(0) + 1e-6
    return [(x - mu) / sd for x in (train, *others)]


def mlp_probe_cmap(
    x: np.ndarray, y: np.ndarray, split: np.ndarray, seed: int, epochs: int = 100, val_split: str = "val"
) -> dict:
    """Train the privacy MLP probe on the ``train`` rows, keep the best ``val_split`` epoch, score ``test``.

    Args:
        x: (N, D) features; y: (N, K) binary attribute labels; split: (N,) ``train`` / ``val`` / ``test`` names.
        seed: initialisation and shuffling seed.
        epochs: training passes (AdamW lr 1e-3, batches of 256).

    Returns:
        ``cmap`` (test), ``per_attribute_ap``, ``val_cmap``, ``best_epoch``, ``chance_cmap`` (mean test base
        rate), ``base_rates``, ``test_items``.
    """
    x, y, split = np.asarray(x, np.float32), np.asarray(y), np.asarray(split)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or len(split) != len(x):
        raise ValueError(f"need x (N, D), y (N, K), split (N,); got {x.shape}, {y.shape}, {split.shape}")
    tr, va, te = (np.nonzero(split == s)[0] for s in ("train", val_split, "test"))
    if not len(tr) or not len(va) or not len(te):
        raise ValueError(f"the probe needs train, {val_split} and test rows; got {len(tr)}, {len(va)}, {len(te)}")
    scored = y[va].sum(0) > 0  # validation scores the attributes it has positives of (small held-out splits)
    if not scored.any():
        raise ValueError(f"no attribute has a positive {val_split} example; use a larger validation split")
    x_tr, x_va, x_te = zscore(x[tr], x[va], x[te])
    d, k = x.shape[1], y.shape[1]
    torch.manual_seed(seed)
    probe = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, k))
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y[tr].astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    best = (-1.0, None, 0)
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(xt), generator=gen).split(256):
            loss = nn.functional.binary_cross_entropy_with_logits(probe(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            val = cmap(probe(torch.from_numpy(x_va)).numpy()[:, scored], y[va][:, scored])[0]
        if val > best[0]:
            best = (val, {n: p.clone() for n, p in probe.state_dict().items()}, epoch)
    probe.load_state_dict(best[1])
    with torch.no_grad():
        test, per_attr = cmap(probe(torch.from_numpy(x_te)).numpy(), y[te])
    return {
        "cmap": test,
        "per_attribute_ap": per_attr.tolist(),
        "val_cmap": best[0],
        "best_epoch": best[2],
        "chance_cmap": float(y[te].mean(0).mean()),
        "base_rates": y[te].mean(0).tolist(),
        "test_items": len(te),
    }
