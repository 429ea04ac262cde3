"""Linear action-recognition head (the SPLAVU utility head for AR, and the standard linear probe).

Linear(D, classes) with cross-entropy on pooled clip features. Training samples one random clip per video;
evaluation averages the softmax over 5 evenly spaced clips per video (``latentanon.metrics.video_top1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LinearConfig:
    """Optimisation of the linear head (AdamW; the epoch is chosen on a validation split)."""

    epochs: int = 100  # training epochs (one random clip per video each); the best validation epoch is kept
    lr: float = 1e-3  # AdamW learning rate
    weight_decay: float = 1e-4  # AdamW weight decay
    batch_size: int = 256  # videos per step


class LinearHead(nn.Module):
    """Linear(D, classes) on pooled clip features."""

    def __init__(self, feature_dim: int, classes: int):
        super().__init__()
        if feature_dim <= 0 or classes < 2:
            raise ValueError(f"need feature_dim > 0 and at least 2 classes, got {feature_dim} and {classes}")
        self.fc = nn.Linear(feature_dim, classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, D) float -> logits (B, classes)."""
        return self.fc(features)

    def loss(self, batch: dict) -> dict:
        """Cross-entropy of ``batch["features"]`` (B, D) against ``batch["labels"]`` (B,) int64.

        Returns:
            ``{"ce_loss": scalar, "accuracy": scalar (detached)}``.
        """
        logits = self(batch["features"])
        labels = batch["labels"]
        return {
            "ce_loss": nn.functional.cross_entropy(logits, labels),
            "accuracy": (logits.argmax(-1) == labels).float().mean().detach(),
        }

    @torch.no_grad()
    def predict_proba(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, D) -> class probabilities (B, classes)."""
        return self(features).softmax(-1)
