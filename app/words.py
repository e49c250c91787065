"""Plain words for the app's settings and the model's events.

The app's policy choices, lever settings in words (the notes of mid-run changes, the
compare table), parameter paths as text, and event texts without the sources' jargon.
"""

from __future__ import annotations

import re
from typing import Any

from app import crisis
from sim import paths

AS_IN_SCENARIO, ALL_CITIES, NO_CITY = crisis.AS_IN_SCENARIO, "all cities", "no city"


def path_text(parts: tuple[str, ...] | list[str]) -> str:
    """A parameter path from its parts, quoting names that hold a dot."""
    return ".".join(f'"{p}"' if "." in p else p for p in parts)


LEVER_WORDS = {"federal_funding": "federal settlement funding", "municipal_budget":
               "municipal newcomer budgets", "shelter_beds": "shelter beds",
               "arrivals": "arrivals", "surge": "the asylum surge",
               "access_without_fear": "access without fear", "lip": "LIP coordination",
               "rif": "francophone networks (RIF)",
               "intake_cap": "the shelter intake cap",
               "emergency_response": "emergency places",
               "predictable_funding": "predictable funding"}


def describe_levers(levers: dict[str, Any], overrides: dict[str, Any] | None = None) -> str:
    """Plain words for lever settings: 'shelter beds ×1.5; the shelter intake cap in all
    cities; Millbrook: shelter beds 150'."""
    out = []
    for name, value in levers.items():
        words = LEVER_WORDS.get(name, name.replace("_", " "))
        if name in crisis.CRISIS_LEVERS:
            out.append(crisis.describe(name, value))
        elif isinstance(value, bool):
            out.append(f"{words} {'on' if value else 'off'}")
        elif isinstance(value, int | float):
            out.append(f"{words} ×{value:g}")
        elif value == AS_IN_SCENARIO:
            out.append(f"{words} as in the scenario")
        elif value == NO_CITY:
            out.append(f"no {words.removeprefix('the ')} in any city")
        else:
            out.append(f"{words} in every city")
    for path, value in (overrides or {}).items():
        parts = paths.split(path)
        what = parts[-1].replace("_", " ").replace("per year", "a year")
        shown = ("on" if value else "off") if isinstance(value, bool) else (
            f"{value:,g}" if isinstance(value, int | float) else str(value))
        out.append(f"{parts[1]}: {what} {shown}" if parts[0] in paths.NAMED_LISTS
                   else f"{path_text(parts)} {shown}")
    return "; ".join(out)


_JARGON = re.compile(r"\s*\((?:[^()]*;\s*)?seeds? \d{3}[^()]*\)|,? seeds? \d{3}")


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def plain(text: str) -> str:
    """Text for students: without the sources' "(seed 004)" references."""
    return _JARGON.sub("", text).strip()
