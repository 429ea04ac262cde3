"""MGFN head: input pooling, loss terms against hand calculations, gradients, overfitting, frame metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentanon.heads.mgfn import (
    MGFN,
    MGFNConfig,
    eval_input,
    frame_scores,
    loss_terms,
    segment_pool,
    tiny_config,
    train_input,
)
from latentanon.metrics import frame_average_precision, frame_pr_auc_trapezoid, frame_roc_auc


@pytest.fixture
def one_thread():
    """The suite shares two cores; a tiny model trains fastest on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- inputs


def test_segment_pool_matches_released_loop():
    rng = np.random.default_rng(0)
    for t in (1, 5, 31, 32, 33, 64, 100):
        x = rng.normal(size=(t, 3)).astype(np.float32)
        r = np.linspace(0, t, 33).astype(int)
        want = np.stack([x[r[i] : r[i + 1]].mean(0) if r[i] != r[i + 1] else x[r[i]] for i in range(32)])
        np.testing.assert_allclose(segment_pool(x).numpy(), want, rtol=1e-6, atol=1e-6)


def test_segment_pool_edge_cases():
    x = torch.arange(10.0).reshape(5, 2)  # T=5 < 32: most segments are empty and copy the clip at their start
    pooled = segment_pool(x)
    assert pooled.shape == (32, 2)
    assert torch.equal(pooled[0], x[0]) and torch.equal(pooled[-1], x[4])  # bounds 0,0,..,4,5: last holds clip 4
    assert torch.equal(segment_pool(torch.ones(1, 4)), torch.ones(32, 4))  # T=1: every segment is the one clip
    y = torch.randn(32, 3)
    assert torch.equal(segment_pool(y), y)  # T=32: identity
    z = torch.randn(64, 3)
    torch.testing.assert_close(segment_pool(z), z.reshape(32, 2, 3).mean(1))  # T=64: pairs
    with pytest.raises(ValueError, match="non-empty"):
        segment_pool(np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="floating point"):
        segment_pool(np.zeros((4, 3), np.int64))


def test_norm_channel_train_and_eval():
    x = torch.randn(40, 5)
    tr, ev = train_input(x), eval_input(x)
    assert tr.shape == (32, 6) and ev.shape == (40, 6)
    torch.testing.assert_close(tr[:, -1], segment_pool(x).norm(dim=1))  # norm of the pooled segment
    torch.testing.assert_close(ev[:, -1], x.norm(dim=1))  # norm of each clip


# ---------------------------------------------------------------- loss against hand calculations


def _fixed_batch():
    """B=2 normal + 2 abnormal videos, S=6 segments, D=3: scores, embeddings and a keep mask."""
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(4, 6, generator=g, dtype=torch.float64)
    emb = torch.randn(4, 6, 3, generator=g, dtype=torch.float64) * 5
    keep = torch.ones(4, 6, dtype=torch.float64)
    keep[0, emb[0].norm(dim=1).argmax()] = 0  # drop the largest magnitude of video 0
    keep[3, :2] = 0
    return scores, emb, keep


def _hand_terms(scores, emb, keep, k, regularizers):
    s, e, m = scores.numpy(), emb.numpy(), keep.numpy()
    n = len(s) // 2
    video, l1 = [], []
    for i in range(len(s)):
        mag = np.sqrt((e[i] ** 2).sum(1)) * m[i]
        idx = np.argsort(-mag, kind="stable")[:k]
        video.append(s[i, idx].mean())
        l1.append(np.abs(e[i, idx]).sum(1))
    video, l1 = np.array(video), np.array(l1)
    y = np.r_[np.zeros(n), np.ones(n)]
    bce = -np.mean(y * np.log(video) + (1 - y) * np.log(1 - video))

    def dist(a, b):
        return np.sqrt(((a - b + 1e-6) ** 2).sum(1))

    con = np.mean(np.clip(200 - dist(l1[n:], l1[:n]), 0, None) ** 2)
    con_n = np.mean(dist(l1[1:2], l1[0:1]) ** 2)  # B=2: video 1 against video 0
    con_a = np.mean(dist(l1[3:4], l1[2:3]) ** 2)
    if regularizers == "original":
        flat = s[n:].reshape(-1)
        sparsity, smooth = np.sqrt((flat**2).sum()), ((flat[1:] - flat[:-1]) ** 2).sum()
    else:
        sparsity = np.sqrt((s[:n] ** 2).sum())
        smooth = sum(((row[1:] - row[:-1]) ** 2).sum() for row in s)
    return {
        "bce_loss": bce,
        "contrastive_loss": 0.001 * (0.001 * con + con_a + con_n),
        "sparsity_loss": 8e-3 * sparsity,
        "smoothness_loss": 8e-4 * smooth,
    }


PINNED = {  # float64, torch.Generator seed 0 in _fixed_batch
    "original": {
        "bce_loss": 0.8796401464839236,
        "contrastive_loss": 0.12039177709405952,
        "sparsity_loss": 0.01384355473227462,
        "smoothness_loss": 0.001120255147654432,
    },
    "community": {
        "bce_loss": 0.8796401464839236,
        "contrastive_loss": 0.12039177709405952,
        "sparsity_loss": 0.01669558804836316,
        "smoothness_loss": 0.0015214402435028418,
    },
}


@pytest.mark.parametrize("regularizers", ["original", "community"])
def test_loss_terms_match_hand_calculation(regularizers):
    scores, emb, keep = _fixed_batch()
    cfg = MGFNConfig(k=2, regularizers=regularizers)
    got = loss_terms(scores, emb, keep, cfg)
    want = _hand_terms(scores, emb, keep, 2, regularizers)
    for key, value in want.items():
        assert got[key].item() == pytest.approx(value, rel=1e-9), key
        assert got[key].item() == pytest.approx(PINNED[regularizers][key], rel=1e-6), key


def test_regularizer_variants_differ_only_in_sparsity_and_smoothness():
    scores, emb, keep = _fixed_batch()
    a = loss_terms(scores, emb, keep, MGFNConfig(k=2, regularizers="original"))
    b = loss_terms(scores, emb, keep, MGFNConfig(k=2, regularizers="community"))
    for key in ("bce_loss", "contrastive_loss"):
        assert a[key].item() == b[key].item()
    for key in ("sparsity_loss", "smoothness_loss"):
        assert a[key].item() != pytest.approx(b[key].item())
    with pytest.raises(ValueError, match="regularizers"):
        MGFNConfig(regularizers="rtfm")


def test_dropout_mask_changes_selection():
    scores, emb, _ = _fixed_batch()
    cfg = MGFNConfig(k=2)
    full = loss_terms(scores, emb, torch.ones(4, 6, dtype=torch.float64), cfg)
    masked = loss_terms(scores, emb, _fixed_batch()[2], cfg)
    assert not torch.equal(full["video_scores"], masked["video_scores"])
    assert torch.equal(full["video_scores"][1:3], masked["video_scores"][1:3])  # videos 1 and 2 are unmasked


# ---------------------------------------------------------------- model


def _batch(cfg, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * b, cfg.num_segments, cfg.in_dim, generator=g)
    x = torch.cat([x, x.norm(dim=-1, keepdim=True)], dim=-1)  # (2B, S, C+1)
    return {"normal": x[:b], "abnormal": x[b:]}


def test_every_parameter_receives_a_gradient():
    torch.manual_seed(0)
    cfg = tiny_config()
    assert cfg.block_types == ("glance", "focus", "focus")
    model = MGFN(cfg).train()
    out = model.loss(_batch(cfg))
    assert set(k for k in out if k.endswith("_loss")) == {
        "bce_loss",
        "contrastive_loss",
        "sparsity_loss",
        "smoothness_loss",
    }
    sum(v for k, v in out.items() if k.endswith("_loss")).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_forward_shapes_predict_and_validation():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = MGFN(cfg).train()
    emb, scores = model(torch.randn(3, 50, cfg.in_dim + 1))
    assert emb.shape == (3, 50, cfg.dims[-1]) and scores.shape == (3, 50)
    clip = model.predict(np.random.default_rng(0).normal(size=(7, cfg.in_dim)).astype(np.float32))
    assert clip.shape == (7,) and ((clip > 0) & (clip < 1)).all()
    assert model.training  # predict restores the mode
    with pytest.raises(ValueError, match="channels"):
        model.predict(torch.randn(7, cfg.in_dim + 2))
    with pytest.raises(ValueError, match=r"batch\['abnormal'\]"):
        model.loss({"normal": torch.randn(2, 32, cfg.in_dim + 1), "abnormal": torch.randn(2, 16, cfg.in_dim + 1)})
    with pytest.raises(ValueError, match="equal B"):
        model.loss({"normal": torch.randn(2, 32, cfg.in_dim + 1), "abnormal": torch.randn(3, 32, cfg.in_dim + 1)})
    with pytest.raises(ValueError, match="head_dim"):
        MGFNConfig(dims=(64, 100, 1024))


def test_default_config_matches_spec():
    cfg = MGFNConfig()
    assert (cfg.dims, cfg.depths, cfg.block_types, cfg.head_dim) == (
        (64, 128, 1024),
        (3, 3, 2),
        ("glance", "focus", "focus"),
        64,
    )
    assert (cfg.select_dropout, cfg.k, cfg.margin, cfg.regularizers) == (0.7, 3, 200.0, "original")


def test_frame_scores_repeat_and_length_check():
    frames = frame_scores([np.array([0.1, 0.9]), np.array([0.5])], np.zeros(48))
    np.testing.assert_array_equal(frames, np.r_[np.full(16, 0.1), np.full(16, 0.9), np.full(16, 0.5)])
    with pytest.raises(ValueError, match="47 frames but 2 videos give 48"):
        frame_scores([np.array([0.1, 0.9]), np.array([0.5])], np.zeros(47))
    with pytest.raises(ValueError, match=r"clip_scores\[0\] must be 1-D"):
        frame_scores([np.zeros((2, 1))], np.zeros(32))


def _synthetic_videos(rng, n_per_class=4, c=12, shift=2.0):
    """Noise clip features; abnormal videos hold one event whose clips are shifted by ``shift``."""
    videos = []
    for abnormal in [False] * n_per_class + [True] * n_per_class:
        t = int(rng.integers(40, 80))
        x = rng.normal(size=(t, c)).astype(np.float32)
        labels = np.zeros(t, np.int64)
        if abnormal:
            length = int(rng.integers(t // 5, t // 3))
            start = int(rng.integers(0, t - length))
            x[start : start + length] += shift
            labels[start : start + length] = 1
        videos.append((x, labels))
    return videos


def test_tiny_mgfn_overfits_synthetic_anomalies(one_thread):
    """Weak (video) labels only; the frame AUC on the same videos must become near perfect.

    Local mixers only: with 4 + 4 videos a glance stage can fit the video labels from global context alone
    (magnitudes after the output layer norm start equal, so the top-k is random at first), which is no test of
    localisation; the glance block is covered by the gradient test.
    """
    torch.manual_seed(0)
    videos = _synthetic_videos(np.random.default_rng(0))
    cfg = tiny_config(block_types=("focus", "focus", "focus"))
    model = MGFN(cfg)
    batch = {
        "normal": torch.stack([train_input(x) for x, _ in videos[:4]]),
        "abnormal": torch.stack([train_input(x) for x, _ in videos[4:]]),
    }
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=5e-4)
    model.train()
    for _ in range(300):
        out = model.loss(batch)
        loss = sum(v for k, v in out.items() if k.endswith("_loss"))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    labels = np.concatenate([np.repeat(y, 16) for _, y in videos])
    scores = frame_scores([model.predict(x).numpy() for x, _ in videos], labels)
    auc = frame_roc_auc(scores, labels)
    print(f"overfit frame AUC {auc:.4f}")
    assert auc > 0.95


# ---------------------------------------------------------------- metrics


def test_frame_metrics_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for trial in range(5):
        labels = (rng.random(500) < 0.2).astype(int)
        scores = rng.random(500) + 0.5 * labels
        if trial % 2:
            scores = np.round(scores, 1)  # many ties
        precision, recall, _ = metrics.precision_recall_curve(labels, scores)
        assert frame_roc_auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
        assert frame_pr_auc_trapezoid(scores, labels) == pytest.approx(metrics.auc(recall, precision), abs=1e-12)
        assert frame_average_precision(scores, labels) == pytest.approx(
            metrics.average_precision_score(labels, scores), abs=1e-12
        )


def test_frame_metrics_validate_inputs():
    for fn in (frame_roc_auc, frame_pr_auc_trapezoid, frame_average_precision):
        with pytest.raises(ValueError, match="same length"):
            fn([0.1, 0.2], [0, 1, 1])
        with pytest.raises(ValueError, match="both classes"):
            fn([0.1, 0.2], [1, 1])
        with pytest.raises(ValueError, match="0/1"):
            fn([0.1, 0.2], [0, 2])
        with pytest.raises(ValueError, match="NaN"):
            fn([np.nan, 0.2], [0, 1])
        with pytest.raises(ValueError, match="1-D"):
            fn([[0.1, 0.2]], [[0, 1]])
    assert frame_roc_auc([0.1, 0.9], [0, 1]) == 1.0
    assert frame_pr_auc_trapezoid([0.9, 0.1], [0, 1]) == pytest.approx(0.25)  # (0,1) (0,0) (1,0.5)
