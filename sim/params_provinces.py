"""Schema of the provinces' own rules: ``[provinces.<P>]``, ``P`` a municipality's ``province``.

Kept beside ``sim.params`` (which imports it into ``Scenario``). Settlement, social assistance
and immigration selection differ by province (seed 004: the 1991 Canada-Québec Accord gives
Québec its own settlement services; other provinces fund smaller, employment-focused lines).
A city whose province has no table follows the national rules (``services.eligibility``,
``employment.income_none``). The province's share of claimant shelter costs is a rule of its
government (``governments.provinces.<P>.claimant_cost_share``), not repeated here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Literal

from pydantic import model_validator

from sim.codes import SERVICES, STATUSES, STREAMS
from sim.params_base import P, Strict


class ProvinceRule(Strict):
    """What changes for newcomers in the cities of one province."""

    eligibility: list[Literal[STATUSES]] | None = P(  # type: ignore[valid-type]
        None, "statuses", "IRCC (House of Commons, 7 Nov 2017): claimants are not eligible for "
        "federal settlement services but are for some provincially funded ones",
        "Statuses the provincial funder's hours may serve in this province's cities; replaces "
        "services.eligibility.provincial there (none: the national row)")
    social_assistance: dict[Literal[STATUSES], float] = P(  # type: ignore[valid-type]
        {}, "CAD/month", "provincial social assistance acts (Ontario Works, Québec aide "
        "financière de dernier recours, ...): open to claimants; amounts per scenario",
        "Monthly income without a job of a person of that status in this province's cities; "
        "replaces employment.income_none for the statuses listed (housing affordability)")
    delivers_federal_services: list[Literal[SERVICES]] = P(  # type: ignore[valid-type]
        [], "services", "seed 004: the Canada-Québec Accord delegates settlement services to "
        "Québec (francisation is the province's)",
        "Services whose federally funded hours the province delivers under its own rules in "
        "its cities: they serve whom the provincial funder may serve")
    stream_pull: dict[Literal[STREAMS], float] = P(  # type: ignore[valid-type]
        {}, "x", "seed 004: provincial nominee programmes select ~35% of economic immigrants; "
        "sizes per scenario",
        "Multiplier on the destination pull of this province's cities for a stream (provincial "
        "nominee, Atlantic Immigration Program)")

    @model_validator(mode="after")
    def _non_negative(self) -> ProvinceRule:
        for what, table in (("social_assistance", self.social_assistance),
                            ("stream_pull", self.stream_pull)):
            bad = {k: v for k, v in table.items() if v < 0}
            if bad:
                raise ValueError(f"{what} must not be negative, found {bad}")
        return self


def check_names(section: str, names: Iterable[str], provinces: list[str]) -> None:
    """Every table under ``section`` must name a province some municipality has."""
    for p in names:
        if p not in provinces:
            close = difflib.get_close_matches(p, provinces, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{section}.{p}: no municipality has province {p!r}{hint} "
                             f"(provinces of this scenario: {', '.join(provinces)})")
