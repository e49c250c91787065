"""Slow, plain-Python twins of numba kernels, written for clarity, used as test oracles.

Each twin works on copies and returns every array the kernel would update or write,
so a test can compare the two for exact equality.
"""

from __future__ import annotations

import numpy as np

from sim.codes import (
    DEPARTED,
    HOUSING_HELP,
    MUNICIPAL,
    N_FUNDER,
    N_SERVICE,
    N_STATUS,
    STABLE,
    SVC_DONE,
    SVC_IN_SERVICE,
    SVC_NONE,
    SVC_WAITING,
)
from sim.kernels import uniforms


def eligibility_classes(hours, eligible, awf, hours_per_week):
    """Twin of ``kernels.eligibility_classes``: 0 a funder with a client-week of hours here
    admits the status, 1 only funders without may, 2 no funder's rules admit it."""
    n_muni = hours.shape[0]
    out = np.zeros((n_muni, N_SERVICE, N_STATUS), np.int8)
    for m in range(n_muni):
        for s in range(N_SERVICE):
            for st in range(N_STATUS):
                admits = [bool(eligible[m, f, st]) or (f == MUNICIPAL and bool(awf[m]))
                          for f in range(N_FUNDER)]
                if any(a and hours[m, s, f] >= hours_per_week[s] for f, a in enumerate(admits)):
                    out[m, s, st] = 0
                elif any(admits):
                    out[m, s, st] = 1
                else:
                    out[m, s, st] = 2
    return out


def step_services(svc_state, svc_week, status, housing, muni, week, key, hours, eligible, awf,
                  hours_per_week, duration, lapse, lapse_unservable, takeup, match=None,
                  intake_hours=0.0):
    """Twin of ``kernels.step_services``.

    Requests first, person by person: a request waiting since an earlier week lapses if
    the person's draw ``s`` is below the lapse chance (the higher unservable chance where
    no funder with hours here admits the status); a service without a request whose
    recorded status is not the person's status records it, and a request is made if a
    funder with hours admits the status, housing help is not asked from stable housing,
    and draw ``4 + s`` is below the take-up.

    Then written service-pool by service-pool rather than person by person: each
    (municipality, service) pool of hours is independent, and within one pool the
    queue is every continuing client (by row), then every waiting client (by row).
    Each client takes one week of hours from the first funder, in funder order, that
    may serve their status and still has at least one week of hours left. A waiting
    client's referral fits if draw ``8 + s`` of their row is below ``match[m]`` (default:
    always); one that does not costs ``intake_hours`` (at most what the funder has left)
    and the client keeps waiting.

    Returns:
        dict of svc_state, svc_week, hours (what is left), used, started, wait_sum,
        completed, requests (lapsed, made again), eligibility, misreferred.
    """
    n_muni = hours.shape[0]
    match = np.ones(n_muni) if match is None else match
    misreferred = np.zeros((n_muni, N_SERVICE))
    svc_state = svc_state.copy()
    svc_week = svc_week.copy()
    hours = hours.copy()
    used = np.zeros((n_muni, N_SERVICE, N_FUNDER))
    started = np.zeros((n_muni, N_SERVICE), np.int64)
    wait_sum = np.zeros((n_muni, N_SERVICE), np.int64)
    completed = np.zeros((n_muni, N_SERVICE), np.int64)
    requests = np.zeros((n_muni, N_SERVICE, 2), np.int64)
    eligibility = eligibility_classes(hours, eligible, awf, hours_per_week)
    n = len(status)
    draws = [uniforms(np.uint64(key), n, j) for j in range(3 * N_SERVICE)]

    for i in range(n):
        if housing[i] == DEPARTED:
            continue
        m, st = muni[i], status[i]
        for s in range(N_SERVICE):
            servable = eligibility[m, s, st] == 0
            if svc_state[i, s] == SVC_WAITING and svc_week[i, s] < week:
                chance = lapse[s] if servable else max(lapse[s], lapse_unservable)
                if draws[s][i] < chance:
                    svc_state[i, s] = SVC_NONE
                    svc_week[i, s] = st
                    requests[m, s, 0] += 1
            elif svc_state[i, s] == SVC_NONE and svc_week[i, s] != st:
                svc_week[i, s] = st
                wants = s != HOUSING_HELP or housing[i] != STABLE
                if servable and wants and draws[N_SERVICE + s][i] < takeup[m, s]:
                    svc_state[i, s] = SVC_WAITING
                    svc_week[i, s] = week
                    requests[m, s, 1] += 1

    for m in range(n_muni):
        here = [i for i in range(len(status)) if housing[i] != DEPARTED and muni[i] == m]
        for s in range(N_SERVICE):
            need = float(hours_per_week[s])
            pool = [float(hours[m, s, f]) for f in range(N_FUNDER)]

            def funder_for(person, need=need, pool=pool, m=m):
                for f in range(N_FUNDER):
                    allowed = bool(eligible[m, f, status[person]]) or (
                        f == MUNICIPAL and bool(awf[m]))
                    if allowed and pool[f] >= need:
                        return f
                return None

            continuing = [i for i in here if svc_state[i, s] == SVC_IN_SERVICE]
            waiting = [i for i in here if svc_state[i, s] == SVC_WAITING]

            for i in continuing:
                f = funder_for(i)
                if f is None:
                    continue
                pool[f] -= need
                used[m, s, f] += need
                weeks_left = int(svc_week[i, s]) - 1
                svc_week[i, s] = weeks_left
                if weeks_left <= 0:
                    svc_state[i, s] = SVC_DONE
                    completed[m, s] += 1

            for i in waiting:
                f = funder_for(i)
                if f is None:
                    continue
                if draws[2 * N_SERVICE + s][i] >= match[m]:  # a referral that does not fit
                    cost = min(float(intake_hours), pool[f])
                    pool[f] -= cost
                    used[m, s, f] += cost
                    misreferred[m, s] += cost
                    continue
                pool[f] -= need
                used[m, s, f] += need
                started[m, s] += 1
                wait_sum[m, s] += week - int(svc_week[i, s])
                if duration[s] <= 1:
                    svc_state[i, s] = SVC_DONE
                    svc_week[i, s] = 0
                    completed[m, s] += 1
                else:
                    svc_state[i, s] = SVC_IN_SERVICE
                    svc_week[i, s] = int(duration[s]) - 1

            for f in range(N_FUNDER):
                hours[m, s, f] = pool[f]

    return {"svc_state": svc_state, "svc_week": svc_week, "hours": hours, "used": used,
            "started": started, "wait_sum": wait_sum, "completed": completed,
            "requests": requests, "eligibility": eligibility, "misreferred": misreferred}
