import json
from pathlib import Path

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
        reconstruction_weight=1.0,
    )
    summary = main(cfg)
    assert summary["suite"] == "pretrain" and summary["appearance_heads"] == ["scene", "shirt"]
    assert summary["contrastive"] and summary["reconstruction"] and summary["subjects_shared_with_evaluation"] == []
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


def test_a_student_regresses_a_frozen_teachers_features_and_the_teacher_never_changes(tmp_path):
    import pytest
    import torch

    from latentanon.config import ConfigError
    from latentanon.datasets.synthetic import generate
    from latentanon.recipes.pretrain_synthetic import distill_loss

    teacher_ckpt = str(
        Path(__file__).resolve().parents[1] / "checkpoints" / "i3d-r50-tiny-synthetic" / "model.safetensors"
    )
    root = tmp_path / "bench"
    generate(root, preset="tiny", suites=["pretrain", "action"], workers=1, progress=False)
    cfg = PretrainConfig(
        root=str(root),
        out=str(tmp_path / "ckpt"),
        encoder="videomae-tiny",
        teacher="i3d-r50-tiny",
        teacher_checkpoint=teacher_ckpt,
        epochs=1,
        batch_size=8,
        evaluate=False,
        progress=False,
    )
    summary = main(cfg)
    shipped = create_encoder("i3d-r50-tiny", checkpoint=teacher_ckpt).spec.weights_sha256
    assert summary["teacher"] == {"name": "i3d-r50-tiny", "weights_sha256": shipped}  # read, never written
    assert np.isfinite(summary["history"][0]["loss"])
    # the target is the teacher's feature standardised over its dimensions: matching it exactly costs nothing
    t = torch.tensor([[1.0, 2.0, 3.0, 6.0], [-4.0, 0.0, 0.0, 4.0]])
    z = (t - t.mean(1, keepdim=True)) / t.var(1, unbiased=False, keepdim=True).sqrt()
    assert distill_loss(z, t).item() < 1e-6 and distill_loss(z, 10 * t + 3).item() < 1e-6
    assert distill_loss(torch.zeros_like(t), t).item() == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ConfigError, match="teacher-checkpoint"):
        main(PretrainConfig(**{**cfg.__dict__, "teacher_checkpoint": "", "out": str(tmp_path / "other")}))
    with pytest.raises(ConfigError, match="needs --teacher"):
        main(PretrainConfig(**{**cfg.__dict__, "teacher": "", "out": str(tmp_path / "other")}))


def test_the_reconstruction_target_standardises_each_patch_and_the_decoder_returns_whole_frames():
    import pytest
    import torch

    from latentanon.config import ConfigError
    from latentanon.recipes.pretrain_synthetic import Classifier, FrameDecoder, patch_normalised

    frames = torch.zeros(1, 3, 8, 8)
    frames[0, :, :4, :4] = torch.arange(48.0).reshape(3, 4, 4)  # one structured patch, three flat ones
    frames[0, :, 4:, 4:] = 7.0
    target = patch_normalised(frames, 4)
    patch = frames[0, :, :4, :4].flatten()
    expected = (patch - patch.mean()) / (patch.var() + 1e-6).sqrt()  # unbiased, as MAE
    assert torch.allclose(target[0, :, :4, :4].flatten(), expected, atol=1e-5)
    assert target[0, :, 4:, 4:].abs().max() == 0 and target[0, :, :4, 4:].abs().max() == 0  # flat: zero, not NaN
    assert FrameDecoder(256, 32)(torch.randn(2, 256, 2, 2)).shape == (2, 3, 64, 64)
    with pytest.raises(ConfigError, match="power-of-two"):
        FrameDecoder(256, 24)
    model = Classifier(create_encoder("i3d-r50-tiny"), 10, decoder=True)
    pred = model.forward_all(torch.randn(2, 16, 3, 64, 64))
    assert pred["frame"].shape == (2, 3, 64, 64) and pred["z"] is None and pred["distill"] is None
    with pytest.raises(ConfigError, match="spatial feature map"):
        Classifier(create_encoder("videomae-tiny"), 10, decoder=True)
