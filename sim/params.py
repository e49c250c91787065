"""The scenario schema: every parameter with its type, range, default, unit and source.

This module is the single source of truth for parameters. Each field carries
``unit`` and ``source`` metadata (a seed document, a public statistic, or the word
"assumption"); docs and error messages read them from here.
"""

from __future__ import annotations

from datetime import date
from datetime import date as date_type
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.codes import DIMENSIONS, FUNDERS, SERVICES, STREAMS
from sim.params_base import A, Number, P, Strict, check_shares
from sim.params_checks import nonblank, streams_without_destination, unique_names, window
from sim.params_city import Municipality, Policies  # noqa: F401 (re-exported)
from sim.params_claims import ClaimsBoard
from sim.params_francophone import Francophone, rif_in_quebec
from sim.params_people import DEFAULT_AGE_SHARES, AgeName, Ages, EarlierNewcomers
from sim.params_provinces import ProvinceRule, check_names
from sim.params_response import Governments, Politics, Response
from sim.params_security import PublicAccess, Security
from sim.params_services import Service, Services  # noqa: F401 (re-exported)


class ScenarioInfo(Strict):
    name: str = P("unnamed", "-", A, "Short name of the scenario")
    question: str = P("", "-", A, "The question this scenario answers")
    start_date: date = P(date(2023, 1, 2), "date", A, "Calendar date of week 0 (a Monday)")
    fiscal_year_start_month: int = P(4, "month", "Canadian federal fiscal year starts 1 April",
                                     "Month in which fiscal years begin", ge=1, le=12)


class Run(Strict):
    weeks: int = P(260, "weeks", "MODEL.md: horizons of 5 to 10 years", "Horizon", ge=1, le=5200)
    seed: int = P(1, "-", A, "The run's one random seed", ge=0, le=2**63 - 1)
    scale: float = P(100.0, "persons per agent", A,
                     "Population scale: one simulated migrant stands for this many people",
                     ge=0.01, most=1e6)
    progress: bool = P(True, "-", A, "Show a progress bar on runs longer than a few seconds")
    dims_refresh_weeks: int = P(
        13, "weeks", "assumption (numerical): a quarter; a person's own changes (city, status, "
        "housing, job, services) count at once, city conditions within 13 weeks",
        "Longest a person's integration targets are held without a change in their situation "
        "(1: recomputed every week)", ge=1, le=52)


class Series(Strict):
    """Arrivals taken from an observed monthly series in a CSV, spread over each month's weeks.

    Rows are filtered by ``where`` and summed per month; the monthly total times ``share``
    arrives evenly over the month's days. After the series ends, arrivals continue at
    the mean of its last twelve months.
    """

    file: str = P(..., "path", A, "CSV file, relative to the scenario file that names it")
    month_column: str = P("month", "-", A, "Column holding the month (YYYY-MM or a date)")
    value_column: str = P("value", "-", A, "Column holding the persons in that month")
    where: dict[str, str] = P({}, "-", A, "Keep only rows whose columns have these values")
    share: float = P(1.0, "share", A, "Share of the series arriving into the modelled cities",
                     ge=0)


class Stream(Strict):
    """One arrival stream (the legal status a person arrives with)."""

    per_year: float = P(0.0, "persons/year", A, "Arrivals into the modelled cities", ge=0, most=1e8)
    series: Series | None = P(None, "-", A,
                              "Observed monthly arrivals that replace per_year (see [series])")
    household_size: float = P(2.5, "persons", A, "Mean household size", ge=1, le=12)
    skill: float = P(0.5, "0-1", A, "Mean skill level (Beta distribution mean)", gt=0, lt=1)
    language: float = P(0.5, "0-1", A, "Mean official-language level on arrival", gt=0, lt=1)
    francophone_share: float = P(
        0.0, "share", "IRCC target: French-speaking permanent residents admitted outside "
        "Québec 4.4% by 2023 (4.7% reached), 6% 2024, 8.5% 2025 (Immigration Levels Plan "
        "2025-2027); per stream an assumption",
        "Share of arrivals into cities outside Québec whose first official language is French "
        "(see [francophone])", ge=0, le=1)
    housing_on_arrival: dict[Literal["needs_shelter", "friends_family", "precarious_rental",
                                     "stable_housing"], Number] = P(
        {"needs_shelter": 0.0, "friends_family": 0.5, "precarious_rental": 0.3,
         "stable_housing": 0.2},
        "shares", A, "Where arrivals sleep in their first week (shares summing to 1)")
    age_shares: dict[AgeName, Number] = P(
        DEFAULT_AGE_SHARES, "shares", "assumption, near the age profile of permanent-resident "
        "admissions", "Age bands of arrivals (0-14, 15-24, 25-54, 55-64, 65+; shares summing "
        "to 1)")

    @model_validator(mode="after")
    def _shares(self) -> Stream:
        check_shares(self.housing_on_arrival, "housing_on_arrival")
        check_shares(self.age_shares, "age_shares")
        return self


class When(Strict):
    """A point in time given as a week of the run or as a calendar date."""

    week: int | None = P(None, "week", A, "Week of the run (0 = scenario.start_date)", ge=0)
    date: date_type | None = P(None, "date", A, "Calendar date (converted to its week)")

    @model_validator(mode="after")
    def _one_of(self) -> When:
        if (self.week is None) == (self.date is None):
            raise ValueError("give exactly one of week or date")
        return self


class Shock(Strict):
    """A multiplicative change of one stream's arrivals over a window (a surge).

    The window is given in weeks (start_week, end_week) or dates (start_date, end_date).
    """

    stream: Literal[STREAMS] = P(..., "-", A, "Which stream")  # type: ignore[valid-type]
    start_week: int | None = P(None, "week", A, "First week of the shock", ge=0)
    end_week: int | None = P(None, "week", A, "Week after the last week of the shock", ge=1)
    start_date: date_type | None = P(None, "date", A, "First day of the shock")
    end_date: date_type | None = P(None, "date", A, "Day after the shock ends")
    multiplier: float = P(2.0, "x", A, "Factor on the stream's weekly arrivals", ge=0,
                         most=100)

    @model_validator(mode="after")
    def _window(self) -> Shock:
        if (self.start_week is None) == (self.start_date is None):
            raise ValueError("give exactly one of start_week or start_date")
        if (self.end_week is None) == (self.end_date is None):
            raise ValueError("give exactly one of end_week or end_date")
        return self


class Change(When):
    """A timeline entry: parameters that take new values from a week or date on.

    Keys of ``set`` are paths such as ``municipalities.Toronto.policies.intake_cap``
    (a council vote) or ``municipalities.Toronto.interim_places`` (a federal top-up).
    """

    note: str = P("", "-", A, "What happens and why (shown in outputs and docs)")
    set: dict[str, Any] = P(..., "-", A, "Parameter path -> new value")


class Transfer(When):
    """A one-time payment into a municipality's newcomer money (a federal top-up)."""

    municipality: str = P(..., "-", A, "Receiving municipality")
    funder: Literal[FUNDERS] = P("federal", "-", A, "Who pays")  # type: ignore[valid-type]
    amount: float = P(..., "CAD", A, "Amount paid", ge=0)
    note: str = P("", "-", A, "What the money is and its source")


class Status(Strict):
    asylum_decision_weeks: float = P(
        61.0, "weeks", "IRB average RPD wait 14 months FY2023-24 (national facts sheet)",
        "Mean time from claim to decision", gt=0, most=520)
    asylum_acceptance: float = P(
        0.72, "probability", "IRB RPD Jan-Sep 2023: 26,658 accepted of 36,931 finalized",
        "Share of decided claims accepted", ge=0, le=1)
    rejected_departure: float = P(0.5, "probability", A,
                                  "Share of rejected claimants who leave; the rest stay "
                                  "without status",
                                  ge=0, le=1)
    permit_weeks_worker: float = P(104.0, "weeks", A, "Mean work-permit length", gt=0, most=1040)
    permit_weeks_student: float = P(156.0, "weeks", A, "Mean study-permit length", gt=0,
                                       most=1040)
    permit_to_pr: float = P(0.3, "probability", A, "Expiring permit becomes permanent residence",
                            ge=0, le=1)
    permit_renewal: float = P(0.4, "probability", A, "Expiring permit is renewed", ge=0, le=1)
    permit_departure: float = P(0.2, "probability", A,
                                "Expiring permit holder leaves; the remainder become non-status",
                                ge=0, le=1)
    regularization_per_year: float = P(0.0, "1/year", "seed 000 (OAS 'regularize' component); "
                                       "level is an assumption",
                                       "Yearly rate at which non-status people get status",
                                       ge=0, le=1)
    regularized_permit_weeks: float = P(
        156.0, "weeks", "assumption (seed 000 names 'regularize' without a form; a temporary "
        "status first, as temporary protection statutes give)",
        "Mean length of the work permit a regularized person gets; at its end the permit rules "
        "apply (permit_to_pr, permit_renewal, permit_departure)", gt=0)
    emigration_per_year: float = P(0.01, "1/year", A, "Yearly rate of leaving the country",
                                   ge=0, le=1)

    @model_validator(mode="after")
    def _permit_shares(self) -> Status:
        total = self.permit_to_pr + self.permit_renewal + self.permit_departure
        if total > 1 + 1e-9:
            raise ValueError(f"permit_to_pr + permit_renewal + permit_departure must be <= 1, "
                             f"found {total:.6g}")
        return self


class Housing(Strict):
    search_rate: float = P(0.12, "1/week", A, "Weekly chance a searcher finds a unit at "
                           "reference vacancy, before affordability and climate", ge=0, le=1)
    reference_vacancy: float = P(0.03, "share", "CMHC: 3% is the usual balanced-market benchmark",
                                 "Vacancy rate at which search is not slowed", gt=0, le=1)
    rental_turnover_per_year: float = P(0.2, "share/year", A,
                                        "Share of rental units re-let each year", ge=0, le=1)
    newcomer_share_of_lettings: float = P(0.15, "share", A,
                                          "Share of lettings newcomers win against other demand",
                                          ge=0, le=1)
    affordable_rent_share: float = P(0.5, "share of income", A,
                                     "Rent above this share of income means precarious housing",
                                     gt=0, le=1)
    housing_help_boost: float = P(0.5, "x", A, "Relative rise of search success with housing help",
                                  ge=0)
    discrimination: float = P(0.3, "share", A,
                              "Search success lost at zero public sentiment", ge=0, le=1)
    welcoming_boost: float = P(0.1, "x", A, "Search boost of a welcoming strategy", ge=0)
    friends_breakdown_per_week: float = P(0.02, "1/week", A,
                                          "Chance a stay with friends/family ends", ge=0, le=1)
    precarious_loss_per_week: float = P(0.005, "1/week", A,
                                        "Chance a precarious tenancy is lost", ge=0, le=1)
    stable_loss_per_week: float = P(0.0005, "1/week", A, "Chance stable housing is lost",
                                    ge=0, le=1)
    lost_to_friends: float = P(0.5, "probability", A,
                               "Share of people losing housing who find friends/family first",
                               ge=0, le=1)


class Employment(Strict):
    job_find_per_week: float = P(0.04, "1/week", A,
                                 "Weekly chance of a first job at full language and labour demand",
                                 ge=0, le=1)
    match_per_week: float = P(0.01, "1/week", A,
                              "Weekly chance a survival job becomes a job matching skills",
                              ge=0, le=1)
    service_boost: float = P(0.8, "x", A, "Relative rise of job finding after employment services",
                             ge=0)
    job_loss_per_week: float = P(0.005, "1/week", A, "Weekly chance of losing a job", ge=0, le=1)
    no_permit_factor: float = P(0.2, "x", A,
                                "Job finding of people without a work permit, relative", ge=0,
                                le=1)
    income_none: float = P(900.0, "CAD/month", A, "Income without a job (assistance)", ge=0)
    income_survival: float = P(2600.0, "CAD/month", A, "Income in a survival job", ge=0)
    income_matched: float = P(4800.0, "CAD/month", A, "Income in a matched job at skill 1", ge=0)
    second_earner: float = P(0.4, "x", A,
                             "Household income added per extra adult-age member (up to two), "
                             "relative to the person's own income", ge=0, le=1)
    language_gain_per_week: float = P(0.002, "1/week", A,
                                      "Weekly language gain from daily life", ge=0, le=1)
    language_gain_in_class: float = P(0.015, "1/week", A,
                                      "Extra weekly language gain in language training", ge=0,
                                      le=1)


class Integration(Strict):
    weights: dict[Literal[DIMENSIONS], Number] = P(  # type: ignore[valid-type]
        {d: 0.2 for d in DIMENSIONS}, "weights", "seed 004: Calgary's five key result areas; "
        "equal weights are an assumption", "Weights of the five dimensions in the index")
    adjust_per_week: float = P(0.05, "1/week", A,
                               "Share of the gap to its target a dimension closes each week",
                               gt=0, le=1)
    service_quality_weight: float = P(0.5, "share", "seed 000: lack of culturally relevant "
                                      "services", "How much agency quality scales service effects",
                                      ge=0, le=1)
    security: Security = Field(default_factory=Security)
    public_access: PublicAccess = Field(default_factory=PublicAccess)

    @model_validator(mode="after")
    def _weights(self) -> Integration:
        check_shares(self.weights, "integration.weights")
        return self


class Moves(Strict):
    base_per_year: float = P(0.05, "1/year", A, "Yearly chance of a secondary move when settled",
                             ge=0, le=1)
    unsettled_factor: float = P(3.0, "x", A,
                                "Move propensity multiplier without stable housing or a job", ge=0)
    transport_factor: float = P(2.0, "x", "seed 002: transport is a key issue in small towns; "
                                "size is an assumption",
                                "Extra move propensity where transport access is zero", ge=0)
    distance_scale_km: float = P(800.0, "km", A, "Distance at which destination pull halves", gt=0)


class Funding(Strict):
    grant_factor: dict[Literal[FUNDERS], Number] = P(  # type: ignore[valid-type]
        {f: 1.0 for f in FUNDERS}, "x", A,
        "Multiplier on every agency grant of each funder (the funding-level lever)")
    hire_lag_weeks: int = P(8, "weeks", A, "Weeks to recruit staff after money arrives", ge=0,
                            le=104)
    layoff_lag_weeks: int = P(8, "weeks", A, "Notice before staff leave after money ends", ge=0,
                              le=104)
    ihap_share: float = P(0.5, "share", "seed 004: IHAP reimburses provinces and municipalities "
                          "for housing asylum claimants; the share is an assumption",
                          "Share of municipal shelter cost for claimants that IHAP reimburses",
                          ge=0, le=1)
    ihap_lag_weeks: int = P(26, "weeks", A, "Delay of IHAP reimbursement", ge=0, le=520)
    ihap_predictable: bool = P(False, "-", "seed 004: ad hoc transfers are the norm",
                               "Whether IHAP claims are always paid")
    ihap_adhoc_payment: float = P(0.6, "probability", A,
                                  "Chance an ad hoc IHAP claim is paid", ge=0, le=1)
    shelter_bed_week_cad: float = P(1512.0, "CAD/bed-week",
                                    "derived: Toronto shelter budget $707.9M (2023) / ~9,000 "
                                    "spaces / 52 (City of Toronto, May 2023)",
                                    "Cost of one shelter bed for a week", ge=0)
    overflow_bed_week_cad: float = P(2000.0, "CAD/bed-week", A,
                                     "Cost of an overflow (hotel, cot) place for a week", ge=0)
    interim_place_week_cad: float = P(1340.0, "CAD/place-week",
                                      "derived: IRCC hotels $544M/yr for ~7,800 claimants "
                                      "(CIMM 28 Feb 2024)",
                                      "Cost of one federally funded interim-housing place", ge=0)


    @field_validator("grant_factor", mode="before")
    @classmethod
    def _fill_factors(cls, value: Any) -> Any:
        """A funder left out keeps factor 1."""
        if isinstance(value, dict):
            return {f: 1.0 for f in FUNDERS} | value
        return value

    @model_validator(mode="after")
    def _factors(self) -> Funding:
        bad = {f: v for f, v in self.grant_factor.items() if v < 0}
        if bad:
            raise ValueError(f"grant_factor must be >= 0, found {bad}")
        return self


class Sentiment(Strict):
    adjust_per_quarter: float = P(0.3, "share", A, "Share of the gap to target closed per quarter",
                                  gt=0, le=1)
    unsheltered_weight: float = P(0.5, "per unsheltered person per 1,000 residents",
                                  "seed 004: pictures of asylum seekers on sidewalks generated "
                                  "outrage; size assumption",
                                  "Sentiment lost per unsheltered person per 1,000 residents",
                                  ge=0)
    overcapacity_weight: float = P(0.2, "per share over beds", A,
                                   "Sentiment lost per share of shelter occupancy above beds",
                                   ge=0)
    spending_weight: float = P(0.01, "per CAD per resident-year", "seed 004: residents can resent "
                               "sharing resources; size assumption",
                               "Sentiment lost per municipal dollar per resident per year", ge=0)
    welcoming_weight: float = P(0.1, "-", A, "Sentiment gained with a welcoming strategy", ge=0)
    backlash_threshold: float = P(0.35, "0-1", A,
                                  "Below this the council cuts the newcomer budget", ge=0, le=1)
    backlash_cut: float = P(0.2, "share", A, "Newcomer budget cut on backlash", ge=0, le=1)


class Grant(Strict):
    funder: Literal[FUNDERS] = P(..., "-", A, "Order of government or charity")  # type: ignore[valid-type]
    amount_per_year: float = P(..., "CAD/year", A, "Money per year while active", ge=0)
    kind: Literal["core", "program"] = P("program", "-", "seed 004: core vs program funding",
                                         "Core (multi-year) or program (time-limited) money")
    start_week: int = P(0, "week", A, "First week the grant pays", ge=0)
    end_week: int | None = P(None, "week", A, "Week the grant stops paying (none: never)", ge=1)
    renewal_probability: float = P(0.0, "probability", "seed 004: ad hoc, program-based financing",
                                   "Chance an expiring program grant is renewed for a year",
                                   ge=0, le=1)

    @model_validator(mode="after")
    def _window(self) -> Grant:
        window(self.start_week, self.end_week)
        return self


class Agency(Strict):
    name: str = P(..., "-", A, "Unique name (after Unicode normalisation and case)")
    municipality: str = P(..., "-", A, "Municipality the agency serves")
    services: list[Literal[SERVICES]] = P(  # type: ignore[valid-type]
        list(SERVICES), "-", A, "Services offered")
    staff_fte: float = P(..., "FTE", A, "Caseworkers at week 0", ge=0, most=1e5)
    quality: float = P(0.7, "0-1", "seed 000: lack of culturally relevant services",
                       "Cultural relevance and quality of service", ge=0, le=1)
    flexibility: float = P(0.2, "share", "seed 004: flexible budget lines helped in the pandemic",
                           "Share of hours the agency may move toward its longest waiting list",
                           ge=0, le=1)
    reserves: float = P(0.0, "CAD", A, "Cash at week 0", ge=0)
    allowed_deficit: float = P(0.0, "CAD", A, "Overdraft allowed", ge=0)
    grants: list[Grant] = P([], "-", A, "Funding lines")

    _name = field_validator("name")(nonblank)


class Scenario(Strict):
    """A whole scenario file."""

    scenario: ScenarioInfo = Field(default_factory=ScenarioInfo)
    run: Run = Field(default_factory=Run)
    streams: dict[Literal[STREAMS], Stream] = Field(default_factory=dict)  # type: ignore[valid-type]
    shocks: list[Shock] = Field(default_factory=list)
    network_weight: float = P(2.0, "x per share of population", A,
                              "Pull of earlier arrivals on destination choice", ge=0)
    status: Status = Field(default_factory=Status)
    claims_board: ClaimsBoard = Field(default_factory=ClaimsBoard)
    services: Services = Field(default_factory=Services)
    housing: Housing = Field(default_factory=Housing)
    employment: Employment = Field(default_factory=Employment)
    ages: Ages = Field(default_factory=Ages)
    earlier_newcomers: EarlierNewcomers = Field(default_factory=EarlierNewcomers)
    francophone: Francophone = Field(default_factory=Francophone)
    integration: Integration = Field(default_factory=Integration)
    moves: Moves = Field(default_factory=Moves)
    funding: Funding = Field(default_factory=Funding)
    sentiment: Sentiment = Field(default_factory=Sentiment)
    response: Response = Field(default_factory=Response)
    politics: Politics = Field(default_factory=Politics)
    governments: Governments = Field(default_factory=Governments)
    provinces: dict[str, ProvinceRule] = Field(default_factory=dict)
    municipalities: list[Municipality] = Field(..., min_length=1)
    agencies: list[Agency] = Field(default_factory=list)
    timeline: list[Change] = Field(default_factory=list)
    transfers: list[Transfer] = Field(default_factory=list)

    def week_of(self, when: date) -> int:
        """The week of the run a calendar date falls in."""
        return (when - self.scenario.start_date).days // 7

    @model_validator(mode="after")
    def _dates_to_weeks(self) -> Scenario:
        """Resolve every date to its week, so the model only ever sees weeks."""
        for i, shock in enumerate(self.shocks):
            for end in ("start", "end"):
                when = getattr(shock, f"{end}_date")
                if when is not None:
                    week = self.week_of(when)
                    if week < 0:
                        raise ValueError(f"shocks[{i}].{end}_date: {when} is before "
                                         f"scenario.start_date {self.scenario.start_date}")
                    object.__setattr__(shock, f"{end}_week", week)
                    object.__setattr__(shock, f"{end}_date", None)
            if shock.end_week <= shock.start_week:
                raise ValueError(f"shocks[{i}]: the shock must end after it starts")
        for kind, items in (("timeline", self.timeline), ("transfers", self.transfers)):
            for i, item in enumerate(items):
                if item.date is not None:
                    week = self.week_of(item.date)
                    if week < 0:
                        raise ValueError(f"{kind}[{i}].date: {item.date} is before "
                                         f"scenario.start_date {self.scenario.start_date}")
                    object.__setattr__(item, "week", week)
                    object.__setattr__(item, "date", None)
        return self

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        names = [m.name for m in self.municipalities]
        unique_names(names, "municipalities")
        unique_names([a.name for a in self.agencies], "agencies")
        nowhere = streams_without_destination(self)
        if nowhere:
            raise ValueError(nowhere[0])
        for a in self.agencies:
            if a.municipality not in names:
                raise ValueError(f"agencies[{a.name}].municipality: {a.municipality!r} is not a "
                                 f"municipality of this scenario (known: {', '.join(names)})")
        for m in self.municipalities:
            problem = rif_in_quebec(m.name, m.province, m.policies.rif)
            if problem:
                raise ValueError(problem)
        provinces = sorted({m.province for m in self.municipalities})
        check_names("governments.provinces", self.governments.provinces, provinces)
        check_names("provinces", self.provinces, provinces)
        for i, t in enumerate(self.transfers):
            if t.municipality not in names:
                raise ValueError(f"transfers[{i}].municipality: {t.municipality!r} is not a "
                                 f"municipality of this scenario (known: {', '.join(names)})")
        return self

    def muni_index(self) -> dict[str, int]:
        return {m.name: i for i, m in enumerate(self.municipalities)}
