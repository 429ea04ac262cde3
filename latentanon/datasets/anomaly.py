"""Weakly supervised video anomaly detection: UCF-Crime, XD-Violence and ShanghaiTech (weakly supervised split).

All three give video-level labels for training (weak supervision) and frame-level ground truth for testing, stored
as ``anomaly_frames``: inclusive, 0-based frame ranges of the video as decoded (``fps`` stays None: the frame
numbers refer to the videos' own frames). Classes start with ``Normal`` (label 0). An optional
``synthetic_meta.json`` in ``root`` (latentanon extension) fills ``labels``/``subject``/``gender``.

**ucf_crime** (Sultani, Chen, Shah, "Real-world Anomaly Detection in Surveillance Videos", CVPR 2018;
https://www.crcv.ucf.edu/projects/real-world/)::

    Anomaly_Train.txt, Anomaly_Test.txt       video paths relative to root, e.g. Abuse/Abuse001_x264.mp4,
                                              Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4
    Temporal_Anomaly_Annotation_for_Testing_Videos.txt
                                              "<file> <Class> <s1> <e1> <s2> <e2>", -1 for no event

The lists may also sit in ``UCF_Crimes-Train-Test-Split/Anomaly_Detection_splits/`` and the temporal file may be
named ``Temporal_Anomaly_Annotation.txt`` (as in the authors' repository). A video's class is its folder; a folder
whose name contains ``Normal`` is class ``Normal``. Classes: ``Normal``, then the anomaly folders sorted. Temporal
frame numbers are 1-based and inclusive: the official evaluation (``Evaluate_Anomaly_Detector.m``) sets
``GT(max(s, 1):min(e, n)) = 1`` in MATLAB indexing, and one annotation starts at frame 1 (``Burglary035``); they
are converted to 0-based ``(s - 1, e - 1)``. Every test video needs a temporal line whose class agrees with its
folder; lines for videos not in the test list are ignored.

**xd_violence** (Wu et al., "Not only Look, but also Listen: Learning Multimodal Violence Detection under Weak
Supervision", ECCV 2020; https://roc-ng.github.io/XD-Violence/)::

    train/<name>.mp4, test/<name>.mp4         (sub-folders allowed); <name> ends in _label_<codes>, codes
                                              joined by '-' with '0' as padding (..._label_B1-0-0)
    annotations.txt                           "<name>[.mp4] <s1> <e1> [<s2> <e2> ...]" for abnormal test videos

Codes: ``A`` normal, ``B1`` fighting, ``B2`` shooting, ``B4`` riot, ``B5`` abuse, ``B6`` car accident, ``G``
explosion; classes ``Normal``/``Abnormal`` (label 1 when any code is not ``A``), the codes go to ``meta``.
Frame pairs are 0-based with an exclusive end, as the authors' ``make_gt.py`` reads them (``gt[s:e] = 1``); they
become inclusive ``(s, e - 1)``.

**shanghaitech** (Luo, Liu, Gao, ICCV 2017, re-split for weak supervision by Zhong et al., "Graph Convolutional
Label Noise Cleaner", CVPR 2019: 238 training and 199 test videos, anomalous videos in both)::

    SH_Train.txt, SH_Test.txt                 one name per line (01_0014); the files released with that split,
                                              SH_Train_new.txt "<name>,<0|1>" and SH_Test_NEW.txt
                                              "<name>,<0|1>,<frames>", are read too (the frame column is ignored)
    SH_Train_abnormal.txt                     names of anomalous training videos (needed when SH_Train.txt has no
                                              label column)
    videos/<name>.avi
    test_frame_mask/<name>.npy                per-frame 0/1 mask; anomalous iff any 1

The original dataset has masks only for its 107 test videos: a test video without a mask is accepted when its
list line labels it normal (0). Classes ``Normal``/``Abnormal``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import (
    abspath,
    find_file_ci,
    find_video,
    finish,
    parse_int,
    read_lines,
    require_dir,
    require_file,
    require_video,
    video_key,
    walk_videos,
)
from latentanon.video import VIDEO_EXTENSIONS, VideoRecord

NORMAL = "Normal"

# ----------------------------------------------------------------------------------------------- UCF-Crime

UCF_LAYOUT = (
    "Anomaly_Train.txt, Anomaly_Test.txt (video paths relative to root, <Class>/<video>.mp4) and "
    "Temporal_Anomaly_Annotation_for_Testing_Videos.txt ('<file> <Class> <s1> <e1> <s2> <e2>')"
)
_UCF_SPLIT_DIR = Path("UCF_Crimes-Train-Test-Split") / "Anomaly_Detection_splits"
_UCF_TEMPORAL = (
    Path("Temporal_Anomaly_Annotation_for_Testing_Videos.txt"),
    Path("Temporal_Anomaly_Annotation.txt"),
    Path("Temporal_Anomaly_Annotation_for_Testing_Videos") / "Txt_formate" / "Temporal_Anomaly_Annotation.txt",
)


def _first_existing(base: Path, candidates: tuple[Path, ...]) -> Path:
    for rel in candidates:
        if (base / rel).is_file():
            return base / rel
    also = ", ".join(str(base / c) for c in candidates[1:])
    return require_file(base / candidates[0], UCF_LAYOUT + (f" (also looked for {also})" if also else ""))


def _ucf_class(folder: str) -> str:
    return NORMAL if "normal" in folder.lower() else folder


def _read_ucf_list(path: Path) -> list[tuple[int, str, str]]:
    """(line, relative path, class name) per line of Anomaly_Train/Test.txt."""
    out = []
    for line, text in read_lines(path):
        fields = text.split()
        if len(fields) != 1:
            raise AnnotationError(path, line, f"expected one video path per line, got {text!r}")
        rel = fields[0].replace("\\", "/")
        if "/" not in rel:
            raise AnnotationError(path, line, f"expected '<Class>/<video>.mp4', got {rel!r}")
        out.append((line, rel, _ucf_class(rel.split("/")[0])))
    return out


def _read_ucf_temporal(path: Path, classes: list[str]) -> dict[str, tuple[int, str, tuple[tuple[int, int], ...]]]:
    """{file name: (line, class, 0-based inclusive frame ranges)} from the temporal annotation file."""
    out: dict[str, tuple[int, str, tuple[tuple[int, int], ...]]] = {}
    for line, text in read_lines(path):
        fields = text.split()
        if len(fields) < 4 or len(fields) % 2:
            raise AnnotationError(path, line, f"expected '<file> <Class> <s1> <e1> <s2> <e2>', got {text!r}")
        name, cls = fields[0], fields[1]
        if cls not in classes:
            raise AnnotationError(path, line, f"unknown class {cls!r}; known: {', '.join(classes)}")
        numbers = [parse_int(x, path, line, "frame number") for x in fields[2:]]
        ranges = []
        for s, e in zip(numbers[0::2], numbers[1::2]):
            if s == -1 and e == -1:
                continue
            if s < 0 or e < 0:
                raise AnnotationError(path, line, f"frame pair ({s}, {e}): use -1 -1 for no event")
            if e < s:
                raise AnnotationError(path, line, f"event end {e} < start {s}")
            start = max(s - 1, 0)  # 1-based inclusive -> 0-based inclusive
            ranges.append((start, max(e - 1, start)))
        if name in out:
            raise AnnotationError(path, line, f"{name!r} already annotated at line {out[name][0]}")
        out[name] = (line, cls, tuple(ranges))
    return out


@register_dataset("ucf_crime")
def ucf_crime(root: str) -> Dataset:
    """Parse UCF-Crime (anomaly detection split) under ``root``; see the module docstring."""
    base = Path(root)
    paths = {
        split: _first_existing(base, (Path(name), _UCF_SPLIT_DIR / name))
        for split, name in (("train", "Anomaly_Train.txt"), ("test", "Anomaly_Test.txt"))
    }
    lists = {split: _read_ucf_list(path) for split, path in paths.items()}
    anomalies = sorted({cls for rows in lists.values() for _, _, cls in rows if cls != NORMAL})
    classes = [NORMAL, *anomalies]
    temporal_path = _first_existing(base, _UCF_TEMPORAL)
    temporal = _read_ucf_temporal(temporal_path, classes)
    records: dict[str, VideoRecord] = {}
    for split, rows in lists.items():
        for line, rel, cls in rows:
            video = require_video(base / rel, paths[split])
            key = video_key(base, video)
            if key in records:
                raise AnnotationError(paths[split], line, f"video {rel!r} is listed twice")
            frames: tuple[tuple[int, int], ...] = ()
            if split == "test":
                name = Path(rel).name
                if name not in temporal:
                    raise AnnotationError(temporal_path, None, f"test video {name!r} has no temporal annotation")
                t_line, t_cls, frames = temporal[name]
                if t_cls != cls:
                    raise AnnotationError(temporal_path, t_line, f"class {t_cls!r} but the video's folder says {cls!r}")
                if (cls == NORMAL) == bool(frames):
                    what = "a normal video with anomalous frames" if frames else "an anomalous video without events"
                    raise AnnotationError(temporal_path, t_line, f"{name!r} is {what}")
            records[key] = VideoRecord(
                key=key, path=abspath(video), label=classes.index(cls), split=split, anomaly_frames=frames
            )
    return finish("ucf_crime", base, list(records.values()), classes=classes, task="ad")


# ----------------------------------------------------------------------------------------------- XD-Violence

XD_LAYOUT = "train/<name>_label_<codes>.mp4, test/<name>_label_<codes>.mp4 and annotations.txt ('<name> <s1> <e1> ...')"
XD_CODES = {
    "A": "normal",
    "B1": "fighting",
    "B2": "shooting",
    "B4": "riot",
    "B5": "abuse",
    "B6": "car accident",
    "G": "explosion",
}


def _xd_codes(video: Path) -> list[str]:
    stem = video.stem
    if "_label_" not in stem:
        raise AnnotationError(video, None, "file name lacks the '_label_<codes>' suffix")
    codes = [c for c in stem.rsplit("_label_", 1)[1].split("-") if c != "0"]  # '0' pads to three codes
    unknown = [c for c in codes if c not in XD_CODES]
    if not codes or unknown:
        raise AnnotationError(video, None, f"unknown label code(s) {unknown or codes}; known: {', '.join(XD_CODES)}")
    if "A" in codes and len(codes) > 1:
        raise AnnotationError(video, None, f"code A (normal) mixed with violence codes {codes}")
    return codes


@register_dataset("xd_violence")
def xd_violence(root: str) -> Dataset:
    """Parse XD-Violence under ``root``; see the module docstring."""
    base = Path(root)
    ann_path = require_file(base / "annotations.txt", XD_LAYOUT)
    videos: dict[str, list[Path]] = {
        split: walk_videos(require_dir(base / split, XD_LAYOUT)) for split in ("train", "test")
    }
    test_by_name = {v.stem: v for v in videos["test"]}
    annotated: dict[str, tuple[int, tuple[tuple[int, int], ...]]] = {}
    for line, text in read_lines(ann_path):
        fields = text.split()
        if len(fields) < 3 or len(fields) % 2 == 0:
            raise AnnotationError(ann_path, line, f"expected '<name> <s1> <e1> [<s2> <e2> ...]', got {text!r}")
        name = fields[0]
        if Path(name).suffix.lower() in VIDEO_EXTENSIONS:  # some released lines carry '.mp4'
            name = Path(name).stem
        numbers = [parse_int(x, ann_path, line, "frame number") for x in fields[1:]]
        ranges = []
        for s, e in zip(numbers[0::2], numbers[1::2]):
            if s < 0 or e < s:
                raise AnnotationError(ann_path, line, f"invalid event ({s}, {e}): need 0 <= start <= end")
            ranges.append((s, max(e - 1, s)))  # end exclusive -> inclusive
        if name in annotated:
            raise AnnotationError(ann_path, line, f"{name!r} already annotated at line {annotated[name][0]}")
        if name not in test_by_name:
            raise FileNotFoundError(
                f"{base / 'test' / (name + '.mp4')}: video listed in {ann_path}:{line} does not exist"
            )
        annotated[name] = (line, tuple(ranges))
    records = []
    for split in ("train", "test"):
        for video in videos[split]:
            codes = _xd_codes(video)
            label = int(codes != ["A"])
            frames: tuple[tuple[int, int], ...] = ()
            if split == "test":
                if video.stem in annotated:
                    a_line, frames = annotated[video.stem]
                    if not label:
                        raise AnnotationError(ann_path, a_line, f"{video.stem!r} is labelled A (normal) but has events")
                elif label:
                    raise AnnotationError(ann_path, None, f"abnormal test video {video.stem!r} has no annotation line")
            records.append(
                VideoRecord(
                    key=video_key(base, video),
                    path=abspath(video),
                    label=label,
                    split=split,
                    anomaly_frames=frames,
                    meta={"codes": codes},
                )
            )
    return finish("xd_violence", base, records, classes=[NORMAL, "Abnormal"], task="ad")


# ----------------------------------------------------------------------------------------------- ShanghaiTech

SH_LAYOUT = (
    "SH_Train.txt, SH_Test.txt (one video name per line, optionally ',<0|1>'), SH_Train_abnormal.txt, "
    "videos/<name>.avi, test_frame_mask/<name>.npy"
)
_SH_TRAIN = ("SH_Train.txt", "SH_Train_new.txt")
_SH_TEST = ("SH_Test.txt", "SH_Test_NEW.txt")


def _read_sh_list(path: Path) -> list[tuple[int, str, int | None]]:
    """(line, name, label or None) per line of an SH_Train/SH_Test list."""
    out = []
    names: set[str] = set()
    for line, text in read_lines(path):
        fields = [f.strip() for f in (text.split(",") if "," in text else text.split())]
        if not 1 <= len(fields) <= 3 or not fields[0]:
            raise AnnotationError(path, line, f"expected '<name>[,<0|1>[,<frames>]]', got {text!r}")
        name = fields[0]
        if Path(name).suffix.lower() in VIDEO_EXTENSIONS:
            name = Path(name).stem
        label = None
        if len(fields) >= 2:
            if fields[1] not in ("0", "1"):
                raise AnnotationError(path, line, f"label must be 0 or 1, got {fields[1]!r}")
            label = int(fields[1])
        if len(fields) == 3:
            parse_int(fields[2], path, line, "frame count")
        if name in names:
            raise AnnotationError(path, line, f"video {name!r} is listed twice")
        names.add(name)
        out.append((line, name, label))
    return out


def _mask_ranges(path: Path) -> tuple[tuple[tuple[int, int], ...], int]:
    """Runs of 1 in a per-frame 0/1 mask as inclusive 0-based ranges, and the mask length."""
    try:
        mask = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise AnnotationError(path, None, f"cannot read the frame mask: {e}") from None
    if mask.ndim != 1 or not np.isin(mask, (0, 1)).all():
        raise AnnotationError(path, None, f"frame mask must be a 1-D array of 0/1, got shape {mask.shape}")
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))  # starts at even positions, (end + 1) at odd positions
    return tuple((int(s), int(e) - 1) for s, e in zip(edges[0::2], edges[1::2])), int(mask.shape[0])


@register_dataset("shanghaitech")
def shanghaitech(root: str) -> Dataset:
    """Parse ShanghaiTech (weakly supervised split of Zhong et al.) under ``root``; see the module docstring."""
    base = Path(root)
    train_path = find_file_ci(base, _SH_TRAIN) or require_file(base / _SH_TRAIN[0], SH_LAYOUT)
    test_path = find_file_ci(base, _SH_TEST) or require_file(base / _SH_TEST[0], SH_LAYOUT)
    train, test = _read_sh_list(train_path), _read_sh_list(test_path)
    abnormal: dict[str, int] | None = None
    abnormal_path = base / "SH_Train_abnormal.txt"
    if abnormal_path.is_file() or any(label is None for _, _, label in train):
        abnormal = {}
        for line, text in read_lines(require_file(abnormal_path, SH_LAYOUT)):
            if len(text.split()) != 1:
                raise AnnotationError(abnormal_path, line, f"expected one video name per line, got {text!r}")
            abnormal[Path(text).stem if Path(text).suffix.lower() in VIDEO_EXTENSIONS else text] = line
    records = []
    video_dir = base / "videos"
    for line, name, label in train:
        if abnormal is not None:
            listed = int(name in abnormal)
            if label is not None and label != listed:
                raise AnnotationError(train_path, line, f"label {label} disagrees with SH_Train_abnormal.txt")
            label = listed
        video = find_video(video_dir, name) or require_video(video_dir / f"{name}.avi", train_path)
        records.append(VideoRecord(key=video_key(base, video), path=abspath(video), label=label, split="train"))
    for line, name, label in test:
        video = find_video(video_dir, name) or require_video(video_dir / f"{name}.avi", test_path)
        mask_path = base / "test_frame_mask" / f"{name}.npy"
        frames: tuple[tuple[int, int], ...] = ()
        meta = {}
        if mask_path.is_file():
            frames, meta["mask_frames"] = _mask_ranges(mask_path)
            if label is not None and label != int(bool(frames)):
                raise AnnotationError(test_path, line, f"label {label} disagrees with {mask_path.name}")
        elif label != 0:
            require_file(mask_path, SH_LAYOUT)
        records.append(
            VideoRecord(
                key=video_key(base, video),
                path=abspath(video),
                label=int(bool(frames)),
                split="test",
                anomaly_frames=frames,
                meta=meta,
            )
        )
    return finish("shanghaitech", base, records, classes=[NORMAL, "Abnormal"], task="ad")
