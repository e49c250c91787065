"""Earlier newcomers: the recent immigrants already living in each city at week 0.

Without them every city starts with nobody who came before, so networks start empty and
early employment rates are those of people who have just landed (issue on ages and
earlier newcomers). Each city gets ``municipalities.earlier_newcomers`` persons, arrived
evenly over the ``[earlier_newcomers].years`` before week 0 with the stated statuses and
housing; their ages, skills and language on arrival are those of their stream. Their
language, jobs and integration dimensions then go through a warm-up: the model's own
integration step, week by week from the first of them to week -1, each person taking
part from the week they arrived (rows are in arrival order, so those here by week ``w``
are a prefix of the rows). Housing is held as drawn during the warm-up, and the services
they asked for count as finished.
"""

from __future__ import annotations

import numpy as np

from sim import francophone, kernels
from sim.arrivals import ARRIVAL_HOUSING, add_people, destination_weights, stream_table
from sim.codes import N_SERVICE, STATUSES, SVC_DONE, SVC_NONE, SVC_WAITING, WEEKS_PER_YEAR
from sim.mesa_import import mesa
from sim.params import Scenario
from sim.params_people import STOCK_HOUSING, STOCK_STATUSES

PROC_WARMUP = 7  # random stream of the warm-up (kernels.PROC_* are 1-6)
_RNG_SALT = 0xEA71E5  # the generator of the draws below: its own, from the run's seed
_FR_SALT = 0xEA71F4  # who of them is francophone: a generator of its own (others unchanged)
# The stream whose arrival traits (age, skill, language, household) each status takes.
_TRAITS_OF = {"economic_pr": "economic_pr", "family_pr": "family_pr",
              "resettled_refugee": "resettled_refugee", "protected_person": "asylum_claimant"}


def seed_earlier_newcomers(model: mesa.Model) -> int:
    """Append every city's earlier newcomers and warm them up; return the earliest week.

    Returns 0 when the scenario has none (no warm-up, nothing appended).
    """
    sc = model.scenario
    counts = np.array([round(m.earlier_newcomers / model.scale) for m in sc.municipalities])
    if counts.sum() == 0:
        return 0
    span = max(1, round(sc.earlier_newcomers.years * WEEKS_PER_YEAR))
    rng = np.random.default_rng([sc.run.seed, _RNG_SALT])
    munis = np.repeat(np.arange(len(counts)), counts)
    weeks = -1 - np.floor(rng.uniform(0, span, len(munis))).astype(np.int64)
    order = np.argsort(weeks, kind="stable")  # earliest first: row order is arrival order
    munis, weeks = munis[order], weeks[order]
    shares = sc.earlier_newcomers.status_shares
    statuses = rng.choice(len(STOCK_STATUSES), len(munis),
                          p=[shares.get(s, 0.0) for s in STOCK_STATUSES])
    start = model.migrants.n
    outreach = np.zeros(len(counts), bool)
    fr_rng = np.random.default_rng([sc.run.seed, _FR_SALT])
    for j, status in enumerate(STOCK_STATUSES):  # one call per status, rows then re-sorted
        mine = statuses == j
        if mine.any():
            add_people(model.migrants, sc, _TRAITS_OF[status], 0, rng, munis[mine], outreach,
                       francophones=_francophones(sc, _TRAITS_OF[status], munis[mine], fr_rng))
    rows = slice(start, model.migrants.n)
    cols = model.migrants.columns
    # add_people appended status by status: restore arrival order across them.
    by_status = np.concatenate([np.flatnonzero(statuses == j)
                                for j in range(len(STOCK_STATUSES))])
    perm = np.empty(len(by_status), np.int64)
    perm[by_status] = np.arange(len(by_status))
    for col in cols.values():
        col[rows] = col[rows][perm]
    cols["status"][rows] = np.array([STATUSES.index(s) for s in STOCK_STATUSES],
                                    np.int8)[statuses]
    cols["status_due"][rows] = -1
    cols["arrival_week"][rows] = weeks
    h = sc.earlier_newcomers.housing_shares
    codes = np.array([ARRIVAL_HOUSING[k] for k in STOCK_HOUSING], np.int8)
    cols["housing"][rows] = codes[rng.choice(len(codes), len(munis),
                                             p=[h.get(k, 0.0) for k in STOCK_HOUSING])]
    cols["stable_week"][rows] = -1  # not known: they reached it before the run
    svc = cols["svc_state"][rows]
    cols["svc_state"][rows] = np.where(svc == SVC_WAITING, SVC_DONE, svc)
    # Services they never asked for hold the status they decided in (step_services asks
    # again only after a change of status); finished ones, the week they arrived.
    cols["svc_week"][rows] = np.where(svc == SVC_NONE, cols["status"][rows][:, None],
                                      weeks[:, None])
    first = int(weeks[0])
    _warm_up(model, start, weeks, first)
    return first


def _francophones(sc: Scenario, stream: str, munis: np.ndarray,
                  gen: np.random.Generator) -> np.ndarray | None:
    """Who of them is francophone: each with the share of the stream's arrivals into the
    city who are (``sim.francophone.mixed_weights``, without the pull of networks)."""
    _, p_fr = francophone.mixed_weights(sc, stream, destination_weights(
        sc, stream_table(sc, stream).pull, np.zeros(len(sc.municipalities))))
    return gen.random(len(munis)) < p_fr[munis] if p_fr.any() else None


def _warm_up(model: mesa.Model, start: int, weeks: np.ndarray, first: int) -> None:
    """Weeks ``first`` to -1 of the integration step over those who had arrived by then: their
    language, jobs and dimensions, the dimensions' targets recomputed every week."""
    a = model.migrants.columns
    present = np.bincount(a["muni"][start:model.migrants.n], minlength=len(model.municipalities))
    features = model.settled_features(present * model.scale)
    quality = np.full((len(model.municipalities), N_SERVICE), 0.5)  # as before any service
    jobs = np.zeros((len(model.municipalities), 2), np.int64)
    adjust = model.integration_params.adjust
    tables = kernels.target_tables(model.integration_params, features, quality)
    for week in range(first, 0):
        here = start + int(np.searchsorted(weeks, week, side="right"))
        r = slice(start, here)
        kernels.step_integration(
            a["status"][r], a["housing"][r], a["muni"][r], a["employment"][r], a["skill"][r],
            a["language"][r], a["age"][r], a["svc_state"][r],
            kernels.stream_key(model.seed, week - first, PROC_WARMUP), model.integration_params,
            features, quality, model.by_age, jobs)
        kernels.weekly_dims(a["status"][r], a["housing"][r], a["muni"][r], a["employment"][r],
                            a["svc_state"][r], a["skill"][r], a["arrival_week"][r],
                            a["dims"][r], week, adjust, tables)
