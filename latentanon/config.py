"""Frozen dataclass configs with strict dotted overrides, shared by every entry point.

An entry point declares one frozen dataclass holding all its defaults, with a ``# comment`` on each field saying
what it means, and runs it with :func:`latentanon.cli.run` (:func:`parse_cli` is the same parsing in-process):

    python -m latentanon.precompute --encoder videomae-b --batch-size 8 --config run.yaml

* ``--config FILE.yaml`` loads a mapping first; flags given on the command line override it;
* ``--some-key value`` / ``--some_key=value`` / ``--nested.key value`` set fields, coerced to the field type;
* ``--flag`` alone sets a bool field to true (``--flag false`` or ``--no-flag`` to clear it);
* an unknown key is an error that lists the known keys; ``--help`` prints every field with its default and the
  field's comment (:func:`field_docs`).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import io
import re
import sys
import textwrap
import tokenize
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C")


class ConfigError(ValueError):
    """A config file or command-line flag is invalid; the message says which and how to fix it."""


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def key_types(cls, prefix: str = "") -> dict[str, Any]:
    """Every dotted key a config class accepts (``_`` form, in field order) -> its field type."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for name in _fields(cls):
        if dataclasses.is_dataclass(hints[name]):
            out.update(key_types(hints[name], prefix + name + "."))
        else:
            out[prefix + name] = hints[name]
    return out


def known_keys(cls) -> list[str]:
    """Every dotted key a config class accepts."""
    return list(key_types(cls))


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


def _unknown(key: str, cls, prefix: str = "") -> ConfigError:
    keys = [k.replace("_", "-") for k in known_keys(cls)]
    key = key.replace("_", "-")
    close = difflib.get_close_matches(key, keys, n=3)
    pre = "--" + prefix.replace("_", "-")
    hint = f" Did you mean {', '.join(pre + c for c in close)}?" if close else ""
    return ConfigError(f"unknown option {pre}{key}.{hint} Known options: {', '.join(pre + k for k in keys)}")


def apply_overrides(cfg: C, overrides: dict[str, Any], prefix: str = "") -> C:
    """A copy of ``cfg`` with dotted keys set (values coerced to the field types); unknown keys are errors.

    ``prefix`` is where ``cfg`` sits in an enclosing config (``"optim."``), for the messages."""
    nested: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    hints = typing.get_type_hints(type(cfg))
    fields = _fields(type(cfg))
    for raw_key, value in overrides.items():
        key = raw_key.replace("-", "_")
        head, _, rest = key.partition(".")
        if head not in fields:
            raise _unknown(key, type(cfg), prefix)
        if dataclasses.is_dataclass(hints[head]):
            if rest:
                nested.setdefault(head, {})[rest] = value
            elif isinstance(value, dict):
                nested.setdefault(head, {}).update(value)
            else:
                group = prefix + head
                raise ConfigError(f"--{group} is a group of options; set its fields, e.g. --{group}.<field> VALUE")
        elif rest:
            raise _unknown(key, type(cfg), prefix)
        else:
            flat[head] = _coerce(value, hints[head], prefix + key)
    for head, sub in nested.items():
        flat[head] = apply_overrides(getattr(cfg, head), sub, prefix + head + ".")
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
    """``['--a', '1', '--b=x', '--flag']`` -> ``{'a': '1', 'b': 'x', 'flag': 'true'}`` (values stay strings).

    The command line's own tokenizer (:func:`latentanon.cli.split_argv`) without a config class to consult;
    a positional argument is an error."""
    from latentanon.cli import split_argv  # latentanon.cli builds on this module

    args, flags = split_argv(list(argv))
    if args:
        raise ConfigError(f"unexpected argument {args[0]!r}: options are written --name value")
    return flags


# ------------------------------------------------------------------------------------------------ help


@functools.cache
def _class_source(cls) -> tuple[ast.ClassDef, list[str]] | None:
    """The class statement of ``cls`` and its source lines, or None when the source is not available."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return (node, source.splitlines()) if isinstance(node, ast.ClassDef) else None


def _comments(lines: list[str]) -> dict[int, tuple[str, bool]]:
    """Line number (1-based) -> (comment text, whether the comment is the whole line)."""
    out: dict[int, tuple[str, bool]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if tok.type == tokenize.COMMENT:
                row = tok.start[0]
                out[row] = (tok.string.lstrip("#").strip(), not lines[row - 1][: tok.start[1]].strip())
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def _docstring_sections(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its text outside an ``Args:`` / ``Attributes:`` section and that
    section's entries (``name: description`` or ``name (type): description``, continued on deeper lines)."""
    text: list[str] = []
    entries: dict[str, str] = {}
    section = entry = None  # indentation of the section header, of its entries
    current = ""
    for line in doc.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if section is not None and stripped and indent <= section:
            section = None  # the next section or plain text
        if section is None:
            if re.fullmatch(r"(Args|Arguments|Attributes|Fields):", stripped):
                section, entry, current = indent, None, ""
            else:
                text.append(line)
            continue
        match = re.fullmatch(r"(\w+)\s*(?:\([^)]*\))?:\s*(.*)", stripped)
        if match and (entry is None or indent <= entry):
            current, entry = match.group(1), indent
            entries[current] = match.group(2)
        elif current and stripped:
            entries[current] = (entries[current] + " " + stripped).strip()
    return "\n".join(text).strip(), entries


def class_doc(cls) -> str:
    """The docstring of a config class written in its source (not the signature a dataclass makes up), without
    its ``Args:``/``Attributes:`` section."""
    parsed = _class_source(cls)
    if parsed is None:
        doc = cls.__dict__.get("__doc__") or ""
        return "" if doc.startswith(cls.__name__ + "(") else inspect.cleandoc(doc)
    return _docstring_sections(ast.get_docstring(parsed[0]) or "")[0]


@functools.cache
def field_docs(cls) -> dict[str, str]:
    """What each field of a config class means, taken from the source of the class that declares the field.

    In order of preference: the trailing ``# comment`` on the field's line, continued by the comment-only lines
    that follow it directly (a comment block after a blank line is a section heading, not a continuation); a
    string literal right after the field (an attribute docstring); an entry of an ``Args:`` / ``Attributes:``
    section of the class docstring. Fields without any of these are absent from the result.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's description of a field wins
        if klass is not object and dataclasses.is_dataclass(klass):
            docs.update(_own_field_docs(klass))
    return {name: docs[name] for name in _fields(cls) if name in docs}


def _own_field_docs(cls) -> dict[str, str]:
    """:func:`field_docs` of the fields written in the body of ``cls`` itself."""
    parsed = _class_source(cls)
    if parsed is None:
        return {}
    node, lines = parsed
    comments = _comments(lines)
    sections = _docstring_sections(ast.get_docstring(node) or "")[1]
    docs: dict[str, str] = {}
    for i, stmt in enumerate(node.body):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        name = stmt.target.id
        parts: list[str] = []
        trailing = [r for r in range(stmt.lineno, stmt.end_lineno + 1) if r in comments and not comments[r][1]]
        if trailing:
            parts.append(comments[trailing[0]][0])
            row = stmt.end_lineno + 1
            while row in comments and comments[row][1]:
                parts.append(comments[row][0])
                row += 1
        nxt = node.body[i + 1] if i + 1 < len(node.body) else None
        if not parts and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            if isinstance(nxt.value.value, str):
                parts.append(" ".join(nxt.value.value.split()))
        if not parts and sections.get(name):
            parts.append(sections[name])
        text = " ".join(p for p in parts if p)
        if text:
            docs[name] = text
    for name, text in sections.items():  # documented in the docstring only (e.g. a field of a base class)
        docs.setdefault(name, text)
    return docs


def _group_doc(cls, name: str, group) -> str:
    """The heading of a group of options: the first paragraph of its class docstring, else the field's comment."""
    return " ".join(class_doc(group).split("\n\n")[0].split()) or field_docs(cls).get(name, "")


def undocumented(cls, prefix: str = "") -> list[str]:
    """Dotted keys of ``cls`` (fields and groups of fields) that have no description for ``--help``."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    out = []
    for name in _fields(cls):
        if dataclasses.is_dataclass(hints[name]):
            if not _group_doc(cls, name, hints[name]):
                out.append(prefix + name)
            out.extend(undocumented(hints[name], prefix + name + "."))
        elif name not in docs:
            out.append(prefix + name)
    return out


def _choices(tp: Any) -> tuple | None:
    for arg in (tp, *typing.get_args(tp)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return None


def _entry(indent: str, head: str, text: str) -> list[str]:
    line = f"{indent}{head}  {text}" if text else f"{indent}{head}"
    return textwrap.wrap(
        line, width=HELP_WIDTH, subsequent_indent=indent + "    ", break_long_words=False, break_on_hyphens=False
    ) or [line]


HELP_WIDTH = 120


def format_help(cls, prog: str, positional: tuple[str, ...] = ()) -> str:
    """The ``--help`` text of a config class: usage, the class docstring, then every option with its default and
    what it means (:func:`field_docs`); nested groups are headed by their description or class docstring.

    Args:
        cls: the config dataclass.
        prog: the module users run (``python -m PROG``), with the subcommand if any.
        positional: fields that are also taken from positional arguments, in order (see :func:`latentanon.cli.run`).
    """
    hints = typing.get_type_hints(cls)
    metavars = [_metavar(name, hints[name]) for name in positional]
    usage = " ".join(["usage: python -m", prog, *metavars, "[--config FILE.yaml] [--option VALUE ...]"])
    lines = [usage, ""]
    doc = class_doc(cls)
    if doc:
        lines += [doc, ""]
    lines.append("options (defaults in brackets):")
    lines += _entry("  ", "--config FILE.yaml", "read options from a YAML mapping first; flags given here override it")

    def walk(group_cls, group_value, prefix: str, indent: str) -> None:
        group_hints = typing.get_type_hints(group_cls)
        docs = field_docs(group_cls)
        for name in _fields(group_cls):
            tp, value, key = group_hints[name], getattr(group_value, name), prefix + name
            flag = "--" + key.replace("_", "-")
            if dataclasses.is_dataclass(tp):
                lines.append("")
                lines.extend(_entry(indent, flag + ".*", _group_doc(group_cls, name, tp)))
                walk(tp, value, key + ".", indent + "  ")
                lines.append("")  # the options after a group are not in it
                continue
            text = docs.get(name, "")
            choices = _choices(tp)
            if choices:
                text = (text + f" (one of: {', '.join(map(str, choices))})").strip()
            head = f"{flag}  [{value!r}]"
            if not prefix and name in positional:
                head = f"{_metavar(name, tp)} or {head}"
            lines.extend(_entry(indent, head, text))

    walk(cls, cls(), "", "  ")
    lines.append("")
    lines += textwrap.wrap(
        "A bool option alone means true (--name false, or --no-name, sets it to false); lists are comma-separated "
        "(--dims 64,128); none clears an optional value.",
        width=HELP_WIDTH,
    )
    return "\n".join(line for i, line in enumerate(lines) if line or i == 0 or lines[i - 1])


def _metavar(name: str, tp: Any) -> str:
    many = typing.get_origin(tp) in (tuple, list)
    return name.upper().replace("_", "-") + ("..." if many else "")


def parse_cli(cls: type[C], argv: list[str] | None = None, prog: str = "") -> C:
    """Build a config of type ``cls`` from defaults, an optional ``--config`` YAML and command-line overrides.

    The same parsing as :func:`latentanon.cli.run` (which adds error reporting, logging and subcommands);
    ``--help`` prints :func:`format_help` and raises ``SystemExit(0)``."""
    from latentanon.cli import parse  # latentanon.cli builds on this module

    argv = sys.argv[1:] if argv is None else list(argv)
    if "--help" in argv or "-h" in argv:
        print(format_help(cls, prog or cls.__module__))
        raise SystemExit(0)
    return parse(cls, argv)


def to_dict(cfg) -> dict[str, Any]:
    """JSON-friendly dict of a config (tuples become lists)."""
    return dataclasses.asdict(cfg)
