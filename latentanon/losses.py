"""Loss functions of the anonymization methods (pure functions of tensors).

- :func:`nt_xent`: SimCLR's normalised-temperature cross entropy; SPLAVU's budget (privacy) loss, maximised.
- :func:`latent_consistency`: mean squared distance between raw and anonymized features (SPLAVU's L_LC).
- :func:`temporal_triplet`: TeD-SPAD's temporally-distinct triplet loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1, center: bool = False) -> torch.Tensor:
    """NT-Xent between paired views, every other sample of the batch a negative (SimCLR).

    Args:
        z1: (B, D) first view of each of B samples (e.g. a static clip of each video).
        z2: (B, D) second view, same order.
        temperature: tau of the cosine-similarity softmax (SPLAVU: 0.1).
        center: subtract the batch mean of the 2B embeddings before the cosine. The published loss does not; it
            lets an adapter satisfy the loss with a constant offset (see METHOD.md, "Measuring privacy honestly").

    Returns:
        Scalar mean loss over the 2B anchors. Its maximum for a batch of B pairs is about ``log(2B - 1)``
        (:func:`nt_xent_ceiling`).
    """
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"nt_xent needs two (B, D) tensors of one shape, got {tuple(z1.shape)}, {tuple(z2.shape)}")
    if len(z1) < 2:
        raise ValueError(f"nt_xent needs at least 2 pairs (the other pairs are the negatives), got {len(z1)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = torch.cat([z1, z2], dim=0).float()  # (2B, D)
    if center:
        z = z - z.mean(dim=0, keepdim=True)
    z = F.normalize(z, dim=1)
    sim = z @ z.T / temperature  # (2B, 2B)
    n = len(z1)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)  # each view's partner
    return F.cross_entropy(sim, target)


def nt_xent_ceiling(batch_pairs: int) -> float:
    """log(2B - 1): NT-Xent when the positive is no closer than any negative (uniform softmax over 2B - 1)."""
    return math.log(2 * batch_pairs - 1)


def latent_consistency(raw: torch.Tensor, anonymized: torch.Tensor) -> torch.Tensor:
    """Mean squared error between raw and anonymized features (any matching shapes), SPLAVU's L_LC."""
    if raw.shape != anonymized.shape:
        raise ValueError(f"latent consistency needs equal shapes, got {tuple(raw.shape)} and {tuple(anonymized.shape)}")
    return F.mse_loss(anonymized.float(), raw.float())


def temporal_triplet(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 1.0
) -> torch.Tensor:
    """TeD-SPAD's temporally-distinct triplet loss, mean over the batch.

    ``max(d(anchor, positive) - d(anchor, negative) + margin, 0)`` with Euclidean d: the same time step under
    another augmentation is the positive, a clip at another time of the same video the negative.

    Args:
        anchor, positive, negative: (B, D) embeddings.
        margin: mu (TeD-SPAD: 1).
    """
    if not (anchor.shape == positive.shape == negative.shape) or anchor.ndim != 2:
        raise ValueError(
            f"temporal_triplet needs three (B, D) tensors of one shape, got {tuple(anchor.shape)}, "
            f"{tuple(positive.shape)}, {tuple(negative.shape)}"
        )
    d_pos = (anchor - positive).norm(dim=1)
    d_neg = (anchor - negative).norm(dim=1)
    return F.relu(d_pos - d_neg + margin).mean()
