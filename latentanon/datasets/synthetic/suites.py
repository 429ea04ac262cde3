"""Suite planners: what every suite contains, in the official layout of each dataset (see docs/datasets.md).

A planner turns the build config into a :class:`Plan`: the items to render (one video or image each, with its
split, subject, private attributes and action), the annotation files as text, the hard links that expose the same
videos in a second layout, and one ``synthetic_meta.json`` per suite root. Planning draws no pixels, so tests can
check the design of the full-size presets (independence of action and attributes, balance, counts) in
milliseconds. :func:`render_item` draws one item; it depends only on the item and the frame geometry, so items
can be rendered in any order and in parallel with identical results.

Independence of action and attributes holds by construction: within a split, every action class gets the same
subjects (of fixed skin tone and gender presentation) and, for every other attribute, exactly half of its videos
with the attribute (a balanced column drawn afresh per class, so attribute combinations still vary), so the
contingency table of action versus any attribute has identical rows (up to one video when a count is odd). The
exceptions are deliberate: the gender of Toyota Smarthome depends on the action (a naturally biased set), and
suites without an action label (THUMOS untrimmed videos hold every class once per video, anomaly videos, gait
walks) store ``action: null``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from latentanon.datasets.synthetic.events import (
    add_anomaly,
    gait_scene,
    random_segments,
    untrimmed_pose,
    wander,
)
from latentanon.datasets.synthetic.render import head_top, render_scene
from latentanon.datasets.synthetic.world import (
    ATTRIBUTES,
    CLASSES,
    GENDER,
    HUE_BINS,
    PERSONAL,
    SCENE_KINDS,
    SKIN,
    SOCIAL,
    STYLES,
    Identity,
    Scene,
    Style,
    action_pose,
    compose_scene,
    make_background,
    sample_identity,
)

if TYPE_CHECKING:
    from latentanon.datasets.synthetic.build import Config

SUITES = ("action", "vispr", "thumos14", "anomaly", "casia_b", "ntu60", "toyota_smarthome", "pretrain")
EVALUATION_SUITES = SUITES[:-1]  # built when no suite is named; "pretrain" only on request
ROOTS = {
    "pretrain": ("pretrain",),
    "action": ("ucf101", "hmdb51", "kinetics400"),
    "vispr": ("vispr",),
    "thumos14": ("thumos14",),
    "anomaly": ("ucf_crime", "xd_violence", "shanghaitech"),
    "casia_b": ("casia_b",),
    "ntu60": ("ntu60",),
    "toyota_smarthome": ("toyota_smarthome",),
}
TITLES = [c.capitalize() for c in CLASSES]  # UCF101 / THUMOS / Toyota spelling of the class names
ANOMALY_CLASSES = ("Falling", "Fighting", "Running")
# everyday activity of the anomaly scenes (as in surveillance footage: no sprinting, jumping or hitting outside
# the events), so that an anomaly differs from normal behaviour, as in UCF-Crime
CALM_ACTIONS = tuple(CLASSES.index(c) for c in ("bow", "clap", "squat", "walk", "wave"))
XD_CODES = {"Falling": "B6", "Fighting": "B1", "Running": "B4"}  # accident, fighting, riot
NTU_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
TOYOTA_TRAIN = ("p03", "p04", "p06", "p07", "p09", "p12", "p13", "p15", "p17", "p19", "p25")
TOYOTA_TEST = ("p02", "p05", "p08", "p10", "p11", "p14", "p16", "p18", "p20", "p21", "p22", "p23", "p24")
NTU_CAMERA_VIEW = {1: 50.0, 2: 90.0, 3: 130.0}
_CODE = {name: i + 1 for i, name in enumerate(SUITES)}  # suite number in the seeds (pretrain: 8)
# base rates of the seven attributes (ATTRIBUTES order) per benchmark version; None: every column balanced.
# Version 2 is unequal like VISPR's (rare semi-nudity and holding hands, common faces), chance cMAP 0.303.
BASE_RATES: dict[int, tuple[float, ...] | None] = {1: None, 2: (0.4, 0.45, 0.55, 0.2, 0.1, 0.12, 0.3)}
APPEARANCE = ("scene", "shirt")  # appearance labels of the pretraining suite (not private attributes)


def base_rates(cfg: Config) -> tuple[float, ...] | None:
    """The attribute base rates of ``cfg``'s benchmark version (None: balanced)."""
    return BASE_RATES[cfg.benchmark]


@dataclass(frozen=True)
class Item:
    """One video (or image) to render.

    Attributes:
        root: suite root folder the file is written to (``ucf101``).
        path: file path relative to ``root``, POSIX, with extension.
        split: split name as the suite's protocol spells it.
        kind: ``clip`` (one action), ``image``, ``untrimmed`` (segments), ``anomaly`` (events) or ``gait``.
        who: the subject (actor 0).
        labels: the seven private attributes (0/1), in :data:`ATTRIBUTES` order.
        action: class index into :data:`CLASSES`, ``None`` when the video has no single action.
        num_frames: frames to render (1 for images).
        seed: entropy of the item's random generator.
        segments: ``(class, start, end)`` frames, inclusive (untrimmed videos).
        events: ``(anomaly class, start, end)`` frames, inclusive (anomaly videos).
        view: camera view in degrees overriding the random one (gait, NTU cameras).
        condition: gait condition ``nm``/``bg``/``cl``.
        background: entropy of a fixed camera background (shared by the videos of one camera), or ``None``.
        style: benchmark version whose rendering constants apply (:data:`world.STYLES`).
        appearance: ``(scene kind, shirt hue bin)`` fixed for the pretraining suite's labels, or ``None``.
    """

    root: str
    path: str
    split: str
    kind: str
    who: Identity
    labels: tuple[int, ...]
    action: int | None
    num_frames: int
    seed: tuple[int, ...]
    segments: tuple[tuple[int, int, int], ...] = ()
    events: tuple[tuple[str, int, int], ...] = ()
    view: float | None = None
    condition: str = ""
    background: tuple[int, ...] | None = None
    style: int = 1
    appearance: tuple[int, int] | None = None

    @property
    def key(self) -> str:
        """Record key: the path relative to the root without its extension."""
        return self.path.rsplit(".", 1)[0]


@dataclass
class Plan:
    """Everything one suite writes: rendered items, annotation files, links and per-root sidecars."""

    suite: str
    roots: tuple[str, ...]
    items: list[Item]
    files: dict[str, str | bytes] = field(default_factory=dict)  # "root/relative/path" -> content
    links: list[tuple[str, str]] = field(default_factory=list)  # ("root/source", "root/target")


# ----------------------------------------------------------------------------------------------- helpers


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _bits(rng: np.random.Generator, n: int, rate: float = 0.5) -> np.ndarray:
    """(n,) int: ``rate * n`` ones (the fractional one at random; at least one of each value when n >= 2),
    shuffled."""
    if rate == 0.5:  # benchmark 1's draws, kept bit for bit
        ones = n // 2 + (int(rng.integers(2)) if n % 2 else 0)
    else:
        whole, frac = divmod(n * rate, 1.0)
        ones = int(whole) + int(rng.uniform() < frac)
        if n >= 2:  # both values present (a rare attribute of a small split is over-represented)
            ones = min(max(ones, 1), n - 1)
    return rng.permutation(np.r_[np.ones(ones, int), np.zeros(n - ones, int)])


def _table(rng: np.random.Generator, n: int, rates: tuple[float, ...] | None = None) -> np.ndarray:
    """(n, 7) int attribute rows, every column drawn independently with its base rate (balanced when None)."""
    rates = rates or (0.5,) * len(ATTRIBUTES)
    if not n:
        return np.zeros((0, len(ATTRIBUTES)), int)
    return np.stack([_bits(rng, n, r) for r in rates], axis=1)


def _combos(
    rng: np.random.Generator, n: int, rates: tuple[float, ...] | None = None, balanced_gender: bool = False
) -> list[tuple[bool, bool]]:
    """(female, dark) for ``n`` subjects.

    Balanced (``rates`` None, benchmark 1): cycling through the four combinations, any two in a row differ in
    both. With base rates: ``rates[GENDER]`` of them female (half when ``balanced_gender``) and, within each
    gender, ``rates[SKIN]`` of them dark, so that skin and gender stay independent.
    """
    if rates is None:
        f, d = bool(rng.integers(2)), bool(rng.integers(2))
        cycle = [(f, d), (not f, not d), (f, not d), (not f, d)]
        return [cycle[i % 4] for i in range(n)]
    female = _bits(rng, n, 0.5 if balanced_gender else rates[GENDER]).astype(bool)
    dark = np.zeros(n, bool)
    for value in (True, False):
        idx = np.nonzero(female == value)[0]
        dark[idx] = _bits(rng, len(idx), rates[SKIN]).astype(bool)
    for column in (female, dark):  # every split of two or more subjects shows both values of both attributes
        if n >= 2 and column.all() or n >= 2 and not column.any():
            column[int(rng.integers(n))] ^= True
    return [(bool(f), bool(d)) for f, d in zip(female, dark)]


def _gender(female: bool) -> str:
    return "F" if female else "M"


def _labels(row: np.ndarray, who: Identity, personal: int | None = None, social: int | None = None) -> tuple:
    """Attribute row with skin and gender from the subject (and optionally fixed relationship attributes)."""
    out = [int(v) for v in row]
    out[SKIN], out[GENDER] = int(who.dark), int(who.female)
    if personal is not None:
        out[PERSONAL] = personal
    if social is not None:
        out[SOCIAL] = social
    return tuple(out)


def _meta(classes, items: list[tuple[str, Item]]) -> str:
    """``synthetic_meta.json`` text for ``(key, item)`` pairs."""
    videos = {
        key: {"labels": list(it.labels), "subject": it.who.subject, "gender": _gender(it.who.female),
              "action": it.action, **({"appearance": dict(zip(APPEARANCE, it.appearance))} if it.appearance else {})}
        for key, it in items
    }  # fmt: skip
    return json.dumps({"attributes": list(ATTRIBUTES), "classes": list(classes), "videos": videos}, indent=1) + "\n"


def _lines(rows) -> str:
    return "".join(f"{row}\n" for row in rows)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------- action


def plan_action(cfg: Config) -> Plan:
    """Trimmed action clips in the UCF101 layout, exposed again (hard links) as HMDB51 and Kinetics-400.

    Groups ``g01..gG`` are subjects (one actor per group, as in UCF101); groups ``1..action_test_groups`` form the
    test split. Every class has ``action_clips_per_group`` clips of every group.
    """
    code, seed, rates = _CODE["action"], cfg.seed, base_rates(cfg)
    groups = list(range(1, cfg.action_groups + 1))
    split_of = {g: "test" if g <= cfg.action_test_groups else "train" for g in groups}
    who, rows = {}, {}
    for s, split in enumerate(("train", "test")):
        members = [g for g in groups if split_of[g] == split]
        combos = _combos(_rng(seed, code, 0, s), len(members), rates)
        for i, g in enumerate(members):
            who[g] = sample_identity(_rng(seed, code, 2, g), f"g{g:02d}", *combos[i])
        for a in range(len(CLASSES)):
            table = _table(_rng(seed, code, 1, s, a), len(members) * cfg.action_clips_per_group, rates)
            for i, g in enumerate(members):
                for c in range(cfg.action_clips_per_group):
                    rows[a, g, c + 1] = _labels(table[i * cfg.action_clips_per_group + c], who[g])
    plan = Plan("action", ROOTS["action"], [])
    ucf_meta, hmdb_meta, k400_meta = [], [], []
    trainlist, testlist = [], []
    hmdb_splits: dict[str, list[str]] = {c: [] for c in CLASSES}
    k400 = {"train": [], "test": []}
    duration = math.ceil(cfg.action_frames / cfg.fps)
    for a, (cls, title) in enumerate(zip(CLASSES, TITLES)):
        for g in groups:
            for c in range(1, cfg.action_clips_per_group + 1):
                name = f"v_{title}_g{g:02d}_c{c:02d}"
                item = Item(
                    root="ucf101",
                    path=f"UCF-101/{title}/{name}.avi",
                    split=split_of[g],
                    kind="clip",
                    who=who[g],
                    labels=rows[a, g, c],
                    action=a,
                    num_frames=cfg.action_frames,
                    seed=(seed, code, 3, a, g, c),
                )
                plan.items.append(item)
                ucf_meta.append((item.key, item))
                (trainlist if item.split == "train" else testlist).append(
                    f"{title}/{name}.avi {a + 1}" if item.split == "train" else f"{title}/{name}.avi"
                )
                hmdb_name = f"{cls}_g{g:02d}_c{c:02d}"
                plan.links.append((f"ucf101/{item.path}", f"hmdb51/videos/{cls}/{hmdb_name}.avi"))
                hmdb_meta.append((f"videos/{cls}/{hmdb_name}", item))
                hmdb_splits[cls].append(f"{hmdb_name}.avi {1 if item.split == 'train' else 2}")
                youtube_id = hashlib.sha1(item.path.encode()).hexdigest()[:11]
                k400_stem = f"{youtube_id}_{0:06d}_{duration:06d}"
                plan.links.append((f"ucf101/{item.path}", f"kinetics400/videos/{k400_stem}.mp4"))
                k400_meta.append((f"videos/{k400_stem}", item))
                k400[item.split].append(
                    f"{cls},{youtube_id},0,{duration},{'train' if item.split == 'train' else 'val'}"
                )
    files = plan.files
    files["ucf101/ucfTrainTestlist/classInd.txt"] = _lines(f"{i + 1} {t}" for i, t in enumerate(TITLES))
    for k in (1, 2, 3):  # splits 02 and 03 repeat split 01
        files[f"ucf101/ucfTrainTestlist/trainlist{k:02d}.txt"] = _lines(trainlist)
        files[f"ucf101/ucfTrainTestlist/testlist{k:02d}.txt"] = _lines(testlist)
        for cls in CLASSES:
            files[f"hmdb51/testTrainMulti_7030_splits/{cls}_test_split{k}.txt"] = _lines(hmdb_splits[cls])
    header = "label,youtube_id,time_start,time_end,split\n"
    files["kinetics400/annotations/train.csv"] = header + _lines(k400["train"])
    files["kinetics400/annotations/validate.csv"] = header + _lines(k400["test"])
    files["kinetics400/annotations/test.csv"] = header  # the test groups are the validation set
    files["ucf101/synthetic_meta.json"] = _meta(TITLES, ucf_meta)
    files["hmdb51/synthetic_meta.json"] = _meta(CLASSES, hmdb_meta)
    files["kinetics400/synthetic_meta.json"] = _meta(CLASSES, k400_meta)
    return plan


# ----------------------------------------------------------------------------------------------- vispr


def plan_vispr(cfg: Config) -> Plan:
    """Single-frame privacy images (one action pose each) with the seven attributes, splits train/val/test."""
    code, seed = _CODE["vispr"], cfg.seed
    plan = Plan("vispr", ROOTS["vispr"], [])
    meta = []
    counter = 0
    per_class = {"train": cfg.vispr_train_per_class, "val": cfg.vispr_val_per_class, "test": cfg.vispr_test_per_class}
    for s, (split, n) in enumerate(per_class.items()):
        for a in range(len(CLASSES)):
            table = _table(_rng(seed, code, 1, s, a), n, base_rates(cfg))
            for j in range(n):
                image_id = f"2017_{10_000_000 + counter:08d}"
                row = table[j]
                who = sample_identity(
                    _rng(seed, code, 2, counter), f"v{counter:06d}", bool(row[GENDER]), bool(row[SKIN])
                )
                item = Item(
                    root="vispr",
                    path=f"images/{split}2017/{image_id}.jpg",
                    split=split,
                    kind="image",
                    who=who,
                    labels=tuple(int(v) for v in row),
                    action=a,
                    num_frames=1,
                    seed=(seed, code, 3, counter),
                )
                plan.items.append(item)
                meta.append((item.key, item))
                names = [name for name, v in zip(ATTRIBUTES, item.labels) if v] or ["a0_safe"]
                record = {"id": image_id, "image_path": item.path, "labels": names}
                plan.files[f"vispr/annotations/{split}2017/{image_id}.json"] = json.dumps(record, indent=1) + "\n"
                counter += 1
    plan.files["vispr/synthetic_meta.json"] = _meta(TITLES, meta)
    return plan


# ----------------------------------------------------------------------------------------------- thumos


def plan_thumos(cfg: Config) -> Plan:
    """Untrimmed videos: every class once per video, in random order, between idle gaps (THUMOS14 layout)."""
    code, seed, fps = _CODE["thumos14"], cfg.seed, cfg.fps
    plan = Plan("thumos14", ROOTS["thumos14"], [])
    database, meta = {}, []
    for s, (split, subset, n) in enumerate(
        (("train", "Validation", cfg.thumos_train), ("test", "Test", cfg.thumos_test))
    ):
        table = _table(_rng(seed, code, 1, s), n, base_rates(cfg))
        for i in range(n):
            rng = _rng(seed, code, 2, s, i)
            order = rng.permutation(len(CLASSES))
            t = int(round(rng.uniform(0.7, 1.3) * cfg.thumos_gap_s * fps))
            segments = []
            for a in order:
                length = max(8, int(round(rng.uniform(0.7, 1.3) * cfg.thumos_segment_s * fps)))
                segments.append((int(a), t, t + length - 1))
                t += length + max(4, int(round(rng.uniform(0.7, 1.3) * cfg.thumos_gap_s * fps)))
            video_id = f"video_{subset.lower()}_{i + 1:07d}"
            row = table[i]
            who = sample_identity(_rng(seed, code, 3, s, i), f"t{s}{i:04d}", bool(row[GENDER]), bool(row[SKIN]))
            item = Item(
                root="thumos14",
                path=f"videos/{video_id}.mp4",
                split=split,
                kind="untrimmed",
                who=who,
                labels=tuple(int(v) for v in row),
                action=None,
                num_frames=t,
                seed=(seed, code, 4, s, i),
                segments=tuple(segments),
            )
            plan.items.append(item)
            meta.append((item.key, item))
            database[video_id] = {
                "subset": subset,
                "duration": round(t / fps, 3),
                "fps": float(fps),
                "annotations": [
                    {"label": TITLES[a], "segment": [round(st / fps, 3), round((en + 1) / fps, 3)], "label_id": a}
                    for a, st, en in segments
                ],
            }
    plan.files["thumos14/annotations/thumos14.json"] = json.dumps({"database": database}, indent=1) + "\n"
    plan.files["thumos14/synthetic_meta.json"] = _meta(TITLES, meta)
    return plan


# ----------------------------------------------------------------------------------------------- anomaly


def _events(
    rng: np.random.Generator, kind: str, num_frames: int, fps: float, style: Style = STYLES[1]
) -> tuple[tuple[str, int, int], ...]:
    """One or two non-overlapping events in the video's middle 80%, of ``style.event_seconds`` each (2.5-5 s and at
    most a quarter of the video in benchmark 1; 5-8 s and at most 30% in benchmark 2)."""
    shortest, longest, share = style.event_seconds
    count = 2 if rng.uniform() < 0.3 else 1
    lo, hi = int(0.1 * num_frames), int(0.9 * num_frames)
    slot = (hi - lo) // count
    out = []
    for k in range(count):
        length = int(min(rng.uniform(shortest, longest) * fps, num_frames * share, slot - 2))
        start = lo + k * slot + int(rng.integers(0, max(1, slot - length)))
        out.append((kind, start, start + length - 1))
    return tuple(out)


def _hms(seconds: float) -> str:
    s = int(math.ceil(seconds))
    return f"{s // 3600:02d}-{s % 3600 // 60:02d}-{s % 60:02d}"


def plan_anomaly(cfg: Config) -> Plan:
    """Normal and anomalous long videos (UCF-Crime layout), exposed again as XD-Violence and ShanghaiTech.

    Videos come from ``anomaly_scenes`` fixed cameras (one background each). Normal behaviour: every actor
    wanders slowly and alternates idle periods with calm actions (:data:`CALM_ACTIONS`); anomalous videos add one
    or two events of their class to the subject.
    """
    code, seed, fps = _CODE["anomaly"], cfg.seed, cfg.fps
    videos = []  # (split, kind or None)
    for split, normal, per_class in (
        ("train", cfg.anomaly_normal_train, cfg.anomaly_train_per_class),
        ("test", cfg.anomaly_normal_test, cfg.anomaly_test_per_class),
    ):
        videos += [(split, None)] * normal + [(split, kind) for kind in ANOMALY_CLASSES for _ in range(per_class)]
    rates = base_rates(cfg)
    tables = {
        s: iter(_table(_rng(seed, code, 1, i), sum(v[0] == s for v in videos), rates))
        for i, s in enumerate(("train", "test"))
    }
    plan = Plan("anomaly", ROOTS["anomaly"], [])
    lists = {"train": [], "test": []}
    temporal, xd_annotations, sh_lists, sh_abnormal = [], [], {"train": [], "test": []}, []
    metas = {root: [] for root in ROOTS["anomaly"]}
    counts: dict[tuple, int] = {}
    for v, (split, kind) in enumerate(videos):
        rng = _rng(seed, code, 2, v)
        num_frames = int(round(cfg.anomaly_seconds * rng.uniform(0.8, 1.2) * fps))
        camera = int(rng.integers(cfg.anomaly_scenes))
        events = _events(rng, kind, num_frames, fps, STYLES[cfg.benchmark]) if kind else ()
        row = next(tables[split])
        who = sample_identity(_rng(seed, code, 3, v), f"a{v:04d}", bool(row[GENDER]), bool(row[SKIN]))
        group = kind or f"Normal_{split}"
        counts[group] = counts.get(group, 0) + 1
        n = counts[group]
        if kind:
            path = f"{kind}/{kind}{n:03d}_x264.mp4"
        elif split == "train":
            path = f"Training_Normal_Videos_Anomaly/Normal_Videos{n:03d}_x264.mp4"
        else:
            path = f"Testing_Normal_Videos_Anomaly/Normal_Videos_{n:03d}_x264.mp4"
        item = Item(
            root="ucf_crime",
            path=path,
            split=split,
            kind="anomaly",
            who=who,
            labels=tuple(int(x) for x in row),
            action=None,
            num_frames=num_frames,
            seed=(seed, code, 4, v),
            events=events,
            background=(seed, code, 5, camera),
        )
        plan.items.append(item)
        metas["ucf_crime"].append((item.key, item))
        lists[split].append(path)
        ranges = [(s, e) for _, s, e in events]
        if split == "test":
            # UCF-Crime frame numbers are 1-based and inclusive (the official MATLAB evaluation)
            flat = [x + 1 for r in ranges for x in r] + [-1] * (4 - 2 * len(ranges))
            temporal.append(f"{path.rsplit('/', 1)[-1]}  {kind or 'Normal'}  " + "  ".join(str(x) for x in flat))
        xd_code = f"{XD_CODES[kind]}-0-0" if kind else "A"
        xd_name = f"Synthetic.Cam{camera + 1:02d}.{v + 1:04d}__#00-00-00_{_hms(num_frames / fps)}_label_{xd_code}"
        plan.links.append((f"ucf_crime/{path}", f"xd_violence/{split}/{xd_name}.mp4"))
        metas["xd_violence"].append((f"{split}/{xd_name}", item))
        if split == "test" and kind:
            # XD-Violence pairs are 0-based with an exclusive end (the authors' make_gt.py: gt[s:e] = 1)
            xd_annotations.append(f"{xd_name} " + " ".join(f"{s} {e + 1}" for s, e in ranges))
        sh_group = ("abnormal" if kind else "normal", camera)
        counts[sh_group] = counts.get(sh_group, 0) + 1
        sh_name = f"{camera + 1:02d}_{counts[sh_group]:04d}" if kind else f"{camera + 1:02d}_{counts[sh_group]:03d}"
        plan.links.append((f"ucf_crime/{path}", f"shanghaitech/videos/{sh_name}.avi"))
        metas["shanghaitech"].append((f"videos/{sh_name}", item))
        sh_lists[split].append(sh_name)
        if split == "train" and kind:
            sh_abnormal.append(sh_name)
        if split == "test":
            mask = np.zeros(num_frames, np.uint8)
            for s, e in ranges:
                mask[s : e + 1] = 1
            plan.files[f"shanghaitech/test_frame_mask/{sh_name}.npy"] = _npy(mask)
    files = plan.files
    files["ucf_crime/Anomaly_Train.txt"] = _lines(lists["train"])
    files["ucf_crime/Anomaly_Test.txt"] = _lines(lists["test"])
    files["ucf_crime/Temporal_Anomaly_Annotation_for_Testing_Videos.txt"] = _lines(temporal)
    files["xd_violence/annotations.txt"] = _lines(xd_annotations)
    files["shanghaitech/SH_Train.txt"] = _lines(sh_lists["train"])
    files["shanghaitech/SH_Test.txt"] = _lines(sh_lists["test"])
    files["shanghaitech/SH_Train_abnormal.txt"] = _lines(sh_abnormal)
    files["ucf_crime/synthetic_meta.json"] = _meta(("Normal",) + ANOMALY_CLASSES, metas["ucf_crime"])
    files["xd_violence/synthetic_meta.json"] = _meta(("Normal", "Abnormal"), metas["xd_violence"])
    files["shanghaitech/synthetic_meta.json"] = _meta(("Normal", "Abnormal"), metas["shanghaitech"])
    return plan


# ----------------------------------------------------------------------------------------------- gait


def plan_casia(cfg: Config) -> Plan:
    """Gait: every subject walks nm-01..06, bg-01..02, cl-01..02, each seen from every view (Casia-B layout)."""
    code, seed = _CODE["casia_b"], cfg.seed
    n = cfg.gait_subjects
    combos = _combos(_rng(seed, code, 0), n, base_rates(cfg))
    table = _table(_rng(seed, code, 1), n, base_rates(cfg))
    plan = Plan("casia_b", ROOTS["casia_b"], [])
    meta = []
    for i in range(n):
        subject = f"{i + 1:03d}"
        who = sample_identity(_rng(seed, code, 2, i), subject, *combos[i])
        labels = _labels(table[i], who, personal=0, social=0)  # one walker
        for c, (condition, repeats) in enumerate((("nm", 6), ("bg", 2), ("cl", 2))):
            for r in range(1, repeats + 1):
                split = "other" if condition != "nm" else ("gallery" if r <= 4 else "probe")
                for view in cfg.gait_views:
                    item = Item(
                        root="casia_b",
                        path=f"videos/{subject}-{condition}-{r:02d}-{view:03d}.avi",
                        split=split,
                        kind="gait",
                        who=who,
                        labels=labels,
                        action=None,
                        num_frames=cfg.gait_frames,
                        seed=(seed, code, 3, i, c, r, view),
                        view=float(view),
                        condition=condition,
                        background=(seed, code, 4, view),
                    )
                    plan.items.append(item)
                    meta.append((item.key, item))
    plan.files["casia_b/synthetic_meta.json"] = _meta([f"{i + 1:03d}" for i in range(n)], meta)
    return plan


# ----------------------------------------------------------------------------------------------- gender bias


def plan_ntu(cfg: Config) -> Plan:
    """Subject-labelled action videos (NTU-60 layout, cross-subject split), genders balanced in each split."""
    code, seed = _CODE["ntu60"], cfg.seed
    subjects = list(range(1, cfg.ntu_subjects + 1))
    plan = Plan("ntu60", ROOTS["ntu60"], [])
    who, rows, split_of = {}, {}, {}
    for s, split in enumerate(("train", "test")):
        members = [p for p in subjects if (p in NTU_TRAIN_SUBJECTS) == (split == "train")]
        combos = _combos(_rng(seed, code, 0, s), len(members), base_rates(cfg), balanced_gender=True)
        for i, p in enumerate(members):
            split_of[p] = split
            who[p] = sample_identity(_rng(seed, code, 2, p), f"P{p:03d}", *combos[i])
        for a in range(len(CLASSES)):
            table = _table(_rng(seed, code, 1, s, a), len(members) * cfg.ntu_repetitions, base_rates(cfg))
            for i, p in enumerate(members):
                for r in range(cfg.ntu_repetitions):
                    rows[a, p, r + 1] = _labels(table[i * cfg.ntu_repetitions + r], who[p])
    meta = []
    for p in subjects:
        for a in range(len(CLASSES)):
            for r in range(1, cfg.ntu_repetitions + 1):
                for c in range(1, cfg.ntu_cameras + 1):
                    item = Item(
                        root="ntu60",
                        path=f"nturgb+d_rgb/S001C{c:03d}P{p:03d}R{r:03d}A{a + 1:03d}_rgb.avi",
                        split=split_of[p],
                        kind="clip",
                        who=who[p],
                        labels=rows[a, p, r],
                        action=a,
                        num_frames=cfg.ntu_frames,
                        seed=(seed, code, 3, p, a, r, c),
                        view=NTU_CAMERA_VIEW[(c - 1) % 3 + 1],
                    )
                    plan.items.append(item)
                    meta.append((item.key, item))
    plan.files["ntu60/subject_gender.csv"] = "subject,gender\n" + _lines(
        f"P{p:03d},{_gender(who[p].female)}" for p in subjects
    )
    plan.files["ntu60/classes.txt"] = _lines(CLASSES)
    plan.files["ntu60/synthetic_meta.json"] = _meta(CLASSES, meta)
    return plan


def plan_toyota(cfg: Config) -> Plan:
    """Action videos whose share of female subjects depends on the action (Toyota Smarthome layout).

    The share P(female | action) runs from 0.1 to 0.9 over the classes in a seeded random order, in both splits;
    skin tone stays balanced within every action and the other attributes are independent of the action.
    """
    code, seed = _CODE["toyota_smarthome"], cfg.seed
    if cfg.toyota_train_subjects > len(TOYOTA_TRAIN) or cfg.toyota_test_subjects > len(TOYOTA_TEST):
        raise ValueError(
            f"toyota_train_subjects <= {len(TOYOTA_TRAIN)} and toyota_test_subjects <= {len(TOYOTA_TEST)} "
            f"(the cross-subject protocol's ids), got {cfg.toyota_train_subjects} and {cfg.toyota_test_subjects}"
        )
    share = _rng(seed, code, 0).permutation(np.linspace(0.1, 0.9, len(CLASSES)))
    plan = Plan("toyota_smarthome", ROOTS["toyota_smarthome"], [])
    who, meta = {}, []
    n = cfg.toyota_videos_per_action
    for s, (split, ids) in enumerate(
        (("train", TOYOTA_TRAIN[: cfg.toyota_train_subjects]), ("test", TOYOTA_TEST[: cfg.toyota_test_subjects]))
    ):
        combos = _combos(_rng(seed, code, 1, s), len(ids), base_rates(cfg), balanced_gender=True)
        for i, pid in enumerate(ids):
            who[pid] = sample_identity(_rng(seed, code, 2, int(pid[1:])), pid, *combos[i])
        by_gender = {}
        for female in (True, False):  # alternate skin tones so that cycling through a gender balances skin
            dark = [p for p in ids if who[p].female == female and who[p].dark]
            light = [p for p in ids if who[p].female == female and not who[p].dark]
            by_gender[female] = [p for pair in zip(dark, light) for p in pair] + dark[len(light) :] + light[len(dark) :]
        takes: dict[tuple[str, int], int] = {}
        for a, title in enumerate(TITLES):
            table = _table(_rng(seed, code, 3, s, a), n, base_rates(cfg))
            n_female = int(round(share[a] * n))
            for j in range(n):
                female = j < n_female
                pool = by_gender[female] or by_gender[not female]
                pid = pool[(j if female else j - n_female) % len(pool)]
                takes[pid, a] = takes.get((pid, a), 0) + 1
                camera = int(_rng(seed, code, 4, s, a, j).integers(1, 8))
                item = Item(
                    root="toyota_smarthome",
                    path=f"mp4/{title}_{pid}_r00_v{takes[pid, a]:02d}_c{camera:02d}.mp4",
                    split=split,
                    kind="clip",
                    who=who[pid],
                    labels=_labels(table[j], who[pid]),
                    action=a,
                    num_frames=cfg.toyota_frames,
                    seed=(seed, code, 5, s, a, j),
                )
                plan.items.append(item)
                meta.append((item.key, item))
    plan.files["toyota_smarthome/subject_gender.csv"] = "subject,gender\n" + _lines(
        f"{p},{_gender(who[p].female)}" for p in sorted(who)
    )
    plan.files["toyota_smarthome/synthetic_meta.json"] = _meta(TITLES, meta)
    return plan


# ----------------------------------------------------------------------------------------------- pretraining


def plan_pretrain(cfg: Config) -> Plan:
    """Action clips for pretraining encoders, disjoint from every evaluation suite (Kinetics-400 layout).

    The stand-in for Kinetics when the evaluation suites stand in for UCF101 and the rest: its own subjects
    (``k0001..``, drawn from their own seeds, so no person, background or video of an evaluation suite appears),
    the same ten actions and the benchmark version's attribute base rates, and two appearance labels that are
    not private attributes (``synthetic_meta.json`` ``appearance``): ``scene``, the background's gradient and
    texture (9 kinds), and ``shirt``, the hue sixth of the subject's shirt, for pretraining objectives that keep
    appearance in the features the way Kinetics-trained encoders do. Splits: ``train`` (annotations/train.csv)
    and ``val`` (validate.csv, its own subjects, for choosing the epoch).
    """
    code, seed, rates = _CODE["pretrain"], cfg.seed, base_rates(cfg)
    n_val = max(1, cfg.pretrain_subjects // 10)
    plan = Plan("pretrain", ROOTS["pretrain"], [])
    meta, rows = [], {"train": [], "val": []}
    duration = math.ceil(cfg.pretrain_frames / cfg.fps)
    counter = 0
    sizes = (("train", cfg.pretrain_train_per_class), ("val", cfg.pretrain_val_per_class))
    for s, (split, per_class) in enumerate(sizes):
        ids = list(range(n_val, cfg.pretrain_subjects)) if split == "train" else list(range(n_val))
        combos = _combos(_rng(seed, code, 0, s), len(ids), rates)
        people = [sample_identity(_rng(seed, code, 1, p), f"k{p + 1:04d}", *combos[i]) for i, p in enumerate(ids)]
        for a, cls in enumerate(CLASSES):
            table = _table(_rng(seed, code, 2, s, a), per_class, rates)
            look = _rng(seed, code, 3, s, a)
            scenes, shirts = look.integers(SCENE_KINDS, size=per_class), look.integers(HUE_BINS, size=per_class)
            for j in range(per_class):
                who = people[int(look.integers(len(people)))]
                youtube_id = hashlib.sha1(f"pretrain/{seed}/{counter}".encode()).hexdigest()[:11]
                item = Item(
                    root="pretrain",
                    path=f"videos/{youtube_id}_{0:06d}_{duration:06d}.mp4",
                    split=split,
                    kind="clip",
                    who=who,
                    labels=_labels(table[j], who),
                    action=a,
                    num_frames=cfg.pretrain_frames,
                    seed=(seed, code, 4, counter),
                    appearance=(int(scenes[j]), int(shirts[j])),
                )
                plan.items.append(item)
                meta.append((item.key, item))
                rows[split].append(f"{cls},{youtube_id},0,{duration},{'train' if split == 'train' else 'val'}")
                counter += 1
    header = "label,youtube_id,time_start,time_end,split\n"
    plan.files["pretrain/annotations/train.csv"] = header + _lines(rows["train"])
    plan.files["pretrain/annotations/validate.csv"] = header + _lines(rows["val"])
    plan.files["pretrain/annotations/test.csv"] = header
    plan.files["pretrain/synthetic_meta.json"] = _meta(CLASSES, meta)
    return plan


def plan_suite(cfg: Config, suite: str) -> Plan:
    """The plan of ``suite`` for ``cfg``, every item drawn in the style of ``cfg.benchmark``."""
    plan = PLANNERS[suite](cfg)
    if cfg.benchmark != 1:
        plan.items = [dataclasses.replace(it, style=cfg.benchmark) for it in plan.items]
    return plan


PLANNERS = {
    "pretrain": plan_pretrain,
    "action": plan_action,
    "vispr": plan_vispr,
    "thumos14": plan_thumos,
    "anomaly": plan_anomaly,
    "casia_b": plan_casia,
    "ntu60": plan_ntu,
    "toyota_smarthome": plan_toyota,
}


# ----------------------------------------------------------------------------------------------- rendering


def render_item(item: Item, size: tuple[int, int], fps: float) -> np.ndarray:
    """Render one item: uint8 frames (T, H, W, 3), T = ``item.num_frames``."""
    return render_scene(item_scene(item, size, fps))


def item_scene(item: Item, size: tuple[int, int], fps: float) -> Scene:
    """The scene of one item (background, actors and camera of its ``item.num_frames`` frames) at frame ``size``."""
    rng = np.random.default_rng(list(item.seed))
    num = item.num_frames
    height, width = size
    look = STYLES[item.style]
    hz = look.level_hz
    if item.kind in ("clip", "image"):
        zoom, wide, composed = None, False, size
        if item.kind == "image":
            zoom = look.image_zoom
            if look.image_cover is not None:
                look = dataclasses.replace(look, cover_color=look.image_cover)
        if zoom is not None:
            wide = bool(item.labels[SOCIAL] or item.labels[PERSONAL])  # everyone in view
            z = float(rng.uniform(*zoom[int(wide)]))
            composed = (int(round(height * z)), int(round(width * z)))
        scene = compose_scene(
            rng,
            item.labels,
            item.who,
            num,
            composed,
            fps,
            lambda r, k: action_pose(r, item.action, num, fps, hz),
            style=look,
            appearance=item.appearance,
        )
        if zoom is not None:  # a closer camera: cut the frame around the subject's head and upper body
            m, people = scene.margin, scene.actors if wide else scene.actors[:1]
            top = min(float(head_top(a)[0]) for a in people) - m - 0.05 * height  # the highest head 0.05 H below
            if top < 0 and not wide:  # the head would be above the scene: the subject stands closer, lower in view
                for actor in scene.actors:
                    actor.floor -= top
            centre = (min(a.x for a in people) + max(a.x for a in people)) / 2 - m  # the subject, or the group's
            y0 = int(np.clip(round(top), 0, composed[0] - height))
            x0 = int(np.clip(round(centre - width / 2), 0, composed[1] - width))
            scene = dataclasses.replace(scene, size=size, offset=(y0, x0))
        if item.view is not None:
            for actor in scene.actors:
                actor.view = item.view + float(rng.uniform(-8, 8))
    elif item.kind == "untrimmed":
        scene = compose_scene(
            rng,
            item.labels,
            item.who,
            num,
            size,
            fps,
            lambda r, k: untrimmed_pose(r, list(item.segments), num, fps, hz),
            style=look,
        )
    elif item.kind == "anomaly":
        background = make_background(np.random.default_rng(list(item.background)), height, width, 2)
        fight = any(kind == "Fighting" for kind, _, _ in item.events)

        def normal(r: np.random.Generator, k: int) -> np.ndarray:
            calm = [(CALM_ACTIONS[c], a, e) for c, a, e in random_segments(r, num, fps, len(CALM_ACTIONS))]
            return untrimmed_pose(r, calm, num, fps, hz)

        scene = compose_scene(
            rng,
            item.labels,
            item.who,
            num,
            size,
            fps,
            normal,
            background=background,
            min_actors=2 if fight else 1,
            style=look
            if look.anomaly_group_scale is None
            else dataclasses.replace(look, actor_scale=(*look.actor_scale[:2], look.anomaly_group_scale)),
        )
        held = {k for pair in scene.holds for k in pair}
        shared = wander(rng, num, fps, width)
        for k, actor in enumerate(scene.actors):
            actor.drift = shared.copy() if k in held else wander(rng, num, fps, width)
        for kind, start, end in item.events:
            add_anomaly(rng, scene, kind, start, end, fps, look)
    elif item.kind == "gait":
        scene = gait_scene(
            rng,
            item.who,
            item.labels,
            item.view,
            item.condition,
            num,
            size,
            fps,
            np.random.default_rng(list(item.background)),
            style=look,
        )
    else:
        raise ValueError(f"unknown item kind {item.kind!r}")
    return scene
