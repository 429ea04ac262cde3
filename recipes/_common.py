"""Helpers shared by the evaluation recipes: outputs (JSON + Markdown), Markdown tables, plots, store pairs."""

from __future__ import annotations

import json
import math
from pathlib import Path

from latentanon.config import ConfigError


def check_pair(raw: str, anonymized: str, what: str = "raw") -> None:
    if not raw:
        raise ConfigError(f"--{what} is required (a feature store)")
    if not Path(raw).exists():
        raise ConfigError(f"--{what} {raw}: no such store")
    if anonymized and not Path(anonymized).exists():
        raise ConfigError(f"--anonymized {anonymized}: no such adapter checkpoint or store")


def write_outputs(out: str | Path, name: str, metrics: dict, markdown: str) -> tuple[Path, Path]:
    """``OUT/NAME.json`` (every number) and ``OUT/NAME.md``, written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / f"{name}.json", out / f"{name}.md"
    for path, text in zip(paths, (json.dumps(metrics, indent=1, default=str), markdown)):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return paths


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; floats with 4 decimals."""

    def cell(v) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.4f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def relative(new: float, old: float) -> float:
    """(new - old) / old, NaN when old is 0."""
    return (new - old) / old if old else math.nan


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def grouped_bars(
    path: Path,
    categories: list[str],
    series: dict[str, list[float]],
    xlabel: str,
    ylabel: str,
    reference: tuple[float, str] | None = None,
    zoom: bool = False,
) -> Path:
    """A grouped bar chart: one group per category, one bar per series; ``reference`` draws a labelled line;
    ``zoom`` starts the y axis just below the smallest value (for metrics far from 0, such as cMAP)."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4), dpi=120)
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = np.arange(len(categories)) + (i - (len(series) - 1) / 2) * width
        ax.bar(xs, values, width, label=name)
    if reference is not None:
        ax.axhline(reference[0], color="grey", ls="--", lw=0.8, label=reference[1])
    values = [v for vs in series.values() for v in vs] + ([reference[0]] if reference else [])
    low, high = min(values + [0.0]), max(values + [0.0])
    if zoom:
        low = max(0.0, min(values) - 0.05)
    elif low < 0:
        low -= 0.1 * (high - low)
    ax.set_ylim(low, high + 0.35 * (high - low))  # headroom for the legend above the bars
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(np.arange(len(categories)), categories)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, ncol=2, loc="upper center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def run_cli(cls, main, format_markdown, prog: str, argv: list[str] | None) -> int:
    """The recipes' command line (:func:`latentanon.cli.run`): parse ``cls`` from ``--config`` and overrides, run
    ``main``, print its Markdown; a configuration or input error prints one line and exits 2."""
    import logging

    from latentanon.cli import run

    return run(cls, main, argv, prog=prog, summary=format_markdown, log_level=logging.WARNING)


def train_or_reuse(train_cfg, train) -> dict:
    """Train an adapter with ``train(train_cfg)`` unless ``train_cfg.out`` already holds one trained with the same
    settings (recorded in ``recipe_run.json``); a finished run with other settings is an error, never reused.
    Returns the run's ``summary.json``."""
    from dataclasses import asdict

    run = Path(train_cfg.out)
    record = run / "recipe_run.json"
    where = ("progress", "out", "raw_heads")  # locations and display, not settings: a moved run is still reusable
    want = json.loads(json.dumps({k: v for k, v in asdict(train_cfg).items() if k not in where}, default=str))
    if (run / "summary.json").is_file():
        if not record.is_file() or json.loads(record.read_text()) != want:
            raise ConfigError(f"{run} holds an adapter trained with other settings; choose another --out or delete it")
    else:
        train(train_cfg)
        record.write_text(json.dumps(want, indent=1))
    return json.loads((run / "summary.json").read_text())
