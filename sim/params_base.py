"""The schema's building blocks: a field with unit and source, and the strict base model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic import Strict as StrictType

from sim.params_checks import wrong_type

A = "assumption"
# A number inside a table (weights, shares): strict, so "3" and true are refused where they
# stand, as the one type rule refuses them in fields (sim.params_checks)
Number = Annotated[float, StrictType()]

# Keys renamed in the schema that old scenario files may still use: old -> new. Loading,
# ``--set`` and timelines read the old key as the new one (it keeps its old meaning).
RENAMED_KEYS = {"shelter_beds": "refugee_program_beds"}


def P(default: Any, unit: str, source: str, doc: str, most: float | None = None,
      **limits: Any) -> Any:
    """A field with its unit, source and one-line meaning.

    ``most`` is a plausibility ceiling (a population of 1e12 is a typo, not a city): enforced
    like ``le`` but marked, so a calibration does not take it for a search range.
    """
    extra: dict[str, Any] = {"unit": unit, "source": source}
    if most is not None:
        limits["le"] = most
        extra["plausible_max"] = most
    return Field(default, description=doc, json_schema_extra=extra, **limits)


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _one_type_rule(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse ``"false"`` for a boolean and ``"52"`` for a number (sim.params_checks)."""
        problem = wrong_type(cls.model_fields[info.field_name].annotation, value)
        if problem:
            raise ValueError(problem)
        return value


def check_shares(shares: dict[str, float], what: str) -> None:
    """Shares are not negative and sum to 1 (one message for every table of shares)."""
    negative = {k: v for k, v in shares.items() if v < 0}
    if negative:
        raise ValueError(f"{what} must not be negative, found {negative}")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, found {total:.6g}")
