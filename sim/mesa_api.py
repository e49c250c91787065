"""What a Mesa user expects of ReceptionModel: keyword parameters, a collector, reporters.

``mesa.batch_run`` and SolaraViz build a model as ``Model(**kwargs)``. Parameter paths
(``municipalities.Toronto.shelter_beds``) are not Python identifiers, but they are valid
keys of ``**kwargs``, so a batch_run parameters dict can grid over any scenario parameter::

    mesa.batch_run(ReceptionModel, {"scenario": "classroom",
                                    "municipalities.Riverton.shelter_beds": [100, 400]})

The collector keys each week's records by the week they describe (``week`` 0 is the
first step), for model and agent reporters alike, so batch_run's ``Step`` is the week.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa

from sim import paths
from sim.agency import Agency
from sim.government import Government
from sim.municipality import Municipality
from sim.params import Scenario


def with_params(scenario: Scenario | str | Path, params: Mapping[str, Any]) -> Scenario:
    """The scenario (an object or a file name) with parameter paths set, validated again.

    Raises ``ScenarioError`` naming the parameter path that is unknown or out of range.
    """
    from sim.scenario import Resolved, ScenarioError, load_scenario, resolve, validate_resolved

    if not params:
        return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if isinstance(scenario, Scenario):
        where = Path(scenario.scenario.name)
        resolved = Resolved(copy.deepcopy(scenario.model_dump(mode="json")))
    else:
        where = paths.scenario_file(scenario)
        resolved = resolve(where)
    for key, value in params.items():
        try:
            paths.set_in_data(resolved.data, key, value)
        except (paths.PathError, TypeError, AttributeError) as e:
            raise ScenarioError(where, [f"{key}: {e}"]) from None
        resolved.origins[tuple(paths.split(key))] = "keyword"
    return validate_resolved(resolved, where)


def _total(model: mesa.Model, name: str) -> Any:
    """Model reporter: one value of this week's totals (picklable, no lambda)."""
    return model.week_totals[name]


# Agent state per week: what a municipality, an agency or a government holds. A reporter
# returns None for an agent of another kind. Units: CAD, FTE, people-hours a week, people,
# weeks.
MUNICIPALITY_STATE = {
    "cash": lambda m: m.cash,
    "newcomer_budget": lambda m: m.budget_per_year,
    "sentiment": lambda m: m.sentiment,
    "intake_cap": lambda m: m.policies["intake_cap"],
    "shelter_occupancy": lambda m: _row(m, "shelter_occupancy"),
    "unsheltered": lambda m: _row(m, "unsheltered"),
}
AGENCY_STATE = {
    "cash": lambda a: a.cash,
    "staff_fte": lambda a: a.staff,
    "hours_available": lambda a: float(a.hours_available.sum()),
    "hours_used": lambda a: float(a.hours_used.sum()),
}
GOVERNMENT_STATE = {
    "crisis_weeks": lambda g: g.crisis_weeks,
    "spent_this_year": lambda g: g.spent_this_year,
    "paid_total": lambda g: g.paid_total,
}
STATE = {Municipality: MUNICIPALITY_STATE, Agency: AGENCY_STATE, Government: GOVERNMENT_STATE}
KINDS = {Municipality: "municipality", Agency: "agency", Government: "government"}
AGENT_COLUMNS = ("kind", "name", "municipality", *dict.fromkeys([*MUNICIPALITY_STATE,
                                                                 *AGENCY_STATE,
                                                                 *GOVERNMENT_STATE]))


def _row(m: mesa.Agent, column: str) -> float | None:
    """This week's value of a per-municipality output column for municipality ``m``."""
    history = m.model.municipal_history
    return float(history[-1][column][m.index]) if history else None


def _agent_value(agent: mesa.Agent, column: str) -> Any:
    """Agent reporter: ``column`` of a municipality or an agency (None if it has none).

    Agents of another type (added to the model later) report their kind and name only.
    """
    if column == "kind":
        return KINDS.get(type(agent), type(agent).__name__.lower())
    if column == "name":
        return getattr(agent, "name", None)
    if column == "municipality":
        if isinstance(agent, Agency):
            return agent.model.municipalities[agent.muni].name
        return agent.name if isinstance(agent, Municipality) else None
    state = STATE.get(type(agent), {})
    return _plain(state[column](agent)) if column in state else None


def _plain(value: Any) -> Any:
    """Numbers as floats (so a column holds one type), the rest as they are."""
    if type(value) is float:  # most values: no conversion to make
        return value
    return float(value) if isinstance(value, _NUMBER) and not isinstance(value, bool) else value


_NUMBER = (int, float)


class WeekCollector(mesa.DataCollector):
    """Mesa's DataCollector over the weekly totals and the municipality and agency agents.

    It exists from the model's creation (with the ``week`` column); the other totals
    columns join at the first collection, when the week's totals first exist. Records
    are keyed by the week they describe rather than by ``model.steps`` (the week plus
    one when collected inside ``step``), so that the model and agent rows of a week
    line up in ``batch_run`` and in ``get_agent_vars_dataframe()``.

    ``collect`` fills Mesa's tables itself, for speed in small runs (it is a third of
    a small week otherwise): totals are floats, appended without Mesa's deep copy, and
    an agent's record is built from its kind's getters only (``_agent_value`` gives the
    same values one reporter call at a time). Model reporters added by hand are called
    as Mesa calls them.
    """

    def __init__(self) -> None:
        super().__init__(
            model_reporters={"week": functools.partial(_total, name="week")},
            agent_reporters={c: functools.partial(_agent_value, column=c)
                             for c in AGENT_COLUMNS})
        self._totals: list[str] = ["week"]  # model columns that are week_totals entries
        # (name, its list in model_vars) of the totals; reporters added by hand
        self._total_lists: list[tuple[str, list]] = [("week", self.model_vars["week"])]
        self._others: list[tuple[list, Any]] = []
        self._reporters_seen = 1  # len(model_reporters) when the two lists were made
        self._getters: dict[type, list[tuple[int, Any]]] = {}
        self._heads: dict[mesa.Agent, list] = {}  # an agent's record before its state

    def collect(self, model: mesa.Model) -> None:
        totals = model.week_totals
        if len(self._totals) < len(totals):
            for name in totals:
                if name not in self.model_reporters:
                    self.model_reporters[name] = functools.partial(_total, name=name)
                    self.model_vars[name] = []
                    self._totals.append(name)
        if len(self.model_reporters) != self._reporters_seen:
            self._sort_reporters()
        for name, values in self._total_lists:
            values.append(totals[name])
        for values, reporter in self._others:
            values.append(copy.deepcopy(reporter(model)))
        week = model.week
        self._agent_records[week] = [(week, agent.unique_id, *self._record(agent))
                                     for agent in model.agents]
        collected = getattr(self, "_collection_steps", None)  # newer Mesa versions
        if collected is not None:
            collected.append(week)

    def _sort_reporters(self) -> None:
        """Split the model reporters into totals (appended as they are) and the others."""
        totals = set(self._totals)
        self._total_lists = [(name, self.model_vars[name]) for name in self.model_reporters
                             if name in totals]
        self._others = [(self.model_vars.setdefault(name, []), reporter)
                        for name, reporter in self.model_reporters.items()
                        if name not in totals]
        self._reporters_seen = len(self.model_reporters)

    def _record(self, agent: mesa.Agent) -> list:
        """``_agent_value`` of every column for one agent, in ``AGENT_COLUMNS`` order.

        Kind, name and municipality do not change in a run: they are read once per agent.
        """
        cls = type(agent)
        if cls not in self._getters:
            state = STATE.get(cls, {})
            self._getters[cls] = [(j, state[c]) for j, c in enumerate(AGENT_COLUMNS)
                                  if c in state]
        head = self._heads.get(agent)
        if head is None:
            head = self._heads[agent] = [
                _agent_value(agent, "kind"), _agent_value(agent, "name"),
                _agent_value(agent, "municipality"), *[None] * (len(AGENT_COLUMNS) - 3)]
        record = head.copy()
        for j, get in self._getters[cls]:
            record[j] = _plain(get(agent))
        return record
