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
