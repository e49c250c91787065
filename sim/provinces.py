"""Per-city tables from the province rules (``[provinces.<P>]``), for the kernels.

The kernels index cities, not provinces, so each rule becomes an array over cities here; a
city whose province has no table gets the national rule. Pure functions of the scenario:
the model rebuilds them when a timeline changes a parameter (``ReceptionModel._constants``).
"""

from __future__ import annotations

import numpy as np

from sim.codes import FEDERAL, FUNDERS, N_SERVICE, N_STATUS, PROVINCIAL, SERVICES, STATUSES
from sim.params import Scenario


def eligibility(sc: Scenario) -> np.ndarray:
    """bool[city, funder, status]: whom each funder's hours may serve in each city."""
    national = np.zeros((len(FUNDERS), N_STATUS), np.bool_)
    for f, name in enumerate(FUNDERS):
        for status in sc.services.eligibility.get(name, []):
            national[f, STATUSES.index(status)] = True
    out = np.repeat(national[None], len(sc.municipalities), axis=0)
    for i, m in enumerate(sc.municipalities):
        rule = sc.provinces.get(m.province)
        if rule is not None and rule.eligibility is not None:
            out[i, PROVINCIAL] = False
            out[i, PROVINCIAL, [STATUSES.index(s) for s in rule.eligibility]] = True
    return out


def income_without_job(sc: Scenario) -> np.ndarray:
    """float64[city, status] CAD/month: income of a person without a job (assistance)."""
    out = np.full((len(sc.municipalities), N_STATUS), sc.employment.income_none)
    for i, m in enumerate(sc.municipalities):
        rule = sc.provinces.get(m.province)
        for status, amount in (rule.social_assistance.items() if rule else ()):
            out[i, STATUSES.index(status)] = amount
    return out


def delivered_by_province(sc: Scenario) -> np.ndarray:
    """bool[city, service]: federal hours of the service are delivered by the province."""
    out = np.zeros((len(sc.municipalities), N_SERVICE), np.bool_)
    for i, m in enumerate(sc.municipalities):
        rule = sc.provinces.get(m.province)
        for service in (rule.delivers_federal_services if rule else ()):
            out[i, SERVICES.index(service)] = True
    return out


def hand_over(hours: np.ndarray, delivered: np.ndarray) -> np.ndarray:
    """Hours[city, service, funder] with federal hours of delivered services made provincial.

    Under the Canada-Québec Accord the federal money pays, but the province delivers: the
    hours serve whom the provincial rules admit. Money is still booked to its funder.
    """
    out = hours.copy()
    if not delivered.any():  # outside Québec: nothing to hand over (most cities, most weeks)
        return out
    out[:, :, PROVINCIAL] += np.where(delivered, hours[:, :, FEDERAL], 0.0)
    out[:, :, FEDERAL] = np.where(delivered, 0.0, hours[:, :, FEDERAL])
    return out


def stream_pull(sc: Scenario, stream: str) -> np.ndarray:
    """float64[city]: the province's multiplier on each city's pull for ``stream``."""
    return np.array([sc.provinces[m.province].stream_pull.get(stream, 1.0)
                     if m.province in sc.provinces else 1.0 for m in sc.municipalities])
