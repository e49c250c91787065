"""The arrival statistics kept as people arrive and move into stable housing
(``sim.arrival_ledger``) against a recount of every row of a real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.arrival_ledger import ArrivalLedger
from sim.model import ReceptionModel
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_ledger_kept_by_events_equals_a_recount_of_the_rows():
    sc = load_scenario(ROOT / "scenarios" / "canada_baseline.toml",
                       ["run.weeks=120", "run.scale=100"])
    model = ReceptionModel(scenario=sc)
    model.run()
    kept = model.ledger
    recount = ArrivalLedger.of(model.migrants, len(model.municipalities), sc.run.weeks)
    for name in ("arrived", "reached", "within_year", "weeks_to_stable"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(recount, name), name)
    a = model.migrants
    moved_in = (a.stable_week > a.arrival_week) & (a.arrival_week >= 0)
    assert moved_in.sum() > 200  # those came from step_housing's records
    assert 0 < kept.within_year.sum() < kept.reached.sum() < kept.arrived.sum()
    # the tally reads them off: arrivals of a year ago or more, stable within that year
    misc = model.tally.misc
    assert misc[:, 1].sum() == (a.arrival_week >= 0).sum()
    year_ago = (a.arrival_week >= 0) & (model.week - 1 - a.arrival_week >= 52)
    assert misc[:, 12].sum() == year_ago.sum()
    assert misc[:, 13].sum() == (year_ago & (a.stable_week >= 0)
                                 & (a.stable_week - a.arrival_week <= 52)).sum()
