"""Inspect and maintain feature stores: ``python -m latentanon.stores COMMAND`` (``--help`` lists the options).

python -m latentanon.stores info STORE [--json]
python -m latentanon.stores merge PART [PART ...] --out STORE [--no-progress]
python -m latentanon.stores export STORE --format npy DIR [--tokens]
python -m latentanon.stores import DIR --out STORE [--labels CSV] [--annotations JSON] [--encoder-spec JSON]

``python -m latentanon.store ...`` (the older name) runs the same commands.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Literal

from latentanon.cli import Command, run_commands
from latentanon.config import ConfigError
from latentanon.contracts import EncoderSpec
from latentanon.stores import merge_stores, open_store
from latentanon.stores.info import format_info
from latentanon.stores.interop import export_npy, import_npy


@dataclass(frozen=True)
class InfoConfig:
    """Summarise a store: encoder, recipe, videos, clips, failures, bytes."""

    store: str = ""  # the store: a folder or an fsspec URL
    json: bool = False  # print the summary as JSON instead of text


@dataclass(frozen=True)
class MergeConfig:
    """Join the part stores of a sharded run into a new store."""

    parts: tuple[str, ...] = ()  # the part stores (OUT.part-I-of-N of precompute --shard), one or more
    out: str = ""  # the merged store to write (required; must not exist)
    progress: bool = True  # show a progress bar (--no-progress: none)


@dataclass(frozen=True)
class ExportConfig:
    """Write per-video .npy features and the official codes' list files."""

    store: str = ""  # the store to export
    dir: str = ""  # folder to write (must be empty or absent)
    format: Literal["npy"] = "npy"  # output format: one .npy file per video
    tokens: bool = False  # write (T, T', D) tokens instead of (T, D) pooled clip features


@dataclass(frozen=True)
class ImportConfig:
    """Build a store from a folder of per-video .npy features."""

    dir: str = ""  # folder of per-video .npy features, (T, D) or (T, T', D) each
    out: str = ""  # the store to write (required)
    labels: str = ""  # CSV key,label,split[,subject,gender] (header optional)
    annotations: str = ""  # ActivityNet-style JSON of action segments
    encoder_spec: str = ""  # JSON file of the EncoderSpec the features came from
    clip_length: int = 16  # frames per clip when no --encoder-spec is given


def info(cfg: InfoConfig) -> None:
    summary = open_store(cfg.store).info()
    print(json.dumps(summary, indent=2) if cfg.json else format_info(summary))


def merge(cfg: MergeConfig) -> None:
    if not cfg.out:
        raise ConfigError("--out is required (the merged store to write)")
    store = merge_stores(list(cfg.parts), cfg.out, progress=cfg.progress)
    print(format_info(store.info()))


def export(cfg: ExportConfig) -> None:
    manifest = export_npy(cfg.store, cfg.dir, pooled=not cfg.tokens)
    lists = ", ".join(f"{k}: {v['videos']}" for k, v in manifest["lists"].items())
    print(f"exported {manifest['videos']} videos ({manifest['features']}) to {cfg.dir}; lists {lists}")


def import_(cfg: ImportConfig) -> None:
    if not cfg.out:
        raise ConfigError("--out is required (the store to write)")
    spec = None
    if cfg.encoder_spec:
        with open(cfg.encoder_spec) as f:
            spec = EncoderSpec.from_dict(json.load(f))
    store = import_npy(cfg.dir, cfg.out, cfg.labels or None, cfg.annotations or None, spec, clip_length=cfg.clip_length)
    print(format_info(store.info()))


@dataclass(frozen=True)
class UpgradeConfig:
    """Upgrade a store of an older format in place (format 1 -> 2: add the encoder's pooling record)."""

    store: str = ""  # the store to upgrade
    encoder_checkpoint: str = ""  # the encoder weights, when they are no longer where the store recorded them


def upgrade(cfg: UpgradeConfig) -> None:
    from latentanon.features import upgrade_store

    done = upgrade_store(cfg.store, cfg.encoder_checkpoint or None)
    if done["changed"]:
        print(f"{cfg.store}: upgraded from store format {done['from']} to {done['to']} (pooling {done['pooling']})")
    else:
        print(f"{cfg.store}: already store format {done['to']}; nothing to do")


COMMANDS = {
    "info": Command(InfoConfig, info, positional=("store",)),
    "merge": Command(MergeConfig, merge, positional=("parts",)),
    "export": Command(ExportConfig, export, positional=("store", "dir")),
    "import": Command(ImportConfig, import_, positional=("dir",)),
    "upgrade": Command(UpgradeConfig, upgrade, positional=("store",)),
}


def main(argv: list[str] | None = None) -> int:
    """``python -m latentanon.stores COMMAND ...``; returns the exit status (2: a bad argument or input)."""
    return run_commands(COMMANDS, argv, prog="latentanon.stores", description="Inspect and maintain feature stores.")


if __name__ == "__main__":
    sys.exit(main())
