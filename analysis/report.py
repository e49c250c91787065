"""``reception report RESULTS``: one HTML file (figures embedded) or Markdown (figures next to it).

The report is built as a list of blocks (headings, paragraphs, tables, figures) and rendered
to either format, so both hold the same content: provenance (experiment, hash, scenarios,
software versions from the manifest), the design points, the headline outcomes with 95%
t-intervals and differences from a baseline, per-city tables, time series, city small
multiples, the cost-effectiveness frontier, dose-response curves and sensitivity (tornado,
Sobol).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import plots
from analysis.compare import (
    by_level,
    compare,
    format_interval,
    resolve_baseline,
    t_interval,
    wilson_interval,
)
from analysis.load import Results, format_value, open_results, short_names
from analysis.outcomes import HEADLINE
from analysis.sensitivity import sweep_sobol, tornado

MAX_POINTS = 30  # per-point comparison tables up to this many design points
MAX_LISTED_POINTS = 60
TIMESERIES = ("shelter_occupancy", "unsheltered", "waiting_language", "employment_rate",
              "integration_index", "cumulative_spend")
CITY_SERIES = ("shelter_occupancy", "integration_index")
CITY_TABLES = ("retention", "integration_index_at_end", "mean_wait_language",
               "unsheltered_person_weeks", "peak_shelter_occupancy")
DOSE_OUTCOMES = ("mean_wait_language", "integration_index_at_end")
SENS_OUTCOMES = ("integration_index_at_end", "unsheltered_person_weeks", "mean_wait_language")
FRONTIER = ("spend_total", "integration_index_at_end")


@dataclass
class Block:
    kind: str  # h1 h2 h3 p table figure
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Any = None
    name: str = ""


class Report:
    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def h(self, level: int, text: str) -> None:
        self.blocks.append(Block(f"h{level}", text))

    def p(self, text: str) -> None:
        self.blocks.append(Block("p", text))

    def table(self, frame: pd.DataFrame, name: str = "") -> None:
        self.blocks.append(Block("table", table=frame, name=name))

    def figure(self, fig: Any, name: str, caption: str = "") -> None:
        self.blocks.append(Block("figure", caption, figure=fig, name=name))

    @property
    def figures(self) -> int:
        return sum(b.kind == "figure" for b in self.blocks)

    @property
    def tables(self) -> int:
        return sum(b.kind == "table" for b in self.blocks)


# ---------------------------------------------------------------------------- content
def build(res: Results, baseline: str | None = None, outcomes: Sequence[str] | None = None,
          target: str | None = None, probability: float = 0.8) -> Report:
    """The report's blocks for the sweep ``res``."""
    rep = Report()
    runs = res.runs
    exp = res.experiment
    rep.h(1, f"Sweep report: {res.name}")
    if exp.get("question"):
        rep.p(str(exp["question"]))
    counts = res.manifest.get("counts") or {}
    rep.p(f"{res.kind} design, {len(res.points)} design points x "
          f"{exp.get('replicates', '?')} replicates; {len(runs)} runs finished"
          + (f" of {counts.get('total')}" if counts.get("total") else "")
          + f". Report made {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from {res.path}.")

    _provenance(rep, res)
    _design_points(rep, res, runs)
    outs = [o for o in (outcomes or res.outcome_columns(runs)) if o in runs.columns]
    sampled = res.kind in ("latin_hypercube", "sobol")
    few = len(res.points) <= MAX_POINTS and not sampled
    base = resolve_baseline(runs, baseline) if len(runs) else None
    if few and len(runs):
        _headline(rep, runs, outs, base)
        _cities(rep, res, base)
    elif len(runs):
        rep.h(2, "Headline outcomes")
        why = (f"a {res.kind} design samples its points to measure sensitivity"
               if sampled else f"more than {MAX_POINTS} design points")
        rep.p(f"{len(res.points)} design points: per-point tables are left out ({why}); see "
              "the sensitivity section, summary.csv and by_point.csv.")
    rep.h(2, "Figures")
    _timeseries(rep, res, base)
    _city_figures(rep, res, base)
    if len(res.points) <= MAX_POINTS:
        _frontier(rep, res, runs)
    _dose_response(rep, res, runs, target, probability)
    _sensitivity(rep, res, runs, outs, base)
    _not_done(rep, res)
    return rep


def _provenance(rep: Report, res: Results) -> None:
    exp = res.experiment
    rep.h(2, "Provenance")
    counts = res.manifest.get("counts") or {}
    rows = [
        ("experiment", exp.get("name")), ("experiment file", exp.get("file")),
        ("experiment hash", exp.get("hash")), ("hash of", exp.get("hash_of")),
        ("design", exp.get("design")), ("design points", exp.get("points")),
        ("replicates", exp.get("replicates")), ("root seed", exp.get("root_seed")),
        ("seed policy", exp.get("seed_policy")), ("outputs kept", exp.get("keep")),
        ("factors", ", ".join(exp.get("factors") or []) or "-"),
        *[(f"scenario {k}", v) for k, v in (exp.get("base_scenarios") or {}).items()],
        ("created", res.manifest.get("created_at")), ("updated", res.manifest.get("updated_at")),
        ("runs", ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"),
        ("results folder", str(res.path)),
    ]
    rep.table(pd.DataFrame([(k, "-" if v is None else str(v)) for k, v in rows],
                           columns=["item", "value"]), "provenance")
    versions = res.versions
    if versions:
        rep.h(3, "Software versions")
        rep.table(pd.DataFrame(sorted(versions.items()), columns=["package", "version"]),
                  "versions")


def _design_points(rep: Report, res: Results, runs: pd.DataFrame) -> None:
    rep.h(2, "Design points")
    pts = res.points.copy()
    done = runs.groupby("point").size()
    pts["runs done"] = pts["point"].map(done).fillna(0).astype(int)
    cols = ["point", "label", "scenario", *res.factors, "runs done"]
    if not res.factors:
        cols.insert(3, "sets")
    shown = pts[[c for c in dict.fromkeys(cols) if c in pts.columns]]
    if len(shown) > MAX_LISTED_POINTS:
        rep.p(f"The first {MAX_LISTED_POINTS} of {len(shown)} design points.")
        shown = shown.head(MAX_LISTED_POINTS)
    rep.table(shown.rename(columns=short_names(res.factors)), "points")


FAMILIES: dict[str, tuple[str, ...]] = {
    "shelter and housing": ("peak_shelter_occupancy", "mean_shelter_occupancy",
                            "unsheltered_person_weeks", "mean_weeks_to_stable",
                            "reached_stable_share"),
    "services": tuple(o for o in HEADLINE if o.startswith(("mean_wait_", "expected_wait_"))),
    "employment and integration": ("employment_rate_1y", "employment_rate_3y",
                                   "employment_rate_at_end", "integration_index_at_end",
                                   "economic_wellbeing_at_end", "networks_at_end",
                                   "access_to_services_at_end", "civic_participation_at_end",
                                   "safety_acceptance_at_end"),
    "integration index by status": tuple(o for o in HEADLINE if o.startswith("index_")),
    "retention and spending": ("retention", "spend_federal", "spend_provincial",
                               "spend_municipal", "spend_charity", "spend_total",
                               "cost_per_integration_point"),
}


def _families(outs: list[str]) -> list[tuple[str, list[str]]]:
    out = []
    seen: set[str] = set()
    for name, members in FAMILIES.items():
        chosen = [o for o in members if o in outs]
        seen.update(chosen)
        if chosen:
            out.append((name, chosen))
    rest = [o for o in outs if o not in seen]
    if rest:
        out.append(("other outcomes", rest))
    return out


def _headline(rep: Report, runs: pd.DataFrame, outs: list[str], base: str | None) -> None:
    rep.h(2, "Headline outcomes")
    table = compare(runs, outs, base)
    methods = set(table.loc[~table["diff_method"].isin(["baseline", "none"]), "diff_method"])
    pairing = {"paired": "paired by seed where the design points ran the same seeds",
               "welch": "Welch's unequal-variance interval where they ran different seeds "
                        "and runs cannot be paired"}
    rep.p("Rows are design points, columns outcomes. Means over replicates with 95% "
          f"t-intervals. Differences are each design point minus the baseline {base}, with a "
          "95% interval: " + "; ".join(pairing[m] for m in sorted(methods) if m in pairing)
          + ". * marks a difference whose interval excludes 0. Outcome definitions: "
          "docs/analysis.md.")
    groups = list(dict.fromkeys(table["label"]))
    for family, members in _families(outs):
        sub = table[table["outcome"].isin(members)]
        rep.h(3, f"Means over replicates: {family}")
        rep.table(_by_group(sub, groups, "mean", "ci_low", "ci_high"), f"means-{family}")
        if len(groups) > 1:
            rep.h(3, f"Differences from the baseline: {family}")
            rep.table(_by_group(sub, [g for g in groups if g != base], "diff", "diff_low",
                                "diff_high", mark=True), f"differences-{family}")


def _cell(r: pd.Series, est: str, lo: str, hi: str, mark: bool) -> str:
    cell = format_interval(r[est], r[lo], r[hi])
    if mark and np.isfinite(r[lo]) and (r[lo] > 0 or r[hi] < 0):
        cell += " *"
    return cell


def _by_group(table: pd.DataFrame, groups: list[str], est: str, lo: str, hi: str,
              mark: bool = False) -> pd.DataFrame:
    """design point x outcome cells "est [lo, hi]" (``mark``: * where 0 is outside)."""
    outs = list(dict.fromkeys(table["outcome"]))
    rows = []
    for g in groups:
        sub = table[table["label"] == g].set_index("outcome")
        row = {"design point": g}
        for o in outs:
            row[o] = _cell(sub.loc[o], est, lo, hi, mark) if o in sub.index else "-"
        rows.append(row)
    return pd.DataFrame(rows, columns=["design point", *outs])


def _wide(table: pd.DataFrame, groups: list[str], est: str, lo: str, hi: str,
          mark: bool = False, index: str = "outcome") -> pd.DataFrame:
    """``index`` x design point cells "est [lo, hi]" (``mark``: * where 0 is outside)."""
    rows = []
    for key, frame in table.groupby(index, sort=False):
        row = {index: key}
        for _, r in frame.iterrows():
            if r["label"] in groups:
                row[r["label"]] = _cell(r, est, lo, hi, mark)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame[[index, *[g for g in groups if g in frame.columns]]]


def _cities(rep: Report, res: Results, base: str | None) -> None:
    co = res.city_outcomes
    if co is None or co.empty:
        return
    rep.h(2, "By city")
    rep.p("Each city's outcomes are computed from its own weekly rows with the definitions of "
          "the system outcomes (retention: share of the city's arrivals still in the city at "
          "the end). Means over replicates with 95% t-intervals.")
    outs = [o for o in CITY_TABLES if o in co.columns and co[o].notna().any()]
    table = compare(co, outs, base, strata=["municipality"])
    groups = list(dict.fromkeys(table["label"]))
    for o in outs:
        sub = table[table["outcome"] == o]
        rep.h(3, f"{o} by city")
        rep.table(_wide(sub, groups, "mean", "ci_low", "ci_high", index="municipality"),
                  f"city-{o}")
        if o == "retention" and len(groups) > 1:
            rep.h(3, f"retention by city: difference from the baseline {base}")
            rep.table(_wide(sub, [g for g in groups if g != base], "diff", "diff_low",
                            "diff_high", mark=True, index="municipality"), "city-retention-diff")


def _group_order(res: Results, base: str | None) -> list[str]:
    labels = list(res.points["label"])
    if base in labels:
        labels.remove(base)
        labels.insert(0, base)
    return labels[:plots.MAX_GROUPS]


def _shown_points(res: Results, base: str | None) -> tuple[list[str], list[int], str]:
    """The groups a figure shows, their design points, and a caption note if some are left out."""
    groups = _group_order(res, base)
    points = [int(p) for p, lab in zip(res.points["point"], res.points["label"], strict=True)
              if lab in groups]
    more = (f" The first {len(groups)} of {len(res.points)} design points."
            if len(res.points) > len(groups) else "")
    return groups, points, more


def _timeseries(rep: Report, res: Results, base: str | None) -> None:
    if len(res.points) > MAX_POINTS or res.kind in ("latin_hypercube", "sobol"):
        return
    groups, points, more = _shown_points(res, base)
    weekly = res.weekly(list(TIMESERIES), points)
    if weekly is None or weekly.empty:
        rep.p("No weekly rows were kept (outputs.keep = \"summary\"): no time series.")
        return
    rep.h(3, "Weekly system totals")
    fig = plots.timeseries(weekly, TIMESERIES, groups=groups)
    rep.figure(fig, "timeseries", "Mean over replicates per week with 95% t-interval bands."
               + more)


def _city_figures(rep: Report, res: Results, base: str | None) -> None:
    if (res.part_kind != "weekly_municipalities" or len(res.points) > MAX_POINTS
            or res.kind in ("latin_hypercube", "sobol")):
        return
    groups, points, more = _shown_points(res, base)
    cw = res.city_weekly(list(CITY_SERIES), points)
    if cw is None or cw.empty:
        return
    rep.h(3, "By city")
    for col in CITY_SERIES:
        if col in cw.columns:
            rep.figure(plots.city_multiples(cw, col, groups=groups), f"city-{col}",
                       f"{col} per city: mean over replicates with 95% bands." + more)


def _point_stats(runs: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    rows = []
    for (point, label), f in runs.groupby(["point", "label"], sort=True):
        row: dict[str, Any] = {"point": point, "label": label}
        for c in cols:
            iv = t_interval(f[c])
            row[f"{c}_mean"], row[f"{c}_low"], row[f"{c}_high"] = iv.estimate, iv.low, iv.high
        rows.append(row)
    return pd.DataFrame(rows)


def _frontier(rep: Report, res: Results, runs: pd.DataFrame) -> None:
    cost, outcome = FRONTIER
    if len(res.points) < 2 or not all(c in runs.columns and runs[c].notna().any()
                                      for c in FRONTIER):
        return
    stats = _point_stats(runs, FRONTIER)
    rep.h(3, "Cost-effectiveness frontier")
    rep.figure(plots.frontier(stats, cost, outcome, HEADLINE[outcome][2] is not False),
               "frontier", f"{cost} against {outcome} per design point (means, 95% "
               "intervals); the line joins the Pareto-efficient points (no other point costs "
               "less and does better).")


def _numeric_factors(res: Results, runs: pd.DataFrame) -> list[str]:
    out = []
    for f in res.factors:
        if f in runs.columns and pd.api.types.is_numeric_dtype(runs[f]) and \
                not pd.api.types.is_bool_dtype(runs[f]) and runs[f].nunique() >= 2:
            out.append(f)
    return out


def _dose_response(rep: Report, res: Results, runs: pd.DataFrame, target: str | None,
                   probability: float) -> None:
    if res.kind != "factorial":
        return
    factors = _numeric_factors(res, runs)[:3]
    if not factors:
        return
    tgt = None
    if target:
        from analysis.targets import parse_target

        tgt = parse_target(target)
    outs = [tgt.outcome] if tgt else [o for o in DOSE_OUTCOMES if o in runs.columns
                                      and runs[o].notna().any()]
    outs = [o for o in outs if o in runs.columns]
    if not outs:
        return
    rep.h(3, "Dose-response")
    text = ("Mean outcome over replicates at each level of a factor (95% t-intervals), one "
            "line per combination of the other factors.")
    if tgt:
        text += (f" The star marks, on each line, the smallest level where at least "
                 f"{probability:.0%} of replicates meet the target {tgt.text}.")
    rep.p(text)
    short = short_names(res.factors)
    for f in factors:
        others = [g for g in res.factors if g != f and g in runs.columns]
        for o in outs:
            table = by_level(runs, f, o, others).rename(columns={f: "level"})
            series = None
            if others:
                table["series"] = [", ".join(f"{short[g]}={format_value(r[g])}"
                                             for g in others)
                                   for _, r in table.iterrows()]
                series = "series"
            answers = {}
            if tgt:
                answers = _target_levels(runs, f, others, tgt, probability, short)
                if not others:
                    sh = _share_table(runs, f, tgt)
                    table = table.merge(sh, on="level", how="left")
            fig = plots.dose_response(table, short[f], o, series=series,
                                      threshold=tgt.threshold if tgt else None,
                                      answer=answers.get(None) if tgt else None,
                                      probability=probability if tgt else None,
                                      answers=answers)
            rep.figure(fig, f"dose-{_slug(short[f])}-{o}",
                       f"{o} against {f}.")


def _share_table(runs: pd.DataFrame, factor: str, tgt: Any) -> pd.DataFrame:
    rows = []
    for level, f in runs.groupby(factor, sort=True):
        meets = tgt.meets(f[tgt.outcome])
        k, n = int(meets.sum()), len(meets)
        lo, hi = wilson_interval(k, n)
        rows.append({"level": level, "share": k / n if n else math.nan, "share_low": lo,
                     "share_high": hi})
    return pd.DataFrame(rows)


def _target_levels(runs: pd.DataFrame, factor: str, others: list[str], tgt: Any,
                   probability: float, short: dict[str, str]) -> dict:
    """Smallest level of ``factor`` meeting the target with ``probability``, per series."""
    out: dict = {}
    groups = runs.groupby(others, sort=True) if others else [(None, runs)]
    for key, frame in groups:
        if others:
            key = key if isinstance(key, tuple) else (key,)
            name = ", ".join(f"{short[g]}={format_value(v)}"
                             for g, v in zip(others, key, strict=True))
        else:
            name = None
        for level, f in frame.groupby(factor, sort=True):
            if tgt.meets(f[tgt.outcome]).mean() >= probability - 1e-12:
                out[name] = float(level)
                break
    return out


def _sensitivity(rep: Report, res: Results, runs: pd.DataFrame, outs: list[str],
                 base: str | None) -> None:
    factors = _numeric_factors(res, runs)
    if not factors or res.kind not in ("factorial", "latin_hypercube", "sobol"):
        return
    rep.h(2, "Sensitivity")
    sens = [o for o in SENS_OUTCOMES if o in runs.columns and runs[o].notna().any()]
    if res.kind == "sobol":
        idx = sweep_sobol(runs, res.factors, outs)
        if idx.empty:
            rep.p("Sobol indices need every design point of the Saltelli sample; some are "
                  "missing or the outcomes do not vary.")
        else:
            rep.p("Sobol indices (SALib): S1 first order, ST total, with the half-widths of "
                  "their 95% bootstrap intervals; replicates averaged per design point.")
            for o in sens:
                if (idx["outcome"] == o).any():
                    rep.figure(plots.sobol_bars(idx, o), f"sobol-{o}", f"Sobol indices of {o}.")
            rep.h(3, "Sobol indices")
            shown = idx.copy()
            shown["parameter"] = shown["parameter"].map(short_names(res.factors))
            for c in ("S1", "S1_conf", "ST", "ST_conf"):
                shown[c] = shown[c].map(lambda v: f"{v:.3f}")
            rep.table(shown, "sobol")
    if res.kind in ("factorial", "latin_hypercube"):
        bp = None
        if res.kind == "factorial" and base is not None:
            hit = runs.loc[runs["label"] == base, "point"]
            bp = int(hit.iloc[0]) if len(hit) else None
        rep.p("Tornado: " + ("one factor at a time around the baseline design point, the "
                             "other factors at its values." if res.kind == "factorial" else
                             "mean outcome of the runs in each factor's lowest and highest "
                             "fifth (a marginal effect: a Latin hypercube has no "
                             "one-at-a-time points)."))
        rows = []
        for o in sens:
            eff = tornado(runs, factors, o, res.kind, bp)
            if eff.empty:
                continue
            rep.figure(plots.tornado(eff, o), f"tornado-{o}", f"Tornado of {o}.")
            rows.append(eff.assign(outcome=o))
        if rows:
            rep.h(3, "Tornado effects")
            table = pd.concat(rows, ignore_index=True)
            table["factor"] = table["factor"].map(short_names(res.factors))
            for c in ("at_low", "at_high", "baseline", "swing"):
                table[c] = table[c].map(lambda v: f"{v:.4g}")
            rep.table(table[["outcome", "factor", "low", "high", "at_low", "at_high",
                             "baseline", "swing", "method"]], "tornado")


def _not_done(rep: Report, res: Results) -> None:
    nd = res.not_done
    if nd.empty:
        return
    rep.h(2, "Runs not done")
    rep.p(f"{len(nd)} planned runs have no results (failed or pending); the tables above use "
          "the finished runs only. Run the sweep command again to retry them.")
    cols = [c for c in ("run_id", "point", "replicate", "seed", "status", "error")
            if c in nd.columns]
    rep.table(nd[cols].head(50), "not-done")


# ---------------------------------------------------------------------------- rendering
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
figure{margin:1em 0 2em}figure img,figure svg{max-width:100%;height:auto}
figcaption{font-size:0.85em;color:#555}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #aaa;margin-top:2em}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "figure"


def render_html(rep: Report, svg: bool = False) -> str:
    title = next((b.text for b in rep.blocks if b.kind == "h1"), "Sweep report")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"]
    for b in rep.blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{html.escape(b.text)}</p>")
        elif b.kind == "table":
            assert b.table is not None
            out.append(b.table.to_html(index=False, escape=True, na_rep="-", border=0,
                                       classes=f"table-{_slug(b.name)}"))
        elif b.kind == "figure":
            if svg:
                body = plots.svg_text(b.figure)
            else:
                body = (f'<img alt="{html.escape(b.name)}" src="data:image/png;base64,'
                        f'{plots.png_base64(b.figure)}">')
            out.append(f"<figure>{body}<figcaption>{html.escape(b.text)}</figcaption>"
                       "</figure>")
    out.append("</body></html>")
    return "\n".join(out)


def _md_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_cell(c) for c in frame.columns) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


def render_markdown(rep: Report, out: Path) -> str:
    """Markdown text; figures written as PNG and SVG into ``<stem>_figures/`` next to it."""
    fig_dir = out.parent / f"{out.stem}_figures"
    parts = []
    n = 0
    for b in rep.blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append("#" * int(b.kind[1]) + " " + b.text)
        elif b.kind == "p":
            parts.append(b.text)
        elif b.kind == "table":
            assert b.table is not None
            parts.append(md_table(b.table))
        elif b.kind == "figure":
            n += 1
            stem = fig_dir / f"{n:02d}-{_slug(b.name)}"
            plots.save(b.figure, stem)
            rel = f"{fig_dir.name}/{stem.name}"
            parts.append(f"![{b.name}]({rel}.png)\n\n*{b.text}* ([SVG]({rel}.svg))")
    return "\n\n".join(parts) + "\n"


def write_report(results: Path | str | Results, out: Path | None = None, fmt: str = "html",
                 baseline: str | None = None, outcomes: Sequence[str] | None = None,
                 target: str | None = None, probability: float = 0.8, svg: bool = False
                 ) -> tuple[Path, Report]:
    """Build and write the report of the sweep in ``results`` (a folder or an opened
    ``Results``); return its path and blocks."""
    res = results if isinstance(results, Results) else open_results(results)
    suffix = "md" if fmt == "md" else "html"
    out = Path(out) if out is not None else res.path / f"report.{suffix}"
    rep = build(res, baseline=baseline, outcomes=outcomes, target=target,
                probability=probability)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        text = render_markdown(rep, out)
    else:
        text = render_html(rep, svg=svg)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    for b in rep.blocks:  # free the figures' memory
        if b.figure is not None:
            b.figure.clear()
    return out, rep
