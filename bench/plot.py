"""``docs/benchmarks/benchmarks.png``: every median time, one panel per group.

Times span three orders of magnitude (a memory floor to a cold listing on
Redis), so the axis is logarithmic; setups are side by side within a row
so each implementation reads across databases and backends at a glance.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to a file

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullFormatter

from .cases import GROUPS
from .results import Results

PLOT_NAME = "benchmarks.png"
LEFT_US = 5.0  # one shared axis from here: on a log scale, bar lengths only compare from a common origin
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")


def write_plot(path: Path, results: Results) -> None:
    """Horizontal bars of median µs, grouped by case, coloured by setup."""
    setups = results.setups()
    groups = [g for g in GROUPS if results.labels(g)]
    heights = [len(results.labels(g)) for g in groups]
    figure, axes = plt.subplots(
        len(groups),
        1,
        figsize=(11, 1.2 + 0.42 * sum(heights) + 0.6 * len(groups)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        sharex=True,
    )
    bar = 0.8 / max(1, len(setups))
    slowest = max((r.timing.median_us for r in results), default=LEFT_US)
    for ax, group in zip(axes[:, 0], groups):
        labels = results.labels(group)
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
        ax.set_xlim(LEFT_US, slowest * 1.5)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelbottom=True, labelsize=8)
        ax.set_title(group, loc="left", fontsize=10, fontweight="bold")
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.set_xlabel("median µs per operation (log scale)", fontsize=8)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    figure.suptitle("Model cache benchmarks: lower is faster", fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
