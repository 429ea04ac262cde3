import json

from latentanon.recipes.pretrain_synthetic import PretrainConfig, main
from latentanon.registry import create_encoder


def test_pretrain_saves_a_loadable_checkpoint_reports_leakage_and_resumes(synthetic_small, tmp_path):
    cfg = PretrainConfig(
        root=str(synthetic_small), out=str(tmp_path / "ckpt"), epochs=2, batch_size=16, probe_epochs=3, progress=False
    )
    summary = main(cfg)
    assert len(summary["history"]) == 2 and summary["best_epoch"] in (1, 2)
    enc = create_encoder(cfg.encoder, checkpoint=summary["checkpoint"])
    assert enc.spec.weights_sha256 == summary["weights_sha256"]
    leak = json.loads((tmp_path / "ckpt" / "pretrain_report.json").read_text())["leakage"]
    assert 0 <= leak["action"]["top1"] <= 1 and leak["action"]["chance"] == 0.1
    assert len(leak["privacy_static"]["per_attribute_ap"]) == 7 and "privacy_moving" in leak
    # a longer run resumes after the two finished epochs instead of starting again
    more = main(PretrainConfig(**{**cfg.__dict__, "epochs": 3, "evaluate": False}))
    assert [h["epoch"] for h in more["history"]] == [1, 2, 3]
    assert more["history"][:2] == summary["history"]
