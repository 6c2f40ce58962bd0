"""results.png: horizontal bars grouped by mode, so the labels stay readable as setups grow.

Three panels share one row per setup: `/` requests per second, and `/slow` (0.1 s and 1 s) as a
share of ideal at each concurrency. A mode's generated service comes first in its group, in the
mode's colour; its variants (metrics off, bare app, another parser or pool) follow in a lighter
shade; the reference setups (the naive adapter) are grey and hatched.
"""

from pathlib import Path

from .config import MODES
from .targets import find

# Which group a setup belongs to: the mode its name starts with, longest match first
# ("asgi_hypercorn" before "asgi"); the naive adapter is a reference of its own.
REFERENCES = ("naive",)


def group_of(name: str) -> str:
    if name in REFERENCES:
        return "reference"
    return max((mode for mode in MODES if name == mode or name.startswith(f"{mode}-")), key=len)


def rows(results) -> list[tuple[str, str]]:
    """(group, setup) in display order: each mode's group in MODES' order, the references last."""
    order = [*MODES, "reference"]
    named = [(group_of(name), name) for name in results]
    return sorted(named, key=lambda row: (order.index(row[0]), row[1] != row[0], row[1]))


def chart(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    shown = rows(results)
    palette = plt.get_cmap("tab10")
    colours = {mode: palette(index) for index, mode in enumerate(MODES)}
    labels = [name for _, name in shown]
    positions = range(len(shown))
    figure, axes = plt.subplots(
        1, 3, figsize=(16, 0.32 * len(shown) + 1.6), sharey=True, width_ratios=(1.2, 1, 1)
    )

    def style(group: str, name: str) -> dict:
        if group == "reference":
            return {"color": "0.75", "hatch": "//", "edgecolor": "0.4"}
        return {"color": colours[group], "alpha": 1.0 if name == group else 0.45}

    hello = [(find(results, name, "hello", 64) or {}).get("rps", 0) for _, name in shown]
    axes[0].barh(positions, hello, **{"color": [style(g, n)["color"] for g, n in shown]})
    for bar, (group, name) in zip(axes[0].patches, shown, strict=True):
        bar.set_alpha(style(group, name).get("alpha", 1.0))
        bar.set_hatch(style(group, name).get("hatch", ""))
    axes[0].set_title("/ at 64 connections (requests per second)")
    axes[0].set_yticks(list(positions), labels, fontsize=8)
    axes[0].invert_yaxis()

    for axis, scenario in zip(axes[1:], ("slow 0.1 s", "slow 1 s"), strict=True):
        runs = [run_ for name in labels for run_ in results[name]["runs"]]
        levels = sorted({run_["connections"] for run_ in runs if run_["scenario"] == scenario})
        if not levels:  # a --quick run measures `/` only
            axis.set_title(f"/slow, {scenario} per request: not run")
            continue
        height = 0.8 / max(len(levels), 1)
        for index, level in enumerate(levels):
            found = [find(results, name, scenario, level) or {} for _, name in shown]
            values = [run_.get("pct_ideal", 0) for run_ in found]
            offsets = [p - 0.4 + (index + 0.5) * height for p in positions]
            bars = axis.barh(offsets, values, height, label=f"{level} connections")
            for bar, (group, name) in zip(bars, shown, strict=True):
                bar.set_color(style(group, name)["color"])
                bar.set_alpha(0.35 + 0.65 * (index + 1) / len(levels))
        axis.set_xlim(0, 105)
        axis.set_title(f"/slow, {scenario} per request: % of ideal")
        # The shade tells the concurrency, the same in every mode's colour: grey stands for them.
        shades = [
            Patch(color="0.3", alpha=0.35 + 0.65 * (index + 1) / len(levels), label=f"{level}")
            for index, level in enumerate(levels)
        ]
        axis.legend(
            handles=shades,
            title="connections",
            fontsize=8,
            ncol=len(levels),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.04),
        )
    for axis in axes:
        axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
