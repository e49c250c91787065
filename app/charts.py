"""Small SVG charts: line charts, stacked areas and a bubble map, as strings.

Matplotlib needs 60-240 ms to draw one figure on a 2-core machine, so a page of seven
would redraw about once a second; these charts draw in about a millisecond, need no
JavaScript or CDN, and keep their data in the page (each line is a ``<polyline>`` with
``data-label``), which the browser test reads. A ``Chart`` keeps its series, so the
unit tests check the numbers drawn, not pixels.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# Drawn in a 500-unit-wide box that the page never shows narrower than ~470 CSS px
# (app.components' grid), so FONT units are at least 0.94 px: 15 units >= 14 px on a
# 1366x768 projector. ``large`` text multiplies every size by LARGE.
WIDTH, HEIGHT = 500, 330
MARGIN = {"left": 72, "right": 14, "top": 60, "bottom": 44}
FONT = "font-family='sans-serif'"
FONT_SIZE = 15.0
LARGE = 1.3
CHAR_W = 0.56  # width of an average sans-serif character, in font sizes


def thousands(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:,.2g}"


def percent(v: float) -> str:
    return f"{v:.0f}%"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9)
    end = math.ceil(hi / step - 1e-9)
    return [round(k * step, 10) for k in range(start, end + 1)]


def esc(text: str) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Series:
    """One line (or one layer of a stacked chart): x, y and how it looks."""

    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str = "#1f77b4"
    width: float = 2.0
    dash: str | None = None
    low: np.ndarray | None = None  # a band from low to high (replicate runs) behind the line
    high: np.ndarray | None = None


@dataclass
class Chart:
    """A line chart (or stacked areas) with a title, y axis label and legend."""

    title: str
    series: list[Series] = field(default_factory=list)
    y_label: str = ""
    y_format: Callable[[float], str] = thousands
    y_min: float | None = 0.0
    y_max: float | None = None
    stacked: bool = False
    x_label: str = "week"
    empty_text: str = "Press Step to start"
    name: str = "chart"
    marks: list[tuple[float, str]] = field(default_factory=list)  # (x, what happened)

    def layers(self) -> list[np.ndarray]:
        """The drawn tops of the series: cumulative sums when stacked."""
        tops = []
        total = None
        for s in self.series:
            y = np.nan_to_num(np.asarray(s.y, float)) if self.stacked else np.asarray(s.y, float)
            total = y if total is None or not self.stacked else total + y
            tops.append(total)
        return tops

    def svg(self, large: bool = False) -> str:
        """The chart as SVG text; ``large`` draws every text LARGE times bigger."""
        f = FONT_SIZE * (LARGE if large else 1.0)
        legend_rows = self._legend_rows(f)
        top = MARGIN["top"] + (len(legend_rows) - 1) * 1.2 * f + (f * 0.4 if large else 0)
        out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' "
               f"width='100%' role='img' aria-label='{esc(self.title)}' "
               f"data-chart='{esc(self.name)}' {FONT} font-size='{f:g}'>",
               f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
               f"<text x='{WIDTH / 2}' y='{1.2 * f:.1f}' text-anchor='middle' "
               f"font-size='{1.1 * f:.1f}' font-weight='bold'>{esc(self.title)}</text>"]
        xs = [np.asarray(s.x, float) for s in self.series]
        if not self.series or all(len(x) == 0 for x in xs):
            out.append(f"<text x='{WIDTH / 2}' y='{HEIGHT / 2}' text-anchor='middle' "
                       f"fill='grey'>{esc(self.empty_text)}</text></svg>")
            return "".join(out)
        tops = self.layers()
        bands = [b for s in self.series for b in (s.low, s.high) if b is not None]
        finite = np.concatenate([t[np.isfinite(t)] for t in tops + [np.asarray(b, float)
                                                                  for b in bands]]
                                + [np.zeros(0)])
        lo = self.y_min if self.y_min is not None else (finite.min() if finite.size else 0.0)
        hi = self.y_max if self.y_max is not None else (finite.max() if finite.size else 1.0)
        if self.y_max is None:
            hi += 0.06 * (hi - lo)  # headroom: a line at the maximum stays off the frame
        if hi <= lo:
            hi = lo + 1.0
        ticks = nice_ticks(lo, hi, 4 if large else 5)
        lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
        x_all = np.concatenate(xs)
        x_lo, x_hi = float(x_all.min()), float(x_all.max())
        if x_hi <= x_lo:
            x_hi = x_lo + 1.0
        left = MARGIN["left"] + (12 if large else 0)
        pw = WIDTH - left - MARGIN["right"]
        ph = HEIGHT - top - MARGIN["bottom"] - (8 if large else 0)

        def px(x):
            return left + (np.asarray(x, float) - x_lo) / (x_hi - x_lo) * pw

        def py(y):
            return top + ph - (np.asarray(y, float) - lo) / (hi - lo) * ph

        # axes, grid and tick labels
        for t in ticks:
            y = float(py(t))
            out.append(f"<line x1='{left}' x2='{left + pw}' y1='{y:.1f}' y2='{y:.1f}' "
                       f"stroke='#e3e3e3'/>")
            out.append(f"<text x='{left - 6}' y='{y + f / 3:.1f}' text-anchor='end'>"
                       f"{esc(self.y_format(t))}</text>")
        for t in nice_ticks(x_lo, x_hi, 4 if large else 5):
            if x_lo - 1e-9 <= t <= x_hi + 1e-9 and float(t).is_integer():
                x = float(px(t))
                out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top + ph}' "
                           f"y2='{top + ph + 4}' stroke='#555'/>")
                out.append(f"<text x='{x:.1f}' y='{top + ph + 4 + f:.1f}' "
                           f"text-anchor='middle'>{int(t)}</text>")
        out.append(f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' "
                   f"stroke='#888'/>")
        out.append(f"<text x='{left + pw / 2}' y='{HEIGHT - 5}' text-anchor='middle' "
                   f"fill='#444'>{esc(self.x_label)}</text>")
        out.append(f"<text transform='translate({0.9 * f:.1f} {top + ph / 2}) rotate(-90)' "
                   f"text-anchor='middle' fill='#444'>{esc(self.y_label)}</text>")
        # timeline events: a dotted line and a number, explained in the caption below
        for k, (x, label) in enumerate(self.marks):
            if not x_lo <= x <= x_hi:
                continue
            xm = float(px(x))
            out.append(f"<g data-mark='{esc(label)}'><title>{esc(label)}</title>"
                       f"<line x1='{xm:.1f}' x2='{xm:.1f}' y1='{top}' y2='{top + ph}' "
                       f"stroke='#6a3d9a' stroke-width='1.5' stroke-dasharray='2 3'/>"
                       f"<text x='{xm + 3:.1f}' y='{top + f:.1f}' fill='#6a3d9a' "
                       f"font-weight='bold'>{k + 1}</text></g>")
        # bands, then data
        for s, x in zip(self.series, xs, strict=True):
            if s.low is not None and s.high is not None:
                low, high = np.asarray(s.low, float), np.asarray(s.high, float)
                ok = np.isfinite(low) & np.isfinite(high)
                if ok.any():
                    up = " ".join(f"{a:.1f},{b:.1f}" for a, b in
                                  zip(px(x[: len(high)][ok]), py(high[ok]), strict=True))
                    down = " ".join(f"{a:.1f},{b:.1f}" for a, b in
                                    zip(px(x[: len(low)][ok])[::-1], py(low[ok])[::-1],
                                        strict=True))
                    out.append(f"<polygon data-band='{esc(s.label)}' points='{up} {down}' "
                               f"fill='{s.colour}' fill-opacity='0.18' stroke='none'/>")
        below = None
        for s, x, t in zip(self.series, xs, tops, strict=True):
            ok = np.isfinite(t)
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x[ok]), py(t[ok]), strict=True))
            if self.stacked and ok.any():
                base = below[ok] if below is not None else np.full(ok.sum(), lo)
                back = " ".join(f"{a:.1f},{b:.1f}" for a, b in
                                zip(px(x[ok])[::-1], py(base)[::-1], strict=True))
                out.append(f"<polygon points='{pts} {back}' fill='{s.colour}' "
                           f"fill-opacity='0.8' stroke='none'/>")
            dash = f" stroke-dasharray='{s.dash}'" if s.dash else ""
            out.append(f"<polyline data-label='{esc(s.label)}' points='{pts}' fill='none' "
                       f"stroke='{s.colour}' stroke-width='{s.width}'{dash}/>")
            below = t
        # legend, in rows under the title
        y = 2.5 * f
        for row in legend_rows:
            x = MARGIN["left"] / 2
            for s, w in row:
                dash = f" stroke-dasharray='{s.dash}'" if s.dash else ""
                out.append(f"<line x1='{x}' x2='{x + 18}' y1='{y - f / 3:.1f}' "
                           f"y2='{y - f / 3:.1f}' stroke='{s.colour}' stroke-width='4'{dash}/>")
                out.append(f"<text x='{x + 22}' y='{y:.1f}'>{esc(s.label)}</text>")
                x += w
            y += 1.2 * f
        out.append("</svg>")
        return "".join(out)

    def _legend_rows(self, f: float) -> list[list[tuple[Series, float]]]:
        """The legend's entries and widths, in rows that fit the width."""
        rows: list[list[tuple[Series, float]]] = [[]]
        x = MARGIN["left"] / 2
        for s in self.series:
            w = 30 + CHAR_W * f * len(s.label)
            if rows[-1] and x + w > WIDTH - 4:
                rows.append([])
                x = MARGIN["left"] / 2
            rows[-1].append((s, w))
            x += w
        return rows


@dataclass
class Bubble:
    """One city on the map; ``tip`` is its tooltip (the numbers)."""

    name: str
    lon: float
    lat: float
    radius: float
    colour: str
    lines: list[str] = field(default_factory=list)
    tip: str = ""


HALO = "stroke='white' stroke-width='4' stroke-opacity='0.85' paint-order='stroke'"
MAX_STRETCH = 3.0  # most the map may stretch one axis against the other to fill its box
MAP_HEIGHT = HEIGHT + 40
LEGEND_W = 150


def _project(bubbles: list[Bubble], box: tuple[float, float, float, float]):
    """Centres in the box: longitude x cos(mean latitude) and latitude, each axis scaled to
    fill the box but stretched at most MAX_STRETCH times the other (a map-like view)."""
    lat0 = math.radians(float(np.mean([b.lat for b in bubbles])))
    xs = np.array([b.lon * max(0.2, math.cos(lat0)) for b in bubbles])
    ys = np.array([b.lat for b in bubbles])
    pad = 8 + max(b.radius for b in bubbles)
    w, h = box[2] - box[0] - 2 * pad, box[3] - box[1] - 2 * pad
    sx = w / max(xs.max() - xs.min(), 1e-9)
    sy = h / max(ys.max() - ys.min(), 1e-9)
    sx, sy = min(sx, MAX_STRETCH * sy), min(sy, MAX_STRETCH * sx)
    cx = (box[0] + box[2]) / 2 + (xs - (xs.max() + xs.min()) / 2) * sx
    cy = (box[1] + box[3]) / 2 - (ys - (ys.max() + ys.min()) / 2) * sy
    return cx, cy


def separate(cx: np.ndarray, cy: np.ndarray, r: np.ndarray,
             box: tuple[float, float, float, float], gap: float = 3.0,
             rounds: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Centres pushed apart until no two circles overlap (each pair moves half the overlap
    along the line between them), kept inside ``box``: no bubble hides another."""
    cx, cy = np.array(cx, float), np.array(cy, float)
    n = len(cx)
    for _ in range(rounds):
        moved = False
        for i in range(n):
            for j in range(i + 1, n):
                dx, dy = cx[j] - cx[i], cy[j] - cy[i]
                d = math.hypot(dx, dy)
                need = r[i] + r[j] + gap
                if d < need:
                    if d < 1e-6:
                        dx, dy, d = 1.0, 0.0, 1.0
                    push = (need - d) / 2 + 0.01
                    cx[i] -= dx / d * push
                    cy[i] -= dy / d * push
                    cx[j] += dx / d * push
                    cy[j] += dy / d * push
                    moved = True
        cx = np.clip(cx, box[0] + r, box[2] - r)
        cy = np.clip(cy, box[1] + r, box[3] - r)
        if not moved:
            break
    return cx, cy


def bubble_map(title: str, bubbles: list[Bubble], legend: list[tuple[str, str]],
               legend_title: str = "", selected: str | None = None,
               large: bool = False) -> str:
    """Bubbles at longitude/latitude (a map-like projection, see ``_project``) pushed apart
    where they would overlap (``separate``), each with a tooltip and ``data-city`` (a
    click selects it), labels where they cover no other label, and a colour legend."""
    f = FONT_SIZE * (LARGE if large else 1.0)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {MAP_HEIGHT}' "
           f"width='100%' role='img' aria-label='{esc(title)}' data-chart='map' {FONT} "
           f"font-size='{f:g}'>",
           f"<rect width='{WIDTH}' height='{MAP_HEIGHT}' fill='#f4f8fb'/>",
           f"<text x='{WIDTH / 2}' y='{1.2 * f:.1f}' text-anchor='middle' "
           f"font-size='{1.1 * f:.1f}' font-weight='bold'>{esc(title)}</text>"]
    if bubbles:
        box = (10, 1.8 * f, WIDTH - LEGEND_W - 6, MAP_HEIGHT - 6)
        shrink = min(1.0, 3.2 / math.sqrt(len(bubbles)))  # many cities: smaller bubbles
        radius = np.array([max(5.0, b.radius * shrink) for b in bubbles])
        cx, cy = _project(bubbles, box)
        cx, cy = separate(cx, cy, radius, box)
        order = np.argsort(-radius)  # big ones first, small on top
        for i in order:
            b = bubbles[i]
            chosen = b.name == selected
            out.append(f"<circle data-city='{esc(b.name)}' cx='{cx[i]:.1f}' cy='{cy[i]:.1f}' "
                       f"r='{radius[i]:.1f}' fill='{b.colour}' fill-opacity='0.85' "
                       f"stroke='{'#000' if chosen else '#333'}' "
                       f"stroke-width='{3 if chosen else 0.8}' style='cursor:pointer'>"
                       f"<title>{esc(b.tip or b.name)}</title></circle>")
        placed: list[tuple[float, float, float, float]] = [
            (cx[i] - radius[i], cy[i] - radius[i], cx[i] + radius[i], cy[i] + radius[i])
            for i in range(len(bubbles))]  # circles, then labels: x0, y0, x1, y1
        lh = 1.15 * f
        for i in order[::-1]:  # small cities first: their labels matter most near big ones
            b = bubbles[i]
            lines = b.lines if (b.name == selected or len(bubbles) <= 6) else []
            w = CHAR_W * f * max(len(t) for t in [b.name, *lines]) + 2
            h = lh * (1 + len(lines))
            r = radius[i]
            candidates = [(cx[i] + r + 2, cy[i] - h / 2), (cx[i] - r - 2 - w, cy[i] - h / 2),
                          (cx[i] - w / 2, cy[i] - r - h - 1), (cx[i] - w / 2, cy[i] + r + 1)]

            def clash(x: float, y: float, w: float = w, h: float = h, me: int = i) -> float:
                inside = 0.0 if (0 <= x and x + w <= WIDTH - LEGEND_W and 1.5 * f <= y
                                 and y + h <= MAP_HEIGHT) else 1e6
                return inside + sum(max(0.0, min(x + w, x1) - max(x, x0))
                                    * max(0.0, min(y + h, y1) - max(y, y0))
                                    for k, (x0, y0, x1, y1) in enumerate(placed) if k != me)

            x, y = min(candidates, key=lambda c: clash(*c))
            if clash(x, y) > 0.25 * w * h and b.name != selected:
                continue  # no free place: the tooltip names it
            placed.append((x, y, x + w, y + h))
            out.append(f"<text x='{x:.1f}' y='{y + 0.85 * f:.1f}' font-weight='bold' "
                       f"pointer-events='none' {HALO}>{esc(b.name)}</text>")
            for k, line in enumerate(lines):
                out.append(f"<text x='{x:.1f}' y='{y + 0.85 * f + lh * (k + 1):.1f}' "
                           f"fill='#222' pointer-events='none' {HALO}>{esc(line)}</text>")
    # legend: colour steps in a column at the right
    lx, ly = WIDTH - LEGEND_W + 8, 2.6 * f
    out.append(f"<text x='{lx}' y='{ly:.1f}' font-weight='bold'>{esc(legend_title)}</text>")
    for k, (colour, label) in enumerate(legend):
        y = ly + 0.5 * f + 1.25 * f * k
        out.append(f"<rect x='{lx}' y='{y:.1f}' width='{f:.0f}' height='{f * 0.85:.1f}' "
                   f"fill='{colour}' stroke='#333' stroke-width='0.5'/>")
        out.append(f"<text x='{lx + 1.3 * f:.1f}' y='{y + 0.8 * f:.1f}'>{esc(label)}</text>")
    out.append("</svg>")
    return "".join(out)
