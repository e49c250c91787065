"""Process 7: secondary moves between municipalities.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.codes import (
    DEPARTED,
    FRIENDS,
    NO_JOB,
    STABLE,
)
from sim.kernels.base import (
    _uniform,
    visits,
)


@njit(cache=True)
def step_moves(housing, muni, employment, key, move_p, unsettled_factor, destination_cdf,
               out_moves):
    """Secondary moves: unsettled people move more; destinations follow a choice table.

    Args:
        move_p: float64[m] weekly move chance of a settled person in each city (already
            raised where transport is poor). unsettled_factor: multiplier for people
            without stable housing or without a job.
        destination_cdf: float64[m, m] row o is the cumulative destination
            distribution of movers from o (zero on the diagonal).
        out_moves: int64[m, m] movers from row to column.
    """
    n_muni = destination_cdf.shape[0]
    if n_muni < 2:
        return
    # Candidates are picked at the highest weekly chance of any row, then each is kept
    # with its own chance over that (thinning): the same per-person chances, without a
    # draw for every row.
    factor = np.array([1.0, unsettled_factor])
    p_max = min(1.0, move_p.max() * max(1.0, unsettled_factor))
    for i in visits(key, p_max, housing.shape[0]):
        o = muni[i]
        if housing[i] != DEPARTED and destination_cdf[o, n_muni - 1] > 0.0:
            unsettled = (housing[i] != STABLE) | (employment[i] == NO_JOB)
            if _uniform(key, i, 0) * p_max < move_p[o] * factor[np.int64(unsettled)]:
                u = _uniform(key, i, 1)
                d = 0
                while d < n_muni - 1 and destination_cdf[o, d] <= u:
                    d += 1
                if d != o:
                    muni[i] = d
                    housing[i] = FRIENDS
                    employment[i] = NO_JOB
                    out_moves[o, d] += 1
