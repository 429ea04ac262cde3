"""Extract frozen-encoder features of videos into a Zarr feature store.

    python -m latentanon.precompute --encoder videomae-b --videos VIDEOS --out features.zarr \
        [--checkpoint MCG-NJU/videomae-base-finetuned-kinetics] [--batch-size 16] [--num-workers 2] \
        [--device cpu|cuda] [--dtype fp32|bf16|fp16] [--static-clips 10] [--shard I/N] [--strict]

Decoding runs in DataLoader workers, which stream uint8 clips (and the frames wanted for static clips) to the
main process; the main process batches clips of several videos through the encoder and hands each finished
video to the store writer in input order. Re-running the same command resumes: committed videos and recorded
failures are skipped. Unreadable videos are recorded in the store's failure table with their reason.
With ``--shard I/N`` (or under torchrun) each process writes ``OUT.part-I-of-N``; join them with
``python -m latentanon.store merge OUT.part-*-of-N --out OUT``.
"""

from __future__ import annotations

import sys

from latentanon.cli import run
from latentanon.data import pin_malloc_mmap_threshold
from latentanon.extract import PrecomputeConfig, build_recipe, format_summary, main, parse_shard, shard_path

__all__ = ["PrecomputeConfig", "build_recipe", "cli", "format_summary", "main", "parse_shard", "shard_path"]


def _cli_main(cfg: PrecomputeConfig) -> int:
    """``main`` for the command line: print the summary; 1 when ``--strict`` and an input failed."""
    summary = main(cfg)
    print(format_summary(summary))
    if cfg.strict and summary["failures"]:
        print(f"--strict: {len(summary['failures'])} inputs failed", file=sys.stderr)
        return 1
    return 0


def cli(argv: list[str] | None = None) -> int:
    pin_malloc_mmap_threshold()
    return run(PrecomputeConfig, _cli_main, argv, prog="latentanon.precompute")


if __name__ == "__main__":
    sys.exit(cli())
