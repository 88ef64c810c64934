"""``docs/benchmarks/benchmarks.png``: every median time, one panel per group, and the HTTP runs.

Times span three orders of magnitude (a memory floor to a cold listing on
Redis), so the axis is logarithmic; setups are side by side within a row
so each implementation reads across databases and backends at a glance.
The HTTP panel has its own axis, requests/s from zero: a throughput, where
the eye should compare the two bars of a page by length.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to a file

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from .cases import GROUPS
from .httpload import HttpRun
from .httpload.results import PAGES
from .httpload.server import WORKERS
from .results import Results

PLOT_NAME = "benchmarks.png"
LEFT_US = 5.0  # one shared axis from here: on a log scale, bar lengths only compare from a common origin
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
HTTP_COLORS = {True: "#2a9d8f", False: "#9e9e9e"}  # caching on, off: apart from the setups' colours


def write_plot(path: Path, results: Results, http: HttpRun | None = None) -> None:
    """One panel per library group (horizontal bars of median µs, coloured by setup), then the HTTP one."""
    setups = results.setups()
    groups = [g for g in GROUPS if results.labels(g)]
    # the HTTP panel gets a row more than it has pages: room for the bars' labels
    heights = [len(results.labels(g)) for g in groups] + ([len(PAGES) + 1] if http else [])
    if not heights:
        return
    figure, axes = plt.subplots(
        len(heights),
        1,
        figsize=(11, 1.2 + 0.42 * sum(heights) + 0.6 * len(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    times = [r.timing.median_us for r in results if r.timing.median_us > 0]
    # the decade below the fastest time, if that is under LEFT_US: a bar left of the axis would not show
    fastest = min(times, default=LEFT_US)
    left = LEFT_US if fastest >= LEFT_US else 10 ** math.floor(math.log10(fastest))
    limits = (left, max(times, default=LEFT_US) * 1.5)
    for ax, group in zip(axes[:, 0], groups):
        _library_panel(ax, results, group, setups, limits)
        ax.sharex(axes[0, 0])
    if groups:
        axes[0, 0].legend(fontsize=8, loc="lower right")
    if http:
        _http_panel(axes[-1, 0], http)
    figure.suptitle("Model cache benchmarks", fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _library_panel(
    ax: Axes, results: Results, group: str, setups: list[str], limits: tuple[float, float]
) -> None:
    """Median µs on a log axis shared by every library panel: lower is faster."""
    labels = results.labels(group)
    bar = 0.8 / max(1, len(setups))
    for i, setup in enumerate(setups):
        ys, xs = [], []
        for row, label in enumerate(labels):
            result = results.by_label(setup, group, label)
            if result is not None:
                ys.append(row - 0.4 + bar * (i + 0.5))
                xs.append(result.timing.median_us)
        ax.barh(ys, xs, height=bar, color=COLORS[i % len(COLORS)], label=setup)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(*limits)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelbottom=True, labelsize=8)
    ax.set_title(group, loc="left", fontsize=10, fontweight="bold")
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.set_xlabel("median µs per operation (log scale): lower is faster", fontsize=8)


def _http_panel(ax: Axes, http: HttpRun) -> None:
    """Requests/s per page, caching on and off, on a linear axis from zero: higher is faster."""
    bar = 0.4
    for i, (cache, color) in enumerate(HTTP_COLORS.items()):
        ys, xs, notes = [], [], []
        for row, page in enumerate(PAGES):
            run = http.find(page, cache)
            if run is not None:
                ys.append(row - 0.2 + bar * i)
                xs.append(run.requests_per_s)
                notes.append(f" {run.requests_per_s:,.0f}/s, p99 {run.p99_ms:.0f} ms")
        bars = ax.barh(ys, xs, height=bar, color=color, label="caching on" if cache else "caching off")
        ax.bar_label(bars, notes, fontsize=7)
    ax.set_yticks(range(len(PAGES)), [f"{p.path} ({p.name})" for p in PAGES], fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.25)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(
        f"HTTP: gunicorn {WORKERS} workers, wrk {http.budget.connections} connections, "
        f"{http.cores} shared cores",
        loc="left",
        fontsize=10,
        fontweight="bold",
    )
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("requests/s (wrk): higher is faster", fontsize=8)
    ax.legend(fontsize=8, loc="lower right")
