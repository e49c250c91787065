"""analysis end to end: tiny sweeps run by the experiments package (sync scheduler) are loaded
and reported; the HTML is opened and every table and figure counted."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main as cli_main
from analysis.load import open_results
from analysis.report import write_report

CLASSROOM = Path(__file__).resolve().parents[1] / "scenarios" / "classroom.toml"


def _sweep(tmp: Path, name: str, text: str) -> Path:
    from experiments.sweep import sweep

    exp = tmp / f"{name}.toml"
    exp.write_text(text)
    out = tmp / f"out-{name}"
    result = sweep(exp, scheduler="sync", out=out, progress=False, log=lambda msg: None)
    assert result.exit_code == 0, result.failures
    return out


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("sweeps")
    base = f'[base]\nscenario = "{CLASSROOM.as_posix()}"\n'
    factorial = _sweep(tmp, "factorial", f"""
[experiment]
name = "tiny_factorial"
question = "Does federal money shorten waits?"
replicates = 3
root_seed = 5
{base}
[base.sets]
"run.weeks" = 8
[design]
kind = "factorial"
[design.factors]
"funding.grant_factor.federal" = [0.5, 2.0]
[outputs]
keep = "weekly_municipalities"
""")
    comparison = _sweep(tmp, "comparison", f"""
[experiment]
name = "tiny_comparison"
replicates = 2
root_seed = 9
[base.sets]
"run.weeks" = 8
[design]
kind = "scenarios"
[[design.scenarios]]
name = "classroom"
file = "{CLASSROOM.as_posix()}"
[[design.scenarios]]
name = "no_cap"
file = "{CLASSROOM.as_posix()}"
sets = {{ "municipalities.Millbrook.policies.intake_cap" = false }}
[outputs]
keep = "weekly_totals"
""")
    sobol = _sweep(tmp, "sobol", f"""
[experiment]
name = "tiny_sobol"
replicates = 1
root_seed = 3
{base}
[base.sets]
"run.weeks" = 6
[design]
kind = "sobol"
base_samples = 4
calc_second_order = false
[design.ranges]
"funding.grant_factor.federal" = [0.5, 2.0]
"housing.search_rate" = [0.05, 0.2]
[outputs]
keep = "summary"
""")
    return {"factorial": factorial, "comparison": comparison, "sobol": sobol}


class Census(HTMLParser):
    """Counts tags and collects heading texts and image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.headings: list[str] = []
        self.img: list[dict] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in ("h1", "h2", "h3"):
            self._in = tag
            self.headings.append("")
        if tag == "img":
            self.img.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.headings[-1] += data


def _census(path: Path) -> Census:
    c = Census()
    c.feed(path.read_text(encoding="utf-8"))
    return c


# ---------------------------------------------------------------------------- the loader
def test_loader_tables_of_a_per_city_sweep(sweeps):
    res = open_results(sweeps["factorial"])
    assert res.kind == "factorial"
    assert res.part_kind == "weekly_municipalities"
    runs = res.runs
    assert len(runs) == 6
    assert list(runs.columns[:7]) == ["run_id", "point", "replicate", "seed", "scenario",
                                      "label", "funding.grant_factor.federal"]
    assert list(res.points["label"]) == ["federal=0.5", "federal=2"]
    # weekly-derived outcomes fill in what the summary lacks; the summary's agree with them
    assert runs["economic_wellbeing_at_end"].notna().all()
    assert runs["employment_rate_1y"].isna().all()  # an 8-week run never reaches week 52
    summary = pd.read_parquet(sweeps["factorial"] / "summary.parquet").set_index("run_id")
    derived = res._weekly_outcomes().set_index("run_id")
    for col in ("peak_shelter_occupancy", "mean_wait_language", "spend_total",
                "integration_index_at_end", "cost_per_integration_point"):
        np.testing.assert_allclose(derived.loc[summary.index, col], summary[col], rtol=1e-9)
    co = res.city_outcomes
    assert len(co) == 18
    assert set(co["municipality"]) == {"Harbourview", "Millbrook",
                                                         "Pinecrest"}
    assert co["retention"].between(0, 1).all()
    weekly = res.weekly(["shelter_occupancy", "employment_rate"], points=[1])
    assert set(weekly["point"]) == {1}
    assert len(weekly) == 3 * 8
    cw = res.city_weekly(["unsheltered"], cities=["Millbrook"])
    assert set(cw["municipality"]) == {"Millbrook"}
    assert len(cw) == 6 * 8


def test_loader_of_weekly_totals_and_summary_sweeps(sweeps):
    res = open_results(sweeps["comparison"])
    assert res.part_kind == "weekly_totals"
    assert res.city_outcomes is None
    runs = res.runs
    assert list(res.points["label"]) == ["classroom", "no_cap"]
    assert runs["index_asylum_claimant_at_end"].notna().all()
    sob = open_results(sweeps["sobol"])
    assert sob.kind == "sobol"
    assert sob.weekly() is None
    assert len(sob.runs) == 16


def test_loader_completes_a_stale_summary_from_the_parts(sweeps, tmp_path):
    """After an interrupted sweep summary.parquet can lag the parts: the runs it lacks come
    from the run records in the parts' metadata (or are computed from their weekly rows)."""
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(sweeps["factorial"], folder)
    full = open_results(folder).runs.set_index("run_id")
    summary = pd.read_parquet(folder / "summary.parquet")
    summary.iloc[:2].to_parquet(folder / "summary.parquet")
    stale = open_results(folder).runs.set_index("run_id")
    assert list(stale.index) == list(full.index)
    cols = ["peak_shelter_occupancy", "retention", "mean_wait_language", "spend_total",
            "economic_wellbeing_at_end"]
    pd.testing.assert_frame_equal(stale[cols], full[cols])
    (folder / "summary.parquet").unlink()
    alone = open_results(folder).runs.set_index("run_id")
    pd.testing.assert_frame_equal(alone[cols], full[cols])


# ---------------------------------------------------------------------------- reports
def test_html_report_has_every_table_and_figure(sweeps, tmp_path):
    out, rep = write_report(sweeps["factorial"], tmp_path / "report.html")
    c = _census(out)
    assert c.tags.get("img", 0) == rep.figures
    assert c.tags.get("table", 0) == rep.tables
    names = {i["alt"] for i in c.img}
    assert {"timeseries", "city-shelter_occupancy", "city-integration_index", "frontier",
            "dose-federal-mean_wait_language", "dose-federal-integration_index_at_end",
            "tornado-integration_index_at_end"} <= names
    assert all(i["src"].startswith("data:image/png;base64,") for i in c.img)
    for heading in ["Sweep report: tiny_factorial", "Provenance", "Software versions",
                    "Design points", "Headline outcomes",
                    "Means over replicates: shelter and housing",
                    "Differences from the baseline: services",
                    "Means over replicates: retention and spending", "By city",
                    "retention by city", "retention by city: difference from the baseline "
                    "federal=0.5", "Figures", "Weekly system totals",
                    "Cost-effectiveness frontier", "Dose-response", "Sensitivity",
                    "Tornado effects"]:
        assert heading in c.headings, heading
    text = out.read_text()
    manifest = json.loads((sweeps["factorial"] / "manifest.json").read_text())
    assert manifest["experiment"]["hash"] in text
    assert str(CLASSROOM) in text
    assert f"<td>pyarrow</td>\n      <td>{manifest['versions']['pyarrow']}</td>" in text
    assert "Does federal money shorten waits?" in text
    assert not re.search(r'(src|href)="(https?:|/|\.)', text)  # self-contained
    assert "Welch" in text


def test_comparison_report_inline_svg(sweeps, tmp_path):
    out, rep = write_report(sweeps["comparison"], tmp_path / "cmp.html", svg=True,
                            baseline="no_cap")
    c = _census(out)
    assert c.tags.get("svg", 0) == rep.figures == 2  # time series and frontier
    assert c.tags.get("img", 0) == 0
    assert "Means over replicates: integration index by status" in c.headings
    assert "Differences from the baseline: services" in c.headings
    assert "By city" not in c.headings
    assert c.tags.get("table", 0) == rep.tables


def test_sobol_report_in_markdown(sweeps, tmp_path):
    out, rep = write_report(sweeps["sobol"], tmp_path / "notes" / "sobol.md", fmt="md")
    text = out.read_text()
    figs = out.parent / "sobol_figures"
    assert rep.figures >= 1
    assert len(list(figs.glob("*.png"))) == len(list(figs.glob("*.svg"))) == rep.figures
    assert text.count("![") == rep.figures
    assert "## Sensitivity" in text
    assert "### Sobol indices" in text
    assert "| outcome | parameter | S1 | S1_conf | ST | ST_conf |" in text


def test_hand_built_paired_sweep_without_manifest(tmp_path):
    """Parts in the documented format only (summary rows, no manifest): the loader falls back
    to the parts, and design points that share seeds are compared pairwise."""
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    rng = np.random.default_rng(2)
    seeds = [11, 12, 13, 14, 15]
    seed_effect = {s: rng.normal(0, 50) for s in seeds}
    for point, level in ((0, 1.0), (1, 2.0)):
        for r, s in enumerate(seeds):
            row = {"run_id": f"p{point:04d}-r{r:03d}", "point": point, "replicate": r,
                   "seed": s, "scenario": "demo", "funding.grant_factor.federal": level,
                   "peak_shelter_occupancy": 500 + seed_effect[s] - 20 * point,
                   "spend_total": 1e6 * (1 + point) + rng.normal(0, 1e3),
                   "integration_index_at_end": 0.3 + 0.01 * point + rng.normal(0, 1e-4)}
            pd.DataFrame([row]).to_parquet(runs_dir / f"run-{row['run_id']}.parquet")
    res = open_results(tmp_path)
    assert res.part_kind == "summary"
    assert res.factors == ["funding.grant_factor.federal"]
    assert list(res.points["label"]) == ["federal=1", "federal=2"]
    out, rep = write_report(tmp_path, tmp_path / "r.html")
    text = out.read_text()
    assert "paired by seed" in text
    assert "Welch" not in text
    assert _census(out).tags.get("img", 0) == rep.figures


# ---------------------------------------------------------------------------- the command
def test_report_command_and_its_errors(sweeps, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli_main(["report", str(sweeps["comparison"]), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert out.exists()
    cases = [
        (["report", str(sweeps["comparison"]), "--out", str(out)], "exists"),
        (["report", str(tmp_path / "missing"), "--out", str(tmp_path / "x.html")],
         "not a folder of sweep results"),
        (["report", str(sweeps["comparison"]), "--out", str(tmp_path / "y.html"),
          "--baseline", "nope"], "not a design point"),
        (["report", str(sweeps["comparison"]), "--out", str(tmp_path / "z.html"),
          "--target", "wait<3"], "unknown outcome"),
        (["report", str(sweeps["comparison"]), "--out", str(tmp_path / "w.html"),
          "--outcomes", "retention,wait"], "--outcomes: not in the results: wait"),
    ]
    for argv, msg in cases:
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith("error: "), err
        assert msg in err, err
        assert "Traceback" not in err
