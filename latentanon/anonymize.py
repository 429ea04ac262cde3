"""Write an anonymized copy of a feature store.

    python -m latentanon.anonymize --store raw/ucf101.zarr --anonymizer runs/aam/best --out anon/ucf101.zarr

The output has the raw store's schema and video table (labels, splits, annotations, static-clip frame indices);
its clip and static-clip tokens and features are ``f_L(tokens)`` and ``pool(f_L(tokens))`` for a latent anonymizer
``f_L`` (e.g. the SPLAVU adapter), and its recipe's ``anonymizer`` field records it (kind, name, config, weights
hash, checkpoint). No raw feature is copied. (A pixel anonymizer is applied to video: ``precompute --anonymizer``.)
Like ``precompute``, the run is resumable (videos already written are skipped) and a reader never sees a
half-written video.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from latentanon.cli import run
from latentanon.config import ConfigError
from latentanon.features import anonymize_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnonymizeConfig:
    """Apply a latent anonymizer to every clip of a raw store and write the result as a new store."""

    store: str = ""  # the raw store
    anonymizer: str = ""  # a latent anonymizer checkpoint (train_aam's OUT/best) or a registered name
    out: str = ""  # the anonymized store to write
    encoder_checkpoint: str = ""  # encoder weights to pool a format-1 store, if moved since precompute
    progress: bool = True  # show a progress bar


def main(cfg: AnonymizeConfig) -> dict:
    """Anonymize ``cfg.store`` into ``cfg.out``; returns a summary."""
    for name in ("store", "anonymizer", "out"):
        if not getattr(cfg, name):
            raise ConfigError(f"--{name} is required")
    return anonymize_store(cfg.store, cfg.anonymizer, cfg.out, cfg.encoder_checkpoint, cfg.progress)


def format_summary(summary: dict) -> str:
    """The one-line result of an anonymize run."""
    return (
        f"anonymized store {summary['out']}: {summary['written']} videos written, {summary['skipped']} already "
        f"there, in {summary['seconds']:.1f} s (anonymizer {summary['anonymizer']['name']} "
        f"{summary['anonymizer']['checkpoint'] or ''})"
    )


def cli(argv: list[str] | None = None) -> int:
    return run(AnonymizeConfig, main, argv, prog="latentanon.anonymize", summary=format_summary)


if __name__ == "__main__":
    sys.exit(cli())
