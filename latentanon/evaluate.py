"""Evaluate a feature store on a downstream task: the command line of ``latentanon.protocols``.

    python -m latentanon.evaluate --task ar --store ucf101.zarr --out reports/ar.json [--config eval.yaml]

The head trains on the store's ``train`` split minus a validation subset held out by video (``--val-fraction``);
the epoch with the best validation score is kept and only that model is scored on the test split (``test``, or
``val`` for datasets whose test labels are hidden). Writes the metrics as JSON and a Markdown table beside it.
``--anonymizer`` evaluates the store's features through a latent anonymizer (a ``train_aam`` checkpoint, applied on
the fly as ``anonymize`` would store it), or opens an anonymized store of the same videos instead.

Tasks (``latentanon/protocols/``): ``ar`` (linear head, 5-clip top-1), ``tad`` (TriDet, ActivityNet mAP),
``ad`` (MGFN, frame AUC), ``privacy`` (MLP attacker, cMAP).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, dataclass

from latentanon.cli import run
from latentanon.config import ConfigError
from latentanon.protocols import TASKS, HeadSettings, evaluate_store, format_markdown, head_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateConfig(HeadSettings):
    """Train a task head on a feature store and report its test metrics."""

    task: str = "ar"  # the protocol: ar (action recognition), tad (detection), ad (anomaly), privacy (attacker)
    store: str = ""  # the feature store to evaluate (required)
    out: str = "report.json"  # the JSON report; its Markdown twin is written beside it (.md)
    val_fraction: float = 0.1  # of the training videos (or subjects), held out for choosing the epoch
    seed: int = 0  # seeds the validation split, the head's initialisation and its batches
    anonymizer: str = ""  # a latent anonymizer checkpoint (applied on the fly) or an anonymized store of the videos
    encoder_checkpoint: str = ""  # encoder weights to pool a format-1 store, when they moved since precompute
    progress: bool = True  # show progress bars


def main(cfg: EvaluateConfig) -> dict:
    """Run the evaluation and write ``cfg.out`` (JSON) and its Markdown twin; returns the report."""
    if cfg.task not in TASKS:
        raise ConfigError(f"--task must be one of {list(TASKS)}, got {cfg.task!r}")
    if not cfg.store:
        raise ConfigError("--store is required")
    if not 0 < cfg.val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in (0, 1), got {cfg.val_fraction}")
    return evaluate_store(
        cfg.task,
        cfg.store,
        cfg.out,
        cfg.anonymizer,
        head_settings(cfg),
        cfg.val_fraction,
        cfg.seed,
        cfg.progress,
        cfg.encoder_checkpoint,
        config=asdict(cfg),
    )


def cli(argv: list[str] | None = None) -> int:
    return run(EvaluateConfig, main, argv, prog="latentanon.evaluate", summary=format_markdown)


if __name__ == "__main__":
    sys.exit(cli())
