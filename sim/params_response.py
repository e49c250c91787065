"""Schema of the crisis response: emergency places, two-sided politics, governments' rules.

Kept beside ``sim.params`` (which imports it into ``Scenario``) so that the schema of how the
three orders of government answer visible strain reads in one place. Every field carries a
unit and a source or the word "assumption", as in ``sim.params``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.params_base import A, P, Strict

PAYERS = ("municipal", "provincial", "federal")

# Source of the hotel and federal-site cost: IRCC hotels $544M/yr for ~7,800 claimants.
_IRCC_HOTELS = "derived: IRCC hotels $544M/yr for ~7,800 claimants (CIMM 28 Feb 2024, facts s.5)"


class EmergencyKind(Strict):
    """One kind of emergency place a government can open when shelters overflow."""

    lead_weeks: int = P(2, "weeks", A, "Weeks from the decision to open until the places take "
                        "people", ge=0, le=104)
    cost_per_place_week: float = P(1340.0, "CAD/place-week", A,
                                   "Running cost of one open place for a week, occupied or not",
                                   ge=0)
    quality: float = P(0.8, "0-1", A, "Safety and dignity of a place relative to a regular "
                       "shelter bed (1); scales the safety target of the people in it", ge=0, le=1)
    payer: Literal[PAYERS] = P(  # type: ignore[valid-type]
        "municipal", "-", A, "Who opens and pays for places of this kind: a city opens "
        "municipal kinds; the federal and provincial governments open their own (opens_sites)")
    max_per_100k: float = P(50.0, "places per 100,000 residents", A,
                            "Most places of this kind one municipality can hold open", ge=0,
                            le=10_000)


def _default_kinds() -> dict[str, EmergencyKind]:
    return {
        "community_space": EmergencyKind(
            lead_weeks=2, cost_per_place_week=420.0, quality=0.6, payer="municipal",
            max_per_100k=15.0),
        "hotel": EmergencyKind(
            lead_weeks=3, cost_per_place_week=1340.0, quality=0.8, payer="municipal",
            max_per_100k=150.0),
        "respite_site": EmergencyKind(
            lead_weeks=1, cost_per_place_week=900.0, quality=0.4, payer="municipal",
            max_per_100k=20.0),
        "federal_site": EmergencyKind(
            lead_weeks=12, cost_per_place_week=1340.0, quality=0.8, payer="federal",
            max_per_100k=100.0),
    }


class Response(Strict):
    """How a city with ``policies.emergency_response`` opens and closes emergency places.

    Strain is people unsheltered or in paid overflow above ``trigger_per_100k``. After
    ``trigger_weeks`` weeks of strain the city orders places of its kinds in the order of
    ``kinds`` (each up to its limit and what it can pay for ``funded_weeks``); they take
    people after ``lead_weeks x speed``. After ``close_weeks`` without strain, empty places
    close, the last kind first. Places fill in the order of ``kinds``.
    """

    trigger_per_100k: float = P(2.0, "persons per 100,000 residents", A,
                                "Visible strain (unsheltered or in overflow) that starts the "
                                "count of strained weeks", ge=0, le=100_000)
    trigger_weeks: int = P(3, "weeks", A, "Weeks strain must persist before a city orders "
                           "emergency places", ge=1, le=104)
    close_weeks: int = P(8, "weeks", A, "Weeks without strain before empty places close",
                         ge=1, le=520)
    margin: float = P(0.25, "share", A, "Places ordered above the gap, for arrivals to come",
                      ge=0, le=10)
    funded_weeks: int = P(13, "weeks", A, "Weeks of running cost a city must be able to pay "
                          "(cash plus allowed deficit) before it opens a place", ge=1, le=520)
    speed: float = P(1.0, "x", A, "Multiplier on every kind's lead time (0.5: twice as fast; "
                     "the response-speed lever)", ge=0, le=10)
    kinds: dict[str, EmergencyKind] = P(
        _default_kinds(), "-", "seed 004: hotels, respite and community sites were opened in "
        "2023; costs and sizes per kind are assumptions unless marked",
        "Kinds of emergency place, in the order they are opened and filled")

    @field_validator("kinds", mode="before")
    @classmethod
    def _fill_kinds(cls, value: Any) -> Any:
        """A bundled kind written in a scenario keeps the values it does not change; kinds
        not written are kept (set ``max_per_100k = 0`` to do without one)."""
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {k: v.model_dump() for k, v in _default_kinds().items()}
        for name, fields in value.items():
            if name in out and isinstance(fields, dict):
                out[name] = out[name] | fields
            else:
                out[name] = fields
        return out

    @model_validator(mode="after")
    def _names(self) -> Response:
        bad = [k for k in self.kinds if not k.isidentifier()]
        if bad:
            raise ValueError(f"kinds: names must be letters, digits and _, found {bad}")
        return self


class Politics(Strict):
    """Two-sided politics: visible strain builds pressure to act as well as backlash.

    Pressure moves each week toward ``1 - exp(-u / pressure_scale_per_100k)``, ``u`` the
    people sleeping outside per 100,000 residents. Above ``act_pressure`` a council lifts
    an intake cap it can pay to lift and, at a fiscal-year start, raises the newcomer budget
    instead of cutting it.
    """

    pressure_scale_per_100k: float = P(
        10.0, "persons per 100,000 residents", "seed 004: pictures of asylum seekers on Toronto "
        "sidewalks generated public outrage; size assumption",
        "Unsheltered per 100,000 residents at which pressure tends to 63%", gt=0, le=100_000)
    pressure_adjust_per_week: float = P(0.25, "share/week", A,
                                        "Share of the gap to its target pressure closes a week",
                                        gt=0, le=1)
    act_pressure: float = P(0.5, "0-1", A, "Pressure at which a council acts (lifts a cap, "
                            "raises the budget) and a crisis counts for other governments",
                            ge=0, le=1)
    budget_raise: float = P(0.1, "share", A, "Newcomer-budget rise at a fiscal-year start under "
                            "pressure to act (replaces the backlash cut)", ge=0, le=10)


class GovernmentRule(Strict):
    """A federal or provincial government's emergency-shelter money and decision rule.

    ``adhoc``: once ``crisis_cities`` of its cities have been in crisis for
    ``political_lag_weeks`` it pays one-time top-ups covering ``topup_weeks`` of their
    strain. ``formula``: at each quarter start it pays every city in advance
    ``formula_share`` of a quarter's cost of the claimants in its shelter system.
    Either way within ``envelope_per_year``.
    """

    shelter_funding: Literal["none", "adhoc", "formula"] = P(
        "none", "-", "seed 004: 'ad hoc transfers' vs predictable funding",
        "How the government funds emergency shelter in its cities")
    envelope_per_year: float = P(0.0, "CAD/year", A,
                                 "Emergency-shelter money it may spend per fiscal year", ge=0)
    political_lag_weeks: int = P(
        7, "weeks", "seed 004: Toronto refused intake 1 June 2023; the $212M top-up came "
        "18 July 2023 (~7 weeks)", "Weeks of crisis before an ad hoc top-up", ge=0, le=520)
    crisis_cities: int = P(1, "municipalities", A,
                           "Cities in crisis at once before it acts ad hoc", ge=1, le=10_000)
    topup_weeks: int = P(26, "weeks", A, "Weeks of strain cost one ad hoc top-up covers",
                         ge=1, le=520)
    cooldown_weeks: int = P(26, "weeks", A, "Weeks before the same city can get another ad hoc "
                            "top-up", ge=0, le=520)
    formula_share: float = P(0.5, "share", A, "Share of a quarter's shelter cost of the claimants "
                             "in a city's shelter system paid in advance (formula)", ge=0, le=1)
    opens_sites: bool = P(False, "-", "seed 004 / facts s.5: IRCC-funded hotels for claimants",
                          "In crisis, it also opens its own kinds of emergency place")
    claimant_cost_share: float = P(0.0, "share", A, "Share of municipal shelter cost for asylum "
                                   "claimants it reimburses (provinces; federal IHAP is "
                                   "funding.ihap_share)", ge=0, le=1)
    cost_share_lag_weeks: int = P(13, "weeks", A, "Delay of that reimbursement", ge=0, le=520)


class Governments(Strict):
    """The federal government and the provinces that carry rules, keyed by province label."""

    federal: GovernmentRule = Field(default_factory=GovernmentRule)
    provinces: dict[str, GovernmentRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _federal_share(self) -> Governments:
        if self.federal.claimant_cost_share:
            raise ValueError("federal.claimant_cost_share: the federal share is "
                             "funding.ihap_share (IHAP); leave this 0")
        return self
