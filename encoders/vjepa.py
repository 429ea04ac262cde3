"""V-JEPA 2 encoders (transformers ``VJEPA2Model``, predictor skipped), frozen.

Paper:
    "V-JEPA 2: Self-Supervised Video Models Enable Understanding, Prediction and Planning", Assran et al., 2025,
    arXiv:2506.09985, https://github.com/facebookresearch/vjepa2

A ViT over 2x16x16 tubelets with 3D rotary position embeddings and a final LayerNorm. Only the encoder is used:
``VJEPA2Model.forward(..., skip_predictor=True)``; the predictor is removed after loading so the weights hash
covers exactly the encoder. Temporal tokens are the spatial means of the last hidden states per tubelet slice:
16 frames / tubelet 2 = T' 8.

``pool`` is the mean of all tokens (= mean over T'). V-JEPA 2 has no parameter-free official clip feature: its
evaluations train an attentive probe (``VJEPA2ForVideoClassification.pooler``, cross-attention over all L
tokens), and the released SPLAVU code extracts V-JEPA features with such a probe. A probe works on all tokens,
not on the T' temporal tokens, so it cannot live in ``pool``; a ``VJEPA2ForVideoClassification`` checkpoint loads
here with its pooler and classifier dropped.

Input size: the RoPE grid is ``crop_size // patch_size``, so the spec's input size is the checkpoints' native 256
(short side 292 = 256 * 256 / 224, as ``VJEPA2VideoProcessor`` does), not the 224 of the other families.

Weights (``checkpoint``): a Hugging Face id or a ``save_pretrained`` directory of ``VJEPA2Model`` or
``VJEPA2ForVideoClassification``. Official ``.pt`` files of facebookresearch/vjepa2 are not read here; convert them
with transformers' ``convert_vjepa2_to_hf.py`` or use the ``facebook/vjepa2-*`` ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from latentanon.contracts import IMAGENET_MEAN, IMAGENET_STD, EncoderSpec, check_video_input
from latentanon.encoders._common import (
    FrozenEncoder,
    check_loading_info,
    checkpoint_kind,
    finalize,
    quiet_transformers,
    resolved,
    tubelet_means,
)
from latentanon.registry import register_encoder

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class VJEPA2Arch:
    """Shape-defining hyper-parameters of one registered V-JEPA 2 encoder; checkpoints must match them."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    mlp_ratio: float = 4.0
    patch_size: int = 16
    tubelet_size: int = 2
    crop_size: int = 256
    resize_short: int = 292
    num_frames: int = 16
    license: str = "MIT"


ARCHS: dict[str, VJEPA2Arch] = {
    "vjepa2-l": VJEPA2Arch(1024, 24, 16),
    "vjepa2-h": VJEPA2Arch(1280, 32, 16),
    # vit_giant_xformers of vjepa2 src/models/vision_transformer.py: 22 heads of 64, mlp_ratio 48/11 -> 6144.
    "vjepa2-g": VJEPA2Arch(1408, 40, 22, mlp_ratio=48 / 11),
    "vjepa2-tiny": VJEPA2Arch(128, 4, 4, crop_size=64, resize_short=72, license="Apache-2.0 (latentanon tiny)"),
}
_SHAPE_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "patch_size", "tubelet_size")


def hf_config(name: str):
    """The transformers ``VJEPA2Config`` of encoder ``name`` (random-init builds, tests, ``save_pretrained``)."""
    from transformers import VJEPA2Config

    arch = ARCHS[name]
    small = name.endswith("-tiny")  # tiny predictor/pooler too, so a tiny save_pretrained directory stays small
    return VJEPA2Config(
        patch_size=arch.patch_size,
        crop_size=arch.crop_size,
        frames_per_clip=arch.num_frames,
        tubelet_size=arch.tubelet_size,
        hidden_size=arch.hidden_size,
        num_hidden_layers=arch.num_hidden_layers,
        num_attention_heads=arch.num_attention_heads,
        mlp_ratio=arch.mlp_ratio,
        pred_hidden_size=64 if small else 384,
        pred_num_hidden_layers=1 if small else 12,
        pred_num_attention_heads=2 if small else 12,
        num_pooler_layers=1 if small else 3,
    )


def _spec(name: str) -> EncoderSpec:
    arch = ARCHS[name]
    return EncoderSpec(
        name=name,
        family="vjepa2",
        feature_dim=arch.hidden_size,
        clip_length=arch.num_frames,
        frame_stride=1,
        input_size=arch.crop_size,
        resize_short=arch.resize_short,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        tokens_per_clip=arch.num_frames // arch.tubelet_size,
        license=arch.license,
    )


# ---------------------------------------------------------------------------------------------- model


class VJEPA2Encoder(FrozenEncoder):
    """Frozen V-JEPA 2 encoder returning per-tubelet-slice temporal tokens.

    ``model`` is a transformers ``VJEPA2Model`` with ``predictor = None``; ``encoder.model.save_pretrained(dir)``
    writes a directory this builder loads back.
    """

    def __init__(self, model: nn.Module, spec: EncoderSpec) -> None:
        super().__init__()
        model.predictor = None  # never used with skip_predictor=True; keeps it out of memory and of the hash
        self.model = model
        self.spec = spec

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Temporal tokens of a clip batch.

        Args:
            video: (B, T, C, H, W) float, normalised with ``spec.mean``/``spec.std``.

        Returns:
            (B, T', D) spatial means of the last (layer-normed) hidden states per tubelet slice.
        """
        check_video_input(video, self.spec)
        out = self.model(pixel_values_videos=video, skip_predictor=True)
        hidden = out.last_hidden_state  # (B, L, D), L = T' * h * w, T'-major
        return tubelet_means(hidden, self.spec.tokens_per_clip)  # (B, T', D)


# ---------------------------------------------------------------------------------------------- loading


def _check_arch(name: str, config, source: str) -> None:
    arch = ARCHS[name]
    wrong = [
        f"{f}={getattr(config, f)} (expected {getattr(arch, f)})"
        for f in _SHAPE_FIELDS
        if getattr(config, f) != getattr(arch, f)
    ]
    if int(config.hidden_size * config.mlp_ratio) != int(arch.hidden_size * arch.mlp_ratio):
        wrong.append(f"mlp_ratio={config.mlp_ratio} (expected {arch.mlp_ratio})")
    if wrong:
        raise ValueError(f"{source} is not a {name} checkpoint: {', '.join(wrong)}. Pick the matching encoder name.")
    if config.crop_size != arch.crop_size:
        # RoPE has no weights: the grid follows crop_size, which must equal the spec's input size.
        logger.warning(
            "%s: crop_size=%s in its config, running at %s as %s specifies",
            source,
            config.crop_size,
            arch.crop_size,
            name,
        )
        config.crop_size = arch.crop_size


def build_vjepa2(name: str, checkpoint: str | None = None) -> VJEPA2Encoder:
    """Build the frozen V-JEPA 2 encoder ``name``; see the module docstring for the accepted checkpoints."""
    from transformers import VJEPA2Config, VJEPA2Model

    if checkpoint is None:
        return finalize(VJEPA2Encoder(VJEPA2Model(hf_config(name)), _spec(name)), "random")
    kind = checkpoint_kind(checkpoint)
    if kind == "file":
        raise ValueError(
            f"{name}: loads Hugging Face ids or save_pretrained directories, got the file {checkpoint!r}. Convert "
            "an official V-JEPA 2 .pt with transformers' convert_vjepa2_to_hf.py, or pass an id such as "
            "facebook/vjepa2-vitl-fpc64-256"
        )
    local = kind == "dir"
    config = VJEPA2Config.from_pretrained(checkpoint, local_files_only=local)
    _check_arch(name, config, checkpoint)
    with quiet_transformers():
        model, info = VJEPA2Model.from_pretrained(
            checkpoint, config=config, local_files_only=local, output_loading_info=True
        )
    # Classification checkpoints carry no predictor; it is dropped anyway.
    check_loading_info(info, checkpoint, ignore_missing=("predictor.",))
    return finalize(VJEPA2Encoder(model, _spec(name)), resolved(checkpoint) if local else checkpoint)


# ---------------------------------------------------------------------------------------------- builders


@register_encoder("vjepa2-l")
def vjepa2_l(checkpoint: str | None = None) -> VJEPA2Encoder:
    """ViT-L/16, D 1024. Recommended: facebook/vjepa2-vitl-fpc64-256."""
    return build_vjepa2("vjepa2-l", checkpoint)


@register_encoder("vjepa2-h")
def vjepa2_h(checkpoint: str | None = None) -> VJEPA2Encoder:
    """ViT-H/16, D 1280. Recommended: facebook/vjepa2-vith-fpc64-256."""
    return build_vjepa2("vjepa2-h", checkpoint)


@register_encoder("vjepa2-g")
def vjepa2_g(checkpoint: str | None = None) -> VJEPA2Encoder:
    """ViT-g/16, D 1408. Recommended: facebook/vjepa2-vitg-fpc64-256."""
    return build_vjepa2("vjepa2-g", checkpoint)


@register_encoder("vjepa2-tiny")
def vjepa2_tiny(checkpoint: str | None = None) -> VJEPA2Encoder:
    """Tiny V-JEPA 2 for tests and the CPU demo: D 128, 4 layers, 64x64 input."""
    return build_vjepa2("vjepa2-tiny", checkpoint)
