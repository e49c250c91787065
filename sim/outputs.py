"""Process 9, data collection: weekly per-municipality rows and weekly totals.

Counts are scaled back to people (times ``run.scale``). Column names are plain
snake_case so the tables open in pandas and R without help.
"""

from __future__ import annotations

import functools

import mesa
import numpy as np
import pandas as pd

from sim import kernels
from sim.codes import (
    ASYLUM,
    DEPARTED,
    DIMENSIONS,
    ELIGIBILITY,
    FUNDERS,
    HOUSING,
    N_DIM,
    N_FUNDER,
    N_HOUSING,
    N_SERVICE,
    N_STATUS,
    SERVICES,
    SPENDING_LINES,
    STATUSES,
    WEEKS_PER_YEAR,
)
from sim.params_response import PAYERS

# The City of Toronto counts as "actively homeless" whoever used shelter in the last three
# months and did not move to permanent housing; its "Refugees" group is refugee claimants
# and refugees, which here includes claimants who were refused and stayed (non-status).
ACTIVE_WINDOW_WEEKS = 13
# The Labour Force Survey's "very recent immigrants": landed at most five years ago.
RECENT_WEEKS = 5 * WEEKS_PER_YEAR
# Employment rates: (employed column, people column) of ``Tally.misc``. Only people aged
# 15-64 count (a child's or a senior's job is its household earner's: sim.codes).
EMPLOYMENT_RATES = {"employment_rate": (6, 5), "employment_rate_core_age": (8, 7),
                    "employment_rate_core_recent": (10, 9)}

REFUGEE_GROUP = np.array([s in ("resettled_refugee", "asylum_claimant", "protected_person",
                                "non_status") for s in STATUSES])


class Tally:
    """The arrays one call of ``kernels.tally`` fills."""

    def __init__(self, n_muni: int) -> None:
        self.counts = np.zeros((n_muni, N_STATUS, N_HOUSING), np.int64)
        self.services = np.zeros((n_muni, N_SERVICE, 3), np.int64)
        self.dims = np.zeros((n_muni, N_DIM + 1))
        self.status_dims = np.zeros((N_STATUS, N_DIM + 2))
        self.hist = np.zeros((n_muni, 10), np.int64)
        self.misc = np.zeros((n_muni, 14), np.int64)
        self.homeless = np.zeros((n_muni, 2), np.int64)
        self.waiting_by = np.zeros((n_muni, N_SERVICE, len(ELIGIBILITY)), np.int64)
        self._present: np.ndarray | None = None
        self._quantiles: np.ndarray | None = None

    @classmethod
    def of(cls, model: mesa.Model) -> Tally:
        t = cls(len(model.municipalities))
        a = model.migrants
        kernels.tally(a.status, a.housing, a.muni, a.origin, a.employment, a.svc_state,
                      a.svc_week, a.dims, a.arrival_week, a.shelter_week, a.age,
                      t.params(model), t.arrays())
        model.ledger.fill(t.misc, model.week)
        return t

    @staticmethod
    def params(model: mesa.Model) -> kernels.TallyParams:
        return kernels.TallyParams(model.week, model.index_weights, ACTIVE_WINDOW_WEEKS,
                                   REFUGEE_GROUP, RECENT_WEEKS, eligibility_table(model))

    def arrays(self) -> kernels.TallyOut:
        """The arrays as the kernels take them (the same arrays, not copies)."""
        return kernels.TallyOut(self.counts, self.services, self.dims, self.status_dims,
                                self.hist, self.misc, self.homeless, self.waiting_by)

    def present(self) -> np.ndarray:
        """People present per municipality (agents, not scaled).

        Computed once: a tally is read-only once filled, and the week asks often.
        """
        if self._present is None:
            c = self.counts.sum(axis=1)
            self._present = c.sum(axis=1) - c[:, DEPARTED]
        return self._present

    def index_quantiles(self) -> np.ndarray:
        """``QUANTILES`` of the integration index per municipality, then of the system
        (last column): float[len(QUANTILES), municipalities + 1], in one call."""
        if self._quantiles is None:
            self._quantiles = hist_quantiles(np.vstack([self.hist, self.hist.sum(axis=0)]))
        return self._quantiles


def eligibility_table(model: mesa.Model) -> np.ndarray:
    """This week's ``kernels.eligibility_classes`` (int8[m, S, status]); before any service,
    those of empty pools (nobody has hours yet)."""
    stats = getattr(model, "week_stats", {})  # the tally at set-up comes first
    if "eligibility" in stats:
        return stats["eligibility"]
    n_muni = len(model.municipalities)
    out = np.empty((n_muni, N_SERVICE, N_STATUS), np.int8)
    kernels.eligibility_classes(np.zeros((n_muni, N_SERVICE, N_FUNDER)), model.eligible,
                                np.array([m.policies["access_without_fear"]
                                          for m in model.municipalities]),
                                model.hours_per_week, out)
    return out


QUANTILES = (0.1, 0.5, 0.9)  # of the integration index, reported as index_p10/p50/p90


def hist_quantiles(hist: np.ndarray, qs: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """Quantiles of a value in [0, 1] from 10-bin histograms: float[len(qs), rows of hist].

    Linear within a bin; nan for an empty histogram. One call for every city and quantile
    (a call per city and quantile cost more than the whole tally of a small city).
    """
    hist = np.atleast_2d(hist)
    total = hist.sum(axis=1)
    cum = np.cumsum(hist, axis=1) / np.where(total > 0, total, 1)[:, None]
    q = np.asarray(qs)[:, None, None]
    b = (cum[None] < q).sum(axis=2)  # [q, m]: the first bin whose cumulative share reaches q
    padded = np.concatenate([np.zeros((len(hist), 1)), cum], axis=1)  # padded[:, b] = below
    below = np.take_along_axis(padded[None], b[..., None], axis=2)[..., 0]
    at = np.take_along_axis(padded[None], np.minimum(b, hist.shape[1] - 1)[..., None] + 1,
                            axis=2)[..., 0]
    frac = np.divide(q[..., 0] - below, at - below, out=np.zeros(b.shape), where=at > below)
    return np.where(total > 0, (b + frac) / 10.0, np.nan)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, float)
    den = np.asarray(den, float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def idle_hours(week_stats: dict, hours_per_week: np.ndarray) -> np.ndarray:
    """Hours left unused this week per (city, service, funder), in agent-hours.

    Left-overs of less than one client's weekly hours are carried to next week (7.5) and
    are not idle. Hours a funder still holds after the waiting list was served stayed
    idle because no one waiting was someone that funder may serve: so idle hours while
    people wait mean eligibility binds, not hours.
    """
    left = week_stats["hours_offered"] - week_stats["hours_used"]
    return np.where(left >= hours_per_week[None, :, None], left, 0.0)


def municipal_rows(model: mesa.Model, t: Tally, week_stats: dict) -> dict[str, np.ndarray]:
    """This week's columns, one entry per municipality.

    A family of columns (by status, by service, ...) is computed as one array and each
    column is a view of it: a NumPy call per family, not per column, is what keeps the
    fixed cost of a small run's week low.
    """
    k = model.scale
    munis = model.municipalities
    present = t.present()
    by_housing = t.counts.sum(axis=1) * k
    by_status = t.counts[:, :, :DEPARTED].sum(axis=2) * k
    occ = week_stats["occupancy"]
    beds = week_stats["beds"] * k  # as modelled: scenario beds rounded to whole agents
    rows: dict[str, np.ndarray] = {
        "week": np.full(len(munis), model.week),
        "date": np.full(len(munis), model.date_of(model.week)),
        "municipality": np.array([m.name for m in munis]),
        "kind": np.array([m.params.kind for m in munis]),
        "arrivals": week_stats["arrivals"] * k,
        "francophone_arrivals": week_stats["francophone_arrivals"][:, 0] * k,
        "pr_arrivals": week_stats["francophone_arrivals"][:, 1] * k,
        "francophone_pr_arrivals": week_stats["francophone_arrivals"][:, 2] * k,
        "newcomers": present * k,
        "departed_total": by_housing[:, DEPARTED],
    }
    for s, name in enumerate(STATUSES):
        rows[f"status_{name}"] = by_status[:, s]
    for h, name in enumerate(HOUSING[:DEPARTED]):
        rows[f"housing_{name}"] = by_housing[:, h]
    rows.update({
        "shelter_beds": beds,
        "shelter_occupancy": occ[:, 0] * k,
        "shelter_overflow": week_stats["overflow_occupancy"] * k,
        "emergency_places": week_stats["emergency_open"].sum(axis=1) * k,
        "emergency_occupancy": week_stats["emergency_by_kind"].sum(axis=1) * k,
        "emergency_on_order": np.array([sum(o.places for o in m.emergency.pipeline)
                                        for m in munis]) * k,
        "interim_occupancy": occ[:, 1] * k,
        "unsheltered": occ[:, 2] * k,
        "actively_homeless": t.homeless[:, 0] * k,
        "refugees_actively_homeless": t.homeless[:, 1] * k,
        "moved_to_stable": week_stats["housing_moves"][:, 0] * k,
        "exits_from_shelter": week_stats["housing_moves"][:, 1] * k,
        "moved_in": week_stats["moves"].sum(axis=0) * k,
        "moved_out": week_stats["moves"].sum(axis=1) * k,
        "jobs_found": week_stats["jobs"][:, 0] * k,
        "matched_jobs_found": week_stats["jobs"][:, 1] * k,
        "hours_misreferred_francophone": week_stats["misreferred_fr"] * k,
    })
    waiting = t.services[:, :, 0]
    idle = idle_hours(week_stats, model.hours_per_week).sum(axis=2) * k
    services = {  # [municipality, service] each
        "waiting": waiting * k,
        "in_service": t.services[:, :, 2] * k,
        "current_wait": _ratio(t.services[:, :, 1], waiting),
        "mean_wait": _ratio(week_stats["wait_sum"], week_stats["started"]),
        "started": week_stats["started"] * k,
        "hours_available": week_stats["hours_offered"].sum(axis=2) * k,
        "hours_used": week_stats["hours_used"].sum(axis=2) * k,
        "hours_misreferred": week_stats["misreferred"] * k,
        "hours_idle": idle,
        "hours_idle_while_waiting": np.where(waiting > 0, idle, 0.0),
        "requests_lapsed": week_stats["requests"][:, :, 0] * k,
        "requests_remade": week_stats["requests"][:, :, 1] * k,
    }
    for j, why in enumerate(ELIGIBILITY):
        services[f"waiting_{why}"] = t.waiting_by[:, :, j] * k
    for s, name in enumerate(SERVICES):
        for family, values in services.items():
            rows[f"{family}_{name}"] = values[:, s]
    for name, (num, den) in EMPLOYMENT_RATES.items():
        rows[name] = _ratio(t.misc[:, num], t.misc[:, den])
    rows["children"] = t.misc[:, 11] * k
    dims = _ratio(t.dims, present[:, None])
    rows["integration_index"] = dims[:, N_DIM]
    for d, name in enumerate(DIMENSIONS):
        rows[name] = dims[:, d]
    for q, values in zip(QUANTILES, t.index_quantiles()[:, :-1], strict=True):
        rows[f"index_p{int(q * 100)}"] = values
    rows["reached_stable_share"] = _ratio(t.misc[:, 3], t.misc[:, 1])
    rows["mean_weeks_to_stable"] = _ratio(t.misc[:, 4], t.misc[:, 3])
    rows["stable_within_a_year_share"] = _ratio(t.misc[:, 13], t.misc[:, 12])
    rows["retention"] = _ratio(t.misc[:, 2], t.misc[:, 1])
    for f, name in enumerate(FUNDERS):
        rows[f"spend_{name}"] = week_stats["spend"][:, f]
    for f, name in enumerate(FUNDERS):  # IHAP refunds, top-ups, advances, one-time transfers
        rows[f"received_{name}"] = week_stats["transfers"][:, f]
    for j, line in enumerate(SPENDING_LINES):
        rows[f"spend_line_{line}"] = week_stats["spend_lines"][:, j]
    emergency = week_stats["emergency_open"] * k
    for j, kind in enumerate(model.scenario.response.kinds):
        rows[f"emergency_{kind}"] = emergency[:, j]
    for j, payer in enumerate(PAYERS):
        rows[f"emergency_paid_{payer}"] = week_stats["emergency_paid"][:, j]
    rows["pressure"] = np.array([m.emergency.pressure for m in munis])
    rows["overflow_unfunded"] = week_stats["overflow_unfunded"]
    rows["municipal_cash"] = np.array([m.cash for m in munis])
    rows["newcomer_budget"] = np.array([m.budget_per_year for m in munis])
    rows["sentiment"] = np.array([m.sentiment for m in munis])
    rows["rent"] = np.array([m.rent for m in munis])
    policies = np.array([[m.policies[p] for p in REPORTED_POLICIES] for m in munis], bool)
    for j, policy in enumerate(REPORTED_POLICIES):
        rows[policy] = policies[:, j]
    rows["staff_fte"] = week_stats["staff"]
    return rows


REPORTED_POLICIES = ("access_without_fear", "welcoming_strategy", "lip", "rif", "intake_cap",
                     "emergency_response")


SUMMED = ("arrivals", "francophone_arrivals", "pr_arrivals", "francophone_pr_arrivals",
          "newcomers", "children", "departed_total", "shelter_beds",
          "shelter_occupancy", "shelter_overflow", "interim_occupancy", "unsheltered",
          "actively_homeless", "refugees_actively_homeless", "moved_to_stable",
          "exits_from_shelter", "moved_in", "moved_out", "jobs_found", "matched_jobs_found",
          "overflow_unfunded", "staff_fte")
# System-wide status events of the week (kernels.step_status tallies, in order).
STATUS_EVENTS = ("asylum_accepted", "asylum_rejected", "permits_to_pr", "became_non_status",
                 "departures", "regularized")


def totals(model: mesa.Model, t: Tally, rows: dict[str, np.ndarray]) -> dict[str, float]:
    """System-wide values of the week: sums of counts, people-weighted means of rates.

    Float columns are summed along contiguous rows (``_column_sums``), so every total
    is the sum NumPy makes of that column alone, to the bit.
    """
    nan = float("nan")
    ws = model.week_stats
    out: dict[str, float] = {"week": float(model.week)}
    n = t.present().sum()
    summed = _summed_columns(tuple(rows))
    sums = np.array([rows[name] for name in summed], float).sum(axis=1)  # one call, not 60
    out.update(zip(summed, sums.tolist(), strict=True))
    started, wait_sum = ws["started"].sum(axis=0), ws["wait_sum"].sum(axis=0)
    for s, name in enumerate(SERVICES):
        out[f"mean_wait_{name}"] = float(wait_sum[s] / started[s]) if started[s] else nan
    out.update(zip(STATUS_EVENTS, (ws["status_events"] * model.scale).tolist(), strict=True))
    out["claims_decided"] = (out["asylum_accepted"] + out["asylum_rejected"]
                             + model.claims.decided_earlier * model.scale)
    out["claims_backlog"] = float(model.claims.backlog(t.counts[:, ASYLUM, :DEPARTED].sum())
                                  * model.scale)
    waiting, wait_now = t.services[:, :, 0].sum(axis=0), t.services[:, :, 1].sum(axis=0)
    for s, name in enumerate(SERVICES):
        out[f"current_wait_{name}"] = float(wait_now[s] / waiting[s]) if waiting[s] else nan
    misc = t.misc.sum(axis=0)
    for name, (num, den) in EMPLOYMENT_RATES.items():
        out[name] = float(misc[num] / misc[den]) if misc[den] else nan
    dims = _column_sums(t.dims)
    out["integration_index"] = float(dims[N_DIM] / n) if n else nan
    for d, name in enumerate(DIMENSIONS):
        out[name] = float(dims[d] / n) if n else nan
    for q, values in zip(QUANTILES, t.index_quantiles()[:, -1].tolist(), strict=True):
        out[f"index_p{int(q * 100)}"] = values
    for s, name in enumerate(STATUSES):
        cnt = t.status_dims[s, N_DIM + 1]
        out[f"index_{name}"] = float(t.status_dims[s, N_DIM] / cnt) if cnt else nan
    arrived, reached = misc[1], misc[3]
    out["retention"] = float(misc[2] / arrived) if arrived else nan
    out["reached_stable_share"] = float(misc[3] / arrived) if arrived else nan
    out["mean_weeks_to_stable"] = float(misc[4] / reached) if reached else nan
    out["stable_within_a_year_share"] = float(misc[13] / misc[12]) if misc[12] else nan
    out["spend_total"] = float(sum(out[f"spend_{f}"] for f in FUNDERS))
    model.cumulative_spend += out["spend_total"]
    out["cumulative_spend"] = model.cumulative_spend
    points = out["integration_index"] * out["newcomers"] if n else 0.0
    out["cost_per_integration_point"] = model.cumulative_spend / points if points else nan
    sentiment = np.array([m.sentiment for m in model.municipalities])
    weights = np.array([m.params.population for m in model.municipalities])
    out["sentiment"] = float((sentiment * weights).sum() / weights.sum())  # np.average's sums
    return out


@functools.cache
def _summed_columns(columns: tuple[str, ...]) -> list[str]:
    """The municipal columns whose system total is their sum, in column order."""
    return [name for name in columns if name in SUMMED or name.startswith(
        ("status_", "housing_", "waiting_", "in_service_", "started_", "hours_", "spend_",
         "emergency_", "received_", "requests_"))]


def _column_sums(a: np.ndarray) -> np.ndarray:
    """``[a[:, j].sum() for j]`` in one call: summing each column as a contiguous row
    keeps NumPy's pairwise order (``a.sum(axis=0)`` adds row by row: other last bits)."""
    return np.ascontiguousarray(a.T).sum(axis=1)


MONTHLY_STOCKS = ("newcomers", "shelter_occupancy", "interim_occupancy", "unsheltered",
                  "actively_homeless", "refugees_actively_homeless")
MONTHLY_FLOWS = ("arrivals", "moved_to_stable", "exits_from_shelter")


def monthly(totals: pd.DataFrame) -> pd.DataFrame:
    """Month-level system totals: stocks at the month's last week, flows summed.

    A week belongs to the month its first day (Monday) falls in; ``month`` is the
    first day of the month.
    """
    month = pd.to_datetime(totals["date"]).dt.to_period("M").dt.to_timestamp()
    grouped = totals.assign(month=month).groupby("month", sort=True)
    out = grouped[list(MONTHLY_STOCKS)].last().join(grouped[list(MONTHLY_FLOWS)].sum())
    return out.reset_index()


def frames(model: mesa.Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-municipality and total weekly tables of the run so far."""
    cols = model.municipal_history[0].keys() if model.municipal_history else []
    muni = pd.DataFrame({c: np.concatenate([r[c] for r in model.municipal_history])
                         for c in cols})
    total = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    total.insert(1, "date", [model.date_of(int(w)) for w in total["week"]])
    total["week"] = total["week"].astype(np.int64)
    return muni, total

