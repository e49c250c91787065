"""The public tables ``reception new-city`` writes a scenario from, and values that carry a source.

Every number read here keeps the note of where it came from (the table's source column), and
whether that note makes it an assumption: a note starting "assumption" or tagged [B]
(derived or believed, canada_national_facts.md's legend) is one. Tables (data/README.md):
``new_city_places.csv``, ``new_city_provinces.csv``, ``levels_plan_2025_2027.csv``,
``new_city_national.csv`` and the IRCC claims by province
(``ircc_asylum_claims_by_province_month.csv``).
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.access import REPO_ROOT

DATA = REPO_ROOT / "data"
PLAN_YEARS = (2025, 2026, 2027)
ASSUMED = "assumption, please replace"


class NewCityError(ValueError):
    """A request ``new-city`` cannot serve (unknown city, wrong province): one line."""


@dataclass(frozen=True)
class Val:
    """A value to write, the note saying where it came from, and whether it is an assumption."""

    value: Any
    note: str
    assumed: bool

    def comment(self) -> str:
        return f"# {ASSUMED}: {self.note}" if self.assumed else f"# source: {self.note}"


def noted(value: Any, note: str) -> Val:
    """A value whose note comes from a table: an assumption if the note says so or is [B]."""
    assumed = note.lower().startswith("assumption") or "[B]" in note
    return Val(value, re.sub(r"^assumption:\s*", "", note, flags=re.I), assumed)


def derived(value: Any, note: str, *parts: Val) -> Val:
    """A value computed from ``parts``: an assumption as soon as one of them is."""
    return Val(value, note, any(p.assumed for p in parts))


def fold(text: str) -> str:
    """Name key: case, accents and punctuation ignored (Montreal finds Montréal)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", plain.casefold()).strip()


@dataclass(frozen=True)
class Tables:
    places: dict[str, dict[str, str]]  # by place name
    provinces: dict[str, dict[str, str]]  # by province code
    plan: dict[tuple[int, str], Val]  # (year, category) -> persons
    national: dict[str, Val]  # parameter path or const.NAME -> value
    claims: dict[str, Val]  # province name -> claims in the last 12 months of the file
    claims_total: Val  # all provinces, same months


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _number(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def load_tables(folder: Path = DATA) -> Tables:
    """Read the bundled tables once."""
    places = {r["name"]: r for r in _rows(folder / "new_city_places.csv")}
    provinces = {r["code"]: r for r in _rows(folder / "new_city_provinces.csv")}
    plan = {(int(r["year"]), r["category"]): noted(int(r["persons"]), r["source"])
            for r in _rows(folder / "levels_plan_2025_2027.csv")}
    national = {r["path"]: noted(_number(r["value"]), r["source"])
                for r in _rows(folder / "new_city_national.csv")}
    claims, total = _last_year_of_claims(folder / "ircc_asylum_claims_by_province_month.csv")
    return Tables(places, provinces, plan, national, claims, total)


def _last_year_of_claims(path: Path) -> tuple[dict[str, Val], Val]:
    """Claims by province over the last twelve months the IRCC file holds."""
    rows = _rows(path)
    months = sorted({r["year_month"] for r in rows})[-12:]
    sums: dict[str, int] = {}
    for r in rows:
        if r["year_month"] in months:
            sums[r["province"]] = sums.get(r["province"], 0) + int(r["claims"])
    where = (f"IRCC open data, asylum claimants by province, {months[0]} to {months[-1]} "
             "(data/ircc_asylum_claims_by_province_month.csv)")
    by_province = {p: Val(n, f"{n:,} claims in {p}, {where}", False) for p, n in sums.items()}
    total = sum(sums.values())
    return by_province, Val(total, f"{total:,} claims in Canada, {where}", False)


def find_place(tables: Tables, name: str, province: str | None) -> dict[str, str]:
    """The table row of ``name``, checked against ``province`` (a code or a name) if given."""
    by_key = {fold(n): n for n in tables.places}
    key = fold(name)
    match = by_key.get(key) or next((n for k, n in by_key.items() if key and key in k.split()),
                                    None)
    if match is None:
        close = [by_key[k] for k in difflib.get_close_matches(key, by_key, n=3, cutoff=0.6)]
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise NewCityError(f"unknown city {name!r}{hint} Known cities: "
                           f"{', '.join(sorted(tables.places))}")
    row = tables.places[match]
    if province is not None:
        code = province_code(tables, province)
        if code != row["province"]:
            home = tables.provinces[row["province"]]["name"]
            raise NewCityError(f"{match} is in {row['province']} ({home}), not {code}; pass "
                               f"--province {row['province']} or leave --province out")
    return row


def province_code(tables: Tables, province: str) -> str:
    """``ON`` for ``on``, ``Ontario`` or ``ontario``; an unknown province is an error."""
    for code, row in tables.provinces.items():
        if fold(province) in (fold(code), fold(row["name"])):
            return code
    known = ", ".join(f"{c} ({r['name']})" for c, r in tables.provinces.items())
    raise NewCityError(f"unknown province {province!r} (known: {known})")
