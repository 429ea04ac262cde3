"""Temporal action detection: TriDet on each video's (T, D) clip features, segments from the store's annotations,
the epoch chosen on validation mAP; metric ActivityNet mAP at tIoU 0.3:0.1:0.7 and its average (trivial baseline:
as many random proposals per video as a model makes, random labels and scores)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from tqdm.auto import tqdm

from latentanon.contracts import clip_span, state_snapshot
from latentanon.heads import tridet
from latentanon.metrics import activitynet_map
from latentanon.protocols.features import video_features
from latentanon.protocols.result import FittedHead, ProtocolResult
from latentanon.protocols.settings import HeadSettings
from latentanon.protocols.splits import split_videos


def grid_segments(segments: list, fps: float, span: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A video's ``[(class, start_s, end_s)]`` as TriDet targets: (M, 2) clip-grid segments and (M,) labels."""
    s = [
        [tridet.seconds_to_grid(a, fps, span, span), tridet.seconds_to_grid(b, fps, span, span)] for _, a, b in segments
    ]
    return torch.tensor(s, dtype=torch.float32).reshape(-1, 2), torch.tensor([c for c, _, _ in segments]).long()


def annotation_fps(store, metas: list[dict]) -> np.ndarray:
    """(V,) the frame rate each video's segments are annotated at (its decoded fps unless the dataset says)."""
    return np.array([m.get("annotation_fps") or f for m, f in zip(metas, store.videos["fps"])], dtype=np.float64)


def run_tad(
    store, heads: HeadSettings, val_fraction: float = 0.1, seed: int = 0, progress: bool = True
) -> ProtocolResult:
    """Train and test TriDet on ``store`` (needs action segments in the training videos' annotations)."""
    splits = split_videos(store, val_fraction, seed)
    metas = [store.meta(v) for v in range(store.num_videos)]
    classes = (store.group.attrs.get("dataset") or {}).get("classes") or sorted(
        {c for m in metas for c, _, _ in m.get("segments", [])}
    )
    if not classes:
        raise ValueError(f"{store.path}: no video has action segments; is this a detection store?")
    num_classes = len(classes) if isinstance(classes[0], str) else int(max(classes)) + 1
    fps = annotation_fps(store, metas)
    feats = video_features(store)
    clip = clip_span(store.recipe["encoder"])
    longest = max(len(f) for f in feats)
    tc = heads.tad
    model_cfg = tridet.TriDetConfig(
        input_dim=feats[0].shape[1],
        num_classes=num_classes,
        embed_dim=tc.embed_dim,
        head_dim=tc.embed_dim,
        feat_stride=clip,
        num_frames=clip,
        max_seq_len=int(np.ceil(longest / 32) * 32),
    )
    if not any(metas[v].get("segments") for v in splits["fit"]):
        raise ValueError(f"{store.path}: no training video has action segments; is this a detection store?")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = tridet.TriDet(model_cfg)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tc.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr
    )
    fit = [v for v in splits["fit"] if metas[v].get("segments")]
    steps = int(np.ceil(len(fit) / tc.batch_size))
    total, warm = tc.epochs * steps, min(tc.warmup_epochs, tc.epochs) * steps

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + np.cos(np.pi * (step - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
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
                batch = tridet.collate([(feats[v], torch.zeros(0, 2), torch.zeros(0).long())], model_cfg.max_seq_len)
                duration = store.videos["frames"][v] / fps[v]
                # decoded at the video's own frame rate, the one its training targets were gridded with
                detections = scorer.predict(batch["features"], batch["mask"], durations=[duration], fps=[fps[v]])
                for label, a, b, sc in detections[0]:
                    preds.append((int(v), int(label), float(a), float(b), float(sc)))
                gts += [(int(v), int(c), float(a), float(b)) for c, a, b in metas[v].get("segments", [])]
        return activitynet_map(preds, gts) if gts else {"average_mAP": float("nan")}

    history, best = [], (-1.0, 0, None)
    for epoch in tqdm(range(1, tc.epochs + 1), desc="tad head", unit="epoch", disable=not progress):
        model.train()
        order = rng.permutation(fit)
        losses = []
        for i in range(0, len(order), tc.batch_size):
            items = []
            for v in order[i : i + tc.batch_size]:
                segs, labels = grid_segments(metas[v].get("segments", []), fps[v], clip)
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
            best = (val, epoch, state_snapshot(ema if ema is not None else model))
    if best[2] is None:
        raise ValueError("no validation video has segments: raise --val-fraction")
    chosen = ema if ema is not None else model
    chosen.load_state_dict(best[2])
    test = score(splits["test"])
    # trivial baseline: random proposals, random labels and scores
    rand_rng = np.random.default_rng(seed + 1)
    rand_preds, gts = [], []
    for v in splits["test"]:
        duration = store.videos["frames"][v] / fps[v]
        for _ in range(100):
            a, b = np.sort(rand_rng.uniform(0, duration, 2))
            rand_preds.append((int(v), int(rand_rng.integers(num_classes)), a, b, float(rand_rng.random())))
        gts += [(int(v), int(c), float(a), float(b)) for c, a, b in metas[v].get("segments", [])]
    metrics = {
        "task": "tad",
        "metric": "average_mAP",
        "test_average_mAP": test["average_mAP"],
        "test_mAP_at": {k: v for k, v in test.items() if k.startswith("mAP@")},
        "val_average_mAP": best[0],
        "best_epoch": best[1],
        "chance_average_mAP": activitynet_map(rand_preds, gts)["average_mAP"],
        "classes": num_classes,
        "videos": {k: int(len(v)) for k, v in splits.items()},
        "history": history,
    }
    head = FittedHead("tad", chosen.eval(), dataclasses.asdict(model_cfg))
    return ProtocolResult("tad", "average_mAP", metrics, head)
