"""UCF101 action recognition (Soomro, Zamir, Shah, "UCF101: A Dataset of 101 Human Actions Classes From Videos
in The Wild", CRCV-TR-12-01, arXiv:1212.0402; https://www.crcv.ucf.edu/data/UCF101.php).

Layout read (``root`` = the folder holding both official archives unpacked)::

    UCF-101/<Class>/v_<Class>_g<GG>_c<CC>.avi
    ucfTrainTestlist/classInd.txt        "<index 1-based> <Class>"
    ucfTrainTestlist/trainlist01.txt     "<Class>/v_<Class>_gGG_cCC.avi <index 1-based>"
    ucfTrainTestlist/testlist01.txt      "<Class>/v_<Class>_gGG_cCC.avi"

Split protocol: official split 1 (``train``/``test``). ``label`` = classInd index - 1; ``subject`` = the group
``gGG`` (clips of one group share actors and setting, which is why the official splits never divide a group).
The class of a test video is its folder; a train line's index must agree with its folder. The official files name
some videos with a different case than their folder (``HandstandPushups/v_HandStandPushups_g01_c01.avi``): paths
are taken verbatim from the lists.

An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``labels``/``subject``/``gender``.
"""

from __future__ import annotations

import re
from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import (
    abspath,
    finish,
    parse_int,
    read_lines,
    require_file,
    require_video,
    video_key,
)
from latentanon.video import VideoRecord

LAYOUT = (
    "UCF-101/<Class>/v_<Class>_gGG_cCC.avi, ucfTrainTestlist/classInd.txt, ucfTrainTestlist/trainlist01.txt, "
    "ucfTrainTestlist/testlist01.txt"
)
_GROUP = re.compile(r"_g(\d+)_c(\d+)$")


def _read_classes(path: Path) -> list[str]:
    by_index: dict[int, str] = {}
    for line, text in read_lines(path):
        fields = text.split()
        if len(fields) != 2:
            raise AnnotationError(path, line, f"expected '<index> <Class>', got {text!r}")
        index = parse_int(fields[0], path, line, "class index")
        if index in by_index or fields[1] in by_index.values():
            raise AnnotationError(path, line, f"class index or name listed twice: {text!r}")
        by_index[index] = fields[1]
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise AnnotationError(path, None, f"class indices must be 1..{len(by_index)}, got {sorted(by_index)}")
    return [by_index[i] for i in range(1, len(by_index) + 1)]


@register_dataset("ucf101")
def ucf101(root: str) -> Dataset:
    """Parse UCF101 (split 1) under ``root``; see the module docstring for the layout."""
    base = Path(root)
    lists = base / "ucfTrainTestlist"
    classes = _read_classes(require_file(lists / "classInd.txt", LAYOUT))
    class_index = {c: i for i, c in enumerate(classes)}
    class_index_ci = {c.lower(): i for i, c in enumerate(classes)}
    records: dict[str, VideoRecord] = {}
    for split, name in (("train", "trainlist01.txt"), ("test", "testlist01.txt")):
        path = require_file(lists / name, LAYOUT)
        for line, text in read_lines(path):
            fields = text.split()
            if len(fields) not in (1, 2):
                raise AnnotationError(path, line, f"expected '<Class>/<video>.avi [index]', got {text!r}")
            rel = fields[0].replace("\\", "/")
            if split == "train" and len(fields) != 2:
                raise AnnotationError(path, line, f"train lines need a class index: {text!r}")
            folder = rel.split("/")[0] if "/" in rel else ""
            label = class_index.get(folder, class_index_ci.get(folder.lower()))
            if label is None:
                raise AnnotationError(path, line, f"unknown class {folder!r} (not in classInd.txt)")
            if len(fields) == 2:
                index = parse_int(fields[1], path, line, "class index")
                if index - 1 != label:
                    raise AnnotationError(
                        path, line, f"class index {index} does not match folder {folder!r} (index {label + 1})"
                    )
            stem = Path(rel).with_suffix("").name
            group = _GROUP.search(stem)
            if group is None:
                raise AnnotationError(path, line, f"video name {stem!r} lacks the '_gGG_cCC' group/clip suffix")
            video = require_video(base / "UCF-101" / rel, path)
            key = video_key(base, video)
            if key in records:
                raise AnnotationError(path, line, f"video {rel!r} is listed twice")
            records[key] = VideoRecord(
                key=key,
                path=abspath(video),
                label=label,
                split=split,
                subject=f"g{group.group(1)}",
                meta={"clip": int(group.group(2))},
            )
    return finish("ucf101", base, list(records.values()), classes=classes, task="action")
