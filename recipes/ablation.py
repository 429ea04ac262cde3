"""SPLAVU ablation (the paper's Table 5 shape) and the adapter-mode comparison, action recognition the only seen task.

    python -m latentanon.recipes.ablation --action-store ucf101.zarr --privacy-store vispr.zarr \\
        --tad-store thumos14.zarr --ad-store ucf_crime.zarr --out runs/ablation [--seeds 0,1]

Trains one adapter per variant with ``train_aam`` (TAD and AD unseen: weight 0) and evaluates every variant and
the raw features with the same protocols (``latentanon.comparison``):

| variant | change from the full method |
|---|---|
| ``full`` | token adapter, w_LC = 100, w_AR = 1, w_B = 1 |
| ``no_budget`` | w_B = 0: no privacy loss (expect no privacy gain) |
| ``no_utility`` | w_AR = 0: no utility loss (expect the seen task to fall) |
| ``no_lc`` | w_LC = 0: no latent consistency (expect the unseen TAD to fall more than with it) |
| ``paper_compat`` | the released adapter (pooled clip vectors, batch as the attention axis) |
| ``mlp`` | a 3-block MLP adapter |

Writes ``ablation.md`` (one row per variant and seed: action top-1, TAD mAP, AD AUC, privacy cMAP static and
moving, each with its change from raw) and ``ablation.json``. Completed variants are reused when re-run with the
same settings.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from latentanon import comparison
from latentanon.cli import run
from latentanon.config import ConfigError
from latentanon.features import check_stores
from latentanon.protocols import HeadSettings
from latentanon.recipes._common import train_or_reuse
from latentanon.training import AdapterConfig, TrainConfig, Weights
from latentanon.training import main as train

VARIANTS = {
    "full": {},
    "no_budget": {"weights": {"budget": 0.0}},
    "no_utility": {"weights": {"ar": 0.0}},
    "no_lc": {"weights": {"lc": 0.0}},
    "paper_compat": {"aam": {"mode": "paper-compat"}},
    "mlp": {"aam": {"mode": "mlp"}},
}


@dataclass(frozen=True)
class AblationConfig:
    """Train and evaluate each ablation variant; stores per role as in train_aam plus the privacy store."""

    action_store: str = ""  # action store with static clips: trains every variant, scores action top-1 (required)
    privacy_store: str = ""  # privacy images store (VISPR-style, static clips) for the privacy cMAP (required)
    tad_store: str = ""  # temporal action detection store, evaluated only (optional)
    ad_store: str = ""  # anomaly detection store, evaluated only (optional)
    out: str = "runs/ablation"  # one adapter run per variant and seed (NAME-seedS/), ablation.md and ablation.json
    variants: str = ",".join(VARIANTS)  # comma-separated variant names (the table in the module docstring)
    seeds: str = "0"  # comma-separated seeds; every variant is trained and evaluated once per seed
    epochs: int = 30  # adapter training epochs of every variant
    batch_size: int = 64  # action videos per adapter training step
    lr: float = 1e-3  # base learning rate at batch 512 (linear scaling rule, as train_aam)
    center_budget: bool = False  # batch-centred NT-Xent (not in the paper; docs/aam.md)
    lc: float = 100.0  # w_LC of the variants that keep it
    budget: float = 1.0  # w_B of the variants that keep it
    aam: AdapterConfig = field(default_factory=AdapterConfig)
    protocols: HeadSettings = field(default_factory=HeadSettings)  # the protocols' head settings


def _variant_config(cfg: AblationConfig, name: str, seed: int, out: Path) -> TrainConfig:
    change = VARIANTS[name]
    weights = Weights(lc=cfg.lc, budget=cfg.budget, ar=1.0, tad=0.0, ad=0.0)
    weights = replace(weights, **change.get("weights", {}))
    aam = replace(cfg.aam, **change.get("aam", {}))
    return TrainConfig(
        action_store=cfg.action_store,
        out=str(out),
        aam=aam,
        weights=weights,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        center_budget=cfg.center_budget,
        seed=seed,
        progress=False,
    )


def main(cfg: AblationConfig) -> dict:
    if not cfg.action_store or not cfg.privacy_store:
        raise ConfigError("--action-store and --privacy-store are required")
    names = [v.strip() for v in cfg.variants.split(",") if v.strip()]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise ConfigError(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    seeds = [int(s) for s in cfg.seeds.split(",") if s.strip()]
    check_stores({"action-store": cfg.action_store, "privacy-store": cfg.privacy_store, "tad-store": cfg.tad_store,
                  "ad-store": cfg.ad_store})  # fmt: skip
    out = Path(cfg.out)
    roles = {"action": cfg.action_store, "privacy": cfg.privacy_store}
    if cfg.tad_store:
        roles["tad"] = cfg.tad_store
    if cfg.ad_store:
        roles["ad"] = cfg.ad_store
    results: dict = {"raw": {}, "variants": {}}
    for seed in seeds:
        raw = comparison.evaluate_suite(roles, out / f"raw-seed{seed}", None, seed, cfg.protocols)
        results["raw"][seed] = {t: comparison.metric(r) for t, r in raw.items()}
        for name in names:
            run = out / f"{name}-seed{seed}"
            summary = train_or_reuse(_variant_config(cfg, name, seed, run), train)
            anon = comparison.evaluate_suite(roles, run / "eval", str(run / "best"), seed, cfg.protocols)
            rows = comparison.compare(raw, anon)
            results["variants"].setdefault(name, {})[seed] = {"table": rows, "best_epoch": summary["best_epoch"]}
            print(
                f"{name} seed {seed}: "
                + ", ".join(f"{t} {r['anonymized']:.4f} ({100 * r['change']:+.2f})" for t, r in rows.items()),
                flush=True,
            )
    (out / "ablation.json").write_text(json.dumps({"config": asdict(cfg), **results}, indent=1, default=str))
    (out / "ablation.md").write_text(format_ablation(results))
    return results


def format_ablation(results: dict) -> str:
    tasks = [t for t in comparison.COMPARED if any(t in r for r in results["raw"].values())]
    head = "| variant | seed | " + " | ".join(comparison.LABELS[t] for t in tasks) + " |"
    lines = ["# SPLAVU ablation (AR the only seen task)", "", head, "|---|---|" + "---|" * len(tasks)]
    for seed, raw in results["raw"].items():
        lines.append(f"| raw | {seed} | " + " | ".join(f"{raw[t]:.4f}" for t in tasks) + " |")
    for name, by_seed in results["variants"].items():
        for seed, v in by_seed.items():
            cells = []
            for t in tasks:
                r = v["table"].get(t)
                cells.append(f"{r['anonymized']:.4f} ({100 * r['change']:+.2f})" if r else "")
            lines.append(f"| {name} | {seed} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: anonymized value (change from raw, points). Privacy: lower is more private."]
    return "\n".join(lines) + "\n"


def cli(argv: list[str] | None = None) -> int:
    return run(
        AblationConfig,
        main,
        argv,
        prog="latentanon.recipes.ablation",
        summary=format_ablation,
        log_level=logging.WARNING,
    )


if __name__ == "__main__":
    sys.exit(cli())
