"""Process 9's record of the run: what each week keeps, and the output columns built from it.

A week keeps its tally, its statistics (``model.week_stats``) and the few values its
columns read from the agents (money, sentiment, policies, places on order). The columns
(``sim.outputs.municipal_columns`` and ``sim.outputs.week_totals``) are built when first
asked, for all the weeks kept since at once: built one week at a time they cost more than
stepping a small run's week (docs/performance.md, "Small runs, second round").
A run read only at its end (the command line, sweeps) builds them once; the app, which
reads every week, builds each week as it comes. Either way the values are the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.mesa_import import mesa
from sim.outputs import REPORTED_POLICIES, Tally, Weeks, municipal_columns, week_totals


def agent_values(municipalities: list) -> list[tuple]:
    """``outputs.AGENT_VALUES`` of every municipality now."""
    return [(m.emergency.pressure, m.cash, m.budget_per_year, m.sentiment, m.rent,
             m.params.population, sum(o.places for o in m.emergency.pipeline),
             *(m.policies[p] for p in REPORTED_POLICIES)) for m in municipalities]


@dataclass
class Kept:
    """One week as collect leaves it (references: every array is the week's own)."""

    week: int
    tally: Tally
    stats: dict[str, np.ndarray]
    agents: list[tuple]
    claims_earlier: float  # claims pending that are not agents (ClaimsQueue.earlier)
    decided_earlier: float  # this week's decisions of those claims
    hours_per_week: np.ndarray  # of one client, per service (a timeline may change it)


def stack(kept: list[Kept]) -> Weeks:
    """Kept weeks as one ``Weeks``, every array stacked along a leading axis of weeks (by
    ``np.array`` of the list: half the cost of ``np.stack`` for many small arrays)."""
    return Weeks(np.array([k.week for k in kept], np.int64),
                 Tally.stack([k.tally for k in kept]),
                 {key: np.array([k.stats[key] for k in kept]) for key in kept[0].stats},
                 np.array([k.agents for k in kept], float),
                 np.array([k.claims_earlier for k in kept], float),
                 np.array([k.decided_earlier for k in kept], float),
                 np.array([k.hours_per_week for k in kept]))


class WeekLog:
    """Every week collected so far, and its columns once built.

    Columns live in buffers with a leading axis of weeks (grown by doubling), so adding
    weeks does not copy the run so far and a week's row is a view.
    """

    def __init__(self, model: mesa.Model) -> None:
        self.model = model
        self._kept: list[Kept] = []
        self._columns: dict[str, np.ndarray] = {}  # name -> [capacity, municipalities]
        self._totals: dict[str, np.ndarray] = {}  # name -> [capacity]
        self._built = 0  # weeks in the buffers
        self._spent = 0.0  # cumulative spending to the last week built

    def keep(self, tally: Tally) -> None:
        """Keep this week (called once a week by collect, after the tally)."""
        model = self.model
        self._kept.append(Kept(model.week, tally, model.week_stats,
                               agent_values(model.municipalities), model.claims.earlier,
                               model.claims.decided_earlier, model.hours_per_week))

    def __len__(self) -> int:
        return self._built + len(self._kept)

    def build(self) -> None:
        """Build the columns of every week kept since the last build, in one go."""
        if not self._kept:
            return
        weeks = stack(self._kept)
        columns = municipal_columns(self.model, weeks)
        totals = week_totals(self.model, weeks, columns, self._spent)
        self._spent = float(totals["cumulative_spend"][-1])
        _append(self._columns, columns, self._built)
        _append(self._totals, totals, self._built)
        self._built += len(self._kept)
        self._kept = []

    @property
    def cumulative_spend(self) -> float:
        """All spending to the last week kept (CAD)."""
        self.build()
        return self._spent

    def columns(self) -> dict[str, np.ndarray]:
        """Every per-municipality column, weeks after one another (a municipality a row)."""
        self.build()
        return {name: a[:self._built].reshape(-1) for name, a in self._columns.items()}

    def column(self, name: str) -> np.ndarray:
        """One per-municipality column: [weeks, municipalities]."""
        self.build()
        return self._columns[name][:self._built]

    def row(self, week: int) -> dict[str, np.ndarray]:
        """One week's per-municipality columns (views); negative: from the end."""
        self.build()
        i = range(self._built)[week]
        return {name: a[i] for name, a in self._columns.items()}

    def totals(self, start: int = 0) -> dict[str, np.ndarray]:
        """System totals of the weeks from ``start`` on: float[weeks - start] each."""
        self.build()
        return {name: a[start:self._built] for name, a in self._totals.items()}

    def total(self, week: int) -> dict[str, float]:
        """One week's system totals (negative: from the end), as Python floats."""
        self.build()
        i = range(self._built)[week]
        return {name: float(a[i]) for name, a in self._totals.items()}


def _append(buffers: dict[str, np.ndarray], new: dict[str, np.ndarray], at: int) -> None:
    """Write ``new`` (leading axis: weeks) into ``buffers`` at row ``at``, growing them."""
    for name, values in new.items():
        values = np.asarray(values)
        buf = buffers.get(name)
        end = at + len(values)
        if buf is None:  # the first weeks: the values as they are (arrays of this build's own)
            buffers[name] = np.ascontiguousarray(values)
            continue
        if len(buf) < end or buf.dtype != values.dtype:
            grown = np.empty((max(end, 2 * len(buf)), *values.shape[1:]),
                             np.result_type(buf.dtype, values.dtype))
            grown[:at] = buf[:at]
            buf = buffers[name] = grown
        buf[at:end] = values


class History(Sequence):
    """``model.municipal_history``: one dict of columns per week collected, oldest first
    (each column a view of the log's buffers: float[m] or the like)."""

    def __init__(self, log: WeekLog) -> None:
        self._log = log

    def __len__(self) -> int:
        return len(self._log)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._log.row(j) for j in range(len(self))[i]]
        return self._log.row(i)
