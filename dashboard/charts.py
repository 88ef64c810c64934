"""Line charts drawn as SVG on the server: axes, units, time labels, no script and no CDN.

A chart is plain geometry for the template (``templates/dashboard/_chart.html``):
the plot area, the ticks of both axes with their labels, and one polyline
(plus dots, so a lone point shows) per series. Missing values (a minute with
no reads has no hit ratio) break the line rather than drawing it at zero.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 760, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 32  # margins: room for the tick labels
TIME_TICK_SECONDS = 600  # a time label every ten minutes


@dataclass
class Series:
    name: str
    color: str
    lines: list[str] = field(default_factory=list)  # "x,y x,y ..." per unbroken run
    dots: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    unit: str
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    series: list[Series]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = WIDTH - LEFT - RIGHT
    plot_height: int = HEIGHT - TOP - BOTTOM

    @property
    def empty(self) -> bool:
        return not any(s.dots for s in self.series)


def line_chart(
    title: str,
    unit: str,
    times: Sequence[int],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    y_max: float | None = None,
    y_format: str = "{:g}",
) -> Chart:
    """A chart of ``(name, color, values)`` series over ``times`` (Unix seconds, evenly spaced).

    The y axis runs from 0 to ``y_max``, or to a round number above the
    largest value; times are labelled in UTC.
    """
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = y_max or nice_ceiling(max((v for _, _, vs in series for v in vs if v is not None), default=0))
    step = plot_width / max(len(times) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + i * step, 1)

    def y(value: float) -> float:
        return round(TOP + plot_height * (1 - value / top), 1)

    drawn = []
    for name, color, values in series:
        line = Series(name, color)
        run: list[tuple[float, float]] = []
        for i, value in enumerate([*values, None]):
            if value is None:
                if len(run) > 1:
                    line.lines.append(" ".join(f"{px},{py}" for px, py in run))
                run = []
            else:
                run.append((x(i), y(value)))
                line.dots.append(run[-1])
        drawn.append(line)
    x_ticks = [(x(i), _clock(t)) for i, t in enumerate(times) if t % TIME_TICK_SECONDS == 0]
    y_ticks = [(y(top * k / 4), y_format.format(top * k / 4)) for k in range(5)]
    return Chart(title, unit, x_ticks, y_ticks, drawn)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 4, 5 or 10 times a power of ten that is at least ``value`` (4 at least),
    so that quarter ticks are round numbers."""
    if value <= 4:
        return 4
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 4, 5, 10) if m * power >= value)


def _clock(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%H:%M")
