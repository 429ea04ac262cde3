"""``AnonymizedEncoder``: a frozen encoder followed by a trained AAM, usable wherever an encoder is.

    from latentanon import AnonymizedEncoder
    enc = AnonymizedEncoder.from_pretrained("runs/aam/best")      # the encoder is rebuilt from the checkpoint
    tokens = enc(video)          # (B, T', D) anonymized temporal tokens ((B, 1, D) for a paper-compat adapter)
    clip_feature = enc.pool(tokens)                               # (B, D)

Also the store-side helpers that apply an adapter to stored tokens (used by ``anonymize``, ``evaluate --aam`` and
training), so that every path computes ``pool(AAM(tokens))`` the same way.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from latentanon.aam import AAM
from latentanon.checkpoint import load_aam
from latentanon.contracts import EncoderSpec, RandomWeightsWarning, state_dict_sha256
from latentanon.registry import create_encoder


def encoder_from_spec(spec: dict, checkpoint: str | None = None) -> nn.Module:
    """Rebuild the frozen encoder a store or checkpoint was made with, and check it is the same weights.

    Args:
        spec: the encoder spec dict recorded in a store recipe or an AAM checkpoint.
        checkpoint: weights to load instead of ``spec["weights"]`` (e.g. the file moved); their sha256 must match.
    """
    name = spec.get("name")
    weights = checkpoint or spec.get("weights")
    source = None if weights in (None, "", "random") else weights
    with warnings.catch_warnings():
        if source is None:
            warnings.simplefilter("ignore", RandomWeightsWarning)  # the store was made with these random weights
        encoder = create_encoder(name, source)
    want = spec.get("weights_sha256")
    if want and state_dict_sha256(encoder) != want:
        raise ValueError(
            f"encoder {name!r} loaded from {source or 'random init'} has different weights than the features were "
            f"made with (sha256 {want[:12]}...); pass the original weights with --encoder-checkpoint"
        )
    return encoder


class Pooler(nn.Module):
    """The encoder's standard clip feature ``pool(tokens)``, without keeping the encoder's backbone.

    Families whose pooling is a plain mean (I3D, V-JEPA 2 tiny, ...) need no weights; VideoMAE and InternVideo
    keep their ``fc_norm``. Built from an encoder module (:meth:`from_encoder`) or a spec (:meth:`from_spec`).
    """

    def __init__(self, norm: nn.Module | None):
        super().__init__()
        self.norm = norm

    @classmethod
    def from_encoder(cls, encoder: nn.Module) -> Pooler:
        norm = getattr(encoder, "fc_norm", None)
        return cls(norm if isinstance(norm, nn.Module) and not isinstance(norm, nn.Identity) else None)

    @classmethod
    def from_spec(cls, spec: dict, checkpoint: str | None = None) -> Pooler:
        return cls.from_encoder(encoder_from_spec(spec, checkpoint))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, D)
        x = tokens.mean(dim=1)
        return self.norm(x) if self.norm is not None else x


def apply_aam(aam: AAM | None, pooler: Pooler, tokens, pooled=None, compat: bool = False) -> tuple:
    """One batch through the adapter: ``(adapter input, output tokens, clip features)`` tensors.

    Token and mlp adapters take the clip tokens (B, T', D) and the features are ``pooler(AAM(tokens))``; a
    paper-compat adapter (``compat``) takes the clip features ``pooled`` (B, D) (or ``pooler(tokens)``) as a
    (B, 1, D) sequence and its output is the feature. ``aam=None`` passes the raw features through.
    """
    if compat:
        x = pooled[:, None] if pooled is not None else pooler(tokens)[:, None]
        y = aam(x) if aam is not None else x
        return x, y, y[:, 0]
    y = aam(tokens) if aam is not None else tokens
    return tokens, y, pooler(y)


def anonymize_tokens(aam: AAM, pooler: Pooler, tokens, pooled=None, batch_size: int = 1024):
    """Apply ``aam`` to stored clips: ``(anonymized tokens (N, L, D), anonymized clip features (N, D))`` float32.

    Token and mlp adapters take the clip tokens (N, T', D) and the features are ``pooler(AAM(tokens))``; a
    paper-compat adapter takes the stored clip features ``pooled`` (N, D) as a sequence, ``batch_size`` at a time
    (its output depends on that batching, as in the released code), and returns (N, 1, D) tokens.
    """
    aam.eval()
    compat = aam.cfg.mode == "paper-compat"
    source = pooled if compat else tokens
    if source is None:
        raise ValueError("a paper-compat adapter needs the stored clip features (pooled)")
    x_all = np.asarray(source)
    out_t, out_p = [], []
    with torch.no_grad():
        for i in range(0, len(x_all), batch_size):
            x = torch.from_numpy(np.asarray(x_all[i : i + batch_size], dtype=np.float32))
            _, y, feats = apply_aam(aam, pooler, None if compat else x, x if compat else None, compat)
            out_t.append(y.numpy())
            out_p.append(feats.numpy())
    dim = aam.cfg.dim
    if not out_t:
        return np.zeros((0, 1 if compat else np.asarray(tokens).shape[1], dim), np.float32), np.zeros((0, dim))
    return np.concatenate(out_t), np.concatenate(out_p)


class AnonymizedEncoder(nn.Module):
    """Frozen encoder + trained AAM with the encoder's interface: ``forward(video) -> tokens``, ``pool(tokens)``.

    Args:
        encoder: a frozen encoder from :func:`latentanon.create_encoder`.
        aam: the trained adapter (its ``dim`` must equal the encoder's feature dim).
    """

    def __init__(self, encoder: nn.Module, aam: AAM):
        super().__init__()
        spec: EncoderSpec = encoder.spec
        if aam.cfg.dim != spec.feature_dim:
            raise ValueError(f"AAM dim {aam.cfg.dim} != encoder {spec.name} feature dim {spec.feature_dim}")
        self.encoder = encoder
        self.aam = aam.eval()
        self.pooler = Pooler.from_encoder(encoder)
        for p in self.aam.parameters():
            p.requires_grad_(False)

    @property
    def spec(self) -> EncoderSpec:
        return self.encoder.spec

    @classmethod
    def from_pretrained(cls, path: str, encoder_checkpoint: str | None = None) -> AnonymizedEncoder:
        """Rebuild from an AAM checkpoint directory written by ``train_aam``.

        Args:
            path: the checkpoint directory (``best/`` or ``last/`` of a training run) or its ``model.safetensors``.
            encoder_checkpoint: the encoder weights, when they are no longer where the checkpoint recorded them.
        """
        aam, config = load_aam(path)
        spec = config.get("encoder")
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(f"{path}: the checkpoint does not record its encoder spec; it cannot be rebuilt")
        return cls(encoder_from_spec(spec, encoder_checkpoint), aam)

    def train(self, mode: bool = True) -> AnonymizedEncoder:  # frozen: always eval
        return super().train(False)

    @torch.no_grad()
    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) video clips -> (B, T', D) anonymized tokens ((B, 1, D) for a paper-compat adapter)."""
        tokens = self.encoder(video)
        if self.aam.cfg.mode == "paper-compat":
            return self.aam(self.encoder.pool(tokens)[:, None])
        return self.aam(tokens)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Anonymized clip feature (B, D) from :meth:`forward`'s tokens."""
        if self.aam.cfg.mode == "paper-compat":
            return tokens[:, 0]
        return self.pooler(tokens)


# ------------------------------------------------------------------------------------------------ stores


def anonymizer_recipe(checkpoint: str, aam: AAM, config: dict) -> dict:
    """What an anonymized store records about its adapter (part of the store's identity)."""
    from latentanon.contracts import state_dict_sha256 as sha

    return {
        "method": config.get("method", "splavu"),
        "checkpoint": str(checkpoint),
        "aam": aam.cfg.to_dict(),
        "aam_sha256": sha(aam),
        "trained_on": config.get("store_recipe_hash"),
    }


class AnonymizedStore:
    """A read-only view of a raw store with every clip and static clip passed through an adapter (in RAM).

    It has the reader's interface (``videos``, ``meta``, ``pooled()``, ``tokens()``, ``load()``, ...), so every
    evaluation runs on it unchanged; ``recipe["anonymizer"]`` records the adapter. ``anonymize`` writes the same
    arrays to a new store.
    """

    def __init__(self, store, aam: AAM, pooler: Pooler, checkpoint: str = "", config: dict | None = None):
        from latentanon.stores.schema import recipe_hash

        if store.recipe.get("anonymizer"):
            raise ValueError(f"{store.path} is already anonymized ({store.recipe['anonymizer']}); pass the raw store")
        d = store.spec.feature_dim
        if aam.cfg.dim != d:
            raise ValueError(f"the adapter's dim {aam.cfg.dim} does not match the store's feature dim {d}")
        if not aam.batch_independent:
            warnings.warn(
                "a paper-compat adapter attends across the 1024 consecutive clips it is fed together, so its outputs "
                "depend on the store's order (e.g. videos listed class by class leak the class into the features); "
                "its evaluation figures are not comparable with the token mode's (docs/aam.md)",
                stacklevel=2,
            )
        self._raw = store
        self.aam, self.pooler = aam, pooler
        self.recipe = {**store.recipe, "anonymizer": anonymizer_recipe(checkpoint, aam, config or {})}
        self.recipe_hash = recipe_hash(self.recipe)
        g = store.group
        self._tokens, self._pooled = anonymize_tokens(aam, pooler, store.tokens(), store.pooled())
        st, sp = g["static/tokens"][: store.num_videos], g["static/pooled"][: store.num_videos]
        v, s = sp.shape[:2]
        if v * s:
            at, ap = anonymize_tokens(aam, pooler, st.reshape(v * s, *st.shape[2:]), sp.reshape(v * s, -1))
            self._static_tokens, self._static_pooled = at.reshape(v, s, *at.shape[1:]), ap.reshape(v, s, -1)
        else:
            self._static_tokens = np.zeros((v, s, self._tokens.shape[1], d), np.float32)
            self._static_pooled = np.zeros((v, s, d), np.float32)
        self._static_frames = g["static/frames"][: store.num_videos]

    def __getattr__(self, name):  # videos, failures, meta, num_videos, group (attrs), clip_video_rows, ...
        return getattr(self._raw, name)

    @property
    def path(self) -> str:
        return f"{self._raw.path} (anonymized by {self.recipe['anonymizer']['checkpoint'] or 'an adapter'})"

    @property
    def token_shape(self) -> tuple[int, int]:
        return tuple(self._tokens.shape[1:])

    def pooled(self) -> np.ndarray:
        return self._pooled

    def tokens(self) -> np.ndarray:
        return self._tokens

    def static(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Anonymized static clips: tokens (V, S, L, D), pooled (V, S, D), source frames (V, S)."""
        return self._static_tokens, self._static_pooled, self._static_frames

    def load(self) -> dict[str, np.ndarray]:
        out = self._raw.load()
        out.update(
            {
                "clips/tokens": self._tokens,
                "clips/pooled": self._pooled,
                "static/tokens": self._static_tokens,
                "static/pooled": self._static_pooled,
            }
        )
        return out

    @classmethod
    def from_checkpoint(cls, store, checkpoint: str, encoder_checkpoint: str | None = None) -> AnonymizedStore:
        """Open ``checkpoint`` (an AAM checkpoint) and apply it to ``store``; the pooler comes from the store."""
        aam, config = load_aam(checkpoint)
        want = config.get("encoder", {})
        have = store.recipe["encoder"]
        if want and want.get("weights_sha256") and want.get("weights_sha256") != have.get("weights_sha256"):
            raise ValueError(
                f"the adapter {checkpoint} was trained on features of {want.get('name')} with weights "
                f"{str(want.get('weights_sha256'))[:12]}..., but {store.path} holds {have.get('name')} features "
                f"with weights {str(have.get('weights_sha256'))[:12]}...; precompute the store with the same encoder"
            )
        return cls(store, aam, Pooler.from_spec(have, encoder_checkpoint), checkpoint, config)


def is_aam_checkpoint(path: str) -> bool:
    """Whether ``path`` is an adapter checkpoint folder (as opposed to a feature store)."""
    import json
    from pathlib import Path

    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("format") == "latentanon-aam"
    except ValueError:
        return False


def open_features(store: str, anonymizer: str = "", encoder_checkpoint: str = ""):
    """Open a feature store for evaluation: raw, or anonymized by ``anonymizer``.

    Args:
        store: path of a (raw) feature store.
        anonymizer: "" for the raw features; an adapter checkpoint (applied on the fly, :class:`AnonymizedStore`);
            or the path of an anonymized store of the same videos (written by ``anonymize``), which is opened instead.
        encoder_checkpoint: encoder weights for the adapter's pooling, when they moved since precompute.
    """
    from pathlib import Path

    from latentanon.stores import open_store

    if not anonymizer:
        return open_store(store)
    if is_aam_checkpoint(anonymizer) or not (Path(anonymizer) / "zarr.json").is_file():
        # not a store: load it as a checkpoint (whose loader says what is missing)
        return AnonymizedStore.from_checkpoint(open_store(store), anonymizer, encoder_checkpoint or None)
    other = open_store(anonymizer)
    if not other.recipe.get("anonymizer"):
        raise ValueError(
            f"{anonymizer} is neither an adapter checkpoint nor an anonymized store (no anonymizer recipe)"
        )
    raw = open_store(store)
    if list(other.videos["key"]) != list(raw.videos["key"]):
        raise ValueError(f"{anonymizer} does not hold the videos of {store} in the same order; anonymize {store} again")
    return other


class StoreView:
    """A store with some videos moved out of their split (``split`` = ``unused``), e.g. a protocol's subset.

    Every evaluation reads ``videos["split"]``, so training and testing see only the kept videos; everything else is
    the wrapped store's.
    """

    def __init__(self, store, keep: np.ndarray, name: str = ""):
        keep = np.asarray(keep, bool)
        if keep.shape != (store.num_videos,):
            raise ValueError(f"keep must be a ({store.num_videos},) mask over the store's videos, got {keep.shape}")
        self._store = store
        self.videos = dict(store.videos)
        self.videos["split"] = np.where(keep, store.videos["split"], "unused")
        self._name = name

    def __getattr__(self, name):
        return getattr(self._store, name)

    @property
    def path(self) -> str:
        return f"{self._store.path} [{self._name}]" if self._name else self._store.path
