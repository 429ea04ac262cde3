"""Train an Anonymizing Adapter Module on cached latents (SPLAVU): the training library behind ``train_aam``.

    python -m latentanon.train_aam --action-store ucf101.zarr [--tad-store thumos14.zarr] [--ad-store ucf_crime.zarr] \\
        --out runs/aam [--config train.yaml] [--weights.ad 0] [--aam.mode paper-compat] ...

One joint step per batch (Algorithm 1 of the paper, as the released code does it):

    L = w_LC * L_LC + w_AR * L_AR + w_TAD * L_TAD + w_AD * L_AD - w_B * L_B

backward once, then step the adapter's optimizer and each seen head's own optimizer. L_B is NT-Xent between the
anonymized features of two stored static clips of each video (maximised); L_LC the mean squared error between raw
and anonymized tokens; L_AR/L_TAD/L_AD the losses of the linear, TriDet and MGFN heads on anonymized features.
A task weight of 0 makes that task *unseen* (its store may still be given, and is then only used by ``evaluate``).
Heads start from heads trained on the raw features with the protocols of ``latentanon.protocols`` (settings
``--raw.*``, cached in ``OUT/raw_heads``).

The action store is read in windows of ``stream_window`` videos (contiguous spans, whole chunks, the next window
read in a background thread while the current one trains), so memory does not grow with the store; a store of at
most ``stream_window`` videos is read once and kept.

Model selection never looks at a test split: after every epoch the run scores the validation videos of the action
store (held out from train by subject, as ``evaluate`` does) with the co-trained action head (5-clip top-1) and a
privacy proxy, the validation NT-Xent of static pairs relative to its ceiling log(2B-1), capped at 1 (1 = the two
frames of a video are no more alike than frames of different videos). ``OUT/best`` keeps the epoch with the highest
``0.5 * (top-1 + proxy)`` (the paper's combined score with the proxy in place of the attacker).

Outputs: ``OUT/best`` and ``OUT/last`` (AAM checkpoints: ``model.safetensors`` + ``config.json``; ``last`` also
holds the heads, optimizers and RNG states, so a killed run resumes from its last finished epoch),
``OUT/metrics.jsonl`` (one JSON line per epoch), ``OUT/summary.json``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from latentanon.aam import AAM, AAMConfig, identity_pretrain, scaled_lr
from latentanon.anonymizers.latent import apply_latent
from latentanon.checkpoint import load_checkpoint, save_checkpoint
from latentanon.config import ConfigError
from latentanon.contracts import clip_span
from latentanon.data import FeatureWindow, batched_windows, prefetch, video_windows
from latentanon.features import check_stores, store_pooler
from latentanon.heads import mgfn, tridet
from latentanon.losses import latent_consistency, nt_xent, nt_xent_ceiling
from latentanon.metrics import video_top1
from latentanon.protocols import (
    ADConfig,
    FittedHead,
    HeadSettings,
    five_clip_rows,
    run_ad,
    run_ar,
    run_tad,
    split_videos,
    video_features,
)
from latentanon.protocols.result import head_matches, head_meta
from latentanon.protocols.tad import annotation_fps, grid_segments
from latentanon.stores import FeatureStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdapterConfig:
    """The AAM architecture (its ``dim`` comes from the store); see :class:`latentanon.aam.AAMConfig`."""

    mode: str = "token"  # token (attends over a clip's T' tokens), paper-compat (over the batch), or mlp
    depth: int = 3  # attention (or MLP) layers
    heads: int = 8  # attention heads
    ff_dim: int = 2048  # feed-forward width of each layer
    dropout: float = 0.1  # dropout inside the layers
    bottleneck: int = 0  # > 0: a rank-k linear bottleneck after the layers (non-invertible; docs/aam.md)
    noise_std: float = 0.0  # Gaussian noise added to the anonymized features in training


@dataclass(frozen=True)
class IdentityConfig:
    """Identity initialisation by reconstruction on the action store's clips (released: MSE, AdamW)."""

    loss: str = "mse"  # reconstruction loss: mse or l1
    epochs: int = 100  # at most this many epochs ...
    lr: float = 1e-3  # AdamW learning rate
    target_error: float = 0.01  # ... stopping once the relative reconstruction error is below this
    min_gain: float = 0.01  # ... or once an epoch lowers it by less than this fraction (a bottleneck, which starts
    # at the PCA of the tokens at its rank, cannot reach target_error); the lowest-error weights are kept

    def __post_init__(self):
        if self.loss not in ("mse", "l1") or self.epochs < 0 or not 0.0 <= self.min_gain < 1.0:
            raise ValueError(
                f"identity.loss must be mse or l1, identity.epochs >= 0 and identity.min_gain in [0, 1); got "
                f"{self.loss!r}, {self.epochs}, {self.min_gain}"
            )


@dataclass(frozen=True)
class Weights:
    """Loss weights: w_LC, w_B and one per task (0 = the task is unseen)."""

    lc: float = 100.0  # w_LC, latent consistency (MSE between raw and anonymized tokens)
    budget: float = 1.0  # w_B, the NT-Xent privacy loss on static pairs (maximised)
    ar: float = 1.0  # action recognition (0 = unseen)
    tad: float = 1.0  # temporal action detection (0 = unseen)
    ad: float = 1.0  # anomaly detection (0 = unseen)


@dataclass(frozen=True)
class TrainConfig:
    """Train a SPLAVU adapter on cached latents. Stores per role; ``weights.<task>`` 0 makes a task unseen."""

    action_store: str = ""  # action recognition store with static clips (>= 2 per video): required
    tad_store: str = ""  # temporal action detection store (optional)
    ad_store: str = ""  # anomaly detection store (optional)
    out: str = "runs/aam"  # run folder: best/, last/, metrics.jsonl, summary.json, raw_heads/
    aam: AdapterConfig = field(default_factory=AdapterConfig)  # the adapter's architecture
    identity: IdentityConfig = field(default_factory=IdentityConfig)  # identity pre-training
    weights: Weights = field(default_factory=Weights)  # loss weights
    temperature: float = 0.1  # NT-Xent
    center_budget: bool = False  # batch-centred NT-Xent (not in the paper; see METHOD.md)
    budget_head: int = 0  # > 0: an adversarial budget head Linear(D,D)-ReLU-Linear(D,K) (K = this) minimises
    # NT-Xent on the anonymized static pairs while the adapter maximises it through the head (DESIGN.md)
    epochs: int = 100  # training epochs over the action store's training videos
    batch_size: int = 512  # action videos per step
    lr: float = 1e-4  # base lr of the adapter and heads at batch 512 (linear scaling rule)
    ad_batch: int = 8  # normal + abnormal videos per step, each
    tad_batch: int = 2  # detection videos per step
    val_fraction: float = 0.1  # of the training videos (by subject), held out for model selection
    seed: int = 0  # seeds the split, initialisation, sampling and the raw heads
    progress: bool = True  # show progress bars
    raw: HeadSettings = field(  # how the raw heads are trained (the protocols'); one MGFN run: training needs
        default_factory=lambda: HeadSettings(ad=ADConfig(restarts=1))  # one head, not a mean of restarts
    )
    raw_heads: str = ""  # folder of cached raw heads to reuse and fill (default OUT/raw_heads)
    encoder_checkpoint: str = ""  # encoder weights to pool a format-1 store, when they moved since precompute
    stream_window: int = 8192  # action videos held in memory at once; a store this small is read once


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says what was kept."""


# ------------------------------------------------------------------------------------------------ data


@dataclass
class _Role:
    store: FeatureStore
    feats: list  # per-video raw tokens (T, L, D) float32 tensors
    splits: dict
    metas: list = field(default_factory=list)  # per-video annotations, parsed once
    fps: np.ndarray | None = None  # (V,) the frame rate of each video's annotations (TAD segments)

    def __post_init__(self):
        if not self.metas:
            self.metas = [self.store.meta(v) for v in range(self.store.num_videos)]
        self.fps = annotation_fps(self.store, self.metas)


def _check_config(cfg: TrainConfig) -> None:
    if not cfg.action_store:
        raise ConfigError("--action-store is required (a store with static clips, e.g. the ucf101 suite)")
    if cfg.epochs < 1 or cfg.batch_size < 2:
        raise ConfigError(f"epochs must be >= 1 and batch-size >= 2, got {cfg.epochs}, {cfg.batch_size}")
    if cfg.stream_window < cfg.batch_size:
        raise ConfigError(f"stream-window ({cfg.stream_window}) must hold at least one batch ({cfg.batch_size})")
    for name in ("lc", "budget", "ar", "tad", "ad"):
        w = getattr(cfg.weights, name)
        if not (math.isfinite(w) and w >= 0):
            raise ConfigError(f"weights.{name} must be a finite number >= 0, got {w}")
    if cfg.weights.tad > 0 and not cfg.tad_store:
        raise ConfigError("weights.tad > 0 needs --tad-store (or set --weights.tad 0: TAD unseen)")
    if cfg.weights.ad > 0 and not cfg.ad_store:
        raise ConfigError("weights.ad > 0 needs --ad-store (or set --weights.ad 0: AD unseen)")
    if cfg.temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {cfg.temperature}")


def _raw(store: FeatureStore, role: str) -> FeatureStore:
    """``store`` if it holds raw features (check_stores has checked it exists, holds videos, shares the encoder)."""
    if store.recipe.get("anonymizer"):
        raise ConfigError(f"the {role} store {store.path} is already anonymized; train on raw features")
    return store


# ------------------------------------------------------------------------------------------------ training


class Trainer:
    """The SPLAVU training loop over stores; :func:`main` is the entry point."""

    def __init__(self, cfg: TrainConfig):
        _check_config(cfg)
        stores = check_stores({"action-store": cfg.action_store, "tad-store": cfg.tad_store, "ad-store": cfg.ad_store})
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.action = _raw(stores["action-store"], "action")
        if self.action.static_count < 2:
            raise ConfigError(
                f"{cfg.action_store} has {self.action.static_count} static clip(s) per video; the privacy loss needs "
                "two per video: precompute it with --static-clips 2 or more"
            )
        self.spec = self.action.recipe["encoder"]
        self.dim = int(self.action.spec.feature_dim)
        self.pooler = store_pooler(self.action, cfg.encoder_checkpoint or None)  # from the store, not the encoder
        self.labels = torch.from_numpy(self.action.videos["label"].astype(np.int64))
        self.counts = self.action.videos["clip_count"]
        self.splits = split_videos(self.action, cfg.val_fraction, cfg.seed)
        if (self.labels[self.splits["fit"]] < 0).any():
            raise ConfigError(f"{cfg.action_store}: some training videos have no action label")
        # a store of at most stream_window videos is read once; larger ones a window at a time
        self.resident = (
            FeatureWindow(self.action, np.arange(self.action.num_videos))
            if self.action.num_videos <= cfg.stream_window
            else None
        )
        self.tad = self.ad = None
        if cfg.tad_store and cfg.weights.tad > 0:
            store = _raw(stores["tad-store"], "tad")
            self.tad = _Role(store, video_features(store, tokens=True), split_videos(store, cfg.val_fraction, cfg.seed))
        if cfg.ad_store and cfg.weights.ad > 0:
            store = _raw(stores["ad-store"], "ad")
            self.ad = _Role(store, video_features(store, tokens=True), split_videos(store, cfg.val_fraction, cfg.seed))
        self.compat = cfg.aam.mode == "paper-compat"
        self.aam_cfg = AAMConfig(dim=self.dim, **asdict(cfg.aam))
        self.lr = scaled_lr(cfg.lr, cfg.batch_size)

    # -------------------------------------------------------------------------------------- data

    def windows(self, videos: np.ndarray, rng: np.random.Generator):
        """One epoch of ``(window, visiting order)`` over ``videos``; the next window is read in the background."""
        if self.resident is not None:
            yield self.resident, rng.permutation(videos)
            return
        chunk = self.action.group["clips/tokens"].chunks[0]  # a block: the videos starting in one chunk
        orders = video_windows(videos, self.cfg.stream_window, rng, self.action.videos["clip_offset"] // chunk)
        orders = batched_windows(orders, self.cfg.batch_size, self.cfg.stream_window)
        yield from prefetch(((FeatureWindow(self.action, o), o) for o in orders), depth=1)

    def anonymize(self, aam: AAM | None, tokens: torch.Tensor, pooled: torch.Tensor | None = None) -> tuple:
        """(raw input, anonymized output, anonymized clip features) of a batch of clips; ``aam=None``: raw."""
        return apply_latent(aam, self.pooler, tokens, pooled, self.compat)

    # -------------------------------------------------------------------------------------- raw heads

    def raw_heads(self) -> dict[str, FittedHead]:
        """Heads trained on raw features (the protocols, settings ``cfg.raw``), cached in OUT/raw_heads."""
        cfg = self.cfg
        cache = Path(cfg.raw_heads) if cfg.raw_heads else self.out / "raw_heads"
        todo = [("ar", self.action, run_ar)]
        if self.tad is not None:
            todo.append(("tad", self.tad.store, run_tad))
        if self.ad is not None:
            todo.append(("ad", self.ad.store, run_ad))
        heads = {}
        for task, store, fn in todo:
            path = cache / task
            if (path / "config.json").is_file():
                head, meta = FittedHead.load(path)
                if head_matches(meta, store, cfg.raw, cfg.val_fraction, cfg.seed):
                    heads[task] = head
                    logger.info("raw %s head: reused %s (val %.4f)", task, path, meta["val"])
                    continue
            logger.info("raw %s head: training on raw features of %s", task, store.path)
            result = fn(store, cfg.raw, val_fraction=cfg.val_fraction, seed=cfg.seed, progress=cfg.progress)
            result.head.save(path, head_meta(store, cfg.raw, cfg.val_fraction, cfg.seed, result.val))
            heads[task] = FittedHead.load(path)[0]  # the saved head, as a later run reuses it
        return heads

    # -------------------------------------------------------------------------------------- losses

    def step_losses(self, aam: AAM, heads: dict, budget, window: FeatureWindow, videos: np.ndarray, rng, gen) -> dict:
        cfg, w = self.cfg, self.cfg.weights
        local = window.local(videos)
        clip = torch.from_numpy(window.first_clip[local] + rng.integers(0, self.counts[videos]))
        raw, anon, feats = self.anonymize(aam, window.tokens[clip].float(), window.pooled[clip].float())
        terms = {"lc_loss": latent_consistency(raw, anon)}
        if w.ar > 0:
            terms["ar_loss"] = F.cross_entropy(heads["ar"].module(heads["ar"].standardize(feats)), self.labels[videos])
        # two different static clips of every video
        s = window.static_tokens.shape[1]
        first = rng.integers(0, s, len(videos))
        second = (first + rng.integers(1, s, len(videos))) % s
        v = torch.from_numpy(local)
        both_t = torch.cat([window.static_tokens[v, first], window.static_tokens[v, second]]).float()
        both_p = torch.cat([window.static_pooled[v, first], window.static_pooled[v, second]]).float()
        _, _, z = self.anonymize(aam, both_t, both_p)
        self._static_features = z  # for the adversarial budget head's own step
        zb = budget(z) if budget is not None else z
        terms["budget_loss"] = nt_xent(zb[: len(v)], zb[len(v) :], cfg.temperature, center=cfg.center_budget)
        if self.tad is not None:
            terms["tad_loss"] = self.tad_loss(aam, heads["tad"], rng, gen)
        if self.ad is not None:
            terms["ad_loss"] = self.ad_loss(aam, heads["ad"], rng)
        total = w.lc * terms["lc_loss"] - w.budget * terms["budget_loss"]
        for task in ("ar", "tad", "ad"):
            if f"{task}_loss" in terms:
                total = total + getattr(w, task) * terms[f"{task}_loss"]
        terms["total"] = total
        return terms

    def _video_features(self, aam: AAM, tokens: torch.Tensor) -> torch.Tensor:
        return self.anonymize(aam, tokens, None)[2]  # (T, D)

    def tad_loss(self, aam: AAM, head: FittedHead, rng, gen) -> torch.Tensor:
        role = self.tad
        metas = role.metas
        fit = [int(v) for v in role.splits["fit"] if metas[v].get("segments")]
        pick = rng.choice(fit, size=min(self.cfg.tad_batch, len(fit)), replace=False)
        span = clip_span(self.spec)
        items = []
        for v in pick:
            segs, labels = grid_segments(metas[v]["segments"], role.fps[v], span)
            feats = self._video_features(aam, role.feats[v])
            items.append(tridet.random_crop(feats, segs, labels, head.max_seq_len, generator=gen))
        terms = head.module.loss(tridet.collate(items, head.max_seq_len))
        return sum(t for k, t in terms.items() if k.endswith("_loss"))

    def ad_loss(self, aam: AAM, head: FittedHead, rng) -> torch.Tensor:
        role = self.ad
        fit = role.splits["fit"]
        abnormal = role.store.videos["label"][fit] > 0
        b = min(self.cfg.ad_batch, int(abnormal.sum()), int((~abnormal).sum()))
        pick_n = rng.choice(fit[~abnormal], b, replace=False)
        pick_a = rng.choice(fit[abnormal], b, replace=False)

        def features(v: int) -> torch.Tensor:
            return mgfn.train_input(head.standardize(self._video_features(aam, role.feats[v])))

        batch = {
            "normal": torch.stack([features(v) for v in pick_n]),
            "abnormal": torch.stack([features(v) for v in pick_a]),
        }
        terms = head.module.loss(batch)
        return sum(t for k, t in terms.items() if k.endswith("_loss"))

    # -------------------------------------------------------------------------------------- validation

    @torch.no_grad()
    def validate(self, aam: AAM | None, heads: dict) -> dict:
        """Validation metrics of the adapter (``None``: of the raw features)."""
        if aam is not None:
            aam.eval()
        for h in heads.values():
            h.module.eval()
        val = self.splits["val"]
        probs, owners, z1, z2 = [], [], [], []
        step = self.cfg.stream_window
        for i in range(0, len(val), step):  # resident: one block; streamed: blocks of stream_window videos
            part = val[i : i + step]
            window = self.resident if self.resident is not None else FeatureWindow(self.action, part)
            local = window.local(part)
            rows, owner = five_clip_rows(window.first_clip, self.counts[window.videos], local)
            owners.append(owner + i)  # index into val
            idx = torch.from_numpy(rows)
            feats = torch.cat(
                [self.anonymize(aam, window.tokens[j].float(), window.pooled[j].float())[2] for j in idx.split(1024)]
            )  # paper-compat: batches of 1024 clips attend to each other, as at test time
            probs.append(torch.softmax(heads["ar"].module(heads["ar"].standardize(feats)), dim=1).numpy())
            v = torch.from_numpy(local)
            z1.append(self.anonymize(aam, window.static_tokens[v, 0].float(), window.static_pooled[v, 0].float())[2])
            z2.append(self.anonymize(aam, window.static_tokens[v, 1].float(), window.static_pooled[v, 1].float())[2])
        top1 = video_top1(np.concatenate(probs), np.concatenate(owners), self.labels[val].numpy())
        z1, z2 = torch.cat(z1), torch.cat(z2)
        budget = nt_xent(z1, z2, self.cfg.temperature, center=self.cfg.center_budget).item()
        proxy = min(1.0, budget / nt_xent_ceiling(len(val)))  # centred NT-Xent can exceed the ceiling
        cos = F.cosine_similarity(z1, z2).mean().item()
        return {"val_top1": top1, "val_budget": budget, "val_privacy_proxy": proxy, "val_pair_cosine": cos,
                "score": 0.5 * (top1 + proxy)}  # fmt: skip

    # -------------------------------------------------------------------------------------- checkpoints

    def meta(self) -> dict:
        return {
            "method": "splavu",
            "encoder": self.spec,
            "store_recipe_hash": self.action.recipe_hash,
            "train": asdict(self.cfg),
        }

    def save_last(self, epoch, aam, modules, opts, rng, history, best) -> None:
        tensors = {f"aam.{k}": v for k, v in aam.state_dict().items()}
        opt_meta = {}
        for name, opt in opts.items():
            state = opt.state_dict()
            for pid, st in state["state"].items():
                for k, t in st.items():
                    tensors[f"opt.{name}.{pid}.{k}"] = torch.as_tensor(t)
            opt_meta[name] = {
                "param_groups": state["param_groups"],
                "keys": {str(p): list(st) for p, st in state["state"].items()},
            }
        for task, module in modules.items():
            tensors.update({f"head.{task}.{k}": v for k, v in module.state_dict().items()})
        tensors["torch_rng"] = torch.get_rng_state()
        meta = {
            "format": "latentanon-aam",
            "format_version": 1,
            "aam": aam.cfg.to_dict(),
            **self.meta(),
            "epoch": epoch,
            "numpy_rng": rng.bit_generator.state,
            "optimizers": opt_meta,
            "history": history,
            "best": best,
        }
        save_checkpoint(self.out / "last", tensors, meta)

    def resume(self, aam, modules, opts, rng) -> tuple[int, list, dict] | None:
        path = self.out / "last"
        if not (path / "config.json").is_file():
            return None
        tensors, meta = load_checkpoint(path)
        if meta.get("train") != json.loads(json.dumps(asdict(self.cfg))) or meta.get("aam") != aam.cfg.to_dict():
            raise ConfigError(
                f"{path} was written by a different configuration; choose another --out or delete {self.out} "
                "to start over"
            )
        aam.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("aam.")})
        for task, module in modules.items():
            p = f"head.{task}."
            module.load_state_dict({k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)})
        for name, opt in opts.items():
            om = meta["optimizers"][name]
            state = {int(pid): {k: tensors[f"opt.{name}.{pid}.{k}"] for k in keys} for pid, keys in om["keys"].items()}
            opt.load_state_dict({"state": state, "param_groups": om["param_groups"]})
        torch.set_rng_state(tensors["torch_rng"])
        rng.bit_generator.state = meta["numpy_rng"]
        return meta["epoch"], meta["history"], meta["best"]

    # -------------------------------------------------------------------------------------- the loop

    def run(self) -> dict:
        from latentanon.checkpoint import save_aam

        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        heads = self.raw_heads()
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        aam = AAM(self.aam_cfg)
        fit = self.splits["fit"]
        opts = {"aam": torch.optim.AdamW(aam.parameters(), lr=self.lr)}
        modules = {task: h.module for task, h in heads.items()}  # what trains beside the adapter
        budget = None
        if cfg.budget_head:
            torch.manual_seed(cfg.seed + 1)
            d = self.dim
            budget = torch.nn.Sequential(torch.nn.Linear(d, d), torch.nn.ReLU(), torch.nn.Linear(d, cfg.budget_head))
            modules["budget"] = budget
        for task, module in modules.items():
            if getattr(cfg.weights, task) > 0:
                opts[task] = torch.optim.AdamW(module.parameters(), lr=self.lr)
        resumed = self.resume(aam, modules, opts, rng)
        if resumed is None:
            # identity pre-training on the resident store, or on the first window of a streamed one
            first = self.resident or FeatureWindow(self.action, np.sort(fit)[: cfg.stream_window])
            sample = (first.pooled[:, None] if self.compat else first.tokens).float()
            ident = identity_pretrain(
                aam,
                sample,
                loss=cfg.identity.loss,
                epochs=cfg.identity.epochs,
                lr=cfg.identity.lr,
                batch_size=min(2048, max(2, len(sample))),
                target_error=cfg.identity.target_error,
                min_gain=cfg.identity.min_gain,
                seed=cfg.seed,
                progress=cfg.progress,
            )
            logger.info(
                "identity pre-training: relative error %.5f after %d epochs", ident["relative_error"], ident["epochs"]
            )
            start, history = 1, []
            raw_val = self.validate(None, heads)
            best = {"epoch": 0, "score": -1.0, "raw_val": raw_val, "identity": ident}
            logger.info("raw features: %s", raw_val)
            (self.out / "metrics.jsonl").write_text("")
        else:
            start, history, best = resumed[0] + 1, resumed[1], resumed[2]
            logger.info("resuming %s after epoch %d", self.out, resumed[0])
        ceiling = nt_xent_ceiling(min(cfg.batch_size, len(fit)))
        for epoch in tqdm(
            range(start, cfg.epochs + 1),
            desc="train aam",
            unit="epoch",
            disable=not cfg.progress,
            initial=start - 1,
            total=cfg.epochs,
        ):
            aam.train()
            for task, module in modules.items():
                module.train(getattr(cfg.weights, task) > 0)
            sums: dict[str, float] = {}
            steps, clips, t_epoch = 0, 0, time.perf_counter()
            for window, order in self.windows(fit, rng):
                # full batches only (the remainder of a window waits for the next epoch), unless the
                # store has fewer training videos than one batch
                batches = len(order) // cfg.batch_size or int(len(fit) < cfg.batch_size)
                for i in range(batches):
                    videos = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
                    steps, clips = steps + 1, clips + len(videos)
                    terms = self.step_losses(aam, heads, budget, window, videos, rng, gen)
                    if not torch.isfinite(terms["total"]):
                        bad = {k: float(v.detach()) for k, v in terms.items()}
                        raise TrainingError(
                            f"non-finite loss at epoch {epoch}, step {i + 1}: {bad}. The last good checkpoint is "
                            f"{self.out / 'last'} (epoch {epoch - 1}); lower --lr or the loss weights and resume"
                        )
                    for opt in opts.values():
                        opt.zero_grad(set_to_none=True)
                    terms["total"].backward()
                    for name, opt in opts.items():
                        if name == "tad":
                            torch.nn.utils.clip_grad_norm_(modules["tad"].parameters(), 1.0)
                        if name != "budget":  # the adversary steps on its own loss below
                            opt.step()
                    if "budget" in opts:  # the adversary learns to recognise a video from its two static clips
                        z = self._static_features.detach()
                        zb = budget(z)
                        adv = nt_xent(zb[: len(z) // 2], zb[len(z) // 2 :], cfg.temperature, center=cfg.center_budget)
                        opts["budget"].zero_grad(set_to_none=True)
                        adv.backward()
                        opts["budget"].step()
                        terms["adversary_loss"] = adv.detach()
                    for k, v in terms.items():
                        sums[k] = sums.get(k, 0.0) + float(v.detach())
            seconds = time.perf_counter() - t_epoch  # the steps, reading included (not validation)
            row = {"epoch": epoch, **{k: v / max(1, steps) for k, v in sums.items()}, "budget_ceiling": ceiling}
            row.update(train_seconds=seconds, train_videos_per_s=clips / seconds if seconds > 0 else 0.0)
            row.update(self.validate(aam, heads))
            history.append(row)
            with open(self.out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            if row["score"] > best["score"]:
                best.update(epoch=epoch, score=row["score"], val=row)
                save_aam(self.out / "best", aam, {**self.meta(), "epoch": epoch, "val": row})
            self.save_last(epoch, aam, modules, opts, rng, history, best)
        summary = {
            "out": str(self.out),
            "best_epoch": best["epoch"],
            "best": best.get("val"),
            "raw_val": best["raw_val"],
            "identity": {k: v for k, v in best["identity"].items() if k != "history"},
            "aam_parameters": aam.num_parameters(),
            "seconds": time.perf_counter() - t0,
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1))
        return summary


def main(cfg: TrainConfig) -> dict:
    """Train and return the summary (see the module docstring)."""
    return Trainer(cfg).run()
