"""The end-to-end demo (the README's main job).

    python -m latentanon.demo [--out demo_out] [--preset small] [--epochs 30]

1. builds (or reuses) the built-in synthetic privacy/utility benchmark;
2. extracts the features of its action (UCF101 layout), privacy image (VISPR), untrimmed (THUMOS14) and anomaly
   (UCF-Crime) suites with the tiny encoder pretrained on the benchmark (``checkpoints/i3d-r50-tiny-synthetic``;
   random weights if that folder is absent) into Zarr stores, through the real-format dataset adapters;
3. trains the raw heads and the SPLAVU adapter on the stores (``train_aam``; AR, TAD and AD seen);
4. writes an anonymized copy of the action store (``anonymize``);
5. evaluates raw versus anonymized features on action recognition, TAD, AD and the privacy probe (static
   images and moving clips), prints the table and writes ``report.md``, ``report.json`` and
   ``privacy_utility.png`` in ``--out``.

Re-running reuses what is there (the benchmark, complete stores, cached raw heads, a finished adapter run).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from latentanon.cli import run
from latentanon.config import ConfigError
from latentanon.extract import PrecomputeConfig, format_summary
from latentanon.extract import main as precompute
from latentanon.protocols import ADConfig, HeadSettings, TADConfig
from latentanon.stores import open_store
from latentanon.stores.info import format_info

SUITES = ("ucf101", "vispr", "thumos14", "ucf_crime")
STEPS = 5


@dataclass(frozen=True)
class DemoConfig:
    """Benchmark -> stores -> raw heads -> SPLAVU adapter -> anonymized store -> raw vs anonymized report."""

    out: str = "demo_out"  # folder for the benchmark, the stores, the adapter run and the report
    encoder: str = "i3d-r50-tiny"  # registry name of the frozen encoder (the shipped checkpoint is for i3d-r50-tiny)
    checkpoint: str | None = "shipped"  # "shipped": the pretrained checkpoint in checkpoints/; none: random weights
    preset: str = "small"  # synthetic benchmark size: small (minutes on a CPU) or default
    num_workers: int = 2  # decoding processes of precompute
    seed: int = 0  # seeds the benchmark, the static clips, training and evaluation
    epochs: int = 30  # adapter training epochs
    batch_size: int = 64  # action videos per adapter training step
    lr: float = 1e-3  # base lr at batch 512 (linear scaling: 1.25e-4 at batch 64)
    center_budget: bool = False  # the published NT-Xent; true: batch-centred (docs/aam.md)
    protocols: HeadSettings = field(  # the heads of raw and anonymized evaluation (and the raw heads of training)
        default_factory=lambda: HeadSettings(tad=TADConfig(embed_dim=256), ad=ADConfig(steps=300, dims=(64, 128, 256)))
    )


SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "i3d-r50-tiny-synthetic" / "model.safetensors"


def _step(k: int, text: str) -> None:
    print(f"[{k}/{STEPS}] {text}", flush=True)


def main(cfg: DemoConfig) -> dict:
    from latentanon import comparison
    from latentanon.datasets.synthetic import generate
    from latentanon.features import anonymize_store
    from latentanon.training import TrainConfig, Weights
    from latentanon.training import main as train

    checkpoint = cfg.checkpoint
    if checkpoint == "shipped":
        if cfg.encoder != "i3d-r50-tiny":
            raise ConfigError("the shipped checkpoint is for --encoder i3d-r50-tiny; pass --checkpoint none or a path")
        checkpoint = str(SHIPPED) if SHIPPED.is_file() else None
    if cfg.preset not in ("small", "default"):
        raise ConfigError(f"--preset must be small or default, got {cfg.preset!r}")
    if cfg.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {cfg.epochs}")
    t0 = time.perf_counter()
    out = Path(cfg.out)
    bench = out / f"synthetic-{cfg.preset}"
    _step(1, f"synthetic benchmark ({cfg.preset} preset) in {bench}")
    generate(bench, preset=cfg.preset, seed=cfg.seed)

    _step(2, f"precomputing {', '.join(SUITES)} with {cfg.encoder}")
    stores, infos = {}, {}
    for suite in SUITES:
        path = str(out / f"{suite}-{cfg.encoder}.zarr")
        summary = precompute(
            PrecomputeConfig(
                dataset=suite,
                root=str(bench / suite),
                encoder=cfg.encoder,
                checkpoint=checkpoint,
                out=path,
                num_workers=cfg.num_workers,
                batch_size=32,
                static_clips=2,
                seed=cfg.seed,
            )
        )
        print(format_summary(summary))
        infos[suite] = open_store(path).info()
        stores[suite] = path
    print("\n" + format_info(infos["ucf101"]) + "\n")

    _step(3, "training the raw heads and the SPLAVU adapter (AR, TAD and AD seen)")
    p = cfg.protocols
    run = out / "aam"
    summary = train(
        TrainConfig(
            action_store=stores["ucf101"],
            tad_store=stores["thumos14"],
            ad_store=stores["ucf_crime"],
            out=str(run),
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            center_budget=cfg.center_budget,
            seed=cfg.seed,
            weights=Weights(),
            raw=p,
            ad_batch=4,
        )
    )
    best = summary["best"] or {}
    print(
        f"adapter: best epoch {summary['best_epoch']} of {cfg.epochs}, validation top-1 "
        f"{best.get('val_top1', float('nan')):.3f} (raw {summary['raw_val']['val_top1']:.3f}), privacy proxy "
        f"{best.get('val_privacy_proxy', float('nan')):.3f} (raw {summary['raw_val']['val_privacy_proxy']:.3f}), "
        f"{summary['aam_parameters'] / 1e6:.2f}M parameters, {summary['seconds']:.0f} s"
    )

    _step(4, "anonymizing the action store")
    anon_path = str(out / f"ucf101-{cfg.encoder}-anon.zarr")
    anonymize_store(stores["ucf101"], str(run / "best"), anon_path)
    print("\n" + format_info(open_store(anon_path).info()) + "\n")

    _step(5, "evaluating raw versus anonymized features (AR, TAD, AD, privacy)")
    roles = {
        "action": stores["ucf101"],
        "tad": stores["thumos14"],
        "ad": stores["ucf_crime"],
        "privacy": stores["vispr"],
    }
    raw = comparison.evaluate_suite(roles, out / "eval" / "raw", None, cfg.seed, p)
    anon = comparison.evaluate_suite(roles, out / "eval" / "anonymized", str(run / "best"), cfg.seed, p)
    rows = comparison.compare(raw, anon)
    table = comparison.format_table(
        rows, f"Raw versus anonymized ({cfg.encoder}, synthetic {cfg.preset}, seed {cfg.seed})"
    )
    json_path, md_path = comparison.write_report(out, rows, raw, anon, {"train": summary, "config": cfg.__dict__})
    comparison.plot_comparison(rows, out / "privacy_utility.png")
    print("\n" + table)
    if cfg.preset == "small":
        print(
            "The small preset has few videos per task (3 untrimmed training videos for TAD): its figures show the "
            "pipeline working, not the method's quality. docs/aam.md reports the default preset."
        )
    print(f"wrote {md_path}, {json_path} and {out / 'privacy_utility.png'} in {time.perf_counter() - t0:.0f} s")
    return {"stores": infos, "train": summary, "table": rows}


def cli(argv: list[str] | None = None) -> int:
    return run(DemoConfig, main, argv, prog="latentanon.demo", log_level=logging.WARNING)


if __name__ == "__main__":
    sys.exit(cli())
