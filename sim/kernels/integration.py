"""Process 6: ageing, language and jobs; what the five integration dimensions' targets share.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import (
    DEPARTED,
    EMPLOYMENT_SVC,
    LANGUAGE,
    MATCHED_JOB,
    N_AGE,
    N_SERVICE,
    N_STATUS,
    NO_JOB,
    NON_STATUS,
    ORIENTATION,
    PERMANENT_STATUSES,
    SURVIVAL_JOB,
    SVC_IN_SERVICE,
)
from sim.kernels.base import (
    NOTE_ROWS,
    _in_blocks,
    _mix,
    _served,
    _uniform,
    byte_is,
    next_block,
    noted_rows,
    row_words,
    visits,
    visits_between,
)


class IntegrationParams(NamedTuple):
    """Language, employment and integration-dimension parameters (weekly rates)."""

    language_gain: float
    language_gain_in_class: float
    job_find: float
    match: float
    service_boost: float
    job_loss: float
    no_permit_factor: float
    adjust: float
    quality_weight: float
    # status security (safety target) and base access by status; the non-status values
    # without a city policy, with access without fear, and with it covering police
    security_permanent: float
    security_temporary: float
    security_non_status: float
    security_non_status_awf: float
    security_non_status_awf_police: float
    access_with_status: float
    access_non_status: float
    access_non_status_awf: float


# Columns of the per-municipality feature table given to step_integration.
# MF_SHELTER_QUALITY: mean quality of the places people in shelter sleep in (regular beds
# 1, emergency places their kind's quality); scales the safety target of shelter residents.
MF_LABOUR, MF_NETWORK, MF_SENTIMENT, MF_AWF, MF_WELCOMING, MF_SHELTER_QUALITY = range(6)
MF_AWF_POLICE = 6  # the city's access-without-fear policy also covers police
N_MF = 7

_PERMANENT = np.array([s in PERMANENT_STATUSES for s in range(N_STATUS)])


@njit(cache=True)
def integration_tables(p, features, quality):
    """What the integration step and the dimensions' targets need that is the same for many
    people, worked out once.

    Per city: the quality factors of language, employment and orientation services and
    the root of sentiment; per (services requested, received): the services term of access;
    per (city, status): base access and status security. The same operations as per
    person, so the same numbers, without per-row branches.
    """
    n_muni = features.shape[0]
    q_lang = np.empty(n_muni)
    q_emp = np.empty(n_muni)
    q_or = np.empty(n_muni)
    root_sentiment = np.empty(n_muni)
    for m in range(n_muni):
        q_lang[m] = 1.0 - p.quality_weight + p.quality_weight * quality[m, LANGUAGE]
        q_emp[m] = 1.0 - p.quality_weight + p.quality_weight * quality[m, EMPLOYMENT_SVC]
        q_or[m] = 1.0 - p.quality_weight + p.quality_weight * quality[m, ORIENTATION]
        root_sentiment[m] = features[m, MF_SENTIMENT] ** 0.5
    access = np.empty((N_SERVICE + 1, N_SERVICE + 1))
    for requested in range(N_SERVICE + 1):
        for received in range(N_SERVICE + 1):
            access[requested, received] = (0.5 * received / requested if requested > 0
                                           else 0.25)
    # per (city, status): base access to public services and status security, which access
    # without fear changes for non-status people only (through the IntegrationParams values)
    base_access = np.full((n_muni, N_STATUS), p.access_with_status)
    security = np.empty((n_muni, N_STATUS))
    for m in range(n_muni):
        awf = features[m, MF_AWF] > 0.5
        police = features[m, MF_AWF_POLICE] > 0.5
        for st in range(N_STATUS):
            security[m, st] = p.security_permanent if _PERMANENT[st] else p.security_temporary
        base_access[m, NON_STATUS] = p.access_non_status_awf if awf else p.access_non_status
        security[m, NON_STATUS] = (p.security_non_status if not awf
                                   else p.security_non_status_awf_police if police
                                   else p.security_non_status_awf)
    return q_lang, q_emp, q_or, root_sentiment, access, base_access, security


@njit(cache=True)
def _job_chance_max(p, features, q_emp, by_age):
    """The highest weekly chance of a job event of any row (skill and language at most 1)."""
    boost = 1.0 + p.service_boost * max(0.0, q_emp.max())
    labour = max(0.0, features[:, MF_LABOUR].max())
    permit = max(1.0, p.no_permit_factor)
    find = p.job_find * max(0.0, by_age[0].max()) * labour * boost * permit
    keep_or_match = p.job_loss + (1.0 - p.job_loss) * p.match * labour * boost * permit
    return min(1.0, max(find, keep_or_match))


if N_AGE != 5:
    raise ImportError("integration._of_band is written out for five age bands")


@njit(cache=True, inline="always")
def _of_band(table, a):
    """``table[a]`` for an age band ``a``, as selects rather than a load at an index, so that
    LLVM vectorizes the loop it is in (with the load it did not: 1.7 against 0.5 ns a row
    for the language of 1M rows)."""
    return (table[0] if a == 0 else table[1] if a == 1 else table[2] if a == 2
            else table[3] if a == 3 else table[4])


@njit(cache=True, inline="always")
def _learned(level, gain):
    """A language level after a week at a weekly ``gain`` (of what is left to learn)."""
    return min(1.0, level + gain * (1.0 - level))


@njit(cache=True, nogil=True)
def _integration_block(work, status, housing, muni, employment, skill, language, age,
                       svc_state, svc, key, p, features, quality, by_age, out_jobs):
    """Language and jobs, one week, in the blocks of rows this call takes (``next_block``;
    the five dimensions are settled at the end of the week from the situation then:
    ``sim.kernels.dims``).

    Args:
        features: float64[m, N_MF] (labour demand, network density, sentiment, access
            without fear, welcoming strategy, shelter quality, policy covers police).
            quality: float64[m, S] agency quality.
        by_age: float64[2, N_AGE]: job finding and everyday language gain relative to
            the core working age. A dependant's (child's, senior's) job is its household
            earner's: it is found at the dependant's factor (1 by default).
        out_jobs: int64[m, 2] tallies: first jobs found, matched jobs found.
    """
    q_lang, q_emp = integration_tables(p, features, quality)[:2]
    p_max = _job_chance_max(p, features, q_emp, by_age)
    # a week's language gain: everyday by age band, plus in class by city
    everyday, in_class = p.language_gain * by_age[1], p.language_gain_in_class * q_lang
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            return
        _integration_rows(lo, hi, status, housing, muni, employment, skill, language, age,
                          svc_state, svc, key, p, features, by_age, everyday, in_class, q_emp,
                          p_max, out_jobs)


@njit(cache=True)
def _integration_rows(lo, hi, status, housing, muni, employment, skill, language, age,
                      svc_state, svc, key, p, features, by_age, everyday, in_class, q_emp, p_max,
                      out_jobs):
    """``_integration_block`` of rows lo:hi (``svc``: ``row_words(svc_state)``; ``q_emp``:
    ``integration_tables``; ``p_max``: ``_job_chance_max``)."""
    # Language, every row: without a branch for the rows not in a language class (LLVM
    # vectorizes the loop: no load at a row's index into a table), noting those in one,
    # whose gain also depends on their city's class quality; then those (``noted_rows``).
    noted, rows = np.empty(NOTE_ROWS, np.uint8), np.empty(NOTE_ROWS, np.uint32)
    for c0 in range(lo, hi, NOTE_ROWS):
        c1 = min(hi, c0 + NOTE_ROWS)
        for i in range(np.uint64(c0), np.uint64(c1)):  # unsigned: no negative-index checks
            here = housing[i] != DEPARTED
            in_language_class = byte_is(svc[i], LANGUAGE, SVC_IN_SERVICE)
            level = language[i]
            language[i] = (_learned(level, _of_band(everyday, age[i]))
                           if here & (not in_language_class) else level)
            noted[i - np.uint64(c0)] = here & in_language_class
        for k in range(noted_rows(noted, c1 - c0, c0, rows)):
            i = rows[k]
            language[i] = _learned(language[i], everyday[age[i]] + in_class[muni[i]])
    # Job events are rare (a few per cent of rows a week): the rows that may have one are
    # picked at the highest weekly chance of any (``_job_candidates``), and each keeps its
    # own chance over that (thinning), so most rows take no draw. A picked row finds a
    # first job, loses one, or moves from a survival job to a matched one, each with its own
    # weekly chance (one draw over ``p_max``), at this week's language level. Written out
    # here: a helper taking the arrays costs reference counts (section 7 of
    # docs/performance.md).
    for i in _job_candidates(key, p_max, status.shape[0], lo, hi):
        if housing[i] == DEPARTED:
            continue
        m, s, a = np.uint32(muni[i]), np.uint32(status[i]), np.uint32(age[i])
        lang = language[i]
        u = _uniform(key, i, 0) * p_max
        boost = 1.0 + p.service_boost * q_emp[m] * _served(svc_state[i, 2])
        permit = p.no_permit_factor if s == NON_STATUS else 1.0
        # Without a branch on the job (random from row to row): each outcome's test, then
        # the one that applies.
        job = employment[i]
        finds = (job == NO_JOB) & (u < (p.job_find * by_age[0, a] * features[m, MF_LABOUR]
                                        * (0.3 + 0.7 * lang) * boost * permit))
        loses = (job != NO_JOB) & (u < p.job_loss)
        matches = (job == SURVIVAL_JOB) & (not loses) & (u < p.job_loss + (1.0 - p.job_loss) * (
            p.match * features[m, MF_LABOUR] * skill[i] * lang * boost * permit))
        employment[i] = (SURVIVAL_JOB if finds else NO_JOB if loses
                         else MATCHED_JOB if matches else job)
        out_jobs[m, 0] += finds
        out_jobs[m, 1] += matches


JOB_STREAM_ROWS = 1 << 16  # rows of one stream of job-event visits, whatever the blocks


@njit(cache=True)
def _job_candidates(key, p_max, n, lo, hi):
    """The rows lo:hi (of ``n``) picked at the weekly chance ``p_max``: every
    ``JOB_STREAM_ROWS`` rows from row 0 draw their own ``visits``, so the picks do not
    depend on how the rows are cut into blocks (``sim.threads.BLOCK``)."""
    out = np.empty(hi - lo, np.uint64)
    count = 0
    start = lo - lo % JOB_STREAM_ROWS
    while start < hi:
        rows = min(n, start + JOB_STREAM_ROWS) - start
        got = visits_between(_mix(key ^ np.uint64(start)), p_max, rows, max(lo, start) - start,
                             min(hi, start + rows) - start)
        out[count:count + got.shape[0]] = got + np.uint64(start)
        count += got.shape[0]
        start += JOB_STREAM_ROWS
    return out[:count]


def step_integration(status, housing, muni, employment, skill, language, age, svc_state, key, p,
                     features, quality, by_age, out_jobs):
    """``_integration_block`` over all rows, block by block on threads (``sim.threads``)."""
    _in_blocks(_integration_block, status.shape[0], (
        status, housing, muni, employment, skill, language, age, svc_state,
        row_words(svc_state), key, p, features, quality, by_age), out_jobs)


@njit(cache=True)
def step_ageing(age, housing, key, up_p, out_aged):
    """People move to the next age band at a weekly chance (1 / the band's width in weeks).

    Args:
        up_p: float64[N_AGE] weekly chance of leaving each band (0 for the last).
        out_aged: int64[N_AGE] tallies: people who left each band.
    """
    p_max = min(1.0, up_p.max())
    for i in visits(key, p_max, age.shape[0]):
        a = age[i]
        if housing[i] != DEPARTED and _uniform(key, i, 0) * p_max < up_p[a]:
            age[i] = a + 1
            out_aged[a] += 1
