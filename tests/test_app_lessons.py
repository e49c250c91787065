"""The app's lessons, mid-run changes, replicates, export, map layout and monitors.

Lessons are checked on replicate seeds: each lesson's first outcome must differ between
A and B in the documented direction on average and never the other way on any seed.
"""

from __future__ import annotations

import math
import shlex

import numpy as np
import pytest

from analysis.compare import paired_interval
from app import export, views
from app.charts import separate
from app.lessons import LESSONS
from app.model import (
    DEFAULTS,
    NO_CITY,
    AppModel,
    diff_paths,
    plain,
    preset_path,
    resolved_data,
)
from app.outcomes import OUTCOMES
from app.replicates import run_replicates
from sim.model import ReceptionModel
from sim.scenario import load_scenario, resolve

SEEDS = 3


def frame(model):
    return model.datacollector.get_model_vars_dataframe()


@pytest.mark.parametrize("lesson", LESSONS, ids=[les.key for les in LESSONS])
def test_each_lesson_shows_its_difference_on_every_seed(lesson):
    a = {**DEFAULTS, "preset": lesson.preset, **lesson.a}
    b = {**a, **lesson.b}
    first = lesson.outcomes()[0]
    reps = run_replicates(a, b, [first], SEEDS)
    diff = reps.b[first.title][:, -1] - reps.a[first.title][:, -1]
    assert np.all(diff * lesson.expect >= 0), (first.title, diff)  # never the other way
    assert diff.mean() * lesson.expect > 0, (first.title, diff)
    iv = reps.difference(first.title)
    assert iv.estimate == pytest.approx(diff.mean())
    assert iv == paired_interval(reps.a[first.title][:, -1], reps.b[first.title][:, -1])


def test_replicate_bands_span_the_runs():
    outcome = OUTCOMES["sleeping outside"]
    reps = run_replicates({**DEFAULTS}, {**DEFAULTS, "shelter_beds": 2.0}, [outcome], 3)
    assert reps.seeds == [1, 2, 3]
    runs = reps.a[outcome.title]
    assert runs.shape == (3, 104)
    low, high = reps.band(outcome.title, "A")
    np.testing.assert_array_equal(low, runs.min(axis=0))
    np.testing.assert_array_equal(high, runs.max(axis=0))
    one = AppModel(seed=2)
    while one.running:
        one.step()
    np.testing.assert_array_equal(runs[1], frame(one)["unsheltered"].to_numpy())


def test_a_mid_run_change_is_a_timeline_entry_and_replays_exactly():
    model = AppModel(preset="classroom")
    for _ in range(20):
        model.step()
    assert model.change_levers({"intake_cap": NO_CITY, "shelter_beds": 1.5}) == []
    entry = model.scenario.timeline[-1]
    assert entry.week == 20
    assert entry.set["municipalities.Millbrook.shelter_beds"] == 150.0
    assert entry.set["municipalities.Millbrook.policies.intake_cap"] is False
    for _ in range(10):
        model.step()
    assert frame(model)["shelter_beds"].iloc[19] == 510.0  # 400 + 100 + 10 beds
    assert frame(model)["shelter_beds"].iloc[20] == 765.0
    assert (20, "no shelter intake cap in any city; shelter beds ×1.5") in model.news
    replay = AppModel(**model.app_params)
    for _ in range(30):
        replay.step()
    assert frame(replay).equals(frame(model))


def test_a_lever_no_timeline_can_change_is_refused_mid_run():
    model = AppModel(preset="classroom")
    model.step()
    fixed = model.change_levers({"predictable_funding": True})
    assert "agencies.Millbrook Settlement Services.grants" in fixed
    assert model.app_params["schedule"] == ()


def test_exported_scenario_gives_the_apps_results(tmp_path):
    model = AppModel(preset="classroom", shelter_beds=1.5, predictable_funding=True, seed=3,
                     overrides=(("municipalities.Pinecrest.transport_access", 0.9),))
    for _ in range(8):
        model.step()
    model.change_levers({"intake_cap": NO_CITY}, {"municipalities.Millbrook.shelter_beds": 180})
    for _ in range(12):
        model.step()
    path = tmp_path / "exported.toml"
    path.write_text(export.scenario_toml(model))
    scenario = load_scenario(path)
    assert scenario.run.seed == 3
    again = ReceptionModel(scenario=scenario)
    for _ in range(20):
        again.step()
    assert frame(again).equals(frame(model))
    # the command line sets the same parameters on the preset
    words = shlex.split(export.run_command(model))
    assert words[:2] == ["reception", "run"]
    assert words[2].endswith("classroom.toml")
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    resolved = resolve(preset_path("classroom"), sets)
    assert resolved.data["run"]["seed"] == 3
    assert diff_paths(resolved.data, model.app_data) == {}


def test_runs_table_is_long_format_with_the_run_and_seed():
    a, b = AppModel(), AppModel(seed=2)
    for _ in range(3):
        a.step()
        b.step()
    table = export.runs_table({"A": a, "B": b})
    assert list(table.columns[:3]) == ["run", "seed", "week"]
    assert len(table) == 6
    assert table.groupby("run")["seed"].first().to_dict() == {"A": 1, "B": 2}
    assert export.table_bytes(table, "csv").decode().startswith("run,seed,week,")
    assert export.table_bytes(table, "parquet")[:4] == b"PAR1"


def test_the_settings_differ_from_the_preset_only_where_a_lever_is_moved():
    model = AppModel(preset="classroom")
    assert diff_paths(resolved_data("classroom"), model.app_data) == {}
    assert export.changed_settings(AppModel(shelter_beds=2.0)) == {
        "municipalities.Harbourview.shelter_beds": 800.0,
        "municipalities.Millbrook.shelter_beds": 200.0,
        "municipalities.Pinecrest.shelter_beds": 20.0}


def test_grant_expiry_is_news_marked_on_the_charts_and_in_the_caption():
    model = AppModel(preset="classroom")
    for _ in range(53):
        model.step()
    news = "Millbrook Settlement Services' provincial grant ($400K a year) ended and was " \
           "not renewed"
    assert (52, news) in model.news
    assert (52, f"week 53: {news}") in views.marks(model, "Millbrook")
    assert views.marks(model, "Pinecrest") == []
    assert "data-mark=" in views.shelter_chart(model).svg()
    assert news in views.caption(model)


def test_plain_words_drop_the_sources_seed_references():
    assert plain("Toronto council refuses new shelter intake at capacity (seed 004)") == \
        "Toronto council refuses new shelter intake at capacity"
    assert plain("Six cities (4 of 6 short of resources, seed 000) receive") == \
        "Six cities (4 of 6 short of resources) receive"


def test_separated_bubbles_do_not_overlap_and_stay_in_the_box():
    rng = np.random.default_rng(4)
    cx, cy = rng.uniform(100, 140, 12), rng.uniform(100, 140, 12)
    r = rng.uniform(5, 25, 12)
    box = (0, 0, 500, 370)
    x, y = separate(cx, cy, r, box)
    for i in range(12):
        assert box[0] + r[i] - 1e-9 <= x[i] <= box[2] - r[i] + 1e-9
        for j in range(i + 1, 12):
            assert math.hypot(x[i] - x[j], y[i] - y[j]) >= r[i] + r[j]


def test_map_has_a_tooltip_per_city_and_marks_the_selected_one():
    model = AppModel(preset="canada_baseline")
    model.step()
    svg = views.map_svg(model, selected="Toronto")
    rows = model.municipal_history[-1]
    i = list(rows["municipality"]).index("Hamilton")
    assert (f"Hamilton: {round(rows['newcomers'][i]):,} newcomers; "
            f"{round(rows['shelter_occupancy'][i]):,} in shelter") in svg
    assert "data-city='Toronto' " in svg
    assert "stroke-width='3'" in svg


def test_monitors_give_the_models_numbers():
    model = AppModel(preset="classroom")
    for _ in range(30):
        model.step()
    rows = model.municipal_history[-1]
    got = dict(views.monitors(model, "Millbrook"))
    i = list(rows["municipality"]).index("Millbrook")
    assert got["people outside"] == f"{round(rows['unsheltered'][i]):,}"
    fill = 100 * rows["shelter_occupancy"][i] / rows["shelter_beds"][i]
    assert got["shelter fill"] == f"{fill:.0f}%"
    wait = max(rows[f"current_wait_{s}"][i] for s in
               ("orientation", "language", "employment", "housing_help"))
    assert got["longest wait"].startswith(f"{wait:.0f} wk (")
    everyone = dict(views.monitors(model))
    assert everyone["people outside"] == f"{round(rows['unsheltered'].sum()):,}"
