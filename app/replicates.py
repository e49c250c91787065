"""Chance made visible: A and B run again on N seeds, drawn as bands, differences with 95%
intervals.

Replicate ``r`` of A and of B share seed ``seed + r`` (common random numbers), so the
difference of a pair is the change's, and ``analysis.compare.paired_interval`` gives
the 95% interval of the mean difference. Each replicate runs to the preset's horizon,
mid-run changes included (they are part of the settings, ``AppModel.app_params``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.compare import Interval, paired_interval
from app.model import AppModel
from app.outcomes import Outcome


@dataclass
class Replicates:
    """Weekly outcomes of the replicate runs: ``a[title]`` is (runs, weeks)."""

    seeds: list[int]
    a: dict[str, np.ndarray]
    b: dict[str, np.ndarray]

    def band(self, title: str, which: str) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest value of the runs, week by week."""
        runs = (self.a if which == "A" else self.b)[title]
        return runs.min(axis=0), runs.max(axis=0)

    def difference(self, title: str) -> Interval:
        """Mean of B - A at the last week over the paired seeds, with its 95% interval."""
        return paired_interval(self.a[title][:, -1], self.b[title][:, -1])

    def b_higher(self, title: str) -> int:
        """Seeds on which B ends higher than A."""
        return int(np.sum(self.b[title][:, -1] > self.a[title][:, -1]))


def run_to_end(params: dict) -> AppModel:
    model = AppModel(**params)
    while model.running:
        model.step()
    return model


def run_replicates(a_params: dict, b_params: dict, outcomes: list[Outcome], n: int,
                   progress: Callable[[float], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Replicates | None:
    """Run A and B on seeds ``seed .. seed + n - 1`` (None when cancelled midway)."""
    seeds = [int(a_params["seed"]) + r for r in range(n)]
    a: dict[str, list[np.ndarray]] = {o.title: [] for o in outcomes}
    b: dict[str, list[np.ndarray]] = {o.title: [] for o in outcomes}
    for k, seed in enumerate(seeds):
        for params, into in ((a_params, a), (b_params, b)):
            if cancelled is not None and cancelled():
                return None
            model = run_to_end({**params, "seed": seed})
            for o in outcomes:
                into[o.title].append(o.series(model))
        if progress is not None:
            progress((k + 1) / n)
    return Replicates(seeds, {t: np.vstack(v) for t, v in a.items()},
                      {t: np.vstack(v) for t, v in b.items()})
