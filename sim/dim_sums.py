"""The kept sums of the integration dimensions, which the weekly tally changes only for the
people whose situation changed or whose slice is due (``sim.kernels.dims``).

Per slice of rows and per city (and per status): the sums of the targets and of
``(start - target) r^(E - w0)``, so the sum of the dimensions at the end of week ``t`` is
``targets + r^(t - E + 1) x the other``; the index histogram of this week, and a ring of the
changes the weeks to come will bring to it (the weeks an index crosses a decile).
"""

from __future__ import annotations

import numpy as np

from sim import kernels
from sim.codes import N_STATUS
from sim.kernels.dims import (
    CHUNK_SHIFT,
    KEY_GONE,
    N_SUM,
    PER_CITY,
    DimColumns,
    Settle,
    SettleOut,
    TargetTables,
)


class DimensionSums:
    """The integration dimensions' sums and histogram, kept from week to week."""

    def __init__(self, slices: int, n_muni: int, adjust: float, weights: np.ndarray) -> None:
        if n_muni * PER_CITY + 1 >= KEY_GONE:
            raise ValueError(f"{n_muni} municipalities: a situation key holds at most "
                             f"{(int(KEY_GONE) - 1) // PER_CITY}")
        self.slices = slices
        self.sums = np.zeros((slices, n_muni, 2, N_SUM))
        self.status_sums = np.zeros((slices, N_STATUS, 2))
        self.epoch = np.zeros(slices, np.int64)
        self.hist = np.zeros((n_muni, 10), np.int64)
        self.ring = np.zeros((slices + 1, n_muni, 10), np.int64)
        self.adjust = adjust
        self.weights = np.array(weights, np.float64)
        self.powers, self.inverse = self._powers(adjust)
        self.settle_all = True  # the first settling is of everyone (nobody is settled yet)
        self._weights_seen: np.ndarray | None = None  # the weights given last (unchanged: same)
        self._chunk_slice = np.zeros(0, np.int64)
        self._changes = SettleOut(np.zeros_like(self.sums), np.zeros_like(self.status_sums),
                                  np.zeros_like(self.hist), np.zeros_like(self.ring))

    def _powers(self, adjust: float) -> tuple[np.ndarray, np.ndarray]:
        """r^k for k <= slices + 1 and r^-k for k <= slices (r = 1 - adjust; with r = 0,
        which has no inverse, everyone is settled every week)."""
        r = 1.0 - adjust
        k = np.arange(self.slices + 2, dtype=float)
        return r ** k, r ** -k[:-1] if r > 0 else np.ones(self.slices + 1)

    def settle(self, week: int, adjust: float, weights: np.ndarray, tables: TargetTables,
               rows: int) -> Settle:
        """This week's ``Settle``. This week's part of the ring is taken into the histogram
        first; a change of ``adjust`` or of the weights settles everyone."""
        slot = week % self.ring.shape[0]
        self.hist += self.ring[slot]
        self.ring[slot] = 0
        old_powers, old_weights = self.powers, self.weights
        if adjust != self.adjust or (weights is not self._weights_seen
                                     and not np.array_equal(weights, self.weights)):
            self.adjust, self.weights = adjust, np.array(weights, np.float64)
            self.powers, self.inverse = self._powers(adjust)
            self.settle_all = True
        self._weights_seen = weights
        chunks = -(-rows >> CHUNK_SHIFT)
        if self._chunk_slice.shape[0] < chunks:  # rows only grow: made anew now and then
            self._chunk_slice = np.arange(2 * chunks) % self.slices
        chunk_slice = self._chunk_slice[:chunks]
        rebuild, epoch, until, held_to, due = kernels.settle_plan(
            week, self.slices, self.settle_all or self.adjust == 1.0, self.epoch, chunk_slice)
        return Settle(week, rebuild, epoch, until, held_to, chunk_slice, due, self.powers,
                      self.inverse, old_powers, self.weights, old_weights, tables)

    def changes(self) -> SettleOut:
        """Zeroed arrays for one pass's changes (the same arrays every week: ``take`` zeroes
        them again)."""
        return self._changes

    def take(self, settle: Settle, changes: SettleOut) -> tuple[np.ndarray, np.ndarray]:
        """Add a pass's changes (the slices settled whole start from nothing); return the
        ``totals`` of the pass's week."""
        self.epoch = settle.epoch
        self.settle_all = False
        return kernels.take_changes(self.sums, self.status_sums, self.hist, self.ring,
                                    settle.rebuild, changes, self.powers, self.epoch, settle.week)

    def totals(self, week: int) -> tuple[np.ndarray, np.ndarray]:
        """Sums at the end of ``week`` of the five dimensions and the index per city,
        float64[m, N_DIM + 1], and of the index per status, float64[status]."""
        return kernels.kept_totals(self.sums, self.status_sums, self.powers, self.epoch, week)

    def now(self, columns: DimColumns, rows: np.ndarray, week: int) -> np.ndarray:
        """float64[len(rows), N_DIM]: the dimensions of ``rows`` at the end of ``week``."""
        return kernels.dims_now(np.asarray(rows, np.int64), columns, week, self.powers)

