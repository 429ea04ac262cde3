"""MGFN: weakly-supervised video anomaly detection on precomputed clip features.

"MGFN: Magnitude-Contrastive Glance-and-Focus Network for Weakly-Supervised Video Anomaly Detection",
Chen et al., AAAI 2023, arXiv:2211.15098; origin repository github.com/carolchenyx/MGFN. (docs/HEADS.md, "MGFN").

Input per video is a (T, C) sequence of 16-frame clip features. Training pools it into 32 segments and appends
each segment's L2 norm as one extra channel, (32, C+1); testing keeps every clip, (T, C+1). The released
UCF-Crime features have 10 crops and the released contrastive pairing splits them into crops 0-4 / 5-9; our
features are single-crop, so the crop axis is 1 and the same-class contrastive terms pair the first half of the
videos of a class with the second half instead.

Shapes: B videos, T clips (or S segments), C input features, D channels, K heads, Dh head dim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

REGULARIZERS = ("original", "community")
BLOCK_TYPES = ("glance", "focus")


@dataclass(frozen=True)
class MGFNConfig:
    in_dim: int = 2048  # C, clip feature width (without the norm channel)
    num_segments: int = 32
    dims: tuple[int, ...] = (64, 128, 1024)
    depths: tuple[int, ...] = (3, 3, 2)
    block_types: tuple[str, ...] = ("glance", "focus", "focus")
    head_dim: int = 64
    focus_kernel: int = 5
    ff_mult: int = 4
    norm_ratio: float = 0.1  # weight of the norm-channel conv in the feature amplification
    select_dropout: float = 0.7  # dropout on the magnitude mask before top-k
    k: int = 3
    margin: float = 200.0
    contrastive_weight: float = 1e-3  # on (between_weight * L_con + L_con_a + L_con_n)
    between_weight: float = 1e-3
    sparsity_weight: float = 8e-3
    smoothness_weight: float = 8e-4
    regularizers: str = "original"  # "original" (RTFM: abnormal half, flattened) | "community" (carolchenyx/MGFN#18)
    clip_len: int = 16  # frames per clip, for frame-level evaluation

    def __post_init__(self):
        if not len(self.dims) == len(self.depths) == len(self.block_types):
            raise ValueError(
                f"dims, depths, block_types need equal lengths, got {self.dims}, {self.depths}, {self.block_types}"
            )
        if any(d % self.head_dim for d in self.dims):
            raise ValueError(f"every entry of dims {self.dims} must be a multiple of head_dim {self.head_dim}")
        if unknown := set(self.block_types) - set(BLOCK_TYPES):
            raise ValueError(f"block_types must be in {BLOCK_TYPES}, got {sorted(unknown)}")
        if self.regularizers not in REGULARIZERS:
            raise ValueError(f"regularizers must be one of {REGULARIZERS}, got {self.regularizers!r}")
        if not 1 <= self.k <= self.num_segments:
            raise ValueError(f"k must be in [1, num_segments={self.num_segments}], got {self.k}")
        if not 0.0 <= self.select_dropout < 1.0:
            raise ValueError(f"select_dropout must be in [0, 1), got {self.select_dropout}")


def tiny_config(**overrides) -> MGFNConfig:
    """A CPU-second configuration for tests: 3 stages of one block, widths (8, 16, 32), head dim 4."""
    base = MGFNConfig(in_dim=12, dims=(8, 16, 32), depths=(1, 1, 1), head_dim=4)
    return replace(base, **overrides)


# ---------------------------------------------------------------- inputs


def _as_features(features, name: str = "features") -> Tensor:
    x = torch.as_tensor(np.asarray(features) if not isinstance(features, Tensor) else features)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (T, C) sequence, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {x.dtype}")
    return x.float()


def segment_pool(features, num_segments: int = 32) -> Tensor:
    """Mean-pool a clip sequence into segments with boundaries ``linspace(0, T, S+1)`` cast to int.

    A segment that holds no clip (T < S) copies the clip at its start, as the released code does.

    Args:
        features: (T, C) float clip features.
        num_segments: S.

    Returns:
        (S, C) float32.
    """
    x = _as_features(features)
    bounds = np.linspace(0, x.shape[0], num_segments + 1).astype(np.int64)
    rows = [x[a:b].mean(0) if b > a else x[a] for a, b in zip(bounds[:-1], bounds[1:])]
    return torch.stack(rows)  # (S, C)


def add_norm_channel(x: Tensor) -> Tensor:
    """Append the L2 norm of each row: (..., C) -> (..., C+1)."""
    return torch.cat([x, x.norm(dim=-1, keepdim=True)], dim=-1)


def train_input(features, num_segments: int = 32) -> Tensor:
    """(T, C) clip features -> (S, C+1) training input: segment means plus each segment's norm."""
    return add_norm_channel(segment_pool(features, num_segments))


def eval_input(features) -> Tensor:
    """(T, C) clip features -> (T, C+1) evaluation input: every clip plus its own norm."""
    return add_norm_channel(_as_features(features))


# ---------------------------------------------------------------- blocks


class ChannelNorm(nn.Module):
    """Layer norm over the channel axis of a (B, D, T) tensor (biased variance, eps 1e-5)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1, dim, 1))
        self.bias = nn.Parameter(torch.zeros(1, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, D, T) -> (B, D, T)."""
        var, mean = torch.var_mean(x, dim=1, unbiased=False, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias


class Glance(nn.Module):
    """Global multi-head self-attention over time (pre-norm), the released GLANCE block."""

    def __init__(self, dim: int, head_dim: int):
        super().__init__()
        self.heads, self.head_dim = dim // head_dim, head_dim
        self.norm = ChannelNorm(dim)
        self.to_qkv = nn.Conv1d(dim, 3 * dim, 1, bias=False)
        self.to_out = nn.Conv1d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, D, T) -> (B, D, T)."""
        b, d, t = x.shape
        q, k, v = self.to_qkv(self.norm(x)).chunk(3, dim=1)  # 3 x (B, K*Dh, T)
        q, k, v = (z.reshape(b, self.heads, self.head_dim, t).transpose(2, 3) for z in (q, k, v))  # (B, K, T, Dh)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, K, T, Dh), scale Dh^-0.5
        return self.to_out(out.transpose(2, 3).reshape(b, d, t))  # (B, D, T)


class Focus(nn.Module):
    """Local temporal aggregation: BN, 1x1 to K*Dh, a depthwise conv per head shared by its Dh channels, 1x1 back."""

    def __init__(self, dim: int, head_dim: int, kernel: int):
        super().__init__()
        self.heads, self.head_dim = dim // head_dim, head_dim
        self.norm = nn.BatchNorm1d(dim)
        self.to_v = nn.Conv1d(dim, dim, 1, bias=False)
        self.mix = nn.Conv1d(self.heads, self.heads, kernel, padding=kernel // 2, groups=self.heads)
        self.to_out = nn.Conv1d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, D, T) -> (B, D, T)."""
        b, d, t = x.shape
        # channel index = c * K + head, as the released 'b (c h) t -> (b c) h t'
        v = self.to_v(self.norm(x)).reshape(b * self.head_dim, self.heads, t)  # (B*Dh, K, T)
        return self.to_out(self.mix(v).reshape(b, d, t))  # (B, D, T)


class Block(nn.Module):
    """Conv k3 residual, mixer (glance or focus) residual, feed-forward (LN, 1x1 x4, GELU, 1x1) residual."""

    def __init__(self, dim: int, block_type: str, cfg: MGFNConfig):
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, padding=1)
        if block_type == "glance":
            self.mixer = Glance(dim, cfg.head_dim)
        else:
            self.mixer = Focus(dim, cfg.head_dim, cfg.focus_kernel)
        hidden = cfg.ff_mult * dim
        self.ff = nn.Sequential(ChannelNorm(dim), nn.Conv1d(dim, hidden, 1), nn.GELU(), nn.Conv1d(hidden, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, D, T) -> (B, D, T)."""
        x = self.conv(x) + x
        x = self.mixer(x) + x
        return self.ff(x) + x


# ---------------------------------------------------------------- model


class MGFN(nn.Module):
    """Glance-and-focus backbone, top-k magnitude selection and the MGFN loss."""

    def __init__(self, cfg: MGFNConfig):
        super().__init__()
        self.cfg = cfg
        d0 = cfg.dims[0]
        self.to_tokens = nn.Conv1d(cfg.in_dim, d0, 3, padding=1)
        self.to_mag = nn.Conv1d(1, d0, 3, padding=1)
        self.stages = nn.ModuleList(
            nn.Sequential(*(Block(dim, kind, cfg) for _ in range(depth)))
            for dim, depth, kind in zip(cfg.dims, cfg.depths, cfg.block_types)
        )
        self.transitions = nn.ModuleList(
            nn.Sequential(ChannelNorm(a), nn.Conv1d(a, b, 1)) for a, b in zip(cfg.dims[:-1], cfg.dims[1:])
        )
        self.out_norm = nn.LayerNorm(cfg.dims[-1])
        self.fc = nn.Linear(cfg.dims[-1], 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Embed and score every time step.

        Args:
            x: (B, T, C+1) float, features with the norm channel last.

        Returns:
            embeddings (B, T, D_last) after the output layer norm, and scores (B, T) in (0, 1).
        """
        x = x.transpose(1, 2)  # (B, C+1, T)
        h = self.to_tokens(x[:, :-1]) + self.cfg.norm_ratio * self.to_mag(x[:, -1:])  # (B, D0, T)
        for i, stage in enumerate(self.stages):
            h = stage(h)
            if i < len(self.transitions):
                h = self.transitions[i](h)
        emb = self.out_norm(h.transpose(1, 2))  # (B, T, D)
        return emb, torch.sigmoid(self.fc(emb)).squeeze(-1)  # (B, T, D), (B, T)

    def loss(self, batch: dict) -> dict[str, Tensor]:
        """MGFN training loss on a balanced batch.

        Args:
            batch: ``{"normal": (B, S, C+1), "abnormal": (B, S, C+1)}`` float tensors from ``train_input``.

        Returns:
            ``bce_loss``, ``contrastive_loss``, ``sparsity_loss``, ``smoothness_loss`` (the caller sums ``*_loss``)
            and detached diagnostics (raw contrastive terms, video scores).
        """
        normal, abnormal = batch["normal"], batch["abnormal"]
        want = (self.cfg.num_segments, self.cfg.in_dim + 1)
        for name, t in (("normal", normal), ("abnormal", abnormal)):
            if t.ndim != 3 or tuple(t.shape[1:]) != want:
                raise ValueError(f"batch[{name!r}] must be (B, {want[0]}, {want[1]}), got {tuple(t.shape)}")
        if normal.shape[0] != abnormal.shape[0]:
            raise ValueError(f"normal and abnormal need equal B, got {normal.shape[0]} and {abnormal.shape[0]}")
        emb, scores = self(torch.cat([normal, abnormal]))  # (2B, S, D), (2B, S)
        keep = F.dropout(torch.ones_like(scores), self.cfg.select_dropout, self.training)  # (2B, S)
        return loss_terms(scores, emb, keep, self.cfg)

    @torch.no_grad()
    def predict(self, features) -> Tensor:
        """Clip anomaly scores of one test video (the module is put in eval mode for the call).

        Args:
            features: (T, C) float clip features, without the norm channel.

        Returns:
            (T,) float32 scores in (0, 1).
        """
        x = eval_input(features)
        if x.shape[1] != self.cfg.in_dim + 1:
            raise ValueError(f"features must have C={self.cfg.in_dim} channels, got {x.shape[1] - 1}")
        was_training = self.training
        self.eval()
        try:
            _, scores = self(x[None].to(self.fc.weight.device))  # (1, T)
        finally:
            self.train(was_training)
        return scores[0].cpu()


# ---------------------------------------------------------------- loss


def select_topk(magnitudes: Tensor, keep: Tensor, k: int) -> Tensor:
    """Indices (B, k) of the k largest masked magnitudes per video; magnitudes and keep are (B, S)."""
    return torch.topk(magnitudes * keep, k, dim=1).indices


def _contrastive(a: Tensor, b: Tensor, dissimilar: bool, margin: float) -> Tensor:
    """Released ContrastiveLoss on rows of (N, k): d^2 for similar pairs, clamp(margin - d)^2 for dissimilar."""
    if a.shape[0] == 0:
        return a.new_zeros(())
    d = F.pairwise_distance(a, b)  # (N,), ||a - b + 1e-6||
    return (torch.clamp(margin - d, min=0) ** 2 if dissimilar else d**2).mean()


def loss_terms(scores: Tensor, embeddings: Tensor, keep: Tensor, cfg: MGFNConfig) -> dict[str, Tensor]:
    """The MGFN loss from model outputs; first half of the batch normal, second half abnormal.

    Args:
        scores: (2B, S) segment probabilities.
        embeddings: (2B, S, D) segment embeddings; their L2 norm is the feature magnitude.
        keep: (2B, S) dropout mask of ones (0 = dropped, kept entries may be scaled).
        cfg: weights, k, margin and the regulariser variant.

    Returns:
        Dict of scalar ``*_loss`` terms plus detached diagnostics.
    """
    n = scores.shape[0] // 2
    idx = select_topk(embeddings.norm(dim=-1), keep, cfg.k)  # (2B, k)
    video_scores = scores.gather(1, idx).mean(1)  # (2B,)
    labels = torch.cat([torch.zeros(n), torch.ones(n)]).to(scores)
    bce = F.binary_cross_entropy(video_scores, labels)

    picked = embeddings.gather(1, idx[..., None].expand(-1, -1, embeddings.shape[-1]))  # (2B, k, D)
    l1 = picked.abs().sum(-1)  # (2B, k) L1 magnitudes
    l1_n, l1_a = l1[:n], l1[n:]
    h = n // 2  # same-class pairs: first half of a class against its second half (odd B: last video unpaired)
    con = _contrastive(l1_a, l1_n, True, cfg.margin)
    con_n = _contrastive(l1_n[h : 2 * h], l1_n[:h], False, cfg.margin)
    con_a = _contrastive(l1_a[h : 2 * h], l1_a[:h], False, cfg.margin)
    contrastive = cfg.contrastive_weight * (cfg.between_weight * con + con_a + con_n)

    if cfg.regularizers == "original":  # RTFM: abnormal half, flattened across videos
        flat = scores[n:].reshape(-1)  # (B*S,)
        sparsity = flat.norm()
        smoothness = ((flat[1:] - flat[:-1]) ** 2).sum()
    else:  # carolchenyx/MGFN#18: sparsity on the normal half, smoothness within each of the 2B videos
        sparsity = scores[:n].reshape(-1).norm()  # (B*S,) -> ()
        smoothness = ((scores[:, 1:] - scores[:, :-1]) ** 2).sum()
    return {
        "bce_loss": bce,
        "contrastive_loss": contrastive,
        "sparsity_loss": cfg.sparsity_weight * sparsity,
        "smoothness_loss": cfg.smoothness_weight * smoothness,
        "contrastive_between": con.detach(),
        "contrastive_normal": con_n.detach(),
        "contrastive_abnormal": con_a.detach(),
        "video_scores": video_scores.detach(),
    }


# ---------------------------------------------------------------- evaluation


def frame_scores(clip_scores: Sequence, frame_labels, clip_len: int = 16) -> np.ndarray:
    """Repeat each video's clip scores ``clip_len`` times and concatenate them in list order.

    Args:
        clip_scores: per test video, (T_i,) clip scores, in the order of the ground truth.
        frame_labels: (N,) frame ground truth of all videos concatenated; N must equal clip_len * sum(T_i).
        clip_len: frames per clip.

    Returns:
        (N,) float64 frame scores.
    """
    parts = []
    for i, s in enumerate(clip_scores):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 1:
            raise ValueError(f"clip_scores[{i}] must be 1-D (T,), got shape {s.shape}")
        parts.append(np.repeat(s, clip_len))  # (T_i * clip_len,)
    frames = np.concatenate(parts) if parts else np.zeros(0)  # (N,)
    n_labels = np.asarray(frame_labels).size
    if len(frames) != n_labels:
        raise ValueError(
            f"frame ground truth has {n_labels} frames but {len(parts)} videos give {len(frames)} "
            f"({clip_len} x {len(frames) // clip_len} clips); the ground truth must match the clip features"
        )
    return frames
