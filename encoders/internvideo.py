"""InternVideo (v1) masked-video ViT-H encoder, frozen; own implementation in the official VideoMAE key layout.

Paper:
    "InternVideo: General Video Foundation Models via Generative and Discriminative Learning", Wang et al., 2022,
    arXiv:2212.03191, https://github.com/OpenGVLab/InternVideo (``InternVideo1/Pretrain/VideoMAE``)

InternVideo's video-masked-modelling branch is a VideoMAE ViT-H/16 (D 1280, 32 blocks, 16 heads, MLP 5120,
tubelet 2, LayerNorm eps 1e-6, q/v biases, fixed sinusoidal positions, no class token) pre-trained on
UnlabeledHybrid. This file re-implements that ViT with the state-dict keys of ``modeling_finetune.py`` /
``modeling_pretrain.py``, so both released layouts load:

    fine-tuned   ``patch_embed.proj.*``, ``blocks.N.{norm1, attn.qkv, attn.q_bias, attn.v_bias, attn.proj, norm2,
                 mlp.fc1, mlp.fc2}.*``, ``fc_norm.*``, ``head.*`` (classifier, dropped)
    pre-training the same under ``encoder.`` plus ``encoder.norm.*``; ``decoder.*``, ``encoder_to_decoder.*`` and
                 ``mask_token`` are dropped (e.g. ``InternVideoMAE_models/mae-h/pytorch_model.bin``)

Temporal tokens are the spatial means of the last hidden states per tubelet slice (T' 8 for 16 frames). ``pool``
is the official clip feature: ``fc_norm(mean of all tokens)`` for fine-tuned weights; for pre-training weights the
tokens are already ``norm``-ed and ``pool`` is their mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from latentanon.contracts import IMAGENET_MEAN, IMAGENET_STD, EncoderSpec, check_video_input
from latentanon.encoders._common import (
    FrozenEncoder,
    checkpoint_kind,
    drop_keys,
    finalize,
    load_strict,
    mean_then_norm,
    read_state_dict,
    resolved,
    strip_prefix,
    tubelet_means,
)
from latentanon.registry import register_encoder

# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class VideoViTConfig:
    """A VideoMAE-style video ViT. ``use_mean_pooling``: fine-tuned layout (``fc_norm``) vs pre-training (``norm``)."""

    embed_dim: int = 1280
    depth: int = 32
    num_heads: int = 16
    mlp_ratio: float = 4.0
    patch_size: int = 16
    tubelet_size: int = 2
    img_size: int = 224
    num_frames: int = 16
    use_mean_pooling: bool = True
    resize_short: int = 256
    license: str = "Apache-2.0"


CONFIGS: dict[str, VideoViTConfig] = {
    "internvideo-h": VideoViTConfig(),
    "internvideo-tiny": VideoViTConfig(
        embed_dim=128, depth=4, num_heads=4, img_size=64, resize_short=72, license="Apache-2.0 (latentanon tiny)"
    ),
}


# ---------------------------------------------------------------------------------------------- blocks


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """Fixed positions of VideoMAE: angle pos / 10000^(2 floor(j/2) / dim), sin on even j, cos on odd j.

    Returns:
        (1, n_position, dim) float32, computed in float64 like the official numpy table.
    """
    pos = torch.arange(n_position, dtype=torch.float64)[:, None]  # (L, 1)
    j = torch.arange(dim, dtype=torch.float64)[None, :]  # (1, D)
    angle = pos / torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode="floor") / dim)  # (L, D)
    table = torch.where(j.long() % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float()[None]  # (1, L, D)


class Attention(nn.Module):
    """Multi-head self-attention with a bias-free key: ``qkv.weight`` plus separate ``q_bias`` and ``v_bias``."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, L, D)."""
        b, length, d = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])  # (3D,)
        qkv = F.linear(x, self.qkv.weight, bias)  # (B, L, 3D)
        qkv = qkv.view(b, length, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)  # (3, B, K, L, D/K)
        x = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, K, L, D/K)
        x = x.transpose(1, 2).reshape(b, length, d)  # (B, L, D)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, L, D) through a GELU hidden layer."""
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block (no layer scale: the ViT-H weights were trained with ``init_values`` 0)."""

    def __init__(self, cfg: VideoViTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.attn = Attention(cfg.embed_dim, cfg.num_heads)
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.mlp = Mlp(cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, L, D)."""
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """Tubelet embedding: a Conv3d with kernel = stride = (tubelet, patch, patch); key ``patch_embed.proj``."""

    def __init__(self, cfg: VideoViTConfig) -> None:
        super().__init__()
        size = (cfg.tubelet_size, cfg.patch_size, cfg.patch_size)
        self.proj = nn.Conv3d(3, cfg.embed_dim, kernel_size=size, stride=size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, L, D) with L = T' * h * w in T'-major order."""
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, C, T, H, W) -> (B, D, T', h, w) -> (B, L, D)


# ---------------------------------------------------------------------------------------------- model


class InternVideoEncoder(FrozenEncoder):
    """Frozen VideoMAE-layout ViT returning per-tubelet-slice temporal tokens."""

    def __init__(self, cfg: VideoViTConfig, spec: EncoderSpec) -> None:
        super().__init__()
        self.cfg = cfg
        self.spec = spec
        grid = cfg.img_size // cfg.patch_size
        self.patch_embed = PatchEmbed(cfg)
        n_tokens = (cfg.num_frames // cfg.tubelet_size) * grid * grid
        self.register_buffer("pos_embed", sinusoid_table(n_tokens, cfg.embed_dim), persistent=False)  # (1, L, D)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.Identity() if cfg.use_mean_pooling else nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.fc_norm = nn.LayerNorm(cfg.embed_dim, eps=1e-6) if cfg.use_mean_pooling else None
        self.apply(_init_weights)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Temporal tokens of a clip batch.

        Args:
            video: (B, T, C, H, W) float, normalised with ``spec.mean``/``spec.std``.

        Returns:
            (B, T', D) spatial means of the last hidden states per tubelet slice, T' = T / tubelet_size.
        """
        check_video_input(video, self.spec)
        x = self.patch_embed(video.permute(0, 2, 1, 3, 4))  # (B, T, C, H, W) -> (B, C, T, H, W) -> (B, L, D)
        x = x + self.pos_embed.to(x.dtype)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)  # (B, L, D), L = T' * h * w, T'-major
        return tubelet_means(x, self.spec.tokens_per_clip)  # (B, T', D)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Official clip feature: ``fc_norm(mean of all tokens)`` (fine-tuned) or the mean (pre-training).

        Args:
            tokens: (B, T', D) output of ``forward``.

        Returns:
            (B, D).
        """
        return mean_then_norm(tokens, self.fc_norm)  # (B, D)


def _init_weights(m: nn.Module) -> None:
    """Random init of the official fine-tuning code: truncated normal 0.02 linears, unit LayerNorms."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Conv3d):  # the PyTorch default, written out: uniform fan-in bound
        bound = 1 / math.sqrt(m.weight[0].numel())
        nn.init.uniform_(m.weight, -bound, bound)
        nn.init.uniform_(m.bias, -bound, bound)


# ---------------------------------------------------------------------------------------------- loading


def _spec(name: str, cfg: VideoViTConfig) -> EncoderSpec:
    return EncoderSpec(
        name=name,
        family="internvideo",
        feature_dim=cfg.embed_dim,
        clip_length=cfg.num_frames,
        frame_stride=1,
        input_size=cfg.img_size,
        resize_short=cfg.resize_short,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        tokens_per_clip=cfg.num_frames // cfg.tubelet_size,
        license=cfg.license,
    )


def build_internvideo(name: str, checkpoint: str | None = None) -> InternVideoEncoder:
    """Build the frozen encoder ``name`` from a fine-tuned or pre-training file in the official VideoMAE layout."""
    cfg = CONFIGS[name]
    if checkpoint is None:
        return finalize(InternVideoEncoder(cfg, _spec(name, cfg)), "random")
    if checkpoint_kind(checkpoint) != "file":
        raise ValueError(f"{name} loads a local .pth/.bin/.safetensors file, got {checkpoint!r} (not a file)")
    state = read_state_dict(checkpoint)
    pretraining = any(k.startswith("encoder.") for k in state)
    if pretraining:
        state = drop_keys(state, ("decoder.", "encoder_to_decoder.", "mask_token"))
        state = strip_prefix(state, "encoder.")
    state = drop_keys(state, ("head.",))  # the classifier is not part of the feature
    cfg = replace(cfg, use_mean_pooling=not pretraining)
    encoder = InternVideoEncoder(cfg, _spec(name, cfg))
    layout = f"official VideoMAE {'pre-training' if pretraining else 'fine-tuned'} ({name})"
    load_strict(encoder, state, source=checkpoint, layout=layout)
    return finalize(encoder, resolved(checkpoint))


# ---------------------------------------------------------------------------------------------- builders


@register_encoder("internvideo-h")
def internvideo_h(checkpoint: str | None = None) -> InternVideoEncoder:
    """InternVideo VideoMAE ViT-H/16, D 1280. Recommended: InternVideoMAE_models/mae-h/pytorch_model.bin."""
    return build_internvideo("internvideo-h", checkpoint)


@register_encoder("internvideo-tiny")
def internvideo_tiny(checkpoint: str | None = None) -> InternVideoEncoder:
    """Tiny VideoMAE-layout ViT for tests and the CPU demo: D 128, 4 blocks, 64x64 input."""
    return build_internvideo("internvideo-tiny", checkpoint)
