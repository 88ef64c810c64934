"""The report's plots: median times by group and setup, the HTTP runs, and the listing-scale curve.

Times span three orders of magnitude (a memory floor to a cold read on
Redis), so time axes are logarithmic; requests/s are on a linear axis from
zero, where bars compare by length.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to a file

import matplotlib.pyplot as plt

COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


def _bars(
    ax: Any, title: str, rows: list[str], series: dict[str, list[float | None]], colors: Sequence[str]
) -> list[Any]:
    """Grouped horizontal bars, a row per name in ``rows`` and a bar per series in it (None: no bar)."""
    height, drawn = 0.8 / len(series), []
    for i, ((name, values), color) in enumerate(zip(series.items(), colors)):
        shown = [(row, value) for row, value in enumerate(values) if value is not None]
        offsets = [row - 0.4 + height * (i + 0.5) for row, _ in shown]
        drawn.append(ax.barh(offsets, [v for _, v in shown], height=height, color=color, label=name))
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
    return drawn


def plot_library(path: Path, times: dict[tuple[str, ...], float], http: dict[str, Any] | None) -> None:
    """One panel per group (bars of median µs, coloured by setup), then requests/s per HTTP page."""
    setups = list(dict.fromkeys(key[0] for key in times))
    groups = list(dict.fromkeys(key[1] for key in times))
    labels = {g: list(dict.fromkeys(key[2] for key in times if key[1] == g)) for g in groups}
    heights = [len(labels[g]) for g in groups] + ([len(http["pages"]) + 1] if http else [])
    if not heights:
        return
    figure, axes = plt.subplots(
        len(heights),
        1,
        figsize=(11, 1.5 + 0.45 * sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for ax, group in zip(axes[:, 0], groups):
        series = {s: [times.get((s, group, label)) for label in labels[group]] for s in setups}
        _bars(ax, group, labels[group], series, COLORS)
        ax.set_xscale("log")
        ax.set_xlabel("median µs per operation (log scale): lower is faster", fontsize=8)
        ax.grid(axis="x", which="both", alpha=0.3)
    if groups:
        axes[0, 0].legend(fontsize=8, loc="lower right")
    if http:
        ax, pages = axes[-1, 0], list(http["pages"])
        series = {
            f"caching {m}": [http["pages"][p][m]["requests_per_s"] for p in pages] for m in ("on", "off")
        }
        title = f"HTTP: gunicorn {http['workers']} workers, {http['cores']} shared cores"
        for bars in _bars(ax, title, pages, series, ("#2a9d8f", "#9e9e9e")):
            ax.bar_label(bars, fmt=" {:,.0f}/s", fontsize=7)
        ax.margins(x=0.2)
        ax.set_xlabel("requests/s (wrk): higher is faster", fontsize=8)
        ax.legend(fontsize=8, loc="lower right")
    figure.suptitle("Model cache benchmarks", fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_scale(path: Path, times: dict[tuple[str, ...], float]) -> None:
    """Page + count time against table size: warm and cold per setup, and the plain query."""
    if not times:
        return
    figure, ax = plt.subplots(figsize=(8, 4.5))
    setups = list(dict.fromkeys(key[0] for key in times))
    for i, setup in enumerate(setups):
        sizes = sorted({int(key[1]) for key in times if key[0] == setup})
        for kind, style in (("warm", "-o"), ("cold", ":"), ("plain", "--")):
            if kind == "plain" and i % 2:  # memory and Redis share a database: one plain line each
                continue
            ms = [times[(setup, str(n), f"{kind} page + count")] / 1e3 for n in sizes]
            name, color = (setup.split(" + ")[0], "black") if kind == "plain" else (setup, COLORS[i])
            ax.plot(
                sizes,
                ms,
                style,
                color=color,
                label=f"{name} {kind}",
                alpha=0.6 if kind == "plain" and i else 1,
            )
    ax.set(xscale="log", yscale="log", xlabel="rows in the table", ylabel="ms per page + count")
    ax.set_title("A page of 20 at offset n/2 with its count")
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
