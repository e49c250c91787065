"""`reception new-city`: a one-city scenario written from the bundled public tables."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from sim import paths
from sim.cli import main
from sim.newcity import new_city, write_scenario
from sim.newcity_tables import DATA, PLAN_YEARS, Val, derived, load_tables, noted
from sim.runner import simulate
from sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

TABLES = load_tables()
MARKED = re.compile(r"  # (source: |assumption, please replace: )\S")
PR_STREAMS = ("economic_pr", "family_pr", "resettled_refugee")


def _write(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / f"{name.replace(' ', '_')}.toml"
    assert main(["new-city", name, "--out", str(out), *args]) == 0
    return out


def _flows_by_year(path: Path) -> dict[int, dict[str, float]]:
    """Each plan year's per_year by stream, as the scenario sets them (streams + timeline)."""
    sc = load_scenario(path)
    years = {PLAN_YEARS[0]: {s: st.per_year for s, st in sc.streams.items()}}
    for change in sc.timeline:
        year = PLAN_YEARS[0] + change.week // 52
        years[year] = {k.split(".")[1]: v for k, v in change.set.items()}
    return years


@pytest.mark.parametrize(("city", "province", "scale"), [("Moncton", "NB", 10.0),
                                                         ("Hamilton", "ON", 25.0)])
def test_moncton_and_hamilton_are_written_validated_and_run(tmp_path, capsys, city, province,
                                                            scale):
    out = _write(tmp_path, city, "--province", province)
    assert main(["validate", str(out)]) == 0
    assert "ok:" in capsys.readouterr().out
    sc = load_scenario(out, [f"run.scale={scale}", "run.weeks=26"])
    assert [m.name for m in sc.municipalities] == [city]
    expected = sum(s.per_year for s in sc.streams.values()) * 26 / 52
    result = simulate(sc)
    arrived = result.totals["arrivals"].sum()
    assert expected > 1000
    assert arrived == pytest.approx(expected, rel=0.12)
    last = result.municipalities.iloc[-1]
    assert last["newcomers"] > 0.5 * expected  # most stay in the city half a year on


def test_hamilton_flows_follow_the_levels_plan_year_by_year(tmp_path):
    years = _flows_by_year(_write(tmp_path, "Hamilton"))
    assert sorted(years) == [2025, 2026, 2027]
    pr = [sum(years[y][s] for s in PR_STREAMS) for y in (2025, 2026, 2027)]
    assert pr[0] > pr[1] > pr[2]
    # the plan's national targets x Hamilton's 1.8% share of 2016-21 recent immigrants
    assert [years[y]["family_pr"] for y in (2025, 2026, 2027)] == [1701, 1584, 1458]
    assert [years[y]["economic_pr"] for y in (2025, 2026, 2027)] == [  # economic - in-Canada
        round(149_170 * 0.018), round(153_920 * 0.018), round(154_420 * 0.018)]
    assert [years[y]["temporary_worker"] for y in (2025, 2026, 2027)] == [6620, 3793, 4279]
    assert {years[y]["student"] for y in (2025, 2026, 2027)} == {5506}
    # claims: Ontario's last twelve months in the IRCC file x 1.8 / 44.0
    assert {years[y]["asylum_claimant"] for y in (2025, 2026, 2027)} == {round(66_530 * 1.8 / 44)}


def test_the_timeline_changes_arrivals_at_each_plan_year_paired_seeds(tmp_path):
    """Same scenario and seed with and without the plan's later years: year 2 drops by the plan."""
    path = _write(tmp_path, "Hamilton")
    sets = ["run.scale=25", "run.weeks=104"]
    with_plan = simulate(load_scenario(path, sets))
    flat = load_scenario(path, sets)
    flat.timeline = []
    without = simulate(flat)
    year2 = slice(52, 104)
    a = with_plan.totals["arrivals"].to_numpy()
    b = without.totals["arrivals"].to_numpy()
    assert a[:52].sum() == b[:52].sum()  # identical first year: same seed, same flows
    years = _flows_by_year(path)
    drop = sum(years[2025].values()) - sum(years[2026].values())  # 19,924 - 17,048
    assert drop == 2876
    assert b[year2].sum() - a[year2].sum() == pytest.approx(drop, rel=0.15)
    assert any("Levels plan 2026" in str(event) for event in with_plan.record["events"])


@pytest.mark.parametrize("city", sorted(TABLES.places))
def test_every_known_city_validates_and_every_value_is_marked(tmp_path, city):
    text, summary = new_city(city)
    values = [ln for ln in text.splitlines()
              if ln.strip() and not ln.startswith(("#", "["))]
    unmarked = [ln for ln in values if not MARKED.search(ln)]
    assert unmarked == []
    assert len(values) == summary["values"]
    assert sum("# assumption, please replace: " in ln for ln in values) == summary["assumed"]
    assert 0 < summary["assumed"] < summary["values"]
    write_scenario(text, tmp_path / "city.toml")
    assert load_scenario(tmp_path / "city.toml").municipalities[0].name == city


def test_table_values_are_sourced_and_gaps_are_national_assumptions():
    toronto, _ = new_city("Toronto")
    hamilton, _ = new_city("Hamilton")
    assert re.search(r"^vacancy_rate = 0\.014  # source: CMHC 2023", toronto, re.M)
    assert re.search(r"^shelter_beds = 500  # source: 500 budgeted refugee spaces", toronto, re.M)
    assert re.search(r"^vacancy_rate = 0\.015  # assumption, please replace: the city's value "
                     r"is not in the tables; national value: CMHC", hamilton, re.M)
    assert re.search(r"^median_rent = 1359  # assumption, please replace", hamilton, re.M)
    # 785,184 residents x 100 beds per 100k (assumed national rate) x 0.1 open to newcomers
    assert re.search(r"^shelter_beds = 79  # assumption, please replace", hamilton, re.M)
    # 785,184 / 2.5 persons per household x 0.33 renter share = 103,639 -> 103,600
    assert re.search(r"^rental_stock = 103600  # assumption, please replace", hamilton, re.M)
    assert re.search(r"^access_without_fear = true  # source: Hamilton, Feb 2014", hamilton, re.M)


def test_source_marks_follow_the_tables_tags():
    assert noted(1, "CMHC RMR 2023 [V]").assumed is False
    assert noted(1, "[B] derived: 800 households x 2.9").assumed is True
    assumed = noted(1, "assumption: share not found")
    assert assumed.assumed is True
    assert assumed.note == "share not found"
    assert derived(2, "x", Val(1, "a", False), assumed).assumed is True
    assert derived(2, "x", Val(1, "a", False), Val(1, "b", False)).assumed is False


def test_tables_are_consistent():
    plan = TABLES.plan
    for year in PLAN_YEARS:  # the plan's categories add up to its overall target
        parts = ("economic", "family", "refugees_protected", "humanitarian_other")
        assert sum(plan[year, c].value for c in parts) == plan[year, "pr_total"].value
        assert plan[year, "resettled"].value < plan[year, "refugees_protected"].value
    for place in TABLES.places.values():  # a city holds no more newcomers than its province
        prov = TABLES.provinces[place["province"]]
        assert float(place["recent_share_pct"]) < float(prov["recent_share_pct"])
        assert prov["name"] in TABLES.claims
    with (DATA / "ircc_asylum_claims_by_province_month.csv").open() as f:
        rows = list(csv.DictReader(f))
    last = sorted({r["year_month"] for r in rows})[-12:]
    assert TABLES.claims_total.value == sum(int(r["claims"]) for r in rows
                                           if r["year_month"] in last)


def test_model_values_match_canada_baseline():
    """The values new-city copies from canada_baseline have not drifted from it."""
    base = load_scenario(DEFAULT_SCENARIO)
    for path, v in TABLES.national.items():
        if path.startswith(("const.", "run.")):
            continue
        holder, key = paths.resolve(base, path)
        got = holder[key] if isinstance(holder, dict) else getattr(holder, key)
        assert got == pytest.approx(v.value), path


@pytest.mark.parametrize(("args", "needle"), [
    (["Hamiltn"], "unknown city 'Hamiltn'; did you mean Hamilton? Known cities: Brandon,"),
    (["Hamilton", "--province", "QC"], "Hamilton is in ON (Ontario), not QC"),
    (["Hamilton", "--province", "Ontaria"], "unknown province 'Ontaria' (known: NL"),
])
def test_bad_city_or_province_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args,
                                                                     needle):
    out = tmp_path / "x.toml"
    assert main(["new-city", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_force(tmp_path, capsys):
    out = tmp_path / "moncton.toml"
    out.write_text("mine\n")
    assert main(["new-city", "moncton", "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    assert main(["new-city", "moncton", "--out", str(out), "--force"]) == 0
    assert load_scenario(out).municipalities[0].name == "Moncton"
    assert [p.name for p in tmp_path.iterdir()] == ["moncton.toml"]


def test_default_name_in_working_folder_and_start_year(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new-city", "Thunder Bay", "--start", "2026"]) == 0
    sc = load_scenario(tmp_path / "thunder_bay.toml")
    assert str(sc.scenario.start_date) == "2026-01-05"  # the first Monday of 2026
    assert [c.week for c in sc.timeline] == [52]  # only 2027 is left to change to
    assert sc.streams["temporary_worker"].per_year == round(210_700 * 0.001)


def test_a_file_that_does_not_validate_is_never_written(tmp_path):
    text, _ = new_city("Moncton")
    with pytest.raises(ScenarioError):
        write_scenario(text.replace("vacancy_rate = 0.015", "vacancy_rate = 7"),
                       tmp_path / "bad.toml")
    assert list(tmp_path.iterdir()) == []
