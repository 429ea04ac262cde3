"""HMDB51 action recognition (Kuehne et al., "HMDB: A Large Video Database for Human Motion Recognition",
ICCV 2011; https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/).

Layout read::

    videos/<class>/<name>.avi                                   (hmdb51_org.rar unpacked per class)
    testTrainMulti_7030_splits/<class>_test_split1.txt          "<name>.avi <0|1|2>"

Split protocol: official split 1 of the three 70/30 splits: ``1`` -> ``train``, ``2`` -> ``test``, ``0`` (unused
in this split) is skipped. Classes are the sorted class names of the split files; class names contain
underscores (``brush_hair``), so the name is the file name minus ``_test_split1.txt``. Video names may start
with ``#`` and contain punctuation, so the name is everything before the last field. HMDB51 has no actor ids.

An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``labels``/``subject``/``gender``.
"""

from __future__ import annotations

from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import abspath, finish, read_lines, require_dir, require_video, video_key
from latentanon.video import VideoRecord

LAYOUT = "videos/<class>/<name>.avi and testTrainMulti_7030_splits/<class>_test_split1.txt ('<name>.avi <0|1|2>')"
SUFFIX = "_test_split1.txt"
_SPLITS = {"1": "train", "2": "test"}


@register_dataset("hmdb51")
def hmdb51(root: str) -> Dataset:
    """Parse HMDB51 (split 1) under ``root``; see the module docstring for the layout."""
    base = Path(root)
    split_dir = require_dir(base / "testTrainMulti_7030_splits", LAYOUT)
    split_files = sorted(p for p in split_dir.iterdir() if p.is_file() and p.name.endswith(SUFFIX))
    if not split_files:
        raise FileNotFoundError(f"{split_dir}: no '*{SUFFIX}' split files found. Expected layout: {LAYOUT}")
    classes = sorted(p.name[: -len(SUFFIX)] for p in split_files)
    records: dict[str, VideoRecord] = {}
    for path in split_files:
        cls = path.name[: -len(SUFFIX)]
        label = classes.index(cls)
        for line, text in read_lines(path):
            fields = text.rsplit(None, 1)
            if len(fields) != 2:
                raise AnnotationError(path, line, f"expected '<name>.avi <0|1|2>', got {text!r}")
            name, code = fields
            if code not in ("0", "1", "2"):
                raise AnnotationError(path, line, f"split code must be 0, 1 or 2, got {code!r}")
            if code == "0":
                continue
            video = require_video(base / "videos" / cls / name, path)
            key = video_key(base, video)
            if key in records:
                raise AnnotationError(path, line, f"video {name!r} is listed twice")
            records[key] = VideoRecord(key=key, path=abspath(video), label=label, split=_SPLITS[code])
    return finish("hmdb51", base, list(records.values()), classes=classes, task="action")
