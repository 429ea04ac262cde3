"""The ablation recipe runs every variant and tabulates them (tiny stores, two epochs)."""

import json

import numpy as np

from latentanon.recipes.ablation import VARIANTS, AblationConfig, _variant_config, main
from latentanon.stores import StoreWriter, VideoRows
from latentanon.tradeoff import Protocols
from latentanon.train_aam import AdapterConfig
from tests.test_train_aam import _spec_of, make_train_store


def make_privacy_store(path, n=60, seed=0):
    spec = _spec_of("i3d-r50-tiny")
    d = spec["feature_dim"]
    recipe = {"encoder": spec, "clip": {}, "transform": {}, "static": {}, "compute_dtype": "fp32", "anonymizer": None}
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((3, d))
    with StoreWriter(str(path), recipe, (2, d), 0) as w:
        for i in range(n):
            labels = [int(i % 2), int((i // 2) % 2), int(rng.random() < 0.5)]
            x = rng.standard_normal(d) + np.array(labels) @ directions
            split = ("train", "train", "val", "test")[i % 4]
            w.add_video(
                VideoRows(
                    columns={"key": f"img{i}", "index": i, "split": split, "status": "padded",
                             "meta": json.dumps({"labels": labels})},
                    tokens=np.repeat(x[None, None], 2, axis=1).astype(np.float16),
                    pooled=x[None].astype(np.float16),
                    static_tokens=np.zeros((0, 2, d), np.float16),
                    static_pooled=np.zeros((0, d), np.float16),
                    static_frames=np.zeros(0, np.int64),
                )
            )  # fmt: skip
    return str(path)


def test_ablation_trains_each_variant_and_writes_the_table(tmp_path):
    action = make_train_store(tmp_path / "ar.zarr")
    privacy = make_privacy_store(tmp_path / "vispr.zarr")
    cfg = AblationConfig(
        action_store=action, privacy_store=privacy, out=str(tmp_path / "abl"), variants="full,no_budget,mlp",
        epochs=2, batch_size=8, aam=AdapterConfig(depth=1, ff_dim=64),
        protocols=Protocols(ar_epochs=10, probe_epochs=5),
    )  # fmt: skip
    results = main(cfg)
    assert set(results["variants"]) == {"full", "no_budget", "mlp"}
    for v in results["variants"].values():
        assert set(v[0]["table"]) == {"ar", "privacy"}
    table = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| raw | 0 |" in table and "| no_budget | 0 |" in table
    assert json.loads((tmp_path / "abl" / "ablation.json").read_text())["raw"]["0"]["ar"] >= 0
    # the variants change what they say they change
    full, nob = (_variant_config(cfg, n, 0, tmp_path) for n in ("full", "no_budget"))
    assert full.weights.budget == 1.0 and nob.weights.budget == 0.0 and full.weights.tad == full.weights.ad == 0.0
    assert _variant_config(cfg, "paper_compat", 0, tmp_path).aam.mode == "paper-compat"
    assert set(VARIANTS) == {"full", "no_budget", "no_utility", "no_lc", "paper_compat", "mlp"}
