"""The command line of every entry point: a config dataclass, a ``main(cfg)``, and one way to fail.

An entry point module ends with::

    def cli(argv: list[str] | None = None) -> int:
        return run(PrecomputeConfig, main, argv, prog="latentanon.precompute", summary=format_summary)


    if __name__ == "__main__":
        sys.exit(cli())

and a tool with subcommands passes a dict of :class:`Command` to :func:`run_commands` (see
``latentanon/stores/__main__.py``). Both give every command the same behaviour:

* flags are dotted overrides of the config, coerced to the field types by :mod:`latentanon.config`
  (``--config FILE.yaml`` first, then the flags; an unknown key is an error that lists the close matches);
* ``--help`` / ``-h`` prints every option with its default and the meaning written beside its field;
* a user error (:data:`USER_ERRORS`, their subclasses, and the ``user_errors`` a command adds) from parsing or from
  ``main`` prints exactly one line ``error: <message>`` to stderr and returns 2; Ctrl-C returns 130; anything
  else is a bug and propagates with its traceback;
* logging is configured here (``logging.basicConfig``), never in library modules.

What fire does here, and what it does not
-----------------------------------------
Fire (python-fire) tokenizes the command line and dispatches it: it splits the arguments into positionals and
``--name value`` / ``--name=value`` flags (``-`` in a name becomes ``_``; dots are kept, so ``--aam.mode x``
arrives as the key ``aam.mode``), picks the subcommand out of the dict by the first argument, and calls the
command's entry function ``entry(*args, **flags)``.

It does not parse values: its default parser evaluates Python literals (``1e3`` becomes 1000.0, ``[1, 2]`` a
list, a path may be reformatted), so the entry function is decorated with ``fire.decorators.SetParseFn`` and the
identity, and the raw strings go to :mod:`latentanon.config`. It does not print help (fire's help would describe
``entry(*args, **flags)``, not the config): ``--help`` is answered before fire runs. Errors and exit codes are
not fire's either; the entry function returns None, so fire prints nothing.

Two things fire cannot do right with an entry taking ``**flags``, so :func:`split_argv` rewrites the arguments
first (the fallback):

* bare boolean flags. Fire cannot know that a flag is a bool: it takes the next token as its value unless that
  token is a flag or absent, so ``export STORE --tokens DIR`` would set ``tokens='DIR'``; and it reads a bare
  ``--noX`` as ``X=False`` (``--no-progress`` even as ``_progress=False``). So a bare flag is rewritten
  ``--name=true`` when it ends the line, is followed by a flag, or names a bool field and is not followed by a
  bool word (true/false, yes/no, on/off, 1/0); ``--no-name`` of a bool field ``name`` becomes ``--name=false``.
  A value that looks like a flag (``-x``) must be written ``--name=-x``.
* its own syntax: a lone ``-`` chains commands and the arguments after ``--`` are fire's flags
  (``--interactive``, ``--trace``...). Every call appends ``-- --separator \\0``, so ``-`` is an ordinary
  argument and no user argument reaches fire's flags; a user ``--`` is refused.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from latentanon.config import ConfigError, apply_overrides, class_doc, format_help, key_types, load_yaml

C = TypeVar("C")

USER_ERRORS = (ConfigError, FileNotFoundError, NotADirectoryError, ValueError, KeyError)
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}
_FIRE_SEPARATOR = "\0"  # fire chains commands at this argument (default "-"); no shell can pass a NUL


@dataclasses.dataclass(frozen=True)
class Command:
    """One command: its config class, what runs it, and how its result is shown.

    Attributes:
        config_cls: the frozen config dataclass; every field is an option.
        main: ``main(cfg)``; an ``int`` result is the exit status (e.g. 1 for partial failure), anything else is 0.
        summary: ``summary(result) -> str | None``, printed to stdout when not None.
        positional: fields that positional arguments fill, in order; a list or tuple field, last, takes all the
            remaining ones (one or more). Positionals are required unless given as flags or in ``--config``.
        help: one line for the list of subcommands (default: the first line of the config's docstring).
    """

    config_cls: type
    main: Callable[[Any], Any]
    summary: Callable[[Any], str | None] | None = None
    positional: tuple[str, ...] = ()
    help: str = ""


def run(
    config_cls: type,
    main: Callable[[Any], Any],
    argv: list[str] | None = None,
    prog: str = "",
    summary: Callable[[Any], str | None] | None = None,
    positional: tuple[str, ...] = (),
    user_errors: tuple[type[BaseException], ...] = (),
    log_level: int = logging.INFO,
) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) into ``config_cls``, run ``main(cfg)`` and return the exit status.

    Args:
        config_cls, main, summary, positional: as in :class:`Command`.
        argv: the arguments after the program name.
        prog: the module users run, ``python -m PROG`` (default: the ``-m`` module, else ``main``'s module).
        user_errors: exception types that also count as user errors (one line, exit 2), e.g. a ``TrainingError``.
        log_level: the level ``logging.basicConfig`` sets.

    Returns:
        0 on success (or ``main``'s int result), 2 for a user error, 130 when interrupted; ``--help`` returns 0.
    """
    command = Command(config_cls, main, summary, tuple(positional))
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = _prog(prog, main)
    if "--help" in argv or "-h" in argv:
        print(format_help(config_cls, prog, command.positional))
        return 0
    return _guarded(lambda: _execute(command, argv, prog), user_errors, log_level)


def run_commands(
    commands: Mapping[str, Command],
    argv: list[str] | None = None,
    prog: str = "",
    description: str = "",
    user_errors: tuple[type[BaseException], ...] = (),
    log_level: int = logging.INFO,
) -> int:
    """``python -m PROG COMMAND [ARGS] [--option VALUE ...]``: run the :class:`Command` named by the first argument.

    ``PROG --help`` lists the commands, ``PROG COMMAND --help`` a command's options; the other arguments and the
    return value are as in :func:`run`. ``description`` heads the list of commands."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = prog or _prog("", next(iter(commands.values())).main)
    if argv and argv[0] in ("-h", "--help"):
        print(_format_commands(commands, prog, description))
        return 0

    def select_and_run() -> int:
        names = list(commands)
        if not argv:
            raise ConfigError(f"missing the command: one of {', '.join(names)} (python -m {prog} --help)")
        if argv[0] not in commands:
            close = difflib.get_close_matches(argv[0], names, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ConfigError(f"unknown command {argv[0]!r}.{hint} Commands: {', '.join(names)}")
        command = commands[argv[0]]
        if "--help" in argv or "-h" in argv:
            print(format_help(command.config_cls, f"{prog} {argv[0]}", command.positional))
            return 0
        return _execute(commands, argv, prog)

    return _guarded(select_and_run, user_errors, log_level)


def parse(config_cls: type[C], argv: list[str], positional: tuple[str, ...] = ()) -> C:
    """The config ``run`` would pass to ``main``: defaults, then ``--config``, then flags and positionals.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, a missing or unexpected positional argument.
    """
    configs: list[Any] = []
    _execute(Command(config_cls, configs.append, positional=tuple(positional)), list(argv), config_cls.__name__)
    return configs[0]


def split_argv(argv: list[str], config_cls: type | None = None) -> tuple[list[str], dict[str, str]]:
    """Fire's reading of ``argv``: (positional arguments, ``{dotted_key: raw string}``), after the rewriting of bare
    and ``--no-`` flags described in the module docstring (with the bool fields of ``config_cls`` when given)."""
    import fire

    captured: dict[str, Any] = {}

    @fire.decorators.SetParseFn(_raw)
    def entry(*args: str, **flags: str) -> None:
        captured.update(args=list(args), flags=flags)

    _fire(entry, _prepare(argv, config_cls), "split_argv")
    return captured["args"], captured["flags"]


# ------------------------------------------------------------------------------------------------ internals


def _raw(text: str) -> str:
    """Fire's parse function: the argument exactly as typed (``latentanon.config`` coerces it by field type)."""
    return text


def _entry(command: Command, outcome: dict[str, int]) -> Callable[..., None]:
    """The function fire calls: build the config from the raw strings, run ``main``, keep its exit status."""
    import fire

    @fire.decorators.SetParseFn(_raw)
    def entry(*args: str, **flags: str) -> None:
        cfg = _build(command.config_cls, list(args), flags, command.positional)
        result = command.main(cfg)
        if command.summary is not None:
            text = command.summary(result)
            if text is not None:
                print(text)
        outcome["status"] = result if isinstance(result, int) and not isinstance(result, bool) else 0

    return entry


def _execute(commands: Command | Mapping[str, Command], argv: list[str], prog: str) -> int:
    """Hand ``argv`` to fire, which calls the command's entry (with a dict of commands, the one ``argv[0]``
    names); returns the exit status the entry kept."""
    outcome = {"status": 0}
    if isinstance(commands, Command):
        component: Any = _entry(commands, outcome)
        args = _prepare(argv, commands.config_cls)
    else:
        component = {name: _entry(command, outcome) for name, command in commands.items()}
        args = [argv[0], *_prepare(argv[1:], commands[argv[0]].config_cls)]
    _fire(component, args, prog)
    return outcome["status"]


def _fire(component: Any, args: list[str], prog: str) -> None:
    import fire

    try:
        fire.Fire(component, command=[*args, "--", "--separator", _FIRE_SEPARATOR], name=prog)
    except fire.core.FireExit as e:  # fire could not dispatch (not expected with *args, **flags entries)
        raise ConfigError(f"cannot read the command line {args!r} (fire exit status {e.code})") from None


def _is_bool(tp: Any) -> bool:
    return tp is bool or (typing.get_origin(tp) in (typing.Union, types.UnionType) and bool in typing.get_args(tp))


def _is_flag(arg: str) -> bool:
    """Fire's test for a flag (``fire.core._IsFlag``): ``--x``, ``-x``, but not ``-1``."""
    return arg.startswith("--") or re.match(r"^-[a-zA-Z]", arg) is not None


def _prepare(argv: list[str], config_cls: type | None) -> list[str]:
    """Rewrite bare flags as ``--name=true`` / ``--name=false`` (see the module docstring) and refuse ``--``."""
    field_types = key_types(config_cls) if config_cls is not None else {}
    out = []
    for i, arg in enumerate(argv):
        if arg == "--":
            raise ConfigError("unexpected argument '--': options are written --name value")
        if not arg.startswith("--") or "=" in arg:
            out.append(arg)
            continue
        key = arg[2:].replace("-", "_")
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if key not in field_types and key.startswith("no_") and _is_bool(field_types.get(key[3:])):
            out.append(f"--{arg[5:]}=false")
        elif nxt is None or _is_flag(nxt) or (_is_bool(field_types.get(key)) and nxt.lower() not in _BOOL_WORDS):
            out.append(f"{arg}=true")
        else:
            out.append(arg)
    return out


def _metavar(name: str, tp: Any) -> str:
    return name.upper().replace("_", "-") + ("..." if typing.get_origin(tp) in (tuple, list) else "")


def _build(cls: type[C], args: list[str], flags: dict[str, str], positional: tuple[str, ...]) -> C:
    """Defaults, then the ``--config`` YAML, then the flags and positional arguments, coerced by field type."""
    overrides: dict[str, Any] = dict(flags)
    config_file = overrides.pop("config", None)
    cfg = cls()
    from_file: dict[str, Any] = {}
    if config_file is not None:
        from_file = load_yaml(config_file)
        cfg = apply_overrides(cfg, from_file)
    hints = typing.get_type_hints(cls)
    for i, name in enumerate(positional):
        if not args:
            break
        many = i == len(positional) - 1 and typing.get_origin(hints[name]) in (tuple, list)
        value, args = (list(args), []) if many else (args[0], args[1:])
        if name in overrides:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{_metavar(name, hints[name])} given twice: as an argument and as {flag}")
        overrides[name] = value
    if args:
        raise ConfigError(f"unexpected argument {args[0]!r}: options are written --name value")
    given = set(overrides) | {k.replace("-", "_") for k in from_file}
    missing = [_metavar(n, hints[n]) for n in positional if n not in given]
    if missing:
        usage = " ".join(_metavar(n, hints[n]) for n in positional)
        raise ConfigError(f"missing {', '.join(missing)} (usage: {usage} [--option VALUE ...])")
    return apply_overrides(cfg, overrides)


def _message(e: BaseException) -> str:
    """The exception's message on one line (a KeyError's without the quotes ``str`` adds)."""
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(line.strip() for line in text.splitlines() if line.strip()) or type(e).__name__


def _guarded(fn: Callable[[], Any], user_errors: tuple[type[BaseException], ...], log_level: int | None) -> int:
    """Run ``fn``; a user error prints one line and gives 2, Ctrl-C 130; other exceptions propagate."""
    if log_level is not None:
        logging.basicConfig(level=log_level, format=LOG_FORMAT)
    try:
        status = fn()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (*USER_ERRORS, *user_errors) as e:
        print(f"error: {_message(e)}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0


def _prog(prog: str, main: Callable) -> str:
    """``prog``, else the module run with ``python -m``, else the module defining ``main``."""
    if prog:
        return prog
    module = getattr(main, "__module__", "") or ""
    if module == "__main__":
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        if spec is not None:
            return spec.name.removesuffix(".__main__")
    return module


def _format_commands(commands: Mapping[str, Command], prog: str, description: str) -> str:
    lines = [f"usage: python -m {prog} COMMAND [ARGS] [--option VALUE ...]", ""]
    if description:
        lines += [description.strip(), ""]
    lines.append("commands:")
    width = max(len(name) for name in commands)
    for name, command in commands.items():
        text = command.help or class_doc(command.config_cls).split("\n\n")[0]
        lines.append(f"  {name.ljust(width)}  {' '.join(text.split())}")
    lines += ["", f"python -m {prog} COMMAND --help lists the options of a command."]
    return "\n".join(lines)
