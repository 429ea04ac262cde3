"""The end-to-end demo (the README's main job).

    python -m latentanon.demo [--out demo_out] [--encoder i3d-r50-tiny] [--preset small]

Today it builds (or reuses) the built-in synthetic privacy/utility benchmark, extracts the features of its
action suite (UCF101 layout) and of its privacy images (VISPR layout) with the tiny encoder pretrained on the
benchmark (``checkpoints/i3d-r50-tiny-synthetic``, random weights if that folder is absent) into Zarr stores
through the real-format dataset adapters, and prints the store summaries. Re-running reuses what is there.
Later steps of the pipeline (adapter training, evaluation) extend it.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from latentanon.config import ConfigError, parse_cli
from latentanon.precompute import PrecomputeConfig, format_summary
from latentanon.precompute import main as precompute
from latentanon.store import format_info
from latentanon.stores import open_store


@dataclass(frozen=True)
class DemoConfig:
    """Build the synthetic benchmark, precompute two of its suites with a tiny encoder, print the stores."""

    out: str = "demo_out"
    encoder: str = "i3d-r50-tiny"
    checkpoint: str | None = "shipped"  # "shipped": the pretrained checkpoint in checkpoints/; none: random weights
    preset: str = "small"
    num_workers: int = 2
    seed: int = 0


SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "i3d-r50-tiny-synthetic" / "model.safetensors"


def main(cfg: DemoConfig) -> dict:
    from latentanon.datasets.synthetic import generate

    checkpoint = cfg.checkpoint
    if checkpoint == "shipped":
        if cfg.encoder != "i3d-r50-tiny":
            raise ConfigError("the shipped checkpoint is for --encoder i3d-r50-tiny; pass --checkpoint none or a path")
        checkpoint = str(SHIPPED) if SHIPPED.is_file() else None

    if cfg.preset not in ("small", "default"):
        raise ConfigError(f"--preset must be small or default, got {cfg.preset!r}")
    out = Path(cfg.out)
    bench = out / f"synthetic-{cfg.preset}"
    print(f"[1/3] synthetic benchmark ({cfg.preset} preset) in {bench}")
    generate(bench, preset=cfg.preset, seed=cfg.seed)
    infos = {}
    for step, suite in enumerate(("ucf101", "vispr"), start=2):
        store_path = str(out / f"{suite}-{cfg.encoder}.zarr")
        print(f"[{step}/3] precomputing the {suite} suite with {cfg.encoder} into {store_path}")
        summary = precompute(
            PrecomputeConfig(
                dataset=suite,
                root=str(bench / suite),
                encoder=cfg.encoder,
                checkpoint=checkpoint,
                out=store_path,
                num_workers=cfg.num_workers,
                batch_size=32,
                static_clips=2,
                seed=cfg.seed,
            )
        )
        print(format_summary(summary))
        infos[suite] = open_store(store_path).info()
        print("\n" + format_info(infos[suite]) + "\n")
    return infos


def cli(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        main(parse_cli(DemoConfig, argv, prog="latentanon.demo"))
    except (ConfigError, FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
