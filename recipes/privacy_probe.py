"""Privacy attack suite: how well attribute attackers predict private attributes from raw versus anonymized features.

    python -m latentanon.recipes.privacy_probe --config recipes/configs/privacy_probe.yaml [--option value ...]
    python -m latentanon.recipes.privacy_probe --raw vispr.zarr --anonymized runs/aam/best --out runs/privacy

The VISPR-style protocol (METHOD.md): one feature per item (the mean of its clips; a privacy image is one static
clip), seven binary attributes, cMAP on the test split (lower is more private), the epoch chosen on a validation
split (``--select test`` reproduces the released best-on-test epoch; the report labels it as optimistic).

Attackers (``latentanon.probes``): ``linear``, ``mlp`` (the published probe Linear(D,D)-ReLU-Linear(D,7), BCE,
AdamW 1e-3), ``deep_mlp`` and ``knn`` (faiss cosine k-NN vote). Each attacks the anonymized features in two ways:

- *adaptive*: retrained on the anonymized training features (an attacker who has anonymized data with labels);
  this is the honest privacy figure;
- *fixed*: trained on the raw training features and applied to the anonymized test features (an attacker who
  trained before the adapter existed); reported beside the adaptive one, labelled, never alone.

``--anonymized`` is an adapter checkpoint (applied on the fly) or an anonymized store of the same items. Writes
``privacy_probe.json``, ``privacy_probe.md`` and ``privacy_probe.png`` (cMAP per attacker, raw / fixed / adaptive,
with the chance level) in ``--out``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from latentanon.config import ConfigError
from latentanon.features import check_stores, open_features
from latentanon.probes import ATTACKERS, SELECT, attack_cmap
from latentanon.protocols import privacy_inputs, video_means
from latentanon.recipes._common import check_pair, grouped_bars, relative, run_cli, table, write_outputs
from latentanon.retrieval import DEVICES


@dataclass(frozen=True)
class PrivacyProbeConfig:
    """Attack suite on raw versus anonymized features of a store with attribute labels (VISPR or a synthetic suite)."""

    raw: str = ""  # the raw feature store
    anonymized: str = ""  # an adapter checkpoint or an anonymized store of the same items
    encoder_checkpoint: str = ""  # encoder weights for the adapter's pooling, when moved since precompute
    out: str = "runs/privacy_probe"  # folder for privacy_probe.json, .md and the plot
    attackers: str = ",".join(ATTACKERS)  # comma-separated attackers: linear, mlp, deep_mlp, knn
    fixed: bool = True  # also the attackers trained on raw features, applied to the anonymized ones
    select: str = "val"  # "test": the released best-on-test epoch (optimistic)
    epochs: int = 100  # training epochs of each trained attacker
    val_fraction: float = 0.1  # held out from train when the store has no val split
    seeds: str = "0"  # comma-separated seeds; every attacker runs once per seed, results are averaged
    device: str = "auto"  # faiss: auto / cpu / gpu
    progress: bool = True  # show a progress bar over the attacker runs


def _check(cfg: PrivacyProbeConfig) -> tuple[list[str], list[int]]:
    check_pair(cfg.raw, cfg.anonymized)
    attackers = [a.strip() for a in cfg.attackers.split(",") if a.strip()]
    unknown = sorted(set(attackers) - set(ATTACKERS))
    if unknown or not attackers:
        raise ConfigError(f"--attackers: unknown {unknown or 'empty list'}; known: {', '.join(ATTACKERS)}")
    if cfg.select not in SELECT:
        raise ConfigError(f"--select must be one of {SELECT}, got {cfg.select!r}")
    if cfg.device not in DEVICES:
        raise ConfigError(f"--device must be one of {DEVICES}, got {cfg.device!r}")
    if cfg.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {cfg.epochs}")
    try:
        seeds = [int(s) for s in cfg.seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, got {cfg.seeds!r}") from None
    return attackers, seeds or [0]


def main(cfg: PrivacyProbeConfig) -> dict:
    """Run the attack suite; returns the metrics (also written to ``cfg.out``)."""
    attackers, seeds = _check(cfg)
    check_stores({"raw": cfg.raw}, cfg.anonymized)
    raw_store = open_features(cfg.raw)
    x_raw, y, split, names = privacy_inputs(raw_store, cfg.val_fraction, seeds[0])
    x_anon = None
    if cfg.anonymized:
        x_anon = video_means(open_features(cfg.raw, cfg.anonymized, cfg.encoder_checkpoint))  # same rows as x_raw
    clips = "static (images)" if bool((raw_store.videos["status"] == "padded").all()) else "moving (videos)"
    runs = [(a, s) for a in attackers for s in seeds]
    results: dict = {}
    for attacker, seed in tqdm(runs, desc="attackers", disable=not cfg.progress):
        kw = dict(seed=seed, epochs=cfg.epochs, select=cfg.select, device=cfg.device)
        r = {"raw": attack_cmap(attacker, x_raw, y, split, **kw)}
        if x_anon is not None:
            r["adaptive"] = attack_cmap(attacker, x_anon, y, split, **kw)
            if cfg.fixed:
                r["fixed"] = attack_cmap(attacker, x_raw, y, split, x_attack=x_anon, **kw)
        results.setdefault(attacker, {})[seed] = r
    metrics = summarize(results, names)
    metrics.update(
        config=asdict(cfg),
        clips=clips,
        chance_cmap=float(y[split == "test"].mean()),
        items={s: int((split == s).sum()) for s in ("train", "val", "test")},
        encoder=raw_store.recipe["encoder"]["name"],
    )
    out = Path(cfg.out)
    if x_anon is not None:
        metrics["plot"] = str(plot(metrics, out / "privacy_probe.png"))
    write_outputs(out, "privacy_probe", metrics, format_markdown(metrics))
    return metrics


def summarize(results: dict, names: list[str]) -> dict:
    """Mean over seeds per attacker and regime, per-attribute AP, and the relative reductions."""
    summary = {}
    for attacker, by_seed in results.items():
        row: dict = {"seeds": list(by_seed)}
        for regime in ("raw", "fixed", "adaptive"):
            runs = [r[regime] for r in by_seed.values() if regime in r]
            if not runs:
                continue
            row[regime] = float(np.mean([r["cmap"] for r in runs]))
            row[f"{regime}_per_seed"] = [r["cmap"] for r in runs]
            row[f"{regime}_per_attribute"] = dict(zip(names, np.mean([r["per_attribute_ap"] for r in runs], 0)))
            row[f"{regime}_chosen"] = [r["best_epoch"] for r in runs]
        for regime in ("fixed", "adaptive"):
            if regime in row:
                row[f"{regime}_reduction"] = -relative(row[regime], row["raw"])
        summary[attacker] = row
    return {"attackers": summary, "attributes": names}


def format_markdown(m: dict) -> str:
    cfg = m["config"]
    anon = any("adaptive" in r for r in m["attackers"].values())
    lines = [
        "## Privacy attack suite",
        "",
        f"Store `{cfg['raw']}` ({m['encoder']}, {m['clips']} clips; {m['items']['train']} train / {m['items']['val']} "
        f"val / {m['items']['test']} test items), anonymized by `{cfg['anonymized'] or '-'}`. cMAP on the test split "
        f"(lower is more private), chance {m['chance_cmap']:.4f}; seeds {cfg['seeds']}.",
        "",
    ]
    if cfg["select"] == "test":
        lines += ["**Epoch chosen on the test split (the released protocol): optimistic for every attacker.**", ""]
    header = ["attacker", "raw"]
    if anon:
        header += ["anonymized, adaptive (retrained)", "reduction", "anonymized, fixed (trained on raw)", "reduction"]
    rows = []
    for name, r in m["attackers"].items():
        row = [name, r["raw"]]
        if anon:
            row += [r["adaptive"], f"{100 * r['adaptive_reduction']:.1f}%"]
            row += [r["fixed"], f"{100 * r['fixed_reduction']:.1f}%"] if "fixed" in r else ["", ""]
        rows.append(row)
    lines.append(table(header, rows))
    lines += [
        "Reduction: relative decrease of cMAP from raw. The adaptive attacker is the privacy figure; the fixed one "
        "(trained before the adapter existed) is shown beside it only for comparison.",
        "",
    ]
    per_attr = [["attribute"] + [f"{a} raw" for a in m["attackers"]] + ([f"{a} adaptive" for a in m["attackers"]])]
    if anon:
        lines += ["Per-attribute AP (raw / adaptive):", ""]
        rows = [
            [attr]
            + [r["raw_per_attribute"][attr] for r in m["attackers"].values()]
            + [r["adaptive_per_attribute"][attr] for r in m["attackers"].values()]
            for attr in m["attributes"]
        ]
        lines.append(table(per_attr[0], rows))
    if m.get("plot"):
        lines += [f"![privacy attack suite]({Path(m['plot']).name})", ""]
    return "\n".join(lines)


def plot(m: dict, path: Path) -> Path:
    names = list(m["attackers"])
    labels = {"raw": "raw", "fixed": "anonymized, fixed attacker", "adaptive": "anonymized, adaptive attacker"}
    series = {
        labels[r]: [m["attackers"][a][r] for a in names]
        for r in ("raw", "fixed", "adaptive")
        if all(r in m["attackers"][a] for a in names)
    }
    ylabel = "privacy cMAP (lower is more private)"
    return grouped_bars(path, names, series, "attacker", ylabel, (m["chance_cmap"], "chance"), zoom=True)


def cli(argv: list[str] | None = None) -> int:
    return run_cli(PrivacyProbeConfig, main, format_markdown, "latentanon.recipes.privacy_probe", argv)


if __name__ == "__main__":
    sys.exit(cli())
