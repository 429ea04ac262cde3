"""One protocol run on a store path, written as a JSON report and its Markdown twin (``evaluate`` and the recipes)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from latentanon.protocols.result import head_meta, protocol_config
from latentanon.protocols.settings import HeadSettings


def evaluate_store(
    task: str,
    store: str,
    out: str | Path,
    anonymizer: str = "",
    heads: HeadSettings | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    progress: bool = False,
    encoder_checkpoint: str = "",
    config: dict | None = None,
    head_out: str | Path | None = None,
) -> dict:
    """Run the ``task`` protocol on ``store`` (through ``anonymizer`` if given), write ``out`` (JSON) and its ``.md``
    twin; returns the report (the result's metrics plus where they came from). With ``head_out`` the fitted head
    (AR, TAD, AD) is also saved there, with the meta ``train_aam`` checks before reusing it as a raw head."""
    from latentanon.features import check_stores, open_features
    from latentanon.protocols import run_protocol

    heads = heads or HeadSettings()
    t0 = time.perf_counter()
    check_stores({"store": store}, anonymizer)
    features = open_features(store, anonymizer, encoder_checkpoint)
    result = run_protocol(task, features, heads, val_fraction, seed, progress)
    report = dict(result.metrics)
    report.update(
        store=str(store),
        anonymizer=anonymizer or None,
        encoder=features.recipe["encoder"]["name"],
        recipe_hash=features.recipe_hash,
        seconds=time.perf_counter() - t0,
        config=config if config is not None else protocol_config(heads, val_fraction, seed),
    )
    if head_out is not None and result.head is not None:
        result.head.save(head_out, head_meta(features, heads, val_fraction, seed, result.val))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    out.with_suffix(".md").write_text(format_markdown(report))
    return report


def format_markdown(report: dict) -> str:
    """The one-row Markdown table of a protocol report."""
    metric = report["metric"]
    val_metric = report.get("val_metric", metric)
    unit = report.get("selection_unit", "epoch")
    spread = ""
    if report.get("restarts", 1) > 1:  # AD: the mean of independently trained heads
        spread = f" (mean of {report['restarts']} restarts, std {report['restart_std']:.4f})"
    rows = [
        f"# {report['task'].upper()} evaluation of `{report['store']}`",
        "",
        "| encoder | test | validation (chosen epoch) | chance | videos fit/val/test | seconds |",
        "|---|---|---|---|---|---|",
        f"| {report['encoder']} | {metric} **{report['test_' + metric]:.4f}**{spread} | "
        f"{val_metric} {report['val_' + val_metric]:.4f} ({unit} {report['best_epoch']}) | "
        f"{report.get('chance_' + metric, float('nan')):.4f} | "
        f"{report['videos']['fit']}/{report['videos']['val']}/{report['videos']['test']} | {report['seconds']:.1f} |",
    ]
    return "\n".join(rows) + "\n"
