"""Schema of francophone minorities outside Québec: ``[francophone]`` and the Québec rule.

Kept beside ``sim.params`` (which imports these into ``Scenario``). A stream's
``francophone_share`` is the share of its arrivals into cities outside Québec whose first
official language is French (IRCC counts French-speaking admissions outside Québec against
its target); a city's ``francophone_share`` is its French-mother-tongue share (Census 2021),
and its ``policies.rif`` a réseau en immigration francophone. Seed 004: "There are neither
LIPs nor RIFs in Québec", where French is the majority language (docs/ODD.md 7.12).
"""

from __future__ import annotations

from sim.params_base import A, P, Strict

QUEBEC = "QC"  # the province label whose cities are not a francophone minority


class Francophone(Strict):
    """How francophones outside Québec choose cities, speak and are referred."""

    pull_per_share: float = P(
        10.0, "x per share of population", "assumption (seed 004: RIFs coordinate francophone "
        "reception where francophones are a minority; francophone newcomers settle near "
        "francophone communities)",
        "A francophone's pull toward a city outside Québec is its stream weight x (1 + this x "
        "the city's francophone_share)", ge=0, most=1000)
    english_gap: float = P(
        0.3, "share", A,
        "Outside Québec, a francophone's official-language level on arrival is the stream's "
        "draw x (1 - this x (1 - the city's francophone_share)): most jobs there need English",
        ge=0, le=1)
    referral_fit_without_rif: float = P(
        0.8, "x", "assumption (seed 004: RIFs coordinate and advise about francophone "
        "immigrants)",
        "Outside Québec and without a RIF, a francophone's referral fits with the city's chance "
        "x this (French-language services are few and scattered); with a RIF, with the LIP "
        "chance services.lip_referral_match", ge=0, le=1)


def rif_in_quebec(name: str, province: str, rif: bool) -> str | None:
    """The one-line problem of a RIF set for a Québec city, or None."""
    if rif and province == QUEBEC:
        return (f"municipalities.{name}.policies.rif: there are no RIFs in Québec (seed 004); "
                "francophone minority networks exist only outside Québec")
    return None
