"""The adapter (AAM) and the anonymization losses."""

import math

import numpy as np
import pytest
import torch

from latentanon.aam import AAM, AAMConfig, evaluate_identity, identity_pretrain, scaled_lr
from latentanon.losses import latent_consistency, nt_xent, nt_xent_ceiling, temporal_triplet

D = 32


def small(mode="token", **kw) -> AAMConfig:
    return AAMConfig(dim=D, mode=mode, heads=4, ff_dim=64, depth=kw.pop("depth", 2), **kw)


def tokens(n=7, length=4, seed=0):
    return torch.randn(n, length, D, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mode", ["token", "mlp"])
def test_default_modes_are_batch_independent(mode):
    torch.manual_seed(0)
    aam = AAM(small(mode, zero_init=False)).eval()  # random branches: the identity would pass trivially
    x = tokens(9)
    batched = aam(x)
    alone = torch.cat([aam(x[i : i + 1]) for i in range(len(x))])
    other = aam(torch.cat([tokens(5, seed=1), x[3:4], tokens(2, seed=2)]))[5]
    assert aam.batch_independent
    # identical up to float32 rounding of batch-size-dependent GEMM blocking
    assert (batched - alone).abs().max() < 1e-5
    assert (batched[3] - other).abs().max() < 1e-5
    assert (batched - x).abs().max() > 1e-2  # the adapter is not the identity here


def test_paper_compat_mode_depends_on_the_batch():
    torch.manual_seed(0)
    aam = AAM(small("paper-compat", zero_init=False)).eval()
    x = tokens(9)
    batched = aam(x)
    alone = torch.cat([aam(x[i : i + 1]) for i in range(len(x))])
    assert not aam.batch_independent
    assert batched.shape == (9, 1, D)
    assert (batched - alone).abs().max() > 1e-2  # attention runs across the clips of the batch


@pytest.mark.parametrize("mode", ["token", "mlp", "paper-compat"])
def test_zero_init_starts_as_the_identity_and_every_parameter_then_learns(mode):
    torch.manual_seed(0)
    aam = AAM(small(mode))
    x = tokens(6)
    aam.eval()
    target = x.mean(1, keepdim=True) if mode == "paper-compat" else x
    torch.testing.assert_close(aam(x), target, rtol=0, atol=1e-6)
    aam.train()
    opt = torch.optim.SGD(aam.parameters(), lr=0.1)
    for _ in range(2):  # after one step the zeroed layers pass gradients to the rest
        opt.zero_grad()
        (aam(x) - 1.0).pow(2).mean().backward()
        dead = [n for n, p in aam.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        opt.step()
    assert not dead, f"parameters without gradient: {dead}"


def test_identity_pretraining_reaches_one_percent_from_random_init():
    torch.manual_seed(0)
    aam = AAM(small("token", zero_init=False, depth=1, dropout=0.0))
    x = tokens(256)
    before = evaluate_identity(aam, x)
    out = identity_pretrain(aam, x.numpy().astype(np.float16), epochs=400, lr=3e-3, batch_size=64)
    assert before > 0.1
    assert out["relative_error"] < 0.01, out["history"][-5:]
    assert out["relative_error"] == pytest.approx(
        evaluate_identity(aam, torch.from_numpy(x.numpy().astype(np.float16)).float())
    )


def test_identity_pretraining_fits_a_bottleneck_to_the_data_rank():
    torch.manual_seed(0)
    basis = torch.randn(6, D)
    x = (torch.randn(300, 3, 6) @ basis).float()  # rank-6 data
    aam = AAM(small("mlp", depth=1, bottleneck=6, dropout=0.0))
    out = identity_pretrain(aam, x, epochs=600, lr=1e-2, batch_size=100, loss="l1")
    assert out["relative_error"] < 0.01, out["history"][-5:]
    assert out["epochs"] < 600  # stopped early at the target


def test_config_and_input_errors_say_what_to_do():
    with pytest.raises(ValueError, match="heads .* must divide dim"):
        AAMConfig(dim=30, heads=8)
    with pytest.raises(ValueError, match="mode must be one of"):
        AAMConfig(mode="lstm")
    with pytest.raises(ValueError, match="unknown AAM config keys"):
        AAMConfig.from_dict({"dim": 8, "layers": 3})
    with pytest.raises(ValueError, match=r"\(B, L, 32\)"):
        AAM(small())(torch.zeros(4, D))
    with pytest.raises(ValueError, match="identity loss"):
        identity_pretrain(AAM(small()), tokens(4), loss="huber")
    assert AAMConfig.from_dict(small().to_dict()) == small()
    assert scaled_lr(1e-4, 256) == pytest.approx(5e-5)


# ------------------------------------------------------------------------------------------------ losses


def _nt_xent_numpy(z1, z2, tau):
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    sim = z @ z.T / tau
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = [sim[i, k] for k in range(2 * n) if k != i]
        total += -sim[i, j] + math.log(sum(math.exp(v) for v in others))
    return total / (2 * n)


def test_nt_xent_matches_a_hand_computation_and_its_ceiling():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    got = nt_xent(torch.tensor(z1), torch.tensor(z2), temperature=0.1)
    assert got.item() == pytest.approx(_nt_xent_numpy(z1, z2, 0.1), rel=1e-5)
    same = torch.ones(4, 8)  # every view alike: the positive is no closer than the negatives
    assert nt_xent(same, same).item() == pytest.approx(nt_xent_ceiling(4), rel=1e-6) == pytest.approx(math.log(7))
    # a shared offset makes different samples look alike; centring removes it
    near = torch.tensor(z1).float() + 0.01 * torch.tensor(z2).float()  # a close positive for every sample
    offset = torch.tensor(z1).float() + 100.0, near + 100.0
    assert nt_xent(*offset).item() == pytest.approx(math.log(9), abs=0.05)
    assert nt_xent(*offset, center=True).item() < math.log(9) - 0.1
    with pytest.raises(ValueError, match="at least 2 pairs"):
        nt_xent(torch.ones(1, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match="one shape"):
        nt_xent(torch.ones(2, 3), torch.ones(2, 4))


def test_latent_consistency_and_temporal_triplet_by_hand():
    raw, anon = torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0, 4.0]])
    assert latent_consistency(raw, anon).item() == pytest.approx((1 + 4) / 2)
    a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])
    assert temporal_triplet(a, p, n, margin=1.0).item() == pytest.approx(5 - 1 + 1)
    assert temporal_triplet(a, n, p, margin=1.0).item() == 0.0
    with pytest.raises(ValueError, match="equal shapes"):
        latent_consistency(raw, torch.zeros(2, 2))


def test_a_bottleneck_starts_at_the_pca_reconstruction_of_its_rank():
    torch.manual_seed(0)
    x = tokens(200)
    aam = AAM(small("mlp", depth=1, bottleneck=4, dropout=0.0))
    aam.init_bottleneck_pca(x)
    flat = x.reshape(-1, D).double()
    centred = flat - flat.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    pca = centred @ vh[:4].T @ vh[:4] + flat.mean(0)
    with torch.no_grad():
        out = aam.eval()(x).reshape(-1, D).double()
    assert torch.allclose(out, pca, atol=1e-4)
    # Eckart-Young: the relative error is the energy of the discarded directions
    expected = float(s[4:].pow(2).sum().sqrt() / flat.norm())
    assert evaluate_identity(aam, x) == pytest.approx(expected, rel=1e-3)


def test_identity_pretraining_of_a_bottleneck_stops_at_a_plateau_and_keeps_the_best_weights():
    torch.manual_seed(0)
    x = tokens(200)
    aam = AAM(small("mlp", depth=1, bottleneck=4, dropout=0.0))
    out = identity_pretrain(aam, x, epochs=50, lr=1e-3, batch_size=100, min_gain=0.01)
    assert out["epochs"] < 50  # PCA is already optimal for a linear rank-4 map: no epoch gains 1%
    assert out["relative_error"] <= out["start"] + 1e-6
    assert out["relative_error"] == pytest.approx(evaluate_identity(aam, x))
    with pytest.raises(ValueError, match="min_gain"):
        identity_pretrain(aam, x, min_gain=1.5)
    with pytest.raises(ValueError, match="needs an adapter with a bottleneck"):
        AAM(small()).init_bottleneck_pca(x)
