"""The evaluation recipes (privacy attack suite, gait, gender bias, trade-off, report) on synthetic feature stores
(tests/synthetic_stores.py), their pure pieces on planted data, and every shipped config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from latentanon.comparison import normalized_hypervolume
from latentanon.config import parse_cli
from latentanon.heads.linear import LinearConfig
from latentanon.probes import attack_cmap, knn_cmap
from latentanon.protocols import HeadSettings
from latentanon.recipes import gait, gender_bias, privacy_probe, report
from latentanon.recipes import tradeoff as sweep
from latentanon.training import AdapterConfig, TrainConfig, Weights
from latentanon.training import main as train

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
QUICK = HeadSettings(linear=LinearConfig(epochs=5), probe_epochs=3)


@pytest.fixture(scope="module")
def small(one_thread, action_store, privacy_store, gait_store, ntu_store, toyota_store, tmp_path_factory):
    """Synthetic stores of every suite the recipes read (tiny encoder) and two 1-epoch adapters, with and without
    L_LC, trained on the action store."""
    out = tmp_path_factory.mktemp("recipes")
    stores = {"ucf101": action_store, "vispr": privacy_store, "casia_b": gait_store, "ntu60": ntu_store,
              "toyota_smarthome": toyota_store}  # fmt: skip
    for name, lc in (("aam", 100.0), ("nolc", 0.0)):
        train(
            TrainConfig(
                action_store=stores["ucf101"], out=str(out / name), aam=AdapterConfig(depth=1, ff_dim=64),
                weights=Weights(lc=lc, budget=1.0, ar=1.0, tad=0.0, ad=0.0), epochs=1, batch_size=16,
                raw=HeadSettings(linear=LinearConfig(epochs=5)), progress=False, raw_heads=str(out / "raw_heads"),
            )
        )  # fmt: skip
        stores[name] = str(out / name / "best")
    return stores


def _png(path) -> None:
    data = Path(path).read_bytes()
    assert data[:8] == PNG and len(data) > 5000


# --------------------------------------------------------------------------------------------- attackers


def _planted(n=600, d=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x[:, :3] + 0.3 * rng.normal(size=(n, 3)) > 0).astype(int)
    split = np.array(["train", "train", "train", "val", "test"] * (n // 5))
    return x, y, split


@pytest.mark.parametrize("attacker", ["linear", "mlp", "deep_mlp", "knn"])
def test_every_attacker_finds_a_planted_attribute_and_fails_once_it_is_removed(attacker):
    x, y, split = _planted()
    found = attack_cmap(attacker, x, y, split, seed=0, epochs=50)
    assert found["cmap"] > 0.75 and abs(found["chance_cmap"] - y[split == "test"].mean()) < 1e-9
    scrubbed = x.copy()
    scrubbed[:, :3] = np.random.default_rng(1).normal(size=(len(x), 3))
    retrained = attack_cmap(attacker, scrubbed, y, split, seed=0, epochs=50)  # adaptive: trained on scrubbed
    fixed = attack_cmap(attacker, x, y, split, seed=0, epochs=50, x_attack=scrubbed)  # trained on the originals
    for r in (retrained, fixed):
        assert r["cmap"] < found["cmap"] - 0.2 and r["cmap"] < 0.55


def test_knn_chooses_k_on_validation_and_best_on_test_is_optimistic():
    x, y, split = _planted(seed=3)
    noisy = x + np.random.default_rng(0).normal(scale=2.0, size=x.shape).astype(np.float32)
    val = knn_cmap(noisy, y, split)
    test = knn_cmap(noisy, y, split, select="test")
    assert val["best_epoch"] in (1, 5, 10, 20, 50) and test["cmap"] >= val["cmap"]


def test_attackers_reject_bad_input():
    x, y, split = _planted()
    with pytest.raises(ValueError, match="unknown attacker"):
        attack_cmap("svm", x, y, split, seed=0)
    with pytest.raises(ValueError, match="x_attack must have the shape"):
        attack_cmap("mlp", x, y, split, seed=0, x_attack=x[:10])
    with pytest.raises(ValueError, match="select"):
        attack_cmap("mlp", x, y, split, seed=0, select="best")


def test_privacy_probe_recipe_on_synthetic_stores(small, tmp_path):
    cfg = privacy_probe.PrivacyProbeConfig(
        raw=small["vispr"], anonymized=small["aam"], out=str(tmp_path), epochs=3, progress=False
    )
    m = privacy_probe.main(cfg)
    assert set(m["attackers"]) == {"linear", "mlp", "deep_mlp", "knn"}
    for r in m["attackers"].values():
        for regime in ("raw", "fixed", "adaptive"):
            assert 0 < r[regime] <= 1
        assert r["adaptive_reduction"] == pytest.approx(1 - r["adaptive"] / r["raw"])
        assert set(r["raw_per_attribute"]) == set(m["attributes"]) and len(m["attributes"]) == 7
    text = (tmp_path / "privacy_probe.md").read_text()
    assert "anonymized, adaptive (retrained)" in text and "| knn |" in text
    _png(tmp_path / "privacy_probe.png")
    labelled = privacy_probe.main(
        privacy_probe.PrivacyProbeConfig(
            raw=small["vispr"], out=str(tmp_path / "t"), epochs=2, select="test", attackers="mlp", progress=False
        )
    )
    assert "optimistic" in privacy_probe.format_markdown(labelled)
    with pytest.raises(ValueError, match="attackers"):
        privacy_probe.main(privacy_probe.PrivacyProbeConfig(raw=small["vispr"], attackers="mlp,oracle"))


# --------------------------------------------------------------------------------------------- gait


def test_retrieval_top1_matches_identity_and_skips_the_probes_view():
    # subject s has feature e_s; every video also carries its view's strong signature
    subjects, views = np.repeat(np.arange(4), 6), np.tile([0, 90], 12)
    rng = np.random.default_rng(0)
    ident, view_sig = np.eye(4) * 3, {0: rng.normal(size=4) * 0.1, 90: rng.normal(size=4) * 0.1}
    feats = np.stack([ident[s] + view_sig[v] for s, v in zip(subjects, views)]) + rng.normal(scale=0.05, size=(24, 4))
    gallery, probes = np.arange(0, 24, 3), np.setdiff1d(np.arange(24), np.arange(0, 24, 3))
    subj = np.array([f"{s:03d}" for s in subjects])
    assert gait.retrieval_top1(feats, subj, views, gallery, probes, cross_view=True) == 1.0
    shuffled = subj.copy()
    shuffled[gallery] = np.random.default_rng(1).permutation(shuffled[gallery])
    assert gait.retrieval_top1(feats, shuffled, views, gallery, probes, cross_view=False) < 0.6
    with pytest.raises(ValueError, match="other views|cross-view"):
        gait.retrieval_top1(feats, subj, np.zeros(24, int), gallery, probes, cross_view=True)


def test_gait_recipe_reports_the_table_6_shape(small, tmp_path):
    cfg = gait.GaitConfig(
        raw=small["casia_b"], anonymized=small["aam"], anonymized_no_lc=small["nolc"], out=str(tmp_path)
    )
    m = gait.main(cfg)
    assert list(m["top1"]) == ["raw", "anonymized, with L_LC", "anonymized, without L_LC"]
    for setting in ("top1", "top1_cross_view"):  # METHOD.md's protocol (every view) and the cross-view setting
        assert list(m[setting]) == list(m["top1"])
        for t in m[setting].values():
            assert set(t) == {"nm", "bg", "cl"} and all(0 <= v <= 1 for v in t.values())
    # skipping the probe's own view can only remove matches: the synthetic walks differ by view
    assert m["top1_cross_view"]["raw"]["nm"] <= m["top1"]["raw"]["nm"]
    assert m["chance"] == pytest.approx(1 / m["subjects"])
    md = (tmp_path / "gait.md").read_text()
    assert "top-1, nm probes |" in md and "top-1, nm probes, cross-view" in md
    assert "top1_cross_view" not in gait.main(replace(cfg, cross_view=False, out=str(tmp_path / "a")))
    _png(tmp_path / "gait.png")
    with pytest.raises(ValueError, match="condition"):
        gait.main(gait.GaitConfig(raw=small["vispr"], out=str(tmp_path / "x")))


# --------------------------------------------------------------------------------------------- gender bias


def test_bias_subset_balances_subjects_and_skews_every_action_but_the_flipped_one():
    rng = np.random.default_rng(0)
    subjects = [f"P{i:03d}" for i in range(12)]  # 7 men, 5 women per split: balancing drops 2 men
    gender_of = {s: "M" if i % 12 < 7 else "F" for i, s in enumerate(subjects)}
    rows = [(s, a, sp) for sp in ("train", "test") for s in subjects for a in range(3) for _ in range(4)]
    subject = np.array([r[0] + r[2] for r in rows])  # distinct subjects per split
    gender = np.array([gender_of[r[0]] for r in rows])
    labels, split = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    keep = gender_bias.bias_subset(labels, gender, subject, split, "M", 0.95, 1, ("train",), seed=0)
    for sp in ("train", "test"):
        kept = keep & (split == sp)
        assert len(set(subject[kept & (gender == "M")])) == len(set(subject[kept & (gender == "F")]))
    n = 20  # 5 subjects x 4 videos per (action, gender)
    minority = max(1, round(n * 0.05 / 0.95))
    for a in range(3):
        tr = keep & (split == "train") & (labels == a)
        men, women = int((tr & (gender == "M")).sum()), int((tr & (gender == "F")).sum())
        assert (men, women) == ((minority, n) if a == 1 else (n, minority))
        te = keep & (split == "test") & (labels == a)
        assert int((te & (gender == "M")).sum()) == int((te & (gender == "F")).sum()) == n
    del rng
    with pytest.raises(ValueError, match="ratio"):
        gender_bias.bias_subset(labels, gender, subject, split, "M", 0.4, 1, ("train",), seed=0)


def test_gender_bias_recipe_on_synthetic_stores(small, tmp_path):
    cfg = gender_bias.GenderBiasConfig(
        ntu=small["ntu60"], toyota=small["toyota_smarthome"], anonymized=small["aam"], out=str(tmp_path), epochs=5,
        progress=False,
    )  # fmt: skip
    m = gender_bias.main(cfg)
    assert set(m["sets"]) == {"NTU-Bias-F", "NTU-Bias-M", "Toyota Smarthome"}
    for entry in m["sets"].values():
        for feat in ("raw", "anonymized"):
            r = entry[feat]
            assert r["gap"] == pytest.approx(r["top1_M"] - r["top1_F"])
            assert r["test_videos_M"] > 0 and r["test_videos_F"] > 0
    f = m["sets"]["NTU-Bias-F"]["train_videos"]
    assert f["M"] > f["F"]  # the majority gender dominates the biased training split
    assert "flipped_top1_M" in m["sets"]["NTU-Bias-M"]["raw"]
    assert "| NTU-Bias-M | anonymized |" in (tmp_path / "gender_bias.md").read_text()
    with pytest.raises(ValueError, match="no action labels"):
        gender_bias.main(gender_bias.GenderBiasConfig(ntu=small["vispr"], out=str(tmp_path / "x"), progress=False))
    _png(tmp_path / "gender_bias.png")


# --------------------------------------------------------------------------------------------- trade-off, report


def test_normalized_hypervolume_by_hand():
    raw, chance = (0.7, 0.8), (0.5, 0.1)
    assert normalized_hypervolume([raw], raw, chance) == 0.0
    assert normalized_hypervolume([(0.5, 0.8)], raw, chance) == pytest.approx(1.0)
    # leakage 0.5 at full utility and leakage 0 at half utility: 0.5 * 1 + 0.5 * 0.5 = 0.75
    assert normalized_hypervolume([(0.6, 0.8), (0.5, 0.45)], raw, chance) == pytest.approx(0.75)
    assert normalized_hypervolume([(0.6, 0.8), (0.65, 0.5)], raw, chance) == pytest.approx(0.5)  # dominated
    with pytest.raises(ValueError, match="above chance"):
        normalized_hypervolume([raw], (0.5, 0.8), chance)


def test_tradeoff_and_report_on_synthetic_stores(small, tmp_path):
    points = sweep.parse_points("0:1,3:1")
    assert points == [(0.0, 1.0), (3.0, 1.0)]
    with pytest.raises(ValueError, match="w_B:w_T"):
        sweep.parse_points("3")
    cfg = report.ReportConfig(
        anonymized=small["aam"],
        out=str(tmp_path / "report"),
        utility=report.UtilityConfig(action_store=small["ucf101"], privacy_store=small["vispr"], protocols=QUICK),
        privacy_probe=privacy_probe.PrivacyProbeConfig(raw=small["vispr"], epochs=2, progress=False),
        gait=gait.GaitConfig(raw=small["casia_b"], anonymized_no_lc=small["nolc"]),
        gender_bias=gender_bias.GenderBiasConfig(ntu=small["ntu60"], epochs=3, progress=False),
        tradeoff=sweep.TradeoffConfig(
            action_store=small["ucf101"], privacy_store=small["vispr"], points="0:1,3:1", epochs=1, batch_size=16,
            aam=AdapterConfig(depth=1, ff_dim=64), protocols=QUICK,
        ),
    )  # fmt: skip
    done = report.main(cfg)
    assert list(done) == list(report.SECTIONS)
    t = done["tradeoff"]["metrics"]
    assert len(t["points"]) == 2 and 0 <= t["nhv"] <= 1
    out = tmp_path / "report"
    text = (out / "report.md").read_text()
    for heading in ("Utility", "Privacy attack suite", "Gait retrieval", "Gender bias", "Privacy-utility trade-off"):
        assert heading in text
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(links) == 5
    for link in links:
        _png(out / link)
    assert (out / "tradeoff" / "wb3-wt1" / "best" / "model.safetensors").is_file()
    assert (out / "tradeoff" / "raw_heads" / "ar" / "config.json").is_file()  # trained once, shared by the points
    with pytest.raises(ValueError, match="trained with other settings"):  # finished points are not silently reused
        sweep.main(replace(cfg.tradeoff, out=str(out / "tradeoff"), lc=10.0))


# --------------------------------------------------------------------------------------------- shipped configs

CONFIGS = {
    "privacy_probe": privacy_probe.PrivacyProbeConfig,
    "gait": gait.GaitConfig,
    "gender_bias": gender_bias.GenderBiasConfig,
    "tradeoff": sweep.TradeoffConfig,
    "report": report.ReportConfig,
}


def test_every_shipped_config_is_valid():
    shipped = sorted((ROOT / "recipes" / "configs").glob("*.yaml"))
    assert {p.stem for p in shipped} == set(CONFIGS)
    for path in shipped:
        text = path.read_text()
        assert f"python -m latentanon.recipes.{path.stem} --config recipes/configs/{path.name}" in text
        cfg = parse_cli(CONFIGS[path.stem], ["--config", str(path)])  # unknown keys or bad types raise
        assert cfg != CONFIGS[path.stem]()
    with pytest.raises(ValueError, match="unknown"):
        parse_cli(gait.GaitConfig, ["--config", str(ROOT / "recipes" / "configs" / "privacy_probe.yaml")])


def _fake_result(seed: int) -> dict:
    """A comparison run's result with made-up but consistent figures (raw, one adapter, two noise levels)."""
    raw = {
        "ar": {"metric": "top1", "test_top1": 0.80 + 0.01 * seed, "chance_top1": 0.1},
        "privacy": {"metric": "cmap", "test_cmap": 0.50, "chance_cmap": 0.30},
    }
    table = {
        "SPLAVU best": {
            "ar": {"anonymized": 0.79, "change": -0.01 - 0.01 * seed},
            "privacy": {"anonymized": 0.40, "change": -0.1, "gap_removed": 0.5, "relative": -0.2},
        },
        "noise 0.5": {
            "ar": {"anonymized": 0.78, "change": -0.02},
            "privacy": {"anonymized": 0.48, "change": -0.02, "gap_removed": 0.1, "relative": -0.04},
        },
        "noise 2": {
            "ar": {"anonymized": 0.40, "change": -0.4},
            "privacy": {"anonymized": 0.35, "change": -0.15, "gap_removed": 0.75, "relative": -0.3},
        },
    }
    return {"raw": raw, "table": table}


def test_seed_aggregate_gives_mean_spread_and_the_noise_level_at_matched_utility():
    from latentanon.recipes.seeds import aggregate, format_aggregate

    agg = aggregate([_fake_result(s) for s in range(3)])
    assert agg["seeds"] == 3 and agg["tasks"] == ["ar", "privacy"]
    assert abs(agg["raw"]["ar"]["mean"] - 0.81) < 1e-9 and abs(agg["raw"]["ar"]["std"] - 0.01) < 1e-9
    assert agg["methods"]["SPLAVU best"]["privacy"]["gap_mean"] == 0.5
    assert agg["matched_noise"] == "noise 0.5"  # action top-1 0.78 is closest to the adapter's 0.79
    text = format_aggregate(agg, "t")
    assert "| noise 0.5 (matched AR) |" in text and "gap 50 ± 0%" in text and "| chance | 0.100 | 0.300 |" in text
