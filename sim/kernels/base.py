"""Random streams, rare-event visits and the blocks of rows every kernel shares.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

import threading

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from sim import threads
from sim.codes import (
    N_SERVICE,
    SVC_DONE,
    SVC_IN_SERVICE,
)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ODD = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# step_services and the tally test the four services unrolled, without branching on each.
assert N_SERVICE == 4, "kernels unroll the four services"

# Process ids for stream keys: one independent random stream per process and week.
PROC_STATUS, PROC_RECEPTION, PROC_HOUSING, PROC_INTEGRATION, PROC_MOVES = 1, 2, 3, 4, 5
PROC_AGEING = 6
PROC_SERVICES = 8  # (7 is the earlier newcomers' warm-up: sim.earlier)


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective, well-mixed hash of 64 bits."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def _stream_key(seed: int, week: int, process: int) -> np.uint64:
    z = _mix(np.uint64(seed) + _GOLDEN)
    z = _mix(z ^ (np.uint64(week) * _ODD))
    return _mix(z + np.uint64(process) * _GOLDEN)


def stream_key(seed: int, week: int, process: int) -> np.uint64:
    """The key of one process's random stream in one week of one run.

    Returned as ``np.uint64``: numba hands a uint64 back to Python as an int, which it
    would later read as int64 and overflow for half of all keys.
    """
    return np.uint64(_stream_key(seed, week, process))


@njit(cache=True)
def stream_keys(seed: int, week: int, processes: int) -> np.ndarray:
    """``stream_key`` of processes 0 to ``processes - 1`` in one week (uint64[processes]:
    one call a week instead of one a process; an element read from it is an ``np.uint64``)."""
    out = np.empty(processes, np.uint64)
    for p in range(processes):
        out[p] = _stream_key(seed, week, p)
    return out


@njit(cache=True, inline="always")
def _uniform(key: np.uint64, i: int, j: int) -> float:
    """Uniform [0, 1) draw number ``j`` of row ``i`` in the stream ``key``."""
    z = _mix(np.uint64(key) + np.uint64(i) * _GOLDEN + np.uint64(j) * _ODD)
    return float(z >> _S11) * _TO_UNIT


# Draw slot of the geometric gaps in `visits` (per-row draws use slots 0-3).
_GAP_SLOT = 7


@njit(cache=True, inline="always")
def _gap_step(key: np.uint64, k: int, p: float, log_q: float, n: int) -> int:
    """Rows from visit ``k - 1`` to visit ``k`` of ``visits`` (1 + a geometric gap)."""
    gap = 0.0 if p >= 1.0 else np.log(1.0 - _uniform(key, k, _GAP_SLOT)) / log_q
    return 1 + int(min(gap, n))


@njit(cache=True)
def visits(key: np.uint64, p: float, n: int) -> np.ndarray:
    """The rows of ``n`` that a weekly chance ``p`` picks, in row order (uint64 array).

    Rare events (emigration, housing losses and search, moves, job events) pick rows by
    geometric gaps: each row is still picked independently with chance ``p``, but a week
    costs about ``p * n`` draws instead of ``n``. Gap ``k`` of a pass is draw ``_GAP_SLOT``
    of "row" ``k``. A kernel keeps a picked row with its own chance over ``p`` (thinning).
    """
    return visits_between(key, p, n, 0, n)


@njit(cache=True)
def visits_between(key: np.uint64, p: float, n: int, lo: int, hi: int) -> np.ndarray:
    """The rows ``lo <= i < hi`` of ``visits(key, p, n)``: the same chain of gaps, cut (its
    draws before ``lo`` are made and passed over)."""
    # Unsigned rows: kernels then index with them without a check for negative indices.
    picked = np.empty(max(0, hi - lo), np.uint64)  # pages never written are never touched
    if p <= 0.0:
        return picked[:0]
    log_q = np.log1p(-min(p, 1.0))  # -inf for p = 1: every gap is 0
    count = 0
    k = 0
    i = -1
    while True:
        i += _gap_step(key, k, p, log_q, n)
        k += 1
        if i >= hi:
            return picked[:count]
        if i >= lo:
            picked[count] = i
            count += 1


@njit(cache=True, nogil=True)
def _gap_steps(key: np.uint64, p: float, n: int, first: int, out: np.ndarray) -> None:
    """``_gap_step`` of visits ``first``, ``first + 1``, ... into ``out``."""
    log_q = np.log1p(-min(p, 1.0))
    for k in range(out.shape[0]):
        out[k] = _gap_step(key, first + k, p, log_q, n)


GAPS_PER_PART = 1 << 13  # visits drawn per part on threads (``visit_rows``)


def gaps_on_threads(visits_expected: float) -> bool:
    """Whether ``visit_rows`` draws that many visits' gaps on threads (enough for several
    parts, and more than one thread)."""
    return visits_expected >= 4 * GAPS_PER_PART and threads.threads() > 1


def visit_rows(key: np.uint64, p: float, n: int) -> np.ndarray:
    """``visits(key, p, n)``, the same rows, with the gaps drawn on threads when there are
    many (each gap is its own counter-based draw; only their running sum is serial).

    Enough gaps for the expected visits plus six standard deviations are drawn; in the
    rare week that is not enough, the rows come from ``visits`` itself.
    """
    if p <= 0.0 or not gaps_on_threads(p * n):
        return visits(key, p, n)
    expected = p * n
    parts = int(expected + 6.0 * np.sqrt(expected) + 1.0) // GAPS_PER_PART + 1
    steps = np.empty(parts * GAPS_PER_PART, np.int64)
    threads.each_part(parts, lambda k: _gap_steps(
        key, p, n, k * GAPS_PER_PART, steps[k * GAPS_PER_PART:(k + 1) * GAPS_PER_PART]))
    rows = _running_rows(steps, n)
    return visits(key, p, n) if rows is None else rows


@njit(cache=True)
def _running_rows(steps, n):
    """The rows visited after ``steps`` (``visits``' running sum) up to the last row, or
    None if the steps run out before the last row."""
    rows = np.empty(steps.shape[0], np.uint64)
    i = -1
    for k in range(steps.shape[0]):
        i += steps[k]
        if i >= n:
            return rows[:k]
        rows[k] = i
    return None


@njit(cache=True, inline="always")
def _served(state: int) -> bool:
    return state == SVC_IN_SERVICE or state == SVC_DONE


@njit(cache=True)
def uniforms(key: np.uint64, n: int, j: int) -> np.ndarray:
    """``n`` draws ``_uniform(key, i, j)`` for i < n (for tests and Python-side use)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = _uniform(key, i, j)
    return out


def _in_blocks(kernel, n: int, args: tuple, out=None) -> None:
    """``kernel(work, *args[, part])`` once on each of up to ``threads()`` threads; each call
    takes blocks of rows (``sim.threads``) with ``next_block(work)`` until none is left.

    One call a thread, not a call a block: a call from Python costs microseconds, and with
    calls per block the blocks could not be small enough to share the rows evenly between
    threads (docs/performance.md, "Blocks taken inside the kernels"). ``out`` (an array or
    a NamedTuple of arrays) holds integer tallies: each thread adds into its own zeroed
    ``part`` of the same shape, and the parts are added up (integer sums do not depend on
    the order of addition). Per-block results (rows listed, float sums) are the kernel's
    to index by block; the caller adds float sums up in block order, so they come out the
    same for any thread count.
    """
    arrays = () if out is None else tuple(out) if isinstance(out, tuple) else (out,)
    if any(a.dtype.kind == "f" for a in arrays):
        raise TypeError("_in_blocks adds up integer tallies only: float sums go by block")
    count = threads.n_blocks(n)
    work = np.array([0, count, threads.BLOCK, n], np.int64)
    helpers = min(threads.threads(), count)
    if helpers <= 1:  # one thread adds into ``out`` itself: 3.9 against 10.1 us a call
        kernel(work, *args, *(() if out is None else (out,)))  # through parts (the tally's)
        return
    parts = [np.zeros((helpers, *a.shape), a.dtype) for a in arrays]

    def run(t: int) -> None:
        mine = [part[t] for part in parts]
        if out is not None:
            mine = [type(out)(*mine) if isinstance(out, tuple) else mine[0]]
        kernel(work, *args, *mine)

    threads.each_part(helpers, run)
    for a, part in zip(arrays, parts, strict=True):
        a += part.sum(axis=0)


@intrinsic
def _take_next(typingctx, work):
    """Atomically add 1 to ``work[0]`` and return its value before (threads share ``work``)."""
    sig = types.int64(work)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary,
                                       [context.get_constant(types.intp, 0)])
        return builder.atomic_rmw("add", ptr, ir.Constant(ir.IntType(64), 1), "monotonic")

    return sig, codegen


@njit(cache=True, inline="always")
def next_block(work):
    """The next block of rows no thread has taken, as (block, lo, hi); block -1 when all are
    taken. ``work``: int64[4] of ``_in_blocks``: next block, blocks, rows a block, rows."""
    b = _take_next(work)
    if b >= work[1]:
        return -1, 0, 0
    lo = b * work[2]
    return b, lo, min(work[3], lo + work[2])


@intrinsic
def prefetch(typingctx, arr, index):
    """Ask the CPU to bring the cache line of row ``index`` of ``arr`` in (a hint: it changes
    no result). A kernel that lists rows to visit later prefetches what the visit will read,
    so the misses overlap the listing instead of stalling the visit."""
    sig = types.void(arr, index)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary,
                                       [args[1]] + [zero] * (aryty.ndim - 1))
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(
            ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, keep
        return context.get_dummy_value()

    return sig, codegen


_row_buffers = threading.local()


NOTE_ROWS = 1024  # rows noted at a time by the branch-free first passes (in L1 cache)


@njit(cache=True)
def noted_rows(noted, rows, first, out):
    """List in ``out`` the rows ``first + k`` (k < ``rows``) whose ``noted[k]`` is not 0, in
    order; return how many. ``noted``: uint8, its length a multiple of 8.

    The second half of a kernel's pass over rows most of which have nothing to do: a first
    loop notes every row without a branch, which LLVM vectorizes (uint32 arithmetic over
    1-D arrays: ``row_words``); this then skips eight rows at a time where none is noted.
    A branch-free list of every row instead (each row written, kept if it qualifies) cost
    4.5 against 0.9 ns a row for the services' screen at 1M rows."""
    words = noted.view(np.uint64)
    found = 0
    for w in range((rows + 7) >> 3):
        if words[w] == 0:
            continue
        for k in range(8 * w, min(8 * w + 8, rows)):
            out[found] = first + k
            found += noted[k] != 0
    return found


@njit(cache=True, inline="always")
def byte_is(word, k, value):
    """Whether byte ``k`` of a ``row_words`` word (service ``k``'s state) is ``value``, in
    uint32 arithmetic (so that loops reading it vectorize)."""
    return ((word >> np.uint32(8 * k)) & np.uint32(255)) == np.uint32(value)


@njit(cache=True, inline="always")
def states_are(word, value):
    """Bit ``k`` set where byte ``k`` of a ``row_words`` word (service ``k``'s state) is
    ``value`` (uint32, no branch)."""
    u = np.uint32
    return (u(byte_is(word, 0, value)) | (u(byte_is(word, 1, value)) << u(1))
            | (u(byte_is(word, 2, value)) << u(2)) | (u(byte_is(word, 3, value)) << u(3)))


def row_words(a: np.ndarray) -> np.ndarray:
    """Each row of a C-contiguous 2-D array as one little-endian unsigned integer (a view):
    the four int8 service states as a uint32, the four int16 service weeks as a uint64. A
    kernel then reads a row in one load, and a loop over 1-D arrays only is one LLVM
    vectorizes (with 2-D indexing it did not: ``_screen_requests``, the tally)."""
    return a.view(np.dtype(f"<u{a.shape[1] * a.itemsize}")).reshape(a.shape[0])


def row_buffer(name: str, n: int) -> np.ndarray:
    """Scratch room for ``n`` row numbers (uint32; its contents are left over), the same
    memory every week for this thread and ``name``.

    Kernels list rows block by block into such room (``_listed``). A fresh 8 MB array a
    week per list cost system time: NumPy asks the kernel for huge pages for large arrays,
    and each is zeroed when first written, 1.3 ms of a 1M-row week on one thread and 4.7 ms
    on two (docs/performance.md, "Threads, third round"). Per thread, because models may
    step in several threads at once (the app, dask workers).
    """
    if n >= 2**32:
        raise ValueError(f"{n} rows: row lists hold row numbers below 2**32")
    buffers = _row_buffers.__dict__
    room = buffers.get(name)
    if room is None or room.shape[0] < n:
        grown = 0 if room is None else 3 * room.shape[0] // 2  # runs grow week by week
        room = buffers[name] = np.empty(max(n, 1024, grown), np.uint32)
    return room[:n]


@njit(cache=True)
def _listed(rows, found, block):
    """The rows that blocks listed in ``rows`` (block ``b`` from row ``b * block``, ``found[b]``
    of them), in row order."""
    out = np.empty(found.sum(), rows.dtype)
    k = 0
    for b in range(found.shape[0]):
        out[k:k + found[b]] = rows[b * block:b * block + found[b]]
        k += found[b]
    return out
