"""The pretrained tiny encoder shipped in checkpoints/ (made by recipes/pretrain_synthetic.py)."""

import json
from pathlib import Path

import torch

from latentanon.registry import create_encoder

CKPT = Path(__file__).resolve().parents[1] / "checkpoints" / "i3d-r50-tiny-synthetic"


def test_shipped_checkpoint_loads_through_checkpoint_and_matches_its_report():
    report = json.loads((CKPT / "pretrain_report.json").read_text())
    enc = create_encoder(report["config"]["encoder"], checkpoint=str(CKPT / "model.safetensors"))
    assert enc.spec.weights_sha256 == report["weights_sha256"]
    assert enc.spec.weights.endswith("model.safetensors")
    with torch.inference_mode():
        tokens = enc(torch.randn(2, 16, 3, enc.spec.input_size, enc.spec.input_size))
    assert tokens.shape == (2, enc.spec.tokens_per_clip, enc.spec.feature_dim) and torch.isfinite(tokens).all()
    leak = report["leakage"]
    assert leak["action"]["top1"] > 2 * leak["action"]["chance"]  # the figures this checkpoint was shipped with
    assert leak["privacy_static"]["cmap"] > leak["privacy_static"]["chance_cmap"] + 0.05


def test_shipped_checkpoint_never_saw_an_evaluation_video():
    """Pretrained on benchmark 2's pretraining suite (own subjects and videos), chosen on its own validation split."""
    report = json.loads((CKPT / "pretrain_report.json").read_text())
    assert report["suite"] == "pretrain" and report["subjects_shared_with_evaluation"] == []
    assert report["config"]["suite"] in ("auto", "pretrain") and report["appearance_heads"] == ["scene", "shirt"]
    assert report["leakage"]["action"]["top1"] >= 0.80  # linear probe, 5-clip, on the evaluation suite's test split
