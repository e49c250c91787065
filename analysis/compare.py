"""Comparing design points: means with t-intervals, differences from a baseline.

Every interval is over replicates (independent runs with their own seeds) and says how well
the replicates pin down the model's expected outcome at a design point, not how uncertain the
world is.

* ``t_interval``: mean +- t(1 - a/2, n - 1) * sd / sqrt(n).
* ``difference``: of a design point from the baseline. Paired when both hold the same set of
  seeds, each once (common random numbers: replicate r of every point ran with the same
  seed): the t-interval of the per-seed differences. Otherwise Welch's interval
  (unequal variances, Welch-Satterthwaite degrees of freedom).
* ``wilson_interval`` / ``clopper_pearson_interval``: for a share of replicates (the planner).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int
    method: str = "t"

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


def _clean(x: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[np.isfinite(a)]


def t_interval(x: Sequence[float] | np.ndarray | pd.Series, level: float = LEVEL) -> Interval:
    """Mean of ``x`` and its t-interval (NaN bounds with fewer than two values)."""
    a = _clean(x)
    n = len(a)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    m = float(a.mean())
    if n < 2:
        return Interval(m, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(a.std(ddof=1)) / math.sqrt(n)
    return Interval(m, m - half, m + half, n)


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """Interval of mean(b) - mean(a) by Welch's t (unequal variances)."""
    a, b = _clean(a), _clean(b)
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "welch")
    d = float(b.mean() - a.mean())
    if na < 2 or nb < 2:
        return Interval(d, math.nan, math.nan, min(na, nb), "welch")
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    se2 = va + vb
    if se2 == 0:
        return Interval(d, d, d, min(na, nb), "welch")
    df = se2 ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)
    return Interval(d, d - half, d + half, min(na, nb), "welch")


def paired_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """Interval of the mean of b_i - a_i (pairs with a missing value dropped)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    iv = t_interval(b[ok] - a[ok], level)
    return Interval(iv.estimate, iv.low, iv.high, iv.n, "paired")


def difference(base: pd.DataFrame, other: pd.DataFrame, outcome: str, level: float = LEVEL,
               seed: str = "seed") -> Interval:
    """mean(other) - mean(base) of ``outcome``: paired by seed when the design pairs them
    (both hold the same seeds, each once), Welch otherwise."""
    if seed in base.columns and seed in other.columns:
        sa, sb = base[seed].to_numpy(), other[seed].to_numpy()
        if (len(sa) >= 2 and len(set(sa)) == len(sa) and len(set(sb)) == len(sb)
                and set(sa) == set(sb)):
            a = base.set_index(seed)[outcome]
            b = other.set_index(seed)[outcome].reindex(a.index)
            return paired_interval(a.to_numpy(), b.to_numpy(), level)
    return welch_interval(base[outcome], other[outcome], level)


def wilson_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def clopper_pearson_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    a = 1 - level
    low = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return (low, high)


# ---------------------------------------------------------------------------- tables
def resolve_baseline(runs: pd.DataFrame, baseline: str | int | None,
                     group: str = "label") -> str:
    """The group value naming the baseline: a label, a scenario name, ``p<index>`` or a point
    index; default the first design point."""
    labels = list(dict.fromkeys(runs.sort_values("point", kind="stable")[group]))
    if not labels:
        raise ValueError("no finished runs to compare")
    if baseline is None or baseline == "":
        return labels[0]
    text = str(baseline).strip()
    if text in labels:
        return text
    for col, value in (("scenario", text), ("point", text.removeprefix("p"))):
        if col in runs.columns:
            hit = runs[runs[col].astype(str) == value]
            if len(hit) and hit[group].nunique() == 1:
                return str(hit[group].iloc[0])
    shown = ", ".join(labels[:8]) + (" ..." if len(labels) > 8 else "")
    raise ValueError(f"baseline {text!r} is not a design point (known: {shown})")


def compare(runs: pd.DataFrame, outcomes: Sequence[str], baseline: str | int | None = None,
            group: str = "label", strata: Sequence[str] = (), level: float = LEVEL
            ) -> pd.DataFrame:
    """Long table: for each stratum (e.g. city), outcome and group, the mean over replicates
    with its t-interval and the difference from the baseline group with its interval.

    Columns: *strata, outcome, group (``label``), point, n, mean, ci_low, ci_high, sd,
    baseline, diff, diff_low, diff_high, diff_method (paired | welch | baseline), n_diff.
    """
    base = resolve_baseline(runs, baseline, group)
    rows = []
    strata = list(strata)
    order = list(dict.fromkeys(runs.sort_values("point", kind="stable")[group]))
    by_stratum = runs.groupby(strata, sort=False) if strata else [((), runs)]
    for key, frame in by_stratum:
        key = key if isinstance(key, tuple) else (key,)
        groups = {g: f for g, f in frame.groupby(group, sort=False)}
        ref = groups.get(base)
        for outcome in outcomes:
            if outcome not in frame.columns:
                continue
            for g in order:
                if g not in groups:
                    continue
                f = groups[g]
                iv = t_interval(f[outcome], level)
                sd = float(_clean(f[outcome]).std(ddof=1)) if iv.n > 1 else math.nan
                if ref is None:
                    d = Interval(math.nan, math.nan, math.nan, 0, "none")
                elif g == base:
                    d = Interval(0.0, 0.0, 0.0, iv.n, "baseline")
                else:
                    d = difference(ref, f, outcome, level)
                rows.append({**dict(zip(strata, key, strict=True)), "outcome": outcome,
                             group: g, "point": int(f["point"].iloc[0]), "n": iv.n,
                             "mean": iv.estimate, "ci_low": iv.low, "ci_high": iv.high,
                             "sd": sd, "baseline": base, "diff": d.estimate,
                             "diff_low": d.low, "diff_high": d.high, "diff_method": d.method,
                             "n_diff": d.n})
    return pd.DataFrame(rows)


def by_level(runs: pd.DataFrame, factor: str, outcome: str, others: Sequence[str] = (),
             level: float = LEVEL) -> pd.DataFrame:
    """Mean and t-interval of ``outcome`` at each level of ``factor`` (for each combination of
    ``others``): the dose-response table."""
    keys = [*others, factor]
    rows = []
    for key, f in runs.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        iv = t_interval(f[outcome], level)
        rows.append({**dict(zip(keys, key, strict=True)), "n": iv.n, "mean": iv.estimate,
                     "ci_low": iv.low, "ci_high": iv.high})
    return pd.DataFrame(rows)


def pareto_front(cost: Sequence[float], value: Sequence[float],
                 higher_is_better: bool = True) -> np.ndarray:
    """Boolean mask of the Pareto-efficient points: no other point costs no more and does at
    least as well, being strictly better in one of the two."""
    c = np.asarray(cost, float)
    v = np.asarray(value, float) if higher_is_better else -np.asarray(value, float)
    n = len(c)
    ok = np.isfinite(c) & np.isfinite(v)
    mask = np.zeros(n, bool)
    for i in range(n):
        if not ok[i]:
            continue
        dominated = ok & (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]))
        mask[i] = not dominated.any()
    return mask


def format_interval(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``12.3 [10.1, 14.5]`` with ``digits`` significant digits (``-`` for NaN)."""
    if not np.isfinite(mean):
        return "-"
    if not (np.isfinite(low) and np.isfinite(high)):
        return _num(mean, digits)
    return f"{_num(mean, digits)} [{_num(low, digits)}, {_num(high, digits)}]"


def _num(x: float, digits: int = 3) -> str:
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:,.{max(0, digits - 1)}f}M"
    if ax >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"
