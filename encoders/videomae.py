"""VideoMAE and VideoMAE V2 encoders (transformers ``VideoMAEModel``), frozen.

Papers:
    "VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised Video Pre-Training",
    Tong, Song, Wang, Wang, NeurIPS 2022, arXiv:2203.12602, https://github.com/MCG-NJU/VideoMAE
    "VideoMAE V2: Scaling Video Masked Autoencoders with Dual Masking", Wang et al., CVPR 2023,
    arXiv:2303.16727, https://github.com/OpenGVLab/VideoMAEv2

A plain ViT over 2x16x16 (giant: 2x14x14) tubelets with fixed sinusoidal positions. Temporal tokens are the
spatial means of the last hidden states per tubelet slice: 16 frames / tubelet 2 = T' 8. ``pool`` is the
official clip feature of the mean-pooling checkpoints (VideoMAEForVideoClassification with
``use_mean_pooling``, the classifier set to identity): ``fc_norm(mean of all tokens)``; the mean over T' of
equal-sized per-slice means is the mean of all tokens. Pre-training checkpoints have no ``fc_norm``; their last
hidden states are already layer-normed (``videomae.layernorm``) and ``pool`` is the plain mean.

Weights (``checkpoint``):
    - a Hugging Face id or a ``save_pretrained`` directory of ``VideoMAEModel``, ``VideoMAEForPreTraining`` or
      ``VideoMAEForVideoClassification`` (the classifier is dropped, ``fc_norm`` kept);
    - a ``.pth``/``.safetensors`` file in the official MCG-NJU/VideoMAE(v2) key layout (``patch_embed.proj``,
      ``blocks.N.attn.qkv`` + ``q_bias``/``v_bias``, ``fc_norm``, ``head``; pre-training files with ``encoder.``/
      ``decoder.`` prefixes), converted to the transformers layout on load. This is how ``videomae2-g`` loads
      ``vit_g_hybrid_pt_1200e_k710_ft.pth``, which has no transformers release.
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
    drop_keys,
    finalize,
    load_strict,
    mean_then_norm,
    quiet_transformers,
    read_state_dict,
    resolved,
    strip_prefix,
    tubelet_means,
)
from latentanon.registry import register_encoder

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class VideoMAEArch:
    """Shape-defining hyper-parameters of one registered VideoMAE; checkpoints must match them."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    patch_size: int = 16
    tubelet_size: int = 2
    image_size: int = 224
    num_frames: int = 16
    resize_short: int = 256
    license: str = "CC-BY-NC-4.0"


ARCHS: dict[str, VideoMAEArch] = {
    "videomae-s": VideoMAEArch(384, 12, 6, 1536),
    "videomae-b": VideoMAEArch(768, 12, 12, 3072),
    "videomae-l": VideoMAEArch(1024, 24, 16, 4096),
    "videomae-h": VideoMAEArch(1280, 32, 16, 5120),
    # vit_giant_patch14_224 of VideoMAEv2 models/modeling_finetune.py: mlp_ratio 48/11 -> 6144.
    "videomae2-g": VideoMAEArch(1408, 40, 16, 6144, patch_size=14, license="MIT (weights by request form)"),
    "videomae-tiny": VideoMAEArch(
        128, 4, 4, 512, image_size=64, resize_short=72, license="Apache-2.0 (latentanon tiny)"
    ),
}
_SHAPE_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "patch_size",
    "tubelet_size",
)


def hf_config(name: str, use_mean_pooling: bool = True):
    """The transformers ``VideoMAEConfig`` of encoder ``name`` (random-init builds, tests, ``save_pretrained``)."""
    from transformers import VideoMAEConfig

    arch = ARCHS[name]
    return VideoMAEConfig(
        image_size=arch.image_size,
        patch_size=arch.patch_size,
        num_frames=arch.num_frames,
        tubelet_size=arch.tubelet_size,
        hidden_size=arch.hidden_size,
        num_hidden_layers=arch.num_hidden_layers,
        num_attention_heads=arch.num_attention_heads,
        intermediate_size=arch.intermediate_size,
        layer_norm_eps=1e-6,  # the official models use LayerNorm(eps=1e-6)
        qkv_bias=True,
        use_mean_pooling=use_mean_pooling,
        num_labels=0,  # the classifier becomes nn.Identity: the clip feature is fc_norm(mean)
    )


def _spec(name: str) -> EncoderSpec:
    arch = ARCHS[name]
    return EncoderSpec(
        name=name,
        family="videomae",
        feature_dim=arch.hidden_size,
        clip_length=arch.num_frames,
        frame_stride=1,
        input_size=arch.image_size,
        resize_short=arch.resize_short,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        tokens_per_clip=arch.num_frames // arch.tubelet_size,
        license=arch.license,
    )


# ---------------------------------------------------------------------------------------------- model


class VideoMAEEncoder(FrozenEncoder):
    """Frozen VideoMAE returning per-tubelet-slice temporal tokens.

    ``model`` is a transformers ``VideoMAEForVideoClassification`` whose classifier is ``nn.Identity`` (mean-pooling
    checkpoints: holds ``fc_norm``) or a ``VideoMAEModel`` (pre-training checkpoints: no ``fc_norm``).
    ``encoder.model.save_pretrained(dir)`` writes a directory this builder loads back.
    """

    def __init__(self, model: nn.Module, spec: EncoderSpec) -> None:
        super().__init__()
        self.model = model
        self.spec = spec

    @property
    def backbone(self) -> nn.Module:
        return getattr(self.model, "videomae", self.model)

    @property
    def fc_norm(self) -> nn.Module | None:
        return getattr(self.model, "fc_norm", None)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Temporal tokens of a clip batch.

        Args:
            video: (B, T, C, H, W) float, normalised with ``spec.mean``/``spec.std``.

        Returns:
            (B, T', D) spatial means of the last hidden states per tubelet slice, T' = T / tubelet_size.
        """
        check_video_input(video, self.spec)
        hidden = self.backbone(pixel_values=video).last_hidden_state  # (B, L, D), L = T' * h * w, T'-major
        return tubelet_means(hidden, self.spec.tokens_per_clip)  # (B, T', D)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Official clip feature: ``fc_norm(mean of all tokens)``, or the mean alone without ``fc_norm``.

        Args:
            tokens: (B, T', D) output of ``forward``.

        Returns:
            (B, D).
        """
        return mean_then_norm(tokens, self.fc_norm)  # (B, D)


# ---------------------------------------------------------------------------------------------- loading


# Official block parameter -> transformers VideoMAELayer parameter (attn.qkv.weight is split in three).
_BLOCK_RENAMES = {
    "attn.q_bias": "attention.attention.query.bias",
    "attn.v_bias": "attention.attention.value.bias",
    "attn.proj.weight": "attention.output.dense.weight",
    "attn.proj.bias": "attention.output.dense.bias",
    "norm1.weight": "layernorm_before.weight",
    "norm1.bias": "layernorm_before.bias",
    "norm2.weight": "layernorm_after.weight",
    "norm2.bias": "layernorm_after.bias",
    "mlp.fc1.weight": "intermediate.dense.weight",
    "mlp.fc1.bias": "intermediate.dense.bias",
    "mlp.fc2.weight": "output.dense.weight",
    "mlp.fc2.bias": "output.dense.bias",
}


def official_to_hf(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], bool]:
    """Rename an official VideoMAE(v2) state dict to transformers ``VideoMAEForVideoClassification`` keys.

    Returns:
        The renamed state dict (classifier ``head``, decoder and mask token dropped) and whether it is a
        mean-pooling (fine-tuned, has ``fc_norm``) checkpoint.
    """
    state = strip_prefix(strip_prefix(state, "encoder."), "model.")  # pre-training files / HF remote-code repos
    state = drop_keys(state, ("decoder.", "encoder_to_decoder.", "mask_token", "pos_embed", "head."))
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = key
        if key.startswith("patch_embed.proj."):
            new = "videomae.embeddings.patch_embeddings.projection." + key.split(".")[-1]
        elif key.startswith("blocks."):
            _, i, rest = key.split(".", 2)
            layer = f"videomae.encoder.layer.{i}."
            if rest == "attn.qkv.weight":
                q, k, v = value.chunk(3, dim=0)  # (3 * D, D) -> 3 x (D, D)
                out[layer + "attention.attention.query.weight"] = q
                out[layer + "attention.attention.key.weight"] = k
                out[layer + "attention.attention.value.weight"] = v
                continue
            new = layer + _BLOCK_RENAMES.get(rest, rest)
        elif key.startswith("norm."):
            new = "videomae.layernorm." + key.split(".")[-1]
        out[new] = value
    return out, "fc_norm.weight" in out


def _check_arch(name: str, config, source: str) -> None:
    arch = ARCHS[name]
    wrong = [
        f"{f}={getattr(config, f)} (expected {getattr(arch, f)})"
        for f in _SHAPE_FIELDS
        if getattr(config, f) != getattr(arch, f)
    ]
    if wrong:
        raise ValueError(f"{source} is not a {name} checkpoint: {', '.join(wrong)}. Pick the matching encoder name.")
    for field in ("image_size", "num_frames"):
        if getattr(config, field) != getattr(arch, field):
            # Positions are a fixed sinusoid table (no weights), so the model can run at the spec's size.
            logger.warning(
                "%s: %s=%s in its config, running at %s as %s specifies",
                source,
                field,
                getattr(config, field),
                getattr(arch, field),
                name,
            )
            setattr(config, field, getattr(arch, field))


def _from_pretrained(name: str, checkpoint: str, local: bool) -> nn.Module:
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEModel

    config = VideoMAEConfig.from_pretrained(checkpoint, local_files_only=local)
    _check_arch(name, config, checkpoint)
    has_fc_norm = config.use_mean_pooling and "VideoMAEForVideoClassification" in (config.architectures or ())
    config.num_labels = 0  # drop the classifier: nn.Identity in its place
    cls = VideoMAEForVideoClassification if has_fc_norm else VideoMAEModel
    with quiet_transformers():
        model, info = cls.from_pretrained(checkpoint, config=config, local_files_only=local, output_loading_info=True)
    check_loading_info(info, checkpoint)
    return model


def _from_official_file(name: str, path: str) -> nn.Module:
    from transformers import VideoMAEForVideoClassification, VideoMAEModel

    state, has_fc_norm = official_to_hf(read_state_dict(path))
    model = (VideoMAEForVideoClassification if has_fc_norm else VideoMAEModel)(hf_config(name, has_fc_norm))
    if not has_fc_norm:  # VideoMAEModel keys carry no "videomae." prefix
        state = strip_prefix(state, "videomae.")
    load_strict(model, state, source=path, layout="official VideoMAE (converted to transformers)")
    return model


def build_videomae(name: str, checkpoint: str | None = None) -> VideoMAEEncoder:
    """Build the frozen VideoMAE encoder ``name``; see the module docstring for the accepted checkpoints."""
    if checkpoint is None:
        from transformers import VideoMAEForVideoClassification

        return finalize(VideoMAEEncoder(VideoMAEForVideoClassification(hf_config(name)), _spec(name)), "random")
    kind = checkpoint_kind(checkpoint)
    if kind == "file":
        model, weights = _from_official_file(name, checkpoint), resolved(checkpoint)
    else:
        model = _from_pretrained(name, checkpoint, local=kind == "dir")
        weights = resolved(checkpoint) if kind == "dir" else checkpoint
    return finalize(VideoMAEEncoder(model, _spec(name)), weights)


# ---------------------------------------------------------------------------------------------- builders


@register_encoder("videomae-s")
def videomae_s(checkpoint: str | None = None) -> VideoMAEEncoder:
    """ViT-S/16, D 384. Recommended: MCG-NJU/videomae-small-finetuned-kinetics."""
    return build_videomae("videomae-s", checkpoint)


@register_encoder("videomae-b")
def videomae_b(checkpoint: str | None = None) -> VideoMAEEncoder:
    """ViT-B/16, D 768. Recommended: MCG-NJU/videomae-base-finetuned-kinetics."""
    return build_videomae("videomae-b", checkpoint)


@register_encoder("videomae-l")
def videomae_l(checkpoint: str | None = None) -> VideoMAEEncoder:
    """ViT-L/16, D 1024. Recommended: MCG-NJU/videomae-large-finetuned-kinetics."""
    return build_videomae("videomae-l", checkpoint)


@register_encoder("videomae-h")
def videomae_h(checkpoint: str | None = None) -> VideoMAEEncoder:
    """ViT-H/16, D 1280. Recommended: MCG-NJU/videomae-huge-finetuned-kinetics."""
    return build_videomae("videomae-h", checkpoint)


@register_encoder("videomae2-g")
def videomae2_g(checkpoint: str | None = None) -> VideoMAEEncoder:
    """VideoMAE V2 ViT-g/14, D 1408. Recommended: vit_g_hybrid_pt_1200e_k710_ft.pth (official layout)."""
    return build_videomae("videomae2-g", checkpoint)


@register_encoder("videomae-tiny")
def videomae_tiny(checkpoint: str | None = None) -> VideoMAEEncoder:
    """Tiny VideoMAE for tests and the CPU demo: D 128, 4 layers, 64x64 input."""
    return build_videomae("videomae-tiny", checkpoint)
