"""The evaluation protocols: functions over features that return a typed result (metrics and the fitted head).

    from latentanon.protocols import HeadSettings, run_protocol
    result = run_protocol("ar", store, HeadSettings(), val_fraction=0.1, seed=0)
    result.metrics["test_top1"], result.head.module

``store`` is anything with the reader's interface: a raw store (``latentanon.stores.open_store``), an anonymized
store, or a store seen through a latent anonymizer (``latentanon.features.open_features``). ``evaluate`` is their
command line; ``train_aam`` (raw heads) and the recipes call them directly. Protocols follow METHOD.md and HEADS.md,
with the sound choice by default: the epoch or step is always chosen on a validation split, never on test.
"""

from __future__ import annotations

from latentanon.protocols.ad import run_ad
from latentanon.protocols.ar import run_ar
from latentanon.protocols.features import clip_average, five_clip_rows, video_features, video_means
from latentanon.protocols.privacy import privacy_inputs, run_privacy, video_attribute_labels
from latentanon.protocols.report import evaluate_store, format_markdown
from latentanon.protocols.result import FittedHead, ProtocolResult
from latentanon.protocols.settings import TASKS, ADConfig, HeadSettings, TADConfig, head_settings
from latentanon.protocols.splits import split_videos
from latentanon.protocols.tad import run_tad

PROTOCOLS = {"ar": run_ar, "tad": run_tad, "ad": run_ad, "privacy": run_privacy}


def run_protocol(
    task: str, store, heads: HeadSettings | None = None, val_fraction: float = 0.1, seed: int = 0, progress: bool = True
) -> ProtocolResult:
    """Run the ``task`` protocol (one of :data:`TASKS`) on ``store``."""
    if task not in PROTOCOLS:
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    return PROTOCOLS[task](store, heads or HeadSettings(), val_fraction=val_fraction, seed=seed, progress=progress)


__all__ = [
    "ADConfig",
    "FittedHead",
    "HeadSettings",
    "PROTOCOLS",
    "ProtocolResult",
    "TADConfig",
    "TASKS",
    "clip_average",
    "evaluate_store",
    "format_markdown",
    "five_clip_rows",
    "head_settings",
    "privacy_inputs",
    "run_ad",
    "run_ar",
    "run_privacy",
    "run_protocol",
    "run_tad",
    "split_videos",
    "video_attribute_labels",
    "video_features",
    "video_means",
]
