import json

import pytest
import torch

from latentanon.config import ConfigError
from latentanon.evaluate import EvaluateConfig, cli, main
from latentanon.heads.linear import LinearConfig, LinearHead
from tests.synthetic_stores import write_action_store

pytestmark = pytest.mark.usefixtures("one_thread")


def make_store(path, classes=4, videos_per_class=12, separable=True, seed=0):
    """One quarter of each class's videos in test; no subjects, so validation is held out per class."""
    return write_action_store(
        path, classes=classes, groups=videos_per_class * 3 // 4, test_groups=videos_per_class // 4, static_clips=0,
        action=1.0 if separable else 0.0, subjects=False, seed=seed,
    )  # fmt: skip


def test_ar_learns_separable_classes_and_writes_reports(tmp_path):
    store = make_store(tmp_path / "s.zarr")
    report = main(
        EvaluateConfig(
            task="ar",
            store=store,
            out=str(tmp_path / "r" / "ar.json"),
            linear=LinearConfig(epochs=30, lr=1e-2),
            progress=False,
        )
    )
    assert report["test_top1"] == 1.0 and report["chance_top1"] == 0.25
    assert report["videos"] == {"fit": 32, "val": 4, "test": 12}  # one validation video per class
    assert 1 <= report["best_epoch"] <= 30 and len(report["history"]) == 30
    saved = json.loads((tmp_path / "r" / "ar.json").read_text())
    assert saved["test_top1"] == 1.0
    assert "top1 **1.0000**" in (tmp_path / "r" / "ar.md").read_text()


def test_ar_on_random_features_is_near_chance(tmp_path):
    store = make_store(tmp_path / "s.zarr", classes=4, videos_per_class=40, separable=False)
    report = main(
        EvaluateConfig(
            task="ar", store=store, out=str(tmp_path / "ar.json"), linear=LinearConfig(epochs=20), progress=False
        )
    )
    assert report["test_top1"] < 0.5  # chance 0.25 on 40 test videos


def test_bad_inputs_are_explained(tmp_path, capsys):
    with pytest.raises(ConfigError, match="--task must be one of"):
        main(EvaluateConfig(task="pose", store="x"))
    assert cli(["--task", "ar", "--store", str(tmp_path / "missing.zarr"), "--out", str(tmp_path / "r.json")]) == 2
    assert "no such feature store" in capsys.readouterr().err


def test_linear_head_loss_terms_and_gradients():
    head = LinearHead(8, 3)
    terms = head.loss({"features": torch.randn(5, 8), "labels": torch.tensor([0, 1, 2, 0, 1])})
    assert set(terms) == {"ce_loss", "accuracy"}
    terms["ce_loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    with pytest.raises(ValueError, match="at least 2 classes"):
        LinearHead(8, 1)


def test_tad_and_ad_run_the_protocol_on_synthetic_stores(tad_store, ad_store, tmp_path):
    from latentanon.protocols import ADConfig, TADConfig

    tad = main(
        EvaluateConfig(
            task="tad",
            store=tad_store,
            out=str(tmp_path / "tad.json"),
            val_fraction=0.3,
            tad=TADConfig(epochs=2, warmup_epochs=1, embed_dim=64),
            progress=False,
        )
    )
    assert set(tad["test_mAP_at"]) == {"mAP@0.3", "mAP@0.4", "mAP@0.5", "mAP@0.6", "mAP@0.7"}
    assert 0 <= tad["test_average_mAP"] <= 1 and 0 <= tad["chance_average_mAP"] <= 1
    assert len(tad["history"]) == 2 and tad["best_epoch"] in (1, 2)
    ema = main(
        EvaluateConfig(
            task="tad",
            store=tad_store,
            out=str(tmp_path / "tad_ema.json"),
            val_fraction=0.3,
            tad=TADConfig(epochs=2, warmup_epochs=1, embed_dim=64, ema=0.9),
            progress=False,
        )
    )
    assert ema["config"]["tad"]["ema"] == 0.9 and 0 <= ema["test_average_mAP"] <= 1
    with pytest.raises(ValueError, match="tad.ema must be in"):
        main(EvaluateConfig(task="tad", store=tad_store,
                            out=str(tmp_path / "x.json"), tad=TADConfig(ema=1.0), progress=False))  # fmt: skip
    ad = main(
        EvaluateConfig(
            task="ad",
            store=ad_store,
            out=str(tmp_path / "ad.json"),
            val_fraction=0.3,
            ad=ADConfig(steps=4, val_every=2, batch_size=4, dims=(64, 64, 64)),
            progress=False,
        )
    )
    assert 0 <= ad["test_frame_auc"] <= 1 and ad["chance_frame_auc"] == 0.5
    assert 0 < ad["anomalous_frames"] < ad["test_frames"]
    assert "frame_auc **" in (tmp_path / "ad.md").read_text()
    assert ad["restarts"] == 5 and "(mean of 5 restarts, std" in (tmp_path / "ad.md").read_text()  # the default


def test_ad_restarts_report_the_mean_of_independent_heads(ad_store, one_thread):
    """``ad.restarts`` heads train on one split from independent seeds: the figure is their mean, restart 0 is the
    single run of ``restarts=1``, and the kept head is the restart with the best validation AUC."""
    import numpy as np

    from latentanon.features import open_features
    from latentanon.protocols import ADConfig, HeadSettings, run_ad

    store = open_features(ad_store)
    ac = {"steps": 6, "val_every": 2, "batch_size": 4, "dims": (64, 64, 64)}
    one = run_ad(store, HeadSettings(ad=ADConfig(restarts=1, **ac)), val_fraction=0.3, seed=3, progress=False)
    three = run_ad(store, HeadSettings(ad=ADConfig(restarts=3, **ac)), val_fraction=0.3, seed=3, progress=False)
    runs = three.metrics["per_restart"]
    assert three.metrics["restarts"] == len(runs) == 3 and one.metrics["restarts"] == 1
    aucs = [r["test_frame_auc"] for r in runs]
    assert three.test == pytest.approx(np.mean(aucs))
    assert three.metrics["restart_std"] == pytest.approx(np.std(aucs, ddof=1))
    assert runs[0]["test_frame_auc"] == pytest.approx(one.test)  # restart 0 is the single run
    assert len({round(a, 9) for a in aucs}) == 3  # other seeds train other heads
    kept = three.metrics["kept_restart"]
    assert runs[kept]["val_video_auc"] == max(r["val_video_auc"] for r in runs) == three.val
    assert 0 <= three.metrics["test_frame_auc_ensemble"] <= 1
    with pytest.raises(ValueError, match="ad.restarts must be positive"):
        ADConfig(restarts=0)


def test_ad_without_test_anomaly_frames_fails_before_any_head_trains(action_store, monkeypatch):
    """A store whose test videos carry no anomaly frame ranges cannot give a frame AUC: said at once, not after
    training the heads."""
    from latentanon.features import open_features
    from latentanon.protocols import HeadSettings, ad

    def train(*args, **kwargs):
        raise AssertionError("a head was trained before the ground truth was checked")

    monkeypatch.setattr(ad, "_train_mgfn", train)
    with pytest.raises(ValueError, match="frame ground truth has a single class"):
        ad.run_ad(open_features(action_store), HeadSettings(), val_fraction=0.3, progress=False)


def test_tad_detections_are_decoded_at_the_videos_frame_rate(tad_store, one_thread):
    """The TAD store is annotated at 25 fps (TriDet's config default is 30): a head trained on the gridded targets
    must be decoded at 25 fps too, else every detection lands at 30/25 of its time and mAP collapses."""
    from latentanon.protocols import HeadSettings, TADConfig
    from latentanon.protocols.tad import run_tad
    from latentanon.stores import open_store

    result = run_tad(
        open_store(tad_store),
        HeadSettings(tad=TADConfig(epochs=12, warmup_epochs=1, lr=3e-3, embed_dim=32)),
        0.3,
        0,
        False,
    )
    assert result.metrics["test_average_mAP"] > 0.5, result.metrics["test_mAP_at"]


def test_tridet_predict_converts_grid_units_with_the_given_frame_rates():
    from latentanon.heads.tridet import TriDet, TriDetConfig

    torch.manual_seed(0)
    model = TriDet(TriDetConfig(input_dim=8, num_classes=3, embed_dim=16, head_dim=16, max_seq_len=32)).eval()
    feats, mask = torch.randn(2, 32, 8), torch.ones(2, 32, dtype=torch.bool)
    with torch.no_grad():
        base = model.predict(feats, mask, durations=[1e6, 1e6])  # cfg.fps (30) for both
        own = model.predict(feats, mask, durations=[1e6, 1e6], fps=[25.0, 60.0])
    for video, rate in zip(range(2), (25.0, 60.0)):
        assert len(base[video]) == len(own[video]) > 0
        for (c0, a0, b0, s0), (c1, a1, b1, s1) in zip(base[video], own[video]):
            assert c0 == c1 and s0 == s1
            assert abs(a1 - a0 * 30.0 / rate) < 1e-6 and abs(b1 - b0 * 30.0 / rate) < 1e-6
