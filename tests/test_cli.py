"""The command-line layer (latentanon.cli) on toy configs, and the help of every real entry point."""

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Literal

import pytest

from latentanon import cli, config
from latentanon.cli import Command, run, run_commands
from latentanon.config import field_docs, format_help, parse_cli, undocumented


@dataclass(frozen=True)
class Optim:
    """Optimiser settings."""

    lr: float = 1e-3  # learning rate
    betas: tuple[float, ...] = (0.9, 0.999)  # AdamW betas,
    # the second for the squared gradients


@dataclass(frozen=True)
class Toy:
    """A toy entry point."""

    out: str = "runs/toy"  # where to write
    dims: tuple[int, ...] = (64,)  # stage widths
    epochs: int = 3  # training epochs
    progress: bool = False  # show progress bars
    mode: Literal["fast", "slow"] = "fast"  # how to run
    checkpoint: str | None = None  # weights to start from

    # a section heading, not a description of `optim`
    optim: Optim = field(default_factory=Optim)


def returning(got: list):
    def main(cfg):
        got.append(cfg)

    return main


def call(argv, **kwargs):
    got = []
    status = run(Toy, returning(got), argv, prog="toy", **kwargs)
    return status, (got[0] if got else None)


def test_flags_are_coerced_to_the_field_types():
    status, cfg = call(["--epochs", "7", "--mode=slow", "--checkpoint", "none", "--dims", "64,128,256"])
    assert status == 0 and cfg == Toy(epochs=7, mode="slow", dims=(64, 128, 256))
    assert call(["--checkpoint", "w.pt"])[1].checkpoint == "w.pt"


def test_a_path_looking_number_stays_the_string_typed():
    assert call(["--out", "1e3"])[1].out == "1e3"  # fire's own parser would make it the float 1000.0
    assert call(["--out", "./a//b", "--checkpoint", "[1, 2]"])[1] == Toy(out="./a//b", checkpoint="[1, 2]")
    assert call(["--out", "-"])[1].out == "-"  # fire's command separator, moved out of the way


def test_bool_flag_alone_and_negated():
    assert call(["--progress"])[1].progress is True
    assert call(["--progress", "--epochs", "2"])[1] == Toy(progress=True, epochs=2)
    assert call(["--progress", "false"])[1].progress is False
    assert call(["--progress", "--no-progress"])[1].progress is False


def test_dotted_nested_keys():
    assert call(["--optim.lr", "0.5"])[1].optim == Optim(lr=0.5)
    assert call(["--optim.lr=0.25", "--optim.betas", "0.5,0.6"])[1].optim == Optim(lr=0.25, betas=(0.5, 0.6))


def test_yaml_config_then_flags(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: 11\noptim:\n  lr: 0.5\n")
    cfg = call(["--config", str(tmp_path / "c.yaml"), "--optim.lr", "0.25"])[1]
    assert cfg.epochs == 11 and cfg.optim.lr == 0.25


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_unknown_key_is_one_line_with_the_close_match(capsys):
    assert call(["--epoch", "3"]) == (2, None)
    err = one_line_error(capsys)
    assert "unknown option --epoch. Did you mean --epochs?" in err and "--optim.lr" in err
    assert call(["--optim.lrr", "3"]) == (2, None)
    assert "unknown option --optim.lrr. Did you mean --optim.lr?" in one_line_error(capsys)


def test_bad_values_and_arguments_exit_2(capsys, tmp_path):
    assert call(["--epochs", "x"]) == (2, None)
    assert "--epochs: expected an integer, got 'x'" in one_line_error(capsys)
    assert call(["--mode", "medium"]) == (2, None)
    assert "--mode: must be one of ['fast', 'slow']" in one_line_error(capsys)
    assert call(["stray"]) == (2, None)
    assert "unexpected argument 'stray'" in one_line_error(capsys)
    assert call(["--", "--interactive"]) == (2, None)  # never reaches fire's own flags
    one_line_error(capsys)
    assert call(["--config", str(tmp_path / "missing.yaml")]) == (2, None)
    assert "no such file" in one_line_error(capsys)


class Stop(RuntimeError):
    """A user-facing failure that is not one of the standard user errors."""


@pytest.mark.parametrize(
    "error, message",
    [
        (ValueError("first line\n  second line"), "error: first line second line\n"),
        (KeyError("unknown encoder 'x'"), "error: unknown encoder 'x'\n"),
        (FileNotFoundError("no such store"), "error: no such store\n"),
        (NotADirectoryError("not a folder"), "error: not a folder\n"),
        (config.ConfigError("--out is required"), "error: --out is required\n"),
    ],
)
def test_user_errors_from_main_are_one_line(capsys, error, message):
    def main(cfg):
        raise error

    assert run(Toy, main, [], prog="toy") == 2
    assert capsys.readouterr().err == message


def test_extra_user_errors_interrupts_and_bugs(capsys):
    def stop(cfg):
        raise Stop("training diverged\nkept epoch 3")

    assert run(Toy, stop, [], prog="toy", user_errors=(Stop,)) == 2
    assert capsys.readouterr().err == "error: training diverged kept epoch 3\n"
    with pytest.raises(Stop):
        run(Toy, stop, [], prog="toy")

    def interrupted(cfg):
        raise KeyboardInterrupt

    assert run(Toy, interrupted, [], prog="toy") == 130
    assert capsys.readouterr().err.count("\n") == 1

    def bug(cfg):
        return 1 / 0

    with pytest.raises(ZeroDivisionError):
        run(Toy, bug, [], prog="toy")


def test_summary_and_exit_status(capsys):
    assert run(Toy, lambda cfg: {"n": cfg.epochs}, ["--epochs", "4"], summary=lambda r: f"n={r['n']}") == 0
    assert capsys.readouterr().out == "n=4\n"
    assert run(Toy, lambda cfg: 1, []) == 1  # an int result is the exit status (e.g. --strict with failures)
    assert run(Toy, lambda cfg: True, []) == 0


def test_help_lists_every_option_with_its_description_and_default(capsys):
    got = []
    assert run(Toy, returning(got), ["--epochs", "3", "--help"], prog="toy") == 0
    assert not got
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m toy [--config FILE.yaml]") and "A toy entry point." in out
    for line in (
        "--out  ['runs/toy']  where to write",
        "--dims  [(64,)]  stage widths",
        "--epochs  [3]  training epochs",
        "--progress  [False]  show progress bars",
        "--mode  ['fast']  how to run (one of: fast, slow)",
        "--checkpoint  [None]  weights to start from",
        "--optim.*  Optimiser settings.",
        "--optim.lr  [0.001]  learning rate",
        "--optim.betas  [(0.9, 0.999)]  AdamW betas, the second for the squared gradients",
        "--config FILE.yaml",
    ):
        assert line in out, line
    assert "section heading" not in out
    assert run(Toy, returning(got), ["-h"], prog="toy") == 0 and not got


@dataclass(frozen=True)
class Base:
    """A base config.

    Attributes:
        seed: the random seed,
            of everything.
    """

    seed: int = 0
    name: str = ""
    """An attribute docstring."""


@dataclass(frozen=True)
class Derived(Base):
    """Inherits ``seed`` and ``name``."""

    extra: int = 1  # its own field
    bare: int = 2


def test_descriptions_come_from_comments_docstrings_and_base_classes():
    assert field_docs(Derived) == {
        "seed": "the random seed, of everything.",
        "name": "An attribute docstring.",
        "extra": "its own field",
    }
    assert undocumented(Derived) == ["bare"]
    assert undocumented(Toy) == []
    assert "  --bare  [2]\n" in format_help(Derived, "derived") + "\n"


@dataclass(frozen=True)
class MergeToy:
    """Join parts."""

    parts: tuple[str, ...] = ()  # the part stores
    out: str = ""  # the merged store
    progress: bool = True  # show a progress bar


@dataclass(frozen=True)
class ExportToy:
    """Export a store."""

    store: str = ""  # the store
    dir: str = ""  # the folder to write
    format: str = "npy"  # file format
    tokens: bool = False  # tokens instead of pooled features


def test_subcommands_with_positional_arguments(capsys):
    got = []
    commands = {
        "merge": Command(MergeToy, returning(got), positional=("parts",)),
        "export": Command(ExportToy, returning(got), positional=("store", "dir"), help="write .npy files"),
    }
    assert run_commands(commands, ["merge", "a", "b", "--out", "m", "--no-progress"], prog="tool") == 0
    assert got.pop() == MergeToy(parts=("a", "b"), out="m", progress=False)
    assert run_commands(commands, ["merge", "--out", "m", "a,b"], prog="tool") == 0
    assert got.pop().parts == ("a,b",)  # a positional is taken whole; the flag --parts a,b would split it
    assert run_commands(commands, ["export", "s", "--format", "npy", "d", "--tokens"], prog="tool") == 0
    assert got.pop() == ExportToy(store="s", dir="d", tokens=True)
    assert run_commands(commands, ["export", "s", "--tokens", "d"], prog="tool") == 0  # --tokens does not eat d
    assert got.pop() == ExportToy(store="s", dir="d", tokens=True)
    assert run_commands(commands, ["export", "--store", "s", "--dir", "1e3"], prog="tool") == 0
    assert got.pop() == ExportToy(store="s", dir="1e3")

    assert run_commands(commands, ["export", "s"], prog="tool") == 2
    assert "missing DIR" in one_line_error(capsys)
    assert run_commands(commands, ["export", "s", "d", "e"], prog="tool") == 2
    assert "unexpected argument 'e'" in one_line_error(capsys)
    assert run_commands(commands, ["export", "s", "d", "--store", "t"], prog="tool") == 2
    assert "given twice" in one_line_error(capsys)
    assert run_commands(commands, ["exprt", "s"], prog="tool") == 2
    assert "unknown command 'exprt'. Did you mean export?" in one_line_error(capsys)
    assert run_commands(commands, [], prog="tool") == 2
    one_line_error(capsys)
    assert not got

    assert run_commands(commands, ["--help"], prog="tool") == 0
    out = capsys.readouterr().out
    assert "merge   Join parts." in out and "export  write .npy files" in out
    assert run_commands(commands, ["export", "--help"], prog="tool") == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m tool export STORE DIR") and "--tokens  [False]  tokens instead" in out


def test_parse_cli_reads_the_command_line_the_same_way():
    assert parse_cli(Toy, ["--out", "1e3", "--progress", "--optim.lr", "0.5"]) == Toy(
        out="1e3", progress=True, optim=Optim(lr=0.5)
    )
    assert cli.split_argv(["a", "--x.y", "1", "--flag"]) == (["a"], {"x.y": "1", "flag": "true"})


# ------------------------------------------------------------------------------ the real entry points

ENTRY_MODULES = [
    "latentanon.precompute",
    "latentanon.evaluate",
    "latentanon.train_aam",
    "latentanon.anonymize",
    "latentanon.demo",
    "latentanon.datasets.synthetic.build",
    "latentanon.recipes.privacy_probe",
    "latentanon.recipes.gait",
    "latentanon.recipes.gender_bias",
    "latentanon.recipes.tradeoff",
    "latentanon.recipes.report",
    "latentanon.recipes.ablation",
    "latentanon.recipes.pretrain_synthetic",
    "latentanon.fit_control",
    "latentanon.recipes.seeds",
]


def entry_config_classes(monkeypatch) -> dict[str, type]:
    """The config class each entry point prints the help of (``cli(['--help'])``), by command."""
    seen: list[type] = []
    real = config.format_help

    def spy(cls, *args, **kwargs):
        seen.append(cls)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(config, "format_help", spy)  # parse_cli's help
    monkeypatch.setattr(cli, "format_help", spy)  # latentanon.cli.run's help
    found = {}
    for name in ENTRY_MODULES:
        module = importlib.import_module(name)
        try:
            status = module.cli(["--help"])
        except SystemExit as e:  # parse_cli ends --help with SystemExit(0)
            status = e.code
        assert status in (0, None) and seen, f"{name}.cli(['--help']) printed no config help"
        found[name] = seen.pop()
    stores_cli = importlib.import_module("latentanon.stores.__main__")
    for command in stores_cli.COMMANDS:
        assert stores_cli.main([command, "--help"]) == 0 and seen
        found[f"latentanon.stores {command}"] = seen.pop()
    return found


def test_every_option_of_every_entry_point_is_described(monkeypatch, capsys):
    classes = entry_config_classes(monkeypatch)
    capsys.readouterr()
    missing = {name: undocumented(cls) for name, cls in classes.items()}
    missing = {name: keys for name, keys in missing.items() if keys}
    assert not missing, f"add a trailing # comment to these config fields: {missing}"
    assert all(dataclasses.is_dataclass(cls) for cls in classes.values())


# ------------------------------------------------------------------------------------------ the same bad inputs

BAD_INPUTS = ("unknown key", "wrong type", "missing store", "store of another encoder", "empty store")


@pytest.fixture(scope="module")
def bad_input_stores(feature_store, tmp_path_factory):
    """A store (i3d-r50-tiny), one of other encoder weights, an empty one, and an adapter made from the first."""
    from latentanon.aam import AAM, AAMConfig
    from latentanon.checkpoint import save_aam
    from latentanon.stores import open_store

    good = feature_store("action")
    other = feature_store("action", weights_sha256="f" * 64)
    empty = feature_store("action", empty=True)
    spec = open_store(good).recipe["encoder"]
    ckpt = tmp_path_factory.mktemp("bad_inputs") / "adapter"
    save_aam(ckpt, AAM(AAMConfig(dim=spec["feature_dim"], depth=1, heads=2, ff_dim=16)), {"encoder": spec})
    out = tmp_path_factory.mktemp("bad_inputs_out")
    return {"good": good, "other": other, "empty": empty, "ckpt": str(ckpt), "out": str(out)}


def _entry_points(s: dict) -> dict:
    """Entry point -> (its cli, {bad input: argv}); an input an entry point cannot receive is left out (see the
    note beside it)."""
    from latentanon import anonymize, demo, evaluate, precompute, train_aam
    from latentanon.datasets.synthetic import build
    from latentanon.recipes import ablation, gait, gender_bias, pretrain_synthetic, privacy_probe, report, tradeoff
    from latentanon.stores import __main__ as stores_cli

    g, o, e, c, out = s["good"], s["other"], s["empty"], s["ckpt"], s["out"]
    nope = "/nonexistent/store.zarr"

    def stores(*argv):
        return lambda: stores_cli.main(list(argv))

    return {
        "evaluate": (evaluate.cli, {
            "unknown key": ["--store", g, "--bogus", "1"], "wrong type": ["--store", g, "--seed", "abc"],
            "missing store": ["--store", nope], "store of another encoder": ["--store", o, "--anonymizer", c],
            "empty store": ["--store", e]}),
        "train_aam": (train_aam.cli, {
            "unknown key": ["--action-store", g, "--bogus", "1"], "wrong type": ["--action-store", g, "--epochs", "x"],
            "missing store": ["--action-store", nope, "--weights.tad", "0", "--weights.ad", "0"],
            "store of another encoder": ["--action-store", g, "--ad-store", o, "--weights.tad", "0"],
            "empty store": ["--action-store", e, "--weights.tad", "0", "--weights.ad", "0"]}),
        "anonymize": (anonymize.cli, {
            "unknown key": ["--store", g, "--bogus", "1"], "wrong type": ["--store", g, "--progress", "maybe"],
            "missing store": ["--store", nope, "--anonymizer", c, "--out", out + "/a1"],
            "store of another encoder": ["--store", o, "--anonymizer", c, "--out", out + "/a2"],
            "empty store": ["--store", e, "--anonymizer", c, "--out", out + "/a3"]}),
        # precompute writes stores: "missing" is a missing input, "another encoder" appending to another's store
        "precompute": (precompute.cli, {
            "unknown key": ["--videos", out, "--bogus", "1"], "wrong type": ["--videos", out, "--batch-size", "x"],
            "missing store": ["--videos", "/nonexistent/videos", "--out", out + "/p1"],
            "store of another encoder": ["--videos", out, "--encoder", "videomae-tiny", "--out", g]}),
        "demo": (demo.cli, {"unknown key": ["--bogus", "1"], "wrong type": ["--epochs", "x"]}),  # reads no store
        "datasets.synthetic": (build.cli, {"unknown key": ["--bogus", "1"], "wrong type": ["--seed", "x"]}),
        "recipes.pretrain_synthetic": (pretrain_synthetic.cli, {  # reads videos, not stores
            "unknown key": ["--bogus", "1"], "wrong type": ["--epochs", "x"]}),
        "stores info": (None, {"unknown key": stores("info", g, "--bogus", "1"),
                               "wrong type": stores("info", g, "--json", "maybe"),
                               "missing store": stores("info", nope)}),  # any encoder, and empty, are valid
        "stores merge": (None, {"unknown key": stores("merge", g, "--out", out + "/m", "--bogus", "1"),
                                "wrong type": stores("merge", g, "--out", out + "/m", "--progress=maybe"),
                                "missing store": stores("merge", nope, "--out", out + "/m1"),
                                "store of another encoder": stores("merge", g, o, "--out", out + "/m2")}),
        "stores export": (None, {"unknown key": stores("export", g, out + "/x", "--bogus", "1"),
                                 "wrong type": stores("export", g, out + "/x", "--tokens=maybe"),
                                 "missing store": stores("export", nope, out + "/x1")}),
        "stores upgrade": (None, {"unknown key": stores("upgrade", g, "--bogus", "1"),
                                  "missing store": stores("upgrade", nope)}),  # all options are strings
        "recipes.privacy_probe": (privacy_probe.cli, {
            "unknown key": ["--raw", g, "--bogus", "1"], "wrong type": ["--raw", g, "--epochs", "x"],
            "missing store": ["--raw", nope], "store of another encoder": ["--raw", o, "--anonymized", c],
            "empty store": ["--raw", e]}),
        "recipes.gait": (gait.cli, {
            "unknown key": ["--raw", g, "--bogus", "1"], "wrong type": ["--raw", g, "--cross-view", "maybe"],
            "missing store": ["--raw", nope], "store of another encoder": ["--raw", o, "--anonymized", c],
            "empty store": ["--raw", e]}),
        "recipes.gender_bias": (gender_bias.cli, {
            "unknown key": ["--ntu", g, "--bogus", "1"], "wrong type": ["--ntu", g, "--ratio", "x"],
            "missing store": ["--ntu", nope], "store of another encoder": ["--ntu", o, "--anonymized", c],
            "empty store": ["--ntu", e]}),
        "recipes.tradeoff": (tradeoff.cli, {
            "unknown key": ["--action-store", g, "--bogus", "1"], "wrong type": ["--epochs", "x"],
            "missing store": ["--action-store", nope, "--privacy-store", g],
            "store of another encoder": ["--action-store", g, "--privacy-store", o, "--out", out + "/t"],
            "empty store": ["--action-store", e, "--privacy-store", g, "--out", out + "/t"]}),
        "recipes.ablation": (ablation.cli, {
            "unknown key": ["--action-store", g, "--bogus", "1"], "wrong type": ["--epochs", "x"],
            "missing store": ["--action-store", nope, "--privacy-store", g],
            "store of another encoder": ["--action-store", g, "--privacy-store", o, "--out", out + "/b"],
            "empty store": ["--action-store", e, "--privacy-store", g, "--out", out + "/b"]}),
        "recipes.report": (report.cli, {
            "unknown key": ["--bogus", "1"], "wrong type": ["--utility.seed", "x"],
            "missing store": ["--anonymized", c, "--utility.action-store", nope, "--out", out + "/r"],
            "store of another encoder": ["--anonymized", c, "--utility.action-store", o, "--out", out + "/r"],
            "empty store": ["--anonymized", c, "--utility.action-store", e, "--out", out + "/r"]}),
    }  # fmt: skip


CASES = [
    (name, bad)
    for name, applicable in {
        "evaluate": BAD_INPUTS,
        "train_aam": BAD_INPUTS,
        "anonymize": BAD_INPUTS,
        "precompute": BAD_INPUTS[:4],
        "demo": BAD_INPUTS[:2],
        "datasets.synthetic": BAD_INPUTS[:2],
        "recipes.pretrain_synthetic": BAD_INPUTS[:2],
        "stores info": BAD_INPUTS[:3],
        "stores merge": BAD_INPUTS[:4],
        "stores export": BAD_INPUTS[:3],
        "stores upgrade": ("unknown key", "missing store"),
        "recipes.privacy_probe": BAD_INPUTS,
        "recipes.gait": BAD_INPUTS,
        "recipes.gender_bias": BAD_INPUTS,
        "recipes.tradeoff": BAD_INPUTS,
        "recipes.ablation": BAD_INPUTS,
        "recipes.report": BAD_INPUTS,
    }.items()  # fmt: skip
    for bad in applicable
]


@pytest.mark.parametrize(("entry", "bad"), CASES, ids=[f"{e}-{b.replace(' ', '_')}" for e, b in CASES])
def test_every_entry_point_answers_bad_input_with_one_line_and_exit_2(entry, bad, bad_input_stores, capsys):
    cli, argvs = _entry_points(bad_input_stores)[entry]
    argv = argvs[bad]
    code = argv() if cli is None else cli(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, f"{entry} {bad}: exit {code}, stderr {err}"
    assert len(err) == 1 and err[0].startswith("error: "), f"{entry} {bad}: {err}"
    words = {"unknown key": ("bogus",), "wrong type": ("expected",), "missing store": ("no such", "does not exist"),
             "store of another encoder": ("weights", "recipe"), "empty store": ("no videos",)}  # fmt: skip
    assert any(w in err[0].lower() for w in words[bad]), f"{entry} {bad}: {err[0]}"
