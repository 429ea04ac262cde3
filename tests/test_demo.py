import json

from latentanon.demo import DemoConfig, main
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
    result = main(DemoConfig(out=str(tmp_path), num_workers=0, epochs=2, protocols=quick))
    assert result["stores"]["ucf101"]["videos"] > 0 and result["stores"]["ucf101"]["classes"] >= 10
    assert (
        result["stores"]["vispr"]["annotations"]["videos_with_attribute_labels"] == result["stores"]["vispr"]["videos"]
    )
    out = capsys.readouterr().out
    for k in range(1, 6):
        assert f"[{k}/5]" in out
    assert "i3d-r50-tiny" in out and "weights: random" not in out  # the shipped pretrained checkpoint
    assert "anonymizer  latent splavu" in out  # the anonymized store's summary
    table = result["table"]
    assert set(table) == {"ar", "tad", "ad", "privacy", "privacy_moving"}
    for row in table.values():
        assert 0 <= row["raw"] <= 1 and 0 <= row["anonymized"] <= 1
    assert "gap_removed" in table["privacy"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["table"]["ar"]["raw"] == table["ar"]["raw"]
    assert "| action top-1 |" in (tmp_path / "report.md").read_text()
    png = (tmp_path / "privacy_utility.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
