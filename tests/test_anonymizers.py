"""The anonymizer registry and its two contracts (latent: tokens -> tokens; pixel: video -> video)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentanon import AnonymizedEncoder, create_encoder
from latentanon.aam import AAM, AAMConfig
from latentanon.anonymizers import (
    anonymizer_kind,
    anonymizer_recipe,
    create_anonymizer,
    list_anonymizers,
    load_anonymizer,
    register_anonymizer,
)
from latentanon.anonymizers.latent import anonymize_arrays, apply_latent
from latentanon.anonymizers.splavu import SplavuAnonymizer
from latentanon.checkpoint import save_aam
from latentanon.contracts import Pooler
from latentanon.stores.schema import recipe_hash


def test_registry_lists_both_kinds_and_explains_unknown_names():
    assert {"identity", "splavu"} <= set(list_anonymizers())
    assert list_anonymizers("pixel") == ["identity"] and "splavu" in list_anonymizers("latent")
    assert anonymizer_kind("splavu") == "latent"
    with pytest.raises(ValueError, match="Did you mean identity"):
        create_anonymizer("identiy")
    with pytest.raises(ValueError, match="kind must be one of"):
        list_anonymizers("audio")
    with pytest.raises(ValueError, match="already registered"):
        register_anonymizer("identity", kind="pixel")(lambda checkpoint=None: None)
    with pytest.raises(ValueError, match="needs a checkpoint"):
        create_anonymizer("splavu")
    with pytest.raises(FileNotFoundError, match="no such anonymizer checkpoint or store"):
        load_anonymizer("/nonexistent/run/best")


def test_identity_pixel_anonymizer_keeps_the_video_and_checks_its_input():
    anon = create_anonymizer("identity")
    video = torch.rand(2, 4, 3, 8, 8)
    assert anon.kind == "pixel" and torch.equal(anon(video), video)
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        anon(torch.rand(2, 4, 8, 8))
    with pytest.raises(ValueError, match="float"):
        anon(torch.zeros(1, 2, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="no weights"):
        create_anonymizer("identity", checkpoint="weights.safetensors")


def test_anonymized_encoder_with_the_identity_pixel_anonymizer_equals_the_encoder():
    encoder = create_encoder("videomae-tiny")
    spec = encoder.spec
    x = torch.randn(2, spec.clip_length, 3, spec.input_size, spec.input_size)
    wrapped = AnonymizedEncoder(encoder, create_anonymizer("identity"))
    mean = torch.tensor(spec.mean).view(1, 1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 1, 3, 1, 1)
    x = (x.clamp(-2, 2) * 0.2 + 0.5 - mean) / std  # normalised pixels of a video in [0, 1]
    with torch.no_grad():
        want = encoder(x)
        got = wrapped(x)
    assert torch.allclose(got, want, atol=1e-4)
    assert torch.allclose(wrapped.pool(got), encoder.pool(want), atol=1e-4)


def test_recipe_records_kind_name_config_and_weights_but_not_where_the_checkpoint_lives(tmp_path):
    torch.manual_seed(0)
    aam = AAM(AAMConfig(dim=16, depth=1, heads=2, ff_dim=32))
    save_aam(tmp_path / "a", aam, {"encoder": {"name": "x"}})
    anon = load_anonymizer(str(tmp_path / "a"))
    assert isinstance(anon, SplavuAnonymizer) and not anon.aam.training
    rec = anonymizer_recipe(anon, str(tmp_path / "a"))
    assert rec["kind"] == "latent" and rec["name"] == "splavu" and rec["config"]["dim"] == 16
    assert len(rec["weights_sha256"]) == 64
    base = {"encoder": {"name": "e"}, "clip": {}, "transform": {}, "static": {}, "compute_dtype": "fp32"}
    moved = {**base, "anonymizer": {**rec, "checkpoint": "/elsewhere/best"}}
    assert recipe_hash({**base, "anonymizer": rec}) == recipe_hash(moved) != recipe_hash({**base, "anonymizer": None})
    with torch.no_grad():
        next(anon.aam.parameters()).add_(1.0)
    assert anonymizer_recipe(anon)["weights_sha256"] != rec["weights_sha256"]


def test_latent_application_pools_token_outputs_and_passes_features_through_paper_compat():
    torch.manual_seed(0)
    pooler = Pooler(torch.nn.LayerNorm(8))
    tokens = torch.randn(5, 4, 8)
    aam = SplavuAnonymizer(AAM(AAMConfig(dim=8, depth=1, heads=2, ff_dim=16))).eval()
    _, y, feats = apply_latent(aam, pooler, tokens)
    assert y.shape == (5, 4, 8) and torch.allclose(feats, pooler(y))
    _, y_raw, f_raw = apply_latent(None, pooler, tokens)
    assert torch.equal(y_raw, tokens) and torch.allclose(f_raw, pooler(tokens))
    compat = SplavuAnonymizer(AAM(AAMConfig(dim=8, depth=1, heads=2, mode="paper-compat"))).eval()
    assert compat.input == "features" and not compat.batch_independent
    pooled = pooler(tokens).detach()
    t_out, p_out = anonymize_arrays(compat, pooler, tokens.numpy(), pooled.numpy(), batch_size=2)
    assert t_out.shape == (5, 1, 8) and np.allclose(t_out[:, 0], p_out)
    t_tok, p_tok = anonymize_arrays(aam, pooler, tokens.numpy())
    with torch.no_grad():
        assert np.allclose(p_tok, pooler(aam(tokens)).numpy(), atol=1e-6)
