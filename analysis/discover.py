"""Scenario discovery: which combinations of uncertain inputs make an outcome cross a threshold
(``reception discover``).

The runs of a sweep over uncertain inputs (a Latin hypercube or Sobol design) are the plausible
futures; the *cases of interest* are those where the outcome expression holds
(``unsheltered_person_weeks>2000``). PRIM (the Patient Rule Induction Method, Friedman and
Fisher 1999, as in EMA Workbench's ``ema_workbench.analysis.prim``) peels a box of input
ranges in which the cases are dense; CART (``ema_workbench.analysis.cart``, scikit-learn's
tree) splits the inputs into leaves. A box is judged by

* coverage: the share of all cases of interest that fall inside it,
* density: the share of runs inside it that are cases of interest (the chance of breakdown
  in that region),
* mass: the share of runs inside it,

against the base rate (the share of cases among all runs). The boxes come back as a table, a
peeling trajectory (coverage against density as PRIM restricts more), a figure of that
trade-off, and files to act on: a scenario at the box's centre and an experiment file that
samples inside the box.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.targets import PlanError, Target

MIN_COVERAGE = 0.5  # the box chosen on a trajectory: the densest with at least this coverage
MASS_MIN = 0.05  # PRIM and CART: no box (leaf) holds fewer than this share of the runs
PEEL_ALPHA = 0.05  # PRIM: share of the remaining runs peeled off at each step
MAX_BOXES = 3
MAX_QP = 0.05  # PRIM: restrictions with a quasi-p-value at least this are dropped


def _ema():  # noqa: ANN202 - the two ema_workbench modules
    """ema_workbench's PRIM and CART (imported quietly: its framework warns about optional
    parallel back-ends that scenario discovery does not use)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import cart, prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim, cart


@dataclass
class Box:
    """One box: limits on the restricted inputs and its statistics."""

    method: str  # "prim" or "cart"
    index: int  # 1, 2, ... in the order found (CART: by density)
    limits: dict[str, tuple[float, float]]  # restricted inputs only
    coverage: float
    density: float
    mass: float
    n: int  # runs inside
    k: int  # cases of interest inside
    qp: dict[str, float] = field(default_factory=dict)  # PRIM: quasi-p-value per restriction
    trajectory: pd.DataFrame | None = None  # PRIM: coverage, density, mass, res_dim per step
    chosen: int | None = None  # PRIM: the step chosen on the trajectory

    def contains(self, x: pd.DataFrame) -> np.ndarray:
        inside = np.ones(len(x), bool)
        for name, (lo, hi) in self.limits.items():
            inside &= (x[name].to_numpy() >= lo) & (x[name].to_numpy() <= hi)
        return inside


@dataclass
class Discovery:
    target: Target
    factors: list[str]
    ranges: dict[str, tuple[float, float]]  # the inputs' span in the sweep
    integer: dict[str, bool]
    n: int
    k: int
    threshold: float  # minimum density of a reported box
    prim: list[Box]
    cart: list[Box]
    first_trajectory: pd.DataFrame | None  # PRIM's first trajectory, even when not accepted
    first_chosen: int | None = None
    first_peeled: int = 0  # steps of peeling and pasting; later steps drop restrictions
    first_selected: int = 0  # the step chosen before restrictions were dropped

    @property
    def base_rate(self) -> float:
        return self.k / self.n if self.n else math.nan


def default_threshold(base_rate: float) -> float:
    """A box is worth reporting when its density is at least twice the base rate, or halfway
    from the base rate to certainty when twice is out of reach."""
    return min(2 * base_rate, (1 + base_rate) / 2)


def _restricted(lims: pd.DataFrame, ranges: dict[str, tuple[float, float]],
                integer: dict[str, bool]) -> dict[str, tuple[float, float]]:
    """The limits that restrict an input (whole-number inputs: rounded inward)."""
    out = {}
    for name, (lo, hi) in ranges.items():
        a, b = float(lims.loc[0, name]), float(lims.loc[1, name])
        if integer[name]:
            a, b = float(math.ceil(a - 1e-9)), float(math.floor(b + 1e-9))
        if a > lo or b < hi:
            out[name] = (a, b)
    return out


def _trajectory(box) -> pd.DataFrame:  # noqa: ANN001 - an ema_workbench PrimBox
    traj = box.peeling_trajectory[["coverage", "density", "mass", "res_dim", "n", "k"]]
    return traj.reset_index(drop=True).astype({"res_dim": int, "n": int, "k": int})


def _qp(box, i: int) -> dict[str, float]:  # noqa: ANN001 - an ema_workbench PrimBox
    """Quasi-p-value of each restriction of step ``i`` (the smaller of its two sides)."""
    out = {}
    for name, sides in (box.qp[i] or {}).items():
        vals = [float(v) for v in sides if v is not None and v >= 0]
        if vals:
            out[name] = min(vals)
    return out


def _choose(traj: pd.DataFrame, min_coverage: float) -> int:
    """The densest step covering at least ``min_coverage`` of the cases the search started
    with (ties: the larger coverage)."""
    ok = traj[traj["coverage"] >= min_coverage * traj["coverage"].iloc[0] - 1e-12]
    best = ok.sort_values(["density", "coverage"], ascending=False, kind="stable")
    return int(best.index[0])


def discover(x: pd.DataFrame, y: np.ndarray, target: Target, threshold: float | None = None,
             min_coverage: float = MIN_COVERAGE, mass_min: float = MASS_MIN,
             peel_alpha: float = PEEL_ALPHA, max_boxes: int = MAX_BOXES,
             max_qp: float = MAX_QP) -> Discovery:
    """PRIM boxes and CART leaves of ``y`` (bool per run) over the inputs ``x`` (one column each).

    PRIM: boxes are found one after another (the runs of a box found are set aside before the
    next search, EMA's default), each chosen on its peeling trajectory by ``min_coverage``;
    the search stops at ``max_boxes`` or at the first box whose density is below ``threshold``
    (default ``default_threshold(base rate)``).
    """
    prim, cart = _ema()
    y = np.asarray(y, bool)
    if len(x) != len(y) or len(x) == 0:
        raise PlanError("no runs to analyse")
    factors = list(x.columns)
    x = x.reset_index(drop=True).copy()
    integer = {}
    for f in factors:
        col = pd.to_numeric(x[f], errors="coerce")
        if col.isna().any():
            raise PlanError(f"input {f}: not numeric in every run")
        whole = bool(np.all(np.mod(col, 1) == 0))
        integer[f] = whole
        # every input as a real number: EMA's pasting writes midpoints into integer columns,
        # which pandas 3 refuses; whole-number limits are rounded inward when shown
        x[f] = col.astype("float64")
    ranges = {f: (float(x[f].min()), float(x[f].max())) for f in factors}
    varied = [f for f in factors if ranges[f][0] < ranges[f][1]]
    n, k = len(y), int(y.sum())
    base = k / n
    threshold = default_threshold(base) if threshold is None else threshold
    result = Discovery(target, factors, ranges, integer, n, k, threshold, [], [], None)
    if k == 0 or k == n or not varied:
        return result
    xv = x[varied]
    # y is 0/1 and EMA's cases are y >= threshold, so any threshold in (0, 1] picks them; a
    # small one keeps every box PRIM finds, and the density of the chosen step decides below
    with warnings.catch_warnings():  # pandas deprecations inside ema_workbench
        warnings.simplefilter("ignore")
        _prim_boxes(prim.Prim(xv, y.astype(float), threshold=1e-9, peel_alpha=peel_alpha,
                              mass_min=mass_min), result, ranges, integer, varied, k,
                    min_coverage, max_qp, max_boxes)
        tree = cart.CART(xv, y, mass_min=mass_min)
        tree.build_tree()
        lims_frames = tree.boxes
    leaves = []
    for lims_frame in lims_frames:
        lims = _restricted(lims_frame, {f: ranges[f] for f in varied}, integer)
        bx = Box("cart", 0, lims, 0.0, 0.0, 0.0, 0, 0)
        inside = bx.contains(x)
        ni, ki = int(inside.sum()), int(y[inside].sum())
        if ni == 0:
            continue
        bx.n, bx.k, bx.mass = ni, ki, ni / n
        bx.coverage, bx.density = ki / k, ki / ni
        leaves.append(bx)
    leaves.sort(key=lambda b: (-b.density, -b.coverage))
    for i, bx in enumerate([b for b in leaves if b.density >= threshold][:max_boxes]):
        bx.index = i + 1
        result.cart.append(bx)
    return result


def _prim_boxes(p, result: Discovery, ranges: dict[str, tuple[float, float]],  # noqa: ANN001
                integer: dict[str, bool], varied: list[str], k: int, min_coverage: float,
                max_qp: float, max_boxes: int) -> None:
    """PRIM's boxes, one after another, into ``result`` (see ``discover``)."""
    threshold = result.threshold
    for i in range(max_boxes):
        box = p.find_box()
        if box is None:
            return
        chosen = _choose(_trajectory(box), min_coverage)
        peeled, selected = len(box.peeling_trajectory), chosen
        box.select(chosen)
        # restrictions PRIM cannot tell from chance go (Bryant and Lempert 2010): each drop
        # adds a box to the trajectory and becomes the chosen one
        for name, pvalue in _qp(box, chosen).items():
            if pvalue >= max_qp:
                box.drop_restriction(name)
                chosen = len(box.peeling_trajectory) - 1
        traj = _trajectory(box)
        if i == 0:
            result.first_trajectory, result.first_chosen = traj, chosen
            result.first_peeled, result.first_selected = peeled, selected
        row = traj.loc[chosen]
        if row["density"] < threshold or row["res_dim"] == 0:
            return
        lims = _restricted(box.box_lims[chosen], {f: ranges[f] for f in varied}, integer)
        qp = {name: v for name, v in _qp(box, chosen).items() if name in lims}
        result.prim.append(Box("prim", i + 1, lims, float(row["coverage"]),
                               float(row["density"]), float(row["mass"]), int(row["n"]),
                               int(row["k"]), qp, traj, chosen))


# ---------------------------------------------------------------------------- from results
def cases(runs: pd.DataFrame, target: Target) -> np.ndarray:
    """Which runs are cases of interest (the target expression holds)."""
    if target.outcome not in runs.columns:
        raise PlanError(f"--outcome {target.text!r}: the results have no outcome "
                        f"{target.outcome!r}")
    values = runs[target.outcome].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise PlanError(f"--outcome {target.text!r}: {target.outcome} has no value in any run")
    return target.meets(values)


# ---------------------------------------------------------------------------- output
def _num(v: float, integer: bool = False) -> str:
    if integer:
        return f"{int(round(v)):,}"
    return f"{v:,.4g}" if abs(v) >= 1000 else f"{v:.4g}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def boxes_table(d: Discovery) -> pd.DataFrame:
    """One row per box and restricted input: limits, the input's span and the quasi-p-value."""
    rows = []
    for bx in [*d.prim, *d.cart]:
        for name, (lo, hi) in bx.limits.items():
            rows.append({"method": bx.method, "box": bx.index, "input": name, "low": lo,
                         "high": hi, "span_low": d.ranges[name][0],
                         "span_high": d.ranges[name][1], "qp": bx.qp.get(name, math.nan),
                         "coverage": bx.coverage, "density": bx.density, "mass": bx.mass,
                         "runs": bx.n, "cases": bx.k})
    return pd.DataFrame(rows)


def report(d: Discovery, where: str = "") -> str:
    """The boxes as text, for the terminal."""
    lines = [f"Outcome: {d.target.text}{where}: {d.k} of {d.n} runs ({_pct(d.base_rate)}, the "
             "base rate)",
             f"Inputs:  {len(d.factors)} ({', '.join(d.factors)})",
             f"Boxes reported when their density is at least {d.threshold:.2f}"]
    if d.k == 0 or d.k == d.n:
        lines.append("No box: " + ("no run" if d.k == 0 else "every run") + " meets the outcome "
                     "expression, so no region of the inputs separates them.")
        return "\n".join(lines)
    for label, boxes in (("PRIM", d.prim), ("CART", d.cart)):
        lines.append("")
        if not boxes:
            lines.append(f"{label}: no box reaches density {d.threshold:.2f}")
            continue
        for bx in boxes:
            step = f", step {bx.chosen} of {len(bx.trajectory) - 1}" if bx.trajectory is not \
                None else ""
            lines.append(f"{label} box {bx.index}: coverage {_pct(bx.coverage)}, density "
                         f"{_pct(bx.density)} ({bx.density / d.base_rate:.1f}x the base rate), "
                         f"mass {_pct(bx.mass)} ({bx.k} of {bx.n} runs){step}")
            for name, (lo, hi) in bx.limits.items():
                s_lo, s_hi = d.ranges[name]
                qp = f"   qp {bx.qp[name]:.2g}" if name in bx.qp else ""
                lines.append(f"    {_num(lo, d.integer[name]):>10} <= {name} <= "
                             f"{_num(hi, d.integer[name])}   (sweep: {_num(s_lo)}..{_num(s_hi)})"
                             f"{qp}")
    if d.first_trajectory is not None:
        traj = d.first_trajectory
        lines += ["", "PRIM peeling trajectory of box 1 (every step: coverage, density, mass, "
                  "restricted inputs):"]
        show = traj.assign(coverage=traj["coverage"].map(_pct), density=traj["density"].map(_pct),
                           mass=traj["mass"].map(_pct))
        step = max(1, len(show) // 12)
        picked = sorted({*range(0, len(show), step), len(show) - 1, d.first_chosen or 0})
        lines.append(show.loc[picked, ["coverage", "density", "mass", "res_dim"]].to_string())
    return "\n".join(lines)


def tradeoff_figure(d: Discovery):  # noqa: ANN201 - a matplotlib Figure
    """Coverage against density along PRIM's first peeling trajectory, coloured by the number
    of restricted inputs, the chosen box and the base rate marked."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.6), layout="constrained")
    ax = fig.subplots()
    traj = d.first_trajectory
    if traj is None:
        ax.text(0.5, 0.5, "no trajectory (no run or every run is a case)", ha="center")
        return fig
    top = int(traj["res_dim"].max())
    cmap = mpl.colormaps["viridis"].resampled(top + 1)
    pts = ax.scatter(traj["coverage"], traj["density"], c=traj["res_dim"], cmap=cmap,
                     vmin=-0.5, vmax=top + 0.5, s=22, zorder=3)
    peel = traj.iloc[:d.first_peeled]
    ax.plot(peel["coverage"], peel["density"], color="#999999", lw=0.8, zorder=2)
    if d.first_peeled < len(traj):
        drops = traj.iloc[[d.first_selected, *range(d.first_peeled, len(traj))]]
        ax.plot(drops["coverage"], drops["density"], color="#555555", lw=1, ls="--",
                zorder=2, label="dropping restrictions PRIM cannot tell from chance")
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.axhline(d.base_rate, color="#d62728", ls=":", lw=1)
    ax.text(0.02, d.base_rate, f" base rate {_pct(d.base_rate)}", color="#d62728", va="bottom",
            fontsize=8)
    ax.axhline(d.threshold, color="#7f7f7f", ls="--", lw=0.8)
    ax.text(0.02, d.threshold, f" boxes reported from density {_pct(d.threshold)}",
            color="#555555", va="bottom", fontsize=8)
    if d.first_chosen is not None:
        row = traj.loc[d.first_chosen]
        ax.scatter([row["coverage"]], [row["density"]], s=160, facecolors="none",
                   edgecolors="black", lw=1.5, zorder=4)
        ax.annotate(f"box 1: coverage {_pct(row['coverage'])}, density {_pct(row['density'])}",
                    (row["coverage"], row["density"]), textcoords="offset points",
                    xytext=(12, 6), ha="left", fontsize=8)
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("coverage (share of all cases inside the box)")
    ax.set_ylabel("density (share of runs inside that are cases)")
    ax.set_title(f"PRIM peeling trajectory: {d.target.text}", fontsize=10)
    bar = fig.colorbar(pts, ax=ax, ticks=range(top + 1))
    bar.set_label("restricted inputs")
    return fig
