"""results.png: /slow as a share of ideal per mode and concurrency, and `/` throughput."""

from pathlib import Path

from .targets import find


def chart(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    order = ("wsgi", "wsgi_granian", "asgi", "asgi_hypercorn", "naive", "quart", "quart_hypercorn")
    names = [n for n in order if n in results]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for axis, scenario in zip(axes[:2], ("slow 0.1 s", "slow 1 s"), strict=True):
        levels = sorted(
            {
                r["connections"]
                for n in names
                for r in results[n]["runs"]
                if r["scenario"] == scenario
            }
        )
        width = 0.8 / max(len(names), 1)
        for index, name in enumerate(names):
            values = [(find(results, name, scenario, c) or {}).get("pct_ideal", 0) for c in levels]
            axis.bar([x + index * width for x in range(len(levels))], values, width, label=name)
        axis.set_xticks([x + 0.4 - width / 2 for x in range(len(levels))], [str(c) for c in levels])
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel("% of ideal throughput")
        axis.set_ylim(0, 105)
        axis.set_title(f"/slow, {scenario} per request")
        axis.legend(fontsize=8)
    hello = [n for n in results if find(results, n, "hello", 64)]
    axes[2].bar(hello, [find(results, n, "hello", 64)["rps"] for n in hello])
    axes[2].set_title("/ at 64 connections")
    axes[2].set_ylabel("requests per second")
    axes[2].tick_params(axis="x", rotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
