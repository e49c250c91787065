"""Loading a sweep's saved results into tidy pandas tables.

The interface the rest of ``analysis`` uses is small, so that only this module needs changing
if the sweep format changes:

* ``open_results(path) -> Results``
* ``Results.runs``: one row per finished run (ids, label, factor values, headline outcomes)
* ``Results.weekly(columns=None, points=None)``: system totals, one row per run and week
* ``Results.city_weekly(columns=None, points=None, cities=None)``: one row per run, week and
  city (None when the sweep kept no per-city rows)
* ``Results.city_outcomes``: one row per run and city (None without per-city rows)

Sweep format read (``experiments.sweep``, format 1): ``manifest.json``; ``runs/run-<id>.parquet``
(one part per finished run, long format with the ids ``run_id, point, replicate, seed,
scenario`` and the factor values on every row; weekly totals, per-city weekly rows or the
one-row summary, by the experiment's ``outputs.keep``); ``summary.parquet`` (one row per
finished run). Weekly parts are read lazily with ``pyarrow.dataset``: only the columns and
design points asked for, a batch of parts at a time. Column names: docs/analysis.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.outcomes import EXTRA, HEADLINE, NEEDED, outcomes_table, totals_from_cities

MANIFEST = "manifest.json"
RUNS_DIR = "runs"
SUMMARY = "summary.parquet"
META_KEY = b"reception.run"  # a part's run record in its Parquet metadata
ID_COLUMNS = ("run_id", "point", "replicate", "seed", "scenario")
BATCH_PARTS = 64  # parts read at once when computing outcomes from weekly rows


class ResultsError(Exception):
    """A folder that does not hold sweep results (one line for the user)."""


@dataclass
class Results:
    """A sweep's output folder, opened; tables are read when first asked for."""

    path: Path
    manifest: dict[str, Any]
    parts: list[Path]
    part_kind: str  # "weekly_totals" | "weekly_municipalities" | "summary" | "none"
    factors: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ description
    @property
    def experiment(self) -> dict[str, Any]:
        return self.manifest.get("experiment", {})

    @property
    def name(self) -> str:
        return str(self.experiment.get("name") or self.path.name)

    @property
    def kind(self) -> str:
        """Design kind: factorial, latin_hypercube, sobol, scenarios (or unknown)."""
        return str(self.experiment.get("design") or "unknown")

    @property
    def versions(self) -> dict[str, str]:
        return dict(self.manifest.get("versions") or {})

    @cached_property
    def points(self) -> pd.DataFrame:
        """One row per design point: point, scenario, label, factor values, sets (JSON)."""
        rows = []
        listed = self.manifest.get("points") or []
        if listed:
            for p in listed:
                sets = p.get("sets") or {}
                rows.append({"point": int(p["point"]), "scenario": p.get("scenario"),
                             **{f: sets.get(f) for f in self.factors},
                             "sets": json.dumps(sets, sort_keys=True, default=str)})
        else:
            runs = self._summary_or_parts()
            for point, grp in runs.groupby("point", sort=True):
                first = grp.iloc[0]
                rows.append({"point": int(point), "scenario": first.get("scenario"),
                             **{f: first.get(f) for f in self.factors}, "sets": "{}"})
        frame = pd.DataFrame(rows)
        frame.insert(2, "label", point_labels(frame, self.factors, self.kind))
        return frame

    @cached_property
    def manifest_runs(self) -> pd.DataFrame:
        """Every planned run with its status (done, failed, pending), wall time and error."""
        runs = self.manifest.get("runs") or []
        cols = ["run_id", "point", "replicate", "seed", "scenario", "status", "wall_s",
                "attempts", "error"]
        if not runs:
            frame = self._summary_or_parts()[list(ID_COLUMNS)].copy()
            frame["status"] = "done"
            return frame
        return pd.DataFrame([{c: r.get(c) for c in cols} for r in runs])

    @property
    def not_done(self) -> pd.DataFrame:
        frame = self.manifest_runs
        return frame[frame["status"] != "done"].reset_index(drop=True)

    # ------------------------------------------------------------------ run-level table
    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per finished run: ids, label, factor values, then the outcomes.

        The summary outcomes come from ``summary.parquet`` (``sim.runner.summarize``); the
        outcomes it lacks (employment at 1 and 3 years, the index dimensions and the index by
        status at the end) are computed from the weekly rows when the sweep kept them.
        """
        base = self._summary_or_parts()
        extra = self._weekly_outcomes()
        if extra is not None:
            new = [c for c in extra.columns if c != "run_id" and
                   (c not in base.columns or base[c].isna().all())]
            base = base.drop(columns=[c for c in new if c in base.columns]).merge(
                extra[["run_id", *new]], on="run_id", how="left")
        for col in (*EXTRA, *HEADLINE):
            if col not in base.columns:
                base[col] = np.nan
        labels = self.points.set_index("point")["label"]
        base.insert(5, "label", base["point"].map(labels).astype(str))
        order = [*ID_COLUMNS, "label", *[f for f in self.factors if f in base.columns]]
        rest = [c for c in base.columns if c not in order and c != "wall_s"]
        tail = ["wall_s"] if "wall_s" in base.columns else []
        out = base[order + rest + tail].sort_values(["point", "replicate"], kind="stable")
        return out.reset_index(drop=True)

    def outcome_columns(self, frame: pd.DataFrame | None = None) -> list[str]:
        """Headline outcomes with at least one value in ``frame`` (default: ``runs``)."""
        frame = self.runs if frame is None else frame
        return [c for c in HEADLINE if c in frame.columns and frame[c].notna().any()]

    # ------------------------------------------------------------------ weekly tables
    def weekly(self, columns: list[str] | None = None,
               points: list[int] | None = None) -> pd.DataFrame | None:
        """System totals, one row per run and week (None if the sweep kept only summaries).

        Kept per-city rows are summed into totals (``outcomes.totals_from_cities``: counts and
        spending summed, rates weighted by newcomers, waits by starts; retention and the index
        by status cannot be derived and are absent).
        """
        if self.part_kind == "weekly_totals":
            return self._read(columns, points, label=True)
        if self.part_kind == "weekly_municipalities":
            cols = None if columns is None else sorted(
                {*columns, "newcomers", *(f"started_{c.removeprefix('mean_wait_')}"
                                          for c in columns if c.startswith("mean_wait_")),
                 *(("spend_federal", "spend_provincial", "spend_municipal", "spend_charity")
                   if {"spend_total", "cumulative_spend"} & set(columns) else ())})
            frame = self._read(cols, points, label=True)
            keys = [*ID_COLUMNS, "label", *self.factors]
            totals = totals_from_cities(frame, keys)
            if (columns is None or "cumulative_spend" in columns) and "spend_total" in totals:
                totals = totals.sort_values(["run_id", "week"], kind="stable")
                totals["cumulative_spend"] = totals.groupby("run_id")["spend_total"].cumsum()
            if columns is not None:
                keep = [c for c in [*keys, "week", "date", *columns] if c in totals.columns]
                totals = totals[list(dict.fromkeys(keep))]
            return totals
        return None

    def city_weekly(self, columns: list[str] | None = None, points: list[int] | None = None,
                    cities: list[str] | None = None) -> pd.DataFrame | None:
        """Per-city weekly rows (None unless the sweep kept weekly_municipalities)."""
        if self.part_kind != "weekly_municipalities":
            return None
        return self._read(columns, points, cities, label=True)

    @cached_property
    def city_outcomes(self) -> pd.DataFrame | None:
        """One row per run and city: ids, label, factors, municipality, the outcomes
        computed from the city's weekly rows (the same definitions as for the system)."""
        if self.part_kind != "weekly_municipalities":
            return None
        frames = []
        for batch in self._batches():
            frame = self._read(list(NEEDED) + ["municipality"], parts=batch)
            frames.append(outcomes_table(frame, ["run_id", "municipality"]))
        table = pd.concat(frames, ignore_index=True)
        ids = self.runs[[*ID_COLUMNS, "label", *[f for f in self.factors
                                                 if f in self.runs.columns]]]
        out = ids.merge(table, on="run_id", how="inner")
        return out.sort_values(["point", "replicate", "municipality"],
                               kind="stable").reset_index(drop=True)

    @property
    def cities(self) -> list[str]:
        co = self.city_outcomes
        return [] if co is None else list(dict.fromkeys(co["municipality"]))

    # ------------------------------------------------------------------ internals
    def _summary_or_parts(self) -> pd.DataFrame:
        """One row per finished run with the summary outcomes.

        From ``summary.parquet``, completed from the parts for runs it lacks (the driver
        rewrites it at the end of a session, so after an interruption it can lag behind the
        parts); without it, from the parts alone.
        """
        summary = self.path / SUMMARY
        if summary.exists():
            frame = pd.read_parquet(summary)
            have = set(frame["run_id"]) if "run_id" in frame.columns else set()
            missing = [p for p in self.parts if p.stem.removeprefix("run-") not in have]
            if missing:
                frame = pd.concat([frame, self._frame_from_parts(missing)], ignore_index=True)
        elif self.parts:
            frame = self._frame_from_parts(self.parts)
        else:
            raise ResultsError(f"{self.path}: no finished runs (no {SUMMARY} and no parts in "
                               f"{RUNS_DIR}/)")
        missing_ids = [c for c in ID_COLUMNS if c not in frame.columns]
        if missing_ids:
            raise ResultsError(f"{self.path}: the run table lacks the id columns {missing_ids}")
        return frame

    def _frame_from_parts(self, parts: list[Path]) -> pd.DataFrame:
        """Run rows from parts: the summary row itself, the run record in the part's Parquet
        metadata (key ``reception.run``: ids, labels, summary), or else outcomes computed
        from the weekly rows."""
        if self.part_kind == "summary":
            return self._read(None, parts=parts)
        rows, rest = [], []
        for part in parts:
            rec = _part_record(part)
            if rec is None or not isinstance(rec.get("summary"), dict):
                rest.append(part)
                continue
            rows.append({"run_id": rec["run_id"], "point": rec["point"],
                         "replicate": rec["replicate"], "seed": rec["seed"],
                         **(rec.get("labels") or {}), **rec["summary"],
                         "wall_s": rec.get("wall_s")})
        frames = [pd.DataFrame(rows)] if rows else []
        if rest:
            frames.append(self._computed_from_parts(rest))
        return pd.concat(frames, ignore_index=True)

    def _computed_from_parts(self, parts: list[Path]) -> pd.DataFrame:
        ids = self._read([*ID_COLUMNS, *self.factors, "week"], parts=parts)
        ids = ids.drop_duplicates("run_id").drop(columns=["week"], errors="ignore")
        return ids.merge(self._outcomes_of(parts), on="run_id", how="left")

    def _outcomes_of(self, parts: list[Path]) -> pd.DataFrame:
        frames = []
        for i in range(0, len(parts), BATCH_PARTS):
            batch = parts[i:i + BATCH_PARTS]
            if self.part_kind == "weekly_totals":
                frame = self._read(list(NEEDED), parts=batch)
            else:
                frame = totals_from_cities(self._read(list(NEEDED) + ["municipality"],
                                                      parts=batch), ["run_id"])
            frames.append(outcomes_table(frame, ["run_id"]))
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def _weekly_outcomes_cache(self) -> pd.DataFrame | None:
        if self.part_kind not in ("weekly_totals", "weekly_municipalities"):
            return None
        return self._outcomes_of(self.parts)

    def _weekly_outcomes(self) -> pd.DataFrame | None:
        return self._weekly_outcomes_cache

    def _batches(self) -> list[list[Path]]:
        return [self.parts[i:i + BATCH_PARTS] for i in range(0, len(self.parts), BATCH_PARTS)]

    def _read(self, columns: list[str] | None, points: list[int] | None = None,
              cities: list[str] | None = None, parts: list[Path] | None = None,
              label: bool = False) -> pd.DataFrame:
        """Parts as one frame: only ``columns`` (plus ids and factors), points and cities;
        ``label`` adds the design point's label."""
        import pyarrow.dataset as ds

        files = parts if parts is not None else self.parts
        if not files:
            return pd.DataFrame(columns=list(ID_COLUMNS))
        dataset = ds.dataset([str(p) for p in files], format="parquet")
        names = dataset.schema.names
        if columns is None:
            cols = names
        else:
            wanted = [*ID_COLUMNS, *self.factors, "week", "date", "municipality", *columns]
            cols = [c for c in dict.fromkeys(wanted) if c in names]
        flt = None
        if points is not None:
            flt = ds.field("point").isin([int(p) for p in points])
        if cities is not None and "municipality" in names:
            c = ds.field("municipality").isin(list(cities))
            flt = c if flt is None else flt & c
        frame = dataset.to_table(columns=cols, filter=flt).to_pandas()
        if label and "label" not in frame.columns and "point" in frame.columns:
            labels = self.points.set_index("point")["label"]
            frame.insert(min(5, len(frame.columns)), "label",
                         frame["point"].map(labels).astype(str))
        return frame


def open_results(path: Path | str) -> Results:
    """Open a sweep output folder (``reception sweep ... --out DIR``)."""
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"{path}: not a folder of sweep results (reception sweep --out DIR)")
    manifest_path = path / MANIFEST
    manifest: dict[str, Any] = {}
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as e:
            raise ResultsError(f"{manifest_path}: cannot be read ({e})") from None
    parts = sorted((path / RUNS_DIR).glob("run-*.parquet"))
    if not manifest and not parts and not (path / SUMMARY).exists():
        raise ResultsError(f"{path}: not a folder of sweep results (no {MANIFEST}, "
                           f"{SUMMARY} or {RUNS_DIR}/run-*.parquet)")
    kind = _part_kind(manifest, parts)
    factors = list((manifest.get("experiment") or {}).get("factors") or [])
    if not manifest and parts:
        factors = _guess_factors(parts[0])
    return Results(path=path, manifest=manifest, parts=parts, part_kind=kind, factors=factors)


def _part_kind(manifest: dict, parts: list[Path]) -> str:
    if not parts:
        return "none"
    import pyarrow.parquet as pq

    names = pq.read_schema(parts[0]).names
    if "municipality" in names:
        return "weekly_municipalities"
    if "week" in names:
        return "weekly_totals"
    return "summary"


def _part_record(part: Path) -> dict | None:
    """The run record the sweep driver stores in a part's Parquet metadata, if any."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(part).metadata or {}
        return json.loads(meta[META_KEY]) if META_KEY in meta else None
    except (OSError, ValueError, KeyError):
        return None


def _guess_factors(part: Path) -> list[str]:
    """Without a manifest: the columns between the ids and the outputs with a dot in the name
    (factor columns are parameter paths)."""
    import pyarrow.parquet as pq

    return [n for n in pq.read_schema(part).names if "." in n]


def short_names(paths: list[str]) -> dict[str, str]:
    """Shortest unique dotted suffix of each parameter path (``...grant_factor.federal`` ->
    ``federal``)."""
    out = {}
    for p in paths:
        parts = p.split(".")
        for k in range(1, len(parts) + 1):
            cand = ".".join(parts[-k:])
            if sum(1 for q in paths if q == cand or q.endswith("." + cand)) == 1:
                out[p] = cand
                break
        else:
            out[p] = p
    return out


def point_labels(points: pd.DataFrame, factors: list[str], kind: str) -> list[str]:
    """Labels of design points: the scenario name for comparisons, ``factor=value`` pairs for
    factorial designs, ``p<index>`` for sampled designs (Latin hypercube, Sobol)."""
    if kind == "scenarios" or not factors:
        labels = [str(s) for s in points["scenario"]]
        if len(set(labels)) == len(labels):
            return labels
        return [f"{s} (p{p})" for s, p in zip(labels, points["point"], strict=True)]
    if kind in ("latin_hypercube", "sobol"):
        return [f"p{int(p)}" for p in points["point"]]
    short = short_names(factors)
    return [", ".join(f"{short[f]}={format_value(row[f])}" for f in factors)
            for _, row in points.iterrows()]


def format_value(v: Any) -> str:
    """A factor value for a label: whole numbers without a decimal point or exponent."""
    if isinstance(v, bool | np.bool_):
        return str(bool(v)).lower()
    if isinstance(v, float | np.floating):
        f = float(v)
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return f"{f:.6g}"
    return str(v)


# Convenience functions: the documented two-function interface.
def load_runs(path: Path | str) -> pd.DataFrame:
    """One row per finished run with its outcomes (``open_results(path).runs``)."""
    return open_results(path).runs


def load_weekly(path: Path | str, columns: list[str] | None = None,
                level: str = "totals") -> pd.DataFrame | None:
    """Weekly rows of every run: ``level="totals"`` (system) or ``"cities"``."""
    res = open_results(path)
    return res.weekly(columns) if level == "totals" else res.city_weekly(columns)
