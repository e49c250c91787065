"""Output helpers checked by hand: the index quantiles read off the decile histograms; the
column lists of docs/ODD.md against the tables a run makes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim.model import ReceptionModel
from sim.outputs import frames, hist_quantiles
from sim.scenario import DEFAULT_SCENARIO, load_scenario

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"


def test_hist_quantiles_interpolate_within_the_bin_for_every_city_at_once():
    hist = np.array([
        [0, 0, 0, 0, 0, 10, 0, 0, 0, 0],  # everyone in [0.5, 0.6)
        [5, 0, 0, 0, 0, 0, 0, 0, 0, 5],  # half at the bottom, half at the top
        [0] * 10,  # nobody: no quantile
    ])
    # Median: city 0 is halfway through bin 5 (0.55); city 1 reaches exactly half at the end
    # of bin 0 (0.1); city 2 has none.
    np.testing.assert_allclose(hist_quantiles(hist, (0.5,))[0], [0.55, 0.1, np.nan])
    # 90th percentile: 0.59 in city 0; city 1 is 80% of the way through bin 9 (0.98).
    np.testing.assert_allclose(hist_quantiles(hist, (0.9,))[0], [0.59, 0.98, np.nan])
    # One histogram (the system total) works too.
    np.testing.assert_allclose(hist_quantiles(hist[0], (0.1,))[0], [0.51])


def test_hist_quantiles_default_to_the_three_reported():
    hist = np.array([[1] * 10])  # uniform: the q-quantile is q
    np.testing.assert_allclose(hist_quantiles(hist), [[0.1], [0.5], [0.9]])


@pytest.fixture(scope="module")
def tables():
    model = ReceptionModel(scenario=load_scenario(DEFAULT_SCENARIO, ["run.weeks=2"]))
    model.run()
    return frames(model)


@pytest.mark.parametrize("which", [0, 1], ids=["municipalities", "totals"])
def test_odd_lists_every_output_column_in_order(tables, which):
    """The "Exact column list" blocks of docs/ODD.md are the columns a run writes."""
    block = re.search(r"Exact column list \((\d+) columns\), as printed by "
                      rf"`list\(frames\(model\)\[{which}\]\.columns\)`:\n\n```\n(.*?)\n```",
                      ODD.read_text(encoding="utf-8"), re.S)
    listed = [c.strip() for c in block.group(2).replace("\n", " ").split(",") if c.strip()]
    assert listed == list(tables[which].columns)
    assert int(block.group(1)) == len(listed)
