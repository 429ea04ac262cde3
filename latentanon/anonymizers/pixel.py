"""Pixel anonymizers: video (B, T, C, H, W) RGB in [0, 1] -> video of the same shape, before the frozen encoder.

Only ``identity`` here (the contract's reference and the control of every pixel method); TeD-SPAD, SPAct and the
pixel baselines register beside it.
"""

from __future__ import annotations

import torch
from torch import nn

from latentanon.anonymizers import register_anonymizer


def check_pixel_input(video: torch.Tensor) -> None:
    """Validate a pixel anonymizer's input: float (B, T, C=3, H, W)."""
    if not isinstance(video, torch.Tensor) or video.ndim != 5 or video.shape[2] != 3:
        shape = tuple(video.shape) if isinstance(video, torch.Tensor) else type(video).__name__
        raise ValueError(f"a pixel anonymizer takes float RGB video (B, T, 3, H, W) in [0, 1], got {shape}")
    if not video.is_floating_point():
        raise ValueError(f"a pixel anonymizer takes float video in [0, 1], got dtype {video.dtype}")


class IdentityPixels(nn.Module):
    """Returns the video unchanged: a store made through it equals the raw store (tests, controls)."""

    kind = "pixel"
    name = "identity"

    def __init__(self):
        super().__init__()
        self.config: dict = {}

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) float in [0, 1] -> the same tensor values."""
        check_pixel_input(video)
        return video


@register_anonymizer("identity", kind="pixel")
def identity(checkpoint: str | None = None) -> IdentityPixels:
    if checkpoint:
        raise ValueError("the identity pixel anonymizer has no weights; drop --anonymizer-checkpoint")
    return IdentityPixels()
