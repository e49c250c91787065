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
``shelter_beds``            every city's beds (``BED_KEYS``: programme and general system)
                            times the factor
``arrivals``                every stream's ``per_year`` (or its series ``share``) times the
                            factor
``surge``                   an extra shock on ``asylum_claimant`` arrivals, this multiplier for
                            weeks 13-25 (a quarter)
``access_without_fear``,    ``as in scenario`` keeps each city's setting; ``all cities`` /
``lip``, ``rif``,           ``no city`` set the policy for every city (intake cap: and switch
``intake_cap``,             off ``adaptive_cap``, so the council cannot reopen or close it; RIF:
``emergency_response``      every city outside Québec, where there are none)
``response_speed``,         the crisis response's speed, the pressure a council needs to act
``act_pressure``,           and the federal shelter money, in words (``app.crisis``)
``federal_shelter``
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

from app import SCENARIO_ENV, crisis
from app.words import (
    ALL_CITIES,
    AS_IN_SCENARIO,
    NO_CITY,
    describe_levers,
    path_text,
    plain,
    possessive,
)
from sim import paths, resources
from sim.codes import FUNDERS
from sim.model import ReceptionModel
from sim.params import Change, Scenario
from sim.params_francophone import QUEBEC
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

POLICY_CHOICES = [AS_IN_SCENARIO, ALL_CITIES, NO_CITY]
# The bed counts the shelter_beds lever scales (the old key, the programme, the general system).
BED_KEYS = ("shelter_beds", "refugee_program_beds", "shelter_system_beds")
POLICY_LEVERS = ("access_without_fear", "lip", "rif", "intake_cap", "emergency_response")

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
    "rif": AS_IN_SCENARIO,
    "intake_cap": AS_IN_SCENARIO,
    "emergency_response": AS_IN_SCENARIO,
    **crisis.CRISIS_DEFAULTS,
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
                    dropped: tuple[str, ...], dropped_paths: tuple[tuple[str, ...], ...] = ()
                    ) -> None:
    """Scale timeline values of scaled parameters; drop changes of forced settings.

    ``factors`` maps a key-path suffix (e.g. ``("shelter_beds",)``) to its factor;
    ``dropped`` lists policy names, ``dropped_paths`` whole key paths (e.g.
    ``("politics", "act_pressure")``) whose timeline changes are removed.
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
            if (len(parts) >= 2 and parts[-2] == "policies" and parts[-1] in dropped
                    or tuple(parts) in dropped_paths):
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
                 rif: str = AS_IN_SCENARIO, intake_cap: str = AS_IN_SCENARIO,
                 emergency_response: str = AS_IN_SCENARIO,
                 predictable_funding: bool = False, **crisis_levers: str) -> dict:
    """Resolved scenario data (plain dicts) with the levers applied; the input is unchanged.

    ``crisis_levers`` are ``app.crisis.CRISIS_LEVERS`` (response speed, pressure to act,
    federal shelter money)."""
    data = copy.deepcopy(data)
    policies_chosen = {"access_without_fear": access_without_fear, "lip": lip, "rif": rif,
                       "intake_cap": intake_cap, "emergency_response": emergency_response}
    if federal_funding != 1.0:
        factors = data.setdefault("funding", {}).setdefault("grant_factor", {})
        factors["federal"] = float(factors.get("federal", 1.0)) * federal_funding
    for m in data.get("municipalities", []):
        if not isinstance(m, dict):
            continue
        if municipal_budget != 1.0:
            m["newcomer_budget_per_year"] = float(m.get("newcomer_budget_per_year", 0.0)) \
                * municipal_budget
        for key in BED_KEYS:
            if key in m and shelter_beds != 1.0:
                m[key] = float(m[key]) * shelter_beds
        for name, choice in policies_chosen.items():
            if choice != AS_IN_SCENARIO and not (name == "rif" and m.get("province") == QUEBEC):
                policies = m.setdefault("policies", {})
                policies[name] = choice == ALL_CITIES
                if name == "intake_cap":
                    policies["adaptive_cap"] = False
    for stream in (data.get("streams") or {}).values():
        if not isinstance(stream, dict) or arrivals == 1.0:
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
        data.setdefault("funding", {})["ihap_predictable"] = True
        for agency in data.get("agencies", []):
            if isinstance(agency, dict) and isinstance(agency.get("grants"), list):
                agency["grants"] = _predictable_grants(agency["grants"])
    crisis.apply_crisis_levers(data, **crisis_levers)
    forced = tuple(name for name, choice in policies_chosen.items() if choice != AS_IN_SCENARIO)
    if "intake_cap" in forced:
        forced += ("adaptive_cap",)
    _scale_timeline(data, {**{(key,): shelter_beds for key in BED_KEYS},
                           ("newcomer_budget_per_year",): municipal_budget,
                           ("per_year",): arrivals,
                           ("grant_factor", "federal"): federal_funding}, forced,
                    crisis.forced_paths(**crisis_levers))
    return data


def expected_agents(scenario: Scenario) -> float:
    """Simulated people the run will hold at its end, roughly (arrivals + stocks) / scale."""
    return resources.arrivals(scenario) / scenario.run.scale


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


def scenario_data(preset: str, levers: dict[str, Any],
                  overrides: tuple[tuple[str, Any], ...] = ()) -> dict:
    """The preset's raw data with the levers, then each ``(path, value)`` override, applied.

    Overrides are the planner's per-city levers and the lessons' settings
    (e.g. ``("municipalities.Pinecrest.transport_access", 0.9)``), set like ``--set``.
    """
    data = apply_levers(resolved_data(preset), **levers)
    for path, value in overrides:
        try:
            paths.set_in_data(data, path, value)
        except (paths.PathError, TypeError, AttributeError) as e:
            raise ScenarioError(preset_path(preset), [f"{path}: {e}"]) from None
    return data


def diff_paths(old: Any, new: Any, where: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{path: new value}`` for every parameter that differs between two raw scenarios.

    Named lists (municipalities, agencies) are matched by name; other lists and values
    are compared whole. Applying the result to ``old`` with ``--set`` gives ``new``.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out: dict[str, Any] = {}
        for key, value in new.items():
            here = (*where, key)
            if len(here) == 1 and key in paths.NAMED_LISTS and isinstance(value, list):
                before = {it.get("name"): it for it in old.get(key, []) if isinstance(it, dict)}
                for item in value:
                    name = item.get("name") if isinstance(item, dict) else None
                    out.update(diff_paths(before.get(name, {}), item, (*here, str(name))))
            elif key not in old:
                out.update(diff_paths({}, value, here) if isinstance(value, dict)
                           else {path_text(here): value})
            else:
                out.update(diff_paths(old[key], value, here))
        return out
    return {} if old == new else {path_text(where): new}


def timeline_changes(before: dict, after: dict) -> dict[str, Any]:
    """What a timeline entry must set to turn raw scenario ``before`` into ``after``.

    ``diff_paths`` of the raw data, plus what differs between the validated scenarios
    only: a lever moved back to "as in scenario" removes its key from the raw data, and
    the timeline must then set the preset's own value (or the schema's default) again.
    """
    changed = diff_paths(before, after)
    try:
        effective = diff_paths(Scenario.model_validate(copy.deepcopy(before)).model_dump(),
                               Scenario.model_validate(copy.deepcopy(after)).model_dump())
    except ValueError:  # an invalid setting: validate_resolved reports it on the rebuild
        return changed
    return changed | {k: v for k, v in effective.items() if k not in changed}


def _scale_for_speed(data: dict, path: Path) -> None:
    """Classroom speed: raise ``run.scale`` so the run holds at most AGENT_BUDGET agents."""
    agents = expected_agents(validate_resolved(Resolved(copy.deepcopy(data)), path))
    if agents > AGENT_BUDGET:
        # coarser, at most MAX_COARSENING times, rounded up to 5, 10, 15, ... people
        factor = min(agents / AGENT_BUDGET, MAX_COARSENING)
        scale = float(data.get("run", {}).get("scale", 1.0))
        data.setdefault("run", {})["scale"] = float(math.ceil(scale * factor / 5) * 5)


def build_data(preset: str = DEFAULT_PRESET, *, seed: int | None = None,
               classroom_speed: bool = True, overrides: tuple = (), schedule: tuple = (),
               **levers: Any) -> dict:
    """Raw scenario data of the app's settings: what ``build_scenario`` validates.

    ``schedule`` holds mid-run changes, ``(week, lever changes, override changes)``: each
    becomes a timeline entry of that week setting what differs between the settings
    before and after it (``diff_paths``). ``seed`` sets ``run.seed``.
    """
    path = preset_path(preset)
    data = scenario_data(preset, levers, overrides)
    if classroom_speed:
        _scale_for_speed(data, path)
    if seed is not None:
        data.setdefault("run", {})["seed"] = int(seed)
    now_levers, now_overrides = dict(levers), dict(overrides)
    before = scenario_data(preset, now_levers, tuple(now_overrides.items()))
    for week, lever_changes, override_changes in schedule:
        now_levers.update(dict(lever_changes))
        now_overrides.update(dict(override_changes))
        after = scenario_data(preset, now_levers, tuple(now_overrides.items()))
        changed = timeline_changes(before, after)
        if changed:
            data.setdefault("timeline", []).append(
                {"week": int(week), "set": changed,
                 "note": describe_levers(dict(lever_changes), dict(override_changes))})
        before = after
    return data


def build_scenario(preset: str = DEFAULT_PRESET, **settings: Any) -> Scenario:
    """The preset's scenario with the app's settings (raises ``ScenarioError`` if invalid)."""
    scenario = validate_resolved(Resolved(build_data(preset, **settings)), preset_path(preset))
    scenario.run.progress = False
    return scenario


def midrun_path(path: str) -> bool:
    """Whether a timeline entry can change ``path`` during a run (the levers that can)."""
    parts = paths.split(path)
    if parts[0] == "municipalities" and len(parts) >= 3:
        return parts[-1] in CITY_MIDRUN or (len(parts) == 4 and parts[2] == "policies")
    if parts[0] == "streams":
        return parts[-1] == "per_year"
    return (parts == ["funding", "grant_factor", "federal"]
            or tuple(parts) in CRISIS_MIDRUN)


CITY_MIDRUN = (*BED_KEYS, "newcomer_budget_per_year")
# The crisis response reads these from the model's scenario every week (docs/ODD.md 7.8.6).
CRISIS_MIDRUN = (("response", "speed"), ("response", "trigger_weeks"),
                 ("politics", "act_pressure"), ("governments", "federal", "shelter_funding"),
                 ("governments", "federal", "envelope_per_year"))
class AppModel(ReceptionModel):
    """A ``ReceptionModel`` of a bundled preset with the app's levers (keyword-only).

    ``app_params`` keeps the arguments, so a twin or a replicate can be built with some
    changed, and ``AppModel(**model.app_params)`` replays the run, mid-run changes
    included (``change_levers`` adds them to ``schedule``). ``news`` lists what happened
    in plain words, ``(week, text)``: the model's events (timeline changes, emergency places
    ordered and closed, caps imposed and lifted, budget raises, federal top-ups and advances)
    and grants that ended or were renewed.
    """

    def __init__(self, *, preset: str = DEFAULTS["preset"], seed: int = DEFAULTS["seed"],
                 federal_funding: float = DEFAULTS["federal_funding"],
                 municipal_budget: float = DEFAULTS["municipal_budget"],
                 shelter_beds: float = DEFAULTS["shelter_beds"],
                 arrivals: float = DEFAULTS["arrivals"], surge: float = DEFAULTS["surge"],
                 access_without_fear: str = DEFAULTS["access_without_fear"],
                 lip: str = DEFAULTS["lip"], rif: str = DEFAULTS["rif"],
                 intake_cap: str = DEFAULTS["intake_cap"],
                 emergency_response: str = DEFAULTS["emergency_response"],
                 response_speed: str = DEFAULTS["response_speed"],
                 act_pressure: str = DEFAULTS["act_pressure"],
                 federal_shelter: str = DEFAULTS["federal_shelter"],
                 predictable_funding: bool = DEFAULTS["predictable_funding"],
                 classroom_speed: bool = DEFAULTS["classroom_speed"],
                 overrides: tuple = (), schedule: tuple = ()) -> None:
        self.app_params: dict[str, Any] = {
            "preset": preset, "seed": int(seed), "federal_funding": float(federal_funding),
            "municipal_budget": float(municipal_budget), "shelter_beds": float(shelter_beds),
            "arrivals": float(arrivals), "surge": float(surge),
            "access_without_fear": access_without_fear, "lip": lip, "rif": rif,
            "intake_cap": intake_cap,
            "emergency_response": emergency_response, "response_speed": response_speed,
            "act_pressure": act_pressure, "federal_shelter": federal_shelter,
            "predictable_funding": bool(predictable_funding),
            "classroom_speed": bool(classroom_speed),
            "overrides": tuple((str(k), v) for k, v in overrides),
            "schedule": tuple(schedule)}
        self.app_data = build_data(**self.app_params)
        scenario = validate_resolved(Resolved(copy.deepcopy(self.app_data)),
                                     preset_path(preset))
        scenario.run.progress = False
        super().__init__(scenario=scenario, seed=int(seed))
        self.news: list[tuple[int, str]] = []

    def levers_now(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The levers and overrides in force now: the start's, updated by the schedule."""
        levers = {k: self.app_params[k] for k in LEVERS}
        overrides = dict(self.app_params["overrides"])
        for _, lever_changes, override_changes in self.app_params["schedule"]:
            levers.update(dict(lever_changes))
            overrides.update(dict(override_changes))
        return levers, overrides

    def change_levers(self, levers: dict[str, Any] | None = None,
                      overrides: dict[str, Any] | None = None) -> list[str]:
        """Apply changed levers from this week on, through the model's timeline.

        Returns the parameter paths that a timeline cannot change (nothing is applied
        then: those levers need a restart at week 0).
        """
        levers, overrides = dict(levers or {}), dict(overrides or {})
        now_levers, now_overrides = self.levers_now()
        preset = self.app_params["preset"]
        before = scenario_data(preset, now_levers, tuple(now_overrides.items()))
        after = scenario_data(preset, {**now_levers, **levers},
                              tuple({**now_overrides, **overrides}.items()))
        changed = timeline_changes(before, after)
        fixed = [p for p in changed if not midrun_path(p)]
        if fixed or not changed:
            return fixed
        entry = (self.week, tuple(sorted(levers.items())), tuple(sorted(overrides.items())))
        self.app_params["schedule"] = (*self.app_params["schedule"], entry)
        self.app_data.setdefault("timeline", []).append(
            {"week": self.week, "set": changed, "note": describe_levers(levers, overrides)})
        self.scenario.timeline.append(Change(week=self.week, set=changed,
                                             note=describe_levers(levers, overrides)))
        return []

    def step(self) -> None:
        """One week; a step past the preset's horizon does nothing (series end there)."""
        if self.week >= self.scenario.run.weeks:
            self.running = False
            return
        week, seen = self.week, len(self.events)
        ending = [(ag, g, g.end_week) for ag in self.agencies for g in ag.grants
                  if g.kind == "program" and g.end_week == week]
        super().step()
        kinds = list(self.scenario.response.kinds)
        self.news += [(w, crisis.plain_event(plain(text), kinds))
                      for w, text in self.events[seen:]]
        for ag, g, end in ending:
            money = f"${g.amount_per_year / 1e3:,.0f}K a year"
            if g.end_week == end:
                self.news.append((week, f"{possessive(ag.name)} {FUNDERS[g.funder]} grant "
                                        f"({money}) ended and was not renewed"))
            else:
                self.news.append((week, f"{possessive(ag.name)} {FUNDERS[g.funder]} grant "
                                        f"({money}) was renewed for a year"))

    def twin(self, **changes: Any) -> AppModel:
        """A new model at week 0 with the same arguments except ``changes``."""
        return AppModel(**{**self.app_params, **changes})


LEVERS = tuple(k for k in DEFAULTS if k not in ("preset", "seed", "classroom_speed"))
