"""Schema of the refugee claims board: the Refugee Protection Division as a capacity.

Kept beside ``sim.params`` (which imports it into ``Scenario``). Without a capacity
(``decisions_per_year`` unset) every claim is decided after its own random delay
(``status.asylum_decision_weeks``), as before; with one, claims wait in one queue, first
come first served, and the board decides as many a week as it is funded for (ODD 7.2).
"""

from __future__ import annotations

from pydantic import field_validator

from sim.params_base import A, Number, P, Strict

# Claim years a table may name: outside them a key is a typo (24 for 2024), not a cohort.
CLAIM_YEARS = (1990, 2100)


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
    acceptance_by_claim_year: dict[int, Number] = P(
        {}, "year: probability", A,
        "Share of decided claims accepted, by the calendar year the claim was made (the year "
        "of its arrival week; the claimants in shelter at week 0 count in the year of week -1); "
        "claims of years not listed use status.asylum_acceptance")

    @field_validator("acceptance_by_claim_year")
    @classmethod
    def _plausible(cls, v: dict[int, float]) -> dict[int, float]:
        low, high = CLAIM_YEARS
        for year, rate in v.items():
            if not low <= year <= high:
                raise ValueError(f"claim year {year} is outside {low}-{high}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"acceptance {rate} for claim year {year} is not in [0, 1]")
        return v
