"""train_aam, AnonymizedEncoder, anonymize and evaluate --aam."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from latentanon import AnonymizedEncoder, create_encoder
from latentanon.aam import AAM, AAMConfig
from latentanon.anonymize import AnonymizeConfig
from latentanon.anonymize import main as anonymize
from latentanon.checkpoint import load_aam, save_aam
from latentanon.config import ConfigError
from latentanon.evaluate import EvaluateConfig
from latentanon.evaluate import main as evaluate
from latentanon.heads.linear import LinearConfig
from latentanon.precompute import PrecomputeConfig
from latentanon.precompute import main as precompute
from latentanon.protocols import HeadSettings
from latentanon.stores import open_store
from latentanon.train_aam import cli as train_cli
from latentanon.training import AdapterConfig, TrainConfig, Trainer, TrainingError, Weights
from latentanon.training import main as train
from latentanon.video import discover_videos, iter_clip_frames, to_model_input

pytestmark = pytest.mark.usefixtures("one_thread")

ENCODER = "videomae-tiny"  # has fc_norm: the anonymized clip feature is fc_norm(mean(AAM(tokens)))


@pytest.fixture(scope="module")
def raw_store(video_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("raw") / "raw.zarr"
    precompute(
        PrecomputeConfig(
            encoder=ENCODER, videos=str(video_dir), out=str(out), batch_size=4, num_workers=0, static_clips=2,
            progress=False,
        )
    )  # fmt: skip
    return out


def _random_adapter(store_path, out):
    """A random (non-identity) token adapter saved as a checkpoint of the store's encoder."""
    store = open_store(str(store_path))
    torch.manual_seed(0)
    aam = AAM(AAMConfig(dim=store.spec.feature_dim, heads=4, ff_dim=64, depth=2, zero_init=False))
    path = out / "best"
    save_aam(path, aam, {"encoder": store.recipe["encoder"], "store_recipe_hash": store.recipe_hash})
    return path


@pytest.fixture(scope="module")
def adapter(raw_store, tmp_path_factory):
    return _random_adapter(raw_store, tmp_path_factory.mktemp("aam"))


@pytest.fixture(scope="module")
def token_store(feature_store):
    """Synthetic features of the same encoder (8 tokens per clip, fc_norm pooling) with 2 static clips."""
    return feature_store("action", encoder=ENCODER)


@pytest.fixture(scope="module")
def token_adapter(token_store, tmp_path_factory):
    return _random_adapter(token_store, tmp_path_factory.mktemp("token_aam"))


@pytest.mark.slow  # decodes videos and runs the encoder: the end-to-end check of the training path
def test_anonymized_encoder_equals_the_training_path_and_the_anonymized_store(video_dir, raw_store, adapter, tmp_path):
    enc = AnonymizedEncoder.from_pretrained(str(adapter))
    aam, _ = load_aam(adapter)
    encoder = create_encoder(ENCODER)
    out = tmp_path / "anon.zarr"
    summary = anonymize(AnonymizeConfig(store=str(raw_store), anonymizer=str(adapter), out=str(out), progress=False))
    assert summary["written"] == 6
    anon = open_store(str(out))
    rec = anon.recipe["anonymizer"]
    assert (rec["kind"], rec["name"], rec["config"]["mode"]) == ("latent", "splavu", "token")
    assert anon.pooling == open_store(str(raw_store)).pooling  # token mode: pool(AAM(tokens)) with the encoder's pool
    assert anon.recipe_hash != open_store(str(raw_store)).recipe_hash
    spec = enc.spec
    for record in discover_videos(video_dir):
        clips = [a for kind, _, a in iter_clip_frames(record.path, spec) if kind == "clip"]
        x = to_model_input(torch.from_numpy(np.stack(clips)), spec)
        with torch.no_grad():
            tokens = enc(x)
            direct = aam(encoder(x))  # what the training code computes
            fp16_path = aam(encoder(x).half().float())  # the store keeps raw tokens in float16
        torch.testing.assert_close(tokens, direct, rtol=0, atol=0)
        torch.testing.assert_close(enc.pool(tokens), encoder.fc_norm(direct.mean(1)), rtol=0, atol=0)
        stored = anon.video(record.key)
        assert np.abs(stored.tokens.astype(np.float32) - fp16_path.half().float().numpy()).max() < 2e-3
        got = stored.pooled.astype(np.float32)
        assert np.abs(got - enc.pool(fp16_path).half().float().numpy()).max() < 2e-3
        assert np.abs(got - enc.pool(tokens).numpy()).max() < 2e-2  # fp16 storage of the raw tokens accounted for
    # the anonymized store holds no raw feature
    raw = open_store(str(raw_store))
    assert np.abs(anon.pooled().astype(np.float32) - raw.pooled().astype(np.float32)).max() > 0.1
    # re-running skips what is there
    assert (
        anonymize(AnonymizeConfig(store=str(raw_store), anonymizer=str(adapter), out=str(out), progress=False))[
            "written"
        ]
        == 0
    )


def test_evaluate_with_aam_sees_the_anonymized_features(token_store, token_adapter, tmp_path):
    from latentanon.features import AnonymizedStore

    raw_store, adapter = token_store, token_adapter

    view = AnonymizedStore.from_checkpoint(open_store(str(raw_store)), str(adapter))
    out = tmp_path / "anon.zarr"
    anonymize(AnonymizeConfig(store=str(raw_store), anonymizer=str(adapter), out=str(out), progress=False))
    np.testing.assert_allclose(view.pooled(), open_store(str(out)).pooled().astype(np.float32), atol=2e-3)
    with pytest.raises(ValueError, match="already anonymized"):
        AnonymizedStore.from_checkpoint(open_store(str(out)), str(adapter))
    # recipes take an adapter checkpoint or the anonymized store itself, interchangeably
    from latentanon.features import open_features

    via_store = open_features(str(raw_store), str(out))
    assert via_store.recipe["anonymizer"] and np.array_equal(via_store.pooled(), open_store(str(out)).pooled())
    with pytest.raises(ValueError, match="neither an anonymizer checkpoint nor an anonymized store"):
        open_features(str(raw_store), str(raw_store))
    with pytest.raises(FileNotFoundError, match="no such anonymizer checkpoint or store"):
        evaluate(
            EvaluateConfig(
                task="ar", store=str(raw_store), anonymizer=str(tmp_path / "nothing"), out=str(tmp_path / "r.json")
            )
        )


# ------------------------------------------------------------------------------------------------ training


@pytest.fixture(scope="module")
def train_store(action_store):
    """4 classes x 12 groups (9 train, 3 test) of i3d-r50-tiny features with 2 static clips: the action's direction
    in every clip, the subject's private attributes in every clip and static clip."""
    return action_store


def small_config(store, out, **kw) -> TrainConfig:
    base = dict(
        action_store=store, out=str(out), epochs=3, batch_size=8, lr=4e-3, progress=False,
        raw=HeadSettings(linear=LinearConfig(epochs=20)), aam=AdapterConfig(depth=1, ff_dim=64),
        weights=Weights(tad=0, ad=0),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def test_train_aam_writes_checkpoints_metrics_and_a_loadable_adapter(train_store, tmp_path):
    summary = train(small_config(train_store, tmp_path / "run"))
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for key in ("lc_loss", "ar_loss", "budget_loss", "total", "budget_ceiling", "val_top1", "val_privacy_proxy"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert rows[0]["budget_ceiling"] == pytest.approx(np.log(15))
    assert summary["identity"]["relative_error"] < 0.01
    assert 1 <= summary["best_epoch"] <= 3
    aam, config = load_aam(run / "best")
    assert config["encoder"]["name"] == "i3d-r50-tiny" and config["epoch"] == summary["best_epoch"]
    assert config["train"]["weights"]["lc"] == 100.0
    # the adapter moved away from the identity, and the raw heads were cached
    x = torch.from_numpy(open_store(train_store).tokens()[:5].astype(np.float32))
    assert (aam(x) - x).abs().max() > 1e-4
    assert (run / "raw_heads" / "ar" / "config.json").is_file()
    # selection used validation only: the run never reads the test split
    assert all("test" not in k for r in rows for k in r)


@pytest.mark.parametrize("window", [8192, 8], ids=["in-memory", "streamed"])
def test_interrupted_training_resumes_to_the_same_adapter(train_store, tmp_path, monkeypatch, window):
    """Also streamed: windows of 8 videos (blocks of one video), the next read in the background."""
    train(small_config(train_store, tmp_path / "whole", stream_window=window))
    calls = {"n": 0}
    original = Trainer.validate

    def dying_validate(self, aam, heads):
        calls["n"] += 1
        if calls["n"] == 4:  # raw features, epochs 1 and 2 done, killed while validating epoch 3
            raise KeyboardInterrupt
        return original(self, aam, heads)

    monkeypatch.setattr(Trainer, "validate", dying_validate)
    with pytest.raises(KeyboardInterrupt):
        train(small_config(train_store, tmp_path / "cut", stream_window=window))
    monkeypatch.setattr(Trainer, "validate", original)
    assert json.loads((tmp_path / "cut" / "last" / "config.json").read_text())["epoch"] == 2
    train(small_config(train_store, tmp_path / "cut", stream_window=window))
    rows = [json.loads(x) for x in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["train_videos_per_s"] > 0 for r in rows)
    a = load_file(str(tmp_path / "whole" / "last" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "last" / "model.safetensors"))
    assert set(a) == set(b)
    for k in a:
        if k != "torch_rng":
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    lines = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3]
    with pytest.raises(ConfigError, match="different configuration"):
        train(small_config(train_store, tmp_path / "cut", lr=1e-3))


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(train_store, tmp_path, monkeypatch):
    original = Trainer.step_losses
    steps = {"n": 0}

    def poisoned(self, *args):
        steps["n"] += 1
        terms = original(self, *args)
        if steps["n"] > 4:  # epoch 1 has 4 steps (32 fit videos / 8)
            terms["total"] = terms["total"] * float("nan")
        return terms

    monkeypatch.setattr(Trainer, "step_losses", poisoned)
    with pytest.raises(TrainingError, match=r"non-finite loss at epoch 2.*epoch 1"):
        train(small_config(train_store, tmp_path / "run"))
    assert json.loads((tmp_path / "run" / "last" / "config.json").read_text())["epoch"] == 1
    load_aam(tmp_path / "run" / "best")  # still loadable


def test_bad_configurations_are_explained(train_store, tmp_path, capsys):
    with pytest.raises(ConfigError, match="--action-store is required"):
        train(TrainConfig())
    with pytest.raises(ConfigError, match="needs --tad-store"):
        train(small_config(train_store, tmp_path, weights=Weights(ad=0)))
    with pytest.raises(ConfigError, match="weights.budget must be"):
        train(small_config(train_store, tmp_path, weights=Weights(budget=-1, tad=0, ad=0)))
    assert train_cli(["--action-store", train_store, "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "epochs must be >= 1" in capsys.readouterr().err
    assert train_cli(["--action-store", train_store, "--no-such-key", "1"]) == 2


def test_adversarial_budget_head_trains_against_the_adapter(train_store, tmp_path):
    train(small_config(train_store, tmp_path / "adv", epochs=2, budget_head=16, center_budget=True))
    rows = [json.loads(line) for line in (tmp_path / "adv" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["adversary_loss"]) and np.isfinite(r["budget_loss"]) for r in rows)
    # the adversary minimises the NT-Xent that the adapter maximises through it: its loss is the lower one
    assert rows[-1]["adversary_loss"] <= rows[-1]["budget_ceiling"]
    saved = load_file(str(tmp_path / "adv" / "last" / "model.safetensors"))
    assert any(k.startswith("head.budget.") for k in saved) and any(k.startswith("opt.budget.") for k in saved)


def test_heads_saved_by_an_evaluation_are_reused_as_raw_heads(train_store, tmp_path, monkeypatch):
    from latentanon import comparison, training

    heads = HeadSettings(linear=LinearConfig(epochs=20))
    reports = comparison.evaluate_suite({"action": train_store}, tmp_path / "eval", seed=0, heads=heads,
                                        heads_out=tmp_path / "raw_heads")  # fmt: skip
    saved = json.loads((tmp_path / "raw_heads" / "ar" / "config.json").read_text())
    assert saved["val"] == pytest.approx(reports["ar"]["val_top1"])

    def no_training(*a, **k):
        raise AssertionError("the raw AR head was trained again")

    monkeypatch.setattr(training, "run_ar", no_training)
    train(small_config(train_store, tmp_path / "run", epochs=1, raw_heads=str(tmp_path / "raw_heads")))
    # other settings (another seed) do not match the saved head: it is trained afresh
    with pytest.raises(AssertionError, match="trained again"):
        train(small_config(train_store, tmp_path / "run2", epochs=1, seed=1, raw_heads=str(tmp_path / "raw_heads")))


def test_a_bottleneck_adapter_starts_at_the_pca_of_the_action_tokens(train_store, tmp_path):
    summary = train(small_config(train_store, tmp_path / "run", epochs=1, aam=AdapterConfig(depth=1, ff_dim=64,
                                                                                           bottleneck=4)))  # fmt: skip
    ident = summary["identity"]
    assert ident["epochs"] < 100  # stopped at the plateau, not after identity.epochs
    assert ident["relative_error"] <= ident["start"] + 1e-6 < 1.0
