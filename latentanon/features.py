"""Feature stores as the protocols see them: raw, anonymized on disk, or through a latent anonymizer on the fly.

    from latentanon.features import open_features
    store = open_features("vispr.zarr")                              # raw
    store = open_features("vispr.zarr", "runs/aam/best")             # through an anonymizer checkpoint (in RAM)
    store = open_features("vispr.zarr", "anon/vispr.zarr")           # an anonymized store of the same videos

Also the store's pooler (``store_pooler``: from the store's pooling record; a format-1 store has none, and its
encoder is rebuilt once, with a warning), the in-place upgrade of format-1 stores, and ``StoreView`` (a store with
some videos left out of their split).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from latentanon.anonymizers import anonymizer_recipe, checkpoint_anonymizer, load_anonymizer
from latentanon.anonymizers.latent import anonymize_arrays
from latentanon.contracts import Pooler
from latentanon.stores import open_store

logger = logging.getLogger(__name__)


class StoreFormatWarning(UserWarning):
    """A store of an older format is read through a compatibility path (the message says how to upgrade it)."""


def store_pooler(store, encoder_checkpoint: str | None = None) -> Pooler:
    """The pooler of ``store``'s encoder, from its pooling record; a format-1 store (no record) rebuilds its encoder
    once (``encoder_checkpoint`` when the weights moved) and warns how to upgrade it in place."""
    record = getattr(store, "pooling", None)
    if record is not None:
        return Pooler.from_record(record)
    from latentanon.registry import encoder_from_spec

    warnings.warn(
        f"{store.path} is a format-1 store without its pooling record: rebuilding encoder "
        f"{store.recipe['encoder'].get('name')!r} to pool; run `python -m latentanon.stores upgrade {store.path}` "
        "once to store it",
        StoreFormatWarning,
        stacklevel=2,
    )
    return Pooler.from_encoder(encoder_from_spec(store.recipe["encoder"], encoder_checkpoint))


def upgrade_store(path: str, encoder_checkpoint: str | None = None) -> dict:
    """Upgrade a format-1 store in place to the current format (adds the pooling record); returns what was done."""
    from latentanon.registry import encoder_from_spec
    from latentanon.stores.reader import FeatureStore
    from latentanon.stores.schema import FORMAT_VERSION
    from latentanon.stores.writer import StoreWriter, _open_group

    store = FeatureStore(path)
    if store.format == FORMAT_VERSION:
        return {"store": path, "from": store.format, "to": FORMAT_VERSION, "changed": False}
    pooling = Pooler.from_encoder(encoder_from_spec(store.recipe["encoder"], encoder_checkpoint)).to_record()
    with StoreWriter.locked(path):  # no writer may run meanwhile
        group = _open_group(path, mode="r+")
        meta = dict(group.attrs["latentanon"])
        meta.update(format=FORMAT_VERSION, pooling=pooling)
        group.attrs["latentanon"] = meta  # one attribute write: the store is format 1 or 2, never in between
    return {"store": path, "from": store.format, "to": FORMAT_VERSION, "changed": True, "pooling": pooling["type"]}


class AnonymizedStore:
    """A read-only view of a raw store with every clip and static clip passed through a latent anonymizer (in RAM).

    It has the reader's interface (``videos``, ``meta``, ``pooled()``, ``tokens()``, ``load()``, ...), so every
    protocol runs on it unchanged; ``recipe["anonymizer"]`` records the anonymizer. ``anonymize`` writes the same
    arrays to a new store.
    """

    def __init__(self, store, anonymizer, pooler: Pooler, checkpoint: str = "", trained_on: str | None = None):
        from latentanon.stores.schema import recipe_hash

        if getattr(anonymizer, "kind", None) != "latent":
            raise ValueError(
                f"{getattr(anonymizer, 'name', anonymizer)!r} is not a latent anonymizer; a pixel anonymizer is "
                "applied to video: precompute --anonymizer NAME"
            )
        if store.recipe.get("anonymizer"):
            raise ValueError(f"{store.path} is already anonymized ({store.recipe['anonymizer']}); pass the raw store")
        d = store.spec.feature_dim
        if getattr(anonymizer, "dim", d) != d:
            raise ValueError(f"the anonymizer's dim {anonymizer.dim} does not match the store's feature dim {d}")
        if not getattr(anonymizer, "batch_independent", True):
            warnings.warn(
                "a paper-compat adapter attends across the 1024 consecutive clips it is fed together, so its outputs "
                "depend on the store's order (e.g. videos listed class by class leak the class into the features); "
                "its evaluation figures are not comparable with the token mode's (docs/aam.md)",
                stacklevel=2,
            )
        self._raw = store
        self.anonymizer, self.raw_pooler = anonymizer, pooler
        self.recipe = {
            **store.recipe,
            "anonymizer": anonymizer_recipe(anonymizer, checkpoint, trained_on=trained_on),
        }
        self.recipe_hash = recipe_hash(self.recipe)
        self.features_input = getattr(anonymizer, "input", "tokens") == "features"
        # the anonymized features are pooler(f_L(tokens)), or f_L's own output for a features-input anonymizer
        self.pooling = {"type": "mean"} if self.features_input else pooler.to_record()
        g = store.group
        self._tokens, self._pooled = anonymize_arrays(anonymizer, pooler, store.tokens(), store.pooled())
        st, sp = g["static/tokens"][: store.num_videos], g["static/pooled"][: store.num_videos]
        v, s = sp.shape[:2]
        if v * s:
            at, ap = anonymize_arrays(anonymizer, pooler, st.reshape(v * s, *st.shape[2:]), sp.reshape(v * s, -1))
            self._static_tokens, self._static_pooled = at.reshape(v, s, *at.shape[1:]), ap.reshape(v, s, -1)
        else:
            self._static_tokens = np.zeros((v, s, self._tokens.shape[1], d), np.float32)
            self._static_pooled = np.zeros((v, s, d), np.float32)
        self._static_frames = g["static/frames"][: store.num_videos]

    def __getattr__(self, name):  # videos, failures, meta, num_videos, group (attrs), clip_video_rows, ...
        return getattr(self._raw, name)

    @property
    def path(self) -> str:
        return f"{self._raw.path} (anonymized by {self.recipe['anonymizer']['checkpoint'] or self.anonymizer.name})"

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
        """Load the latent anonymizer ``checkpoint`` (or a registered name without weights) and apply it to ``store``;
        the pooler comes from the store."""
        anonymizer = load_anonymizer(checkpoint)
        meta = getattr(anonymizer, "meta", {}) or {}
        check_same_encoder(checkpoint, meta.get("encoder"), store.recipe["encoder"], store.path)
        pooler = store_pooler(store, encoder_checkpoint)
        return cls(store, anonymizer, pooler, checkpoint, meta.get("store_recipe_hash"))


def anonymize_store(store: str, anonymizer: str, out: str, encoder_checkpoint: str = "", progress: bool = True) -> dict:
    """Write the anonymized copy of the raw store ``store`` through the latent ``anonymizer`` (a checkpoint or a
    registered name) to ``out``; resumable (videos already written are skipped). Returns a summary."""
    import time

    from tqdm.auto import tqdm

    from latentanon.stores import StoreWriter, VideoRows
    from latentanon.stores.schema import VIDEO_COLUMNS

    raw = check_stores({"store": store}, anonymizer)["store"]
    t0 = time.perf_counter()
    view = AnonymizedStore.from_checkpoint(raw, anonymizer, encoder_checkpoint or None)
    static_tokens, static_pooled, static_frames = view.static()
    extra = {k: v for k, v in raw.group.attrs.items() if k not in ("latentanon", "committed")}
    with StoreWriter(
        out, view.recipe, view.token_shape, raw.static_count, extra_attrs=extra, pooling=view.pooling
    ) as writer:
        done = writer.done_keys()
        offsets, counts = raw.videos["clip_offset"], raw.videos["clip_count"]
        written = 0
        for v in tqdm(range(raw.num_videos), desc="anonymize", unit="video", disable=not progress):
            key = str(raw.videos["key"][v])
            if key in done:
                continue
            a, n = int(offsets[v]), int(counts[v])
            columns = {c: raw.videos[c][v].item() if hasattr(raw.videos[c][v], "item") else raw.videos[c][v]
                       for c in VIDEO_COLUMNS if c not in ("clip_offset", "clip_count")}  # fmt: skip
            columns = {c: str(x) if VIDEO_COLUMNS[c][0] == "str" else x for c, x in columns.items()}
            writer.add_video(
                VideoRows(
                    columns=columns,
                    tokens=view.tokens()[a : a + n].astype(np.float16),
                    pooled=view.pooled()[a : a + n].astype(np.float16),
                    static_tokens=static_tokens[v].astype(np.float16),
                    static_pooled=static_pooled[v].astype(np.float16),
                    static_frames=np.asarray(static_frames[v], np.int64),
                )
            )
            written += 1
        for f in range(raw.num_failures):
            if str(raw.failures["key"][f]) not in done:
                writer.add_failure(
                    str(raw.failures["key"][f]),
                    int(raw.failures["index"][f]),
                    str(raw.failures["path"][f]),
                    str(raw.failures["reason"][f]),
                )
    return {
        "out": out,
        "videos": raw.num_videos,
        "written": written,
        "skipped": raw.num_videos - written,
        "seconds": time.perf_counter() - t0,
        "anonymizer": view.recipe["anonymizer"],
    }


def check_same_encoder(anonymizer: str, made_from: dict | None, have: dict, where: str) -> None:
    """Raise ValueError when the anonymizer ``anonymizer`` was made from features of other encoder weights than
    ``have`` (the encoder spec of the store at ``where``); an anonymizer that records no encoder passes."""
    want = made_from or {}
    if want.get("weights_sha256") and want["weights_sha256"] != have.get("weights_sha256"):
        raise ValueError(
            f"the anonymizer {anonymizer} was made from features of {want.get('name')} with weights "
            f"{str(want['weights_sha256'])[:12]}..., but {where} holds {have.get('name')} features with weights "
            f"{str(have.get('weights_sha256'))[:12]}...; precompute the stores with the anonymizer's encoder"
        )


def anonymizer_encoder(anonymizer: str) -> dict | None:
    """The encoder spec an anonymizer checkpoint or anonymized store records (None: it records none)."""
    if checkpoint_anonymizer(anonymizer) is not None:
        import json

        return json.loads((Path(anonymizer) / "config.json").read_text()).get("encoder")
    if is_store(anonymizer):
        return open_store(anonymizer).recipe.get("encoder")
    return None


def check_stores(stores: dict[str, str], anonymizer: str = "") -> dict:
    """Open the stores a job reads and check them before any work is done: ``{flag: store}``.

    Each must exist and hold videos; all must come from the same encoder weights; an anonymizer checkpoint (or
    anonymized store) must have been made from that encoder too. The errors name the command-line flag.

    Args:
        stores: command-line flag (e.g. ``"action-store"``) -> store path; empty paths are skipped.
        anonymizer: an anonymizer checkpoint, registered name or anonymized store ("" for none).
    """
    opened: dict = {}
    first = None  # (flag, path) of the first store: the others and the anonymizer must match its encoder
    for flag, path in stores.items():
        if not path:
            continue
        try:
            store = open_store(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"--{flag} {path}: no such feature store") from None
        if store.num_videos == 0:
            raise ValueError(f"--{flag} {path}: the store holds no videos; precompute it first")
        if first is None:
            first = (flag, path)
        elif store.recipe["encoder"].get("weights_sha256") != opened[first[0]].recipe["encoder"].get("weights_sha256"):
            raise ValueError(
                f"--{flag} {path} holds features of {store.recipe['encoder'].get('name')} with other weights than "
                f"--{first[0]} {first[1]} ({opened[first[0]].recipe['encoder'].get('name')}); every store of a run "
                "must come from the same encoder"
            )
        opened[flag] = store
    if anonymizer and first is not None:
        if not checkpoint_anonymizer(anonymizer) and not is_store(anonymizer) and not Path(anonymizer).exists():
            load_anonymizer(anonymizer)  # a registered name, or the error that says it is neither
        check_same_encoder(anonymizer, anonymizer_encoder(anonymizer), opened[first[0]].recipe["encoder"],
                           f"--{first[0]} {first[1]}")  # fmt: skip
    return opened


def is_store(path: str) -> bool:
    """Whether ``path`` looks like a Zarr store (local folder with zarr.json, or a URL)."""
    return "://" in str(path) or (Path(path) / "zarr.json").is_file()


def open_features(store: str, anonymizer: str = "", encoder_checkpoint: str = ""):
    """Open a feature store for evaluation: raw, or anonymized by ``anonymizer``.

    Args:
        store: path of a (raw) feature store.
        anonymizer: "" for the raw features; a latent anonymizer checkpoint or registered name (applied on the fly,
            :class:`AnonymizedStore`); or an anonymized store of the same videos (written by ``anonymize``, or by
            ``precompute --anonymizer`` for a pixel anonymizer), which is opened instead.
        encoder_checkpoint: encoder weights for pooling a format-1 store, when they moved since precompute.
    """
    if not anonymizer:
        return open_store(store)
    if checkpoint_anonymizer(anonymizer) is not None or not is_store(anonymizer):
        return AnonymizedStore.from_checkpoint(open_store(store), anonymizer, encoder_checkpoint or None)
    other = open_store(anonymizer)
    if not other.recipe.get("anonymizer"):
        raise ValueError(f"{anonymizer} is neither an anonymizer checkpoint nor an anonymized store (no anonymizer "
                         "in its recipe)")  # fmt: skip
    raw = open_store(store)
    if list(other.videos["key"]) != list(raw.videos["key"]):
        raise ValueError(f"{anonymizer} does not hold the videos of {store} in the same order; anonymize {store} again")
    return other


class StoreView:
    """A store with some videos moved out of their split (``split`` = ``unused``), e.g. a protocol's subset.

    Every protocol reads ``videos["split"]``, so training and testing see only the kept videos; everything else is
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
