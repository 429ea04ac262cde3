"""CASIA-B gait recognition (Yu, Tan, Tan, "A Framework for Evaluating the Effect of View Angle, Clothing and
Carrying Condition on Gait Recognition", ICPR 2006; http://www.cbsr.ia.ac.cn/english/Gait%20Databases.asp).

Layout read: ``videos/<sss>-<cond>-<nn>-<vvv>.avi`` (a folder named ``video/`` is accepted too), e.g.
``001-nm-01-090.avi``: subject ``sss`` (001-124), condition ``nm`` normal walking (sequences 01-06), ``bg`` with a
bag (01-02) or ``cl`` in a coat (01-02), view ``vvv`` from 000 to 180 in steps of 18. The file names are the
annotation: a video file whose name breaks this pattern raises AnnotationError naming it (no line number).

``subject`` = ``sss``; ``label`` = index of the subject in the sorted subject ids found (``classes`` = those ids);
``meta`` = ``condition``, ``sequence`` and ``view`` (integers, degrees). Split protocol: ``gallery`` nm-01..04,
``probe`` nm-05..06, ``other`` bg/cl (the usual evaluation also probes with bg and cl against the nm gallery).

An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``labels``/``gender``.
"""

from __future__ import annotations

import re
from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import abspath, finish, require_dir, video_key, walk_videos
from latentanon.video import VideoRecord

LAYOUT = "videos/<sss>-<cond>-<nn>-<vvv>.avi, e.g. videos/001-nm-01-090.avi (cond nm 01-06, bg/cl 01-02)"
_NAME = re.compile(r"^(\d{3})-(nm|bg|cl)-(\d{2})-(\d{3})$")
_SEQUENCES = {"nm": 6, "bg": 2, "cl": 2}


def _parse_name(video: Path) -> tuple[str, str, int, int]:
    match = _NAME.match(video.stem)
    if match is None:
        raise AnnotationError(video, None, "name must be <sss>-<nm|bg|cl>-<nn>-<vvv>, e.g. 001-nm-01-090")
    subject, condition, sequence, view = match.group(1), match.group(2), int(match.group(3)), int(match.group(4))
    if not 1 <= sequence <= _SEQUENCES[condition]:
        raise AnnotationError(video, None, f"sequence {sequence:02d} out of range 01-{_SEQUENCES[condition]:02d}")
    if view > 180 or view % 18:
        raise AnnotationError(video, None, f"view {view:03d} is not one of 000, 018, ..., 180")
    return subject, condition, sequence, view


@register_dataset("casia_b")
def casia_b(root: str) -> Dataset:
    """Parse CASIA-B under ``root``; see the module docstring for the layout."""
    base = Path(root)
    folder = base / "videos"
    if not folder.is_dir() and (base / "video").is_dir():
        folder = base / "video"
    videos = walk_videos(require_dir(folder, LAYOUT))
    parsed = [(video, _parse_name(video)) for video in videos]
    subjects = sorted({subject for _, (subject, *_) in parsed})
    subject_index = {s: i for i, s in enumerate(subjects)}
    records = []
    for video, (subject, condition, sequence, view) in parsed:
        if condition == "nm":
            split = "gallery" if sequence <= 4 else "probe"
        else:
            split = "other"
        records.append(
            VideoRecord(
                key=video_key(base, video),
                path=abspath(video),
                label=subject_index[subject],
                split=split,
                subject=subject,
                meta={"condition": condition, "sequence": sequence, "view": view},
            )
        )
    return finish("casia_b", base, records, classes=subjects, task="gait")
