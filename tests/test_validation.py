"""Checks against theory: the service queue and the shelter stock-flow identity."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NEEDS_SHELTER, scenario
from scipy import stats

from sim import kernels
from sim.arrivals import MAY_ASK
from sim.codes import CORE, N_FUNDER, N_SERVICE, N_STATUS, SVC_DONE, SVC_WAITING
from sim.runner import simulate


def discrete_time_queue_mean(lam: float, c: int, q_max: int = 500) -> float:
    """Stationary mean queue length (after service) of Q' = max(0, Q + A - c), A ~ Poisson.

    Solved on a truncated state space (overflow mass kept at ``q_max``) by power
    iteration of the transition matrix; by Little's law the mean wait (weeks from
    joining to starting) is E[Q]/lam.
    """
    a_max = q_max + c
    a = stats.poisson.pmf(np.arange(a_max + 1), lam)
    a[-1] += stats.poisson.sf(a_max, lam)
    p = np.zeros((q_max + 1, q_max + 1))
    for i in range(q_max + 1):
        nxt = np.clip(i + np.arange(a_max + 1) - c, 0, q_max)
        np.add.at(p[i], nxt, a)
    pi = np.full(q_max + 1, 1.0 / (q_max + 1))
    for _ in range(100_000):
        new = pi @ p
        if np.abs(new - pi).sum() < 1e-14:
            break
        pi = new
    return float(pi @ np.arange(q_max + 1))


def simulate_queue(lam: float, c: int, weeks: int, seed: int) -> tuple[float, float]:
    """Feed step_services Poisson arrivals and c client-weeks of capacity a week.

    Requests never lapse here: the theory is that of a queue without abandonment.

    Every client is a row, in arrival order; each week the kernel sees the rows from
    the first one still waiting to the last arrival. Returns the mean wait of clients
    who started and the time-average queue length after service.
    """
    rng = np.random.default_rng(seed)
    arrivals = rng.poisson(lam, weeks)
    n = int(arrivals.sum())
    joined = np.repeat(np.arange(weeks), arrivals)
    svc_state = np.zeros((n, N_SERVICE), np.int8)
    svc_state[:, 0] = SVC_WAITING
    svc_week = np.zeros((n, N_SERVICE), np.int16)
    svc_week[:, 0] = joined  # weeks < 32768 fit the model's int16 week columns
    zeros8, zeros16 = np.zeros(n, np.int8), np.zeros(n, np.int16)
    ages = np.full(n, CORE, np.int8)
    eligible = np.ones((1, N_FUNDER, N_STATUS), np.bool_)
    awf = np.zeros(1, np.bool_)
    per_week = np.ones(N_SERVICE)
    duration = np.ones(N_SERVICE, np.int64)
    used = np.zeros((1, N_SERVICE, N_FUNDER))
    started = np.zeros((1, N_SERVICE), np.int64)
    wait_sum = np.zeros((1, N_SERVICE), np.int64)
    done = np.zeros((1, N_SERVICE), np.int64)
    no_lapse = kernels.RequestParams(np.zeros(N_SERVICE), 0.0, np.zeros((1, N_SERVICE)),
                                     MAY_ASK)
    requests = np.zeros((1, N_SERVICE, 2), np.int64)
    eligibility = np.empty((1, N_SERVICE, N_STATUS), np.int8)
    first, last, queue_sum, warmup = 0, 0, 0, 1000
    for week in range(weeks):
        last += arrivals[week]
        if week == warmup:
            started[:] = 0
            wait_sum[:] = 0
        hours = np.zeros((1, N_SERVICE, N_FUNDER))
        hours[0, 0, 0] = c
        w = slice(first, last)
        kernels.step_services(svc_state[w], svc_week[w], zeros8[w], ages[w], zeros8[w],
                              zeros16[w], week, kernels.stream_key(seed, week, 0), hours,
                              eligible, awf, per_week, duration, no_lapse, np.ones(1), 0.0, used,
                              started, wait_sum, done, requests, eligibility,
                              np.zeros((1, N_SERVICE)))
        first += int(np.argmax(svc_state[first:last, 0] != SVC_DONE)) if last > first and \
            (svc_state[first:last, 0] != SVC_DONE).any() else last - first
        if week >= warmup:
            queue_sum += last - first
    return wait_sum[0, 0] / started[0, 0], queue_sum / (weeks - warmup)


@pytest.mark.parametrize("load", [0.5, 0.8, 0.95])
def test_service_queue_matches_discrete_time_theory(load):
    c = 20
    lam = load * c
    theory_queue = discrete_time_queue_mean(lam, c)
    runs = [simulate_queue(lam, c, weeks=30_000, seed=seed) for seed in range(20)]
    wait = float(np.mean([r[0] for r in runs]))
    queue = float(np.mean([r[1] for r in runs]))
    assert queue == pytest.approx(theory_queue, rel=0.02, abs=0.002)
    assert wait == pytest.approx(theory_queue / lam, rel=0.02, abs=0.0002)  # Little's law


def test_queue_theory_helper_on_a_known_case():
    # With capacity far above arrivals nobody ever waits.
    assert discrete_time_queue_mean(1.0, 20, q_max=200) < 1e-6
    # Load above one: the truncated chain piles up at the cap.
    assert discrete_time_queue_mean(25.0, 20, q_max=300) > 250


def test_shelter_stock_follows_arrivals_minus_exits_to_the_person():
    # Deterministic housing: every searcher finds a unit while lettings last, and the
    # lettings are a whole number of agents each week (no random rounding). Nobody leaves
    # shelter any other way.
    sc = scenario({
        "run": {"weeks": 80, "scale": 1},
        "streams": {"economic_pr": {"per_year": 0},
                    "asylum_claimant": {"per_year": 3000, "housing_on_arrival": NEEDS_SHELTER}},
        "status": {"emigration_per_year": 0.0},
        "claims_board": {"decisions_per_year": 0.0},  # no claim is decided: nobody departs
        "moves": {"base_per_year": 0.0},
        "employment": {"job_find_per_week": 0.0},  # nobody can afford to move on again
        "housing": {"search_rate": 1.0, "reference_vacancy": 0.01, "discrimination": 0.0,
                    "rental_turnover_per_year": 0.26, "newcomer_share_of_lettings": 1.0,
                    "stable_loss_per_week": 0.0, "precarious_loss_per_week": 0.0,
                    "friends_breakdown_per_week": 0.0},
        "municipalities": [{"name": "Metro", "population": 500_000, "rental_stock": 80,
                            "vacancy_rate": 0.05, "shelter_beds": 100_000}],
        "agencies": [],
    })
    t = simulate(sc).totals
    occupancy, arrivals, exits = (t[c].to_numpy() for c in
                                  ("shelter_occupancy", "arrivals", "exits_from_shelter"))
    # lettings: 80 units x 0.26 / 52 x 2.5 persons per unit = exactly one person a week
    assert (exits == 1).all()
    expected = np.cumsum(arrivals) - np.concatenate([[0], np.cumsum(exits)[:-1]])
    assert np.array_equal(occupancy, expected)
    assert occupancy[-1] > 2000
