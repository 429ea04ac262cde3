"""Checkpoints without pickle: ``model.safetensors`` (tensors) plus ``config.json`` (everything else).

A checkpoint is a directory. Both files are written to temporary names and renamed into place, the JSON last, so
a reader never sees a half-written checkpoint: a directory whose ``config.json`` exists is complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from latentanon.aam import AAM, AAMConfig

FORMAT = "latentanon-aam"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_checkpoint(directory: str | Path, tensors: dict[str, torch.Tensor], config: dict) -> Path:
    """Write ``tensors`` and ``config`` into ``directory`` atomically (see the module docstring).

    Args:
        directory: created if missing; an existing checkpoint there is replaced.
        tensors: name -> tensor (made contiguous and moved to CPU).
        config: JSON-serialisable metadata.

    Returns:
        The directory.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(config, indent=2, sort_keys=True, allow_nan=True)  # fails here, before any file is touched
    tmp_w, tmp_c = out / f".{WEIGHTS}.tmp", out / f".{CONFIG}.tmp"
    (out / CONFIG).unlink(missing_ok=True)  # incomplete until the new config lands
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp_w))
    _fsync(tmp_w)
    os.replace(tmp_w, out / WEIGHTS)
    tmp_c.write_text(blob)
    _fsync(tmp_c)
    os.replace(tmp_c, out / CONFIG)
    return out


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint directory (or its ``model.safetensors``): ``(tensors, config)``."""
    p = Path(path)
    directory = p.parent if p.suffix == ".safetensors" else p
    if not (directory / CONFIG).is_file() or not (directory / WEIGHTS).is_file():
        raise FileNotFoundError(
            f"{path} is not a complete latentanon checkpoint: need {CONFIG} and {WEIGHTS} in {directory} "
            "(a directory without config.json was interrupted while being written)"
        )
    config = json.loads((directory / CONFIG).read_text())
    return load_file(str(directory / WEIGHTS)), config


def save_aam(directory: str | Path, aam: AAM, meta: dict) -> Path:
    """Save a trained adapter with its config and ``meta`` (encoder spec, store recipe hash, training config)."""
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "aam": aam.cfg.to_dict(), **meta}
    return save_checkpoint(directory, {f"aam.{k}": v for k, v in aam.state_dict().items()}, config)


def load_aam(path: str | Path) -> tuple[AAM, dict]:
    """Load an adapter saved by :func:`save_aam` (or a training checkpoint): ``(aam in eval mode, config)``."""
    tensors, config = load_checkpoint(path)
    if config.get("format") != FORMAT:
        raise ValueError(f"{path}: not an AAM checkpoint (format {config.get('format')!r}, expected {FORMAT!r})")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path}: written by a newer latentanon (format {config['format_version']}); upgrade")
    aam = AAM(AAMConfig.from_dict(config["aam"]))
    state = {k.removeprefix("aam."): v for k, v in tensors.items() if k.startswith("aam.")}
    missing, unexpected = aam.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: AAM weights do not match its config (missing {missing}, unexpected {unexpected})")
    return aam.eval(), config
