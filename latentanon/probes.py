"""Attribute probes (the privacy attackers): pure functions over feature matrices.

The published privacy probe is a 2-layer MLP Linear(D, D)-ReLU-Linear(D, K) trained with binary cross-entropy on
the features of static clips of privacy images, scored by cMAP (lower is more private). latentanon z-scores the
probe's inputs with the training statistics (an un-normalised probe is fooled by a constant offset, see METHOD.md)
and keeps the epoch with the best *validation* cMAP; the released best-on-test choice is ``select="test"``.

Attackers (``ATTACKERS``): ``linear`` (logistic regression per attribute), ``mlp`` (the published probe),
``deep_mlp`` (three hidden layers with dropout) and ``knn`` (cosine k-nearest-neighbour vote with faiss, k chosen on
validation). Each is trained on the rows it attacks; ``x_attack`` scores a model trained on ``x`` on other features
of the same items (a *fixed* attacker: trained on raw features, applied to anonymized ones).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from latentanon.metrics import cmap

ATTACKERS = ("linear", "mlp", "deep_mlp", "knn")
SELECT = ("val", "test")
KNN_K = (1, 5, 10, 20, 50)


def zscore(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Standardise ``train`` and ``others`` with the mean and standard deviation of ``train``."""
    mu, sd = train.mean(0), train.std(0) + 1e-6
    return [(x - mu) / sd for x in (train, *others)]


def make_probe(arch: str, dim: int, outputs: int) -> nn.Module:
    """A probe network: ``linear``, ``mlp`` (Linear(D, D)-ReLU-Linear(D, K)) or ``deep_mlp``."""
    if arch == "linear":
        return nn.Linear(dim, outputs)
    if arch == "mlp":
        return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, outputs))
    if arch == "deep_mlp":
        layers: list[nn.Module] = []
        for _ in range(3):
            layers += [nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(0.1)]
        return nn.Sequential(*layers, nn.Linear(dim, outputs))
    raise ValueError(f"unknown probe architecture {arch!r}; known: linear, mlp, deep_mlp")


def _rows(x, y, split, val_split: str, x_attack) -> tuple:
    x, y, split = np.asarray(x, np.float32), np.asarray(y), np.asarray(split)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or len(split) != len(x):
        raise ValueError(f"need x (N, D), y (N, K), split (N,); got {x.shape}, {y.shape}, {split.shape}")
    if x_attack is not None:
        x_attack = np.asarray(x_attack, np.float32)
        if x_attack.shape != x.shape:
            raise ValueError(f"x_attack must have the shape of x {x.shape}, got {x_attack.shape}")
    tr, va, te = (np.nonzero(split == s)[0] for s in ("train", val_split, "test"))
    if not len(tr) or not len(va) or not len(te):
        raise ValueError(f"the probe needs train, {val_split} and test rows; got {len(tr)}, {len(va)}, {len(te)}")
    scored = y[va].sum(0) > 0  # validation scores the attributes it has positives of (small held-out splits)
    if not scored.any():
        raise ValueError(f"no attribute has a positive {val_split} example; use a larger validation split")
    return x, y, tr, va, te, scored, x_attack


def _result(test: float, per_attr: np.ndarray, val: float, chosen, y_test: np.ndarray, **extra) -> dict:
    return {
        "cmap": float(test),
        "per_attribute_ap": per_attr.tolist(),
        "val_cmap": float(val),
        "best_epoch": chosen,
        "chance_cmap": float(y_test.mean(0).mean()),
        "base_rates": y_test.mean(0).tolist(),
        "test_items": len(y_test),
        **extra,
    }


def probe_cmap(
    x: np.ndarray,
    y: np.ndarray,
    split: np.ndarray,
    seed: int,
    epochs: int = 100,
    arch: str = "mlp",
    x_attack: np.ndarray | None = None,
    select: str = "val",
    val_split: str = "val",
) -> dict:
    """Train a probe on the ``train`` rows of ``x``, choose the epoch, score the ``test`` rows by cMAP.

    Args:
        x: (N, D) features; y: (N, K) binary attribute labels; split: (N,) ``train`` / ``val`` / ``test`` names.
        seed: initialisation and shuffling seed.
        epochs: training passes (AdamW, lr 1e-3; 1e-2 for ``linear``; batches of 256).
        arch: ``linear``, ``mlp`` or ``deep_mlp``.
        x_attack: features of the same items to score instead of ``x`` on validation and test (a fixed attacker;
            standardised with ``x``'s training statistics). None: the probe attacks what it was trained on.
        select: ``val`` (the sound protocol) or ``test`` (the released best-on-test epoch, optimistic: label it).

    Returns:
        ``cmap`` (test), ``per_attribute_ap``, ``val_cmap``, ``best_epoch``, ``chance_cmap`` (mean test base
        rate), ``base_rates``, ``test_items``.
    """
    if select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}, got {select!r}")
    x, y, tr, va, te, scored, x_attack = _rows(x, y, split, val_split, x_attack)
    target = x if x_attack is None else x_attack
    x_tr, x_va, x_te = zscore(x[tr], target[va], target[te])
    torch.manual_seed(seed)
    probe = make_probe(arch, x.shape[1], y.shape[1])
    # a linear model converges slowly at the MLP's 1e-3 (it would under-report the linear attacker)
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-2 if arch == "linear" else 1e-3)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y[tr].astype(np.float32))
    x_va, x_te = torch.from_numpy(x_va), torch.from_numpy(x_te)
    gen = torch.Generator().manual_seed(seed)
    best = (-1.0, None, 0)
    for epoch in range(1, epochs + 1):
        probe.train()
        for idx in torch.randperm(len(xt), generator=gen).split(256):
            loss = nn.functional.binary_cross_entropy_with_logits(probe(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        probe.eval()
        with torch.no_grad():
            if select == "val":
                score = cmap(probe(x_va).numpy()[:, scored], y[va][:, scored])[0]
            else:
                score = cmap(probe(x_te).numpy(), y[te])[0]
        if score > best[0]:
            best = (score, {n: p.clone() for n, p in probe.state_dict().items()}, epoch)
    probe.load_state_dict(best[1])
    with torch.no_grad():
        val = cmap(probe(x_va).numpy()[:, scored], y[va][:, scored])[0]
        test, per_attr = cmap(probe(x_te).numpy(), y[te])
    return _result(test, per_attr, val, best[2], y[te], select=select)


def mlp_probe_cmap(
    x: np.ndarray, y: np.ndarray, split: np.ndarray, seed: int, epochs: int = 100, val_split: str = "val"
) -> dict:
    """The published privacy probe (``probe_cmap`` with ``arch="mlp"``), epoch chosen on validation."""
    return probe_cmap(x, y, split, seed, epochs, arch="mlp", val_split=val_split)


def knn_cmap(
    x: np.ndarray,
    y: np.ndarray,
    split: np.ndarray,
    ks: tuple[int, ...] = KNN_K,
    x_attack: np.ndarray | None = None,
    select: str = "val",
    val_split: str = "val",
    device: str = "auto",
) -> dict:
    """k-nearest-neighbour attacker: an item's attribute score is the share of its k most cosine-similar training
    items (z-scored features) that have the attribute; k is chosen from ``ks`` on validation (or test, labelled).

    Args and returns as :func:`probe_cmap`; ``best_epoch`` holds the chosen k.
    """
    from latentanon.retrieval import search

    if select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}, got {select!r}")
    x, y, tr, va, te, scored, x_attack = _rows(x, y, split, val_split, x_attack)
    target = x if x_attack is None else x_attack
    x_tr, x_va, x_te = zscore(x[tr], target[va], target[te])
    ks = tuple(k for k in ks if 1 <= k <= len(tr)) or (len(tr),)
    y_tr = y[tr].astype(np.float32)
    _, nn_va = search(x_tr, x_va, max(ks), device)
    _, nn_te = search(x_tr, x_te, max(ks), device)

    def scores(neighbours: np.ndarray, k: int) -> np.ndarray:
        return y_tr[neighbours[:, :k]].mean(1)  # (Q, K) share of positive neighbours

    def pick(k: int) -> float:
        if select == "val":
            return cmap(scores(nn_va, k)[:, scored], y[va][:, scored])[0]
        return cmap(scores(nn_te, k), y[te])[0]

    k = max(ks, key=lambda k: (pick(k), -k))
    val = cmap(scores(nn_va, k)[:, scored], y[va][:, scored])[0]
    test, per_attr = cmap(scores(nn_te, k), y[te])
    return _result(test, per_attr, val, k, y[te], select=select)


def attack_cmap(
    attacker: str,
    x: np.ndarray,
    y: np.ndarray,
    split: np.ndarray,
    seed: int,
    epochs: int = 100,
    x_attack: np.ndarray | None = None,
    select: str = "val",
    device: str = "auto",
) -> dict:
    """Run one of ``ATTACKERS`` (see :func:`probe_cmap` and :func:`knn_cmap`)."""
    if attacker == "knn":
        return knn_cmap(x, y, split, x_attack=x_attack, select=select, device=device)
    if attacker not in ATTACKERS:
        raise ValueError(f"unknown attacker {attacker!r}; known: {', '.join(ATTACKERS)}")
    return probe_cmap(x, y, split, seed, epochs, arch=attacker, x_attack=x_attack, select=select)
