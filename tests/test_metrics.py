import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from latentanon.metrics import average_precision, cmap, five_clip_indices, video_top1


def test_average_precision_hand_computed():
    # ranking: P N P N -> precision at the positives 1/1 and 2/3
    assert average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([0.5, 0.5, 0.5], [1, 0, 0]) == pytest.approx(1 / 3)  # one tied threshold


def test_average_precision_agrees_with_sklearn_including_ties():
    rng = np.random.default_rng(0)
    for i in range(100):
        n = int(rng.integers(2, 50))
        y = rng.integers(0, 2, n)
        y[0] = 1
        s = rng.integers(0, 4, n).astype(float) if i % 2 else rng.standard_normal(n)
        assert average_precision(s, y) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_cmap_is_the_mean_of_per_attribute_ap():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (60, 7))
    s = rng.standard_normal((60, 7)) + y
    value, per = cmap(s, y)
    assert per.shape == (7,) and value == pytest.approx(per.mean())
    assert per[3] == pytest.approx(average_precision_score(y[:, 3], s[:, 3]))
    with pytest.raises(ValueError, match=r"attributes \[1\] have no positive"):
        cmap(np.zeros((3, 2)), np.array([[1, 0], [0, 0], [1, 0]]))
    with pytest.raises(ValueError, match="same shape"):
        cmap(np.zeros((3, 2)), np.zeros((3, 3)))


def test_five_clip_protocol():
    assert five_clip_indices(9).tolist() == [0, 2, 4, 6, 8]
    assert five_clip_indices(2).tolist() == [0, 0, 0, 1, 1]
    with pytest.raises(ValueError):
        five_clip_indices(0)
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    # video 0: mean (0.55, 0.45) -> class 0 (right); video 1: mean (0.45, 0.55) -> class 1 (wrong)
    assert video_top1(probs, [0, 0, 1, 1], [0, 0]) == 0.5
    with pytest.raises(ValueError, match="have no clip"):
        video_top1(probs, [0, 0, 0, 0], [0, 1])
