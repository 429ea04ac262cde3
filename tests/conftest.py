"""Shared fixtures: small generated videos (no downloads), written once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from latentanon.video import write_video

os.environ.setdefault("TQDM_DISABLE", "1")


def moving_frames(n: int, seed: int, height: int = 72, width: int = 96):
    """A bright square moving over a coloured, noisy background: cheap, deterministic, and not constant."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 200, size=3, dtype=np.uint8)
    dx, dy = rng.integers(1, 4, size=2)
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = background
        frame += rng.integers(0, 20, size=(height, width, 1), dtype=np.uint8)
        x, y = (5 + i * dx) % (width - 16), (5 + i * dy) % (height - 16)
        frame[y : y + 16, x : x + 16] = 255
        yield frame


def make_videos(root: Path, lengths: list[int], prefix: str = "v", seed: int = 0) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, n in enumerate(lengths):
        path = root / f"{prefix}{i:02d}.mp4"
        write_video(path, moving_frames(n, seed + i), fps=25)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory) -> Path:
    """Six valid videos of 20-70 frames (one to four clips each)."""
    root = tmp_path_factory.mktemp("videos")
    make_videos(root, [40, 70, 33, 48, 20, 64])
    return root


@pytest.fixture(scope="session")
def broken_dir(tmp_path_factory) -> Path:
    """Two good videos, a truncated mp4, an empty file, a text file named .mp4 and a 5-frame video."""
    root = tmp_path_factory.mktemp("broken")
    good = make_videos(root, [40, 36], prefix="good")
    data = good[0].read_bytes()
    (root / "corrupt.mp4").write_bytes(data[: len(data) // 3])
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("this is a text file, not a video\n")
    write_video(root / "short.mp4", moving_frames(5, 99), fps=25)
    return root


@pytest.fixture(scope="session")
def synthetic_small(tmp_path_factory) -> Path:
    """The synthetic benchmark's `small` preset, built once per test session."""
    from latentanon.datasets.synthetic import generate

    root = tmp_path_factory.mktemp("synthetic")
    generate(root, preset="small", seed=0)
    return root
