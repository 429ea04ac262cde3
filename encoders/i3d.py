"""I3D encoders: Inception-v1 I3D (pytorch-i3d keys) and ResNet-50 I3D (pytorch-resnet3d keys), frozen.

Papers:
    "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset", Carreira, Zisserman, CVPR 2017,
    arXiv:1705.07750, https://github.com/deepmind/kinetics-i3d (PyTorch port: https://github.com/piergiaj/pytorch-i3d)
    "Non-local Neural Networks", Wang, Girshick, Gupta, He, CVPR 2018, arXiv:1711.07971 (its I3D ResNet-50
    baseline), https://github.com/facebookresearch/video-nonlocal-net (PyTorch port:
    https://github.com/Tushar-N/pytorch-resnet3d, ``models/resnet.py`` ``I3Res50``)

Both are re-implemented here with state-dict keys identical to the ports, so their files load unchanged:
``rgb_imagenet.pt`` / ``rgb_charades.pt`` into ``i3d-inception`` and ``i3d_r50_kinetics.pth`` into ``i3d-r50``.
The classifier (``logits.*`` / ``fc.*``) is dropped on load: it is not part of the clip feature.

Temporal tokens: spatial means of the last feature map (Mixed_5c, 1024 channels / layer4, 2048 channels) per
temporal position. Both nets stride time by 8, so a 16-frame clip gives T' 2. ``pool`` (mean over T') is the
global average of that map, which is what the official recipes extract for a 16-frame 224x224 clip
(pytorch-i3d ``extract_features``: AvgPool3d([2, 7, 7]) over the 2x7x7 Mixed_5c; I3Res50: AdaptiveAvgPool3d).

Inputs: pytorch-i3d feeds RGB scaled to [-1, 1] (``charades_dataset.py``: ``img / 255 * 2 - 1``), i.e. mean 0.5,
std 0.5. pytorch-resnet3d feeds RGB in [0, 255] normalised with mean 114.75 and std 57.375 on every channel
(``utils/util.py``), i.e. mean 0.45, std 0.225 in [0, 1] units.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentanon.contracts import EncoderSpec, check_video_input
from latentanon.encoders._common import (
    FrozenEncoder,
    checkpoint_kind,
    drop_keys,
    finalize,
    load_strict,
    read_state_dict,
    resolved,
)
from latentanon.registry import register_encoder

# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class InceptionI3dConfig:
    """Inception I3D. ``width_div`` divides every channel count (1 = the published net, 8 = tiny)."""

    width_div: int = 1
    input_size: int = 224
    resize_short: int = 256
    license: str = "Apache-2.0"


@dataclass(frozen=True)
class I3Res50Config:
    """ResNet-50 I3D. ``base_width`` is the stem width (64 published), ``blocks`` the blocks per stage."""

    base_width: int = 64
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    input_size: int = 224
    resize_short: int = 256
    license: str = "Apache-2.0"


# Output channels (b0, b1a, b1b, b2a, b2b, b3b) of each Inception block, as in pytorch_i3d.py.
_MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# Temporal kernel radius (0: 1x3x3-only block, 1: 3x1x1 first conv) of each block of each stage, as in I3Res50.
_TEMPORAL_CONV = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))


# ---------------------------------------------------------------------------------------------- Inception blocks


def _same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> tuple[int, ...]:
    """TensorFlow "SAME" padding of a (T, H, W) input, as F.pad wants it: (W0, W1, H0, H1, T0, T1)."""
    pads: list[int] = []
    for s, k, st in reversed(list(zip(size, kernel, stride))):
        total = max(k - st, 0) if s % st == 0 else max(k - s % st, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class Unit3D(nn.Module):
    """Conv3d with TF "SAME" padding, then BatchNorm (eps 1e-3) and ReLU: keys ``conv3d.*``, ``bn.*``."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, ...] = (1, 1, 1), stride: tuple[int, ...] = (1, 1, 1)):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv3d = nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=0, bias=False)
        self.bn = nn.BatchNorm3d(c_out, eps=1e-3, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, H, W) -> (B, C_out, ceil(T/s), ceil(H/s), ceil(W/s)) for stride s."""
        x = F.pad(x, _same_padding(tuple(x.shape[2:]), self.kernel, self.stride))  # (B, C, T+p, H+p, W+p)
        return F.relu(self.bn(self.conv3d(x)))


class MaxPool3dSame(nn.Module):
    """Max pool with TF "SAME" padding; pads with zeros as pytorch-i3d does (inputs are post-ReLU, >= 0)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, C, ceil(T/s), ceil(H/s), ceil(W/s)) for stride s."""
        x = F.pad(x, _same_padding(tuple(x.shape[2:]), self.kernel, self.stride))  # (B, C, T+p, H+p, W+p)
        return F.max_pool3d(x, self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Four parallel branches concatenated on channels: 1x1 | 1x1-3x3 | 1x1-3x3 | maxpool-1x1."""

    def __init__(self, c_in: int, c: tuple[int, ...]) -> None:
        super().__init__()
        self.b0 = Unit3D(c_in, c[0])
        self.b1a, self.b1b = Unit3D(c_in, c[1]), Unit3D(c[1], c[2], (3, 3, 3))
        self.b2a, self.b2b = Unit3D(c_in, c[3]), Unit3D(c[3], c[4], (3, 3, 3))
        self.b3a, self.b3b = MaxPool3dSame((3, 3, 3), (1, 1, 1)), Unit3D(c_in, c[5])
        self.out_channels = c[0] + c[2] + c[4] + c[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, H, W) -> (B, C_out, T, H, W)."""
        branches = [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))]
        return torch.cat(branches, dim=1)  # (B, C_out, T, H, W)


class InceptionI3d(nn.Sequential):
    """Inception-v1 I3D up to Mixed_5c; module names (hence state-dict keys) as in pytorch-i3d ``InceptionI3d``.

    (B, 3, T, H, W) -> (B, 1024, T/8, H/32, W/32).
    """

    def __init__(self, cfg: InceptionI3dConfig) -> None:
        def w(channels: int) -> int:
            return max(channels // cfg.width_div, 1)

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["Conv3d_1a_7x7"] = Unit3D(3, w(64), (7, 7, 7), (2, 2, 2))
        layers["MaxPool3d_2a_3x3"] = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        layers["Conv3d_2b_1x1"] = Unit3D(w(64), w(64))
        layers["Conv3d_2c_3x3"] = Unit3D(w(64), w(192), (3, 3, 3))
        layers["MaxPool3d_3a_3x3"] = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        channels = w(192)
        for name, widths in _MIXED.items():
            if name == "Mixed_4b":
                layers["MaxPool3d_4a_3x3"] = MaxPool3dSame((3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                layers["MaxPool3d_5a_2x2"] = MaxPool3dSame((2, 2, 2), (2, 2, 2))
            layers[name] = InceptionModule(channels, tuple(w(c) for c in widths))
            channels = layers[name].out_channels
        super().__init__(layers)
        self.out_channels = channels  # 1024 for the published widths


# ---------------------------------------------------------------------------------------------- ResNet blocks


class Bottleneck3D(nn.Module):
    """I3Res50 bottleneck: (1+2r)x1x1 conv, 1x3x3 conv (spatial stride), 1x1x1 conv x4, residual."""

    def __init__(self, c_in: int, planes: int, stride: int, temporal_radius: int) -> None:
        super().__init__()
        r = temporal_radius
        self.conv1 = nn.Conv3d(c_in, planes, (1 + 2 * r, 1, 1), padding=(r, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.downsample = None
        if stride != 1 or c_in != planes * 4:
            conv = nn.Conv3d(c_in, planes * 4, 1, stride=(1, stride, stride), bias=False)
            self.downsample = nn.Sequential(conv, nn.BatchNorm3d(planes * 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, H, W) -> (B, 4 * planes, T, H/stride, W/stride)."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class I3Res50(nn.Module):
    """ResNet-50 I3D up to layer4; attribute names (hence state-dict keys) as in pytorch-resnet3d ``I3Res50``."""

    def __init__(self, cfg: I3Res50Config) -> None:
        super().__init__()
        width = cfg.base_width
        self.conv1 = nn.Conv3d(3, width, (5, 7, 7), stride=(2, 2, 2), padding=(2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.maxpool1 = nn.MaxPool3d((2, 3, 3), stride=(2, 2, 2))
        self.maxpool2 = nn.MaxPool3d((2, 1, 1), stride=(2, 1, 1))
        c_in = width
        for i, (n_blocks, radii) in enumerate(zip(cfg.blocks, _TEMPORAL_CONV)):
            planes, stride = width * 2**i, 1 if i == 0 else 2
            blocks = [
                Bottleneck3D(c_in if j == 0 else planes * 4, planes, stride if j == 0 else 1, radii[j])
                for j in range(n_blocks)
            ]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            c_in = planes * 4
        self.out_channels = c_in  # 2048 for the published widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, 2048, T/8, H/32, W/32) for the published widths."""
        x = self.maxpool1(F.relu(self.bn1(self.conv1(x))))  # (B, 64, T/4, H/4, W/4)
        x = self.maxpool2(self.layer1(x))  # (B, 256, T/8, H/4, W/4)
        return self.layer4(self.layer3(self.layer2(x)))  # (B, 2048, T/8, H/32, W/32)


# ---------------------------------------------------------------------------------------------- encoder


class I3DEncoder(FrozenEncoder):
    """Frozen I3D returning the per-time-step spatial means of its last feature map."""

    def __init__(self, net: nn.Module, spec: EncoderSpec) -> None:
        super().__init__()
        self.net = net
        self.spec = spec

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Temporal tokens of a clip batch.

        Args:
            video: (B, T, C, H, W) float, normalised with ``spec.mean``/``spec.std``.

        Returns:
            (B, T', D) spatial means of the last feature map, T' = T / 8.
        """
        return self.tokens(self.feature_map(video))

    @staticmethod
    def tokens(feature_map: torch.Tensor) -> torch.Tensor:
        """(B, D, T', H', W') last feature map -> (B, T', D) temporal tokens (its spatial means)."""
        return feature_map.mean(dim=(3, 4)).transpose(1, 2)

    def feature_map(self, video: torch.Tensor) -> torch.Tensor:
        """The last feature map itself, before the spatial mean (for pretraining objectives that need where).

        Args:
            video: (B, T, C, H, W) float, normalised with ``spec.mean``/``spec.std``.

        Returns:
            (B, D, T', H', W'), H' = H / 32 (2 x 2 for the 64 px tiny encoders).
        """
        check_video_input(video, self.spec)
        return self.net(video.permute(0, 2, 1, 3, 4))  # (B, C, T, H, W) -> (B, D, T', H', W')


def _build(name: str, net: nn.Module, cfg, mean: float, std: float, head: str, checkpoint: str | None) -> I3DEncoder:
    spec = EncoderSpec(
        name=name,
        family="i3d",
        feature_dim=net.out_channels,
        clip_length=16,
        frame_stride=1,
        input_size=cfg.input_size,
        resize_short=cfg.resize_short,
        mean=(mean,) * 3,
        std=(std,) * 3,
        tokens_per_clip=16 // 8,
        license=cfg.license,
    )
    encoder = I3DEncoder(net, spec)
    if checkpoint is None:
        return finalize(encoder, "random")
    if checkpoint_kind(checkpoint) != "file":
        raise ValueError(f"{name} loads a local .pth/.pt/.safetensors file, got {checkpoint!r} (not a file)")
    state = drop_keys(read_state_dict(checkpoint), (head,))  # the classifier is not part of the feature
    load_strict(net, state, source=checkpoint, layout=f"{type(net).__name__} ({name})")
    return finalize(encoder, resolved(checkpoint))


# ---------------------------------------------------------------------------------------------- builders


@register_encoder("i3d-inception")
def i3d_inception(checkpoint: str | None = None) -> I3DEncoder:
    """Inception I3D, D 1024, inputs in [-1, 1]. Recommended: pytorch-i3d models/rgb_imagenet.pt."""
    cfg = InceptionI3dConfig()
    return _build("i3d-inception", InceptionI3d(cfg), cfg, 0.5, 0.5, "logits.", checkpoint)


@register_encoder("i3d-inception-tiny")
def i3d_inception_tiny(checkpoint: str | None = None) -> I3DEncoder:
    """Inception I3D with every width / 8 (D 128), 64x64 input, for tests and the CPU demo."""
    cfg = InceptionI3dConfig(width_div=8, input_size=64, resize_short=72, license="Apache-2.0 (latentanon tiny)")
    return _build("i3d-inception-tiny", InceptionI3d(cfg), cfg, 0.5, 0.5, "logits.", checkpoint)


@register_encoder("i3d-r50")
def i3d_r50(checkpoint: str | None = None) -> I3DEncoder:
    """ResNet-50 I3D, D 2048. Recommended: pytorch-resnet3d pretrained/i3d_r50_kinetics.pth."""
    cfg = I3Res50Config()
    return _build("i3d-r50", I3Res50(cfg), cfg, 0.45, 0.225, "fc.", checkpoint)


@register_encoder("i3d-r50-tiny")
def i3d_r50_tiny(checkpoint: str | None = None) -> I3DEncoder:
    """ResNet-50 I3D code with width 8 and one block per stage (D 256), 64x64 input, for tests and the demo."""
    cfg = I3Res50Config(
        base_width=8, blocks=(1, 1, 1, 1), input_size=64, resize_short=72, license="Apache-2.0 (latentanon tiny)"
    )
    return _build("i3d-r50-tiny", I3Res50(cfg), cfg, 0.45, 0.225, "fc.", checkpoint)
