"""Anonymizers: one registry, two kinds, each with a small written contract (DESIGN.md, "Anonymizers").

Latent anonymizer (``kind = "latent"``): an ``nn.Module`` that maps a clip's tokens to anonymized tokens,

    forward(tokens: (B, L, D) float32) -> (B, L, D) float32

fitted on a store (the SPLAVU adapter by ``train_aam``; the controls of ``controls.py`` by ``fit_control``).
``input`` says what it reads: ``"tokens"`` (the clip's T' temporal tokens; features are then
``pool(f_L(tokens))`` with the store's pooler) or ``"features"`` (the pooled clip features as a (B, 1, D)
sequence, whose output is the feature: the paper-compat adapter). ``batch_independent`` is False when a clip's
output depends on the other clips of its batch.

Pixel anonymizer (``kind = "pixel"``): an ``nn.Module`` applied to video before the frozen encoder,

    forward(video: (B, T, C, H, W) float32 RGB in [0, 1]) -> (B, T, C, H, W) float32 RGB in [0, 1]

(after the resize and centre crop, before the encoder's mean/std normalisation). ``precompute --anonymizer NAME``
applies one; ``AnonymizedEncoder`` composes either kind with the frozen encoder.

Every anonymizer carries ``name`` (its registry name) and ``config`` (a JSON dict); :func:`anonymizer_recipe`
is what a store records about it (kind, name, config, weights sha256), part of the store's recipe hash.

    from latentanon.anonymizers import create_anonymizer, list_anonymizers
    list_anonymizers()      # ['identity', 'noise', 'pca', 'random-projection', 'splavu', 'temporal-mean']
    anon = create_anonymizer("splavu", checkpoint="runs/aam/best")

Builders import only torch and the core's contracts at module level (as the encoders do).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

from torch import nn

from latentanon.contracts import state_dict_sha256

KINDS = ("latent", "pixel")
_REGISTRY: dict[str, tuple[str, Callable[..., nn.Module]]] = {}


def register_anonymizer(name: str, kind: str) -> Callable:
    """Decorator registering ``builder(checkpoint: str | None = None, **config) -> nn.Module`` under ``name``."""
    if kind not in KINDS:
        raise ValueError(f"anonymizer kind must be one of {list(KINDS)}, got {kind!r}")

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"anonymizer {name!r} is already registered")
        _REGISTRY[name] = (kind, builder)
        return builder

    return wrap


def _load_builtin() -> None:
    import latentanon.anonymizers.controls  # noqa: F401  (registers pca, random-projection, noise, temporal-mean)
    import latentanon.anonymizers.pixel  # noqa: F401  (registers identity)
    import latentanon.anonymizers.splavu  # noqa: F401  (registers splavu)


def list_anonymizers(kind: str | None = None) -> list[str]:
    """Registered anonymizer names, sorted; ``kind`` ("latent" or "pixel") filters them."""
    _load_builtin()
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)} or None, got {kind!r}")
    return sorted(n for n, (k, _) in _REGISTRY.items() if kind is None or k == kind)


def anonymizer_kind(name: str) -> str:
    """``"latent"`` or ``"pixel"`` for a registered name."""
    _load_builtin()
    _check_name(name)
    return _REGISTRY[name][0]


def _check_name(name: str) -> None:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown anonymizer {name!r}.{hint} Registered: {', '.join(sorted(_REGISTRY))}")


def create_anonymizer(name: str, checkpoint: str | None = None, **config) -> nn.Module:
    """Build the anonymizer ``name`` (weights from ``checkpoint`` where it has any) in eval mode, frozen.

    Raises:
        ValueError: unknown name (with close matches), or a checkpoint of another anonymizer.
    """
    _load_builtin()
    _check_name(name)
    kind, builder = _REGISTRY[name]
    module = builder(checkpoint=checkpoint or None, **config)
    if getattr(module, "kind", None) != kind or getattr(module, "name", None) != name:
        raise TypeError(f"anonymizer builder {name!r} must return a module with kind={kind!r} and name={name!r}")
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def checkpoint_anonymizer(path: str | Path) -> str | None:
    """The registered name a checkpoint folder's ``config.json`` says it holds, or None if it is not one."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return None
    try:
        meta = json.loads(config.read_text())
    except ValueError:
        return None
    if meta.get("format") == "latentanon-aam":  # train_aam's checkpoints
        return "splavu"
    if meta.get("format") == "latentanon-anonymizer":
        return meta.get("name")
    return None


def load_anonymizer(spec: str) -> nn.Module:
    """An anonymizer from a command-line value: a checkpoint folder (which names its anonymizer) or a registered
    name that needs no weights."""
    name = checkpoint_anonymizer(spec)
    if name is not None:
        return create_anonymizer(name, checkpoint=str(spec))
    if Path(spec).exists():
        raise ValueError(f"{spec} is neither an anonymizer checkpoint (config.json with its format) nor a store")
    _load_builtin()
    if spec not in _REGISTRY:
        raise FileNotFoundError(
            f"{spec}: no such anonymizer checkpoint or store, and not a registered anonymizer "
            f"({', '.join(sorted(_REGISTRY))})"
        )
    return create_anonymizer(spec)


def anonymizer_recipe(anonymizer: nn.Module, checkpoint: str | None = None, **extra) -> dict:
    """What a store records about the anonymizer that made it: kind, name, config, weights sha256 (identity) and
    the checkpoint location (provenance, not part of the recipe hash)."""
    return {
        "kind": anonymizer.kind,
        "name": anonymizer.name,
        "config": json.loads(json.dumps(anonymizer.config)),
        "weights_sha256": state_dict_sha256(anonymizer),
        "checkpoint": str(checkpoint) if checkpoint else None,
        **extra,
    }


__all__ = [
    "KINDS",
    "anonymizer_kind",
    "anonymizer_recipe",
    "checkpoint_anonymizer",
    "create_anonymizer",
    "list_anonymizers",
    "load_anonymizer",
    "register_anonymizer",
]
