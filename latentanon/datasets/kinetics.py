"""Kinetics-400 action recognition (Kay et al., "The Kinetics Human Action Video Dataset", arXiv:1705.06950;
annotations from https://github.com/cvdfoundation/kinetics-dataset).

Layout read::

    annotations/train.csv, annotations/validate.csv, annotations/test.csv
        header "label,youtube_id,time_start,time_end,split" (extra columns such as "is_cc" are ignored; the
        2017 test.csv has no label column, its videos get label None)
    <anywhere under root>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4   (any video extension)

Split protocol: the ``split`` column (``train``/``val``/``test``; ``validate`` is read as ``val``), else the file
the row is in. Classes are the sorted label names of all rows, whether or not their video was downloaded, so that
indices do not depend on which YouTube videos are still available. Rows whose video is missing are skipped and
counted in one warning (Kinetics videos disappear from YouTube; every copy is incomplete). Any of the three CSVs
may be absent (e.g. no test videos); at least one is required.

An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``labels``/``subject``/``gender``.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import abspath, finish, parse_int, video_key, walk_videos
from latentanon.video import VideoRecord

LAYOUT = (
    "annotations/{train,validate,test}.csv with header 'label,youtube_id,time_start,time_end,split', videos "
    "anywhere under the root named <youtube_id>_<time_start:06d>_<time_end:06d>.mp4"
)
FILES = (("train.csv", "train"), ("validate.csv", "val"), ("test.csv", "test"))
_SPLITS = {"train": "train", "training": "train", "val": "val", "validate": "val", "validation": "val", "test": "test"}
_REQUIRED = ("youtube_id", "time_start", "time_end")


def _read_rows(path: Path, default_split: str) -> list[tuple[int, str | None, str, str, str]]:
    """(line, label, split, youtube id, video stem) per row of one annotation CSV."""
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise AnnotationError(path, 1, f"header lacks column(s) {missing}; got {header}")
        reader.fieldnames = header
        for row in reader:
            line = reader.line_num
            if None in row or any(row.get(c) is None for c in header):
                raise AnnotationError(path, line, f"expected {len(header)} fields ({','.join(header)})")
            youtube_id = row["youtube_id"].strip()
            if not youtube_id:
                raise AnnotationError(path, line, "empty youtube_id")
            start = parse_int(row["time_start"].strip(), path, line, "time_start")
            end = parse_int(row["time_end"].strip(), path, line, "time_end")
            if end < start:
                raise AnnotationError(path, line, f"time_end {end} < time_start {start}")
            label = (row.get("label") or "").strip() or None
            if label is None and default_split != "test":
                raise AnnotationError(path, line, "missing label")
            split_text = (row.get("split") or "").strip().lower()
            if split_text and split_text not in _SPLITS:
                raise AnnotationError(path, line, f"unknown split {split_text!r} (train, val or test)")
            split = _SPLITS[split_text] if split_text else default_split
            rows.append((line, label, split, youtube_id, f"{youtube_id}_{start:06d}_{end:06d}"))
    return rows


@register_dataset("kinetics400")
def kinetics400(root: str) -> Dataset:
    """Parse Kinetics-400 under ``root``; see the module docstring for the layout."""
    base = Path(root)
    present = [(base / "annotations" / name, split) for name, split in FILES if (base / "annotations" / name).is_file()]
    if not present:
        expected = ", ".join(str(base / "annotations" / name) for name, _ in FILES)
        raise FileNotFoundError(f"none of {expected} exists. Expected layout: {LAYOUT}")
    parsed = [(path, _read_rows(path, split)) for path, split in present]
    classes = sorted({label for _, rows in parsed for _, label, *_ in rows if label is not None})
    class_index = {c: i for i, c in enumerate(classes)}
    videos: dict[str, Path] = {}
    for video in walk_videos(base):  # sorted: the first of duplicate names wins
        videos.setdefault(video.stem, video)
    records: dict[str, VideoRecord] = {}
    seen: dict[str, str] = {}
    missing = total = 0
    for path, rows in parsed:
        for line, label, split, youtube_id, stem in rows:
            total += 1
            if stem in seen:
                raise AnnotationError(path, line, f"video {stem!r} already listed at {seen[stem]}")
            seen[stem] = f"{path}:{line}"
            video = videos.get(stem)
            if video is None:
                missing += 1
                continue
            key = video_key(base, video)
            records[key] = VideoRecord(
                key=key,
                path=abspath(video),
                label=None if label is None else class_index[label],
                split=split,
                meta={"youtube_id": youtube_id},
            )
    if missing:
        warnings.warn(
            f"kinetics400: {missing} of {total} annotated videos were not found under {base} and are skipped",
            stacklevel=2,
        )
    return finish("kinetics400", base, list(records.values()), classes=classes, task="action")
