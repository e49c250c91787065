"""Checks of meaning the field types cannot express: nonsense is refused, never run silently.

One rule for the type of every value (docs/parameters.md, "Types"): a number or a boolean
must be written as one; strings are never converted to numbers or booleans (``"false"``,
``"52"``), booleans never to numbers nor numbers to booleans. Dates may be TOML dates or
ISO strings (``"2023-01-02"``: run records and sweep specs hold dates as JSON strings).
"""

from __future__ import annotations

import typing
import unicodedata
from types import NoneType, UnionType
from typing import Any

_WORDS = {bool: "a boolean (true or false)", int: "a whole number", float: "a number"}


def wrong_type(annotation: Any, value: Any) -> str | None:
    """Why ``value`` breaks the one type rule for a field typed ``annotation`` (None: it does not).

    Values inside tables (``stream_weights``) are ``params_base.Number``, strict in pydantic.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, UnionType):
        kinds = [a for a in args if a is not NoneType]
        return wrong_type(kinds[0], value) if len(kinds) == 1 and value is not None else None
    if annotation not in _WORDS:
        return None
    if isinstance(value, str):
        what = "a string"
    elif isinstance(value, bool) and annotation is not bool:
        what = "a boolean"
    elif annotation is bool and isinstance(value, int | float) and not isinstance(value, bool):
        what = "a number"
    else:
        return None
    return (f"expected {_WORDS[annotation]}, not {what}; values are never converted between "
            "types (write numbers and true/false without quotes)")


def window(start: int | None, end: int | None) -> None:
    """A window whose end is not after its start would never be active: refuse it."""
    if start is not None and end is not None and end <= start:
        raise ValueError(f"end_week {end} is not after start_week {start}, so it would never "
                         "be active (end_week is the first week after it)")


def name_key(name: str) -> str:
    """What makes two names the same: Unicode NFKC form, case and surrounding space ignored."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def visible(name: str) -> bool:
    """Whether a name holds a character a reader can see (not only spaces or format
    characters such as a zero-width space)."""
    return bool(name_key(name)) and any(ch.isprintable() and not ch.isspace() for ch in name)


def nonblank(name: str) -> str:
    if not visible(name):
        raise ValueError("a name must hold at least one visible character")
    return name


def unique_names(names: list[str], what: str) -> None:
    """Names equal after normalisation would be two items a reader cannot tell apart."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{what}: names must be unique, repeated: {dupes}")
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name_key(name), name)
        if other != name:
            alike = unicodedata.normalize("NFKC", other) == unicodedata.normalize("NFKC", name)
            shown = (ascii(other), ascii(name)) if alike else (repr(other), repr(name))
            raise ValueError(f"{what}: names must be unique, {shown[0]} and {shown[1]} are the "
                             "same name once Unicode is normalised (NFKC) and case ignored")


def streams_without_destination(scenario: Any) -> list[str]:
    """Streams with arrivals whose every municipality has weight 0: arrivals would vanish."""
    out = []
    for name, stream in scenario.streams.items():
        if stream.per_year <= 0 and stream.series is None:
            continue
        weights = [m.stream_weights.get(name, m.destination_weight)
                   for m in scenario.municipalities]
        if not any(w > 0 for w in weights):
            out.append(f"streams.{name}: every municipality's weight for {name} is 0 "
                       f"(destination_weight, or stream_weights.{name}), so its arrivals "
                       "would have nowhere to go; give at least one municipality a weight "
                       "above 0")
    return out
