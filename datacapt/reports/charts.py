"""Small SVG charts drawn on the server from numbers: horizontal bars, stacked bars, lines.

Each chart is a standalone SVG document (it is inlined in the page, downloaded as a file and
rasterised to PNG from the same text). It names itself (``<title>``, ``<desc>``, ``role="img"``)
and every number it draws is one mark (``class="mark"``) carrying its value in ``data-value``
and a ``<title>`` a screen reader or a pointer reads; a series' target is a dashed horizontal
line (``class="target"``) carrying its value the same way. Series differ by fill pattern or
line dash as well as by colour, and the table beside the chart carries the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lxml import etree
from lxml.builder import ElementMaker

SVG_NS = "http://www.w3.org/2000/svg"
S = ElementMaker(namespace=SVG_NS, nsmap={None: SVG_NS})

WIDTH = 640
LABEL_WIDTH = 150  # the category labels left of horizontal bars
ROW_HEIGHT = 26
BAR_HEIGHT = 16
TOP = 16
LEGEND_HEIGHT = 24
AXIS_HEIGHT = 24
RIGHT = 24
LINE_HEIGHT = 260
MAX_LABEL = 22
FONT = {"font-family": "sans-serif", "font-size": "12", "fill": "#222"}
COLOURS = ("#1f5f9e", "#d9822b", "#4c9a2a", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
TARGET_DASH = "10 5"


@dataclass(frozen=True)
class Series:
    """One named row of numbers, a value per category (or per date), and the number it aims
    at (line charts draw it)."""

    label: str
    values: tuple[int, ...]
    target: int | None = None


def axis(highest: float) -> tuple[int, int]:
    """(top, step) of an axis from 0 that shows ``highest`` in about five round steps
    (1, 2 or 5 times a power of ten, never less than 1: the numbers are counts)."""
    if highest <= 0:
        return 1, 1
    rough = highest / 5
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return math.ceil(highest / step) * step, step


def short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _document(name: str, title: str, description: str, height: int) -> etree._Element:
    svg = S.svg(
        S.title(title, id=f"{name}-title"),
        S.desc(description, id=f"{name}-desc"),
        width=str(WIDTH),
        height=str(height),
        viewBox=f"0 0 {WIDTH} {height}",
        role="img",
        **{"aria-labelledby": f"{name}-title {name}-desc", "class": "chart"},
    )
    svg.append(S.rect(x="0", y="0", width=str(WIDTH), height=str(height), fill="#fff"))
    return svg


def _patterns(svg: etree._Element, name: str, count: int) -> list[str]:
    """A fill per series: plain colour for the first, hatching or dots over the colour for the
    others, so neighbouring segments differ in shape as well as in colour."""
    defs = S.defs()
    fills = []
    for index in range(count):
        colour = COLOURS[index % len(COLOURS)]
        if index == 0:
            fills.append(colour)
            continue
        pattern_id = f"{name}-fill-{index}"
        pattern = S.pattern(
            S.rect(width="6", height="6", fill=colour),
            id=pattern_id,
            width="6",
            height="6",
            patternUnits="userSpaceOnUse",
        )
        if index % 2:
            pattern.append(S.path(d="M0,6 L6,0", stroke="#fff", **{"stroke-width": "1.5"}))
        else:
            pattern.append(S.circle(cx="3", cy="3", r="1.3", fill="#fff"))
        defs.append(pattern)
        fills.append(f"url(#{pattern_id})")
    svg.append(defs)
    return fills


def _legend_places(labels: Sequence[str]) -> list[tuple[int, int]]:
    """Where each legend entry goes: left to right, on as many lines as it takes."""
    places, x, y = [], LABEL_WIDTH, 0
    for label in labels:
        width = 40 + 7 * len(short(label))
        if x > LABEL_WIDTH and x + width > WIDTH:
            x, y = LABEL_WIDTH, y + LEGEND_HEIGHT
        places.append((x, y))
        x += width
    return places


def _legend(
    svg: etree._Element,
    labels: Sequence[str],
    styles: Sequence[dict[str, str]],
    places: Sequence[tuple[int, int]],
) -> None:
    for label, style, (x, y) in zip(labels, styles, places, strict=True):
        if "fill" in style:
            svg.append(
                S.rect(x=str(x), y=str(y + 4), width="14", height="14", stroke="#222", **style)
            )
        else:
            svg.append(S.line(x1=str(x), y1=str(y + 11), x2=str(x + 18), y2=str(y + 11), **style))
        svg.append(S.text(short(label), x=str(x + 22), y=str(y + 15), **FONT))


def _legend_height(places: Sequence[tuple[int, int]]) -> int:
    return places[-1][1] + LEGEND_HEIGHT if places else 0


def _value_axis(svg: etree._Element, top: int, step: int, y: int) -> None:
    """Grid lines and labels of a horizontal value axis under the bars, from 0 to ``top``."""
    scale = (WIDTH - LABEL_WIDTH - RIGHT) / top
    for tick in range(0, top + 1, step):
        x = LABEL_WIDTH + tick * scale
        svg.append(S.line(x1=_number(x), y1=str(TOP), x2=_number(x), y2=str(y), stroke="#ddd"))
        svg.append(
            S.text(str(tick), x=_number(x), y=str(y + 16), **{**FONT, "text-anchor": "middle"})
        )


def bar_chart(
    name: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
) -> str:
    """Horizontal bars, one row per category, the series stacked left to right (one series:
    plain bars)."""
    labels = [one.label for one in series] if len(series) > 1 else []
    places = _legend_places(labels)
    top_y = TOP + _legend_height(places)
    height = top_y + ROW_HEIGHT * max(len(categories), 1) + AXIS_HEIGHT
    svg = _document(name, title, description, height)
    fills = _patterns(svg, name, len(series))
    _legend(svg, labels, [{"fill": fill} for fill in fills[: len(labels)]], places)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top, step = axis(max(totals, default=0))
    _value_axis(svg, top, step, top_y + ROW_HEIGHT * len(categories))
    scale = (WIDTH - LABEL_WIDTH - RIGHT) / top
    for row, category in enumerate(categories):
        y = top_y + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        svg.append(
            S.text(
                short(category),
                x=str(LABEL_WIDTH - 6),
                y=_number(y + BAR_HEIGHT - 3),
                **{**FONT, "text-anchor": "end"},
            )
        )
        x = float(LABEL_WIDTH)
        for one, fill in zip(series, fills, strict=True):
            value = one.values[row]
            width = value * scale
            mark = S.rect(
                S.title(f"{category}, {one.label}: {value}"),
                x=_number(x),
                y=_number(y),
                width=_number(width),
                height=str(BAR_HEIGHT),
                fill=fill,
                stroke="#fff" if value else "none",
                **{"class": "mark", "data-value": str(value)},
            )
            svg.append(mark)
            x += width
    return etree.tostring(svg, encoding="unicode")


def line_chart(
    name: str,
    title: str,
    description: str,
    dates: Sequence[date],
    series: Sequence[Series],
    target_label: str = "Target",
) -> str:
    """Lines over time: a point per date and series (placed by its day), joined per series,
    and each series' target (if any) as a thin dashed line across, in the series' colour."""
    targeted = any(one.target is not None for one in series)
    labels = [one.label for one in series] + ([target_label] if targeted else [])
    places = _legend_places(labels)
    top_y = TOP + max(_legend_height(places), LEGEND_HEIGHT)
    bottom = top_y + LINE_HEIGHT
    svg = _document(name, title, description, bottom + AXIS_HEIGHT)
    styles = [
        {
            "stroke": COLOURS[index % len(COLOURS)],
            "stroke-width": "2",
            "fill": "none",
            **({"stroke-dasharray": dash} if (dash := DASHES[index % len(DASHES)]) else {}),
        }
        for index in range(len(series))
    ]
    target_style = {"stroke-width": "1.5", "stroke-dasharray": TARGET_DASH, "stroke-opacity": "0.8"}
    _legend(
        svg,
        labels,
        [{k: v for k, v in style.items() if k != "fill"} for style in styles]
        + ([{"stroke": "#222", **target_style}] if targeted else []),
        places,
    )
    left, right = 48, WIDTH - RIGHT
    top, step = axis(max((max((*s.values, s.target or 0)) for s in series), default=0))
    for tick in range(0, top + 1, step):
        y = bottom - tick * (bottom - top_y) / top
        svg.append(S.line(x1=str(left), y1=_number(y), x2=str(right), y2=_number(y), stroke="#ddd"))
        svg.append(
            S.text(str(tick), x=str(left - 6), y=_number(y + 4), **{**FONT, "text-anchor": "end"})
        )
    for one, style in zip(series, styles, strict=True):
        if one.target is not None:
            y = _number(bottom - one.target * (bottom - top_y) / top)
            svg.append(
                S.line(
                    S.title(f"{one.label}, {target_label}: {one.target}"),
                    x1=str(left),
                    y1=y,
                    x2=str(right),
                    y2=y,
                    stroke=style["stroke"],
                    **target_style,
                    **{"class": "target", "data-value": str(one.target)},
                )
            )
    if not dates:
        return etree.tostring(svg, encoding="unicode")
    first, span = dates[0], max((dates[-1] - dates[0]).days, 1)

    def x_of(day: date) -> float:
        return left + (day - first).days * (right - left) / span

    for label_day in (dates[0], dates[-1]) if len(dates) > 1 else (dates[0],):
        anchor = "start" if label_day == dates[0] else "end"
        svg.append(
            S.text(
                label_day.isoformat(),
                x=_number(x_of(label_day)),
                y=str(bottom + 16),
                **{**FONT, "text-anchor": anchor},
            )
        )
    for one, style in zip(series, styles, strict=True):
        points = [
            (x_of(day), bottom - value * (bottom - top_y) / top)
            for day, value in zip(dates, one.values, strict=True)
        ]
        svg.append(
            S.polyline(points=" ".join(f"{_number(x)},{_number(y)}" for x, y in points), **style)
        )
        for (x, y), day, value in zip(points, dates, one.values, strict=True):
            svg.append(
                S.circle(
                    S.title(f"{one.label}, {day.isoformat()}: {value}"),
                    cx=_number(x),
                    cy=_number(y),
                    r="3",
                    fill=style["stroke"],
                    **{"class": "mark", "data-value": str(value)},
                )
            )
    return etree.tostring(svg, encoding="unicode")
