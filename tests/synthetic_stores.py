"""Feature stores written directly, with planted structure: stand-ins for ``precompute`` in training, evaluation
and recipe tests (no video is decoded and no encoder runs a forward pass).

    path = write_action_store(tmp_path / "ucf101.zarr", encoder="videomae-tiny", static_clips=2)

Each writer produces a store that ``precompute --dataset <name>`` could have written: the same recipe (built by
``latentanon.extract.build_recipe`` from the named tiny encoder's spec), video columns, per-video ``meta``
annotations and ``dataset`` attribute (``Dataset.info()``: name, task, classes, attributes). Only the features are
made up, from seeded generators, so that learning tests stay meaningful:

- clip tokens (n, T', D) = appearance (constant over a video, also in its static clips) + per-clip signal (the action
  class, or a detection segment's class, or an anomaly) + Gaussian noise; ``pooled`` = the encoder's own
  ``pool(tokens)`` in fp32, then float16, as precompute stores it;
- appearance = sum over the 7 private attributes of +-1 times the attribute's direction (the 0/1 ``labels`` in
  ``meta``), plus a subject direction where a dataset has subjects, divided by the square root of their number;
- static clips = appearance + small noise (one frame repeated: no motion, so no action).

Directions are unit vectors times sqrt(D), drawn from ``(seed, kind, index)`` only, so two stores with the same
``seed`` and feature dim share them (an adapter trained on the action store meets the same attribute directions in
the privacy store). ``noise`` is the per-dimension standard deviation of the token noise; the strengths scale the
directions. Writing a store takes a fraction of a second (after the first use of an encoder, which builds it).
"""

from __future__ import annotations

import functools
import json
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentanon.contracts import EncoderSpec, Pooler, RandomWeightsWarning
from latentanon.datasets.vispr import ATTRIBUTES
from latentanon.extract import PrecomputeConfig, build_recipe
from latentanon.registry import create_encoder
from latentanon.stores import StoreWriter, VideoRows

FPS = 25.0
FRAME_SIZE = 112  # width and height recorded for every video (the synthetic benchmark's frame size)
GENDER_ATTRIBUTE = ATTRIBUTES.index("a4_gender")
# the official cross-subject protocols (latentanon.datasets.ntu)
NTU_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
TOYOTA_TRAIN_SUBJECTS = (3, 4, 6, 7, 9, 12, 13, 15, 17, 19, 25)
TOYOTA_TEST_SUBJECTS = (2, 5, 8, 10, 11, 14, 16, 18, 20, 21, 22, 23, 24)


# ----------------------------------------------------------------------------------------------- encoder


@functools.cache
def tiny_encoder(name: str) -> torch.nn.Module:
    """The registered encoder ``name`` with its seeded random weights, built once per process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)
        return create_encoder(name)


def encoder_spec(name: str, weights_sha256: str | None = None) -> EncoderSpec:
    """The spec of ``name`` (random weights); ``weights_sha256`` makes it the spec of "another encoder"."""
    spec = tiny_encoder(name).spec
    return spec if weights_sha256 is None else spec.with_weights(spec.weights, weights_sha256)


# ----------------------------------------------------------------------------------------------- planting


def direction(dim: int, seed: int, kind: str, index: int) -> np.ndarray:
    """(D,) float64 unit direction times sqrt(D) (about 1 per dimension), a function of its arguments only."""
    v = np.random.default_rng([seed, zlib.crc32(kind.encode()), index]).standard_normal(dim)
    return v / np.linalg.norm(v) * np.sqrt(dim)


def appearance(dim: int, seed: int, labels, strength: float, subject: int | None = None) -> np.ndarray:
    """(D,) the private attributes' +-directions, plus a subject's own direction when it has one, scaled so that the
    whole appearance has the norm of one direction times ``strength`` (each part still stands out of the noise)."""
    parts = [(2 * int(y) - 1) * direction(dim, seed, "attribute", k) for k, y in enumerate(labels)]
    if subject is not None:
        parts.append(direction(dim, seed, "subject", subject))
    return strength * np.sum(parts, axis=0) / np.sqrt(len(parts))


def balanced_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 7) 0/1 attribute labels, each column half ones (so every split has positives and negatives)."""
    return np.stack([rng.permutation(np.arange(n) % 2) for _ in ATTRIBUTES], axis=1)


@dataclass
class SyntheticVideo:
    """One stored video before noise: its columns, per-clip signal (n, D) and appearance (D,)."""

    key: str
    signal: np.ndarray
    appearance: np.ndarray
    label: int = -1
    split: str = ""
    subject: str = ""
    gender: str = ""
    meta: dict = field(default_factory=dict)
    image: bool = False  # a privacy image: one frame, stored as one padded clip


def write_videos(
    path: str | Path,
    videos: list[SyntheticVideo],
    encoder: str,
    static_clips: int,
    dataset: dict,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
) -> str:
    """Write ``videos`` (sorted by key, as the dataset adapters order them) as a store; returns its path.

    Args:
        dataset: the ``dataset`` attribute (``Dataset.info()``: name, task, classes, attributes).
        noise: per-dimension std of the token noise (static clips get a third of it).
        empty: create the store but commit no video.
    """
    spec = encoder_spec(encoder, weights_sha256)
    pooler = Pooler.from_encoder(tiny_encoder(encoder))
    t, d = spec.tokens_per_clip, spec.feature_dim
    span = spec.clip_length * spec.frame_stride
    recipe = build_recipe(spec, PrecomputeConfig(encoder=encoder, static_clips=static_clips))
    rng = np.random.default_rng([seed, zlib.crc32(b"noise"), zlib.crc32(dataset["name"].encode())])
    videos = [] if empty else sorted(videos, key=lambda v: v.key)
    with StoreWriter(
        str(path), recipe, (t, d), static_clips, extra_attrs={"dataset": dataset}, pooling=pooler.to_record()
    ) as writer:
        for index, v in enumerate(videos):
            n = v.signal.shape[0]
            scale = noise / 3 if v.image else noise  # an image's tokens repeat one frame
            tokens = v.appearance + v.signal[:, None, :] + scale * rng.standard_normal((n, t, d))  # (n, T', D)
            static = v.appearance + noise / 3 * rng.standard_normal((static_clips, 1, d))  # (S, 1, D)
            static = static + noise / 10 * rng.standard_normal((static_clips, t, d))  # (S, T', D)
            frames = 1 if v.image else n * span + int(rng.integers(0, span))
            columns = {
                "key": v.key,
                "index": index,
                "path": f"/synthetic/{dataset['name']}/{v.key}{'.jpg' if v.image else '.mp4'}",
                "label": v.label,
                "split": v.split,
                "subject": v.subject,
                "gender": v.gender,
                "frames": frames,
                "fps": FPS,
                "width": FRAME_SIZE,
                "height": FRAME_SIZE,
                "status": "padded" if frames < span else "ok",
                "meta": json.dumps(v.meta, sort_keys=True),
            }
            writer.add_video(
                VideoRows(
                    columns=columns,
                    tokens=tokens.astype(np.float16),
                    pooled=_pool(pooler, tokens).astype(np.float16),
                    static_tokens=static.astype(np.float16),
                    static_pooled=_pool(pooler, static).astype(np.float16),
                    static_frames=np.round(np.linspace(0, frames - 1, static_clips)).astype(np.int64),
                )
            )
    return str(path)


@torch.no_grad()
def _pool(pooler: Pooler, tokens: np.ndarray) -> np.ndarray:
    """(n, T', D) -> (n, D) float32: the encoder's clip feature (``pool(tokens)``), in fp32 as precompute has it."""
    if not len(tokens):
        return np.zeros((0, tokens.shape[-1]), np.float32)
    return pooler(torch.from_numpy(tokens.astype(np.float32))).numpy()


def _dataset(name: str, task: str, classes=(), attributes=ATTRIBUTES) -> dict:
    return {"name": name, "task": task, "classes": list(classes), "attributes": list(attributes)}


def _gender(subject: int) -> str:
    return "M" if subject % 2 else "F"


def _subject_labels(rng: np.random.Generator, subject: int) -> np.ndarray:
    """Attribute labels of one video of ``subject``: the gender attribute follows the subject's gender."""
    labels = rng.integers(0, 2, len(ATTRIBUTES))
    labels[GENDER_ATTRIBUTE] = int(_gender(subject) == "F")
    return labels


def _meta(labels, **extra) -> dict:
    return {**extra, "labels": [int(x) for x in labels], "synthetic": True}


# ----------------------------------------------------------------------------------------------- stores


def write_action_store(
    path: str | Path,
    encoder: str = "i3d-r50-tiny",
    classes: int = 4,
    groups: int = 9,
    test_groups: int = 3,
    clips_per_group: int = 1,
    clips: tuple[int, int] = (3, 5),
    static_clips: int = 2,
    action: float = 1.0,
    privacy: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
    subjects: bool = True,
    name: str = "ucf101",
) -> str:
    """A UCF101-like trimmed action store: ``classes`` x (``groups`` train + ``test_groups`` test groups) x
    ``clips_per_group`` videos of ``clips`` (lo, hi) clips each; the group is the subject (``gNN``), whose gender
    is the gender attribute. Action: ``action`` x the class direction on every clip. ``subjects=False`` leaves the
    subject and gender columns empty (``evaluate`` then holds validation videos out per class, not per subject)."""
    d = encoder_spec(encoder).feature_dim
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    names = [f"Action{k:02d}" for k in range(classes)]
    videos = []
    for g in range(1, groups + test_groups + 1):
        for k, cls in enumerate(names):
            for c in range(1, clips_per_group + 1):
                labels = _subject_labels(rng, g)
                n = int(rng.integers(clips[0], clips[1] + 1))
                videos.append(
                    SyntheticVideo(
                        key=f"UCF-101/{cls}/v_{cls}_g{g:02d}_c{c:02d}",
                        signal=np.tile(action * direction(d, seed, "action", k), (n, 1)),
                        appearance=appearance(d, seed, labels, privacy, subject=g if subjects else None),
                        label=k,
                        split="train" if g <= groups else "test",
                        subject=f"g{g:02d}" if subjects else "",
                        gender=_gender(g) if subjects else "",
                        meta=_meta(labels, clip=c),
                    )
                )
    dataset_info = _dataset(name, "action", names)
    return write_videos(path, videos, encoder, static_clips, dataset_info, noise, seed, weights_sha256, empty)


def write_privacy_store(
    path: str | Path,
    encoder: str = "i3d-r50-tiny",
    train: int = 40,
    val: int = 12,
    test: int = 20,
    static_clips: int = 0,
    privacy: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
) -> str:
    """A VISPR-like store of privacy images (one padded clip each) with the 7 attribute labels, balanced per split,
    and the gender column of the gender attribute; the features are the attributes' directions (``privacy`` x)
    plus noise."""
    d = encoder_spec(encoder).feature_dim
    rng = np.random.default_rng([seed, zlib.crc32(b"vispr")])
    videos = []
    for split, count in (("train", train), ("val", val), ("test", test)):
        for i, labels in enumerate(balanced_labels(rng, count)):
            videos.append(
                SyntheticVideo(
                    key=f"images/{split}2017/{split}_{i:05d}",
                    signal=np.zeros((1, d)),
                    appearance=appearance(d, seed, labels, privacy),
                    split=split,
                    gender="F" if labels[GENDER_ATTRIBUTE] else "M",  # as the synthetic benchmark's sidecar fills it
                    meta=_meta(labels, id=f"{split}_{i:05d}"),
                    image=True,
                )
            )
    dataset_info = _dataset("vispr", "privacy")
    return write_videos(path, videos, encoder, static_clips, dataset_info, noise, seed, weights_sha256, empty)


def write_tad_store(
    path: str | Path,
    encoder: str = "i3d-r50-tiny",
    classes: int = 4,
    train: int = 6,
    test: int = 4,
    clips: int = 24,
    segments: int = 3,
    static_clips: int = 0,
    action: float = 1.5,
    privacy: float = 0.5,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
) -> str:
    """A THUMOS14-like untrimmed store: videos of ``clips`` clips with ``segments`` non-overlapping action segments
    ``[class, start_s, end_s]`` (``annotation_fps`` 25); only the clips inside a segment carry its class direction."""
    if clips < 2 * segments + 2:
        raise ValueError(f"clips must be >= 2 * segments + 2 to fit {segments} segments, got {clips}")
    spec = encoder_spec(encoder)
    d, span = spec.feature_dim, spec.clip_length * spec.frame_stride / FPS  # seconds per clip
    rng = np.random.default_rng([seed, zlib.crc32(b"thumos14")])
    names = [f"Action{k:02d}" for k in range(classes)]
    videos = []
    for split, count in (("train", train), ("test", test)):
        for i in range(count):
            signal = np.zeros((clips, d))
            bounds = np.sort(rng.choice(np.arange(1, clips // 2), size=segments, replace=False)) * 2  # even starts
            segs = []
            for j, start in enumerate(bounds):
                k = int((i + j) % classes)
                stop = min(start + int(rng.integers(2, 4)), clips, *(b for b in bounds if b > start))
                signal[start:stop] = action * direction(d, seed, "action", k)
                segs.append([k, round(start * span + 0.05, 3), round(stop * span - 0.05, 3)])
            labels = rng.integers(0, 2, len(ATTRIBUTES))
            videos.append(
                SyntheticVideo(
                    key=f"videos/video_{'validation' if split == 'train' else 'test'}_{i:07d}",
                    signal=signal,
                    appearance=appearance(d, seed, labels, privacy),
                    split=split,
                    meta={**_meta(labels, duration=round(clips * span, 3)), "segments": segs, "annotation_fps": FPS},
                )
            )
    dataset_info = _dataset("thumos14", "tad", names)
    return write_videos(path, videos, encoder, static_clips, dataset_info, noise, seed, weights_sha256, empty)


def write_ad_store(
    path: str | Path,
    encoder: str = "i3d-r50-tiny",
    normal_train: int = 6,
    abnormal_train: int = 6,
    normal_test: int = 3,
    abnormal_test: int = 3,
    clips: int = 12,
    static_clips: int = 0,
    anomaly: float = 2.0,
    privacy: float = 0.5,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
) -> str:
    """A UCF-Crime-like anomaly store: classes Normal (label 0) and three anomalies. Every abnormal video has one
    event of 2-4 clips whose clips are shifted by ``anomaly`` x the class's direction; as in UCF-Crime only the test
    videos record it, as inclusive frame ranges ``anomaly_frames`` in ``meta`` (training labels are weak)."""
    if clips < 6:
        raise ValueError(f"clips must be >= 6 (an event of 2-4 clips inside the video), got {clips}")
    spec = encoder_spec(encoder)
    d, span = spec.feature_dim, spec.clip_length * spec.frame_stride
    rng = np.random.default_rng([seed, zlib.crc32(b"ucf_crime")])
    names = ["Normal", "Falling", "Fighting", "Running"]
    videos = []
    plan = [
        ("train", 0, normal_train),
        ("train", 1, abnormal_train),
        ("test", 0, normal_test),
        ("test", 1, abnormal_test),
    ]
    for split, abnormal, count in plan:
        for i in range(count):
            label = 1 + i % (len(names) - 1) if abnormal else 0
            labels = rng.integers(0, 2, len(ATTRIBUTES))
            signal = np.zeros((clips, d))
            meta = _meta(labels)
            if abnormal:
                start = int(rng.integers(1, clips - 4))
                stop = start + int(rng.integers(2, 5))
                signal[start:stop] = anomaly * direction(d, seed, "anomaly", label)
                if split == "test":
                    meta["anomaly_frames"] = [[start * span + 2, stop * span - 3]]
            cls = names[label]
            folder = cls if abnormal else f"{'Training' if split == 'train' else 'Testing'}_Normal_Videos_Anomaly"
            stem = f"{cls}{i:03d}_x264" if abnormal else f"Normal_Videos_{split}{i:03d}_x264"
            videos.append(
                SyntheticVideo(
                    key=f"{folder}/{stem}",
                    signal=signal,
                    appearance=appearance(d, seed, labels, privacy),
                    label=label,
                    split=split,
                    meta=meta,
                )
            )
    dataset_info = _dataset("ucf_crime", "ad", names)
    return write_videos(path, videos, encoder, static_clips, dataset_info, noise, seed, weights_sha256, empty)


def write_gait_store(
    path: str | Path,
    encoder: str = "i3d-r50-tiny",
    subjects: int = 4,
    views: tuple[int, ...] = (0, 90, 180),
    clips: int = 2,
    static_clips: int = 0,
    gait: float = 1.0,
    view: float = 1.0,
    privacy: float = 0.5,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
) -> str:
    """A CASIA-B-like gait store: every subject walks nm-01..06, bg-01..02 and cl-01..02 under every view;
    ``meta`` has ``condition``, ``sequence`` and ``view``; splits gallery (nm-01..04), probe (nm-05..06) and other
    (bg, cl); label = subject index. Features: the subject's gait direction on every clip, the view's and the
    condition's (a bag, a coat) directions, the subject's appearance."""
    d = encoder_spec(encoder).feature_dim
    rng = np.random.default_rng([seed, zlib.crc32(b"casia_b")])
    ids = [f"{s:03d}" for s in range(1, subjects + 1)]
    conditions = {"nm": 6, "bg": 2, "cl": 2}
    videos = []
    for s, subject in enumerate(ids, start=1):
        labels = _subject_labels(rng, s)
        looks = appearance(d, seed, labels, privacy, subject=s)
        for c, (condition, sequences) in enumerate(conditions.items()):
            for seq in range(1, sequences + 1):
                for v in views:
                    shift = gait * direction(d, seed, "gait", s) + view * direction(d, seed, "view", v)
                    if condition != "nm":
                        shift = shift + direction(d, seed, "condition", c)
                    split = "other" if condition != "nm" else ("gallery" if seq <= 4 else "probe")
                    videos.append(
                        SyntheticVideo(
                            key=f"videos/{subject}-{condition}-{seq:02d}-{v:03d}",
                            signal=np.tile(shift, (clips, 1)),
                            appearance=looks,
                            label=s - 1,
                            split=split,
                            subject=subject,
                            gender=_gender(s),
                            meta=_meta(labels, condition=condition, sequence=seq, view=v),
                        )
                    )
    dataset_info = _dataset("casia_b", "gait", ids)
    return write_videos(path, videos, encoder, static_clips, dataset_info, noise, seed, weights_sha256, empty)


def write_bias_store(
    path: str | Path,
    encoder: str = "i3d-r50-tiny",
    dataset: str = "ntu60",
    subjects: int = 8,
    classes: int = 4,
    repetitions: int = 2,
    clips: tuple[int, int] = (2, 3),
    static_clips: int = 0,
    action: float = 1.0,
    privacy: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
    weights_sha256: str | None = None,
    empty: bool = False,
) -> str:
    """A store for the gender-bias protocols, with ``subject`` and ``gender`` columns (odd subjects M, even F).

    ``dataset="ntu60"``: subjects P001.. split by the official cross-subject list, each performs every action
    ``repetitions`` times. ``"toyota_smarthome"``: the first ``subjects // 2`` official train and test subjects
    (p03, p02, ...); action k is performed by subjects of one gender ``repetitions`` times and by the other once
    (the majority gender alternates with k), so the share of women differs per action, as in Toyota Smarthome.
    """
    if dataset not in ("ntu60", "toyota_smarthome"):
        raise ValueError(f"dataset must be ntu60 or toyota_smarthome, got {dataset!r}")
    d = encoder_spec(encoder).feature_dim
    rng = np.random.default_rng([seed, zlib.crc32(dataset.encode())])
    names = [f"Action{k:02d}" for k in range(classes)]
    if dataset == "ntu60":
        people = [(p, "train" if p in NTU_TRAIN_SUBJECTS else "test") for p in range(1, subjects + 1)]
    else:
        half = max(1, subjects // 2)
        people = [(p, "train") for p in TOYOTA_TRAIN_SUBJECTS[:half]] + [
            (p, "test") for p in TOYOTA_TEST_SUBJECTS[:half]
        ]
    videos = []
    for p, split in people:
        for k in range(classes):
            times = repetitions
            if dataset == "toyota_smarthome" and _gender(p) != ("M" if k % 2 else "F"):
                times = 1
            for r in range(1, times + 1):
                labels = _subject_labels(rng, p)
                n = int(rng.integers(clips[0], clips[1] + 1))
                if dataset == "ntu60":
                    key = f"nturgb+d_rgb/S001C001P{p:03d}R{r:03d}A{k + 1:03d}_rgb"
                    meta = {"setup": 1, "camera": 1, "replication": r}
                else:
                    key = f"mp4/{names[k]}_p{p:02d}_r{r:02d}_v01_c01"
                    meta = {"repetition": r, "video": 1, "camera": 1}
                videos.append(
                    SyntheticVideo(
                        key=key,
                        signal=np.tile(action * direction(d, seed, "action", k), (n, 1)),
                        appearance=appearance(d, seed, labels, privacy, subject=p),
                        label=k,
                        split=split,
                        subject=f"P{p:03d}" if dataset == "ntu60" else f"p{p:02d}",
                        gender=_gender(p),
                        meta=_meta(labels, **meta),
                    )
                )
    dataset_info = _dataset(dataset, "bias", names)
    return write_videos(path, videos, encoder, static_clips, dataset_info, noise, seed, weights_sha256, empty)


WRITERS = {
    "action": write_action_store,
    "privacy": write_privacy_store,
    "tad": write_tad_store,
    "ad": write_ad_store,
    "gait": write_gait_store,
    "bias": write_bias_store,
}
