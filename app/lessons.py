"""Guided lessons: a preset, settings A and B, what to watch, and a question for the class.

A lesson opens the compare view with A (the run in the main charts) and B (A with the
lesson's change) side by side, plotting its first outcome; the card explains what
differs and asks the question. Each lesson's difference was measured over replicate
seeds (docs/app.md, "Lessons"), so it shows on any seed, not only a lucky one.

To add a lesson, append a ``Lesson`` to ``LESSONS``; the page lists it, the tests run
every lesson's A and B and check that its outcome differs in the direction ``expect``
says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.model import ALL_CITIES, NO_CITY
from app.outcomes import OUTCOMES, Outcome


@dataclass(frozen=True)
class Lesson:
    """A guided comparison. ``a`` and ``b`` are AppModel arguments on top of the preset
    (``b`` on top of ``a``); ``watch`` are (outcome label, city or None), the first one
    plotted; ``expect`` is +1 when B's first outcome ends higher than A's, -1 lower."""

    key: str
    title: str
    preset: str
    a: dict[str, Any]
    b: dict[str, Any]
    a_name: str
    b_name: str
    watch: list[tuple[str, str | None]]
    explanation: str
    question: str
    expect: int

    def outcomes(self) -> list[Outcome]:
        return [OUTCOMES[label].for_city(city) if city else OUTCOMES[label]
                for label, city in self.watch]


LESSONS: list[Lesson] = [
    Lesson(
        key="intake_cap", title="Shelter intake cap", preset="classroom",
        a={}, b={"intake_cap": NO_CITY},
        a_name="Millbrook caps intake at its beds", b_name="no intake cap",
        watch=[("sleeping outside", "Millbrook"), ("city money left", "Millbrook"),
               ("people in shelter", "Millbrook")],
        explanation="Millbrook's council refuses new shelter intake once its 100 beds are "
                    "full. Without the cap the city pays for overflow places (motels, "
                    "cots) out of its newcomer budget until the money runs out.",
        question="The cap saves Millbrook money. Who pays for it instead, and when does the "
                 "money run out without it?",
        expect=-1),
    Lesson(
        key="grant_cliff", title="Grant cliff", preset="classroom",
        a={}, b={"predictable_funding": True},
        a_name="Millbrook's program grant ends at week 52",
        b_name="the grant continues (core funding)",
        watch=[("caseworkers (staff FTE)", "Millbrook"),
               ("language class wait (weeks)", "Millbrook"),
               ("on waiting lists", "Millbrook")],
        explanation="Millbrook Settlement Services pays 12 caseworkers from a federal core "
                    "grant and a provincial program grant ($400K a year) that ends after a "
                    "year and is not renewed. The agency lays off staff a few weeks later.",
        question="The people still arrive after week 52. What happens to the waiting "
                 "lists, and how long until the gap shows?",
        expect=1),
    Lesson(
        key="predictable_vs_adhoc", title="Predictable vs ad hoc funding",
        preset="funding_adhoc", a={}, b={"predictable_funding": True},
        a_name="annual program grants renewed ad hoc",
        b_name="the same money as multi-year core grants",
        watch=[("on waiting lists", None), ("caseworkers (staff FTE)", None),
               ("language class wait (weeks)", None)],
        explanation="Every settlement grant in Canada's big cities is a one-year program "
                    "grant renewed with a 70% chance; a lapsed line comes back smaller. "
                    "On average the money is the same as steady core funding, but agencies "
                    "hire slowly and lay off fast when a grant lapses.",
        question="The average money is the same. Why are the waiting lists longer, and "
                 "what does a caseworker's lay-off notice mean for the people waiting?",
        expect=-1),
    Lesson(
        key="access_without_fear", title="Access without fear", preset="classroom",
        a={"access_without_fear": NO_CITY}, b={"access_without_fear": ALL_CITIES},
        a_name="services only for people with status",
        b_name="every city serves everyone (access without fear)",
        watch=[("integration index of non-status people", None),
               ("integration index", None), ("language class wait (weeks)", None)],
        explanation="With access without fear, a city funds services for people whose "
                    "permit or claim ended, and its staff do not ask about status, so "
                    "people without status come forward for language classes and help.",
        question="Non-status people integrate much better and nobody else waits longer "
                 "for a class. Why might a council still hesitate?",
        expect=1),
    Lesson(
        key="small_town_retention", title="Small-town retention", preset="classroom",
        a={}, b={"overrides": (("municipalities.Pinecrest.transport_access", 0.9),)},
        a_name="Pinecrest with poor transport (0.2)",
        b_name="Pinecrest with good transport (0.9)",
        watch=[("share of newcomers who stay", "Pinecrest"),
               ("people in shelter", "Pinecrest"), ("employment rate", "Pinecrest")],
        explanation="Pinecrest, a town of 25,000, has jobs waiting (a labour shortage) but "
                    "almost no buses. Newcomers without a car cannot reach the jobs and "
                    "move to the cities.",
        question="The jobs are there in both runs. Why do people stay when the buses run, "
                 "and what else would keep them?",
        expect=1),
    Lesson(
        key="crisis_response", title="Crisis response", preset="classroom",
        a={}, b={"emergency_response": ALL_CITIES, "act_pressure": "0.5"},
        a_name="no city opens emergency places; councils never act",
        b_name="cities open emergency places after 3 weeks of people outside, and "
               "councils act under pressure",
        watch=[("person-weeks sleeping outside", None), ("sleeping outside", "Millbrook"),
               ("emergency places open", None), ("emergency places' cost so far", None),
               ("spending so far", None)],
        explanation="After the spring surge Millbrook's 100 beds are full and its council "
                    "refuses new intake, so people sleep outside. In B a city that sees "
                    "people outside for 3 weeks orders emergency places (community spaces, "
                    "then hotel rooms, then respite sites) that open a few weeks later, "
                    "as far as its money goes; and once pressure to act on people "
                    "sleeping outside is high enough (0.5), the council lifts its cap.",
        question="The places open within weeks, but people still sleep outside by the end. "
                 "What stops Millbrook from opening more, and who could pay?",
        expect=-1),
    Lesson(
        key="shelter_money", title="Predictable vs ad hoc shelter money",
        preset="classroom",
        a={"emergency_response": ALL_CITIES, "act_pressure": "0.5",
           "federal_shelter": "ad hoc"},
        b={"federal_shelter": "formula"},
        a_name="federal shelter money ad hoc: a top-up after weeks of crisis",
        b_name="the same yearly envelope ($4M) paid by formula, in advance each quarter",
        watch=[("person-weeks sleeping outside", None),
               ("federal money to cities so far", None),
               ("emergency places' cost so far", None), ("spending so far", None)],
        explanation="Cities open emergency places as in the crisis-response lesson, and "
                    "the federal government has $4M a year for emergency shelter. Ad hoc, "
                    "it pays a city a one-time top-up once the city has been in crisis "
                    "(people outside, pressure to act) for 7 weeks. By formula, it pays "
                    "every city half a quarter's shelter cost of its asylum claimants at "
                    "the start of each quarter, before the crisis.",
        question="The envelope is the same. Why does money paid in advance keep more "
                 "people off the street, and why does it cost the federal government more?",
        expect=-1),
]
BY_KEY = {lesson.key: lesson for lesson in LESSONS}
