"""Fitting the control anonymizers on a raw store (see ``latentanon/anonymizers/controls.py`` for what they do).

    python -m latentanon.fit_control --store stores/ucf101.zarr --control pca --k 8 --out controls/pca-8
    from latentanon.controls import fit_control
    fit_control("pca", "stores/ucf101.zarr", "controls/pca-8", k=8)

A control is fitted on the store's *training* clips only (split ``train``), and saved as a checkpoint folder
(format ``latentanon-anonymizer``) that records the store's encoder, so the encoder check of every job applies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentanon.anonymizers.controls import CONTROLS, FORMAT, check_config, fit_arrays

MAX_FIT_TOKENS = 200_000  # training tokens read for the fit (an even subsample beyond this)


def training_tokens(store, max_tokens: int = MAX_FIT_TOKENS) -> np.ndarray:
    """(N, D) float64 tokens of the store's training clips (an even subsample when there are more than
    ``max_tokens``), read in chunk order."""
    rows = np.nonzero(store.videos["split"][store.clip_video_rows()] == "train")[0]
    if len(rows) == 0:
        raise ValueError(f"{store.path} has no training clips (split 'train') to fit a control on")
    tokens_per_clip = store.token_shape[0]
    if len(rows) * tokens_per_clip > max_tokens:
        rows = rows[np.linspace(0, len(rows) - 1, max(1, max_tokens // tokens_per_clip)).astype(np.int64)]
    tokens = store.tokens()
    parts = []
    for first, last in _runs(rows):  # one contiguous read per run of nearby rows, then the wanted rows of it
        block = np.asarray(tokens[first : last + 1])
        parts.append(block[rows[(rows >= first) & (rows <= last)] - first])
    x = np.concatenate(parts).reshape(-1, tokens.shape[-1]).astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{store.path} holds NaN or inf tokens in its training clips: re-extract the store")
    return x


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous row ranges ``(first, last)`` covering the sorted ``rows`` with few reads (gaps under 4096)."""
    runs, start, prev = [], int(rows[0]), int(rows[0])
    for r in rows[1:]:
        if r - prev > 4096:
            runs.append((start, prev))
            start = int(r)
        prev = int(r)
    runs.append((start, prev))
    return runs


def fit_control(
    control: str,
    store: str,
    out: str,
    k: int | None = None,
    sigma: float | None = None,
    seed: int = 0,
) -> Path:
    """Fit ``control`` on the training clips of the raw store ``store`` and save it as a checkpoint in ``out``.

    Args:
        control: one of :data:`CONTROLS`.
        k: rank of ``pca`` and ``random-projection``.
        sigma: noise standard deviation of ``noise``, in units of each dimension's training std.
        seed: seeds the random projection and the noise.

    Returns:
        The checkpoint folder.
    """
    from latentanon.checkpoint import save_checkpoint
    from latentanon.stores import open_store
    from latentanon.stores.schema import recipe_hash

    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; choose one of {', '.join(CONTROLS)}")
    if not Path(store).exists():
        raise FileNotFoundError(f"--store {store}: no such feature store")
    raw = open_store(store)
    if raw.recipe.get("anonymizer"):
        raise ValueError(f"{store} is an anonymized store; fit a control on the raw store it was made from")
    dim = raw.token_shape[1]
    check_config(control, dim, k, sigma)  # before reading anything
    x = training_tokens(raw)
    module = fit_arrays(control, x, k=k, sigma=sigma, seed=seed)
    meta = {
        "format": FORMAT,
        "name": control,
        "kind": "latent",
        "config": module.config,
        "encoder": raw.recipe.get("encoder"),
        "fitted_on": {"store": str(store), "recipe_hash": recipe_hash(raw.recipe), "tokens": int(len(x))},
    }
    return save_checkpoint(out, dict(module.state_dict()), meta)
