"""The numba core: weekly processes 2 to 7 over the struct-of-arrays migrant state.

Every kernel is a pure function of its arguments (arrays, scalars and NamedTuples
of them): no globals, no Python objects, no hidden random state. It updates the
migrant columns it is given in place and writes its tallies into ``out`` arrays.

Randomness is counter-based: draw ``j`` of migrant ``i`` in a kernel is
``_uniform(key, i, j)``, a SplitMix64 hash of a per-(seed, week, process) ``key``.
Results therefore do not depend on iteration order, threads or executors, and
numba's own generator state is never used. Rare events visit only the rows a weekly
chance picks (``visits``), so a week does not cost a draw per row for them.

Hot loops are single functions over scalars and arrays on purpose: passing arrays to a
helper (inlined or not) or taking a row view (``arr[i]``) costs numba a reference count
per call, several times the work of a row (docs/performance.md).

All helpers live in this module on purpose: numba's cache does not notice edits to
jitted functions imported from other files.

Work whose rows do not depend on each other runs on threads over fixed blocks of rows
(``sim.threads``): such a kernel is a Python function that runs a ``nogil`` numba
``_..._block(lo, hi, ...)`` on every block through ``_in_blocks``, each block adding into its
own partial tallies, added up in block order, so results are the same for any thread count.
First come, first served stays sequential, in row order (docs/performance.md section 10).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import threads
from sim.codes import (
    ASYLUM,
    CHILD,
    CORE,
    DEPARTED,
    ECONOMIC_PR,
    ELIG_NO_FUNDER,
    ELIG_NO_HOURS,
    ELIG_WITH_HOURS,
    EMPLOYMENT_SVC,
    FRIENDS,
    HOUSING_HELP,
    INTERIM,
    LANGUAGE,
    MATCHED_JOB,
    MUNICIPAL,
    N_AGE,
    N_DIM,
    N_FUNDER,
    N_SERVICE,
    N_STATUS,
    NO_JOB,
    NON_STATUS,
    ORIENTATION,
    PERMANENT_STATUSES,
    PRECARIOUS,
    PROTECTED,
    SENIOR,
    SHELTER,
    STABLE,
    STUDENT,
    SURVIVAL_JOB,
    SVC_DONE,
    SVC_IN_SERVICE,
    SVC_NONE,
    SVC_WAITING,
    TEMP_WORKER,
    UNSHELTERED,
    WEEKS_PER_YEAR,
    YOUTH,
)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ODD = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# step_services and the tally test the four services unrolled, without branching on each.
assert N_SERVICE == 4, "kernels unroll the four services"

# Process ids for stream keys: one independent random stream per process and week.
PROC_STATUS, PROC_RECEPTION, PROC_HOUSING, PROC_INTEGRATION, PROC_MOVES = 1, 2, 3, 4, 5
PROC_AGEING = 6
PROC_SERVICES = 8  # (7 is the earlier newcomers' warm-up: sim.earlier)


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective, well-mixed hash of 64 bits."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def _stream_key(seed: int, week: int, process: int) -> np.uint64:
    z = _mix(np.uint64(seed) + _GOLDEN)
    z = _mix(z ^ (np.uint64(week) * _ODD))
    return _mix(z + np.uint64(process) * _GOLDEN)


def stream_key(seed: int, week: int, process: int) -> np.uint64:
    """The key of one process's random stream in one week of one run.

    Returned as ``np.uint64``: numba hands a uint64 back to Python as an int, which it
    would later read as int64 and overflow for half of all keys.
    """
    return np.uint64(_stream_key(seed, week, process))


@njit(cache=True, inline="always")
def _uniform(key: np.uint64, i: int, j: int) -> float:
    """Uniform [0, 1) draw number ``j`` of row ``i`` in the stream ``key``."""
    z = _mix(np.uint64(key) + np.uint64(i) * _GOLDEN + np.uint64(j) * _ODD)
    return float(z >> _S11) * _TO_UNIT


# Draw slot of the geometric gaps in `visits` (per-row draws use slots 0-3).
_GAP_SLOT = 7


@njit(cache=True)
def visits(key: np.uint64, p: float, n: int) -> np.ndarray:
    """The rows of ``n`` that a weekly chance ``p`` picks, in row order (uint64 array).

    Rare events (emigration, housing losses and search, moves, job events) pick rows by
    geometric gaps: each row is still picked independently with chance ``p``, but a week
    costs about ``p * n`` draws instead of ``n``. Gap ``k`` of a pass is draw ``_GAP_SLOT``
    of "row" ``k``. A kernel keeps a picked row with its own chance over ``p`` (thinning).
    """
    # Unsigned rows: kernels then index with them without a check for negative indices.
    picked = np.empty(n, np.uint64)  # pages never written are never touched
    if p <= 0.0:
        return picked[:0]
    log_q = np.log1p(-min(p, 1.0))  # -inf for p = 1: every gap is 0
    count = 0
    i = -1
    while True:
        gap = 0.0 if p >= 1.0 else np.log(1.0 - _uniform(key, count, _GAP_SLOT)) / log_q
        i += 1 + int(min(gap, n))
        if i >= n:
            return picked[:count]
        picked[count] = i
        count += 1


@njit(cache=True, inline="always")
def _served(state: int) -> bool:
    return state == SVC_IN_SERVICE or state == SVC_DONE


@njit(cache=True)
def uniforms(key: np.uint64, n: int, j: int) -> np.ndarray:
    """``n`` draws ``_uniform(key, i, j)`` for i < n (for tests and Python-side use)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = _uniform(key, i, j)
    return out


def _in_blocks(kernel, n: int, args: tuple, out=None) -> np.ndarray | None:
    """``kernel(lo, hi, *args[, part])`` on every block of rows (``sim.threads``); the parts
    are then added into ``out`` in block order. Returns what each block's call returned.

    ``out`` is an array, a NamedTuple of arrays or None; ``part`` is block ``b``'s own zeroed
    copy of it, so threads never share a tally and float sums do not depend on the thread
    count. Kernels that list rows return how many they listed (``_listed``), an int or a
    tuple of ints per block.
    """
    arrays = () if out is None else tuple(out) if isinstance(out, tuple) else (out,)
    count = threads.n_blocks(n)
    if count == 1 and not any(a.any() for a in arrays):
        # One block adding into zeroed outputs: its sums are the outputs, so it writes them
        # directly (the same numbers; small runs skip the copies, ~10 us a call).
        got = kernel(0, n, *args, *(() if out is None else (out,)))
        return None if got is None else np.array([got], np.int64)
    parts = [np.zeros((count, *a.shape), a.dtype) for a in arrays]
    returned = [None] * count

    def block(b: int, lo: int, hi: int) -> None:
        mine = [part[b] for part in parts]
        if out is not None:
            mine = [type(out)(*mine) if isinstance(out, tuple) else mine[0]]
        returned[b] = kernel(lo, hi, *args, *mine)

    threads.each_block(n, block)
    for a, part in zip(arrays, parts, strict=True):
        for b in range(count):
            a += part[b]
    return np.array(returned, np.int64) if returned[0] is not None else None


@njit(cache=True)
def _listed(rows, found, block):
    """The rows that blocks listed in ``rows`` (block ``b`` from row ``b * block``, ``found[b]``
    of them), in row order."""
    out = np.empty(found.sum(), rows.dtype)
    k = 0
    for b in range(found.shape[0]):
        out[k:k + found[b]] = rows[b * block:b * block + found[b]]
        k += found[b]
    return out


# --------------------------------------------------------------------------- 2. status


class StatusParams(NamedTuple):
    """Weekly probabilities and mean durations of status events (acceptance of claims is
    by cohort: ``ClaimAcceptance``)."""

    rejected_departure: float
    permit_to_pr: float
    permit_renewal: float
    permit_departure: float
    permit_weeks_worker: float
    permit_weeks_student: float
    regularize_per_week: float
    emigrate_per_week: float
    regularized_permit_weeks: float  # mean length of the permit regularization gives


def step_status(status, housing, status_due, arrival_week, week, key, p, claims_quota,
                acceptance, out_events):
    """Asylum decisions, permit expiries, regularization and emigration.

    Regularization gives a non-status person a work permit (temporary_worker) of mean
    length ``regularized_permit_weeks``; at its end the permit rules apply (permanent
    residence, renewal, departure or non-status again), not permanent residence at once.

    Emigration first (rare: by ``visits``); then every row's own events, block by block on
    threads, which list the asylum claims to decide; then those claims in row order, since
    a board's quota takes them first come, first served.

    Args:
        status, housing: int8[n], updated in place.
        status_due: int16[n], week of the next status event (-1 none), updated.
        week: current week; key: stream key; p: StatusParams.
        claims_quota: claims the board decides this week (agents), first come first served
            in row (= claim) order among pending claims whatever their due week; -1: each
            claim is decided in its own due week (fixed delays).
        arrival_week: int16[n]; acceptance: ClaimAcceptance, the chance a claim is
            accepted by the week it was made (its cohort, ``claim_week``).
        out_events: int64[6] tallies: accepted, rejected, permit to PR, to non-status,
            departures, regularized.
    """
    n = status.shape[0]
    _emigration(housing, key, p, out_events)
    claims = np.empty(n, np.uint64)
    found = _in_blocks(_status_block, n, (status, housing, status_due, week, key, p,
                                          claims_quota, claims), out_events)
    _decide_claims(_listed(claims, found, threads.BLOCK), status, housing, status_due,
                   arrival_week, key, p, claims_quota, acceptance, out_events)


@njit(cache=True)
def _emigration(housing, key, p, out_events):
    """Emigration: rows picked at the weekly chance leave (before any status event)."""
    for i in visits(key, p.emigrate_per_week, housing.shape[0]):
        if housing[i] != DEPARTED:
            housing[i] = DEPARTED
            out_events[4] += 1


@njit(cache=True, nogil=True)
def _status_block(lo, hi, status, housing, status_due, week, key, p, claims_quota, claims,
                  out_events):
    """Regularization and permit events of rows lo:hi; lists the asylum claims to decide
    in ``claims[lo:]`` and returns how many."""
    listed = 0
    for i in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index checks
        if housing[i] == DEPARTED:
            continue
        s = status[i]
        if s == NON_STATUS:
            if _uniform(key, i, 1) < p.regularize_per_week:
                status[i] = TEMP_WORKER
                length = -p.regularized_permit_weeks * np.log(1.0 - _uniform(key, i, 3))
                status_due[i] = min(week + 1 + int(length), 32000)
                out_events[5] += 1
            continue
        due = status_due[i]
        if due < 0 or (due > week and not (s == ASYLUM and claims_quota >= 0)):
            continue
        if s == ASYLUM:
            claims[lo + listed] = i
            listed += 1
            continue
        u = _uniform(key, i, 2)
        if s == TEMP_WORKER or s == STUDENT:
            if u < p.permit_to_pr:
                status[i] = ECONOMIC_PR
                status_due[i] = -1
                out_events[2] += 1
            elif u < p.permit_to_pr + p.permit_renewal:
                mean = p.permit_weeks_worker if s == TEMP_WORKER else p.permit_weeks_student
                length = -mean * np.log(1.0 - _uniform(key, i, 3))
                status_due[i] = min(week + 1 + int(length), 32000)
            elif u < p.permit_to_pr + p.permit_renewal + p.permit_departure:
                housing[i] = DEPARTED
                status_due[i] = -1
                out_events[4] += 1
            else:
                status[i] = NON_STATUS
                status_due[i] = -1
                out_events[3] += 1
    return listed


class ClaimAcceptance(NamedTuple):
    """Acceptance by the week a claim was made: ``by_week[w - first]`` for week ``w``.

    The first ``stock_rows`` rows (the claimants in shelter at week 0) made their claims
    before the run: they count as claims of week -1, whatever their arrival week.
    """

    by_week: np.ndarray  # float64, weeks first .. first + len - 1
    first: int
    stock_rows: int


@njit(cache=True, inline="always")
def claim_week(i, arrival_week, acceptance):
    """The week row ``i``'s claim was made: its arrival week, week -1 for the week-0 stock."""
    return -1 if i < acceptance.stock_rows else arrival_week[i]


@njit(cache=True)
def _decide_claims(claims, status, housing, status_due, arrival_week, key, p, claims_quota,
                   acceptance, out_events):
    """Decide the listed claims in row order, at most ``claims_quota`` (-1: all), each
    accepted at the rate of the week it was made."""
    for k in range(claims.shape[0]):
        if claims_quota >= 0 and k >= claims_quota:
            return
        i = claims[k]
        status_due[i] = -1
        rate = acceptance.by_week[claim_week(i, arrival_week, acceptance) - acceptance.first]
        if _uniform(key, i, 2) < rate:
            status[i] = PROTECTED
            out_events[0] += 1
        else:
            out_events[1] += 1
            if _uniform(key, i, 3) < p.rejected_departure:
                housing[i] = DEPARTED
                out_events[4] += 1
            else:
                status[i] = NON_STATUS
                out_events[3] += 1


# --------------------------------------------------------------------------- 3. reception


class LossParams(NamedTuple):
    """Weekly chances of losing a temporary or precarious place to sleep."""

    friends_breakdown: float
    precarious_loss: float
    lost_to_friends: float


def step_reception(housing, muni, shelter_week, week, key, p, beds, interim_places,
                   overflow_places, capped, out_occupancy):
    """Housing losses, then shelter placement first come, first served; then everyone
    in shelter or interim housing has this week recorded as ``shelter_week``.

    People who lose a stay with friends or a precarious tenancy either find other
    friends or need shelter. Everyone unsheltered then asks for a bed: regular beds
    first, then federally funded interim places, then (where the city does not cap
    intake) paid overflow places; whoever is left stays unsheltered.

    Args:
        housing: int8[n] updated; muni: int16[n]; shelter_week: int16[n] updated.
        p: LossParams. beds, interim_places, overflow_places: int64[m] capacities in
            agents. capped: bool[m], the city refuses intake beyond its beds.
        out_occupancy: int64[m, 3] written: shelter (incl. overflow), interim,
            unsheltered after placement.
    """
    n = housing.shape[0]
    _housing_losses(housing, key, p)
    # Who sleeps where, block by block on threads: per city in shelter and in interim
    # housing, and the rows sleeping rough (listed in row order).
    placed = np.zeros((beds.shape[0], 2), np.int64)
    seekers = np.empty(n, np.uint64)
    found = _in_blocks(_sleeping_block, n, (housing, muni, shelter_week, week, seekers), placed)
    _place_seekers(_listed(seekers, found, threads.BLOCK), housing, muni, shelter_week, week,
                   beds, interim_places, overflow_places, capped, placed, out_occupancy)


@njit(cache=True)
def _housing_losses(housing, key, p):
    """Stays with friends and precarious tenancies that end this week (rare: ``visits``)."""
    p_max = min(1.0, max(p.friends_breakdown, p.precarious_loss))
    for i in visits(key, p_max, housing.shape[0]):
        h = housing[i]
        if (h == FRIENDS) | (h == PRECARIOUS) and _uniform(key, i, 0) * p_max < (
                p.friends_breakdown if h == FRIENDS else p.precarious_loss):
            housing[i] = FRIENDS if _uniform(key, i, 1) < p.lost_to_friends else UNSHELTERED


@njit(cache=True, nogil=True)
def _sleeping_block(lo, hi, housing, muni, shelter_week, week, seekers, out_placed):
    """Rows lo:hi: count people in shelter and interim housing per city (``out_placed``)
    and record the week as their ``shelter_week``, list those sleeping rough in
    ``seekers[lo:]`` and return how many."""
    n_seekers = 0
    for i in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index checks
        h = housing[i]
        # Every row is written as a seeker and kept if it is one (no branch on a code that
        # is unpredictable); the few in shelter or interim housing take a branch.
        seekers[lo + n_seekers] = i
        n_seekers += h == UNSHELTERED
        if (h == SHELTER) | (h == INTERIM):
            out_placed[muni[i], np.int64(h == INTERIM)] += 1
            shelter_week[i] = week
    return n_seekers


@njit(cache=True)
def _place_seekers(seekers, housing, muni, shelter_week, week, beds, interim_places,
                   overflow_places, capped, placed, out_occupancy):
    """Beds, then interim places, then overflow, first come first served in row order
    (whoever is placed has the week recorded as ``shelter_week``)."""
    n_muni = beds.shape[0]
    shelter = placed[:, 0].copy()
    interim = placed[:, 1].copy()
    unsheltered = np.zeros(n_muni, np.int64)
    for k in range(seekers.shape[0]):
        i = seekers[k]
        m = muni[i]
        if shelter[m] < beds[m]:
            housing[i] = SHELTER
            shelter[m] += 1
        elif interim[m] < interim_places[m]:
            housing[i] = INTERIM
            interim[m] += 1
        elif not capped[m] and shelter[m] < beds[m] + overflow_places[m]:
            housing[i] = SHELTER
            shelter[m] += 1
        else:
            unsheltered[m] += 1
            continue
        shelter_week[i] = week
    for m in range(n_muni):
        out_occupancy[m, 0] = shelter[m]
        out_occupancy[m, 1] = interim[m]
        out_occupancy[m, 2] = unsheltered[m]


# --------------------------------------------------------------------------- 4. housing


class HousingParams(NamedTuple):
    """Search, affordability and income parameters (incomes in CAD/month).

    Income without a job differs by city and status (provincial social assistance), so it
    is a table given to ``step_housing`` beside these.
    """

    affordable_rent_share: float
    housing_help_boost: float
    stable_loss: float
    income_survival: float
    income_matched: float
    second_earner: float


@njit(cache=True, inline="always")
def _household_income(employment: int, skill: float, household: int, p,
                      income_none: float) -> float:
    """Monthly household income: the person's own, plus other earners in larger households."""
    if employment == NO_JOB:
        own = income_none
    elif employment == SURVIVAL_JOB:
        own = p.income_survival
    else:
        own = p.income_survival + (p.income_matched - p.income_survival) * skill
    return own * (1.0 + p.second_earner * min(household - 1, 2))


@njit(cache=True, inline="always")
def _rent_needed(rent: float, household: int) -> float:
    """Rent of a unit for the household: a two-bedroom (rent) fits 2.5 people."""
    return rent * (0.6 + 0.16 * household)


class FirstStable(NamedTuple):
    """Where ``step_housing`` records a first move into stable housing by an arrival of the
    run (``sim.arrival_ledger``): by city of arrival and arrival week, added into."""

    origin: np.ndarray  # int16[n] column
    arrival_week: np.ndarray  # int16[n] column
    reached: np.ndarray  # int64[m, weeks]
    within_year: np.ndarray  # int64[m, weeks]: reached within 52 weeks of arriving
    weeks: np.ndarray  # int64[m] summed weeks from arrival


@njit(cache=True)
def step_housing(housing, muni, status, employment, skill, household, svc_state, stable_week,
                 week, key, p, income_none, search_p, rent, lettings, first, out_moves):
    """Housing search against the lettings newcomers can win this week.

    A searcher (anyone not in stable housing) finds a unit with probability
    ``search_p[m]`` (vacancy and climate), raised by housing help; units are taken
    first come, first served until ``lettings[m]`` run out. An affordable unit
    (rent within ``affordable_rent_share`` of income) is stable housing, any other
    is a precarious rental; people already in precarious rentals only move to
    stable housing. Stable tenancies end with a small weekly chance.

    Args:
        income_none: float64[m, status] CAD/month, a person's income without a job there
            (social assistance of the city's province, ``sim.provinces``).
        search_p: float64[m]; rent: float64[m] CAD/month; lettings: int64[m] units (in
            agents) newcomers can win this week, consumed here.
        first: FirstStable, where first moves into stable housing are recorded.
        out_moves: int64[m, 2] tallies: moves to stable housing, moves out of
            shelter or interim housing.
    """
    # Rows are visited by geometric gaps at the highest weekly chance of any event, and
    # each visited row is kept with its own chance over that (thinning, as in step_moves):
    # in row order, so lettings still go first come, first served.
    boost = np.array([1.0, 1.0 + p.housing_help_boost])
    p_max = min(1.0, max(p.stable_loss, search_p.max() * boost.max()))
    for i in visits(key, p_max, housing.shape[0]):
        h = housing[i]
        m = muni[i]
        if h == STABLE:
            if _uniform(key, i, 0) * p_max < p.stable_loss:
                housing[i] = PRECARIOUS
        elif h != DEPARTED and lettings[m] > 0 and _uniform(key, i, 1) * p_max < (
                search_p[m] * boost[np.int64(_served(svc_state[i, HOUSING_HELP]))]):
            income = _household_income(employment[i], skill[i], household[i], p,
                                       income_none[m, status[i]])
            if _rent_needed(rent[m], household[i]) <= p.affordable_rent_share * income:
                housing[i] = STABLE
                lettings[m] -= 1
                out_moves[m, 0] += 1
                out_moves[m, 1] += (h == SHELTER) | (h == INTERIM)
                if stable_week[i] < 0:
                    stable_week[i] = week
                    aw = first.arrival_week[i]
                    if aw >= 0:  # an arrival of the run (not an earlier newcomer)
                        o = first.origin[i]
                        first.reached[o, aw] += 1
                        first.within_year[o, aw] += week - aw <= WEEKS_PER_YEAR
                        first.weeks[o] += week - aw
            elif h != PRECARIOUS:  # unaffordable: a precarious rental, if not in one
                housing[i] = PRECARIOUS
                lettings[m] -= 1
                out_moves[m, 1] += (h == SHELTER) | (h == INTERIM)


# --------------------------------------------------------------------------- 5. services


@njit(cache=True, inline="always")
def _funder_for(hours, m, s, status, eligible, awf, need):
    """First funder (federal, provincial, municipal, charity) with hours the person may use."""
    for f in range(N_FUNDER):
        ok = eligible[m, f, status] or (f == MUNICIPAL and awf[m])
        if ok and hours[m, s, f] >= need:
            return f
    return -1


@njit(cache=True, inline="always")
def _pool_open(hours, m, s, need):
    """Whether any funder of pool (m, s) still has ``need`` hours."""
    for f in range(N_FUNDER):
        if hours[m, s, f] >= need:
            return True
    return False


@njit(cache=True)
def _update_servable(servable, hours, m, s, eligible, awf, need):
    """Which statuses some funder of pool (m, s) with ``need`` hours left may serve."""
    for status in range(servable.shape[2]):
        servable[m, s, status] = _funder_for(hours, m, s, status, eligible, awf, need) >= 0


@njit(cache=True)
def eligibility_classes(hours, eligible, awf, hours_per_week, out):
    """Why someone of each status would wait in each pool: ``ELIG_*`` into int8[m, S, status].

    With hours: a funder whose rules admit the status has a client-week of hours in the pool
    (``hours``, as offered at the start of the week). No hours: only funders without such
    hours here admit the status. No funder: no funder's rules admit it here.
    """
    for m in range(hours.shape[0]):
        for s in range(N_SERVICE):
            for status in range(eligible.shape[2]):
                rules = awf[m]  # access without fear opens municipal hours to every status
                for f in range(N_FUNDER):
                    rules = rules or eligible[m, f, status]
                out[m, s, status] = (ELIG_WITH_HOURS if _funder_for(
                    hours, m, s, status, eligible, awf, hours_per_week[s]) >= 0
                    else (ELIG_NO_HOURS if rules else ELIG_NO_FUNDER))


class RequestParams(NamedTuple):
    """How requests lapse and are made again (weekly chances; ``takeup`` per city)."""

    lapse: np.ndarray  # float64[S] weekly lapse chance of a waiting request
    lapse_unservable: float  # the chance where no funder with hours here may serve
    takeup: np.ndarray  # float64[m, S] chance of asking after a change of status
    may_ask: np.ndarray  # bool[age, S] services a person of each age band may ask for


# Draw slots of step_services for service s: a lapse s, a new request N_SERVICE + s, whether
# a referral fits 2 N_SERVICE + s.
_LAPSE_SLOT, _REQUEST_SLOT, _MATCH_SLOT = 0, N_SERVICE, 2 * N_SERVICE


def step_services(svc_state, svc_week, status, age, housing, muni, week, key, hours, eligible,
                  awf, hours_per_week, duration, req, match, intake_hours, out_used, out_started,
                  out_wait_sum, out_completed, out_requests, out_eligibility, out_misreferred,
                  francophone=None, match_fr=None, out_misreferred_fr=None):
    """Requests lapse and are made again; agencies spend caseworker hours on their waiting
    lists, first come, first served.

    Requests first: a request waiting since an earlier week lapses with ``req.lapse[s]``
    a week, or ``req.lapse_unservable`` where higher if no funder with hours here may serve
    the person. A person without a request whose status differs from the one recorded when
    he or she last went without one (on arrival or at a lapse; ``svc_week`` of a ``none``
    service) records the new status and, if a funder with hours here may now serve it,
    asks with chance ``req.takeup[m, s]`` (housing help only if not in stable housing; only
    services ``req.may_ask`` allows at the person's age).

    Then clients already in service keep their place and are served first; then the
    waiting list is served in row (arrival) order while eligible hours last. Hours come from
    the first funder whose rules admit the person's status (municipal hours admit
    everyone under access without fear); a client no funder can serve waits.

    Each referral from the list fits with chance ``match[m]`` (a Local Immigration
    Partnership raises it), or ``match_fr[m]`` for a francophone (a RIF raises it,
    ``sim.francophone``); one that does not costs ``intake_hours`` of the funder's hours
    (intake, then redirection) and the person waits on for another week.

    Most rows have nothing to do in a given week, so each pass first asks, without
    branching on each service, whether the row has a request to check or a client in
    service (pass 1) or waiting on a pool that still has a client-week of hours (pass 2);
    only then does it look at the four services. Pools of different services are disjoint,
    so this skips work without changing who is served.

    On threads, block by block: the requests (each row's own, and they neither use hours
    nor touch clients in service) with the screens for both passes, in one read of the
    rows (pass 2's against the pools open before pass 1). The passes themselves go in row
    order; pass 2 checks its screen again, as pools close.

    Args:
        svc_state, svc_week: int8/int16[n, S] updated (svc_week: week joined while
            waiting, weeks left while in service, status code at the last decision while
            none).
        key: stream key; req: RequestParams.
        hours: float64[m, S, F] agent-hours available this week, consumed.
        eligible: bool[m, F, status] (a province's rules differ from the national ones,
            ``sim.provinces``); awf: bool[m]; hours_per_week: float64[S];
            duration: int64[S] weeks. match: float64[m] chance a referral fits;
            intake_hours: hours a referral that does not fit costs.
        out_used: float64[m, S, F] (misreferred hours included); out_started,
            out_completed: int64[m, S]; out_wait_sum: int64[m, S] summed weeks waited by
            those starting.
        out_requests: int64[m, S, 2] added into: requests lapsed, requests made again.
        out_eligibility: int8[m, S, status] written: ``eligibility_classes`` of the pools.
        out_misreferred: float64[m, S] hours spent on referrals that did not fit.
        francophone: int8[n] (none: nobody); match_fr: float64[m] (none: ``match``);
        out_misreferred_fr: float64[m] francophones' part of ``out_misreferred``, added into.
    """
    n = status.shape[0]
    if francophone is None:
        francophone, match_fr = np.zeros(n, np.int8), match
    if out_misreferred_fr is None:
        out_misreferred_fr = np.zeros(hours.shape[0])
    eligibility_classes(hours, eligible, awf, hours_per_week, out_eligibility)
    p_lapse = _lapse_table(req, out_eligibility)
    open_ = _open_pools(hours, hours_per_week)
    busy = np.empty(n, np.uint64)  # unsigned rows: no negative-index checks
    waiting = np.empty(n, np.uint64)
    found = _in_blocks(_requests_block, n, (svc_state, svc_week, status, age, housing, muni,
                                            week, key, req, p_lapse, out_eligibility, open_,
                                            busy, waiting), out_requests)
    _continuing(busy, found[:, 0], threads.BLOCK, open_, svc_state, svc_week, status, muni,
                hours, eligible, awf, hours_per_week, out_used, out_completed)
    _serve_waiting(waiting, found[:, 1], threads.BLOCK, open_, svc_state, svc_week, status, muni,
                   week, key, hours, eligible, awf, hours_per_week, duration, match,
                   intake_hours, out_used, out_started, out_wait_sum, out_completed,
                   out_misreferred, francophone, match_fr, out_misreferred_fr)


@njit(cache=True)
def _lapse_table(req, out_eligibility):
    """p_lapse[m, s, status]: a waiting request's weekly lapse chance."""
    n_muni = out_eligibility.shape[0]
    p_lapse = np.empty(out_eligibility.shape)
    for m in range(n_muni):
        for s in range(N_SERVICE):
            for st in range(out_eligibility.shape[2]):
                p_lapse[m, s, st] = (req.lapse[s] if out_eligibility[m, s, st] == ELIG_WITH_HOURS
                                     else max(req.lapse[s], req.lapse_unservable))
    return p_lapse


@njit(cache=True)
def _open_pools(hours, hours_per_week):
    """open_[m, s]: some funder of pool (m, s) still has a client's weekly hours."""
    open_ = np.zeros((hours.shape[0], N_SERVICE), np.bool_)
    for m in range(hours.shape[0]):
        for s in range(N_SERVICE):
            open_[m, s] = _pool_open(hours, m, s, hours_per_week[s])
    return open_


@njit(cache=True, nogil=True)
def _requests_block(lo, hi, svc_state, svc_week, status, age, housing, muni, week, key, req,
                    p_lapse, out_eligibility, open_, busy, waiting, out_requests):
    """Rows lo:hi: requests lapse and are made again; the rows with a client in service are
    listed in ``busy[lo:]``, those then waiting on a pool ``open_`` (before pass 1 spends
    hours: a superset, pass 2 checks again) in ``waiting[lo:]``. Returns how many of each."""
    listed = 0
    listed_waiting = 0
    for i in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index checks
        if housing[i] == DEPARTED:
            continue
        st = status[i]
        st0, st1 = svc_state[i, 0], svc_state[i, 1]
        st2, st3 = svc_state[i, 2], svc_state[i, 3]
        ask = ((st0 == SVC_WAITING) | ((st0 == SVC_NONE) & (svc_week[i, 0] != st))
               | (st1 == SVC_WAITING) | ((st1 == SVC_NONE) & (svc_week[i, 1] != st))
               | (st2 == SVC_WAITING) | ((st2 == SVC_NONE) & (svc_week[i, 2] != st))
               | (st3 == SVC_WAITING) | ((st3 == SVC_NONE) & (svc_week[i, 3] != st)))
        in_service = ((st0 == SVC_IN_SERVICE) | (st1 == SVC_IN_SERVICE)
                      | (st2 == SVC_IN_SERVICE) | (st3 == SVC_IN_SERVICE))
        if not (ask or in_service):
            continue
        m = muni[i]
        if ask:
            for s in range(N_SERVICE):
                state = svc_state[i, s]
                if state == SVC_WAITING:
                    if (svc_week[i, s] < week
                            and _uniform(key, i, _LAPSE_SLOT + s) < p_lapse[m, s, st]):
                        svc_state[i, s] = SVC_NONE
                        svc_week[i, s] = st
                        out_requests[m, s, 0] += 1
                elif state == SVC_NONE and svc_week[i, s] != st:
                    svc_week[i, s] = st
                    if (out_eligibility[m, s, st] == ELIG_WITH_HOURS and req.may_ask[age[i], s]
                            and (s != HOUSING_HELP or housing[i] != STABLE)
                            and _uniform(key, i, _REQUEST_SLOT + s) < req.takeup[m, s]):
                        svc_state[i, s] = SVC_WAITING
                        svc_week[i, s] = week
                        out_requests[m, s, 1] += 1
        busy[lo + listed] = i
        listed += in_service
        waiting[lo + listed_waiting] = i
        listed_waiting += (((svc_state[i, 0] == SVC_WAITING) & open_[m, 0])
                           | ((svc_state[i, 1] == SVC_WAITING) & open_[m, 1])
                           | ((svc_state[i, 2] == SVC_WAITING) & open_[m, 2])
                           | ((svc_state[i, 3] == SVC_WAITING) & open_[m, 3]))
    return listed, listed_waiting


@njit(cache=True)
def _continuing(busy, found, block, open_, svc_state, svc_week, status, muni, hours, eligible,
                awf, hours_per_week, out_used, out_completed):
    """Pass 1: clients in service go on while their pool has hours, in row order (block
    ``b`` listed ``found[b]`` rows from ``busy[b * block]``)."""
    for b in range(found.shape[0]):
        for i in busy[b * block:b * block + found[b]]:
            m = muni[i]
            for s in range(N_SERVICE):
                if svc_state[i, s] != SVC_IN_SERVICE or not open_[m, s]:
                    continue
                f = _funder_for(hours, m, s, status[i], eligible, awf, hours_per_week[s])
                if f < 0:
                    continue
                hours[m, s, f] -= hours_per_week[s]
                out_used[m, s, f] += hours_per_week[s]
                if not _pool_open(hours, m, s, hours_per_week[s]):
                    open_[m, s] = False
                svc_week[i, s] -= 1
                if svc_week[i, s] <= 0:
                    svc_state[i, s] = SVC_DONE
                    out_completed[m, s] += 1


@njit(cache=True)
def _serve_waiting(waiting, found, block, open_, svc_state, svc_week, status, muni, week, key,
                   hours, eligible, awf, hours_per_week, duration, match, intake_hours,
                   out_used, out_started, out_wait_sum, out_completed, out_misreferred,
                   francophone, match_fr, out_misreferred_fr):
    """Pass 2: the waiting lists in row order while pools have hours (block ``b`` listed
    ``found[b]`` rows from ``waiting[b * block]``)."""
    n_muni = hours.shape[0]
    n_open = open_.sum()
    # servable[m, s, status]: a funder that admits the status still has a client-week of
    # hours in pool (m, s), so waiting people no funder may serve are passed over at once.
    servable = np.zeros((n_muni, N_SERVICE, eligible.shape[2]), np.bool_)
    for m in range(n_muni):
        for s in range(N_SERVICE):
            _update_servable(servable, hours, m, s, eligible, awf, hours_per_week[s])
    for b in range(found.shape[0]):
        for i in waiting[b * block:b * block + found[b]]:
            if n_open == 0:
                return
            m = muni[i]
            go = (((svc_state[i, 0] == SVC_WAITING) & open_[m, 0])
                  | ((svc_state[i, 1] == SVC_WAITING) & open_[m, 1])
                  | ((svc_state[i, 2] == SVC_WAITING) & open_[m, 2])
                  | ((svc_state[i, 3] == SVC_WAITING) & open_[m, 3]))
            if not go:
                continue
            for s in range(N_SERVICE):
                if svc_state[i, s] != SVC_WAITING or not servable[m, s, status[i]]:
                    continue
                f = _funder_for(hours, m, s, status[i], eligible, awf, hours_per_week[s])
                if f < 0:
                    continue
                fits = _uniform(key, i, _MATCH_SLOT + s) < (match_fr[m] if francophone[i]
                                                             else match[m])
                cost = hours_per_week[s] if fits else min(intake_hours, hours[m, s, f])
                hours[m, s, f] -= cost
                out_used[m, s, f] += cost
                if hours[m, s, f] < hours_per_week[s]:  # this funder ran dry
                    _update_servable(servable, hours, m, s, eligible, awf, hours_per_week[s])
                    if not _pool_open(hours, m, s, hours_per_week[s]):
                        open_[m, s] = False
                        n_open -= 1
                if not fits:
                    out_misreferred[m, s] += cost
                    out_misreferred_fr[m] += cost * francophone[i]
                    continue
                out_started[m, s] += 1
                out_wait_sum[m, s] += week - svc_week[i, s]
                if duration[s] <= 1:
                    svc_state[i, s] = SVC_DONE
                    svc_week[i, s] = 0
                    out_completed[m, s] += 1
                else:
                    svc_state[i, s] = SVC_IN_SERVICE
                    svc_week[i, s] = duration[s] - 1

# --------------------------------------------------------------------------- 6. integration


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

# Safety by housing state (index = housing code): sleeping rough is least safe.
_SAFETY_BY_HOUSING = np.array([0.2, 0.5, 0.6, 0.7, 0.8, 1.0, 0.0])
# Economic well-being: how much housing (stable 1, precarious 0.8, else 0.6) and the job
# (none, survival, matched; a matched job adds 0.2 x skill) count.
_HOUSED_BY_HOUSING = np.array([0.6, 0.6, 0.6, 0.6, 0.8, 1.0, 0.6])
_JOB_LEVEL = np.array([0.15, 0.5, 0.8])
_PERMANENT = np.array([s in PERMANENT_STATUSES for s in range(N_STATUS)])


@njit(cache=True)
def integration_tables(week, first_week, p, features, quality):
    """What the integration step needs that is the same for many people, worked out once.

    Per city: the quality factors of language, employment and orientation services and
    the root of sentiment; per arrival week from ``first_week`` (the earliest, <= 0):
    ``min(years here, 3)`` at index ``arrival week - first_week``; per (services
    requested, received): the services term of access. The same operations as per
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
    years = np.empty(week + 1 - first_week)
    for w in range(first_week, week + 1):
        years[w - first_week] = min((week - w) / WEEKS_PER_YEAR, 3.0)
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
    return q_lang, q_emp, q_or, root_sentiment, years, access, base_access, security


@njit(cache=True)
def _job_chance_max(p, features, q_emp, by_age):
    """The highest weekly chance of a job event of any row (skill and language at most 1)."""
    boost = 1.0 + p.service_boost * max(0.0, q_emp.max())
    labour = max(0.0, features[:, MF_LABOUR].max())
    permit = max(1.0, p.no_permit_factor)
    find = p.job_find * max(0.0, by_age[0].max()) * labour * boost * permit
    keep_or_match = p.job_loss + (1.0 - p.job_loss) * p.match * labour * boost * permit
    return min(1.0, max(find, keep_or_match))


@njit(cache=True, nogil=True)
def _integration_block(lo, hi, status, housing, muni, employment, skill, language,
                       arrival_week, age, svc_state, dims, week, first_week, key, p, features,
                       quality, by_age, out_jobs):
    """Language, job finding and the five integration dimensions, one week, rows lo:hi.

    Each dimension moves ``adjust`` of the way toward a target set by the person's
    situation (Calgary's key result areas, seed 004):
    economic well-being from job and housing; networks from time, orientation and
    co-newcomer density; access from services received and the public services open to
    the person's status; civic participation from permanence, time and a welcoming
    strategy; safety and acceptance from housing, public sentiment and status security
    (access without fear changes the last two for non-status people only: see
    ``integration_tables`` and sim/params_security.py).

    Args:
        features: float64[m, N_MF] (labour demand, network density, sentiment, access
            without fear, welcoming strategy, shelter quality, policy covers police).
            quality: float64[m, S] agency quality. first_week: the earliest arrival week
            (<= 0; earlier newcomers).
        by_age: float64[2, N_AGE]: job finding and everyday language gain relative to
            the core working age. A dependant's (child's, senior's) job is its household
            earner's: it is found at the dependant's factor (1 by default).
        out_jobs: int64[m, 2] tallies: first jobs found, matched jobs found.
    """
    (q_lang, q_emp, q_or, root_sentiment, years_here, access_share, base_access,
     security_of) = integration_tables(week, first_week, p, features, quality)
    # Job events are rare (a few per cent of rows a week): the rows that may have one are
    # picked at the highest weekly chance of any (``visits``, from the block's own stream),
    # and each keeps its own chance over that (thinning), so most rows take no draw.
    p_max = _job_chance_max(p, features, q_emp, by_age)
    candidates = visits(_mix(key ^ np.uint64(lo)), p_max, hi - lo) + np.uint64(lo)
    next_k = 0
    next_i = candidates[0] if candidates.shape[0] > 0 else np.uint64(hi)
    for i in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index checks
        if housing[i] == DEPARTED:
            continue
        # Unsigned codes: numba then indexes without a check for negative indices.
        h = np.uint32(housing[i])
        m = np.uint32(muni[i])
        s = np.uint32(status[i])
        st0, st1 = svc_state[i, 0], svc_state[i, 1]
        st2, st3 = svc_state[i, 2], svc_state[i, 3]
        a = np.uint32(age[i])
        gain = p.language_gain * by_age[1, a] + (p.language_gain_in_class * q_lang[m]
                                  if st1 == SVC_IN_SERVICE else 0.0)
        language[i] = min(1.0, language[i] + gain * (1.0 - language[i]))
        lang = language[i]

        while next_i < i:  # candidates that were departed
            next_k += 1
            next_i = candidates[next_k] if next_k < candidates.shape[0] else np.uint64(hi)
        if next_i == i:
            # A picked row finds a first job, loses one, or moves from a survival job to a
            # matched one, each with its own weekly chance (one draw over ``p_max``). Written
            # out here: a helper taking the arrays costs reference counts (section 7 of
            # docs/performance.md).
            u = _uniform(key, i, 0) * p_max
            boost = 1.0 + p.service_boost * q_emp[m] * _served(st2)
            permit = p.no_permit_factor if s == NON_STATUS else 1.0
            job = employment[i]
            if job == NO_JOB:
                if u < (p.job_find * by_age[0, a] * features[m, MF_LABOUR] * (0.3 + 0.7 * lang)
                        * boost * permit):
                    employment[i] = SURVIVAL_JOB
                    out_jobs[m, 0] += 1
            elif u < p.job_loss:
                employment[i] = NO_JOB
            elif job == SURVIVAL_JOB and u < p.job_loss + (1.0 - p.job_loss) * (
                    p.match * features[m, MF_LABOUR] * skill[i] * lang * boost * permit):
                employment[i] = MATCHED_JOB
                out_jobs[m, 1] += 1
        e = np.uint32(employment[i])

        years = years_here[np.uint32(arrival_week[i] - first_week)]
        housed = _HOUSED_BY_HOUSING[h]
        job_level = _JOB_LEVEL[e] + (0.2 * skill[i] if e == MATCHED_JOB else 0.0)
        oriented = 0.2 * q_or[m] * _served(st0)
        requested = (st0 != SVC_NONE) + (st1 != SVC_NONE) + (st2 != SVC_NONE) + (st3 != SVC_NONE)
        received = _served(st0) + _served(st1) + _served(st2) + _served(st3)
        permanent = _PERMANENT[s]
        access = base_access[m, s] + access_share[np.uint32(requested), np.uint32(received)]
        security = security_of[m, s]

        target0 = job_level * housed
        target1 = min(1.0, 0.2 + 0.1 * years + oriented + features[m, MF_NETWORK])
        target2 = min(1.0, access)
        target3 = min(1.0, 0.1 + (0.3 if permanent else 0.0) + 0.1 * years
                      + 0.2 * features[m, MF_WELCOMING])
        in_shelter = h == SHELTER  # multiplied, not branched on (see the services boost)
        target4 = (_SAFETY_BY_HOUSING[h] * (1.0 + in_shelter * (features[m, MF_SHELTER_QUALITY]
                                                                - 1.0))
                   * root_sentiment[m] * security)
        dims[i, 0] += p.adjust * (target0 - dims[i, 0])
        dims[i, 1] += p.adjust * (target1 - dims[i, 1])
        dims[i, 2] += p.adjust * (target2 - dims[i, 2])
        dims[i, 3] += p.adjust * (target3 - dims[i, 3])
        dims[i, 4] += p.adjust * (target4 - dims[i, 4])


def step_integration(status, housing, muni, employment, skill, language, arrival_week, age,
                     svc_state, dims, week, first_week, key, p, features, quality, by_age,
                     out_jobs):
    """``_integration_block`` over all rows, block by block on threads (``sim.threads``)."""
    _in_blocks(_integration_block, status.shape[0], (
        status, housing, muni, employment, skill, language, arrival_week, age, svc_state, dims,
        week, first_week, key, p, features, quality, by_age), out_jobs)


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


# --------------------------------------------------------------------------- 7. moves


@njit(cache=True)
def step_moves(housing, muni, employment, key, move_p, unsettled_factor, destination_cdf,
               out_moves):
    """Secondary moves: unsettled people move more; destinations follow a choice table.

    Args:
        move_p: float64[m] weekly move chance of a settled person in each city (already
            raised where transport is poor). unsettled_factor: multiplier for people
            without stable housing or without a job.
        destination_cdf: float64[m, m] row o is the cumulative destination
            distribution of movers from o (zero on the diagonal).
        out_moves: int64[m, m] movers from row to column.
    """
    n_muni = destination_cdf.shape[0]
    if n_muni < 2:
        return
    # Candidates are picked at the highest weekly chance of any row, then each is kept
    # with its own chance over that (thinning): the same per-person chances, without a
    # draw for every row.
    factor = np.array([1.0, unsettled_factor])
    p_max = min(1.0, move_p.max() * max(1.0, unsettled_factor))
    for i in visits(key, p_max, housing.shape[0]):
        o = muni[i]
        if housing[i] != DEPARTED and destination_cdf[o, n_muni - 1] > 0.0:
            unsettled = (housing[i] != STABLE) | (employment[i] == NO_JOB)
            if _uniform(key, i, 0) * p_max < move_p[o] * factor[np.int64(unsettled)]:
                u = _uniform(key, i, 1)
                d = 0
                while d < n_muni - 1 and destination_cdf[o, d] <= u:
                    d += 1
                if d != o:
                    muni[i] = d
                    housing[i] = FRIENDS
                    employment[i] = NO_JOB
                    out_moves[o, d] += 1


# --------------------------------------------------------------------------- 9. tallies


class TallyOut(NamedTuple):
    """The arrays the end-of-week tally adds into (m = municipality).

    counts: int64[m, status, housing] present (and departed) people.
    services: int64[m, S, 3]: waiting, sum of current waits (weeks), in service.
    dims: float64[m, N_DIM + 1] sums of the dimensions and of the index.
    status_dims: float64[status, N_DIM + 2] sums of dims, index, and count.
    hist: int64[m, 10] integration index histogram (deciles of [0, 1]).
    misc: int64[m, 14]: employed (of all present), arrived here (origin), still here of
        those, ever reached stable housing, summed weeks to reach it (these four: arrivals
        of the run only, not the earlier newcomers), present aged 15-64, employed of them,
        present aged 25-54, employed of them, present aged 25-54 and here at most
        ``recent`` weeks, employed of them, children (0-14), arrived here (origin) at least
        a year ago (departed included), those of them who reached stable housing within a
        year of arriving. Columns 1, 3, 4, 12 and 13 are not counted here: they are kept
        as people arrive and move into stable housing (``sim.arrival_ledger``).
    homeless: int64[m, 2] actively homeless: all, refugees (see ``tally``).
    waiting_by: int64[m, S, 3] waiting by ``eligibility`` class (``ELIG_*``).
    """

    counts: np.ndarray
    services: np.ndarray
    dims: np.ndarray
    status_dims: np.ndarray
    hist: np.ndarray
    misc: np.ndarray
    homeless: np.ndarray
    waiting_by: np.ndarray


class TallyParams(NamedTuple):
    """What the tally needs besides the migrant columns."""

    week: int
    weights: np.ndarray  # float64[N_DIM] index weights
    window: int  # weeks of shelter use that still count as actively homeless
    refugee: np.ndarray  # bool[status]: in the refugee group of the homeless count
    recent: int  # weeks since arrival within which a person is a recent immigrant (LFS: 5 y)
    eligibility: np.ndarray  # int8[m, S, status]: step_services' eligibility classes


def tally(status, housing, muni, origin, employment, svc_state, svc_week, dims, arrival_week,
          shelter_week, age, p, out):
    """One pass over all migrants for the weekly outputs of MODEL.md section 6.

    Block by block on threads (``sim.threads``): each block sums its rows in row order,
    and the blocks' sums are added in block order.

    Args:
        p: TallyParams. out: TallyOut, added into.
    """
    _in_blocks(_tally_block, status.shape[0], (
        status, housing, muni, origin, employment, svc_state, svc_week, dims, arrival_week,
        shelter_week, age, p), out)


@njit(cache=True, nogil=True)
def _tally_block(lo, hi, status, housing, muni, origin, employment, svc_state, svc_week, dims,
                 arrival_week, shelter_week, age, p, out):
    """``tally`` of rows lo:hi, added into ``out``."""
    # People by (city, status, combination of the four service states): one count a row
    # instead of twelve; the waiting (also by eligibility class) and in-service counts per
    # service are read off it afterwards. In the same way the employment, age and
    # still-here counts are one count a row in a small table (by age, job, recency and
    # whether an arrival of the run is still in the city of arrival), read off at the end.
    n_muni = out.counts.shape[0]
    combos = np.zeros((n_muni, out.counts.shape[1], 256), np.int64)
    # 8 age + 4 employed + 2 recent (core age) + still where they arrived (in the run)
    people = np.zeros((n_muni, 8 * N_AGE), np.int64)
    homeless = np.zeros((n_muni, out.counts.shape[1]), np.int64)
    for i in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index checks
        # Unsigned codes: numba then indexes without a check for negative indices.
        m = np.uint32(muni[i])
        s = np.uint32(status[i])
        h = np.uint32(housing[i])
        o = np.uint32(origin[i])
        out.counts[m, s, h] += 1
        if h == DEPARTED:
            continue
        aw = arrival_week[i]
        a = np.uint32(age[i])
        recent = (a == CORE) & (p.week - aw <= p.recent)
        home = (m == o) & (aw >= 0)  # still in the city of arrival, an arrival of the run
        people[m, 8 * a + 4 * (employment[i] != NO_JOB) + 2 * recent + home] += 1
        st0, st1 = np.uint32(svc_state[i, 0]), np.uint32(svc_state[i, 1])
        st2, st3 = np.uint32(svc_state[i, 2]), np.uint32(svc_state[i, 3])
        combos[m, s, st0 + 4 * st1 + 16 * st2 + 64 * st3] += 1
        if (st0 == SVC_WAITING) | (st1 == SVC_WAITING) | (st2 == SVC_WAITING) | (
                st3 == SVC_WAITING):  # rare: a branch that is nearly always predicted
            out.services[m, 0, 1] += (st0 == SVC_WAITING) * (p.week - svc_week[i, 0])
            out.services[m, 1, 1] += (st1 == SVC_WAITING) * (p.week - svc_week[i, 1])
            out.services[m, 2, 1] += (st2 == SVC_WAITING) * (p.week - svc_week[i, 2])
            out.services[m, 3, 1] += (st3 == SVC_WAITING) * (p.week - svc_week[i, 3])
        v0, v1, v2 = np.float64(dims[i, 0]), np.float64(dims[i, 1]), np.float64(dims[i, 2])
        v3, v4 = np.float64(dims[i, 3]), np.float64(dims[i, 4])
        w = p.weights
        index = 0.0 + w[0] * v0 + w[1] * v1 + w[2] * v2 + w[3] * v3 + w[4] * v4
        out.dims[m, 0] += v0
        out.dims[m, 1] += v1
        out.dims[m, 2] += v2
        out.dims[m, 3] += v3
        out.dims[m, 4] += v4
        out.dims[m, N_DIM] += index
        out.status_dims[s, 0] += v0
        out.status_dims[s, 1] += v1
        out.status_dims[s, 2] += v2
        out.status_dims[s, 3] += v3
        out.status_dims[s, 4] += v4
        out.status_dims[s, N_DIM] += index
        out.hist[m, min(9, max(0, int(index * 10.0)))] += 1
        # The City of Toronto's "actively homeless": used shelter in the last `window` weeks
        # and not moved to housing (any rental, stable or precarious, counts as housing).
        sh = shelter_week[i]
        homeless[m, s] += (h != STABLE) & (h != PRECARIOUS) & (sh >= 0) & (p.week - sh < p.window)
    _read_off(people, homeless, p, out)
    for m in range(combos.shape[0]):
        for s in range(combos.shape[1]):
            for code in range(256):
                c = combos[m, s, code]
                if c == 0:
                    continue
                out.status_dims[s, N_DIM + 1] += c
                for sv in range(N_SERVICE):
                    st = (code >> (2 * sv)) & 3
                    out.services[m, sv, 0] += c * (st == SVC_WAITING)
                    out.services[m, sv, 2] += c * (st == SVC_IN_SERVICE)
                    out.waiting_by[m, sv, p.eligibility[m, sv, s]] += c * (st == SVC_WAITING)


@njit(cache=True)
def _read_off(people, homeless, p, out):
    """``out.misc``, the people counted in ``out.status_dims`` and ``out.homeless`` from the
    block's small tables (integer sums: the order of addition does not matter)."""
    for m in range(people.shape[0]):
        for a in range(N_AGE):
            working = (a >= YOUTH) & (a < SENIOR)
            for e in range(2):
                for r in range(2):
                    for home in range(2):
                        c = people[m, 8 * a + 4 * e + 2 * r + home]
                        out.misc[m, 0] += c * e
                        out.misc[m, 2] += c * home
                        out.misc[m, 5] += c * working
                        out.misc[m, 6] += c * working * e
                        out.misc[m, 7] += c * (a == CORE)
                        out.misc[m, 8] += c * (a == CORE) * e
                        out.misc[m, 9] += c * r
                        out.misc[m, 10] += c * r * e
                        out.misc[m, 11] += c * (a == CHILD)
        for s in range(homeless.shape[1]):
            out.homeless[m, 0] += homeless[m, s]
            out.homeless[m, 1] += homeless[m, s] * p.refugee[s]
