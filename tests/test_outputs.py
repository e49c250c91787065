"""Output helpers checked by hand: the index quantiles read off the decile histograms."""

from __future__ import annotations

import numpy as np

from sim.outputs import hist_quantiles


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
