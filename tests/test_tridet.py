import math

import numpy as np
import pytest
import torch

from latentanon.heads.tridet import (
    TriDet,
    TriDetConfig,
    assign_labels,
    collate,
    grid_to_seconds,
    make_points,
    random_crop,
    seconds_to_grid,
    soft_nms,
    tiny_config,
    trident_decode,
)
from latentanon.metrics import activitynet_map, tiou


def test_grid_seconds_conversion():
    # our clips: stride 16, window 16, 30 fps -> grid 10 is centred on frame 168 = 5.6 s
    assert grid_to_seconds(10, 30, 16, 16) == pytest.approx(5.6)
    assert seconds_to_grid(5.6, 30, 16, 16) == pytest.approx(10.0)
    assert seconds_to_grid(2.0, 30, 4, 16) == pytest.approx(13.0)  # THUMOS stride 4: (60 - 8) / 4
    np.testing.assert_allclose(grid_to_seconds([-1, 0, 10], 30, 16, 16, duration=3.0), [0.0, 8 / 30, 3.0])
    g = np.array([0.0, 3.25, 100.0])
    np.testing.assert_allclose(seconds_to_grid(grid_to_seconds(g, 25, 8, 16), 25, 8, 16), g)


def test_label_assignment_pinned():
    # levels of 8, 4, 2 points with strides 1, 2, 4; rows 0-7, 8-11 (t = 0, 2, 4, 6), 12-13 (t = 0, 4)
    points = make_points([8, 4, 2], ((0, 4), (4, 8), (8, math.inf)))
    assert points.shape == (14, 4)
    assert points[11].tolist() == [6.0, 4.0, 8.0, 2.0] and points[13].tolist() == [4.0, 8.0, math.inf, 4.0]
    segments = torch.tensor([[2.0, 5.0], [1.0, 13.0], [3.0, 5.0]])
    labels = torch.tensor([0, 2, 1])
    cls, reg = assign_labels(points, segments, labels, num_classes=3, radius=1.5)
    expected_cls = torch.zeros(14, 3)
    expected_reg = torch.zeros(14, 2)
    expected_cls[3, 0], expected_reg[3] = 1, torch.tensor([1.0, 2.0])  # t=3 only inside [2, 5]'s centre region
    expected_cls[4, 1], expected_reg[4] = 1, torch.tensor([1.0, 1.0])  # t=4: [3, 5] is shorter than [2, 5]
    expected_cls[11, 2], expected_reg[11] = 1, torch.tensor([2.5, 3.5])  # stride 2: (5, 7) / 2, reach 7 in [4, 8]
    expected_cls[13, 2], expected_reg[13] = 1, torch.tensor([0.75, 2.25])  # stride 4: (3, 9) / 4, reach 9 >= 8
    torch.testing.assert_close(cls, expected_cls)
    torch.testing.assert_close(reg, expected_reg)
    # equal lengths (within 1e-3) tie: both classes are positive at t=3
    cls, _ = assign_labels(points, torch.tensor([[2.0, 5.0], [2.0, 5.0005]]), torch.tensor([0, 1]), 3)
    assert cls[3].tolist() == [1.0, 1.0, 0.0]
    cls, reg = assign_labels(points, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), 3)
    assert cls.sum() == 0 and reg.shape == (14, 2)


def test_trident_decoding_pinned():
    # 2 bins (3 neighbours); start logits [ln2, 0, 0], end logits [0, 0, ln4], zero padding outside
    start = torch.tensor([math.log(2), 0.0, 0.0]).view(1, 3, 1)  # (B, T, C)
    end = torch.tensor([0.0, 0.0, math.log(4)]).view(1, 3, 1)
    reg = torch.zeros(1, 3, 2, 3)
    reg[0, 1, 1, 0] = math.log(3)  # point 1's right distance: centre-offset logit on bin 0
    out = trident_decode(reg, start, end)
    assert out.shape == (1, 3, 1, 2)
    # left t=0: softmax(0, 0, ln2) . (2, 1, 0) = 3/4; t=1: softmax(0, ln2, 0) -> 1; t=2: softmax(ln2, 0, 0) -> 5/4
    # right t=0: softmax(0, 0, ln4) . (0, 1, 2) = 3/2; t=1: softmax(ln3, ln4, 0) -> 3/4; t=2: softmax(ln4, 0, 0) -> 1/2
    torch.testing.assert_close(out[0, :, 0], torch.tensor([[0.75, 1.5], [1.0, 0.75], [1.25, 0.5]]))


def test_soft_nms_pinned():
    segments = np.array([[0, 10], [0, 5], [20, 30], [0, 10], [0, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.0015])
    labels = np.array([0, 0, 0, 1, 0])
    seg, sc, lab = soft_nms(segments, scores, labels, sigma=0.5, min_score=0.001)
    # [0, 5] has IoU 0.5 with [0, 10]: 0.8 * exp(-0.25 / 0.5); the 0.0015 copy decays by exp(-2) below 0.001
    np.testing.assert_allclose(sc, [0.9, 0.7, 0.6, 0.8 * math.exp(-0.5)])
    np.testing.assert_allclose(seg, [[0, 10], [20, 30], [0, 10], [0, 5]])
    assert lab.tolist() == [0, 0, 1, 0]
    seg, sc, lab = soft_nms(segments, scores, labels, max_num=2)
    assert sc.tolist() == [0.9, 0.7]
    assert soft_nms(np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=int))[0].shape == (0, 2)


def test_tiou():
    np.testing.assert_allclose(tiou([0, 10], [[5, 15], [0, 10], [20, 30], [2, 4]]), [[1 / 3, 1.0, 0.0, 0.2]])
    assert tiou([[1, 1]], [[1, 1]])[0, 0] == 0.0  # empty union


def test_activitynet_map_worked_example():
    gt = [
        ("v1", "a", 0.0, 10.0),
        ("v1", "a", 0.0005, 10.0004),  # duplicate of the first: counted once
        ("v1", "a", 20.0, 30.0),
        ("v2", "a", 5.0, 15.0),
        ("v1", "b", 40.0, 50.0),
        ("v2", "b", 0.0, 4.0),
    ]
    preds = [
        ("v1", "a", 0.0, 10.0, 0.9),  # TP
        ("v1", "a", 1.0, 10.0, 0.8),  # its gt is taken (a TP if the duplicate were kept): FP
        ("v2", "a", 5.0, 11.5, 0.7),  # tIoU 0.65: TP up to 0.6, FP at 0.7
        ("v1", "a", 22.0, 30.0, 0.6),  # tIoU 0.8: TP
        ("v2", "a", 100.0, 110.0, 0.5),  # FP
        ("v3", "b", 0.0, 1.0, 0.99),  # video without ground truth: FP
        ("v2", "b", 0.0, 4.0, 0.95),  # TP
        ("v1", "b", 44.0, 50.0, 0.85),  # tIoU 0.6: TP up to 0.6, FP at 0.7
        ("v1", "b", 40.0, 50.0, 0.3),  # FP up to 0.6 (gt taken), TP at 0.7
        ("v1", "c", 0.0, 10.0, 0.9),  # class without ground truth: skipped
    ]
    result = activitynet_map(preds, gt)
    # class a, 3 gt: up to 0.6 TP FP TP TP FP -> 1/3 * (1 + 3/4 + 3/4) = 5/6; at 0.7 TP FP FP TP FP -> 1/3 * (1 + 1/2)
    # class b, 2 gt: up to 0.6 FP TP TP FP -> 1/2 * (2/3 + 2/3) = 2/3; at 0.7 FP TP FP TP -> 1/2 * (1/2 + 1/2)
    np.testing.assert_allclose(result["per_class"]["a"], [5 / 6] * 4 + [0.5])
    np.testing.assert_allclose(result["per_class"]["b"], [2 / 3] * 4 + [0.5])
    assert set(result["per_class"]) == {"a", "b"}
    for thr in ("0.3", "0.4", "0.5", "0.6"):
        assert result[f"mAP@{thr}"] == pytest.approx(0.75)
    assert result["mAP@0.7"] == pytest.approx(0.5)
    assert result["average_mAP"] == pytest.approx(0.7)
    # a class with ground truth and no prediction scores 0
    assert activitynet_map([], [("v1", 0, 1.0, 2.0)])["average_mAP"] == 0.0


def test_activitynet_map_validates_inputs():
    with pytest.raises(ValueError, match="ground_truth is empty"):
        activitynet_map([("v", 0, 0.0, 1.0, 0.5)], [])
    with pytest.raises(ValueError, match=r"predictions\[0\] must be \(video_id, label, start, end, score\)"):
        activitynet_map([("v", 0, 0.0, 1.0)], [("v", 0, 0.0, 1.0)])
    with pytest.raises(ValueError, match=r"ground_truth\[0\] needs finite numbers and start <= end"):
        activitynet_map([], [("v", 0, 2.0, 1.0)])
    with pytest.raises(ValueError, match="thresholds"):
        activitynet_map([], [("v", 0, 0.0, 1.0)], thresholds=(0.0,))


def test_random_crop_keeps_half_a_segment():
    gen = torch.Generator().manual_seed(0)
    feats = torch.arange(100.0)[:, None]
    for _ in range(20):
        f, seg, lab = random_crop(feats, torch.tensor([[10.0, 30.0], [60.0, 64.0]]), torch.tensor([1, 2]), 50, gen)
        assert f.shape == (50, 1) and len(seg) >= 1 and len(seg) == len(lab)
        assert (seg >= 0).all() and (seg <= 50).all()
        f, _, _ = random_crop(feats[:40], torch.tensor([[10.0, 30.0]]), torch.tensor([0]), 50, gen)
        assert 36 <= f.shape[0] <= 40
    batch = collate([(feats[:3], torch.tensor([[0.0, 2.0]]), torch.tensor([1])), (feats[:5], torch.zeros(0, 2), [])], 8)
    assert batch["features"].shape == (2, 8, 1) and batch["mask"].sum(1).tolist() == [3, 5]
    assert batch["features"][0, 3:].abs().sum() == 0 and batch["labels"][1].dtype == torch.long


def test_default_config_levels_and_shapes():
    cfg = TriDetConfig()
    assert cfg.embed_dim == 512 and cfg.num_bins == 16 and len(cfg.regression_ranges) == 6
    with pytest.raises(ValueError, match="one range per FPN level"):
        TriDetConfig(branch_blocks=2)
    model = TriDet(cfg).eval()
    assert model.cls_head.out.bias.detach().allclose(torch.full((20,), -math.log(99)))
    with torch.no_grad():
        out = model(torch.randn(1, 60, 2048), torch.ones(1, 60, dtype=torch.bool))
    assert [c.shape[1] for c in out["cls"]] == [64, 32, 16, 8, 4, 2]  # padded to a multiple of 32
    assert out["offsets"][0].shape == (1, 64, 20, 2) and out["mask"][0][0, 59:61].tolist() == [True, False]


def _synthetic(num_videos: int = 4, length: int = 64, seed: int = 0):
    """Untrimmed sequences: noise background, class-specific mean vectors added inside segments."""
    gen = torch.Generator().manual_seed(seed)
    means = torch.randn(3, 16, generator=gen) * 2
    feats, masks, segments, labels = [], [], [], []
    for v in range(num_videos):
        real = length - 4 * v
        x = torch.randn(length, 16, generator=gen) * 0.5
        seg, lab, t0 = [], [], 3
        while True:
            n = int(torch.randint(4, 16, (1,), generator=gen))
            if t0 + n >= real - 2:
                break
            c = int(torch.randint(0, 3, (1,), generator=gen))
            x[t0 : t0 + n] += means[c]
            seg.append([t0 - 0.5, t0 + n - 0.5])  # clips t0..t0+n-1 cover their half-step neighbourhoods
            lab.append(c)
            t0 += n + int(torch.randint(3, 10, (1,), generator=gen))
        x[real:] = 0
        feats.append(x), masks.append(torch.arange(length) < real)
        segments.append(torch.tensor(seg)), labels.append(torch.tensor(lab))
    return {"features": torch.stack(feats), "mask": torch.stack(masks), "segments": segments, "labels": labels}


def test_every_parameter_receives_a_gradient():
    torch.manual_seed(0)
    model = TriDet(tiny_config())
    batch = _synthetic(2)
    batch["segments"][0] = torch.cat([batch["segments"][0], torch.tensor([[10.0, 50.0]])])  # reaches level 3
    batch["labels"][0] = torch.cat([batch["labels"][0], torch.tensor([1])])
    out = model.loss(batch)
    assert set(k for k in out if k.endswith("_loss")) == {"cls_loss", "reg_loss"}
    (out["cls_loss"] + out["reg_loss"]).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} has a zero gradient"
    assert 90.0 < float(model.loss_normalizer) < 100.0  # EMA from 100 towards the positive count


@pytest.mark.slow
def test_tiny_tridet_overfits_synthetic_videos():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # depthwise convs on tiny tensors are slower with thread contention
    try:
        torch.manual_seed(0)
        cfg = tiny_config()
        model = TriDet(cfg)
        batch = _synthetic(4)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for _ in range(100):
            out = model.loss(batch)
            opt.zero_grad()
            (out["cls_loss"] + out["reg_loss"]).backward()
            opt.step()
        model.eval()
        detections = model.predict(batch["features"], batch["mask"])
    finally:
        torch.set_num_threads(threads)
    to_s = dict(fps=cfg.fps, stride=cfg.feat_stride, num_frames=cfg.num_frames)
    gt = [
        (i, int(c), *grid_to_seconds(s.numpy(), **to_s))
        for i in range(4)
        for s, c in zip(batch["segments"][i], batch["labels"][i])
    ]
    preds = [(i, c, s, e, score) for i, video in enumerate(detections) for c, s, e, score in video]
    assert all(0 <= s <= e for _, _, s, e, _ in preds)
    result = activitynet_map(preds, gt)
    assert result["average_mAP"] > 0.9, result
