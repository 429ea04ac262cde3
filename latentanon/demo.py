"""The end-to-end demo (the README's main job): the adapter beside the published one and a control, on every task.

    python -m latentanon.demo [--out demo_out] [--preset demo] [--controls pca,random-projection,noise]

The run of ``latentanon.experiment`` on one seed:

1. builds (or reuses) the synthetic benchmark (version 2; the ``demo`` preset: the ``default`` sizes of the
   action and privacy-image suites with fewer untrimmed and anomaly videos);
2. extracts their features with the tiny encoder pretrained on the benchmark's own pretraining suite
   (``checkpoints/i3d-r50-tiny-synthetic``, which never saw an evaluation video) into Zarr stores;
3. trains the published and the best SPLAVU adapters (AR, TAD and AD seen), sharing the raw heads;
4. fits PCA to the adapter's rank on the action store's training clips (and the other controls when asked);
5. evaluates raw features and every method with the same protocols (heads and attackers retrained), prints one
   table with privacy as the share of the removable gap (raw - chance) and the finding against PCA, and writes
   ``report.md``, ``report.json`` and ``privacy_utility.png`` in ``--out``.

Re-running reuses what is there.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from latentanon.cli import run
from latentanon.experiment import ExperimentConfig
from latentanon.experiment import run as main


@dataclass(frozen=True)
class DemoConfig(ExperimentConfig):
    """The README's demo: benchmark -> stores -> published and best SPLAVU adapters and PCA -> one table."""


def cli(argv: list[str] | None = None) -> int:
    return run(DemoConfig, main, argv, prog="latentanon.demo", log_level=logging.WARNING)


__all__ = ["DemoConfig", "cli", "main"]

if __name__ == "__main__":
    sys.exit(cli())
