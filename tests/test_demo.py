from latentanon.demo import DemoConfig, main


def test_demo_runs_on_the_synthetic_benchmark(synthetic_small, tmp_path, capsys):
    (tmp_path / "synthetic-small").symlink_to(synthetic_small)  # reuse the session's build (generate skips it)
    infos = main(DemoConfig(out=str(tmp_path), num_workers=0))
    assert infos["ucf101"]["videos"] > 0 and infos["ucf101"]["classes"] >= 10
    assert infos["vispr"]["annotations"]["videos_with_attribute_labels"] == infos["vispr"]["videos"]
    out = capsys.readouterr().out
    assert "[3/3] precomputing the vispr suite" in out and "dataset     vispr" in out
    assert "i3d-r50-tiny" in out and "weights: random" not in out  # the shipped pretrained checkpoint
