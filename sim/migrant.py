"""The Migrant agent: a Mesa view on one row of the migrant arrays, made when first asked for.

A million Mesa objects would cost ~450 MB and seconds per step (NOTES.md), so the
state lives in arrays and a ``Migrant`` only reads and writes through them: the
agent and the arrays cannot disagree.
"""

from __future__ import annotations

import numpy as np

from sim.codes import DIMENSIONS, EMPLOYMENT, HOUSING, SERVICES, STATUSES
from sim.mesa_import import mesa

_SVC_STATES = ("none", "waiting", "in_service", "done")


def _coded(column: str, names: tuple[str, ...]) -> property:
    """A property exposing an integer-coded column by name, writable by name."""

    def get(self: Migrant) -> str:
        return names[int(self._col(column)[self.row])]

    def set_(self: Migrant, value: str) -> None:
        self._col(column)[self.row] = names.index(value)

    return property(get, set_, doc=f"{column} ({', '.join(names)})")


def _number(column: str, writable: bool = True) -> property:
    def get(self: Migrant) -> float:
        return self._col(column)[self.row].item()

    def set_(self: Migrant, value: float) -> None:
        self._col(column)[self.row] = value

    return property(get, set_ if writable else None, doc=column)


class Migrant(mesa.Agent):
    """One person (or ``scale`` people) in the migrant arrays; ``row`` is the stable id.

    A view is not registered with the model: looking at a migrant does not change
    ``model.agents`` (the municipalities and agencies) nor use up a Mesa ``unique_id``.
    Its ``unique_id`` is None; ``row`` identifies it, and two views of a row agree.
    """

    status = _coded("status", STATUSES)
    housing = _coded("housing", HOUSING)
    employment = _coded("employment", EMPLOYMENT)
    household = _number("household")
    skill = _number("skill")
    language = _number("language")
    # a fact of the past, read only: the arrival ledger counts arrivals by it
    arrival_week = _number("arrival_week", writable=False)

    def __init__(self, model: mesa.Model, row: int) -> None:
        if not 0 <= row < model.migrants.n:
            raise IndexError(f"no migrant row {row} (there are {model.migrants.n})")
        # not mesa.Agent.__init__, which would register the view as a model agent
        self.model = model
        self.unique_id = None
        self.pos = None
        self.row = row

    def _col(self, name: str) -> np.ndarray:
        return self.model.migrants.columns[name]

    @property
    def municipality(self) -> str:
        return self.model.municipalities[int(self._col("muni")[self.row])].name

    @municipality.setter
    def municipality(self, name: str) -> None:
        self._col("muni")[self.row] = self.model.scenario.muni_index()[name]

    @property
    def services(self) -> dict[str, str]:
        """State of each service: none, waiting, in_service or done."""
        states = self._col("svc_state")[self.row]
        return {s: _SVC_STATES[int(v)] for s, v in zip(SERVICES, states, strict=True)}

    @property
    def integration(self) -> dict[str, float]:
        """The five integration dimensions (Calgary's key result areas), each in [0, 1]."""
        return dict(zip(DIMENSIONS, map(float, self._dims()), strict=True))

    @property
    def integration_index(self) -> float:
        return float(self.model.index_weights @ self._dims())

    def _dims(self) -> np.ndarray:
        """The dimensions now (kept lazily: ``sim.kernels.dims``)."""
        return self.model.dimensions(np.array([self.row]))[0]

    def __repr__(self) -> str:
        return (f"Migrant(row={self.row}, {self.status}, {self.housing}, "
                f"{self.municipality}, index={self.integration_index:.2f})")
