"""Schema of services: hours and take-up per service, funders' eligibility, requests lapsing.

Kept beside ``sim.params`` (which imports it into ``Scenario``). A request is made on
arrival (``takeup``), lapses while waiting (``lapse_per_week``, faster where no funder with
hours may serve the person) and is made again after a change of status (ODD 7.5).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.codes import FUNDERS, SERVICES, STATUSES
from sim.params_base import A, P, Strict


class Service(Strict):
    hours_per_week: float = P(2.0, "caseworker hours/client/week", A,
                              "Staff time one client uses each week in service", gt=0)
    duration_weeks: int = P(8, "weeks", A, "Weeks of service to complete it", ge=1, le=520)
    takeup: float = P(0.3, "probability", A, "Chance an arrival asks for this service", ge=0, le=1)
    lapse_per_week: float = P(
        0.04, "1/week", "assumption (mean patience 25 weeks); language 0.002 (language "
        "default and canada_baseline): LINC waits average ~6 months, 'up to a year' and "
        "Calgary's list holds ~7,455 (facts s.7), which canada_baseline stays within "
        "(docs/plausibility.md) only if few give up: at 0.01 its language starters wait 10 "
        "weeks, not >= 13",
        "Weekly chance that a waiting request lapses (the person stops waiting; 0: never)",
        ge=0, le=1)


def _default_services() -> dict[str, Service]:
    return {
        "orientation": Service(hours_per_week=2.0, duration_weeks=2, takeup=0.35),
        "language": Service(hours_per_week=1.0, duration_weeks=40, takeup=0.2,
                            lapse_per_week=0.002),
        "employment": Service(hours_per_week=1.5, duration_weeks=12, takeup=0.3),
        "housing_help": Service(hours_per_week=2.0, duration_weeks=6, takeup=0.5),
    }


def _default_eligibility() -> dict[str, list[str]]:
    return {
        "federal": ["economic_pr", "family_pr", "resettled_refugee", "protected_person"],
        "provincial": ["economic_pr", "family_pr", "resettled_refugee", "protected_person",
                       "temporary_worker", "student"],
        "municipal": ["economic_pr", "family_pr", "resettled_refugee", "protected_person",
                      "temporary_worker", "student", "asylum_claimant"],
        "charity": list(STATUSES),
    }


class Services(Strict):
    orientation: Service = Field(default_factory=lambda: _default_services()["orientation"])
    language: Service = Field(default_factory=lambda: _default_services()["language"])
    employment: Service = Field(default_factory=lambda: _default_services()["employment"])
    housing_help: Service = Field(default_factory=lambda: _default_services()["housing_help"])
    eligibility: dict[Literal[FUNDERS], list[Literal[STATUSES]]] = P(  # type: ignore[valid-type]
        _default_eligibility(), "statuses", "seed 004: federal settlement funding serves permanent "
        "residents and protected persons; non-status people have no public services",
        "Statuses each funder's hours may serve (access without fear adds all statuses to "
        "municipal hours)")
    client_hours_per_fte_week: float = P(25.0, "hours/week", A,
                                         "Client-facing hours one full-time caseworker gives", gt=0)
    cost_per_fte_year: float = P(75000.0, "CAD/year", A, "Loaded cost of one caseworker", gt=0)
    referral_match: float = P(
        0.75, "probability", "assumption (seed 004: Calgary 2007 named 'a lack of leadership and "
        "coordination of services'; seed 000: lack of culturally relevant services)",
        "Chance a referral from a waiting list fits the client without local coordination",
        gt=0, le=1)
    lip_referral_match: float = P(
        0.9, "probability", "seed 004: LIPs map services and coordinate agencies (87 communities) "
        "but 'do not directly provide settlement services'; size an assumption",
        "Chance a referral fits where a Local Immigration Partnership coordinates", gt=0, le=1)
    intake_hours_per_referral: float = P(
        1.5, "caseworker hours", A,
        "Hours a referral that does not fit costs (intake, assessment, redirection); the client "
        "waits another week", ge=0)
    outreach_takeup_boost: float = P(0.5, "x", A,
                                     "Relative rise of take-up with multilingual outreach", ge=0)
    lapse_unservable_per_week: float = P(
        0.25, "1/week", A,
        "Weekly lapse chance of a waiting request that no funder with hours here may serve "
        "(told so at intake; mean 4 weeks), where higher than the service's lapse_per_week",
        ge=0, le=1)
    takeup_on_status_change: float = P(
        1.0, "x", A,
        "Chance, relative to an arrival's take-up, that a person without a request asks once "
        "a new status lets a funder with hours here serve them (0: requests only on arrival)",
        ge=0)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        """Name the keys of the old fixed referral waste and what replaced them."""
        old = sorted({"referral_waste", "lip_waste_reduction"} & set(data)) if isinstance(
            data, dict) else []
        if old:
            raise ValueError(f"{', '.join(old)}: replaced by referral_match, lip_referral_match "
                             "and intake_hours_per_referral (hours are lost per referral that "
                             "does not fit, docs/ODD.md)")
        return data

    @field_validator(*SERVICES, mode="before")
    @classmethod
    def _fill_service(cls, value: Any, info: ValidationInfo) -> Any:
        """A service table keeps that service's defaults for the keys it leaves out."""
        if isinstance(value, dict):
            return _default_services()[info.field_name].model_dump() | value
        return value

    @field_validator("eligibility", mode="before")
    @classmethod
    def _fill_funders(cls, value: Any) -> Any:
        """A funder left out of the table keeps its default rule."""
        if isinstance(value, dict):
            return _default_eligibility() | value
        return value

    def by_code(self) -> list[Service]:
        return [getattr(self, s) for s in SERVICES]
