from dataclasses import dataclass, field

import pytest

from latentanon.config import ConfigError, apply_overrides, known_keys, parse_argv, parse_cli


@dataclass(frozen=True)
class Optim:
    lr: float = 1e-4
    betas: tuple[float, ...] = (0.9, 0.999)


@dataclass(frozen=True)
class Cfg:
    """A test config."""

    name: str = "x"
    epochs: int = 3
    strict: bool = False
    checkpoint: str | None = None
    optim: Optim = field(default_factory=Optim)


def test_overrides_are_coerced_to_field_types():
    cfg = parse_cli(Cfg, ["--epochs", "7", "--strict", "--optim.lr=3e-3", "--optim.betas", "0.5,0.6", "--name", "y"])
    assert cfg == Cfg(name="y", epochs=7, strict=True, optim=Optim(lr=3e-3, betas=(0.5, 0.6)))
    assert parse_cli(Cfg, ["--checkpoint", "none"]).checkpoint is None
    assert parse_cli(Cfg, ["--strict", "false"]).strict is False


def test_unknown_keys_list_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown option --epoch\. Did you mean --epochs\?.*--optim\.lr"):
        parse_cli(Cfg, ["--epoch", "3"])
    with pytest.raises(ConfigError, match="unknown option --optim.lrr"):
        parse_cli(Cfg, ["--optim.lrr", "3"])
    with pytest.raises(ConfigError, match="--epochs: expected an integer, got '2.5'"):
        parse_cli(Cfg, ["--epochs", "2.5"])
    with pytest.raises(ConfigError, match="unexpected argument"):
        parse_argv(["positional"])


def test_yaml_config_then_flags(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: 11\noptim:\n  lr: 0.5\n")
    cfg = parse_cli(Cfg, ["--config", str(tmp_path / "c.yaml"), "--optim.lr", "0.25"])
    assert cfg.epochs == 11 and cfg.optim.lr == 0.25
    (tmp_path / "bad.yaml").write_text("epochs: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_cli(Cfg, ["--config", str(tmp_path / "bad.yaml")])
    (tmp_path / "typo.yaml").write_text("epocs: 1\n")
    with pytest.raises(ConfigError, match="unknown option --epocs"):
        parse_cli(Cfg, ["--config", str(tmp_path / "typo.yaml")])


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        parse_cli(Cfg, ["--help"], prog="prog")
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--optim.lr  [0.0001]" in out and "A test config." in out
    assert known_keys(Cfg) == ["name", "epochs", "strict", "checkpoint", "optim.lr", "optim.betas"]
    assert apply_overrides(Cfg(), {}) == Cfg()
