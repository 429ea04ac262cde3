"""Anomaly detection: MGFN trained with video labels only (weak supervision), the step chosen by video-level AUC
(maximum clip score) on validation videos every ``val_every`` steps (training videos carry no frame labels; with
``steps <= val_every`` the last step is the only checkpoint, nothing is selected), the mean of ``restarts`` heads;
metric frame-level ROC AUC on
the test videos, ground truth from the stored anomaly frame ranges cut at the last full clip (trivial baseline
0.5), plus PR-AUC (trapezoid) and AP. With ``standardize`` the clip features are z-scored with the normal training
videos' statistics, so MGFN's feature magnitudes measure the distance from normal footage, not the scene."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from tqdm.auto import tqdm

from latentanon.contracts import clip_span, state_snapshot
from latentanon.heads import mgfn
from latentanon.metrics import frame_average_precision, frame_pr_auc_trapezoid, frame_roc_auc
from latentanon.protocols.features import video_features
from latentanon.protocols.result import FittedHead, ProtocolResult
from latentanon.protocols.settings import HeadSettings
from latentanon.protocols.splits import split_videos


def frame_ground_truth(meta: dict, n_frames: int) -> np.ndarray:
    """(n_frames,) 0/1 labels of a video's first ``n_frames`` frames from its ``anomaly_frames`` ranges."""
    gt = np.zeros(n_frames, dtype=np.int64)
    for a, e in meta.get("anomaly_frames", []):
        gt[a : min(e, n_frames - 1) + 1] = 1  # frames past the last full clip have no feature: cut
    return gt


def run_ad(
    store, heads: HeadSettings, val_fraction: float = 0.1, seed: int = 0, progress: bool = True
) -> ProtocolResult:
    """Train and test MGFN on ``store`` (label 0 = normal, > 0 abnormal; test videos with anomaly frame ranges).

    ``heads.ad.restarts`` heads are trained from independent initialisations and batch orders on the same split
    (restart ``r`` seeds ``seed + RESTART_STRIDE * r``; restart 0 is the single run of ``restarts=1``). The reported
    ``test_frame_auc`` (and PR-AUC, AP) is their mean: one MGFN run on fixed features varies by several AUC points
    with its seed, more than the differences between anonymizers. ``restart_std`` is their spread and
    ``test_frame_auc_ensemble`` the AUC of their averaged frame scores. The fitted head kept is the restart with the
    best validation video AUC (the first on a tie).
    """
    splits = split_videos(store, val_fraction, seed)
    abnormal = store.videos["label"] > 0  # anomaly datasets number "Normal" as class 0
    feats = video_features(store)
    fit = splits["fit"]
    normals, abnormals = fit[~abnormal[fit]], fit[abnormal[fit]]
    if not len(normals) or not len(abnormals):
        raise ValueError(f"{store.path}: training needs normal (label 0) and abnormal (label > 0) videos")
    mu = sd = None
    if heads.standardize:
        fit_feats = torch.cat([feats[v] for v in fit if not abnormal[v]])  # (N_normal_clips, D)
        mu, sd = fit_feats.mean(0), fit_feats.std(0) + 1e-6
        feats = [(f - mu) / sd for f in feats]
    ac = heads.ad
    model_cfg = mgfn.MGFNConfig(in_dim=feats[0].shape[1], regularizers=ac.regularizers, dims=tuple(ac.dims))
    clip = clip_span(store.recipe["encoder"])
    test = splits["test"]
    # checked before any head trains: one clip score per clip feature, repeated over the clip's frames
    gt = np.concatenate([frame_ground_truth(store.meta(int(v)), len(feats[v]) * clip) for v in test])
    if not len(gt) or gt.min() == gt.max():
        raise ValueError(
            f"{store.path}: the test videos' frame ground truth has a single class (no anomaly_frames in their meta, "
            "or anomalies everywhere); frame AUC is undefined. Evaluate AD on a store whose test videos carry "
            "anomaly frame ranges"
        )
    runs, per_run = [], []
    with tqdm(total=ac.restarts * ac.steps, desc="ad head", unit="step", disable=not progress) as bar:
        for r in range(ac.restarts):
            bar.set_postfix(restart=f"{r + 1}/{ac.restarts}")
            model, val, step, history = _train_mgfn(
                model_cfg, feats, normals, abnormals, splits["val"], abnormal, ac, seed + RESTART_STRIDE * r, bar
            )
            scores = mgfn.frame_scores([_scores(model, feats[v]) for v in test], gt, clip)
            runs.append({"model": model, "val": val, "step": step, "history": history, "frame_scores": scores})
            per_run.append(
                {
                    "test_frame_auc": frame_roc_auc(scores, gt),
                    "test_frame_pr_auc": frame_pr_auc_trapezoid(scores, gt),
                    "test_frame_ap": frame_average_precision(scores, gt),
                    "val_video_auc": val,
                    "best_step": step,
                }
            )

    def rank(i: int) -> tuple[float, int]:  # best validation, the first on a tie; a NaN validation ranks last
        return (runs[i]["val"] if np.isfinite(runs[i]["val"]) else -np.inf, -i)

    kept = max(range(len(runs)), key=rank)
    aucs = np.array([p["test_frame_auc"] for p in per_run])
    ensemble = np.mean([run["frame_scores"] for run in runs], axis=0)
    metrics = {
        "task": "ad",
        "metric": "frame_auc",
        "test_frame_auc": float(aucs.mean()),
        "test_frame_pr_auc": float(np.mean([p["test_frame_pr_auc"] for p in per_run])),
        "test_frame_ap": float(np.mean([p["test_frame_ap"] for p in per_run])),
        "restarts": len(runs),
        "restart_std": float(aucs.std(ddof=1)) if len(runs) > 1 else 0.0,
        "test_frame_auc_ensemble": frame_roc_auc(ensemble, gt),
        "per_restart": per_run,
        "val_metric": "video_auc",  # weak labels: validation videos have no frame annotations
        "val_video_auc": runs[kept]["val"],  # the kept head's
        "best_epoch": runs[kept]["step"],
        "kept_restart": kept,
        "selection_unit": "step",
        "chance_frame_auc": 0.5,
        "test_frames": int(len(gt)),
        "anomalous_frames": int(gt.sum()),
        "videos": {k: int(len(v)) for k, v in splits.items()},
        "history": runs[kept]["history"],
    }
    model = runs[kept]["model"]
    head = FittedHead("ad", model.eval(), dataclasses.asdict(model_cfg), mu, sd)
    return ProtocolResult("ad", "frame_auc", metrics, head)


RESTART_STRIDE = 7919  # restart r of seed s draws from seed s + 7919 r (a prime: no overlap with nearby seeds)


def _scores(model, features: torch.Tensor) -> np.ndarray:
    return np.asarray(model.predict(features), dtype=np.float64)


def _train_mgfn(model_cfg, feats, normals, abnormals, val_videos, abnormal, ac, seed: int, bar):
    """One MGFN training run; ``(model with its best validation state, best val, best step, history)``."""
    from sklearn.metrics import roc_auc_score

    b = min(ac.batch_size, len(normals), len(abnormals))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = mgfn.MGFN(model_cfg)
    opt = torch.optim.Adam(model.parameters(), lr=ac.lr, weight_decay=ac.weight_decay)

    def video_auc(videos) -> float:
        y = abnormal[videos].astype(int)
        if y.min() == y.max():
            return float("nan")
        return float(roc_auc_score(y, [_scores(model, feats[v]).max() for v in videos]))

    history, best, losses = [], (-1.0, 0, None), []
    n_order, a_order, cursor = rng.permutation(normals), rng.permutation(abnormals), 0
    for step in range(1, ac.steps + 1):
        model.train()
        if cursor + b > min(len(n_order), len(a_order)):  # a new shuffled pass over each class
            n_order, a_order, cursor = rng.permutation(normals), rng.permutation(abnormals), 0
        pick_n, pick_a = n_order[cursor : cursor + b], a_order[cursor : cursor + b]
        cursor += b
        batch = {
            "normal": torch.stack([mgfn.train_input(feats[v]) for v in pick_n]),
            "abnormal": torch.stack([mgfn.train_input(feats[v]) for v in pick_a]),
        }
        terms = model.loss(batch)
        loss = sum(t for k, t in terms.items() if k.endswith("_loss"))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % ac.val_every and step != ac.steps:
            continue
        model.eval()
        val = video_auc(val_videos)
        history.append({"step": step, "loss": float(np.mean(losses)), "val_video_auc": val})
        if not np.isfinite(val):
            val = -np.mean(losses)  # a one-class validation split: fall back to the lowest training loss
        losses = []
        if val >= best[0] or best[2] is None:
            best = (val, step, state_snapshot(model))
    model.load_state_dict(best[2])
    return model.eval(), float(best[0]), best[1], history
