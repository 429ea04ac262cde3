import io
import json
import re
import tarfile

import numpy as np
import pytest
import torch

from latentanon.contracts import IMAGENET_MEAN, IMAGENET_STD, EncoderSpec
from latentanon.video import (
    ClipTransform,
    VideoDecodeError,
    augment_static_frame,
    discover_videos,
    iter_clip_frames,
    key_seed,
    num_clips,
    open_source,
    probe_video,
    random_resized_crop_box,
    static_frame_indices,
    to_model_input,
    write_video,
)

from .conftest import make_videos, moving_frames

SPEC = EncoderSpec("t", "t", 16, 16, 1, 64, 72, IMAGENET_MEAN, IMAGENET_STD, 8)


def events(source, spec=SPEC, wanted=()):
    return list(iter_clip_frames(source, spec, wanted))


def test_discover_directory_recursive_sorted(tmp_path):
    make_videos(tmp_path / "b", [5])
    make_videos(tmp_path / "a" / "deep", [5])
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "clip.MKV").write_bytes((tmp_path / "b" / "v00.mp4").read_bytes())
    keys = [r.key for r in discover_videos(tmp_path)]
    assert keys == ["a/deep/v00", "b/v00", "clip"]


def test_discover_csv_and_json(tmp_path):
    make_videos(tmp_path / "vids", [5, 5])
    (tmp_path / "list.csv").write_text(
        "path,label,split,subject,camera\nvids/v00.mp4,3,train,s1,front\nvids/v01.mp4,,test,,\n"
    )
    recs = discover_videos(tmp_path / "list.csv")
    assert [r.label for r in recs] == [3, None]
    assert recs[0].split == "train" and recs[0].subject == "s1" and recs[0].meta == {"camera": "front"}
    assert recs[0].path == str(tmp_path / "vids" / "v00.mp4")
    (tmp_path / "list.json").write_text(json.dumps({"videos": [{"path": "vids/v01.mp4", "label": 1, "key": "x"}]}))
    (rec,) = discover_videos(tmp_path / "list.json")
    assert rec.key == "x" and rec.label == 1


def test_malformed_lists_name_file_and_line(tmp_path):
    (tmp_path / "bad.csv").write_text("path,label\na.mp4,1\nb.mp4,walk\n")
    with pytest.raises(ValueError, match=r"bad\.csv:3: label must be an integer"):
        discover_videos(tmp_path / "bad.csv")
    (tmp_path / "nohead.csv").write_text("file,label\na.mp4,1\n")
    with pytest.raises(ValueError, match=r"nohead\.csv:1: .*'path' column"):
        discover_videos(tmp_path / "nohead.csv")
    (tmp_path / "bad.json").write_text('[{"path": "a.mp4"},\n {"path": }]')
    with pytest.raises(ValueError, match=r"bad\.json:2: invalid JSON"):
        discover_videos(tmp_path / "bad.json")
    (tmp_path / "dup.csv").write_text("path,key\na.mp4,k\nb.mp4,k\n")
    with pytest.raises(ValueError, match="duplicate video key 'k'"):
        discover_videos(tmp_path / "dup.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        discover_videos(tmp_path / "missing")


def _write_shard(path, items):
    with tarfile.open(path, "w") as tar:
        for name, payload in items:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_webdataset_shards_decode_like_files(tmp_path):
    vids = make_videos(tmp_path / "vids", [20, 33])
    _write_shard(
        tmp_path / "shard-000.tar",
        [("a.mp4", vids[0].read_bytes()), ("a.cls", b"4"), ("a.json", b'{"split": "train", "camera": 2}')],
    )
    _write_shard(tmp_path / "shard-001.tar", [("b.mp4", vids[1].read_bytes()), ("c.txt", b"no video")])
    recs = discover_videos(str(tmp_path / "shard-{000..001}.tar"))
    assert [r.key for r in recs] == ["a", "b"]
    assert recs[0].label == 4 and recs[0].split == "train" and recs[0].meta == {"camera": 2}
    from_tar = events(open_source(recs[1]))
    from_file = events(str(vids[1]))
    assert len(from_tar) == len(from_file) == 3
    for (k1, i1, a1), (k2, i2, a2) in zip(from_tar, from_file):
        assert (k1, i1) == (k2, i2) and np.array_equal(a1, a2)
    (tmp_path / "shards.txt").write_text("shard-000.tar\n")
    assert [r.key for r in discover_videos(tmp_path / "shards.txt")] == ["a"]


def test_webdataset_pipe_urls_nested_keys_and_member_reads(tmp_path):
    payloads = {name: bytes([i]) * (700 + 300 * i) for i, name in enumerate(["x/a.mp4", "x/b.MP4", "c.left.mkv"])}
    _write_shard(tmp_path / "s0.tar", [("x/a.mp4", payloads["x/a.mp4"]), ("x/a.cls", b" 2\n")])
    _write_shard(tmp_path / "s1.tar", [(n, payloads[n]) for n in ("x/b.MP4", "c.left.mkv")] + [("README", b"hi")])
    recs = discover_videos(f"pipe:cat {tmp_path}/s0.tar::{tmp_path}/s1.tar")
    assert [(r.key, r.member, r.label, r.size) for r in recs] == [
        ("x/a", "x/a.mp4", 2, 700),
        ("x/b", "x/b.MP4", None, 1000),
        ("c", "c.left.mkv", None, 1300),
    ]
    assert recs[0].path == f"pipe:cat {tmp_path}/s0.tar" and recs[1].path == str(tmp_path / "s1.tar")
    local = discover_videos(str(tmp_path / "s1.tar"))
    for r in [recs[0], local[1], local[0], local[1], recs[0]]:  # forward, backward and across shards
        assert open_source(r).getvalue() == payloads[r.member]
    _write_shard(tmp_path / "s1.tar", [("x/b.MP4", payloads["x/b.MP4"])])  # rewritten after indexing
    with pytest.raises(VideoDecodeError, match=r"s1\.tar' has no member 'c\.left\.mkv'"):
        open_source(local[1])


@pytest.mark.parametrize(
    ("items", "error", "message"),
    [
        (None, FileNotFoundError, r"shard 'SHARD' does not exist"),
        ("truncated", ValueError, r"shard 'SHARD': corrupt or truncated tar at member 'a\.mp4' \(ReadError"),
        ("garbage", ValueError, r"shard 'SHARD': corrupt or truncated tar at its start \(ReadError"),
        ([("a.mp4", b"v"), ("b.cls", b"1"), ("b.json", b"{}")], ValueError, r"SHARD', sample 'b': no video member"),
        ([("a.mp4", b"v"), ("a.cls", b"walk")], ValueError, r"SHARD', member 'a\.cls': label must be an integer"),
        ([("a.mp4", b"v"), ("a.json", b'{"split": }')], ValueError, r"SHARD', member 'a\.json': invalid JSON"),
        ([("a.mp4", b"v"), ("a.json", b"[1]")], ValueError, r"SHARD', member 'a\.json': expected a JSON object"),
        ([("a.mp4", b"v"), ("a.json", b'{"label": "x"}')], ValueError, r"'a\.json', field 'label': label must be"),
    ],
    ids=["missing", "truncated", "not-a-tar", "no-video", "bad-cls", "bad-json", "json-list", "bad-json-label"],
)
def test_webdataset_errors_name_shard_and_member(tmp_path, items, error, message):
    _write_shard(tmp_path / "ok-0.tar", [("z.mp4", b"fine")])
    shard = tmp_path / "ok-1.tar"
    if items == "truncated":
        _write_shard(shard, [("a.mp4", bytes(4000)), ("a.cls", b"1")])
        shard.write_bytes(shard.read_bytes()[:2000])
    elif items == "garbage":
        shard.write_bytes(b"this is not a tar file" * 40)
    elif items is not None:
        _write_shard(shard, items)
    with pytest.raises(error, match=message.replace("SHARD", re.escape(str(shard)))):
        discover_videos(str(tmp_path / "ok-{0..1}.tar"))


@pytest.mark.parametrize(
    ("frames", "clips", "status_padded"), [(50, 3, False), (48, 3, False), (16, 1, False), (5, 1, True)]
)
def test_clip_rule(tmp_path, frames, clips, status_padded):
    path = tmp_path / "v.mp4"
    write_video(path, moving_frames(frames, 0))
    assert probe_video(str(path)).frames == frames
    evs = events(str(path))
    got = [e for e in evs if e[0] == "clip"]
    assert [e[1] for e in got] == list(range(clips)) == list(range(num_clips(frames, SPEC)))
    assert all(e[2].shape == (16, 64, 64, 3) and e[2].dtype == np.uint8 for e in got)
    assert evs[-1][:2] == ("end", frames)
    if status_padded:  # the short video's clip repeats its last frame
        assert all(np.array_equal(got[0][2][i], got[0][2][frames - 1]) for i in range(frames, 16))


def test_frame_stride_clips(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, moving_frames(70, 0))
    spec2 = EncoderSpec("t", "t", 16, 16, 2, 64, 72, IMAGENET_MEAN, IMAGENET_STD, 8)
    assert [e[1] for e in events(str(path), spec2) if e[0] == "clip"] == [0, 1]  # 70 // 32 = 2 clips


def test_static_frames_captured_in_stream(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, moving_frames(33, 0, height=72, width=96))
    wanted = static_frame_indices(33, 10)
    assert wanted[0] == 0 and wanted[-1] == 32 and len(wanted) == 10
    frames = [e for e in events(str(path), wanted=wanted) if e[0] == "frame"]
    assert [e[1] for e in frames] == sorted(set(wanted))
    assert frames[0][2].shape == (72, 96, 3)
    assert static_frame_indices(3, 5) == [0, 0, 1, 2, 2]


def test_static_augmentation_is_seeded_per_key():
    frame = np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    a = augment_static_frame(frame, SPEC, np.random.default_rng(key_seed(0, "vid")))
    b = augment_static_frame(frame, SPEC, np.random.default_rng(key_seed(0, "vid")))
    c = augment_static_frame(frame, SPEC, np.random.default_rng(key_seed(0, "other")))
    assert a.shape == (64, 64, 3) and np.array_equal(a, b) and not np.array_equal(a, c)
    rng = np.random.default_rng(1)
    for _ in range(200):
        top, left, h, w = random_resized_crop_box(90, 120, rng)
        assert 0 <= top and top + h <= 90 and 0 <= left and left + w <= 120
        assert 0.8 * 90 * 120 * 0.97 <= h * w <= 90 * 120  # rounding of the side lengths


def test_corrupt_inputs_raise_decode_error(broken_dir):
    for name, reason in [("empty.mp4", "empty file"), ("notes.mp4", "cannot open"), ("corrupt.mp4", None)]:
        with pytest.raises(VideoDecodeError, match=reason):
            events(str(broken_dir / name))
        with pytest.raises(VideoDecodeError, match=reason):
            probe_video(str(broken_dir / name))


def test_model_input_normalisation():
    clips = torch.full((1, 16, 4, 4, 3), 255, dtype=torch.uint8)
    x = to_model_input(clips, SPEC)
    assert x.shape == (1, 16, 3, 4, 4)
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(x[0, 0, :, 0, 0], expected)
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(clips.float(), SPEC)


def test_clip_transform_matches_stream_path(tmp_path):
    frames = list(moving_frames(16, 3))
    path = tmp_path / "v.mp4"
    write_video(path, iter(frames), crf=0)
    decoded = [e for e in events(str(path)) if e[0] == "clip"][0][2]
    # the live transform on the same decoded frames gives exactly what precompute feeds the encoder
    import av

    with av.open(str(path)) as c:
        raw = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    live = ClipTransform(SPEC)(raw)
    assert torch.allclose(live, to_model_input(torch.from_numpy(decoded)[None], SPEC)[0])
    with pytest.raises(ValueError, match="T=16"):
        ClipTransform(SPEC)(raw[:8])


def _decode_all(path, spec, done):
    done.put(len(events(path, spec, wanted=(0, 3))))


def test_decoding_in_a_forked_worker_after_the_parent_decoded(tmp_path):
    # a DataLoader worker is forked from a process that had already converted frames: PyAV >= 18 scales with slice
    # threads in a per-thread context, which the child inherits without its threads (each conversion then hung)
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    path = make_videos(tmp_path, [20])[0]
    spec = EncoderSpec("t", "t", 16, 16, 1, 224, 256, IMAGENET_MEAN, IMAGENET_STD, 8)  # frames upscaled
    expected = len(events(path, spec, wanted=(0, 3)))
    ctx = multiprocessing.get_context("fork")
    done = ctx.Queue()
    child = ctx.Process(target=_decode_all, args=(path, spec, done))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("decoding in a forked child hung")
    assert child.exitcode == 0 and done.get(timeout=5) == expected
