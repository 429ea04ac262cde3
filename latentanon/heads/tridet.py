"""TriDet temporal action detection head on per-video (T, D) clip features.

Paper: Shi et al., "TriDet: Temporal Action Detection with Relative Boundary Modeling", CVPR 2023,
arXiv:2303.07347; origin repository github.com/dingfengshi/TriDet (built on ActionFormer). Semantics follow
docs HEADS.md ("TriDet"); the code is our own. Times inside the model are in grid units (one unit = one feature
step of ``feat_stride`` frames); ``seconds_to_grid`` / ``grid_to_seconds`` convert at the boundary.

Batch layout for ``TriDet.loss``: ``features`` (B, T, D) float, ``mask`` (B, T) bool (True = real clip),
``segments`` list of B float tensors (K_i, 2) in grid units, ``labels`` list of B long tensors (K_i,).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TriDetConfig:
    """TriDet defaults (THUMOS14 configuration of the released code, stride for our 16-frame clips)."""

    input_dim: int = 2048
    num_classes: int = 20
    embed_dim: int = 512
    mlp_dim: int = 768  # SGP feed-forward width
    head_dim: int = 512
    head_layers: int = 3  # conv layers per head, the last one being the output layer
    stem_blocks: int = 2
    branch_blocks: int = 5  # each halves the length: branch_blocks + 1 FPN levels
    sgp_window: int = 1  # window-level kernel (released THUMOS config n_sgp_win_size 1)
    sgp_k: float = 5.0  # the wide kernel is round((window + 1) * k), made odd
    sgp_init_std: float = 0.0  # THUMOS default: token-mixing convs start (and stay) at zero
    path_drop: float = 0.1
    regression_ranges: tuple[tuple[float, float], ...] = (
        (0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, math.inf),
    )  # fmt: skip
    num_bins: int = 16
    boundary_kernel: int = 3
    center_sample_radius: float = 1.5
    iou_weight_power: float = 0.2
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    reg_loss_weight: float = 1.0
    loss_norm_momentum: float = 0.9
    loss_norm_init: float = 100.0
    prior_prob: float = 0.01  # classification bias -log((1 - p) / p) = -log(99)
    feat_stride: int = 16  # frames between features (our non-overlapping 16-frame clips)
    num_frames: int = 16  # frames per feature window
    fps: float = 30.0
    max_seq_len: int = 2304
    score_thresh: float = 0.001
    pre_nms_topk: int = 2000
    min_length: float = 0.05  # grid units
    nms_sigma: float = 0.5
    min_score: float = 0.001
    max_segments: int = 2000

    def __post_init__(self):
        if len(self.regression_ranges) != self.branch_blocks + 1:
            raise ValueError(
                f"regression_ranges needs one range per FPN level ({self.branch_blocks + 1}), "
                f"got {len(self.regression_ranges)}"
            )


def tiny_config(**overrides) -> TriDetConfig:
    """A 3-level, 32-wide TriDet that trains on CPU in seconds (tests)."""
    base = dict(
        input_dim=16, num_classes=3, embed_dim=32, mlp_dim=48, head_dim=32, branch_blocks=2,
        regression_ranges=((0, 4), (4, 8), (8, math.inf)), num_bins=8, path_drop=0.0, sgp_init_std=0.1,
        max_seq_len=64,
    )  # fmt: skip
    base.update(overrides)
    return TriDetConfig(**base)


# ---------------------------------------------------------------------------------------------- time grid


def seconds_to_grid(t, fps: float, stride: int, num_frames: int):
    """Seconds -> grid units, ``(t * fps - 0.5 * num_frames) / stride`` (feature i centred on frame i*stride + w/2)."""
    return (np.asarray(t, dtype=np.float64) * fps - 0.5 * num_frames) / stride


def grid_to_seconds(g, fps: float, stride: int, num_frames: int, duration: float | None = None):
    """Grid units -> seconds, ``(g * stride + 0.5 * num_frames) / fps``, clipped to [0, duration] when given."""
    t = (np.asarray(g, dtype=np.float64) * stride + 0.5 * num_frames) / fps
    return np.clip(t, 0.0, duration if duration is not None else np.inf)


# ---------------------------------------------------------------------------------------------- blocks


class ChannelNorm(nn.Module):
    """LayerNorm over the channel axis of (B, D, T)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, D, T) -> (B, D, T)."""
        return self.norm(x.transpose(1, 2)).transpose(1, 2)  # (B, T, D) -> (B, D, T)


def _drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if p == 0.0 or not training:
        return x
    keep = (torch.rand(x.shape[0], 1, 1, device=x.device) >= p).to(x.dtype)  # (B, 1, 1)
    return x * keep / (1.0 - p)


class SGPBlock(nn.Module):
    """Scalable-granularity perception block, optionally downsampling by 2 (max-pool k3 s2) first."""

    def __init__(self, cfg: TriDetConfig, downsample: bool):
        super().__init__()
        d, w = cfg.embed_dim, cfg.sgp_window
        wide = round((w + 1) * cfg.sgp_k)
        wide += 1 - wide % 2  # odd, so the padding keeps the length
        self.pool = nn.MaxPool1d(3, stride=2, padding=1) if downsample else None
        self.ln = ChannelNorm(d)
        self.fc = nn.Conv1d(d, d, 1, groups=d)  # instant-level branch
        self.global_fc = nn.Conv1d(d, d, 1, groups=d)
        self.conv_w = nn.Conv1d(d, d, w, padding=w // 2, groups=d)  # window-level branch
        self.conv_kw = nn.Conv1d(d, d, wide, padding=wide // 2, groups=d)
        self.psi = nn.Conv1d(d, d, w, padding=w // 2, groups=d)
        for conv in (self.fc, self.global_fc, self.conv_w, self.conv_kw, self.psi):
            nn.init.normal_(conv.weight, 0.0, cfg.sgp_init_std)
            nn.init.zeros_(conv.bias)
        self.gn = nn.GroupNorm(16, d)
        self.mlp = nn.Sequential(nn.Conv1d(d, cfg.mlp_dim, 1), nn.GELU(), nn.Conv1d(cfg.mlp_dim, d, 1))
        self.scale_mix = nn.Parameter(torch.full((1, d, 1), 1e-4))  # affine drop path scales
        self.scale_mlp = nn.Parameter(torch.full((1, d, 1), 1e-4))
        self.path_drop = cfg.path_drop

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, D, T) float, mask: (B, 1, T) float -> (B, D, T'), (B, 1, T') with T' = T/2 when downsampling."""
        if self.pool is not None:
            x = self.pool(x)  # (B, D, T/2); T is a multiple of 2 here
            mask = mask[:, :, ::2]  # (B, 1, T/2)
        out = self.ln(x)
        # global context from real clips only (the released code also averages the padding)
        mean = (out * mask).sum(-1, keepdim=True) / mask.sum(-1, keepdim=True).clamp(min=1.0)  # (B, D, 1)
        phi = torch.relu(self.global_fc(mean))
        out = self.fc(out) * phi + (self.conv_w(out) + self.conv_kw(out)) * self.psi(out) + out
        out = x * mask + _drop_path(self.scale_mix * out, self.path_drop, self.training)
        out = out + _drop_path(self.scale_mlp * self.mlp(self.gn(out)), self.path_drop, self.training)
        return out * mask, mask


class Head(nn.Module):
    """(layers - 1) x [masked conv, channel LN, ReLU], then an output conv; shared across FPN levels."""

    def __init__(self, cfg: TriDetConfig, out_dim: int, kernel: int = 3, bias: float = 0.0):
        super().__init__()
        dims = [cfg.embed_dim] + [cfg.head_dim] * (cfg.head_layers - 1)
        self.convs = nn.ModuleList(
            nn.Conv1d(a, b, kernel, padding=kernel // 2, bias=False) for a, b in zip(dims, dims[1:])
        )
        self.norms = nn.ModuleList(ChannelNorm(b) for b in dims[1:])
        self.out = nn.Conv1d(dims[-1], out_dim, kernel, padding=kernel // 2)
        nn.init.constant_(self.out.bias, bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, D, T), mask: (B, 1, T) -> (B, out_dim, T), zero on padding."""
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x) * mask))
        return self.out(x) * mask


# ---------------------------------------------------------------------------------------------- decoding


def trident_decode(reg: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Trident-head distances of each point to its segment's start and end, per class, in level-stride units.

    The left distance is the expectation over B+1 bins of softmax(start logits of the points t-B..t + the
    centre-offset logits), bin j (point t-B+j) weighted B-j; the right side uses the end logits of t..t+B
    weighted j. Neighbours outside the sequence have logit 0.

    Args:
        reg: (B, T, 2, B+1) centre-offset logits (left, right); start, end: (B, T, C) boundary logits.

    Returns:
        (B, T, C, 2) non-negative (left, right) distances.
    """
    nb = reg.shape[-1] - 1
    left_nb = F.pad(start, (0, 0, nb, 0)).unfold(1, nb + 1, 1)  # (B, T + nb, C) -> (B, T, C, nb+1), j -> t-nb+j
    right_nb = F.pad(end, (0, 0, 0, nb)).unfold(1, nb + 1, 1)  # (B, T, C, nb+1), j -> t+j
    bins = torch.arange(nb + 1, device=reg.device, dtype=reg.dtype)
    left = (torch.softmax(left_nb + reg[:, :, None, 0, :], dim=-1) * (nb - bins)).sum(-1)  # (B, T, C)
    right = (torch.softmax(right_nb + reg[:, :, None, 1, :], dim=-1) * bins).sum(-1)  # (B, T, C)
    return torch.stack([left, right], dim=-1)  # (B, T, C, 2)


# ---------------------------------------------------------------------------------------------- targets & losses


def make_points(lengths: list[int], ranges, device=None) -> torch.Tensor:
    """Points t = 0, s, 2s, ... of every level (stride s = 2^l), as rows (t, range_lo, range_hi, s): (P, 4)."""
    rows = []
    for level, (n, (lo, hi)) in enumerate(zip(lengths, ranges)):
        s = 2.0**level
        t = torch.arange(n, dtype=torch.float32, device=device) * s  # (T_l,)
        rows.append(torch.stack([t, torch.full_like(t, lo), torch.full_like(t, hi), torch.full_like(t, s)], -1))
    return torch.cat(rows)  # (P, 4)


def assign_labels(
    points: torch.Tensor, segments: torch.Tensor, labels: torch.Tensor, num_classes: int, radius: float = 1.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre sampling plus regression ranges; among several matching segments the shortest wins.

    Args:
        points: (P, 4) from ``make_points``; segments: (K, 2) grid units; labels: (K,) long in [0, num_classes).

    Returns:
        cls_targets (P, C) 0/1 float (ties in length within 1e-3 all count) and reg_targets (P, 2): the
        (left, right) distances to the winning segment divided by the point's stride (zeros where negative).
    """
    num_points = points.shape[0]
    if segments.numel() == 0:
        return points.new_zeros(num_points, num_classes), points.new_zeros(num_points, 2)
    t, lo, hi, stride = (points[:, i : i + 1] for i in range(4))  # each (P, 1)
    s, e = segments[None, :, 0], segments[None, :, 1]  # (1, K)
    left, right = t - s, e - t  # (P, K)
    centre = 0.5 * (s + e)
    c_left = t - torch.maximum(centre - radius * stride, s)
    c_right = torch.minimum(centre + radius * stride, e) - t
    inside = torch.minimum(c_left, c_right) > 0  # (P, K)
    reach = torch.maximum(left, right)
    in_range = (reach >= lo) & (reach <= hi)
    lengths = (e - s).expand(num_points, -1).masked_fill(~(inside & in_range), math.inf)  # (P, K)
    shortest, winner = lengths.min(dim=1)  # (P,)
    chosen = (lengths <= shortest[:, None] + 1e-3) & torch.isfinite(shortest)[:, None]  # (P, K)
    onehot = F.one_hot(labels.long(), num_classes).to(points.dtype)  # (K, C)
    cls_targets = (chosen.to(points.dtype) @ onehot).clamp(max=1.0)  # (P, C)
    rows = torch.arange(num_points, device=points.device)
    reg = torch.stack([left[rows, winner], right[rows, winner]], -1) / stride  # (P, 2)
    reg = reg * torch.isfinite(shortest)[:, None]
    return cls_targets, reg


def offsets_iou(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """IoU of segments given as (left, right) distances from the same point: (E, 2), (E, 2) -> (E,)."""
    inter = torch.minimum(pred[:, 0], target[:, 0]) + torch.minimum(pred[:, 1], target[:, 1])
    union = pred.sum(1) + target.sum(1) - inter
    return inter / union.clamp(min=eps)


def diou_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """1 - IoU + (centre distance / enclosing length)^2 per pair of (left, right) offsets: (E,)."""
    enclosing = torch.maximum(pred[:, 0], target[:, 0]) + torch.maximum(pred[:, 1], target[:, 1])
    rho = 0.5 * (pred[:, 1] - pred[:, 0] - target[:, 1] + target[:, 0])
    return 1.0 - offsets_iou(pred, target, eps) + (rho / enclosing.clamp(min=eps)) ** 2


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Element-wise focal loss with (possibly soft) targets in [0, 1]."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * ce * (1 - p_t) ** gamma


# ---------------------------------------------------------------------------------------------- NMS


def soft_nms(segments: np.ndarray, scores: np.ndarray, labels: np.ndarray, sigma=0.5, min_score=0.001, max_num=2000):
    """Per-class Gaussian Soft-NMS: repeatedly keep the best segment and decay the rest by exp(-IoU^2 / sigma).

    Args:
        segments: (K, 2) float; scores: (K,); labels: (K,) int.

    Returns:
        (segments, scores, labels) of at most ``max_num`` kept entries, scores >= min_score, best first.
    """
    out_seg, out_score, out_label = [], [], []
    for c in np.unique(labels):
        idx = np.nonzero(labels == c)[0]
        seg, sc = segments[idx].astype(np.float64), scores[idx].astype(np.float64).copy()
        alive = sc >= min_score
        seg, sc = seg[alive], sc[alive]
        while len(sc):
            best = int(np.argmax(sc))
            out_seg.append(seg[best]), out_score.append(sc[best]), out_label.append(c)
            seg, sc = np.delete(seg, best, 0), np.delete(sc, best)
            inter = np.clip(np.minimum(seg[:, 1], out_seg[-1][1]) - np.maximum(seg[:, 0], out_seg[-1][0]), 0, None)
            union = (seg[:, 1] - seg[:, 0]) + (out_seg[-1][1] - out_seg[-1][0]) - inter
            iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
            sc = sc * np.exp(-(iou**2) / sigma)
            seg, sc = seg[sc >= min_score], sc[sc >= min_score]
    if not out_score:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.argsort(-np.asarray(out_score), kind="stable")[:max_num]
    return np.asarray(out_seg)[order], np.asarray(out_score)[order], np.asarray(out_label, dtype=np.int64)[order]


# ---------------------------------------------------------------------------------------------- model


class TriDet(nn.Module):
    """Embedding -> SGP stem -> SGP pyramid -> shared cls / boundary / regression heads."""

    def __init__(self, cfg: TriDetConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.embed = nn.ModuleList(
            [nn.Conv1d(cfg.input_dim, d, 3, padding=1, bias=False), nn.Conv1d(d, d, 3, padding=1, bias=False)]
        )
        self.embed_norm = nn.ModuleList([ChannelNorm(d), ChannelNorm(d)])
        self.stem = nn.ModuleList(SGPBlock(cfg, downsample=False) for _ in range(cfg.stem_blocks))
        self.branch = nn.ModuleList(SGPBlock(cfg, downsample=True) for _ in range(cfg.branch_blocks))
        prior = -math.log((1 - cfg.prior_prob) / cfg.prior_prob)
        self.cls_head = Head(cfg, cfg.num_classes, bias=prior)
        self.start_head = Head(cfg, cfg.num_classes, kernel=cfg.boundary_kernel)
        self.end_head = Head(cfg, cfg.num_classes, kernel=cfg.boundary_kernel)
        self.reg_head = Head(cfg, 2 * (cfg.num_bins + 1))
        self.reg_scale = nn.Parameter(torch.ones(cfg.branch_blocks + 1))
        self.register_buffer("loss_normalizer", torch.tensor(cfg.loss_norm_init))

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """Per-level outputs.

        Args:
            features: (B, T, D) float; mask: (B, T) bool, True on real clips. T is padded internally to a
                multiple of 2^(levels - 1).

        Returns:
            dict of per-level lists: ``cls`` (B, T_l, C) logits, ``offsets`` (B, T_l, C, 2) Trident distances in
            level-stride units, ``mask`` (B, T_l) bool.
        """
        if features.ndim != 3 or features.shape[-1] != self.cfg.input_dim:
            raise ValueError(f"features must be (B, T, {self.cfg.input_dim}), got {tuple(features.shape)}")
        if mask.shape != features.shape[:2]:
            raise ValueError(f"mask must be (B, T) = {tuple(features.shape[:2])}, got {tuple(mask.shape)}")
        multiple = 2**self.cfg.branch_blocks
        pad = -features.shape[1] % multiple
        x = F.pad(features, (0, 0, 0, pad)).transpose(1, 2)  # (B, D, T)
        m = F.pad(mask, (0, pad))[:, None].to(x.dtype)  # (B, 1, T)
        for conv, norm in zip(self.embed, self.embed_norm):
            x = torch.relu(norm(conv(x) * m))
        for block in self.stem:
            x, m = block(x, m)
        levels = [(x, m)]
        for block in self.branch:
            x, m = block(x, m)
            levels.append((x, m))
        out = {"cls": [], "offsets": [], "mask": []}
        for level, (x, m) in enumerate(levels):
            reg = torch.relu(self.reg_scale[level] * self.reg_head(x, m))  # (B, 2(nb+1), T_l)
            reg = reg.transpose(1, 2).unflatten(-1, (2, -1))  # (B, T_l, 2, nb+1)
            start = self.start_head(x.detach(), m).transpose(1, 2)  # (B, T_l, C)
            end = self.end_head(x.detach(), m).transpose(1, 2)  # (B, T_l, C)
            out["cls"].append(self.cls_head(x, m).transpose(1, 2))  # (B, T_l, C)
            out["offsets"].append(trident_decode(reg, start, end))  # (B, T_l, C, 2)
            out["mask"].append(m[:, 0].bool())  # (B, T_l)
        return out

    def loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """Focal classification (IoU^power soft targets) and DIoU regression, both over an EMA of positives.

        Args:
            batch: ``features``, ``mask``, ``segments``, ``labels`` as in the module docstring.

        Returns:
            ``cls_loss``, ``reg_loss`` (already weighted; the caller sums ``*_loss``), ``num_pos``.
        """
        cfg = self.cfg
        out = self(batch["features"], batch["mask"])
        points = make_points([c.shape[1] for c in out["cls"]], cfg.regression_ranges, batch["features"].device)
        targets = [
            assign_labels(points, seg.to(points), lab, cfg.num_classes, cfg.center_sample_radius)
            for seg, lab in zip(batch["segments"], batch["labels"])
        ]
        gt_cls = torch.stack([c for c, _ in targets])  # (B, P, C)
        gt_reg = torch.stack([r for _, r in targets])  # (B, P, 2)
        logits = torch.cat(out["cls"], 1)  # (B, P, C)
        offsets = torch.cat(out["offsets"], 1)  # (B, P, C, 2)
        valid = torch.cat(out["mask"], 1)  # (B, P)
        pos = (gt_cls > 0) & valid[..., None]  # (B, P, C): positive (point, class) entries
        num_pos = ((gt_cls.sum(-1) > 0) & valid).sum()
        if self.training:
            m = cfg.loss_norm_momentum
            self.loss_normalizer.mul_(m).add_((1 - m) * num_pos.clamp(min=1).to(self.loss_normalizer))
        pred = offsets[pos]  # (E, 2)
        tgt = gt_reg[:, :, None, :].expand_as(offsets)[pos]  # (B, P, 1, 2) -> (B, P, C, 2) -> (E, 2)
        soft = gt_cls.clone()
        # positives aim at IoU^power of their decoded segment (detached; clamped so IoU = 0 stays finite)
        soft[pos] = offsets_iou(pred.detach(), tgt).clamp(min=1e-6) ** cfg.iou_weight_power
        cls_loss = sigmoid_focal_loss(logits[valid], soft[valid], cfg.focal_alpha, cfg.focal_gamma).sum()
        reg_loss = diou_loss(pred, tgt).sum() if pred.shape[0] else offsets.sum() * 0.0
        norm = self.loss_normalizer
        return {"cls_loss": cls_loss / norm, "reg_loss": cfg.reg_loss_weight * reg_loss / norm, "num_pos": num_pos}

    @torch.no_grad()
    def predict(self, features: torch.Tensor, mask: torch.Tensor, durations=None, fps=None) -> list[list[tuple]]:
        """Detections per video in seconds.

        Args:
            features: (B, T, D); mask: (B, T) bool; durations: optional (B,) seconds to clip to (default: the end
                of the last real clip).
            fps: optional (B,) frame rates the features were extracted at (default: ``cfg.fps`` for every video);
                must be the rates the training targets were converted with (:func:`seconds_to_grid`).

        Returns:
            per video a list of (label, start_s, end_s, score), best first.
        """
        cfg = self.cfg
        out = self(features, mask)
        results = []
        for i in range(features.shape[0]):
            segs, scores, labels = [], [], []
            for level, (cls, off, m) in enumerate(zip(out["cls"], out["offsets"], out["mask"])):
                stride = 2**level
                prob = (torch.sigmoid(cls[i]) * m[i, :, None]).flatten()  # (T_l, C) -> (T_l * C,)
                keep = torch.nonzero(prob > cfg.score_thresh)[:, 0]
                keep = keep[prob[keep].argsort(descending=True)[: cfg.pre_nms_topk]]
                pt, c = keep // cls.shape[-1], keep % cls.shape[-1]
                d = off[i, pt, c]  # (K, 2)
                t = pt.to(d.dtype) * stride
                seg = torch.stack([t - d[:, 0] * stride, t + d[:, 1] * stride], -1)  # (K, 2) grid units
                long_enough = (seg[:, 1] - seg[:, 0]) > cfg.min_length
                segs.append(seg[long_enough]), scores.append(prob[keep][long_enough]), labels.append(c[long_enough])
            seg, score, label = soft_nms(
                torch.cat(segs).cpu().numpy(), torch.cat(scores).cpu().numpy(), torch.cat(labels).cpu().numpy(),
                cfg.nms_sigma, cfg.min_score, cfg.max_segments,
            )  # fmt: skip
            n_real = int(mask[i].sum())
            rate = float(fps[i]) if fps is not None else cfg.fps
            dur = durations[i] if durations is not None else ((n_real - 1) * cfg.feat_stride + cfg.num_frames) / rate
            sec = grid_to_seconds(seg, rate, cfg.feat_stride, cfg.num_frames, dur)
            results.append([(int(c), float(a), float(b), float(s)) for c, (a, b), s in zip(label, sec, score)])
        return results


def random_crop(
    features: torch.Tensor,
    segments: torch.Tensor,
    labels: torch.Tensor,
    max_seq_len: int,
    generator=None,
    tries: int = 200,
):
    """Training crop: length in [0.9T, T] (or a max_seq_len window) keeping >= 50% of some ground-truth segment.

    Args:
        features: (T, D); segments: (K, 2) grid units; labels: (K,).

    Returns:
        (features (T', D), segments clipped and shifted to the crop (K', 2), labels (K',)); the input unchanged
        when no try succeeds.
    """
    t = features.shape[0]
    for _ in range(tries):
        if t <= max_seq_len:
            length = int(torch.randint(math.ceil(0.9 * t), t + 1, (1,), generator=generator))
        else:
            length = max_seq_len
        s0 = int(torch.randint(0, t - length + 1, (1,), generator=generator))
        clipped = segments.clamp(min=s0, max=s0 + length)
        kept = (clipped[:, 1] - clipped[:, 0]) >= 0.5 * (segments[:, 1] - segments[:, 0])
        if kept.any():
            return features[s0 : s0 + length], clipped[kept] - s0, labels[kept]
    return features, segments, labels


def collate(videos, max_seq_len: int) -> dict:
    """Pad (features (T, D), segments (K, 2), labels (K,)) triples to max_seq_len: the batch ``TriDet.loss`` reads."""
    longest = max(f.shape[0] for f, _, _ in videos)
    if longest > max_seq_len:
        raise ValueError(f"a video has {longest} features, more than max_seq_len={max_seq_len}: crop it first")
    features = torch.zeros(len(videos), max_seq_len, videos[0][0].shape[1])  # (B, T, D)
    mask = torch.zeros(len(videos), max_seq_len, dtype=torch.bool)  # (B, T)
    for i, (f, _, _) in enumerate(videos):
        features[i, : f.shape[0]], mask[i, : f.shape[0]] = f, True
    segments = [torch.as_tensor(s, dtype=torch.float32).reshape(-1, 2) for _, s, _ in videos]  # (K, 2)
    labels = [torch.as_tensor(lab, dtype=torch.long).reshape(-1) for _, _, lab in videos]  # (K,)
    return {"features": features, "mask": mask, "segments": segments, "labels": labels}
