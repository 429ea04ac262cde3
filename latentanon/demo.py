"""The end-to-end demo (the README's main job): the adapter beside the published one and a control, on every task.

    python -m latentanon.demo [--out demo_out] [--preset demo] [--controls pca,random-projection,noise]

The run of ``latentanon.experiment`` on one seed:

1. builds (or reuses) the synthetic benchmark (version 2; the ``demo`` preset: the ``default`` privacy-image suite,
   two clips per action group, fewer and shorter untrimmed and anomaly videos);
2. extracts their features with the tiny encoder pretrained on the benchmark's own pretraining suite
   (``checkpoints/i3d-r50-tiny-synthetic``, which never saw an evaluation video) into Zarr stores;
3. evaluates the raw features (the fitted AR, TAD and AD heads become the adapters' raw heads);
4. trains the published and the best SPLAVU adapters (AR, TAD and AD seen) for 12 epochs;
5. fits PCA to the adapter's rank on the action store's training clips (and the other controls when asked);
6. evaluates every method with the same protocols (heads and attackers retrained; TriDet 20 epochs, MGFN 25
   steps at lr 1e-4 on 8 + 8 videos, the mean of 3 restarts), prints one table with privacy as the share of the
   removable gap (raw - chance) and the finding against PCA, and writes ``report.md``, ``report.json`` and
   ``privacy_utility.png`` in ``--out``.

About 7 minutes on an idle 2-core machine from a fresh clone (README). One seed on a small benchmark: the figures
move by a few points between seeds; ``python -m latentanon.recipes.seeds --preset default`` gives mean and spread
over seeds (docs/aam.md).

Re-running reuses what is there.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from latentanon.cli import run
from latentanon.experiment import ExperimentConfig
from latentanon.experiment import run as main
from latentanon.protocols import ADConfig, HeadSettings, TADConfig


@dataclass(frozen=True)
class DemoConfig(ExperimentConfig):
    """The README's demo: benchmark -> stores -> published and best SPLAVU adapters and PCA -> one table."""

    epochs: int = 12  # adapter training epochs (both adapters' best validation epoch was 9-10 of 20 on the demo)
    protocols: HeadSettings = field(  # the heads of every evaluation (and the raw heads of training)
        default_factory=lambda: HeadSettings(
            tad=TADConfig(epochs=20, embed_dim=256),
            # the experiment's MGFN protocol (25 steps at lr 1e-4) on batches of 8 + 8 videos, 3 restarts (not 5)
            ad=ADConfig(steps=25, lr=1e-4, batch_size=8, dims=(64, 128, 256), restarts=3),
        )
    )


def cli(argv: list[str] | None = None) -> int:
    return run(DemoConfig, main, argv, prog="latentanon.demo", log_level=logging.WARNING)


__all__ = ["DemoConfig", "cli", "main"]

if __name__ == "__main__":
    sys.exit(cli())
