"""Reading the feature store: ``open_store``, per-video access, load-to-RAM and a chunk-shuffled sampler.

Only committed rows are visible (see ``latentanon.stores.writer``). Small stores are best read whole with
``FeatureStore.load()``; for stores larger than RAM, ``ChunkShuffledSampler`` reads whole compressed chunks in a
random order and shuffles rows within a window of chunks (random single-row reads from compressed chunks
are tens of times slower).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import zarr

from latentanon.contracts import EncoderSpec
from latentanon.stores.schema import FAILURE_COLUMNS, READABLE_FORMATS, VIDEO_COLUMNS
from latentanon.stores.writer import _open_group


@dataclass(frozen=True)
class VideoFeatures:
    """Features of one stored video (all arrays in memory)."""

    key: str
    index: int
    tokens: np.ndarray  # float16 (n, T', D)
    pooled: np.ndarray  # float16 (n, D)
    static_tokens: np.ndarray  # float16 (S, T', D)
    static_pooled: np.ndarray  # float16 (S, D)
    columns: dict


class FeatureStore:
    """Read-only view of a latentanon store.

    Attributes:
        path: where the store lives.
        recipe: the extraction recipe (dict); ``spec`` the encoder's ``EncoderSpec``.
        videos: the video table, a dict of numpy columns of length ``num_videos``.
        failures: the failure table, a dict of numpy columns of length ``num_failures``.
    """

    def __init__(self, path: str):
        self.path = str(path)
        try:
            self.group = _open_group(self.path, mode="r")
        except (FileNotFoundError, zarr.errors.GroupNotFoundError) as e:
            raise FileNotFoundError(f"no feature store at {self.path!r} ({e})") from None
        if "latentanon" not in self.group.attrs:
            raise ValueError(f"{self.path!r} is not a latentanon store (no 'latentanon' group attribute)")
        meta = dict(self.group.attrs["latentanon"])
        self.format = meta["format"]
        if self.format not in READABLE_FORMATS:
            raise ValueError(
                f"{self.path!r} has store format {self.format}; this library reads formats {list(READABLE_FORMATS)}: "
                "upgrade latentanon"
            )
        self.pooling: dict | None = meta.get("pooling")  # None: format 1, see latentanon.features.store_pooler
        self.recipe: dict = meta["recipe"]
        self.recipe_hash: str = meta["recipe_hash"]
        committed = dict(self.group.attrs["committed"])
        self.num_videos, self.num_clips, self.num_failures = (
            committed["videos"],
            committed["clips"],
            committed["failures"],
        )
        self.videos = {c: _column(self.group[f"videos/{c}"], self.num_videos) for c in VIDEO_COLUMNS}
        self.failures = {c: _column(self.group[f"failures/{c}"], self.num_failures) for c in FAILURE_COLUMNS}
        self._row = {str(k): i for i, k in enumerate(self.videos["key"].tolist())}

    # ---------------------------------------------------------------------------------------------- metadata

    @property
    def spec(self) -> EncoderSpec:
        return EncoderSpec.from_dict(self.recipe["encoder"])

    @property
    def token_shape(self) -> tuple[int, int]:
        return tuple(self.group["clips/tokens"].shape[1:])

    @property
    def static_count(self) -> int:
        return int(self.group["static/tokens"].shape[1])

    @property
    def keys(self) -> list[str]:
        return self.videos["key"].tolist()

    def __len__(self) -> int:
        return self.num_videos

    def __contains__(self, key: str) -> bool:
        return key in self._row

    def row_of(self, key: str) -> int:
        """Row of video ``key`` in the video table."""
        try:
            return self._row[key]
        except KeyError:
            raise KeyError(f"video {key!r} is not in store {self.path} ({self.num_videos} videos)") from None

    def meta(self, key_or_row: str | int) -> dict:
        row = self.row_of(key_or_row) if isinstance(key_or_row, str) else key_or_row
        return json.loads(self.videos["meta"][row])

    def info(self) -> dict:
        """Summary for ``store info``: encoder, recipe, counts, labels, failures and bytes on disk."""
        labels = self.videos["label"]
        splits, split_counts = np.unique(self.videos["split"], return_counts=True)
        return {
            "path": self.path,
            "encoder": self.recipe["encoder"]["name"],
            "weights": self.recipe["encoder"].get("weights"),
            "recipe_hash": self.recipe_hash,
            "recipe": self.recipe,
            "token_shape": list(self.token_shape),
            "static_clips": self.static_count,
            "videos": self.num_videos,
            "clips": self.num_clips,
            "padded_videos": int((self.videos["status"] == "padded").sum()),
            "labelled_videos": int((labels >= 0).sum()),
            "classes": int(len(np.unique(labels[labels >= 0]))),
            "splits": {str(s): int(c) for s, c in zip(splits, split_counts)},
            "subjects": int(len(set(self.videos["subject"].tolist()) - {""})),
            "genders": {str(g): int(c) for g, c in zip(*np.unique(self.videos["gender"], return_counts=True)) if g},
            "annotations": self._annotation_summary(),
            "dataset": dict(self.group.attrs["dataset"]) if "dataset" in self.group.attrs else None,
            "failures": [
                {"key": str(k), "path": str(p), "reason": str(r)}
                for k, p, r in zip(self.failures["key"], self.failures["path"], self.failures["reason"])
            ],
            "bytes": _nbytes(self.group),
            "attrs": {k: v for k, v in self.group.attrs.items() if k not in ("latentanon", "dataset")},
        }

    def _annotation_summary(self) -> dict:
        metas = [json.loads(m) for m in self.videos["meta"]]
        with_labels = [m["labels"] for m in metas if m.get("labels")]
        return {
            "videos_with_attribute_labels": len(with_labels),
            "attribute_positives": np.sum(with_labels, axis=0).astype(int).tolist() if with_labels else [],
            "videos_with_segments": sum(1 for m in metas if m.get("segments")),
            "segments": sum(len(m.get("segments", ())) for m in metas),
            "videos_with_anomaly_frames": sum(1 for m in metas if m.get("anomaly_frames")),
            "anomalous_frames": sum(e - s + 1 for m in metas for s, e in m.get("anomaly_frames", ())),
        }

    # ---------------------------------------------------------------------------------------------- features

    def video(self, key_or_row: str | int) -> VideoFeatures:
        """All features of one video, by key or row."""
        row = self.row_of(key_or_row) if isinstance(key_or_row, str) else int(key_or_row)
        if not 0 <= row < self.num_videos:
            raise IndexError(f"video row {row} out of range [0, {self.num_videos})")
        off, n = int(self.videos["clip_offset"][row]), int(self.videos["clip_count"][row])
        g = self.group
        return VideoFeatures(
            key=str(self.videos["key"][row]),
            index=int(self.videos["index"][row]),
            tokens=g["clips/tokens"][off : off + n],
            pooled=g["clips/pooled"][off : off + n],
            static_tokens=g["static/tokens"][row],
            static_pooled=g["static/pooled"][row],
            columns={
                c: self.videos[c][row].item() if hasattr(self.videos[c][row], "item") else self.videos[c][row]
                for c in VIDEO_COLUMNS
            },
        )

    def pooled(self) -> np.ndarray:
        """float16 (N, D) pooled features of every clip, in store order."""
        return self.group["clips/pooled"][: self.num_clips]

    def tokens(self) -> np.ndarray:
        """float16 (N, T', D) tokens of every clip (loads them all: use the sampler for large stores)."""
        return self.group["clips/tokens"][: self.num_clips]

    def clip_video_rows(self) -> np.ndarray:
        """int64 (N,): the video row of every clip."""
        return np.repeat(np.arange(self.num_videos), self.videos["clip_count"])

    def load(self) -> dict[str, np.ndarray]:
        """Every committed array in RAM, keyed like the store (``clips/tokens``, ``videos/label``, ...)."""
        g = self.group
        out = {
            "clips/tokens": self.tokens(),
            "clips/pooled": self.pooled(),
            "static/tokens": g["static/tokens"][: self.num_videos],
            "static/pooled": g["static/pooled"][: self.num_videos],
            "static/frames": g["static/frames"][: self.num_videos],
        }
        out.update({f"videos/{c}": v for c, v in self.videos.items()})
        out.update({f"failures/{c}": v for c, v in self.failures.items()})
        return out

    def sampler(self, batch_size: int, **kwargs) -> ChunkShuffledSampler:
        """A :class:`ChunkShuffledSampler` over this store's clips."""
        return ChunkShuffledSampler(self, batch_size, **kwargs)


class ChunkShuffledSampler:
    """Random clip batches from a store larger than RAM, reading whole chunks.

    Each epoch visits the chunks of ``array`` in a random order, ``window`` chunks at a time, and yields the
    rows of each window shuffled, in batches of ``batch_size``. Every committed row appears exactly once per
    epoch. Memory holds at most ``window`` chunks.

    Yields:
        (rows int64 (b,), values (b, ...)) with ``values`` read from ``array`` (default ``clips/tokens``).
    """

    def __init__(
        self,
        store: FeatureStore,
        batch_size: int,
        array: str = "clips/tokens",
        window: int = 8,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if window <= 0:
            raise ValueError(f"window must be a positive number of chunks, got {window}")
        if array not in ("clips/tokens", "clips/pooled"):
            raise ValueError(f"array must be 'clips/tokens' or 'clips/pooled', got {array!r}")
        self.store, self.array = store, store.group[array]
        self.batch_size, self.window, self.drop_last = batch_size, window, drop_last
        self.rng = np.random.default_rng(seed)
        self.chunk = self.array.chunks[0]

    def __len__(self) -> int:
        n = self.store.num_clips
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self.store.num_clips
        order = self.rng.permutation(-(-n // self.chunk))
        carry_rows, carry_vals = np.empty(0, dtype=np.int64), None
        for w in range(0, len(order), self.window):
            rows_list, vals_list = [carry_rows], [] if carry_vals is None else [carry_vals]
            for c in order[w : w + self.window]:
                lo, hi = int(c) * self.chunk, min(n, (int(c) + 1) * self.chunk)
                rows_list.append(np.arange(lo, hi))
                vals_list.append(self.array[lo:hi])
            rows, vals = np.concatenate(rows_list), np.concatenate(vals_list)
            perm = self.rng.permutation(len(rows))
            rows, vals = rows[perm], vals[perm]
            full = len(rows) // self.batch_size * self.batch_size
            for b in range(0, full, self.batch_size):
                yield rows[b : b + self.batch_size], vals[b : b + self.batch_size]
            carry_rows, carry_vals = rows[full:], vals[full:]
        if len(carry_rows) and not self.drop_last:
            yield carry_rows, carry_vals


def _column(array: zarr.Array, n: int) -> np.ndarray:
    """A committed table column; strings come back as a fixed-width unicode array (``<U``)."""
    values = array[:n]
    if values.dtype.kind == "T":
        return np.array(values.tolist(), dtype=str) if n else np.zeros(0, dtype="<U1")
    return values


def open_store(path_or_url: str) -> FeatureStore:
    """Open a feature store for reading: a local folder or an fsspec URL (``s3://bucket/store.zarr``)."""
    if not isinstance(path_or_url, str) or not path_or_url:
        raise ValueError(f"store path must be a non-empty string, got {path_or_url!r}")
    return FeatureStore(path_or_url)


def _nbytes(group: zarr.Group) -> int:
    """Bytes on disk of a local store (stored bytes reported by Zarr for remote ones)."""
    import os

    path = group.store_path.store
    root = getattr(path, "root", None)
    if root is not None and os.path.isdir(root):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files)
    return int(sum(a.nbytes_stored() for _, a in group.arrays()))
