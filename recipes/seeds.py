"""The demo's comparison over several benchmark seeds: mean and spread of every figure (docs/aam.md's tables).

    python -m latentanon.recipes.seeds --out runs/v2 --preset default --seeds 0,1,2 \
        --controls pca,random-projection,noise --noise 0.5,1.0,2.0

Each seed builds its own benchmark (``OUT/seed-S/synthetic-PRESET``: other people, scenes and videos), extracts
its stores, trains both adapters, fits the controls and evaluates everything (``latentanon.experiment``; a seed
already finished is reused). The table gives, per method and task, the mean over seeds and the standard
deviation (ddof 1), privacy as cMAP and as the share of the removable gap it removes; noise is also reported at
the sigma whose action top-1 is closest to the best adapter's (matched utility). Written to ``OUT/seeds.md`` and
``OUT/seeds.json``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from latentanon.cli import run
from latentanon.comparison import COMPARED, LABELS, metric
from latentanon.config import ConfigError
from latentanon.experiment import ExperimentConfig, finding
from latentanon.experiment import run as run_experiment
from latentanon.recipes._common import write_outputs


@dataclass(frozen=True)
class SeedsConfig(ExperimentConfig):
    """The demo's comparison on several benchmark seeds: mean and standard deviation of every figure."""

    seeds: tuple[int, ...] = (0, 1, 2)  # benchmark seeds (each builds, extracts, trains and evaluates its own)


def _stats(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def aggregate(results: list[dict], adapter: str = "SPLAVU best") -> dict:
    """Mean and std over seeds of every method's figures: ``{"raw": {task: {...}}, "methods": {...},
    "matched_noise": label or None}``; each cell has ``mean``, ``std`` and for privacy ``gap_mean``, ``gap_std``."""
    tasks = [t for t in COMPARED if all(t in r["raw"] for r in results)]
    out: dict = {"seeds": len(results), "tasks": tasks, "raw": {}, "chance": {}, "methods": {}}
    for t in tasks:
        m, s = _stats([metric(r["raw"][t]) for r in results])
        out["raw"][t] = {"mean": m, "std": s}
        out["chance"][t] = _stats([float(r["raw"][t].get("chance_" + r["raw"][t]["metric"], np.nan)) for r in results])[
            0
        ]
    names = [n for n in results[0]["table"] if all(n in r["table"] for r in results)]
    for name in names:
        cells = {}
        for t in tasks:
            if not all(t in r["table"][name] for r in results):
                continue  # a control evaluated on AR and privacy only
            rows = [r["table"][name][t] for r in results]
            m, s = _stats([row["anonymized"] for row in rows])
            cell = {"mean": m, "std": s, "change_mean": _stats([row["change"] for row in rows])[0]}
            if "gap_removed" in rows[0]:
                cell["gap_mean"], cell["gap_std"] = _stats([row["gap_removed"] for row in rows])
                cell["relative_mean"] = _stats([row["relative"] for row in rows])[0]
            cells[t] = cell
        out["methods"][name] = cells
    noise = [n for n in names if n.startswith("noise")]
    if noise and adapter in out["methods"] and "ar" in tasks:
        target = out["methods"][adapter]["ar"]["mean"]
        out["matched_noise"] = min(noise, key=lambda n: abs(out["methods"][n]["ar"]["mean"] - target))
    else:
        out["matched_noise"] = None
    return out


def format_aggregate(agg: dict, title: str) -> str:
    tasks = agg["tasks"]
    lines = [
        f"## {title}",
        "",
        "| method | " + " | ".join(LABELS[t] for t in tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    lines.append("| raw | " + " | ".join(f"{c['mean']:.3f} ± {c['std']:.3f}" for c in agg["raw"].values()) + " |")
    for name, cells in agg["methods"].items():
        row = []
        for t in tasks:
            if t not in cells:
                row.append("")
                continue
            c = cells[t]
            text = f"{c['mean']:.3f} ± {c['std']:.3f}"
            if "gap_mean" in c:
                text += (
                    f" (gap {100 * c['gap_mean']:.0f} ± {100 * c['gap_std']:.0f}%, {100 * c['relative_mean']:+.1f}%)"
                )
            else:
                text += f" ({100 * c['change_mean']:+.1f} pts)"
            row.append(text)
        mark = " (matched AR)" if name == agg.get("matched_noise") else ""
        lines.append(f"| {name}{mark} | " + " | ".join(row) + " |")
    lines.append("| chance | " + " | ".join(f"{agg['chance'][t]:.3f}" for t in tasks) + " |")
    lines.append("")
    lines.append(
        f"Mean ± standard deviation over {agg['seeds']} benchmark seeds; privacy: retrained MLP attacker, cMAP, the "
        "share of the removable gap (raw - chance) removed and the relative change."
    )
    return "\n".join(lines) + "\n"


def main(cfg: SeedsConfig) -> dict:
    if not cfg.seeds or len(set(cfg.seeds)) != len(cfg.seeds):
        raise ConfigError(f"--seeds must list distinct seeds, got {cfg.seeds}")
    results = []
    for seed in cfg.seeds:
        print(f"=== benchmark seed {seed} ===", flush=True)
        results.append(run_experiment(replace(cfg, seed=seed, out=str(Path(cfg.out) / f"seed-{seed}"))))
    agg = aggregate(results)
    title = f"Raw, SPLAVU and controls over seeds {','.join(map(str, cfg.seeds))} (synthetic v2 {cfg.preset})"
    text = format_aggregate(agg, title)
    findings = [f for r in results for f in r["findings"]]
    text += "\n" + "\n".join(f"- seed {s}: {f}" for s, f in zip(cfg.seeds, findings)) + "\n"
    if "PCA-" + str(cfg.rank) in agg["methods"] and "SPLAVU best" in agg["methods"]:
        mean_rows = {
            name: {t: {"gap_removed": c[t].get("gap_mean", np.nan), "anonymized": c[t]["mean"]} for t in c}
            for name, c in agg["methods"].items()
        }
        text += f"- mean over seeds: {finding(mean_rows, 'SPLAVU best', f'PCA-{cfg.rank}')}\n"
    write_outputs(cfg.out, "seeds", {"aggregate": agg, "per_seed": [r["table"] for r in results]}, text)
    print(text)
    return agg


def cli(argv: list[str] | None = None) -> int:
    return run(SeedsConfig, main, argv, prog="latentanon.recipes.seeds")


if __name__ == "__main__":
    sys.exit(cli())
