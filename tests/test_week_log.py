"""The week log (sim.week_log): output columns built when read, for all weeks kept since,
are the same bits as columns built every week; the Mesa collector and the history read it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import ReceptionModel
from sim.outputs import frames
from sim.runner import summarize
from sim.scenario import load_scenario

# 140 weeks: the column buffers start at 64 weeks and double twice; Toronto's scenario has
# a timeline, an emergency response and claims, funding_adhoc program grants that end.
CASES = [("toronto_refugee_shelter", 140), ("funding_adhoc", 70)]


@pytest.mark.parametrize(("name", "weeks"), CASES)
def test_columns_built_at_the_end_are_those_built_every_week(name, weeks):
    sc = load_scenario(name, [f"run.weeks={weeks}"])
    every_week, at_end, twice = (ReceptionModel(scenario=sc) for _ in range(3))
    for week in range(weeks):
        every_week.step()
        assert every_week.municipal_history[-1]["week"][0] == week  # built now
        assert every_week.week_totals["week"] == week
        at_end.step()
        twice.step()
        if week in (9, 100):
            twice.municipal_history[0]  # builds weeks kept so far; the rest later
    built = [frames(m) for m in (every_week, at_end, twice)]
    for muni, total in built[1:]:
        pd.testing.assert_frame_equal(muni, built[0][0], check_exact=True)
        pd.testing.assert_frame_equal(total, built[0][1], check_exact=True)
    assert len(built[0][0]) == weeks * len(every_week.municipalities)
    assert repr(summarize(*built[1])) == repr(summarize(*built[0]))  # nan == nan here
    assert every_week.cumulative_spend == at_end.cumulative_spend > 0


def test_history_rows_are_the_weeks_columns_and_totals_sum_them():
    model = ReceptionModel(scenario=load_scenario("classroom", ["run.weeks=12"]))
    assert len(model.municipal_history) == 0
    assert model.week_totals == {}
    model.run()
    history = model.municipal_history
    assert len(history) == 12
    assert [row["week"][0] for row in history] == list(range(12))
    assert [row["week"][0] for row in history[-3:]] == [9, 10, 11]
    last = history[-1]
    assert set(last) == set(model.week_log.columns())
    np.testing.assert_array_equal(last["newcomers"],
                                  model.week_log.column("newcomers")[-1])
    assert model.week_totals["newcomers"] == last["newcomers"].sum()
    assert model.week_totals["week"] == 11.0
    spend = model.datacollector.get_model_vars_dataframe()["spend_total"]
    assert model.cumulative_spend == pytest.approx(spend.sum(), rel=1e-12)
    with pytest.raises(IndexError):
        history[12]


def test_a_reporter_added_by_hand_gets_a_value_every_week_beside_the_totals():
    model = ReceptionModel(scenario=load_scenario("classroom", ["run.weeks=6"]))
    model.datacollector.model_reporters["doubled"] = lambda m: 2 * m.week_totals["newcomers"]
    model.run()
    table = model.datacollector.get_model_vars_dataframe()
    assert len(table) == 6
    assert (table["doubled"] == 2 * table["newcomers"]).all()
    assert table.columns[0] == "week"
