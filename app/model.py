"""The app's model: a bundled scenario plus classroom levers, as one ``ReceptionModel``.

``AppModel(*, preset=..., seed=..., <levers>)`` takes keyword arguments only, each with a
default, so Mesa's visualisation can rebuild it as ``AppModel(**params)``. The levers are
applied to the preset's resolved scenario data (after ``extends``) before validation, so a
lever that breaks a rule of the schema is reported like a bad ``--set``:

==========================  ================================================================
lever                       what it changes in the preset
==========================  ================================================================
``federal_funding``         ``funding.grant_factor.federal`` times the factor
``municipal_budget``        every city's ``newcomer_budget_per_year`` times the factor
``shelter_beds``            every city's ``shelter_beds`` times the factor
``arrivals``                every stream's ``per_year`` (or its series ``share``) times the
                            factor
``surge``                   an extra shock on ``asylum_claimant`` arrivals, this multiplier for
                            weeks 13-25 (a quarter)
``access_without_fear``,    ``as in scenario`` keeps each city's setting; ``all cities`` /
``lip``, ``intake_cap``     ``no city`` set the policy for every city (intake cap: and switch
                            off ``adaptive_cap``, so the council cannot reopen or close it)
``predictable_funding``     every program grant becomes core money with no end week (a
                            re-award that continues a line is dropped: the line now pays
                            for good) and IHAP pays every claim (``ihap_predictable``)
``classroom_speed``         fewer agents: ``run.scale`` raised so the run holds at most
                            ``AGENT_BUDGET`` agents, at most ``MAX_COARSENING`` times the
                            preset's scale (never finer than the preset)
==========================  ================================================================

Timeline entries of the preset that set a scaled quantity (beds, budgets, per_year, the
federal factor) are scaled too; entries that set a policy the app forces are dropped.
The model stops (``running = False``) at the preset's horizon ``run.weeks``.
"""

from __future__ import annotations

import copy
import functools
import math
import os
from pathlib import Path
from typing import Any

from app.cli import SCENARIO_ENV
from sim import paths
from sim.model import WEEKS_PER_YEAR, ReceptionModel
from sim.params import Scenario
from sim.scenario import (
    SCENARIO_DIR,
    Resolved,
    ScenarioError,
    bundled_scenarios,
    resolve,
    validate_resolved,
)

# The bundled library, listed once at import (file stems, in name order).
PRESETS: list[str] = [p.stem for p in bundled_scenarios()]
DEFAULT_PRESET = ("classroom" if "classroom" in PRESETS
                  else "canada_baseline" if "canada_baseline" in PRESETS
                  else PRESETS[0] if PRESETS else "")

AS_IN_SCENARIO, ALL_CITIES, NO_CITY = "as in scenario", "all cities", "no city"
POLICY_CHOICES = [AS_IN_SCENARIO, ALL_CITIES, NO_CITY]
POLICY_LEVERS = ("access_without_fear", "lip", "intake_cap")

SURGE_STREAM = "asylum_claimant"
SURGE_START_WEEK = 13  # a spring quarter when the run starts in January (assumption)
SURGE_WEEKS = 13
# Classroom speed: at most this many agents over the run (~10 ms a week at most), but a
# preset is made at most MAX_COARSENING times coarser (small towns need small scales).
AGENT_BUDGET = 100_000
MAX_COARSENING = 2.0

# Keyword defaults of AppModel: the app's controls start here.
DEFAULTS: dict[str, Any] = {
    "preset": DEFAULT_PRESET,
    "seed": 1,
    "federal_funding": 1.0,
    "municipal_budget": 1.0,
    "shelter_beds": 1.0,
    "arrivals": 1.0,
    "surge": 1.0,
    "access_without_fear": AS_IN_SCENARIO,
    "lip": AS_IN_SCENARIO,
    "intake_cap": AS_IN_SCENARIO,
    "predictable_funding": False,
    "classroom_speed": True,
}


def preset_path(preset: str) -> Path:
    """The scenario file of a preset: a name from ``PRESETS``, or the one file the server
    was started with (``reception app FILE.toml``); anything else the page sends is refused,
    so a browser can never make the server read another file."""
    if preset in PRESETS:
        return SCENARIO_DIR / f"{preset}.toml"
    started_with = os.environ.get(SCENARIO_ENV)
    if started_with and preset == started_with and started_with not in PRESETS:
        return Path(started_with)
    raise ScenarioError(Path(str(preset)), [
        f"not a bundled scenario (bundled: {', '.join(PRESETS)})"])


def _key_parts(key: str) -> list[str]:
    try:
        return paths.split(key)
    except paths.PathError:
        return []


def _scale_timeline(data: dict, factors: dict[tuple[str, ...], float],
                    dropped: tuple[str, ...]) -> None:
    """Scale timeline values of scaled parameters; drop changes of forced policies.

    ``factors`` maps a key-path suffix (e.g. ``("shelter_beds",)``) to its factor;
    ``dropped`` lists policy names whose timeline changes are removed.
    """
    kept = []
    for change in data.get("timeline", []) or []:
        sets = change.get("set") if isinstance(change, dict) else None
        if not isinstance(sets, dict):
            kept.append(change)
            continue
        new = {}
        for key, value in sets.items():
            parts = _key_parts(key)
            if len(parts) >= 2 and parts[-2] == "policies" and parts[-1] in dropped:
                continue
            for suffix, factor in factors.items():
                if (factor != 1.0 and tuple(parts[-len(suffix):]) == suffix
                        and isinstance(value, int | float) and not isinstance(value, bool)):
                    value = value * factor
            new[key] = value
        if new:
            kept.append({**change, "set": new})
    if "timeline" in data:
        data["timeline"] = kept


def _predictable_grants(grants: list) -> list:
    """Program grants become core money without an end; re-awards of a line are dropped."""
    ends = {(g.get("funder"), g.get("end_week")) for g in grants
            if isinstance(g, dict) and g.get("kind", "program") == "program"
            and g.get("end_week") is not None}
    out = []
    for g in grants:
        if not isinstance(g, dict) or g.get("kind", "program") != "program":
            out.append(g)
            continue
        if g.get("start_week", 0) > 0 and (g.get("funder"), g.get("start_week")) in ends:
            continue  # continues a line that now pays for good
        core = {k: v for k, v in g.items() if k not in ("end_week", "renewal_probability")}
        core["kind"] = "core"
        out.append(core)
    return out


def apply_levers(data: dict, *, federal_funding: float = 1.0, municipal_budget: float = 1.0,
                 shelter_beds: float = 1.0, arrivals: float = 1.0, surge: float = 1.0,
                 access_without_fear: str = AS_IN_SCENARIO, lip: str = AS_IN_SCENARIO,
                 intake_cap: str = AS_IN_SCENARIO, predictable_funding: bool = False) -> dict:
    """Resolved scenario data (plain dicts) with the levers applied; the input is unchanged."""
    data = copy.deepcopy(data)
    funding = data.setdefault("funding", {})
    factors = funding.setdefault("grant_factor", {})
    factors["federal"] = float(factors.get("federal", 1.0)) * federal_funding
    for m in data.get("municipalities", []):
        if not isinstance(m, dict):
            continue
        m["newcomer_budget_per_year"] = float(m.get("newcomer_budget_per_year", 0.0)) \
            * municipal_budget
        if "shelter_beds" in m:
            m["shelter_beds"] = float(m["shelter_beds"]) * shelter_beds
        policies = m.setdefault("policies", {})
        for name, choice in (("access_without_fear", access_without_fear), ("lip", lip),
                             ("intake_cap", intake_cap)):
            if choice != AS_IN_SCENARIO:
                policies[name] = choice == ALL_CITIES
                if name == "intake_cap":
                    policies["adaptive_cap"] = False
    for stream in (data.get("streams") or {}).values():
        if not isinstance(stream, dict):
            continue
        if isinstance(stream.get("series"), dict):
            stream["series"]["share"] = float(stream["series"].get("share", 1.0)) * arrivals
        else:
            stream["per_year"] = float(stream.get("per_year", 0.0)) * arrivals
    if surge != 1.0 and SURGE_STREAM in (data.get("streams") or {}):
        data.setdefault("shocks", []).append({
            "stream": SURGE_STREAM, "start_week": SURGE_START_WEEK,
            "end_week": SURGE_START_WEEK + SURGE_WEEKS, "multiplier": float(surge)})
    if predictable_funding:
        funding["ihap_predictable"] = True
        for agency in data.get("agencies", []):
            if isinstance(agency, dict) and isinstance(agency.get("grants"), list):
                agency["grants"] = _predictable_grants(agency["grants"])
    forced = tuple(name for name, choice in (("access_without_fear", access_without_fear),
                                             ("lip", lip), ("intake_cap", intake_cap))
                   if choice != AS_IN_SCENARIO)
    if "intake_cap" in forced:
        forced += ("adaptive_cap",)
    _scale_timeline(data, {("shelter_beds",): shelter_beds,
                           ("newcomer_budget_per_year",): municipal_budget,
                           ("per_year",): arrivals,
                           ("grant_factor", "federal"): federal_funding}, forced)
    return data


def expected_agents(scenario: Scenario) -> float:
    """Simulated people the run will hold at its end, roughly (arrivals + stock) / scale."""
    from sim.series import weekly_arrivals

    weeks = scenario.run.weeks
    people = 0.0
    for stream in scenario.streams.values():
        if stream.series is not None:
            people += float(weekly_arrivals(stream.series, scenario.scenario.start_date,
                                            weeks).sum())
        else:
            people += stream.per_year * weeks / WEEKS_PER_YEAR
    people += sum(m.initial_shelter_occupancy for m in scenario.municipalities)
    return people / scenario.run.scale


@functools.lru_cache(maxsize=32)
def _resolved_data(path: Path, mtime_ns: int) -> dict:
    """Raw data of a scenario file after ``extends`` (cached: resolving takes ~1 s)."""
    return resolve(path).data


def resolved_data(preset: str) -> dict:
    """A fresh copy of the preset's raw scenario data (the cache follows file changes)."""
    path = preset_path(preset).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # resolve() reports the missing file
    return copy.deepcopy(_resolved_data(path, mtime))


def build_scenario(preset: str = DEFAULT_PRESET, *, classroom_speed: bool = True,
                   **levers: Any) -> Scenario:
    """The preset's scenario with the levers applied (raises ``ScenarioError`` if invalid)."""
    path = preset_path(preset)
    resolved = Resolved(apply_levers(resolved_data(preset), **levers))
    scenario = validate_resolved(resolved, path)
    if classroom_speed:
        agents = expected_agents(scenario)
        if agents > AGENT_BUDGET:
            # coarser, at most MAX_COARSENING times, rounded up to 5, 10, 15, ... people
            factor = min(agents / AGENT_BUDGET, MAX_COARSENING)
            scale = math.ceil(scenario.run.scale * factor / 5) * 5
            resolved.data.setdefault("run", {})["scale"] = float(scale)
            scenario = validate_resolved(resolved, path)
    scenario.run.progress = False
    return scenario


class AppModel(ReceptionModel):
    """A ``ReceptionModel`` of a bundled preset with the app's levers (keyword-only).

    ``app_params`` keeps the arguments, so a twin can be built with one lever flipped.
    """

    def __init__(self, *, preset: str = DEFAULTS["preset"], seed: int = DEFAULTS["seed"],
                 federal_funding: float = DEFAULTS["federal_funding"],
                 municipal_budget: float = DEFAULTS["municipal_budget"],
                 shelter_beds: float = DEFAULTS["shelter_beds"],
                 arrivals: float = DEFAULTS["arrivals"], surge: float = DEFAULTS["surge"],
                 access_without_fear: str = DEFAULTS["access_without_fear"],
                 lip: str = DEFAULTS["lip"], intake_cap: str = DEFAULTS["intake_cap"],
                 predictable_funding: bool = DEFAULTS["predictable_funding"],
                 classroom_speed: bool = DEFAULTS["classroom_speed"]) -> None:
        self.app_params: dict[str, Any] = {
            "preset": preset, "seed": int(seed), "federal_funding": float(federal_funding),
            "municipal_budget": float(municipal_budget), "shelter_beds": float(shelter_beds),
            "arrivals": float(arrivals), "surge": float(surge),
            "access_without_fear": access_without_fear, "lip": lip, "intake_cap": intake_cap,
            "predictable_funding": bool(predictable_funding),
            "classroom_speed": bool(classroom_speed)}
        levers = {k: v for k, v in self.app_params.items() if k not in ("preset", "seed")}
        scenario = build_scenario(**{"preset": preset, **levers})
        super().__init__(scenario=scenario, seed=int(seed))

    def step(self) -> None:
        """One week; a step past the preset's horizon does nothing (series end there)."""
        if self.week >= self.scenario.run.weeks:
            self.running = False
            return
        super().step()

    def twin(self, **changes: Any) -> AppModel:
        """A new model at week 0 with the same arguments except ``changes``."""
        return AppModel(**{**self.app_params, **changes})
