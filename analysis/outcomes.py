"""Run-level outcomes computed from one run's weekly rows (system totals or one city).

The same definitions serve the sweep loader (per run and per run x city) and the planner's
targets, and for system totals they reproduce ``sim.runner.summarize`` (tests check this).
Only column names of the weekly tables are used here; nothing of ``sim`` is imported.

Week numbering: the ``week`` column is 0-based and the row ``week == w`` holds the state at the
end of the run's (w+1)-th week, so "at 1 year" is the row ``week == 51`` (52 weeks run) and
"at 3 years" the row ``week == 155``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

SERVICES = ("orientation", "language", "employment", "housing_help")
FUNDERS = ("federal", "provincial", "municipal", "charity")
DIMENSIONS = ("economic_wellbeing", "networks", "access_to_services", "civic_participation",
              "safety_acceptance")
STATUSES = ("economic_pr", "family_pr", "resettled_refugee", "asylum_claimant",
            "protected_person", "temporary_worker", "student", "non_status")
YEAR_WEEKS = {"1y": 52, "3y": 156}

# Outcome name -> (what it is, unit, higher is better?). The order is the report's order.
HEADLINE: dict[str, tuple[str, str, bool | None]] = {
    "peak_shelter_occupancy": ("Peak shelter occupancy over the run", "people", False),
    "mean_shelter_occupancy": ("Mean weekly shelter occupancy over the run", "people", False),
    "unsheltered_person_weeks": ("Unsheltered people summed over weeks", "person-weeks", False),
    "emergency_place_weeks": ("Emergency places open summed over weeks (crisis response)",
                              "place-weeks", None),
    "peak_emergency_places": ("Most emergency places open in one week", "places", None),
    "emergency_cost": ("Running cost of emergency places over the run, all payers", "CAD", False),
    **{f"mean_wait_{s}": (f"Mean wait for {s.replace('_', ' ')} of those who started it in "
                          "the run (weighted by starts)", "weeks", False) for s in SERVICES},
    **{f"expected_wait_{s}": (f"Expected wait for {s.replace('_', ' ')} of someone joining the "
                              "list (Little's law: mean list / mean weekly starts, counting "
                              "people no funder may serve)", "weeks", False) for s in SERVICES},
    "mean_weeks_to_stable": ("Mean weeks from arrival to stable housing, of those who reached "
                             "it (at the end)", "weeks", False),
    "reached_stable_share": ("Share of arrivals who reached stable housing (at the end)",
                             "share", True),
    "stable_within_a_year_share": ("Share of those who arrived a year ago or more who were in "
                                   "stable housing within a year (at the end)", "share", True),
    "employment_rate_1y": ("Employment rate of newcomers present at 1 year (week 52)",
                           "share", True),
    "employment_rate_3y": ("Employment rate of newcomers present at 3 years (week 156)",
                           "share", True),
    "employment_rate_at_end": ("Employment rate at the end of the run", "share", True),
    "integration_index_at_end": ("Integration index (0-1) at the end", "index", True),
    **{f"{d}_at_end": (f"Integration dimension {d.replace('_', ' ')} at the end", "index", True)
       for d in DIMENSIONS},
    **{f"index_{s}_at_end": (f"Integration index of {s.replace('_', ' ')}s at the end "
                             "(system totals only)", "index", True) for s in STATUSES},
    "retention": ("Share of arrivals still in the system (a city: still in the city) at the end",
                  "share", True),
    **{f"spend_{f}": (f"Spending by the {f} funder over the run", "CAD", None) for f in FUNDERS},
    "spend_total": ("Spending by all funders over the run", "CAD", None),
    "cost_per_integration_point": ("Spending over the run per integration point (index x "
                                   "newcomers present at the end)", "CAD/point", False),
}
EXTRA = ("weeks", "arrivals", "newcomers_at_end", "peak_unsheltered")
SYSTEM_ONLY = tuple(f"index_{s}_at_end" for s in STATUSES)
CITY_OUTCOMES = tuple(k for k in HEADLINE if k not in SYSTEM_ONLY)

# The weekly columns the outcomes need (missing ones give NaN outcomes).
NEEDED = ("week", "shelter_occupancy", "unsheltered", "newcomers", "arrivals",
          "employment_rate", "integration_index", "retention", "reached_stable_share",
          "mean_weeks_to_stable", "stable_within_a_year_share", *DIMENSIONS,
          *(f"index_{s}" for s in STATUSES),
          *(f"mean_wait_{s}" for s in SERVICES), *(f"started_{s}" for s in SERVICES),
          *(f"waiting_{s}" for s in SERVICES),
          *(f"spend_{f}" for f in FUNDERS), "emergency_places", "spend_line_emergency_places")

AGGREGATES = ("mean", "max", "min", "sum", "end")
_AGG_RE = re.compile(r"^(mean|max|min|sum|end|week(\d+))\((\w+)\)$")


def _at_week(df: pd.DataFrame, name: str, weeks_run: int) -> float:
    """Value of ``name`` at the end of the run's ``weeks_run``-th week (row week == n - 1)."""
    if name not in df.columns:
        return float("nan")
    rows = df.loc[df["week"] == weeks_run - 1, name]
    return float(rows.iloc[-1]) if len(rows) else float("nan")


def weekly_outcomes(df: pd.DataFrame) -> dict[str, float]:
    """Outcomes of one run from its weekly rows (system totals or one city's rows).

    Definitions (docs/analysis.md): peaks and means over all weeks, person-weeks summed,
    waits weighted by the starts of each week, stocks and shares at the last week, spending
    summed over weeks.
    """
    table = outcomes_table(df.assign(__run=0), ["__run"])
    if table.empty:
        return {k: float("nan") for k in (*EXTRA, *HEADLINE)}
    row = table.iloc[0]
    return {k: float(row[k]) for k in (*EXTRA, *HEADLINE)}


def outcomes_table(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``weekly_outcomes`` for every group of ``by`` (a run, or a run and a city) at once."""
    nan = float("nan")
    df = df.sort_values([*by, "week"], kind="stable")
    g = df.groupby(by, sort=True, dropna=False)
    last = df.drop_duplicates(by, keep="last").set_index(by)
    out = pd.DataFrame(index=g.size().index)
    out["weeks"] = g.size().astype(float)

    def have(*names: str) -> bool:
        return all(n in df.columns for n in names)

    def from_last(name: str) -> pd.Series | float:
        return last[name].astype(float) if name in last.columns else nan

    out["arrivals"] = g["arrivals"].sum().astype(float) if have("arrivals") else nan
    out["newcomers_at_end"] = from_last("newcomers")
    if have("shelter_occupancy"):
        sh = g["shelter_occupancy"]
        out["peak_shelter_occupancy"] = sh.max().astype(float)
        out["mean_shelter_occupancy"] = sh.mean().astype(float)
    else:
        out["peak_shelter_occupancy"] = out["mean_shelter_occupancy"] = nan
    if have("unsheltered"):
        out["unsheltered_person_weeks"] = g["unsheltered"].sum().astype(float)
        out["peak_unsheltered"] = g["unsheltered"].max().astype(float)
    else:
        out["unsheltered_person_weeks"] = out["peak_unsheltered"] = nan
    if have("emergency_places"):
        out["emergency_place_weeks"] = g["emergency_places"].sum().astype(float)
        out["peak_emergency_places"] = g["emergency_places"].max().astype(float)
    else:
        out["emergency_place_weeks"] = out["peak_emergency_places"] = nan
    out["emergency_cost"] = (g["spend_line_emergency_places"].sum().astype(float)
                             if have("spend_line_emergency_places") else nan)
    for s in SERVICES:
        if have(f"started_{s}", f"mean_wait_{s}"):
            started = df[f"started_{s}"].astype(float)
            waited = df[f"mean_wait_{s}"].astype(float).fillna(0.0) * started
            tot = started.groupby([df[b] for b in by], sort=True, dropna=False).sum()
            w = waited.groupby([df[b] for b in by], sort=True, dropna=False).sum()
            out[f"mean_wait_{s}"] = (w / tot.where(tot > 0)).to_numpy()
        else:
            out[f"mean_wait_{s}"] = nan
        if have(f"started_{s}", f"waiting_{s}"):
            # Little's law, as sim.runner.summarize: mean list over mean starts per week
            started = g[f"started_{s}"].sum().astype(float)
            waiting = g[f"waiting_{s}"].sum().astype(float)
            out[f"expected_wait_{s}"] = waiting / started.where(started > 0)
        else:
            out[f"expected_wait_{s}"] = nan
    out["mean_weeks_to_stable"] = from_last("mean_weeks_to_stable")
    out["reached_stable_share"] = from_last("reached_stable_share")
    out["stable_within_a_year_share"] = from_last("stable_within_a_year_share")
    for tag, n in YEAR_WEEKS.items():
        if have("employment_rate"):
            at = df[df["week"] == n - 1].drop_duplicates(by, keep="last").set_index(by)
            out[f"employment_rate_{tag}"] = at["employment_rate"].astype(float)
        else:
            out[f"employment_rate_{tag}"] = nan
    out["employment_rate_at_end"] = from_last("employment_rate")
    out["integration_index_at_end"] = from_last("integration_index")
    for d in DIMENSIONS:
        out[f"{d}_at_end"] = from_last(d)
    for s in STATUSES:
        out[f"index_{s}_at_end"] = from_last(f"index_{s}")
    out["retention"] = from_last("retention")
    total = pd.Series(0.0, index=out.index)
    for f in FUNDERS:
        if have(f"spend_{f}"):
            out[f"spend_{f}"] = g[f"spend_{f}"].sum().astype(float)
        else:
            out[f"spend_{f}"] = nan
        total = total + out[f"spend_{f}"]
    out["spend_total"] = total
    points = out["integration_index_at_end"] * out["newcomers_at_end"]
    out["cost_per_integration_point"] = total / points.where(points > 0)
    return out.reset_index()


def custom_outcome(df: pd.DataFrame, expr: str) -> float:
    """``agg(column)`` of one run's weekly rows: mean, max, min, sum, end (last week) or
    weekN (the end of the run's N-th week, row ``week == N - 1``)."""
    m = _AGG_RE.match(expr.replace(" ", ""))
    if not m:
        raise KeyError(expr)
    agg, n, col = m.group(1), m.group(2), m.group(3)
    if col not in df.columns:
        raise KeyError(col)
    df = df.sort_values("week")
    values = df[col].astype(float)
    if n is not None:
        return _at_week(df, col, int(n))
    if agg == "end":
        return float(values.iloc[-1]) if len(values) else float("nan")
    return float(getattr(values, agg)())


def is_custom(expr: str) -> bool:
    return bool(_AGG_RE.match(expr.replace(" ", "")))


def custom_column(expr: str) -> str:
    m = _AGG_RE.match(expr.replace(" ", ""))
    assert m
    return m.group(3)


# ---------------------------------------------------------------- system totals from cities
SUM_PREFIXES = ("status_", "housing_", "waiting_", "in_service_", "started_", "hours_",
                "spend_")
SUM_COLUMNS = ("arrivals", "newcomers", "departed_total", "shelter_beds", "shelter_occupancy",
               "shelter_overflow", "interim_occupancy", "unsheltered", "actively_homeless",
               "refugees_actively_homeless", "moved_to_stable", "exits_from_shelter",
               "jobs_found", "matched_jobs_found", "overflow_unfunded", "staff_fte")
PEOPLE_WEIGHTED = ("employment_rate", "integration_index", *DIMENSIONS)


def totals_from_cities(df: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """System totals per run and week from per-city rows, where they can be derived exactly.

    Counts and spending are summed; the employment rate, integration index and its dimensions
    are weighted by newcomers present; mean waits by the week's starts. Columns that cannot be
    derived from city rows (retention, the index by status, quantiles) are left out.
    """
    keys = [k for k in keys if k in df.columns]
    by = [*keys, "week"]
    summed = [c for c in df.columns if (c.startswith(SUM_PREFIXES) or c in SUM_COLUMNS)
              and c not in by and pd.api.types.is_numeric_dtype(df[c])]
    work = df[by].copy()
    for c in summed:
        work[c] = df[c].astype(float)
    weight = df["newcomers"].astype(float) if "newcomers" in df.columns else None
    pw = [c for c in PEOPLE_WEIGHTED if c in df.columns and weight is not None]
    for c in pw:
        work[f"__w_{c}"] = df[c].astype(float).fillna(0.0) * weight
    waits = [s for s in SERVICES if f"mean_wait_{s}" in df.columns and f"started_{s}" in df.columns]
    for s in waits:
        work[f"__w_mean_wait_{s}"] = (df[f"mean_wait_{s}"].astype(float).fillna(0.0)
                                      * df[f"started_{s}"].astype(float))
    g = work.groupby(by, sort=True, dropna=False)
    out = g.sum(numeric_only=True)
    for c in pw:
        out[c] = out.pop(f"__w_{c}") / out["newcomers"].where(out["newcomers"] > 0)
    for s in waits:
        out[f"mean_wait_{s}"] = (out.pop(f"__w_mean_wait_{s}")
                                 / out[f"started_{s}"].where(out[f"started_{s}"] > 0))
    out = out.reset_index()
    if "date" in df.columns:
        dates = df.drop_duplicates(by)[[*by, "date"]]
        out = out.merge(dates, on=by, how="left")
    if all(f"spend_{f}" in out.columns for f in FUNDERS):
        out["spend_total"] = out[[f"spend_{f}" for f in FUNDERS]].sum(axis=1)
    return out
