"""Schema of the refugee claims board: the Refugee Protection Division as a capacity.

Kept beside ``sim.params`` (which imports it into ``Scenario``). Without a capacity
(``decisions_per_year`` unset) every claim is decided after its own random delay
(``status.asylum_decision_weeks``), as before; with one, claims wait in one queue, first
come first served, and the board decides as many a week as it is funded for (ODD 7.2).
"""

from __future__ import annotations

from sim.params_base import A, P, Strict


class ClaimsBoard(Strict):
    """The body deciding asylum claims: decisions a year, and the claims already waiting."""

    decisions_per_year: float | None = P(
        None, "decisions/year", A,
        "Claims the board finalises a year in the modelled cities (none: each claim is "
        "decided after its own delay, status.asylum_decision_weeks)", ge=0)
    backlog_at_start: float = P(
        0.0, "claims", A,
        "Claims pending at week 0 in the modelled cities, decided before any later claim; it "
        "includes the claimants in shelter at week 0 (municipalities.initial_shelter_occupancy)",
        ge=0)
