"""What a run will cost before it starts: peak migrant agents, memory and time.

A scenario can ask for more than any machine holds (10^8 arrivals a year at scale 1, or a
tiny ``run.scale``): the run would swap, be killed, or die in numpy after minutes. So
``reception run`` checks the estimate first and refuses, naming the ``run.scale`` that
would fit, unless ``--force``; ``reception validate`` prints the estimate.

Agents are rows ever created (rows are never removed): the arrivals of the horizon (series
as read, shocks applied) plus the week-0 shelter stock, over ``run.scale``. Memory per agent
is the measured peak-RSS growth per migrant (docs/performance.md: 77 B at 1M) doubled for the
capacity doubling when arrivals outrun the preallocation, plus the process's base. Time uses
the benchmark's measured migrant-weeks per CPU second (``benchmarks/results.json``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.codes import WEEKS_PER_YEAR
from sim.params import Scenario

BYTES_PER_AGENT = 2 * 77  # peak RSS growth per migrant (docs/performance.md), x2 on growth
BASE_BYTES = 400 * 2**20  # interpreter, numba kernels, pandas (docs/performance.md: ~350 MiB)
STARTUP_S = 1.5  # warm start-up of `reception run` (benchmarks/results.json "startup")
FALLBACK_RATE = 20e6  # migrant-weeks per CPU second if the benchmark file is absent
FORCE_ENV = "RECEPTION_FORCE"  # set by --force; worker processes inherit it
USABLE = 0.8  # share of the available memory a run may take (the rest: OS, other work)
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "results.json"


class ResourceError(ValueError):
    """A run that would not fit in this machine's memory; the message says what would."""


@dataclass(frozen=True)
class Estimate:
    agents: float
    migrant_weeks: float
    bytes: float
    seconds: float

    def __str__(self) -> str:
        return (f"~{_count(self.agents)} migrant agents, ~{_size(self.bytes)} of memory, "
                f"~{_duration(self.seconds)}")


def migrant_weeks_per_second() -> float:
    """The benchmark's measured speed (million-migrant run), or a conservative fallback."""
    try:
        rate = json.loads(BENCHMARK.read_text())["million"]["migrant_weeks_per_cpu_s"]
        return float(rate) if rate > 0 else FALLBACK_RATE
    except (OSError, ValueError, KeyError, TypeError):
        return FALLBACK_RATE


def arrivals(scenario: Scenario) -> float:
    """Persons arriving over the horizon, series read and shocks applied, plus the stocks
    present at week 0 (in shelter, and the earlier newcomers)."""
    from sim.series import weekly_arrivals

    weeks = scenario.run.weeks
    total = sum(m.initial_shelter_occupancy + m.earlier_newcomers
                for m in scenario.municipalities)
    for name, stream in scenario.streams.items():
        if stream.series is not None:
            per_week = weekly_arrivals(stream.series, scenario.scenario.start_date, weeks)
        else:
            per_week = np.full(weeks, stream.per_year / WEEKS_PER_YEAR)
        factor = np.ones(weeks)
        for shock in scenario.shocks:
            if shock.stream == name:
                factor[max(shock.start_week, 0):max(shock.end_week, 0)] *= shock.multiplier
        total += float((per_week * factor).sum())
    return total


def estimate(scenario: Scenario) -> Estimate:
    """Peak agents, memory and time of a run of ``scenario`` (see the module text)."""
    agents = arrivals(scenario) / scenario.run.scale
    migrant_weeks = agents * scenario.run.weeks / 2  # arrivals spread over the horizon
    return Estimate(agents, migrant_weeks, BASE_BYTES + agents * BYTES_PER_AGENT,
                    STARTUP_S + migrant_weeks / migrant_weeks_per_second())


def available_memory() -> float | None:
    """Bytes this process may still use: MemAvailable, cut to a cgroup limit; None if unknown."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(float(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = float(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if text != "max":
            found.append(float(text) - used)
    except (OSError, ValueError):
        pass
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")))
        except (ValueError, OSError):
            pass
    return min(found) if found else None


def check(scenario: Scenario, memory: float | None = None) -> Estimate:
    """The estimate, or ``ResourceError`` if the run would not fit in ``memory`` bytes.

    ``memory`` defaults to what this machine has available now.
    """
    est = estimate(scenario)
    memory = available_memory() if memory is None else memory
    if memory is None or est.bytes <= USABLE * memory:
        return est
    room = USABLE * memory - BASE_BYTES
    fits = math.inf if room <= 0 else scenario.run.scale * est.agents * BYTES_PER_AGENT / room
    advice = (f"run.scale = {_round_up(fits):g} would fit" if math.isfinite(fits) and
              fits <= 1e6 else "no run.scale fits")
    raise ResourceError(f"run.scale: this run would need {est} (run.scale = "
                        f"{scenario.run.scale:g}), more than {USABLE:.0%} of the "
                        f"{_size(memory)} of memory available; {advice} (reception run --force, "
                        f"or {FORCE_ENV}=1 for any command, runs it anyway)")


def guard(scenario: Scenario) -> None:
    """Refuse a run that would not fit (every entry point builds its models through this),
    unless ``RECEPTION_FORCE`` is set (``--force``)."""
    if not os.environ.get(FORCE_ENV, "").strip():
        check(scenario)


def force() -> None:
    """Let runs exceed the estimate from now on, in this process and its workers."""
    os.environ[FORCE_ENV] = "1"


def _round_up(x: float) -> float:
    """Up to two significant digits, so the advice is a number a person would write."""
    step = 10 ** (math.floor(math.log10(x)) - 1) if x > 0 else 1
    return math.ceil(x / step) * step


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e9 else f"{n:.2g}"


def _size(b: float) -> str:
    for unit, k in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if b >= k:
            return f"{b / k:,.1f} {unit}" if b / k < 1e6 else f"{b / k:.2g} {unit}"
    return f"{b / 2**20:.1f} MB"


def _duration(s: float) -> str:
    for unit, k in (("days", 86400), ("h", 3600), ("min", 60)):
        if s >= k:
            return f"{s / k:,.1f} {unit}" if s / k < 1e6 else f"{s / k:.2g} {unit}"
    return f"{s:.0f} s"
