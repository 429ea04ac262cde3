"""Pretrain a ``-tiny`` encoder on the synthetic benchmark's pretraining suite (its stand-in for Kinetics).

    python -m latentanon.datasets.synthetic --out synthetic --preset default --suites pretrain,action,vispr
    python -m latentanon.recipes.pretrain_synthetic --root synthetic --out checkpoints/i3d-r50-tiny-synthetic
    python -m latentanon.precompute --encoder i3d-r50-tiny \
        --checkpoint checkpoints/i3d-r50-tiny-synthetic/model.safetensors ...

A random encoder neither recognises actions nor leaks much; an encoder trained for actions does both, like the
frozen encoders SPLAVU targets. Data: the ``pretrain/`` suite (Kinetics-400 layout; its own subjects, backgrounds
and videos, disjoint from every evaluation suite), its ``train`` split to fit and its ``val`` split (own subjects)
to choose the epoch; ``--suite ucf101`` trains on the evaluation suite's training videos instead (the setting
before benchmark 2, which lets the encoder see the probes' training videos). Training: supervised action
classification (linear head on ``encoder.pool``) plus, with ``--appearance-weight`` > 0 and a suite that has
them, two auxiliary linear heads on the same feature for the pretraining suite's appearance labels (background
kind, shirt hue; not private attributes), and, with ``--contrastive-weight`` > 0, a self-supervised
instance-contrastive loss (NT-Xent on a small projection of the feature) between two clips of each video, each
flipped on its own: what stays the same across a video's clips is its appearance, so the two together keep
appearance in the features the way Kinetics-trained encoders do (an action-only encoder discards most of it).
(Still frames as the second view, tried first, mixed motionless clips into every BatchNorm batch and kept the
encoder at 0.17 validation top-1 after 19 epochs against 0.83 without them.) Two more options, tried
for the benchmark issue and not used by the shipped checkpoint (docs/synthetic.md has the figures):
``--reconstruction-weight`` > 0 decodes each clip's middle frame from the last feature map of an I3D-family encoder
(transposed convolutions, per-patch normalised pixels as the target, as masked autoencoders use) so that small
detail stays in the map; ``--teacher NAME --teacher-checkpoint FILE`` makes the new encoder regress a frozen
teacher's clip features (MSE to the teacher's feature standardised over its dimensions) beside its own losses, the
way a ViT is distilled from a CNN when data are few. One random clip per video per epoch
with a horizontal flip, AdamW with a cosine schedule.
Resumable: the state after each epoch is kept in
``OUT/resume/`` and a re-run continues from it. The checkpoint is a ``save_pretrained`` folder (transformers
families) or ``OUT/model.safetensors`` in the family's official key layout (I3D, InternVideo).

With ``--evaluate true`` (default) the recipe then extracts stores of the action suite and the privacy images
with the new checkpoint and measures the raw-feature leakage that anonymization must remove:
action top-1 (linear probe, 5-clip protocol) and privacy cMAP on static clips (MLP probe on z-scored features),
each beside its chance level, plus attribute cMAP from moving clips. Written to ``OUT/pretrain_report.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from latentanon.cli import run
from latentanon.config import ConfigError
from latentanon.datasets import load_dataset
from latentanon.datasets.synthetic.suites import APPEARANCE
from latentanon.datasets.synthetic.world import HUE_BINS, SCENE_KINDS
from latentanon.losses import nt_xent
from latentanon.metrics import video_top1
from latentanon.probes import mlp_probe_cmap, zscore
from latentanon.protocols import five_clip_rows
from latentanon.registry import create_encoder
from latentanon.video import iter_clip_frames, to_model_input

logger = logging.getLogger(__name__)


def encoder_weights_path(name: str, folder: Path) -> str:
    """Where :func:`save_encoder` put the weights of encoder ``name``."""
    return str(folder) if (folder / "config.json").exists() else str(folder / "model.safetensors")


def save_encoder(encoder: nn.Module, folder: Path) -> str:
    """Write ``encoder``'s weights in the form ``create_encoder(name, checkpoint=...)`` loads; return that path.

    transformers families: a ``save_pretrained`` folder; the others (I3D, InternVideo): ``model.safetensors`` of
    the network in its official key layout.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(getattr(encoder, "model", None), "save_pretrained"):
        encoder.model.save_pretrained(folder)
        return str(folder)
    from safetensors.torch import save_file

    net = getattr(encoder, "net", encoder)
    path = folder / "model.safetensors"
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(path))
    return str(path)


@dataclass(frozen=True)
class PretrainConfig:
    """Pretrain a -tiny encoder by supervised action classification on the synthetic action suite."""

    root: str = "synthetic"  # output folder of python -m latentanon.datasets.synthetic (its pretrain/, ucf101/, vispr/)
    suite: str = (
        "auto"  # training videos: pretrain (disjoint suite), ucf101 (evaluation suite), auto: pretrain if built
    )
    appearance_weight: float = 0.5  # weight of the auxiliary appearance heads (scene, shirt) of the pretrain suite
    contrastive_weight: float = 0.0  # weight of NT-Xent between two clips of each video (0: off); see the docstring
    contrastive_temperature: float = 0.2  # temperature of that NT-Xent
    encoder: str = "i3d-r50-tiny"  # any -tiny encoder (a 3D CNN learns motion from few videos far better than a ViT)
    teacher: str = ""  # a frozen registered encoder whose clip features the new encoder regresses ("": off)
    teacher_checkpoint: str = ""  # the teacher's weights (required with --teacher), e.g. the shipped I3D checkpoint
    distill_weight: float = 1.0  # weight of that feature-distillation loss (with --teacher)
    reconstruction_weight: float = 0.0  # weight of decoding each clip's middle frame from the last map (0: off)
    reconstruction_patch: int = 8  # patch size of the normalised-pixel reconstruction target
    out: str = "checkpoints/i3d-r50-tiny-synthetic"  # the checkpoint folder (also resume state and the report)
    epochs: int = 20  # training epochs (one random clip per video each)
    batch_size: int = 32  # clips per step
    lr: float = 1e-3  # peak AdamW learning rate (linear warm-up, then cosine decay)
    weight_decay: float = 0.05  # AdamW weight decay
    warmup_epochs: int = 1  # epochs of linear learning-rate warm-up
    val_fraction: float = 0.15  # of the training videos, for choosing the epoch
    seed: int = 0  # seeds the split, the initialisation, the clip order and the probes
    evaluate: bool = True  # measure raw-feature leakage with the new checkpoint afterwards
    probe_epochs: int = 100  # training epochs of the leakage probes (with --evaluate)
    progress: bool = True  # show progress bars


# --------------------------------------------------------------------------------------------- data


def decode_clips(records, spec, progress: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Every clip of every video as uint8 (n_i, T, H, W, 3) arrays, and the labels (V,)."""
    clips, labels = [], []
    for r in tqdm(records, desc="decode", unit="video", disable=not progress):
        frames = [a for kind, _, a in iter_clip_frames(r.path, spec) if kind == "clip"]
        clips.append(np.stack(frames))
        labels.append(r.label)
    return clips, np.asarray(labels, dtype=np.int64)


def split_train_val(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class FrameDecoder(nn.Module):
    """Transposed convolutions from the encoder's last feature map (mean over time) up to one frame."""

    def __init__(self, channels: int, upscale: int):
        super().__init__()
        stages = int(math.log2(upscale))
        if 2**stages != upscale:
            raise ConfigError(f"--reconstruction-weight needs a power-of-two map-to-frame scale, got {upscale}")
        layers, c = [], channels
        for i in range(stages):
            out = 3 if i == stages - 1 else max(16, 64 >> i)
            layers.append(nn.ConvTranspose2d(c, out, 4, stride=2, padding=1))
            if i < stages - 1:
                layers.append(nn.ReLU())
            c = out
        self.net = nn.Sequential(*layers)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) -> (B, 3, h * upscale, w * upscale)."""
        return self.net(feature_map)


def patch_normalised(frames: torch.Tensor, patch: int) -> torch.Tensor:
    """Each ``patch`` x ``patch`` patch of (B, C, H, W) frames standardised over its own pixels and channels (the
    normalised-pixel target of masked autoencoders: it weighs a patch's structure, not its brightness). Same shape."""
    b, c, h, w = frames.shape
    x = frames.reshape(b, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 3, 5)  # (B, h', w', C, p, p)
    x = x.reshape(b, h // patch, w // patch, -1)  # (B, h', w', C p p)
    x = (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True) + 1e-6).sqrt()
    x = x.reshape(b, h // patch, w // patch, c, patch, patch).permute(0, 3, 1, 4, 2, 5)  # (B, C, h', p, w', p)
    return x.reshape(b, c, h, w)


class Classifier(nn.Module):
    """Encoder + linear head on the pooled clip feature (+ auxiliary appearance heads on the same feature, and the
    optional contrastive projection, teacher-feature regressor and frame decoder)."""

    def __init__(
        self,
        encoder: nn.Module,
        classes: int,
        auxiliary: tuple[int, ...] = (),
        projection: int = 0,
        distill: int = 0,
        decoder: bool = False,
    ):
        super().__init__()
        self.encoder = encoder
        d = encoder.spec.feature_dim
        self.head = nn.Linear(d, classes)
        self.aux = nn.ModuleList(nn.Linear(d, n) for n in auxiliary)
        self.proj = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, projection)) if projection else None
        self.distill = nn.Linear(d, distill) if distill else None  # student feature -> teacher feature
        self.decoder = None
        if decoder:
            if not (hasattr(encoder, "feature_map") and hasattr(encoder, "tokens")):
                raise ConfigError(
                    f"--reconstruction-weight needs an encoder with a spatial feature map (the I3D family), "
                    f"not {encoder.spec.name}"
                )
            size = encoder.spec.input_size
            with torch.no_grad():
                h = encoder.feature_map(torch.zeros(1, encoder.spec.clip_length, 3, size, size)).shape[-1]
            self.decoder = FrameDecoder(d, size // h)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) -> logits (B, classes)."""
        return self.head(self.encoder.pool(self.encoder(video)))

    def forward_all(self, video: torch.Tensor) -> dict:
        """``logits``: the action logits and then each auxiliary head's; ``z`` the contrastive projection,
        ``distill`` the teacher-feature prediction, ``frame`` the decoded frame (B, 3, H, W); each None when off."""
        if self.decoder is not None:
            maps = self.encoder.feature_map(video)  # (B, D, T', h, w)
            feats = self.encoder.pool(self.encoder.tokens(maps))
            frame = self.decoder(maps.mean(dim=2))  # time-averaged map -> (B, 3, H, W)
        else:
            feats, frame = self.encoder.pool(self.encoder(video)), None
        return {
            "logits": [self.head(feats)] + [head(feats) for head in self.aux],
            "z": self.proj(feats) if self.proj is not None else None,
            "distill": self.distill(feats) if self.distill is not None else None,
            "frame": frame,
        }


@torch.no_grad()
def evaluate_5clip(model: Classifier, clips: list[np.ndarray], labels: np.ndarray, spec, batch: int) -> float:
    """Top-1 of videos with softmax averaged over 5 evenly spaced clips."""
    model.eval()
    counts = np.array([len(c) for c in clips])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rows, owner = five_clip_rows(offsets, counts, np.arange(len(clips)))
    x = np.stack([clips[o][r - offsets[o]] for r, o in zip(rows, owner)])  # (5V, T, H, W, C)
    probs = []
    for i in range(0, len(x), batch):
        probs.append(model(to_model_input(torch.from_numpy(x[i : i + batch]), spec)).softmax(-1))
    return video_top1(torch.cat(probs).numpy(), np.asarray(owner), labels)


def second_views(
    clips: list[np.ndarray], videos: np.ndarray, first: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The contrastive view of each video: another of its clips (the same one when it has only one, ``first``
    holds the clip index of the first view), flipped horizontally at random. uint8 (B, T, H, W, 3)."""
    out = []
    for v, j in zip(videos, first):
        n = len(clips[v])
        k = (j + 1 + rng.integers(n - 1)) % n if n > 1 else j
        clip = clips[v][k]
        out.append(clip[:, :, ::-1] if rng.random() < 0.5 else clip)
    return np.stack(out)


def appearance_labels(root: Path, records) -> tuple[np.ndarray | None, tuple[int, ...]]:
    """(V, 2) int appearance labels (scene kind, shirt hue) of ``records`` from the suite's synthetic_meta.json,
    and the class counts; ``(None, ())`` when the suite has none (the evaluation suites)."""
    meta_path = root / "synthetic_meta.json"
    if not meta_path.is_file():
        return None, ()
    videos = json.loads(meta_path.read_text())["videos"]
    rows = [videos.get(r.key, {}).get("appearance") for r in records]
    if not rows or any(a is None for a in rows):
        return None, ()
    labels = np.array([[a[name] for name in APPEARANCE] for a in rows], dtype=np.int64)
    return labels, (SCENE_KINDS, HUE_BINS)


# --------------------------------------------------------------------------------------------- training


def load_teacher(cfg: PretrainConfig, spec) -> nn.Module | None:
    """The frozen teacher of ``--teacher`` (None when off), checked to read the same clips as the student."""
    if not cfg.teacher:
        if cfg.teacher_checkpoint:
            raise ConfigError("--teacher-checkpoint needs --teacher (the registered name of the teacher encoder)")
        return None
    if not cfg.teacher_checkpoint:
        raise ConfigError(
            f"--teacher {cfg.teacher} needs --teacher-checkpoint: a random teacher has nothing to teach "
            "(e.g. checkpoints/i3d-r50-tiny-synthetic/model.safetensors)"
        )
    if cfg.distill_weight <= 0:
        raise ConfigError(f"--distill-weight must be > 0 with --teacher, got {cfg.distill_weight}")
    teacher = create_encoder(cfg.teacher, checkpoint=cfg.teacher_checkpoint)
    fields = ("clip_length", "frame_stride", "input_size", "resize_short")
    differ = [f for f in fields if getattr(teacher.spec, f) != getattr(spec, f)]
    if differ:
        raise ConfigError(
            f"--teacher {cfg.teacher} reads other clips than --encoder {cfg.encoder} ("
            + ", ".join(f"{f} {getattr(teacher.spec, f)} vs {getattr(spec, f)}" for f in differ)
            + "): pick a teacher with the same clip geometry"
        )
    return teacher.eval().requires_grad_(False)


def distill_loss(prediction: torch.Tensor, teacher_feats: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the student's prediction and the teacher's clip features, each feature vector
    standardised over its dimensions first (a layer norm without parameters, as data2vec normalises its targets),
    so the loss does not depend on the teacher's feature scale."""
    target = nn.functional.layer_norm(teacher_feats, teacher_feats.shape[-1:])
    return nn.functional.mse_loss(prediction, target)


def _set_trainable(encoder: nn.Module) -> None:
    encoder.requires_grad_(True)
    nn.Module.train(encoder, True)  # frozen encoders ignore .train(); bypass it while pretraining


def train(cfg: PretrainConfig) -> dict:
    """Train and save the checkpoint; returns the training summary."""
    if not cfg.encoder.endswith("-tiny"):
        raise ConfigError(f"--encoder must be a -tiny encoder (pretraining runs on the CPU), got {cfg.encoder!r}")
    if cfg.epochs <= 0 or cfg.batch_size <= 0 or not 0 < cfg.val_fraction < 1:
        raise ConfigError("--epochs and --batch-size must be positive and --val-fraction in (0, 1)")
    if cfg.suite not in ("auto", "pretrain", "ucf101"):
        raise ConfigError(f"--suite must be auto, pretrain or ucf101, got {cfg.suite!r}")
    if cfg.appearance_weight < 0:
        raise ConfigError(f"--appearance-weight must be >= 0, got {cfg.appearance_weight}")
    suite = cfg.suite
    if suite == "auto":
        suite = "pretrain" if (Path(cfg.root) / "pretrain").is_dir() else "ucf101"
    root = Path(cfg.root) / suite
    for needed in {root, Path(cfg.root) / "ucf101"}:
        if not needed.is_dir():
            raise FileNotFoundError(
                f"{needed} not found: build those suites first (python -m latentanon.datasets.synthetic "
                f"--out {cfg.root} --suites {'pretrain,' if suite == 'pretrain' else ''}action,vispr)"
            )
    ds = load_dataset("kinetics400" if suite == "pretrain" else "ucf101", str(root))
    evaluation = load_dataset("ucf101", str(Path(cfg.root) / "ucf101"))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    encoder = create_encoder(cfg.encoder)
    spec = encoder.spec
    if cfg.contrastive_weight < 0 or cfg.contrastive_temperature <= 0:
        raise ConfigError("--contrastive-weight must be >= 0 and --contrastive-temperature > 0")
    if cfg.reconstruction_weight < 0 or cfg.reconstruction_patch <= 0 or spec.input_size % cfg.reconstruction_patch:
        raise ConfigError(
            f"--reconstruction-weight must be >= 0 and --reconstruction-patch divide the input size {spec.input_size}, "
            f"got {cfg.reconstruction_weight} and {cfg.reconstruction_patch}"
        )
    teacher = load_teacher(cfg, spec)  # before decoding: a bad --teacher fails at once
    test_recs = [r for r in evaluation.records if r.split == "test"]
    if suite == "pretrain":  # its own validation subjects choose the epoch
        train_recs = [r for r in ds.records if r.split in ("train", "val")]
        fit_idx = np.array([i for i, r in enumerate(train_recs) if r.split == "train"])
        val_idx = np.array([i for i, r in enumerate(train_recs) if r.split == "val"])
    else:
        train_recs = [r for r in ds.records if r.split == "train"]
        fit_idx, val_idx = split_train_val(len(train_recs), cfg.val_fraction, cfg.seed)
    train_clips, train_labels = decode_clips(train_recs, spec, cfg.progress)
    test_clips, test_labels = decode_clips(test_recs, spec, cfg.progress)
    aux_labels, aux_sizes = appearance_labels(root, train_recs) if cfg.appearance_weight > 0 else (None, ())

    model = Classifier(
        encoder,
        len(ds.classes),
        aux_sizes,
        128 if cfg.contrastive_weight > 0 else 0,
        teacher.spec.feature_dim if teacher is not None else 0,
        decoder=cfg.reconstruction_weight > 0,
    )
    _set_trainable(model.encoder)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(fit_idx) / cfg.batch_size)
    total, warm = cfg.epochs * steps_per_epoch, cfg.warmup_epochs * steps_per_epoch

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    resume = out / "resume" / "state.pt"
    history, start, best = [], 0, (-1.0, -1)
    if resume.exists():
        state = torch.load(resume, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history = json.loads((out / "resume" / "history.json").read_text())
        start = len(history)
        best = max(((h["val_top1"], h["epoch"]) for h in history), default=best)
        logger.info("resuming after epoch %d", start)
    rng = np.random.default_rng(cfg.seed + 1000 * start)
    for epoch in range(start, cfg.epochs):
        model.train()
        _set_trainable(model.encoder)  # after model.train(), which leaves a frozen encoder in eval mode
        order = rng.permutation(fit_idx)
        t0, losses = time.perf_counter(), []
        bar = tqdm(
            range(0, len(order), cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress
        )
        for i in bar:
            videos = order[i : i + cfg.batch_size]
            first = np.array([rng.integers(len(train_clips[v])) for v in videos])
            batch = np.stack([train_clips[v][j] for v, j in zip(videos, first)])
            flip = rng.random(len(videos)) < 0.5
            batch[flip] = batch[flip][:, :, :, ::-1]  # horizontal flip of the whole clip
            if cfg.contrastive_weight > 0:
                batch = np.concatenate([batch, second_views(train_clips, videos, first, rng)])
            frames = torch.from_numpy(np.ascontiguousarray(batch))
            x = to_model_input(frames, spec)
            pred = model.forward_all(x)
            logits, z, guess = pred["logits"], pred["z"], pred["distill"]
            n = len(videos)
            if teacher is not None:
                with torch.no_grad():  # the teacher sees the same (flipped) clips
                    taught = teacher.pool(teacher(to_model_input(frames, teacher.spec)))
            loss = nn.functional.cross_entropy(logits[0][:n], torch.from_numpy(train_labels[videos]))
            for j, aux in enumerate(logits[1:]):
                target = torch.from_numpy(aux_labels[videos, j])
                loss = loss + cfg.appearance_weight * nn.functional.cross_entropy(aux[:n], target)
            if z is not None and n >= 2:
                loss = loss + cfg.contrastive_weight * nt_xent(z[:n], z[n:], cfg.contrastive_temperature)
            if guess is not None:
                loss = loss + cfg.distill_weight * distill_loss(guess, taught)
            if pred["frame"] is not None:  # the middle frame of each clip, as the encoder saw it
                target = patch_normalised(x[:, x.shape[1] // 2], cfg.reconstruction_patch)
                loss = loss + cfg.reconstruction_weight * nn.functional.mse_loss(pred["frame"], target)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch + 1}; lower --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        val = evaluate_5clip(model, [train_clips[v] for v in val_idx], train_labels[val_idx], spec, 64)
        history.append(
            {"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_top1": val, "seconds": time.perf_counter() - t0}
        )
        logger.info("epoch %d: loss %.3f, val top-1 %.3f", epoch + 1, np.mean(losses), val)
        if val > best[0]:
            best = (val, epoch + 1)
            save_encoder(model.encoder, out / "best")
            torch.save(model.head.state_dict(), out / "best_head.pt")
        (out / "resume").mkdir(exist_ok=True)
        tmp = resume.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, tmp)
        os.replace(tmp, resume)
        (out / "resume" / "history.json").write_text(json.dumps(history, indent=1))

    # the chosen epoch becomes the checkpoint, written at OUT itself
    best_path = save_encoder(
        create_encoder(cfg.encoder, checkpoint=encoder_weights_path(cfg.encoder, out / "best")), out
    )
    chosen = Classifier(create_encoder(cfg.encoder, checkpoint=best_path), len(ds.classes))
    chosen.head.load_state_dict(torch.load(out / "best_head.pt", map_location="cpu", weights_only=True))
    subjects = {r.subject for r in train_recs}
    overlap = subjects & {r.subject for r in evaluation.records}
    test = evaluate_5clip(chosen, test_clips, test_labels, spec, 64)
    summary = {
        "config": asdict(cfg),
        "classes": list(ds.classes),
        "best_epoch": best[1],
        "val_top1": best[0],
        "test_top1_end_to_end": test,
        "chance": 1 / len(ds.classes),
        "history": history,
        "checkpoint": best_path,
        "weights_sha256": chosen.encoder.spec.weights_sha256,
        "suite": suite,
        "appearance_heads": list(APPEARANCE) if aux_sizes else [],
        "contrastive": cfg.contrastive_weight > 0,
        "reconstruction": cfg.reconstruction_weight > 0,
        "teacher": {"name": cfg.teacher, "weights_sha256": teacher.spec.weights_sha256}
        if teacher is not None
        else None,
        "train_videos": len(fit_idx),
        "val_videos": len(val_idx),
        "test_videos": len(test_recs),
        "subjects_shared_with_evaluation": sorted(overlap),
    }
    (out / "pretrain_summary.json").write_text(json.dumps(summary, indent=1))
    return summary


# --------------------------------------------------------------------------------------------- leakage


def linear_probe_top1(store, seed: int, epochs: int) -> dict:
    """Action top-1 of a linear probe on pooled clip features (train on train clips, 5-clip test protocol)."""
    feats, rows = store.pooled().astype(np.float32), store.clip_video_rows()
    labels, split = store.videos["label"], store.videos["split"]
    train_v = np.nonzero(split == "train")[0]
    fit_pos, val_pos = split_train_val(len(train_v), 0.15, seed)
    fit_v, val_v = train_v[fit_pos], train_v[val_pos]
    test_v = np.nonzero(split == "test")[0]
    fit_rows = np.nonzero(np.isin(rows, fit_v))[0]
    x_fit, x_all = zscore(feats[fit_rows], feats)
    torch.manual_seed(seed)
    probe = nn.Linear(feats.shape[1], int(labels.max()) + 1)
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-2, weight_decay=1e-4)
    xf, yf = torch.from_numpy(x_fit), torch.from_numpy(labels[rows[fit_rows]])

    def top1(videos):
        idx, owner = five_clip_rows(store.videos["clip_offset"], store.videos["clip_count"], videos)
        with torch.no_grad():
            probs = probe(torch.from_numpy(x_all[idx])).softmax(-1).numpy()
        return video_top1(probs, owner, labels[videos])

    best = (-1.0, None)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(probe(xf), yf)
        opt.zero_grad()
        loss.backward()
        opt.step()
        val = top1(val_v)
        if val > best[0]:
            best = (val, {k: v.clone() for k, v in probe.state_dict().items()})
    probe.load_state_dict(best[1])
    return {
        "top1": top1(test_v),
        "val_top1": best[0],
        "chance": 1 / (int(labels.max()) + 1),
        "test_videos": len(test_v),
    }


def measure_leakage(cfg: PretrainConfig, checkpoint: str) -> dict:
    """Extract the action and privacy suites with ``checkpoint`` and probe the raw features."""
    from latentanon.extract import PrecomputeConfig
    from latentanon.extract import main as precompute
    from latentanon.stores import open_store

    stores = Path(cfg.out) / "stores"
    common = dict(encoder=cfg.encoder, checkpoint=checkpoint, num_workers=2, batch_size=64, progress=cfg.progress)
    for name in ("ucf101", "vispr"):
        precompute(
            PrecomputeConfig(
                dataset=name,
                root=str(Path(cfg.root) / name),
                out=str(stores / f"{name}.zarr"),
                static_clips=2 if name == "ucf101" else 1,
                **common,
            )
        )
    action = open_store(str(stores / "ucf101.zarr"))
    privacy = open_store(str(stores / "vispr.zarr"))
    report = {"action": linear_probe_top1(action, cfg.seed, cfg.probe_epochs)}
    # static clips of privacy images: each image is one padded clip, i.e. the image repeated to a clip
    y = np.array([json.loads(m)["labels"] for m in privacy.videos["meta"]], dtype=np.int64)
    x = privacy.pooled().astype(np.float32)
    report["privacy_static"] = mlp_probe_cmap(x, y, privacy.videos["split"], cfg.seed, cfg.probe_epochs)
    report["attributes"] = privacy.group.attrs["dataset"]["attributes"]
    # moving clips of people with known attributes: one mean-pooled feature per action video
    metas = [json.loads(m) for m in action.videos["meta"]]
    if all(m.get("labels") for m in metas):
        rows = action.clip_video_rows()
        feats = action.pooled().astype(np.float32)
        xv = np.stack([feats[rows == v].mean(0) for v in range(action.num_videos)])
        yv = np.array([m["labels"] for m in metas], dtype=np.int64)
        split = action.videos["split"].copy()
        train_v = np.nonzero(split == "train")[0]
        split[train_v[split_train_val(len(train_v), 0.15, cfg.seed)[1]]] = "val"
        report["privacy_moving"] = mlp_probe_cmap(xv, yv, split, cfg.seed, cfg.probe_epochs)
    return report


def main(cfg: PretrainConfig) -> dict:
    summary = train(cfg)
    print(
        f"pretrained {cfg.encoder}: best epoch {summary['best_epoch']}, val top-1 {summary['val_top1']:.3f}, "
        f"test top-1 {summary['test_top1_end_to_end']:.3f} (chance {summary['chance']:.3f}); saved to {cfg.out}"
    )
    if cfg.evaluate:
        leak = measure_leakage(cfg, summary["checkpoint"])
        summary["leakage"] = leak
        a, p = leak["action"], leak["privacy_static"]
        print(f"raw features, linear probe action top-1 (5-clip): {a['top1']:.3f} (chance {a['chance']:.3f})")
        print(
            f"raw features, MLP probe privacy cMAP on static clips: {p['cmap']:.3f} "
            f"(chance = base rate {p['chance_cmap']:.3f})"
        )
        if "privacy_moving" in leak:
            m = leak["privacy_moving"]
            print(
                f"raw features, MLP probe privacy cMAP on moving clips: {m['cmap']:.3f} (chance {m['chance_cmap']:.3f})"
            )
        for what in ("privacy_static", "privacy_moving"):
            if what in leak:
                r = leak[what]
                cells = zip(leak["attributes"], r["per_attribute_ap"], r["base_rates"])
                print(f"  {what} AP (base rate): " + ", ".join(f"{n} {ap:.3f} ({b:.3f})" for n, ap, b in cells))
        (Path(cfg.out) / "pretrain_report.json").write_text(json.dumps(summary, indent=1))
    return summary


def cli(argv: list[str] | None = None) -> int:
    return run(PretrainConfig, main, argv, prog="latentanon.recipes.pretrain_synthetic")


if __name__ == "__main__":
    sys.exit(cli())
