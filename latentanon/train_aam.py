"""Train an Anonymizing Adapter Module on cached latents (SPLAVU): the command line of ``latentanon.training``.

    python -m latentanon.train_aam --action-store ucf101.zarr [--tad-store thumos14.zarr] [--ad-store ucf_crime.zarr] \\
        --out runs/aam [--config train.yaml] [--weights.ad 0] [--aam.mode paper-compat] ...

The loop, its losses, model selection and outputs are described in ``latentanon.training`` and docs/aam.md;
``python -m latentanon.train_aam --help`` lists every option.
"""

from __future__ import annotations

import sys

from latentanon.cli import run
from latentanon.data import pin_malloc_mmap_threshold
from latentanon.training import TrainConfig, TrainingError, main


def format_summary(summary: dict) -> str:
    """The one-line result of a training run."""
    best = summary["best"] or {}
    return (
        f"best epoch {summary['best_epoch']}: val top-1 {best.get('val_top1', float('nan')):.4f} "
        f"(raw {summary['raw_val']['val_top1']:.4f}), privacy proxy {best.get('val_privacy_proxy', float('nan')):.3f} "
        f"(raw {summary['raw_val']['val_privacy_proxy']:.3f}); {summary['seconds']:.0f} s; "
        f"checkpoint {summary['out']}/best"
    )


def cli(argv: list[str] | None = None) -> int:
    pin_malloc_mmap_threshold()  # windows of the store are allocated and freed every few steps: keep memory flat
    return run(
        TrainConfig, main, argv, prog="latentanon.train_aam", summary=format_summary, user_errors=(TrainingError,)
    )


if __name__ == "__main__":
    sys.exit(cli())
