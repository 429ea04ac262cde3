"""The control anonymizers (PCA-k, random projection-k, Gaussian noise, temporal-mean removal): fitted on the
training clips of a store, saved as checkpoints, and taken by every protocol like a trained adapter."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from latentanon.anonymizers import create_anonymizer, list_anonymizers, load_anonymizer
from latentanon.anonymizers.controls import CONTROLS, fit_arrays, label
from latentanon.controls import fit_control, training_tokens
from latentanon.features import open_features
from latentanon.fit_control import cli
from latentanon.stores import open_store


def _tokens(n=400, d=12, seed=0) -> np.ndarray:
    g = np.random.default_rng(seed)
    return g.standard_normal((n, d)) * np.linspace(3, 0.1, d) + 5.0  # decreasing variance per dimension, offset


def test_pca_reconstructs_from_the_top_k_principal_components():
    x = _tokens()
    pca = fit_arrays("pca", x, k=3)
    basis = pca.basis.double().numpy()
    np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-6)
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    np.testing.assert_allclose(np.abs(basis @ vt[:3].T), np.eye(3), atol=1e-6)  # the same subspace
    # a point in mean + span(V_k) is kept; the orthogonal part of any point is removed
    inside = x.mean(0) + 2.0 * vt[0] - 1.5 * vt[2]
    y = pca(torch.tensor(inside, dtype=torch.float32)[None, None])[0, 0].double().numpy()
    np.testing.assert_allclose(y, inside, atol=1e-4)
    outside = x.mean(0) + vt[5]
    np.testing.assert_allclose(pca(torch.tensor(outside, dtype=torch.float32)[None, None])[0, 0], x.mean(0), atol=1e-4)
    assert 0 < pca.config["explained_variance"] < 1


def test_random_projection_is_an_orthogonal_rank_k_subspace_fixed_by_the_seed():
    x = _tokens()
    a, b, c = (fit_arrays("random-projection", x, k=4, seed=s) for s in (1, 1, 2))
    q = a.basis.double().numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-6)
    assert torch.equal(a.basis, b.basis) and not torch.allclose(a.basis, c.basis)
    t = torch.tensor(x[:6], dtype=torch.float32).reshape(3, 2, 12)
    y = a(t)
    assert torch.linalg.matrix_rank((y - a.mean).reshape(-1, 12)) <= 4


def test_noise_is_deterministic_batch_independent_and_scaled_by_each_dimension_std():
    x = _tokens(2000)
    noise = fit_arrays("noise", x, sigma=0.5, seed=3)
    t = torch.tensor(x, dtype=torch.float32).reshape(1000, 2, 12)
    y = noise(t)
    assert torch.equal(y, noise(t))  # the same input gives the same output
    assert torch.equal(noise(t[7:8])[0], y[7])  # alone or in a batch
    ratio = (y - t).reshape(-1, 12).std(0) / torch.tensor(x.std(0), dtype=torch.float32)
    np.testing.assert_allclose(ratio.numpy(), 0.5, rtol=0.08)
    assert torch.equal(fit_arrays("noise", x, sigma=0.0)(t), t)
    assert not torch.equal(fit_arrays("noise", x, sigma=0.5, seed=4)(t), y)


def test_temporal_mean_removal_keeps_what_moves_and_sets_the_clip_mean_to_the_training_mean():
    x = _tokens()
    tm = fit_arrays("temporal-mean", x)
    t = torch.randn(5, 4, 12)
    y = tm(t)
    torch.testing.assert_close(y.mean(1), tm.mean.expand(5, 12))
    torch.testing.assert_close(y[:, 1] - y[:, 0], t[:, 1] - t[:, 0])
    static = t[:, :1].expand(5, 4, 12)
    torch.testing.assert_close(tm(static), tm.mean.expand(5, 4, 12))


def test_bad_arguments_say_what_to_pass():
    x = _tokens()
    with pytest.raises(ValueError, match="needs --k in 1..12"):
        fit_arrays("pca", x, k=13)
    with pytest.raises(ValueError, match="needs --k"):
        fit_arrays("random-projection", x)
    with pytest.raises(ValueError, match="needs --sigma >= 0"):
        fit_arrays("noise", x, sigma=-1)
    with pytest.raises(ValueError, match="unknown control 'pcaa'"):
        fit_arrays("pcaa", x, k=2)
    with pytest.raises(ValueError, match="expects \\(B, L, 12\\) tokens"):
        fit_arrays("pca", x, k=2)(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="fit_control --control pca"):
        create_anonymizer("pca")  # a control is fitted first


def test_fit_control_reads_training_clips_only_and_works_wherever_a_checkpoint_does(action_store, tmp_path):
    assert set(CONTROLS) <= set(list_anonymizers("latent"))
    store = open_store(action_store)
    x = training_tokens(store)
    rows = store.clip_video_rows()
    train = store.videos["split"][rows] == "train"
    np.testing.assert_allclose(x, store.tokens()[np.nonzero(train)[0]].reshape(-1, x.shape[1]), rtol=0, atol=0)
    path = fit_control("pca", action_store, str(tmp_path / "pca-4"), k=4)
    meta = json.loads((path / "config.json").read_text())
    assert meta["name"] == "pca" and meta["config"]["k"] == 4 and meta["fitted_on"]["tokens"] == len(x)
    assert meta["encoder"]["weights_sha256"] == store.recipe["encoder"]["weights_sha256"]
    control = load_anonymizer(str(path))
    assert control.name == "pca" and not any(p.requires_grad for p in control.parameters())
    np.testing.assert_allclose(control.mean.numpy(), x.mean(0), rtol=1e-5, atol=1e-5)
    view = open_features(action_store, str(path))  # applied on the fly, as evaluate --anonymizer does
    assert view.recipe["anonymizer"]["name"] == "pca"
    anon = view.pooled()
    centred = anon - x.mean(0)
    assert np.linalg.matrix_rank(centred.astype(np.float64), tol=1e-3) <= 4
    assert label("pca", meta["config"]) == "PCA-4" and label("noise", {"sigma": 0.25}) == "noise 0.25"


def test_fit_control_refuses_missing_and_anonymized_stores(action_store, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such feature store"):
        fit_control("pca", str(tmp_path / "nope.zarr"), str(tmp_path / "out"), k=2)
    from latentanon.features import anonymize_store

    pca = fit_control("pca", action_store, str(tmp_path / "pca"), k=2)
    anonymize_store(action_store, str(pca), str(tmp_path / "anon.zarr"), progress=False)
    with pytest.raises(ValueError, match="anonymized store"):
        fit_control("pca", str(tmp_path / "anon.zarr"), str(tmp_path / "pca2"), k=2)


def test_command_line(action_store, tmp_path, capsys):
    assert cli(["--store", action_store, "--control", "noise", "--sigma", "0.3", "--out", str(tmp_path / "n")]) == 0
    assert "fitted the noise control" in capsys.readouterr().out
    assert cli(["--store", action_store, "--control", "pca", "--out", str(tmp_path / "p")]) == 2
    assert "needs --k" in capsys.readouterr().err
