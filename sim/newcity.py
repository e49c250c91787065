"""``reception new-city``: a planner's own city as a one-city scenario from public tables.

The scenario is written, not computed at run time: a planner reads every value with its
``# source: ...`` or ``# assumption, please replace: ...`` comment and replaces what they know
better. Arrivals follow the federal Immigration Levels Plan 2025-2027: each stream's
``per_year`` is the plan's national target for the year times the city's share of Canada's
2016-21 recent immigrants, and a ``[[timeline]]`` entry on the first Monday of each later plan
year sets the next year's flows (ODD 7.0). The tables are in ``sim.newcity_tables``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import textwrap
from datetime import date, timedelta
from pathlib import Path

from sim.newcity_tables import (
    ASSUMED,
    PLAN_YEARS,
    Tables,
    Val,
    derived,
    find_place,
    fold,
    load_tables,
    noted,
)
from sim.scenario import load_scenario
from sim.show import toml_key, toml_value

STREAM_ORDER = ("economic_pr", "family_pr", "resettled_refugee", "asylum_claimant",
                "temporary_worker", "student")
PLAN_CATEGORY = {"family_pr": "family", "resettled_refugee": "resettled",
                 "temporary_worker": "tr_workers", "student": "tr_students"}
SCALES = (1, 2, 5, 10, 20, 25, 50, 100)
REPLACE_FIRST = ("destination_weight", "vacancy_rate", "median_rent", "rental_stock",
                 "shelter_beds", "newcomer_budget_per_year")  # named in the header if assumed
AGENTS_PER_YEAR = 4000  # the scale is chosen so a year brings at most about this many agents

Section = tuple[str, list[tuple[str, Val]]]  # table header ("" for the top), its values


def _round(x: float, digits: int) -> int:
    """``x`` to whole hundreds (2) or thousands (3): written as an integer."""
    return int(round(x, -digits))


def first_monday(year: int) -> date:
    jan1 = date(year, 1, 1)
    return jan1 + timedelta(days=(7 - jan1.weekday()) % 7)


def slug(name: str) -> str:
    return fold(name).replace(" ", "_")


def new_city(name: str, province: str | None = None, start: int = PLAN_YEARS[0],
             tables: Tables | None = None, today: date | None = None) -> tuple[str, dict]:
    """The scenario text for ``name`` and a summary (name, province, counts, arrivals)."""
    t = tables or load_tables()
    place = find_place(t, name, province)
    city = place["name"]
    share = noted(float(place["recent_share_pct"]) / 100, place["recent_share_source"])
    asylum = _asylum(t, place, share)
    flows = {y: _flows(t, y, share, city, asylum) for y in PLAN_YEARS if y >= start}
    sections = [
        *_head(t, city, start, sum(v.value for v in flows[start].values())),
        *_streams(t, flows[start]),
        *_timeline(flows, start),
        *_national(t),
        _claims_board(t, asylum),
        *_municipality(t, place, share),
        *_agency(t, place, flows[start]),
    ]
    values = [v for _, rows in sections for _, v in rows]
    muni = dict(next(rows for header, rows in sections if header == "[municipalities]"))
    summary = {"city": city, "province": place["province"], "values": len(values),
               "assumed": sum(v.assumed for v in values),
               "arrivals": sum(v.value for v in flows[start].values()), "start": start,
               "replace_first": [k for k in REPLACE_FIRST if muni[k].assumed]}
    header = _header(t, place, share, asylum, start, summary, today or date.today())
    return header + _render(sections), summary


def write_scenario(text: str, out: Path, force: bool = False) -> Path:
    """Write ``text`` to ``out`` atomically, after checking that it validates.

    A file already at ``out`` is kept unless ``force``; nothing is left behind on failure.
    """
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; pass --force to replace it or choose --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".toml", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        load_scenario(Path(tmp))  # a scenario that does not validate is a bug here: raise
        if force:
            os.replace(tmp, out)
        else:
            _link(Path(tmp), out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return out


def _link(tmp: Path, out: Path) -> None:
    """Put ``tmp`` at ``out`` unless a file is there, even one that appeared meanwhile."""
    taken = f"{out} exists; pass --force to replace it or choose --out"
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise FileExistsError(taken) from None
    except OSError:  # a file system without hard links: check, then rename
        if out.exists():
            raise FileExistsError(taken) from None
        os.replace(tmp, out)


# ---------------------------------------------------------------------------- arrivals
def _asylum(t: Tables, place: dict, share: Val) -> Val:
    """Claims in the province over the last year x the city's share of the province's newcomers."""
    prov = t.provinces[place["province"]]
    prov_share = noted(float(prov["recent_share_pct"]) / 100, prov["recent_share_source"])
    claims = t.claims[prov["name"]]
    of_province = min(1.0, share.value / prov_share.value)
    value = round(claims.value * of_province)
    return derived(value, f"{claims.note} x {of_province:.1%} ({place['name']}'s "
                   f"{share.value:.2%} / {prov['name']}'s {prov_share.value:.1%} of Canada's "
                   f"2016-21 recent immigrants) = {value:,}; the plan sets no claims target, "
                   "so claims stay at this level", claims, share, prov_share)


def _flows(t: Tables, year: int, share: Val, city: str, asylum: Val) -> dict[str, Val]:
    """Persons a year by stream in ``year``: the plan's national target x the city's share."""
    of_city = f"x {share.value:.2%} ({city}'s share of Canada's 2016-21 recent immigrants)"
    econ, in_canada = t.plan[year, "economic"], t.plan[year, "economic_in_canada"]
    abroad = econ.value - in_canada.value
    value = round(abroad * share.value)
    out = {"economic_pr": derived(
        value, f"levels plan {year}: economic {econ.value:,} - in-Canada focus "
        f"{in_canada.value:,} (already here as temporary residents; they become PR through "
        f"status.permit_to_pr) = {abroad:,} {of_city} = {value:,}", econ, in_canada, share)}
    for stream, category in PLAN_CATEGORY.items():
        plan = t.plan[year, category]
        value = round(plan.value * share.value)
        out[stream] = derived(value, f"levels plan {year}: {category} {plan.value:,} {of_city} "
                              f"= {value:,}", plan, share)
    out["asylum_claimant"] = asylum
    return {s: out[s] for s in STREAM_ORDER}


def _streams(t: Tables, flows: dict[str, Val]) -> list[Section]:
    sections = []
    for stream in STREAM_ORDER:
        rows = [("per_year", flows[stream])]
        rows += [(k, t.national[f"streams.{stream}.{k}"])
                 for k in ("household_size", "skill", "language", "francophone_share")
                 if f"streams.{stream}.{k}" in t.national]
        sections.append((f"streams.{stream}", rows))
        prefix = f"streams.{stream}.housing_on_arrival."
        sections.append((f"streams.{stream}.housing_on_arrival",
                         [(k[len(prefix):], v) for k, v in t.national.items()
                          if k.startswith(prefix)]))
    return sections


def _timeline(flows: dict[int, dict[str, Val]], start: int) -> list[Section]:
    sections: list[Section] = []
    for year in sorted(flows):
        if year == start:
            continue
        plan = "IRCC Immigration Levels Plan 2025-2027"
        sections.append(("[timeline]", [
            ("date", Val(first_monday(year), f"{plan}: first Monday of plan year {year}", False)),
            ("note", Val(f"Levels plan {year}: arrivals by stream change to the year's targets",
                         plan, False))]))
        sections.append(("timeline.set", [(f"streams.{s}.per_year", v)
                                          for s, v in flows[year].items()]))
    return sections


# ---------------------------------------------------------------------------- the rest
def _head(t: Tables, city: str, start: int, per_year: float) -> list[Section]:
    scale = next((s for s in SCALES if per_year / s <= AGENTS_PER_YEAR), SCALES[-1])
    question = (f"How do shelters, waiting lists, housing and integration in {city} develop "
                f"from {start} when arrivals follow the federal Immigration Levels Plan "
                "2025-2027?")
    return [
        ("scenario", [
            ("name", Val(slug(city), "written by reception new-city", False)),
            ("question", Val(question, "written by reception new-city", False)),
            ("start_date", Val(first_monday(start), f"first Monday of {start}, the first year "
                               "of the run (reception new-city --start)", False)),
            ("fiscal_year_start_month", Val(4, "federal and provincial fiscal years start "
                                               "1 April", False))]),
        ("run", [
            ("weeks", Val(156, "three years, the span of the levels plan; after its last "
                               "year flows stay at that year's level", True)),
            ("seed", t.national["run.seed"]),
            ("scale", Val(float(scale), f"persons per agent: about {per_year / scale:,.0f} "
                          "agents a year (ODD section 9: small places need a small scale)",
                          True)),
            ("progress", t.national["run.progress"])]),
    ]


def _national(t: Tables) -> list[Section]:
    """Model-wide values, grouped by table: the parameters of new_city_national.csv."""
    tables: dict[str, list[tuple[str, Val]]] = {}
    for path, value in t.national.items():
        table, _, key = path.rpartition(".")
        if table.split(".")[0] not in ("const", "run", "streams"):
            tables.setdefault(table, []).append((key, value))
    return list(tables.items())


def _claims_board(t: Tables, asylum: Val) -> Section:
    """The board's capacity and backlog in proportion to the city's share of claims."""
    part = asylum.value / t.claims_total.value
    decisions, pending = t.national["const.rpd_decisions_per_year"], t.national["const.rpd_pending"]
    per_year = round(decisions.value * part, 1)
    backlog = round(pending.value * part)
    share = f"x {part:.4%} (the city's claims {asylum.value:,} / {t.claims_total.note})"
    return ("claims_board", [
        ("decisions_per_year", derived(per_year, f"IRB RPD finalised {decisions.value:,} claims "
                                       f"in FY2023-24 [V, canada_national_facts s.3] {share}",
                                       decisions, asylum)),
        ("backlog_at_start", derived(backlog, f"IRB RPD pending {pending.value:,} at 30 Sep 2024 "
                                     f"[V, canada_national_facts s.3] {share}", pending, asylum))])


def _kind(population: int) -> Val:
    kind = ("gateway" if population >= 2_000_000 else
            "small_town" if population < 100_000 else "mid_sized")
    return Val(kind, "size class from the population: gateway from 2,000,000, small town "
                     "below 100,000", True)


def _municipality(t: Tables, place: dict, share: Val) -> list[Section]:
    n = t.national
    pop = noted(int(place["population"]), place["population_source"])
    if place["households"]:
        households = noted(int(place["households"]), place["households_source"])
        units = _round(households.value * n["const.renter_share"].value, 2)
        stock = derived(units, f"{households.value:,} households x {n['const.renter_share'].value}"
                        f" renter share ({n['const.renter_share'].note})", households,
                        n["const.renter_share"])
    else:
        pph, renters = n["const.persons_per_household"], n["const.renter_share"]
        units = _round(pop.value / pph.value * renters.value, 2)
        stock = derived(units, f"{pop.value:,} / {pph.value} persons per household x "
                        f"{renters.value} renter share ({renters.note})", pph, renters)
    kind = _kind(pop.value)
    supply = derived(round(stock.value * n["const.new_supply_share"].value),
                     n["const.new_supply_share"].note, stock, n["const.new_supply_share"])
    budget = derived(_round(pop.value * n["const.municipal_budget_per_resident"].value, 3),
                     f"{pop.value:,} residents x ${n['const.municipal_budget_per_resident'].value}"
                     f" ({n['const.municipal_budget_per_resident'].note})", pop,
                     n["const.municipal_budget_per_resident"])
    transport = {"gateway": 1.0, "mid_sized": 0.8, "small_town": 0.4}[kind.value]
    gazetteer = "public gazetteer, city centre (geography only; as canada_baseline)"
    rows = [
        ("name", Val(place["name"], "data/new_city_places.csv", False)),
        ("province", Val(place["province"], "data/new_city_places.csv", False)),
        ("kind", kind),
        ("lat", Val(float(place["lat"]), gazetteer, False)),
        ("lon", Val(float(place["lon"]), gazetteer, False)),
        ("population", pop),
        ("rental_stock", stock),
        ("vacancy_rate", _or_national(place, "vacancy_pct", "vacancy_source", 100,
                                      n["const.vacancy_rate"])),
        ("median_rent", _or_national(place, "rent_2br", "rent_source", 1,
                                     n["const.rent_2br"])),
        ("new_supply_per_year", supply),
        ("shelter_beds", _beds(t, place, pop)),
        ("initial_shelter_occupancy", Val(0, "no count of newcomers in shelter at the start "
                                             "is in the tables", True)),
        ("newcomer_budget_per_year", budget),
        ("reserves", derived(_round(budget.value / 4, 2), "a quarter of the yearly newcomer "
                             "budget (as canada_baseline)", budget)),
        ("allowed_deficit", derived(_round(budget.value / 10, 2), "a tenth of the yearly "
                                    "budget (as canada_baseline)", budget)),
        ("labour_demand", Val(0.7, "schema default", True)),
        ("transport_access", Val(transport, f"by size class ({kind.value})", True)),
        ("destination_weight", derived(round(share.value * 100, 4), f"% of Canada's 2016-21 "
                                       f"recent immigrants: {share.note}", share)),
    ]
    if place.get("francophone_pct"):
        rows.append(("francophone_share", noted(round(float(place["francophone_pct"]) / 100, 4),
                                                place["francophone_source"])))
    return [("[municipalities]", rows), ("municipalities.policies", _policies(place))]


def _or_national(place: dict, column: str, source: str, divisor: float, national: Val) -> Val:
    """The city's value from the table, else the national one (then an assumption)."""
    if place[column]:
        return noted(round(float(place[column]) / divisor, 4), place[source])
    return Val(national.value, f"the city's value is not in the tables; national value: "
                               f"{national.note}", True)


def _beds(t: Tables, place: dict, pop: Val) -> Val:
    """Shelter beds open to newcomers: a newcomer count, else a per-100k rate x a share."""
    if place["newcomer_shelter_beds"]:
        return noted(int(place["newcomer_shelter_beds"]), place["shelter_source"])
    open_share = t.national["const.newcomer_share_of_beds"]
    if place["shelter_beds_per_100k"]:
        rate = noted(float(place["shelter_beds_per_100k"]), place["shelter_source"])
    else:
        rate = t.national["const.shelter_beds_per_100k"]
    beds = round(pop.value / 100_000 * rate.value * open_share.value)
    return derived(beds, f"{pop.value:,} / 100,000 x {rate.value:g} beds per 100k ({rate.note}) "
                   f"x {open_share.value} open to newcomers ({open_share.note})", rate,
                   open_share)


def _policies(place: dict) -> list[tuple[str, Val]]:
    if place["access_without_fear_year"]:
        fear = Val(True, place["access_source"], False)
    else:
        fear = Val(False, "no access-without-fear policy found in canada_municipal_facts.csv",
                   True)
    if place["province"] == "QC":
        lip = Val(False, "seed 004: 'There are neither LIPs nor RIFs in Québec'", False)
    else:
        lip = Val(True, "seed 004: LIPs in 87 communities outside Québec; whether this city has "
                        "one is not in the tables", True)
    if place["province"] == "QC":
        rif = Val(False, "seed 004: 'There are neither LIPs nor RIFs in Québec'", False)
    else:
        rif = Val(True, "seed 004: the federal government funds réseaux en immigration "
                        "francophone where francophones are the minority; whether one covers "
                        "this city is not in the tables", True)
    return [("access_without_fear", fear), ("lip", lip), ("rif", rif),
            ("emergency_response", Val(True, "cities opened emergency sites in 2023 (seed 004); "
                                             "rules in [response] (as canada_baseline)", True))]


def _agency(t: Tables, place: dict, flows: dict[str, Val]) -> list[Section]:
    """One settlement agency offering the four services, paid per permanent-resident newcomer."""
    n = t.national
    pr = [flows[s] for s in ("economic_pr", "family_pr", "resettled_refugee")]
    newcomers = sum(v.value for v in pr)
    per, front = n["const.settlement_per_newcomer"], n["const.front_line_share"]
    federal = derived(_round(newcomers * per.value * front.value, 3),
                      f"{newcomers:,} permanent-resident newcomers a year (economic from abroad, "
                      f"family, resettled; streams above) x ${per.value:,} ({per.note}) x "
                      f"{front.value} front-line share ({front.note})", *pr, per, front)
    prov_share = n["const.provincial_share"]
    provincial = derived(_round(federal.value * prov_share.value, 3),
                         f"{prov_share.value} x the federal line ({prov_share.note})", federal,
                         prov_share)
    total = federal.value + provincial.value
    fte = n["const.cost_per_fte_year"]
    quebec = place["province"] == "QC"
    federal_funder = Val("provincial" if quebec else "federal",
                         "seed 004: Québec administers settlement under the Canada-Québec "
                         "Accord" if quebec else "IRCC settlement funding (seed 004)", False)
    rows = [
        ("name", Val(f"{place['name']} settlement services", "one agency standing for the "
                     "city's settlement organisations", True)),
        ("municipality", Val(place["name"], "data/new_city_places.csv", False)),
        ("services", Val(["orientation", "language", "employment", "housing_help"],
                         "one agency offers the four modelled services", True)),
        ("staff_fte", derived(round(total / fte.value, 1), f"${total:,.0f}/year of grants / "
                              f"${fte.value:,} per FTE ({fte.note})", federal, fte)),
        ("quality", Val(0.7, "schema default", True)),
        ("flexibility", Val(0.5, "a multi-service agency moves half its hours toward its "
                                 "longest list (as canada_baseline)", True)),
        ("reserves", derived(_round(total / 12, 2), "one month of grants (as canada_baseline)",
                             federal)),
    ]
    grant = [
        ("[agencies.grants]", [("funder", federal_funder), ("amount_per_year", federal),
                               ("kind", Val("core", "seed 004: five-year federal contracts "
                                                    "from April 2020", False))]),
        ("[agencies.grants]", [("funder", Val("provincial", "seed 004: provinces fund "
                                              "settlement to a lesser extent", False)),
                               ("amount_per_year", provincial),
                               ("kind", Val("core", "a standing provincial line", True))]),
    ]
    return [("[agencies]", rows), *grant]


# ---------------------------------------------------------------------------- text
def _render(sections: list[Section]) -> str:
    lines: list[str] = []
    for header, rows in sections:
        if header.startswith("["):
            lines += ["", f"[[{header.strip('[]')}]]"]
        elif header:
            lines += ["", f"[{header}]"]
        for key, v in rows:
            lines.append(f"{toml_key(key)} = {toml_value(v.value)}  {v.comment()}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _header(t: Tables, place: dict, share: Val, asylum: Val, start: int, summary: dict,
            today: date) -> str:
    city, prov = place["name"], t.provinces[place["province"]]["name"]
    years = ", ".join(str(y) for y in PLAN_YEARS if y > start)
    share_note = ("an assumption, please replace" if share.assumed else "from the Census")
    first = ", ".join([*summary["replace_first"], "the agency's grants"])
    later = (f"a [[timeline]] entry on the first Monday of {years} sets that year's targets"
             if years else "there is no later plan year")
    text = f"""\
{city} ({prov}): a one-city scenario written by `reception new-city` on {today.isoformat()}
from the public tables bundled with the model (data/README.md gives each table's source and
licence). Check it with `reception validate FILE`, run it with `reception run FILE`.

Every value carries `# source: ...` or `# {ASSUMED}: ...`; {summary['assumed']} of
{summary['values']} values here are assumptions. Replace them with what you know of {city},
first these: {first}. Parameters not written take the schema's defaults (docs/parameters.md).

Arrivals follow the federal Immigration Levels Plan 2025-2027 (announced 24 October 2024): each
stream's per_year is the plan's national target for the year x {city}'s share of Canada's
2016-21 recent immigrants ({share.value:.2%}, {share_note}). The first year's flows are the
streams' per_year; {later}; after 2027 the flows stay at the 2027 level (assumption).
Not arrivals here: economic permanent residents chosen in Canada (the plan's in-Canada focus:
temporary residents already here, who become permanent through status.permit_to_pr),
protected persons landing in Canada (claimants whose claims are accepted become protected
persons in the model) and humanitarian-and-other admissions (mostly people already in Canada).
Asylum claims are not in the plan: {asylum.value:,} a year, the last twelve months of IRCC
claims in {prov} x {city}'s share of the province's recent immigrants (see the stream).
The city alone is modelled: the model's secondary moves happen between modelled cities, so here
nobody moves on; people leave only by emigrating or departing after a refused claim or an expired
permit (docs/ODD.md 7.2, 7.7).
"""
    paragraphs = [textwrap.fill(" ".join(p.split()), 96, break_on_hyphens=False)
                  for p in text.split("\n\n")]
    return "".join(f"# {line}".rstrip() + "\n" for line in "\n\n".join(paragraphs)
                   .splitlines()) + "\n"
