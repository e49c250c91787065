"""Fitting scenario parameters to an observed monthly series (``reception calibrate``).

The observed series is a CSV with a month column (YYYY-MM) and a value column, read with
``sim.series.read_monthly``. The modelled series is one column of ``sim.outputs.monthly``
(stocks at the month's last week, flows summed), averaged over a fixed set of replicate
seeds. The seeds stay the same for every evaluation (common random numbers), so two
parameter values are compared on the same random draws and the objective does not jitter
from one evaluation to the next by sampling noise alone.

Search: a coarse grid over the bounds (a Latin hypercube above three parameters), then
bounded Nelder-Mead from the three best grid points (a short run from each, the rest of the
budget on the best), in a transformed space: each parameter is mapped to [0, 1], linearly
between its schema limits, or logarithmically over a factor range around its current value
(see ``parameter``). The objective is the RMSE over the fit window. Uncertainty: every
replicate seed is fitted alone, starting from the joint fit, and the spread of those fits is
reported as each value's range over seeds (Monte Carlo uncertainty of the estimate); with
``profile``, each parameter is also stepped out from the fit with the others re-fitted until
the RMSE passes min x sqrt(1 + 3.84 / n_eff), n_eff the number of months corrected for the
residuals' lag-1 autocorrelation (an approximate 95% profile interval).
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
import time
import typing
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError
from scipy.optimize import minimize
from scipy.stats import qmc
from tqdm import tqdm

from sim import limits, paths
from sim.model import ReceptionModel
from sim.outputs import MONTHLY_FLOWS, MONTHLY_STOCKS, frames, monthly
from sim.params import Scenario
from sim.runner import process_pool
from sim.scenario import resolve, validate_resolved
from sim.series import SeriesError, read_monthly
from sim.show import toml_key, toml_value

DEFAULT_COLUMN = "refugees_actively_homeless"
DEFAULT_FACTOR = 10.0
COLUMNS = MONTHLY_STOCKS + MONTHLY_FLOWS
GRID_POINTS = {1: 13, 2: 7, 3: 4}  # points per dimension of the coarse grid
LHS_POINTS_PER_PARAM = 8  # above three parameters: a Latin hypercube of 8 points per parameter
N_STARTS = 3  # Nelder-Mead runs from the best grid points (a curved valley defeats one start)
NM_EVALS_PER_PARAM = 40  # Nelder-Mead evaluations after the grid, per parameter, all starts
SEED_FIT_EVALS_PER_PARAM = 12  # evaluations of each single-seed refit, per parameter
SEED_FIT_STEP = 0.05  # initial simplex of the single-seed refits, in the [0, 1] space
PROFILE_STEPS = (0.02, 0.04, 0.08, 0.16, 0.32, 0.64)  # profile steps out from the fit, [0, 1]
PROFILE_INNER_EVALS = 8  # evaluations re-fitting the other parameters at a profile step, each
CHI2_95 = 3.841  # 95% point of chi-squared with one degree of freedom


class CalibrationError(Exception):
    """A calibration that cannot be run as asked; the message is one line and says why."""


# ---------------------------------------------------------------------------- observed data


def read_observed(path: Path, value_column: str = "value",
                  month_column: str = "month") -> pd.Series:
    """Observed monthly values indexed by the first day of the month, one row per month."""
    path = Path(path)
    if path.is_file():
        try:
            text = limits.read_bytes(path).decode(errors="replace")
        except (limits.LimitError, OSError) as e:
            raise CalibrationError(f"{path}: cannot read the file: {e}") from None
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise CalibrationError(f"{path}: the file is empty (expected columns "
                                   f"{month_column},{value_column})")
        if len(lines) == 1:
            raise CalibrationError(f"{path}: a header but no data rows")
    try:
        series = read_monthly(path, month_column, value_column)
    except SeriesError as e:
        raise CalibrationError(_clean(str(e))) from None
    raw = pd.read_csv(path)[month_column].astype(str)
    months = pd.to_datetime(raw, format="mixed").dt.to_period("M")
    dupes = months[months.duplicated()]
    if len(dupes):
        line = int(dupes.index[0]) + 2
        raise CalibrationError(f"{path}: line {line}: month {dupes.iloc[0]} appears more than "
                               "once (one value per month)")
    return series.astype(float)


def _clean(message: str) -> str:
    """``np.float64(nan)`` -> ``empty``, ``np.int64(-4)`` -> ``-4`` in read_monthly's messages."""
    message = re.sub(r"np\.float\d+\(nan\)", "(empty)", message)
    return re.sub(r"np\.(?:float|int)\d+\(([^)]*)\)", r"\1", message)


def parse_month(text: str, option: str) -> pd.Timestamp:
    if not re.fullmatch(r"\d{4}-\d{2}", text.strip()):
        raise CalibrationError(f"{option} {text!r}: expected a month as YYYY-MM")
    try:
        return pd.Timestamp(f"{text.strip()}-01")
    except ValueError:
        raise CalibrationError(f"{option} {text!r}: not a month (use YYYY-MM)") from None


def _month(ts: pd.Timestamp) -> str:
    return f"{ts:%Y-%m}"


# ---------------------------------------------------------------------------- parameters


@dataclass
class Param:
    """One fitted parameter and the map between its value and the unit interval."""

    path: str
    start: float
    lo: float
    hi: float
    bounds: str  # where the bounds come from, in words
    log: bool = False
    integer: bool = False

    def value(self, u: float) -> float:
        u = min(1.0, max(0.0, float(u)))
        if self.log:
            v = math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo)))
        else:
            v = self.lo + u * (self.hi - self.lo)
        v = min(self.hi, max(self.lo, v))
        return float(round(v)) if self.integer else v

    def unit(self, v: float) -> float:
        if self.hi == self.lo:
            return 0.5
        if self.log:
            u = (math.log(v) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        else:
            u = (v - self.lo) / (self.hi - self.lo)
        return min(1.0, max(0.0, u))


def _plausible_max(holder: Any, key: str) -> bool:
    """Whether the upper limit is a plausibility ceiling (cuts a range; no search range)."""
    if not isinstance(holder, BaseModel):
        return False
    extra = type(holder).model_fields[key].json_schema_extra
    return isinstance(extra, dict) and "plausible_max" in extra


def _limits(holder: Any, key: str) -> dict[str, float]:
    """ge/gt/le/lt of a schema field (empty for a key of a free-form table)."""
    if not isinstance(holder, BaseModel):
        return {}
    out = {}
    for item in type(holder).model_fields[key].metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                out[name] = float(getattr(item, name))
    return out


def parameter(scenario: Scenario, path: str, factor: float = DEFAULT_FACTOR,
              bounds: tuple[float, float] | None = None) -> Param:
    """The parameter at ``path`` with its current value and search bounds.

    Bounds: ``bounds`` if given (checked against the schema); else the schema's limits
    when it gives both a lower and an upper one (searched linearly); else the factor
    range [value / factor, value x factor] cut to the schema's one-sided limit if any
    (searched on a log scale).
    """
    try:
        holder, key = paths.resolve(scenario, path)
        current = holder[key] if isinstance(holder, dict) else getattr(holder, key)
    except (paths.PathError, KeyError) as e:
        hint = difflib.get_close_matches(path, list(numeric_paths(scenario)), n=1)
        more = f"; did you mean {hint[0]}?" if hint else ""
        raise CalibrationError(f"--fit {path}: {str(e).removeprefix(path + ': ')}"
                               f"{more}") from None
    if isinstance(current, bool) or not isinstance(current, int | float):
        what = "has no value in this scenario" if current is None else \
            f"is not a number (found {current!r})"
        raise CalibrationError(f"--fit {path}: {what}")
    limits = _limits(holder, key)
    integer = isinstance(current, int)
    low = limits.get("ge", limits.get("gt"))
    high = limits.get("le", limits.get("lt"))
    span = (high - low) if low is not None and high is not None else abs(current) or 1.0
    eps = 1e-9 * max(1.0, span)
    low_in = None if low is None else (low + eps if "gt" in limits else low)
    high_in = None if high is None else (high - eps if "lt" in limits else high)
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    schema = " and ".join(f"{signs[n]} {limits[n]:g}" for n in signs if n in limits)
    if bounds is not None:
        lo, hi = bounds
        if lo > hi:
            raise CalibrationError(f"--bounds {path}: lower bound {lo:g} is above upper {hi:g}")
        if (low_in is not None and lo < low_in) or (high_in is not None and hi > high_in):
            raise CalibrationError(f"--bounds {path}={lo:g}:{hi:g}: outside the schema's "
                                   f"limits ({schema})")
        log = lo > 0 and hi / lo >= 10
        return Param(path, float(current), lo, hi, "--bounds", log, integer)
    if low_in is not None and high_in is not None and not _plausible_max(holder, key):
        return Param(path, float(current), low_in, high_in, f"schema ({schema})", False, integer)
    if current <= 0:
        raise CalibrationError(f"--fit {path}: current value {current:g} gives no factor range; "
                               f"give --bounds {path}=LO:HI")
    lo, hi = current / factor, current * factor
    if low_in is not None:
        lo = max(lo, low_in) if low_in > 0 else lo
    if high_in is not None:
        hi = min(hi, high_in)
    where = f"factor {factor:g} around {current:g}" + (f", schema {schema}" if schema else "")
    return Param(path, float(current), lo, hi, where, True, integer)


def numeric_paths(obj: Any, prefix: str = "") -> typing.Iterator[str]:
    """Every numeric parameter path of a validated scenario (for did-you-mean hints)."""
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            if prefix == "" and name in ("timeline", "transfers", "shocks"):
                continue
            yield from numeric_paths(getattr(obj, name), f"{prefix}{name}.")
    elif isinstance(obj, list):
        for item in obj:
            name = getattr(item, "name", None)
            if name is not None:
                yield from numeric_paths(item, f"{prefix}{name}.")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from numeric_paths(v, f"{prefix}{k}.")
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield prefix.rstrip(".")


# ---------------------------------------------------------------------------- statistics


@dataclass
class FitStats:
    """Fit over the window: errors in the observed series' unit (persons)."""

    months: int
    rmse: float
    mae: float
    mape: float  # percent, over months with a positive observation
    mase: float  # MAE / MAE of the one-step naive (persistence) forecast
    naive_mae: float


def statistics(observed: pd.Series, modelled: pd.Series) -> FitStats:
    obs = observed.to_numpy(float)
    mod = modelled.reindex(observed.index).to_numpy(float)
    err = mod - obs
    rmse = float(np.sqrt(np.mean(err ** 2)))
    mae = float(np.mean(np.abs(err)))
    pos = obs > 0
    mape = float(100 * np.mean(np.abs(err[pos]) / obs[pos])) if pos.any() else float("nan")
    naive = float(np.mean(np.abs(np.diff(obs)))) if len(obs) > 1 else float("nan")
    mase = mae / naive if naive and not math.isnan(naive) else float("nan")
    return FitStats(len(obs), rmse, mae, mape, mase, naive)


# ---------------------------------------------------------------------------- calibration


@dataclass
class CalibrationResult:
    scenario_path: Path
    observed_path: Path
    column: str
    observed_column: str
    params: list[Param]
    values: dict[str, float]
    ranges: dict[str, tuple[float, float]]
    stats: FitStats
    start_stats: FitStats
    table: pd.DataFrame  # month, observed, modelled (replicate mean), modelled_min, modelled_max
    window: tuple[pd.Timestamp, pd.Timestamp]
    run_months: tuple[pd.Timestamp, pd.Timestamp]
    seeds: list[int]
    sets: list[str]
    evaluations: int
    simulations: int
    wall_time_s: float
    jobs: int = 1
    profiles: dict[str, tuple[float, float]] | None = None
    profile_limit: float | None = None  # RMSE below which a profile value is inside the range
    n_eff: float | None = None  # effective number of months (residual autocorrelation)
    finished: datetime = field(default_factory=lambda: datetime.now(UTC))


def _simulate(data: dict, path: Path, params: list[Param], values: tuple[float, ...],
              seed: int, weeks: int, column: str, months: pd.DatetimeIndex) -> np.ndarray:
    """One run with ``values`` set: the monthly ``column`` at ``months``."""
    data = copy.deepcopy(data)
    for p, v in zip(params, values, strict=True):
        paths.set_in_data(data, p.path, int(v) if p.integer else float(v))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        shown = ", ".join(f"{p.path}={v:.6g}" for p, v in zip(params, values, strict=True))
        raise CalibrationError(f"{path}: with {shown}: {loc}: "
                               f"{err['msg'].removeprefix('Value error, ')}") from None
    model = ReceptionModel(scenario=scenario, seed=seed)
    model.run(weeks)
    series = monthly(frames(model)[1]).set_index("month")[column]
    return series.reindex(months).to_numpy(float)


class Objective:
    """Runs the scenario with parameter values and compares it with the observed series.

    Runs are cached by (values, seed); with a process ``pool`` the missing runs of one
    evaluation (its replicate seeds) or of a batch of evaluations run in parallel.
    """

    def __init__(self, data: dict, path: Path, params: list[Param], observed: pd.Series,
                 column: str, weeks: int, pool: Executor | None = None,
                 progress: bool = False) -> None:
        self.data = data
        self.path = path
        self.params = params
        self.observed = observed
        self.column = column
        self.weeks = weeks
        self.pool = pool
        self.progress = progress  # a progress bar on stderr for batches of runs
        self.scale = float(observed.mean()) or 1.0
        self.cache: dict[tuple, np.ndarray] = {}
        self.evaluations = 0
        self.simulations = 0

    def __getstate__(self) -> dict:
        return {**self.__dict__, "pool": None, "cache": {}, "progress": False}

    def _key(self, values: typing.Sequence[float], seed: int) -> tuple:
        return tuple(round(float(v), 12) for v in values), seed

    def prefetch(self, batch: typing.Iterable[tuple[typing.Sequence[float], int]]) -> None:
        """Run every (values, seed) not yet cached, in parallel when there is a pool."""
        todo = list(dict.fromkeys(self._key(v, s) for v, s in batch
                                  if self._key(v, s) not in self.cache))
        if not todo:
            return
        args = [(self.data, self.path, self.params, values, seed, self.weeks, self.column,
                 self.observed.index) for values, seed in todo]
        if self.pool is not None and len(todo) > 1:
            done = self.pool.map(_simulate, *zip(*args, strict=True))
        else:
            done = (_simulate(*a) for a in args)
        results = list(tqdm(done, total=len(todo), desc="runs", unit="run", leave=False,
                            disable=not self.progress or len(todo) < 2, mininterval=1.0))
        self.cache.update(zip(todo, results, strict=True))
        self.simulations += len(todo)

    def runs(self, values: typing.Sequence[float], seeds: typing.Sequence[int]) -> np.ndarray:
        """Modelled values, one column per seed, over the observed months."""
        self.prefetch((values, s) for s in seeds)
        return np.column_stack([self.cache[self._key(values, s)] for s in seeds])

    def rmse(self, values: typing.Sequence[float], seeds: typing.Sequence[int]) -> float:
        self.evaluations += 1
        err = self.runs(values, seeds).mean(axis=1) - self.observed.to_numpy()
        return float(np.sqrt(np.mean(err ** 2)))

    def values(self, u: typing.Sequence[float]) -> tuple[float, ...]:
        return tuple(p.value(x) for p, x in zip(self.params, u, strict=True))

    def in_unit(self, seeds: typing.Sequence[int]) -> Callable[[np.ndarray], float]:
        """Objective on the [0, 1]^k search space, relative to the observed mean."""
        def f(u: np.ndarray) -> float:
            return self.rmse(self.values(u), seeds) / self.scale
        return f


def _seed_fit(obj: Objective, u0: np.ndarray, seed: int, evals: int) -> np.ndarray:
    """Fit one replicate seed alone, starting from the joint fit (runs in a worker)."""
    return _nelder_mead(obj.in_unit([seed]), u0, SEED_FIT_STEP, evals)


def _start_points(params: list[Param], grid: int | None) -> np.ndarray:
    k = len(params)
    start = np.array([[p.unit(p.start) for p in params]])
    if grid == 0:
        return start
    if k <= 3 or grid:
        n = grid or GRID_POINTS[k]
        axes = [np.linspace(0.0, 1.0, n)] * k
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, k)
    else:
        pts = qmc.LatinHypercube(d=k, seed=0).random(LHS_POINTS_PER_PARAM * k)
    return np.vstack([start, pts])


def effective_months(residuals: np.ndarray) -> tuple[float, float]:
    """Effective sample size n(1 - r)/(1 + r) with r the lag-1 autocorrelation (0..0.95)."""
    n = len(residuals)
    if n < 3 or np.std(residuals) == 0:
        return float(n), 0.0
    r = float(np.corrcoef(residuals[:-1], residuals[1:])[0, 1])
    r = min(0.95, max(0.0, r if math.isfinite(r) else 0.0))
    return max(1.0, n * (1 - r) / (1 + r)), r


def _profile(f: Callable[[np.ndarray], float], u_fit: np.ndarray, i: int,
             limit: float) -> tuple[float, float]:
    """Where the profile of parameter ``i`` (others re-fitted) crosses ``limit``, in [0, 1].

    Steps out from the fit on each side by growing steps; between the last step inside
    the limit and the first outside, the crossing is interpolated linearly. A side that
    never crosses ends at the last value tried (a bound of the search box).
    """
    others = [j for j in range(len(u_fit)) if j != i]
    ends = []
    for sign in (-1.0, 1.0):
        u_in, f_in, rest = float(u_fit[i]), f(u_fit), u_fit[others].copy()
        end = u_in
        for step in PROFILE_STEPS:
            ui = min(1.0, max(0.0, float(u_fit[i]) + sign * step))
            if ui == u_in:
                break  # at the bound

            def at(v: np.ndarray, ui: float = ui) -> np.ndarray:
                u = u_fit.copy()
                u[i] = ui
                u[others] = v
                return u

            if others:
                rest = _nelder_mead(lambda v, at=at: f(at(v)), rest, SEED_FIT_STEP,
                                    PROFILE_INNER_EVALS * len(others))
            value = f(at(rest))
            if value > limit:
                end = u_in + (ui - u_in) * (limit - f_in) / (value - f_in)
                break
            u_in, f_in, end = ui, value, ui
        ends.append(end)
    return ends[0], ends[1]


def _simplex(u0: np.ndarray, step: float) -> np.ndarray:
    """A starting simplex around ``u0``, each vertex stepping toward the box's interior."""
    pts = [u0]
    for i in range(len(u0)):
        v = u0.copy()
        v[i] = u0[i] + step if u0[i] + step <= 1.0 else u0[i] - step
        pts.append(v)
    return np.array(pts)


def _nelder_mead(f: Callable[[np.ndarray], float], u0: np.ndarray, step: float,
                 max_evals: int) -> np.ndarray:
    res = minimize(f, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(u0),
                   options={"initial_simplex": _simplex(u0, step), "maxfev": max_evals,
                            "xatol": 1e-3, "fatol": 1e-4})
    return np.clip(res.x if res.fun <= f(u0) else u0, 0.0, 1.0)


def _run_months(scenario: Scenario) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last month whose every week (by Monday) lies within the run."""
    start = scenario.scenario.start_date
    end = start + timedelta(weeks=scenario.run.weeks)  # first day after the run
    first = pd.Timestamp(start.replace(day=1))
    last = pd.Timestamp(end.replace(day=1)) - pd.offsets.MonthBegin(1)
    return first, last


def weeks_to_cover(scenario: Scenario, month: pd.Timestamp) -> int:
    """Weeks to run so that every week whose Monday falls in ``month`` is included."""
    after = (month + pd.offsets.MonthBegin(1)).date()
    days = (after - scenario.scenario.start_date).days
    return max(1, -(-days // 7))


def calibrate(scenario_path: Path, observed_path: Path, fit: typing.Sequence[str], *,
              column: str = DEFAULT_COLUMN, observed_column: str = "value",
              observed_month_column: str = "month", start: str | None = None,
              end: str | None = None, replicates: int = 3, sets: typing.Sequence[str] = (),
              bounds: dict[str, tuple[float, float]] | None = None,
              factor: float = DEFAULT_FACTOR, seed: int | None = None, grid: int | None = None,
              max_evals: int | None = None, seed_range: bool = True, profile: bool = False,
              jobs: int | None = None,
              log: Callable[[str], None] | None = None) -> CalibrationResult:
    """Fit ``fit`` (parameter paths) so the scenario's monthly ``column`` matches the file.

    Raises ``CalibrationError`` (one line) for unusable input and ``ScenarioError`` for a
    bad scenario file.
    """
    t0 = time.perf_counter()
    say = log or (lambda _msg: None)
    scenario_path = Path(scenario_path)
    if column not in COLUMNS:
        raise CalibrationError(f"--column {column!r}: not a monthly output (choose from "
                               f"{', '.join(COLUMNS)})")
    if replicates < 1:
        raise CalibrationError(f"--replicates {replicates}: need at least 1")
    if factor <= 1:
        raise CalibrationError(f"--factor {factor:g}: must be above 1")
    fit = [f.strip() for f in fit if f.strip()]
    if not fit:
        raise CalibrationError("--fit: give at least one parameter path")
    if len(set(fit)) != len(fit):
        raise CalibrationError(f"--fit: a parameter is repeated ({', '.join(fit)})")
    resolved = resolve(scenario_path, sets)
    scenario = validate_resolved(resolved, scenario_path)
    for path in bounds or {}:
        if path not in fit:
            raise CalibrationError(f"--bounds {path}: not one of the --fit parameters")
    params = [parameter(scenario, p, factor, (bounds or {}).get(p)) for p in fit]
    observed = read_observed(Path(observed_path), observed_column, observed_month_column)

    run_first, run_last = _run_months(scenario)
    if run_last < run_first:
        raise CalibrationError(f"{scenario_path}: the run ({scenario.run.weeks} weeks) does not "
                               "cover a whole month")
    run_span = f"{_month(run_first)}..{_month(run_last)}"
    w_first = parse_month(start, "--from") if start else run_first
    w_last = parse_month(end, "--to") if end else run_last
    if w_first > w_last:
        raise CalibrationError(f"--from {_month(w_first)} is after --to {_month(w_last)}")
    if w_first < run_first or w_last > run_last:
        raise CalibrationError(f"fit window {_month(w_first)}..{_month(w_last)} is outside the "
                               f"run ({run_span}; start {scenario.scenario.start_date}, "
                               f"{scenario.run.weeks} weeks)")
    target = observed[(observed.index >= w_first) & (observed.index <= w_last)]
    if target.empty:
        raise CalibrationError(
            f"{observed_path}: no observed month ({_month(observed.index[0])}.."
            f"{_month(observed.index[-1])}) in the fit window {_month(w_first)}..{_month(w_last)}"
            f" of the run ({run_span})")
    weeks = weeks_to_cover(scenario, target.index[-1])
    seeds = [(scenario.run.seed if seed is None else seed) + i for i in range(replicates)]

    jobs = min(len(seeds), os.cpu_count() or 1) if jobs is None else max(1, jobs)
    with process_pool(jobs) as pool:
        obj = Objective(resolved.data, scenario_path, params, target, column, weeks, pool,
                        progress=log is not None)
        starts = tuple(p.start for p in params)
        start_stats = statistics(target, pd.Series(obj.runs(starts, seeds).mean(axis=1),
                                                   target.index))
        f = obj.in_unit(seeds)
        candidates = _start_points(params, grid)
        say(f"grid: {len(candidates)} points x {len(seeds)} replicates, {jobs} processes")
        obj.prefetch((obj.values(u), s) for u in candidates for s in seeds)
        scores = np.array([f(u) for u in candidates])
        starts = candidates[np.argsort(scores, kind="stable")[:N_STARTS]]
        n = GRID_POINTS.get(len(params), 3) if grid is None else max(grid, 2)
        step = min(0.25, 0.5 / (n - 1))
        budget = max_evals if max_evals is not None else NM_EVALS_PER_PARAM * len(params)
        say(f"Nelder-Mead from the best {len(starts)} grid points: up to {budget} evaluations")
        u_fit, best = starts[0], float(scores.min())
        if budget > 0:  # a short run from each start, then the rest of the budget on the best
            first = max(budget // (2 * len(starts)), len(params) + 2)
            for u0 in starts:
                u = _nelder_mead(f, u0, step, first)
                if f(u) < best:
                    u_fit, best = u, f(u)
            rest = budget - first * len(starts)
            if rest > 0:
                u_fit = _nelder_mead(f, u_fit, step / 2, rest)
        values = obj.values(u_fit)

        ranges = {p.path: (v, v) for p, v in zip(params, values, strict=True)}
        if seed_range and len(seeds) > 1:
            say(f"range: each of {len(seeds)} seeds fitted alone")
            evals = SEED_FIT_EVALS_PER_PARAM * len(params)
            if pool is not None:
                fits = list(pool.map(_seed_fit, [obj] * len(seeds), [u_fit] * len(seeds),
                                     seeds, [evals] * len(seeds)))
            else:
                fits = [_seed_fit(obj, u_fit, s, evals) for s in seeds]
            arr = np.array([obj.values(u) for u in fits])
            ranges = {p.path: (float(arr[:, i].min()), float(arr[:, i].max()))
                      for i, p in enumerate(params)}
        runs = obj.runs(values, seeds)
        n_eff, _ = effective_months(runs.mean(axis=1) - target.to_numpy())
        limit = math.sqrt(1 + CHI2_95 / n_eff) * f(u_fit)
        profiles = None
        if profile:
            say("profiles: each parameter stepped out from the fit, the others re-fitted")
            profiles = {}
            for i, p in enumerate(params):
                lo_u, hi_u = _profile(f, u_fit, i, limit)
                profiles[p.path] = (p.value(lo_u), p.value(hi_u))
    table = pd.DataFrame({"month": target.index, "observed": target.to_numpy(),
                          "modelled": runs.mean(axis=1), "modelled_min": runs.min(axis=1),
                          "modelled_max": runs.max(axis=1)})
    return CalibrationResult(
        scenario_path=scenario_path, observed_path=Path(observed_path), column=column,
        observed_column=observed_column, params=params,
        values=dict(zip(fit, values, strict=True)), ranges=ranges, jobs=jobs,
        profiles=profiles, profile_limit=limit * obj.scale, n_eff=n_eff,
        stats=statistics(target, pd.Series(runs.mean(axis=1), target.index)),
        start_stats=start_stats, table=table,
        window=(target.index[0], target.index[-1]), run_months=(run_first, run_last),
        seeds=seeds, sets=list(sets), evaluations=obj.evaluations,
        simulations=obj.simulations, wall_time_s=time.perf_counter() - t0)


# ---------------------------------------------------------------------------- reporting


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def quarterly(table: pd.DataFrame) -> pd.DataFrame:
    """Observed and modelled means by calendar quarter."""
    q = pd.PeriodIndex(table["month"], freq="Q").astype(str)
    out = table.groupby(q)[["observed", "modelled"]].mean()
    out["error_%"] = 100 * (out["modelled"] - out["observed"]) / out["observed"]
    out.index.name = "quarter"
    return out


def report(r: CalibrationResult) -> str:
    lines = [
        f"Calibration of {r.scenario_path} against {r.observed_path} "
        f"({r.observed_column} vs modelled {r.column})",
        f"fit window {_month(r.window[0])}..{_month(r.window[1])} ({r.stats.months} months; run "
        f"{_month(r.run_months[0])}..{_month(r.run_months[1])}); replicate seeds "
        f"{', '.join(map(str, r.seeds))} (common random numbers, mean compared)"
        + (f"; --set {' --set '.join(r.sets)}" if r.sets else ""),
        "",
        "parameter                                 start       fitted      range over seeds"
        "       bounds",
    ]
    for p in r.params:
        lo, hi = r.ranges[p.path]
        lines.append(f"{p.path:40}  {_fmt(p.start):>10}  {_fmt(r.values[p.path]):>10}  "
                     f"{_fmt(lo):>10} - {_fmt(hi):<10}  {_fmt(p.lo)}..{_fmt(p.hi)} "
                     f"({p.bounds}{', log scale' if p.log else ''})")
    if r.profiles:
        lines += ["", f"profile ranges (approximate 95%: each value with the others re-fitted "
                      f"keeps RMSE <= {r.profile_limit:,.1f} = min x sqrt(1 + 3.84 / n_eff), "
                      f"n_eff = {r.n_eff:.1f} months after residual autocorrelation):"]
        for p in r.params:
            lo, hi = r.profiles[p.path]
            lines.append(f"{p.path:40}  {_fmt(lo):>10} - {_fmt(hi)}")
    lines += ["", "statistic          at start      fitted"]
    for name, unit in (("rmse", ""), ("mae", ""), ("mape", " %"), ("mase", "")):
        a, b = getattr(r.start_stats, name), getattr(r.stats, name)
        lines.append(f"{name.upper() + unit:16} {a:10.3f}  {b:10.3f}")
    lines.append(f"(MASE: MAE / MAE of the one-step naive forecast of the observed series, "
                 f"{r.stats.naive_mae:.3f}; MAPE over months with a positive observation)")
    lines += ["", "by quarter (means of the months):",
              quarterly(r.table).to_string(float_format=lambda v: f"{v:,.1f}")]
    lines.append(f"\n{r.evaluations} evaluations, {r.simulations} simulations, "
                 f"{r.wall_time_s:.1f} s ({r.jobs} process{'es' if r.jobs > 1 else ''})")
    return "\n".join(lines)


def _fitted_number(v: float, integer: bool) -> str:
    if integer:
        return str(int(round(v)))
    text = f"{v:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def write_fitted(r: CalibrationResult, out: Path, overwrite: bool = False) -> Path:
    """A scenario that ``extends`` the calibrated one and sets the fitted values."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; choose another --write file or pass --overwrite")
    base = os.path.relpath(r.scenario_path.resolve(), out.resolve().parent)
    s = r.stats
    head = [
        f"# {out.stem}: {r.scenario_path.name} with parameters fitted by `reception calibrate`",
        f"# on {r.finished:%Y-%m-%d %H:%M} UTC.",
        f"# Observed: {r.observed_path} (column {r.observed_column}); modelled: {r.column}",
        f"# (monthly.parquet). Fit window {_month(r.window[0])}..{_month(r.window[1])} "
        f"({s.months} months); mean of {len(r.seeds)} replicate seeds "
        f"{', '.join(map(str, r.seeds))} (common random numbers).",
        f"# Fit: RMSE {s.rmse:,.1f}, MAE {s.mae:,.1f}, MAPE {s.mape:.1f}%, MASE {s.mase:.2f} "
        f"(naive one-step MAE {s.naive_mae:,.1f}); at the start values: RMSE "
        f"{r.start_stats.rmse:,.1f}, MAPE {r.start_stats.mape:.1f}%, "
        f"MASE {r.start_stats.mase:.2f}.",
    ]
    if r.sets:
        head.append(f"# Fitted with --set {' --set '.join(r.sets)} (not applied here).")
    head.append("# Ranges over seeds: each replicate seed fitted alone from the joint fit (Monte "
                "Carlo uncertainty).")
    if r.profiles:
        head.append(f"# Profile ranges: approximate 95% (RMSE <= {r.profile_limit:,.1f}, "
                    f"n_eff = {r.n_eff:.1f} months).")
    head += ["", f"extends = {toml_value(base)}"]
    tables: dict[tuple[str, ...], list[str]] = {}
    for p in r.params:
        parts = paths.split(p.path)
        lo, hi = r.ranges[p.path]
        prof = (f"; profile range {_fmt(r.profiles[p.path][0])}-{_fmt(r.profiles[p.path][1])}"
                if r.profiles else "")
        line = (f"{toml_key(parts[-1])} = {_fitted_number(r.values[p.path], p.integer)}  "
                f"# fitted; range over seeds {_fmt(lo)}-{_fmt(hi)}{prof}; start {_fmt(p.start)}; "
                f"bounds {_fmt(p.lo)}..{_fmt(p.hi)} ({p.bounds})")
        tables.setdefault(tuple(parts[:-1]), []).append(line)
    body = list(tables.pop((), []))
    for table, lines in tables.items():
        body += ["", f"[{'.'.join(toml_key(t) for t in table)}]", *lines]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(head + body).rstrip() + "\n")
    return out


def parse_bounds(items: typing.Sequence[str]) -> dict[str, tuple[float, float]]:
    """``PATH=LO:HI`` items of --bounds."""
    out = {}
    for item in items:
        key, sep, rng = item.partition("=")
        lo, sep2, hi = rng.partition(":")
        try:
            if not (sep and sep2 and key.strip()):
                raise ValueError
            out[key.strip()] = (float(lo), float(hi))
        except ValueError:
            raise CalibrationError(f"--bounds {item!r}: expected PATH=LO:HI, e.g. "
                                   "housing.search_rate=0.01:0.5") from None
    return out
