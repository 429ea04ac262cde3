"""Action recognition: a linear head on pooled clip features, one random clip per video per epoch, the epoch chosen
on validation (ties to the lower loss), 5-clip softmax averaging on test; metric top-1 (trivial baseline: chance)."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from latentanon.heads.linear import LinearHead
from latentanon.metrics import video_top1
from latentanon.protocols.features import clip_average, five_clip_rows
from latentanon.protocols.result import FittedHead, ProtocolResult
from latentanon.protocols.settings import HeadSettings
from latentanon.protocols.splits import split_videos


def run_ar(
    store, heads: HeadSettings, val_fraction: float = 0.1, seed: int = 0, progress: bool = True
) -> ProtocolResult:
    """Train and test the action head on ``store`` (needs action labels on the fit/val/test videos)."""
    labels = store.videos["label"]
    splits = split_videos(store, val_fraction, seed)
    for name, rows in splits.items():
        if (labels[rows] < 0).any():
            raise ValueError(f"{store.path}: {int((labels[rows] < 0).sum())} {name} videos have no label")
    classes = int(labels.max()) + 1
    feats = store.pooled().astype(np.float32)  # (N, D)
    offsets, counts = store.videos["clip_offset"], store.videos["clip_count"]
    mu = sd = None
    if heads.standardize:
        fit_clips = np.concatenate([np.arange(offsets[v], offsets[v] + counts[v]) for v in splits["fit"]])
        mu, sd = feats[fit_clips].mean(0), feats[fit_clips].std(0) + 1e-6
        feats = (feats - mu) / sd
    x = torch.from_numpy(feats)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = LinearHead(feats.shape[1], classes)
    lc = heads.linear
    opt = torch.optim.AdamW(head.parameters(), lr=lc.lr, weight_decay=lc.weight_decay)

    def video_probs(videos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip probabilities (5 clips per video), their owner (index into ``videos``) and the per-video mean."""
        rows, owner = five_clip_rows(offsets, counts, videos)
        probs = head.predict_proba(x[rows]).numpy()
        return probs, owner, clip_average(probs, owner, len(videos))

    def scores(videos: np.ndarray) -> tuple[float, float]:
        """(5-clip top-1, mean negative log-likelihood of the clip-averaged probabilities)."""
        probs, owner, mean = video_probs(videos)
        nll = float(-np.log(mean[np.arange(len(videos)), labels[videos]] + 1e-12).mean())
        return video_top1(probs, owner, labels[videos]), nll

    history, best = [], ((-1.0, -np.inf), 0, None)
    fit = splits["fit"]
    for epoch in tqdm(range(1, lc.epochs + 1), desc="ar head", unit="epoch", disable=not progress):
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
    metrics = {
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
    fitted = FittedHead("ar", head.eval(), {"feature_dim": int(feats.shape[1]), "classes": classes}, mu, sd)
    # per test video (store rows): the class of the highest clip-averaged probability (recipes score subgroups)
    predictions = {"videos": splits["test"], "predicted": test_mean.argmax(1)}
    return ProtocolResult("ar", "top1", metrics, fitted, predictions)
