"""Shared fixtures: small generated videos (no downloads) and synthetic feature stores, written once per session.

Feature stores (``tests/synthetic_stores.py``: written directly, with planted structure, no video or encoder
forward) are shared by every test of the session: read them, never write into them.

    feature_store("action", encoder="videomae-tiny", static_clips=3)  # any writer and keyword arguments, cached
    action_store, privacy_store, tad_store, ad_store, gait_store, ntu_store, toyota_store  # the defaults (i3d-r50-tiny)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from latentanon.video import write_video

os.environ.setdefault("TQDM_DISABLE", "1")

# Tests of other modules that take more than a few seconds on two cores (video decoding, rendering, subprocesses,
# overfitting runs, large models), by node id (without parameters: every case). They are marked ``slow`` here, and so
# is every test that needs one of SLOW_FIXTURES; the default run (``bash run.sh test``, pyproject's addopts) leaves
# them out, ``bash run.sh test -m ""`` runs everything.
SLOW = (
    "tests/test_aam.py::test_identity_pretraining_reaches_one_percent_from_random_init",
    "tests/test_encoders.py::test_internvideo_finetuned_and_pretraining_layouts_match_transformers_videomae",
    "tests/test_encoders.py::test_large_encoder_spec_and_shapes_on_meta[videomae-h]",
    "tests/test_encoders.py::test_large_encoder_spec_and_shapes_on_meta[videomae2-g]",
    "tests/test_mgfn.py::test_tiny_mgfn_overfits_synthetic_anomalies",
    "tests/test_precompute.py::test_sigkill_then_resume_equals_uninterrupted",
    "tests/test_precompute.py::test_two_concurrent_shards_then_merge_equal_single_run",
    "tests/test_precompute.py::test_webdataset_input_matches_folder_input",
    "tests/test_synthetic.py::test_single_frames_do_not_reveal_the_action_but_clips_do",
    "tests/test_tridet.py::test_every_parameter_receives_a_gradient",
)
SLOW_FIXTURES = (
    "synthetic_small",  # the synthetic benchmark's small preset: a minute or more to render
    "builds",  # test_synthetic.py: three tiny builds of the benchmark
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.nodeid in SLOW or item.nodeid.split("[")[0] in SLOW or any(f in fixtures for f in SLOW_FIXTURES):
            item.add_marker(pytest.mark.slow)


def moving_frames(n: int, seed: int, height: int = 72, width: int = 96):
    """A bright square moving over a coloured, noisy background: cheap, deterministic, and not constant."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 200, size=3, dtype=np.uint8)
    dx, dy = rng.integers(1, 4, size=2)
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = background
        frame += rng.integers(0, 20, size=(height, width, 1), dtype=np.uint8)
        x, y = (5 + i * dx) % (width - 16), (5 + i * dy) % (height - 16)
        frame[y : y + 16, x : x + 16] = 255
        yield frame


def make_videos(root: Path, lengths: list[int], prefix: str = "v", seed: int = 0) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, n in enumerate(lengths):
        path = root / f"{prefix}{i:02d}.mp4"
        write_video(path, moving_frames(n, seed + i), fps=25)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory) -> Path:
    """Six valid videos of 20-70 frames (one to four clips each)."""
    root = tmp_path_factory.mktemp("videos")
    make_videos(root, [40, 70, 33, 48, 20, 64])
    return root


@pytest.fixture(scope="session")
def broken_dir(tmp_path_factory) -> Path:
    """Two good videos, a truncated mp4, an empty file, a text file named .mp4 and a 5-frame video."""
    root = tmp_path_factory.mktemp("broken")
    good = make_videos(root, [40, 36], prefix="good")
    data = good[0].read_bytes()
    (root / "corrupt.mp4").write_bytes(data[: len(data) // 3])
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("this is a text file, not a video\n")
    write_video(root / "short.mp4", moving_frames(5, 99), fps=25)
    return root


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for the rest of a module: tiny heads and adapters train several times faster on one
    thread than on two that contend with other processes (as test_tridet.py and test_mgfn.py do per test)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def feature_store(tmp_path_factory):
    """``feature_store(kind, **kwargs) -> path``: ``synthetic_stores.WRITERS[kind](path, **kwargs)``, written once per
    session for each distinct set of arguments."""
    from tests.synthetic_stores import WRITERS

    cache: dict[tuple, str] = {}

    def make(kind: str, **kwargs) -> str:
        if kind not in WRITERS:
            raise KeyError(f"unknown store kind {kind!r}; known: {sorted(WRITERS)}")
        key = (kind, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = WRITERS[kind](tmp_path_factory.mktemp(f"{kind}_store") / f"{kind}.zarr", **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def action_store(feature_store) -> str:
    """UCF101-like: 4 classes x 12 groups (9 train, 3 test), 3-5 clips per video, 2 static clips, attribute labels."""
    return feature_store("action")


@pytest.fixture(scope="session")
def privacy_store(feature_store) -> str:
    """VISPR-like privacy images (one padded clip each), 40 train / 12 val / 20 test, 7 attribute labels."""
    return feature_store("privacy")


@pytest.fixture(scope="session")
def tad_store(feature_store) -> str:
    """THUMOS14-like: 6 train and 4 test videos of 24 clips with 3 action segments each."""
    return feature_store("tad")


@pytest.fixture(scope="session")
def ad_store(feature_store) -> str:
    """UCF-Crime-like: 6 + 6 normal/abnormal train and 3 + 3 test videos of 12 clips, test anomaly frames."""
    return feature_store("ad")


@pytest.fixture(scope="session")
def gait_store(feature_store) -> str:
    """CASIA-B-like: 4 subjects x (nm 6, bg 2, cl 2) x views 0/90/180."""
    return feature_store("gait")


@pytest.fixture(scope="session")
def ntu_store(feature_store) -> str:
    """NTU-60-like with subjects and genders: 8 subjects x 4 actions x 2 repetitions."""
    return feature_store("bias", dataset="ntu60")


@pytest.fixture(scope="session")
def toyota_store(feature_store) -> str:
    """Toyota-Smarthome-like: the share of women differs per action."""
    return feature_store("bias", dataset="toyota_smarthome")


@pytest.fixture(scope="session")
def synthetic_small(tmp_path_factory) -> Path:
    """The synthetic benchmark's `small` preset, built once per test session."""
    from latentanon.datasets.synthetic import generate

    root = tmp_path_factory.mktemp("synthetic")
    generate(root, preset="small", seed=0)
    return root
