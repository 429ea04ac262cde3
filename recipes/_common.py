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
