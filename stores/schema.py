"""Schema of the latentanon Zarr v3 feature store (documented for users in docs/store.md).

One Zarr group per (dataset, split set, encoder[, anonymizer]):

    clips/tokens    float16 (N, T', D)     temporal tokens of every clip, videos back to back (CSR)
    clips/pooled    float16 (N, D)         the encoder's standard clip feature, pool(tokens) in fp32
    static/tokens   float16 (V, S, T', D)  S static clips per video
    static/pooled   float16 (V, S, D)
    static/frames   int64   (V, S)         source frame index of each static clip
    videos/<col>    (V,)                   one row per stored video: see VIDEO_COLUMNS
    failures/<col>  (F,)                   one row per input that could not be decoded: see FAILURE_COLUMNS

Group attributes: ``latentanon`` holds the format version, the extraction recipe and its hash, and (format 2) the
encoder's pooling record (``contracts.Pooler.to_record``: mean, or mean then the encoder's ``fc_norm``); ``committed``
holds the row counts that are durable. Rows past ``committed`` are leftovers of an interrupted run and are
ignored by readers and overwritten by the next writer.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

FORMAT_VERSION = 2
# 1: no pooling record (training rebuilt the encoder to pool); opened read-only, ``python -m latentanon.stores
# upgrade STORE`` adds the record in place
READABLE_FORMATS = (1, 2)

# name -> (numpy dtype, fill value for "unknown")
VIDEO_COLUMNS: dict[str, tuple[str, object]] = {
    "key": ("str", ""),
    "index": ("int64", -1),  # position of the video in the (unsharded) input list: the order of the store
    "path": ("str", ""),
    "label": ("int64", -1),
    "split": ("str", ""),
    "subject": ("str", ""),
    "gender": ("str", ""),
    "frames": ("int64", 0),  # decoded frames
    "fps": ("float64", 0.0),
    "width": ("int64", 0),
    "height": ("int64", 0),
    "clip_offset": ("int64", 0),  # first row of the video in clips/*
    "clip_count": ("int64", 0),
    "status": ("str", ""),  # "ok", or "padded" for a video shorter than one clip (see docs/store.md)
    "meta": ("str", "{}"),  # JSON object: annotations and any extra metadata columns
}
FAILURE_COLUMNS: dict[str, tuple[str, object]] = {
    "key": ("str", ""),
    "index": ("int64", -1),
    "path": ("str", ""),
    "reason": ("str", ""),
}
TOKEN_ARRAYS = ("clips/tokens", "clips/pooled", "static/tokens", "static/pooled", "static/frames")

# Recipe fields that define what the features mean: appending with any of them different is refused.
# Everything else in the recipe (library and decoder versions) is provenance.
IDENTITY_FIELDS = ("encoder", "clip", "transform", "static", "compute_dtype", "anonymizer")


def numpy_dtype(name: str):
    return np.dtypes.StringDType() if name == "str" else np.dtype(name)


def recipe_identity(recipe: dict) -> dict:
    """The identity fields; the encoder's weights *location* is provenance (its sha256 is identity)."""
    out = {k: recipe.get(k) for k in IDENTITY_FIELDS}
    if isinstance(out["encoder"], dict):
        out["encoder"] = {k: v for k, v in out["encoder"].items() if k != "weights"}
    if isinstance(out["anonymizer"], dict):  # where its checkpoint lives is provenance, as for the encoder
        out["anonymizer"] = {k: v for k, v in out["anonymizer"].items() if k != "checkpoint"}
    return out


def recipe_hash(recipe: dict) -> str:
    """sha256 of the canonical JSON of the recipe's identity fields."""
    blob = json.dumps(recipe_identity(recipe), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def recipe_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Human-readable differences between two recipes' identity fields (``encoder.weights_sha256: a != b``)."""
    if not prefix:
        old, new = recipe_identity(old), recipe_identity(new)
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(recipe_differences(a, b, prefix=name + "."))
        elif a != b:
            out.append(f"{name}: store has {a!r}, this run has {b!r}")
    return out


def chunk_rows(row_bytes: int, target_bytes: int = 4 << 20, max_rows: int = 65536) -> int:
    """Rows per chunk so that a chunk holds about ``target_bytes`` (at least 1 row)."""
    return int(max(1, min(max_rows, target_bytes // max(1, row_bytes))))
