"""Join stores written by parallel extraction (``--shard I/N`` or torchrun ranks) into one store.

Parts must share the recipe. Videos and failures are ordered by their position in the input list, so merging
the shards of a run gives the same arrays as a single-process run over the whole list.
"""

from __future__ import annotations

import json
import logging

import numpy as np
from tqdm.auto import tqdm

from latentanon.stores.reader import FeatureStore, open_store
from latentanon.stores.schema import FAILURE_COLUMNS, recipe_differences
from latentanon.stores.writer import StoreWriter, VideoRows

logger = logging.getLogger(__name__)


class _SequentialRows:
    """Reads rows of a Zarr array in increasing order, decoding each chunk-aligned block once."""

    def __init__(self, array, end: int):
        self.array, self.end, self.block = array, end, array.chunks[0]
        self.lo, self.hi, self.values = 0, 0, None

    def read(self, start: int, count: int) -> np.ndarray:
        if count == 0:
            return self.array[start:start]
        if not (self.lo <= start and start + count <= self.hi):
            self.lo = start // self.block * self.block
            self.hi = min(self.end, max(start + count, self.lo + self.block))
            self.values = self.array[self.lo : self.hi]
        return self.values[start - self.lo : start - self.lo + count]


def merge_stores(parts: list[str], out: str, progress: bool = True) -> FeatureStore:
    """Merge part stores into a new store at ``out`` (which must not exist yet).

    Raises:
        ValueError: no parts, parts with different recipes or token shapes, a key in two parts, or ``out`` exists.
    """
    if not parts:
        raise ValueError("merge needs at least one part store")
    stores = [open_store(p) for p in parts]
    first = stores[0]
    for s in stores[1:]:
        diffs = recipe_differences(first.recipe, s.recipe)
        if diffs:
            raise ValueError(f"cannot merge {s.path} with {first.path}: different recipes:\n  " + "\n  ".join(diffs))
        if s.token_shape != first.token_shape or s.static_count != first.static_count:
            raise ValueError(
                f"cannot merge {s.path}: token shape {s.token_shape}/{s.static_count} static clips "
                f"differ from {first.path}'s {first.token_shape}/{first.static_count}"
            )
    try:
        open_store(out)
        raise ValueError(f"--out {out} already exists; merge writes a new store")
    except FileNotFoundError:
        pass

    videos, failures, owner = [], [], {}
    for p, s in enumerate(stores):
        for row, (key, index) in enumerate(zip(s.videos["key"].tolist(), s.videos["index"].tolist())):
            if key in owner:
                raise ValueError(f"video {key!r} is in both {stores[owner[key]].path} and {s.path}")
            owner[key] = p
            videos.append((index, key, p, row))
        for row, (key, index) in enumerate(zip(s.failures["key"].tolist(), s.failures["index"].tolist())):
            failures.append((index, key, p, row))
    videos.sort()
    failures.sort()

    readers = [
        {name: _SequentialRows(s.group[name], s.num_clips) for name in ("clips/tokens", "clips/pooled")} for s in stores
    ]
    poolings = {json.dumps(s.pooling, sort_keys=True) for s in stores}
    if len(poolings) != 1 or first.pooling is None:
        raise ValueError(
            "the parts differ in their pooling record or have none (store format 1): upgrade each part with "
            "`python -m latentanon.stores upgrade PART` first"
        )
    with StoreWriter(out, first.recipe, first.token_shape, first.static_count, pooling=first.pooling) as writer:
        for _, _key, p, row in tqdm(videos, desc="merge", unit="video", disable=not progress):
            s = stores[p]
            off, n = int(s.videos["clip_offset"][row]), int(s.videos["clip_count"][row])
            columns = {c: v[row] for c, v in s.videos.items() if c not in ("clip_offset", "clip_count")}
            writer.add_video(
                VideoRows(
                    columns={c: (v.item() if hasattr(v, "item") else str(v)) for c, v in columns.items()},
                    tokens=readers[p]["clips/tokens"].read(off, n),
                    pooled=readers[p]["clips/pooled"].read(off, n),
                    static_tokens=s.group["static/tokens"][row],
                    static_pooled=s.group["static/pooled"][row],
                    static_frames=s.group["static/frames"][row],
                )
            )
        for _, _key, p, row in failures:
            f = {c: stores[p].failures[c][row] for c in FAILURE_COLUMNS}
            writer.add_failure(str(f["key"]), int(f["index"]), str(f["path"]), str(f["reason"]))
    logger.info("merged %d parts into %s: %d videos, %d failures", len(parts), out, len(videos), len(failures))
    return open_store(out)
