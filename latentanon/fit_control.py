"""Fit a control anonymizer (PCA-k, random projection-k, Gaussian noise, temporal-mean removal) on a raw store.

    python -m latentanon.fit_control --store stores/ucf101.zarr --control pca --k 8 --out controls/pca-8
    python -m latentanon.fit_control --store stores/ucf101.zarr --control noise --sigma 0.5 --out controls/noise-0.5
    python -m latentanon.evaluate --store stores/vispr.zarr --task privacy --anonymizer controls/pca-8

The fit reads the store's training clips only; the checkpoint folder works wherever an anonymizer checkpoint does
(``anonymize``, ``evaluate``, the recipes). See ``latentanon/anonymizers/controls.py`` for what each control does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from latentanon.cli import run
from latentanon.config import ConfigError


@dataclass(frozen=True)
class FitControlConfig:
    """Fit a control anonymizer on the training clips of a raw feature store and save it as a checkpoint."""

    store: str = ""  # the raw store whose training clips the control is fitted on
    control: str = "pca"  # pca, random-projection, noise or temporal-mean
    out: str = ""  # checkpoint folder to write (model.safetensors + config.json)
    k: int = 0  # rank of pca and random-projection (1..feature dim)
    sigma: float = -1.0  # noise: standard deviation in units of each dimension's training std (>= 0)
    seed: int = 0  # seeds the random projection and the noise


def main(cfg: FitControlConfig) -> dict:
    from latentanon.controls import fit_control

    for name in ("store", "out"):
        if not getattr(cfg, name):
            raise ConfigError(f"--{name} is required")
    k = cfg.k if cfg.k > 0 else None
    sigma = cfg.sigma if cfg.sigma >= 0 else None
    out = fit_control(cfg.control, cfg.store, cfg.out, k=k, sigma=sigma, seed=cfg.seed)
    return {"control": cfg.control, "out": str(out)}


def cli(argv: list[str] | None = None) -> int:
    return run(
        FitControlConfig,
        main,
        argv,
        prog="latentanon.fit_control",
        summary=lambda s: f"fitted the {s['control']} control: {s['out']}",
    )


if __name__ == "__main__":
    sys.exit(cli())
