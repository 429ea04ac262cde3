import threading

import pytest

from latentanon.data import prefetch


def test_prefetch_yields_everything_in_order_from_another_thread():
    seen = []

    def items():
        for i in range(50):
            seen.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(50))
    assert set(seen) == {"latentanon-prefetch"}


def test_prefetch_reraises_the_producers_error_and_stops_early():
    def items():
        yield 1
        raise OSError("chunk unreadable")

    got = prefetch(items())
    assert next(got) == 1
    with pytest.raises(OSError, match="chunk unreadable"):
        next(got)
    endless = prefetch(iter(range(10**9)), depth=2)
    assert [next(endless) for _ in range(3)] == [0, 1, 2]
    endless.close()  # the producer thread is told to stop
    with pytest.raises(ValueError, match="depth must be >= 1"):
        list(prefetch([], depth=0))


# ------------------------------------------------------------------------------------------ store windows


def test_gather_rows_reads_each_chunk_once_and_equals_fancy_indexing(tmp_path):
    import numpy as np
    import zarr

    from latentanon.data import gather_rows

    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=(1000, 3), chunks=(64, 3), dtype="float32")
    z[:] = np.arange(3000, dtype=np.float32).reshape(1000, 3)
    rows = np.array([0, 1, 5, 63, 64, 200, 201, 999])
    np.testing.assert_array_equal(gather_rows(z, rows), z[:][rows])
    assert gather_rows(z, np.zeros(0, np.int64)).shape == (0, 3)


def test_feature_window_holds_exactly_its_videos(action_store):
    import numpy as np

    from latentanon.data import FeatureWindow
    from latentanon.stores import open_store

    store = open_store(action_store)
    videos = np.array([9, 2, 3, 17])
    w = FeatureWindow(store, videos)
    assert list(w.videos) == [2, 3, 9, 17]
    tokens, static = store.tokens(), store.group["static/tokens"][:]
    for i, v in enumerate(w.videos):
        a, n = int(store.videos["clip_offset"][v]), int(store.videos["clip_count"][v])
        np.testing.assert_array_equal(w.tokens[w.first_clip[i] : w.first_clip[i] + n].numpy(), tokens[a : a + n])
        np.testing.assert_array_equal(w.static_tokens[i].numpy(), static[v])
    assert list(w.local(np.array([17, 2]))) == [3, 0]
    with pytest.raises(KeyError):
        w.local(np.array([4]))


def test_windows_visit_every_video_once_per_epoch_in_chunk_blocks():
    import numpy as np

    from latentanon.data import batched_windows, video_windows

    rng = np.random.default_rng(0)
    videos = np.arange(1000)
    block = videos // 37  # e.g. the chunk of each video's first clip
    windows = video_windows(videos, 120, rng, block)
    assert sorted(np.concatenate(windows).tolist()) == videos.tolist()
    assert all(len(w) >= 120 for w in windows[:-1]) and max(len(w) for w in windows) < 120 + 15
    # pieces of at most 120 // 8 = 15 consecutive videos of one chunk (15, 15, 7 of a 37-video chunk): a window of
    # ~120 videos touches at most ~17 of the 28 chunks, where 120 random videos would touch nearly all of them
    assert max(len(set(block[w].tolist())) for w in windows) <= 18
    batches = batched_windows(windows, 32, 120)
    assert all(len(w) % 32 == 0 for w in batches)
    seen = np.concatenate(batches)
    assert len(set(seen.tolist())) == len(seen) and len(videos) - len(seen) < 32  # only the last remainder waits
    assert [w.tolist() for w in video_windows(videos[:50], 120, np.random.default_rng(1))] == [
        np.random.default_rng(1).permutation(videos[:50]).tolist()
    ]  # one window: the in-memory order
