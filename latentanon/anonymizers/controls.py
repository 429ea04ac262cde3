"""Controls: what a user could do instead of training an adapter, as latent anonymizers fitted on a store.

METHOD.md ("Measuring privacy honestly"): a privacy gain is credited to a method only beside controls at the
same rank or the same utility. Each control is fitted on the *training* clips of a raw store (never test clips)
and saved as a checkpoint folder (``model.safetensors`` + ``config.json``, format ``latentanon-anonymizer``), so
``anonymize --anonymizer DIR``, ``evaluate --anonymizer DIR`` and every recipe take it like a SPLAVU adapter.

- ``pca``: project the tokens on the top-``k`` principal components of the training tokens and reconstruct:
  ``mu + (x - mu) V_k^T V_k`` (the rank-``k`` linear bottleneck with the least reconstruction error).
- ``random-projection``: the same with a random orthogonal ``k``-dimensional subspace (seeded) instead of the
  principal one: what rank alone removes.
- ``noise``: add Gaussian noise of ``sigma`` times each dimension's training standard deviation. The noise of a
  clip is drawn from a generator seeded by the control's seed and the clip's own values, so the output is
  deterministic and independent of the batch (a re-run writes the same store).
- ``temporal-mean``: subtract each clip's mean token and add back the training mean token: keeps only what moves
  within a clip. On the synthetic benchmark privacy is static appearance by construction; note that with a
  mean-pooling encoder the pooled clip feature *is* the clip's mean token, so every pooled-feature protocol then
  sees a constant (the control removes everything it can measure).

    python -m latentanon.fit_control --store stores/ucf101.zarr --control pca --k 8 --out controls/pca-8
    from latentanon.controls import fit_control            # fitting reads a store: latentanon/controls.py
    fit_control("pca", "stores/ucf101.zarr", "controls/pca-8", k=8)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from latentanon.anonymizers import register_anonymizer

FORMAT = "latentanon-anonymizer"
CONTROLS = ("pca", "random-projection", "noise", "temporal-mean")


class Control(nn.Module):
    """A fitted control: ``forward((B, L, D) tokens) -> (B, L, D)``; buffers hold what was fitted."""

    kind = "latent"
    input = "tokens"
    batch_independent = True

    def __init__(self, name: str, config: dict, mean: torch.Tensor, basis: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        self.name = name
        self.config = dict(config)
        self.register_buffer("mean", mean.float())  # (D,) training mean token
        self.register_buffer("basis", basis.float())  # (k, D) orthonormal rows (pca, random-projection), else (0, D)
        self.register_buffer("scale", scale.float())  # (D,) training standard deviation per dimension

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 3 or tokens.shape[-1] != self.dim:
            raise ValueError(f"{self.name} control expects (B, L, {self.dim}) tokens, got {tuple(tokens.shape)}")
        x = tokens.float()
        if self.name in ("pca", "random-projection"):
            return self.mean + ((x - self.mean) @ self.basis.T) @ self.basis
        if self.name == "temporal-mean":
            return x - x.mean(dim=1, keepdim=True) + self.mean
        return x + self.config["sigma"] * self.scale * _clip_noise(x, int(self.config["seed"]))


def _clip_noise(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Standard normal noise shaped like ``x``; each clip's from a generator seeded by ``seed`` and its values."""
    out = torch.empty_like(x)
    data = x.detach().cpu().contiguous().numpy()
    for i in range(len(x)):
        digest = hashlib.blake2b(data[i].tobytes(), digest_size=8, key=seed.to_bytes(8, "little", signed=True))
        g = torch.Generator().manual_seed(int.from_bytes(digest.digest(), "little") & (2**63 - 1))
        out[i] = torch.randn(x.shape[1:], generator=g)
    return out


# ------------------------------------------------------------------------------------------------ fitting


def check_config(control: str, dim: int, k: int | None, sigma: float | None) -> dict:
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; choose one of {', '.join(CONTROLS)}")
    if control in ("pca", "random-projection"):
        if k is None or not 1 <= int(k) <= dim:
            raise ValueError(f"the {control} control needs --k in 1..{dim} (the store's feature dimension), got {k}")
        return {"k": int(k)}
    if control == "noise":
        if sigma is None or not np.isfinite(sigma) or sigma < 0:
            raise ValueError(f"the noise control needs --sigma >= 0 (times each dimension's std), got {sigma}")
        return {"sigma": float(sigma)}
    return {}


def fit_arrays(control: str, x: np.ndarray, k: int | None = None, sigma: float | None = None, seed: int = 0) -> Control:
    """Fit ``control`` on (N, D) training tokens ``x``."""
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need (N >= 2, D) training tokens to fit a control, got shape {x.shape}")
    dim = x.shape[1]
    config = {**check_config(control, dim, k, sigma), "seed": int(seed)}
    mean = x.mean(0)
    scale = x.std(0)
    basis = np.zeros((0, dim))
    if control == "pca":
        centred = x - mean
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        basis = vt[: config["k"]]
        variance = (centred @ basis.T).var(0).sum() / centred.var(0).sum()
        config["explained_variance"] = float(variance)
    elif control == "random-projection":
        g = np.random.default_rng(seed)
        q, _ = np.linalg.qr(g.standard_normal((dim, config["k"])))
        basis = q.T
    t = {"mean": torch.from_numpy(mean), "basis": torch.from_numpy(basis), "scale": torch.from_numpy(scale)}
    return Control(control, config, **t)


def load_control(name: str, checkpoint: str | None) -> Control:
    """The fitted control ``name`` from its checkpoint folder."""
    from latentanon.checkpoint import load_checkpoint

    if not checkpoint:
        raise ValueError(
            f"the {name} control is fitted on a store's training clips: run "
            f"python -m latentanon.fit_control --control {name} --store STORE --out DIR, then pass DIR"
        )
    tensors, meta = load_checkpoint(checkpoint)
    if meta.get("format") != FORMAT or meta.get("name") != name:
        raise ValueError(f"{checkpoint} holds {meta.get('name')!r} ({meta.get('format')}), not a {name} control")
    missing = {"mean", "basis", "scale"} - set(tensors)
    if missing:
        raise ValueError(f"{checkpoint} lacks the tensors {sorted(missing)} of a {name} control")
    return Control(name, meta["config"], tensors["mean"], tensors["basis"], tensors["scale"])


def _builder(name: str):
    def build(checkpoint: str | None = None) -> Control:
        return load_control(name, checkpoint)

    build.__doc__ = f"The fitted {name} control from its checkpoint folder (see :func:`fit_control`)."
    return build


for _name in CONTROLS:
    register_anonymizer(_name, kind="latent")(_builder(_name))


def describe(config_json: str | Path) -> str:
    """A short label of a control checkpoint for tables: ``PCA-8``, ``random-proj-8``, ``noise 0.5``, ..."""
    meta = json.loads(Path(config_json).read_text())
    return label(meta["name"], meta["config"])


def label(name: str, config: dict) -> str:
    if name == "pca":
        return f"PCA-{config['k']}"
    if name == "random-projection":
        return f"random-proj-{config['k']}"
    if name == "noise":
        return f"noise {config['sigma']:g}"
    return "temporal-mean removal"
