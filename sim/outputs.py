"""Process 9, data collection: the tally, and the weekly per-municipality columns and
system totals built from it (``sim.week_log`` keeps the weeks and says when).

Counts are scaled back to people (times ``run.scale``). Column names are plain
snake_case so the tables open in pandas and R without help.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import pandas as pd

from sim import kernels
from sim.claims import claims_backlog
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
from sim.mesa_import import mesa
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

# The settling parameters of a tally that settles nobody (the types of a real one, so the
# kernel is compiled once).
_NO_SETTLING = kernels.Settle(
    0, np.zeros(1, np.bool_), *[np.zeros(1, np.int64)] * 4, np.zeros(1, np.bool_), np.ones(3),
    np.ones(2), np.ones(3), np.zeros(N_DIM), np.zeros(N_DIM), kernels.TargetTables(
        np.zeros(1), np.zeros(1), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)),
        np.zeros((1, 1))))

REFUGEE_GROUP = np.array([s in ("resettled_refugee", "asylum_claimant", "protected_person",
                                "non_status") for s in STATUSES])


class Tally:
    """The arrays one call of ``kernels.tally`` fills."""

    def __init__(self, n_muni: int) -> None:
        self.counts = np.zeros((n_muni, N_STATUS, N_HOUSING), np.int64)
        self.services = np.zeros((n_muni, N_SERVICE, 3), np.int64)
        self.dims = np.zeros((n_muni, N_DIM + 1))
        self.status_index = np.zeros(N_STATUS)  # sum of the index by status
        self.status_count = np.zeros(N_STATUS, np.int64)  # people present by status
        self.hist = np.zeros((n_muni, 10), np.int64)
        self.misc = np.zeros((n_muni, 14), np.int64)
        self.homeless = np.zeros((n_muni, 2), np.int64)
        self.waiting_by = np.zeros((n_muni, N_SERVICE, len(ELIGIBILITY)), np.int64)
        self._present: np.ndarray | None = None
        self._quantiles: np.ndarray | None = None

    @classmethod
    def of(cls, model: mesa.Model) -> Tally:
        """The end-of-week tally; it settles the integration dimensions of the people whose
        situation changed or whose slice is due (not at set-up, before any week: the
        dimensions are then not counted)."""
        n_muni = len(model.municipalities)
        t = cls(n_muni)
        a = model.migrants
        tables = model.targets_now
        settle = model.dim_sums.settle(model.week, model.scenario.integration.adjust_per_week,
                                       model.index_weights, tables, a.n
                                       ) if tables is not None else None
        changes = model.dim_sums.changes()
        out = kernels.TallyOut(t.counts, t.services, t.status_count, t.misc, t.homeless,
                               t.waiting_by, *changes)
        # Counts kept from week to week; the count at set-up (no settling) starts anew.
        kept = model.kept_counts if settle is not None else kernels.KeptCounts.empty(n_muni)
        kernels.tally(a.status, a.housing, a.muni, a.origin, a.employment, a.svc_state,
                      a.svc_week, a.arrival_week, a.shelter_week, a.age, a.tally_flags,
                      a.dim_columns(), t.params(model, settle), kept, out)
        model.ledger.fill(t.misc, model.week)
        if settle is not None:
            t.dims, t.status_index = model.dim_sums.take(settle, changes)
            t.hist = model.dim_sums.hist.copy()
        return t

    @staticmethod
    def params(model: mesa.Model, settle: kernels.Settle | None) -> kernels.TallyParams:
        """The tally's parameters (``settle`` None: count without settling anyone)."""
        return kernels.TallyParams(
            model.week, ACTIVE_WINDOW_WEEKS, REFUGEE_GROUP, RECENT_WEEKS, eligibility_table(model),
            settle is not None, settle or _NO_SETTLING)

    @classmethod
    def stack(cls, tallies: list[Tally]) -> Tally:
        """Several weeks' tallies as one, every array with a leading axis of weeks."""
        t = cls.__new__(cls)
        for name in ("counts", "services", "dims", "status_index", "status_count", "hist",
                     "misc", "homeless", "waiting_by"):
            setattr(t, name, np.array([getattr(x, name) for x in tallies]))
        t._present = t._quantiles = None
        return t

    def present(self) -> np.ndarray:
        """People present per municipality (agents, not scaled; [weeks, m] if stacked).

        Computed once: a tally is read-only once filled, and the week asks often.
        """
        if self._present is None:
            c = self.counts.sum(axis=-2)
            self._present = c.sum(axis=-1) - c[..., DEPARTED]
        return self._present

    def index_quantiles(self) -> np.ndarray:
        """``QUANTILES`` of the integration index per municipality, then of the system (last
        column): float[len(QUANTILES), weeks, municipalities + 1] if stacked (without the
        weeks axis if not). Computed once: the columns and the totals both read it."""
        if self._quantiles is None:
            hist = self.hist
            both = np.concatenate([hist, hist.sum(axis=-2, keepdims=True)], axis=-2)
            self._quantiles = hist_quantiles(both.reshape(-1, both.shape[-1])).reshape(
                -1, *both.shape[:-1])
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
    """Hours left unused per (city, service, funder), in agent-hours (any leading axes:
    ``hours_per_week`` is per service, with the same leading axes as the statistics).

    Left-overs of less than one client's weekly hours are carried to next week (7.5) and
    are not idle. Hours a funder still holds after the waiting list was served stayed
    idle because no one waiting was someone that funder may serve: so idle hours while
    people wait mean eligibility binds, not hours.
    """
    left = week_stats["hours_offered"] - week_stats["hours_used"]
    return np.where(left >= hours_per_week[..., None, :, None], left, 0.0)


@dataclass
class Weeks:
    """Several weeks of what collect keeps (``sim.week_log``), every array with a leading
    axis of weeks: what the columns are built from."""

    week: np.ndarray
    tally: Tally
    stats: dict[str, np.ndarray]  # model.week_stats
    agents: np.ndarray  # float[weeks, municipalities, AGENT_VALUES]
    claims_earlier: np.ndarray  # claims pending that are not agents (ClaimsQueue.earlier)
    decided_earlier: np.ndarray  # each week's decisions of those claims
    hours_per_week: np.ndarray  # of one client, per service (a timeline may change it)

    def agent(self, name: str) -> np.ndarray:
        """One of ``AGENT_VALUES``: float[weeks, municipalities]."""
        return self.agents[..., AGENT_VALUES.index(name)]


def municipal_columns(model: mesa.Model, w: Weeks) -> dict[str, np.ndarray]:
    """The per-municipality columns of several weeks: [weeks, municipalities] each.

    A family of columns (by status, by service, ...) is computed as one array and each
    column is a view of it, for all the weeks at once (``sim.week_log``): a NumPy call
    per family and per build, not per column and week, keeps a small run's week cheap.
    """
    k = model.scale
    munis = model.municipalities
    t, ws = w.tally, w.stats
    shape = (len(w.week), len(munis))
    present = t.present()
    by_housing = t.counts.sum(axis=-2) * k
    by_status = t.counts[..., :DEPARTED].sum(axis=-1) * k
    occ = ws["occupancy"]
    beds = ws["beds"] * k  # as modelled: scenario beds rounded to whole agents
    rows: dict[str, np.ndarray] = {
        "week": np.broadcast_to(w.week[:, None], shape),
        "date": np.array([[model.date_of(int(week))] * shape[1] for week in w.week], object),
        "municipality": np.broadcast_to(np.array([m.name for m in munis]), shape),
        "kind": np.broadcast_to(np.array([m.params.kind for m in munis]), shape),
        "arrivals": ws["arrivals"] * k,
        "francophone_arrivals": ws["francophone_arrivals"][..., 0] * k,
        "pr_arrivals": ws["francophone_arrivals"][..., 1] * k,
        "francophone_pr_arrivals": ws["francophone_arrivals"][..., 2] * k,
        "newcomers": present * k,
        "departed_total": by_housing[..., DEPARTED],
    }
    for s, name in enumerate(STATUSES):
        rows[f"status_{name}"] = by_status[..., s]
    for h, name in enumerate(HOUSING[:DEPARTED]):
        rows[f"housing_{name}"] = by_housing[..., h]
    rows.update({
        "shelter_beds": beds,
        "shelter_occupancy": occ[..., 0] * k,
        "shelter_overflow": ws["overflow_occupancy"] * k,
        "emergency_places": ws["emergency_open"].sum(axis=-1) * k,
        "emergency_occupancy": ws["emergency_by_kind"].sum(axis=-1) * k,
        "emergency_on_order": w.agent("on_order") * k,
        "interim_occupancy": occ[..., 1] * k,
        "unsheltered": occ[..., 2] * k,
        "actively_homeless": t.homeless[..., 0] * k,
        "refugees_actively_homeless": t.homeless[..., 1] * k,
        "moved_to_stable": ws["housing_moves"][..., 0] * k,
        "exits_from_shelter": ws["housing_moves"][..., 1] * k,
        "moved_in": ws["moves"].sum(axis=-2) * k,
        "moved_out": ws["moves"].sum(axis=-1) * k,
        "jobs_found": ws["jobs"][..., 0] * k,
        "matched_jobs_found": ws["jobs"][..., 1] * k,
        "hours_misreferred_francophone": ws["misreferred_fr"] * k,
    })
    waiting = t.services[..., 0]
    idle = idle_hours(ws, w.hours_per_week).sum(axis=-1) * k
    services = {  # [weeks, municipality, service] each
        "waiting": waiting * k,
        "in_service": t.services[..., 2] * k,
        "current_wait": _ratio(t.services[..., 1], waiting),
        "mean_wait": _ratio(ws["wait_sum"], ws["started"]),
        "started": ws["started"] * k,
        "hours_available": ws["hours_offered"].sum(axis=-1) * k,
        "hours_used": ws["hours_used"].sum(axis=-1) * k,
        "hours_misreferred": ws["misreferred"] * k,
        "hours_idle": idle,
        "hours_idle_while_waiting": np.where(waiting > 0, idle, 0.0),
        "requests_lapsed": ws["requests"][..., 0] * k,
        "requests_remade": ws["requests"][..., 1] * k,
    }
    for j, why in enumerate(ELIGIBILITY):
        services[f"waiting_{why}"] = t.waiting_by[..., j] * k
    for s, name in enumerate(SERVICES):
        for family, values in services.items():
            rows[f"{family}_{name}"] = values[..., s]
    for name, (num, den) in EMPLOYMENT_RATES.items():
        rows[name] = _ratio(t.misc[..., num], t.misc[..., den])
    rows["children"] = t.misc[..., 11] * k
    dims = _ratio(t.dims, present[..., None])
    rows["integration_index"] = dims[..., N_DIM]
    for d, name in enumerate(DIMENSIONS):
        rows[name] = dims[..., d]
    for q, values in zip(QUANTILES, t.index_quantiles()[..., :-1], strict=True):
        rows[f"index_p{int(q * 100)}"] = values
    rows["reached_stable_share"] = _ratio(t.misc[..., 3], t.misc[..., 1])
    rows["mean_weeks_to_stable"] = _ratio(t.misc[..., 4], t.misc[..., 3])
    rows["stable_within_a_year_share"] = _ratio(t.misc[..., 13], t.misc[..., 12])
    rows["retention"] = _ratio(t.misc[..., 2], t.misc[..., 1])
    for f, name in enumerate(FUNDERS):
        rows[f"spend_{name}"] = ws["spend"][..., f]
    for f, name in enumerate(FUNDERS):  # IHAP refunds, top-ups, advances, one-time transfers
        rows[f"received_{name}"] = ws["transfers"][..., f]
    for j, line in enumerate(SPENDING_LINES):
        rows[f"spend_line_{line}"] = ws["spend_lines"][..., j]
    emergency = ws["emergency_open"] * k
    for j, kind in enumerate(model.scenario.response.kinds):
        rows[f"emergency_{kind}"] = emergency[..., j]
    for j, payer in enumerate(PAYERS):
        rows[f"emergency_paid_{payer}"] = ws["emergency_paid"][..., j]
    rows["pressure"] = w.agent("pressure")
    rows["overflow_unfunded"] = ws["overflow_unfunded"]
    rows["municipal_cash"] = w.agent("cash")
    rows["newcomer_budget"] = w.agent("budget_per_year")
    rows["sentiment"] = w.agent("sentiment")
    rows["rent"] = w.agent("rent")
    for policy in REPORTED_POLICIES:
        rows[policy] = w.agent(policy).astype(bool)
    rows["staff_fte"] = ws["staff"]
    return rows


REPORTED_POLICIES = ("access_without_fear", "welcoming_strategy", "lip", "rif", "intake_cap",
                     "emergency_response")
# What a week keeps of each municipality agent, in this order (``Weeks.agents``).
AGENT_VALUES = ("pressure", "cash", "budget_per_year", "sentiment", "rent", "population",
                "on_order", *REPORTED_POLICIES)


SUMMED = ("arrivals", "francophone_arrivals", "pr_arrivals", "francophone_pr_arrivals",
          "newcomers", "children", "departed_total", "shelter_beds",
          "shelter_occupancy", "shelter_overflow", "interim_occupancy", "unsheltered",
          "actively_homeless", "refugees_actively_homeless", "moved_to_stable",
          "exits_from_shelter", "moved_in", "moved_out", "jobs_found", "matched_jobs_found",
          "overflow_unfunded", "staff_fte")
# System-wide status events of the week (kernels.step_status tallies, in order).
STATUS_EVENTS = ("asylum_accepted", "asylum_rejected", "permits_to_pr", "became_non_status",
                 "departures", "regularized")


def week_totals(model: mesa.Model, w: Weeks, rows: dict[str, np.ndarray],
                spent: float) -> dict[str, np.ndarray]:
    """System-wide values of several weeks: sums of counts, people-weighted means of
    rates; float[weeks] each. ``spent``: the cumulative spending before the first week.

    Every total is the sum NumPy makes of one week's values of the column alone, along
    a contiguous row, to the bit, however many weeks are built together.
    """
    ws, t = w.stats, w.tally
    out: dict[str, np.ndarray] = {"week": w.week.astype(float)}
    n = t.present().sum(axis=-1)
    summed = _summed_columns(tuple(rows))
    sums = np.array([rows[name] for name in summed], float).sum(axis=-1)  # one call, not 60
    out.update(zip(summed, sums, strict=True))
    mean_wait = _ratio(ws["wait_sum"].sum(axis=-2), ws["started"].sum(axis=-2))
    for s, name in enumerate(SERVICES):
        out[f"mean_wait_{name}"] = mean_wait[:, s]
    events = ws["status_events"] * model.scale
    out.update(zip(STATUS_EVENTS, events.T, strict=True))
    out["claims_decided"] = (out["asylum_accepted"] + out["asylum_rejected"]
                             + w.decided_earlier * model.scale)
    pending = t.counts[..., ASYLUM, :DEPARTED].sum(axis=(-2, -1))
    out["claims_backlog"] = claims_backlog(pending, w.claims_earlier) * model.scale
    current_wait = _ratio(t.services[..., 1].sum(axis=-2), t.services[..., 0].sum(axis=-2))
    for s, name in enumerate(SERVICES):
        out[f"current_wait_{name}"] = current_wait[:, s]
    misc = t.misc.sum(axis=-2)
    for name, (num, den) in EMPLOYMENT_RATES.items():
        out[name] = _ratio(misc[:, num], misc[:, den])
    dims = _column_sums(t.dims)
    out["integration_index"] = _ratio(dims[:, N_DIM], n)
    for d, name in enumerate(DIMENSIONS):
        out[name] = _ratio(dims[:, d], n)
    for q, values in zip(QUANTILES, t.index_quantiles()[..., -1], strict=True):
        out[f"index_p{int(q * 100)}"] = values
    for s, name in enumerate(STATUSES):
        out[f"index_{name}"] = _ratio(t.status_index[:, s], t.status_count[:, s])
    out["retention"] = _ratio(misc[:, 2], misc[:, 1])
    out["reached_stable_share"] = _ratio(misc[:, 3], misc[:, 1])
    out["mean_weeks_to_stable"] = _ratio(misc[:, 4], misc[:, 3])
    out["stable_within_a_year_share"] = _ratio(misc[:, 13], misc[:, 12])
    out["spend_total"] = sum(out[f"spend_{f}"] for f in FUNDERS)
    out["cumulative_spend"] = np.array(list(accumulate(out["spend_total"].tolist(),
                                                       initial=spent))[1:])  # week by week
    points = np.where(n > 0, out["integration_index"] * out["newcomers"], 0.0)
    out["cost_per_integration_point"] = np.divide(
        out["cumulative_spend"], points, out=np.full(len(n), np.nan), where=points != 0)
    weights = w.agent("population")
    out["sentiment"] = (w.agent("sentiment") * weights).sum(axis=-1) / weights.sum(axis=-1)
    return out


@functools.cache
def _summed_columns(columns: tuple[str, ...]) -> list[str]:
    """The municipal columns whose system total is their sum, in column order."""
    return [name for name in columns if name in SUMMED or name.startswith(
        ("status_", "housing_", "waiting_", "in_service_", "started_", "hours_", "spend_",
         "emergency_", "received_", "requests_"))]


def _column_sums(a: np.ndarray) -> np.ndarray:
    """``a[..., :, j].sum()`` for every j in one call: summing each column as a contiguous
    row keeps NumPy's pairwise order (a sum along a non-contiguous axis adds row by row:
    other last bits)."""
    return np.ascontiguousarray(np.swapaxes(a, -1, -2)).sum(axis=-1)


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
    muni = pd.DataFrame(model.week_log.columns())
    total = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    total.insert(1, "date", [model.date_of(int(w)) for w in total["week"]])
    total["week"] = total["week"].astype(np.int64)
    return muni, total
