"""Benchmark of latentanon.precompute; every figure below is measured in this one run.

    bash run.sh python bench/precompute.py [--out bench_out] [--clips 24] [--quick]

(a) throughput: precompute clips/s divided by the bare encoder's clips/s on already-decoded tensors, same
    batch size, ``videomae-b`` sized weights (random init) in bf16 autocast, no static clips (target >= 0.9);
(b) memory: peak PSS of the whole process tree (main + decode workers) while precomputing a generated
    10-minute 640x360 video versus a 1-minute one, ``videomae-tiny`` (target: ratio < 1.2 and < 2 GB);
(c) a naive baseline (decode the whole video into memory, transform, encode, one .npy per video) against
    precompute on the same 1-minute video: throughput and peak-RSS ratios, plus the naive RSS on a
    3-minute video to show that it grows with video length. Memory is PSS summed over the process tree.
Results are printed as a table and written to OUT/precompute.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import psutil
import torch

warnings.filterwarnings("ignore", category=UserWarning)


def synthetic_frames(n: int, height: int = 360, width: int = 640, seed: int = 0):
    """Cheap moving content: pre-rendered noise textures scrolled and a moving box."""
    rng = np.random.default_rng(seed)
    textures = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) // 4 for _ in range(4)]
    for i in range(n):
        frame = np.roll(textures[(i // 50) % 4], shift=i * 3, axis=1)
        x, y = (i * 7) % (width - 60), (i * 3) % (height - 60)
        frame[y : y + 60, x : x + 60] = (230, 180, 40)
        yield frame


def ensure_video(path: Path, seconds: float, fps: int = 25, height: int = 360, width: int = 640) -> Path:
    from latentanon.video import write_video

    if not path.exists():
        tmp = path.with_suffix(".tmp.mp4")
        t0 = time.perf_counter()
        write_video(tmp, synthetic_frames(int(seconds * fps), height, width), fps=fps, crf=28)
        tmp.rename(path)
        print(f"  generated {path.name} ({seconds:.0f} s, {width}x{height}) in {time.perf_counter() - t0:.0f} s")
    return path


def peak_tree_memory(cmd: list[str], interval: float = 0.1) -> tuple[dict, float, str]:
    """Run ``cmd``; return ({"pss": bytes, "rss": bytes} peaks over it and its children, wall seconds, stdout).

    PSS (proportional set size) splits pages shared between the main process and its forked decode workers
    (torch's libraries alone are ~700 MB here), so the sum over the tree is what the machine really spends;
    the summed RSS, which counts shared pages once per process, is reported beside it.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"pss": 0.0, "rss": 0.0}
    ps = psutil.Process(proc.pid)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                infos = [p.memory_full_info() for p in [ps] + ps.children(recursive=True)]
                peak["pss"] = max(peak["pss"], sum(getattr(i, "pss", i.rss) for i in infos))
                peak["rss"] = max(peak["rss"], sum(i.rss for i in infos))
            except psutil.Error:
                pass
            time.sleep(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return peak, time.perf_counter() - t0, out


def precompute_cmd(video: Path, out: Path, encoder: str, **kw) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "latentanon.precompute",
        "--encoder",
        encoder,
        "--videos",
        str(video),
        "--out",
        str(out),
        "--progress",
        "false",
    ]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd


NAIVE = textwrap.dedent(
    """
    # The usual one-off script: read the whole video, then transform, encode and save one .npy.
    import sys, time, warnings, av, numpy as np, torch
    warnings.simplefilter("ignore")
    from latentanon.registry import create_encoder
    from latentanon.video import transform_frame, to_model_input
    video, out, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    enc = create_encoder("videomae-tiny"); spec = enc.spec
    t0 = time.perf_counter()
    with av.open(video) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]   # whole video in memory
    crops = np.stack([transform_frame(f, spec) for f in frames])
    n = len(crops) // spec.clip_length
    clips = torch.from_numpy(crops[: n * spec.clip_length]).reshape(n, spec.clip_length, *crops.shape[1:])
    feats = []
    with torch.inference_mode():
        for i in range(0, n, batch):
            feats.append(enc.pool(enc(to_model_input(clips[i : i + batch], spec))))
    np.save(out, torch.cat(feats).numpy())
    print(n, time.perf_counter() - t0)
    """
)


def bench_throughput(out: Path, clips: int, batch: int) -> dict:
    """(a) precompute vs the bare encoder, videomae-b sizes, bf16."""
    from latentanon.extract import PrecomputeConfig, main
    from latentanon.registry import create_encoder
    from latentanon.video import iter_clip_frames, to_model_input

    per_video = 8
    videos = out / "throughput_videos"
    videos.mkdir(exist_ok=True)
    n_videos = max(1, clips // per_video)
    for i in range(n_videos):
        ensure_video(videos / f"t{i}.mp4", per_video * 16 / 25 + 0.1, height=360, width=640)
    enc = create_encoder("videomae-b")
    spec = enc.spec
    decoded = []
    for p in sorted(videos.glob("t*.mp4"))[:n_videos]:
        decoded += [a for kind, _, a in iter_clip_frames(str(p), spec) if kind == "clip"]
    x = torch.from_numpy(np.stack(decoded))  # (N, T, H, W, C) uint8, already decoded
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        enc(to_model_input(x[:1], spec))  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(x), batch):
            z = enc(to_model_input(x[i : i + batch], spec))
            enc.pool(z.float())
        bare = len(x) / (time.perf_counter() - t0)
    del enc
    store = out / "throughput.zarr"
    if store.exists():
        import shutil

        shutil.rmtree(store)
    summary = main(
        PrecomputeConfig(
            encoder="videomae-b",
            videos=str(videos),
            out=str(store),
            batch_size=batch,
            num_workers=1,
            dtype="bf16",
            static_clips=0,
            progress=False,
        )
    )
    assert summary["clips_this_run"] == len(x), (summary["clips_this_run"], len(x))
    pipeline = summary["clips_per_s"]
    return {
        "clips": len(x),
        "batch_size": batch,
        "bare_clips_per_s": bare,
        "precompute_clips_per_s": pipeline,
        "ratio": pipeline / bare,
    }


def bench_memory(out: Path, quick: bool) -> dict:
    """(b) and (c): flat memory on long videos, and the naive baseline."""
    short = ensure_video(out / "video_1min.mp4", 60)
    long_ = ensure_video(out / "video_10min.mp4", 120 if quick else 600)
    mid = ensure_video(out / "video_3min.mp4", 180)
    res: dict = {}
    for name, video in (("1min", short), ("10min" if not quick else "2min", long_)):
        store = out / f"mem_{name}.zarr"
        subprocess.run(["rm", "-rf", str(store)], check=True)
        peak, wall, _ = peak_tree_memory(precompute_cmd(video, store, "videomae-tiny", num_workers=1, batch_size=16))
        res[f"precompute_{name}"] = {
            "peak_pss_mb": peak["pss"] / 2**20,
            "peak_rss_sum_mb": peak["rss"] / 2**20,
            "seconds": wall,
        }
    names = [k for k in res if k.startswith("precompute_")]
    res["mem_ratio_long_vs_1min"] = res[names[1]]["peak_pss_mb"] / res[names[0]]["peak_pss_mb"]
    for name, video in (("1min", short), ("3min", mid)):
        cmd = [sys.executable, "-c", NAIVE, str(video), str(out / f"naive_{name}.npy"), "16"]
        peak, wall, _ = peak_tree_memory(cmd)
        res[f"naive_{name}"] = {
            "peak_pss_mb": peak["pss"] / 2**20,
            "peak_rss_sum_mb": peak["rss"] / 2**20,
            "seconds": wall,
        }
    res["speedup_vs_naive_1min"] = res["naive_1min"]["seconds"] / res["precompute_1min"]["seconds"]
    res["mem_naive_over_precompute_1min"] = res["naive_1min"]["peak_pss_mb"] / res["precompute_1min"]["peak_pss_mb"]
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench_out")
    parser.add_argument("--clips", type=int, default=24, help="clips for the videomae-b throughput test")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="2-minute instead of 10-minute long video")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    results: dict = {"torch_threads": torch.get_num_threads(), "cpu_count": psutil.cpu_count()}
    if not args.skip_throughput:
        print("(a) throughput, videomae-b bf16 ...")
        results["throughput"] = bench_throughput(out, args.clips, args.batch_size)
    print("(b, c) memory and naive baseline, videomae-tiny ...")
    results["memory"] = bench_memory(out, args.quick)
    (out / "precompute.json").write_text(json.dumps(results, indent=2))

    print("\n| measure | value | target |\n|---|---|---|")
    if "throughput" in results:
        t = results["throughput"]
        print(
            f"| (a) precompute / bare encoder clips/s (videomae-b bf16, batch {t['batch_size']}, {t['clips']} clips)"
            f" | {t['precompute_clips_per_s']:.3f} / {t['bare_clips_per_s']:.3f} = **{t['ratio']:.3f}** | >= 0.9 |"
        )
    m = results["memory"]
    keys = [k for k in m if k.startswith("precompute_")]
    long_, short = m[keys[1]], m[keys[0]]
    print(
        f"| (b) peak memory (PSS, main + worker), {keys[1].split('_')[1]} / 1min video (640x360) | "
        f"{long_['peak_pss_mb']:.0f} MB / {short['peak_pss_mb']:.0f} MB = **{m['mem_ratio_long_vs_1min']:.3f}** "
        f"(summed RSS {long_['peak_rss_sum_mb']:.0f} / {short['peak_rss_sum_mb']:.0f} MB) | < 1.2 and < 2048 MB |"
    )
    print(
        f"| (c) naive / precompute wall time, 1min video | {m['naive_1min']['seconds']:.1f} s / "
        f"{m['precompute_1min']['seconds']:.1f} s = **{m['speedup_vs_naive_1min']:.2f}x** | > 1 |"
    )
    print(
        f"| (c) naive / precompute peak memory (PSS), 1min video | {m['naive_1min']['peak_pss_mb']:.0f} MB / "
        f"{m['precompute_1min']['peak_pss_mb']:.0f} MB = **{m['mem_naive_over_precompute_1min']:.2f}x** | > 1 |"
    )
    print(f"| (c) naive peak memory (PSS), 3min video | {m['naive_3min']['peak_pss_mb']:.0f} MB | grows with length |")
    print(f"\nwritten to {out / 'precompute.json'}")


if __name__ == "__main__":
    main()
