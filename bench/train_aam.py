"""Benchmark of AAM training and of AnonymizedEncoder; every figure is measured in this one run.

    bash run.sh python bench/train_aam.py [--out bench_out] [--clips 8192] [--steps 12] [--quick]

(a) training-step throughput of the adapter reading its batches from a Zarr store (ChunkShuffledSampler with a
    background prefetch thread) divided by the same loop on tensors already in memory; ``videomae-b`` sizes
    (D = 768, T' = 8), token adapter (3 layers, 8 heads, feed-forward 2048), batch 512, latent-consistency +
    linear-head loss (target >= 0.9);
(b) ``AnonymizedEncoder`` forward time divided by the bare encoder's, ``videomae-b`` (random init, no download),
    batch 2 of 16 x 224 x 224 clips, fp32 (target <= 1.05);
(c) peak RSS of ``train_aam`` (the real loop, one epoch, raw head cached beforehand) on a store 8x larger than
    another (generated without video; D = 768, T' = 8, 4 clips and 2 static clips per video), the same adapter and
    batch as (a), streaming windows of ``--window`` videos, divided by the smaller store's (target < 1.2: memory
    does not grow with the store);
(d) ``train_aam``'s training throughput (videos per second over an epoch's steps, reading included) streaming the
    smaller store in windows, divided by the same run with the whole store in memory (target >= 0.9).
Results are printed and written to OUT/train_aam.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

warnings.filterwarnings("ignore", category=UserWarning)


def make_store(path: Path, clips: int, tokens: int, dim: int) -> None:
    from latentanon.stores import StoreWriter, VideoRows

    recipe = {"encoder": {"name": "bench", "weights_sha256": "x"}, "clip": {}, "transform": {}, "static": {},
              "compute_dtype": "fp32", "anonymizer": None}  # fmt: skip
    rng = np.random.default_rng(0)
    per_video = 64
    with StoreWriter(str(path), recipe, (tokens, dim), 0, flush_rows=4096, pooling={"type": "mean"}) as w:
        for v in range(clips // per_video):
            x = rng.standard_normal((per_video, tokens, dim)).astype(np.float16)
            w.add_video(
                VideoRows(
                    columns={"key": f"v{v}", "index": v, "label": v % 10, "split": "train", "status": "ok"},
                    tokens=x, pooled=x.mean(1), static_tokens=np.zeros((0, tokens, dim), np.float16),
                    static_pooled=np.zeros((0, dim), np.float16), static_frames=np.zeros(0, np.int64),
                )
            )  # fmt: skip


def training_ratio(clips: int, steps: int, batch: int) -> dict:
    from latentanon.aam import AAM, AAMConfig
    from latentanon.data import prefetch
    from latentanon.stores import open_store

    tokens, dim = 8, 768
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.zarr"
        make_store(path, clips, tokens, dim)
        store = open_store(str(path))
        labels = torch.from_numpy(store.videos["label"][store.clip_video_rows()])
        torch.manual_seed(0)
        aam, head = AAM(AAMConfig(dim=dim)), torch.nn.Linear(dim, 10)
        opt = torch.optim.AdamW([*aam.parameters(), *head.parameters()], lr=1e-4)

        def step(rows: np.ndarray, x: torch.Tensor) -> None:
            y = aam(x)
            loss = 100 * torch.nn.functional.mse_loss(y, x) + torch.nn.functional.cross_entropy(
                head(y.mean(1)), labels[rows]
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        in_memory = torch.from_numpy(store.tokens().astype(np.float32))
        rng = np.random.default_rng(0)
        for _ in range(2):  # warm-up
            rows = rng.integers(0, len(in_memory), batch)
            step(rows, in_memory[rows])

        def run_memory() -> float:
            t = time.perf_counter()
            for _ in range(steps):
                rows = rng.integers(0, len(in_memory), batch)
                step(rows, in_memory[rows])
            return steps * batch / (time.perf_counter() - t)

        def run_store() -> float:
            sampler = store.sampler(batch, seed=1, drop_last=True)
            done, t = 0, time.perf_counter()
            while done < steps:
                for rows, x in prefetch(sampler, depth=2):
                    step(rows, torch.from_numpy(x.astype(np.float32)))
                    done += 1
                    if done == steps:
                        break
            return steps * batch / (time.perf_counter() - t)

        mem, sto = [], []
        for _ in range(2):  # interleaved, best of two each
            mem.append(run_memory())
            sto.append(run_store())
    m, s = max(mem), max(sto)
    return {"in_memory_clips_per_s": m, "store_clips_per_s": s, "ratio": s / m, "target": ">= 0.9"}


def encoder_ratio(reps: int, batch: int) -> dict:
    from latentanon import AnonymizedEncoder, create_encoder
    from latentanon.aam import AAM, AAMConfig

    encoder = create_encoder("videomae-b")
    spec = encoder.spec
    wrapped = AnonymizedEncoder(encoder, AAM(AAMConfig(dim=spec.feature_dim)))
    x = torch.randn(batch, spec.clip_length, 3, spec.input_size, spec.input_size)
    with torch.inference_mode():
        encoder(x), wrapped(x)  # warm-up
        bare, anon = [], []
        for _ in range(reps):  # interleaved
            t = time.perf_counter()
            encoder(x)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            wrapped(x)
            anon.append(time.perf_counter() - t)
    b, a = min(bare), min(anon)
    return {"encoder_s": b, "anonymized_encoder_s": a, "ratio": a / b, "target": "<= 1.05", "batch": batch}


def make_train_store(path: Path, videos: int, tokens: int = 8, dim: int = 384, clips: int = 4) -> None:
    """An action store with static clips, labels, subjects and a train/test split, written without video."""
    from latentanon.contracts import EncoderSpec
    from latentanon.stores import StoreWriter, VideoRows

    spec = EncoderSpec(
        name="bench",
        family="bench",
        feature_dim=dim,
        clip_length=16,
        frame_stride=1,
        input_size=64,
        resize_short=64,
        mean=(0.5,) * 3,
        std=(0.5,) * 3,
        tokens_per_clip=tokens,
        weights_sha256="bench",
    )
    recipe = {"encoder": spec.to_dict(), "clip": {}, "transform": {}, "static": {}, "compute_dtype": "fp32",
              "anonymizer": None}  # fmt: skip
    rng = np.random.default_rng(0)
    directions = rng.standard_normal((10, dim)).astype(np.float32)
    with StoreWriter(str(path), recipe, (tokens, dim), 2, flush_rows=8192, pooling={"type": "mean"}) as w:
        for v in range(videos):
            label = v % 10
            x = (rng.standard_normal((clips, tokens, dim)) + directions[label]).astype(np.float16)  # (n, T', D)
            st = rng.standard_normal((2, tokens, dim)).astype(np.float16)  # (S, T', D)
            w.add_video(
                VideoRows(
                    columns={"key": f"v{v:06d}", "index": v, "label": label, "split": "test" if v % 10 == 9 else
                             "train", "subject": f"s{v % 40}", "frames": 16 * clips, "fps": 25.0, "status": "ok"},
                    tokens=x, pooled=x.astype(np.float32).mean(1).astype(np.float16), static_tokens=st,
                    static_pooled=st.astype(np.float32).mean(1).astype(np.float16),
                    static_frames=np.array([0, 1], np.int64),
                )
            )  # fmt: skip


_CHILD = """
import json, resource, sys, warnings
warnings.filterwarnings("ignore")
from latentanon.data import pin_malloc_mmap_threshold
from latentanon.training import AdapterConfig, IdentityConfig, TrainConfig, Weights, main
from latentanon.protocols import HeadSettings
pin_malloc_mmap_threshold()  # as the train_aam command line does
from latentanon.heads.linear import LinearConfig
store, out, heads, window, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
batch, depth, ff = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
summary = main(TrainConfig(action_store=store, out=out, raw_heads=heads, epochs=epochs, batch_size=batch,
    stream_window=window, progress=False, weights=Weights(tad=0, ad=0), aam=AdapterConfig(depth=depth, ff_dim=ff),
    identity=IdentityConfig(epochs=1), raw=HeadSettings(linear=LinearConfig(epochs=2))))
rows = [json.loads(line) for line in open(out + "/metrics.jsonl")]
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "videos_per_s": max(r["train_videos_per_s"] for r in rows)}))
"""


def _train_child(store: Path, out: Path, heads: Path, window: int, epochs: int, model: tuple[int, int, int]) -> dict:
    import subprocess
    import sys

    args = [sys.executable, "-c", _CHILD, str(store), str(out), str(heads), str(window), str(epochs), *map(str, model)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"train_aam child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def streaming_ratios(videos: int, window: int, dim: int, model: tuple[int, int, int]) -> dict:
    """(c) and (d); ``model`` = (batch size, adapter depth, feed-forward width)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small, big = tmp / "small.zarr", tmp / "big.zarr"
        make_train_store(small, videos, dim=dim)
        make_train_store(big, 8 * videos, dim=dim)
        sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20 for p in (small, big)}
        quick = (model[0], 1, 64)  # the raw heads first, in their own process: (c) measures the training loop
        for store in (small, big):
            _train_child(store, tmp / f"warm-{store.stem}", tmp / f"heads-{store.stem}", window, 1, quick)
        rss_small = _train_child(small, tmp / "rss-small", tmp / "heads-small", window, 1, model)
        rss_big = _train_child(big, tmp / "rss-big", tmp / "heads-big", window, 1, model)
        streamed = _train_child(small, tmp / "tp-stream", tmp / "heads-small", window, 2, model)
        resident = _train_child(small, tmp / "tp-ram", tmp / "heads-small", 8 * videos, 2, model)
    return {
        "store_mb": sizes,
        "window_videos": window,
        "dim": dim,
        "batch_depth_ff": list(model),
        "c_peak_rss_mb": {"small": rss_small["peak_rss_mb"], "big": rss_big["peak_rss_mb"]},
        "c_rss_ratio": rss_big["peak_rss_mb"] / rss_small["peak_rss_mb"],
        "d_videos_per_s": {"streamed": streamed["videos_per_s"], "in_memory": resident["videos_per_s"]},
        "d_throughput_ratio": streamed["videos_per_s"] / resident["videos_per_s"],
        "targets": {"c": "< 1.2", "d": ">= 0.9"},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench_out")
    ap.add_argument("--clips", type=int, default=8192)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--videos", type=int, default=2048, help="(c, d): videos of the smaller store (8x in the other)")
    ap.add_argument("--window", type=int, default=1024, help="(c, d): videos per streamed window")
    ap.add_argument("--dim", type=int, default=768, help="(c, d): feature width D (videomae-b: 768)")
    ap.add_argument("--only", default="abcd", help="which measurements to run, e.g. cd")
    ap.add_argument("--quick", action="store_true", help="a smoke run: fewer clips, steps and repetitions")
    args = ap.parse_args()
    if args.quick:
        args.clips, args.steps, args.batch, args.videos, args.window, args.dim = 2048, 3, 128, 512, 256, 384
    torch.manual_seed(0)
    results = {"threads": torch.get_num_threads()}
    if "a" in args.only:
        a = results["a_training_step"] = training_ratio(args.clips, args.steps, args.batch)
        print(f"(a) AAM step, store / memory clips/s: {a['store_clips_per_s']:.0f} / {a['in_memory_clips_per_s']:.0f}"
              f" = {a['ratio']:.3f} (target >= 0.9)")  # fmt: skip
    if "b" in args.only:
        b = results["b_anonymized_encoder"] = encoder_ratio(2 if args.quick else 4, 1 if args.quick else 2)
        print(f"(b) AnonymizedEncoder / encoder forward, videomae-b: {b['anonymized_encoder_s']:.3f} s / "
              f"{b['encoder_s']:.3f} s = {b['ratio']:.3f} (target <= 1.05)")  # fmt: skip
    if "c" in args.only or "d" in args.only:
        model = (args.batch, 1, 512) if args.quick else (args.batch, 3, 2048)  # (a)'s adapter unless --quick
        r = results["cd_streaming"] = streaming_ratios(args.videos, args.window, args.dim, model)
        rss, tp = r["c_peak_rss_mb"], r["d_videos_per_s"]
        print(f"(c) train_aam peak RSS, store {r['store_mb']['big.zarr']:.0f} MiB / {r['store_mb']['small.zarr']:.0f} "
              f"MiB: {rss['big']:.0f} / {rss['small']:.0f} MiB = {r['c_rss_ratio']:.3f} (target < 1.2)")  # fmt: skip
        print(f"(d) train_aam videos/s, streamed / in memory: {tp['streamed']:.0f} / {tp['in_memory']:.0f} = "
              f"{r['d_throughput_ratio']:.3f} (target >= 0.9)")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_aam.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
