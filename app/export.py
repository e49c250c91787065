"""Export what the app shows: the runs as tables, the settings as a scenario or a command.

* ``runs_table``: the weekly system outputs of the runs on screen (A, B), long format
  (one row per run and week, the run's label and seed on each row), as CSV or Parquet.
* ``scenario_toml``: the app's settings as a scenario file that ``extends`` the preset
  and sets only what differs (levers, planner overrides, classroom scale, seed, and
  mid-run changes as timeline entries). ``reception run`` on it gives the app's run.
* ``run_command``: the same as one ``reception run PRESET --set PATH=VALUE ...`` line.

Charts are exported by the browser (each chart's SVG / PNG buttons, app/chartbox.vue).
"""

from __future__ import annotations

import io
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from app.model import AppModel, diff_paths, preset_path, resolved_data
from app.outcomes import totals
from sim import paths
from sim.scenario import SCENARIO_DIR
from sim.show import toml_key, toml_value


def runs_table(models: dict[str, AppModel]) -> pd.DataFrame:
    """Weekly outputs of each run so far, with ``run`` and ``seed`` columns first."""
    frames = []
    for label, model in models.items():
        frame = totals(model)
        if frame.empty:
            continue
        frame = frame.copy()
        frame.insert(0, "seed", model.app_params["seed"])
        frame.insert(0, "run", label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The table as CSV text or Parquet bytes."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def changed_settings(model: AppModel) -> dict[str, Any]:
    """``{path: value}`` that turns the preset into the app's run."""
    return diff_paths(resolved_data(model.app_params["preset"]), model.app_data)


def _extends(preset: str) -> str:
    path = preset_path(preset).resolve()
    return path.name if path.parent == SCENARIO_DIR.resolve() else str(path)


def _write(data: dict, header: tuple[str, ...], lines: list[str]) -> None:
    """TOML tables of ``data``; named lists (municipalities, agencies) as ``[[...]]``."""
    named = [k for k in paths.NAMED_LISTS if not header and k in data]
    for key, value in data.items():
        if not isinstance(value, dict) and key not in named:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"\n[{'.'.join(toml_key(h) for h in (*header, key))}]")
            _write(value, (*header, key), lines)
    for key in named:
        for item in data[key]:
            lines.append(f"\n[[{key}]]")
            _write(item, (key,), lines)


def _put(overlay: dict, parts: list[str], value: Any) -> None:
    """Set ``parts`` in the overlay; items of named lists are found or added by name."""
    node: Any = overlay
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = next((it for it in node if it.get("name") == part), None) or \
                node[node.append({"name": part}) or -1]
        else:
            node = node.setdefault(part, [] if i == 0 and part in paths.NAMED_LISTS else {})
    node[parts[-1]] = value


def scenario_toml(model: AppModel) -> str:
    """A scenario file of the app's settings, extending the preset."""
    overlay: dict[str, Any] = {}
    for path, value in changed_settings(model).items():
        _put(overlay, paths.split(path), value)
    overlay.setdefault("scenario", {})["name"] = f"{model.scenario.scenario.name}_app"
    lines = [f"# Exported from the reception app: {model.app_params['preset']} with the "
             "app's settings.",
             f"# Run it with: reception run <this file> --out results/{model.app_params['preset']}"
             "_app",
             f"extends = {toml_value(_extends(model.app_params['preset']))}", ""]
    _write(overlay, (), lines)
    return "\n".join(lines).strip() + "\n"


def run_command(model: AppModel) -> str:
    """The app's run as one ``reception run`` command line (POSIX shell quoting)."""
    path = preset_path(model.app_params["preset"]).resolve()
    try:
        shown = str(path.relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    words = ["reception", "run", shown]
    for key, value in changed_settings(model).items():
        words += ["--set", f"{key}={toml_value(value)}"]
    return " ".join(shlex.quote(w) for w in words)
