"""The schema of a municipality: its housing, shelter, money, labour market and policies.

Split from ``sim.params`` (the scenario schema), which re-exports both classes; fields carry
unit and source as everywhere in the schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.codes import STREAMS
from sim.params_base import A, Number, P, Strict
from sim.params_checks import nonblank
from sim.params_security import SEED004_POLICE


class Policies(Strict):
    access_without_fear: bool = P(False, "-", "seed 004: 7 cities since 2013",
                                  "Municipal services for all regardless of status")
    awf_covers_police: bool = P(False, "-", SEED004_POLICE,
                                "Access without fear also covers police (removes "
                                "integration.security.fear_police)")
    welcoming_strategy: bool = P(False, "-", "seed 004: Calgary Welcoming Community Policy 2011",
                                 "Welcoming strategy with a newcomer office")
    lip: bool = P(False, "-", "seed 004: LIPs in 87 communities", "Local Immigration Partnership")
    rif: bool = P(False, "-", "seed 004: réseaux en immigration francophone, none in Québec",
                  "Francophone immigration network: francophones' referrals fit as under a LIP "
                  "(not allowed in Québec; see [francophone])")
    intake_cap: bool = P(False, "-", "seed 004: Toronto refused new intake June 2023",
                         "Refuse new shelter intake at capacity")
    outreach: bool = P(False, "-", A, "Multilingual information and outreach")
    overflow: bool = P(True, "-", A,
                       "Without an intake cap, open paid overflow places beyond beds")
    adaptive_cap: bool = P(False, "-", "seed 004: Toronto capped intake after unmet funding "
                           "demands", "Council caps intake when newcomer money runs out")
    champion_dependent: bool = P(False, "-", "seed 004: Calgary's policy stalled when its "
                                 "champion left",
                                 "Access/welcoming policies lapse if champion leaves")
    champion_leave_per_year: float = P(0.15, "1/year", A, "Yearly chance the champion leaves",
                                       ge=0, le=1)
    emergency_response: bool = P(False, "-", "seed 004: cities and community groups opened "
                                 "sites in 2023", "Open emergency places when strain persists "
                                 "(see [response])")


class Municipality(Strict):
    name: str = P(..., "-", A, "Unique name (after Unicode normalisation and case)")
    province: str = P("", "-", A, "Province or region; its rules are [provinces.<province>] "
                      "(none: national rules)")
    kind: Literal["gateway", "mid_sized", "small_town"] = P("mid_sized", "-", A, "Size class")
    lat: float = P(45.0, "degrees", A, "Latitude (for travel distance)", ge=-90, le=90)
    lon: float = P(-75.0, "degrees", A, "Longitude (for travel distance)", ge=-180, le=180)
    population: float = P(..., "persons", A, "Resident population", ge=1, most=1e8)
    rental_stock: float = P(..., "units", A, "Rental housing units", ge=0, most=1e8)
    vacancy_rate: float = P(0.02, "share", A, "Rental vacancy rate", ge=0, le=1)
    median_rent: float = P(1500.0, "CAD/month", A, "Median two-bedroom rent", ge=0)
    rent_growth_per_year: float = P(0.05, "share/year", "CMHC 2BR same-sample growth 5.6% (2022), "
                                    "8.0% (2023)", "Yearly rent growth", ge=-0.5, le=1)
    new_supply_per_year: float = P(0.0, "units/year", A, "New rental units completed per year",
                                   ge=0, most=1e7)
    refugee_program_beds: float = P(
        0.0, "beds", "Toronto: 500 budgeted refugee spaces (CBC 2023-05-31); Montréal: PRAIDA "
        "~1,300 beds (docs/sources/canada_municipal_facts.csv)",
        "Places of a dedicated refugee programme, open to newcomers only (old key: shelter_beds)",
        ge=0, most=1e6)
    shelter_system_beds: float = P(
        0.0, "beds", "Toronto 337, Vancouver 286, Montréal 173 beds per 100k residents "
        "(docs/sources/canada_municipal_facts.csv)",
        "Beds of the general emergency shelter system, outside the refugee programme", ge=0,
        most=1e6)
    newcomer_share_of_system: float = P(
        0.0, "share", "Ottawa: 47% of single adults in shelters were newcomers, 31 Dec 2023 "
        "(canada_municipal_facts.csv); elsewhere an assumption",
        "Share of the general system's beds newcomers may use (or held in a base year)",
        ge=0, le=1)
    initial_shelter_occupancy: float = P(0.0, "persons", A,
                                         "Newcomers already in shelter at week 0", ge=0,
                                         most=1e6)
    earlier_newcomers: float = P(0.0, "persons", A,
                                 "Newcomers who arrived in the years before week 0 and live "
                                 "here (see [earlier_newcomers])", ge=0, most=1e7)
    interim_places: float = P(0.0, "places", A,
                              "Federally funded interim-housing places for overflow", ge=0,
                              most=1e6)
    newcomer_budget_per_year: float = P(0.0, "CAD/year", A,
                                        "Municipal newcomer budget from property tax", ge=0)
    reserves: float = P(0.0, "CAD", A, "Reserves that can absorb overruns", ge=0)
    allowed_deficit: float = P(0.0, "CAD", A, "Overdraft allowed beyond reserves", ge=0)
    labour_demand: float = P(0.7, "0-1", A, "Local labour demand for newcomers", ge=0, le=1)
    transport_access: float = P(1.0, "0-1", "seed 002: transport is a key issue in small towns",
                                "Public transport access", ge=0, le=1)
    destination_weight: float = P(1.0, "relative", A, "Pull on arrivals of every stream", ge=0,
                                      most=1e6)
    stream_weights: dict[Literal[STREAMS], Number] = P(  # type: ignore[valid-type]
        {}, "relative", A, "Per-stream pull that replaces destination_weight for that stream")
    sentiment: float = P(0.6, "0-1", A, "Initial public sentiment toward newcomers", ge=0, le=1)
    francophone_share: float = P(
        0.0, "share", "Census 2021, French mother tongue share of the city's population",
        "Size of the francophone community: pull on francophone arrivals, French at work "
        "(see [francophone])", ge=0, le=1)
    policies: Policies = Field(default_factory=Policies)

    @model_validator(mode="before")
    @classmethod
    def _renamed_beds(cls, data: Any) -> Any:
        """``shelter_beds`` (old files) means ``refugee_program_beds``, share of system 0."""
        if isinstance(data, dict) and "shelter_beds" in data:
            if "refugee_program_beds" in data:
                raise ValueError("give refugee_program_beds or its old name shelter_beds, "
                                 "not both")
            data = {("refugee_program_beds" if k == "shelter_beds" else k): v
                    for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _some_beds(self) -> Municipality:
        """Beds must be stated, as the old required shelter_beds was (0 for none)."""
        if not {"refugee_program_beds", "shelter_system_beds"} & self.model_fields_set:
            raise ValueError("give refugee_program_beds (old name shelter_beds) and/or "
                             "shelter_system_beds, in beds (0 for none)")
        return self

    @property
    def shelter_beds(self) -> float:
        """The old key: the refugee programme's places."""
        return self.refugee_program_beds

    def newcomer_beds(self) -> float:
        """Beds newcomers may use: the programme's, plus their share of the general system."""
        return self.refugee_program_beds + self.newcomer_share_of_system * self.shelter_system_beds

    def public_fill(self, newcomers: float, extra_places: float) -> float:
        """The whole system's fill as the public sees it, for ``newcomers`` in shelter.

        Other users are taken to fill the general beds newcomers may not use (Toronto's
        system ran at capacity, facts s.11); ``extra_places`` (emergency places) add to the
        beds. Without a general system this is newcomers over the programme's places.
        """
        beds = self.refugee_program_beds + self.shelter_system_beds + extra_places
        others = (1.0 - self.newcomer_share_of_system) * self.shelter_system_beds
        if beds <= 0:
            return 2.0 if newcomers > 0 else 0.0
        return (others + newcomers) / beds

    @model_validator(mode="after")
    def _weights(self) -> Municipality:
        bad = {k: v for k, v in self.stream_weights.items() if not 0 <= v <= 1e6}
        if bad:
            raise ValueError(f"stream_weights must be between 0 and 1e6 (relative), found {bad}")
        return self

    _name = field_validator("name")(nonblank)
