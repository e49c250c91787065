"""The many-lever planner: known answers (a monotone one-lever case against the bisection, a
two-lever case against brute force on the grid), its confidence statement on fresh seeds,
and the command line on the classroom scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.cli import main as cli_main
from analysis.compare import wilson_interval
from analysis.optimise import Lever, Search, _measure, confirm, parse_cost, parse_lever, search
from analysis.plan import find_level
from analysis.targets import PlanError, parse_target

CLASSROOM = Path(__file__).resolve().parents[1] / "scenarios" / "classroom.toml"
SEEDS = list(range(10))


def _noise(seed: int, k: int = 0) -> float:
    return float(np.random.default_rng([seed, k]).normal())


def fake_model(seeds):
    """A model with two levers: outcome a rises with x + 2y, b falls with y and rises with x;
    cost 3x + y (replicate r's noise is the same for every candidate: common random numbers)."""
    def evaluate(cands):
        out = []
        for v in cands:
            x, y = v.get("x", 0.0), v.get("y", 0.0)
            out.append([{"a": x + 2 * y + 0.5 * _noise(s, 0),
                         "b": x - 0.5 * y + 0.3 * _noise(s, 1),
                         "spend_total": 3 * x + y} for s in seeds])
        return out
    return evaluate


def test_one_lever_agrees_with_the_bisection():
    target = parse_target("retention>4")  # any known outcome name; the fake model supplies it
    evaluate = fake_model(SEEDS)

    def rename(cands):
        return [[{**o, "retention": o["a"]} for o in outs] for outs in evaluate(cands)]

    lever = Lever("x", "float", 0.0, 8.0, 0.1)
    found = search(rename, [lever], [target], ["spend_total"], 0.8, trials=12, seed=1)
    bis = find_level(lambda xs: [np.array([o["retention"] for o in outs])
                                 for outs in rename([{"x": x} for x in xs])],
                     target, 0.0, 8.0, 0.8, grid=5, tol=0.1)
    assert bis.answer is not None
    assert abs(found.best().values["x"] - bis.answer) <= 0.1 + 1e-9


def test_two_levers_agree_with_brute_force_on_the_grid():
    targets = [parse_target("retention>6"), parse_target("arrivals>0.5")]
    evaluate = fake_model(SEEDS)

    def rename(cands):
        return [[{**o, "retention": o["a"], "arrivals": o["b"]} for o in outs]
                for outs in evaluate(cands)]

    levers = [Lever("x", "float", 0.0, 5.0, 0.5), Lever("y", "float", 0.0, 5.0, 0.5)]
    found = search(rename, levers, targets, ["spend_total"], 0.8, trials=30, seed=3)
    grid = [{"x": levers[0].value(i), "y": levers[1].value(j)}
            for i in range(levers[0].size) for j in range(levers[1].size)]
    best_cost, best = np.inf, None
    for values, outs in zip(grid, rename(grid), strict=True):
        shares = [t.meets([o[t.outcome] for o in outs]).mean() for t in targets]
        cost = np.mean([o["spend_total"] for o in outs])
        if min(shares) >= 0.8 and cost < best_cost:
            best_cost, best = cost, values
    plan = found.best()
    assert best is not None
    assert plan.cost_mean == pytest.approx(best_cost)
    assert abs(plan.values["x"] - best["x"]) <= 0.5
    assert abs(plan.values["y"] - best["y"]) <= 0.5
    assert len(found.candidates) < len(grid)  # fewer runs than brute force


def _scores(s: Search, c) -> np.ndarray:
    """Cost and each target's mean outcome, all to be minimised."""
    signs = [1.0 if t.op in ("<", "<=") else -1.0 for t in s.targets]
    return np.array([c.cost_mean, *(g * float(np.mean(v))
                                     for g, v in zip(signs, c.target_values, strict=True))])


def _dominated(s: Search, c) -> bool:
    mine = _scores(s, c)
    return any(np.all(o <= mine) and np.any(o < mine)
               for o in (_scores(s, d) for d in s.candidates if d is not c))


def _cheaper_twin(s: Search, c) -> bool:
    """An evaluated candidate with the same levers as ``c`` but less waste."""
    same = {k: v for k, v in c.values.items() if k != "waste"}
    return any(d.values["waste"] < c.values["waste"]
               and all(d.values[k] == v for k, v in same.items()) for d in s.candidates)


def test_pareto_front_is_exactly_the_undominated_candidates():
    """A lever that only costs money ("waste") makes dominated candidates: the front holds
    every candidate no evaluated one beats and no other, and along it (one target) the
    outcome improves strictly as the cost rises."""
    target = parse_target("retention>4")

    def evaluate(cands):
        return [[{"retention": v["x"] + 0.5 * _noise(s), "spend_total": 3 * v["x"] + v["waste"]}
                 for s in SEEDS] for v in cands]

    levers = [Lever("x", "float", 0.0, 8.0, 1.0), Lever("waste", "float", 0.0, 4.0, 1.0)]
    found = search(evaluate, levers, [target], ["spend_total"], 0.8, trials=20, seed=4)
    front = found.pareto()
    on_front = {id(c) for c in front}
    for c in found.candidates:
        assert (id(c) in on_front) == (not _dominated(found, c)), c.values
    assert any(_dominated(found, c) for c in found.candidates)  # the front excludes some
    assert not any(_cheaper_twin(found, c) for c in front)  # no point pays for nothing
    costs = [c.cost_mean for c in front]
    means = [float(np.mean(c.target_values[0])) for c in front]
    assert costs == sorted(costs)
    assert all(b > a for a, b in zip(means, means[1:], strict=False))  # dearer is better
    # a hand-made dominated candidate (same x as one on the front, more waste) is excluded
    twin = front[len(front) // 2]
    extra = _measure((99, 99), {"x": twin.values["x"], "waste": 2.0},
                     evaluate([{"x": twin.values["x"], "waste": 2.0}])[0], [target],
                     ["spend_total"], len(found.candidates), "test")
    found.candidates.append(extra)
    assert extra not in found.pareto()
    assert twin in found.pareto()


def test_pareto_front_with_two_targets_keeps_trade_offs():
    """Two targets pulling apart (more y: a up, b down) leave several undominated candidates;
    a candidate worse on cost and on both targets than another is not among them."""
    targets = [parse_target("retention>6"), parse_target("arrivals>0.5")]
    evaluate = fake_model(SEEDS)

    def rename(cands):
        return [[{**o, "retention": o["a"], "arrivals": o["b"], "spend_total":
                  o["spend_total"] + v.get("waste", 0.0)} for o in outs]
                for v, outs in zip(cands, evaluate(cands), strict=True)]

    levers = [Lever("x", "float", 0.0, 4.0, 1.0), Lever("y", "float", 0.0, 4.0, 1.0),
              Lever("waste", "float", 0.0, 2.0, 1.0)]
    found = search(rename, levers, targets, ["spend_total"], 0.8, trials=24, seed=5)
    front = found.pareto()
    on_front = {id(c) for c in front}
    for c in found.candidates:
        assert (id(c) in on_front) == (not _dominated(found, c)), c.values
    assert len(front) >= 3
    assert len(front) < len(found.candidates)
    assert not any(_cheaper_twin(found, c) for c in front)
    assert any(_cheaper_twin(found, c) for c in found.candidates)  # some were excluded so


def test_confirmation_on_fresh_seeds_covers_the_true_probability():
    """outcome = x + N(0, 1): P(outcome > 1) at x is Phi(x - 1), known exactly."""
    target = parse_target("retention>1")

    def model(seeds):
        return lambda values: [{"retention": values["x"] + _noise(s), "spend_total": values["x"]}
                               for s in seeds]

    lever = Lever("x", "float", 0.0, 4.0, 0.25)
    found = search(lambda cands: [model(SEEDS)(v) for v in cands], [lever], [target],
                   ["spend_total"], 0.8, trials=10, seed=2)
    plan = found.best()
    fresh = list(range(100, 150))
    checked = confirm(model(fresh), plan, [target], ["spend_total"], fresh)
    k, n, lo, hi = checked.target_interval(0)
    truth = stats.norm.cdf(plan.values["x"] - 1)
    assert n == 50
    assert (k, n) == (int(checked.candidate.meets[0].sum()), 50)
    assert (lo, hi) == wilson_interval(k, n)
    assert lo <= truth <= hi
    m, clo, chi = checked.cost_interval()
    assert m == pytest.approx(plan.values["x"])


def test_levers_and_costs_are_parsed_with_clear_errors():
    assert parse_lever("funding.grant_factor.federal=0.5:3:0.25", 1.0).size == 11
    assert parse_lever("municipalities.M.shelter_beds=100:600", 100).step == 25
    assert parse_lever("municipalities.M.policies.intake_cap", True).kind == "bool"
    assert parse_cost("spend_federal+spend_municipal") == ["spend_federal", "spend_municipal"]
    with pytest.raises(PlanError, match="whole number"):
        parse_lever("municipalities.M.shelter_beds=100.5:600", 100)
    with pytest.raises(PlanError, match="switch"):
        parse_lever("municipalities.M.policies.intake_cap=0:1", True)
    with pytest.raises(PlanError, match="did you mean spend_total"):
        parse_cost("spend_totl")


def test_many_lever_command_line_on_the_classroom(tmp_path, capsys):
    csv, fig = tmp_path / "candidates.csv", tmp_path / "front"
    rc = cli_main(["plan", "--scenario", str(CLASSROOM), "--weeks", "16",
                   "--lever", "funding.grant_factor.federal=0.5:2:0.5",
                   "--lever", "municipalities.Millbrook.policies.intake_cap",
                   "--target", "mean_wait_language<40", "--target", "retention>0.5",
                   "--cost", "spend_federal+spend_municipal", "--replicates", "2",
                   "--trials", "4", "--confirm", "4", "--jobs", "1", "--quiet",
                   "--csv", str(csv), "--plot", str(fig)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Plan:    funding.grant_factor.federal = " in out
    assert "Confirmed on 4 fresh seeds (3..6, never used in the search)" in out
    assert "P(every target) = " in out
    table = pd.read_csv(csv)
    assert set(table["municipalities.Millbrook.policies.intake_cap"]) <= {True, False}
    assert table["plan"].sum() == 1
    plan = table[table["plan"]].iloc[0]
    assert plan["feasible"]
    assert plan["cost"] == table[table["feasible"]]["cost"].min()  # the cheapest feasible
    assert fig.with_suffix(".png").stat().st_size > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--lever", "funding.grant_factor.federal=2:1"], "LOW must be below HIGH"),
    (["--lever", "funding.grant_factor.fedral=1:2"], "did you mean federal"),
    (["--lever", "funding.grant_factor.federal=0.5:2", "--cost", "money"], "--cost 'money'"),
    (["--lever", "funding.grant_factor.federal=0.5:2", "--range", "1:2"], "--range belongs"),
    (["--lever", "funding.grant_factor.federal=0.5:2", "--confirm", "0", "--recheck", "5"],
     "--recheck 5: expected 0 or more, and a confirmation"),
])
def test_many_lever_errors_are_one_line(args, message, capsys):
    rc = cli_main(["plan", "--scenario", str(CLASSROOM), "--target", "retention>0.5",
                   "--target", "mean_wait_language<40", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert err.count("\n") == 1


def test_confirmation_statements_hold_on_50_more_fresh_seeds_of_the_real_model(capsys):
    """The classroom over 12 weeks (runs of ~0.1 s): the plan's confirmation on 20 fresh seeds
    states a Wilson interval per target; 50 more seeds, used neither in the search nor in the
    confirmation, give shares inside those intervals. The targets are chosen so that the
    shares are neither 0 nor 1 (an interval around 100% would hold trivially)."""
    from analysis.plan_many import plan_many, recheck_rows, report

    res = plan_many(CLASSROOM, ["municipalities.Millbrook.shelter_beds=100:300:50"],
                    ["unsheltered_person_weeks<20", "mean_wait_language<0.6"],
                    probability=0.5, replicates=6, sets=["run.weeks=12"], trials=5,
                    confirm_seeds=20, recheck_seeds=50, jobs=2)
    assert res.plan is not None
    assert res.recheck.seeds == list(range(27, 77))  # after search (1..6) and confirmation
    assert res.confirmation.seeds == list(range(7, 27))
    rows = recheck_rows(res.confirmation, res.recheck, res.search)
    assert [r["target"] for r in rows] == ["unsheltered_person_weeks<20",
                                           "mean_wait_language<0.6", "every target"]
    for r in rows:
        assert (r["stated_n"], r["n"]) == (20, 50)
        assert 0 < r["stated_k"] < 20  # a real statement, not a certainty
        assert 0 < r["k"] < 50
        assert (r["stated_low"], r["stated_high"]) == wilson_interval(r["stated_k"], 20)
        assert r["stated_low"] <= r["k"] / 50 <= r["stated_high"], r
        assert r["side"] == 0
    text = report(res)
    assert "Re-checked on 50 more fresh seeds (27..76" in text
    assert "BELOW" not in text
    assert text.count(": inside the stated ") == 3


def test_recheck_says_whether_a_share_is_below_inside_or_above_the_stated_interval():
    """Stated 10/20 (Wilson 30%-70%); re-checks of 5/50, 25/50 and 45/50 fall below, inside
    and above it."""
    from analysis.plan_many import recheck_rows

    target = parse_target("retention>0.5")
    lever = Lever("x", "float", 0.0, 1.0, 1.0)
    found = search(lambda cands: [[{"retention": 1.0, "spend_total": 1.0}] * 2 for _ in cands],
                   [lever], [target], ["spend_total"], 0.8, trials=1, seed=0)
    plan = found.best()

    def checked(k: int, n: int):
        outs = [{"retention": 1.0 if i < k else 0.0, "spend_total": 1.0} for i in range(n)]
        return confirm(lambda values: outs, plan, [target], ["spend_total"], list(range(n)))

    stated = checked(10, 20)
    sides = [recheck_rows(stated, checked(k, 50), found)[0]["side"] for k in (5, 25, 45)]
    assert sides == [-1, 0, 1]
    row = recheck_rows(stated, checked(45, 50), found)[0]
    assert (row["stated_low"], row["stated_high"]) == wilson_interval(10, 20)
    assert (row["k"], row["n"]) == (45, 50)
