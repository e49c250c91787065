"""Process 3: losses of temporary housing and shelter placement.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import threads
from sim.codes import (
    FRIENDS,
    INTERIM,
    PRECARIOUS,
    SHELTER,
    UNSHELTERED,
)
from sim.kernels.base import (
    NOTE_ROWS,
    _in_blocks,
    _listed,
    _uniform,
    next_block,
    noted_rows,
    row_buffer,
    visits,
)


class LossParams(NamedTuple):
    """Weekly chances of losing a temporary or precarious place to sleep."""

    friends_breakdown: float
    precarious_loss: float
    lost_to_friends: float


def step_reception(housing, muni, shelter_week, week, key, p, beds, interim_places,
                   overflow_places, capped, out_occupancy):
    """Housing losses, then shelter placement first come, first served; then everyone
    in shelter or interim housing has this week recorded as ``shelter_week``.

    People who lose a stay with friends or a precarious tenancy either find other
    friends or need shelter. Everyone unsheltered then asks for a bed: regular beds
    first, then federally funded interim places, then (where the city does not cap
    intake) paid overflow places; whoever is left stays unsheltered.

    Args:
        housing: int8[n] updated; muni: int16[n]; shelter_week: int16[n] updated.
        p: LossParams. beds, interim_places, overflow_places: int64[m] capacities in
            agents. capped: bool[m], the city refuses intake beyond its beds.
        out_occupancy: int64[m, 3] written: shelter (incl. overflow), interim,
            unsheltered after placement.
    """
    n = housing.shape[0]
    _housing_losses(housing, key, p)
    # Who sleeps where, block by block on threads: per city in shelter and in interim
    # housing, and the rows sleeping rough (listed in row order).
    placed = np.zeros((beds.shape[0], 2), np.int64)
    seekers = row_buffer("reception seekers", n)
    found = np.zeros(threads.n_blocks(n), np.int64)
    _in_blocks(_sleeping_block, n, (housing, muni, shelter_week, week, seekers, found), placed)
    _place_seekers(_listed(seekers, found, threads.BLOCK), housing, muni, shelter_week, week,
                   beds, interim_places, overflow_places, capped, placed, out_occupancy)


@njit(cache=True)
def _housing_losses(housing, key, p):
    """Stays with friends and precarious tenancies that end this week (rare: ``visits``)."""
    p_max = min(1.0, max(p.friends_breakdown, p.precarious_loss))
    for i in visits(key, p_max, housing.shape[0]):
        h = housing[i]
        if (h == FRIENDS) | (h == PRECARIOUS) and _uniform(key, i, 0) * p_max < (
                p.friends_breakdown if h == FRIENDS else p.precarious_loss):
            housing[i] = FRIENDS if _uniform(key, i, 1) < p.lost_to_friends else UNSHELTERED


@njit(cache=True, nogil=True)
def _sleeping_block(work, housing, muni, shelter_week, week, seekers, found, out_placed):
    """``_sleeping_rows`` of the blocks of rows this call takes (``next_block``), block
    ``b`` listing ``found[b]`` rows."""
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            return
        found[b] = _sleeping_rows(lo, hi, housing, muni, shelter_week, week, seekers,
                                  out_placed)


@njit(cache=True)
def _sleeping_rows(lo, hi, housing, muni, shelter_week, week, seekers, out_placed):
    """Rows lo:hi: count people in shelter and interim housing per city (``out_placed``)
    and record the week as their ``shelter_week``, list those sleeping rough in
    ``seekers[lo:]`` and return how many. Most rows are housed: a note a row without a
    branch, then the rows noted (``noted_rows``)."""
    u = np.uint32
    n_seekers = 0
    noted, rows = np.empty(NOTE_ROWS, np.uint8), np.empty(NOTE_ROWS, np.uint32)
    for c0 in range(lo, hi, NOTE_ROWS):
        c1 = min(hi, c0 + NOTE_ROWS)
        for i in range(np.uint64(c0), np.uint64(c1)):  # unsigned: no negative-index checks
            h = u(housing[i])
            noted[i - np.uint64(c0)] = np.uint8(u(h == u(UNSHELTERED)) | u(h == u(SHELTER))
                                                | u(h == u(INTERIM)))
        for k in range(noted_rows(noted, c1 - c0, c0, rows)):
            i = rows[k]
            h = housing[i]
            if h == UNSHELTERED:
                seekers[lo + n_seekers] = i
                n_seekers += 1
            else:
                out_placed[muni[i], np.int64(h == INTERIM)] += 1
                shelter_week[i] = week
    return n_seekers


@njit(cache=True)
def _place_seekers(seekers, housing, muni, shelter_week, week, beds, interim_places,
                   overflow_places, capped, placed, out_occupancy):
    """Beds, then interim places, then overflow, first come first served in row order
    (whoever is placed has the week recorded as ``shelter_week``)."""
    n_muni = beds.shape[0]
    shelter = placed[:, 0].copy()
    interim = placed[:, 1].copy()
    unsheltered = np.zeros(n_muni, np.int64)
    for k in range(seekers.shape[0]):
        i = seekers[k]
        m = muni[i]
        if shelter[m] < beds[m]:
            housing[i] = SHELTER
            shelter[m] += 1
        elif interim[m] < interim_places[m]:
            housing[i] = INTERIM
            interim[m] += 1
        elif not capped[m] and shelter[m] < beds[m] + overflow_places[m]:
            housing[i] = SHELTER
            shelter[m] += 1
        else:
            unsheltered[m] += 1
            continue
        shelter_week[i] = week
    for m in range(n_muni):
        out_occupancy[m, 0] = shelter[m]
        out_occupancy[m, 1] = interim[m]
        out_occupancy[m, 2] = unsheltered[m]
