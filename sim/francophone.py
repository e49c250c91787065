"""Francophone newcomers outside Québec: who they are, where they go, how they are referred.

One flag per person (``state`` column ``francophone``): first official language French,
arrived into a city outside Québec. In Québec French is the majority language and Québec
selects its own newcomers (Canada-Québec Accord), so nobody arriving there is flagged and
nothing here changes Québec's cities (docs/ODD.md 7.12). Three rules, each a pure function
of the scenario:

- destination: a stream's francophones (``francophone_share`` of its arrivals outside Québec)
  choose among the cities outside Québec by weight x (1 + ``pull_per_share`` x the city's
  ``francophone_share``); Québec's cities keep their share of the stream;
- language: outside Québec most jobs need English, so a francophone's official-language level
  on arrival is the draw x (1 - ``english_gap`` x (1 - the city's francophone share));
- referrals: with a RIF a francophone's referral fits with the LIP chance, without one with
  the city's chance x ``referral_fit_without_rif``.
"""

from __future__ import annotations

import numpy as np

from sim.codes import ECONOMIC_PR, FAMILY_PR, N_STATUS, RESETTLED, STREAMS
from sim.params import Scenario, Stream
from sim.params_francophone import QUEBEC
from sim.state import MigrantArrays

_RNG_SALT = 0xF4A7C0  # the francophone draws have their own generator: others are unchanged


def outside_quebec(sc: Scenario) -> np.ndarray:
    """bool[city]: the city is in a province where francophones are a minority."""
    return np.array([m.province != QUEBEC for m in sc.municipalities])


def community(sc: Scenario) -> np.ndarray:
    """float64[city]: French-mother-tongue share of the population."""
    return np.array([m.francophone_share for m in sc.municipalities])


def mixed_weights(sc: Scenario, stream: str, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stream's destination shares with its francophones' pull, and per city the share
    of its arrivals who are francophone.

    ``w``: the stream's destination shares (summing to 1, or all 0). Without francophones
    (share 0, or no weight outside Québec) ``w`` itself is returned, the very array.
    """
    phi = (sc.streams.get(stream) or Stream()).francophone_share
    if phi <= 0:
        return w, np.zeros(len(w))
    out = outside_quebec(sc)
    w_out = np.where(out, w, 0.0)
    pulled = w_out * (1.0 + sc.francophone.pull_per_share * community(sc))
    if pulled.sum() <= 0:
        return w, np.zeros(len(w))
    fr = pulled * (phi * w_out.sum() / pulled.sum())
    mixed = np.where(out, (1.0 - phi) * w + fr, w)
    return mixed, np.divide(fr, mixed, out=np.zeros(len(w)), where=mixed > 0)


def rng(seed: int, week: int, stream: str) -> np.random.Generator:
    """The generator of one stream's francophone draws in one week (its own: common random
    numbers for every other draw)."""
    return np.random.default_rng(np.random.SeedSequence(
        [seed, week, STREAMS.index(stream), _RNG_SALT]))


def flags(gen: np.random.Generator, counts: np.ndarray, p_fr: np.ndarray) -> np.ndarray:
    """bool[counts.sum()]: who of ``counts[c]`` arrivals into each city is francophone
    (Binomial(counts[c], p_fr[c]) of them, the first of the city's block)."""
    k_fr = gen.binomial(counts, p_fr)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    within = np.arange(counts.sum()) - start
    return within < np.repeat(k_fr, counts)


def language_factor(sc: Scenario, munis: np.ndarray) -> np.ndarray:
    """float64[k]: a francophone's official-language level relative to the draw, by city
    of arrival (1 in Québec)."""
    gap = sc.francophone.english_gap * (1.0 - community(sc))
    return np.where(outside_quebec(sc), 1.0 - gap, 1.0)[munis]


def referral_match(sc: Scenario, match: np.ndarray, rif: np.ndarray) -> np.ndarray:
    """float64[city]: the chance a francophone's referral fits, given everyone's ``match``."""
    fr = np.where(rif, np.maximum(match, sc.services.lip_referral_match),
                  match * sc.francophone.referral_fit_without_rif)
    return np.where(outside_quebec(sc), fr, match)


_PERMANENT_RESIDENT = np.isin(np.arange(N_STATUS), (ECONOMIC_PR, FAMILY_PR, RESETTLED))


def arrivals(state: MigrantArrays, first: int, n_muni: int) -> np.ndarray:
    """int64[city, 3] of the rows from ``first`` on (this week's arrivals): francophones,
    permanent residents, francophone permanent residents (IRCC's target counts these)."""
    if first >= state.n:  # most weeks of a small run
        return np.zeros((n_muni, 3), np.int64)
    rows = slice(first, state.n)
    muni, fr = state.columns["muni"][rows], state.columns["francophone"][rows] > 0
    pr = _PERMANENT_RESIDENT[state.columns["status"][rows]]
    return np.stack([np.bincount(muni[w], minlength=n_muni) for w in (fr, pr, fr & pr)],
                    axis=1)
