"""The app's crisis response: its levers, charts, monitors and event log.

The levers set the model's crisis-response keys (docs/ODD.md 7.8.6) as docs/app.md says,
mid-run through the timeline; the charts and monitors show the model's own columns; the
event log says in plain words what the model did, with the numbers of its tables.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from app import views
from app.compare import Twin
from app.crisis import ENVELOPE_PER_RESIDENT, plain_event
from app.lessons import BY_KEY
from app.model import ALL_CITIES, AS_IN_SCENARIO, DEFAULTS, AppModel, build_scenario
from app.outcomes import OUTCOMES, city_column
from sim.scenario import SCENARIO_DIR, load_scenario

RESPOND = {"emergency_response": ALL_CITIES, "act_pressure": "0.5"}


@pytest.fixture(scope="module")
def responding() -> AppModel:
    """The classroom preset with cities that respond, 30 weeks in (tests only read it)."""
    model = AppModel(preset="classroom", **RESPOND)
    for _ in range(30):
        model.step()
    return model


def test_crisis_levers_set_the_models_keys():
    base = load_scenario(SCENARIO_DIR / "classroom.toml")
    assert base.response.speed == 1.0
    assert base.politics.act_pressure == 1.0
    assert not any(m.policies.emergency_response for m in base.municipalities)
    sc = build_scenario("classroom", emergency_response=ALL_CITIES, response_speed="fast",
                        act_pressure="0.25 (acts early)", federal_shelter="formula")
    assert all(m.policies.emergency_response for m in sc.municipalities)
    assert (sc.response.speed, sc.response.trigger_weeks) == (0.5, 1)
    assert sc.politics.act_pressure == 0.25
    assert sc.governments.federal.shelter_funding == "formula"
    people = sum(m.population for m in base.municipalities)  # 1,325,000
    assert sc.governments.federal.envelope_per_year == round(ENVELOPE_PER_RESIDENT * people,
                                                             -5) == 4_000_000
    slow = build_scenario("classroom", response_speed="slow")
    assert (slow.response.speed, slow.response.trigger_weeks) == (2.0, 6)


def test_federal_money_keeps_a_presets_own_envelope():
    base = load_scenario(SCENARIO_DIR / "canada_baseline.toml").governments.federal
    sc = build_scenario("canada_baseline", federal_shelter="formula").governments.federal
    assert base.shelter_funding == "adhoc"
    assert (sc.shelter_funding, sc.envelope_per_year) == ("formula", base.envelope_per_year)
    none = build_scenario("canada_baseline", federal_shelter="none").governments.federal
    assert none.shelter_funding == "none"


def test_crisis_levers_change_mid_run_and_back_to_the_presets_values():
    model = AppModel(preset="classroom", response_speed="fast")
    for _ in range(5):
        model.step()
    assert model.change_levers({"response_speed": AS_IN_SCENARIO,
                                "federal_shelter": "ad hoc",
                                "emergency_response": ALL_CITIES}) == []
    entry = model.scenario.timeline[-1]
    assert entry.week == 5
    # back to "as in scenario": the timeline sets the preset's (schema default) values again
    assert entry.set["response.speed"] == 1.0
    assert entry.set["response.trigger_weeks"] == 3
    assert entry.set["governments.federal.shelter_funding"] == "adhoc"
    assert entry.set["municipalities.Millbrook.policies.emergency_response"] is True
    for _ in range(25):
        model.step()
    assert model.scenario.response.speed == 1.0
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["emergency_places"].iloc[:5].sum() == 0  # off until week 5
    assert frame["emergency_places"].max() > 0
    replay = AppModel(**model.app_params)
    for _ in range(30):
        replay.step()
    assert replay.datacollector.get_model_vars_dataframe().equals(frame)


def test_emergency_and_pressure_charts_show_the_models_columns(responding):
    frame = responding.datacollector.get_model_vars_dataframe()
    chart = views.emergency_chart(responding)
    got = {s.label: s.y for s in chart.series}
    for label, column in (("emergency places open", "emergency_places"),
                          ("people in them", "emergency_occupancy"),
                          ("places on order", "emergency_on_order"),
                          ("sleeping outside", "unsheltered")):
        np.testing.assert_array_equal(got[label], frame[column].to_numpy())
    assert got["emergency places open"].max() >= 45  # Millbrook's community spaces
    pressure = views.pressure_chart(responding)
    labels = [s.label for s in pressure.series]
    assert labels == ["Millbrook", "councils act (at 0.5)"]  # only Millbrook felt any
    np.testing.assert_array_equal(pressure.series[0].y,
                                  city_column(responding, "Millbrook", "pressure"))
    assert set(pressure.series[1].y) == {0.5}
    city = {s.label: s.y for s in views.city_emergency_chart(responding, "Millbrook").series}
    np.testing.assert_array_equal(city["emergency places open"],
                                  city_column(responding, "Millbrook", "emergency_places"))
    assert views.city_emergency_chart(responding, "Pinecrest").series[0].y.max() == 0


def test_monitors_give_the_emergency_places_and_the_highest_pressure(responding):
    rows = responding.municipal_history[-1]
    i = list(rows["municipality"]).index("Millbrook")
    got = dict(views.monitors(responding))
    assert got["emergency places"] == (f"{round(rows['emergency_places'].sum()):,} open, "
                                       f"{round(rows['emergency_occupancy'].sum()):,} used")
    assert got["pressure to act"] == f"{rows['pressure'][i]:.2f} (Millbrook)"
    assert dict(views.monitors(responding, "Pinecrest"))["emergency places"] == "0 open, 0 used"


def test_event_log_says_in_plain_words_what_the_model_did(responding):
    orders = [(w, t) for w, t in responding.news if " orders " in t]
    assert orders, responding.news
    for week, text in orders:
        m = re.fullmatch(r"Millbrook orders (\d+) (community space|hotel|respite site) "
                         r"places \(open in (\d+) weeks?\) after (\d+) weeks of strain", text)
        assert m, text
        places, kind, lead = int(m[1]), m[2].replace(" ", "_"), int(m[3])
        opened = city_column(responding, "Millbrook", f"emergency_{kind}")
        # the places ordered in week w take people from week w + lead (the tables' row)
        assert opened[week + lead] - opened[week + lead - 1] >= places, text
    lifted = [t for _, t in responding.news if "lifts its intake cap" in t]
    assert lifted
    assert "pressure to act on people sleeping outside" in lifted[0]
    marks = views.marks(responding, "Millbrook")
    assert any("community space places" in text for _, text in marks)
    assert views.marks(responding, "Harbourview") == []


def test_plain_event_words():
    kinds = ["community_space", "respite_site", "hotel"]
    assert plain_event("Millbrook orders 5 respite_site places (open in 0 weeks) after 1 "
                       "weeks of strain", kinds) == \
        "Millbrook orders 5 respite site places (open at once) after 1 week of strain"
    assert plain_event("Millbrook orders 45 community_space places (open in 1 weeks)", kinds) \
        == "Millbrook orders 45 community space places (open in 1 week)"


def test_compare_marks_say_which_run_an_event_belongs_to():
    lesson = BY_KEY["crisis_response"]
    a = AppModel(**{**DEFAULTS, "preset": lesson.preset, **lesson.a})
    twin = Twin(a, dict(lesson.b))
    for _ in range(25):
        a.step()
    a.change_levers({"shelter_beds": 1.5})  # in both runs
    twin.sync(a)
    for _ in range(10):
        a.step()
    twin.sync(a)
    texts = [t for _, t in views.compare_marks(a, twin.model)]
    assert any(": B: Millbrook orders" in t for t in texts)
    assert not any("A: " in t for t in texts)  # A opens nothing of its own
    assert "week 26: shelter beds ×1.5" in texts
    chart = views.emergency_chart(twin.model)
    assert max(chart.series[0].y) > 0
    assert OUTCOMES["emergency places open"].last(a) == 0
