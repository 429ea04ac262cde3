"""Privacy-utility trade-off: sweep the privacy and utility weights (w_B, w_T), one adapter per point.

    python -m latentanon.recipes.tradeoff --config recipes/configs/tradeoff.yaml
    python -m latentanon.recipes.tradeoff --action-store ucf101.zarr --privacy-store vispr.zarr --points 0:1,1:1,10:1

Every point trains a SPLAVU adapter with ``train_aam`` (action recognition the seen task with weight w_T, the
budget loss with weight w_B, latent consistency ``--lc``), all starting from the same raw heads (trained once and
cached in ``OUT/raw_heads``), and evaluates it with the protocols (``latentanon.protocols``): privacy cMAP of the
retrained MLP probe on the privacy store (static clips) and action top-1 on the action store. Writes
``tradeoff.json``, ``tradeoff.md`` and ``tradeoff.png`` (the points, their Pareto front and the raw point) and
prints the normalized hypervolume
(``latentanon.comparison.normalized_hypervolume``: 0 = no better than raw, 1 = no leakage at full utility).
Finished points are reused when re-run with the same settings (other settings need another ``--out``).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from latentanon import comparison
from latentanon.config import ConfigError
from latentanon.features import check_stores
from latentanon.protocols import HeadSettings
from latentanon.recipes._common import pyplot, run_cli, table, train_or_reuse, write_outputs
from latentanon.training import AdapterConfig, TrainConfig, Weights
from latentanon.training import main as train


@dataclass(frozen=True)
class TradeoffConfig:
    """Sweep (w_B, w_T); train and evaluate an adapter per point; plot privacy against utility with the NHV."""

    action_store: str = ""  # action store with static clips (training, action top-1)
    privacy_store: str = ""  # privacy images store (VISPR-style, static clips)
    out: str = "runs/tradeoff"  # one adapter run per point, the raw evaluation, tradeoff.json, .md and the plot
    points: str = "0:1,1:1,3:1,10:1,30:1"  # w_B:w_T pairs
    lc: float = 100.0  # w_LC of every point
    center_budget: bool = False  # batch-centred NT-Xent (docs/aam.md)
    epochs: int = 30  # adapter training epochs of every point
    batch_size: int = 64  # action videos per adapter training step
    lr: float = 1e-3  # base learning rate at batch 512 (linear scaling rule, as train_aam)
    seed: int = 0  # seeds training and evaluation of every point
    aam: AdapterConfig = field(default_factory=AdapterConfig)
    protocols: HeadSettings = field(default_factory=HeadSettings)  # the protocols' head settings
    progress: bool = False  # training progress bars


def parse_points(text: str) -> list[tuple[float, float]]:
    """``"0:1,10:0.5"`` -> ``[(0.0, 1.0), (10.0, 0.5)]`` (w_B, w_T); both non-negative."""
    points = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            wb, wt = (float(v) for v in part.split(":"))
        except ValueError:
            raise ConfigError(f"--points: {part!r} is not w_B:w_T (e.g. 10:1)") from None
        if wb < 0 or wt < 0:
            raise ConfigError(f"--points: weights must be >= 0, got {part!r}")
        points.append((wb, wt))
    if not points:
        raise ConfigError("--points is empty")
    if len(set(points)) != len(points):
        raise ConfigError(f"--points repeats a point: {text!r}")
    return points


def _run_name(wb: float, wt: float) -> str:
    return f"wb{wb:g}-wt{wt:g}"


def main(cfg: TradeoffConfig) -> dict:
    """Train and evaluate every point; returns the metrics (also written to ``cfg.out``)."""
    for flag, path in (("action-store", cfg.action_store), ("privacy-store", cfg.privacy_store)):
        if not path:
            raise ConfigError(f"--{flag} is required")
        if not Path(path).exists():
            raise ConfigError(f"--{flag} {path}: no such store")
    check_stores({"action-store": cfg.action_store, "privacy-store": cfg.privacy_store})
    points = parse_points(cfg.points)
    out = Path(cfg.out)
    roles = {"action": cfg.action_store, "privacy": cfg.privacy_store}
    raw = comparison.evaluate_suite(roles, out / "raw", None, cfg.seed, cfg.protocols)
    rows = []
    for wb, wt in points:
        run = out / _run_name(wb, wt)
        train_cfg = TrainConfig(
            action_store=cfg.action_store,
            out=str(run),
            aam=cfg.aam,
            weights=Weights(lc=cfg.lc, budget=wb, ar=wt, tad=0.0, ad=0.0),
            center_budget=cfg.center_budget,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=cfg.seed,
            progress=cfg.progress,
            raw=cfg.protocols,
            raw_heads=str(out / "raw_heads"),
        )
        best_epoch = train_or_reuse(train_cfg, train)["best_epoch"]
        anon = comparison.evaluate_suite(roles, run / "eval", str(run / "best"), cfg.seed, cfg.protocols)
        row = {"w_B": wb, "w_T": wt, "run": str(run), "best_epoch": best_epoch}
        row.update({task: comparison.metric(r) for task, r in anon.items()})
        rows.append(row)
        print(f"w_B {wb:g}, w_T {wt:g}: privacy cMAP {row['privacy']:.4f}, action top-1 {row['ar']:.4f}", flush=True)
    raw_point = (comparison.metric(raw["privacy"]), comparison.metric(raw["ar"]))
    chance = (float(raw["privacy"]["chance_cmap"]), float(raw["ar"]["chance_top1"]))
    nhv = comparison.normalized_hypervolume([(r["privacy"], r["ar"]) for r in rows], raw_point, chance)
    metrics = {
        "points": rows,
        "raw": {task: comparison.metric(r) for task, r in raw.items()},
        "chance": {"privacy": chance[0], "ar": chance[1]},
        "nhv": nhv,
        "config": asdict(cfg),
    }
    metrics["plot"] = str(plot(metrics, out / "tradeoff.png"))
    write_outputs(out, "tradeoff", metrics, format_markdown(metrics))
    print(f"normalized hypervolume: {nhv:.4f}")
    return metrics


def format_markdown(m: dict) -> str:
    cfg = m["config"]
    header = ["w_B", "w_T", "privacy cMAP (static)", "privacy cMAP (moving)", "action top-1", "best epoch"]
    raw = m["raw"]
    rows = [["raw", "", raw["privacy"], raw.get("privacy_moving", float("nan")), raw["ar"], ""]]
    for r in m["points"]:
        moving = r.get("privacy_moving", float("nan"))
        rows.append([f"{r['w_B']:g}", f"{r['w_T']:g}", r["privacy"], moving, r["ar"], r["best_epoch"]])
    loss = "batch-centred NT-Xent" if cfg["center_budget"] else "the published NT-Xent"
    lines = [
        "## Privacy-utility trade-off",
        "",
        f"One adapter per (w_B, w_T) point, w_LC {cfg['lc']:g}, {loss}, {cfg['epochs']} epochs, seed {cfg['seed']}; "
        f"chance: privacy {m['chance']['privacy']:.4f}, action {m['chance']['ar']:.4f}.",
        "",
        table(header, rows),
        f"**Normalized hypervolume: {m['nhv']:.4f}** (0 = no better than raw, 1 = no leakage at full utility; "
        "leakage and utility normalised between chance and raw).",
        "",
        f"![privacy-utility trade-off]({Path(m['plot']).name})",
        "",
    ]
    return "\n".join(lines)


def plot(m: dict, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    pts = sorted((r["privacy"], r["ar"], f"({r['w_B']:g}, {r['w_T']:g})") for r in m["points"])
    front, best = [], -1.0
    for p, u, _ in pts:  # by rising leakage: a point is on the front when no less-leaky point has more utility
        if u > best:
            front.append((p, u))
            best = u
    ax.scatter([p for p, _, _ in pts], [u for _, u, _ in pts], s=40, marker="s", label="adapters (w_B, w_T)", zorder=3)
    for p, u, name in pts:
        ax.annotate(name, (p, u), textcoords="offset points", xytext=(5, 3), fontsize=7)
    ax.plot(
        [p for p, _ in front], [u for _, u in front], "o-", ms=11, mfc="none", color="C2", lw=1, label="Pareto front"
    )
    ax.scatter([m["raw"]["privacy"]], [m["raw"]["ar"]], s=70, marker="o", color="C3", label="raw", zorder=4)
    ax.axvline(m["chance"]["privacy"], color="grey", ls="--", lw=0.8, label="privacy chance")
    ax.set_xlabel("privacy cMAP (attacker retrained; lower is more private)")
    ax.set_ylabel("action top-1 (higher is better)")
    ax.set_title(f"normalized hypervolume {m['nhv']:.3f}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def cli(argv: list[str] | None = None) -> int:
    return run_cli(TradeoffConfig, main, format_markdown, "latentanon.recipes.tradeoff", argv)


if __name__ == "__main__":
    sys.exit(cli())
