"""VISPR privacy attributes (Orekondy, Schiele, Fritz, "Towards a Visual Privacy Advisor: Understanding and
Predicting Privacy Risks in Images", ICCV 2017; https://tribhuvanesh.github.io/vpa/), restricted to the 7
attributes of the VISPR-1 protocol used by privacy-preserving action recognition (Dave et al., SPAct, CVPR 2022).

Layout read (the official ``images`` and ``annotations`` archives unpacked)::

    images/<split>2017/<id>.jpg                          split: train, val, test
    annotations/<split>2017/<id>.json                    {"id": "<id>", "image_path": "images/train2017/<id>.jpg",
                                                          "labels": ["a17_color", "a4_gender", ...]}

``labels`` = multi-hot over ``a17_color`` (skin colour), ``a4_gender``, ``a9_face_complete``,
``a10_face_partial``, ``a12_semi_nudity``, ``a64_rel_personal``, ``a65_rel_social`` (in this order); other VISPR
labels (e.g. ``a0_safe``) are ignored. Split protocol: the official train/val/test folders; any of them may be
absent, at least one is required. ``image_path`` is relative to ``root``; without it the image is
``images/<split>2017/<stem of the annotation file>.jpg``. An image decodes as a one-frame video.

An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``subject``/``gender`` (and
``labels`` of records that have none).
"""

from __future__ import annotations

from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import (
    abspath,
    find_json_key,
    finish,
    line_of,
    load_json,
    require_video,
    video_key,
)
from latentanon.video import VideoRecord

ATTRIBUTES = (
    "a17_color",
    "a4_gender",
    "a9_face_complete",
    "a10_face_partial",
    "a12_semi_nudity",
    "a64_rel_personal",
    "a65_rel_social",
)
SPLITS = ("train", "val", "test")
LAYOUT = "images/<split>2017/<id>.jpg and annotations/<split>2017/<id>.json for split in train, val, test"


def _parse(path: Path, base: Path, split: str) -> VideoRecord:
    data, text = load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, 1, "annotation must be a JSON object with 'labels'")
    if "labels" not in data:
        raise AnnotationError(path, 1, "missing required key 'labels'")
    labels = data["labels"]
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise AnnotationError(path, line_of(text, find_json_key(text, "labels")), "'labels' must be a list of strings")
    image_rel = data.get("image_path", f"images/{split}2017/{data.get('id', path.stem)}.jpg")
    if not isinstance(image_rel, str) or not image_rel:
        raise AnnotationError(path, line_of(text, find_json_key(text, "image_path")), "'image_path' must be a string")
    image = require_video(base / image_rel, path)
    present = set(labels)
    return VideoRecord(
        key=video_key(base, image),
        path=abspath(image),
        split=split,
        labels=tuple(int(a in present) for a in ATTRIBUTES),
        meta={"id": str(data.get("id", path.stem))},
    )


@register_dataset("vispr")
def vispr(root: str) -> Dataset:
    """Parse VISPR (VISPR-1 attributes) under ``root``; see the module docstring for the layout."""
    base = Path(root)
    folders = [(split, base / "annotations" / f"{split}2017") for split in SPLITS]
    folders = [(split, folder) for split, folder in folders if folder.is_dir()]
    if not folders:
        expected = ", ".join(str(base / "annotations" / f"{s}2017") for s in SPLITS)
        raise FileNotFoundError(f"none of {expected} exists. Expected layout: {LAYOUT}")
    records = [_parse(path, base, split) for split, folder in folders for path in sorted(folder.glob("*.json"))]
    return finish("vispr", base, records, attributes=ATTRIBUTES, task="privacy")
