"""The Toronto refugee shelter scenario: runs on the bundled data, fits 2018-2021 as reported.

The thresholds below are those reported in docs/validation.md (measured for the scenario's
own seed, with a margin); the months after 2021 are out of sample and only checked for
being there and for following the scenario's dated policies.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from sim.calibrate import read_observed, statistics
from sim.runner import MONTHLY_TABLE
from sim.scenario import REPO_ROOT, load_scenario

SCENARIO = REPO_ROOT / "scenarios" / "toronto_refugee_shelter.toml"
OBSERVED = REPO_ROOT / "data" / "toronto_refugees_actively_homeless.csv"
SOURCE = REPO_ROOT / "data" / "toronto_shelter_system_flow_2018_2021.csv"

# In-sample fit, 2018-01..2021-12, the scenario's seed (docs/validation.md)
# Seed 1 gives MAPE 25.8%, MASE 3.75, RMSE 596 with the values refitted on 2018-2021 after
# ages, earlier newcomers and the province rules were added (seeds 2 and 3: MAPE 31.3% and
# 26.8%, MASE 4.50 and 3.97): docs/validation.md, revision 4 (re-evaluated)
MAX_MAPE = 30.0  # percent
MAX_MASE = 4.5
MAX_RMSE = 800.0  # persons


@pytest.fixture(scope="module")
def months(tmp_path_factory):
    out = tmp_path_factory.mktemp("toronto") / "out"
    r = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(SCENARIO), "--out", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert r.returncode == 0, r.stderr
    assert "Toronto" in r.stdout
    frame = pd.read_parquet(out / MONTHLY_TABLE)
    frame.attrs["record"] = json.loads((out / "run.json").read_text())
    return frame


def test_observed_series_is_the_refugees_group_of_the_bundled_file():
    flow = pd.read_csv(SOURCE)
    refugees = flow[flow["population_group"] == "Refugees"]
    expected = pd.Series(refugees["actively_homeless"].to_numpy(float),
                         pd.to_datetime(refugees["date(mmm-yy)"], format="%b-%y").to_numpy())
    observed = read_observed(OBSERVED)
    assert list(pd.read_csv(OBSERVED).columns) == ["month", "value"]
    assert len(observed) == 48
    assert observed.index[0] == pd.Timestamp("2018-01-01")
    assert observed.index[-1] == pd.Timestamp("2021-12-01")
    pd.testing.assert_series_equal(observed, expected.sort_index(), check_names=False,
                                   check_freq=False)


def test_scenario_is_toronto_driven_by_ontario_claims():
    sc = load_scenario(SCENARIO)
    assert [m.name for m in sc.municipalities] == ["Toronto"]
    toronto = sc.municipalities[0]
    assert toronto.initial_shelter_occupancy == read_observed(OBSERVED).iloc[0] == 2408
    series = sc.streams["asylum_claimant"].series
    assert series.where == {"province": "Ontario"}
    assert series.file.endswith("ircc_asylum_claims_by_province_month.csv")
    assert str(sc.scenario.start_date) == "2018-01-01"
    assert len(sc.timeline) == 2
    assert len(sc.transfers) == 1


def test_every_number_in_the_scenario_says_where_it_comes_from():
    for i, line in enumerate(SCENARIO.read_text().splitlines(), 1):
        if re.match(r'^\s*"?[\w.]+"?\s*=\s*[-\d]', line):
            assert "#" in line, f"line {i} has a number without a source: {line}"


def test_run_writes_monthly_table_from_2018_to_2024(months):
    assert {"month", "refugees_actively_homeless", "actively_homeless",
            "shelter_occupancy", "unsheltered", "arrivals"} <= set(months.columns)
    month = pd.to_datetime(months["month"])
    assert month.min() == pd.Timestamp("2018-01-01")
    assert month.max() >= pd.Timestamp("2024-02-01")
    assert (month.diff().dropna().dt.days.between(28, 31)).all()  # every month, in order
    assert months["refugees_actively_homeless"].notna().all()
    assert (months["refugees_actively_homeless"] > 0).all()


def test_fit_2018_2021_is_within_the_reported_thresholds(months):
    observed = read_observed(OBSERVED)
    modelled = months.set_index(pd.to_datetime(months["month"]))["refugees_actively_homeless"]
    s = statistics(observed, modelled)
    assert s.months == 48
    assert s.mape < MAX_MAPE
    assert s.mase < MAX_MASE
    assert s.rmse < MAX_RMSE


def test_the_june_2023_refusal_does_not_empty_the_shelter_system(months):
    """The pattern the model got wrong before the crisis response: after the refusal the
    City's count did not fall. Now the cap lapses under pressure to act, the City's emergency
    places fill, and the count stays at the system's capacity while people wait outside."""
    m = months.set_index(pd.to_datetime(months["month"]))
    events = [e for _, _, e in months.attrs["record"]["events"]]
    assert any("refuses new asylum-seeker intake" in e for e in events)
    lifted = [e for e in events if "lifts its intake cap" in e]
    assert lifted
    assert "pressure to act" in lifted[0]
    april, january = m.loc["2023-04-01"], m.loc["2024-01-01"]
    assert january["refugees_actively_homeless"] >= april["refugees_actively_homeless"]
    after = m.loc["2023-07-01":]
    assert (after["interim_occupancy"] > 0).all()  # the July 2023 top-up places are used
    assert (after["unsheltered"] > 0).all()  # the system is full: people wait outside
    assert (m.loc["2019-01-01":, "shelter_occupancy"] > 500).all()  # beyond the 500 spaces
