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

WIDTH, HEIGHT = 560, 300
MARGIN = {"left": 64, "right": 12, "top": 46, "bottom": 34}
FONT = "font-family='sans-serif'"


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

    def layers(self) -> list[np.ndarray]:
        """The drawn tops of the series: cumulative sums when stacked."""
        tops = []
        total = None
        for s in self.series:
            y = np.nan_to_num(np.asarray(s.y, float)) if self.stacked else np.asarray(s.y, float)
            total = y if total is None or not self.stacked else total + y
            tops.append(total)
        return tops

    def svg(self) -> str:
        out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' "
               f"width='100%' role='img' aria-label='{esc(self.title)}' "
               f"data-chart='{esc(self.name)}' {FONT} font-size='11'>",
               f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
               f"<text x='{WIDTH / 2}' y='16' text-anchor='middle' font-size='13' "
               f"font-weight='bold'>{esc(self.title)}</text>"]
        xs = [np.asarray(s.x, float) for s in self.series]
        if not self.series or all(len(x) == 0 for x in xs):
            out.append(f"<text x='{WIDTH / 2}' y='{HEIGHT / 2}' text-anchor='middle' "
                       f"fill='grey'>{esc(self.empty_text)}</text></svg>")
            return "".join(out)
        tops = self.layers()
        finite = np.concatenate([t[np.isfinite(t)] for t in tops] + [np.zeros(0)])
        lo = self.y_min if self.y_min is not None else (finite.min() if finite.size else 0.0)
        hi = self.y_max if self.y_max is not None else (finite.max() if finite.size else 1.0)
        if self.y_max is None:
            hi += 0.06 * (hi - lo)  # headroom: a line at the maximum stays off the frame
        if hi <= lo:
            hi = lo + 1.0
        ticks = nice_ticks(lo, hi)
        lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
        x_all = np.concatenate(xs)
        x_lo, x_hi = float(x_all.min()), float(x_all.max())
        if x_hi <= x_lo:
            x_hi = x_lo + 1.0
        left, top = MARGIN["left"], MARGIN["top"]
        pw = WIDTH - MARGIN["left"] - MARGIN["right"]
        ph = HEIGHT - MARGIN["top"] - MARGIN["bottom"]

        def px(x):
            return left + (np.asarray(x, float) - x_lo) / (x_hi - x_lo) * pw

        def py(y):
            return top + ph - (np.asarray(y, float) - lo) / (hi - lo) * ph

        # axes, grid and tick labels
        for t in ticks:
            y = float(py(t))
            out.append(f"<line x1='{left}' x2='{left + pw}' y1='{y:.1f}' y2='{y:.1f}' "
                       f"stroke='#e3e3e3'/>")
            out.append(f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>"
                       f"{esc(self.y_format(t))}</text>")
        for t in nice_ticks(x_lo, x_hi, 6):
            if x_lo - 1e-9 <= t <= x_hi + 1e-9 and float(t).is_integer():
                x = float(px(t))
                out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top + ph}' "
                           f"y2='{top + ph + 4}' stroke='#555'/>")
                out.append(f"<text x='{x:.1f}' y='{top + ph + 16}' text-anchor='middle'>"
                           f"{int(t)}</text>")
        out.append(f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' "
                   f"stroke='#888'/>")
        out.append(f"<text x='{left + pw / 2}' y='{HEIGHT - 4}' text-anchor='middle' "
                   f"fill='#444'>{esc(self.x_label)}</text>")
        out.append(f"<text transform='translate(13 {top + ph / 2}) rotate(-90)' "
                   f"text-anchor='middle' fill='#444'>{esc(self.y_label)}</text>")
        # data
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
        x, y = left, 32
        for s in self.series:
            w = 22 + 6.2 * len(s.label)
            if x + w > WIDTH - 4:
                x, y = left, y + 12
            dash = f" stroke-dasharray='{s.dash}'" if s.dash else ""
            out.append(f"<line x1='{x}' x2='{x + 14}' y1='{y - 4}' y2='{y - 4}' "
                       f"stroke='{s.colour}' stroke-width='3'{dash}/>")
            out.append(f"<text x='{x + 17}' y='{y}' font-size='10'>{esc(s.label)}</text>")
            x += w
        out.append("</svg>")
        return "".join(out)


@dataclass
class Bubble:
    """One city on the map."""

    name: str
    lon: float
    lat: float
    radius: float
    colour: str
    lines: list[str] = field(default_factory=list)


HALO = "stroke='white' stroke-width='3' stroke-opacity='0.8' paint-order='stroke'"
MAX_STRETCH = 3.0  # most the map may stretch one axis against the other to fill its box


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


def bubble_map(title: str, bubbles: list[Bubble], legend: list[tuple[str, str]],
               legend_title: str = "") -> str:
    """Bubbles at longitude/latitude (a map-like projection, see ``_project``), labels
    placed where they cover the least of other labels, and a colour legend of
    (colour, label) steps."""
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT + 40}' "
           f"width='100%' role='img' aria-label='{esc(title)}' data-chart='map' {FONT} "
           f"font-size='10'>",
           f"<rect width='{WIDTH}' height='{HEIGHT + 40}' fill='#f4f8fb'/>",
           f"<text x='{WIDTH / 2}' y='16' text-anchor='middle' font-size='13' "
           f"font-weight='bold'>{esc(title)}</text>"]
    if bubbles:
        cx, cy = _project(bubbles, (20, 36, WIDTH - 140, HEIGHT + 40 - 14))
        order = np.argsort([-b.radius for b in bubbles])  # big ones first, small on top
        for i in order:
            b = bubbles[i]
            out.append(f"<circle data-city='{esc(b.name)}' cx='{cx[i]:.1f}' cy='{cy[i]:.1f}' "
                       f"r='{b.radius:.1f}' fill='{b.colour}' fill-opacity='0.8' "
                       f"stroke='#333' stroke-width='0.8'/>")
        placed: list[tuple[float, float, float, float]] = []  # label boxes x0, y0, x1, y1
        for i in order[::-1]:  # small cities first: their labels matter most near big ones
            b = bubbles[i]
            w = 5.6 * max(len(t) for t in [b.name, *b.lines]) + 2
            h = 11.0 * (1 + len(b.lines))
            r = b.radius
            candidates = [(cx[i] + r + 2, cy[i] - h / 2), (cx[i] - r - 2 - w, cy[i] - h / 2),
                          (cx[i] - w / 2, cy[i] - r - h - 1), (cx[i] - w / 2, cy[i] + r + 1),
                          (cx[i] + r * 0.7, cy[i] - r * 0.7 - h),
                          (cx[i] + r * 0.7, cy[i] + r * 0.7)]

            def clash(x: float, y: float, w: float = w, h: float = h) -> float:
                inside = 0.0 if (0 <= x and x + w <= WIDTH - 130 and 22 <= y
                                 and y + h <= HEIGHT + 40) else 1e6
                return inside + sum(max(0.0, min(x + w, x1) - max(x, x0))
                                    * max(0.0, min(y + h, y1) - max(y, y0))
                                    for x0, y0, x1, y1 in placed)

            x, y = min(candidates, key=lambda c: clash(*c))
            placed.append((x, y, x + w, y + h))
            out.append(f"<text x='{x:.1f}' y='{y + 9:.1f}' font-weight='bold' {HALO}>"
                       f"{esc(b.name)}</text>")
            for k, line in enumerate(b.lines):
                out.append(f"<text x='{x:.1f}' y='{y + 9 + 11 * (k + 1):.1f}' fill='#222' "
                           f"{HALO}>{esc(line)}</text>")
    # legend: colour steps in a column at the right
    lx, ly = WIDTH - 120, 40
    out.append(f"<text x='{lx}' y='{ly}' font-weight='bold'>{esc(legend_title)}</text>")
    for k, (colour, label) in enumerate(legend):
        y = ly + 8 + 16 * k
        out.append(f"<rect x='{lx}' y='{y}' width='14' height='12' fill='{colour}' "
                   f"stroke='#333' stroke-width='0.5'/>")
        out.append(f"<text x='{lx + 19}' y='{y + 10}'>{esc(label)}</text>")
    out.append("</svg>")
    return "".join(out)
