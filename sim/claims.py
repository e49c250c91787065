"""The refugee claims board as a capacity: how many claims it decides each week, in which order.

With ``claims_board.decisions_per_year`` set, claims wait in one queue in the order they
were made (row order, since rows are appended as people arrive) and the board decides
``decisions_per_year / 52`` a week; capacity left when the queue is empty is lost (the
board cannot decide claims not yet made). The claims pending at week 0
(``backlog_at_start``) come first: the claimants in shelter at week 0 are among them as
agents, the rest are counted here only (they are not modelled as people). The week-0
backlog is worked off in proportion, so the in-shelter stock is decided evenly over its
clearing. Without a capacity each claim is decided in its own due week (``quota`` is -1).
"""

from __future__ import annotations

import numpy as np

from sim.codes import ASYLUM, DEPARTED, WEEKS_PER_YEAR
from sim.mesa_import import mesa


class ClaimsQueue:
    """Model-level state of the board: capacity carried between weeks and the earlier backlog.

    Counts are in agents (``run.scale`` people) and may be fractional.
    """

    def __init__(self, model: mesa.Model) -> None:
        board = model.scenario.claims_board
        self.stock_rows = model.migrants.n  # rows seeded before week 0: the in-shelter stock
        stock = self.stock_rows * model.scale
        self.earlier = max(0.0, board.backlog_at_start - stock) / model.scale
        self.credit = 0.0  # decisions funded but not yet made (under one, or queue ahead)
        self.decided_earlier = 0.0  # this week's decisions of claims not modelled as agents

    def quota(self, model: mesa.Model) -> int:
        """Claims of agents the board decides this week (-1: fixed delays, no capacity)."""
        self.decided_earlier = 0.0
        per_year = model.scenario.claims_board.decisions_per_year
        if per_year is None:
            return -1
        capacity = per_year / WEEKS_PER_YEAR / model.scale
        if self.earlier <= 0.0:
            self.credit += capacity
            return int(self.credit)
        stock = model.pending_stock_claims(self.stock_rows)
        self.decided_earlier = min(self.earlier, capacity * self.earlier / (self.earlier + stock))
        self.earlier -= self.decided_earlier
        self.credit += capacity - self.decided_earlier
        return min(int(self.credit), stock) if self.earlier > 0.0 else int(self.credit)

    def settle(self, quota: int, decided: int) -> None:
        """Book the decisions made; capacity the queue could not use is lost."""
        if quota < 0:
            return
        self.credit -= decided
        if decided < quota:  # the queue ran dry: only the fraction of a decision carries
            self.credit -= int(self.credit)

    def backlog(self, pending_agents: int) -> float:
        """Claims pending now (agents): ``claims_backlog`` with this queue's earlier claims."""
        return claims_backlog(pending_agents, self.earlier)


def claims_backlog(pending_agents, earlier):
    """Claims pending (agents): claimants present plus earlier claims not modelled (numbers
    or arrays of weeks alike)."""
    return pending_agents + earlier


def pending_claims(status: np.ndarray, housing: np.ndarray, status_due: np.ndarray) -> int:
    """Claimants present whose claim is still to be decided."""
    return int(np.count_nonzero((status == ASYLUM) & (housing != DEPARTED) & (status_due >= 0)))
