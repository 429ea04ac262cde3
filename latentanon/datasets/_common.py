"""Shared parsing helpers for the dataset adapters (private).

Text lists are read with their 1-based line numbers so that every malformed line can be reported as
``AnnotationError(path, line, message)``. ``#`` is *not* treated as a comment marker: HMDB51 and XD-Violence
file names may begin with or contain ``#``.

The optional sidecar ``synthetic_meta.json`` (a latentanon extension written by the synthetic benchmark) is
applied by :func:`finish`, which every adapter calls last::

    {"attributes": ["a17_color", ...], "classes": [...],
     "videos": {"<key>": {"labels": [0, 1, ...], "subject": "s03", "gender": "F", "action": 2}}}

It fills ``labels``, ``subject`` and ``gender`` of the records with a matching key where the official annotation
files left them unset (``action`` indexes the sidecar's own ``classes`` and is only validated), marks those records
with ``meta["synthetic"] = True``, and gives the dataset the sidecar's ``attributes`` when it has none.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from latentanon.datasets import AnnotationError, Dataset
from latentanon.video import VIDEO_EXTENSIONS, VideoRecord

SYNTHETIC_META = "synthetic_meta.json"
GENDERS = {"m": "M", "male": "M", "f": "F", "female": "F"}


# ----------------------------------------------------------------------------------------------- files


def require_file(path: Path, layout: str) -> Path:
    """``path`` if it is a file, else FileNotFoundError naming it and the expected layout."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: required file not found. Expected layout: {layout}")
    return path


def require_dir(path: Path, layout: str) -> Path:
    """``path`` if it is a folder, else FileNotFoundError naming it and the expected layout."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: required folder not found. Expected layout: {layout}")
    return path


def require_video(path: Path, listed_in: Path | str) -> Path:
    """``path`` if the listed video exists, else FileNotFoundError naming it and the list that names it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video listed in {listed_in} does not exist")
    return path


def find_video(folder: Path, stem: str) -> Path | None:
    """``folder/stem.<ext>`` for the first video extension that exists, else None."""
    for ext in VIDEO_EXTENSIONS:
        candidate = folder / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    return None


def walk_videos(folder: Path) -> list[Path]:
    """Every file under ``folder`` with a video extension, sorted by path."""
    found = []
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return sorted(found)


def find_file_ci(folder: Path, names: Iterable[str]) -> Path | None:
    """The first file in ``folder`` whose name matches one of ``names`` case-insensitively, else None."""
    if not folder.is_dir():
        return None
    present = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    for name in names:
        if name.lower() in present:
            return present[name.lower()]
    return None


def video_key(root: Path, path: Path) -> str:
    """Record key: ``path`` relative to ``root``, without its extension, POSIX separators."""
    rel = Path(os.path.relpath(path, root))
    return rel.with_suffix("").as_posix()


def abspath(path: Path) -> str:
    return os.path.abspath(path)


# ----------------------------------------------------------------------------------------------- text


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines of a text file as ``(1-based line number, stripped text)``; CRLF and a BOM are fine."""
    with open(path, encoding="utf-8-sig", newline=None) as f:
        return [(i, line.strip()) for i, line in enumerate(f, start=1) if line.strip()]


def parse_int(text: str, path: Path, line: int, what: str) -> int:
    """``int(text)`` or AnnotationError naming the field."""
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(path, line, f"{what} must be an integer, got {text!r}") from None


def load_json(path: Path) -> tuple[object, str]:
    """Parsed JSON and its text; a syntax error becomes AnnotationError at the decoder's line."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        return json.loads(text), text
    except json.JSONDecodeError as e:
        raise AnnotationError(path, e.lineno, f"JSON syntax error: {e.msg} (column {e.colno})") from None


def line_of(text: str, pos: int) -> int:
    """1-based line number of character offset ``pos`` in ``text``."""
    return text.count("\n", 0, max(pos, 0)) + 1


def find_json_key(text: str, key: str, start: int = 0) -> int:
    """Offset of the object key ``"key":`` at or after ``start`` (``start`` if absent): used for line numbers."""
    match = re.compile(re.escape(json.dumps(key)) + r"\s*:").search(text, start)
    return match.start() if match else start


def read_gender_table(path: Path, layout: str) -> dict[str, str]:
    """``subject,gender`` CSV -> {subject: "M"|"F"}; malformed rows raise AnnotationError."""
    require_file(path, layout)
    table: dict[str, str] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != ["subject", "gender"]:
            raise AnnotationError(path, 1, f"header must be 'subject,gender', got {header}")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 2:
                raise AnnotationError(path, line, f"expected 2 fields 'subject,gender', got {len(row)}: {row}")
            subject, gender = row[0].strip(), normalize_gender(row[1], path, line)
            if subject in table and table[subject] != gender:
                raise AnnotationError(path, line, f"subject {subject!r} listed twice with different genders")
            table[subject] = gender
    return table


def normalize_gender(value: str, path: Path, line: int | None) -> str:
    """``M``/``F`` (also accepts ``male``/``female``, any case) or AnnotationError."""
    gender = GENDERS.get(str(value).strip().lower())
    if gender is None:
        raise AnnotationError(path, line, f"gender must be M or F, got {value!r}")
    return gender


# ----------------------------------------------------------------------------------------------- result


def finish(
    name: str,
    root: Path,
    records: list[VideoRecord],
    classes: Iterable[str] = (),
    attributes: Iterable[str] = (),
    task: str = "action",
) -> Dataset:
    """Apply the ``synthetic_meta.json`` sidecar if present, sort by key and build the ``Dataset``."""
    attributes = tuple(attributes)
    sidecar = root / SYNTHETIC_META
    if sidecar.is_file():
        records, side_attributes = apply_synthetic_meta(sidecar, records)
        if not attributes and side_attributes and any(r.labels for r in records):
            attributes = side_attributes
    records = sorted(records, key=lambda r: r.key)
    return Dataset(name=name, records=records, classes=tuple(classes), attributes=attributes, task=task)


def apply_synthetic_meta(path: Path, records: list[VideoRecord]) -> tuple[list[VideoRecord], tuple[str, ...]]:
    """Fill unset ``labels``/``subject``/``gender`` from the sidecar; returns records and attributes."""
    data, text = load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, 1, "top level must be an object with 'attributes', 'classes' and 'videos'")
    attributes = data.get("attributes", [])
    if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
        raise AnnotationError(path, line_of(text, find_json_key(text, "attributes")), "'attributes' must list strings")
    videos = data.get("videos")
    if not isinstance(videos, dict):
        raise AnnotationError(path, line_of(text, find_json_key(text, "videos")), "missing object 'videos'")
    videos_at = find_json_key(text, "videos")
    by_key = {r.key: i for i, r in enumerate(records)}
    out = list(records)
    unmatched = 0
    for key, entry in videos.items():
        line = line_of(text, find_json_key(text, key, videos_at))
        if not isinstance(entry, dict):
            raise AnnotationError(path, line, f"video {key!r}: entry must be an object")
        labels = entry.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, int) or x not in (0, 1) for x in labels):
            raise AnnotationError(path, line, f"video {key!r}: 'labels' must be a list of 0/1 integers")
        if attributes and labels and len(labels) != len(attributes):
            raise AnnotationError(path, line, f"video {key!r}: {len(labels)} labels for {len(attributes)} attributes")
        subject = entry.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise AnnotationError(path, line, f"video {key!r}: 'subject' must be a string")
        gender = entry.get("gender")
        if gender is not None:
            gender = normalize_gender(gender, path, line)
        action = entry.get("action")
        if action is not None and (not isinstance(action, int) or isinstance(action, bool)):
            raise AnnotationError(path, line, f"video {key!r}: 'action' must be an integer or null")
        if key not in by_key:
            unmatched += 1
            continue
        i = by_key[key]
        r = out[i]
        out[i] = dataclasses.replace(
            r,
            labels=r.labels or tuple(labels),
            subject=r.subject if r.subject is not None else subject,
            gender=r.gender if r.gender is not None else gender,
            meta={**r.meta, "synthetic": True},
        )
    if unmatched:
        warnings.warn(f"{path}: {unmatched} video entries match no record of the dataset", stacklevel=3)
    return out, tuple(attributes)
