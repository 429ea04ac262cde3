import json

import numpy as np

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


def test_pretraining_uses_the_disjoint_suite_with_appearance_and_contrastive_terms(tmp_path):
    from latentanon.datasets.synthetic import generate
    from latentanon.recipes.pretrain_synthetic import second_views

    root = tmp_path / "bench"
    generate(root, preset="tiny", suites=["pretrain", "action"], workers=1, progress=False)
    cfg = PretrainConfig(
        root=str(root),
        out=str(tmp_path / "ckpt"),
        epochs=1,
        batch_size=8,
        evaluate=False,
        progress=False,
        contrastive_weight=0.3,
    )
    summary = main(cfg)
    assert summary["suite"] == "pretrain" and summary["appearance_heads"] == ["scene", "shirt"]
    assert summary["contrastive"] and summary["subjects_shared_with_evaluation"] == []
    assert summary["train_videos"] == 20 and summary["val_videos"] == 10  # the pretraining suite's own splits
    assert np.isfinite(summary["history"][0]["loss"])
    # the contrastive view: another clip of the same video (possibly flipped), the same one only when it has one
    clips = [np.arange(3 * 4 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 4, 2, 2, 3) + 70 * v for v in range(2)]
    clips.append(clips[0][:1] + 200)
    videos, first = np.array([0, 1, 1, 2]), np.array([2, 0, 1, 0])
    views = second_views(clips, videos, first, np.random.default_rng(0))
    assert views.shape == (4, 4, 2, 2, 3)
    for view, v, j in zip(views, videos, first):
        same = [k for k in range(len(clips[v])) if np.array_equal(view, clips[v][k])]
        flipped = [k for k in range(len(clips[v])) if np.array_equal(view, clips[v][k][:, :, ::-1])]
        assert (same or flipped) and (len(clips[v]) == 1 or j not in same + flipped)
