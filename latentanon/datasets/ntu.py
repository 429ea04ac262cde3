"""Gender-bias evaluation sets: NTU RGB+D 60 and Toyota Smarthome, with a per-subject gender table.

Neither dataset ships gender labels; ``subject_gender.csv`` (header ``subject,gender``, rows ``P001,M``) is a
table the user provides (perceived gender of each performer). It is required; subjects absent from it get
gender None and one warning. An optional ``synthetic_meta.json`` in ``root`` (latentanon extension) fills
``labels``/``subject``/``gender`` where the official files leave them unset (the gender table wins).

**ntu60** (Shahroudy et al., "NTU RGB+D: A Large Scale Dataset for 3D Human Activity Analysis", CVPR 2016;
https://rose1.ntu.edu.sg/dataset/actionRecognition/)::

    nturgb+d_rgb/S<sss>C<ccc>P<ppp>R<rrr>A<aaa>_rgb.avi     setup, camera, performer, replication, action
    subject_gender.csv
    classes.txt                                             optional: one class name per line for A001, A002, ...

``label`` = aaa - 1 (the 60 class names of the official README unless ``classes.txt`` is given);
``subject`` = ``Pppp``; ``meta`` = setup, camera, replication. Split protocol: cross-subject, training
performers 1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38 (``train``), the others
``test``.

**toyota_smarthome** (Das et al., "Toyota Smarthome: Real-World Activities of Daily Living", ICCV 2019;
https://project.inria.fr/toyotasmarthome/)::

    mp4/<Action>_p<pp>_r<rr>_v<vv>_c<cc>.mp4                e.g. Cook.Cleandishes_p02_r00_v02_c03.mp4
    subject_gender.csv                                      rows p02,F

``label`` = index of ``<Action>`` in the sorted action names found (the 31 classes in the full dataset);
``subject`` = ``p<pp>``; ``meta`` = repetition, video, camera. Split protocol: cross-subject, training subjects
p03, p04, p06, p07, p09, p12, p13, p15, p17, p19, p25 (``train``), the others ``test``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset, register_dataset
from latentanon.datasets._common import (
    abspath,
    finish,
    read_gender_table,
    read_lines,
    require_dir,
    video_key,
    walk_videos,
)
from latentanon.video import VideoRecord

NTU60_CLASSES = (
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "put something inside pocket / take out something from pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
)
NTU60_TRAIN_SUBJECTS = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
TOYOTA_TRAIN_SUBJECTS = frozenset({3, 4, 6, 7, 9, 12, 13, 15, 17, 19, 25})

NTU_LAYOUT = "nturgb+d_rgb/S<sss>C<ccc>P<ppp>R<rrr>A<aaa>_rgb.avi, subject_gender.csv ('subject,gender'), classes.txt"
TOYOTA_LAYOUT = "mp4/<Action>_p<pp>_r<rr>_v<vv>_c<cc>.mp4 and subject_gender.csv ('subject,gender')"
_NTU_NAME = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})(?:_rgb)?$")
_TOYOTA_NAME = re.compile(r"^(.+)_p(\d+)_r(\d+)_v(\d+)_c(\d+)$")


def _warn_missing_genders(name: str, path: Path, subjects: set[str]) -> None:
    if subjects:
        listed = ", ".join(sorted(subjects)[:10]) + (" ..." if len(subjects) > 10 else "")
        warnings.warn(f"{name}: {len(subjects)} subject(s) missing from {path}: {listed}", stacklevel=3)


@register_dataset("ntu60")
def ntu60(root: str) -> Dataset:
    """Parse NTU RGB+D 60 (cross-subject) under ``root``; see the module docstring for the layout."""
    base = Path(root)
    videos = walk_videos(require_dir(base / "nturgb+d_rgb", NTU_LAYOUT))
    genders = read_gender_table(base / "subject_gender.csv", NTU_LAYOUT)
    classes_path = base / "classes.txt"
    classes = tuple(text for _, text in read_lines(classes_path)) if classes_path.is_file() else NTU60_CLASSES
    records, missing = [], set()
    for video in videos:
        match = _NTU_NAME.match(video.stem)
        if match is None:
            raise AnnotationError(video, None, "name must be S<sss>C<ccc>P<ppp>R<rrr>A<aaa>_rgb")
        setup, camera, performer, replication, action = (int(g) for g in match.groups())
        if not 1 <= action <= len(classes):
            raise AnnotationError(video, None, f"unknown class A{action:03d} (classes A001-A{len(classes):03d})")
        subject = f"P{performer:03d}"
        if subject not in genders:
            missing.add(subject)
        records.append(
            VideoRecord(
                key=video_key(base, video),
                path=abspath(video),
                label=action - 1,
                split="train" if performer in NTU60_TRAIN_SUBJECTS else "test",
                subject=subject,
                gender=genders.get(subject),
                meta={"setup": setup, "camera": camera, "replication": replication},
            )
        )
    _warn_missing_genders("ntu60", base / "subject_gender.csv", missing)
    return finish("ntu60", base, records, classes=classes, task="bias")


@register_dataset("toyota_smarthome")
def toyota_smarthome(root: str) -> Dataset:
    """Parse Toyota Smarthome (cross-subject) under ``root``; see the module docstring for the layout."""
    base = Path(root)
    videos = walk_videos(require_dir(base / "mp4", TOYOTA_LAYOUT))
    genders = read_gender_table(base / "subject_gender.csv", TOYOTA_LAYOUT)
    parsed = []
    for video in videos:
        match = _TOYOTA_NAME.match(video.stem)
        if match is None:
            raise AnnotationError(video, None, "name must be <Action>_p<pp>_r<rr>_v<vv>_c<cc>")
        action, person, *numbers = match.groups()
        parsed.append((video, action, person, *(int(n) for n in numbers)))
    classes = sorted({action for _, action, *_ in parsed})
    class_index = {c: i for i, c in enumerate(classes)}
    records, missing = [], set()
    for video, action, person, repetition, video_no, camera in parsed:
        subject = f"p{person}"
        if subject not in genders:
            missing.add(subject)
        records.append(
            VideoRecord(
                key=video_key(base, video),
                path=abspath(video),
                label=class_index[action],
                split="train" if int(person) in TOYOTA_TRAIN_SUBJECTS else "test",
                subject=subject,
                gender=genders.get(subject),
                meta={"repetition": repetition, "video": video_no, "camera": camera},
            )
        )
    _warn_missing_genders("toyota_smarthome", base / "subject_gender.csv", missing)
    return finish("toyota_smarthome", base, records, classes=classes, task="bias")
