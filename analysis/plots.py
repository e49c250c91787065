"""Figures (matplotlib, no pyplot state: each function returns a ``Figure``).

Figures are made without ``pyplot`` and rendered by the Agg (PNG) and SVG canvases, so no
backend is set globally and nothing needs a display.

Every figure can be written as PNG and SVG (``save``) or embedded in a report
(``png_base64``, ``svg_text``). Bands and error bars are 95% t-intervals over replicates.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis.compare import pareto_front

MAX_GROUPS = 8
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#17becf", "#7f7f7f", "#bcbd22"]


def _figure(nplots: int, ncols: int = 3, width: float = 4.2, height: float = 3.0
            ) -> tuple[Figure, list]:
    ncols = max(1, min(ncols, nplots))
    nrows = int(np.ceil(nplots / ncols))
    fig = Figure(figsize=(width * ncols, height * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[nplots:]:
        ax.set_visible(False)
    return fig, axes[:nplots]


def band(frame: pd.DataFrame, x: str, y: str, level: float = 0.95) -> pd.DataFrame:
    """Mean of ``y`` and its t-interval over rows sharing ``x`` (replicates)."""
    g = frame.groupby(x, sort=True)[y]
    mean, sd, n = g.mean(), g.std(ddof=1), g.count()
    t = pd.Series(stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), index=n.index)
    half = (t * sd / np.sqrt(n)).where(n > 1)
    return pd.DataFrame({"mean": mean, "low": mean - half, "high": mean + half}).reset_index()


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def timeseries(weekly: pd.DataFrame, columns: Sequence[str], group: str = "label",
               groups: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """One panel per column; a line per group (mean over replicates) with its 95% band."""
    columns = [c for c in columns if c in weekly.columns]
    groups = list(groups) if groups is not None else list(dict.fromkeys(weekly[group]))
    groups = groups[:MAX_GROUPS]
    fig, axes = _figure(len(columns))
    for ax, col in zip(axes, columns, strict=True):
        _band_panel(ax, weekly, col, group, groups, _pretty(col), lw=1.4)
    if axes:
        _legend(fig, axes[0])
    if title:
        fig.suptitle(title)
    return fig


def _band_panel(ax, frame: pd.DataFrame, column: str, group: str, groups: Sequence[str],
                title: str, lw: float) -> None:
    """One panel: a line per group (mean over replicates) with its 95% band."""
    for i, g in enumerate(groups):
        sub = frame[frame[group] == g]
        if sub.empty:
            continue
        b = band(sub, "week", column)
        color = COLORS[i % len(COLORS)]
        ax.plot(b["week"], b["mean"], color=color, lw=lw, label=str(g))
        ax.fill_between(b["week"], b["low"], b["high"], color=color, alpha=0.2, lw=0)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("week")
    ax.grid(alpha=0.3)


def city_multiples(city_weekly: pd.DataFrame, column: str, group: str = "label",
                   groups: Sequence[str] | None = None, max_cities: int = 12) -> Figure:
    """Small multiples: one panel per city, a line per group with its 95% band."""
    cities = list(dict.fromkeys(city_weekly["municipality"]))[:max_cities]
    groups = list(groups) if groups is not None else list(dict.fromkeys(city_weekly[group]))
    groups = groups[:MAX_GROUPS]
    fig, axes = _figure(len(cities), ncols=4, width=3.4, height=2.6)
    for ax, city in zip(axes, cities, strict=True):
        _band_panel(ax, city_weekly[city_weekly["municipality"] == city], column, group, groups,
                    str(city), lw=1.2)
    if axes:
        _legend(fig, axes[0])
    fig.suptitle(f"{_pretty(column)} by city")
    return fig


def dose_response(table: pd.DataFrame, lever: str, outcome: str, series: str | None = None,
                  threshold: float | None = None, answer: float | None = None,
                  probability: float | None = None, answers: dict | None = None) -> Figure:
    """Outcome against a lever's level (mean and 95% interval per level).

    ``table``: columns level, mean, ci_low, ci_high (and ``series`` to draw one line per value
    of it). With ``share``/``share_low``/``share_high`` columns a second panel shows the share
    of replicates meeting the target against ``probability``. ``threshold`` draws the target
    line; ``answer`` (or ``answers``: series value -> level) marks the level that meets it.
    """
    has_share = "share" in table.columns and table["share"].notna().any()
    fig, axes = _figure(2 if has_share else 1, ncols=2, width=5.0, height=3.4)
    ax = axes[0]
    keys = [None] if series is None else list(dict.fromkeys(table[series]))
    for i, key in enumerate(keys[:MAX_GROUPS]):
        sub = table if key is None else table[table[series] == key]
        sub = sub.sort_values("level")
        color = COLORS[i % len(COLORS)]
        label = None if key is None else (str(key) if series == "series"
                                          else f"{_pretty(series)} = {key}")
        err = np.vstack([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]])
        ax.errorbar(sub["level"], sub["mean"], yerr=np.nan_to_num(err), color=color,
                    marker="o", ms=4, lw=1.3, capsize=3, label=label)
        mark = answer if key is None else (answers or {}).get(key)
        if mark is not None and np.isfinite(mark):
            ax.axvline(mark, color=color, ls=":", lw=1.2)
            at = sub.loc[(sub["level"] - mark).abs().idxmin()]
            ax.plot([mark], [at["mean"]], marker="*", ms=14, color=color, zorder=5)
            ax.annotate(f"{mark:.3g}", (mark, at["mean"]), textcoords="offset points",
                        xytext=(6, 6), fontsize=9, color=color)
    if threshold is not None:
        ax.axhline(threshold, color="black", ls="--", lw=1, label=f"target {threshold:g}")
    ax.set_xlabel(_pretty(lever))
    ax.set_ylabel(_pretty(outcome))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    if has_share:
        ax2 = axes[1]
        sub = table.sort_values("level")
        err = np.vstack([sub["share"] - sub["share_low"], sub["share_high"] - sub["share"]])
        ax2.errorbar(sub["level"], sub["share"], yerr=np.nan_to_num(err), marker="o", ms=4,
                     lw=1.3, capsize=3, color=COLORS[0])
        if probability is not None:
            ax2.axhline(probability, color="black", ls="--", lw=1,
                        label=f"probability {probability:g}")
            ax2.legend(fontsize=8)
        if answer is not None and np.isfinite(answer):
            ax2.axvline(answer, color=COLORS[0], ls=":", lw=1.2)
        ax2.set_ylim(-0.03, 1.03)
        ax2.set_xlabel(_pretty(lever))
        ax2.set_ylabel("share of replicates meeting the target")
        ax2.grid(alpha=0.3)
    fig.suptitle(f"{_pretty(outcome)} against {_pretty(lever)}")
    return fig


def frontier(table: pd.DataFrame, cost: str, outcome: str, higher_is_better: bool = True,
             label: str = "label") -> Figure:
    """Cost against outcome per design point, 95% intervals both ways; the Pareto-efficient
    points (no other point costs less and does better) joined by a line.

    ``table``: one row per point with ``label``, ``<cost>_mean/_low/_high`` and the same for
    ``outcome``."""
    fig, (ax,) = _figure(1, width=6.5, height=4.6)
    cx, cl, ch = (table[f"{cost}_{k}"].to_numpy(float) for k in ("mean", "low", "high"))
    oy, ol, oh = (table[f"{outcome}_{k}"].to_numpy(float) for k in ("mean", "low", "high"))
    eff = pareto_front(cx, oy, higher_is_better)
    xerr = np.nan_to_num(np.vstack([cx - cl, ch - cx]))
    yerr = np.nan_to_num(np.vstack([oy - ol, oh - oy]))
    ax.errorbar(cx[~eff], oy[~eff], xerr=xerr[:, ~eff], yerr=yerr[:, ~eff], fmt="o",
                color="#999999", ms=5, capsize=2, lw=0.8, label="dominated")
    ax.errorbar(cx[eff], oy[eff], xerr=xerr[:, eff], yerr=yerr[:, eff], fmt="o",
                color=COLORS[1], ms=6, capsize=2, lw=0.8, label="Pareto-efficient")
    order = np.argsort(cx[eff])
    ax.plot(cx[eff][order], oy[eff][order], color=COLORS[1], lw=1.5)
    # name every point when there are few, else the efficient ones; long labels by point index
    named = np.ones(len(table), bool) if len(table) <= 8 else eff
    points = table["point"] if "point" in table.columns else pd.Series(range(len(table)))
    for x, y, name, p, show in zip(cx, oy, table[label], points, named, strict=True):
        if show and np.isfinite(x) and np.isfinite(y):
            text = str(name) if len(str(name)) <= 24 else f"p{p}"
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel(_pretty(cost))
    ax.set_ylabel(_pretty(outcome) + (" (higher is better)" if higher_is_better
                                      else " (lower is better)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle("Cost-effectiveness frontier")
    return fig


def tornado(effects: pd.DataFrame, outcome: str, max_bars: int = 15) -> Figure:
    """Bars from the outcome at each factor's low level to its high level, widest on top,
    around the baseline value."""
    eff = effects.head(max_bars).iloc[::-1]
    fig, (ax,) = _figure(1, width=7.0, height=0.45 * max(3, len(eff)) + 1.2)
    base = float(eff["baseline"].iloc[0]) if len(eff) else 0.0
    y = np.arange(len(eff))
    for i, (_, row) in enumerate(eff.iterrows()):
        lo, hi = float(row["at_low"]), float(row["at_high"])
        ax.barh(i, lo - base, left=base, height=0.6, color=COLORS[0], alpha=0.8,
                label="factor at low level" if i == 0 else None)
        ax.barh(i, hi - base, left=base, height=0.6, color=COLORS[1], alpha=0.8,
                label="factor at high level" if i == 0 else None)
    ax.axvline(base, color="black", lw=1)
    ax.set_ylim(-0.7, max(len(eff), 1) - 0.3)
    ax.margins(x=0.15)
    ax.set_yticks(y, [f"{_pretty(str(r['factor']).split('.')[-1])} ({_num(r['low'])}-"
                      f"{_num(r['high'])})" for _, r in eff.iterrows()], fontsize=8)
    ax.set_xlabel(_pretty(outcome))
    ax.grid(alpha=0.3, axis="x")
    if len(eff):
        ax.legend(fontsize=8)
        ax.set_title(f"Tornado ({eff['method'].iloc[0]})", fontsize=10)
    return fig


def sobol_bars(indices: pd.DataFrame, outcome: str) -> Figure:
    """First-order (S1) and total (ST) Sobol indices with their confidence intervals."""
    sub = indices[indices["outcome"] == outcome] if "outcome" in indices.columns else indices
    fig, (ax,) = _figure(1, width=7.0, height=3.6)
    x = np.arange(len(sub))
    w = 0.38
    ax.bar(x - w / 2, sub["S1"], w, yerr=sub["S1_conf"], capsize=3, color=COLORS[0],
           label="S1 (first order)")
    ax.bar(x + w / 2, sub["ST"], w, yerr=sub["ST_conf"], capsize=3, color=COLORS[1],
           label="ST (total)")
    ax.set_xticks(x, [str(p).split(".")[-1] for p in sub["parameter"]], rotation=20,
                  fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("Sobol index")
    ax.set_title(f"Sobol indices: {_pretty(outcome)}", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return fig


def _num(x: object) -> str:
    try:
        return f"{float(x):.3g}"
    except (TypeError, ValueError):
        return str(x)


def _legend(fig: Figure, ax) -> None:
    """One legend for the figure: below it for short labels, at the right for long ones."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if max(len(lab) for lab in labels) > 24:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(handles)),
                   fontsize=8, frameon=False)


# ---------------------------------------------------------------------------- output
def save(fig: Figure, stem: Path | str, formats: Sequence[str] = ("png", "svg"),
         dpi: int = 110) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; return the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "reception"}):
            fig.savefig(path, format=fmt, dpi=dpi)
        out.append(path)
    return out


def png_base64(fig: Figure, dpi: int = 100) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def svg_text(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog or doctype)."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "reception"}):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]
