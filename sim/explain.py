"""Why a waiting list does not shrink: who waits, which funder may serve them, idle hours.

A funder's hours may serve only the statuses its rules admit (``services.eligibility``;
municipal hours admit everyone under access without fear). When hours sit idle while
people wait, more money from that funder will not shorten the wait: eligibility binds.
``waiting_by_funder`` makes that visible for the week just stepped. It passes over every
migrant row, so it is computed on request, not every week (the weekly rows carry the
cheap part: ``hours_idle_<service>`` and ``hours_idle_while_waiting_<service>``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.codes import (
    DEPARTED,
    ELIG_WITH_HOURS,
    FUNDERS,
    MUNICIPAL,
    N_STATUS,
    SERVICES,
    STATUSES,
    SVC_WAITING,
)
from sim.mesa_import import mesa
from sim.outputs import idle_hours


def waiting_by_status(model: mesa.Model) -> np.ndarray:
    """People (agents) waiting per (city, service, status) now: int64[m, S, status]."""
    a = model.migrants
    n_muni = len(model.municipalities)
    here = a.housing != DEPARTED
    code = a.muni.astype(np.int64) * N_STATUS + a.status
    out = np.zeros((n_muni, len(SERVICES), N_STATUS), np.int64)
    for s in range(len(SERVICES)):
        rows = here & (a.svc_state[:, s] == SVC_WAITING)
        out[:, s, :] = np.bincount(code[rows], minlength=n_muni * N_STATUS).reshape(
            n_muni, N_STATUS)
    return out


def may_serve(model: mesa.Model) -> np.ndarray:
    """bool[m, funder, status]: whose hours may serve whom in each city this week."""
    awf = np.array([m.policies["access_without_fear"] for m in model.municipalities])
    out = model.eligible.copy()
    out[:, MUNICIPAL, :] |= awf[:, None]
    return out


def waiting_by_funder(model: mesa.Model) -> pd.DataFrame:
    """One row per city and service for the last week stepped (people and hours, scaled).

    Columns: ``waiting``; ``waiting_<status>``; per funder ``hours_available_<f>``,
    ``hours_used_<f>``, ``hours_idle_<f>`` (unused whole client-weeks) and
    ``waiting_eligible_<f>`` (those waiting whom the funder's rules admit);
    ``waiting_no_funder_with_hours`` (those no funder offering hours here this week may
    serve: more hours from these funders cannot reach them; the weekly rows split them into
    ``waiting_no_hours_<service>`` and ``waiting_no_funder_<service>``, after the week's
    moves); and ``binds``: "eligibility" (hours idle while some of those waiting have no
    funder with hours here), "hours" (everyone waiting has such a funder, or no hours sit
    idle) or "none".
    """
    if not model.municipal_history:
        raise ValueError("no week has been stepped yet")
    k = model.scale
    stats = model.week_stats
    need = model.hours_per_week
    waiting = waiting_by_status(model)
    rules = may_serve(model)
    idle = idle_hours(stats, need)
    records = []
    for m, city in enumerate(model.municipalities):
        for s, service in enumerate(SERVICES):
            row: dict = {"week": model.week - 1, "municipality": city.name, "service": service,
                         "waiting": waiting[m, s].sum() * k}
            row.update({f"waiting_{st}": waiting[m, s, j] * k for j, st in enumerate(STATUSES)})
            reachable = stats["eligibility"][m, s] == ELIG_WITH_HOURS
            for f, funder in enumerate(FUNDERS):
                row[f"hours_available_{funder}"] = stats["hours_offered"][m, s, f] * k
                row[f"hours_used_{funder}"] = stats["hours_used"][m, s, f] * k
                row[f"hours_idle_{funder}"] = idle[m, s, f] * k
                row[f"waiting_eligible_{funder}"] = waiting[m, s, rules[m, f]].sum() * k
            row["waiting_no_funder_with_hours"] = waiting[m, s, ~reachable].sum() * k
            if row["waiting"] == 0:
                row["binds"] = "none"
            else:
                # Eligibility binds when hours sit idle while some of those waiting have no
                # funder with hours here; if every waiting person has one, hours bind.
                unreachable = row["waiting_no_funder_with_hours"] > 0
                row["binds"] = ("eligibility" if idle[m, s].sum() > 0 and unreachable
                                else "hours")
            records.append(row)
    return pd.DataFrame.from_records(records)
