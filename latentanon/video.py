"""Video input: discovering inputs, streaming decode with PyAV, clip sampling, transforms and static clips.

Inputs (see :func:`discover_videos`):
    * a directory, scanned recursively for ``.mp4 .avi .mkv .webm .mov``; key = relative path without extension;
    * a ``.csv`` or ``.json`` file list: ``path`` plus optional ``key``, ``label``, ``split``, ``subject``,
      ``gender`` columns (relative paths resolve against the list's folder);
    * webdataset tar shards: ``shards.tar``, a brace pattern ``shards-{000..009}.tar`` or a ``.txt`` listing
      shards; each sample's video member (``<key>.mp4`` ...) is decoded from bytes with PyAV, ``<key>.cls`` holds
      an optional integer label and ``<key>.json`` optional metadata.

Decoding streams frame by frame: memory does not grow with video length.

Clip rule (documented in docs/store.md): clips are ``spec.clip_length`` frames taken every ``spec.frame_stride``
frames, non-overlapping, starting at frame 0. The final partial clip is dropped. A video with frames but fewer
than one clip's span gives exactly one clip, padded by repeating its last frame (status ``padded``).

Static clips: ``S`` frames at ``linspace(0, n - 1, S)`` (rounded), each augmented once (random resized crop of
scale 0.8-1.0 and aspect 3/4-4/3 on the full frame, horizontal flip with p=0.5) from a generator seeded by
``(seed, key)``, then repeated to the clip length.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentanon.contracts import EncoderSpec

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov")
_RECORD_COLUMNS = ("path", "key", "label", "split", "subject", "gender")


@dataclass(frozen=True)
class VideoRecord:
    """One input video.

    Attributes:
        key: stable unique id (relative path without extension, or the webdataset ``__key__``).
        path: file path or URL of the video, or of the tar shard that holds it.
        member: name of the video inside the tar shard, ``None`` for plain files.
        offset: unused, -1 (shards are streamed with webdataset, not seeked).
        size: byte size of the member (tar members only).
        label: integer class label, ``None`` if unknown.
        split: split name (``train``, ``test``, ...), ``None`` if unknown.
        subject: subject/actor id, ``None`` if unknown.
        gender: perceived gender label of the subject (``"M"``/``"F"`` or the dataset's own), ``None`` if unknown.
        labels: multi-label targets as a 0/1 tuple (VISPR attributes), empty if none.
        segments: labelled temporal segments ``(label, start_s, end_s)`` in seconds (action detection).
        anomaly_frames: anomalous frame ranges ``(start, end)``, inclusive, 0-based (anomaly detection); an
            anomaly-detection video with none is normal.
        fps: frame rate the annotations were made at, ``None`` to trust the container.
        meta: extra JSON-serialisable metadata stored with the video.
    """

    key: str
    path: str
    member: str | None = None
    offset: int = -1
    size: int = -1
    label: int | None = None
    split: str | None = None
    subject: str | None = None
    gender: str | None = None
    labels: tuple[int, ...] = ()
    segments: tuple[tuple[int, float, float], ...] = ()
    anomaly_frames: tuple[tuple[int, int], ...] = ()
    fps: float | None = None
    meta: dict = field(default_factory=dict)

    def annotations(self) -> dict:
        """The annotation fields as stored in the store's per-video ``meta`` JSON (only those that are set)."""
        out = dict(self.meta)
        if self.labels:
            out["labels"] = [int(x) for x in self.labels]
        if self.segments:
            out["segments"] = [[int(c), float(s), float(e)] for c, s, e in self.segments]
        if self.anomaly_frames:
            out["anomaly_frames"] = [[int(s), int(e)] for s, e in self.anomaly_frames]
        if self.fps is not None:
            out["annotation_fps"] = float(self.fps)
        return out


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video's first video stream (frames counted by demuxing)."""

    frames: int
    fps: float
    width: int
    height: int


class VideoDecodeError(RuntimeError):
    """A video could not be opened or decoded; the message says why."""


# ----------------------------------------------------------------------------------------------- discovery


def discover_videos(source: str | os.PathLike) -> list[VideoRecord]:
    """List the videos of an input (directory, CSV/JSON list, or webdataset shards) in a stable order.

    Raises:
        FileNotFoundError: the input does not exist.
        ValueError: the list file is malformed (the message names the file and line) or keys are duplicated.
    """
    src = str(source)
    if _is_tar_spec(src):
        records = _discover_tar(src)
    else:
        path = Path(src)
        if not path.exists():
            raise FileNotFoundError(
                f"--videos {src!r} does not exist (expected a folder, a .csv/.json list or .tar shards)"
            )
        if path.is_dir():
            records = _discover_dir(path)
        elif path.suffix.lower() == ".csv":
            records = _discover_csv(path)
        elif path.suffix.lower() == ".json":
            records = _discover_json(path)
        elif path.suffix.lower() in VIDEO_EXTENSIONS:
            records = [VideoRecord(key=path.stem, path=str(path))]
        else:
            raise ValueError(
                f"--videos {src!r}: unsupported input; give a folder, a .csv/.json list, a video file or .tar shards"
            )
    seen: dict[str, str] = {}
    for r in records:
        if r.key in seen:
            raise ValueError(f"duplicate video key {r.key!r} ({seen[r.key]} and {r.path}); keys must be unique")
        seen[r.key] = r.path
    return records


def _is_tar_spec(src: str) -> bool:
    return (
        src.endswith((".tar", ".tar.gz", ".tgz"))
        or src.startswith("pipe:")
        or (".tar" in src and "{" in src)
        or (src.endswith(".txt") and Path(src).is_file())
    )


def _discover_dir(root: Path) -> list[VideoRecord]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    return [VideoRecord(key=p.relative_to(root).with_suffix("").as_posix(), path=str(p)) for p in files]


def _record_from_row(row: dict, base: Path, where: str) -> VideoRecord:
    unknown = set(row) - set(_RECORD_COLUMNS) - {"meta"}
    meta = dict(row.get("meta") or {})
    meta.update({k: row[k] for k in unknown})
    if not row.get("path"):
        raise ValueError(f"{where}: missing 'path' (columns/keys: {', '.join(_RECORD_COLUMNS)})")
    path = Path(str(row["path"]))
    if not path.is_absolute() and "://" not in str(row["path"]):
        path = base / path
    label = row.get("label")
    if label in ("", None):
        label = None
    else:
        try:
            label = int(label)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: label must be an integer class index, got {label!r}") from None
    key = row.get("key") or Path(str(row["path"])).with_suffix("").as_posix()

    def opt(name: str) -> str | None:
        value = row.get(name)
        return None if value in ("", None) else str(value)

    return VideoRecord(
        key=str(key),
        path=str(path),
        label=label,
        split=opt("split"),
        subject=opt("subject"),
        gender=opt("gender"),
        meta=meta,
    )


def _discover_csv(path: Path) -> list[VideoRecord]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "path" not in reader.fieldnames:
            raise ValueError(f"{path}:1: the CSV header must contain a 'path' column, got {reader.fieldnames}")
        return [_record_from_row(row, path.parent, f"{path}:{i + 2}") for i, row in enumerate(reader)]


def _discover_json(path: Path) -> list[VideoRecord]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None
    if isinstance(data, dict):
        data = data.get("videos")
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of objects or {{'videos': [...]}}")
    out = []
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: entry {i} is not an object: {row!r}")
        out.append(_record_from_row(row, path.parent, f"{path}: entry {i}"))
    return out


def _expand_shards(spec: str) -> list[str]:
    """Shard URLs of a spec: a ``.txt`` listing (one shard a line, relative to the list), else webdataset's expansion
    of ``::``-separated brace patterns."""
    if spec.endswith(".txt"):
        base = Path(spec).parent
        lines = [ln.strip() for ln in Path(spec).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        return [ln if ("://" in ln or ln.startswith("pipe:") or os.path.isabs(ln)) else str(base / ln) for ln in lines]
    from webdataset.shardlists import expand_urls

    return expand_urls(spec)


def _discover_tar(spec: str) -> list[VideoRecord]:
    """Index the samples of webdataset shards, grouped by webdataset (key = member name up to the first dot of its
    basename; members of a sample must be adjacent in the tar, as webdataset requires).

    Raises:
        FileNotFoundError: a local shard does not exist.
        ValueError: a shard is unreadable, or a sample is malformed; the message names the shard and the member.
    """
    from webdataset.tariterators import group_by_keys

    records = []
    for shard in _expand_shards(spec):

        def bad_sample(exn: Exception, shard: str = shard) -> bool:  # webdataset's handler hook: raise, never skip
            raise ValueError(f"webdataset shard {shard!r}: {_cause(exn)}") from exn

        files = ({"fname": name, "data": data, "__url__": shard} for name, data in _shard_files(shard))
        for sample in group_by_keys(files, lcase=False, handler=bad_sample):
            record = _record_from_sample(shard, sample)
            if record is not None:
                records.append(record)
    return records


def _record_from_sample(shard: str, sample: dict) -> VideoRecord | None:
    """The record of one webdataset sample (``__key__`` plus one bytes entry per extension), ``None`` for a sample with
    neither a video nor a ``.cls``/``.json`` sidecar (a stray file such as a readme)."""
    key = sample["__key__"]
    exts = {ext.lower(): ext for ext in sample if not ext.startswith("__")}

    def where(ext: str) -> str:
        return f"webdataset shard {shard!r}, member {key + '.' + exts.get(ext, ext)!r}"

    video_ext = next((e for e in exts if "." + e.split(".")[-1] in VIDEO_EXTENSIONS), None)
    if video_ext is None:
        if "cls" in exts or "json" in exts:
            raise ValueError(
                f"webdataset shard {shard!r}, sample {key!r}: no video member (expected {key}.mp4 or another of "
                f"{', '.join(VIDEO_EXTENSIONS)}), got {', '.join(key + '.' + e for e in exts.values())}"
            )
        return None
    meta: dict = {}
    if "json" in exts:
        try:
            meta = json.loads(sample[exts["json"]])
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{where('json')}: invalid JSON ({e})") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{where('json')}: expected a JSON object, got {meta!r}")
    if "cls" in exts:
        origin, label = where("cls"), sample[exts["cls"]].decode(errors="replace").strip()
    else:
        origin, label = f"{where('json')}, field 'label'", meta.pop("label", None)
    try:
        label = None if label is None else int(label)
    except (TypeError, ValueError):
        raise ValueError(f"{origin}: label must be an integer class index, got {label!r}") from None
    return VideoRecord(
        key=key,
        path=shard,
        member=f"{key}.{exts[video_ext]}",
        size=len(sample[exts[video_ext]]),
        label=label,
        split=meta.pop("split", None),
        subject=meta.pop("subject", None),
        gender=meta.pop("gender", None),
        meta=meta,
    )


def _cause(exn: BaseException) -> str:
    # webdataset appends " @ <stream>" and extra args to the exceptions it re-raises; keep the original message
    message = str(exn.args[0]).split(" @ ")[0] if exn.args else ""
    return f"{type(exn).__name__}: {message}" if message else type(exn).__name__


def _shard_files(shard: str, select=None) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of a shard's regular files in tar order, read by webdataset from a stream.

    Args:
        shard: local path or URL (see :func:`_open_binary`).
        select: predicate on member names; members it rejects are skipped without being kept in memory.

    Raises:
        FileNotFoundError: a local shard does not exist.
        ValueError: the shard is not a readable tar (corrupt, truncated, a failed ``pipe:``); names shard and member.
    """
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from webdataset.tariterators import tar_file_iterator

    parsed = urlparse(shard)
    if parsed.scheme in ("", "file") and not os.path.isfile(url2pathname(parsed.path) if parsed.scheme else shard):
        raise FileNotFoundError(f"webdataset shard {shard!r} does not exist")
    stream = _open_binary(shard)
    reading, last = None, None

    def selected(name: str) -> bool:  # called before webdataset reads a member: remember where we are for errors
        nonlocal reading, last
        if select is None or select(name):
            reading = name
            return True
        last = name
        return False

    files = tar_file_iterator(stream, select_files=selected)
    complete = False
    try:
        while True:
            try:
                item = next(files, None)
            except Exception as e:  # tarfile's ReadError, gzip/zlib errors, a pipe's IOError: all mean a bad shard
                at = f"member {reading!r}" if reading else f"the header after {last!r}" if last else "its start"
                raise ValueError(f"webdataset shard {shard!r}: corrupt or truncated tar at {at} ({_cause(e)})") from e
            if item is None:
                break
            last, reading = item["fname"], None
            yield item["fname"], item["data"]
        complete = True
    finally:
        try:
            stream.close()
        except OSError as e:  # a pipe: command that failed; expected (SIGPIPE) when reading stopped early
            if complete:
                raise ValueError(f"webdataset shard {shard!r}: {_cause(e)}") from e


_shard_cursor = threading.local()  # this thread's open shard stream, see _read_member


def _read_member(shard: str, member: str) -> bytes:
    """One member's bytes, streamed from its shard with webdataset.

    Shards are streams (``pipe:``, http), so the shard is read forward to ``member``. Each thread keeps its stream open
    between calls: asking for a later member of the same shard resumes where the previous call stopped, so decoding a
    shard's videos in order (as precompute's workers do) reads it once per worker, not once per video.

    Raises:
        FileNotFoundError: a local shard does not exist.
        ValueError: the shard is unreadable or has no such member; the message names both.
    """
    cursor = getattr(_shard_cursor, "value", None)
    if cursor is not None and cursor["pid"] != os.getpid():
        cursor = None  # inherited through fork: the parent owns that stream's file offset
    for fresh in (False, True) if cursor is not None and cursor["shard"] == shard else (True,):
        if fresh:
            if cursor is not None:
                cursor["files"].close()
            cursor = {"shard": shard, "pid": os.getpid(), "want": member}
            cursor["files"] = _shard_files(shard, select=lambda name, c=cursor: name == c["want"])
            _shard_cursor.value = cursor
        cursor["want"] = member
        try:
            found = next(cursor["files"], None)
        except BaseException:
            _shard_cursor.value = None
            raise
        if found is not None:
            return found[1]
    _shard_cursor.value = None
    raise ValueError(f"webdataset shard {shard!r} has no member {member!r} (was the shard rewritten after indexing?)")


def _open_binary(path: str):
    """Open a path or URL for reading: webdataset's gopen (local, ``file:``, ``pipe:``, ``http(s):``, ``gs:`` ...),
    fsspec for the URL schemes gopen does not know (``s3://`` ...)."""
    from urllib.parse import urlparse

    from webdataset.gopen import gopen, gopen_schemes

    scheme = urlparse(path).scheme
    if "://" in path and scheme not in gopen_schemes and scheme != "file":
        import fsspec

        return fsspec.open(path, "rb").open()
    return gopen(path, "rb")


def open_source(record: VideoRecord) -> str | io.BytesIO:
    """A path PyAV can open, or the member's bytes for videos inside tar shards.

    Raises:
        VideoDecodeError: a shard member can no longer be read (the message names the shard and the member).
        OSError: the file or shard cannot be opened.
    """
    if record.member is None:
        if "://" in record.path:
            with _open_binary(record.path) as f:
                return io.BytesIO(f.read())
        return record.path
    try:
        return io.BytesIO(_read_member(record.path, record.member))
    except ValueError as e:
        raise VideoDecodeError(str(e)) from e


# ----------------------------------------------------------------------------------------------- decoding


def _open_container(source):
    import av

    if isinstance(source, (str, os.PathLike)) and "://" not in str(source) and os.path.getsize(source) == 0:
        raise VideoDecodeError("empty file (0 bytes)")
    if isinstance(source, io.BytesIO) and source.getbuffer().nbytes == 0:
        raise VideoDecodeError("empty file (0 bytes)")
    try:
        container = av.open(source, mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoDecodeError(f"cannot open video: {type(e).__name__}: {e}") from None
    if not container.streams.video:
        container.close()
        raise VideoDecodeError("no video stream in file")
    return container


def probe_video(source) -> VideoInfo:
    """Count frames by demuxing (no decoding) and read fps and size from the first video stream."""
    import av

    container = _open_container(source)
    try:
        stream = container.streams.video[0]
        frames = 0
        try:
            for packet in container.demux(stream):
                if packet.size > 0:
                    frames += 1
        except av.error.FFmpegError as e:
            raise VideoDecodeError(f"cannot demux video: {type(e).__name__}: {e}") from None
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        return VideoInfo(frames=frames, fps=fps, width=stream.codec_context.width, height=stream.codec_context.height)
    finally:
        container.close()
        if isinstance(source, io.BytesIO):
            source.seek(0)


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side scaled to ``short_side`` and the aspect ratio kept."""
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def _center_crop(arr: np.ndarray, size: int) -> np.ndarray:
    h, w = arr.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return arr[top : top + size, left : left + size]


_REFORMATTERS = threading.local()
_INHERITED: list = []  # reformatters a forked process inherited (their slice threads stayed in the parent)


def _reformat(frame, **kwargs):
    """``frame.reformat(**kwargs)`` with a swscale context owned by this thread of this process.

    PyAV keeps one reformatter per thread, and from PyAV 18 its context scales with slice threads: a DataLoader
    worker forked from a process that had converted a frame inherits that context without its threads, and the
    next conversion (or freeing it) waits for them forever. An inherited context is set aside unused (a DataLoader
    worker ends with ``os._exit``, so it is never freed either).
    """
    from av.video.reformatter import VideoReformatter

    owner = getattr(_REFORMATTERS, "owner", None)
    if owner is None or owner[0] != os.getpid():
        if owner is not None:
            _INHERITED.append(owner[1])
        owner = _REFORMATTERS.owner = (os.getpid(), VideoReformatter())
    return owner[1].reformat(frame, **kwargs)


def transform_frame(frame, spec: EncoderSpec) -> np.ndarray:
    """Validation transform of one frame: short side to ``spec.resize_short``, centre crop ``spec.input_size``.

    Args:
        frame: an ``av.VideoFrame`` or an RGB uint8 array (H, W, 3).

    Returns:
        uint8 array (input_size, input_size, 3), RGB.
    """
    import av

    if isinstance(frame, np.ndarray):
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame must be an RGB uint8 array (H, W, 3), got {frame.dtype} {frame.shape}")
        frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
    w, h = resized_size(frame.width, frame.height, spec.resize_short)
    arr = _reformat(frame, width=w, height=h, format="rgb24", interpolation="BILINEAR").to_ndarray()
    return np.ascontiguousarray(_center_crop(arr, spec.input_size))


def static_frame_indices(num_frames: int, count: int) -> list[int]:
    """``count`` evenly spaced frame indices over ``[0, num_frames - 1]`` (repeats allowed for short videos)."""
    if count <= 0 or num_frames <= 0:
        return []
    return [int(round(x)) for x in np.linspace(0, num_frames - 1, count)]


def iter_clip_frames(
    source, spec: EncoderSpec, static_indices: Sequence[int] = ()
) -> Iterator[tuple[str, int, np.ndarray]]:
    """Stream a video once, yielding transformed clips and the raw frames wanted for static clips.

    Yields, in stream order:
        ``("clip", k, uint8 (clip_length, input_size, input_size, 3))`` for clip k (see the clip rule above);
        ``("frame", i, uint8 (H, W, 3))`` full-resolution RGB frame i for each i in ``static_indices``;
        and finally ``("end", n, empty)`` where n is the number of decoded frames.

    Raises:
        VideoDecodeError: the video cannot be opened or has no decodable frame.
    """
    import av

    length, stride = spec.clip_length, spec.frame_stride
    span = spec.clip_span
    wanted: dict[int, int] = {}
    for i in static_indices:
        wanted[i] = wanted.get(i, 0) + 1
    container = _open_container(source)
    buffer: list[np.ndarray] = []
    n = clip = 0
    last = None
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                if n in wanted:
                    yield "frame", n, _reformat(frame, format="rgb24").to_ndarray()
                if n % stride == 0 and (n % span) // stride < length:
                    last = transform_frame(frame, spec)
                    buffer.append(last)
                    if len(buffer) == length:
                        yield "clip", clip, np.stack(buffer)
                        buffer.clear()
                        clip += 1
                n += 1
        except av.error.FFmpegError as e:
            if n == 0:
                raise VideoDecodeError(f"no decodable frame: {type(e).__name__}: {e}") from None
            raise VideoDecodeError(f"decoding failed after frame {n}: {type(e).__name__}: {e}") from None
    finally:
        container.close()
    if n == 0:
        raise VideoDecodeError("no decodable frame in video stream")
    if clip == 0:  # shorter than one clip's span: one clip padded with the last frame
        buffer.extend([last] * (length - len(buffer)))
        yield "clip", 0, np.stack(buffer)
    yield "end", n, np.empty(0, dtype=np.uint8)


def num_clips(num_frames: int, spec: EncoderSpec) -> int:
    """Clips the clip rule gives for a video of ``num_frames`` decoded frames."""
    if num_frames <= 0:
        return 0
    return max(1, num_frames // spec.clip_span)


# ----------------------------------------------------------------------------------------------- static clips


def key_seed(seed: int, key: str) -> int:
    """A 63-bit seed derived from the run seed and a video key: independent of processing order."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def random_resized_crop_box(
    height: int, width: int, rng: np.random.Generator, scale=(0.8, 1.0), ratio=(3 / 4, 4 / 3)
) -> tuple[int, int, int, int]:
    """(top, left, h, w) of a random crop covering ``scale`` of the area with aspect in ``ratio``.

    Follows the RandomResizedCrop sampling rule (10 tries, then the largest centred crop within ``ratio``).
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def augment_static_frame(frame: np.ndarray, spec: EncoderSpec, rng: np.random.Generator) -> np.ndarray:
    """Random resized crop (scale 0.8-1.0) to ``spec.input_size`` and a flip with p=0.5.

    Args:
        frame: RGB uint8 (H, W, 3) full-resolution frame.

    Returns:
        uint8 (input_size, input_size, 3).
    """
    import av

    top, left, h, w = random_resized_crop_box(frame.shape[0], frame.shape[1], rng)
    crop = np.ascontiguousarray(frame[top : top + h, left : left + w])
    size = spec.input_size
    out = _reformat(
        av.VideoFrame.from_ndarray(crop, format="rgb24"),
        width=size,
        height=size,
        format="rgb24",
        interpolation="BILINEAR",
    )
    arr = out.to_ndarray()
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    return np.ascontiguousarray(arr)


# ----------------------------------------------------------------------------------------------- tensors


def to_model_input(clips: torch.Tensor, spec: EncoderSpec, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 RGB clips (B, T, H, W, C) -> normalised float (B, T, C, H, W) as the encoder expects."""
    if clips.dtype != torch.uint8 or clips.ndim != 5 or clips.shape[-1] != 3:
        raise ValueError(f"clips must be uint8 (B, T, H, W, 3), got {clips.dtype} {tuple(clips.shape)}")
    x = clips.permute(0, 1, 4, 2, 3).to(torch.float32).div_(255.0)  # (B, T, C, H, W)
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=x.device).view(1, 1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=x.device).view(1, 1, 3, 1, 1)
    return x.sub_(mean).div_(std).to(dtype)


class ClipTransform:
    """Frames -> one encoder-ready clip, for live video (e.g. with ``AnonymizedEncoder``).

    ``ClipTransform(spec)(frames)`` takes ``spec.clip_length`` RGB uint8 frames (T, H, W, 3) and returns the
    normalised float clip (T, C, H, W) of the validation transform used by ``precompute``.
    """

    def __init__(self, spec: EncoderSpec):
        self.spec = spec

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[0] != self.spec.clip_length:
            raise ValueError(
                f"frames must be (T={self.spec.clip_length}, H, W, 3) uint8 RGB, got {frames.dtype} {frames.shape}"
            )
        crops = np.stack([transform_frame(f, self.spec) for f in frames])  # (T, H, W, C)
        return to_model_input(torch.from_numpy(crops)[None], self.spec)[0]


# ----------------------------------------------------------------------------------------------- writing


def write_video(
    path: str | os.PathLike,
    frames: Iterator[np.ndarray] | np.ndarray,
    fps: float = 25.0,
    codec: str = "libx264",
    crf: int = 18,
) -> int:
    """Encode RGB uint8 frames (H, W, 3) to a video file with PyAV; returns the number of frames written.

    Even widths/heights are required by yuv420p; frames are streamed, so any length fits in memory.
    """
    from fractions import Fraction

    import av

    n = 0
    with av.open(str(path), mode="w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                h, w = frame.shape[:2]
                if h % 2 or w % 2:
                    raise ValueError(f"frame size must be even for yuv420p, got {w}x{h}")
                stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                if codec == "libx264":
                    stream.options = {"crf": str(crf), "preset": "veryfast"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
            n += 1
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return n
