"""The planner's questions, parsed: targets (``OUTCOME OP VALUE``), ranges and levers
(parameter paths), shared by the one-lever planner, the many-lever planner, robustness checks
and scenario discovery.

A target is ``OUTCOME OP VALUE`` (``mean_wait_language<8``): OUTCOME is a run-level outcome
(``analysis.outcomes.HEADLINE``, computed from the weekly rows of ``--city`` or of the system
totals) or ``agg(column)`` of any weekly column, agg one of mean, max, min, sum, end (the last
week) or weekN (the end of the run's N-th week); OP one of <, <=, >, >=.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.outcomes import EXTRA, HEADLINE, SYSTEM_ONLY, is_custom
from sim.params_base import RENAMED_KEYS

OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater}
_TARGET_RE = re.compile(r"^\s*(?P<lhs>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<rhs>[^<>=]+?)\s*$")


class PlanError(Exception):
    """A bad planner question (one line for the user, exit status 2)."""


def check_confidence(probability: float, replicates: int) -> None:
    """The arguments every planner shares: a probability in (0, 1], at least one seed."""
    if not 0 < probability <= 1:
        raise PlanError(f"--probability {probability:g}: expected a share in (0, 1]")
    if replicates < 1:
        raise PlanError(f"--replicates {replicates}: expected at least 1")


@dataclass(frozen=True)
class Target:
    outcome: str
    op: str
    threshold: float
    text: str

    def meets(self, values: np.ndarray | Sequence[float]) -> np.ndarray:
        """Which values meet the target (NaN never does)."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & OPS[self.op](v, self.threshold)

    def shortfall(self, value: float) -> float:
        """How far ``value`` is from meeting the target, in the outcome's unit (<= 0: met)."""
        if not np.isfinite(value):
            return math.inf
        return value - self.threshold if self.op in ("<", "<=") else self.threshold - value

    def describe(self, city: str | None = None) -> str:
        where = f"in {city}" if city else "system-wide"
        what = HEADLINE.get(self.outcome, (None,))[0] or _custom_text(self.outcome)
        return f"{self.outcome} {self.op} {self.threshold:g} {where} ({what[0].lower()}{what[1:]})"


def _custom_text(expr: str) -> str:
    m = re.match(r"(\w+)\((\w+)\)", expr.replace(" ", ""))
    if not m:
        return expr
    agg, col = m.groups()
    if agg.startswith("week"):
        return f"{col} at the end of the run's week {agg[4:]}"
    return {"end": f"{col} in the last week", "mean": f"mean weekly {col}",
            "max": f"largest weekly {col}", "min": f"smallest weekly {col}",
            "sum": f"{col} summed over weeks"}[agg]


def parse_target(text: str, city: str | None = None, option: str = "--target") -> Target:
    """``mean_wait_language<8`` -> Target; ``PlanError`` with a one-line reason otherwise."""
    m = _TARGET_RE.match(text or "")
    if not m:
        raise PlanError(f"{option} {text!r}: expected OUTCOME OP VALUE with OP one of <, <=, "
                        ">, >=, e.g. \"mean_wait_language<8\"")
    lhs, op, rhs = m.group("lhs").replace(" ", ""), m.group("op"), m.group("rhs")
    try:
        threshold = float(rhs.replace("_", ""))
    except ValueError:
        raise PlanError(f"{option} {text!r}: {rhs!r} is not a number") from None
    if not math.isfinite(threshold):
        raise PlanError(f"{option} {text!r}: the value must be a finite number")
    known = [*HEADLINE, *EXTRA]
    if not is_custom(lhs) and lhs not in known:
        import difflib

        close = difflib.get_close_matches(lhs, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise PlanError(f"{option} {text!r}: unknown outcome {lhs!r}{hint} (outcomes: "
                        "docs/analysis.md; or agg(column) with agg one of mean, max, min, sum, "
                        "end, weekN and a weekly column)")
    if city and lhs in SYSTEM_ONLY:
        raise PlanError(f"{option} {text!r}: {lhs} exists for system totals only; drop --city")
    return Target(lhs, op, threshold, text.strip())


def parse_range(text: str) -> tuple[float, float]:
    parts = (text or "").split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise PlanError(f"--range {text!r}: expected LOW:HIGH, e.g. 0.5:4") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise PlanError(f"--range {text!r}: LOW must be below HIGH, both finite numbers")
    return lo, hi


def split_path(path: str) -> list[str]:
    """``a.b[c].d`` -> ``['a', 'b', 'c', 'd']`` (the syntax of ``--set``)."""
    path = re.sub(r"\[([^\]]+)\]", r".\1", path.strip())
    parts = [p.strip().strip('"').strip("'") for p in re.findall(r'"[^"]*"|[^.]+', path)]
    if not parts or any(p == "" for p in parts) or path.startswith(".") or path.endswith("."):
        raise PlanError(f"--lever {path!r}: not a parameter path (e.g. "
                        "funding.grant_factor.federal)")
    return parts


def lever_value(data: dict, lever: str, allow_bool: bool = False) -> Any:
    """The current value of the parameter ``lever`` in dumped scenario data, or PlanError
    (``allow_bool``: a policy switch, true or false, is a lever too)."""
    import difflib

    node: Any = data
    parts = split_path(lever)
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the scenario"
        if isinstance(node, list):
            names = [str(item.get("name")) for item in node if isinstance(item, dict)]
            if part not in names:
                close = difflib.get_close_matches(part, names, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise PlanError(f"--lever {lever}: {where} has no item named {part!r}{hint}")
            node = node[names.index(part)]
        elif isinstance(node, dict):
            if part not in node and RENAMED_KEYS.get(part) in node:
                part = RENAMED_KEYS[part]  # an old key names the new one
            if part not in node:
                close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise PlanError(f"--lever {lever}: {part!r} is not a parameter of {where}{hint}")
            node = node[part]
        else:
            raise PlanError(f"--lever {lever}: {where} is a value, not a table")
    if isinstance(node, bool) and allow_bool:
        return node
    if isinstance(node, bool) or not isinstance(node, int | float):
        kind = "a table" if isinstance(node, dict | list) else type(node).__name__
        raise PlanError(f"--lever {lever}: not a numeric parameter (it is {kind}); a lever "
                        "must be a number")
    return node
