"""The schema's building blocks: a field with unit and source, and the strict base model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

A = "assumption"

# Keys renamed in the schema that old scenario files may still use: old -> new. Loading,
# ``--set`` and timelines read the old key as the new one (it keeps its old meaning).
RENAMED_KEYS = {"shelter_beds": "refugee_program_beds"}


def P(default: Any, unit: str, source: str, doc: str, **limits: Any) -> Any:
    """A field with its unit, source and one-line meaning."""
    return Field(
        default, description=doc, json_schema_extra={"unit": unit, "source": source}, **limits
    )


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
