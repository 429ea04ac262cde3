"""Feature extraction: videos -> frozen encoder (optionally after a pixel anonymizer) -> Zarr feature store.

The library behind ``python -m latentanon.precompute`` (whose docstring and ``--help`` describe every option):
``main(PrecomputeConfig(...))`` extracts and returns a summary dict, ``format_summary`` prints it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm.auto import tqdm

import latentanon
from latentanon.config import ConfigError
from latentanon.contracts import EncoderSpec, Pooler
from latentanon.registry import create_encoder
from latentanon.stores import StoreWriter, VideoRows, open_store
from latentanon.video import (
    VideoDecodeError,
    VideoRecord,
    augment_static_frame,
    discover_videos,
    iter_clip_frames,
    key_seed,
    open_source,
    probe_video,
    static_frame_indices,
    to_model_input,
)

logger = logging.getLogger(__name__)

CLIP_RULE = (
    "non-overlapping clips of clip_length frames every frame_stride frames from frame 0; the final partial clip "
    "is dropped; a video shorter than one clip gives one clip padded with its last frame"
)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class PrecomputeConfig:
    """Extract frozen-encoder features of videos into a Zarr feature store."""

    encoder: str = "videomae-tiny"  # registry name, see latentanon.list_encoders()
    videos: str = ""  # folder, .csv/.json list, or webdataset shards (.tar, brace pattern, .txt list)
    dataset: str | None = None  # instead of --videos: a dataset adapter (see docs/datasets.md) ...
    root: str = ""  # ... and the folder holding that dataset in its official layout
    out: str = ""  # store folder or fsspec URL
    checkpoint: str | None = None  # Hugging Face id, local folder or weights file; none = random init
    anonymizer: str = ""  # a pixel anonymizer applied to the frames before the encoder (latentanon.anonymizers)
    anonymizer_checkpoint: str = ""  # its weights (a folder or file), for anonymizers that have any
    batch_size: int = 16  # clips per encoder forward
    num_workers: int = 2  # decoding processes (0 = decode in the main process)
    device: str = "cpu"  # torch device of the encoder: cpu, cuda, cuda:1 ...
    dtype: str = "fp32"  # fp32 | bf16 | fp16 (autocast; tokens are stored as float16)
    static_clips: int = 10  # S static clips per video (0 = none)
    seed: int = 0  # seed of the static-clip augmentation (per video: hash of seed and key)
    shard: str | None = None  # "I/N": process every N-th video starting at I, writing OUT.part-I-of-N
    strict: bool = False  # exit non-zero if any input failed
    flush_seconds: float = 30.0  # commit completed videos at least this often
    progress: bool = True  # show a progress bar over the videos


def build_recipe(spec: EncoderSpec, cfg: PrecomputeConfig) -> dict:
    """The self-describing extraction recipe stored in the group attributes."""
    import av

    return {
        "encoder": spec.to_dict(),
        "clip": {"length": spec.clip_length, "frame_stride": spec.frame_stride, "rule": CLIP_RULE},
        "transform": {
            "resize_short": spec.resize_short,
            "crop": "center",
            "input_size": spec.input_size,
            "mean": list(spec.mean),
            "std": list(spec.std),
            "interpolation": "bilinear (libswscale)",
        },
        "static": {
            "count": cfg.static_clips,
            "seed": cfg.seed,
            "frames": "round(linspace(0, frames - 1, count))",
            "crop_scale": [0.8, 1.0],
            "crop_ratio": [3 / 4, 4 / 3],
            "flip_p": 0.5,
            "rng": "numpy PCG64 seeded with sha256(f'{seed}:{key}')",
        },
        "compute_dtype": cfg.dtype,
        "anonymizer": None,
        "decoder": {
            "name": "pyav",
            "av": av.__version__,
            "ffmpeg": ".".join(map(str, av.ffmpeg_version_info))
            if isinstance(av.ffmpeg_version_info, tuple)
            else str(av.ffmpeg_version_info),
        },
        "library_version": latentanon.__version__,
    }


def parse_shard(shard: str | None) -> tuple[int, int]:
    """``"I/N"`` -> (I, N); ``None`` -> torchrun's (RANK, WORLD_SIZE) when set, else (0, 1)."""
    if shard is None:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return (int(os.environ.get("RANK", "0")), world) if world > 1 else (0, 1)
    try:
        i, n = (int(x) for x in str(shard).split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like I/N (e.g. 0/4), got {shard!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ConfigError(f"--shard {shard}: need 0 <= I < N")
    return i, n


def shard_path(out: str, index: int, count: int) -> str:
    return out if count == 1 else f"{out}.part-{index}-of-{count}"


# --------------------------------------------------------------------------------------------- decode workers


class _VideoStream(IterableDataset):
    """Streams packets of decoded clips; worker w decodes videos w, w + W, ... of ``todo``.

    A packet is a dict: ``clips`` uint8 (b, T, H, W, 3) with ``refs`` [(pos, clip)], ``static`` uint8
    (v, S, H, W, 3) with ``static_frames`` (v, S), ``done`` [(pos, info)] in the order the videos finished and
    ``failed`` [(pos, reason)]. ``pos`` is the position in ``todo``.
    """

    def __init__(self, todo: list[VideoRecord], spec: EncoderSpec, static_clips: int, seed: int, batch_size: int):
        self.todo, self.spec, self.static_clips, self.seed, self.batch_size = todo, spec, static_clips, seed, batch_size

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        packet = _new_packet()
        for pos in range(wid, len(self.todo), nw):
            for kind, payload in self._decode(pos):
                if kind == "clip":
                    packet["clips"].append(payload[1])
                    packet["refs"].append((pos, payload[0]))
                elif kind == "done":
                    static, frames, meta = payload
                    packet["static"].append(static)
                    packet["static_frames"].append(frames)
                    packet["done"].append((pos, meta))
                else:
                    packet["failed"].append((pos, payload))
                load = len(packet["clips"]) + self.static_clips * len(packet["static"])
                if load >= self.batch_size:
                    yield _finish_packet(packet)
                    packet = _new_packet()
        if packet["refs"] or packet["done"] or packet["failed"]:
            yield _finish_packet(packet)

    def _decode(self, pos: int):
        record = self.todo[pos]
        spec = self.spec
        try:
            source = open_source(record)
            info = probe_video(source)
            wanted = static_frame_indices(info.frames, self.static_clips)
            rng = np.random.default_rng(key_seed(self.seed, record.key))
            statics: list[np.ndarray] = []
            frames_used: list[int] = []
            n = 0
            for kind, index, array in iter_clip_frames(source, spec, wanted):
                if kind == "clip":
                    yield "clip", (index, array)
                elif kind == "frame":
                    for _ in range(wanted.count(index)):
                        statics.append(augment_static_frame(array, spec, rng))
                        frames_used.append(index)
                else:
                    n = index
            while len(statics) < self.static_clips:  # container over-reported its frames: reuse the last one
                statics.append(statics[-1])
                frames_used.append(frames_used[-1])
            empty = np.zeros((0, spec.input_size, spec.input_size, 3), np.uint8)
            static = np.stack(statics) if statics else empty
            meta = {"frames": n, "fps": info.fps, "width": info.width, "height": info.height}
            yield "done", (static, np.asarray(frames_used, np.int64), meta)
        except VideoDecodeError as e:
            yield "failed", str(e)
        except OSError as e:
            yield "failed", f"cannot read input: {type(e).__name__}: {e}"


def _new_packet() -> dict:
    return {"clips": [], "refs": [], "static": [], "static_frames": [], "done": [], "failed": []}


def _finish_packet(p: dict) -> dict:
    p["clips"] = torch.from_numpy(np.stack(p["clips"])) if p["clips"] else None
    p["static"] = torch.from_numpy(np.stack(p["static"])) if p["static"] else None
    return p


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # the encoder in the main process owns the cores


# --------------------------------------------------------------------------------------------- main loop


@torch.inference_mode()
def _encode(encoder, clips: torch.Tensor, spec: EncoderSpec, cfg: PrecomputeConfig, device) -> tuple:
    """uint8 (b, T, H, W, 3) -> float32 tokens (b, T', D) and pooled (b, D), in batches of cfg.batch_size."""
    tokens, pooled = [], []
    autocast = cfg.dtype != "fp32"
    for i in range(0, clips.shape[0], cfg.batch_size):
        x = to_model_input(clips[i : i + cfg.batch_size].to(device), spec)  # (b, T, C, H, W)
        with torch.autocast(device_type=device.type, dtype=DTYPES[cfg.dtype], enabled=autocast):
            z = encoder(x)  # (b, T', D)
        z = z.float()
        tokens.append(z.cpu())
        pooled.append(encoder.pool(z).float().cpu())  # (b, D)
    return torch.cat(tokens).numpy(), torch.cat(pooled).numpy()


def _validate(cfg: PrecomputeConfig) -> None:
    if bool(cfg.videos) == bool(cfg.dataset):
        raise ConfigError(
            "give either --videos (a folder, a .csv/.json list, or webdataset .tar shards) or --dataset NAME "
            "--root DIR (an adapter from docs/datasets.md), not both"
        )
    if cfg.dataset and not cfg.root:
        raise ConfigError(f"--dataset {cfg.dataset} needs --root, the folder holding the dataset")
    if not cfg.out:
        raise ConfigError("--out is required (the store folder or URL to write)")
    if cfg.dtype not in DTYPES:
        raise ConfigError(f"--dtype must be one of {list(DTYPES)}, got {cfg.dtype!r}")
    if cfg.batch_size <= 0 or cfg.num_workers < 0 or cfg.static_clips < 0:
        raise ConfigError("--batch-size must be > 0, --num-workers and --static-clips >= 0")
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {cfg.device} requested but CUDA is not available; use --device cpu")


def main(cfg: PrecomputeConfig) -> dict:
    """Run an extraction; returns the summary dict that is also printed."""
    _validate(cfg)
    extra: dict = {}
    if cfg.dataset:
        from latentanon.datasets import load_dataset

        dataset = load_dataset(cfg.dataset, cfg.root)
        records = dataset.records
        extra["dataset"] = dataset.info()
    else:
        records = discover_videos(cfg.videos)
    shard, shards = parse_shard(cfg.shard)
    out = shard_path(cfg.out, shard, shards)
    mine = [(i, r) for i, r in enumerate(records)][shard::shards]
    device = torch.device(cfg.device)
    encoder = create_encoder(cfg.encoder, cfg.checkpoint).to(device)
    spec: EncoderSpec = encoder.spec
    pooling = Pooler.from_encoder(encoder).to_record()
    recipe = build_recipe(spec, cfg)
    if cfg.anonymizer:  # f_E(f_P(video)): the store records f_P in its recipe
        from latentanon.anonymizers import anonymizer_kind, anonymizer_recipe, create_anonymizer
        from latentanon.wrapper import AnonymizedEncoder

        if anonymizer_kind(cfg.anonymizer) != "pixel":
            raise ConfigError(
                f"--anonymizer {cfg.anonymizer} is a latent anonymizer: apply it to a store with "
                "`python -m latentanon.anonymize --store STORE --anonymizer CKPT --out OUT`"
            )
        pixel = create_anonymizer(cfg.anonymizer, cfg.anonymizer_checkpoint or None)
        recipe["anonymizer"] = anonymizer_recipe(pixel, cfg.anonymizer_checkpoint or None)
        encoder = AnonymizedEncoder(encoder, pixel).to(device)
    elif cfg.anonymizer_checkpoint:
        raise ConfigError("--anonymizer-checkpoint needs --anonymizer NAME (a registered pixel anonymizer)")
    if shards > 1:
        extra["shard"] = {"index": shard, "count": shards}
    t0 = time.perf_counter()
    with StoreWriter(
        out,
        recipe,
        (spec.tokens_per_clip, spec.feature_dim),
        cfg.static_clips,
        flush_seconds=cfg.flush_seconds,
        extra_attrs=extra,
        pooling=pooling,
    ) as writer:
        done = writer.done_keys()
        todo_pairs = [(i, r) for i, r in mine if r.key not in done]
        todo = [r for _, r in todo_pairs]
        stats = _run(encoder, spec, cfg, device, writer, todo_pairs) if todo else {"clips": 0, "failed": 0}
    elapsed = time.perf_counter() - t0
    store = open_store(out)
    mine_keys = {r.key for _, r in mine}
    failures = [f for f in store.info()["failures"] if f["key"] in mine_keys]
    summary = {
        "store": out,
        "encoder": spec.name,
        "inputs": len(mine),
        "skipped_already_done": len(mine) - len(todo),
        "processed": len(todo) - stats["failed"],
        "failed_this_run": stats["failed"],
        "failures": failures,
        "clips_this_run": stats["clips"],
        "clips_per_s": stats["clips"] / elapsed if elapsed > 0 else 0.0,
        "seconds": elapsed,
        "store_videos": store.num_videos,
        "store_clips": store.num_clips,
    }
    if shards > 1:
        summary["merge_command"] = (
            f"python -m latentanon.store merge {shard_path(cfg.out, 0, shards).replace('part-0', 'part-*')} "
            f"--out {cfg.out}"
        )
    return summary


def _run(encoder, spec, cfg, device, writer: StoreWriter, todo_pairs) -> dict:
    todo = [r for _, r in todo_pairs]
    dataset = _VideoStream(todo, spec, cfg.static_clips, cfg.seed, cfg.batch_size)
    workers = min(cfg.num_workers, len(todo))
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        worker_init_fn=_worker_init,
        prefetch_factor=2 if workers else None,
    )
    partial: dict[int, tuple[list, list]] = {}
    finished: dict[int, object] = {}
    next_pos, clips_total, failed = 0, 0, 0
    bar = tqdm(total=len(todo), unit="video", desc=f"precompute {spec.name}", disable=not cfg.progress)
    t0 = time.perf_counter()
    for packet in loader:
        n_clip = 0 if packet["clips"] is None else packet["clips"].shape[0]
        batch = packet["clips"]
        if packet["static"] is not None:
            v, s = packet["static"].shape[:2]
            tiled = packet["static"].reshape(v * s, 1, *packet["static"].shape[2:])  # (v*S, 1, H, W, 3)
            tiled = tiled.expand(-1, spec.clip_length, -1, -1, -1)  # (v*S, T, H, W, 3)
            batch = tiled if batch is None else torch.cat([batch, tiled])
        has_rows = batch is not None and batch.shape[0] > 0
        if has_rows:
            tokens, pooled = _encode(encoder, batch, spec, cfg, device)
        else:  # a packet that only finishes videos (no static clips) or reports failures
            tokens = np.zeros((0, spec.tokens_per_clip, spec.feature_dim), np.float32)
            pooled = np.zeros((0, spec.feature_dim), np.float32)
        for row, (pos, _clip) in enumerate(packet["refs"]):
            toks, pools = partial.setdefault(pos, ([], []))
            toks.append(tokens[row])
            pools.append(pooled[row])
        clips_total += n_clip
        s_off = n_clip
        for j, (pos, meta) in enumerate(packet["done"]):
            toks, pools = partial.pop(pos, ([], []))
            s = cfg.static_clips
            finished[pos] = _video_rows(
                todo_pairs[pos],
                meta,
                np.stack(toks),
                np.stack(pools),
                tokens[s_off + j * s : s_off + (j + 1) * s],
                pooled[s_off + j * s : s_off + (j + 1) * s],
                packet["static_frames"][j],
                spec,
                cfg,
            )
        for pos, reason in packet["failed"]:
            partial.pop(pos, None)
            finished[pos] = reason
        while next_pos in finished:
            item = finished.pop(next_pos)
            if isinstance(item, str):
                index, record = todo_pairs[next_pos]
                writer.add_failure(record.key, index, _source(record), item)
                failed += 1
                bar.write(f"failed: {record.key}: {item}")
            else:
                writer.add_video(item)
            next_pos += 1
            bar.update(1)
        rate = clips_total / max(1e-9, time.perf_counter() - t0)
        bar.set_postfix(clips_per_s=f"{rate:.1f}", failed=failed)
    bar.close()
    if next_pos != len(todo):
        raise RuntimeError(f"internal error: {len(todo) - next_pos} videos were decoded but never finished")
    return {"clips": clips_total, "failed": failed}


def _source(record: VideoRecord) -> str:
    """Where a video came from, as stored: its path, or ``shard.tar::member`` for webdataset samples."""
    return record.path + (f"::{record.member}" if record.member else "")


def _video_rows(pair, meta, tokens, pooled, static_tokens, static_pooled, static_frames, spec, cfg) -> VideoRows:
    index, record = pair
    s = cfg.static_clips
    t, d = spec.tokens_per_clip, spec.feature_dim
    columns = {
        "key": record.key,
        "index": index,
        "path": _source(record),
        "label": record.label,
        "split": record.split,
        "subject": record.subject,
        "gender": record.gender,
        "frames": meta["frames"],
        "fps": meta["fps"],
        "width": meta["width"],
        "height": meta["height"],
        "status": "padded" if meta["frames"] < spec.clip_span else "ok",
        "meta": record.annotations(),
    }
    return VideoRows(
        columns=columns,
        tokens=tokens.astype(np.float16),
        pooled=pooled.astype(np.float16),
        static_tokens=np.asarray(static_tokens, np.float32).reshape(s, t, d).astype(np.float16),
        static_pooled=np.asarray(static_pooled, np.float32).reshape(s, d).astype(np.float16),
        static_frames=np.asarray(static_frames, np.int64).reshape(s),
    )


def format_summary(summary: dict) -> str:
    lines = [
        f"store {summary['store']}: {summary['store_videos']} videos, {summary['store_clips']} clips "
        f"(encoder {summary['encoder']})",
        f"this run: {summary['processed']} videos processed, {summary['skipped_already_done']} already done, "
        f"{summary['failed_this_run']} failed, {summary['clips_this_run']} clips at {summary['clips_per_s']:.1f} "
        f"clips/s in {summary['seconds']:.1f} s",
    ]
    if summary["failures"]:
        lines.append(f"{len(summary['failures'])} failed inputs (recorded in the store):")
        lines += [f"  {f['key']}: {f['reason']}" for f in summary["failures"]]
    if "merge_command" in summary:
        lines.append(f"when every shard is done: {summary['merge_command']}")
    return "\n".join(lines)
