"""Feature-store interoperability: per-video ``.npy`` features in the layout the official MGFN/RTFM and TriDet
(ActionFormer) code reads, and back.

Export layout (``export_npy(store, out_dir)``)::

    features/<key>.npy          float32 (T, D) pooled clip features, or (T, T', D) tokens with pooled=False
    list/<split>.list           one absolute .npy path per line; anomaly stores put abnormal videos first and
                                normal videos last (RTFM/MGFN slice the training list at the abnormal count)
    gt/<split>.npy              float32 frame labels, clips * clip span frames per video in list order (anomaly
                                stores only, splits with frame annotations)
    annotations.json            ActivityNet-style ground truth (stores with action segments)
    videos.csv                  key,label,split,subject,gender,clips
    manifest.json               store, recipe, classes and the per-list counts the official code hard-codes

``import_npy(folder, out)`` builds a store from such a folder (or any folder of per-video ``.npy`` features).
See docs/store.md, "Export and import".
"""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path

import numpy as np

from latentanon.contracts import EncoderSpec, clip_span
from latentanon.stores.reader import FeatureStore, open_store
from latentanon.stores.writer import StoreWriter, VideoRows

logger = logging.getLogger(__name__)

DEFAULT_CLIP_SPAN = 16  # frames per clip of the common I3D/VideoMAE extraction practice
UNSPLIT = "unsplit"  # list name of videos with no split
LABEL_COLUMNS = ("key", "label", "split", "subject", "gender")  # headerless label CSVs use this order


# ---------------------------------------------------------------------------------------------------- export


def _clip_span(recipe: dict) -> int:
    enc = recipe.get("encoder") or {}
    return clip_span(enc) if enc.get("clip_length") else DEFAULT_CLIP_SPAN


def _is_abnormal(label: int, meta: dict) -> bool:
    """Anomaly datasets put ``Normal`` at label 0 (docs/datasets.md); a frame annotation also marks a video."""
    return bool(meta.get("anomaly_frames")) or label > 0


def _frame_labels(meta: dict, frames: int) -> np.ndarray:
    gt = np.zeros(frames, dtype=np.float32)
    for s, e in meta.get("anomaly_frames", ()):
        gt[max(0, int(s)) : min(frames, int(e) + 1)] = 1.0  # inclusive ranges, cut to the clipped length
    return gt


def export_npy(store: FeatureStore | str, out_dir: str | os.PathLike, pooled: bool = True) -> dict:
    """Write a store as per-video ``.npy`` features plus the list/annotation files of the official codes.

    Args:
        store: an open store or its path.
        out_dir: folder to write (created; must be empty or absent).
        pooled: write float32 (T, D) pooled clip features (what MGFN/RTFM/TriDet read); False writes the
            (T, T', D) temporal tokens instead.

    Returns:
        The manifest (also written to ``out_dir/manifest.json``): files written and per-list counts.
    """
    store = open_store(store) if isinstance(store, str | os.PathLike) else store
    out = Path(out_dir).resolve()
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"export folder {out} is not empty; choose a new folder")
    feat_dir = out / "features"
    feat_dir.mkdir(parents=True, exist_ok=True)
    v = store.videos
    keys = [str(k) for k in v["key"]]
    metas = [store.meta(i) for i in range(store.num_videos)]
    labels = [int(x) for x in v["label"]]
    clips = [int(x) for x in v["clip_count"]]
    dataset = dict(store.group.attrs["dataset"]) if "dataset" in store.group.attrs else None
    span = _clip_span(store.recipe)

    paths = []
    array = store.group["clips/pooled" if pooled else "clips/tokens"]
    for row, key in enumerate(keys):
        off, n = int(v["clip_offset"][row]), clips[row]
        path = feat_dir / f"{key}.npy"
        if feat_dir not in path.resolve().parents:
            raise ValueError(f"video key {key!r} would be written outside {feat_dir}")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(array[off : off + n], dtype=np.float32))  # (T, D) or (T, T', D)
        paths.append(str(path))

    has_anomaly = any(m.get("anomaly_frames") for m in metas) or (dataset or {}).get("task") == "ad"
    has_segments = any(m.get("segments") for m in metas)
    lists: dict[str, dict] = {}
    (out / "list").mkdir()
    splits = sorted({str(s) or UNSPLIT for s in v["split"]})
    for split in splits:
        rows = [i for i in range(store.num_videos) if (str(v["split"][i]) or UNSPLIT) == split]
        if has_anomaly:  # abnormal first, normal last: RTFM/MGFN take list[:n_abnormal] as the abnormal bag
            rows = [i for i in rows if _is_abnormal(labels[i], metas[i])] + [
                i for i in rows if not _is_abnormal(labels[i], metas[i])
            ]
        (out / "list" / f"{split}.list").write_text("".join(paths[i] + "\n" for i in rows))
        entry: dict = {"file": f"list/{split}.list", "videos": len(rows)}
        if has_anomaly:
            entry["abnormal"] = sum(_is_abnormal(labels[i], metas[i]) for i in rows)
            entry["normal"] = len(rows) - entry["abnormal"]
            if any(metas[i].get("anomaly_frames") for i in rows):
                gt = np.concatenate([_frame_labels(metas[i], clips[i] * span) for i in rows])
                (out / "gt").mkdir(exist_ok=True)
                np.save(out / "gt" / f"{split}.npy", gt)
                entry["gt"] = f"gt/{split}.npy"
                entry["gt_frames"] = int(gt.shape[0])
        lists[split] = entry

    if has_segments:
        classes = (dataset or {}).get("classes") or []
        database = {}
        for i, key in enumerate(keys):
            fps = float(v["fps"][i]) or float(metas[i].get("annotation_fps") or 0.0)
            frames = int(v["frames"][i]) or clips[i] * span
            database[key] = {
                "subset": str(v["split"][i]),
                "duration": frames / fps if fps > 0 else 0.0,
                "fps": fps,
                "annotations": [
                    {
                        "label": classes[int(c)] if 0 <= int(c) < len(classes) else str(int(c)),
                        "segment": [float(s), float(e)],
                        "label_id": int(c),
                    }
                    for c, s, e in metas[i].get("segments", ())
                ],
            }
        (out / "annotations.json").write_text(json.dumps({"database": database}, indent=1))

    with open(out / "videos.csv", "w", newline="") as f:
        w = csv.writer(f)
        extra = ["anomaly_frames"] if has_anomaly else []  # "s-e s-e", inclusive 0-based frames: re-importable
        w.writerow(["key", "label", "split", "subject", "gender", "clips", *extra])
        for i, key in enumerate(keys):
            ranges = [" ".join(f"{s}-{e}" for s, e in metas[i].get("anomaly_frames", ()))] if extra else []
            w.writerow([key, labels[i], v["split"][i], v["subject"][i], v["gender"][i], clips[i], *ranges])

    manifest = {
        "store": store.path,
        "recipe_hash": store.recipe_hash,
        "recipe": store.recipe,
        "dataset": dataset,
        "features": "pooled (T, D)" if pooled else f"tokens (T, {store.token_shape[0]}, {store.token_shape[1]})",
        "dtype": "float32",
        "clip_span_frames": span,
        "videos": store.num_videos,
        "lists": lists,
        "annotations": "annotations.json" if has_segments else None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    logger.info("exported %d videos of %s to %s", store.num_videos, store.path, out)
    return manifest


# ---------------------------------------------------------------------------------------------------- import


def _feature_files(folder: Path) -> dict[str, Path]:
    """key (relative path without ``.npy``, '/'-separated) -> file, sorted by key."""
    root = folder / "features" if (folder / "features").is_dir() else folder  # our export layout, or plain
    files = {p.relative_to(root).with_suffix("").as_posix(): p for p in root.rglob("*.npy") if p.is_file()}
    if not files:
        raise FileNotFoundError(f"no .npy feature files under {root}")
    return dict(sorted(files.items()))


def _read_labels(path: Path, keys: set[str], clips: dict[str, int]) -> tuple[dict[str, dict], list[str]]:
    """Rows of a label CSV (header ``key,label,split[,subject,gender,clips]`` or headerless in that order)."""
    if not path.is_file():
        raise FileNotFoundError(f"label file {path} does not exist")
    with open(path, newline="") as f:
        table = [(n, row) for n, row in enumerate(csv.reader(f), start=1) if row and any(c.strip() for c in row)]
    header = list(LABEL_COLUMNS)
    if table and table[0][1][0].strip().lower() == "key":
        header = [c.strip().lower() for c in table[0][1]]
        table = table[1:]
        missing = {"key", "label", "split"} - set(header)
        if missing:
            raise ValueError(f"{path}:1: header lacks columns {sorted(missing)} (need key,label,split)")
    out: dict[str, dict] = {}
    for n, row in table:
        if len(row) < 3 or len(row) > len(header):
            raise ValueError(f"{path}:{n}: expected {len(header)} columns {','.join(header)}, got {len(row)}")
        rec = dict(zip(header, (c.strip() for c in row)))
        key = rec["key"]
        if key not in keys:
            raise KeyError(f"{path}:{n}: key {key!r} has no feature file ({len(keys)} files, e.g. {min(keys)!r})")
        if key in out:
            raise ValueError(f"{path}:{n}: key {key!r} appears twice")
        if rec.get("clips") and int(rec["clips"]) != clips[key]:
            raise ValueError(f"{path}:{n}: {key!r} lists {rec['clips']} clips but its features have {clips[key]}")
        if rec.get("anomaly_frames"):
            try:
                rec["anomaly_frames"] = [[int(x) for x in r.split("-")] for r in rec["anomaly_frames"].split()]
            except ValueError:
                raise ValueError(f"{path}:{n}: anomaly_frames must be 'start-end start-end ...', got "
                                 f"{rec['anomaly_frames']!r}") from None  # fmt: skip
            if any(len(r) != 2 or r[0] > r[1] for r in rec["anomaly_frames"]):
                raise ValueError(f"{path}:{n}: bad anomaly_frames range in {row}")
        rec["_line"] = n
        out[key] = rec
    names = sorted({r["label"] for r in out.values() if r["label"] and not _is_int(r["label"])})
    numbered = [r for r in out.values() if r["label"] and _is_int(r["label"])]
    if names and numbered:
        raise ValueError(f"{path}:{numbered[0]['_line']}: label {numbered[0]['label']!r} is a number but other "
                         f"rows give class names ({names[0]!r}); use one or the other")  # fmt: skip
    return out, names


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _read_activitynet(path: Path, keys: set[str]) -> tuple[dict[str, dict], list[str]]:
    """video -> {"segments", "fps", "duration", "subset"} and class names by label_id."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist")
    try:
        database = json.loads(path.read_text())["database"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not an ActivityNet-style JSON with a 'database' object ({e})") from None
    names: dict[int, str] = {}
    out = {}
    for key, entry in database.items():
        if key not in keys:
            raise KeyError(f"{path}: video {key!r} has no feature file")
        segments = []
        for a in entry.get("annotations", ()):
            label_id = int(a["label_id"])
            if names.setdefault(label_id, str(a["label"])) != str(a["label"]):
                raise ValueError(
                    f"{path}: {key}: label_id {label_id} is {a['label']!r} here, {names[label_id]!r} before"
                )
            segments.append([label_id, float(a["segment"][0]), float(a["segment"][1])])
        out[key] = {
            "segments": segments,
            "fps": float(entry.get("fps") or 0.0),
            "duration": float(entry.get("duration") or 0.0),
            "subset": str(entry.get("subset") or ""),
        }
    classes = [names.get(i, str(i)) for i in range(max(names) + 1)] if names else []
    return out, classes


def _imported_spec(d: int, tokens: int, clip_length: int) -> EncoderSpec:
    return EncoderSpec(
        name="imported", family="imported", feature_dim=d, clip_length=clip_length, frame_stride=1, input_size=1,
        resize_short=1, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), tokens_per_clip=tokens, weights="unknown",
    )  # fmt: skip


def import_npy(
    folder: str | os.PathLike,
    out: str,
    labels: str | os.PathLike | None = None,
    annotations: str | os.PathLike | None = None,
    encoder_spec: EncoderSpec | dict | None = None,
    clip_length: int = DEFAULT_CLIP_SPAN,
) -> FeatureStore:
    """Build a store from a folder of per-video ``.npy`` features.

    Every ``*.npy`` under ``folder`` (or under ``folder/features`` when present, as ``export_npy`` writes it) is
    one video; its key is the relative path without ``.npy``. A (T, D) file is T pooled clip features, stored
    as tokens (T, 1, D) so that pooled == tokens[:, 0]; a (T, T', D) file is tokens, pooled by their mean over T'.

    Args:
        folder: the feature folder.
        out: the store to create (must not exist).
        labels: optional CSV ``key,label,split[,subject,gender]`` (a header row is optional; an export's
            ``videos.csv`` works). Integer labels are kept; class names are numbered in sorted order. Videos are
            stored in the CSV's order, then the unlisted files by key.
        annotations: optional ActivityNet-style JSON; its segments (seconds, ``label_id``) go to ``meta``, its
            fps and duration to the video table, its subset to ``split`` when the CSV gives none.
        encoder_spec: the encoder the features came from; default a minimal spec named ``imported``.
        clip_length: frames per clip of the minimal spec (ignored with ``encoder_spec``).

    Raises:
        FileNotFoundError: missing folder, files or no ``.npy``. ValueError: shape mismatches between files,
        malformed CSV/JSON (with file:line), ``out`` exists. KeyError: a label/annotation key with no file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"feature folder {root} does not exist")
    try:
        open_store(out)
        raise ValueError(f"--out {out} already exists; import writes a new store")
    except FileNotFoundError:
        pass
    files = _feature_files(root)
    arrays, first = {}, None
    for key, path in files.items():
        try:
            a = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise ValueError(f"{path}: cannot read as a .npy array ({e})") from None
        if a.ndim not in (2, 3) or a.shape[0] == 0 or not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"{path}: expected float (T, D) features or (T, T', D) tokens with T > 0, got {a.dtype} "
                             f"{a.shape}")  # fmt: skip
        if first is None:
            first = (path, a.shape[1:])
        elif a.shape[1:] != first[1]:
            raise ValueError(
                f"feature dims differ: {path} has per-clip shape {a.shape[1:]}, {first[0]} has {first[1]}; "
                "every file of one store must come from the same encoder"
            )
        arrays[key] = a
    tokens_in = len(first[1]) == 2
    t_prime, d = (first[1][0], first[1][1]) if tokens_in else (1, first[1][0])
    clips = {k: int(a.shape[0]) for k, a in arrays.items()}

    rows, names = _read_labels(Path(labels), set(files), clips) if labels else ({}, [])
    ann, ann_classes = _read_activitynet(Path(annotations), set(files)) if annotations else ({}, [])
    if encoder_spec is None:
        spec = _imported_spec(d, t_prime, clip_length)
    else:
        spec = encoder_spec if isinstance(encoder_spec, EncoderSpec) else EncoderSpec.from_dict(encoder_spec)
        if spec.feature_dim != d:
            raise ValueError(f"encoder spec {spec.name} has feature_dim {spec.feature_dim}, the files have D={d}")
    span = spec.clip_span
    recipe = {
        "encoder": spec.to_dict(),
        "clip": {"length": spec.clip_length, "frame_stride": spec.frame_stride, "rule": "unknown (imported)"},
        "transform": None,
        "static": {"count": 0},
        "compute_dtype": None,
        "anonymizer": None,
        "imported_from": {
            "folder": str(root.resolve()),
            "files": len(files),
            "layout": f"tokens (T, {t_prime}, {d}), pooled = mean over T'" if tokens_in else
                      f"pooled (T, {d}); tokens are (T, 1, {d}) copies",
            "encoder_spec": "given" if encoder_spec is not None else "minimal (unknown encoder)",
            "labels": str(Path(labels).resolve()) if labels else None,
            "annotations": str(Path(annotations).resolve()) if annotations else None,
        },
    }  # fmt: skip
    order = list(rows) + [k for k in files if k not in rows]
    extra = {}
    classes = names or ann_classes
    if classes:
        task = "tad" if ann_classes and not names else "action"
        extra["dataset"] = {"name": "imported", "task": task, "classes": classes, "attributes": []}
    # imported features are pooled by the mean over T' (an exact copy for T' = 1)
    with StoreWriter(out, recipe, (t_prime, d), 0, extra_attrs=extra, pooling={"type": "mean"}) as writer:
        for index, key in enumerate(order):
            a = arrays[key].astype(np.float32)
            tokens = a if tokens_in else a[:, None, :]  # (T, T', D)
            pooled = tokens.mean(axis=1)  # (T, D); exact copy for T' = 1
            rec, an = rows.get(key, {}), ann.get(key, {})
            label = rec.get("label", "")
            meta: dict = {}
            if an.get("segments"):
                meta["segments"] = an["segments"]
            if rec.get("anomaly_frames"):
                meta["anomaly_frames"] = rec["anomaly_frames"]
            frames = round(an["duration"] * an["fps"]) if an.get("duration") and an.get("fps") else 0
            writer.add_video(
                VideoRows(
                    columns={
                        "key": key,
                        "index": index,
                        "path": str(files[key]),
                        "label": (int(label) if _is_int(label) else names.index(label)) if label else -1,
                        "split": rec.get("split") or an.get("subset", ""),
                        "subject": rec.get("subject", ""),
                        "gender": rec.get("gender", ""),
                        "frames": frames or clips[key] * span,
                        "fps": an.get("fps", 0.0),
                        "status": "ok",
                        "meta": meta,
                    },
                    tokens=tokens.astype(np.float16),
                    pooled=pooled.astype(np.float16),
                    static_tokens=np.zeros((0, t_prime, d), dtype=np.float16),
                    static_pooled=np.zeros((0, d), dtype=np.float16),
                    static_frames=np.zeros(0, dtype=np.int64),
                )
            )
    logger.info("imported %d videos from %s into %s", len(order), root, out)
    return open_store(out)
