"""Process 9: the end-of-week count of every migrant that the outputs are built from.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import threads
from sim.codes import (
    CHILD,
    CORE,
    DEPARTED,
    N_AGE,
    N_HOUSING,
    N_SERVICE,
    N_STATUS,
    NO_JOB,
    PRECARIOUS,
    SENIOR,
    STABLE,
    SVC_IN_SERVICE,
    SVC_WAITING,
    YOUTH,
)
from sim.kernels.base import (
    _in_blocks,
    byte_is,
    next_block,
    noted_rows,
    prefetch,
    row_buffer,
    row_words,
    states_are,
)
from sim.kernels.dims import (
    CHUNK_SHIFT,
    KEY_FRESH,
    KEY_GONE,
    Settle,
    SettleOut,
    row_key,
    services_code,
    settle_rows,
    situation_of,
)


class TallyOut(NamedTuple):
    """The arrays the end-of-week tally adds into (m = municipality).

    counts: int64[m, status, housing] present (and departed) people.
    services: int64[m, S, 3]: waiting, sum of current waits (weeks), in service.
    status_count: int64[status] present people.
    misc: int64[m, 14]: employed (of all present), arrived here (origin), still here of
        those, ever reached stable housing, summed weeks to reach it (these four: arrivals
        of the run only, not the earlier newcomers), present aged 15-64, employed of them,
        present aged 25-54, employed of them, present aged 25-54 and here at most
        ``recent`` weeks, employed of them, children (0-14), arrived here (origin) at least
        a year ago (departed included), those of them who reached stable housing within a
        year of arriving. Columns 1, 3, 4, 12 and 13 are not counted here: they are kept
        as people arrive and move into stable housing (``sim.arrival_ledger``).
    homeless: int64[m, 2] actively homeless: all, refugees (see ``tally``).
    waiting_by: int64[m, S, 3] waiting by ``eligibility`` class (``ELIG_*``).
    sums, status_sums, hist, ring: the changes to the kept sums of the integration
        dimensions (``sim.kernels.dims.SettleOut``) from the rows settled this week.
    """

    counts: np.ndarray
    services: np.ndarray
    status_count: np.ndarray
    misc: np.ndarray
    homeless: np.ndarray
    waiting_by: np.ndarray
    sums: np.ndarray
    status_sums: np.ndarray
    hist: np.ndarray
    ring: np.ndarray


class TallyParams(NamedTuple):
    """What the tally needs besides the migrant columns."""

    week: int
    window: int  # weeks of shelter use that still count as actively homeless
    refugee: np.ndarray  # bool[status]: in the refugee group of the homeless count
    recent: int  # weeks since arrival within which a person is a recent immigrant (LFS: 5 y)
    eligibility: np.ndarray  # int8[m, S, status]: step_services' eligibility classes
    settling: bool  # settle the integration dimensions (not in the count at set-up)
    settle: Settle


class KeptCounts(NamedTuple):
    """The counts the tally keeps from week to week (m = municipality). A row is counted at
    its situation (its ``situation_key``) and its ``tally_flags`` (age band, recency,
    actively homeless); a week's tally changes the counts only for the rows whose key or
    flags changed, taken out at the old ones and put in at the new.

    counts: int64[m, status, housing] present (and departed) people.
    combos: int64[m, status, 256] present people by the combination of their four service
        states (the tally's ``services`` code), which the service counts are read off.
    people: int64[m, 8 * N_AGE] present people by age band, job, recency (core age) and
        whether an arrival of the run is still in the city of arrival.
    homeless: int64[m, status] actively homeless.
    """

    counts: np.ndarray
    combos: np.ndarray
    people: np.ndarray
    homeless: np.ndarray

    @classmethod
    def empty(cls, n_muni: int) -> KeptCounts:
        """Nobody counted yet (every row's key ``KEY_FRESH``)."""
        return cls(np.zeros((n_muni, N_STATUS, N_HOUSING), np.int64),
                   np.zeros((n_muni, N_STATUS, 256), np.int64),
                   np.zeros((n_muni, 8 * N_AGE), np.int64),
                   np.zeros((n_muni, N_STATUS), np.int64))


# The integer arrays each thread adds into (``_in_blocks``): the changes to the kept counts,
# the week's summed waits (int64[m, S]) and the settled rows' histogram changes.
_Counts = NamedTuple("_Counts", [(name, np.ndarray) for name in (
    *KeptCounts._fields, "waits", "hist", "ring")])


def tally(status, housing, muni, origin, employment, svc_state, svc_week, arrival_week,
          shelter_week, age, tally_flags, dim_columns, p, kept, out):
    """The weekly outputs of MODEL.md section 6 from the counts ``kept`` from week to week,
    which one pass over all migrants brings up to date; it also settles the integration
    dimensions of the rows whose situation changed or whose slice is due
    (``sim.kernels.dims``).

    With ``p.settling`` (every week of a run) a row's key (``dim_columns.key``, which the
    settling keeps) and ``tally_flags`` say what it was last counted as, and ``kept`` holds
    those counts: only the rows whose key or flags differ now are counted again, a few per
    cent a week (counting every row into every table cost 8-9 ns a row at 1M rows; noting
    the rows that changed, ~1: docs/performance.md). Without settling (the count at set-up)
    every row is counted into ``kept`` as new, which should then be empty, and neither keys
    nor flags change.

    Block by block on threads (``sim.threads``): the counts are integers (added up in any
    order); the float sums of the settled rows are kept by block and added in block order,
    so they come out the same for any thread count.

    Args:
        tally_flags: uint8[n], kept (``_flags``). dim_columns: DimColumns. p: TallyParams.
        kept: KeptCounts, brought up to date. out: TallyOut, added into.
    """
    n = status.shape[0]
    count = threads.n_blocks(n)
    if count == 1:  # one block: its float sums go straight into ``out``
        sums, status_sums = out.sums[None], out.status_sums[None]
    else:
        sums = np.zeros((count, *out.sums.shape))
        status_sums = np.zeros((count, *out.status_sums.shape))
    waits = np.zeros((out.services.shape[0], N_SERVICE), np.int64)
    _in_blocks(_tally_block, n, (
        status, housing, muni, origin, employment, svc_state, row_words(svc_state), svc_week,
        arrival_week, shelter_week, age, tally_flags, dim_columns, row_buffer("settle", n), p,
        sums, status_sums), _Counts(*kept, waits, out.hist, out.ring))
    if count > 1:
        _add_in_order(out.sums, sums)
        _add_in_order(out.status_sums, status_sums)
    _read_off(kept, waits, p.eligibility, p.refugee, out)  # not p: 6 us less to unbox


@njit(cache=True)
def _add_in_order(total, by_block):
    """Add ``by_block[0]``, ``by_block[1]``, ... into ``total``, in that order."""
    for b in range(by_block.shape[0]):
        total += by_block[b]


@njit(cache=True, nogil=True)
def _tally_block(work, status, housing, muni, origin, employment, svc_state, svc, svc_week,
                 arrival_week, shelter_week, age, flags, dc, rows, p, sums, status_sums, out):
    """``tally`` of the blocks of rows this call takes (``next_block``), added into ``out``
    (``_Counts``) and, for the float sums of block ``b``, ``sums[b]`` and
    ``status_sums[b]``."""
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            return
        _tally_rows(lo, hi, status, housing, muni, origin, employment, svc_state, svc, svc_week,
                    arrival_week, shelter_week, age, flags, dc, rows, p,
                    SettleOut(sums[b], status_sums[b], out.hist, out.ring), out)


@njit(cache=True, inline="always")
def _any_waiting(states):
    """Whether any of a row's services (its ``row_words`` word) is waiting."""
    return states_are(states, SVC_WAITING) != 0


@njit(cache=True, inline="always")
def _flags(age, arrival_week, shelter_week, h, week, recent, window):
    """A present row's ``tally_flags``: its age band, whether a recent immigrant of core
    age, whether actively homeless (the parts of its count that its key does not hold).
    The City of Toronto's "actively homeless": used shelter in the last ``window`` weeks
    and not moved to housing (any rental, stable or precarious, counts). uint32 and int32
    arithmetic, as ``situation_key``, so that the tally's first pass is vectorized."""
    u = np.uint32
    a = u(age)
    recent_here = u(a == u(CORE)) & u(week - np.int32(arrival_week) <= recent)
    sh = np.int32(shelter_week)
    homeless = (u(h != u(STABLE)) & u(h != u(PRECARIOUS)) & u(sh >= np.int32(0))
                & u(week - sh < window))
    return a | (recent_here << u(3)) | (homeless << u(4))


@njit(cache=True, inline="always")
def _count(out, sign, m, s, h, e, code, f, home):
    """Add ``sign`` (+1 or -1) for one row at situation (m, s, h, e, code) with flags ``f``
    and ``home`` (still in its city of arrival) to the kept counts' changes ``out``."""
    out.counts[m, s, h] += sign
    if h != DEPARTED:
        # People by age, job, recency and home: one count a row, read off at the end (as
        # the service states by combination).
        out.people[m, 8 * (f & 7) + 4 * (e != NO_JOB) + 2 * ((f >> 3) & 1) + home] += sign
        out.combos[m, s, code] += sign
        out.homeless[m, s] += sign * ((f >> 4) & 1)


# What the first pass of ``_tally_rows`` notes of a row, one bit each.
_CHANGED = 1  # its situation key differs from the kept one (departed: it left this week)
_FLAGS = 2  # its flags differ from the kept ones
_WAITING = 4  # present and waiting for a service (its wait is summed every week)


@njit(cache=True)
def _tally_rows(lo, hi, status, housing, muni, origin, employment, svc_state, svc, svc_week,
                arrival_week, shelter_week, age, flags, dc, rows, p, settle_out, out):
    """Rows lo:hi of ``_tally_block``: the changes of their counts into ``out``; the rows
    to settle are listed in ``rows[lo:]`` and settled chunk by chunk, while the chunk's
    columns are in cache (their changes go to ``settle_out``).

    Two passes a chunk: the first notes for every row, without a branch (vectorized: ~0.8
    ns a row at 1M rows), what about it changed and whether it is settled if the chunk is
    due; the second visits the few rows noted (``noted_rows``)."""
    u = np.uint32
    fresh = not p.settling  # count every row as new, and keep nothing
    week, recent, window = np.int32(p.week), np.int32(p.recent), np.int32(p.window)
    noted, settles = np.empty(1 << CHUNK_SHIFT, np.uint8), np.empty(1 << CHUNK_SHIFT, np.uint8)
    visit = np.empty(1 << CHUNK_SHIFT, np.uint32)
    c1 = lo
    while c1 < hi:
        c0, c1 = c1, min(hi, ((c1 >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT)
        due = p.settling and p.settle.due[c0 >> CHUNK_SHIFT]
        for i in range(np.uint64(c0), np.uint64(c1)):  # unsigned: no negative-index checks
            h = u(housing[i])
            gone = h == u(DEPARTED)
            key = KEY_GONE if gone else row_key(i, muni, status, housing, employment, svc)
            old = dc.key[i]
            kept_flags = u(flags[i])
            f = kept_flags if gone else _flags(age[i], arrival_week[i], shelter_week[i], h,
                                               week, recent, window)
            noted[i - np.uint64(c0)] = np.uint8(
                u((key != old) | fresh) | (u(f != kept_flags) << u(1))
                | (u(_any_waiting(svc[i]) & (not gone)) << u(2)))
            settles[i - np.uint64(c0)] = (not gone) | (old != KEY_GONE)
        found = noted_rows(settles, c1 - c0, c0, rows[c0:c1]) if due else 0
        for k in range(noted_rows(noted, c1 - c0, c0, visit)):
            i = np.uint64(visit[k])
            x = noted[i - np.uint64(c0)]
            m, s, h = np.uint32(muni[i]), np.uint32(status[i]), np.uint32(housing[i])
            old = dc.key[i]
            if x & (_CHANGED | _FLAGS):  # a few per cent of rows a week
                aw = arrival_week[i]
                # (one departed stays departed: the model brings nobody back, so a kept
                # key is never KEY_GONE here but for a test that does)
                if not fresh and old != KEY_FRESH and old != KEY_GONE:
                    m0, s0, h0, e0, code0 = situation_of(old)
                    _count(out, -1, m0, s0, h0, e0, code0, flags[i],
                           (m0 == origin[i]) & (aw >= 0))
                if h == DEPARTED:
                    out.counts[m, s, h] += 1
                else:
                    e = np.uint32(employment[i])
                    f = _flags(age[i], aw, shelter_week[i], h, week, recent, window)
                    if not fresh:
                        flags[i] = f
                    _count(out, 1, m, s, h, e, services_code(svc[i]), f,
                           (m == origin[i]) & (aw >= 0))
                if x & _CHANGED and not (due or fresh):  # settled at the chunk's end
                    rows[c0 + found] = i
                    found += 1
                    prefetch(dc.dims, i)
                    prefetch(dc.target, i)
                    prefetch(dc.since, i)
                    prefetch(dc.skill, i)
            if x & _WAITING:
                sv = svc[i]
                for service in range(N_SERVICE):
                    out.waits[m, service] += byte_is(sv, service, SVC_WAITING) * (
                        p.week - svc_week[i, service])
        if found:
            settle_rows(rows[c0:c0 + found], status, housing, muni, employment, svc_state, svc,
                        dc, p.settle, settle_out)


@njit(cache=True)
def _read_off(kept, waits, eligibility, refugee, out):
    """The week's outputs from the kept counts and the summed waits (``out``: added into;
    ``eligibility``, ``refugee``: those of ``TallyParams``)."""
    people = kept.people
    for m in range(people.shape[0]):
        for a in range(N_AGE):
            working = (a >= YOUTH) & (a < SENIOR)
            for e in range(2):
                for r in range(2):
                    for home in range(2):
                        c = people[m, 8 * a + 4 * e + 2 * r + home]
                        out.misc[m, 0] += c * e
                        out.misc[m, 2] += c * home
                        out.misc[m, 5] += c * working
                        out.misc[m, 6] += c * working * e
                        out.misc[m, 7] += c * (a == CORE)
                        out.misc[m, 8] += c * (a == CORE) * e
                        out.misc[m, 9] += c * r
                        out.misc[m, 10] += c * r * e
                        out.misc[m, 11] += c * (a == CHILD)
        for sv in range(N_SERVICE):
            out.services[m, sv, 1] += waits[m, sv]
        for s in range(kept.counts.shape[1]):
            out.homeless[m, 0] += kept.homeless[m, s]
            out.homeless[m, 1] += kept.homeless[m, s] * refugee[s]
            for h in range(kept.counts.shape[2]):
                out.counts[m, s, h] += kept.counts[m, s, h]
            if kept.counts[m, s].sum() == kept.counts[m, s, DEPARTED]:
                continue  # nobody of this status here
            for code in range(256):
                c = kept.combos[m, s, code]
                if c == 0:
                    continue
                out.status_count[s] += c
                for sv in range(N_SERVICE):
                    st = (code >> (2 * sv)) & 3
                    out.services[m, sv, 0] += c * (st == SVC_WAITING)
                    out.services[m, sv, 2] += c * (st == SVC_IN_SERVICE)
                    out.waiting_by[m, sv, eligibility[m, sv, s]] += c * (st == SVC_WAITING)
