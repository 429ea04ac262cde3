"""Raw versus anonymized features on every task: the privacy-utility table and plot of the demo and the recipes.

``evaluate_suite`` runs the protocols of ``latentanon.protocols`` (action top-1, TAD mAP, AD frame AUC, privacy
cMAP on static clips of images and on moving clips of people) on a set of stores, raw or through an anonymizer
checkpoint;
``compare`` puts two such results side by side with absolute and relative changes, the privacy reduction as a
share of the removable gap (raw - chance); ``plot`` draws privacy cMAP against action top-1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from latentanon.protocols import HeadSettings, evaluate_store

# compared rows: task -> (store role, protocol, metric, higher is better)
COMPARED = {
    "ar": ("action", "ar", "top1", True),
    "tad": ("tad", "tad", "average_mAP", True),
    "ad": ("ad", "ad", "frame_auc", True),
    "privacy": ("privacy", "privacy", "cmap", False),
    "privacy_moving": ("action", "privacy", "cmap", False),
}
LABELS = {
    "ar": "action top-1",
    "tad": "TAD mAP (0.3:0.7)",
    "ad": "AD frame AUC",
    "privacy": "privacy cMAP, static clips (images)",
    "privacy_moving": "privacy cMAP, moving clips",
}


def evaluate_suite(
    stores: dict[str, str],
    out: str | Path,
    anonymizer: str | None = None,
    seed: int = 0,
    heads: HeadSettings | None = None,
    val_fraction: float = 0.1,
    heads_out: str | Path | None = None,
) -> dict:
    """Evaluate every task whose store role is given; ``{task: report}`` (reports also written under ``out``).

    Args:
        stores: role -> store path; roles ``action`` (AR and moving-clip privacy, if its videos carry attribute
            labels), ``tad``, ``ad``, ``privacy`` (static clips of privacy images).
        out: folder for the per-task JSON/Markdown reports.
        anonymizer: a latent anonymizer checkpoint applied on the fly, or None for raw features.
        heads: the protocols' head settings, the same for raw and anonymized runs (default ``HeadSettings()``).
        heads_out: a folder to save the fitted AR, TAD and AD heads in (``heads_out/ar`` ...), as ``train_aam``
            reuses them for its raw heads (``--raw-heads``): evaluate raw features first, then train adapters.
    """
    reports = {}
    for task, (role, protocol, _, _) in COMPARED.items():
        if role not in stores:
            continue
        try:
            head_out = Path(heads_out) / protocol if heads_out else None  # saved only by protocols with a head
            reports[task] = evaluate_store(
                protocol, stores[role], Path(out) / f"{task}.json", anonymizer or "", heads, val_fraction, seed,
                head_out=head_out,
            )  # fmt: skip
        except ValueError as e:
            if task == "privacy_moving" and "no attribute labels" in str(e):
                continue  # an action store without attribute labels: no moving-clip probe
            raise
    return reports


def metric(report: dict) -> float:
    return float(report["test_" + report["metric"]])


def compare(raw: dict, anon: dict) -> dict:
    """Per task: raw, anonymized, chance, change (points) and relative change; privacy also the removed share of
    the removable gap (raw - chance)."""
    rows = {}
    for task, (_, _, _, higher) in COMPARED.items():
        if task not in raw or task not in anon:
            continue
        r, a = metric(raw[task]), metric(anon[task])
        chance = float(raw[task].get("chance_" + raw[task]["metric"], float("nan")))
        row = {"raw": r, "anonymized": a, "chance": chance, "change": a - r, "relative": (a - r) / r if r else math.nan}
        if not higher:
            gap = r - chance
            row["gap_removed"] = (r - a) / gap if gap > 0 else math.nan
        rows[task] = row
    return rows


def format_table(rows: dict, title: str = "") -> str:
    lines = [f"## {title}", ""] if title else []
    lines += [
        "| task | raw | anonymized | change | relative | chance | removable gap removed |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, r in rows.items():
        gap = f"{100 * r['gap_removed']:.0f}%" if "gap_removed" in r and math.isfinite(r["gap_removed"]) else ""
        lines.append(
            f"| {LABELS[task]} | {r['raw']:.4f} | {r['anonymized']:.4f} | {100 * r['change']:+.2f} pts | "
            f"{100 * r['relative']:+.1f}% | {r['chance']:.4f} | {gap} |"
        )
    return "\n".join(lines) + "\n"


def method_rows(raw: dict, methods: dict[str, dict]) -> dict:
    """``{method: compare(raw, reports)}`` for several anonymizers evaluated like ``raw`` (same stores, seed, heads)."""
    return {name: compare(raw, reports) for name, reports in methods.items()}


def format_methods(raw: dict, rows: dict, title: str = "") -> str:
    """One table, a row per method (raw first, then chance): each task's figure, privacy with the share of the
    removable gap (raw - chance) it removes and its relative change (the paper's figure), utility with its change
    in points."""
    tasks = [t for t in COMPARED if t in raw]
    lines = [f"## {title}", ""] if title else []
    lines.append("| method | " + " | ".join(LABELS[t] for t in tasks) + " |")
    lines.append("|---|" + "---|" * len(tasks))
    lines.append("| raw | " + " | ".join(f"{metric(raw[t]):.4f}" for t in tasks) + " |")
    for name, row in rows.items():
        cells = []
        for t in tasks:
            if t not in row:
                cells.append("")
                continue
            r = row[t]
            if "gap_removed" in r:
                gap = f"{100 * r['gap_removed']:.0f}%" if math.isfinite(r["gap_removed"]) else "n/a"
                cells.append(f"{r['anonymized']:.4f} (gap {gap}, {100 * r['relative']:+.1f}%)")
            else:
                cells.append(f"{r['anonymized']:.4f} ({100 * r['change']:+.1f} pts)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    chance = [float(raw[t].get("chance_" + raw[t]["metric"], float("nan"))) for t in tasks]
    lines.append("| chance | " + " | ".join(f"{c:.4f}" for c in chance) + " |")
    return "\n".join(lines) + "\n"


def plot_methods(raw: dict, rows: dict, path: str | Path) -> None:
    """Privacy (static clips) against action top-1 for raw and every method, with both chance levels."""
    points = {"raw": (metric(raw["privacy"]), metric(raw["ar"]))}
    points.update({name: (r["privacy"]["anonymized"], r["ar"]["anonymized"]) for name, r in rows.items()})
    chance = (float(raw["privacy"]["chance_cmap"]), float(raw["ar"]["chance_top1"]))
    plot(points, path, chance=chance)


def plot(points: dict[str, tuple[float, float]], path: str | Path, chance: tuple[float, float] | None = None) -> None:
    """Privacy-utility plot: ``{name: (privacy cMAP, action top-1)}``; lower-right is better."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    for name, (x, y) in points.items():
        marker = "o" if name == "raw" else "s"
        ax.scatter([x], [y], s=60, marker=marker, label=name, zorder=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    if chance is not None:
        ax.axvline(chance[0], color="grey", ls="--", lw=0.8, label="privacy chance")
        ax.axhline(chance[1], color="grey", ls=":", lw=0.8, label="action chance")
    ax.set_xlabel("privacy cMAP (attacker retrained; lower is more private)")
    ax.set_ylabel("action top-1 (higher is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def plot_comparison(rows: dict, path: str | Path) -> None:
    """The privacy-utility plot of a ``compare`` table: the raw and anonymized points with both chance levels."""
    privacy, ar = rows["privacy"], rows["ar"]
    points = {"raw": (privacy["raw"], ar["raw"]), "anonymized": (privacy["anonymized"], ar["anonymized"])}
    plot(points, path, chance=(privacy["chance"], ar["chance"]))


def write_report(out: str | Path, rows: dict, raw: dict, anon: dict, extra: dict | None = None) -> tuple[Path, Path]:
    """``report.json`` (every number) and ``report.md`` (the table) in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    strip = {"history"}
    blob = {
        "table": rows,
        "raw": {k: {kk: vv for kk, vv in v.items() if kk not in strip} for k, v in raw.items()},
        "anonymized": {k: {kk: vv for kk, vv in v.items() if kk not in strip} for k, v in anon.items()},
        **(extra or {}),
    }
    (out / "report.json").write_text(json.dumps(blob, indent=1, default=str))
    (out / "report.md").write_text(format_table(rows, "Raw versus anonymized features"))
    return out / "report.json", out / "report.md"


def normalized_hypervolume(
    points: list[tuple[float, float]], raw: tuple[float, float], chance: tuple[float, float]
) -> float:
    """Normalized hypervolume (NHV) of privacy-utility points; 0 = no better than the raw features, 1 = ideal.

    Each point ``(privacy cMAP, utility)`` is mapped to leakage ``l = (cMAP - chance) / (raw - chance)`` and retained
    utility ``u = (utility - chance) / (raw - chance)``, both clipped to [0, 1]; the NHV is the area dominated by the
    points (lower leakage, higher utility) inside the unit square, measured from the reference (l = 1, u = 0). The raw
    point alone has NHV 0; perfect privacy at full utility has 1.

    Args:
        points: (privacy, utility) pairs; raw: the raw features' pair; chance: the chance levels of both metrics.
    """
    (p_raw, u_raw), (p_chance, u_chance) = raw, chance
    if not p_raw > p_chance or not u_raw > u_chance:
        raise ValueError(f"the raw point {raw} must be above chance {chance} on both axes to normalise")
    mapped = sorted(
        (
            min(max((p - p_chance) / (p_raw - p_chance), 0.0), 1.0),
            min(max((u - u_chance) / (u_raw - u_chance), 0.0), 1.0),
        )
        for p, u in points
    )
    area, best = 0.0, 0.0
    for i, (leak, util) in enumerate(mapped):
        best = max(best, util)
        right = mapped[i + 1][0] if i + 1 < len(mapped) else 1.0
        area += (right - leak) * best
    return area
