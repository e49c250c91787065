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

import numpy as np

from sim import paths
from sim.agency import Agency
from sim.government import Government
from sim.mesa_import import mesa
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


# Agent state per week: what a municipality, an agency or a government holds. A getter
# gives one column's values for a list of agents of its kind (one call per kind and week,
# not per agent: a small run's week is mostly such fixed costs). A reporter returns None
# for an agent of another kind. Units: CAD, FTE, people-hours a week, people, weeks.
MUNICIPALITY_STATE = {
    "cash": lambda ms: [m.cash for m in ms],
    "newcomer_budget": lambda ms: [m.budget_per_year for m in ms],
    "sentiment": lambda ms: [m.sentiment for m in ms],
    "intake_cap": lambda ms: [m.policies["intake_cap"] for m in ms],
    "shelter_occupancy": lambda ms: _occupancy(ms, 0),
    "unsheltered": lambda ms: _occupancy(ms, 2),
}
AGENCY_STATE = {
    "cash": lambda ags: [a.cash for a in ags],
    "staff_fte": lambda ags: [a.staff for a in ags],
    "hours_available": lambda ags: _summed(ags, "hours_available"),
    "hours_used": lambda ags: _summed(ags, "hours_used"),
}
GOVERNMENT_STATE = {
    "crisis_weeks": lambda gs: [g.crisis_weeks for g in gs],
    "spent_this_year": lambda gs: [g.spent_this_year for g in gs],
    "paid_total": lambda gs: [g.paid_total for g in gs],
}
STATE = {Municipality: MUNICIPALITY_STATE, Agency: AGENCY_STATE, Government: GOVERNMENT_STATE}
KINDS = {Municipality: "municipality", Agency: "agency", Government: "government"}
AGENT_COLUMNS = ("kind", "name", "municipality", *dict.fromkeys([*MUNICIPALITY_STATE,
                                                                 *AGENCY_STATE,
                                                                 *GOVERNMENT_STATE]))


def _occupancy(ms: list, j: int) -> list:
    """This week's people in shelter (j=0) or unsheltered (j=2) in municipalities ``ms``:
    their ``shelter_occupancy`` or ``unsheltered`` column, read without building columns."""
    occupancy = ms[0].model.week_stats.get("occupancy")
    if occupancy is None:
        return [None] * len(ms)
    return (occupancy[[m.index for m in ms], j] * ms[0].model.scale).tolist()


def _summed(ags: list, name: str) -> list:
    """Each agency's array ``name`` summed (one NumPy call for all of them)."""
    return np.array([getattr(a, name) for a in ags]).sum(axis=(1, 2)).tolist()


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
    return _plain(state[column]([agent])[0]) if column in state else None


def _plain(value: Any) -> Any:
    """Numbers as floats (so a column holds one type), the rest as they are."""
    if type(value) is float:  # most values: no conversion to make
        return value
    return float(value) if isinstance(value, _NUMBER) and not isinstance(value, bool) else value


_NUMBER = (int, float)


class WeekCollector(mesa.DataCollector):
    """Mesa's DataCollector over the weekly totals and the municipality and agency agents.

    It exists from the model's creation (with the ``week`` column). The other totals join
    ``model_vars`` when it is read: they are built then from the model's week log, for
    all weeks not yet in the table at once (``sim.week_log``). Records are keyed by the
    week they describe rather than by ``model.steps`` (the week plus one when collected
    inside ``step``), so that the model and agent rows of a week line up in
    ``batch_run`` and in ``get_agent_vars_dataframe()``.

    ``collect`` reads the agents' state itself, for speed in small runs: the agents of a
    kind get each column from one call of its getter (``_agent_value`` gives the same
    values one reporter call at a time); the records of Mesa's agent table are made from
    those columns when the table is read. Model reporters added by hand are called each
    week as Mesa calls them.
    """

    def __init__(self) -> None:
        self._log: Any = None  # the model's WeekLog, from the first collection
        # (week, agents, [(class, its agents, their columns)]) of weeks not in the table
        self._unrecorded: list[tuple[int, list, list]] = []
        super().__init__(
            model_reporters={"week": functools.partial(_total, name="week")},
            agent_reporters={c: functools.partial(_agent_value, column=c)
                             for c in AGENT_COLUMNS})
        self._in_table = 0  # weeks of the log whose totals are in model_vars
        self._totals: set[str] = {"week"}  # model columns that are weekly totals
        self._others: list[tuple[list, Any]] = []  # reporters added by hand
        self._reporters_seen = 1  # len(model_reporters) when ``_others`` was made
        self._getters: dict[type, list[tuple[int, Any]]] = {}
        self._heads: dict[mesa.Agent, list] = {}  # an agent's record before its state

    @property
    def model_vars(self) -> dict[str, list]:
        """Mesa's model table, with the totals of every week collected."""
        if self._log is not None and self._in_table < len(self._log):
            self._add_totals()
        return self._model_vars

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._model_vars = value

    @property
    def _agent_records(self) -> dict[int, list[tuple]]:
        """Mesa's agent table by week, with the records of every week collected."""
        if self._unrecorded:
            self._add_records()
        return self._records_by_week

    @_agent_records.setter
    def _agent_records(self, value: dict[int, list[tuple]]) -> None:
        self._records_by_week = value

    def collect(self, model: mesa.Model) -> None:
        self._log = model.week_log
        if len(self.model_reporters) != self._reporters_seen:
            self._others = [(self._model_vars.setdefault(name, []), reporter)
                            for name, reporter in self.model_reporters.items()
                            if name not in self._totals]
            self._reporters_seen = len(self.model_reporters)
        for values, reporter in self._others:
            values.append(copy.deepcopy(reporter(model)))
        week = model.week
        agents = list(model.agents)
        self._unrecorded.append((week, agents, [
            (cls, group, [get(group) for _, get in self._getters_of(cls)])
            for cls, group in _by_kind(agents).items()]))
        collected = getattr(self, "_collection_steps", None)  # newer Mesa versions
        if collected is not None:
            collected.append(week)

    def _add_totals(self) -> None:
        """Append the totals of the weeks collected since the last read."""
        for name, values in self._log.totals(self._in_table).items():
            if name not in self.model_reporters:
                self.model_reporters[name] = functools.partial(_total, name=name)
                self._totals.add(name)
                self._reporters_seen += 1
            self._model_vars.setdefault(name, []).extend(values.tolist())
        self._in_table = len(self._log)

    def _add_records(self) -> None:
        """Make the agent records of the weeks collected since the table was last read."""
        for week, agents, kinds in self._unrecorded:
            records = {}
            for cls, group, columns in kinds:
                records.update(zip(group, self._records(cls, group, columns), strict=True))
            self._records_by_week[week] = [(week, a.unique_id, *records[a]) for a in agents]
        self._unrecorded = []

    def _getters_of(self, cls: type) -> list[tuple[int, Any]]:
        """(position in ``AGENT_COLUMNS``, getter) of every state column of a kind."""
        if cls not in self._getters:
            state = STATE.get(cls, {})
            self._getters[cls] = [(j, state[c]) for j, c in enumerate(AGENT_COLUMNS)
                                  if c in state]
        return self._getters[cls]

    def _records(self, cls: type, group: list, columns: list[list]) -> list[list]:
        """``_agent_value`` of every column for each agent of one kind, in
        ``AGENT_COLUMNS`` order, from its getters' ``columns``. Kind, name and
        municipality do not change in a run: they are read once per agent."""
        records = [self._head(agent).copy() for agent in group]
        for (j, _), values in zip(self._getters_of(cls), columns, strict=True):
            for record, value in zip(records, values, strict=True):
                record[j] = value if type(value) is float else _plain(value)
        return records

    def _head(self, agent: mesa.Agent) -> list:
        head = self._heads.get(agent)
        if head is None:
            head = self._heads[agent] = [
                _agent_value(agent, "kind"), _agent_value(agent, "name"),
                _agent_value(agent, "municipality"), *[None] * (len(AGENT_COLUMNS) - 3)]
        return head


def _by_kind(agents: list) -> dict[type, list]:
    """The agents grouped by class, each group in the given order."""
    groups: dict[type, list] = {}
    for agent in agents:
        groups.setdefault(type(agent), []).append(agent)
    return groups
