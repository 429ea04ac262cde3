"""Evaluate a feature store on a downstream task: train the head, choose the epoch on validation, report test.

    python -m latentanon.evaluate --task ar --store ucf101.zarr --out reports/ar.json [--config eval.yaml]

Protocol (the sound one, not best-on-test): the head trains on the store's ``train`` split minus a
validation subset held out by video (``--val-fraction``); the epoch with the best validation score is kept
(ties go to the lower validation loss), and only that model is scored on the test split (``test``, or ``val``
for datasets whose test labels are hidden).
Writes the metrics as JSON and a Markdown table beside it (``REPORT.md``). ``--aam CKPT`` evaluates the store's
features anonymized on the fly by an adapter checkpoint (``pool(AAM(tokens))``, as ``anonymize`` would store them).

Tasks:
- ``ar`` action recognition: linear head on pooled clip features, one random clip per video per epoch,
  5-clip softmax averaging; metric top-1 (trivial baseline: chance).
- ``tad`` temporal action detection: TriDet on each video's (T, D) clip features, segments from the store's
  annotations; metric ActivityNet mAP at tIoU 0.3:0.1:0.7 and its average (trivial baseline: random proposals).
- ``privacy`` the privacy attacker: an MLP probe Linear(D, D)-ReLU-Linear(D, K) on z-scored features (one per
  video: the mean of its clips' features; a privacy image is one static clip), trained on ``train``, epoch chosen
  on ``val`` (the store's own, else held out from train), scored by cMAP on ``test`` (lower is more private;
  trivial baseline: the mean base rate). Needs attribute ``labels`` per video (VISPR, the synthetic suites).
- ``ad`` anomaly detection: MGFN trained with video labels only (weak supervision); metric frame-level ROC AUC
  on the test videos, ground truth built from the stored anomaly frame ranges and cut at the last full clip
  (trivial baseline 0.5), plus the PR-AUC (trapezoid) and AP. Training videos carry no frame labels, so the
  step is chosen by video-level AUC (maximum clip score) on the validation videos. With ``standardize`` (the
  default) the clip features are z-scored with the statistics of the normal training videos' clips first
  (video labels are known in training), so MGFN's feature magnitudes measure how far a clip is from normal
  footage rather than what the scene looks like.
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
from latentanon.heads import mgfn, tridet
from latentanon.heads.linear import LinearConfig, LinearHead
from latentanon.metrics import (
    activitynet_map,
    five_clip_indices,
    frame_average_precision,
    frame_pr_auc_trapezoid,
    frame_roc_auc,
    video_top1,
)
from latentanon.stores import FeatureStore

logger = logging.getLogger(__name__)
TASKS = ("ar", "tad", "ad", "privacy")


@dataclass(frozen=True)
class TADConfig:
    """TriDet training (AdamW, linear warm-up then cosine, gradient clipping 1.0, as the released config)."""

    epochs: int = 40
    warmup_epochs: int = 5
    lr: float = 1e-4
    weight_decay: float = 0.025
    batch_size: int = 2
    embed_dim: int = 512  # TriDet width; the other sizes are TriDetConfig defaults
    ema: float = 0.0  # decay of an exponential moving average of the weights used for evaluation (released:
    # 0.999 over ~100 steps per epoch on THUMOS14; 0 = evaluate the trained weights, the default for small stores
    # where a 0.999 average would still be dominated by the first steps)


@dataclass(frozen=True)
class ADConfig:
    """MGFN training as released: Adam 1e-3, weight decay 5e-4, ``steps`` batches of B normal + B abnormal videos
    (the released code calls each batch an "epoch" and runs up to 1000), validated every ``val_every`` steps."""

    steps: int = 1000
    val_every: int = 25
    lr: float = 1e-3
    weight_decay: float = 5e-4
    batch_size: int = 16  # B, per class
    regularizers: str = "original"
    dims: tuple[int, ...] = (64, 128, 1024)  # MGFN stage widths (released); (64, 128, 256) is 8x cheaper on CPU

    def __post_init__(self):
        if self.steps < 1 or self.val_every < 1 or self.batch_size < 1:
            raise ValueError(
                f"ad.steps, ad.val_every and ad.batch_size must be positive, got {self.steps}, {self.val_every}, "
                f"{self.batch_size}"
            )


@dataclass(frozen=True)
class EvaluateConfig:
    """Train a task head on a feature store and report its test metrics."""

    task: str = "ar"  # one of TASKS
    store: str = ""
    out: str = "report.json"
    val_fraction: float = 0.1  # of the training videos, held out for choosing the epoch
    seed: int = 0
    standardize: bool = True  # z-score features with training statistics
    aam: str = ""  # an AAM checkpoint (applied on the fly) or an anonymized store of the same videos
    encoder_checkpoint: str = ""  # encoder weights for the adapter's pooling, when moved since precompute
    probe_epochs: int = 100  # privacy probe
    linear: LinearConfig = field(default_factory=LinearConfig)
    tad: TADConfig = field(default_factory=TADConfig)
    ad: ADConfig = field(default_factory=ADConfig)
    progress: bool = True


def split_videos(store: FeatureStore, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Video rows of the fit / val / test splits; val is held out from train by whole subjects when the store
    has subjects, otherwise by videos stratified by label."""
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
    rng = np.random.default_rng(seed)
    subjects = store.videos["subject"][train]
    if (subjects != "").all() and len(np.unique(subjects)) >= 2:
        # hold out whole subjects (UCF101 groups, NTU performers): videos of one subject share actor and scene,
        # so a validation split that mixes them with training videos overestimates accuracy
        names = rng.permutation(np.unique(subjects))
        held = names[: max(1, int(round(len(names) * val_fraction)))]
        val = np.sort(train[np.isin(subjects, held)])
    else:
        # stratified by label, so that a small validation split still holds every class (normal/abnormal in AD)
        labels = store.videos["label"][train]
        picked = []
        for label in np.unique(labels):
            group = rng.permutation(train[labels == label])
            if len(group) >= 2:
                picked.extend(group[: max(1, int(round(len(group) * val_fraction)))].tolist())
        val = np.array(sorted(picked), dtype=np.int64)
    return {"fit": np.setdiff1d(train, val), "val": val, "test": test}


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
    mu = sd = None
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

    def video_probs(videos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip probabilities (5 clips per video), their owner (index into ``videos``) and the per-video mean."""
        clip_rows = [offsets[v] + five_clip_indices(int(counts[v])) for v in videos]
        owner = np.repeat(np.arange(len(videos)), [len(c) for c in clip_rows])
        probs = head.predict_proba(x[np.concatenate(clip_rows)]).numpy()
        mean = np.zeros((len(videos), probs.shape[1]))
        np.add.at(mean, owner, probs)
        return probs, owner, mean / np.bincount(owner)[:, None]

    def scores(videos: np.ndarray) -> tuple[float, float]:
        """(5-clip top-1, mean negative log-likelihood of the clip-averaged probabilities)."""
        probs, owner, mean = video_probs(videos)
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
    test_probs, test_owner, test_mean = video_probs(splits["test"])
    return {
        "_head": {"module": head, "mu": mu, "sd": sd},
        # per test video (store rows): the class of the highest clip-averaged probability (recipes score subgroups)
        "_test_predictions": {"videos": splits["test"], "predicted": test_mean.argmax(1)},
        "task": "ar",
        "metric": "top1",
        "test_top1": video_top1(test_probs, test_owner, labels[splits["test"]]),
        "val_top1": best[0][0],
        "best_epoch": best[1],
        "chance_top1": 1.0 / classes,
        "classes": classes,
        "videos": {k: int(len(v)) for k, v in splits.items()},
        "history": history,
    }


# --------------------------------------------------------------------------------------------- per-video features


def video_features(store: FeatureStore, tokens: bool = False) -> list[torch.Tensor]:
    """Every video's pooled clip features as float32 (T, D) tensors (``tokens``: (T, T', D) clip tokens), in store
    order."""
    feats = torch.from_numpy((store.tokens() if tokens else store.pooled()).astype(np.float32))
    offsets, counts = store.videos["clip_offset"], store.videos["clip_count"]
    return [feats[o : o + c] for o, c in zip(offsets, counts)]


def _best_state(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# --------------------------------------------------------------------------------------------- detection


def evaluate_tad(store: FeatureStore, cfg: EvaluateConfig) -> dict:
    splits = split_videos(store, cfg.val_fraction, cfg.seed)
    metas = [store.meta(v) for v in range(store.num_videos)]
    classes = (store.group.attrs.get("dataset") or {}).get("classes") or sorted(
        {c for m in metas for c, _, _ in m.get("segments", [])}
    )
    num_classes = len(classes) if isinstance(classes[0], str) else int(max(classes)) + 1
    fps = np.array([m.get("annotation_fps") or f for m, f in zip(metas, store.videos["fps"])], dtype=np.float64)
    feats = video_features(store)
    clip = int(store.recipe["encoder"].get("clip_length", 16)) * int(store.recipe["encoder"].get("frame_stride", 1))
    longest = max(len(f) for f in feats)
    tc = cfg.tad
    model_cfg = tridet.TriDetConfig(
        input_dim=feats[0].shape[1],
        num_classes=num_classes,
        embed_dim=tc.embed_dim,
        head_dim=tc.embed_dim,
        feat_stride=clip,
        num_frames=clip,
        max_seq_len=int(np.ceil(longest / 32) * 32),
    )

    def grid_segments(v: int) -> tuple[torch.Tensor, torch.Tensor]:
        segs = metas[v].get("segments", [])
        s = [
            [tridet.seconds_to_grid(a, fps[v], clip, clip), tridet.seconds_to_grid(b, fps[v], clip, clip)]
            for _, a, b in segs
        ]
        return torch.tensor(s, dtype=torch.float32).reshape(-1, 2), torch.tensor([c for c, _, _ in segs]).long()

    if not any(metas[v].get("segments") for v in splits["fit"]):
        raise ValueError(f"{store.path}: no training video has action segments; is this a detection store?")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = tridet.TriDet(model_cfg)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tc.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr
    )
    fit = [v for v in splits["fit"] if metas[v].get("segments")]
    steps = int(np.ceil(len(fit) / tc.batch_size))
    total, warm = tc.epochs * steps, tc.warmup_epochs * steps

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + np.cos(np.pi * (step - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)

    if not 0.0 <= tc.ema < 1.0:
        raise ValueError(f"tad.ema must be in [0, 1), got {tc.ema}")
    ema = tridet.TriDet(model_cfg) if tc.ema else None
    if ema is not None:
        ema.load_state_dict(model.state_dict())

    def update_ema() -> None:
        with torch.no_grad():
            for e, p in zip(ema.state_dict().values(), model.state_dict().values()):
                if e.dtype.is_floating_point:
                    e.mul_(tc.ema).add_(p, alpha=1 - tc.ema)
                else:
                    e.copy_(p)

    def score(videos) -> dict:
        scorer = ema if ema is not None else model
        scorer.eval()
        preds, gts = [], []
        with torch.no_grad():
            for v in videos:
                f = feats[v]
                batch = tridet.collate([(f, torch.zeros(0, 2), torch.zeros(0).long())], model_cfg.max_seq_len)
                duration = store.videos["frames"][v] / fps[v]
                for label, a, b, sc in scorer.predict(batch["features"], batch["mask"], durations=[duration])[0]:
                    preds.append((int(v), int(label), float(a), float(b), float(sc)))
                gts += [(int(v), int(c), float(a), float(b)) for c, a, b in metas[v].get("segments", [])]
        return activitynet_map(preds, gts) if gts else {"average_mAP": float("nan")}

    history, best = [], (-1.0, 0, None)
    for epoch in tqdm(range(1, tc.epochs + 1), desc="tad head", unit="epoch", disable=not cfg.progress):
        model.train()
        order = rng.permutation(fit)
        losses = []
        for i in range(0, len(order), tc.batch_size):
            items = []
            for v in order[i : i + tc.batch_size]:
                segs, labels = grid_segments(v)
                items.append(tridet.random_crop(feats[v], segs, labels, model_cfg.max_seq_len, generator=gen))
            terms = model.loss(tridet.collate(items, model_cfg.max_seq_len))
            loss = sum(t for k, t in terms.items() if k.endswith("_loss"))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if ema is not None:
                update_ema()
            losses.append(loss.item())
        val = score(splits["val"])["average_mAP"]
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_average_mAP": val})
        if np.isfinite(val) and val >= best[0]:  # ties go to the later, better-trained epoch
            best = (val, epoch, _best_state(ema if ema is not None else model))
    if best[2] is None:
        raise ValueError("no validation video has segments: raise --val-fraction")
    (ema if ema is not None else model).load_state_dict(best[2])
    test = score(splits["test"])
    head = {"module": ema if ema is not None else model, "config": model_cfg, "max_seq_len": model_cfg.max_seq_len}
    # trivial baseline: as many random proposals per video as the model made, random labels and scores
    rand_rng = np.random.default_rng(cfg.seed + 1)
    rand_preds, gts = [], []
    for v in splits["test"]:
        duration = store.videos["frames"][v] / fps[v]
        for _ in range(100):
            a, b = np.sort(rand_rng.uniform(0, duration, 2))
            rand_preds.append((int(v), int(rand_rng.integers(num_classes)), a, b, float(rand_rng.random())))
        gts += [(int(v), int(c), float(a), float(b)) for c, a, b in metas[v].get("segments", [])]
    random_map = activitynet_map(rand_preds, gts)["average_mAP"]
    return {
        "_head": head,
        "task": "tad",
        "metric": "average_mAP",
        "test_average_mAP": test["average_mAP"],
        "test_mAP_at": {k: v for k, v in test.items() if k.startswith("mAP@")},
        "val_average_mAP": best[0],
        "best_epoch": best[1],
        "chance_average_mAP": random_map,
        "classes": num_classes,
        "videos": {k: int(len(v)) for k, v in splits.items()},
        "history": history,
    }


# --------------------------------------------------------------------------------------------- anomaly detection


def evaluate_ad(store: FeatureStore, cfg: EvaluateConfig) -> dict:
    from sklearn.metrics import roc_auc_score

    splits = split_videos(store, cfg.val_fraction, cfg.seed)
    labels = store.videos["label"]
    abnormal = labels > 0  # anomaly datasets number "Normal" as class 0
    feats = video_features(store)
    mu = sd = None
    if cfg.standardize:  # z-score with the normal training videos' clip statistics: MGFN's magnitudes then
        fit_normal = [v for v in splits["fit"] if not abnormal[v]]  # measure the distance from normal footage
        fit_feats = torch.cat([feats[v] for v in fit_normal])
        mu, sd = fit_feats.mean(0), fit_feats.std(0) + 1e-6
        feats = [(f - mu) / sd for f in feats]
    ac = cfg.ad
    fit = splits["fit"]
    normals, abnormals = fit[~abnormal[fit]], fit[abnormal[fit]]
    if not len(normals) or not len(abnormals):
        raise ValueError(f"{store.path}: training needs normal (label 0) and abnormal (label > 0) videos")
    b = min(ac.batch_size, len(normals), len(abnormals))
    model_cfg = mgfn.MGFNConfig(in_dim=feats[0].shape[1], regularizers=ac.regularizers, dims=tuple(ac.dims))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = mgfn.MGFN(model_cfg)
    opt = torch.optim.Adam(model.parameters(), lr=ac.lr, weight_decay=ac.weight_decay)
    clip = int(store.recipe["encoder"].get("clip_length", 16)) * int(store.recipe["encoder"].get("frame_stride", 1))

    def clip_scores(videos) -> list[np.ndarray]:
        return [np.asarray(model.predict(feats[v]), dtype=np.float64) for v in videos]

    def video_auc(videos) -> float:
        y = abnormal[videos].astype(int)
        if y.min() == y.max():
            return float("nan")
        return float(roc_auc_score(y, [s.max() for s in clip_scores(videos)]))

    history, best, losses = [], (-1.0, 0, None), []
    n_order, a_order, cursor = rng.permutation(normals), rng.permutation(abnormals), 0
    for step in tqdm(range(1, ac.steps + 1), desc="ad head", unit="step", disable=not cfg.progress):
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
        if step % ac.val_every and step != ac.steps:
            continue
        model.eval()
        val = video_auc(splits["val"])
        history.append({"step": step, "loss": float(np.mean(losses)), "val_video_auc": val})
        if not np.isfinite(val):
            val = -np.mean(losses)  # a one-class validation split: fall back to the lowest training loss
        losses = []
        if val >= best[0] or best[2] is None:
            best = (val, step, _best_state(model))
    model.load_state_dict(best[2])
    test = splits["test"]
    frame_scores, frame_labels = [], []
    for v, s in zip(test, clip_scores(test)):
        n_frames = len(s) * clip
        gt = np.zeros(n_frames, dtype=np.int64)
        for a, e in store.meta(int(v)).get("anomaly_frames", []):
            gt[a : min(e, n_frames - 1) + 1] = 1  # frames past the last full clip have no feature: cut
        frame_scores.append(np.repeat(s, clip))
        frame_labels.append(gt)
    scores, gt = np.concatenate(frame_scores), np.concatenate(frame_labels)
    if gt.min() == gt.max():
        raise ValueError(f"{store.path}: the test videos' frame ground truth has a single class; AUC is undefined")
    return {
        "_head": {"module": model, "config": model_cfg, "mu": mu, "sd": sd},
        "task": "ad",
        "metric": "frame_auc",
        "test_frame_auc": frame_roc_auc(scores, gt),
        "test_frame_pr_auc": frame_pr_auc_trapezoid(scores, gt),
        "test_frame_ap": frame_average_precision(scores, gt),
        "val_metric": "video_auc",  # weak labels: validation videos have no frame annotations
        "val_video_auc": best[0],
        "best_epoch": best[1],
        "selection_unit": "step",
        "chance_frame_auc": 0.5,
        "test_frames": int(len(gt)),
        "anomalous_frames": int(gt.sum()),
        "videos": {k: int(len(v)) for k, v in splits.items()},
        "history": history,
    }


# --------------------------------------------------------------------------------------------- privacy


def video_attribute_labels(store) -> np.ndarray:
    """(V, K) int64 attribute labels of every video (the ``labels`` annotation), or a clear error."""
    metas = [store.meta(v) for v in range(store.num_videos)]
    missing = sum(1 for m in metas if not m.get("labels"))
    if missing:
        raise ValueError(
            f"{store.path}: {missing} of {len(metas)} videos have no attribute labels; the privacy probe needs a "
            "store of a dataset with private attributes (vispr, or a synthetic suite)"
        )
    return np.array([m["labels"] for m in metas], dtype=np.int64)


def video_means(store) -> np.ndarray:
    """(V, D) float32: the mean of each video's pooled clip features (a privacy image is one static clip)."""
    feats, rows = store.pooled().astype(np.float32), store.clip_video_rows()
    counts = np.bincount(rows, minlength=store.num_videos)[:, None]
    x = np.zeros((store.num_videos, feats.shape[1]), np.float64)
    np.add.at(x, rows, feats)
    return (x / np.maximum(counts, 1)).astype(np.float32)


def privacy_inputs(store, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The privacy probe's data: per-video features (V, D), attribute labels (V, K), split names (V,) with a
    validation split (the store's own, else held out from train) and the attribute names."""
    y = video_attribute_labels(store)
    split = np.asarray(store.videos["split"]).astype(object)
    if not ((split == "val").any() and (split == "test").any()):
        parts = split_videos(store, val_fraction, seed)
        split[parts["val"]] = "val"
    attributes = (store.group.attrs.get("dataset") or {}).get("attributes") or list(range(y.shape[1]))
    return video_means(store), y, split.astype(str), [str(a) for a in attributes]


def evaluate_privacy(store, cfg: EvaluateConfig) -> dict:
    from latentanon.probes import mlp_probe_cmap

    x, y, split, attributes = privacy_inputs(store, cfg.val_fraction, cfg.seed)
    result = mlp_probe_cmap(x, y, split, cfg.seed, cfg.probe_epochs)
    static = bool((store.videos["status"] == "padded").all())
    return {
        "task": "privacy",
        "metric": "cmap",
        "test_cmap": result["cmap"],
        "val_cmap": result["val_cmap"],
        "chance_cmap": result["chance_cmap"],
        "per_attribute_ap": dict(zip(attributes, result["per_attribute_ap"])),
        "base_rates": dict(zip(attributes, result["base_rates"])),
        "clips": "static (images)" if static else "moving (videos)",
        "best_epoch": result["best_epoch"],
        "videos": {
            "fit": int((split == "train").sum()),
            "val": int((split == "val").sum()),
            "test": result["test_items"],
        },
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
    from latentanon.wrapper import open_features

    t0 = time.perf_counter()
    store = open_features(cfg.store, cfg.aam, cfg.encoder_checkpoint)
    tasks = {"ar": evaluate_ar, "tad": evaluate_tad, "ad": evaluate_ad, "privacy": evaluate_privacy}
    report = {k: v for k, v in tasks[cfg.task](store, cfg).items() if not k.startswith("_")}
    report.update(
        store=cfg.store,
        aam=cfg.aam or None,
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
    val_metric = report.get("val_metric", metric)
    unit = report.get("selection_unit", "epoch")
    rows = [
        f"# {report['task'].upper()} evaluation of `{report['store']}`",
        "",
        "| encoder | test | validation (chosen epoch) | chance | videos fit/val/test | seconds |",
        "|---|---|---|---|---|---|",
        f"| {report['encoder']} | {metric} **{report['test_' + metric]:.4f}** | "
        f"{val_metric} {report['val_' + val_metric]:.4f} ({unit} {report['best_epoch']}) | "
        f"{report.get('chance_' + metric, float('nan')):.4f} | "
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
