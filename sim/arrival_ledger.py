"""Arrival statistics by city of arrival, kept as arrivals and first moves into stable
housing happen instead of recounted from every row every week.

Per city of arrival (``origin``) and arrival week of the run: the people who arrived, those
of them who ever reached stable housing and those who reached it within a year of arriving,
and the summed weeks from arrival to stable housing. Earlier newcomers (arrival week < 0)
are not arrivals of the run and are not counted. A row is added when it is appended (with
its stable week, if it arrived into stable housing); ``kernels.step_housing`` records each
first move into stable housing (``kernels.FirstStable``). The weekly tally reads the
statistics off here (``fill``) instead of working them out for every row every week (~3 ns a
row-week: docs/performance.md, "Kernels, third round").
"""

from __future__ import annotations

import numpy as np

from sim import kernels
from sim.codes import WEEKS_PER_YEAR
from sim.state import MigrantArrays


class ArrivalLedger:
    """Arrivals of the run by (city of arrival, arrival week), and their way to stable
    housing (by city of arrival)."""

    def __init__(self, n_muni: int, weeks: int) -> None:
        shape = (n_muni, max(1, weeks) + 1)
        self.arrived = np.zeros(shape, np.int64)
        # by arrival week, as the tally's "a year ago" columns need
        self.within_year = np.zeros(shape, np.int64)  # reached it within 52 weeks of arriving
        self.reached = np.zeros(n_muni, np.int64)  # ever reached stable housing
        self.weeks_to_stable = np.zeros(n_muni, np.int64)  # summed, of those who reached it

    @classmethod
    def of(cls, state: MigrantArrays, n_muni: int, weeks: int) -> ArrivalLedger:
        """The ledger of every row of ``state`` as it is now (a recount, as at set-up)."""
        ledger = cls(n_muni, weeks)
        ledger.add(state, 0, state.n)
        return ledger

    def add(self, state: MigrantArrays, start: int, end: int) -> None:
        """Rows ``start:end``, just appended; those already in stable housing count as having
        reached it in their ``stable_week``."""
        if end <= start:  # no arrivals this week
            return
        aw = state.arrival_week[start:end].astype(np.int64)
        ours = aw >= 0
        o = state.origin[start:end][ours].astype(np.int64)
        aw = aw[ours]
        sw = state.stable_week[start:end][ours].astype(np.int64)
        if len(aw):
            self._reach(int(aw.max()))
        np.add.at(self.arrived, (o, aw), 1)
        got = sw >= 0
        np.add.at(self.reached, o[got], 1)
        np.add.at(self.within_year, (o[got], aw[got]), sw[got] - aw[got] <= WEEKS_PER_YEAR)
        np.add.at(self.weeks_to_stable, o[got], sw[got] - aw[got])

    def first_stable(self, state: MigrantArrays, week: int) -> kernels.FirstStable:
        """What ``kernels.step_housing`` records first moves into stable housing in (wide
        enough for every arrival week up to ``week``)."""
        self._reach(week)
        return kernels.FirstStable(state.origin, state.arrival_week, self.reached,
                                   self.within_year, self.weeks_to_stable)

    def fill(self, misc: np.ndarray, week: int) -> None:
        """``Tally.misc`` columns 1 (arrived), 3 (reached stable housing), 4 (summed weeks to
        it), 12 (arrived at least a year before ``week``) and 13 (of those, in stable housing
        within a year of arriving)."""
        misc[:, 1] = self.arrived.sum(axis=1)
        misc[:, 3] = self.reached
        misc[:, 4] = self.weeks_to_stable
        year_ago = max(0, week - WEEKS_PER_YEAR + 1)  # arrival weeks 0 .. week - 52
        misc[:, 12] = self.arrived[:, :year_ago].sum(axis=1)
        misc[:, 13] = self.within_year[:, :year_ago].sum(axis=1)

    def _reach(self, week: int) -> None:
        """Widen the tables to arrival week ``week`` (a model stepped past its horizon)."""
        extra = week + 1 - self.arrived.shape[1]
        if extra > 0:
            pad = ((0, 0), (0, extra))
            self.arrived = np.pad(self.arrived, pad)
            self.within_year = np.pad(self.within_year, pad)
