"""Write an anonymized copy of a feature store.

    python -m latentanon.anonymize --store raw/ucf101.zarr --aam runs/aam/best --out anon/ucf101.zarr

The output has the raw store's schema and video table (labels, splits, annotations, static-clip frame indices);
its clip and static-clip tokens and features are ``AAM(tokens)`` and ``pool(AAM(tokens))``, and its recipe's
``anonymizer`` field records the adapter (checkpoint path, config and weights hash). No raw feature is copied.
Like ``precompute``, the run is resumable (videos already written are skipped) and a reader never sees a
half-written video.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from latentanon.config import ConfigError, parse_cli
from latentanon.stores import StoreWriter, VideoRows, open_store
from latentanon.stores.schema import VIDEO_COLUMNS
from latentanon.wrapper import AnonymizedStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnonymizeConfig:
    """Apply a trained AAM to every clip of a raw store and write the result as a new store."""

    store: str = ""  # the raw store
    aam: str = ""  # AAM checkpoint directory (train_aam's OUT/best)
    out: str = ""  # the anonymized store to write
    encoder_checkpoint: str = ""  # encoder weights for pooling, if moved since precompute
    progress: bool = True


def main(cfg: AnonymizeConfig) -> dict:
    """Anonymize ``cfg.store`` into ``cfg.out``; returns a summary."""
    for name in ("store", "aam", "out"):
        if not getattr(cfg, name):
            raise ConfigError(f"--{name} is required")
    raw = open_store(cfg.store)
    t0 = time.perf_counter()
    view = AnonymizedStore.from_checkpoint(raw, cfg.aam, cfg.encoder_checkpoint or None)
    static_tokens, static_pooled, static_frames = view.static()
    extra = {k: v for k, v in raw.group.attrs.items() if k not in ("latentanon", "committed")}
    with StoreWriter(cfg.out, view.recipe, view.token_shape, raw.static_count, extra_attrs=extra) as writer:
        done = writer.done_keys()
        offsets, counts = raw.videos["clip_offset"], raw.videos["clip_count"]
        written = 0
        for v in tqdm(range(raw.num_videos), desc="anonymize", unit="video", disable=not cfg.progress):
            key = str(raw.videos["key"][v])
            if key in done:
                continue
            a, n = int(offsets[v]), int(counts[v])
            columns = {c: raw.videos[c][v].item() if hasattr(raw.videos[c][v], "item") else raw.videos[c][v]
                       for c in VIDEO_COLUMNS if c not in ("clip_offset", "clip_count")}  # fmt: skip
            columns = {c: str(x) if VIDEO_COLUMNS[c][0] == "str" else x for c, x in columns.items()}
            writer.add_video(
                VideoRows(
                    columns=columns,
                    tokens=view.tokens()[a : a + n].astype(np.float16),
                    pooled=view.pooled()[a : a + n].astype(np.float16),
                    static_tokens=static_tokens[v].astype(np.float16),
                    static_pooled=static_pooled[v].astype(np.float16),
                    static_frames=np.asarray(static_frames[v], np.int64),
                )
            )
            written += 1
        for f in range(raw.num_failures):
            if str(raw.failures["key"][f]) not in done:
                writer.add_failure(
                    str(raw.failures["key"][f]),
                    int(raw.failures["index"][f]),
                    str(raw.failures["path"][f]),
                    str(raw.failures["reason"][f]),
                )
    return {
        "out": cfg.out,
        "videos": raw.num_videos,
        "written": written,
        "skipped": raw.num_videos - written,
        "seconds": time.perf_counter() - t0,
        "anonymizer": view.recipe["anonymizer"],
    }


def cli(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = main(parse_cli(AnonymizeConfig, argv, prog="latentanon.anonymize"))
    except (ConfigError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"anonymized store {summary['out']}: {summary['written']} videos written, {summary['skipped']} already "
        f"there, in {summary['seconds']:.1f} s (adapter {summary['anonymizer']['checkpoint']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli())
