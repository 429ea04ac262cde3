"""Evaluate a feature store on a downstream task: train the head, choose the epoch on validation, report test.

    python -m latentanon.evaluate --task ar --store ucf101.zarr --out reports/ar.json [--config eval.yaml]

Protocol (the sound one, not best-on-test): the head trains on the store's ``train`` split minus a
validation subset held out by video (``--val-fraction``); the epoch with the best validation score is kept
(ties go to the lower validation loss), and only that model is scored on the test split (``test``, or ``val``
for datasets whose test labels are hidden).
Writes the metrics as JSON and a Markdown table beside it (``REPORT.md``).

Tasks: ``ar`` action recognition (linear head on pooled clip features, one random clip per video per epoch,
5-clip softmax averaging; metric top-1).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from latentanon.config import ConfigError, parse_cli
from latentanon.heads.linear import LinearConfig, LinearHead
from latentanon.metrics import five_clip_indices, video_top1
from latentanon.stores import FeatureStore, open_store

logger = logging.getLogger(__name__)
TASKS = ("ar",)


@dataclass(frozen=True)
class EvaluateConfig:
    """Train a task head on a feature store and report its test metrics."""

    task: str = "ar"  # one of TASKS
    store: str = ""
    out: str = "report.json"
    val_fraction: float = 0.1  # of the training videos, held out for choosing the epoch
    seed: int = 0
    standardize: bool = True  # z-score features with training statistics
    linear: LinearConfig = field(default_factory=LinearConfig)
    progress: bool = True


def split_videos(store: FeatureStore, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Video rows of the fit / val (held out from train, by video) / test splits."""
    split = store.videos["split"]
    train = np.nonzero(split == "train")[0]
    test = np.nonzero(split == "test")[0]
    if not len(test):
        test = np.nonzero(split == "val")[0]
    if len(train) < 2 or not len(test):
        raise ValueError(
            f"{store.path}: need videos in the 'train' split and in 'test' (or 'val'); found splits "
            f"{sorted(set(split.tolist()))}"
        )
    order = np.random.default_rng(seed).permutation(train)
    n_val = max(1, int(round(len(train) * val_fraction)))
    return {"fit": np.sort(order[n_val:]), "val": np.sort(order[:n_val]), "test": test}


# --------------------------------------------------------------------------------------------- action recognition


def evaluate_ar(store: FeatureStore, cfg: EvaluateConfig) -> dict:
    labels = store.videos["label"]
    splits = split_videos(store, cfg.val_fraction, cfg.seed)
    for name, rows in splits.items():
        if (labels[rows] < 0).any():
            raise ValueError(f"{store.path}: {int((labels[rows] < 0).sum())} {name} videos have no label")
    classes = int(labels.max()) + 1
    feats = store.pooled().astype(np.float32)  # (N, D)
    offsets, counts = store.videos["clip_offset"], store.videos["clip_count"]
    if cfg.standardize:
        fit_clips = np.concatenate([np.arange(offsets[v], offsets[v] + counts[v]) for v in splits["fit"]])
        mu, sd = feats[fit_clips].mean(0), feats[fit_clips].std(0) + 1e-6
        feats = (feats - mu) / sd
    x = torch.from_numpy(feats)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    head = LinearHead(feats.shape[1], classes)
    lc = cfg.linear
    opt = torch.optim.AdamW(head.parameters(), lr=lc.lr, weight_decay=lc.weight_decay)

    def scores(videos: np.ndarray) -> tuple[float, float]:
        """(5-clip top-1, mean negative log-likelihood of the clip-averaged probabilities)."""
        clip_rows = [offsets[v] + five_clip_indices(int(counts[v])) for v in videos]
        owner = np.repeat(np.arange(len(videos)), [len(c) for c in clip_rows])
        probs = head.predict_proba(x[np.concatenate(clip_rows)]).numpy()
        mean = np.zeros((len(videos), probs.shape[1]))
        np.add.at(mean, owner, probs)
        mean /= np.bincount(owner)[:, None]
        nll = float(-np.log(mean[np.arange(len(videos)), labels[videos]] + 1e-12).mean())
        return video_top1(probs, owner, labels[videos]), nll

    history, best = [], ((-1.0, -np.inf), 0, None)
    fit = splits["fit"]
    for epoch in tqdm(range(1, lc.epochs + 1), desc="ar head", unit="epoch", disable=not cfg.progress):
        order = rng.permutation(fit)
        clip = offsets[order] + rng.integers(0, counts[order])  # one random clip per video
        losses = []
        for i in range(0, len(order), lc.batch_size):
            batch = {
                "features": x[clip[i : i + lc.batch_size]],
                "labels": torch.from_numpy(labels[order[i : i + lc.batch_size]]),
            }
            terms = head.loss(batch)
            loss = sum(v for k, v in terms.items() if k.endswith("_loss"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        val, val_nll = scores(splits["val"])
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_top1": val, "val_nll": val_nll})
        if (val, -val_nll) > best[0]:  # ties in accuracy (small validation sets) go to the lower loss
            best = ((val, -val_nll), epoch, {k: v.clone() for k, v in head.state_dict().items()})
    head.load_state_dict(best[2])
    return {
        "task": "ar",
        "metric": "top1",
        "test_top1": scores(splits["test"])[0],
        "val_top1": best[0][0],
        "best_epoch": best[1],
        "chance_top1": 1.0 / classes,
        "classes": classes,
        "videos": {k: int(len(v)) for k, v in splits.items()},
        "history": history,
    }


# --------------------------------------------------------------------------------------------- entry point


def main(cfg: EvaluateConfig) -> dict:
    """Run the evaluation and write ``cfg.out`` (JSON) and its Markdown twin; returns the report."""
    if cfg.task not in TASKS:
        raise ConfigError(f"--task must be one of {list(TASKS)}, got {cfg.task!r}")
    if not cfg.store:
        raise ConfigError("--store is required")
    if not 0 < cfg.val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in (0, 1), got {cfg.val_fraction}")
    store = open_store(cfg.store)
    t0 = time.perf_counter()
    report = {"ar": evaluate_ar}[cfg.task](store, cfg)
    report.update(
        store=cfg.store,
        encoder=store.recipe["encoder"]["name"],
        recipe_hash=store.recipe_hash,
        seconds=time.perf_counter() - t0,
        config=asdict(cfg),
    )
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    out.with_suffix(".md").write_text(format_markdown(report))
    return report


def format_markdown(report: dict) -> str:
    metric = report["metric"]
    rows = [
        f"# {report['task'].upper()} evaluation of `{report['store']}`",
        "",
        "| encoder | test | validation (chosen epoch) | chance | videos fit/val/test | seconds |",
        "|---|---|---|---|---|---|",
        f"| {report['encoder']} | {metric} **{report['test_' + metric]:.4f}** | {report['val_' + metric]:.4f} "
        f"(epoch {report['best_epoch']}) | {report.get('chance_' + metric, float('nan')):.4f} | "
        f"{report['videos']['fit']}/{report['videos']['val']}/{report['videos']['test']} | {report['seconds']:.1f} |",
    ]
    return "\n".join(rows) + "\n"


def cli(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = main(parse_cli(EvaluateConfig, argv, prog="latentanon.evaluate"))
    except (ConfigError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
