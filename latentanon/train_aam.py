"""Train an Anonymizing Adapter Module on cached latents (SPLAVU).

    python -m latentanon.train_aam --action-store ucf101.zarr [--tad-store thumos14.zarr] [--ad-store ucf_crime.zarr] \\
        --out runs/aam [--config train.yaml] [--weights.ad 0] [--aam.mode paper-compat] ...

One joint step per batch (Algorithm 1 of the paper, as the released code does it):

    L = w_LC * L_LC + w_AR * L_AR + w_TAD * L_TAD + w_AD * L_AD - w_B * L_B

backward once, then step the adapter's optimizer and each seen head's own optimizer. L_B is NT-Xent between the
anonymized features of two stored static clips of each video (maximised); L_LC the mean squared error between raw
and anonymized tokens; L_AR/L_TAD/L_AD the losses of the linear, TriDet and MGFN heads on anonymized features.
A task weight of 0 makes that task *unseen* (its store may still be given, and is then only used by ``evaluate``).
Heads start from heads trained on the raw features with ``evaluate``'s protocol (cached in ``OUT/raw_heads``).

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
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from latentanon.aam import AAM, AAMConfig, identity_pretrain, scaled_lr
from latentanon.checkpoint import load_checkpoint, save_checkpoint
from latentanon.config import ConfigError, parse_cli
from latentanon.evaluate import ADConfig, EvaluateConfig, TADConfig, split_videos, video_features
from latentanon.heads import mgfn, tridet
from latentanon.heads.linear import LinearConfig
from latentanon.losses import latent_consistency, nt_xent, nt_xent_ceiling
from latentanon.metrics import five_clip_indices, video_top1
from latentanon.stores import FeatureStore, open_store
from latentanon.wrapper import Pooler, apply_aam

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdapterConfig:
    """The AAM architecture (its ``dim`` comes from the store); see :class:`latentanon.aam.AAMConfig`."""

    mode: str = "token"
    depth: int = 3
    heads: int = 8
    ff_dim: int = 2048
    dropout: float = 0.1
    bottleneck: int = 0
    noise_std: float = 0.0


@dataclass(frozen=True)
class IdentityConfig:
    """Identity initialisation by reconstruction on the action store's clips (released: MSE, AdamW)."""

    loss: str = "mse"
    epochs: int = 100
    lr: float = 1e-3
    target_error: float = 0.01


@dataclass(frozen=True)
class Weights:
    """Loss weights: w_LC, w_B and one per task (0 = the task is unseen)."""

    lc: float = 100.0
    budget: float = 1.0
    ar: float = 1.0
    tad: float = 1.0
    ad: float = 1.0


@dataclass(frozen=True)
class TrainConfig:
    """Train a SPLAVU adapter on cached latents. Stores per role; ``weights.<task>`` 0 makes a task unseen."""

    action_store: str = ""  # action recognition store with static clips (>= 2 per video): required
    tad_store: str = ""  # temporal action detection store (optional)
    ad_store: str = ""  # anomaly detection store (optional)
    out: str = "runs/aam"
    aam: AdapterConfig = field(default_factory=AdapterConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    weights: Weights = field(default_factory=Weights)
    temperature: float = 0.1  # NT-Xent
    center_budget: bool = False  # batch-centred NT-Xent (not in the paper; see METHOD.md)
    budget_head: int = 0  # > 0: an adversarial budget head Linear(D,D)-ReLU-Linear(D,K) (K = this) minimises
    # NT-Xent on the anonymized static pairs while the adapter maximises it through the head (DESIGN.md)
    epochs: int = 100
    batch_size: int = 512  # action videos per step
    lr: float = 1e-4  # base lr of the adapter and heads at batch 512 (linear scaling rule)
    ad_batch: int = 8  # normal + abnormal videos per step, each
    tad_batch: int = 2
    val_fraction: float = 0.1
    seed: int = 0
    progress: bool = True
    raw_head_epochs: int = 100  # linear head pre-training on raw features (evaluate's protocol)
    raw_tad_epochs: int = 40
    raw_ad_steps: int = 1000
    tad_embed_dim: int = 512  # TriDet width of the raw TAD head
    ad_dims: tuple[int, ...] = (64, 128, 1024)  # MGFN stage widths of the raw AD head
    raw_heads: str = ""  # folder of cached raw heads to reuse and fill (default OUT/raw_heads)


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says what was kept."""


# ------------------------------------------------------------------------------------------------ data


@dataclass
class _Role:
    store: FeatureStore
    feats: list  # per-video raw tokens (T, L, D) float32 tensors
    splits: dict
    metas: list = field(default_factory=list)  # per-video annotations, parsed once

    def __post_init__(self):
        if not self.metas:
            self.metas = [self.store.meta(v) for v in range(self.store.num_videos)]


def _check_config(cfg: TrainConfig) -> None:
    if not cfg.action_store:
        raise ConfigError("--action-store is required (a store with static clips, e.g. the ucf101 suite)")
    if cfg.epochs < 1 or cfg.batch_size < 2:
        raise ConfigError(f"epochs must be >= 1 and batch-size >= 2, got {cfg.epochs}, {cfg.batch_size}")
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


def _open(path: str, role: str, action: FeatureStore | None = None) -> FeatureStore:
    store = open_store(path)
    if store.recipe.get("anonymizer"):
        raise ConfigError(f"the {role} store {path} is already anonymized; train on raw features")
    if action is not None and store.recipe["encoder"].get("weights_sha256") != action.recipe["encoder"].get(
        "weights_sha256"
    ):
        raise ConfigError(f"the {role} store {path} was made with other encoder weights than the action store")
    return store


# ------------------------------------------------------------------------------------------------ training


class Trainer:
    """The SPLAVU training loop over stores; :func:`main` is the entry point."""

    def __init__(self, cfg: TrainConfig):
        _check_config(cfg)
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.action = _open(cfg.action_store, "action")
        if self.action.static_count < 2:
            raise ConfigError(
                f"{cfg.action_store} has {self.action.static_count} static clip(s) per video; the privacy loss needs "
                "two per video: precompute it with --static-clips 2 or more"
            )
        self.spec = self.action.recipe["encoder"]
        self.dim = int(self.action.spec.feature_dim)
        self.pooler = Pooler.from_spec(self.spec)
        for p in self.pooler.parameters():
            p.requires_grad_(False)
        data = self.action.load()
        self.tokens = torch.from_numpy(data["clips/tokens"].astype(np.float32))  # (N, L, D)
        self.pooled = torch.from_numpy(data["clips/pooled"].astype(np.float32))  # (N, D)
        self.static_tokens = torch.from_numpy(data["static/tokens"].astype(np.float32))  # (V, S, L, D)
        self.static_pooled = torch.from_numpy(data["static/pooled"].astype(np.float32))  # (V, S, D)
        self.labels = torch.from_numpy(self.action.videos["label"].astype(np.int64))
        self.offsets, self.counts = self.action.videos["clip_offset"], self.action.videos["clip_count"]
        self.splits = split_videos(self.action, cfg.val_fraction, cfg.seed)
        if (self.labels[self.splits["fit"]] < 0).any():
            raise ConfigError(f"{cfg.action_store}: some training videos have no action label")
        self.tad = self.ad = None
        if cfg.tad_store and cfg.weights.tad > 0:
            store = _open(cfg.tad_store, "tad", self.action)
            self.tad = _Role(store, video_features(store, tokens=True), split_videos(store, cfg.val_fraction, cfg.seed))
        if cfg.ad_store and cfg.weights.ad > 0:
            store = _open(cfg.ad_store, "ad", self.action)
            self.ad = _Role(store, video_features(store, tokens=True), split_videos(store, cfg.val_fraction, cfg.seed))
        self.compat = cfg.aam.mode == "paper-compat"
        self.aam_cfg = AAMConfig(dim=self.dim, **asdict(cfg.aam))
        self.lr = scaled_lr(cfg.lr, cfg.batch_size)

    # -------------------------------------------------------------------------------------- adapter application

    def anonymize(self, aam: AAM | None, tokens: torch.Tensor, pooled: torch.Tensor | None = None) -> tuple:
        """(raw input, anonymized output, anonymized clip features) of a batch of clips; ``aam=None``: raw."""
        return apply_aam(aam, self.pooler, tokens, pooled, self.compat)

    # -------------------------------------------------------------------------------------- raw heads

    def raw_heads(self) -> dict:
        """Heads trained on raw features (evaluate's protocol), cached as safetensors in OUT/raw_heads."""
        from latentanon.evaluate import evaluate_ad, evaluate_ar, evaluate_tad

        cache = Path(self.cfg.raw_heads) if self.cfg.raw_heads else self.out / "raw_heads"
        heads = {}
        ecfg = EvaluateConfig(
            val_fraction=self.cfg.val_fraction,
            seed=self.cfg.seed,
            progress=self.cfg.progress,
            linear=LinearConfig(epochs=self.cfg.raw_head_epochs),
            tad=TADConfig(
                epochs=self.cfg.raw_tad_epochs,
                warmup_epochs=min(5, self.cfg.raw_tad_epochs),
                embed_dim=self.cfg.tad_embed_dim,
            ),
            ad=ADConfig(steps=self.cfg.raw_ad_steps, dims=tuple(self.cfg.ad_dims)),
        )
        todo = [("ar", self.action, evaluate_ar)]
        if self.tad is not None:
            todo.append(("tad", self.tad.store, evaluate_tad))
        if self.ad is not None:
            todo.append(("ad", self.ad.store, evaluate_ad))
        protocol = json.loads(json.dumps(asdict(ecfg)))
        for task, store, fn in todo:
            path = cache / task
            if (path / "config.json").is_file():
                tensors, meta = load_checkpoint(path)
                if meta.get("recipe_hash") == store.recipe_hash and meta.get("protocol") == protocol:
                    heads[task] = self._rebuild_head(task, tensors, meta)
                    logger.info("raw %s head: reused %s (val %.4f)", task, path, meta["val"])
                    continue
            logger.info("raw %s head: training on raw features of %s", task, store.path)
            report = fn(store, ecfg)
            head = report["_head"]
            meta = {
                "task": task,
                "recipe_hash": store.recipe_hash,
                "seed": self.cfg.seed,
                "protocol": protocol,
                "val": report[f"val_{report.get('val_metric', report['metric'])}"],
                "config": asdict(head["config"]) if "config" in head else {},
            }
            tensors = {f"head.{k}": v for k, v in head["module"].state_dict().items()}
            if head.get("mu") is not None:  # the head reads standardized features
                tensors["mu"], tensors["sd"] = torch.as_tensor(head["mu"]), torch.as_tensor(head["sd"])
            save_checkpoint(path, tensors, meta)
            heads[task] = self._rebuild_head(task, *load_checkpoint(path))
        return heads

    def _rebuild_head(self, task: str, tensors: dict, meta: dict) -> dict:
        state = {k.removeprefix("head."): v for k, v in tensors.items() if k.startswith("head.")}
        if task == "ar":
            from latentanon.heads.linear import LinearHead

            w = (
                state["fc.weight"]
                if "fc.weight" in state
                else next(v for k, v in state.items() if k.endswith("weight"))
            )
            module = LinearHead(w.shape[1], w.shape[0])
            module.load_state_dict(state)
            mu, sd = tensors.get("mu"), tensors.get("sd")
            return {"module": module, "mu": mu, "sd": sd}
        if task == "tad":
            config = tridet.TriDetConfig(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
            )
            module = tridet.TriDet(config)
            module.load_state_dict(state)
            return {"module": module, "config": config}
        config = mgfn.MGFNConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
        module = mgfn.MGFN(config)
        module.load_state_dict(state)
        return {"module": module, "config": config, "mu": tensors.get("mu"), "sd": tensors.get("sd")}

    # -------------------------------------------------------------------------------------- losses

    def ar_logits(self, heads: dict, feats: torch.Tensor) -> torch.Tensor:
        h = heads["ar"]
        x = (feats - h["mu"]) / h["sd"] if h["mu"] is not None else feats
        return h["module"](x)

    def step_losses(self, aam: AAM, heads: dict, videos: np.ndarray, rng: np.random.Generator, gen) -> dict:
        cfg, w = self.cfg, self.cfg.weights
        clip = torch.from_numpy(self.offsets[videos] + rng.integers(0, self.counts[videos]))
        raw, anon, feats = self.anonymize(aam, self.tokens[clip], self.pooled[clip])
        terms = {"lc_loss": latent_consistency(raw, anon)}
        if w.ar > 0:
            terms["ar_loss"] = F.cross_entropy(self.ar_logits(heads, feats), self.labels[videos])
        # two different static clips of every video
        s = self.static_tokens.shape[1]
        first = rng.integers(0, s, len(videos))
        second = (first + rng.integers(1, s, len(videos))) % s
        v = torch.from_numpy(videos)
        both_t = torch.cat([self.static_tokens[v, first], self.static_tokens[v, second]])
        both_p = torch.cat([self.static_pooled[v, first], self.static_pooled[v, second]])
        _, _, z = self.anonymize(aam, both_t, both_p)
        self._static_features = z  # for the adversarial budget head's own step
        zb = heads["budget"]["module"](z) if "budget" in heads else z
        terms["budget_loss"] = nt_xent(zb[: len(v)], zb[len(v) :], cfg.temperature, center=cfg.center_budget)
        if self.tad is not None:
            terms["tad_loss"] = self.tad_loss(aam, heads, rng, gen)
        if self.ad is not None:
            terms["ad_loss"] = self.ad_loss(aam, heads, rng)
        total = w.lc * terms["lc_loss"] - w.budget * terms["budget_loss"]
        for task in ("ar", "tad", "ad"):
            if f"{task}_loss" in terms:
                total = total + getattr(w, task) * terms[f"{task}_loss"]
        terms["total"] = total
        return terms

    def _video_features(self, aam: AAM, tokens: torch.Tensor) -> torch.Tensor:
        return self.anonymize(aam, tokens, None)[2]  # (T, D)

    def tad_loss(self, aam: AAM, heads: dict, rng, gen) -> torch.Tensor:
        role, h = self.tad, heads["tad"]
        store, metas = role.store, role.metas
        fit = [int(v) for v in role.splits["fit"] if metas[v].get("segments")]
        pick = rng.choice(fit, size=min(self.cfg.tad_batch, len(fit)), replace=False)
        clip = int(self.spec.get("clip_length", 16)) * int(self.spec.get("frame_stride", 1))
        items = []
        for v in pick:
            meta = metas[v]
            fps = meta.get("annotation_fps") or float(store.videos["fps"][v])
            segs = meta["segments"]
            grid = [
                [tridet.seconds_to_grid(a, fps, clip, clip), tridet.seconds_to_grid(b, fps, clip, clip)]
                for _, a, b in segs
            ]
            feats = self._video_features(aam, role.feats[v])
            items.append(
                tridet.random_crop(
                    feats,
                    torch.tensor(grid, dtype=torch.float32).reshape(-1, 2),
                    torch.tensor([c for c, _, _ in segs]).long(),
                    h["config"].max_seq_len,
                    generator=gen,
                )
            )
        terms = h["module"].loss(tridet.collate(items, h["config"].max_seq_len))
        return sum(t for k, t in terms.items() if k.endswith("_loss"))

    def ad_loss(self, aam: AAM, heads: dict, rng) -> torch.Tensor:
        role, h = self.ad, heads["ad"]
        fit = role.splits["fit"]
        abnormal = role.store.videos["label"][fit] > 0
        b = min(self.cfg.ad_batch, int(abnormal.sum()), int((~abnormal).sum()))
        pick_n = rng.choice(fit[~abnormal], b, replace=False)
        pick_a = rng.choice(fit[abnormal], b, replace=False)

        def features(v: int) -> torch.Tensor:
            f = self._video_features(aam, role.feats[v])
            return mgfn.train_input((f - h["mu"]) / h["sd"] if h.get("mu") is not None else f)

        batch = {
            "normal": torch.stack([features(v) for v in pick_n]),
            "abnormal": torch.stack([features(v) for v in pick_a]),
        }
        terms = h["module"].loss(batch)
        return sum(t for k, t in terms.items() if k.endswith("_loss"))

    # -------------------------------------------------------------------------------------- validation

    @torch.no_grad()
    def validate(self, aam: AAM | None, heads: dict) -> dict:
        """Validation metrics of the adapter (``None``: of the raw features)."""
        if aam is not None:
            aam.eval()
        for h in heads.values():
            h["module"].eval()
        val = self.splits["val"]
        rows = [self.offsets[v] + five_clip_indices(int(self.counts[v])) for v in val]
        owner = np.repeat(np.arange(len(val)), [len(r) for r in rows])
        idx = torch.from_numpy(np.concatenate(rows))
        feats = torch.cat(
            [self.anonymize(aam, self.tokens[i], self.pooled[i])[2] for i in idx.split(1024)]
        )  # paper-compat: batches of 1024 clips attend to each other, as at test time
        probs = torch.softmax(self.ar_logits(heads, feats), dim=1).numpy()
        top1 = video_top1(probs, owner, self.labels[val].numpy())
        v = torch.from_numpy(val)
        z1 = self.anonymize(aam, self.static_tokens[v, 0], self.static_pooled[v, 0])[2]
        z2 = self.anonymize(aam, self.static_tokens[v, 1], self.static_pooled[v, 1])[2]
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

    def save_last(self, epoch, aam, heads, opts, rng, history, best) -> None:
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
        for task, h in heads.items():
            tensors.update({f"head.{task}.{k}": v for k, v in h["module"].state_dict().items()})
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

    def resume(self, aam, heads, opts, rng) -> tuple[int, list, dict] | None:
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
        for task, h in heads.items():
            p = f"head.{task}."
            h["module"].load_state_dict({k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)})
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
        if cfg.budget_head:
            torch.manual_seed(cfg.seed + 1)
            d = self.dim
            proj = torch.nn.Sequential(torch.nn.Linear(d, d), torch.nn.ReLU(), torch.nn.Linear(d, cfg.budget_head))
            heads["budget"] = {"module": proj}
        for task, h in heads.items():
            if getattr(cfg.weights, task) > 0:
                opts[task] = torch.optim.AdamW(h["module"].parameters(), lr=self.lr)
        resumed = self.resume(aam, heads, opts, rng)
        if resumed is None:
            sample = self.pooled[:, None] if self.compat else self.tokens
            ident = identity_pretrain(
                aam,
                sample,
                loss=cfg.identity.loss,
                epochs=cfg.identity.epochs,
                lr=cfg.identity.lr,
                batch_size=min(2048, max(2, len(sample))),
                target_error=cfg.identity.target_error,
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
            for task, h in heads.items():
                h["module"].train(getattr(cfg.weights, task) > 0)
            order = rng.permutation(fit)
            sums: dict[str, float] = {}
            steps = max(1, len(order) // cfg.batch_size)
            for i in range(steps):
                videos = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
                terms = self.step_losses(aam, heads, videos, rng, gen)
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
                        torch.nn.utils.clip_grad_norm_(heads["tad"]["module"].parameters(), 1.0)
                    if name != "budget":  # the adversary steps on its own loss below
                        opt.step()
                if "budget" in opts:  # the adversary learns to recognise a video from its two static clips
                    z = self._static_features.detach()
                    zb = heads["budget"]["module"](z)
                    adv = nt_xent(zb[: len(z) // 2], zb[len(z) // 2 :], cfg.temperature, center=cfg.center_budget)
                    opts["budget"].zero_grad(set_to_none=True)
                    adv.backward()
                    opts["budget"].step()
                    terms["adversary_loss"] = adv.detach()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
            row = {"epoch": epoch, **{k: v / steps for k, v in sums.items()}, "budget_ceiling": ceiling}
            row.update(self.validate(aam, heads))
            history.append(row)
            with open(self.out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            if row["score"] > best["score"]:
                best.update(epoch=epoch, score=row["score"], val=row)
                save_aam(self.out / "best", aam, {**self.meta(), "epoch": epoch, "val": row})
            self.save_last(epoch, aam, heads, opts, rng, history, best)
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


def cli(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = main(parse_cli(TrainConfig, argv, prog="latentanon.train_aam"))
    except (ConfigError, FileNotFoundError, TrainingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    best = summary["best"] or {}
    print(
        f"best epoch {summary['best_epoch']}: val top-1 {best.get('val_top1', float('nan')):.4f} "
        f"(raw {summary['raw_val']['val_top1']:.4f}), privacy proxy {best.get('val_privacy_proxy', float('nan')):.3f} "
        f"(raw {summary['raw_val']['val_privacy_proxy']:.3f}); {summary['seconds']:.0f} s; "
        f"checkpoint {summary['out']}/best"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli())
