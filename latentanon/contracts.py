"""The encoder contract: what every frozen video encoder in latentanon promises.

Shape vocabulary used across the library:
    B batch, T frames (or clips), L tokens, D features, C/H/W pixels, K heads,
    T' temporal tokens per clip (``EncoderSpec.tokens_per_clip``), S static clips per video.

An encoder is an ``nn.Module`` with a ``spec: EncoderSpec`` attribute and

    forward(video: (B, T, C, H, W) float, normalised with spec.mean/std) -> (B, T', D) temporal tokens
    pool(tokens: (B, T', D)) -> (B, D) the encoder's standard clip feature

``forward`` returns the spatial mean of the last hidden states, grouped by tubelet/temporal stride, so that
the Anonymizing Adapter Module can attend over a clip's T' temporal tokens. ``pool`` must equal what the
encoder's official recipe extracts as "the clip feature" (e.g. VideoMAE: mean of all tokens then fc_norm).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class RandomWeightsWarning(UserWarning):
    """An encoder was built without a checkpoint: its features carry no information about the video."""


@dataclass(frozen=True)
class EncoderSpec:
    """Everything needed to reproduce an encoder's features, travelling with the weights and the store.

    Attributes:
        name: registry name as typed on the command line (``videomae-b``).
        family: encoder family (``videomae``, ``vjepa2``, ``i3d``, ``internvideo``).
        feature_dim: D, width of each temporal token and of the pooled clip feature.
        clip_length: frames per clip T fed to ``forward``.
        frame_stride: temporal stride between the sampled frames of a clip (1 = consecutive frames).
        input_size: spatial crop size H = W after the transform.
        resize_short: the short side is resized to this before the centre crop.
        mean: per-channel mean (RGB, in [0, 1] pixel units) subtracted by the transform.
        std: per-channel std (RGB) the transform divides by.
        tokens_per_clip: T', temporal tokens ``forward`` returns per clip.
        weights: where the weights came from: a Hugging Face id, a local path, or ``"random"``.
        weights_sha256: content hash of the loaded weights (state dict), ``None`` for unknown.
        license: licence of the weights as released.
    """

    name: str
    family: str
    feature_dim: int
    clip_length: int
    frame_stride: int
    input_size: int
    resize_short: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    tokens_per_clip: int
    weights: str = "random"
    weights_sha256: str | None = None
    license: str = "unknown"

    def __post_init__(self) -> None:
        for field in ("feature_dim", "clip_length", "frame_stride", "input_size", "resize_short", "tokens_per_clip"):
            value = getattr(self, field)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"EncoderSpec.{field} must be a positive int, got {value!r}")
        if self.resize_short < self.input_size:
            raise ValueError(
                f"EncoderSpec.resize_short ({self.resize_short}) must be >= input_size ({self.input_size}): "
                "the centre crop cannot be larger than the resized frame"
            )
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError(f"EncoderSpec.mean/std must have 3 (RGB) entries, got {self.mean} / {self.std}")

    def to_dict(self) -> dict:
        """JSON-serialisable dict (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> EncoderSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown EncoderSpec keys {sorted(unknown)}; known keys: {sorted(known)}")
        data = dict(data)
        for key in ("mean", "std"):
            if key in data:
                data[key] = tuple(float(x) for x in data[key])
        return cls(**data)

    def with_weights(self, weights: str, weights_sha256: str | None) -> EncoderSpec:
        return dataclasses.replace(self, weights=weights, weights_sha256=weights_sha256)

    @property
    def clip_span(self) -> int:
        """Frames one clip covers in the video: ``clip_length * frame_stride``."""
        return self.clip_length * self.frame_stride


def clip_span(encoder: dict) -> int:
    """Frames one clip covers, from the encoder spec dict a store recipe or checkpoint records."""
    return int(encoder.get("clip_length", 16)) * int(encoder.get("frame_stride", 1) or 1)


@runtime_checkable
class VideoEncoder(Protocol):
    """Structural type of a latentanon encoder (an ``nn.Module`` in practice)."""

    spec: EncoderSpec

    def __call__(self, video: torch.Tensor) -> torch.Tensor: ...

    def pool(self, tokens: torch.Tensor) -> torch.Tensor: ...


class Pooler(torch.nn.Module):
    """An encoder's standard clip feature ``pool(tokens)`` without its backbone: the mean over the token axis,
    then the encoder's ``fc_norm`` LayerNorm where it has one (VideoMAE, InternVideo fine-tuned weights).

    A store keeps its encoder's pooler as a small JSON record (:meth:`to_record`), so training, anonymization and
    evaluation rebuild it from the store (:meth:`from_record`) instead of the encoder.
    """

    def __init__(self, norm: torch.nn.LayerNorm | None = None):
        super().__init__()
        self.norm = norm
        for p in self.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_encoder(cls, encoder: torch.nn.Module) -> Pooler:
        """The pooler of a latentanon encoder (its ``fc_norm`` attribute, when it is a LayerNorm)."""
        norm = getattr(encoder, "fc_norm", None)
        if norm is None or isinstance(norm, torch.nn.Identity):
            return cls(None)
        if not isinstance(norm, torch.nn.LayerNorm) or len(norm.normalized_shape) != 1:
            raise ValueError(f"unsupported pooling norm {type(norm).__name__}: only a 1-D LayerNorm or none")
        copy = torch.nn.LayerNorm(norm.normalized_shape[0], eps=norm.eps, elementwise_affine=norm.weight is not None)
        copy.load_state_dict(norm.state_dict())
        return cls(copy)

    def to_record(self) -> dict:
        """JSON record of the pooling (the LayerNorm's eps and float32 weights as lists)."""
        if self.norm is None:
            return {"type": "mean"}
        record = {"type": "mean+layernorm", "dim": int(self.norm.normalized_shape[0]), "eps": float(self.norm.eps)}
        if self.norm.weight is not None:
            record["weight"] = self.norm.weight.detach().float().cpu().tolist()
            record["bias"] = self.norm.bias.detach().float().cpu().tolist()
        return record

    @classmethod
    def from_record(cls, record: dict) -> Pooler:
        """Inverse of :meth:`to_record`."""
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "mean":
            return cls(None)
        if kind != "mean+layernorm":
            raise ValueError(f"unknown pooling record {record!r}: expected type 'mean' or 'mean+layernorm'")
        norm = torch.nn.LayerNorm(int(record["dim"]), eps=float(record["eps"]), elementwise_affine="weight" in record)
        if "weight" in record:
            with torch.no_grad():
                norm.weight.copy_(torch.tensor(record["weight"], dtype=torch.float32))
                norm.bias.copy_(torch.tensor(record["bias"], dtype=torch.float32))
        return cls(norm)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, L, D) tokens -> (B, D) clip features."""
        x = tokens.mean(dim=1)  # (B, D)
        return self.norm(x) if self.norm is not None else x


def check_video_input(video: torch.Tensor, spec: EncoderSpec) -> None:
    """Validate a (B, T, C, H, W) clip batch against ``spec``; raise ValueError naming what is wrong."""
    if not isinstance(video, torch.Tensor):
        raise TypeError(f"video must be a torch.Tensor of shape (B, T, C, H, W), got {type(video).__name__}")
    if video.ndim != 5:
        raise ValueError(f"video must have shape (B, T, C, H, W), got {tuple(video.shape)}")
    _, t, c, h, w = video.shape
    expected = (spec.clip_length, 3, spec.input_size, spec.input_size)
    if (t, c, h, w) != expected:
        raise ValueError(
            f"{spec.name} expects clips of shape (B, {expected[0]}, {expected[1]}, {expected[2]}, {expected[3]}) "
            f"(T, C, H, W from its EncoderSpec), got {tuple(video.shape)}; use latentanon.video.ClipTransform"
        )
    if not video.is_floating_point():
        raise ValueError(f"video must be a float tensor normalised with spec.mean/std, got dtype {video.dtype}")


def state_snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a module's state dict (the best epoch or step so far, to load back at the end)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def state_dict_sha256(module: torch.nn.Module) -> str:
    """Hash of a module's tensors (names, shapes, dtypes and bytes): identifies the weights a store came from."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        digest.update(json.dumps([key, list(t.shape), str(t.dtype)]).encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")  # 0-dim safe
    return digest.hexdigest()
