"""Helpers shared by the encoder families: the frozen base module, checkpoint reading and strict loading.

Module level imports only torch; transformers and safetensors are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from latentanon.contracts import EncoderSpec, RandomWeightsWarning, state_dict_sha256

WEIGHT_FILE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")
# Keys under which training scripts nest the model weights (VideoMAE: "model", DeepSpeed: "module", Lightning and
# many others: "state_dict"). Tried in this order at each level.
_WRAPPER_KEYS = ("state_dict", "model", "module", "model_state", "net")
_SHOWN_KEYS = 12


class FrozenEncoder(nn.Module):
    """Base of every latentanon encoder: always in eval mode, parameters frozen, ``spec`` attached by ``finalize``.

    ``train()`` is a no-op on purpose: a frozen encoder inside a trainable wrapper (the AAM, a recipe's model) must
    not switch its dropout on or update BatchNorm running statistics when the wrapper calls ``.train()``.
    """

    spec: EncoderSpec

    def train(self, mode: bool = True) -> FrozenEncoder:
        return super().train(False)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Standard clip feature from the temporal tokens.

        Args:
            tokens: (B, T', D) output of ``forward``.

        Returns:
            (B, D) mean over the T' temporal tokens (families override this where the official recipe differs).
        """
        return tokens.mean(dim=1)  # (B, D)


def tubelet_means(hidden: torch.Tensor, tokens_per_clip: int) -> torch.Tensor:
    """Temporal tokens from a ViT's last hidden states.

    Args:
        hidden: (B, L, D) with the L = T' * h * w tokens in T'-major order (tubelet slice, then space).

    Returns:
        (B, T', D): the spatial mean of each tubelet slice.
    """
    b, length, d = hidden.shape
    return hidden.view(b, tokens_per_clip, length // tokens_per_clip, d).mean(dim=2)  # (B, T', D)


def mean_then_norm(tokens: torch.Tensor, norm: nn.Module | None) -> torch.Tensor:
    """VideoMAE-style clip feature: (B, T', D) -> (B, D) mean of all tokens, then ``norm`` (``fc_norm``) if any.

    Equal slice sizes make the mean over T' slice means the mean over all L tokens.
    """
    z = tokens.mean(dim=1)  # (B, D)
    return norm(z) if norm is not None else z


def finalize(encoder: FrozenEncoder, weights: str) -> FrozenEncoder:
    """Freeze ``encoder``, record the weights source and hash in its spec, warn when the weights are random.

    Args:
        encoder: the built module with its ``spec`` set, weights already loaded.
        weights: ``"random"``, a Hugging Face id or a resolved local path.
    """
    spec = encoder.spec
    encoder.requires_grad_(False)
    encoder.eval()
    drop_batchnorm_counters(encoder)
    # Modules built on the meta device (tests of the large variants) have no bytes to hash.
    on_meta = any(t.is_meta for t in encoder.state_dict().values())
    encoder.spec = spec.with_weights(weights, None if on_meta else state_dict_sha256(encoder))
    if weights == "random":
        warn_random_weights(spec.name)
    return encoder


def drop_batchnorm_counters(module: nn.Module) -> None:
    """Remove the BatchNorm ``num_batches_tracked`` buffers: training-only bookkeeping, unused in eval mode.

    Makes the weights hash independent of how long the checkpoint was trained.
    """
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.num_batches_tracked = None


def warn_random_weights(name: str) -> None:
    warnings.warn(
        f"encoder {name!r} was built with RANDOM weights: its features are meaningless for any real task. "
        f"Pass a checkpoint: create_encoder({name!r}, checkpoint=HF_ID_OR_PATH), or --checkpoint HF_ID_OR_PATH on "
        "the command line (see docs/encoders.md for the recommended checkpoint of each encoder).",
        RandomWeightsWarning,
        stacklevel=3,
    )


def checkpoint_kind(checkpoint: str) -> str:
    """Classify a ``checkpoint`` argument as ``"file"``, ``"dir"`` or ``"hub"`` (a Hugging Face id).

    Raises:
        FileNotFoundError: the argument looks like a local path (or weights file name) that does not exist.
    """
    if not isinstance(checkpoint, str) or not checkpoint:
        raise TypeError(f"checkpoint must be a non-empty str (HF id or local path), got {checkpoint!r}")
    path = Path(checkpoint).expanduser()
    if path.is_file():
        return "file"
    if path.is_dir():
        return "dir"
    looks_local = checkpoint.startswith((".", "/", "~")) or checkpoint.endswith(WEIGHT_FILE_SUFFIXES)
    if looks_local or checkpoint.count("/") > 1:
        raise FileNotFoundError(f"checkpoint {checkpoint!r} does not exist (looked for {path.resolve()})")
    return "hub"


def resolved(checkpoint: str) -> str:
    """The string recorded in ``EncoderSpec.weights`` for a local checkpoint: its absolute path."""
    return str(Path(checkpoint).expanduser().resolve())


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a weights file into a flat ``{key: tensor}`` dict on the CPU.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(map_location="cpu", weights_only=True)`` (``argparse.Namespace`` is allowed because official VideoMAE
    checkpoints store their training arguments). Common wrappers are removed: nested ``{"state_dict": ...}``,
    ``{"model": ...}``, ``{"module": ...}`` dicts and a ``module.`` prefix on every key (DataParallel).
    """
    path = Path(path).expanduser()
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return unwrap_state_dict(load_file(str(path), device="cpu"), source=str(path))
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError and friends: the file holds arbitrary Python objects
        raise ValueError(
            f"could not read {path} with torch.load(weights_only=True): {err}. latentanon never unpickles arbitrary "
            "objects. If you trust the file, convert it once to a plain state dict, e.g. "
            "torch.save(torch.load(path, weights_only=False)['model'], 'weights.pth'), or to .safetensors."
        ) from err
    return unwrap_state_dict(obj, source=str(path))


def unwrap_state_dict(obj: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Strip training wrappers until a flat ``{str: Tensor}`` dict remains (see :func:`read_state_dict`)."""
    for _ in range(4):  # wrappers nest at most a few levels deep
        if not isinstance(obj, Mapping):
            raise ValueError(f"{source}: expected a dict of tensors, found {type(obj).__name__}")
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            raise ValueError(
                f"{source}: no tensors found; top-level keys are {sorted(map(str, obj))[:_SHOWN_KEYS]} and none of "
                f"the usual wrappers {list(_WRAPPER_KEYS)} holds a state dict"
            )
        obj = inner
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Remove ``prefix`` from the keys that carry it; other keys are kept unchanged."""
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}


def drop_keys(state: Mapping[str, torch.Tensor], prefixes: Iterable[str]) -> dict[str, torch.Tensor]:
    """Remove every key starting with one of ``prefixes`` (classifier heads, decoders, predictors)."""
    prefixes = tuple(prefixes)
    return {k: v for k, v in state.items() if not k.startswith(prefixes)} if prefixes else dict(state)


def _show(keys: list[str]) -> str:
    more = f" ... and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else ""
    return ", ".join(keys[:_SHOWN_KEYS]) + more


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], source: str, layout: str) -> None:
    """Load ``state`` into ``module`` requiring every key and shape to match.

    BatchNorm ``num_batches_tracked`` counters are ignored on both sides: old checkpoints (pytorch-i3d, the converted
    I3Res50 of pytorch-resnet3d) do not store them and they do not affect eval-mode outputs.

    Args:
        module: the target module.
        state: flat state dict, wrappers and ignored heads already removed.
        source: where the weights came from, for the error message.
        layout: human name of the expected key layout, for the error message.

    Raises:
        ValueError: naming the missing keys, the unexpected keys and the shape mismatches.
    """
    counter = "num_batches_tracked"
    state = {k: v for k, v in state.items() if not k.endswith(counter)}
    expected = {k: v for k, v in module.state_dict().items() if not k.endswith(counter)}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} (checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)})"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or mismatched:
        lines = [f"{source} does not match the {layout} key layout:"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): {_show(missing)}")
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): {_show(unexpected)}")
        if mismatched:
            lines.append(f"  shape mismatches ({len(mismatched)}): {_show(mismatched)}")
        lines.append("  (is it the checkpoint of another encoder size or family? see docs/encoders.md)")
        raise ValueError("\n".join(lines))
    module.load_state_dict(state, strict=False)  # strict=False only for the counters; all else was checked


class quiet_transformers:
    """Context manager silencing transformers' load reports and progress bars while a builder loads weights.

    The builders check missing/unexpected keys themselves (``output_loading_info=True``) and raise on real problems,
    so the library's own report would only repeat the expected ones (a dropped classifier or predictor).
    """

    def __enter__(self) -> quiet_transformers:
        from transformers.utils import logging as hf_logging

        self._hf = hf_logging
        self._verbosity = hf_logging.get_verbosity()
        self._bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hf.set_verbosity(self._verbosity)
        if self._bars:
            self._hf.enable_progress_bar()


def check_loading_info(info: Mapping[str, object], source: str, ignore_missing: tuple[str, ...] = ()) -> None:
    """Raise when ``from_pretrained(..., output_loading_info=True)`` left weights uninitialised or mis-shaped.

    Unexpected keys are fine (a classifier head, a decoder, a pooler we drop); missing or mismatched ones mean the
    encoder would silently run with random weights.
    """
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(ignore_missing))
    mismatched = sorted(str(k) for k in info.get("mismatched_keys", ()))
    if missing or mismatched:
        raise ValueError(
            f"{source}: checkpoint does not fully initialise the encoder; missing keys ({len(missing)}): "
            f"{_show(missing)}; shape mismatches ({len(mismatched)}): {_show(mismatched)}"
        )
