"""Discovered boxes written back as files to act on (``reception discover --out DIR``).

For each box: a scenario that ``extends`` the sweep's base scenario and sets the restricted
inputs to the box's centre (the box's ranges in comments), and an experiment file that samples
a Latin hypercube inside the box (the box's ranges for the restricted inputs, the original
ranges for the others), so the region can be run again, with replicates, or planned against.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from analysis.discover import Box, Discovery
from analysis.targets import PlanError
from sim import limits, paths
from sim.show import toml_key, toml_value


def _number(v: float, integer: bool) -> str:
    if integer:
        return str(int(round(v)))
    text = f"{v:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def toml_tables(values: dict[str, tuple[str, str]]) -> list[str]:
    """``path -> (value text, comment)`` as TOML lines, one table per parameter's parent."""
    tables: dict[tuple[str, ...], list[str]] = {}
    for path, (text, comment) in values.items():
        parts = paths.split(path)
        line = f"{toml_key(parts[-1])} = {text}" + (f"  # {comment}" if comment else "")
        tables.setdefault(tuple(parts[:-1]), []).append(line)
    out = list(tables.pop((), []))
    for table, lines in tables.items():
        out += ["", f"[{'.'.join(toml_key(t) for t in table)}]", *lines]
    return out


class Source:
    """The sweep's experiment file: its base scenario, base overrides and design ranges."""

    def __init__(self, manifest: dict) -> None:
        exp = manifest.get("experiment") or {}
        self.name = str(exp.get("name") or "sweep")
        file = exp.get("file")
        if not file or not Path(file).is_file():
            raise PlanError(f"cannot write box files: the sweep's experiment file {file!r} is "
                            "not there any more (manifest.json, experiment.file)")
        self.file = Path(file)
        try:
            data = tomllib.loads(limits.read_bytes(self.file).decode())
        except (OSError, ValueError, RecursionError) as e:  # TOML, UTF-8, size limit
            raise PlanError(f"cannot write box files: {self.file}: {e}") from None
        base = data.get("base") or {}
        if "scenario" not in base:
            raise PlanError(f"cannot write box files: {self.file} has no [base] scenario (a "
                            "comparison of scenarios has no single base to extend)")
        self.scenario = (self.file.parent / base["scenario"]).resolve()
        self.sets = dict(_flat(base.get("sets") or {}))
        design = data.get("design") or {}
        self.ranges = {k: v for k, v in _flat(design.get("ranges") or {}, leaf=_is_range)}
        self.samples = int(design.get("samples") or 0)


def _is_range(v: Any) -> bool:
    return isinstance(v, dict) and "low" in v and "high" in v


def _flat(data: dict, prefix: str = "", leaf: Any = None) -> list[tuple[str, Any]]:
    """Nested TOML tables back into parameter paths (``[base.sets]`` may be written either
    way)."""
    out = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and not (leaf and leaf(value)):
            out += _flat(value, path, leaf)
        else:
            out.append((path, value))
    return out


def _rel(target: Path, out: Path) -> str:
    return os.path.relpath(target, out.resolve().parent)


def _box_lines(d: Discovery, bx: Box) -> list[str]:
    lines = []
    for name, (lo, hi) in bx.limits.items():
        s_lo, s_hi = d.ranges[name]
        qp = f"; quasi-p {bx.qp[name]:.2g}" if name in bx.qp else ""
        lines.append(f"#   {_number(lo, d.integer[name])} <= {name} <= "
                     f"{_number(hi, d.integer[name])}   (sweep {_number(s_lo, False)}.."
                     f"{_number(s_hi, False)}{qp})")
    return lines


def _header(d: Discovery, bx: Box, results: Path, src: Source) -> list[str]:
    return [
        f"# {bx.method.upper()} box {bx.index} of `reception discover {results} --outcome "
        f"\"{d.target.text}\"` (experiment {src.name}):",
        f"# {d.target.text} in {bx.k} of the {bx.n} runs inside the box (density "
        f"{100 * bx.density:.0f}%, {bx.density / d.base_rate:.1f}x the base rate "
        f"{100 * d.base_rate:.0f}%); the box holds {100 * bx.coverage:.0f}% of all such runs "
        f"(coverage) and {100 * bx.mass:.0f}% of the runs (mass).",
        "# The box:",
        *_box_lines(d, bx),
    ]


def write_scenario(d: Discovery, bx: Box, results: Path, src: Source, out: Path) -> Path:
    """A scenario at the box's centre: ``extends`` the base, the ranges as comments."""
    label = f"{bx.method}_box{bx.index}"
    values: dict[str, tuple[str, str]] = {
        path: (toml_value(v), f"from the experiment's [base.sets] ({src.file.name})")
        for path, v in src.sets.items() if path not in bx.limits}
    for name, (lo, hi) in bx.limits.items():
        mid = (lo + hi) / 2
        values[name] = (_number(mid, d.integer[name]),
                        f"centre of the box {_number(lo, d.integer[name])}.."
                        f"{_number(hi, d.integer[name])}")
    others = [f for f in d.factors if f not in bx.limits]
    question = (f"What happens inside {label.upper()} of {src.name}, where {d.target.text} in "
                f"{100 * bx.density:.0f}% of the runs?")
    lines = [
        f"# {out.stem}: where {d.target.text} is likely, found by scenario discovery.",
        *_header(d, bx, results, src),
        "# Each restricted input is set to the centre of its range; the inputs the box does not "
        "restrict",
        f"# ({', '.join(others) or 'none'}) keep the base scenario's values. To sample the "
        f"whole box: {out.stem}_sweep.toml.",
        "",
        f"extends = {toml_value(_rel(src.scenario, out))}",
        "",
        "[scenario]",
        f"name = {toml_value(f'{src.name}_{label}')}",
        f"question = {toml_value(question)}",
    ]
    body = toml_tables(values)
    if body and body[0] != "":
        body.insert(0, "")
    out.write_text("\n".join(lines + body).rstrip() + "\n")
    return out


def write_sweep(d: Discovery, bx: Box, results: Path, src: Source, out: Path) -> Path:
    """An experiment file: a Latin hypercube inside the box (other inputs over their ranges)."""
    ranges: dict[str, tuple[str, str]] = {}
    for name in d.factors:
        lo, hi = bx.limits.get(name, d.ranges[name])
        original = src.ranges.get(name) or {}
        if name not in bx.limits and original:
            lo, hi = float(original["low"]), float(original["high"])
        scale = original.get("scale", "linear") if name not in bx.limits else "linear"
        if d.integer[name] and hi - lo < 1:
            continue  # a whole-number input pinned to one value: left to the base
        where = "the box" if name in bx.limits else "the original sweep's range"
        table = f"{{ low = {_number(lo, d.integer[name])}, high = {_number(hi, d.integer[name])}"
        table += f", scale = {toml_value(scale)} }}" if scale != "linear" else " }"
        ranges[name] = (table, where)
    samples = src.samples or max(64, d.n // 2)
    question = (f"How likely is {d.target.text} inside {bx.method.upper()} box {bx.index} of "
                f"{src.name}, and what else happens there?")
    lines = [
        f"# {out.stem}: a Latin hypercube inside a box where {d.target.text} is likely.",
        *_header(d, bx, results, src),
        f"#   reception sweep {out.name} --out results/{out.stem}",
        "",
        "[experiment]",
        f"name = {toml_value(f'{src.name}_{bx.method}_box{bx.index}')}",
        f"question = {toml_value(question)}",
        "replicates = 1",
        "root_seed = 1",
        "",
        "[base]",
        f"scenario = {toml_value(_rel(src.scenario, out))}",
    ]
    if src.sets:
        lines += ["", "[base.sets]", *(f"{toml_value(k)} = {toml_value(v)}"
                                       for k, v in src.sets.items())]
    lines += ["", "[design]", 'kind = "latin_hypercube"', f"samples = {samples}", "seed = 0",
              "", "[design.ranges]",
              *(f"{toml_value(k)} = {t}  # {c}" for k, (t, c) in ranges.items()),
              "", "[outputs]", 'keep = "summary"']
    out.write_text("\n".join(lines) + "\n")
    return out


def write_box_files(d: Discovery, results: Path, manifest: dict, out: Path) -> list[Path]:
    """Both files for every box found (PRIM and CART); the paths written."""
    boxes = [*d.prim, *d.cart]
    if not boxes:
        return []
    src = Source(manifest)
    written = []
    for bx in boxes:
        stem = out / f"{bx.method}_box{bx.index}"
        written.append(write_scenario(d, bx, results, src, stem.with_suffix(".toml")))
        written.append(write_sweep(d, bx, results, src, out / f"{stem.name}_sweep.toml"))
    return written
