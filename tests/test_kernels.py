"""Unit tests of the numba kernels on small hand-made arrays with hand-computed results.

Random outcomes are made certain with probabilities of exactly 0 or 1: a draw ``u`` is
always in [0, 1), so ``u < 1`` always holds and ``u < 0`` never does.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from naive import step_services as naive_step_services

from sim import kernels, threads
from sim.arrival_ledger import ArrivalLedger
from sim.arrivals import MAY_ASK
from sim.codes import (
    ASYLUM,
    CHARITY,
    CHILD,
    CORE,
    DEPARTED,
    ECONOMIC_PR,
    ELIG_NO_FUNDER,
    ELIG_NO_HOURS,
    ELIG_WITH_HOURS,
    ELIGIBILITY,
    EMPLOYMENT_SVC,
    FAMILY_PR,
    FEDERAL,
    FRIENDS,
    HOUSING_HELP,
    INTERIM,
    LANGUAGE,
    MATCHED_JOB,
    MUNICIPAL,
    N_AGE,
    N_DIM,
    N_FUNDER,
    N_HOUSING,
    N_SERVICE,
    N_STATUS,
    NO_JOB,
    NON_STATUS,
    OLDER,
    ORIENTATION,
    PERMANENT_STATUSES,
    PRECARIOUS,
    PROTECTED,
    PROVINCIAL,
    SENIOR,
    SHELTER,
    STABLE,
    STATUSES,
    STUDENT,
    SURVIVAL_JOB,
    SVC_DONE,
    SVC_IN_SERVICE,
    SVC_NONE,
    SVC_WAITING,
    TEMP_WORKER,
    UNSHELTERED,
    YOUTH,
)
from sim.dim_sums import DimensionSums
from sim.kernels import (
    MF_AWF,
    MF_AWF_POLICE,
    MF_LABOUR,
    MF_NETWORK,
    MF_SENTIMENT,
    MF_SHELTER_QUALITY,
    MF_WELCOMING,
    N_MF,
    PROC_HOUSING,
    PROC_INTEGRATION,
    PROC_MOVES,
    PROC_RECEPTION,
    PROC_SERVICES,
    PROC_STATUS,
    ClaimAcceptance,
    HousingParams,
    IntegrationParams,
    LossParams,
    RequestParams,
    StatusParams,
)

SEED = 12345

# --------------------------------------------------------------------------- builders


def people(n: int, **columns) -> SimpleNamespace:
    """``n`` migrant rows with the kernels' dtypes. Each column: a scalar or one value a row.

    Defaults: an economic PR aged 25-54 in a shelter in municipality 0, no job, mid skill
    and language, one-person household, arrived week 0, never stably housed, no status event,
    no services, all dimensions 0. ``origin`` defaults to ``muni``.
    """
    spec = {
        "status": (np.int8, ECONOMIC_PR),
        "housing": (np.int8, SHELTER),
        "muni": (np.int16, 0),
        "employment": (np.int8, NO_JOB),
        "skill": (np.float32, 0.5),
        "language": (np.float32, 0.5),
        "household": (np.int8, 1),
        "age": (np.int8, CORE),
        "arrival_week": (np.int16, 0),
        "stable_week": (np.int16, -1),
        "shelter_week": (np.int16, -1),
        "status_due": (np.int16, -1),
    }
    cols = {}
    for name, (dtype, default) in spec.items():
        cols[name] = np.empty(n, dtype)
        cols[name][:] = columns.pop(name, default)
    cols["origin"] = np.empty(n, np.int16)
    cols["origin"][:] = columns.pop("origin", cols["muni"])
    for name, dtype, width in (("svc_state", np.int8, N_SERVICE),
                               ("svc_week", np.int16, N_SERVICE),
                               ("dims", np.float32, N_DIM),
                               ("dim_target", np.float32, N_DIM)):
        cols[name] = np.zeros((n, width), dtype)
        cols[name][:] = columns.pop(name, 0)
    cols["dim_since"] = np.zeros(n, np.int16)
    cols["dim_key"] = np.zeros(n, np.uint32)  # not settled yet: dims are the values now
    cols["tally_flags"] = np.zeros(n, np.uint8)  # not counted yet (by the key: KEY_FRESH)
    assert not columns, f"unknown columns {sorted(columns)}"
    return SimpleNamespace(**cols)


def snapshot(pop: SimpleNamespace) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in vars(pop).items()}


def assert_rows_unchanged(pop, before, rows):
    for name, old in before.items():
        np.testing.assert_array_equal(getattr(pop, name)[rows], old[rows], err_msg=name)


def key(process: int, week: int = 0, seed: int = SEED) -> np.uint64:
    """A stream key as the model passes it (sim/model.py wraps stream_key in np.uint64)."""
    return np.uint64(kernels.stream_key(seed, week, process))


def status_params(asylum_acceptance=0.0, **kw) -> tuple[StatusParams, ClaimAcceptance]:
    """Status parameters and one acceptance for claims of every week (weeks -1 to 200)."""
    base = dict(rejected_departure=0.0, permit_to_pr=0.0,
                permit_renewal=0.0, permit_departure=0.0, permit_weeks_worker=52.0,
                permit_weeks_student=104.0, regularize_per_week=0.0, emigrate_per_week=0.0,
                regularized_permit_weeks=156.0)
    return StatusParams(**(base | kw)), ClaimAcceptance(np.full(202, asylum_acceptance), -1, 0)


def loss_params(**kw) -> LossParams:
    return LossParams(**(dict(friends_breakdown=0.0, precarious_loss=0.0,
                              lost_to_friends=0.0) | kw))


def housing_params(**kw) -> HousingParams:
    base = dict(affordable_rent_share=0.3, housing_help_boost=0.0, stable_loss=0.0,
                income_survival=2500.0, income_matched=5000.0,
                second_earner=0.5)
    return HousingParams(**(base | kw))


def integration_params(**kw) -> IntegrationParams:
    base = dict(language_gain=0.0, language_gain_in_class=0.0, job_find=0.0, match=0.0,
                service_boost=0.0, job_loss=0.0, no_permit_factor=1.0, adjust=0.0,
                quality_weight=0.0, security_permanent=1.0, security_temporary=0.7,
                security_non_status=0.5, security_non_status_awf=0.65,
                security_non_status_awf_police=0.85, access_with_status=0.4,
                access_non_status=0.1, access_non_status_awf=0.3)
    return IntegrationParams(**(base | kw))


def run_status(pop, week, p, claims_quota=-1):
    """``p``: a ``status_params()`` pair."""
    events = np.zeros(6, np.int64)
    kernels.step_status(pop.status, pop.housing, pop.status_due, pop.arrival_week, week,
                        key(PROC_STATUS, week), p[0], claims_quota, p[1], events)
    return events


def run_reception(pop, beds, interim=None, overflow=None, capped=None, p=None, week=3):
    n_muni = len(beds)
    beds = np.asarray(beds, np.int64)
    interim = np.zeros(n_muni, np.int64) if interim is None else np.asarray(interim, np.int64)
    overflow = np.zeros(n_muni, np.int64) if overflow is None else np.asarray(overflow, np.int64)
    capped = np.zeros(n_muni, np.bool_) if capped is None else np.asarray(capped, np.bool_)
    occupancy = np.full((n_muni, 3), -99, np.int64)  # written, not added to
    kernels.step_reception(pop.housing, pop.muni, pop.shelter_week, week,
                           key(PROC_RECEPTION, week), p or loss_params(), beds, interim, overflow,
                           capped, occupancy)
    return occupancy


def first_stable(pop, n_muni: int, weeks: int = 200) -> kernels.FirstStable:
    """Empty first-move records (``sim.arrival_ledger``) for arrival weeks 0 .. weeks - 1."""
    return kernels.FirstStable(pop.origin, pop.arrival_week, np.zeros(n_muni, np.int64),
                               np.zeros((n_muni, weeks), np.int64), np.zeros(n_muni, np.int64))


def run_housing(pop, week, p, search_p, rent, lettings, income_none=1000.0, first=None):
    """``income_none``: CAD/month without a job, one number or a [city, status] table.
    ``first``: where first moves into stable housing are recorded (default: discarded)."""
    n_muni = len(search_p)
    moves = np.zeros((n_muni, 2), np.int64)
    income = np.broadcast_to(np.asarray(income_none, np.float64), (n_muni, N_STATUS)).copy()
    kernels.step_housing(pop.housing, pop.muni, pop.status, pop.employment, pop.skill,
                         pop.household, pop.svc_state, pop.stable_week, week,
                         key(PROC_HOUSING, week), p, income, np.asarray(search_p, np.float64),
                         np.asarray(rent, np.float64), lettings,
                         first or first_stable(pop, n_muni), moves)
    return moves


def features_table(n_muni=1, labour=1.0, network=0.0, sentiment=1.0, awf=0.0, welcoming=0.0,
                   police=0.0):
    f = np.zeros((n_muni, N_MF))
    f[:, MF_AWF_POLICE] = police
    f[:, MF_LABOUR] = labour
    f[:, MF_NETWORK] = network
    f[:, MF_SENTIMENT] = sentiment
    f[:, MF_AWF] = awf
    f[:, MF_WELCOMING] = welcoming
    f[:, MF_SHELTER_QUALITY] = 1.0  # regular beds only
    return f


def run_integration(pop, week, p, features, quality=None, by_age=None):
    """One week of language and jobs; ``by_age`` defaults to factors of 1 for every age band."""
    n_muni = features.shape[0]
    quality = np.full((n_muni, N_SERVICE), 0.5) if quality is None else quality
    by_age = np.ones((2, N_AGE)) if by_age is None else by_age
    jobs = np.zeros((n_muni, 2), np.int64)
    kernels.step_integration(pop.status, pop.housing, pop.muni, pop.employment, pop.skill,
                             pop.language, pop.age, pop.svc_state, key(PROC_INTEGRATION, week),
                             p, features, quality, by_age, jobs)
    return jobs


def week_dims(pop, week, p, features, quality=None):
    """One week of the integration dimensions of rows not yet settled: every row settled in
    ``week`` (one slice), its dimensions at the end of the week returned."""
    n_muni = features.shape[0]
    quality = np.full((n_muni, N_SERVICE), 0.5) if quality is None else quality
    sums = DimensionSums(1, n_muni, p.adjust, np.full(N_DIM, 0.2))
    tables = kernels.target_tables(p, features, quality)
    settle = sums.settle(week, p.adjust, np.full(N_DIM, 0.2), tables, len(pop.status))
    columns = kernels.DimColumns(pop.dims, pop.dim_target, pop.dim_since, pop.dim_key, pop.skill,
                                 pop.arrival_week)
    rows = np.arange(len(pop.status), dtype=np.uint32)
    kernels.settle_rows(rows, pop.status, pop.housing, pop.muni, pop.employment, pop.svc_state,
                        kernels.row_words(pop.svc_state), columns, settle, sums.changes())
    return sums.now(columns, rows, week)


def run_moves(pop, move_p, cdf, unsettled_factor=1.0, week=5):
    cdf = np.asarray(cdf, np.float64)
    out = np.zeros(cdf.shape, np.int64)
    kernels.step_moves(pop.housing, pop.muni, pop.employment, key(PROC_MOVES, week),
                       np.asarray(move_p, np.float64), unsettled_factor, cdf, out)
    return out


def default_eligibility() -> np.ndarray:
    """The default funder rules of sim/params.py as the kernels' bool[F, status] table."""
    names = {
        FEDERAL: ["economic_pr", "family_pr", "resettled_refugee", "protected_person"],
        PROVINCIAL: ["economic_pr", "family_pr", "resettled_refugee", "protected_person",
                     "temporary_worker", "student"],
        MUNICIPAL: ["economic_pr", "family_pr", "resettled_refugee", "protected_person",
                    "temporary_worker", "student", "asylum_claimant"],
        CHARITY: list(STATUSES),
    }
    table = np.zeros((N_FUNDER, N_STATUS), np.bool_)
    for f, statuses in names.items():
        for s in statuses:
            table[f, STATUSES.index(s)] = True
    return table


def run_services(pop, week, hours, hours_per_week, duration, eligible=None, awf=None,
                 lapse=0.0, lapse_unservable=0.0, takeup=0.0, match=None, intake_hours=0.0,
                 stream=None):
    """Run step_services; returns the outputs and leaves ``hours`` consumed in place.

    ``lapse`` (per service) and ``takeup`` (per city and service) may be scalars; by
    default no request lapses and none is made again. ``match`` (float[m], default 1:
    every referral fits) and ``intake_hours`` set the referral matching. ``stream``: the
    random stream key (default: the model's for ``week``).
    """
    n_muni = hours.shape[0]
    eligible = default_eligibility() if eligible is None else np.asarray(eligible)
    if eligible.ndim == 2:  # one table for every city
        eligible = np.repeat(eligible[None], n_muni, axis=0)
    awf = np.zeros(n_muni, np.bool_) if awf is None else np.asarray(awf, np.bool_)
    req = RequestParams(np.broadcast_to(np.asarray(lapse, np.float64), N_SERVICE).copy(),
                        float(lapse_unservable),
                        np.broadcast_to(np.asarray(takeup, np.float64), (n_muni, N_SERVICE)).copy(),
                        MAY_ASK)
    match = np.ones(n_muni) if match is None else np.asarray(match, np.float64)
    stream = key(PROC_SERVICES, week) if stream is None else np.uint64(stream)
    out = SimpleNamespace(used=np.zeros((n_muni, N_SERVICE, N_FUNDER)),
                          started=np.zeros((n_muni, N_SERVICE), np.int64),
                          wait_sum=np.zeros((n_muni, N_SERVICE), np.int64),
                          completed=np.zeros((n_muni, N_SERVICE), np.int64),
                          requests=np.zeros((n_muni, N_SERVICE, 2), np.int64),
                          eligibility=np.full((n_muni, N_SERVICE, N_STATUS), -1, np.int8),
                          misreferred=np.zeros((n_muni, N_SERVICE)))
    kernels.step_services(pop.svc_state, pop.svc_week, pop.status, pop.age, pop.housing,
                          pop.muni, week, stream, hours, eligible, awf,
                          np.asarray(hours_per_week, np.float64), np.asarray(duration, np.int64),
                          req, match, float(intake_hours), out.used, out.started, out.wait_sum,
                          out.completed, out.requests, out.eligibility, out.misreferred)
    return out


def pool(n_muni=1, **hours_by) -> np.ndarray:
    """float64[m, S, F] hours; keyword ``s{service}_f{funder}`` sets that pool in every city."""
    h = np.zeros((n_muni, N_SERVICE, N_FUNDER))
    for name, value in hours_by.items():
        s, f = name[1:].split("_f")
        h[:, int(s), int(f)] = value
    return h


HPW = [2.0, 1.0, 1.5, 2.0]  # default hours per client-week
DURATION = [2, 40, 12, 6]


# --------------------------------------------------------------------------- RNG


def test_uniforms_are_in_unit_interval():
    u = kernels.uniforms(key(PROC_STATUS), 100_000, 0)
    assert u.dtype == np.float64
    assert u.shape == (100_000,)
    assert u.min() >= 0.0
    assert u.max() < 1.0


def test_uniforms_are_deterministic_for_same_key_and_draw():
    a = kernels.uniforms(key(PROC_HOUSING, week=7), 1000, 2)
    b = kernels.uniforms(np.uint64(kernels.stream_key(SEED, 7, PROC_HOUSING)), 1000, 2)
    np.testing.assert_array_equal(a, b)


def test_uniforms_prefix_is_stable():
    """Draw i does not depend on how many rows are drawn (row-indexed, not sequential)."""
    long = kernels.uniforms(key(PROC_MOVES), 500, 1)
    short = kernels.uniforms(key(PROC_MOVES), 20, 1)
    np.testing.assert_array_equal(long[:20], short)


@pytest.mark.parametrize(("seed", "week", "process", "j"), [
    (SEED + 1, 3, PROC_STATUS, 0),  # another seed
    (SEED, 4, PROC_STATUS, 0),  # another week
    (SEED, 3, PROC_RECEPTION, 0),  # another process
    (SEED, 3, PROC_STATUS, 1),  # another draw number
])
def test_uniforms_differ_across_streams_and_draws(seed, week, process, j):
    n = 1000
    base = kernels.uniforms(key(PROC_STATUS, week=3), n, 0)
    other = kernels.uniforms(key(process, week=week, seed=seed), n, j)
    # Independent continuous draws coincide with probability ~0; demand no coincidences.
    assert np.sum(base == other) == 0
    # And they are not simply a shifted copy of each other.
    assert len(np.intersect1d(base, other)) == 0


def test_uniforms_mean_and_variance():
    n = 100_000
    u = kernels.uniforms(key(PROC_INTEGRATION, week=11), n, 0)
    # Standard error of the mean: sqrt(1/12 / n) = 9.1e-4. Of the sample variance:
    # sqrt((mu4 - sigma^4) / n) with mu4 = 1/80, sigma^4 = 1/144: 2.4e-4. Allow 5 SE.
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt((1 / 80 - 1 / 144) / n)


def test_uniforms_fill_deciles_evenly():
    n = 100_000
    counts = np.bincount((kernels.uniforms(key(PROC_STATUS, week=2), n, 3) * 10).astype(int),
                         minlength=10)
    assert counts.shape == (10,)
    # Each decile count ~ Binomial(n, 0.1): SE = sqrt(n * 0.1 * 0.9) = 95. Allow 5 SE.
    assert np.all(np.abs(counts - n / 10) < 5 * np.sqrt(n * 0.1 * 0.9))


def test_draws_of_one_row_are_uncorrelated_across_draw_numbers():
    n = 100_000
    k = key(PROC_HOUSING, week=9)
    r = np.corrcoef(kernels.uniforms(k, n, 0), kernels.uniforms(k, n, 1))[0, 1]
    assert abs(r) < 5 / np.sqrt(n)  # SE of a null correlation ~ 1/sqrt(n)


def test_uniforms_accept_stream_key_result_as_returned():
    """``stream_key``'s result can be passed straight to the kernels.

    It must come back as np.uint64: a plain Python int is typed int64 by numba, which
    overflows for keys of 2**63 and above and gives a different, non-uniform stream
    (draws in [0, 0.5)) below that.
    """
    n = 10_000
    for process in (PROC_STATUS, PROC_HOUSING):  # keys below and above 2**63 for SEED, week 0
        raw = kernels.stream_key(SEED, 0, process)
        assert isinstance(raw, np.uint64)
        wrapped = kernels.uniforms(np.uint64(int(raw)), n, 0)
        np.testing.assert_array_equal(kernels.uniforms(raw, n, 0), wrapped,
                                      err_msg=f"key {raw}")
    assert int(kernels.stream_key(SEED, 0, PROC_HOUSING)) >= 2**63  # both cases covered


def test_stream_key_is_deterministic():
    assert kernels.stream_key(7, 30, PROC_MOVES) == kernels.stream_key(7, 30, PROC_MOVES)


@pytest.mark.parametrize("changed", ["seed", "week", "process"])
def test_stream_key_differs_in_each_argument(changed):
    args = {"seed": 7, "week": 30, "process": PROC_MOVES}
    other = args | {changed: args[changed] + 1}
    assert kernels.stream_key(**args) != kernels.stream_key(**other)


def test_stream_keys_do_not_collide_over_a_run_grid():
    keys = {int(kernels.stream_key(seed, week, proc))
            for seed in range(5) for week in range(520) for proc in range(1, 6)}
    assert len(keys) == 5 * 520 * 5


def test_a_weeks_stream_keys_are_each_process_stream_key():
    keys = kernels.stream_keys(7, 30, 9)
    assert [int(k) for k in keys] == [int(kernels.stream_key(7, 30, p)) for p in range(9)]
    assert type(keys[PROC_MOVES]) is np.uint64  # not an int64 that overflows


# --------------------------------------------------------------------------- step_status


def test_asylum_acceptance_one_protects_due_claimants():
    pop = people(3, status=ASYLUM, housing=SHELTER, status_due=[5, 10, 3])
    events = run_status(pop, week=10, p=status_params(asylum_acceptance=1.0))
    assert pop.status.tolist() == [PROTECTED] * 3
    assert pop.status_due.tolist() == [-1] * 3
    assert pop.housing.tolist() == [SHELTER] * 3
    assert events.tolist() == [3, 0, 0, 0, 0, 0]


def test_rejected_claimants_depart_when_departure_is_certain():
    pop = people(2, status=ASYLUM, status_due=4)
    events = run_status(pop, week=4, p=status_params(asylum_acceptance=0.0,
                                                     rejected_departure=1.0))
    assert pop.housing.tolist() == [DEPARTED] * 2
    assert pop.status.tolist() == [ASYLUM] * 2
    assert pop.status_due.tolist() == [-1] * 2
    assert events.tolist() == [0, 2, 0, 0, 2, 0]  # rejected, and departed


def test_rejected_claimants_who_stay_become_non_status():
    pop = people(2, status=ASYLUM, status_due=4, housing=[SHELTER, FRIENDS])
    events = run_status(pop, week=4, p=status_params(asylum_acceptance=0.0,
                                                     rejected_departure=0.0))
    assert pop.status.tolist() == [NON_STATUS] * 2
    assert pop.housing.tolist() == [SHELTER, FRIENDS]
    assert pop.status_due.tolist() == [-1] * 2
    assert events.tolist() == [0, 2, 0, 2, 0, 0]


def test_permit_to_pr_one_makes_workers_and_students_permanent():
    pop = people(2, status=[TEMP_WORKER, STUDENT], status_due=8, housing=PRECARIOUS)
    events = run_status(pop, week=8, p=status_params(permit_to_pr=1.0, permit_renewal=1.0))
    assert pop.status.tolist() == [ECONOMIC_PR] * 2
    assert pop.status_due.tolist() == [-1] * 2
    assert events.tolist() == [0, 0, 2, 0, 0, 0]


def test_permit_renewal_sets_a_future_due_week():
    week = 8
    pop = people(50, status=[TEMP_WORKER, STUDENT] * 25, status_due=week)
    events = run_status(pop, week=week, p=status_params(permit_renewal=1.0))
    assert pop.status.tolist() == [TEMP_WORKER, STUDENT] * 25
    assert np.all(pop.status_due > week)
    assert np.all(pop.status_due <= 32000)
    assert pop.housing.tolist() == [SHELTER] * 50
    assert events.tolist() == [0, 0, 0, 0, 0, 0]


def test_permit_renewal_length_follows_the_mean_permit_weeks():
    n, week, mean = 4000, 100, 52.0
    pop = people(n, status=TEMP_WORKER, status_due=week)
    run_status(pop, week=week, p=status_params(permit_renewal=1.0, permit_weeks_worker=mean))
    length = pop.status_due.astype(float) - week
    # length = 1 + floor(Exp(mean)); E = 1 + 1 / (exp(1/mean) - 1) = 52.5; SE = mean/sqrt(n).
    expected = 1 + 1 / np.expm1(1 / mean)
    assert abs(length.mean() - expected) < 5 * mean / np.sqrt(n)


def test_permit_departure_one_removes_permit_holders():
    pop = people(2, status=[TEMP_WORKER, STUDENT], status_due=2)
    events = run_status(pop, week=3, p=status_params(permit_departure=1.0))
    assert pop.housing.tolist() == [DEPARTED] * 2
    assert pop.status_due.tolist() == [-1] * 2
    assert events.tolist() == [0, 0, 0, 0, 2, 0]


def test_expired_permit_without_renewal_or_departure_becomes_non_status():
    pop = people(2, status=[TEMP_WORKER, STUDENT], status_due=3, housing=STABLE)
    events = run_status(pop, week=3, p=status_params())
    assert pop.status.tolist() == [NON_STATUS] * 2
    assert pop.housing.tolist() == [STABLE] * 2
    assert pop.status_due.tolist() == [-1] * 2
    assert events.tolist() == [0, 0, 0, 2, 0, 0]


def test_visits_picks_each_row_with_the_chance_in_row_order():
    k = key(PROC_MOVES, 9)
    assert kernels.visits(k, 0.0, 1000).tolist() == []
    assert kernels.visits(k, 1.0, 5).tolist() == [0, 1, 2, 3, 4]
    rows = kernels.visits(k, 0.3, 100_000)
    assert 30_000 - 730 < len(rows) < 30_000 + 730  # Binomial(100,000, 0.3): SD 145
    assert np.all(np.diff(rows) > 0)
    assert rows[0] >= 0
    assert rows[-1] < 100_000
    # Gaps are geometric: a picked row's successor is picked with chance 0.3 (SD 0.0027).
    assert abs(np.mean(np.diff(rows) == 1) - 0.3) < 0.015
    np.testing.assert_array_equal(rows, kernels.visits(k, 0.3, 100_000))  # same key, same rows
    assert not np.array_equal(rows[:100], kernels.visits(key(PROC_MOVES, 10), 0.3, 100_000)[:100])


def test_visits_between_cuts_the_same_chain():
    k = key(PROC_MOVES, 9)
    rows = kernels.visits(k, 0.05, 50_000)
    for lo, hi in ((0, 50_000), (0, 1), (1000, 1024), (12_345, 40_000), (49_990, 50_000),
                   (300, 300)):
        cut = kernels.visits_between(k, 0.05, 50_000, lo, hi)
        np.testing.assert_array_equal(cut, rows[(rows >= lo) & (rows < hi)])
    assert kernels.visits_between(k, 0.0, 100, 0, 100).tolist() == []
    assert kernels.visits_between(k, 1.0, 10, 3, 6).tolist() == [3, 4, 5]


def test_emigration_picks_each_present_person_with_the_weekly_chance():
    """Emigration picks rows by geometric gaps: 2% of 100,000 present people (SD 44),
    none of the 100,000 already departed rows in between, evenly over the rows."""
    n = 100_000
    present = np.arange(2 * n) % 2 == 0
    pop = people(2 * n, housing=np.where(present, STABLE, DEPARTED))
    events = run_status(pop, week=3, p=status_params(emigrate_per_week=0.02))
    left = (pop.housing == DEPARTED) & present
    assert 2_000 - 220 < left.sum() < 2_000 + 220
    assert events[4] == left.sum()
    assert abs(int(left[:n].sum()) - int(left[n:].sum())) < 320


def test_emigration_one_makes_everyone_present_depart():
    statuses = list(range(N_STATUS))
    pop = people(N_STATUS, status=statuses, status_due=0,
                 housing=[UNSHELTERED, SHELTER, INTERIM, FRIENDS, PRECARIOUS, STABLE,
                          SHELTER, SHELTER])
    events = run_status(pop, week=0, p=status_params(emigrate_per_week=1.0,
                                                     asylum_acceptance=1.0))
    assert pop.housing.tolist() == [DEPARTED] * N_STATUS
    assert pop.status.tolist() == statuses  # emigration happens before any status event
    assert events.tolist() == [0, 0, 0, 0, N_STATUS, 0]


def test_status_events_wait_for_their_due_week():
    # Due next week, and no event scheduled at all: untouched even with certain outcomes.
    pop = people(4, status=[ASYLUM, TEMP_WORKER, ASYLUM, STUDENT], status_due=[11, 11, -1, -1])
    before = snapshot(pop)
    events = run_status(pop, week=10, p=status_params(asylum_acceptance=1.0, permit_to_pr=1.0))
    assert_rows_unchanged(pop, before, slice(None))
    assert events.tolist() == [0, 0, 0, 0, 0, 0]


def test_departed_rows_are_untouched_by_status():
    pop = people(3, status=[ASYLUM, TEMP_WORKER, NON_STATUS], status_due=[1, 1, -1],
                 housing=DEPARTED)
    before = snapshot(pop)
    events = run_status(pop, week=5, p=status_params(
        asylum_acceptance=1.0, permit_to_pr=1.0, regularize_per_week=1.0, emigrate_per_week=1.0))
    assert_rows_unchanged(pop, before, slice(None))
    assert events.tolist() == [0, 0, 0, 0, 0, 0]


def test_regularization_gives_a_work_permit_not_permanent_residence():
    pop = people(2000, status=NON_STATUS, status_due=-1)
    events = run_status(pop, week=5, p=status_params(regularize_per_week=1.0,
                                                     regularized_permit_weeks=100.0))
    assert set(pop.status.tolist()) == {TEMP_WORKER}
    assert pop.housing.tolist() == [SHELTER] * 2000
    assert events.tolist() == [0, 0, 0, 0, 0, 2000]  # the last column: regularized
    length = pop.status_due.astype(float) - 6  # due = week + 1 + int(exponential draw)
    assert length.min() >= 0
    assert length.mean() == pytest.approx(99.5, rel=0.06)  # mean 100, floored


def test_a_regularized_permit_ends_by_the_permit_rules():
    pop = people(2, status=NON_STATUS, status_due=-1)
    run_status(pop, week=5, p=status_params(regularize_per_week=1.0))
    due = int(pop.status_due.max())
    events = run_status(pop, week=due, p=status_params(permit_to_pr=1.0))
    assert pop.status.tolist() == [ECONOMIC_PR] * 2  # permanent only when the permit ends
    assert events.tolist() == [0, 0, 2, 0, 0, 0]


def test_permanent_residents_have_no_status_events():
    pop = people(4, status=list(PERMANENT_STATUSES), status_due=2)
    before = snapshot(pop)
    events = run_status(pop, week=5, p=status_params(asylum_acceptance=1.0, permit_to_pr=1.0,
                                                     permit_departure=1.0))
    assert_rows_unchanged(pop, before, slice(None))
    assert events.tolist() == [0, 0, 0, 0, 0, 0]


def test_a_funded_board_decides_its_quota_first_come_first_served():
    # Due weeks are ignored under a quota: the first three pending claims in row (claim)
    # order are decided, whether due or not; departed, decided (-1) and other rows are skipped.
    pop = people(7, status=[ASYLUM, ASYLUM, TEMP_WORKER, ASYLUM, ASYLUM, ASYLUM, ASYLUM],
                 status_due=[50, -1, 50, 3, 90, 2, 1],
                 housing=[SHELTER, SHELTER, SHELTER, DEPARTED, FRIENDS, SHELTER, SHELTER])
    events = run_status(pop, week=10, p=status_params(asylum_acceptance=1.0), claims_quota=3)
    assert pop.status.tolist() == [PROTECTED, ASYLUM, TEMP_WORKER, ASYLUM, PROTECTED,
                                   PROTECTED, ASYLUM]
    assert pop.status_due.tolist() == [-1, -1, 50, 3, -1, -1, 1]
    assert events.tolist() == [3, 0, 0, 0, 0, 0]


def test_a_board_with_no_quota_decides_no_claim_but_permits_still_expire():
    pop = people(3, status=[ASYLUM, ASYLUM, TEMP_WORKER], status_due=[1, 2, 4])
    events = run_status(pop, week=10, p=status_params(asylum_acceptance=1.0, permit_to_pr=1.0),
                        claims_quota=0)
    assert pop.status.tolist() == [ASYLUM, ASYLUM, ECONOMIC_PR]
    assert pop.status_due.tolist() == [1, 2, -1]
    assert events.tolist() == [0, 0, 1, 0, 0, 0]


def test_a_quota_larger_than_the_queue_decides_every_pending_claim():
    pop = people(4, status=ASYLUM, status_due=[30, 40, 50, -1])
    events = run_status(pop, week=1, p=status_params(asylum_acceptance=0.0,
                                                     rejected_departure=0.0), claims_quota=100)
    assert pop.status.tolist() == [NON_STATUS] * 3 + [ASYLUM]
    assert events.tolist() == [0, 3, 0, 3, 0, 0]


def test_each_claim_is_accepted_at_the_rate_of_the_week_it_was_made():
    # Weeks -1..1 accept nobody, weeks 2..3 everybody; the first two rows are the week-0
    # stock, whose claims count in week -1 although they arrived in week 0 or 3.
    p, _ = status_params(rejected_departure=0.0)
    acceptance = ClaimAcceptance(np.array([0.0, 0.0, 0.0, 1.0, 1.0]), -1, 2)
    pop = people(6, status=ASYLUM, status_due=5, arrival_week=[0, 3, 0, 1, 2, 3])
    events = run_status(pop, week=5, p=(p, acceptance))
    assert pop.status.tolist() == [NON_STATUS] * 4 + [PROTECTED] * 2
    assert events.tolist() == [2, 4, 0, 4, 0, 0]
    pop = people(6, status=ASYLUM, status_due=5, arrival_week=[0, 3, 0, 1, 2, 3])
    events = run_status(pop, week=5, p=(p, acceptance._replace(stock_rows=0)))
    assert pop.status.tolist() == [NON_STATUS, PROTECTED, NON_STATUS, NON_STATUS, PROTECTED,
                                   PROTECTED]
    assert events.tolist() == [3, 3, 0, 3, 0, 0]



# --------------------------------------------------------------------------- step_reception


def test_reception_beds_then_interim_first_come_first_served_when_capped():
    pop = people(5, housing=UNSHELTERED)
    occ = run_reception(pop, beds=[2], interim=[1], overflow=[1], capped=[True])
    assert pop.housing.tolist() == [SHELTER, SHELTER, INTERIM, UNSHELTERED, UNSHELTERED]
    assert occ.tolist() == [[2, 1, 2]]


def test_reception_uncapped_city_opens_overflow_after_interim():
    pop = people(5, housing=UNSHELTERED)
    occ = run_reception(pop, beds=[2], interim=[1], overflow=[1], capped=[False])
    assert pop.housing.tolist() == [SHELTER, SHELTER, INTERIM, SHELTER, UNSHELTERED]
    assert occ.tolist() == [[3, 1, 1]]


def test_reception_existing_occupants_count_against_beds():
    # The occupants sit at later rows than the newcomers: they still hold their places.
    pop = people(5, housing=[UNSHELTERED, UNSHELTERED, UNSHELTERED, SHELTER, INTERIM])
    occ = run_reception(pop, beds=[2], interim=[1], capped=[True])
    assert pop.housing.tolist() == [SHELTER, UNSHELTERED, UNSHELTERED, SHELTER, INTERIM]
    assert occ.tolist() == [[2, 1, 2]]


def test_reception_over_capacity_stock_keeps_its_places_and_blocks_newcomers():
    pop = people(4, housing=[SHELTER, SHELTER, SHELTER, UNSHELTERED])
    occ = run_reception(pop, beds=[2], overflow=[1], capped=[False])
    assert pop.housing.tolist() == [SHELTER, SHELTER, SHELTER, UNSHELTERED]
    assert occ.tolist() == [[3, 0, 1]]


def test_reception_records_the_week_of_everyone_in_shelter_or_interim_housing():
    # Rows 0-2 are placed (bed, interim place, none left), row 3 already holds a bed, row 4
    # is in interim housing, row 5 rents: only those sleeping in a place get week 3.
    pop = people(6, housing=[UNSHELTERED, UNSHELTERED, UNSHELTERED, SHELTER, INTERIM,
                             PRECARIOUS])
    pop.shelter_week[:] = [-1, 1, 2, 0, -1, 2]
    run_reception(pop, beds=[2], interim=[2], capped=[True], week=3)
    assert pop.housing.tolist() == [SHELTER, INTERIM, UNSHELTERED, SHELTER, INTERIM, PRECARIOUS]
    assert pop.shelter_week.tolist() == [3, 3, 2, 3, 3, 2]


def test_reception_capacity_is_per_municipality():
    pop = people(4, housing=UNSHELTERED, muni=[0, 0, 1, 1])
    occ = run_reception(pop, beds=[1, 2], interim=[0, 0], capped=[True, True])
    assert pop.housing.tolist() == [SHELTER, UNSHELTERED, SHELTER, SHELTER]
    assert occ.tolist() == [[1, 0, 1], [2, 0, 0]]


def test_reception_without_losses_leaves_other_housing_alone():
    housing = [FRIENDS, PRECARIOUS, STABLE, DEPARTED, FRIENDS]
    pop = people(5, housing=housing)
    occ = run_reception(pop, beds=[10], interim=[10], capped=[False])
    assert pop.housing.tolist() == housing
    assert occ.tolist() == [[0, 0, 0]]


def test_friends_breakdown_sends_people_to_shelter_placement():
    pop = people(4, housing=[FRIENDS, UNSHELTERED, FRIENDS, STABLE])
    occ = run_reception(pop, beds=[1], interim=[1], capped=[True],
                        p=loss_params(friends_breakdown=1.0, lost_to_friends=0.0))
    # Rows 0 and 2 lose their stay; placement is by row: 0 gets the bed, 1 interim.
    assert pop.housing.tolist() == [SHELTER, INTERIM, UNSHELTERED, STABLE]
    assert occ.tolist() == [[1, 1, 1]]


def test_friends_breakdown_with_lost_to_friends_one_stays_with_friends():
    pop = people(2, housing=[FRIENDS, PRECARIOUS])
    occ = run_reception(pop, beds=[5], p=loss_params(friends_breakdown=1.0,
                                                     lost_to_friends=1.0))
    assert pop.housing.tolist() == [FRIENDS, PRECARIOUS]
    assert occ.tolist() == [[0, 0, 0]]


def test_precarious_loss_goes_to_friends_or_shelter():
    pop = people(2, housing=PRECARIOUS)
    run_reception(pop, beds=[5], p=loss_params(precarious_loss=1.0, lost_to_friends=1.0))
    assert pop.housing.tolist() == [FRIENDS, FRIENDS]

    pop = people(2, housing=[PRECARIOUS, FRIENDS])
    occ = run_reception(pop, beds=[5], p=loss_params(precarious_loss=1.0, lost_to_friends=0.0))
    assert pop.housing.tolist() == [SHELTER, FRIENDS]
    assert occ.tolist() == [[1, 0, 0]]


def test_reception_losses_spare_stable_and_departed():
    pop = people(2, housing=[STABLE, DEPARTED])
    run_reception(pop, beds=[5], p=loss_params(friends_breakdown=1.0, precarious_loss=1.0))
    assert pop.housing.tolist() == [STABLE, DEPARTED]


def test_rare_housing_losses_keep_each_persons_weekly_chance():
    """Losses visit rows by geometric gaps and thinning; the chances must stay per person.

    Interleaved: 60,000 staying with friends (2%: 1,200 expected, SD 34), 60,000 renting
    precariously (0.5%: 300, SD 17) and 60,000 stably housed (no losses). No beds, so
    everyone who loses a place sleeps rough.
    """
    n = 60_000
    kind = np.arange(3 * n) % 3
    pop = people(3 * n, housing=np.select([kind == 0, kind == 1], [FRIENDS, PRECARIOUS],
                                          STABLE))
    occ = run_reception(pop, beds=[0], p=loss_params(friends_breakdown=0.02,
                                                     precarious_loss=0.005))
    rough = pop.housing == UNSHELTERED
    assert 1_200 - 170 < rough[kind == 0].sum() < 1_200 + 170
    assert 300 - 85 < rough[kind == 1].sum() < 300 + 85
    assert rough[kind == 2].sum() == 0
    assert occ[0, 2] == rough.sum()
    half = len(rough) // 2  # evenly over the rows: each half ~750, SD of the gap ~39
    assert abs(int(rough[:half].sum()) - int(rough[half:].sum())) < 200


# --------------------------------------------------------------------------- step_housing

# Rent 1000 for a two-bedroom; the household's unit costs rent * (0.6 + 0.16 * household):
# 760 for one person, 920 for two, 1400 for five. Affordable: within 30% of household
# income, which is own income * (1 + second_earner * min(household - 1, 2)).


def test_lettings_limit_moves_first_come_first_served():
    pop = people(4, housing=SHELTER, employment=SURVIVAL_JOB, household=2)
    lettings = np.array([2], np.int64)
    moves = run_housing(pop, 6, housing_params(), search_p=[1.0], rent=[1000.0],
                        lettings=lettings)
    assert pop.housing.tolist() == [STABLE, STABLE, SHELTER, SHELTER]
    assert pop.stable_week.tolist() == [6, 6, -1, -1]
    assert lettings.tolist() == [0]
    assert moves.tolist() == [[2, 2]]


@pytest.mark.parametrize(("employment", "skill", "household", "stable"), [
    # survival, alone: income 2500, 30% = 750 < 760 needed -> precarious
    (SURVIVAL_JOB, 0.5, 1, False),
    # survival, two people: income 2500 * 1.5 = 3750, 30% = 1125 >= 920 -> stable
    (SURVIVAL_JOB, 0.5, 2, True),
    # matched, skill 0.5, alone: 2500 + 2500 * 0.5 = 3750, 1125 >= 760 -> stable
    (MATCHED_JOB, 0.5, 1, True),
    # matched, skill 0, alone: 2500, 750 < 760 -> precarious
    (MATCHED_JOB, 0.0, 1, False),
    # no job, household of 4: 1000 * 2 = 2000, 600 < 1240 -> precarious
    (NO_JOB, 0.5, 4, False),
])
def test_affordability_decides_stable_or_precarious(employment, skill, household, stable):
    pop = people(1, housing=FRIENDS, employment=employment, skill=skill, household=household)
    moves = run_housing(pop, 9, housing_params(), search_p=[1.0], rent=[1000.0],
                        lettings=np.array([5], np.int64))
    assert pop.housing[0] == (STABLE if stable else PRECARIOUS)
    assert pop.stable_week[0] == (9 if stable else -1)
    assert moves.tolist() == [[int(stable), 0]]  # from friends: no shelter exit


def test_income_without_a_job_is_the_citys_assistance_for_the_status():
    # Three jobless single people, rent 1000 -> 760 needed, 30% of income: stable needs
    # income >= 2534. City 1's province pays claimants 2600 a month (a made-up level), city 0
    # the national 1000; a PR in city 1 keeps the national amount.
    pop = people(3, housing=FRIENDS, employment=NO_JOB, status=[ASYLUM, ASYLUM, ECONOMIC_PR],
                 muni=[0, 1, 1])
    income = np.full((2, N_STATUS), 1000.0)
    income[1, ASYLUM] = 2600.0
    moves = run_housing(pop, 7, housing_params(), search_p=[1.0, 1.0], rent=[1000.0, 1000.0],
                        lettings=np.array([5, 5], np.int64), income_none=income)
    assert pop.housing.tolist() == [PRECARIOUS, STABLE, PRECARIOUS]
    assert moves.tolist() == [[0, 0], [1, 0]]


def test_household_income_counts_at_most_two_other_earners():
    # Five people, no job, second_earner 1: income 1000 * (1 + 2) = 3000, 30% = 900 < 1400.
    # (Counting all four others would give 5000 -> 1500 and a stable home.)
    pop = people(1, housing=FRIENDS, employment=NO_JOB, household=5)
    run_housing(pop, 9, housing_params(second_earner=1.0), search_p=[1.0], rent=[1000.0],
                lettings=np.array([5], np.int64))
    assert pop.housing[0] == PRECARIOUS


def test_precarious_renters_only_move_to_stable_housing():
    # Row 0 rents precariously and cannot afford a stable unit: stays, takes no letting.
    pop = people(2, housing=[PRECARIOUS, SHELTER], employment=NO_JOB)
    lettings = np.array([1], np.int64)
    moves = run_housing(pop, 4, housing_params(), search_p=[1.0], rent=[1000.0],
                        lettings=lettings)
    assert pop.housing.tolist() == [PRECARIOUS, PRECARIOUS]
    assert lettings.tolist() == [0]
    assert moves.tolist() == [[0, 1]]


def test_precarious_renter_who_can_afford_moves_to_stable():
    pop = people(1, housing=PRECARIOUS, employment=MATCHED_JOB, skill=1.0)
    lettings = np.array([1], np.int64)
    moves = run_housing(pop, 4, housing_params(), search_p=[1.0], rent=[1000.0],
                        lettings=lettings)
    assert pop.housing.tolist() == [STABLE]
    assert lettings.tolist() == [0]
    assert moves.tolist() == [[1, 0]]


def test_stable_week_is_set_only_the_first_time():
    pop = people(2, housing=FRIENDS, employment=MATCHED_JOB, skill=1.0, stable_week=[5, -1])
    run_housing(pop, 20, housing_params(), search_p=[1.0], rent=[1000.0],
                lettings=np.array([5], np.int64))
    assert pop.housing.tolist() == [STABLE, STABLE]
    assert pop.stable_week.tolist() == [5, 20]


def test_shelter_and_interim_exits_are_counted():
    pop = people(4, housing=[SHELTER, INTERIM, UNSHELTERED, FRIENDS], employment=NO_JOB)
    moves = run_housing(pop, 4, housing_params(), search_p=[1.0], rent=[1000.0],
                        lettings=np.array([10], np.int64))
    assert pop.housing.tolist() == [PRECARIOUS] * 4
    assert moves.tolist() == [[0, 2]]


def test_search_p_zero_changes_nothing():
    pop = people(4, housing=[SHELTER, FRIENDS, PRECARIOUS, STABLE], employment=MATCHED_JOB,
                 skill=1.0, svc_state=[SVC_NONE, SVC_NONE, SVC_NONE, SVC_DONE])
    before = snapshot(pop)
    lettings = np.array([10], np.int64)
    moves = run_housing(pop, 4, housing_params(housing_help_boost=5.0), search_p=[0.0],
                        rent=[1000.0], lettings=lettings)
    assert_rows_unchanged(pop, before, slice(None))
    assert lettings.tolist() == [10]
    assert moves.tolist() == [[0, 0]]


def test_no_lettings_no_moves():
    pop = people(3, housing=SHELTER, employment=MATCHED_JOB, skill=1.0, muni=[0, 1, 1])
    lettings = np.array([0, 1], np.int64)
    moves = run_housing(pop, 4, housing_params(), search_p=[1.0, 1.0], rent=[1000.0, 1000.0],
                        lettings=lettings)
    assert pop.housing.tolist() == [SHELTER, STABLE, SHELTER]
    assert lettings.tolist() == [0, 0]
    assert moves.tolist() == [[0, 0], [1, 1]]


def test_stable_loss_one_makes_stable_precarious():
    pop = people(2, housing=[STABLE, FRIENDS], stable_week=[3, -1], employment=MATCHED_JOB)
    moves = run_housing(pop, 10, housing_params(stable_loss=1.0), search_p=[0.0],
                        rent=[1000.0], lettings=np.array([5], np.int64))
    assert pop.housing.tolist() == [PRECARIOUS, FRIENDS]
    assert pop.stable_week.tolist() == [3, -1]
    assert moves.tolist() == [[0, 0]]


def test_housing_help_raises_the_search_chance():
    # search_p 0.5 doubled by a boost of 1: certain for clients of housing help.
    n = 200
    helped = [SVC_NONE] * N_SERVICE
    helped[HOUSING_HELP] = SVC_DONE
    in_help = [SVC_NONE] * N_SERVICE
    in_help[HOUSING_HELP] = SVC_IN_SERVICE
    waiting = [SVC_NONE] * N_SERVICE
    waiting[HOUSING_HELP] = SVC_WAITING
    pop = people(3 * n, housing=FRIENDS, employment=MATCHED_JOB, skill=1.0,
                 svc_state=np.array([helped] * n + [in_help] * n + [waiting] * n))
    run_housing(pop, 1, housing_params(housing_help_boost=1.0), search_p=[0.5],
                rent=[1000.0], lettings=np.array([10 * n], np.int64))
    assert np.all(pop.housing[: 2 * n] == STABLE)
    moved = np.mean(pop.housing[2 * n:] == STABLE)  # ~ Binomial(200, 0.5) / 200, SE 0.035
    assert 0.3 < moved < 0.7


def test_departed_rows_are_untouched_by_housing():
    pop = people(2, housing=DEPARTED, employment=MATCHED_JOB, skill=1.0)
    before = snapshot(pop)
    lettings = np.array([5], np.int64)
    moves = run_housing(pop, 4, housing_params(stable_loss=1.0), search_p=[1.0],
                        rent=[1000.0], lettings=lettings)
    assert_rows_unchanged(pop, before, slice(None))
    assert lettings.tolist() == [5]
    assert moves.tolist() == [[0, 0]]


def test_rare_housing_events_keep_each_persons_weekly_chance():
    """Housing visits rows by geometric gaps and thinning; the chances must stay per person.

    Interleaved: 60,000 stably housed people (loss 1%: 600 expected, SD 24), 60,000
    searchers without housing help (5%: 3,000, SD 53) and 60,000 with it (boost 1, so
    10%: 6,000, SD 73). Rent 0 makes every unit found stable housing.
    """
    n = 60_000
    kind = np.arange(3 * n) % 3
    pop = people(3 * n, housing=np.where(kind == 0, STABLE, SHELTER))
    pop.svc_state[kind == 2, HOUSING_HELP] = SVC_DONE
    lettings = np.array([10 ** 9], np.int64)
    p = housing_params(stable_loss=0.01, housing_help_boost=1.0)
    moves = run_housing(pop, 4, p, search_p=[0.05], rent=[0.0], lettings=lettings)
    lost = (kind == 0) & (pop.housing == PRECARIOUS)
    found = (kind > 0) & (pop.housing == STABLE)
    assert 600 - 120 < lost.sum() < 600 + 120
    assert 3_000 - 270 < found[kind == 1].sum() < 3_000 + 270
    assert 6_000 - 370 < found[kind == 2].sum() < 6_000 + 370
    assert moves.tolist() == [[found.sum(), found.sum()]]
    assert lettings[0] == 10 ** 9 - found.sum()
    half = len(found) // 2  # evenly over the rows: each half ~4,500, SD of the gap ~95
    assert abs(int(found[:half].sum()) - int(found[half:].sum())) < 480


def test_visit_rows_on_threads_are_the_rows_of_visits(monkeypatch):
    monkeypatch.setattr(kernels.base, "GAPS_PER_PART", 64)
    for p, n in ((0.1, 5_000), (0.5, 3_000), (1.0, 2_000), (0.03, 40_000), (0.2, 10)):
        one = kernels.visits(np.uint64(99), p, n)
        with threads.limit(2):
            assert np.array_equal(kernels.base.visit_rows(np.uint64(99), p, n), one)
        assert kernels.base.visit_rows(np.uint64(99), p, n).dtype == one.dtype


def test_housing_on_threads_gives_the_same_rows_and_lettings(monkeypatch):
    """Visits drawn in parts of 128 gaps on two threads: the same state and tallies as on
    one (3 cities, mixed housing and incomes, scarce lettings)."""
    rng = np.random.default_rng(11)
    n = 20_000
    base = people(n, housing=rng.choice([UNSHELTERED, SHELTER, FRIENDS, PRECARIOUS, STABLE,
                                         DEPARTED], n),
                  muni=rng.integers(0, 3, n), employment=rng.integers(0, 3, n),
                  skill=rng.random(n), household=rng.integers(1, 5, n),
                  arrival_week=rng.integers(-20, 8, n))
    base.svc_state[:, HOUSING_HELP] = rng.choice([SVC_NONE, SVC_DONE], n)
    monkeypatch.setattr(kernels.base, "GAPS_PER_PART", 128)
    parts = []
    each_part = threads.each_part
    monkeypatch.setattr(threads, "each_part", lambda count, work: (parts.append(count),
                                                                   each_part(count, work)))
    results = []
    for n_threads in (1, 2):
        pop = copy.deepcopy(base)
        lettings = np.array([40, 400, 4000], np.int64)
        first = first_stable(pop, 3)
        with threads.limit(n_threads):
            moves = run_housing(pop, 9, housing_params(stable_loss=0.02), [0.1, 0.3, 0.2],
                                [900.0, 1400.0, 2000.0], lettings, first=first)
        results.append((pop.housing.copy(), pop.stable_week.copy(), lettings, moves,
                        first.reached, first.weeks, first.within_year))
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)
    assert results[0][2][0] == 0 and results[0][3][:, 0].sum() > 100  # lettings ran out
    assert parts and min(parts) > 1  # two threads drew the gaps in parts


# --------------------------------------------------------------------------- step_services


def waiting_for(service: int, n: int, joined=0) -> np.ndarray:
    state = np.zeros((n, N_SERVICE), np.int8)
    state[:, service] = SVC_WAITING
    week = np.zeros((n, N_SERVICE), np.int16)
    week[:, service] = joined
    return state, week


def test_hours_for_two_clients_start_the_first_two_waiting():
    state, joined = waiting_for(LANGUAGE, 4, joined=[1, 2, 3, 4])
    pop = people(4, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{LANGUAGE}_f{FEDERAL}": 2.0})
    out = run_services(pop, 10, hours, HPW, DURATION)
    assert pop.svc_state[:, LANGUAGE].tolist() == [SVC_IN_SERVICE, SVC_IN_SERVICE,
                                                   SVC_WAITING, SVC_WAITING]
    assert pop.svc_week[:, LANGUAGE].tolist() == [39, 39, 3, 4]  # weeks left, weeks joined
    assert out.started[0].tolist() == [0, 2, 0, 0]
    assert out.used[0, LANGUAGE].tolist() == [2.0, 0.0, 0.0, 0.0]
    assert hours[0, LANGUAGE].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert out.wait_sum[0].tolist() == [0, 9 + 8, 0, 0]


def test_continuing_clients_are_served_before_waiting_ones():
    state = np.zeros((3, N_SERVICE), np.int8)
    week = np.zeros((3, N_SERVICE), np.int16)
    state[:, EMPLOYMENT_SVC] = [SVC_WAITING, SVC_WAITING, SVC_IN_SERVICE]
    week[:, EMPLOYMENT_SVC] = [2, 3, 5]  # joined, joined, weeks left
    pop = people(3, svc_state=state, svc_week=week)
    hours = pool(**{f"s{EMPLOYMENT_SVC}_f{FEDERAL}": 3.0})  # two client-weeks of 1.5
    out = run_services(pop, 6, hours, HPW, DURATION)
    assert pop.svc_state[:, EMPLOYMENT_SVC].tolist() == [SVC_IN_SERVICE, SVC_WAITING,
                                                         SVC_IN_SERVICE]
    assert pop.svc_week[:, EMPLOYMENT_SVC].tolist() == [11, 3, 4]
    assert out.started[0, EMPLOYMENT_SVC] == 1
    assert out.wait_sum[0, EMPLOYMENT_SVC] == 4
    assert out.completed[0, EMPLOYMENT_SVC] == 0


def test_federal_hours_serve_only_permanent_statuses_and_protected():
    statuses = list(range(N_STATUS))
    state, joined = waiting_for(ORIENTATION, N_STATUS)
    pop = people(N_STATUS, status=statuses, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{ORIENTATION}_f{FEDERAL}": 100.0})
    out = run_services(pop, 3, hours, HPW, DURATION)
    served = pop.svc_state[:, ORIENTATION] == SVC_IN_SERVICE
    assert [STATUSES[s] for s in np.flatnonzero(served)] == [
        "economic_pr", "family_pr", "resettled_refugee", "protected_person"]
    assert np.all(pop.svc_state[~served, ORIENTATION] == SVC_WAITING)
    assert out.used[0, ORIENTATION, FEDERAL] == 4 * HPW[ORIENTATION]
    assert out.started[0, ORIENTATION] == 4


def test_municipal_hours_serve_non_status_only_under_access_without_fear():
    state, joined = waiting_for(HOUSING_HELP, 2)
    pop = people(2, status=NON_STATUS, muni=[0, 1], svc_state=state, svc_week=joined)
    eligible = default_eligibility()
    assert not eligible[MUNICIPAL, NON_STATUS]
    hours = pool(2, **{f"s{HOUSING_HELP}_f{MUNICIPAL}": 10.0})
    out = run_services(pop, 3, hours, HPW, DURATION, eligible, awf=[False, True])
    assert pop.svc_state[:, HOUSING_HELP].tolist() == [SVC_WAITING, SVC_IN_SERVICE]
    assert out.used[:, HOUSING_HELP, MUNICIPAL].tolist() == [0.0, 2.0]
    assert out.started[:, HOUSING_HELP].tolist() == [0, 1]


def test_each_city_applies_its_own_provinces_eligibility():
    # Two claimants, one per city, provincial hours in both; city 1's province lets
    # provincial hours serve claimants (Ontario's, say), city 0 keeps the national row.
    state, joined = waiting_for(LANGUAGE, 2)
    pop = people(2, status=ASYLUM, muni=[0, 1], svc_state=state, svc_week=joined)
    eligible = np.repeat(default_eligibility()[None], 2, axis=0)
    assert not eligible[0, PROVINCIAL, ASYLUM]
    eligible[1, PROVINCIAL, ASYLUM] = True
    hours = pool(2, **{f"s{LANGUAGE}_f{PROVINCIAL}": 5.0})
    out = run_services(pop, 3, hours, HPW, DURATION, eligible)
    assert pop.svc_state[:, LANGUAGE].tolist() == [SVC_WAITING, SVC_IN_SERVICE]
    assert out.used[:, LANGUAGE, PROVINCIAL].tolist() == [0.0, 1.0]
    assert hours[:, LANGUAGE, PROVINCIAL].tolist() == [5.0, 4.0]


def test_access_without_fear_does_not_open_other_funders():
    state, joined = waiting_for(HOUSING_HELP, 1)
    pop = people(1, status=NON_STATUS, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{HOUSING_HELP}_f{FEDERAL}": 10.0, f"s{HOUSING_HELP}_f{PROVINCIAL}": 10.0})
    run_services(pop, 3, hours, HPW, DURATION, awf=[True])
    assert pop.svc_state[0, HOUSING_HELP] == SVC_WAITING


def test_first_eligible_funder_with_a_full_week_of_hours_pays():
    # Federal has half a week's hours left: not split; provincial pays the whole week.
    state, joined = waiting_for(LANGUAGE, 1)
    pop = people(1, status=FAMILY_PR, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{LANGUAGE}_f{FEDERAL}": 0.5, f"s{LANGUAGE}_f{PROVINCIAL}": 3.0,
                    f"s{LANGUAGE}_f{CHARITY}": 3.0})
    out = run_services(pop, 3, hours, HPW, DURATION)
    assert out.used[0, LANGUAGE].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert hours[0, LANGUAGE].tolist() == [0.5, 2.0, 0.0, 3.0]


def test_one_week_service_goes_straight_to_done():
    state, joined = waiting_for(ORIENTATION, 1, joined=4)
    pop = people(1, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{ORIENTATION}_f{CHARITY}": 5.0})
    out = run_services(pop, 7, hours, HPW, [1, 40, 12, 6])
    assert pop.svc_state[0, ORIENTATION] == SVC_DONE
    assert pop.svc_week[0, ORIENTATION] == 0
    assert out.started[0, ORIENTATION] == 1
    assert out.completed[0, ORIENTATION] == 1
    assert out.wait_sum[0, ORIENTATION] == 3


def test_last_week_of_service_completes():
    state = np.zeros((2, N_SERVICE), np.int8)
    week = np.zeros((2, N_SERVICE), np.int16)
    state[:, LANGUAGE] = SVC_IN_SERVICE
    week[:, LANGUAGE] = [1, 2]
    pop = people(2, svc_state=state, svc_week=week)
    out = run_services(pop, 7, pool(**{f"s{LANGUAGE}_f{FEDERAL}": 5.0}), HPW, DURATION)
    assert pop.svc_state[:, LANGUAGE].tolist() == [SVC_DONE, SVC_IN_SERVICE]
    assert pop.svc_week[:, LANGUAGE].tolist() == [0, 1]
    assert out.completed[0, LANGUAGE] == 1
    assert out.started[0, LANGUAGE] == 0


def test_continuing_client_without_hours_keeps_place_and_weeks():
    state = np.zeros((1, N_SERVICE), np.int8)
    week = np.zeros((1, N_SERVICE), np.int16)
    state[0, LANGUAGE] = SVC_IN_SERVICE
    week[0, LANGUAGE] = 5
    pop = people(1, svc_state=state, svc_week=week)
    out = run_services(pop, 7, pool(), HPW, DURATION)
    assert pop.svc_state[0, LANGUAGE] == SVC_IN_SERVICE
    assert pop.svc_week[0, LANGUAGE] == 5
    assert out.used.sum() == 0.0


def test_wait_sum_adds_weeks_waited_of_those_starting():
    state, joined = waiting_for(HOUSING_HELP, 3, joined=[3, 7, 9])
    pop = people(3, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{HOUSING_HELP}_f{FEDERAL}": 4.0})  # two starts
    out = run_services(pop, 10, hours, HPW, DURATION)
    assert out.wait_sum[0, HOUSING_HELP] == (10 - 3) + (10 - 7)
    assert out.started[0, HOUSING_HELP] == 2


def test_departed_rows_are_not_served():
    state, joined = waiting_for(ORIENTATION, 2)
    state[:, LANGUAGE] = SVC_IN_SERVICE
    joined[:, LANGUAGE] = 3
    pop = people(2, housing=DEPARTED, svc_state=state, svc_week=joined)
    before = snapshot(pop)
    hours = pool(**{f"s{s}_f{f}": 50.0 for s in range(N_SERVICE) for f in range(N_FUNDER)})
    out = run_services(pop, 10, hours, HPW, DURATION)
    assert_rows_unchanged(pop, before, slice(None))
    assert out.used.sum() == 0.0
    assert np.all(hours == 50.0)


def test_a_waiting_request_lapses_exactly_when_its_draw_is_below_the_weekly_chance():
    n, week, chance = 400, 30, 0.3
    state, joined = waiting_for(LANGUAGE, n, joined=[29] * (n - 1) + [30])
    pop = people(n, status=PROTECTED, svc_state=state, svc_week=joined)
    hours = pool(**{f"s{LANGUAGE}_f{FEDERAL}": 1.0})  # one client-week: they may be served
    out = run_services(pop, week, hours, HPW, DURATION, lapse=[0.0, chance, 0.0, 0.0],
                       lapse_unservable=0.9)
    draws = kernels.uniforms(key(PROC_SERVICES, week), n, LANGUAGE)  # slot = the service
    # The last row asked this week: it cannot lapse before its first week of service.
    lapsed = np.r_[draws[:-1] < chance, False]
    first = int(np.flatnonzero(~lapsed)[0])  # the client-week goes to the first one left
    assert out.eligibility[0, LANGUAGE, PROTECTED] == ELIG_WITH_HOURS  # so not 0.9
    assert out.requests[0, LANGUAGE].tolist() == [lapsed.sum(), 0]
    assert chance * n - 40 < lapsed.sum() < chance * n + 40
    expected = np.where(lapsed, SVC_NONE, SVC_WAITING)
    expected[first] = SVC_IN_SERVICE
    assert pop.svc_state[:, LANGUAGE].tolist() == expected.tolist()
    assert np.all(pop.svc_week[lapsed, LANGUAGE] == PROTECTED)  # the status decided in
    assert hours[0, LANGUAGE, FEDERAL] == 0.0


def test_requests_no_funder_with_hours_may_serve_lapse_at_the_unservable_chance():
    # Federal language hours only: they serve the PR; the claimant's funders (municipal,
    # charity) have no hours here; no funder admits the non-status person at all.
    eligible = default_eligibility()
    eligible[CHARITY, NON_STATUS] = False
    state, joined = waiting_for(LANGUAGE, 4, joined=3)
    state[3, LANGUAGE] = SVC_NONE  # nothing to lapse
    pop = people(4, status=[ECONOMIC_PR, ASYLUM, NON_STATUS, ASYLUM], svc_state=state,
                 svc_week=joined)
    hours = pool(**{f"s{LANGUAGE}_f{FEDERAL}": 10.0})
    out = run_services(pop, 8, hours, HPW, DURATION, eligible, lapse=0.0, lapse_unservable=1.0)
    assert pop.svc_state[:, LANGUAGE].tolist() == [SVC_IN_SERVICE, SVC_NONE, SVC_NONE, SVC_NONE]
    assert pop.svc_week[1:3, LANGUAGE].tolist() == [ASYLUM, NON_STATUS]
    assert out.requests[0, LANGUAGE].tolist() == [2, 0]
    assert out.eligibility[0, LANGUAGE, [ECONOMIC_PR, ASYLUM, NON_STATUS]].tolist() == [
        ELIG_WITH_HOURS, ELIG_NO_HOURS, ELIG_NO_FUNDER]
    # Services without hours at all: every status is "no hours" (or "no funder").
    assert out.eligibility[0, ORIENTATION, ECONOMIC_PR] == ELIG_NO_HOURS


def test_access_without_fear_makes_municipal_hours_reach_everyone():
    eligible = default_eligibility()
    eligible[CHARITY, NON_STATUS] = False
    hours = pool(2, **{f"s{HOUSING_HELP}_f{MUNICIPAL}": 4.0})
    out = run_services(people(0), 3, hours, HPW, DURATION, eligible, awf=[False, True])
    assert out.eligibility[:, HOUSING_HELP, NON_STATUS].tolist() == [ELIG_NO_FUNDER,
                                                                     ELIG_WITH_HOURS]


def test_a_new_status_that_a_funder_with_hours_may_serve_makes_a_request():
    # 0: a claimant recorded without a request who became a protected person: asks, and
    #    federal hours serve him at once. 1: no change of status: no request. 2: a new status
    #    but no funder with hours for it here (orientation): records it, asks nothing.
    # 3: housing help is not asked from stable housing.
    week_of = np.zeros((4, N_SERVICE), np.int16)
    week_of[:] = [ASYLUM, ASYLUM, ASYLUM, ASYLUM]
    week_of[1] = PROTECTED
    pop = people(4, status=PROTECTED, housing=[SHELTER, SHELTER, SHELTER, STABLE],
                 svc_week=week_of)
    hours = pool(**{f"s{LANGUAGE}_f{FEDERAL}": 10.0, f"s{HOUSING_HELP}_f{FEDERAL}": 10.0})
    out = run_services(pop, 12, hours, HPW, DURATION, takeup=1.0)
    assert pop.svc_state[:, LANGUAGE].tolist() == [SVC_IN_SERVICE, SVC_NONE, SVC_IN_SERVICE,
                                                   SVC_IN_SERVICE]
    assert pop.svc_state[:, HOUSING_HELP].tolist() == [SVC_IN_SERVICE, SVC_NONE,
                                                       SVC_IN_SERVICE, SVC_NONE]
    assert pop.svc_state[:, ORIENTATION].tolist() == [SVC_NONE] * 4
    assert pop.svc_week[:, ORIENTATION].tolist() == [PROTECTED] * 4  # the decision is made
    assert pop.svc_week[3, HOUSING_HELP] == PROTECTED
    assert out.requests[0, :, 1].tolist() == [0, 3, 0, 2]
    assert out.started[0].tolist() == [0, 3, 0, 2]
    assert out.wait_sum[0].tolist() == [0, 0, 0, 0]
    # The orientation decision was made: hours there next week bring no request.
    hours = pool(**{f"s{ORIENTATION}_f{FEDERAL}": 10.0})
    out = run_services(pop, 13, hours, HPW, DURATION, takeup=1.0)
    assert out.requests.sum() == 0


def test_a_request_made_again_follows_the_take_up_draw():
    n, week = 400, 9
    pop = people(n, status=PROTECTED, svc_week=ASYLUM)
    hours = pool(**{f"s{EMPLOYMENT_SVC}_f{FEDERAL}": 1.5 * n})  # a client-week for each
    out = run_services(pop, week, hours, HPW, DURATION, takeup=[[0.0, 0.0, 0.25, 0.0]])
    asked = kernels.uniforms(key(PROC_SERVICES, week), n, N_SERVICE + EMPLOYMENT_SVC) < 0.25
    assert np.array_equal(pop.svc_state[:, EMPLOYMENT_SVC] == SVC_IN_SERVICE, asked)
    assert out.requests[0, EMPLOYMENT_SVC, 1] == asked.sum()
    assert 60 < asked.sum() < 140


def test_a_lapsed_claimant_asks_again_once_protected():
    # Week 5: only federal language hours; the waiting claimant's funders have none here,
    # so the request lapses. Week 6: the claim was accepted; a request is made and served.
    state, joined = waiting_for(LANGUAGE, 1, joined=0)
    pop = people(1, status=ASYLUM, svc_state=state, svc_week=joined)
    out = run_services(pop, 5, pool(**{f"s{LANGUAGE}_f{FEDERAL}": 3.0}), HPW, DURATION,
                       lapse=0.0, lapse_unservable=1.0, takeup=1.0)
    assert pop.svc_state[0, LANGUAGE] == SVC_NONE
    assert out.requests[0, LANGUAGE].tolist() == [1, 0]
    out = run_services(pop, 6, pool(**{f"s{LANGUAGE}_f{FEDERAL}": 3.0}), HPW, DURATION,
                       lapse=0.0, lapse_unservable=1.0, takeup=1.0)
    assert out.requests[0, LANGUAGE].tolist() == [0, 0]  # still a claimant: nothing new
    pop.status[0] = PROTECTED
    out = run_services(pop, 7, pool(**{f"s{LANGUAGE}_f{FEDERAL}": 3.0}), HPW, DURATION,
                       lapse=0.0, lapse_unservable=1.0, takeup=1.0)
    assert out.requests[0, LANGUAGE].tolist() == [0, 1]
    assert pop.svc_state[0, LANGUAGE] == SVC_IN_SERVICE
    assert out.started[0, LANGUAGE] == 1


def test_a_child_granted_protection_asks_for_orientation_but_not_for_classes():
    """Requests made again follow the age rules of arrivals (sim.arrivals.MAY_ASK)."""
    pop = people(2, status=PROTECTED, age=[CHILD, SENIOR],
                 svc_state=[[SVC_NONE] * N_SERVICE] * 2, svc_week=ASYLUM)  # decided as claimants
    every = {f"s{s}_f{FEDERAL}": 10.0 for s in range(N_SERVICE)}
    out = run_services(pop, 7, pool(**every), HPW, DURATION, takeup=1.0)
    asked = pop.svc_state != SVC_NONE
    assert asked[:, ORIENTATION].all()
    assert not asked[0, LANGUAGE]
    assert not asked[:, EMPLOYMENT_SVC].any()
    assert asked[1, LANGUAGE]  # seniors may go to language classes
    assert out.requests[0, :, 1].sum() == asked.sum()


def _random_services_case(rng: np.random.Generator):
    n = int(rng.integers(0, 14))
    n_muni = int(rng.integers(1, 4))
    week = int(rng.integers(0, 60))
    hours_per_week = rng.choice([0.5, 1.0, 1.5, 2.0, 0.3], size=N_SERVICE)
    duration = rng.integers(1, 5, size=N_SERVICE)
    status = rng.integers(0, N_STATUS, n)
    housing = np.where(rng.random(n) < 0.15, DEPARTED, rng.integers(0, DEPARTED, n))
    muni = rng.integers(0, n_muni, n)
    svc_state = rng.integers(0, 4, (n, N_SERVICE))
    svc_week = np.where(svc_state == SVC_WAITING, rng.integers(0, week + 1, (n, N_SERVICE)),
                        np.where(svc_state == SVC_IN_SERVICE,
                                 rng.integers(1, 5, (n, N_SERVICE)), 0))
    # Pools: often zero, often whole client-weeks, sometimes odd amounts.
    kind = rng.integers(0, 3, (n_muni, N_SERVICE, N_FUNDER))
    whole = rng.integers(0, 4, kind.shape) * hours_per_week[None, :, None]
    hours = np.where(kind == 0, 0.0, np.where(kind == 1, whole, rng.random(kind.shape) * 5))
    # One table for every city, or each city its own (provinces' rules differ).
    eligible = (np.repeat(default_eligibility()[None], n_muni, axis=0) if rng.random() < 0.3
                else rng.random((n_muni, N_FUNDER, N_STATUS)) < 0.5)
    awf = rng.random(n_muni) < 0.5
    # Without a request: the status recorded at the last decision, often not the current one.
    svc_week = np.where(svc_state == SVC_NONE, rng.integers(0, N_STATUS, (n, N_SERVICE)),
                        svc_week)
    pop = people(n, status=status, housing=housing, muni=muni, svc_state=svc_state,
                 svc_week=svc_week)
    # Requests: often none lapse or are made, often every one, else chances in between.
    requests = {"lapse": rng.choice([0.0, 1.0, 0.3], size=N_SERVICE),
                "lapse_unservable": float(rng.choice([0.0, 1.0, 0.6])),
                "takeup": rng.choice([0.0, 1.0, 0.5], size=(n_muni, N_SERVICE))}
    return pop, week, hours, eligible, awf, hours_per_week, duration, requests


def test_noted_rows_lists_the_noted_ones_in_order_and_nothing_past_the_rows():
    noted = np.zeros(24, np.uint8)
    noted[[0, 7, 8, 15, 17]] = [1, 4, 2, 1, 9]
    noted[19:] = 1  # left over past the 19 rows asked about
    out = np.zeros(24, np.uint32)
    found = kernels.noted_rows(noted, 19, 100, out)
    assert out[:found].tolist() == [100, 107, 108, 115, 117]
    assert kernels.noted_rows(np.zeros(16, np.uint8), 16, 0, out) == 0


def test_requests_screen_lists_rows_with_a_request_to_check_or_a_client():
    from sim.kernels.requests import _screen_requests

    n, asylum, economic = 8, 3, 0
    svc_state = np.zeros((n, 4), np.int8)
    svc_week = np.full((n, 4), asylum, np.int16)  # went without under the present status
    status = np.full(n, asylum, np.int8)
    housing = np.full(n, SHELTER, np.int8)
    svc_state[1, 2] = SVC_WAITING  # a waiting request
    svc_state[2, 0] = SVC_IN_SERVICE  # a client
    svc_week[3, 3] = economic  # went without as an economic immigrant: asks again
    svc_state[4, :] = SVC_DONE  # all done: nothing to check
    svc_state[5, 1], housing[5] = SVC_WAITING, DEPARTED  # departed: never listed
    svc_state[6, 1] = SVC_WAITING
    svc_week[7, 2] = -1  # never decided (a week below 0 is no status): asks
    screened = np.zeros(n, np.uint32)
    svc, svw = kernels.row_words(svc_state), kernels.row_words(svc_week)
    noted = np.full(kernels.NOTE_ROWS, 1, np.uint8)  # left over from before: overwritten
    found = _screen_requests(0, n, svc, svw, status, housing, noted, screened)
    assert screened[:found].tolist() == [1, 2, 3, 6, 7]
    # The note says which services: bit s a request to check, bit 4 + s a client in s (the
    # visit reads it back rather than testing the four services again).
    assert noted[:n].tolist() == [0, 1 << 2, 1 << 4, 1 << 3, 0, 0, 1 << 1, 1 << 2]
    assert _screen_requests(2, 5, svc, svw, status, housing, noted, screened) == 2
    assert screened[:2].tolist() == [2, 3]


@pytest.mark.parametrize(("block", "rows_per_block", "n_threads"),
                         [(0, None, 1), (1, None, 1), (2, 3, 2), (3, 2, 3)])
def test_services_match_naive_twin_on_random_cases(block, rows_per_block, n_threads,
                                                   monkeypatch):
    # The last two: rows in blocks of 2-3, so the passes run by groups of cities on threads.
    if rows_per_block:
        monkeypatch.setattr(threads, "BLOCK", rows_per_block)
    for case in range(100):
        seed = block * 1000 + case
        pop, week, hours, eligible, awf, hpw, duration, req = _random_services_case(
            np.random.default_rng(seed))
        given = hours.copy()
        # half the cases misrefer: a chance per city that referrals fit, intake hours
        rng = np.random.default_rng(seed + 77)
        match = np.where(rng.random(hours.shape[0]) < 0.5, 1.0, rng.random(hours.shape[0]))
        stream, intake = key(PROC_SERVICES, week), float(rng.choice([0.0, 0.4, 1.0, 3.0]))
        expected = naive_step_services(pop.svc_state, pop.svc_week, pop.status, pop.housing,
                                       pop.muni, week, stream, hours, eligible, awf, hpw,
                                       duration, req["lapse"], req["lapse_unservable"],
                                       req["takeup"], match, intake)
        with threads.limit(n_threads):
            out = run_services(pop, week, hours, hpw, duration, eligible, awf, **req,
                               match=match, intake_hours=intake)
        got = {"svc_state": pop.svc_state, "svc_week": pop.svc_week, "hours": hours,
               "used": out.used, "started": out.started, "wait_sum": out.wait_sum,
               "completed": out.completed, "requests": out.requests,
               "eligibility": out.eligibility, "misreferred": out.misreferred}
        for name, value in expected.items():
            np.testing.assert_array_equal(got[name], value, err_msg=f"{name}, seed {seed}")
        # Hours are never overspent: used + left == given, and nothing goes negative.
        assert np.all(out.used <= given + 1e-9), f"seed {seed}"
        assert np.all(hours >= 0.0), f"seed {seed}"
        np.testing.assert_allclose(out.used + hours, given, atol=1e-12,
                                   err_msg=f"seed {seed}")


def test_city_groups_balance_the_listed_rows_and_leave_no_group_empty():
    # the busiest city alone, then each next one to the group with the least so far
    assert kernels.city_groups(np.array([5, 40, 10, 30]), 2).tolist() == [0, 0, 1, 1]
    assert kernels.city_groups(np.array([5, 40, 10, 30]), 1).tolist() == [0, 0, 0, 0]
    # no more groups than cities with work: the idle ones join group 0
    assert kernels.city_groups(np.array([0, 7, 0]), 3).tolist() == [0, 0, 0]
    assert kernels.city_groups(np.array([0, 0]), 2).tolist() == [0, 0]


# --------------------------------------------------------------------------- step_integration


def test_language_grows_by_gain_times_gap_and_jobs_stay_without_chances():
    pop = people(3, language=[0.0, 0.5, 0.9], employment=[NO_JOB, SURVIVAL_JOB, MATCHED_JOB])
    jobs = run_integration(pop, 10, integration_params(language_gain=0.1), features_table())
    np.testing.assert_allclose(pop.language, [0.1, 0.55, 0.91], rtol=1e-6)
    assert pop.employment.tolist() == [NO_JOB, SURVIVAL_JOB, MATCHED_JOB]
    assert jobs.tolist() == [[0, 0]]


def test_language_class_adds_quality_weighted_gain():
    state = np.zeros((1, N_SERVICE), np.int8)
    state[0, LANGUAGE] = SVC_IN_SERVICE
    pop = people(1, language=0.5, svc_state=state)
    quality = np.full((1, N_SERVICE), 0.5)
    quality[0, LANGUAGE] = 0.4
    p = integration_params(language_gain=0.1, language_gain_in_class=0.3, quality_weight=0.5)
    run_integration(pop, 10, p, features_table(), quality)
    # q = 1 - 0.5 + 0.5 * 0.4 = 0.7; gain = 0.1 + 0.3 * 0.7 = 0.31; 0.5 + 0.31 * 0.5
    np.testing.assert_allclose(pop.language, [0.655], rtol=1e-6)


def test_economic_target_is_job_level_times_housing():
    pop = people(4, housing=[SHELTER, STABLE, PRECARIOUS, FRIENDS],
                 employment=[NO_JOB, SURVIVAL_JOB, MATCHED_JOB, MATCHED_JOB],
                 skill=[0.5, 0.5, 1.0, 0.5])
    dims = week_dims(pop, 10, integration_params(adjust=1.0), features_table())
    # 0.15 * 0.6, 0.5 * 1.0, (0.8 + 0.2) * 0.8, (0.8 + 0.1) * 0.6
    np.testing.assert_allclose(dims[:, 0], [0.09, 0.5, 0.8, 0.54], rtol=1e-6)


def test_safety_target_from_housing_sentiment_and_security():
    pop = people(4, status=[ECONOMIC_PR, NON_STATUS, ASYLUM, ASYLUM],
                 housing=[STABLE, UNSHELTERED, SHELTER, PRECARIOUS], muni=[0, 0, 0, 1])
    feats = features_table(2, sentiment=0.64)
    feats[1, MF_AWF] = 1.0
    dims = week_dims(pop, 10, integration_params(adjust=1.0), feats)
    # safety(housing) * sqrt(0.64) * security: permanent 1, non-status without a policy 0.5,
    # claimant 0.7 with or without access without fear (it changes non-status people only).
    np.testing.assert_allclose(dims[:, 4], [1.0 * 0.8 * 1.0, 0.2 * 0.8 * 0.5,
                                                0.5 * 0.8 * 0.7, 0.8 * 0.8 * 0.7], rtol=1e-6)


def test_access_without_fear_changes_non_status_safety_only_through_its_channels():
    """Cities: no policy; the policy; the policy covering police. The params give
    non-status security 0.5, 0.65 (fear of city services gone), 0.85 (police too)."""
    pop = people(6, status=[NON_STATUS, NON_STATUS, NON_STATUS, TEMP_WORKER, TEMP_WORKER,
                            TEMP_WORKER], housing=STABLE, muni=[0, 1, 2, 0, 1, 2])
    feats = features_table(3)
    feats[1:, MF_AWF] = 1.0
    feats[2, MF_AWF_POLICE] = 1.0
    dims = week_dims(pop, 10, integration_params(adjust=1.0), feats)
    np.testing.assert_allclose(dims[:, 4], [0.5, 0.65, 0.85, 0.7, 0.7, 0.7], rtol=1e-6)
    covered_only = people(1, status=NON_STATUS, housing=STABLE)  # police flag, no policy
    dims = week_dims(covered_only, 10, integration_params(adjust=1.0),
                     features_table(1, police=1.0))
    assert dims[0, 4] == pytest.approx(0.5)


def test_access_without_fear_opens_the_municipal_share_of_public_services():
    """Nothing requested: access = base + 0.25; non-status base 0.1 without, 0.3 with."""
    pop = people(4, status=[NON_STATUS, NON_STATUS, ECONOMIC_PR, ECONOMIC_PR], muni=[0, 1, 0, 1])
    feats = features_table(2)
    feats[1, MF_AWF] = 1.0
    dims = week_dims(pop, 10, integration_params(adjust=1.0), feats)
    np.testing.assert_allclose(dims[:, 2], [0.35, 0.55, 0.65, 0.65], rtol=1e-6)


def test_dimensions_move_adjust_of_the_way_to_their_targets():
    # Claimant two years in, precarious rental, matched job (skill 0.5); orientation
    # done, language waiting, housing help in service: 3 services asked, 2 received.
    state = [SVC_DONE, SVC_WAITING, SVC_NONE, SVC_IN_SERVICE]
    pop = people(1, status=ASYLUM, housing=PRECARIOUS, employment=MATCHED_JOB, skill=0.5,
                 arrival_week=0, svc_state=[state], dims=[[0.2, 0.0, 0.4, 0.0, 1.0]])
    feats = features_table(network=0.1, sentiment=0.64, awf=0.0, welcoming=1.0)
    dims = week_dims(pop, 104, integration_params(adjust=0.5), feats)
    targets = np.array([
        0.9 * 0.8,  # economic: job level 0.8 + 0.2 * 0.5, precarious 0.8
        0.2 + 0.1 * 2 + 0.2 + 0.1,  # networks: base, 2 years, oriented, density
        0.4 + 0.5 * 2 / 3,  # access: not shut out, 2 of 3 received
        0.1 + 0.1 * 2 + 0.2 * 1.0,  # civic: not permanent, 2 years, welcoming
        0.8 * 0.8 * 0.7,  # safety: precarious, sqrt(sentiment), claimant without AWF
    ])
    start = np.array([0.2, 0.0, 0.4, 0.0, 1.0])
    np.testing.assert_allclose(dims[0], start + 0.5 * (targets - start), rtol=1e-6)


def test_access_target_without_requests_and_when_shut_out():
    pop = people(2, status=[ECONOMIC_PR, NON_STATUS],
                 svc_state=[[SVC_NONE] * 4, [SVC_WAITING, SVC_NONE, SVC_NONE, SVC_NONE]])
    dims = week_dims(pop, 10, integration_params(adjust=1.0), features_table(awf=0.0))
    np.testing.assert_allclose(dims[:, 2], [0.4 + 0.25, 0.1 + 0.0], rtol=1e-6)


def test_job_find_one_gives_a_survival_job_except_non_status_without_permit():
    pop = people(3, status=[ECONOMIC_PR, ASYLUM, NON_STATUS], language=1.0, employment=NO_JOB)
    jobs = run_integration(pop, 10, integration_params(job_find=1.0, no_permit_factor=0.0),
                           features_table(labour=1.0))
    assert pop.employment.tolist() == [SURVIVAL_JOB, SURVIVAL_JOB, NO_JOB]
    assert jobs.tolist() == [[2, 0]]


def test_no_labour_demand_no_jobs():
    pop = people(2, language=1.0, employment=NO_JOB)
    jobs = run_integration(pop, 10, integration_params(job_find=1.0), features_table(labour=0.0))
    assert pop.employment.tolist() == [NO_JOB, NO_JOB]
    assert jobs.tolist() == [[0, 0]]


def test_employment_service_boost_makes_job_finding_certain():
    # Language 0: chance 1 * 1 * 0.3 * (1 + 3 * 1) = 1.2 for the served client, 0.3 others.
    served = [SVC_NONE, SVC_NONE, SVC_DONE, SVC_NONE]
    pop = people(200, language=0.0, svc_state=[served] * 100 + [[SVC_NONE] * 4] * 100)
    run_integration(pop, 10, integration_params(job_find=1.0, service_boost=3.0),
                    features_table())
    assert np.all(pop.employment[:100] == SURVIVAL_JOB)
    share = np.mean(pop.employment[100:] == SURVIVAL_JOB)  # ~0.3, SE 0.046
    assert 0.1 < share < 0.5


def test_survival_job_becomes_matched_with_certain_match():
    pop = people(2, status=[ECONOMIC_PR, NON_STATUS], employment=SURVIVAL_JOB, skill=1.0,
                 language=1.0)
    jobs = run_integration(pop, 10, integration_params(match=1.0, no_permit_factor=0.0),
                           features_table())
    assert pop.employment.tolist() == [MATCHED_JOB, SURVIVAL_JOB]
    assert jobs.tolist() == [[0, 1]]


def test_job_loss_one_ends_every_job():
    pop = people(2, employment=[SURVIVAL_JOB, MATCHED_JOB], skill=1.0, language=1.0)
    jobs = run_integration(pop, 10, integration_params(job_loss=1.0, match=1.0),
                           features_table())
    assert pop.employment.tolist() == [NO_JOB, NO_JOB]
    assert jobs.tolist() == [[0, 0]]



def test_job_events_keep_their_weekly_chances_among_rows_picked_by_thinning():
    """Job events are drawn only for rows picked at the highest chance of any (``visits``):
    each row must still have its own chance. 300,000 rows over 5 blocks, every job state."""
    n = 300_000
    employment = np.repeat([NO_JOB, SURVIVAL_JOB, MATCHED_JOB], n // 3)
    language = np.tile(np.array([1.0, 0.5], np.float32), n // 2)  # no job: 0.3 + 0.7 * lang
    pop = people(n, employment=employment, language=language, skill=1.0)
    p = integration_params(job_find=0.06, match=0.1, job_loss=0.02)
    jobs = run_integration(pop, 10, p, features_table())
    third = n // 3
    after = pop.employment
    expected = [  # rows, new state, chance
        (slice(0, third), SURVIVAL_JOB, 0.06 * (0.3 + 0.7 * 0.75)),  # mean over languages
        (slice(third, 2 * third), NO_JOB, 0.02),
        (slice(third, 2 * third), MATCHED_JOB, (1 - 0.02) * 0.1 * 0.75),
        (slice(2 * third, n), NO_JOB, 0.02),
    ]
    for rows, state, chance in expected:
        got = np.mean(after[rows] == state)
        sd = np.sqrt(chance * (1 - chance) / third)
        assert abs(got - chance) < 4.5 * sd, (state, got, chance)
    # the two languages of jobless rows: 0.06 and 0.06 x 0.65
    found_by_lang = [np.mean(after[0:third][k::2] == SURVIVAL_JOB) for k in (0, 1)]
    assert found_by_lang[0] == pytest.approx(0.06, abs=0.004)
    assert found_by_lang[1] == pytest.approx(0.039, abs=0.004)
    assert jobs.tolist() == [[int(np.sum(after[:third] == SURVIVAL_JOB)),
                              int(np.sum(after[third:2 * third] == MATCHED_JOB))]]

def test_departed_rows_are_untouched_by_integration():
    pop = people(1, housing=DEPARTED, language=0.5, dims=[[0.1, 0.2, 0.3, 0.4, 0.5]])
    before = snapshot(pop)
    jobs = run_integration(pop, 10, integration_params(language_gain=0.5, job_find=1.0,
                                                       adjust=1.0), features_table())
    assert_rows_unchanged(pop, before, slice(None))
    assert jobs.tolist() == [[0, 0]]


# --------------------------------------------------------------------------- step_moves


def test_single_municipality_has_no_moves():
    pop = people(3, housing=[SHELTER, FRIENDS, STABLE])
    before = snapshot(pop)
    out = run_moves(pop, move_p=[1.0], cdf=[[1.0]], unsettled_factor=5.0)
    assert_rows_unchanged(pop, before, slice(None))
    assert out.tolist() == [[0]]


def test_certain_movers_go_where_the_cdf_sends_them():
    pop = people(4, housing=[SHELTER, STABLE, PRECARIOUS, DEPARTED],
                 employment=[NO_JOB, MATCHED_JOB, SURVIVAL_JOB, SURVIVAL_JOB], muni=0)
    out = run_moves(pop, move_p=[1.0, 0.0], cdf=[[0.0, 1.0], [1.0, 1.0]])
    assert pop.muni.tolist() == [1, 1, 1, 0]
    assert pop.housing.tolist() == [FRIENDS, FRIENDS, FRIENDS, DEPARTED]
    assert pop.employment.tolist() == [NO_JOB, NO_JOB, NO_JOB, SURVIVAL_JOB]
    assert out.tolist() == [[0, 3], [0, 0]]


def test_destination_is_the_first_cdf_entry_above_the_draw():
    # From 1, three cities: 0 with prob 0, 2 with prob 1 (cdf [0, 0, 1]).
    pop = people(5, muni=1, housing=FRIENDS)
    out = run_moves(pop, move_p=[0.0, 1.0, 0.0],
                    cdf=[[0.0, 0.5, 1.0], [0.0, 0.0, 1.0], [0.5, 1.0, 1.0]])
    assert pop.muni.tolist() == [2] * 5
    assert out.tolist() == [[0, 0, 0], [0, 0, 5], [0, 0, 0]]


def test_a_draw_landing_on_the_home_city_is_no_move():
    pop = people(3, muni=0, housing=[SHELTER, STABLE, PRECARIOUS],
                 employment=[NO_JOB, MATCHED_JOB, SURVIVAL_JOB])
    before = snapshot(pop)
    out = run_moves(pop, move_p=[1.0, 1.0], cdf=[[1.0, 1.0], [1.0, 1.0]])
    assert_rows_unchanged(pop, before, slice(None))
    assert out.sum() == 0


def test_move_p_zero_nobody_moves():
    pop = people(3, housing=SHELTER)
    before = snapshot(pop)
    out = run_moves(pop, move_p=[0.0, 0.0], cdf=[[0.0, 1.0], [1.0, 1.0]], unsettled_factor=3.0)
    assert_rows_unchanged(pop, before, slice(None))
    assert out.sum() == 0


def test_unsettled_factor_applies_to_unhoused_or_jobless_only():
    # move_p 0.5 times factor 2: certain for the unsettled, a coin flip for the settled.
    n = 200
    housing = [SHELTER] * n + [STABLE] * n + [STABLE] * n
    employment = [MATCHED_JOB] * n + [NO_JOB] * n + [MATCHED_JOB] * n
    pop = people(3 * n, housing=housing, employment=employment)
    run_moves(pop, move_p=[0.5, 0.5], cdf=[[0.0, 1.0], [1.0, 1.0]], unsettled_factor=2.0)
    assert np.all(pop.muni[: 2 * n] == 1)
    moved = np.mean(pop.muni[2 * n:] == 1)  # ~ Binomial(200, 0.5) / 200, SE 0.035
    assert 0.3 < moved < 0.7


def test_rare_moves_keep_each_persons_weekly_chance():
    """Moves pick rows by geometric gaps and thinning; the chances must stay per person.

    100,000 settled and 100,000 unsettled people (interleaved) with move_p 1% and an
    unsettled factor of 3: expect 1,000 (SD 31) and 3,000 (SD 54) movers, spread evenly
    over the rows.
    """
    n = 100_000
    settled = np.arange(2 * n) % 2 == 0
    pop = people(2 * n, housing=np.where(settled, STABLE, SHELTER),
                 employment=np.where(settled, MATCHED_JOB, NO_JOB))
    run_moves(pop, move_p=[0.01, 0.01], cdf=[[0.0, 1.0], [1.0, 1.0]], unsettled_factor=3.0)
    moved = pop.muni == 1
    assert 1_000 - 160 < moved[settled].sum() < 1_000 + 160
    assert 3_000 - 270 < moved[~settled].sum() < 3_000 + 270
    first, second = moved[:n].sum(), moved[n:].sum()  # each ~2,000, SD of the gap ~63
    assert abs(int(first) - int(second)) < 320


# --------------------------------------------------------------------------- tally


def run_tally(pop, week, weights, n_muni, window=13, refugee=None, recent=260,
              eligibility=None):
    """The tally of ``pop`` in ``week``, as ``Tally.of`` takes it, every row settled with
    ``adjust`` 0: the dimensions' sums and histogram are of the values in ``pop.dims``."""
    sums = DimensionSums(1, n_muni, 0.0, weights)
    features = features_table(n_muni)
    tables = kernels.target_tables(integration_params(adjust=0.0), features,
                                   np.full((n_muni, N_SERVICE), 0.5))
    settle = sums.settle(week, 0.0, np.asarray(weights, np.float64), tables, len(pop.status))
    changes = sums.changes()
    out = kernels.TallyOut(
        counts=np.zeros((n_muni, N_STATUS, N_HOUSING), np.int64),
        services=np.zeros((n_muni, N_SERVICE, 3), np.int64),
        status_count=np.zeros(N_STATUS, np.int64),
        misc=np.zeros((n_muni, 14), np.int64),
        homeless=np.zeros((n_muni, 2), np.int64),
        waiting_by=np.zeros((n_muni, N_SERVICE, len(ELIGIBILITY)), np.int64),
        sums=changes.sums, status_sums=changes.status_sums, hist=changes.hist,
        ring=changes.ring,
    )
    refugee = np.zeros(N_STATUS, np.bool_) if refugee is None else np.asarray(refugee)
    if eligibility is None:
        eligibility = np.full((n_muni, N_SERVICE, N_STATUS), ELIG_WITH_HOURS, np.int8)
    params = kernels.TallyParams(week, window, refugee, recent, eligibility, True, settle)
    columns = kernels.DimColumns(pop.dims, pop.dim_target, pop.dim_since, pop.dim_key, pop.skill,
                                 pop.arrival_week)
    kernels.tally(pop.status, pop.housing, pop.muni, pop.origin, pop.employment, pop.svc_state,
                  pop.svc_week, pop.arrival_week, pop.shelter_week, pop.age, pop.tally_flags,
                  columns, params, kernels.KeptCounts.empty(n_muni), out)
    # the arrival statistics, as the model's ledger holds them for these rows
    rows = SimpleNamespace(n=len(pop.status), **vars(pop))
    ArrivalLedger.of(rows, n_muni, week).fill(out.misc, week)
    sums.take(settle, changes)
    dims, status_index = sums.totals(week)
    return SimpleNamespace(counts=out.counts, services=out.services, misc=out.misc,
                           homeless=out.homeless, waiting_by=out.waiting_by, dims=dims,
                           status_index=status_index, status_count=out.status_count,
                           hist=sums.hist)


WEIGHTS = [0.4, 0.3, 0.1, 0.1, 0.1]


@pytest.fixture
def tallied():
    """Four people in two cities at week 20.

    0: PR, stable, survival job, in city 0 where they arrived (week 2), stable since 10;
       orientation done, language waiting since 5, employment help in service.
    1: claimant in shelter in city 1 having arrived in city 0 (week 4), no job; waiting
       for orientation since 8 and housing help since 9.
    2: worker renting precariously in city 1, arrived there week 0, matched job, was
       stable from week 6; no services; all dimensions 1.
    3: non-status person who has departed from city 0 (arrived in city 1 week 1, stable
       from week 12); has a survival job and waits for language: neither counts.
    """
    pop = people(
        4,
        status=[ECONOMIC_PR, ASYLUM, TEMP_WORKER, NON_STATUS],
        housing=[STABLE, SHELTER, PRECARIOUS, DEPARTED],
        muni=[0, 1, 1, 0],
        origin=[0, 0, 1, 1],
        employment=[SURVIVAL_JOB, NO_JOB, MATCHED_JOB, SURVIVAL_JOB],
        arrival_week=[2, 4, 0, 1],
        stable_week=[10, -1, 6, 12],
        svc_state=[[SVC_DONE, SVC_WAITING, SVC_IN_SERVICE, SVC_NONE],
                   [SVC_WAITING, SVC_NONE, SVC_NONE, SVC_WAITING],
                   [SVC_NONE] * 4,
                   [SVC_NONE, SVC_WAITING, SVC_NONE, SVC_NONE]],
        svc_week=[[0, 5, 7, 0], [8, 0, 0, 9], [0] * 4, [0, 3, 0, 0]],
        dims=[[0.55] * 5, [0.1, 0.2, 0.3, 0.4, 0.5], [1.0] * 5, [0.9] * 5],
    )
    # In city 1 no funder admits claimants to orientation, and those admitting them to
    # housing help have no hours there; the PR's city 0 has hours for everyone.
    eligibility = np.full((2, N_SERVICE, N_STATUS), ELIG_WITH_HOURS, np.int8)
    eligibility[1, ORIENTATION, ASYLUM] = ELIG_NO_FUNDER
    eligibility[1, HOUSING_HELP, ASYLUM] = ELIG_NO_HOURS
    eligibility[0, LANGUAGE, NON_STATUS] = ELIG_NO_FUNDER  # departed: not counted
    return run_tally(pop, 20, WEIGHTS, 2, eligibility=eligibility)


def test_tally_counts_by_muni_status_housing(tallied):
    expected = np.zeros((2, N_STATUS, N_HOUSING), np.int64)
    expected[0, ECONOMIC_PR, STABLE] = 1
    expected[1, ASYLUM, SHELTER] = 1
    expected[1, TEMP_WORKER, PRECARIOUS] = 1
    expected[0, NON_STATUS, DEPARTED] = 1  # departed people are counted too
    np.testing.assert_array_equal(tallied.counts, expected)


def test_tally_waiting_counts_and_current_waits(tallied):
    expected = np.zeros((2, N_SERVICE, 3), np.int64)
    expected[0, LANGUAGE] = [1, 20 - 5, 0]
    expected[0, EMPLOYMENT_SVC] = [0, 0, 1]
    expected[1, ORIENTATION] = [1, 20 - 8, 0]
    expected[1, HOUSING_HELP] = [1, 20 - 9, 0]
    np.testing.assert_array_equal(tallied.services, expected)


def test_tally_waiting_by_eligibility_class(tallied):
    expected = np.zeros((2, N_SERVICE, len(ELIGIBILITY)), np.int64)
    expected[0, LANGUAGE, ELIG_WITH_HOURS] = 1
    expected[1, ORIENTATION, ELIG_NO_FUNDER] = 1
    expected[1, HOUSING_HELP, ELIG_NO_HOURS] = 1
    np.testing.assert_array_equal(tallied.waiting_by, expected)
    np.testing.assert_array_equal(tallied.waiting_by.sum(axis=2), tallied.services[:, :, 0])


def test_tally_dimension_and_index_sums(tallied):
    # Index = weights . dims: row 0 0.55; row 1 0.04+0.06+0.03+0.04+0.05 = 0.22; row 2 1.0.
    np.testing.assert_allclose(tallied.dims, [
        [0.55] * 5 + [0.55],
        [1.1, 1.2, 1.3, 1.4, 1.5, 1.22],
    ], rtol=1e-6)
    index, count = np.zeros(N_STATUS), np.zeros(N_STATUS, np.int64)
    index[[ECONOMIC_PR, ASYLUM, TEMP_WORKER]] = [0.55, 0.22, 1.0]
    count[[ECONOMIC_PR, ASYLUM, TEMP_WORKER]] = 1
    np.testing.assert_allclose(tallied.status_index, index, rtol=1e-6)
    np.testing.assert_array_equal(tallied.status_count, count)


def test_tally_index_histogram(tallied):
    expected = np.zeros((2, 10), np.int64)
    expected[0, 5] = 1  # 0.55
    expected[1, 2] = 1  # 0.22
    expected[1, 9] = 1  # 1.0 goes in the top decile, not an eleventh bin
    np.testing.assert_array_equal(tallied.hist, expected)


def test_tally_misc(tallied):
    # employed (where they are), arrived (by origin), still in origin, reached stable
    # housing (by origin, departed included), summed weeks from arrival to stable.
    assert tallied.misc[:, :5].tolist() == [
        [1, 2, 1, 1, 10 - 2],
        [1, 2, 1, 2, (6 - 0) + (12 - 1)],
    ]
    # All three present are aged 25-54 and recent: people 15-64, employed of them, the
    # same for 25-54 and for 25-54 landed within `recent` weeks; no children.
    assert tallied.misc[:, 5:12].tolist() == [[1, 1, 1, 1, 1, 1, 0], [2, 1, 2, 1, 2, 1, 0]]
    assert tallied.misc[:, 12:].tolist() == [[0, 0], [0, 0]]  # nobody here a year yet


def test_tally_stable_within_a_year_counts_every_arrival_of_a_year_ago():
    """Among all who arrived at least 52 weeks ago (departed included, earlier newcomers
    not), those in stable housing within 52 weeks of arriving, by city of arrival."""
    pop = people(
        6,
        housing=[STABLE, STABLE, SHELTER, DEPARTED, STABLE, STABLE],
        muni=[0, 0, 0, 1, 0, 0],
        origin=[0, 0, 0, 0, 0, 0],
        arrival_week=[0, 5, 10, 2, 30, -100],
        stable_week=[40, 60, -1, 30, 35, 10],
    )
    misc = run_tally(pop, 70, WEIGHTS, 2).misc
    # rows 0-3 arrived a year ago or more; rows 0 (40 weeks) and 3 (28, then left) were
    # stable within a year, row 1 after 55 weeks, row 2 never; row 4 is too recent and
    # row 5 an earlier newcomer.
    assert misc[:, 12:].tolist() == [[4, 2], [0, 0]]


def test_housing_records_first_moves_into_stable_housing_by_origin_and_arrival_week():
    """Only a first move into stable housing of an arrival of the run is recorded: not a
    return to it, not an earlier newcomer's."""
    pop = people(4, housing=SHELTER, muni=[0, 1, 1, 1], origin=[0, 0, 1, 1],
                 arrival_week=[3, 30, 60, -20], stable_week=[-1, -1, 62, -1],
                 employment=MATCHED_JOB, skill=1.0)
    first = first_stable(pop, 2)
    run_housing(pop, 70, housing_params(), search_p=[1.0, 1.0], rent=[500.0, 500.0],
                lettings=np.array([5, 5]), first=first)
    assert (pop.housing == STABLE).all()
    assert pop.stable_week.tolist() == [70, 70, 62, 70]
    # rows 0 and 1 (arrived in city 0); row 2 returned, row 3 is an earlier newcomer
    assert first.reached.tolist() == [2, 0]
    within = np.zeros((2, 200), np.int64)
    within[0, 30] = 1  # 40 weeks after arriving; row 0 took 67
    np.testing.assert_array_equal(first.within_year, within)
    assert first.weeks.tolist() == [(70 - 3) + (70 - 30), 0]


def test_tally_employment_counts_people_15_to_64_and_the_recent_among_25_to_54():
    """Children and seniors hold their household earner's job: not in employment counts."""
    pop = people(
        6,
        age=[CHILD, YOUTH, CORE, CORE, OLDER, SENIOR],
        employment=[SURVIVAL_JOB, NO_JOB, SURVIVAL_JOB, MATCHED_JOB, SURVIVAL_JOB, MATCHED_JOB],
        arrival_week=[0, 0, 0, -300, 0, 0],  # row 3: an earlier newcomer, 320 weeks here
    )
    misc = run_tally(pop, 20, WEIGHTS, 1, recent=260).misc[0]
    assert misc[0] == 5  # employed of everyone (dependants included)
    assert misc[5:7].tolist() == [4, 3]  # aged 15-64: 4, employed 3
    assert misc[7:9].tolist() == [2, 2]  # aged 25-54: both employed
    assert misc[9:11].tolist() == [1, 1]  # 25-54 here at most 260 weeks: row 2 only
    assert misc[11] == 1  # children
    assert misc[1] == 5  # arrivals of the run: the earlier newcomer is not one


def test_ageing_moves_people_up_a_band_at_the_weekly_rate():
    n = 200_000
    pop = people(n, age=[CHILD, CORE, SENIOR, CORE] * (n // 4),
                 housing=[STABLE, STABLE, STABLE, DEPARTED] * (n // 4))
    up = np.array([0.02, 0.0, 0.1, 0.0, 0.0])  # child -> youth 2%, core -> older 10%
    aged = np.zeros(N_AGE, np.int64)
    kernels.step_ageing(pop.age, pop.housing, key(kernels.PROC_AGEING), up, aged)
    children, core = pop.age[0::4], pop.age[1::4]
    assert set(np.unique(children)) == {CHILD, YOUTH}
    assert set(np.unique(core)) == {CORE, OLDER}
    assert (pop.age[2::4] == SENIOR).all()  # the last band stays
    assert (pop.age[3::4] == CORE).all()  # departed people do not age
    assert aged.tolist() == [(children == YOUTH).sum(), 0, (core == OLDER).sum(), 0, 0]
    assert abs((children == YOUTH).mean() - 0.02) < 0.003  # 50,000 rows: sd 0.0006
    assert abs((core == OLDER).mean() - 0.1) < 0.006


def test_job_finding_and_everyday_language_gain_scale_by_age_band():
    n = 100_000
    pop = people(n, age=[CHILD, OLDER] * (n // 2), language=0.0)
    by_age = np.ones((2, N_AGE))
    by_age[0, OLDER] = 0.5  # older people find jobs at half the rate
    by_age[1, CHILD] = 3.0  # children learn three times as fast
    p = integration_params(job_find=0.4, language_gain=0.01)
    run_integration(pop, 1, p, features_table(), by_age=by_age)
    np.testing.assert_allclose(pop.language[0::2], 0.03, rtol=1e-5)
    np.testing.assert_allclose(pop.language[1::2], 0.01, rtol=1e-5)
    # chance = job_find x factor x labour x (0.3 + 0.7 x language)
    found_child = (pop.employment[0::2] == SURVIVAL_JOB).mean()
    found_older = (pop.employment[1::2] == SURVIVAL_JOB).mean()
    assert abs(found_child - 0.4 * (0.3 + 0.7 * 0.03)) < 0.01
    assert abs(found_older - 0.2 * (0.3 + 0.7 * 0.01)) < 0.01


def test_integration_reads_years_here_of_people_who_arrived_before_week_0():
    pop = people(3, arrival_week=[-200, -26, 0], housing=STABLE)
    dims = week_dims(pop, 0, integration_params(adjust=1.0), features_table())
    # networks target: 0.2 + 0.1 x years (capped at 3, a half, none) with no orientation or
    # network (one slice: the targets hold for this week only, so years as of week 0)
    np.testing.assert_allclose(dims[:, 1], [0.5, 0.25, 0.2], rtol=1e-6)


def test_tally_counts_the_actively_homeless_as_toronto_does():
    """Shelter use in the last 13 weeks and not housed (any rental is housing)."""
    pop = people(
        8,
        status=[ASYLUM, ECONOMIC_PR, ECONOMIC_PR, ASYLUM, ASYLUM, ASYLUM, ASYLUM, NON_STATUS],
        housing=[SHELTER, FRIENDS, FRIENDS, PRECARIOUS, STABLE, DEPARTED, UNSHELTERED,
                 UNSHELTERED],
        muni=[0, 0, 0, 0, 0, 0, 0, 1],
        shelter_week=[20, 8, 7, 19, 19, 19, -1, 10],
    )
    refugee = np.zeros(N_STATUS, np.bool_)
    refugee[[ASYLUM, NON_STATUS]] = True
    out = run_tally(pop, 20, WEIGHTS, 2, window=13, refugee=refugee)
    # city 0: the claimant in shelter (refugee) and the PR who left shelter 12 weeks ago;
    # not 13 weeks ago, not the renters, not the departed, not someone never in shelter.
    # city 1: a non-status person sleeping rough 10 weeks after shelter (refugee group).
    assert out.homeless.tolist() == [[2, 1], [1, 1]]


def _waiting_for_orientation(n: int) -> SimpleNamespace:
    state = np.zeros((n, N_SERVICE), np.int8)
    state[:, 0] = SVC_WAITING
    return people(n, svc_state=state)


def test_a_referral_that_does_not_fit_costs_intake_hours_and_a_week():
    pop = _waiting_for_orientation(3)
    hours = pool(s0_f0=10.0)
    out = run_services(pop, 4, hours, [2.0, 1, 1, 1], [3, 1, 1, 1], match=[0.0],
                       intake_hours=1.5)
    assert out.started.sum() == 0
    assert (pop.svc_state[:, 0] == SVC_WAITING).all()  # still waiting, place kept
    assert out.misreferred[0, 0] == pytest.approx(4.5)  # 3 x 1.5 hours
    assert out.used[0, 0, 0] == pytest.approx(4.5)
    assert hours[0, 0, 0] == pytest.approx(5.5)
    fit = _waiting_for_orientation(3)
    out = run_services(fit, 4, pool(s0_f0=10.0), [2.0, 1, 1, 1], [3, 1, 1, 1], match=[1.0],
                       intake_hours=1.5)
    assert out.started[0, 0] == 3
    assert out.misreferred.sum() == 0.0


def test_referral_matching_fits_the_stated_share_of_referrals():
    n = 4000
    pop = _waiting_for_orientation(n)
    out = run_services(pop, 4, pool(s0_f0=1e6), [2.0, 1, 1, 1], [3, 1, 1, 1], stream=99,
                       match=[0.75], intake_hours=1.5)
    assert out.started[0, 0] / n == pytest.approx(0.75, abs=0.02)
    assert out.misreferred[0, 0] == pytest.approx((n - out.started[0, 0]) * 1.5)


def test_agency_hours_split_over_services_by_flexibility_and_over_funders_by_share():
    # three agencies in two cities, two services: one follows its waiting lists halfway,
    # one offers nothing, one has no staff
    offered = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    waiting = np.array([[10.0, 30.0], [5.0, 5.0]])
    shares = np.array([[0.75, 0.25], [1.0, 0.0], [0.5, 0.5]])
    out = np.full((3, 2, 2), -1.0)
    kernels.agency_hours(np.array([2.0, 3.0, 0.0]), offered, np.array([0.5, 0.0, 0.0]),
                         np.array([0, 1, 1]), waiting, shares, 10.0, out)
    # 20 hours: half evenly (5 + 5), half by the waiting (10/40, 30/40 of 10: 2.5, 7.5)
    np.testing.assert_allclose(out[0], [[7.5 * 0.75, 7.5 * 0.25], [12.5 * 0.75, 12.5 * 0.25]])
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_array_equal(out[2], 0.0)
