import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from latentanon.store import main as store_cli
from latentanon.stores import (
    StoreLockedError,
    StoreWriter,
    VideoRows,
    merge_stores,
    open_store,
    recipe_differences,
    recipe_hash,
)

T, D, S = 4, 8, 3
RECIPE = {
    "encoder": {"name": "fake", "weights": "/a/b.pth", "weights_sha256": "abc", "clip_length": 16},
    "clip": {"length": 16},
    "transform": {"resize_short": 72, "input_size": 64},
    "static": {"count": S, "seed": 0},
    "compute_dtype": "fp32",
    "anonymizer": None,
    "library_version": "0.1.0",
}

MEAN = {"type": "mean"}  # the pooling record of a store whose clip feature is the token mean


def rows(key, index, n, seed=0, label=-1):
    rng = np.random.default_rng(seed)
    return VideoRows(
        columns={
            "key": key,
            "index": index,
            "path": f"{key}.mp4",
            "label": label,
            "split": "train",
            "frames": 16 * n,
            "fps": 25.0,
            "status": "ok",
            "meta": {"note": key},
        },
        tokens=rng.standard_normal((n, T, D)).astype(np.float16),
        pooled=rng.standard_normal((n, D)).astype(np.float16),
        static_tokens=rng.standard_normal((S, T, D)).astype(np.float16),
        static_pooled=rng.standard_normal((S, D)).astype(np.float16),
        static_frames=np.arange(S),
    )


def write(path, videos, failures=(), **kw):
    with StoreWriter(str(path), RECIPE, (T, D), S, pooling=MEAN, **kw) as w:
        for v in videos:
            w.add_video(v)
        for f in failures:
            w.add_failure(*f)


def test_roundtrip_csr_and_tables(tmp_path):
    vids = [rows("a", 0, 2, 1, label=3), rows("b", 1, 5, 2), rows("c", 3, 1, 3)]
    write(tmp_path / "s", vids, failures=[("bad", 2, "bad.mp4", "cannot open video")])
    store = open_store(str(tmp_path / "s"))
    assert (store.num_videos, store.num_clips, store.num_failures) == (3, 8, 1)
    assert store.videos["clip_offset"].tolist() == [0, 2, 7]
    assert store.keys == ["a", "b", "c"] and store.videos["label"].tolist() == [3, -1, -1]
    for v in vids:
        got = store.video(v.columns["key"])
        np.testing.assert_array_equal(got.tokens, v.tokens)
        np.testing.assert_array_equal(got.pooled, v.pooled)
        np.testing.assert_array_equal(got.static_tokens, v.static_tokens)
    assert store.meta("b") == {"note": "b"}
    np.testing.assert_array_equal(store.clip_video_rows(), [0, 0, 1, 1, 1, 1, 1, 2])
    loaded = store.load()
    assert loaded["clips/tokens"].shape == (8, T, D) and loaded["static/pooled"].shape == (3, S, D)
    info = store.info()
    assert info["failures"] == [{"key": "bad", "path": "bad.mp4", "reason": "cannot open video"}]
    assert info["videos"] == 3 and info["clips"] == 8 and info["classes"] == 1 and info["bytes"] > 0
    with pytest.raises(KeyError, match="'zzz' is not in store"):
        store.video("zzz")


def test_uncommitted_rows_are_invisible_and_dropped(tmp_path):
    path = str(tmp_path / "s")
    write(path, [rows("a", 0, 2)])
    w = StoreWriter(path, RECIPE, (T, D), S, pooling=MEAN)
    # simulate a crash mid-flush: rows are written, the commit attribute is not
    w._append(w.group["clips/tokens"], 2, np.ones((3, T, D), np.float16))
    w._append(w.group["videos/key"], 1, np.array(["ghost"], dtype=np.dtypes.StringDType()))
    w._release_lock()
    assert zarr.open_group(path, mode="r")["clips/tokens"].shape[0] == 5
    store = open_store(path)
    assert store.num_clips == 2 and store.keys == ["a"] and store.tokens().shape == (2, T, D)
    write(path, [rows("b", 1, 1)])  # a new writer truncates the leftovers, then appends
    assert zarr.open_group(path, mode="r")["clips/tokens"].shape[0] == 3
    assert open_store(path).keys == ["a", "b"]


def test_recipe_mismatch_is_refused_naming_the_difference(tmp_path):
    path = str(tmp_path / "s")
    write(path, [rows("a", 0, 1)])
    other = json.loads(json.dumps(RECIPE))
    other["encoder"]["weights_sha256"] = "def"
    other["transform"]["input_size"] = 112
    with pytest.raises(ValueError) as err:
        StoreWriter(path, other, (T, D), S, pooling=MEAN)
    assert "encoder.weights_sha256: store has 'abc', this run has 'def'" in str(err.value)
    assert "transform.input_size" in str(err.value)
    moved = json.loads(json.dumps(RECIPE))  # only provenance differs: accepted
    moved["encoder"]["weights"] = "/elsewhere/b.pth"
    moved["library_version"] = "9.9"
    assert recipe_hash(moved) == recipe_hash(RECIPE) and not recipe_differences(RECIPE, moved)
    StoreWriter(path, moved, (T, D), S, pooling=MEAN).close()
    with pytest.raises(ValueError, match="holds tokens"):
        StoreWriter(path, RECIPE, (T, 2 * D), S, pooling=MEAN)


def test_second_writer_is_locked_out(tmp_path):
    path = str(tmp_path / "s")
    with StoreWriter(path, RECIPE, (T, D), S, pooling=MEAN):
        with pytest.raises(StoreLockedError, match="another process is writing"):
            StoreWriter(path, RECIPE, (T, D), S, pooling=MEAN)
    StoreWriter(path, RECIPE, (T, D), S, pooling=MEAN).close()  # released on close


def test_refuses_foreign_folders(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "data.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a latentanon store"):
        StoreWriter(str(tmp_path / "x"), RECIPE, (T, D), S, pooling=MEAN)
    zarr.open_group(str(tmp_path / "z"), mode="w")
    with pytest.raises(ValueError, match="not a latentanon store"):
        StoreWriter(str(tmp_path / "z"), RECIPE, (T, D), S, pooling=MEAN)
    with pytest.raises(FileNotFoundError, match="no feature store"):
        open_store(str(tmp_path / "nothing"))


def test_chunk_shuffled_sampler_covers_every_row_once(tmp_path):
    path = str(tmp_path / "s")
    write(path, [rows(f"v{i}", i, 7 + i, i) for i in range(20)])
    store = open_store(path)
    store.group["clips/tokens"]  # noqa: B018
    sampler = store.sampler(batch_size=16, window=2, seed=1)
    seen, batches = [], 0
    all_tokens = store.tokens()
    for rows_, vals in sampler:
        assert len(rows_) <= 16
        np.testing.assert_array_equal(vals, all_tokens[rows_])
        seen.extend(rows_.tolist())
        batches += 1
    assert sorted(seen) == list(range(store.num_clips)) and batches == len(sampler)
    again = [r.tolist() for r, _ in store.sampler(batch_size=16, window=2, seed=1)]
    assert sum(again, []) == seen  # seeded
    assert sum((r.tolist() for r, _ in store.sampler(16, window=2, seed=2)), []) != seen
    with pytest.raises(ValueError, match="batch_size"):
        store.sampler(0)


def test_merge_orders_by_input_index(tmp_path):
    vids = [rows(f"v{i}", i, 1 + i % 3, i) for i in range(7)]
    fails = [("f4", 7, "f4.mp4", "broken"), ("f8", 8, "f8.mp4", "empty")]
    write(tmp_path / "single", vids, failures=fails)
    write(tmp_path / "p0", vids[0::2], failures=[fails[1]])
    write(tmp_path / "p1", vids[1::2], failures=[fails[0]])
    merged = merge_stores([str(tmp_path / "p1"), str(tmp_path / "p0")], str(tmp_path / "m"), progress=False)
    single = open_store(str(tmp_path / "single"))
    a, b = single.load(), merged.load()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with pytest.raises(ValueError, match="already exists"):
        merge_stores([str(tmp_path / "p0")], str(tmp_path / "m"))
    with pytest.raises(ValueError, match="in both"):
        merge_stores([str(tmp_path / "p0"), str(tmp_path / "single")], str(tmp_path / "m2"))


def test_store_info_cli(tmp_path, capsys):
    write(tmp_path / "s", [rows("a", 0, 2)], failures=[("bad", 1, "bad.mp4", "no video stream in file")])
    assert store_cli(["info", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "videos      1" in out and "bad  (bad.mp4): no video stream in file" in out
    assert store_cli(["info", str(tmp_path / "s"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["clips"] == 2 and info["encoder"] == "fake"
    assert store_cli(["info", str(tmp_path / "missing")]) == 2


# ------------------------------------------------------------------------------------------ format versions

OLD_STORE = Path(__file__).parent / "fixtures" / "stores" / "v1_videomae_tiny.zarr"  # written by format-1 code


def test_a_new_store_needs_the_encoders_pooling_record(tmp_path):
    with pytest.raises(ValueError, match="pooling record"):
        StoreWriter(str(tmp_path / "p"), RECIPE, (T, D), S)


def test_a_format_1_store_opens_evaluates_as_before_and_upgrades_in_place(tmp_path):
    import json
    import shutil

    import torch

    from latentanon.features import StoreFormatWarning, store_pooler, upgrade_store
    from latentanon.protocols import HeadSettings, run_ar
    from latentanon.stores.__main__ import main as store_cli

    old = open_store(str(OLD_STORE))
    assert old.format == 1 and old.pooling is None and old.num_videos == 18
    # the figures the format-1 code computed on this store (tests/fixtures/stores/v1_videomae_tiny.ar.json)
    before = json.loads((OLD_STORE.parent / "v1_videomae_tiny.ar.json").read_text())
    result = run_ar(old, HeadSettings(), seed=0, progress=False)
    for key in ("test_top1", "val_top1", "best_epoch"):
        assert result.metrics[key] == pytest.approx(before[key], abs=1e-9), key
    with pytest.warns(StoreFormatWarning, match="upgrade"):
        rebuilt = store_pooler(old)  # no record: the encoder is rebuilt from the recipe (random seeded weights)
    assert rebuilt.norm is not None  # VideoMAE pools with fc_norm
    with torch.no_grad():
        pooled = rebuilt(torch.from_numpy(old.tokens().astype(np.float32))).numpy()
    assert np.abs(pooled - old.pooled().astype(np.float32)).max() < 2e-2  # float16 storage

    copy = tmp_path / "old.zarr"
    shutil.copytree(OLD_STORE, copy)
    with pytest.raises(ValueError, match="upgrade it in place first"):
        StoreWriter(str(copy), old.recipe, old.token_shape, old.static_count, pooling={"type": "mean"})
    assert store_cli(["upgrade", str(copy)]) == 0
    new = open_store(str(copy))
    assert new.format == 2 and new.pooling["type"] == "mean+layernorm"
    assert new.recipe_hash == old.recipe_hash and new.num_videos == old.num_videos
    with torch.no_grad():
        x = torch.from_numpy(old.tokens()[:4].astype(np.float32))
        assert torch.allclose(store_pooler(new)(x), rebuilt(x), atol=1e-6)
    assert upgrade_store(str(copy))["changed"] is False
