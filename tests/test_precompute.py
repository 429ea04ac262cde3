"""precompute end to end on generated videos with the tiny VideoMAE (random weights, fp32, CPU)."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest
import torch

from latentanon.config import ConfigError
from latentanon.precompute import PrecomputeConfig, cli, main, parse_shard, shard_path
from latentanon.registry import create_encoder
from latentanon.store import main as store_cli
from latentanon.stores import open_store
from latentanon.video import discover_videos, iter_clip_frames, to_model_input

ENCODER = "videomae-tiny"


def config(videos, out, **kw) -> PrecomputeConfig:
    base = dict(
        encoder=ENCODER, videos=str(videos), out=str(out), batch_size=4, num_workers=0, static_clips=3, progress=False
    )
    base.update(kw)
    return PrecomputeConfig(**base)


def assert_same_store(a_path, b_path):
    a, b = open_store(str(a_path)).load(), open_store(str(b_path)).load()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def reference_store(video_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref.zarr"
    main(config(video_dir, out, num_workers=2))
    return out


def test_stored_features_equal_a_direct_forward(video_dir, reference_store):
    store = open_store(str(reference_store))
    assert store.num_videos == 6 and store.num_failures == 0
    encoder = create_encoder(ENCODER)
    spec = encoder.spec
    assert store.recipe["encoder"]["weights_sha256"] == spec.weights_sha256  # same seeded random weights
    for record in discover_videos(video_dir):
        clips = [a for kind, _, a in iter_clip_frames(record.path, spec) if kind == "clip"]
        with torch.inference_mode():
            tokens = encoder(to_model_input(torch.from_numpy(np.stack(clips)), spec))
            pooled = encoder.pool(tokens)
        got = store.video(record.key)
        assert got.pooled.shape == (len(clips), spec.feature_dim)
        assert got.tokens.shape == (len(clips), spec.tokens_per_clip, spec.feature_dim)
        # float16 storage: compare with the direct forward rounded the same way
        diff = np.abs(got.pooled.astype(np.float32) - pooled.half().float().numpy()).max()
        assert diff < 1e-3, (record.key, diff)
        assert np.abs(got.tokens.astype(np.float32) - tokens.half().float().numpy()).max() < 1e-3


def test_static_clips_are_stored_and_differ(reference_store):
    store = open_store(str(reference_store))
    video = store.video(0)
    assert video.static_pooled.shape == (3, store.spec.feature_dim)
    frames = store.group["static/frames"][0].tolist()
    assert frames[0] == 0 and frames[-1] == store.videos["frames"][0] - 1
    assert not np.array_equal(video.static_pooled[0], video.static_pooled[1])


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from latentanon.precompute import PrecomputeConfig, main
    from latentanon.stores import writer as w
    appends = {{"n": 0}}
    original = w.StoreWriter._append
    def append(self, array, start, values):
        appends["n"] += 1
        if appends["n"] == {kill_after}:  # die in the middle of a flush: some arrays written, nothing committed
            os.kill(os.getpid(), signal.SIGKILL)
        return original(array, start, values)
    w.StoreWriter._append = append
    main(PrecomputeConfig(encoder="{encoder}", videos=sys.argv[1], out=sys.argv[2], batch_size=4, num_workers=0,
                          static_clips=3, progress=False, flush_seconds=0.0))
    """
)


@pytest.mark.parametrize("kill_after", [25, 47])
def test_sigkill_then_resume_equals_uninterrupted(video_dir, reference_store, tmp_path, kill_after):
    out = tmp_path / "killed.zarr"
    script = KILLER.format(kill_after=kill_after, encoder=ENCODER)
    proc = subprocess.run([sys.executable, "-c", script, str(video_dir), str(out)], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr  # it really was killed part-way
    partial = open_store(str(out))
    assert 0 < partial.num_videos < 6, partial.num_videos
    summary = main(config(video_dir, out))
    assert summary["skipped_already_done"] == partial.num_videos
    assert_same_store(out, reference_store)


def test_failures_are_recorded_and_strict_fails(broken_dir, tmp_path, capsys):
    out = tmp_path / "broken.zarr"
    argv = [
        "--encoder",
        ENCODER,
        "--videos",
        str(broken_dir),
        "--out",
        str(out),
        "--num-workers",
        "2",
        "--static-clips",
        "2",
        "--progress",
        "false",
    ]
    assert cli(argv) == 0
    store = open_store(str(out))
    reasons = {f["key"]: f["reason"] for f in store.info()["failures"]}
    assert set(reasons) == {"corrupt", "empty", "notes"}
    assert reasons["empty"] == "empty file (0 bytes)" and "cannot open video" in reasons["notes"]
    assert sorted(store.keys) == ["good00", "good01", "short"]
    row = store.row_of("short")
    assert store.videos["status"][row] == "padded" and store.videos["clip_count"][row] == 1
    assert store.videos["frames"][row] == 5
    capsys.readouterr()
    assert store_cli(["info", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "failures    3" in listing and "empty file (0 bytes)" in listing and "1 padded short videos" in listing
    assert cli(argv + ["--strict"]) == 1  # resumed run: nothing to do, but the recorded failures still count
    assert "--strict: 3 inputs failed" in capsys.readouterr().err


def test_two_concurrent_shards_then_merge_equal_single_run(video_dir, reference_store, tmp_path):
    out = tmp_path / "sharded.zarr"
    cmd = [
        sys.executable,
        "-m",
        "latentanon.precompute",
        "--encoder",
        ENCODER,
        "--videos",
        str(video_dir),
        "--out",
        str(out),
        "--batch-size",
        "4",
        "--num-workers",
        "1",
        "--static-clips",
        "3",
        "--progress",
        "false",
    ]
    procs = [
        subprocess.Popen(cmd + ["--shard", f"{i}/2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    parts = [str(tmp_path / f"sharded.zarr.part-{i}-of-2") for i in range(2)]
    assert [open_store(p).num_videos for p in parts] == [3, 3]
    assert store_cli(["merge", *parts, "--out", str(out), "--no-progress"]) == 0
    assert_same_store(out, reference_store)


def test_without_static_clips(video_dir, reference_store, tmp_path):
    out = tmp_path / "nostatic.zarr"
    main(config(video_dir, out, static_clips=0, batch_size=1, num_workers=2))
    store = open_store(str(out))
    assert store.static_count == 0 and store.load()["static/tokens"].shape == (6, 0, 8, 128)
    np.testing.assert_array_equal(store.pooled(), open_store(str(reference_store)).pooled())


def test_webdataset_input_matches_folder_input(video_dir, reference_store, tmp_path):
    records = discover_videos(video_dir)
    with tarfile.open(tmp_path / "shard-0.tar", "w") as tar:
        for r in records:
            payload = open(r.path, "rb").read()
            info = tarfile.TarInfo(f"{r.key}.mp4")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    out = tmp_path / "wds.zarr"
    main(config(tmp_path / "shard-0.tar", out))
    a, b = open_store(str(out)), open_store(str(reference_store))
    assert a.keys == b.keys
    np.testing.assert_array_equal(a.tokens(), b.tokens())
    np.testing.assert_array_equal(a.load()["static/tokens"], b.load()["static/tokens"])


def test_append_with_another_recipe_is_refused(video_dir, reference_store, tmp_path):
    import shutil

    out = tmp_path / "copy.zarr"
    shutil.copytree(reference_store, out)
    with pytest.raises(ValueError, match=r"static\.count: store has 3, this run has 2"):
        main(config(video_dir, out, static_clips=2))
    with pytest.raises(ValueError, match="compute_dtype: store has 'fp32', this run has 'bf16'"):
        main(config(video_dir, out, dtype="bf16"))


def test_bad_arguments_are_explained(video_dir, tmp_path, capsys):
    assert cli(["--videos", str(video_dir)]) == 2
    assert "--out is required" in capsys.readouterr().err
    assert cli(["--videos", str(video_dir), "--out", str(tmp_path / "x"), "--batchsize", "3"]) == 2
    assert "Did you mean --batch-size" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--shard must look like I/N"):
        main(dataclasses.replace(config(video_dir, tmp_path / "y"), shard="1of2"))
    with pytest.raises(KeyError, match="unknown encoder 'videomae-tin'"):
        main(config(video_dir, tmp_path / "z", encoder="videomae-tin"))


def test_checkpoint_directory_through_precompute(video_dir, tmp_path):
    saved = create_encoder(ENCODER)
    weights = tmp_path / "tiny-videomae"
    saved.model.save_pretrained(weights)
    out = tmp_path / "ckpt.zarr"
    assert (
        cli(
            [
                "--encoder",
                ENCODER,
                "--checkpoint",
                str(weights),
                "--videos",
                str(video_dir),
                "--out",
                str(out),
                "--num-workers",
                "0",
                "--static-clips",
                "1",
                "--progress",
                "false",
            ]
        )
        == 0
    )
    recipe = open_store(str(out)).recipe["encoder"]
    assert recipe["weights"] == str(weights.resolve()) and recipe["weights_sha256"] == saved.spec.weights_sha256


def test_shards_from_flags_and_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert parse_shard(None) == (0, 1) and parse_shard("2/4") == (2, 4)
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "1")
    assert parse_shard(None) == (1, 3)  # torchrun ranks shard automatically
    assert parse_shard("0/2") == (0, 2)  # an explicit flag wins
    assert shard_path("f.zarr", 1, 3) == "f.zarr.part-1-of-3" and shard_path("f.zarr", 0, 1) == "f.zarr"
    with pytest.raises(ConfigError, match="need 0 <= I < N"):
        parse_shard("2/2")


def test_a_pixel_anonymizer_is_applied_before_the_encoder_and_recorded(video_dir, reference_store, tmp_path):
    out = tmp_path / "pix.zarr"
    main(dataclasses.replace(config(video_dir, out, num_workers=0), anonymizer="identity"))
    raw, anon = open_store(str(reference_store)), open_store(str(out))
    rec = anon.recipe["anonymizer"]
    assert rec["kind"] == "pixel" and rec["name"] == "identity" and len(rec["weights_sha256"]) == 64
    assert anon.recipe_hash != raw.recipe_hash and anon.pooling == raw.pooling and anon.format == 2
    # identity pixels: the features of the raw store, up to the [0, 1] round trip of the normalisation
    np.testing.assert_allclose(anon.tokens().astype(np.float32), raw.tokens().astype(np.float32), atol=2e-2)
    with pytest.raises(ConfigError, match="latent anonymizer"):
        main(dataclasses.replace(config(video_dir, tmp_path / "x.zarr"), anonymizer="splavu"))
    with pytest.raises(ConfigError, match="needs --anonymizer"):
        main(dataclasses.replace(config(video_dir, tmp_path / "y.zarr"), anonymizer_checkpoint="w.safetensors"))
