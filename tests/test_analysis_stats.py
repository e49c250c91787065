"""analysis: intervals, paired differences, Sobol indices, tornado, the planner's search, and
the outcome definitions, on synthetic data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.compare import (
    clopper_pearson_interval,
    compare,
    difference,
    paired_interval,
    pareto_front,
    resolve_baseline,
    t_interval,
    welch_interval,
    wilson_interval,
)
from analysis.outcomes import HEADLINE, outcomes_table, totals_from_cities, weekly_outcomes
from analysis.plan import find_level
from analysis.sensitivity import (
    infer_second_order,
    oat_effects,
    quantile_effects,
    sobol_indices,
    sobol_problem,
)
from analysis.targets import PlanError, Target, lever_value, parse_range, parse_target


# ---------------------------------------------------------------------------- intervals
def test_t_interval_of_known_data():
    # mean 3, sd sqrt(2.5), se sqrt(0.5), t(0.975, 4) = 2.7764451
    iv = t_interval([1, 2, 3, 4, 5])
    half = 2.7764451052 * math.sqrt(0.5)
    assert iv.estimate == pytest.approx(3.0)
    assert iv.low == pytest.approx(3 - half, abs=1e-6)
    assert iv.high == pytest.approx(3 + half, abs=1e-6)
    assert (iv.low, iv.high) == pytest.approx((1.036757, 4.963243), abs=1e-5)
    assert iv.n == 5


def test_t_interval_edge_cases():
    one = t_interval([7.0])
    assert one.estimate == 7.0
    assert math.isnan(one.low)
    assert math.isnan(one.high)
    assert t_interval([2.0, 2.0, 2.0]).width == 0
    assert t_interval([1.0, float("nan"), 3.0]).n == 2  # NaN dropped
    assert t_interval([]).n == 0


def test_welch_and_paired_match_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 8), rng.normal(1, 3, 11)
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    iv = welch_interval(a, b)
    assert iv.method == "welch"
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    c = a + rng.normal(0.5, 0.2, 8)
    ci = stats.ttest_rel(c, a).confidence_interval(0.95)
    iv = paired_interval(a, c)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def _runs(seeds_a, seeds_b, rng):
    """Two design points whose outcome is a large per-seed effect plus 1 for point 1."""
    seed_effect = {s: rng.normal(0, 10) for s in {*seeds_a, *seeds_b}}
    rows = []
    for point, seeds in ((0, seeds_a), (1, seeds_b)):
        for r, s in enumerate(seeds):
            rows.append({"run_id": f"p{point}-r{r}", "point": point, "replicate": r, "seed": s,
                         "scenario": "x", "label": ["base", "more"][point],
                         "y": 50 + seed_effect[s] + point * 1.0 + rng.normal(0, 0.1)})
    return pd.DataFrame(rows)


def test_paired_interval_much_narrower_than_unpaired():
    rng = np.random.default_rng(7)
    seeds = list(range(100, 110))
    runs = _runs(seeds, seeds, rng)
    table = compare(runs, ["y"], baseline="base")
    row = table[table["label"] == "more"].iloc[0]
    assert row["diff_method"] == "paired"
    assert row["diff_low"] < 1.0 < row["diff_high"]
    welch = welch_interval(runs.loc[runs.point == 0, "y"], runs.loc[runs.point == 1, "y"])
    paired_width = row["diff_high"] - row["diff_low"]
    assert paired_width < welch.width / 20
    assert paired_width < 0.3
    # the baseline's own row: difference 0
    base = table[table["label"] == "base"].iloc[0]
    assert base["diff_method"] == "baseline"
    assert base["diff"] == 0


def test_welch_when_seeds_differ():
    rng = np.random.default_rng(8)
    runs = _runs(list(range(10)), list(range(10, 20)), rng)
    d = difference(runs[runs.point == 0], runs[runs.point == 1], "y")
    assert d.method == "welch"
    table = compare(runs, ["y"])
    assert set(table["diff_method"]) == {"baseline", "welch"}


def test_baseline_resolution():
    runs = _runs([1, 2], [1, 2], np.random.default_rng(0))
    assert resolve_baseline(runs, None) == "base"
    assert resolve_baseline(runs, "more") == "more"
    assert resolve_baseline(runs, "1") == "more"
    assert resolve_baseline(runs, "p1") == "more"
    with pytest.raises(ValueError, match="not a design point"):
        resolve_baseline(runs, "nope")


def test_share_intervals_known_values():
    # Wilson 8/10 at 95%: (0.4902, 0.9433); Clopper-Pearson: (0.4439, 0.9748)
    assert wilson_interval(8, 10) == pytest.approx((0.49016, 0.94332), abs=1e-4)
    assert clopper_pearson_interval(8, 10) == pytest.approx((0.44390, 0.97479), abs=1e-4)
    assert wilson_interval(0, 5)[0] == 0.0
    assert clopper_pearson_interval(5, 5)[1] == 1.0


def test_pareto_front():
    cost = [1, 2, 3, 2.5, 4]
    value = [1, 3, 2, 3.5, 3.4]
    # (3, 2) is dominated by (2, 3); (4, 3.4) by (2.5, 3.5)
    assert pareto_front(cost, value).tolist() == [True, True, False, True, False]
    assert pareto_front(cost, value, higher_is_better=False).tolist() == [
        True, False, False, False, False]


# ---------------------------------------------------------------------------- sensitivity
def test_sobol_indices_of_ishigami_match_published_values():
    from SALib.sample import sobol as sobol_sample
    from SALib.test_functions import Ishigami

    problem = sobol_problem(["x1", "x2", "x3"], [[-math.pi, math.pi]] * 3)
    x = sobol_sample.sample(problem, 1024, calc_second_order=True, seed=3)
    first, second = sobol_indices(problem["names"], Ishigami.evaluate(x), seed=3)
    # Published: S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437
    assert first["S1"].tolist() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.05)
    assert first["ST"].tolist() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.05)
    assert (first["S1_conf"] > 0).all()
    assert (first["ST_conf"] < 0.15).all()
    assert second is not None
    assert len(second) == 3
    s13 = second[(second.parameter_1 == "x1") & (second.parameter_2 == "x3")]["S2"].iloc[0]
    assert s13 == pytest.approx(0.2437, abs=0.1)


def test_saltelli_size_says_second_order():
    assert infer_second_order(8 * (2 * 3 + 2), 3) is True
    assert infer_second_order(8 * (3 + 2), 3) is False
    with pytest.raises(ValueError, match="not a Saltelli sample"):
        infer_second_order(7, 3)


def test_oat_effects_on_a_factorial():
    rows = []
    point = 0
    for a in (1.0, 2.0, 3.0):
        for b in (10.0, 20.0):
            for r in range(3):
                rows.append({"point": point, "replicate": r, "a": a, "b": b,
                             "y": 2 * a + 0.5 * b + (r - 1) * 0.01})
            point += 1
    runs = pd.DataFrame(rows)
    eff = oat_effects(runs, ["a", "b"], "y", baseline_point=2)  # a = 2, b = 10
    by = eff.set_index("factor")
    assert by.loc["a", "at_low"] == pytest.approx(2 + 5)
    assert by.loc["a", "at_high"] == \
        pytest.approx(6 + 5)
    assert by.loc["b", "at_low"] == pytest.approx(4 + 5)
    assert by.loc["b", "at_high"] == pytest.approx(4 + 10)
    assert by.loc["a", "baseline"] == pytest.approx(9)
    assert list(eff["factor"]) == ["b", "a"] or by.loc["b", "swing"] == by.loc["a", "swing"]
    q = quantile_effects(runs, ["a", "b"], "y")
    assert set(q["factor"]) == {"a", "b"}
    assert (q["at_high"] > q["at_low"]).all()


# ---------------------------------------------------------------------------- the planner
def _synthetic(noise: np.ndarray):
    """y = 10 - 2 x + noise_r, the same noise for replicate r at every level (CRN)."""
    calls = []

    def evaluate(levels):
        calls.append(list(levels))
        return [10 - 2 * np.asarray(x, float) + noise for x in levels]
    return evaluate, calls


def test_find_level_on_a_monotone_function():
    noise = np.random.default_rng(5).normal(0, 1, 20)
    evaluate, calls = _synthetic(noise)
    target = Target("y", "<", 4.0, "y<4")
    s = find_level(evaluate, target, 0.0, 10.0, 0.8, grid=5, tol=0.01)
    # meets when 2x - 6 > noise_r for at least 16 of 20 replicates
    m = math.ceil(0.8 * 20)
    exact = (6 + np.sort(noise)[m - 1]) / 2
    assert s.answer is not None
    assert s.below is not None
    assert s.below <= exact < s.answer
    assert s.answer - s.below <= 0.01
    lv = s.at(s.answer)
    assert lv.share >= 0.8
    assert s.at(s.below).share < 0.8
    assert s.boot is not None
    assert s.boot[0] <= s.answer <= s.boot[1] + 1e-9
    assert not s.warnings
    assert len(calls[0]) == 5
    assert all(len(c) == 1 for c in calls[1:])
    table = s.table()
    assert set(table["phase"]) == {"grid", "bisection"}


def test_find_level_integer_lever_and_edges():
    noise = np.zeros(4)
    evaluate, _ = _synthetic(noise)
    # 10 - 2x < 4  <=>  x > 3: the smallest whole number is 4
    s = find_level(evaluate, Target("y", "<", 4, ""), 0, 20, 0.5, grid=5, integer=True)
    assert s.answer == 4
    assert s.below == 3
    # the lower end already meets it
    s = find_level(evaluate, Target("y", "<", 100, ""), 0, 5, 0.5)
    assert s.answer == 0
    assert s.below is None
    # never met in the range
    s = find_level(evaluate, Target("y", "<", -100, ""), 0, 5, 0.5)
    assert s.answer is None


def test_find_level_conservative_and_non_monotone():
    noise = np.zeros(10)
    evaluate, _ = _synthetic(noise)
    plain = find_level(evaluate, Target("y", "<", 4, ""), 0, 10, 1.0, tol=0.01)
    # with 10 of 10 meeting, Wilson's lower bound is 0.72 < 0.8: never enough
    strict = find_level(evaluate, Target("y", "<", 4, ""), 0, 10, 0.8, tol=0.01,
                        conservative=True)
    assert plain.answer == pytest.approx(3.0, abs=0.011)
    assert strict.answer is None

    def bump(levels):  # meets only on [2.5, 4.5] and above 8
        return [np.full(5, 0.0 if (2.5 <= x <= 4.5 or x > 8) else 1.0) for x in levels]
    s = find_level(bump, Target("y", "<", 0.5, ""), 0, 10, 0.8, grid=6, tol=0.01)
    assert s.answer == pytest.approx(2.5, abs=0.011)
    assert s.warnings
    assert "not monotone" in s.warnings[0]
    assert "6, 8" in s.warnings[0]


def test_target_and_range_parsing():
    t = parse_target("mean_wait_language < 8")
    assert (t.outcome, t.op, t.threshold) == ("mean_wait_language", "<", 8.0)
    assert t.meets([7, 8, float("nan")]).tolist() == [True, False, False]
    assert parse_target("max(unsheltered)>=1_000").threshold == 1000
    assert parse_target("week52(employment_rate)>0.5").outcome == "week52(employment_rate)"
    for bad, msg in [("mean_wait_language=8", "expected OUTCOME OP VALUE"),
                     ("mean_wait_languag<8", "did you mean mean_wait_language"),
                     ("retention<abc", "not a number"), ("", "expected")]:
        with pytest.raises(PlanError, match=msg):
            parse_target(bad)
    with pytest.raises(PlanError, match="system totals only"):
        parse_target("index_student_at_end>0.3", city="Toronto")
    assert parse_range("0.5:4") == (0.5, 4.0)
    for bad in ("4:0.5", "1", "a:b", "1:1"):
        with pytest.raises(PlanError):
            parse_range(bad)


def test_lever_lookup():
    data = {"funding": {"grant_factor": {"federal": 1.0}, "ihap_predictable": False},
            "municipalities": [{"name": "Toronto", "shelter_beds": 100}]}
    assert lever_value(data, "funding.grant_factor.federal") == 1.0
    assert lever_value(data, "municipalities[Toronto].shelter_beds") == 100
    with pytest.raises(PlanError, match="did you mean federal"):
        lever_value(data, "funding.grant_factor.fedral")
    with pytest.raises(PlanError, match="no item named 'Torono'; did you mean Toronto"):
        lever_value(data, "municipalities.Torono.shelter_beds")
    with pytest.raises(PlanError, match="not a numeric parameter"):
        lever_value(data, "funding.ihap_predictable")
    with pytest.raises(PlanError, match="not a numeric parameter"):
        lever_value(data, "funding")


# ---------------------------------------------------------------------------- outcomes
def _weekly(n_weeks: int, cities: dict[str, float]) -> pd.DataFrame:
    rows = []
    for w in range(n_weeks):
        for city, scale in cities.items():
            rows.append({"week": w, "municipality": city, "newcomers": 100 * scale,
                         "arrivals": 5.0 * scale, "shelter_occupancy": scale * (w % 7),
                         "unsheltered": float(w % 3), "employment_rate": 0.1 + w / 400 * scale,
                         "integration_index": 0.2 * scale, "retention": 0.9,
                         "started_language": float(w % 4), "mean_wait_language": w / 10 * scale,
                         "spend_federal": 10.0 * scale, "spend_provincial": 1.0,
                         "spend_municipal": 0.0, "spend_charity": 0.0,
                         "mean_weeks_to_stable": 3.0, "reached_stable_share": 0.5})
    return pd.DataFrame(rows)


def test_outcome_definitions_on_a_synthetic_run():
    df = _weekly(160, {"A": 1.0})
    o = weekly_outcomes(df)
    assert o["peak_shelter_occupancy"] == 6
    assert o["unsheltered_person_weeks"] == sum(
        w % 3 for w in range(160))
    assert o["employment_rate_1y"] == pytest.approx(0.1 + 51 / 400)
    assert o["employment_rate_3y"] == pytest.approx(0.1 + 155 / 400)
    started = np.array([w % 4 for w in range(160)], float)
    waits = np.arange(160) / 10
    assert o["mean_wait_language"] == pytest.approx((started * waits).sum() / started.sum())
    assert o["spend_total"] == pytest.approx(11 * 160)
    assert o["cost_per_integration_point"] == pytest.approx(11 * 160 / (0.2 * 100))
    assert math.isnan(o["mean_wait_orientation"])  # no such columns
    short = weekly_outcomes(_weekly(40, {"A": 1.0}))
    assert math.isnan(short["employment_rate_1y"])
    assert set(HEADLINE) <= set(o)


def test_totals_from_cities_are_exact_where_derivable():
    df = _weekly(10, {"A": 1.0, "B": 3.0}).assign(run_id="r")
    tot = totals_from_cities(df, ["run_id"])
    w3 = df[df.week == 3]
    row = tot[tot.week == 3].iloc[0]
    assert row["newcomers"] == w3["newcomers"].sum()
    emp = (w3["employment_rate"] * w3["newcomers"]).sum() / w3["newcomers"].sum()
    assert row["employment_rate"] == pytest.approx(emp)
    wait = (w3["mean_wait_language"] * w3["started_language"]).sum() / w3["started_language"].sum()
    assert row["mean_wait_language"] == pytest.approx(wait)
    assert "retention" not in tot.columns
    per_city = outcomes_table(df, ["run_id", "municipality"])
    assert per_city.set_index("municipality").loc["B", "peak_shelter_occupancy"] == 18


def test_outcomes_reproduce_the_model_summary():
    """For system totals the definitions are sim.runner.summarize's."""
    from conftest import scenario as make_scenario

    from sim.runner import simulate

    result = simulate(make_scenario({"run": {"weeks": 30}}))
    ours = weekly_outcomes(result.totals)
    for key, value in result.summary.items():
        if key in ours:
            assert ours[key] == pytest.approx(value, rel=1e-9, nan_ok=True), key


def test_docs_name_every_outcome():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text()
    missing = [o for o in HEADLINE if f"`{o}`" not in doc]
    assert not missing, f"docs/analysis.md does not list {missing}"
