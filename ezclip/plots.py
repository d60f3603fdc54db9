"""Figures saved next to the tables, from the same records (and the efficiency profiles).

- ``<protocol>_cost.png``: mean top-1 of each model against vision GFLOPs per view and against
  videos/s, bubble area proportional to the trainable parameters. Cost comes from the efficiency
  profile (``results/efficiency/*.json``) whose rows match the records' model, architecture and
  frame count; a model without a matching row is left out of the figure and named in its caption.
- ``base2novel_bars.png``: base, novel and HM per model, one panel per dataset.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only; no display
import matplotlib.pyplot as plt

from ezclip.records import record_protocol_id
from ezclip.summary import group_order, harmonic_mean

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

    from matplotlib.figure import Figure

    from ezclip.summary import Cells

# deterministic PNGs: no creation date or software version in the metadata
PNG_METADATA = {"Software": None}


def count(n: float) -> str:
    return next(
        f"{n / scale:.3g}{unit}"
        for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K"), (1, ""))
        if n >= scale or scale == 1
    )


def cost_rows(efficiency_docs: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """``{(model, arch, frames): row}`` over every efficiency profile."""
    return {(r["model"], r["arch"], r["frames"]): r for doc in efficiency_docs for r in doc["rows"]}


def mean_top1(cells: Cells, protocol: str, model: str, groups: Iterable[str]) -> float | None:
    """The mean over ``groups`` of the model's group means (None unless it has every group)."""
    means = [cells.values(protocol, model, g)[0] for g in groups]
    return statistics.fmean(statistics.fmean(v) for v in means) if all(means) else None


def transfer_groups(cells: Cells, protocol: str) -> list[str]:
    """The groups a protocol reports: for zero-shot those the model did not train on (not the source)."""
    groups = sorted({g for (p, _, g) in cells.cells if p == protocol}, key=group_order)
    trained = {
        r["train"]["dataset"] for (p, _, _), rs in cells.cells.items() if p == protocol for r in rs if r.get("train")
    }
    return [g for g in groups if g.split("/")[0] not in trained] or groups


def cost_figure(
    cells: Cells, protocol: str, title: str, costs: Mapping[tuple[str, str, int], Mapping[str, Any]]
) -> tuple[Figure | None, list[str]]:
    groups = transfer_groups(cells, protocol)
    points, missing = [], []
    for model in cells.models(protocol):
        rs = cells.first_records(protocol, model, groups)
        acc = mean_top1(cells, protocol, model, groups)
        if rs is None or acc is None:
            continue
        info = rs[0]["model"]
        row = costs.get((model, info["arch"], info["frames"]))
        if row is None or "vision_gflops" not in row:
            missing.append(model)
            continue
        points.append(dict(name=model, acc=acc, trainable=info["params_trainable"], **row))
    if not points:
        return None, missing
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    largest = max(p["trainable"] for p in points) or 1
    for ax, (key, label) in zip(
        axes, (("vision_gflops", "vision GFLOPs per view"), ("videos_per_s", "videos / s (batch, as profiled)"))
    ):
        for p in points:
            if p.get(key) is None:
                continue
            ax.scatter(p[key], p["acc"], s=40 + 1500 * p["trainable"] / largest, alpha=0.5)
            ax.annotate(
                f"{p['name']}\n{count(p['trainable'])} trainable",
                (p[key], p["acc"]),
                fontsize=8,
                ha="center",
                va="center",
            )
        ax.margins(0.2)
        ax.set_xlabel(label)
        ax.set_ylabel(f"mean top-1 (%) over {', '.join(groups)}")
        ax.grid(alpha=0.3)
    caption = title + (
        f"\nnot shown (no efficiency profile at their arch and frames): {', '.join(missing)}" if missing else ""
    )
    fig.suptitle(caption, fontsize=9)
    return fig, missing


def base2novel_figure(cells: Cells, protocol: str, title: str) -> Figure | None:
    datasets = sorted({g.split("/")[0] for (p, _, g) in cells.cells if p == protocol}, key=group_order)
    models = cells.models(protocol)
    if not datasets or not models:
        return None
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(3.2 * len(datasets), 3.6), sharey=True, constrained_layout=True, squeeze=False
    )
    width = 0.8 / len(models)
    for ax, dataset in zip(axes[0], datasets):
        for i, model in enumerate(models):
            base = cells.values(protocol, model, f"{dataset}/base")[0]
            novel = cells.values(protocol, model, f"{dataset}/novel")[0]
            if not base or not novel:
                continue
            b, n = statistics.fmean(base), statistics.fmean(novel)
            ax.bar([j + i * width for j in range(3)], [b, n, harmonic_mean(b, n)], width, label=model)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(3)], ["base", "novel", "HM"])
        ax.set_title(dataset, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("top-1 (%)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig


def build_figures(
    cells: Cells, benchmark_title: Callable[[str], str], efficiency_docs: Iterable[Mapping[str, Any]]
) -> dict[str, Figure]:
    """``{file stem: figure}`` for one benchmark's records."""
    costs = cost_rows(efficiency_docs)
    figures = {}
    for protocol in sorted({record_protocol_id(r) for r in cells.ok}):
        if protocol.split("+")[0] == "base2novel":
            fig = base2novel_figure(cells, protocol, benchmark_title(f"Base-to-novel ({protocol})"))
            if fig is not None:
                figures[f"{protocol}_bars"] = fig
        else:
            fig, _ = cost_figure(cells, protocol, benchmark_title(f"{protocol}: accuracy against cost"), costs)
            if fig is not None:
                figures[f"{protocol}_cost"] = fig
    return figures


def save(figure: Figure, path: str | Path) -> None:
    figure.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(figure)
