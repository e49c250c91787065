"""Crisis-response levers of the app and the response's events in plain words.

The model's crisis response (docs/ODD.md 7.8.6) is set by scenario keys a class does not
know by name; these levers set them in words: how fast cities answer visible strain
(``response.speed``, ``response.trigger_weeks``), how much pressure a council needs
before it acts (``politics.act_pressure``) and how the federal government pays for
emergency shelter (``governments.federal.shelter_funding``). Each lever's first choice,
``as in scenario``, leaves the preset alone. The switch that lets cities open emergency
places at all is a policy lever (``emergency_response``, ``app.model.POLICY_LEVERS``).
"""

from __future__ import annotations

import re
from typing import Any

AS_IN_SCENARIO = "as in scenario"

# Response speed: (response.speed, response.trigger_weeks). "normal" is the schema's default.
RESPONSE_SPEEDS: dict[str, tuple[float, int] | None] = {
    AS_IN_SCENARIO: None,
    "fast": (0.5, 1),  # orders after 1 week of strain, lead times halved (assumption)
    "normal": (1.0, 3),  # schema defaults
    "slow": (2.0, 6),  # after 6 weeks, lead times doubled (assumption)
}
SPEED_WORDS = {"fast": "orders after 1 week of strain; places open in half the lead time",
               "normal": "orders after 3 weeks of strain; the usual lead times",
               "slow": "orders after 6 weeks of strain; lead times doubled"}

# Pressure to act needed before a council lifts a cap or raises its budget (0-1).
ACT_PRESSURES: dict[str, float | None] = {
    AS_IN_SCENARIO: None, "0.25 (acts early)": 0.25, "0.5": 0.5, "0.75": 0.75,
    "1 (never acts)": 1.0}

# Federal emergency-shelter money: the lever's words -> governments.federal.shelter_funding.
FEDERAL_SHELTER: dict[str, str | None] = {
    AS_IN_SCENARIO: None, "none": "none", "ad hoc": "adhoc", "formula": "formula"}
# A preset without a federal envelope gets this much a year when the lever turns the money on.
ENVELOPE_PER_RESIDENT = 3.0  # CAD/resident/year; assumption ($4.0M for the classroom's cities;
# canada_baseline's $177.5M is ~$9 per resident of its cities)

CRISIS_LEVERS = ("response_speed", "act_pressure", "federal_shelter")
CRISIS_DEFAULTS: dict[str, str] = dict.fromkeys(CRISIS_LEVERS, AS_IN_SCENARIO)


def forced_paths(response_speed: str = AS_IN_SCENARIO, act_pressure: str = AS_IN_SCENARIO,
                 federal_shelter: str = AS_IN_SCENARIO) -> tuple[tuple[str, ...], ...]:
    """Key paths the levers set: the preset's timeline entries of these are dropped."""
    out: list[tuple[str, ...]] = []
    if RESPONSE_SPEEDS[response_speed] is not None:
        out += [("response", "speed"), ("response", "trigger_weeks")]
    if ACT_PRESSURES[act_pressure] is not None:
        out.append(("politics", "act_pressure"))
    if FEDERAL_SHELTER[federal_shelter] is not None:
        out += [("governments", "federal", "shelter_funding"),
                ("governments", "federal", "envelope_per_year")]
    return tuple(out)


def apply_crisis_levers(data: dict, *, response_speed: str = AS_IN_SCENARIO,
                        act_pressure: str = AS_IN_SCENARIO,
                        federal_shelter: str = AS_IN_SCENARIO) -> None:
    """Set the crisis-response levers in resolved scenario data (in place).

    Unknown choices raise ``KeyError`` (the page offers only the listed ones).
    """
    speed = RESPONSE_SPEEDS[response_speed]
    if speed is not None:
        response = data.setdefault("response", {})
        response["speed"], response["trigger_weeks"] = speed
    pressure = ACT_PRESSURES[act_pressure]
    if pressure is not None:
        data.setdefault("politics", {})["act_pressure"] = pressure
    funding = FEDERAL_SHELTER[federal_shelter]
    if funding is not None:
        federal = data.setdefault("governments", {}).setdefault("federal", {})
        federal["shelter_funding"] = funding
        if funding != "none" and not float(federal.get("envelope_per_year", 0.0)):
            people = sum(float(m.get("population", 0.0)) for m in data.get("municipalities", [])
                         if isinstance(m, dict))
            federal["envelope_per_year"] = round(ENVELOPE_PER_RESIDENT * people, -5)


def describe(name: str, value: Any) -> str:
    """Plain words for one crisis lever's choice."""
    if value == AS_IN_SCENARIO:
        return {"response_speed": "response speed", "act_pressure": "pressure needed to act",
                "federal_shelter": "federal shelter money"}[name] + " as in the scenario"
    if name == "response_speed":
        return f"{value} city response ({SPEED_WORDS[value]})"
    if name == "act_pressure":
        return f"councils act at pressure {value}"
    return f"federal shelter money: {value}"


_WEEKS = re.compile(r"\bin 1 weeks\b")


def plain_event(text: str, kinds: list[str]) -> str:
    """A response event for students: kinds of place in words ('community space'), '1 week'."""
    for kind in kinds:
        text = re.sub(rf"\b{re.escape(kind)}\b", kind.replace("_", " "), text)
    text = _WEEKS.sub("in 1 week", text).replace("(open in 0 weeks)", "(open at once)")
    return text.replace("after 1 weeks", "after 1 week")
