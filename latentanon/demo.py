"""The end-to-end demo (the README's main job).

    python -m latentanon.demo [--out demo_out] [--encoder videomae-tiny] [--videos 8]

Today it generates a handful of labelled toy videos (a square moving in one of four directions), extracts
their features with a tiny encoder into a Zarr store, resumes the same command to show that nothing is
recomputed, and prints the store summary. Re-running the demo reuses what is already there.
"""

from __future__ import annotations

import csv
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentanon.config import ConfigError, parse_cli
from latentanon.precompute import PrecomputeConfig, format_summary
from latentanon.precompute import main as precompute
from latentanon.store import format_info
from latentanon.stores import open_store
from latentanon.video import write_video

DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # class = direction of motion


@dataclass(frozen=True)
class DemoConfig:
    """Generate toy videos, precompute them with a tiny encoder and print the store summary."""

    out: str = "demo_out"
    encoder: str = "videomae-tiny"
    checkpoint: str | None = None
    videos: int = 8
    frames: int = 48
    size: int = 96
    num_workers: int = 2
    seed: int = 0


def toy_frames(label: int, n: int, size: int, rng: np.random.Generator):
    """A textured square moving in direction ``label`` over a noisy background of a random colour."""
    bg = rng.integers(0, 180, size=3, dtype=np.uint8)
    dx, dy = DIRECTIONS[label]
    x, y = rng.integers(size // 4, size // 2, size=2)
    for i in range(n):
        frame = np.empty((size, size, 3), np.uint8)
        frame[:] = bg
        frame += rng.integers(0, 30, size=(size, size, 1), dtype=np.uint8)
        cx, cy = int(x + 2 * dx * i) % (size - 20), int(y + 2 * dy * i) % (size - 20)
        frame[cy : cy + 20, cx : cx + 20] = (255, 220, 40)
        yield frame


def make_toy_videos(root: Path, count: int, frames: int, size: int, seed: int) -> Path:
    """Write ``count`` videos and a CSV list (path, label, split); returns the list path. Idempotent."""
    root.mkdir(parents=True, exist_ok=True)
    listing = root / "videos.csv"
    rows = []
    for i in range(count):
        label = i % len(DIRECTIONS)
        path = root / f"toy_{i:03d}.mp4"
        if not path.exists():
            tmp = path.with_suffix(".tmp.mp4")
            write_video(tmp, toy_frames(label, frames, size, np.random.default_rng(seed * 1000 + i)), fps=25)
            tmp.rename(path)
        rows.append({"path": path.name, "label": label, "split": "train" if i % 4 != 3 else "test"})
    with open(listing, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return listing


def main(cfg: DemoConfig) -> dict:
    if cfg.videos <= 0 or cfg.frames <= 0 or cfg.size < 32 or cfg.size % 2:
        raise ConfigError("--videos and --frames must be positive and --size an even number >= 32")
    out = Path(cfg.out)
    print(f"[1/2] generating {cfg.videos} toy videos in {out / 'videos'}")
    listing = make_toy_videos(out / "videos", cfg.videos, cfg.frames, cfg.size, cfg.seed)
    store_path = str(out / f"features-{cfg.encoder}.zarr")
    print(f"[2/2] precomputing {cfg.encoder} features into {store_path}")
    summary = precompute(
        PrecomputeConfig(
            encoder=cfg.encoder,
            checkpoint=cfg.checkpoint,
            videos=str(listing),
            out=store_path,
            num_workers=cfg.num_workers,
            batch_size=8,
            static_clips=4,
            seed=cfg.seed,
        )
    )
    print(format_summary(summary))
    info = open_store(store_path).info()
    print("\n" + format_info(info))
    return info


def cli(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        main(parse_cli(DemoConfig, argv, prog="latentanon.demo"))
    except (ConfigError, FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
