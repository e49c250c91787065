"""Process 1, arrivals: new migrants by stream into municipalities by destination choice."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim import francophone
from sim.codes import (
    AGES,
    ASYLUM,
    CHILD,
    EMPLOYMENT_SVC,
    FRIENDS,
    HOUSING_HELP,
    LANGUAGE,
    N_SERVICE,
    NO_JOB,
    PRECARIOUS,
    SENIOR,
    STABLE,
    STATUSES,
    STREAMS,
    STUDENT,
    SURVIVAL_JOB,
    SVC_WAITING,
    TEMP_WORKER,
    UNSHELTERED,
)
from sim.params import Scenario, Stream
from sim.provinces import stream_pull
from sim.state import MigrantArrays

# Which services a person of each age band may ask for (bool[age, service]): children go to
# school, not to language or employment classes; seniors do not look for work (their
# household's earner does: sim.codes). Used on arrival and when requests are made again.
MAY_ASK = np.ones((len(AGES), N_SERVICE), np.bool_)
MAY_ASK[CHILD, LANGUAGE] = MAY_ASK[CHILD, EMPLOYMENT_SVC] = MAY_ASK[SENIOR, EMPLOYMENT_SVC] = False

ARRIVAL_HOUSING = {
    "needs_shelter": UNSHELTERED,
    "friends_family": FRIENDS,
    "precarious_rental": PRECARIOUS,
    "stable_housing": STABLE,
}
# Starting values of the five integration dimensions (assumption): little economic
# footing or civic voice yet, some safety.
INITIAL_DIMS = np.array([0.1, 0.2, 0.2, 0.1, 0.5], np.float32)
BETA_CONCENTRATION = 4.0  # assumption: skill and language spread, a + b of the Beta


def shock_multiplier(scenario: Scenario, stream: str, week: int) -> float:
    """Product of the multipliers of every shock on ``stream`` active in ``week``."""
    mult = 1.0
    for shock in scenario.shocks:
        if shock.stream == stream and shock.start_week <= week < shock.end_week:
            mult *= shock.multiplier
    return mult


class StreamTable(NamedTuple):
    """What a stream's arrivals need that only the parameters decide: worked out once
    (``ReceptionModel.fixed``, which a timeline change empties), not every week."""

    pull: np.ndarray  # float[m]: each city's pull for the stream, times its province's
    housing_codes: np.ndarray  # int8[options] of ``housing_on_arrival``, in its order
    housing_cdf: np.ndarray  # float[options]
    age_cdf: np.ndarray  # float[AGES]
    takeup: np.ndarray  # float[S]: chance of asking for each service on arrival


def stream_table(scenario: Scenario, stream: str) -> StreamTable:
    spec = scenario.streams.get(stream) or Stream()
    options = tuple(spec.housing_on_arrival)
    return StreamTable(
        np.array([m.stream_weights.get(stream, m.destination_weight)
                  for m in scenario.municipalities]) * stream_pull(scenario, stream),
        np.array([ARRIVAL_HOUSING[o] for o in options], np.int8),
        _cdf(spec.housing_on_arrival, options), _cdf(spec.age_shares, AGES),
        np.array([service.takeup for service in scenario.services.by_code()]))


def destination_weights(scenario: Scenario, pull: np.ndarray,
                        newcomer_share: np.ndarray) -> np.ndarray:
    """Destination choice: each city's pull for a stream (times its province's, e.g. a
    nominee programme: ``StreamTable.pull``), raised by earlier arrivals."""
    w = pull * (1.0 + scenario.network_weight * newcomer_share)
    total = w.sum()
    return w / total if total > 0 else w


def stream_rng(seed: int, week: int, stream: str) -> np.random.Generator:
    """The random generator of one stream's arrivals in one week of a run.

    Each (seed, week, stream) has its own stream of draws, so changing one stream's size
    (in a calibration or a sweep) leaves every other week and stream as it was: common
    random numbers for arrival parameters.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, week, STREAMS.index(stream)]))


def arrive(state: MigrantArrays, scenario: Scenario, week: int, newcomer_share: np.ndarray,
           outreach: np.ndarray, people: dict[str, float],
           tables: dict[str, StreamTable] | None = None) -> np.ndarray:
    """Append this week's arrivals to ``state``; return arrivals per municipality (agents).

    Args:
        newcomer_share: float[m], newcomers present / population (network pull).
        outreach: bool[m], multilingual outreach raises service take-up.
        people: expected persons arriving this week per stream, before shocks.
        tables: ``StreamTable`` by stream, filled as streams first arrive (none: each week
            works them out again).
    """
    tables = {} if tables is None else tables
    n_muni = len(scenario.municipalities)
    per_muni = np.zeros(n_muni, np.int64)
    for stream in STREAMS:
        if people.get(stream, 0.0) <= 0:
            continue
        mean = people[stream] / scenario.run.scale * shock_multiplier(scenario, stream, week)
        if mean <= 0:  # a shock stopped the stream: no one to draw
            continue
        rng = stream_rng(scenario.run.seed, week, stream)
        if stream not in tables:
            tables[stream] = stream_table(scenario, stream)
        table = tables[stream]
        weights, p_fr = francophone.mixed_weights(
            scenario, stream, destination_weights(scenario, table.pull, newcomer_share))
        counts = rng.poisson(mean * weights)
        munis = np.repeat(np.arange(n_muni), counts)
        if len(munis):
            fr = (francophone.flags(francophone.rng(scenario.run.seed, week, stream), counts,
                                    p_fr) if p_fr.any() else None)
            add_people(state, scenario, stream, week, rng, munis, outreach, francophones=fr,
                       table=table)
            per_muni += counts
    return per_muni


def add_people(state: MigrantArrays, scenario: Scenario, stream: str, week: int,
               rng: np.random.Generator, munis: np.ndarray, outreach: np.ndarray,
               housing: int | None = None, francophones: np.ndarray | None = None,
               table: StreamTable | None = None) -> slice:
    """Append one row per entry of ``munis`` (arrivals, or an initial stock in ``housing``).

    ``francophones``: bool[k] who is francophone (none: nobody); their language level on
    arrival follows ``sim.francophone.language_factor``. ``table``: the stream's
    ``StreamTable`` (none: worked out here).
    """
    k = len(munis)
    spec = scenario.streams.get(stream) or Stream()
    table = stream_table(scenario, stream) if table is None else table
    rows = state.append(k)
    code = STATUSES.index(stream)
    cols = state.columns
    cols["status"][rows] = code
    cols["household"][rows] = np.minimum(12, 1 + rng.poisson(spec.household_size - 1.0, k))
    cols["skill"][rows] = _beta(rng, spec.skill, k)
    cols["language"][rows] = _beta(rng, spec.language, k)
    cols["francophone"][rows] = False if francophones is None else francophones
    if francophones is not None and francophones.any():
        lang = cols["language"][rows]
        cols["language"][rows] = np.where(
            francophones, lang * francophone.language_factor(scenario, munis), lang)
    cols["arrival_week"][rows] = week
    cols["origin"][rows] = munis
    cols["muni"][rows] = munis
    if housing is None:
        h = table.housing_codes[_draw(rng, table.housing_cdf, k)]
    else:
        h = np.full(k, housing, np.int8)
    cols["housing"][rows] = h
    cols["stable_week"][rows] = np.where(h == STABLE, week, -1)
    cols["shelter_week"][rows] = -1
    cols["employment"][rows] = SURVIVAL_JOB if code == TEMP_WORKER else NO_JOB
    cols["status_due"][rows] = _status_due(scenario, code, week, rng, k)
    outreach_factor = 1.0 + scenario.services.outreach_takeup_boost * outreach[munis]
    # one draw per service and person, service by service (as a loop over services would)
    wants = rng.random((N_SERVICE, k)) < np.minimum(1.0, table.takeup[:, None]
                                                    * outreach_factor)
    wants[HOUSING_HELP] &= h != STABLE
    svc = np.where(wants.T, SVC_WAITING, 0).astype(np.int8)
    age = _draw(rng, table.age_cdf, k)
    cols["age"][rows] = age
    svc *= MAY_ASK[age]
    cols["svc_state"][rows] = svc
    # waiting: the week joined; none: the status the person decided in (a new one may ask)
    cols["svc_week"][rows] = np.where(svc == SVC_WAITING, week, code)
    cols["dims"][rows] = INITIAL_DIMS
    return rows


def _cdf(shares: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """The cumulative shares of ``names`` (1 at the end), for ``_draw``."""
    p = np.array([shares.get(n, 0.0) for n in names])
    cdf = np.cumsum(p / p.sum())
    cdf /= cdf[-1]
    return cdf


def _draw(rng: np.random.Generator, cdf: np.ndarray, k: int) -> np.ndarray:
    """``k`` codes (indices into the names of ``cdf``), an inverse-CDF draw."""
    return cdf.searchsorted(rng.random(k), side="right").astype(np.int8)


def _beta(rng: np.random.Generator, mean: float, k: int) -> np.ndarray:
    return rng.beta(BETA_CONCENTRATION * mean, BETA_CONCENTRATION * (1.0 - mean), k)


def _status_due(scenario: Scenario, code: int, week: int, rng: np.random.Generator,
                k: int) -> np.ndarray:
    """Week of the first status event: an asylum decision or a permit expiry."""
    st = scenario.status
    means = {ASYLUM: st.asylum_decision_weeks, TEMP_WORKER: st.permit_weeks_worker,
             STUDENT: st.permit_weeks_student}
    if code not in means:
        return np.full(k, -1, np.int16)
    due = week + 1 + np.floor(rng.exponential(means[code], k))
    return np.minimum(due, 32000).astype(np.int16)

