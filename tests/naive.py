"""Slow, plain-Python twins of numba kernels, written for clarity, used as test oracles.

Each twin works on copies and returns every array the kernel would update or write,
so a test can compare the two for exact equality.
"""

from __future__ import annotations

import numpy as np

from sim.codes import (
    DEPARTED,
    MUNICIPAL,
    N_FUNDER,
    N_SERVICE,
    SVC_DONE,
    SVC_IN_SERVICE,
    SVC_WAITING,
)
from sim.kernels import uniforms


def step_services(svc_state, svc_week, status, housing, muni, week, hours, eligible, awf,
                  hours_per_week, duration, key=0, match=None, intake_hours=0.0):
    """Twin of ``kernels.step_services``.

    Written service-pool by service-pool rather than person by person: each
    (municipality, service) pool of hours is independent, and within one pool the
    queue is every continuing client (by row), then every waiting client (by row).
    Each client takes one week of hours from the first funder, in funder order, that
    may serve their status and still has at least one week of hours left. A waiting
    client's referral fits if draw ``s`` of their row is below ``match[m]`` (default:
    always); one that does not costs ``intake_hours`` (at most what the funder has left)
    and the client keeps waiting.

    Returns:
        dict of svc_state, svc_week, hours (what is left), used, started, wait_sum,
        completed, misreferred.
    """
    n_muni = hours.shape[0]
    match = np.ones(n_muni) if match is None else match
    draws = [uniforms(np.uint64(key), len(status), s) for s in range(N_SERVICE)]
    misreferred = np.zeros((n_muni, N_SERVICE))
    svc_state = svc_state.copy()
    svc_week = svc_week.copy()
    hours = hours.copy()
    used = np.zeros((n_muni, N_SERVICE, N_FUNDER))
    started = np.zeros((n_muni, N_SERVICE), np.int64)
    wait_sum = np.zeros((n_muni, N_SERVICE), np.int64)
    completed = np.zeros((n_muni, N_SERVICE), np.int64)

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
                if draws[s][i] >= match[m]:  # a referral that does not fit
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
            "misreferred": misreferred}
