"""The report's plots: median times by group and setup, the HTTP runs, and the listing-scale curve.

Times span three orders of magnitude (a memory floor to a cold read on
Redis), so time axes are logarithmic; requests/s are on a linear axis from
zero, where bars compare by length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to a file

import matplotlib.pyplot as plt

COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


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
    bar = 0.8 / max(1, len(setups))
    for ax, group in zip(axes[:, 0], groups):
        for i, setup in enumerate(setups):
            rows = [
                (row, times[(setup, group, label)])
                for row, label in enumerate(labels[group])
                if (setup, group, label) in times
            ]
            ax.barh(
                [r - 0.4 + bar * (i + 0.5) for r, _ in rows],
                [v for _, v in rows],
                height=bar,
                color=COLORS[i % len(COLORS)],
                label=setup,
            )
        ax.set_yticks(range(len(labels[group])), labels[group], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(group, loc="left", fontsize=10, fontweight="bold")
        ax.set_xlabel("median µs per operation (log scale): lower is faster", fontsize=8)
        ax.grid(axis="x", which="both", alpha=0.3)
    if groups:
        axes[0, 0].legend(fontsize=8, loc="lower right")
    if http:
        ax = axes[-1, 0]
        pages = list(http["pages"])
        for i, (mode, color) in enumerate((("on", "#2a9d8f"), ("off", "#9e9e9e"))):
            rates = [http["pages"][p][mode]["requests_per_s"] for p in pages]
            bars = ax.barh(
                [r - 0.2 + 0.4 * i for r in range(len(pages))],
                rates,
                height=0.4,
                color=color,
                label=f"caching {mode}",
            )
            ax.bar_label(bars, [f" {r:,.0f}/s" for r in rates], fontsize=7)
        ax.set_yticks(range(len(pages)), pages, fontsize=8)
        ax.invert_yaxis()
        ax.margins(x=0.2)
        ax.set_title(
            f"HTTP: gunicorn {http['workers']} workers, {http['cores']} shared cores",
            loc="left",
            fontsize=10,
            fontweight="bold",
        )
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
            name = setup.split(" + ")[0] if kind == "plain" else setup
            ax.plot(
                sizes,
                ms,
                style,
                color=COLORS[i % len(COLORS)] if kind != "plain" else "black",
                label=f"{name} {kind}",
                alpha=0.6 if kind == "plain" and i else 1,
            )
    ax.set(xscale="log", yscale="log", xlabel="rows in the table", ylabel="ms per page + count")
    ax.set_title("A page of 20 at offset n/2 with its count")
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
