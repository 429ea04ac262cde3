"""The synthetic feature stores of the test suite (tests/synthetic_stores.py): valid stores, and the structure they
plant is there (checked with numpy only, so these tests do not depend on the heads or protocols)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from latentanon.contracts import Pooler
from latentanon.datasets.vispr import ATTRIBUTES
from latentanon.extract import PrecomputeConfig, build_recipe
from latentanon.stores import open_store
from tests.synthetic_stores import encoder_spec, tiny_encoder, write_action_store


def _video_means(store) -> np.ndarray:
    pooled, rows = store.pooled().astype(np.float64), store.clip_video_rows()
    return np.stack([pooled[rows == v].mean(0) for v in range(store.num_videos)])


def _nearest_centroid_accuracy(x, y, train, test) -> float:
    classes = np.unique(y[train])
    centroids = np.stack([x[train & (y == c)].mean(0) for c in classes])
    predicted = classes[np.argmin(((x[test][:, None] - centroids[None]) ** 2).sum(-1), axis=1)]
    return float((predicted == y[test]).mean())


@pytest.mark.parametrize("encoder", ["i3d-r50-tiny", "videomae-tiny"])
def test_an_action_store_is_what_precompute_would_write(feature_store, encoder):
    store = open_store(feature_store("action", encoder=encoder, static_clips=3))
    spec = encoder_spec(encoder)
    assert store.spec == spec and store.token_shape == (spec.tokens_per_clip, spec.feature_dim)
    assert store.recipe["encoder"] == spec.to_dict() and store.static_count == 3
    expected = build_recipe(spec, PrecomputeConfig(encoder=encoder, static_clips=3))
    assert {k: store.recipe[k] for k in ("encoder", "clip", "transform", "static", "compute_dtype", "anonymizer")} == {
        k: expected[k] for k in ("encoder", "clip", "transform", "static", "compute_dtype", "anonymizer")
    }
    info = store.info()
    assert info["dataset"] == {"name": "ucf101", "task": "action", "classes": [f"Action{k:02d}" for k in range(4)],
                               "attributes": list(ATTRIBUTES)}  # fmt: skip
    assert info["annotations"]["videos_with_attribute_labels"] == store.num_videos
    assert list(store.keys) == sorted(store.keys) and list(store.videos["index"]) == list(range(store.num_videos))
    assert set(store.videos["split"]) == {"train", "test"} and (store.videos["subject"] != "").all()
    # pooled is the encoder's pool(tokens), computed in fp32 before rounding
    arrays = store.load()
    with torch.no_grad():
        recomputed = tiny_encoder(encoder).pool(torch.from_numpy(arrays["clips/tokens"].astype(np.float32))).numpy()
    np.testing.assert_allclose(arrays["clips/pooled"].astype(np.float32), recomputed, atol=2e-2, rtol=1e-2)
    assert store.pooling == Pooler.from_encoder(tiny_encoder(encoder)).to_record()
    frames = arrays["static/frames"]
    assert frames.shape == (store.num_videos, 3) and (frames[:, 0] == 0).all()
    assert (frames[:, -1] == store.videos["frames"] - 1).all()


def test_another_encoder_and_an_empty_store(tmp_path):
    base = open_store(write_action_store(tmp_path / "a.zarr"))
    other = open_store(write_action_store(tmp_path / "b.zarr", weights_sha256="0" * 64))
    assert other.recipe["encoder"]["weights_sha256"] == "0" * 64 and other.recipe_hash != base.recipe_hash
    empty = open_store(write_action_store(tmp_path / "c.zarr", empty=True))
    assert empty.num_videos == empty.num_clips == 0 and empty.recipe_hash == base.recipe_hash


def test_actions_and_private_attributes_are_planted(action_store, privacy_store):
    store = open_store(action_store)
    x, labels, split = _video_means(store), store.videos["label"], store.videos["split"]
    assert _nearest_centroid_accuracy(x, labels, split == "train", split == "test") > 0.9
    # static clips carry the appearance but no action
    static = store.load()["static/pooled"].astype(np.float64).mean(1)  # (V, D)
    assert _nearest_centroid_accuracy(static, labels, split == "train", split == "test") < 0.6
    for path in (action_store, privacy_store):
        store = open_store(path)
        x, split = _video_means(store), store.videos["split"]
        y = np.array([store.meta(v)["labels"] for v in range(store.num_videos)])
        train, test = split == "train", split == "test"
        for k in range(len(ATTRIBUTES)):
            if len(np.unique(y[train, k])) == 2:  # a linear attacker finds every attribute
                probe = LogisticRegression(max_iter=1000).fit(x[train], y[train, k])
                assert probe.score(x[test], y[test, k]) > 0.9, (path, k)


def test_detection_anomaly_gait_and_bias_structure(tad_store, ad_store, gait_store, ntu_store, toyota_store):
    tad = open_store(tad_store)
    span = tad.spec.clip_length * tad.spec.frame_stride / tad.meta(0)["annotation_fps"]
    pooled, rows = tad.pooled().astype(np.float64), tad.clip_video_rows()
    inside, outside = [], []
    for v in range(tad.num_videos):
        clips = pooled[rows == v]
        mask = np.zeros(len(clips), bool)
        for _, start, end in tad.meta(v)["segments"]:
            mask[int(start // span) : int(np.ceil(end / span))] = True
        centre = clips[~mask].mean(0)
        inside += list(np.linalg.norm(clips[mask] - centre, axis=1))
        outside += list(np.linalg.norm(clips[~mask] - centre, axis=1))
    assert np.min(inside) > np.max(outside)  # the action stands out only inside its segments

    ad = open_store(ad_store)
    pooled, rows = ad.pooled().astype(np.float64), ad.clip_video_rows()
    clip = ad.spec.clip_length * ad.spec.frame_stride
    annotated = [v for v in range(ad.num_videos) if ad.meta(v).get("anomaly_frames")]
    assert annotated and all(ad.videos["label"][v] > 0 and ad.videos["split"][v] == "test" for v in annotated)
    for v in annotated:
        (start, end), clips = ad.meta(v)["anomaly_frames"][0], pooled[rows == v]
        mask = np.zeros(len(clips), bool)
        mask[start // clip : end // clip + 1] = True
        normal = clips[~mask].mean(0)
        assert np.linalg.norm(clips[mask] - normal, axis=1).min() > np.linalg.norm(clips[~mask] - normal, axis=1).max()

    gait = open_store(gait_store)
    x, split, subject = _video_means(gait), gait.videos["split"], gait.videos["subject"]
    assert all({"condition", "sequence", "view"} <= set(gait.meta(v)) for v in range(gait.num_videos))
    assert _nearest_centroid_accuracy(x, subject, split == "gallery", split == "probe") > 0.9

    for path in (ntu_store, toyota_store):
        store = open_store(path)
        gender, split = store.videos["gender"], store.videos["split"]
        for s in ("train", "test"):
            assert set(gender[split == s]) == {"M", "F"}
        female = np.array([store.meta(v)["labels"][ATTRIBUTES.index("a4_gender")] for v in range(store.num_videos)])
        assert ((gender == "F") == (female == 1)).all()
    toyota = open_store(toyota_store)
    women = [np.mean(toyota.videos["gender"][toyota.videos["label"] == k] == "F") for k in range(4)]
    assert max(women) - min(women) > 0.2  # naturally imbalanced: the share of women differs per action
