"""The migrant table (sim.state): column views kept between reads follow the rows."""

from __future__ import annotations

import copy
import pickle

import numpy as np

from sim.state import MigrantArrays


def test_column_views_follow_appends_growth_and_copies():
    a = MigrantArrays.allocate(4)
    assert len(a.status) == 0
    a.columns["status"][a.append(3)] = [1, 2, 3]
    assert a.status.tolist() == [1, 2, 3]
    a.append(20)  # grows the columns past their capacity of 16
    assert a.capacity == 32
    assert a.status[:4].tolist() == [1, 2, 3, 0]
    assert len(a.dims) == 23
    assert a.dim_key.dtype == np.uint32  # 0: not yet settled (sim.kernels.dims)
    assert not a.dim_key.any()
    a.status[0] = 7  # a view: writes reach the table
    assert a.columns["status"][0] == 7
    for other in (copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        other.status[1] = 9  # the copy's own column, not the original's
        assert other.columns["status"][1] == 9
        assert a.columns["status"][1] == 2
        np.testing.assert_array_equal(other.view("dims"), a.view("dims"))
