"""Gait retrieval (a temporal private attribute): CASIA-B-style top-1 on raw versus anonymized features.

    python -m latentanon.recipes.gait --config recipes/configs/gait.yaml
    python -m latentanon.recipes.gait --raw casia_b.zarr --anonymized runs/aam/best --anonymized-no-lc runs/nolc/best

The protocol (METHOD.md; the authors did not release their gait code): no training. A video's feature is the mean
of its clip features, centred on the gallery mean and compared by cosine similarity (faiss, exact; a GPU index when
faiss sees a GPU). Gallery: the first 4 normal walks of every subject (``nm-01..04``); probes: the last 2 normal
walks (``nm-05..06``) and, when present, the bag and coat walks (``bg``, ``cl``) against the same gallery. A probe
is matched against every gallery video (METHOD.md's protocol: an attacker uses whatever matches); with
``cross_view`` (default) the recipe also reports the cross-view setting of the CASIA-B literature, where a probe is
matched only against gallery videos of other views (on real CASIA-B a subject wears the same clothes in every
normal walk, so same-view matches also reward clothing; the synthetic walks change clothing colours every walk).
Metric: top-1 subject accuracy per probe condition (chance 1 / subjects). Higher means the features reveal more
identity.

The paper's Table 6 shape: raw, anonymized by an adapter trained with latent consistency (``--anonymized``) and by
one trained without it (``--anonymized-no-lc``); each is an adapter checkpoint or an anonymized store. Writes
``gait.json``, ``gait.md`` and ``gait.png`` in ``--out``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from latentanon.config import ConfigError
from latentanon.features import check_stores, open_features
from latentanon.protocols import video_means
from latentanon.recipes._common import check_pair, grouped_bars, relative, run_cli, table, write_outputs
from latentanon.retrieval import DEVICES, search

CONDITIONS = ("nm", "bg", "cl")


@dataclass(frozen=True)
class GaitConfig:
    """CASIA-B top-1 retrieval on raw and anonymized features (with and without latent consistency)."""

    raw: str = ""  # a CASIA-B layout store (precompute --dataset casia_b)
    anonymized: str = ""  # adapter trained with latent consistency: checkpoint or anonymized store
    anonymized_no_lc: str = ""  # adapter trained without latent consistency (w_LC = 0)
    encoder_checkpoint: str = ""  # encoder weights for the adapter's pooling, when moved since precompute
    out: str = "runs/gait"  # folder for gait.json, .md and the plot
    conditions: str = "nm,bg,cl"  # probe conditions
    cross_view: bool = True  # also report the cross-view setting (gallery videos of the probe's view skipped)
    device: str = "auto"  # faiss: auto / cpu / gpu


def _layout(store) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per video: subject, condition, view and split; a clear error for a store that is not CASIA-B-like."""
    metas = [store.meta(v) for v in range(store.num_videos)]
    if not all("condition" in m and "view" in m for m in metas):
        raise ValueError(f"{store.path}: videos need 'condition' and 'view' metadata (a casia_b store)")
    subject = np.asarray(store.videos["subject"]).astype(str)
    condition = np.array([m["condition"] for m in metas])
    view = np.array([int(m["view"]) for m in metas])
    return subject, condition, view, np.asarray(store.videos["split"]).astype(str)


def retrieval_top1(
    feats: np.ndarray,
    subject: np.ndarray,
    view: np.ndarray,
    gallery: np.ndarray,
    probes: np.ndarray,
    cross_view: bool,
    device: str = "auto",
) -> float:
    """Top-1 accuracy of matching each probe row to its nearest gallery row by cosine similarity.

    Args:
        feats: (V, D) video features; subject, view: (V,) labels; gallery, probes: row indices into them.
        cross_view: skip gallery rows of the probe's own view.
    """
    if not len(gallery) or not len(probes):
        raise ValueError(f"need gallery and probe videos, got {len(gallery)} and {len(probes)}")
    centre = feats[gallery].mean(0)
    g, p = feats[gallery] - centre, feats[probes] - centre
    same_view = np.unique(view[gallery], return_counts=True)[1].max() if cross_view else 0
    k = min(len(gallery), int(same_view) + 1)  # enough neighbours to reach one of another view
    _, idx = search(g, p, k, device)
    hits = []
    for row, neighbours in zip(probes, idx):
        if cross_view:
            neighbours = neighbours[view[gallery[neighbours]] != view[row]]
            if not len(neighbours):
                raise ValueError("every gallery video has the probe's view: use --cross-view false")
        hits.append(subject[gallery[neighbours[0]]] == subject[row])
    return float(np.mean(hits))


def evaluate_features(store, cfg: GaitConfig, conditions: list[str]) -> dict:
    """``{cross_view: {condition: top-1}}`` of ``store``'s probes against the ``nm-01..04`` gallery, for every view
    (False) and, with ``cfg.cross_view``, across views (True); the features are read once."""
    subject, condition, view, split = _layout(store)
    feats = video_means(store)
    gallery = np.nonzero((condition == "nm") & (split == "gallery"))[0]
    out = {}
    for cross_view in (False, True) if cfg.cross_view else (False,):
        out[cross_view] = {}
        for cond in conditions:
            probes = np.nonzero((condition == cond) & (split != "gallery"))[0]
            if len(probes):
                out[cross_view][cond] = retrieval_top1(feats, subject, view, gallery, probes, cross_view, cfg.device)
    return out


def main(cfg: GaitConfig) -> dict:
    """Run the gait protocol on every given feature set; returns the metrics (also written to ``cfg.out``)."""
    check_pair(cfg.raw, cfg.anonymized)
    if cfg.anonymized_no_lc and not Path(cfg.anonymized_no_lc).exists():
        raise ConfigError(f"--anonymized-no-lc {cfg.anonymized_no_lc}: no such adapter checkpoint or store")
    if cfg.device not in DEVICES:
        raise ConfigError(f"--device must be one of {DEVICES}, got {cfg.device!r}")
    conditions = [c.strip() for c in cfg.conditions.split(",") if c.strip()]
    if not conditions or set(conditions) - set(CONDITIONS):
        raise ConfigError(f"--conditions must be a comma-separated subset of {CONDITIONS}, got {cfg.conditions!r}")
    check_stores({"raw": cfg.raw}, cfg.anonymized)
    if cfg.anonymized_no_lc:
        check_stores({"raw": cfg.raw}, cfg.anonymized_no_lc)
    raw = open_features(cfg.raw)
    subject, *_ = _layout(raw)
    sets = {"raw": ""}
    if cfg.anonymized:
        sets["anonymized, with L_LC"] = cfg.anonymized
    if cfg.anonymized_no_lc:
        sets["anonymized, without L_LC"] = cfg.anonymized_no_lc
    top1, cross = {}, {}
    for name, anonymizer in sets.items():
        store = raw if not anonymizer else open_features(cfg.raw, anonymizer, cfg.encoder_checkpoint)
        found = evaluate_features(store, cfg, conditions)
        top1[name] = found[False]
        if cfg.cross_view:
            cross[name] = found[True]
    metrics = {
        "top1": top1,  # METHOD.md's protocol: every gallery view
        **({"top1_cross_view": cross} if cfg.cross_view else {}),
        "chance": 1.0 / len(np.unique(subject)),
        "subjects": int(len(np.unique(subject))),
        "videos": int(raw.num_videos),
        "encoder": raw.recipe["encoder"]["name"],
        "config": asdict(cfg),
    }
    out = Path(cfg.out)
    metrics["plot"] = str(plot(metrics, out / "gait.png"))
    write_outputs(out, "gait", metrics, format_markdown(metrics))
    return metrics


def format_markdown(m: dict) -> str:
    conds = list(next(iter(m["top1"].values())))
    settings = [("", m["top1"])] + ([(", cross-view", m["top1_cross_view"])] if "top1_cross_view" in m else [])
    rows = []
    for name in m["top1"]:
        cells = []
        for _, top1 in settings:
            t, raw = top1[name], top1["raw"]
            change = {c: "" if name == "raw" else f" ({100 * relative(t[c], raw[c]):+.1f}%)" for c in conds}
            cells += [f"{t[c]:.4f}{change[c]}" for c in conds]
        rows.append([name, *cells])
    cross = "; cross-view columns skip the gallery videos of the probe's view" if "top1_cross_view" in m else ""
    lines = [
        "## Gait retrieval (CASIA-B protocol)",
        "",
        f"Store `{m['config']['raw']}` ({m['encoder']}, {m['videos']} videos, {m['subjects']} subjects). Top-1 "
        f"subject accuracy, gallery nm-01..04 of every view{cross}; chance {m['chance']:.4f} "
        f"(raw nm top-1 {m['top1']['raw'][conds[0]] * m['subjects']:.1f}x chance). Lower is more private.",
        "",
        table(["features", *(f"top-1, {c} probes{tag}" for tag, _ in settings for c in conds)], rows),
        f"![gait retrieval]({Path(m['plot']).name})",
        "",
    ]
    return "\n".join(lines)


def plot(m: dict, path: Path) -> Path:
    conds = list(next(iter(m["top1"].values())))
    series = {name: [t[c] for c in conds] for name, t in m["top1"].items()}
    ylabel = "top-1 subject retrieval (lower is more private)"
    return grouped_bars(
        path, [f"{c} probes" for c in conds], series, "probe condition", ylabel, (m["chance"], "chance")
    )


def cli(argv: list[str] | None = None) -> int:
    return run_cli(GaitConfig, main, format_markdown, "latentanon.recipes.gait", argv)


if __name__ == "__main__":
    sys.exit(cli())
