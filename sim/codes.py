"""Integer codes for the categorical migrant state held in the arrays.

The numba kernels see only these integers; names live here once so that the
schema, the kernels, the outputs and the docs agree.
"""

from __future__ import annotations

WEEKS_PER_YEAR = 52  # one step is one week (MODEL.md); a year is 52 of them

# Legal status (MODEL.md section 2). Order matters: kernels index tables by it.
STATUSES: tuple[str, ...] = (
    "economic_pr",
    "family_pr",
    "resettled_refugee",
    "asylum_claimant",
    "protected_person",
    "temporary_worker",
    "student",
    "non_status",
)
ECONOMIC_PR, FAMILY_PR, RESETTLED, ASYLUM, PROTECTED, TEMP_WORKER, STUDENT, NON_STATUS = range(8)
N_STATUS = len(STATUSES)
PERMANENT_STATUSES = (ECONOMIC_PR, FAMILY_PR, RESETTLED, PROTECTED)
PRECARIOUS_STATUSES = (ASYLUM, TEMP_WORKER, STUDENT, NON_STATUS)

# Arrival streams are the statuses a person can arrive with.
STREAMS: tuple[str, ...] = STATUSES[:4] + STATUSES[5:7]

# Housing state. DEPARTED means left the modelled system (moved away or removed).
HOUSING: tuple[str, ...] = (
    "unsheltered",
    "shelter",
    "interim_housing",
    "friends_family",
    "precarious_rental",
    "stable_housing",
    "departed",
)
UNSHELTERED, SHELTER, INTERIM, FRIENDS, PRECARIOUS, STABLE, DEPARTED = range(7)
N_HOUSING = len(HOUSING)

# Age bands (years): 0-14, 15-24, 25-54 (the Labour Force Survey's core working age), 55-64,
# 65+. Children and seniors are dependants: their ``employment`` column holds the job of
# their household's main earner (it sets the household's income), and employment outputs
# count people aged 15-64 only.
AGES: tuple[str, ...] = ("child", "youth", "core", "older", "senior")
CHILD, YOUTH, CORE, OLDER, SENIOR = range(5)
N_AGE = len(AGES)
AGE_BAND_YEARS = (15, 10, 30, 10)  # width of each band but the last, for ageing

EMPLOYMENT: tuple[str, ...] = ("none", "survival_job", "matched_job")
NO_JOB, SURVIVAL_JOB, MATCHED_JOB = range(3)

SERVICES: tuple[str, ...] = ("orientation", "language", "employment", "housing_help")
ORIENTATION, LANGUAGE, EMPLOYMENT_SVC, HOUSING_HELP = range(4)
N_SERVICE = len(SERVICES)

# Per-service state of one migrant.
SVC_NONE, SVC_WAITING, SVC_IN_SERVICE, SVC_DONE = range(4)

FUNDERS: tuple[str, ...] = ("federal", "provincial", "municipal", "charity")
FEDERAL, PROVINCIAL, MUNICIPAL, CHARITY = range(4)
N_FUNDER = len(FUNDERS)

# Calgary's five key result areas (seed 004, Pruegger).
DIMENSIONS: tuple[str, ...] = (
    "economic_wellbeing",
    "networks",
    "access_to_services",
    "civic_participation",
    "safety_acceptance",
)
N_DIM = len(DIMENSIONS)

# Budget lines of the spending outputs: payments made, by what they pay for.
SPENDING_LINES: tuple[str, ...] = ("services", "shelter_beds", "overflow", "emergency_places",
                                     "interim_housing")

# Why a waiting request waits (per city, service and status, from the week's service pools):
# a funder with hours here may serve the person (hours bind); only funders without hours here
# may (more money from them would reach the person); no funder's rules admit the person.
ELIGIBILITY: tuple[str, ...] = ("with_hours", "no_hours", "no_funder")
ELIG_WITH_HOURS, ELIG_NO_HOURS, ELIG_NO_FUNDER = range(3)
