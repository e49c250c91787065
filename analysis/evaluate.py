"""Running the model for the planners: a scenario, parameter values (levers), seeds -> outcomes.

The one-lever planner (``analysis.plan``), the many-lever planner (``analysis.optimise``) and
the robustness check (``analysis.robust``) all ask the same thing: run this scenario with these
parameter values set, once per seed, and give me each run's outcomes (of one city or of the
system). ``Evaluator`` does that on a process pool (or any ``concurrent.futures`` executor), and
checks the question first (scenario, city, each lever and each value) so a bad one fails with
one line before anything runs.
"""

from __future__ import annotations

import difflib
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analysis.outcomes import SERVICES, custom_column, custom_outcome, is_custom, weekly_outcomes
from analysis.targets import PlanError, Target, lever_value

Values = dict[str, Any]  # parameter path -> value


def _one_run(scenario: Any, city: str | None, custom: tuple[str, ...]) -> dict[str, float]:
    """Run one scenario; its run-level outcomes (of ``city`` or the system)."""
    from sim.runner import simulate

    t0 = time.perf_counter()
    result = simulate(scenario)
    if city is None:
        frame = result.totals
    else:
        frame = result.municipalities[result.municipalities["municipality"] == city]
    out = weekly_outcomes(frame)
    out.update(service_use(frame))
    for expr in custom:
        try:
            out[expr] = custom_outcome(frame, expr)
        except KeyError:
            out[expr] = math.nan
            out["__missing:" + expr] = 1.0
    out["wall_s"] = time.perf_counter() - t0
    return out


# The last weeks of a run over which the planner reports how service hours were used.
USE_WEEKS = 52
USE_PREFIX = "use:"  # keys of a run's outcomes that describe service use (not targets)


def service_use(frame: Any) -> dict[str, float]:
    """Why a waiting list does or does not respond, in the run's last ``USE_WEEKS`` weeks: per
    service, mean weekly hours available, hours idle while people waited (no one waiting was
    someone the hours' funder may serve: eligibility binds) and people waiting."""
    tail = frame.sort_values("week").tail(USE_WEEKS)
    out = {}
    for s in SERVICES:
        for col in ("hours_available", "hours_idle_while_waiting", "waiting"):
            name = f"{col}_{s}"
            out[f"{USE_PREFIX}{name}"] = (float(tail[name].astype(float).mean())
                                          if name in tail.columns and len(tail) else math.nan)
    return out


def value_text(value: Any) -> str:
    """A value as ``--set`` reads it (bool, whole number or float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class Evaluator:
    """A scenario (with ``--set`` overrides) ready to be run at parameter values and seeds."""

    def __init__(self, scenario: Path | str, sets: Sequence[str] = (), city: str | None = None,
                 targets: Sequence[Target] = (), extra: Sequence[str] = ()) -> None:
        from sim.scenario import ScenarioError, load_scenario

        self.path = Path(scenario)
        self.sets = list(sets)
        self.city = city
        try:
            self.base = load_scenario(self.path, self.sets)
        except ScenarioError as e:
            raise PlanError(f"{e.path}: {e.problems[0]}" + (
                f" (and {len(e.problems) - 1} more problems)" if len(e.problems) > 1 else "")
            ) from None
        self.data = self.base.model_dump(mode="python")
        self.custom = tuple(dict.fromkeys(e for e in [*(t.outcome for t in targets), *extra]
                                          if is_custom(e)))
        if city is not None:
            names = [m["name"] for m in self.data.get("municipalities", [])]
            if city not in names:
                close = difflib.get_close_matches(city, names, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise PlanError(f"--city {city!r}: not a municipality of {self.path.name}{hint} "
                                f"(known: {', '.join(names)})")
        self.pool: Executor | None = None
        self.runs = 0

    @property
    def seed(self) -> int:
        return int(self.base.run.seed)

    def current(self, lever: str, allow_bool: bool = False) -> Any:
        """The lever's value in the scenario (PlanError: not a parameter, not a number)."""
        return lever_value(self.data, lever, allow_bool=allow_bool)

    def scenario_at(self, values: Values) -> Any:
        """The scenario with ``values`` set, validated (PlanError naming the value otherwise)."""
        from sim.scenario import ScenarioError, load_scenario

        extra = [f"{k}={value_text(v)}" for k, v in values.items()]
        try:
            return load_scenario(self.path, [*self.sets, *extra])
        except ScenarioError as e:
            shown = ", ".join(f"{k} = {value_text(v)}" for k, v in values.items())
            raise PlanError(f"{shown} is not allowed: {e.problems[0]}") from None

    @contextmanager
    def executing(self, jobs: int | None = None, executor: Executor | None = None
                  ) -> Iterator[Evaluator]:
        """Run on ``executor``, or on ``jobs`` worker processes (1: in this process)."""
        from sim.runner import process_pool

        if executor is not None:
            self.pool = executor
            try:
                yield self
            finally:
                self.pool = None
            return
        jobs = os.cpu_count() or 1 if jobs is None else max(1, jobs)
        with process_pool(jobs) as pool:
            self.pool = pool
            try:
                yield self
            finally:
                self.pool = None

    def run(self, candidates: Sequence[Values], seeds: Sequence[int],
            on_done: Callable[[int], None] | None = None) -> list[list[dict[str, float]]]:
        """Outcomes of every candidate at every seed: ``out[candidate][seed index]``."""
        flat = self.run_pairs([(values, s) for values in candidates for s in seeds], on_done)
        r = len(seeds)
        return [flat[i * r:(i + 1) * r] for i in range(len(candidates))]

    def run_pairs(self, pairs: Sequence[tuple[Values, int]],
                  on_done: Callable[[int], None] | None = None) -> list[dict[str, float]]:
        """Outcomes of each (values, seed) pair, in order."""
        tasks = []
        built: dict[str, Any] = {}
        for values, s in pairs:
            key = repr(sorted(values.items()))
            if key not in built:
                built[key] = self.scenario_at(values)
            run_sc = built[key].model_copy(deep=True)
            run_sc.run.seed = int(s)
            run_sc.run.progress = False
            tasks.append(run_sc)
        if self.pool is None:
            flat = [_one_run(sc, self.city, self.custom) for sc in tasks]
        else:
            futs = [self.pool.submit(_one_run, sc, self.city, self.custom) for sc in tasks]
            flat = [f.result() for f in futs]
        self.runs += len(flat)
        for res in flat:
            missing = [k.removeprefix("__missing:") for k in res if k.startswith("__missing:")]
            if missing:
                raise PlanError(f"{missing[0]!r}: the weekly output has no column "
                                f"{custom_column(missing[0])!r}")
        if on_done is not None:
            on_done(len(flat))
        return flat
