import json

from latentanon.demo import DemoConfig, main
from latentanon.experiment import finding
from latentanon.heads.linear import LinearConfig
from latentanon.protocols import ADConfig, HeadSettings, TADConfig


def test_demo_runs_end_to_end_on_the_synthetic_benchmark(synthetic_small, tmp_path, capsys):
    (tmp_path / "synthetic-small").symlink_to(synthetic_small)  # reuse the session's build (generate skips it)
    quick = HeadSettings(
        linear=LinearConfig(epochs=10),
        tad=TADConfig(epochs=2, embed_dim=64),
        ad=ADConfig(steps=10, dims=(64, 64, 64)),
        probe_epochs=5,
    )
    cfg = DemoConfig(out=str(tmp_path), preset="small", num_workers=0, epochs=2, rank=4, protocols=quick)
    result = main(cfg)
    assert result["stores"]["ucf101"]["videos"] > 0 and result["stores"]["ucf101"]["classes"] >= 10
    assert (
        result["stores"]["vispr"]["annotations"]["videos_with_attribute_labels"] == result["stores"]["vispr"]["videos"]
    )
    out = capsys.readouterr().out
    for k in range(1, 7):
        assert f"[{k}/6]" in out
    for task in ("ar", "tad", "ad"):  # the raw evaluation's heads, which both adapters started from
        assert (tmp_path / "runs" / "raw_heads" / task / "config.json").is_file()
    assert "i3d-r50-tiny" in out and "weights: random" not in out  # the shipped pretrained checkpoint
    # the best adapter's run and evaluation are named by its setting, so another --rank / --best-budget in the same
    # --out trains its own instead of refusing the old run or reusing its evaluation
    assert (tmp_path / "runs" / "best-rank4-wb20" / "best" / "config.json").is_file()
    assert (tmp_path / "eval" / "SPLAVU-best-rank4-wb20" / "done.json").is_file()
    table = result["table"]
    assert set(table) == {"SPLAVU published", "SPLAVU best", "PCA-4"}
    for rows in table.values():
        assert set(rows) == {"ar", "tad", "ad", "privacy", "privacy_moving"}
        assert all(0 <= r["anonymized"] <= 1 for r in rows.values())
        assert "gap_removed" in rows["privacy"] and "gap_removed" in rows["privacy_moving"]
    assert table["PCA-4"]["ar"]["raw"] == table["SPLAVU best"]["ar"]["raw"]  # one raw evaluation for all
    assert "Finding:" in out and result["findings"][0].startswith("SPLAVU best vs PCA-4")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["table"]["PCA-4"]["ar"]["anonymized"] == table["PCA-4"]["ar"]["anonymized"]
    md = (tmp_path / "report.md").read_text()
    assert "| SPLAVU best |" in md and "| PCA-4 |" in md and "| chance |" in md
    png = (tmp_path / "privacy_utility.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # a re-run reuses every step's results
    again = main(cfg)
    assert again["table"] == table


def _rows(adapter_gap, pca_gap, adapter_ar, pca_ar):
    def task(gap, ar):
        return {
            "ar": {"anonymized": ar},
            "privacy": {"gap_removed": gap},
            "privacy_moving": {"gap_removed": gap},
        }

    return {"SPLAVU best": task(adapter_gap, adapter_ar), "PCA-8": task(pca_gap, pca_ar)}


def test_finding_credits_the_adapter_only_at_1_5x_the_pca_gap_share_and_equal_utility():
    assert "removes at least 1.5x" in finding(_rows(0.6, 0.3, 0.80, 0.80), "SPLAVU best", "PCA-8")
    assert "does NOT" in finding(_rows(0.6, 0.5, 0.80, 0.80), "SPLAVU best", "PCA-8")  # only 1.2x
    assert "does NOT" in finding(_rows(0.6, 0.3, 0.75, 0.80), "SPLAVU best", "PCA-8")  # 5 points less accurate
    assert "x2.00" in finding(_rows(0.6, 0.3, 0.80, 0.80), "SPLAVU best", "PCA-8")


def test_a_finished_evaluation_is_reused_only_under_the_same_protocols_and_seed(tmp_path, monkeypatch):
    """``done.json`` written under other head settings (an older AD protocol) or another seed is evaluated again;
    one written under this run's settings is reused as it is."""
    from dataclasses import asdict, replace

    from latentanon import comparison
    from latentanon.experiment import ExperimentConfig, _evaluate

    calls = []

    def evaluate_suite(roles, out, anonymizer, seed, heads, heads_out=None):
        calls.append(seed)
        return {"ar": {"test_top1": 0.5, "config": {"heads": json.loads(json.dumps(asdict(heads))), "seed": seed}}}

    monkeypatch.setattr(comparison, "evaluate_suite", evaluate_suite)
    cfg = ExperimentConfig()
    first = _evaluate({"action": "a.zarr"}, tmp_path, None, cfg)
    assert _evaluate({"action": "a.zarr"}, tmp_path, None, cfg) == first and len(calls) == 1  # reused
    older = replace(cfg, protocols=replace(cfg.protocols, ad=ADConfig(steps=200, dims=(64, 128, 256), restarts=1)))
    _evaluate({"action": "a.zarr"}, tmp_path, None, older)
    _evaluate({"action": "a.zarr"}, tmp_path, None, replace(older, seed=1))
    assert calls == [0, 0, 1]  # other AD settings, then another seed: evaluated again each time
    assert json.loads((tmp_path / "done.json").read_text())["ar"]["config"]["seed"] == 1


def test_an_out_folder_of_another_build_is_refused_with_what_to_do(tmp_path, capsys):
    """A benchmark of another seed (or version) in --out is not rebuilt over: its stores and runs would be reused
    by key and mix two builds. The refusal is one line naming a new --out, not the builder's --overwrite."""
    from latentanon.demo import cli

    stale = tmp_path / "synthetic-demo" / "ucf101"
    stale.mkdir(parents=True)
    (stale / "build.json").write_text(json.dumps({"seed": 7}))
    (stale / "v.mp4").write_bytes(b"old")
    assert cli(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "choose a new --out" in err and str(tmp_path / "synthetic-demo") in err and "--overwrite" not in err
    assert (stale / "v.mp4").read_bytes() == b"old"  # nothing deleted
