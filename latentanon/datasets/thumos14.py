"""THUMOS14 temporal action detection (Idrees et al., "The THUMOS challenge on action recognition for videos
'in the wild'", CVIU 2017; https://www.crcv.ucf.edu/THUMOS14/), in the ActivityNet-style JSON used by ActionFormer
and TriDet (Shi et al., CVPR 2023).

Layout read::

    annotations/thumos14.json
        {"database": {"<video_id>": {"subset": "Validation"|"Test", "duration": 169.9, "fps": 30.0,
                      "annotations": [{"label": "<Class>", "segment": [start_s, end_s], "label_id": <int>}]}}}
    videos/<video_id>.mp4        (any video extension; also found in sub-folders of videos/)

Split protocol (TriDet): the 200 untrimmed ``Validation`` videos train (``train``), the 213 ``Test`` videos
evaluate (``test``). Classes are ordered by ``label_id`` and a segment's label is the class's position in that
order (the released file numbers the 20 classes 0-19 alphabetically, so position = ``label_id``); without any
``label_id`` classes are sorted by name. ``segments`` are ``(label, start_s, end_s)`` in seconds and ``fps`` is
the annotation frame rate from the JSON (most THUMOS videos are 30 fps, some about 25). Instances labelled
``Ambiguous`` (the original THUMOS marker for unclear instances) are skipped. Line numbers of semantic errors
point at the video's entry in the JSON.

An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``labels``/``subject``/``gender``.
"""

from __future__ import annotations

import re
from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import (
    abspath,
    find_json_key,
    find_video,
    finish,
    line_of,
    load_json,
    require_file,
    video_key,
    walk_videos,
)
from latentanon.video import VideoRecord

LAYOUT = "annotations/thumos14.json (ActivityNet style: database -> video -> subset, annotations) and videos/<id>.mp4"
_SUBSETS = {"validation": "train", "val": "train", "train": "train", "training": "train", "test": "test"}
_NUMBER = (int, float)


def _is_number(x) -> bool:
    return isinstance(x, _NUMBER) and not isinstance(x, bool)


@register_dataset("thumos14")
def thumos14(root: str) -> Dataset:
    """Parse THUMOS14 (TriDet protocol) under ``root``; see the module docstring for the layout."""
    base = Path(root)
    path = require_file(base / "annotations" / "thumos14.json", LAYOUT)
    data, text = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise AnnotationError(path, line_of(text, find_json_key(text, "database")), "missing object 'database'")
    database = data["database"]
    db_at = find_json_key(text, "database")

    # first pass: validate entries and collect label -> label_id
    entries = []
    label_ids: dict[str, int | None] = {}
    for video_id, entry in database.items():
        at = find_json_key(text, video_id, db_at)
        line = line_of(text, at)
        if not isinstance(entry, dict):
            raise AnnotationError(path, line, f"video {video_id!r}: entry must be an object")
        for required in ("subset", "annotations"):
            if required not in entry:
                raise AnnotationError(path, line, f"video {video_id!r}: missing required key {required!r}")
        subset = str(entry["subset"]).lower()
        if subset not in _SUBSETS:
            raise AnnotationError(path, line, f"video {video_id!r}: unknown subset {entry['subset']!r}")
        fps = entry.get("fps")
        if fps is not None and (not _is_number(fps) or fps <= 0):
            raise AnnotationError(path, line, f"video {video_id!r}: 'fps' must be a positive number, got {fps!r}")
        if not isinstance(entry["annotations"], list):
            raise AnnotationError(path, line, f"video {video_id!r}: 'annotations' must be a list")
        ann_at = find_json_key(text, "annotations", at)
        segments = []
        for ann in entry["annotations"]:
            match = re.compile(r"\{").search(text, ann_at + 1)
            ann_at = match.start() if match else ann_at
            ann_line = line_of(text, ann_at)
            if not isinstance(ann, dict):
                raise AnnotationError(path, ann_line, f"video {video_id!r}: annotation must be an object")
            for required in ("label", "segment"):
                if required not in ann:
                    raise AnnotationError(path, ann_line, f"video {video_id!r}: annotation lacks {required!r}")
            label = ann["label"]
            if not isinstance(label, str):
                raise AnnotationError(path, ann_line, f"video {video_id!r}: 'label' must be a string")
            if label == "Ambiguous":
                continue
            seg = ann["segment"]
            if not (isinstance(seg, list) and len(seg) == 2 and all(_is_number(x) for x in seg)):
                raise AnnotationError(path, ann_line, f"video {video_id!r}: 'segment' must be [start_s, end_s]")
            start, end = float(seg[0]), float(seg[1])
            if start < 0 or end < start:
                raise AnnotationError(path, ann_line, f"video {video_id!r}: segment end {end} < start {start}")
            label_id = ann.get("label_id")
            if label_id is not None and (not isinstance(label_id, int) or isinstance(label_id, bool)):
                raise AnnotationError(path, ann_line, f"video {video_id!r}: 'label_id' must be an integer")
            if label in label_ids and label_ids[label] != label_id:
                raise AnnotationError(
                    path, ann_line, f"label {label!r} has label_id {label_id}, elsewhere {label_ids[label]}"
                )
            if label_id is not None and any(i == label_id and n != label for n, i in label_ids.items()):
                raise AnnotationError(path, ann_line, f"label_id {label_id} is used by two labels")
            label_ids[label] = label_id
            segments.append((label, start, end))
        entries.append((video_id, line, _SUBSETS[subset], fps, entry.get("duration"), segments))

    with_id = [n for n, i in label_ids.items() if i is not None]
    if with_id and len(with_id) != len(label_ids):
        missing = sorted(n for n, i in label_ids.items() if i is None)
        raise AnnotationError(path, None, f"labels {missing} lack 'label_id' while others have one")
    classes = sorted(label_ids, key=lambda n: (label_ids[n], n) if with_id else (0, n))
    class_index = {c: i for i, c in enumerate(classes)}

    video_dir = base / "videos"
    index: dict[str, Path] | None = None
    records = []
    for video_id, line, split, fps, duration, segments in entries:
        video = find_video(video_dir, video_id)
        if video is None:
            if index is None:
                index = {}
                for v in walk_videos(video_dir) if video_dir.is_dir() else []:
                    index.setdefault(v.stem, v)
            video = index.get(video_id)
        if video is None:
            raise FileNotFoundError(f"{video_dir / (video_id + '.mp4')}: video listed in {path}:{line} does not exist")
        meta = {"duration": float(duration)} if _is_number(duration) else {}
        records.append(
            VideoRecord(
                key=video_key(base, video),
                path=abspath(video),
                split=split,
                segments=tuple(
                    sorted(((class_index[c], s, e) for c, s, e in segments), key=lambda t: (t[1], t[2], t[0]))
                ),
                fps=None if fps is None else float(fps),
                meta=meta,
            )
        )
    return finish("thumos14", base, records, classes=classes, task="tad")
