"""The ablation recipe runs every variant and tabulates them (synthetic stores, two epochs)."""

import json

import pytest

from latentanon.heads.linear import LinearConfig
from latentanon.protocols import HeadSettings
from latentanon.recipes.ablation import VARIANTS, AblationConfig, _variant_config, main
from latentanon.training import AdapterConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def test_ablation_trains_each_variant_and_writes_the_table(action_store, privacy_store, tmp_path):
    cfg = AblationConfig(
        action_store=action_store, privacy_store=privacy_store, out=str(tmp_path / "abl"),
        variants="full,no_budget,mlp", epochs=2, batch_size=8, aam=AdapterConfig(depth=1, ff_dim=64),
        protocols=HeadSettings(linear=LinearConfig(epochs=10), probe_epochs=5),
    )  # fmt: skip
    results = main(cfg)
    assert set(results["variants"]) == {"full", "no_budget", "mlp"}
    for v in results["variants"].values():
        assert set(v[0]["table"]) == {"ar", "privacy", "privacy_moving"}  # the action videos have attribute labels
    table = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| raw | 0 |" in table and "| no_budget | 0 |" in table
    assert json.loads((tmp_path / "abl" / "ablation.json").read_text())["raw"]["0"]["ar"] >= 0
    # the variants change what they say they change
    full, nob = (_variant_config(cfg, n, 0, tmp_path) for n in ("full", "no_budget"))
    assert full.weights.budget == 1.0 and nob.weights.budget == 0.0 and full.weights.tad == full.weights.ad == 0.0
    assert _variant_config(cfg, "paper_compat", 0, tmp_path).aam.mode == "paper-compat"
    assert set(VARIANTS) == {"full", "no_budget", "no_utility", "no_lc", "paper_compat", "mlp"}
