"""Crash-safe, deterministic file output for the synthetic benchmark (private).

Every file is written under a temporary name ending in ``.part`` (not a video or annotation extension, so no
adapter ever lists it) and renamed into place, so an interrupted build never leaves a half-written video.

Video encoding is deterministic: H.264 (libx264, ``veryfast``, one thread, no B-frames, no MB-tree) from YUV 4:2:0
planes converted in numpy (BT.601 limited range) and copied into fully initialised frame buffers. MB-tree rate
control and swscale's uninitialised line padding each made x264's output differ between identical runs.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np

X264_PARAMS = "bframes=0:mbtree=0:scenecut=0"  # scenecut off: the GOP structure never depends on the motion


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` with ``\\n`` line ends atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as indented JSON (key order as given, so the bytes are reproducible) atomically."""
    write_text(path, json.dumps(obj, indent=1) + "\n")


def write_npy(path: Path, array: np.ndarray) -> None:
    """Save ``array`` in ``.npy`` format atomically."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    write_bytes(path, buf.getvalue())


def write_jpeg(path: Path, image: np.ndarray, quality: int = 95) -> None:
    """Save an RGB uint8 image (H, W, 3) as JPEG atomically."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image, mode="RGB").save(buf, format="JPEG", quality=quality)
    write_bytes(path, buf.getvalue())


def to_yuv420(rgb: np.ndarray) -> list[np.ndarray]:
    """RGB uint8 (H, W, 3), H and W even -> Y (H, W), U and V (H/2, W/2) uint8, BT.601 limited range."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    h, w = y.shape
    u = u.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # (H/2, W/2): 2x2 chroma average
    v = v.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, u, v)]


def _frame(rgb: np.ndarray, index: int, fps: Fraction):
    import av

    h, w = rgb.shape[:2]
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, values in zip(frame.planes, to_yuv420(rgb)):
        buf = np.zeros((plane.buffer_size // plane.line_size, plane.line_size), np.uint8)  # padding zeroed
        buf[: values.shape[0], : values.shape[1]] = values
        plane.update(buf)
    frame.pts = index
    frame.time_base = 1 / fps
    return frame


def write_video(path: Path, frames: np.ndarray, fps: float = 25.0, crf: int = 17) -> None:
    """Encode RGB uint8 frames (T, H, W, 3) to H.264 in the container named by the suffix, atomically.

    ``.mp4`` files are MP4; any other suffix (``.avi``) is AVI.
    """
    import av

    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    t, h, w, _ = frames.shape
    if t == 0 or h % 2 or w % 2:
        raise ValueError(f"frames must be non-empty with even height and width, got {frames.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(tmp), mode="w", format="mp4" if path.suffix.lower() == ".mp4" else "avi") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1", "x264-params": X264_PARAMS}
        for i, rgb in enumerate(frames):
            for packet in stream.encode(_frame(rgb, i, rate)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def link(source: Path, target: Path) -> None:
    """Expose ``source`` also at ``target``: a hard link, or a copy where links are impossible; atomic."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(target)
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
