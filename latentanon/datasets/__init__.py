"""Dataset adapters: real dataset layouts -> one uniform list of ``VideoRecord`` (see latentanon.video).

    ds = load_dataset("ucf101", "/data/ucf101")        # Dataset(name, records, classes, attributes, task)
    python -m latentanon.precompute --dataset ucf101 --root /data/ucf101 --encoder videomae-b --out ucf.zarr

Each adapter is a function ``fn(root: str) -> Dataset`` registered with :func:`register_dataset`. Adapters
read the official annotation files of their dataset; a malformed file raises ``AnnotationError`` naming the
file and line. The synthetic benchmark (``latentanon.datasets.synthetic``) writes every suite in these same
formats, so the adapters are exercised on generated data in the test suite.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from latentanon.video import VideoRecord

DATASET_TASKS = ("action", "privacy", "tad", "ad", "gait", "bias")


class AnnotationError(ValueError):
    """An annotation file is malformed; the message names the file and line."""

    def __init__(self, path, line: int | None, message: str):
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


@dataclass(frozen=True)
class Dataset:
    """A parsed dataset.

    Attributes:
        name: adapter name (``ucf101``).
        records: one ``VideoRecord`` per video (or image), in a stable order, keys unique.
        classes: class names; ``record.label`` and segment labels index this tuple.
        attributes: names of the multi-label targets in ``record.labels`` (VISPR attributes), if any.
        task: what the dataset is for, one of ``DATASET_TASKS``.
    """

    name: str
    records: list[VideoRecord]
    classes: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    task: str = "action"

    def __post_init__(self) -> None:
        if self.task not in DATASET_TASKS:
            raise ValueError(f"Dataset.task must be one of {DATASET_TASKS}, got {self.task!r}")
        keys = [r.key for r in self.records]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"dataset {self.name}: duplicate video key {dup!r}")

    def info(self) -> dict:
        """Class and attribute names, stored in the store's ``dataset`` attribute."""
        return {"name": self.name, "task": self.task, "classes": list(self.classes),
                "attributes": list(self.attributes)}  # fmt: skip


Adapter = Callable[[str], Dataset]
_ADAPTERS: dict[str, Adapter] = {}
_MODULES = (
    "latentanon.datasets.ucf101",
    "latentanon.datasets.hmdb51",
    "latentanon.datasets.kinetics",
    "latentanon.datasets.thumos14",
    "latentanon.datasets.anomaly",
    "latentanon.datasets.vispr",
    "latentanon.datasets.casia_b",
    "latentanon.datasets.ntu",
)
_loaded = False


def register_dataset(name: str) -> Callable[[Adapter], Adapter]:
    """Decorator registering ``fn(root) -> Dataset`` as the adapter ``name``."""

    def decorator(fn: Adapter) -> Adapter:
        if name in _ADAPTERS and _ADAPTERS[name] is not fn:
            raise ValueError(f"dataset adapter {name!r} is already registered")
        _ADAPTERS[name] = fn
        return fn

    return decorator


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _MODULES:
            importlib.import_module(module)
        _loaded = True


def list_datasets() -> list[str]:
    """Names of every registered adapter."""
    _load()
    return sorted(_ADAPTERS)


def load_dataset(name: str, root: str) -> Dataset:
    """Parse the dataset ``name`` found under ``root``.

    Raises:
        KeyError: unknown adapter name (the message lists the known ones).
        FileNotFoundError: an expected file or folder is missing under ``root``.
        AnnotationError: an annotation file is malformed (file and line in the message).
    """
    _load()
    if name not in _ADAPTERS:
        close = difflib.get_close_matches(name, _ADAPTERS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(sorted(_ADAPTERS))}")
    return _ADAPTERS[name](str(root))


__all__ = [
    "AnnotationError",
    "DATASET_TASKS",
    "Dataset",
    "VideoRecord",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]
