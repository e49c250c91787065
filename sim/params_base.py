"""The schema's building blocks: a field with unit and source, and the strict base model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

A = "assumption"


def P(default: Any, unit: str, source: str, doc: str, **limits: Any) -> Any:
    """A field with its unit, source and one-line meaning."""
    return Field(
        default, description=doc, json_schema_extra={"unit": unit, "source": source}, **limits
    )


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def check_shares(shares: dict[str, float], what: str) -> None:
    """Shares are not negative and sum to 1 (one message for every table of shares)."""
    negative = {k: v for k, v in shares.items() if v < 0}
    if negative:
        raise ValueError(f"{what} must not be negative, found {negative}")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, found {total:.6g}")
