"""Gender-bias protocols: does an action classifier on raw versus anonymized features treat genders differently?

    python -m latentanon.recipes.gender_bias --config recipes/configs/gender_bias.yaml
    python -m latentanon.recipes.gender_bias --ntu ntu60.zarr --toyota toyota_smarthome.zarr --anonymized runs/aam/best

Sets (METHOD.md), built from the stores' subject ids and gender table:

- **NTU-Bias-F**: each split of NTU-60 (cross-subject) is first balanced to equal numbers of male and female
  subjects and equal videos per action and gender; then, in the training split (``bias_splits``), every action
  keeps P(male | action) = ``ratio`` (0.95) except ``flipped_action``, where the ratio is flipped (0.95 female).
  The test split stays balanced, so per-gender accuracy is measured on equal footing.
- **NTU-Bias-M**: the same with the genders' roles swapped.
- **Toyota Smarthome**: naturally imbalanced (the share of women differs per action); used as is.

On each set the linear action probe of ``evaluate`` (one random clip per video per epoch, 5-clip test, epoch chosen
on held-out subjects) is trained on raw features and on anonymized ones; reported: overall top-1, per-gender top-1,
the gap (male - female) and, for the NTU sets, per-gender top-1 on the flipped action (where a classifier that
learned gender as a shortcut fails the minority gender). ``--anonymized`` is an adapter checkpoint applied to every
store; ``--ntu-anonymized`` / ``--toyota-anonymized`` take anonymized stores instead. Writes ``gender_bias.json``,
``gender_bias.md`` and ``gender_bias.png`` in ``--out``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from latentanon.config import ConfigError
from latentanon.features import StoreView, check_stores, open_features
from latentanon.heads.linear import LinearConfig
from latentanon.protocols import HeadSettings, run_ar
from latentanon.recipes._common import grouped_bars, run_cli, table, write_outputs

GENDERS = ("M", "F")


@dataclass(frozen=True)
class GenderBiasConfig:
    """Per-gender action accuracy on NTU-Bias-F, NTU-Bias-M and Toyota Smarthome, raw versus anonymized."""

    ntu: str = ""  # NTU-60 store (precompute --dataset ntu60); its videos need subject and gender
    toyota: str = ""  # Toyota Smarthome store (optional)
    anonymized: str = ""  # an adapter checkpoint applied to every store
    ntu_anonymized: str = ""  # or an anonymized NTU store
    toyota_anonymized: str = ""  # or an anonymized Toyota store
    encoder_checkpoint: str = ""  # encoder weights for the adapter's pooling, when moved since precompute
    out: str = "runs/gender_bias"  # folder for gender_bias.json, .md and the plot
    ratio: float = 0.95  # P(majority gender | action) in the biased splits
    flipped_action: int = 0  # the action (label index) whose majority gender is flipped
    bias_splits: str = "train"  # splits that get the ratio; "train,test" biases the test split too
    epochs: int = 100  # linear probe epochs
    val_fraction: float = 0.1  # of the kept training videos, held out for choosing the probe's epoch
    seeds: str = "0"  # comma-separated seeds of the linear probe; its results are averaged over them
    progress: bool = True  # show a progress bar over the probe runs


def bias_subset(
    labels: np.ndarray,
    gender: np.ndarray,
    subject: np.ndarray,
    split: np.ndarray,
    majority: str,
    ratio: float,
    flipped: int,
    bias_splits: tuple[str, ...],
    seed: int,
) -> np.ndarray:
    """The NTU-Bias rows: a (V,) keep mask.

    Per split: equal numbers of male and female subjects (a seeded choice among the larger group), then equal
    videos per (action, gender) cell (the smallest cell's count ``n``); in ``bias_splits`` every action keeps its
    ``n`` videos of the ``majority`` gender and ``max(1, round(n * (1 - ratio) / ratio))`` of the other, except
    ``flipped``, where the genders swap.
    """
    if majority not in GENDERS:
        raise ValueError(f"majority must be one of {GENDERS}, got {majority!r}")
    if not 0.5 < ratio < 1:
        raise ValueError(f"ratio must be in (0.5, 1), got {ratio}")
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(labels), bool)
    for s in ("train", "test"):
        rows = np.nonzero((split == s) & np.isin(gender, GENDERS) & (labels >= 0))[0]
        if not len(rows):
            continue
        by_gender = {g: np.unique(subject[rows][gender[rows] == g]) for g in GENDERS}
        n_subjects = min(len(v) for v in by_gender.values())
        if n_subjects == 0:
            raise ValueError(
                f"the {s} split has no subjects of one gender: {dict((g, len(v)) for g, v in by_gender.items())}"
            )
        chosen = np.concatenate([rng.permutation(v)[:n_subjects] for v in by_gender.values()])
        rows = rows[np.isin(subject[rows], chosen)]
        actions = np.unique(labels[rows])
        cells = {(a, g): rows[(labels[rows] == a) & (gender[rows] == g)] for a in actions for g in GENDERS}
        n = min(len(c) for c in cells.values())
        if n == 0:
            empty = [k for k, c in cells.items() if not len(c)]
            raise ValueError(f"the {s} split has no videos for (action, gender) {empty[:5]}: it cannot be balanced")
        minority_n = max(1, int(round(n * (1 - ratio) / ratio)))
        for (a, g), cell in cells.items():
            take = n
            if s in bias_splits:
                major = majority if a != flipped else next(x for x in GENDERS if x != majority)
                take = n if g == major else minority_n
            keep[rng.permutation(cell)[:take]] = True
    return keep


def scores(store, keep: np.ndarray, name: str, cfg: GenderBiasConfig, seed: int, flipped: int | None) -> dict:
    """Train the linear probe on the kept videos; overall and per-gender test top-1 (and on the flipped action)."""
    heads = HeadSettings(linear=LinearConfig(epochs=cfg.epochs))
    result = run_ar(StoreView(store, keep, name), heads, val_fraction=cfg.val_fraction, seed=seed, progress=False)
    report, pred = result.metrics, result.predictions
    rows, predicted = pred["videos"], pred["predicted"]
    labels, gender = store.videos["label"][rows], np.asarray(store.videos["gender"])[rows]
    correct = predicted == labels
    out = {"top1": float(correct.mean()), "test_videos": int(len(rows))}
    for g in GENDERS:
        out[f"top1_{g}"] = float(correct[gender == g].mean()) if (gender == g).any() else float("nan")
        out[f"test_videos_{g}"] = int((gender == g).sum())
        if flipped is not None:
            sel = (gender == g) & (labels == flipped)
            out[f"flipped_top1_{g}"] = float(correct[sel].mean()) if sel.any() else float("nan")
    out["gap"] = out["top1_M"] - out["top1_F"]
    out["chance"] = report["chance_top1"]
    return out


def _sets(cfg: GenderBiasConfig, store) -> dict[str, tuple[np.ndarray, int | None]]:
    v = store.videos
    args = (v["label"], np.asarray(v["gender"]).astype(str), np.asarray(v["subject"]).astype(str))
    split = np.asarray(v["split"]).astype(str)
    bias_splits = tuple(s.strip() for s in cfg.bias_splits.split(",") if s.strip())
    classes = int(v["label"].max()) + 1
    if classes < 2:
        raise ValueError(
            f"{store.path}: the videos have no action labels; the gender-bias protocols need an action dataset "
            "with subjects and genders (ntu60, toyota_smarthome)"
        )
    if not 0 <= cfg.flipped_action < classes:
        raise ConfigError(f"--flipped-action must be a label in 0..{classes - 1}, got {cfg.flipped_action}")
    return {
        # NTU-Bias-F: men are the majority of every action but the flipped one, which is 95% women
        "NTU-Bias-F": (
            bias_subset(*args, split, "M", cfg.ratio, cfg.flipped_action, bias_splits, 0),
            cfg.flipped_action,
        ),
        "NTU-Bias-M": (
            bias_subset(*args, split, "F", cfg.ratio, cfg.flipped_action, bias_splits, 0),
            cfg.flipped_action,
        ),
    }


def main(cfg: GenderBiasConfig) -> dict:
    """Run the protocols; returns the metrics (also written to ``cfg.out``)."""
    if not cfg.ntu and not cfg.toyota:
        raise ConfigError("give --ntu and/or --toyota (feature stores with subject and gender columns)")
    for flag, path in (("ntu", cfg.ntu), ("toyota", cfg.toyota)):
        if path and not Path(path).exists():
            raise ConfigError(f"--{flag} {path}: no such store")
    if not 0.5 < cfg.ratio < 1:
        raise ConfigError(f"--ratio must be in (0.5, 1), got {cfg.ratio}")
    seeds = [int(s) for s in cfg.seeds.split(",") if s.strip()] or [0]
    for flag, path, own in (("ntu", cfg.ntu, cfg.ntu_anonymized), ("toyota", cfg.toyota, cfg.toyota_anonymized)):
        check_stores({flag: path}, own or cfg.anonymized)
    jobs = []  # (set name, features name, store, keep, flipped)
    for flag, path, own in (("ntu", cfg.ntu, cfg.ntu_anonymized), ("toyota", cfg.toyota, cfg.toyota_anonymized)):
        if not path:
            continue
        raw = open_features(path)
        gender = np.asarray(raw.videos["gender"]).astype(str)
        if not np.isin(gender, GENDERS).any():
            raise ValueError(f"{path}: no video has a gender; precompute from a root with subject_gender.csv")
        anonymizer = own or cfg.anonymized
        feature_sets = {"raw": raw}
        if anonymizer:
            feature_sets["anonymized"] = open_features(path, anonymizer, cfg.encoder_checkpoint)
        if flag == "ntu":
            sets = _sets(cfg, raw)
        else:
            sets = {"Toyota Smarthome": (np.isin(gender, GENDERS), None)}
        for set_name, (keep, flipped) in sets.items():
            for feat_name, store in feature_sets.items():
                jobs.append((set_name, feat_name, store, keep, flipped))
    results: dict = {}
    for set_name, feat_name, store, keep, flipped in tqdm(jobs, desc="gender bias", disable=not cfg.progress):
        per_seed = [scores(store, keep, set_name, cfg, s, flipped) for s in seeds]
        mean = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
        mean["per_seed"] = per_seed
        entry = results.setdefault(set_name, {"train_videos": _counts(store, keep, "train")})
        entry[feat_name] = mean
    metrics = {"sets": results, "config": asdict(cfg)}
    out = Path(cfg.out)
    metrics["plot"] = str(plot(metrics, out / "gender_bias.png"))
    write_outputs(out, "gender_bias", metrics, format_markdown(metrics))
    return metrics


def _counts(store, keep: np.ndarray, split: str) -> dict[str, int]:
    rows = keep & (store.videos["split"] == split)
    gender = np.asarray(store.videos["gender"]).astype(str)
    return {g: int((rows & (gender == g)).sum()) for g in GENDERS}


def format_markdown(m: dict) -> str:
    cfg = m["config"]
    header = ["set", "features", "top-1", "top-1 male", "top-1 female", "gap (M - F)", "flipped action M / F"]
    rows = []
    for set_name, entry in m["sets"].items():
        for feat in ("raw", "anonymized"):
            if feat not in entry:
                continue
            r = entry[feat]
            flipped = f"{r['flipped_top1_M']:.3f} / {r['flipped_top1_F']:.3f}" if "flipped_top1_M" in r else ""
            rows.append([set_name, feat, r["top1"], r["top1_M"], r["top1_F"], f"{100 * r['gap']:+.2f} pts", flipped])
    counts = "; ".join(f"{k}: {v['train_videos']['M']} M / {v['train_videos']['F']} F" for k, v in m["sets"].items())
    lines = [
        "## Gender bias",
        "",
        f"Linear action probe, test top-1 per gender (seeds {cfg['seeds']}). NTU-Bias sets: training split with "
        f"P(majority gender | action) = {cfg['ratio']}, flipped action {cfg['flipped_action']}, balanced test split. "
        f"Training videos: {counts}.",
        "",
        table(header, rows),
        "A smaller |gap| is fairer; anonymization that removes gender should shrink the gap on the biased sets.",
        "",
        f"![gender bias]({Path(m['plot']).name})",
        "",
    ]
    return "\n".join(lines)


def plot(m: dict, path: Path) -> Path:
    sets = list(m["sets"])
    feats = [f for f in ("raw", "anonymized") if all(f in m["sets"][s] for s in sets)]
    series = {f: [100 * m["sets"][s][f]["gap"] for s in sets] for f in feats}
    return grouped_bars(path, sets, series, "evaluation set", "top-1 gap, male - female (points)")


def cli(argv: list[str] | None = None) -> int:
    return run_cli(GenderBiasConfig, main, format_markdown, "latentanon.recipes.gender_bias", argv)


if __name__ == "__main__":
    sys.exit(cli())
