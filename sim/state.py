"""Struct-of-arrays migrant state: one contiguous array per attribute.

Rows are appended as people arrive and are never reordered, so a row index is a
stable migrant id and index order is arrival order (first come, first served).
85 bytes per migrant (see ``bytes_per_migrant``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.codes import N_DIM, N_SERVICE
from sim.kernels.dims import DimColumns

# name -> (dtype, trailing shape)
LAYOUT: dict[str, tuple[type, tuple[int, ...]]] = {
    "status": (np.int8, ()),
    "household": (np.int8, ()),
    "age": (np.int8, ()),  # age band (sim.codes.AGES)
    "skill": (np.float32, ()),
    "language": (np.float32, ()),
    "arrival_week": (np.int16, ()),
    "origin": (np.int16, ()),  # municipality of arrival, for retention
    "muni": (np.int16, ()),
    "housing": (np.int8, ()),
    "stable_week": (np.int16, ()),  # first week in stable housing, -1 before
    "shelter_week": (np.int16, ()),  # last week in shelter or interim housing, -1 never
    "employment": (np.int8, ()),
    "status_due": (np.int16, ()),  # week of the next status event, -1 none
    "svc_state": (np.int8, (N_SERVICE,)),
    # svc_week: waiting: week joined; in service: weeks left; none: status at last decision
    "svc_week": (np.int16, (N_SERVICE,)),
    # the integration dimensions, kept lazily (sim.kernels.dims): values at the end of week
    # dim_since - 1, targets held from then, the situation they were set in (0: not yet)
    "dims": (np.float32, (N_DIM,)),
    "dim_target": (np.float32, (N_DIM,)),
    "dim_since": (np.int16, ()),
    "dim_key": (np.uint32, ()),
    # what the weekly tally last counted the row as besides its dim_key: age band, recent
    # immigrant of core age, actively homeless (sim.kernels.tallies.KeptCounts)
    "tally_flags": (np.uint8, ()),
    "francophone": (np.int8, ()),  # first official language French, outside Québec (0/1)
}


@dataclass
class MigrantArrays:
    """Columns of the migrant table; ``n`` rows are live, the rest is spare capacity."""

    n: int = 0
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def allocate(cls, capacity: int) -> MigrantArrays:
        capacity = max(int(capacity), 16)
        cols = {k: np.zeros((capacity, *shape), dtype) for k, (dtype, shape) in LAYOUT.items()}
        return cls(0, cols)

    @property
    def capacity(self) -> int:
        return len(self.columns["status"])

    def view(self, name: str) -> np.ndarray:
        """The live rows of one column (a view, not a copy)."""
        return self.columns[name][: self.n]

    def __getattr__(self, name: str) -> np.ndarray:
        """``arrays.status`` etc.: ``view(name)``, kept until the rows change (the kernels'
        callers read each column several times a week: a small run's week is mostly such
        fixed costs)."""
        if name in LAYOUT:
            live = self.__dict__[name] = self.columns[name][: self.n]
            return live
        raise AttributeError(name)

    def __getstate__(self) -> dict:
        """Copies and pickles carry the columns, not the kept views (they would be views of
        the original's columns)."""
        return {"n": self.n, "columns": self.columns}

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name in ("n", "columns"):  # the views kept by ``__getattr__`` are stale
            for column in LAYOUT:
                self.__dict__.pop(column, None)

    def dim_columns(self) -> DimColumns:
        """The columns of the lazy integration dimensions, as ``sim.kernels.dims`` takes them."""
        return DimColumns(self.dims, self.dim_target, self.dim_since, self.dim_key, self.skill,
                          self.arrival_week)

    def append(self, k: int) -> slice:
        """Make room for ``k`` new rows (doubling capacity when full); return their slice."""
        need = self.n + k
        if need > self.capacity:
            new_cap = max(need, 2 * self.capacity)
            for name, col in self.columns.items():
                grown = np.zeros((new_cap, *col.shape[1:]), col.dtype)
                grown[: self.n] = col[: self.n]
                self.columns[name] = grown
        rows = slice(self.n, need)
        self.n = need
        return rows


def bytes_per_migrant() -> int:
    """State bytes one migrant costs (the issue 7 target is at most 100)."""
    return sum(np.dtype(dt).itemsize * int(np.prod(shape)) for dt, shape in LAYOUT.values())


