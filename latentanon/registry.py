"""Encoder registry: ``register_encoder`` / ``create_encoder`` / ``list_encoders``.

Builders are registered under the kebab-case name typed on the command line. Encoder family modules
(``latentanon.encoders.*``) import only torch at module level; heavy libraries (transformers) are
imported inside the builders, so listing encoders is cheap.

A builder is ``fn(checkpoint: str | None) -> nn.Module`` returning a frozen module in eval mode with a
``spec`` attribute (see :mod:`latentanon.contracts`).
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Callable

import torch

from latentanon.contracts import EncoderSpec

logger = logging.getLogger(__name__)

Builder = Callable[..., torch.nn.Module]
_REGISTRY: dict[str, Builder] = {}
_FAMILY_MODULES = (
    "latentanon.encoders.videomae",
    "latentanon.encoders.vjepa",
    "latentanon.encoders.i3d",
    "latentanon.encoders.internvideo",
)
_loaded = False


def register_encoder(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering ``fn`` as the builder of encoder ``name``."""
    if not name or name != name.lower() or " " in name or "_" in name:
        raise ValueError(f"encoder names are kebab-case lower-case (e.g. 'videomae-b'), got {name!r}")

    def decorator(fn: Builder) -> Builder:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"encoder {name!r} is already registered by {_REGISTRY[name].__module__}")
        _REGISTRY[name] = fn
        return fn

    return decorator


def _load_families() -> None:
    global _loaded
    if _loaded:
        return
    for module in _FAMILY_MODULES:
        importlib.import_module(module)
    _loaded = True


def list_encoders(pattern: str | None = None) -> list[str]:
    """Sorted registered encoder names, optionally only those containing ``pattern``."""
    _load_families()
    names = sorted(_REGISTRY)
    return [n for n in names if pattern is None or pattern in n]


def create_encoder(name: str, checkpoint: str | None = None) -> torch.nn.Module:
    """Build a frozen encoder by registry name.

    Args:
        name: registry name, e.g. ``videomae-b`` or ``videomae-tiny`` (see :func:`list_encoders`).
        checkpoint: Hugging Face id, local directory, or local ``.pth``/``.safetensors`` file. ``None`` means
            random init (seeded, so identical across runs) with a warning that the features are meaningless.

    Returns:
        An ``nn.Module`` in eval mode with every parameter frozen and a ``spec: EncoderSpec`` attribute.
    """
    if not isinstance(name, str):
        raise TypeError(f"encoder name must be a str, got {type(name).__name__}")
    _load_families()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown encoder {name!r}.{hint} Known encoders: {', '.join(sorted(_REGISTRY))}")
    # Random initialisation is seeded (and the caller's RNG state restored), so two runs of the same command
    # build identical random encoders: their stores agree, and a resumed run is not refused for new weights.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = _REGISTRY[name](checkpoint=checkpoint)
    spec = getattr(model, "spec", None)
    if not isinstance(spec, EncoderSpec):
        raise TypeError(f"builder of {name!r} returned a module without a valid .spec (got {spec!r})")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def encoder_from_spec(spec: dict, checkpoint: str | None = None) -> torch.nn.Module:
    """Rebuild the frozen encoder a store or checkpoint was made with, and check it is the same weights.

    Args:
        spec: the encoder spec dict recorded in a store recipe or an AAM checkpoint.
        checkpoint: weights to load instead of ``spec["weights"]`` (e.g. the file moved); their sha256 must match.
    """
    import warnings

    from latentanon.contracts import RandomWeightsWarning, state_dict_sha256

    name = spec.get("name")
    weights = checkpoint or spec.get("weights")
    source = None if weights in (None, "", "random") else weights
    with warnings.catch_warnings():
        if source is None:
            warnings.simplefilter("ignore", RandomWeightsWarning)  # the store was made with these random weights
        encoder = create_encoder(name, source)
    want = spec.get("weights_sha256")
    if want and state_dict_sha256(encoder) != want:
        raise ValueError(
            f"encoder {name!r} loaded from {source or 'random init'} has different weights than the features were "
            f"made with (sha256 {want[:12]}...); pass the original weights with --encoder-checkpoint"
        )
    return encoder
