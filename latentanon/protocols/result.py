"""Typed results of the protocols: the metrics and the fitted head (which ``train_aam`` starts from)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn


@dataclass
class FittedHead:
    """A task head trained by a protocol, with the feature standardization it reads its input through.

    Attributes:
        task: ``ar``, ``tad`` or ``ad``.
        module: the head (``LinearHead``, ``TriDet`` or ``MGFN``), its best validation state loaded.
        config: the head's constructor config (``LinearHead``: ``{"feature_dim", "classes"}``; TriDet / MGFN:
            their config dataclasses as dicts).
        mu, sd: float32 (D,) training statistics the head's input is z-scored with, or None.
    """

    task: str
    module: nn.Module
    config: dict
    mu: torch.Tensor | None = None
    sd: torch.Tensor | None = None

    def __post_init__(self):
        if self.task not in ("ar", "tad", "ad"):
            raise ValueError(f"FittedHead.task must be 'ar', 'tad' or 'ad', got {self.task!r}")
        if (self.mu is None) != (self.sd is None):
            raise ValueError("FittedHead: give both mu and sd, or neither")
        if self.mu is not None:
            self.mu = torch.as_tensor(np.asarray(self.mu, np.float32))
            self.sd = torch.as_tensor(np.asarray(self.sd, np.float32))

    def standardize(self, features: torch.Tensor) -> torch.Tensor:
        """(..., D) features as the head reads them."""
        return (features - self.mu) / self.sd if self.mu is not None else features

    @property
    def max_seq_len(self) -> int:
        """TriDet's padded sequence length (TAD heads only)."""
        return int(self.config["max_seq_len"])

    def save(self, directory: str | Path, meta: dict) -> Path:
        """Write the head as a safetensors checkpoint (``latentanon.checkpoint``) with ``meta`` beside it."""
        from latentanon.checkpoint import save_checkpoint

        tensors = {f"head.{k}": v for k, v in self.module.state_dict().items()}
        if self.mu is not None:
            tensors["mu"], tensors["sd"] = self.mu, self.sd
        return save_checkpoint(directory, tensors, {**meta, "task": self.task, "config": self.config})

    @classmethod
    def load(cls, directory: str | Path) -> tuple[FittedHead, dict]:
        """Inverse of :meth:`save`: ``(head in eval mode, meta)``."""
        from latentanon.checkpoint import load_checkpoint

        tensors, meta = load_checkpoint(directory)
        task, config = meta.get("task"), meta.get("config")
        if task not in ("ar", "tad", "ad") or not isinstance(config, dict):
            raise ValueError(f"{directory}: not a fitted head checkpoint (task {task!r})")
        module = build_head(task, config)
        state = {k.removeprefix("head."): v for k, v in tensors.items() if k.startswith("head.")}
        module.load_state_dict(state)
        return cls(task, module.eval(), config, tensors.get("mu"), tensors.get("sd")), meta


def protocol_config(heads, val_fraction: float | None = None, seed: int | None = None) -> dict:
    """The settings a protocol ran with, as they read back from JSON (tuples as lists): ``{"heads", "val_fraction",
    "seed"}``, each key only when given. Reports carry it as ``config``; :func:`head_meta` as ``protocol``."""
    given = {"heads": dataclasses.asdict(heads), "val_fraction": val_fraction, "seed": seed}
    return json.loads(json.dumps({k: v for k, v in given.items() if v is not None}))


def head_meta(store, heads, val_fraction: float, seed: int, val: float | None = None) -> dict:
    """What identifies a fitted head: the store's recipe hash, the protocol settings and the seed (``val``, its
    validation figure, rides along). ``train_aam`` reuses a cached raw head only when these match."""
    meta = {"recipe_hash": store.recipe_hash, "seed": seed, "protocol": protocol_config(heads, val_fraction)}
    return meta if val is None else {**meta, "val": float(val)}


def head_matches(meta: dict, store, heads, val_fraction: float, seed: int) -> bool:
    """True when a saved head's ``meta`` was fitted on ``store`` with these settings (see :func:`head_meta`)."""
    want = head_meta(store, heads, val_fraction, seed)
    return all(meta.get(k) == v for k, v in want.items())


def build_head(task: str, config: dict) -> nn.Module:
    """A freshly initialised head of ``task`` from its config dict (see :class:`FittedHead`)."""
    from latentanon.heads import mgfn, tridet
    from latentanon.heads.linear import LinearHead

    if task == "ar":
        return LinearHead(int(config["feature_dim"]), int(config["classes"]))
    cls = tridet.TriDetConfig if task == "tad" else mgfn.MGFNConfig
    names = {f.name for f in dataclasses.fields(cls)}
    cfg = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k in names})
    return tridet.TriDet(cfg) if task == "tad" else mgfn.MGFN(cfg)


@dataclass
class ProtocolResult:
    """What a protocol returns.

    Attributes:
        task: ``ar``, ``tad``, ``ad`` or ``privacy``.
        metric: the headline metric (``top1``, ``average_mAP``, ``frame_auc``, ``cmap``); the report holds
            ``test_<metric>``, ``val_<val_metric>`` and ``chance_<metric>``.
        metrics: the JSON report (test and validation figures, chosen epoch, chance, split sizes, history).
        head: the fitted head (None for the privacy probe).
        predictions: AR only: ``{"videos": test video rows, "predicted": class per video}``.
    """

    task: str
    metric: str
    metrics: dict
    head: FittedHead | None = None
    predictions: dict | None = field(default=None, repr=False)

    @property
    def test(self) -> float:
        return float(self.metrics[f"test_{self.metric}"])

    @property
    def val(self) -> float:
        return float(self.metrics[f"val_{self.metrics.get('val_metric', self.metric)}"])
