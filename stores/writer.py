"""Append-only, crash-safe writer of the feature store.

Commit protocol (one writer per store, enforced by a lock file on local paths):
    1. grow every array to hold the buffered rows and write them (Zarr's local store writes each chunk and
       metadata file to a temporary name and renames it, so no file is ever half written);
    2. then record the new row counts in the group attribute ``committed``.
A run killed between 1 and 2 leaves rows past ``committed``: readers ignore them and the next writer shrinks
the arrays back before appending. Videos are appended in input order, so a resumed run produces the same
arrays as an uninterrupted one. Parallel extraction writes one store per shard; ``merge_stores`` joins them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass

import numpy as np
import zarr

from latentanon.stores.schema import (
    FAILURE_COLUMNS,
    FORMAT_VERSION,
    READABLE_FORMATS,
    VIDEO_COLUMNS,
    chunk_rows,
    numpy_dtype,
    recipe_differences,
    recipe_hash,
)

logger = logging.getLogger(__name__)


class StoreLockedError(RuntimeError):
    """Another process is writing to this store."""


@dataclass
class VideoRows:
    """Everything stored for one successfully extracted video.

    Attributes:
        columns: values for ``VIDEO_COLUMNS`` (offsets are filled in by the writer).
        tokens: float (n, T', D) clip tokens; pooled: float (n, D).
        static_tokens: float (S, T', D); static_pooled: float (S, D); static_frames: int (S,).
    """

    columns: dict
    tokens: np.ndarray
    pooled: np.ndarray
    static_tokens: np.ndarray
    static_pooled: np.ndarray
    static_frames: np.ndarray


def _is_local(path: str) -> bool:
    return "://" not in str(path) or str(path).startswith("file://")


def _open_group(path: str, mode: str) -> zarr.Group:
    if _is_local(path):
        return zarr.open_group(zarr.storage.LocalStore(str(path).removeprefix("file://")), mode=mode)
    return zarr.open_group(str(path), mode=mode)


class StoreWriter:
    """Appends videos (and failures) to a store, creating it on first use.

    Args:
        path: local folder or fsspec URL of the store.
        recipe: the extraction recipe (see ``latentanon.precompute.build_recipe``); an existing store must have
            the same identity fields, otherwise ``ValueError`` names every difference.
        token_shape: (T', D) of each clip's tokens.
        static_count: S, static clips per video (0 disables static clips).
        flush_seconds: buffered rows are committed at least this often.
        flush_rows: ... and whenever this many clip rows are buffered (default: one chunk).
        extra_attrs: attributes stored beside the recipe that are not part of it (e.g. the shard).
        pooling: the encoder's pooling record (``Pooler.to_record()``), kept so that readers never rebuild the
            encoder; required for a new store, checked against an existing one.
    """

    def __init__(
        self,
        path: str,
        recipe: dict,
        token_shape: tuple[int, int],
        static_count: int,
        flush_seconds: float = 30.0,
        flush_rows: int | None = None,
        extra_attrs: dict | None = None,
        pooling: dict | None = None,
    ):
        self.path = str(path)
        self.pooling = pooling
        self._lock_fd = self._acquire_lock()
        try:
            self._setup(recipe, token_shape, static_count, flush_seconds, flush_rows, extra_attrs)
        except BaseException:
            self._release_lock()
            raise

    def _setup(self, recipe, token_shape, static_count, flush_seconds, flush_rows, extra_attrs) -> None:
        exists = self._exists()
        if not exists and _is_local(self.path):
            other = set(os.listdir(self.path.removeprefix("file://"))) - {".writer.lock"}
            if other:
                raise ValueError(
                    f"{self.path} exists and is not a latentanon store ({len(other)} entries); choose another --out"
                )
        self.group = _open_group(self.path, mode="r+" if exists else "a")
        t, d = (int(x) for x in token_shape)
        self.token_shape = (t, d)
        self.static_count = int(static_count)
        if exists:
            self._check_existing(recipe)
        else:
            if not isinstance(self.pooling, dict) or "type" not in self.pooling:
                raise ValueError(
                    f"{self.path}: a new store needs the encoder's pooling record (Pooler.from_encoder(encoder)"
                    f".to_record()), got {self.pooling!r}"
                )
            self._create(recipe, extra_attrs or {})
        self.rows = chunk_rows(t * d * 2)
        self.flush_rows = flush_rows or self.rows
        self.flush_seconds = flush_seconds
        committed = dict(self.group.attrs["committed"])
        self.n_videos, self.n_clips, self.n_failures = committed["videos"], committed["clips"], committed["failures"]
        self._truncate_to_committed()
        self._videos: list[VideoRows] = []
        self._failures: list[dict] = []
        self._last_flush = time.monotonic()

    # ---------------------------------------------------------------------------------------------- setup

    def _exists(self) -> bool:
        try:
            group = _open_group(self.path, mode="r")
        except (FileNotFoundError, zarr.errors.GroupNotFoundError, KeyError):
            return False
        if "latentanon" not in group.attrs:
            raise ValueError(f"{self.path} is a Zarr group but not a latentanon store; choose another --out")
        return True

    @classmethod
    @contextlib.contextmanager
    def locked(cls, path: str):
        """Hold the store's writer lock (no writer may run meanwhile), e.g. to rewrite its attributes in place."""
        writer = cls.__new__(cls)
        writer.path = str(path)
        writer._lock_fd = writer._acquire_lock()
        try:
            yield
        finally:
            writer._release_lock()

    def _acquire_lock(self):
        if not _is_local(self.path):
            logger.warning("no lock on remote store %s: make sure only one process writes to it", self.path)
            return None
        import fcntl

        root = self.path.removeprefix("file://")
        os.makedirs(root, exist_ok=True)
        fd = os.open(os.path.join(root, ".writer.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLockedError(
                f"another process is writing to {self.path}; write one store per process (--shard I/N with "
                "different --out) and join them with `python -m latentanon.store merge`"
            ) from None
        return fd

    def _create(self, recipe: dict, extra_attrs: dict) -> None:
        t, d = self.token_shape
        s = self.static_count
        rows = chunk_rows(t * d * 2)
        g = self.group
        g.create_array("clips/tokens", shape=(0, t, d), chunks=(rows, t, d), dtype="float16", fill_value=0)
        g.create_array("clips/pooled", shape=(0, d), chunks=(chunk_rows(d * 2), d), dtype="float16", fill_value=0)
        vrows = chunk_rows(max(1, s) * t * d * 2)
        g.create_array("static/tokens", shape=(0, s, t, d), chunks=(vrows, max(1, s), t, d), dtype="float16")
        g.create_array(
            "static/pooled", shape=(0, s, d), chunks=(chunk_rows(max(1, s) * d * 2), max(1, s), d), dtype="float16"
        )
        g.create_array("static/frames", shape=(0, s), chunks=(65536, max(1, s)), dtype="int64", fill_value=-1)
        for table, columns in (("videos", VIDEO_COLUMNS), ("failures", FAILURE_COLUMNS)):
            for name, (dtype, fill) in columns.items():
                g.create_array(
                    f"{table}/{name}", shape=(0,), chunks=(65536,), dtype=numpy_dtype(dtype), fill_value=fill
                )
        g.attrs.update(
            {
                "latentanon": {
                    "format": FORMAT_VERSION,
                    "recipe": recipe,
                    "recipe_hash": recipe_hash(recipe),
                    "pooling": self.pooling,
                },
                "committed": {"videos": 0, "clips": 0, "failures": 0},
                **extra_attrs,
            }
        )

    def _check_existing(self, recipe: dict) -> None:
        meta = self.group.attrs["latentanon"]
        if meta.get("format") in READABLE_FORMATS and meta.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{self.path} has store format {meta.get('format')}; this library appends only to format "
                f"{FORMAT_VERSION}: upgrade it in place first with `python -m latentanon.stores upgrade {self.path}`"
            )
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{self.path} has store format {meta.get('format')}, this library writes {FORMAT_VERSION}")
        diffs = recipe_differences(meta["recipe"], recipe)
        if diffs:
            raise ValueError(
                f"refusing to append to {self.path}: it was extracted with a different recipe:\n  "
                + "\n  ".join(diffs)
                + "\nwrite to a new --out, or re-run with the store's settings"
            )
        if self.pooling is not None and meta.get("pooling") != self.pooling:
            raise ValueError(f"refusing to append to {self.path}: its pooling record differs from this run's encoder")
        stored_shape = tuple(self.group["clips/tokens"].shape[1:])
        if stored_shape != self.token_shape or self.group["static/tokens"].shape[1] != self.static_count:
            raise ValueError(
                f"{self.path} holds tokens {stored_shape} with {self.group['static/tokens'].shape[1]} static clips; "
                f"this run produces {self.token_shape} with {self.static_count}"
            )

    def _arrays(self) -> dict[str, tuple[zarr.Array, str]]:
        """Every array with the counter its first axis follows."""
        out = {name: (self.group[name], "clips") for name in ("clips/tokens", "clips/pooled")}
        out.update({n: (self.group[n], "videos") for n in ("static/tokens", "static/pooled", "static/frames")})
        out.update({f"videos/{c}": (self.group[f"videos/{c}"], "videos") for c in VIDEO_COLUMNS})
        out.update({f"failures/{c}": (self.group[f"failures/{c}"], "failures") for c in FAILURE_COLUMNS})
        return out

    def _truncate_to_committed(self) -> None:
        counts = {"videos": self.n_videos, "clips": self.n_clips, "failures": self.n_failures}
        for name, (array, counter) in self._arrays().items():
            if array.shape[0] != counts[counter]:
                logger.info("dropping %d uncommitted rows of %s", array.shape[0] - counts[counter], name)
                array.resize((counts[counter], *array.shape[1:]))

    # ---------------------------------------------------------------------------------------------- writing

    def done_keys(self) -> set[str]:
        """Keys of every committed video and failure (what a resumed run skips)."""
        keys = set(self.group["videos/key"][: self.n_videos].tolist())
        keys.update(self.group["failures/key"][: self.n_failures].tolist())
        return keys

    def add_video(self, rows: VideoRows) -> None:
        n = rows.tokens.shape[0]
        if rows.tokens.shape[1:] != self.token_shape or rows.pooled.shape != (n, self.token_shape[1]):
            raise ValueError(
                f"video {rows.columns.get('key')!r}: tokens {rows.tokens.shape} / pooled "
                f"{rows.pooled.shape} do not match the store's (n, {self.token_shape})"
            )
        if rows.static_tokens.shape != (self.static_count, *self.token_shape):
            raise ValueError(
                f"video {rows.columns.get('key')!r}: static tokens {rows.static_tokens.shape}, "
                f"expected {(self.static_count, *self.token_shape)}"
            )
        unknown = set(rows.columns) - set(VIDEO_COLUMNS)
        if unknown:
            raise ValueError(f"unknown video columns {sorted(unknown)}; known: {list(VIDEO_COLUMNS)}")
        self._videos.append(rows)
        self._maybe_flush()

    def add_failure(self, key: str, index: int, path: str, reason: str) -> None:
        self._failures.append({"key": key, "index": index, "path": path, "reason": reason})
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        buffered = sum(v.tokens.shape[0] for v in self._videos)
        if buffered >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row, then commit the new counts."""
        videos, failures = self._videos, self._failures
        if not videos and not failures:
            return
        v0, c0, f0 = self.n_videos, self.n_clips, self.n_failures
        n_clips = sum(v.tokens.shape[0] for v in videos)
        v1, c1, f1 = v0 + len(videos), c0 + n_clips, f0 + len(failures)
        g = self.group
        if videos:
            offsets = np.cumsum([0] + [v.tokens.shape[0] for v in videos[:-1]]) + c0
            for v, off in zip(videos, offsets):
                v.columns["clip_offset"] = int(off)
                v.columns["clip_count"] = int(v.tokens.shape[0])
            self._append(g["clips/tokens"], c0, np.concatenate([v.tokens for v in videos]))
            self._append(g["clips/pooled"], c0, np.concatenate([v.pooled for v in videos]))
            self._append(g["static/tokens"], v0, np.stack([v.static_tokens for v in videos]))
            self._append(g["static/pooled"], v0, np.stack([v.static_pooled for v in videos]))
            self._append(g["static/frames"], v0, np.stack([v.static_frames for v in videos]).astype(np.int64))
            for name, (dtype, fill) in VIDEO_COLUMNS.items():
                values = [_column_value(v.columns.get(name, fill), name) for v in videos]
                self._append(g[f"videos/{name}"], v0, np.asarray(values, dtype=numpy_dtype(dtype)))
        if failures:
            for name, (dtype, _) in FAILURE_COLUMNS.items():
                values = np.asarray([f[name] for f in failures], dtype=numpy_dtype(dtype))
                self._append(g[f"failures/{name}"], f0, values)
        g.attrs["committed"] = {"videos": v1, "clips": c1, "failures": f1}  # the commit point
        self.n_videos, self.n_clips, self.n_failures = v1, c1, f1
        self._videos, self._failures = [], []
        self._last_flush = time.monotonic()

    @staticmethod
    def _append(array: zarr.Array, start: int, values: np.ndarray) -> None:
        end = start + values.shape[0]
        if array.shape[0] != end:
            array.resize((end, *array.shape[1:]))
        array[start:end] = values.astype(array.dtype, copy=False) if array.dtype.kind != "T" else values

    def close(self) -> None:
        """Flush and release the lock. The writer cannot be used afterwards."""
        try:
            self.flush()
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


def _column_value(value, name: str):
    if name == "meta":
        return value if isinstance(value, str) else json.dumps(value or {}, sort_keys=True)
    if value is None:
        return VIDEO_COLUMNS[name][1]
    return value
