"""Threads over fixed blocks of rows for the kernels whose rows do not depend on each other.

Rows are cut into blocks of ``BLOCK`` rows whatever the number of threads; each thread's
kernel call takes blocks until none is left (``sim.kernels.base.next_block``), keeping float
sums by block, added up in block order afterwards, and integer tallies in the thread's own
part. Results therefore come out the same, to the bit, for any number of threads (and the
counter-based draws do not depend on which thread makes them).

The threads are Python threads running numba kernels compiled with ``nogil=True``, not
numba's ``parallel=True``: numba's threading layers installed here are either unsafe after
``fork()`` (GNU OpenMP: sweep and ``--jobs`` workers are forked) or unsafe when two Python
threads call them at once (workqueue: the app and dask workers run models in threads).

How many threads: ``NUMBA_NUM_THREADS`` (numba's own variable, read once at import; by
default every core), ``set_threads(n)`` for the process, ``limit(n)`` for the calling
thread only. Sweeps get their parallelism from processes, so a sweep run uses one thread
(``experiments/run.py``, ``sim.runner.process_pool``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numba

BLOCK = 1 << 16  # rows per block: fixed, so results do not depend on the thread count


class _Local(threading.local):
    """Per-thread settings; ``limit`` None: no limit of its own (a class default: reading a
    missing attribute of a thread-local raises and catches inside, microseconds a call)."""

    limit: int | None = None


_threads = max(1, int(numba.config.NUMBA_NUM_THREADS))
_local = _Local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def set_threads(n: int) -> None:
    """Use up to ``n`` threads (>= 1) in this process, unless ``limit`` says fewer."""
    global _threads
    if n < 1:
        raise ValueError(f"threads: {n} is not a positive number of threads")
    _threads = n


def threads() -> int:
    """The number of threads a kernel called from this thread may use."""
    mine = _local.limit
    return _threads if mine is None else min(_threads, mine)


@contextlib.contextmanager
def limit(n: int) -> Iterator[None]:
    """At most ``n`` threads for kernels called from this thread, inside the block."""
    before = _local.limit
    _local.limit = max(1, n)
    try:
        yield
    finally:
        _local.limit = before


def n_blocks(n_rows: int) -> int:
    """How many blocks ``n_rows`` rows make (at least one, so that empty tables work)."""
    return max(1, -(-n_rows // BLOCK))


def _executor(workers: int) -> ThreadPoolExecutor:
    """The process's helper threads, at least ``workers`` of them (grown, never shrunk)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)  # its queued work still runs
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-rows")
            _pool_size = workers
        return _pool


def _forget_pool() -> None:
    """In a forked child: the parent's threads did not come along, so start afresh."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size = None, 0
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def each_part(count: int, work: Callable[[int], None]) -> None:
    """Call ``work(k)`` for every ``k < count``, on up to ``threads()`` threads.

    Parts are handed out one at a time to whichever thread is free (the calling thread
    is one of them), so a thread slowed by other load on the machine takes fewer. The
    caller waits for the parts, not for the helper threads: on a busy machine a helper
    that has not been scheduled yet finds nothing left to do when it runs.
    """
    helpers = min(threads(), count) - 1
    if helpers <= 0:
        for k in range(count):
            work(k)
        return
    queue = itertools.count()  # next() on it is atomic under the GIL
    left = [count]
    errors: list[BaseException] = []
    lock = threading.Lock()
    finished = threading.Event()

    def drain() -> None:
        while (k := next(queue)) < count:
            try:
                work(k)
            except BaseException as e:  # noqa: BLE001 -- raised again in the caller
                errors.append(e)
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    finished.set()

    pool = _executor(helpers)
    for _ in range(helpers):
        pool.submit(drain)
    drain()
    finished.wait()
    if errors:
        raise errors[0]
