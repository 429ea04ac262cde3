"""Benchmark of AAM training and of AnonymizedEncoder; every figure is measured in this one run.

    bash run.sh python bench/train_aam.py [--out bench_out] [--clips 8192] [--steps 12] [--quick]

(a) training-step throughput of the adapter reading its batches from a Zarr store (ChunkShuffledSampler with a
    background prefetch thread) divided by the same loop on tensors already in memory; ``videomae-b`` sizes
    (D = 768, T' = 8), token adapter (3 layers, 8 heads, feed-forward 2048), batch 512, latent-consistency +
    linear-head loss (target >= 0.9);
(b) ``AnonymizedEncoder`` forward time divided by the bare encoder's, ``videomae-b`` (random init, no download),
    batch 2 of 16 x 224 x 224 clips, fp32 (target <= 1.05).
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
    with StoreWriter(str(path), recipe, (tokens, dim), 0, flush_rows=4096) as w:
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench_out")
    ap.add_argument("--clips", type=int, default=8192)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--quick", action="store_true", help="a smoke run: fewer clips, steps and repetitions")
    args = ap.parse_args()
    if args.quick:
        args.clips, args.steps, args.batch = 2048, 3, 128
    torch.manual_seed(0)
    results = {
        "threads": torch.get_num_threads(),
        "a_training_step": training_ratio(args.clips, args.steps, args.batch),
        "b_anonymized_encoder": encoder_ratio(2 if args.quick else 4, 1 if args.quick else 2),
    }
    a, b = results["a_training_step"], results["b_anonymized_encoder"]
    print(f"(a) AAM step, store / memory clips/s: {a['store_clips_per_s']:.0f} / {a['in_memory_clips_per_s']:.0f}"
          f" = {a['ratio']:.3f} (target >= 0.9)")  # fmt: skip
    print(f"(b) AnonymizedEncoder / encoder forward, videomae-b: {b['anonymized_encoder_s']:.3f} s / "
          f"{b['encoder_s']:.3f} s = {b['ratio']:.3f} (target <= 1.05)")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_aam.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
