"""The SPLAVU Anonymizing Adapter Module as a latent anonymizer (trained by ``python -m latentanon.train_aam``).

Its checkpoints are ``train_aam``'s ``OUT/best`` folders (format ``latentanon-aam``: the adapter's weights and
config, the encoder spec and the recipe hash of the store it was trained on).
"""

from __future__ import annotations

import torch
from torch import nn

from latentanon.aam import AAM
from latentanon.anonymizers import register_anonymizer


class SplavuAnonymizer(nn.Module):
    """A trained AAM with the latent anonymizer contract; ``meta`` is its checkpoint's config (encoder spec, ...)."""

    kind = "latent"
    name = "splavu"

    def __init__(self, aam: AAM, meta: dict | None = None):
        super().__init__()
        self.aam = aam
        self.meta = meta or {}
        self.config: dict = aam.cfg.to_dict()
        self.input = "features" if aam.cfg.mode == "paper-compat" else "tokens"
        self.batch_independent = bool(aam.batch_independent)

    @property
    def dim(self) -> int:
        return int(self.aam.cfg.dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, L, D) tokens (paper-compat: (B, 1, D) clip features) -> anonymized tokens of the same shape."""
        return self.aam(tokens)


@register_anonymizer("splavu", kind="latent")
def splavu(checkpoint: str | None = None) -> SplavuAnonymizer:
    from latentanon.checkpoint import load_aam

    if not checkpoint:
        raise ValueError("the splavu anonymizer needs a checkpoint: a train_aam run's OUT/best folder")
    aam, meta = load_aam(checkpoint)
    return SplavuAnonymizer(aam, meta)
