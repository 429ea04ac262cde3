import json

import numpy as np
import pytest

from latentanon.store import main as store_cli
from latentanon.stores import StoreWriter, VideoRows, open_store
from latentanon.stores.interop import export_npy, import_npy

T, D, S = 4, 8, 2
RECIPE = {
    "encoder": {"name": "fake", "weights": "/a/b.pth", "weights_sha256": "abc", "clip_length": 16, "frame_stride": 1},
    "clip": {"length": 16},
    "transform": {"resize_short": 72, "input_size": 64},
    "static": {"count": S, "seed": 0},
    "compute_dtype": "fp32",
    "anonymizer": None,
}

MEAN = {"type": "mean"}  # the pooling record of a store whose clip feature is the token mean


def rows(key, index, n, label, split, meta=None, seed=0):
    rng = np.random.default_rng(seed)
    return VideoRows(
        columns={
            "key": key,
            "index": index,
            "path": f"{key}.mp4",
            "label": label,
            "split": split,
            "subject": f"s{index}",
            "gender": "F" if index % 2 else "M",
            "frames": 16 * n + 5,
            "fps": 25.0,
            "status": "ok",
            "meta": meta or {},
        },
        tokens=rng.standard_normal((n, T, D)).astype(np.float16),
        pooled=rng.standard_normal((n, D)).astype(np.float16),
        static_tokens=rng.standard_normal((S, T, D)).astype(np.float16),
        static_pooled=rng.standard_normal((S, D)).astype(np.float16),
        static_frames=np.arange(S),
    )


def write(path, videos, dataset=None):
    with StoreWriter(
        str(path), RECIPE, (T, D), S, pooling=MEAN, extra_attrs={"dataset": dataset} if dataset else None
    ) as w:
        for v in videos:
            w.add_video(v)
    return open_store(str(path))


AD = {"name": "ad", "task": "ad", "classes": ["Normal", "Abnormal"], "attributes": []}
TAD = {"name": "tad", "task": "tad", "classes": ["Jump", "Run"], "attributes": []}


@pytest.fixture
def ad_store(tmp_path):
    videos = [
        rows("train/normal_1", 0, 3, 0, "train", seed=1),
        rows("train/abn_1", 1, 2, 1, "train", seed=2),
        rows("test/normal_2", 2, 2, 0, "test", seed=3),
        rows("test/abn_2", 3, 3, 1, "test", {"anomaly_frames": [[5, 20], [40, 100]]}, seed=4),
    ]
    return write(tmp_path / "ad.zarr", videos, AD)


@pytest.fixture
def tad_store(tmp_path):
    videos = [
        rows("v1", 0, 3, -1, "validation", {"segments": [[0, 0.5, 1.25], [1, 1.5, 1.9]]}, seed=5),
        rows("v2", 1, 2, -1, "test", {"segments": [[1, 0.1, 0.6]]}, seed=6),
    ]
    return write(tmp_path / "tad.zarr", videos, TAD)


def test_export_ad_layout_loads_with_numpy(ad_store, tmp_path):
    out = tmp_path / "exp"
    manifest = export_npy(ad_store, out)
    for key in ad_store.keys:
        a = np.load(out / "features" / f"{key}.npy")
        assert a.dtype == np.float32 and a.shape == (int(ad_store.video(key).pooled.shape[0]), D)
        np.testing.assert_array_equal(a, ad_store.video(key).pooled.astype(np.float32))
    train = (out / "list" / "train.list").read_text().splitlines()
    assert [p.split("/features/")[1] for p in train] == ["train/abn_1.npy", "train/normal_1.npy"]  # normal last
    assert all(np.load(p).shape[1] == D for p in train)
    assert manifest["lists"]["train"] == {"file": "list/train.list", "videos": 2, "abnormal": 1, "normal": 1}
    test = (out / "list" / "test.list").read_text().splitlines()
    assert [p.split("/features/")[1] for p in test] == ["test/abn_2.npy", "test/normal_2.npy"]
    gt = np.load(out / "gt" / "test.npy")
    assert gt.shape == ((3 + 2) * 16,) and manifest["lists"]["test"]["gt_frames"] == 80
    expect = np.zeros(80, dtype=np.float32)
    expect[5:21] = 1
    expect[40:48] = 1  # the second event is cut at the last full clip (3 * 16 frames)
    np.testing.assert_array_equal(gt, expect)
    assert not (out / "gt" / "train.npy").exists() and not (out / "annotations.json").exists()
    header, *lines = (out / "videos.csv").read_text().splitlines()
    assert header == "key,label,split,subject,gender,clips,anomaly_frames"
    assert lines[3] == "test/abn_2,1,test,s3,F,3,5-20 40-100"


def test_export_tokens(ad_store, tmp_path):
    export_npy(ad_store, tmp_path / "exp", pooled=False)
    a = np.load(tmp_path / "exp" / "features" / "train" / "abn_1.npy")
    assert a.shape == (2, T, D) and a.dtype == np.float32
    with pytest.raises(ValueError, match="not empty"):
        export_npy(ad_store, tmp_path / "exp")


def test_roundtrip_ad_via_cli(ad_store, tmp_path, capsys):
    out = tmp_path / "exp"
    assert store_cli(["export", ad_store.path, "--format", "npy", str(out)]) == 0
    new = str(tmp_path / "back.zarr")
    assert store_cli(["import", str(out), "--out", new, "--labels", str(out / "videos.csv")]) == 0
    assert "videos      4" in capsys.readouterr().out
    back = open_store(new)
    assert back.keys == ad_store.keys  # the CSV's order
    assert back.token_shape == (1, D) and back.static_count == 0
    for col in ("label", "split", "subject", "gender", "clip_count"):
        assert back.videos[col].tolist() == ad_store.videos[col].tolist(), col
    np.testing.assert_array_equal(back.pooled(), ad_store.pooled())  # float16 -> float32 -> float16 is exact
    np.testing.assert_array_equal(back.tokens()[:, 0], back.pooled())
    assert back.meta("test/abn_2")["anomaly_frames"] == [[5, 20], [40, 100]]
    spec = back.spec
    assert (spec.name, spec.feature_dim, spec.tokens_per_clip) == ("imported", D, 1)
    assert back.recipe["anonymizer"] is None and back.recipe["imported_from"]["files"] == 4
    # exporting the imported store gives the same lists and ground truth
    export_npy(back, tmp_path / "exp2")
    np.testing.assert_array_equal(np.load(tmp_path / "exp2/gt/test.npy"), np.load(out / "gt/test.npy"))


def test_roundtrip_tad_annotations(tad_store, tmp_path):
    out = tmp_path / "exp"
    export_npy(tad_store, out)
    db = json.loads((out / "annotations.json").read_text())["database"]
    assert db["v1"]["subset"] == "validation" and db["v1"]["fps"] == 25.0
    assert db["v1"]["duration"] == pytest.approx((16 * 3 + 5) / 25.0)
    assert db["v1"]["annotations"][1] == {"label": "Run", "segment": [1.5, 1.9], "label_id": 1}
    assert not (out / "gt").exists()
    back = import_npy(out, str(tmp_path / "back.zarr"), annotations=out / "annotations.json")
    assert back.videos["split"].tolist() == ["validation", "test"]  # no label CSV: split from the subsets
    assert back.meta("v1")["segments"] == [[0, 0.5, 1.25], [1, 1.5, 1.9]]
    assert back.meta("v2")["segments"] == [[1, 0.1, 0.6]]
    assert back.videos["frames"].tolist() == [16 * 3 + 5, 16 * 2 + 5] and back.videos["fps"].tolist() == [25.0] * 2
    assert back.info()["dataset"]["classes"] == ["Jump", "Run"]
    np.testing.assert_array_equal(back.video("v1").pooled, tad_store.video("v1").pooled)


def test_import_tokens_and_plain_folder(tmp_path):
    folder = tmp_path / "feats"
    (folder / "a").mkdir(parents=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, D)).astype(np.float32)
    np.save(folder / "a" / "x.npy", x)
    np.save(folder / "y.npy", rng.standard_normal((2, 3, D)).astype(np.float32))
    csv = tmp_path / "labels.csv"
    csv.write_text("y,Run,train\na/x,Jump,test,subj,M\n")  # headerless, class names
    store = import_npy(folder, str(tmp_path / "s.zarr"), labels=csv)
    assert store.keys == ["y", "a/x"] and store.token_shape == (3, D)
    assert store.videos["label"].tolist() == [1, 0] and store.info()["dataset"]["classes"] == ["Jump", "Run"]
    v = store.video("a/x")
    np.testing.assert_array_equal(v.tokens, x.astype(np.float16))
    np.testing.assert_allclose(v.pooled, x.mean(axis=1), atol=2e-3)


def test_import_errors(tmp_path, capsys):
    folder = tmp_path / "feats"
    folder.mkdir()
    np.save(folder / "a.npy", np.zeros((3, D), np.float32))
    np.save(folder / "b.npy", np.zeros((3, D + 1), np.float32))
    assert store_cli(["import", str(folder), "--out", str(tmp_path / "s1")]) == 2
    err = capsys.readouterr().err
    assert "feature dims differ" in err and "b.npy" in err and "a.npy" in err

    np.save(folder / "b.npy", np.zeros((4, D), np.float32))
    csv = tmp_path / "labels.csv"
    csv.write_text("key,label,split\na,1,train\nzzz,0,test\n")
    assert store_cli(["import", str(folder), "--out", str(tmp_path / "s2"), "--labels", str(csv)]) == 2
    assert f"{csv}:3: key 'zzz' has no feature file" in capsys.readouterr().err

    csv.write_text("key,label,split,clips\na,1,train,7\n")
    with pytest.raises(ValueError, match=r"labels.csv:2: 'a' lists 7 clips but its features have 3"):
        import_npy(folder, str(tmp_path / "s3"), labels=csv)
    with pytest.raises(FileNotFoundError, match="label file .* does not exist"):
        import_npy(folder, str(tmp_path / "s4"), labels=tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        import_npy(tmp_path / "nothing", str(tmp_path / "s5"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .npy feature files"):
        import_npy(tmp_path / "empty", str(tmp_path / "s6"))
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"database": {"c": {"subset": "test", "annotations": []}}}))
    with pytest.raises(KeyError, match="video 'c' has no feature file"):
        import_npy(folder, str(tmp_path / "s7"), annotations=ann)
    store = import_npy(folder, str(tmp_path / "s8"))
    assert store.keys == ["a", "b"] and store.videos["label"].tolist() == [-1, -1]
    with pytest.raises(ValueError, match="already exists"):
        import_npy(folder, str(tmp_path / "s8"))
