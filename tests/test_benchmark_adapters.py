"""The synthetic benchmark's suites through the real-format adapters and precompute --dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentanon.datasets import list_datasets, load_dataset
from latentanon.datasets.vispr import ATTRIBUTES
from latentanon.precompute import PrecomputeConfig, main
from latentanon.store import format_info
from latentanon.stores import open_store


@pytest.mark.parametrize("name", list_datasets())
def test_every_adapter_parses_the_generated_suite(synthetic_small, name):
    ds = load_dataset(name, str(synthetic_small / name))
    assert len(ds.records) >= 4
    for r in ds.records:
        assert (synthetic_small / name / (r.key + "." + r.path.rsplit(".", 1)[-1])).exists()
        assert len(r.labels) == 7 and set(r.labels) <= {0, 1}  # private attributes from synthetic_meta.json
    splits = {r.split for r in ds.records}
    if ds.task in ("action", "tad", "bias", "ad"):
        assert "train" in splits and splits & {"test", "val"}, splits  # Kinetics evaluates on val
    if ds.task in ("action", "bias", "ad"):  # untrimmed TAD videos carry segments instead of a label
        assert all(r.label is not None and 0 <= r.label < len(ds.classes) for r in ds.records)
    if ds.task == "privacy":
        assert ds.attributes == ATTRIBUTES and splits == {"train", "val", "test"}
        positives = np.sum([r.labels for r in ds.records], axis=0)
        assert (positives > 0).all() and (positives < len(ds.records)).all()
    if ds.task == "tad":
        segments = [s for r in ds.records for s in r.segments]
        assert segments and all(0 <= s < e for _, s, e in segments)
        assert {c for c, _, _ in segments} <= set(range(len(ds.classes)))
    if ds.task == "ad":
        test = [r for r in ds.records if r.split == "test"]
        anomalous = [r for r in test if r.anomaly_frames]
        assert anomalous and len(anomalous) < len(test)
        assert all(r.label == (1 if r.anomaly_frames else 0) for r in test if ds.classes == ("Normal", "Abnormal"))
    if ds.task == "gait":
        assert {"gallery", "probe"} <= splits
    if ds.task == "bias":
        assert {r.gender for r in ds.records} == {"M", "F"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ucf101", "vispr", "thumos14", "ucf_crime", "ntu60"])
def test_precompute_dataset_fills_the_store(synthetic_small, tmp_path, name):
    out = tmp_path / f"{name}.zarr"
    main(
        PrecomputeConfig(
            dataset=name,
            root=str(synthetic_small / name),
            out=str(out),
            encoder="videomae-tiny",
            static_clips=1,
            num_workers=2,
            batch_size=32,
            progress=False,
        )
    )
    store = open_store(str(out))
    ds = load_dataset(name, str(synthetic_small / name))
    assert store.num_videos == len(ds.records) and store.num_failures == 0
    info = store.info()
    assert info["dataset"]["name"] == name and info["dataset"]["classes"] == list(ds.classes)
    assert info["annotations"]["videos_with_attribute_labels"] == len(ds.records)
    text = format_info(info)
    assert f"dataset     {name}" in text and "annotations" in text
    by_key = {r.key: r for r in ds.records}
    for row, key in enumerate(store.keys):
        r = by_key[key]
        assert store.videos["label"][row] == (-1 if r.label is None else r.label)
        assert store.videos["split"][row] == (r.split or "")
        assert store.videos["gender"][row] == (r.gender or "")
        meta = json.loads(store.videos["meta"][row])
        assert meta.get("segments", []) == [[c, s, e] for c, s, e in r.segments]
        assert meta.get("anomaly_frames", []) == [list(x) for x in r.anomaly_frames]
    if name == "thumos14":
        assert info["annotations"]["segments"] > 0
    if name == "ucf_crime":
        assert info["annotations"]["videos_with_anomaly_frames"] > 0
    if name == "vispr":
        assert (store.videos["status"] == "padded").all() and store.num_clips == store.num_videos
    if name == "ntu60":
        assert set(info["genders"]) == {"M", "F"}
