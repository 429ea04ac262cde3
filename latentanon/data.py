"""Feeding training loops from stores: background prefetching of store reads."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a background thread, keeping up to ``depth`` items ready.

    Store reads (Zarr chunk decompression releases the GIL) then overlap the training step. An exception raised
    while producing an item is re-raised in the consumer at that position.
    """
    if depth < 1:
        raise ValueError(f"prefetch depth must be >= 1, got {depth}")
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
        except BaseException as e:  # handed to the consumer
            q.put(_Raised(e))
            return
        q.put(_END)

    thread = threading.Thread(target=produce, daemon=True, name="latentanon-prefetch")
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error
