"""Emergency places: what a city (or another government) has open and on order, and the rules
that open, fill and close them.

Places are counted in agents (one agent = ``run.scale`` people), like the beds the reception
kernel sees. The functions are pure over small arrays, so each rule is tested by hand
(tests/test_response.py); ``EmergencyState`` only keeps the books.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.params_response import PAYERS, Politics, Response


def strained(unsheltered: float, overflow: float, population: float, trigger_per_100k: float
             ) -> bool:
    """Visible strain: people (not agents) sleeping outside or in paid overflow, above the
    trigger per 100,000 residents (and at least one person)."""
    people = unsheltered + overflow
    return people > 0 and people >= trigger_per_100k * population / 100_000.0


def pressure_target(unsheltered: float, population: float, p: Politics) -> float:
    """Pressure to act that ``unsheltered`` people outside would sustain, in [0, 1)."""
    per_100k = unsheltered / population * 100_000.0
    return 1.0 - math.exp(-per_100k / p.pressure_scale_per_100k)


def fill_by_kind(occupied: int | np.ndarray, open_places: np.ndarray) -> np.ndarray:
    """Occupied emergency places per kind: places fill in the order of the kinds.

    Also for every city at once: ``occupied`` int[m], ``open_places`` int[m, kinds].
    """
    out = np.zeros_like(open_places)
    if not open_places.any():  # no place open: none filled (most weeks)
        return out
    left = np.asarray(occupied)
    for k in range(open_places.shape[-1]):
        out[..., k] = np.minimum(left, open_places[..., k])
        left = left - out[..., k]
    return out


def order(gap: int, kinds: list[int], room: np.ndarray, affordable: np.ndarray) -> np.ndarray:
    """Places to order per kind: the gap, then the margin, spread over ``kinds`` in order.

    Args:
        gap: places wanted (agents). kinds: indices of the kinds this opener may order,
            in order of preference. room: places each kind may still add under its limit.
        affordable: places of each kind the opener can pay for (a large number if the
            payer does not check its cash).
    """
    out = np.zeros(len(room), np.int64)
    left = gap
    for k in kinds:
        if left <= 0:
            break
        n = int(max(0, min(left, room[k], affordable[k])))
        out[k] = n
        left -= n
    return out


def closable(open_places: np.ndarray, occupied: np.ndarray, kinds: list[int],
             keep: int = 0) -> np.ndarray:
    """Empty places of ``kinds`` that can close, keeping ``keep`` empty places open.

    The last kinds in fill order are the emptiest, so they close first; nobody is moved
    out of an occupied place.
    """
    out = np.zeros_like(open_places)
    spare = int((open_places - occupied).sum()) - keep
    for k in reversed(kinds):
        if spare <= 0:
            break
        out[k] = min(spare, open_places[k] - occupied[k])
        spare -= out[k]
    return out


@dataclass
class Order:
    """Places of one kind that take people from ``week`` on."""

    week: int
    kind: int
    places: int
    opener: str  # "municipal", "provincial" or "federal"


@dataclass
class EmergencyState:
    """One municipality's emergency places, strain counters and pressure to act."""

    n_kinds: int
    open: np.ndarray = field(init=False)  # agents, by kind
    pipeline: list[Order] = field(default_factory=list)
    strain_weeks: int = 0  # consecutive weeks of visible strain
    calm_weeks: int = 0  # consecutive weeks without it
    pressure: float = 0.0  # pressure to act, 0-1
    pressure_peak: float = 0.0  # highest pressure since the fiscal year began
    cap_since: int | None = None  # week the current intake cap began

    def __post_init__(self) -> None:
        self.open = np.zeros(self.n_kinds, np.int64)

    def on_order(self) -> np.ndarray:
        """Places ordered and not yet open, by kind."""
        out = np.zeros(self.n_kinds, np.int64)
        for o in self.pipeline:
            out[o.kind] += o.places
        return out

    def add(self, week: int, kind: int, places: int, opener: str) -> None:
        if places > 0:
            self.pipeline.append(Order(week, kind, places, opener))

    def open_due(self, week: int) -> np.ndarray:
        """Open the orders due by ``week``; return the places opened by kind."""
        opened = np.zeros(self.n_kinds, np.int64)
        if not self.pipeline:
            return opened
        for o in self.pipeline:
            if o.week <= week:
                opened[o.kind] += o.places
        self.pipeline = [o for o in self.pipeline if o.week > week]
        self.open += opened
        return opened


def kinds_of(response: Response, payer: str) -> list[int]:
    """Indices of the kinds a payer opens, in order."""
    return [k for k, kind in enumerate(response.kinds.values()) if kind.payer == payer]


def limits(response: Response, population: float, scale: float) -> np.ndarray:
    """Most places (agents) of each kind one city may hold open."""
    return np.array([int(kind.max_per_100k * population / 100_000.0 / scale)
                     for kind in response.kinds.values()], np.int64)


def cost_per_week(response: Response, open_places: np.ndarray, scale: float) -> np.ndarray:
    """Weekly running cost of the open places by payer (CAD, ``PAYERS`` order); for every
    city at once if ``open_places`` is int[m, kinds] (then float[m, payers])."""
    out = np.zeros((*open_places.shape[:-1], len(PAYERS)))
    for k, kind in enumerate(response.kinds.values()):
        cost = kind.cost_per_place_week
        out[..., PAYERS.index(kind.payer)] += open_places[..., k] * scale * cost
    return out


def quality_of_shelter(regular: int | np.ndarray, emergency: np.ndarray,
                       overflow: int | np.ndarray, response: Response) -> float | np.ndarray:
    """Mean quality of the places people in shelter sleep in (regular beds and paid
    overflow count 1), for the safety target of everyone in shelter; for every city at
    once if the arguments are arrays over cities (``emergency`` int[m, kinds])."""
    total = regular + emergency.sum(axis=-1) + overflow
    if not emergency.any():  # regular beds and overflow only: quality 1 (most weeks)
        return 1.0 if np.ndim(total) == 0 else np.ones(np.shape(total))
    q = np.array([kind.quality for kind in response.kinds.values()])
    mean = np.divide(regular + overflow + (emergency * q).sum(axis=-1), total,
                     out=np.ones(np.shape(total)), where=total != 0)
    return float(mean) if mean.ndim == 0 else mean
