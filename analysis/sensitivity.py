"""Sensitivity: Sobol indices (SALib) and one-at-a-time (tornado) effects.

Sobol: the sweep's Sobol design is Saltelli's sample from ``SALib.sample.sobol`` in point
order; replicates of a point are averaged and ``SALib.analyze.sobol.analyze`` gives first-order
(S1) and total (ST) indices with bootstrap confidence intervals (``*_conf`` is the half-width
of the interval at ``conf_level``). Whether second-order terms were sampled follows from the
number of points: N(2D + 2) with, N(D + 2) without, N a power of two (the two never coincide).

Tornado: for a factorial design, one factor at a time around a baseline design point (the other
factors held at the baseline's values): the mean outcome at the factor's lowest and highest
level. For sampled designs (Latin hypercube, Sobol) no point differs from another in one factor
only, so the bars are the mean outcome of the runs in the factor's lowest and highest fifth
(a marginal, not a one-at-a-time, effect; the table says which).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd


def sobol_problem(names: Sequence[str], bounds: Sequence[Sequence[float]] | None = None) -> dict:
    names = list(names)
    return {"num_vars": len(names), "names": names,
            "bounds": [list(b) for b in bounds] if bounds else [[0.0, 1.0]] * len(names)}


def _power_of_two(n: float) -> bool:
    return n >= 1 and float(n).is_integer() and (int(n) & (int(n) - 1)) == 0


def infer_second_order(n_points: int, d: int) -> bool:
    """Whether a Saltelli sample of ``n_points`` over ``d`` factors has second-order terms."""
    if _power_of_two(n_points / (2 * d + 2)):
        return True
    if _power_of_two(n_points / (d + 2)):
        return False
    raise ValueError(f"{n_points} points are not a Saltelli sample over {d} factors "
                     f"(expected N x {2 * d + 2} or N x {d + 2}, N a power of two)")


def sobol_indices(names: Sequence[str], y: Sequence[float] | np.ndarray,
                  calc_second_order: bool | None = None, conf_level: float = 0.95,
                  num_resamples: int = 200, seed: int | None = 0
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """First-order and total Sobol indices of ``y`` (model outputs in Saltelli sample order).

    Returns (first, second): ``first`` has parameter, S1, S1_conf, ST, ST_conf (conf: half
    width of the ``conf_level`` bootstrap interval); ``second`` (or None) parameter_1,
    parameter_2, S2, S2_conf.
    """
    from SALib.analyze import sobol as sobol_analyze

    names = list(names)
    y = np.asarray(y, dtype=float)
    if calc_second_order is None:
        calc_second_order = infer_second_order(len(y), len(names))
    if not np.all(np.isfinite(y)):
        raise ValueError("outputs hold NaN or infinite values")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sobol_analyze.analyze(sobol_problem(names), y,
                                    calc_second_order=calc_second_order,
                                    num_resamples=num_resamples, conf_level=conf_level,
                                    print_to_console=False, seed=seed)
    first = pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"],
                          "ST": res["ST"], "ST_conf": res["ST_conf"]})
    second = None
    if calc_second_order:
        rows = [{"parameter_1": names[i], "parameter_2": names[j], "S2": res["S2"][i, j],
                 "S2_conf": res["S2_conf"][i, j]}
                for i in range(len(names)) for j in range(i + 1, len(names))]
        second = pd.DataFrame(rows)
    return first, second


def sweep_sobol(runs: pd.DataFrame, factors: Sequence[str], outcomes: Sequence[str],
                calc_second_order: bool | None = None, conf_level: float = 0.95,
                seed: int | None = 0) -> pd.DataFrame:
    """Sobol indices of each outcome of a Sobol sweep (replicates averaged per point).

    Long table: outcome, parameter, S1, S1_conf, ST, ST_conf. Outcomes without variance or with
    missing values, and sweeps with missing design points, are left out.
    """
    means = runs.groupby("point", sort=True).mean(numeric_only=True)
    expected = int(means.index.max()) + 1 if len(means) else 0
    if len(means) != expected:
        return pd.DataFrame(columns=["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"])
    if calc_second_order is None:
        calc_second_order = infer_second_order(len(means), len(factors))
    frames = []
    for outcome in outcomes:
        if outcome not in means.columns:
            continue
        y = means[outcome].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.var(y) == 0:
            continue
        first, _ = sobol_indices(factors, y, calc_second_order, conf_level, seed=seed)
        frames.append(first.assign(outcome=outcome))
    if not frames:
        return pd.DataFrame(columns=["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"])
    out = pd.concat(frames, ignore_index=True)
    return out[["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]]


# ---------------------------------------------------------------------------- tornado
TORNADO_COLUMNS = ["factor", "low", "high", "at_low", "at_high", "baseline", "swing", "method"]


def oat_effects(runs: pd.DataFrame, factors: Sequence[str], outcome: str,
                baseline_point: int | None = None) -> pd.DataFrame:
    """One-at-a-time effects around a design point of a factorial design.

    For each factor: among the points that equal the baseline point in every other factor,
    the mean outcome (over replicates) at the factor's lowest and highest level. Columns:
    factor, low, high, at_low, at_high, baseline (the baseline point's mean), swing
    (|at_high - at_low|), method ("one-at-a-time").
    """
    means = runs.groupby("point", sort=True).agg(
        {**{f: "first" for f in factors}, outcome: "mean"})
    if means.empty:
        return pd.DataFrame(columns=TORNADO_COLUMNS)
    bp = int(means.index[0]) if baseline_point is None else int(baseline_point)
    ref = means.loc[bp]
    rows = []
    for f in factors:
        others = [g for g in factors if g != f]
        same = np.ones(len(means), bool)
        for g in others:
            same &= (means[g] == ref[g]).to_numpy()
        line = means[same]
        if line[f].nunique() < 2:
            continue
        try:
            line = line.sort_values(f)
        except TypeError:
            continue
        lo, hi = line.iloc[0], line.iloc[-1]
        rows.append({"factor": f, "low": lo[f], "high": hi[f], "at_low": lo[outcome],
                     "at_high": hi[outcome], "baseline": ref[outcome],
                     "swing": abs(hi[outcome] - lo[outcome]), "method": "one-at-a-time"})
    return _sorted(rows)


def quantile_effects(runs: pd.DataFrame, factors: Sequence[str], outcome: str,
                     q: float = 0.2) -> pd.DataFrame:
    """Marginal effects for sampled designs: mean outcome of the runs in each numeric factor's
    lowest and highest ``q`` share (low/high: the mean factor value there)."""
    rows = []
    y = runs[outcome].astype(float)
    for f in factors:
        x = pd.to_numeric(runs[f], errors="coerce")
        ok = x.notna() & y.notna()
        if ok.sum() < 4 or x[ok].nunique() < 2:
            continue
        lo_cut, hi_cut = x[ok].quantile(q), x[ok].quantile(1 - q)
        low, high = ok & (x <= lo_cut), ok & (x >= hi_cut)
        rows.append({"factor": f, "low": float(x[low].mean()), "high": float(x[high].mean()),
                     "at_low": float(y[low].mean()), "at_high": float(y[high].mean()),
                     "baseline": float(y[ok].mean()),
                     "swing": abs(float(y[high].mean()) - float(y[low].mean())),
                     "method": f"lowest vs highest {q:.0%} of runs"})
    return _sorted(rows)


def tornado(runs: pd.DataFrame, factors: Sequence[str], outcome: str, kind: str,
            baseline_point: int | None = None) -> pd.DataFrame:
    """One-at-a-time effects for factorial designs, quantile effects for sampled ones."""
    if kind == "factorial":
        return oat_effects(runs, factors, outcome, baseline_point)
    return quantile_effects(runs, factors, outcome)


def _sorted(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=TORNADO_COLUMNS)
    frame = pd.DataFrame(rows)
    frame = frame[np.isfinite(frame["swing"].astype(float))]
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


__all__ = ["infer_second_order", "oat_effects", "quantile_effects", "sobol_indices",
           "sobol_problem", "sweep_sobol", "tornado"]
