"""Frozen dataclass configs with strict dotted overrides, shared by every entry point.

An entry point declares one frozen dataclass holding all its defaults and calls :func:`parse_cli`:

    python -m latentanon.precompute --encoder videomae-b --batch-size 8 --config run.yaml

* ``--config FILE.yaml`` loads a mapping first; flags given on the command line override it;
* ``--some-key value`` / ``--some_key=value`` / ``--nested.key value`` set fields, coerced to the field type;
* ``--flag`` alone sets a bool field to true (``--flag false`` to clear it);
* an unknown key is an error that lists the known keys; ``--help`` prints every field with its default.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C")


class ConfigError(ValueError):
    """A config file or command-line flag is invalid; the message says which and how to fix it."""


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def known_keys(cls, prefix: str = "") -> list[str]:
    """Every dotted key a config class accepts."""
    hints = typing.get_type_hints(cls)
    out = []
    for name in _fields(cls):
        if dataclasses.is_dataclass(hints[name]):
            out.extend(known_keys(hints[name], prefix + name + "."))
        else:
            out.append(prefix + name)
    return out


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError("; ".join(errors) or f"{key}: cannot interpret {value!r} as {tp}")
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(f"--{key}: must be one of {list(choices)}, got {value!r}")
        return value
    if origin in (tuple, list):
        items = value
        if isinstance(value, str):
            items = [v.strip() for v in value.strip("()[]").split(",") if v.strip()]
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"--{key}: expected a comma-separated list, got {value!r}")
        args = typing.get_args(tp)
        item_tp = args[0] if args else str
        return (tuple if origin is tuple else list)(_coerce(v, item_tp, key) for v in items)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"--{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"--{key}: expected an integer, got {value!r}")
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"--{key}: expected an integer, got {value!r}") from None
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"--{key}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"--{key}: expected a string, got {value!r}")
        return str(value)
    raise ConfigError(f"--{key}: unsupported field type {tp}")


def _unknown(key: str, cls) -> ConfigError:
    keys = [k.replace("_", "-") for k in known_keys(cls)]
    key = key.replace("_", "-")
    close = difflib.get_close_matches(key, keys, n=3)
    hint = f" Did you mean {', '.join('--' + c for c in close)}?" if close else ""
    return ConfigError(f"unknown option --{key}.{hint} Known options: {', '.join('--' + k for k in keys)}")


def apply_overrides(cfg: C, overrides: dict[str, Any]) -> C:
    """A copy of ``cfg`` with dotted keys set (values coerced to the field types); unknown keys are errors."""
    nested: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    hints = typing.get_type_hints(type(cfg))
    fields = _fields(type(cfg))
    for raw_key, value in overrides.items():
        key = raw_key.replace("-", "_")
        head, _, rest = key.partition(".")
        if head not in fields:
            raise _unknown(key, type(cfg))
        if dataclasses.is_dataclass(hints[head]):
            if rest:
                nested.setdefault(head, {})[rest] = value
            elif isinstance(value, dict):
                nested.setdefault(head, {}).update(value)
            else:
                raise ConfigError(f"--{head} is a group of options; set its fields, e.g. --{head}.<field> VALUE")
        elif rest:
            raise _unknown(key, type(cfg))
        else:
            flat[head] = _coerce(value, hints[head], key)
    for head, sub in nested.items():
        try:
            flat[head] = apply_overrides(getattr(cfg, head), sub)
        except ConfigError as e:
            raise ConfigError(str(e).replace("--", f"--{head}.", 1)) from None
    try:
        return dataclasses.replace(cfg, **flat)
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"--config {path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a mapping of option: value, got {type(data).__name__}")
    return data


def parse_argv(argv: list[str]) -> dict[str, Any]:
    """``['--a', '1', '--b=x', '--flag']`` -> ``{'a': '1', 'b': 'x', 'flag': True}`` (values stay strings)."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--") or arg == "--":
            raise ConfigError(f"unexpected argument {arg!r}: options are written --name value")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                value = argv[i + 1]
                i += 1
            else:
                value = True
        out[key] = value
        i += 1
    return out


def format_help(cls, prog: str) -> str:
    lines = [f"usage: python -m {prog} [--config FILE.yaml] [--option VALUE ...]", ""]
    doc = (cls.__doc__ or "").strip()
    if doc:
        lines += [doc, ""]
    lines.append("options (defaults in brackets):")
    defaults = cls()
    for key in known_keys(cls):
        value = defaults
        for part in key.split("."):
            value = getattr(value, part)
        lines.append(f"  --{key.replace('_', '-')}  [{value!r}]")
    return "\n".join(lines)


def parse_cli(cls: type[C], argv: list[str] | None = None, prog: str = "") -> C:
    """Build a config of type ``cls`` from defaults, an optional ``--config`` YAML and command-line overrides."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--help" in argv or "-h" in argv:
        print(format_help(cls, prog or cls.__module__))
        raise SystemExit(0)
    overrides = parse_argv(argv)
    cfg = cls()
    config_file = overrides.pop("config", None)
    if config_file is not None:
        cfg = apply_overrides(cfg, load_yaml(config_file))
    return apply_overrides(cfg, overrides)


def to_dict(cfg) -> dict[str, Any]:
    """JSON-friendly dict of a config (tuples become lists)."""
    return dataclasses.asdict(cfg)
