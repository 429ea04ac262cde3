"""Feeding training loops from stores: background prefetching, and windows of videos read chunk by chunk."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

T = TypeVar("T")
_END = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a background thread, keeping up to ``depth`` items ready.

    Store reads (Zarr chunk decompression releases the GIL) then overlap the training step. An exception raised
    while producing an item is re-raised in the consumer at that position.
    """
    if depth < 1:
        raise ValueError(f"prefetch depth must be >= 1, got {depth}")
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
        except BaseException as e:  # handed to the consumer
            q.put(_Raised(e))
            return
        q.put(_END)

    thread = threading.Thread(target=produce, daemon=True, name="latentanon-prefetch")
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


# ------------------------------------------------------------------------------------------- video windows


def gather_rows(array, rows: np.ndarray) -> np.ndarray:
    """``array[rows]`` for sorted row indices, reading every touched chunk once (one contiguous slice per chunk).

    Random single-row reads decode a whole compressed chunk each; this reads each chunk at most once and keeps only
    the requested rows, so memory holds the result plus one chunk.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), *array.shape[1:]), dtype=array.dtype)
    if not len(rows):
        return out
    chunk = array.chunks[0]
    ids = rows // chunk
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    for s, e in zip(starts.tolist(), ends.tolist()):
        lo, hi = int(rows[s]), int(rows[e - 1]) + 1
        out[s:e] = array[lo:hi][rows[s:e] - lo]
    return out


class FeatureWindow:
    """The features of some videos of a store as tensors of the stored dtype (float16), read chunk by chunk
    (:func:`gather_rows`); callers convert the rows they use.

    Attributes:
        videos: (W,) sorted video rows of the store held here.
        tokens: (M, L, D) clip tokens of those videos, back to back; pooled: (M, D).
        static_tokens: (W, S, L, D); static_pooled: (W, S, D).
        first_clip: (W,) row in ``tokens`` of each video's first clip.
    """

    def __init__(self, store, videos: np.ndarray):
        import torch

        videos = np.sort(np.asarray(videos, dtype=np.int64))
        offsets, counts = store.videos["clip_offset"], store.videos["clip_count"]
        g = store.group
        n = counts[videos]
        first = np.cumsum(n) - n  # where each video's clips start in this window
        rows = np.repeat(offsets[videos] - first, n) + np.arange(int(n.sum()))  # their clip rows in the store, sorted

        def read(name: str, which: np.ndarray) -> torch.Tensor:
            # kept as stored (float16): a step converts only the rows it uses (one clip of each video)
            return torch.from_numpy(gather_rows(g[name], which))

        self.videos = videos
        self.tokens, self.pooled = read("clips/tokens", rows), read("clips/pooled", rows)  # (M, L, D), (M, D)
        self.static_tokens = read("static/tokens", videos)  # (W, S, L, D)
        self.static_pooled = read("static/pooled", videos)  # (W, S, D)
        self.first_clip = first.astype(np.int64)

    def local(self, rows: np.ndarray) -> np.ndarray:
        """Positions in this window of the store's video ``rows`` (all must be held here)."""
        pos = np.searchsorted(self.videos, rows)
        if (pos >= len(self.videos)).any() or (self.videos[np.minimum(pos, len(self.videos) - 1)] != rows).any():
            raise KeyError("some videos are not in this window")
        return pos


def video_windows(
    videos: np.ndarray, window: int, rng: np.random.Generator, block_of: np.ndarray | None = None
) -> list[np.ndarray]:
    """One epoch's visiting order of ``videos`` in windows of about ``window`` videos.

    All videos in one window: a single permutation (``rng.permutation(videos)``). Otherwise the videos are grouped in
    blocks (``block_of[v]``: e.g. the store chunk of the video's first clip, so a block is read as whole chunks;
    default: one block), blocks are cut to at most ``window // 8`` videos, permuted and filled into windows, and
    each window's videos are permuted: every video once per epoch, memory bounded by the window.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1 video, got {window}")
    if len(videos) <= window:
        return [rng.permutation(videos)]
    ordered = np.sort(videos)
    keys = block_of[ordered] if block_of is not None else np.zeros(len(ordered), np.int64)
    cuts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    piece = max(1, window // 8)  # a block larger than an eighth of a window is cut, so windows stay near their size
    blocks = [b[i : i + piece] for b in np.split(ordered, cuts[1:]) for i in range(0, len(b), piece)]
    out, current, size = [], [], 0
    for b in rng.permutation(len(blocks)).tolist():  # a window: blocks until it holds at least ``window`` videos
        current.append(blocks[b])
        size += len(blocks[b])
        if size >= window:
            out.append(rng.permutation(np.concatenate(current)))
            current, size = [], 0
    if current:
        out.append(rng.permutation(np.concatenate(current)))
    return out


def batched_windows(orders: list[np.ndarray], batch_size: int, window: int) -> list[np.ndarray]:
    """Windows trimmed to whole batches: what each window leaves over (fewer than one batch) is collected and visited
    in extra windows at the end of the epoch, so only the last remainder (< ``batch_size``) is skipped."""
    used, left = [], []
    for order in orders:
        k = len(order) // batch_size * batch_size
        if k:
            used.append(order[:k])
        left.append(order[k:])
    rest = np.concatenate(left) if left else np.zeros(0, np.int64)
    step = max(1, window // batch_size) * batch_size
    for i in range(0, len(rest) // batch_size * batch_size, step):
        used.append(rest[i : min(i + step, len(rest) // batch_size * batch_size)])
    return used


def pin_malloc_mmap_threshold(nbytes: int = 1 << 20) -> bool:
    """Fix glibc's mmap threshold so that batch-sized buffers (megabytes) are always mmapped and returned.

    glibc raises the threshold after large blocks are freed; later blocks of that size then come from the heap
    and fragment it, so resident memory crept up by ~7 MB per minute of video in bench/precompute.py. A fixed
    threshold keeps memory flat. Process-wide, so only the command-line entry point calls it.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, int(nbytes)))  # -3 = M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        return False
