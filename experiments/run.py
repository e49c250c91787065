"""One run of one design point with one seed, on whichever process executes it.

``run_one(spec)`` needs nothing but ``spec`` (plain JSON-able data made by the driver:
the resolved scenario, the point's overrides, the seed, the contents of any observed-series
file) and an installed ``sim``: a worker never reads the driver's files.

``warm_up()`` imports ``sim`` and steps a tiny model, so numba compiles the kernels (or loads
them from its on-disk cache) once per process; ``WarmUp`` does it when a dask worker starts.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import os
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

ID_COLUMNS = ("run_id", "point", "replicate", "seed", "scenario")
META_KEY = b"reception.run"  # Parquet metadata key of the run record in each part

_WARMUP: dict[str, Any] | None = None
_WARMUP_LOCK = threading.Lock()
_FILES_DIR: Path | None = None

# A tiny two-city scenario that steps every process of the model in a few milliseconds.
TINY: dict[str, Any] = {
    "scenario": {"name": "warm-up"},
    "run": {"weeks": 3, "seed": 1, "scale": 1, "progress": False},
    "streams": {
        "economic_pr": {"per_year": 2000},
        "asylum_claimant": {"per_year": 2000, "housing_on_arrival": {
            "needs_shelter": 0.6, "friends_family": 0.2, "precarious_rental": 0.2,
            "stable_housing": 0.0}},
    },
    "municipalities": [
        {"name": "A", "population": 500_000, "rental_stock": 60_000, "shelter_beds": 5,
         "newcomer_budget_per_year": 1e5, "lat": 43.7, "lon": -79.4,
         "policies": {"intake_cap": True}},
        {"name": "B", "population": 50_000, "rental_stock": 5_000, "shelter_beds": 5,
         "lat": 44.4, "lon": -79.7, "policies": {"lip": True, "access_without_fear": True}},
    ],
    "agencies": [
        {"name": "A services", "municipality": "A", "staff_fte": 2,
         "grants": [{"funder": "federal", "amount_per_year": 1.5e5, "kind": "core"}]},
        {"name": "B services", "municipality": "B", "staff_fte": 1,
         "grants": [{"funder": "municipal", "amount_per_year": 7.5e4, "kind": "program",
                     "end_week": 2}]},
    ],
}


def warm_up() -> dict[str, Any]:
    """Import ``sim`` and step a tiny model once per process; return what it cost.

    The record says how long the imports and the numba step took and whether numba
    compiled the kernels (``compiled``) or loaded them from its cache (``loaded``).
    """
    global _WARMUP
    with _WARMUP_LOCK:
        if _WARMUP is not None:
            return _WARMUP
        t0 = time.perf_counter()
        from numba.core.registry import CPUDispatcher

        from sim import kernels
        from sim.model import ReceptionModel
        from sim.outputs import frames
        from sim.params import Scenario

        t1 = time.perf_counter()
        model = ReceptionModel(scenario=Scenario.model_validate(TINY))
        model.run()
        frames(model)
        t2 = time.perf_counter()
        hits = misses = 0
        for obj in vars(kernels).values():
            if isinstance(obj, CPUDispatcher):
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
        _WARMUP = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "import_s": round(t1 - t0, 3),
            "numba_s": round(t2 - t1, 3),
            "numba": "compiled" if misses and not hits else
                     ("loaded" if hits and not misses else "mixed"),
            "kernels_compiled": misses,
            "kernels_loaded": hits,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return _WARMUP


def warmup_record() -> dict[str, Any] | None:
    """This process's warm-up record (None before ``warm_up``)."""
    return _WARMUP


def probe() -> dict[str, str]:
    """What a worker runs first: can it import the project, and which versions has it?

    Finds ``sim`` without importing it, so that ``warm_up`` measures the import.
    """
    import importlib.util
    import platform
    from importlib import metadata

    spec = importlib.util.find_spec("sim")
    if spec is None:
        raise ModuleNotFoundError("No module named 'sim'")
    out = {"python": platform.python_version(), "host": socket.gethostname(),
           "sim_path": str(Path(next(iter(spec.submodule_search_locations or [""])))) }
    for pkg in ("reception-sim", "numba", "numpy", "pandas", "dask", "distributed"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


class WarmUp(WorkerPlugin):
    """Dask worker plugin: ``warm_up()`` when the plugin is registered or a worker joins.

    A worker that joins the cluster sets its plugins up before it takes tasks. The warm-up
    runs in a thread so the worker keeps answering the scheduler's heartbeats meanwhile.
    """

    name = "reception-warmup"
    idempotent = True

    async def setup(self, worker: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, warm_up)


def _materialize(files: dict[str, str], data: dict) -> None:
    """Write shipped observed-series files locally and point the scenario at them."""
    global _FILES_DIR
    if not files:
        return
    if _FILES_DIR is None:
        _FILES_DIR = Path(tempfile.mkdtemp(prefix="reception-series-"))
    local = {}
    for original, text in files.items():
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        target = _FILES_DIR / f"{digest}-{Path(original).name}"
        if not target.exists():
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        local[original] = str(target)
    for stream in (data.get("streams") or {}).values():
        series = stream.get("series") if isinstance(stream, dict) else None
        if isinstance(series, dict) and series.get("file") in local:
            series["file"] = local[series["file"]]


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one design point with one seed; return its output table and summary.

    ``spec`` keys: run_id, point, replicate, seed, scenario (resolved scenario data),
    sets (parameter path -> value), files (observed-series path -> text), keep
    (summary | weekly_totals | weekly_municipalities), labels (scenario name and factor
    values, put on every row).
    """
    import pandas as pd

    from sim import paths, threads
    from sim.runner import simulate
    from sim.scenario import validate

    warm = warm_up()
    t0 = time.perf_counter()
    data = copy.deepcopy(spec["scenario"])
    _materialize(spec.get("files") or {}, data)
    for key, value in spec["sets"].items():
        paths.set_in_data(data, key, value)
    data.setdefault("run", {})
    data["run"]["seed"] = int(spec["seed"])
    data["run"]["progress"] = False
    scenario = validate(data, Path(spec["run_id"]))
    with threads.limit(1):  # a sweep gets its parallelism from processes (docs/sweeps.md)
        result = simulate(scenario)
    ids = {"run_id": spec["run_id"], "point": int(spec["point"]),
           "replicate": int(spec["replicate"]), "seed": int(spec["seed"]), **spec["labels"]}
    keep = spec["keep"]
    if keep == "summary":
        table = pd.DataFrame([{**ids, **result.summary}])
    else:
        frame = result.totals if keep == "weekly_totals" else result.municipalities
        table = _with_ids(frame, ids)
    record = {
        "run_id": spec["run_id"],
        "point": int(spec["point"]),
        "replicate": int(spec["replicate"]),
        "seed": int(spec["seed"]),
        "labels": spec["labels"],
        "summary": result.summary,
        "migrant_agents": result.record.get("migrant_agents"),
        "wall_s": round(time.perf_counter() - t0, 4),
        "host": warm["host"],
        "pid": warm["pid"],
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "experiment_hash": spec.get("experiment_hash"),
    }
    return {**record, "parquet": to_parquet(table, record)}


def to_parquet(table: Any, record: dict[str, Any]) -> bytes:
    """The run's part file: its rows, with ``record`` as JSON in the Parquet metadata.

    Encoding happens on the worker, so the driver only writes bytes.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta[META_KEY] = json.dumps(record, default=_json_default).encode()
    sink = pa.BufferOutputStream()
    pq.write_table(arrow.replace_schema_metadata(meta), sink)
    return sink.getvalue().to_pybytes()


def read_record(source: Any) -> dict[str, Any]:
    """The run record stored in a part (a path or the bytes ``run_one`` returned)."""
    import io
    import json

    import pyarrow.parquet as pq

    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    meta = pq.read_schema(source).metadata or {}
    return json.loads(meta[META_KEY])


def _json_default(obj: object) -> object:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _with_ids(frame: Any, ids: dict[str, Any]) -> Any:
    import pandas as pd

    clash = [k for k in ids if k in frame.columns]
    if clash:
        raise ValueError(f"output columns clash with id or factor columns: {clash}")
    head = pd.DataFrame({k: [v] * len(frame) for k, v in ids.items()}, index=frame.index)
    return pd.concat([head, frame], axis=1).reset_index(drop=True)
