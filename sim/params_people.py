"""Schema of who the people are: age bands, and the newcomers already here at week 0.

Kept beside ``sim.params`` (which imports these into ``Scenario`` and ``Stream``).
Ages make employment, language classes and schools about the right people (docs/ODD.md
7.6); the earlier newcomers give every city the recent-immigrant population it has at the
start (census), so that networks, employment rates and housing start where they are
instead of at zero (docs/ODD.md 5.3).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from sim.codes import AGES
from sim.params_base import A, Number, P, Strict, check_shares

Factor = Annotated[Number, Field(ge=0, le=2)]  # a multiplier of a weekly rate

AgeName = Literal[AGES]  # type: ignore[valid-type]

# Ages of arrivals when a stream gives none: assumption, near the age profile of Canada's
# permanent-resident admissions (about a fifth under 15, three in five aged 25-54).
DEFAULT_AGE_SHARES = {"child": 0.2, "youth": 0.12, "core": 0.58, "older": 0.06, "senior": 0.04}
STOCK_STATUSES = ("economic_pr", "family_pr", "resettled_refugee", "protected_person")
STOCK_HOUSING = ("friends_family", "precarious_rental", "stable_housing")


class Ages(Strict):
    """What age changes: who looks for work, who goes to language class or to school."""

    job_find_factor: dict[Literal["youth", "core", "older"], Factor] = P(
        {"youth": 0.7, "core": 1.0, "older": 0.75}, "x",
        "assumption, shaped on the Labour Force Survey's age profile (employment rates of "
        "15-24 and 55-64 year-olds well below the core working age's)",
        "Job finding of people aged 15-24 and 55-64 relative to 25-54")
    school_language_factor: float = P(
        3.0, "x", A, "How much faster children (0-14) learn the language at school than "
        "adults do from daily life", ge=0, le=20)
    ageing: bool = P(True, "-", "band widths 15, 10, 30 and 10 years",
                     "People move to the next age band at the weekly rate 1/(band width)")

    @field_validator("job_find_factor")
    @classmethod
    def _keep_defaults(cls, v: dict[str, float]) -> dict[str, float]:
        """A band left out keeps its default factor."""
        return {"youth": 0.7, "core": 1.0, "older": 0.75} | v


class EarlierNewcomers(Strict):
    """Newcomers who arrived in the years before week 0 (their number is per municipality).

    They are permanent residents by the stated shares, spread evenly over ``years``; their
    language and employment are where the model's own weekly rates would have taken them
    after that time (docs/ODD.md 5.3), their housing follows ``housing_shares``, and they
    have finished the services they asked for.
    """

    years: float = P(5.0, "years", "Census 2021: 'recent immigrants' landed in the five years "
                     "before the census", "Years over which they arrived", gt=0, le=10)
    status_shares: dict[Literal[STOCK_STATUSES], Number] = P(  # type: ignore[valid-type]
        {"economic_pr": 0.57, "family_pr": 0.27, "resettled_refugee": 0.08,
         "protected_person": 0.08}, "shares",
        "assumption, near IRCC permanent-resident admissions by class 2016-2021 (about 57% "
        "economic, 27% family, 16% refugees and protected persons)",
        "Their status (shares summing to 1)")
    housing_shares: dict[Literal[STOCK_HOUSING], Number] = P(  # type: ignore[valid-type]
        {"friends_family": 0.03, "precarious_rental": 0.12, "stable_housing": 0.85}, "shares",
        A, "Where they live at week 0 (shares summing to 1)")

    @field_validator("status_shares", "housing_shares")
    @classmethod
    def _shares(cls, v: dict[str, float], info) -> dict[str, float]:  # noqa: ANN001
        check_shares(v, info.field_name)
        return v

