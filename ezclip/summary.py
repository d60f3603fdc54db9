"""The summary layer that tables and figures both read: records grouped into cells per (protocol,
model, group), their means and spreads, and the settings that make two numbers comparable."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ezclip.datasets import TABLE_ORDER
from ezclip.records import model_key, record_benchmark_id, record_protocol_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ezclip.records import Record


def group_order(group: str) -> tuple[int, str, int, str]:
    dataset, _, rest = group.partition("/")
    return (
        TABLE_ORDER.index(dataset) if dataset in TABLE_ORDER else len(TABLE_ORDER),
        dataset,
        int(rest[1:]) if rest[:1] == "k" and rest[1:].isdigit() else 0,
        rest,
    )


SETTINGS = ("protocol_version", "views", "input_size", "list_sha256")


def views_of(record: Record) -> tuple[int, int]:
    """``(clips, crops)`` a record's videos were tested with (1 where the record does not say)."""
    return record["eval"].get("clips", 1), record["eval"].get("crops", 1)


def record_settings(record: Record) -> dict[str, Any]:
    clips, crops = views_of(record)
    return dict(
        protocol_version=record["protocol"]["version"],
        views=clips * crops,
        input_size=record["eval"].get("input_size"),
        list_sha256=record["eval"].get("list_sha256", "")[:12],
    )


def pct(x: float) -> float:
    return 100.0 * x


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample std (n-1) of a list; std is None for a single value."""
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def harmonic_mean(base: float, novel: float) -> float:
    return 2 * base * novel / (base + novel) if base + novel else 0.0


def records_by_benchmark(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Tables never mix benchmarks: mini, full, and each --subset N apart."""
    by_bench = defaultdict(list)
    for r in records:
        by_bench[record_benchmark_id(r)].append(r)
    return by_bench


class Cells:
    """Records grouped by (protocol id, model, group); the protocol decides what a group is."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.ok = [r for r in records if r.get("status") == "ok"]
        self.other = [r for r in records if r.get("status") != "ok"]
        self.cells = defaultdict(list)
        # ablated models: {name: dict(of=..., change=...)}; they get their own table
        self.ablations = {r["model"]["name"]: r["model"]["ablation"] for r in self.ok if r["model"].get("ablation")}
        for r in self.ok:
            self.cells[(record_protocol_id(r), model_key(r), r["eval"]["group"])].append(r)

    def chance(self, protocol: str, group: str) -> float | None:
        sizes = [
            r["eval"]["num_classes"] for (p, _, g), v in self.cells.items() if p == protocol and g == group for r in v
        ]
        return statistics.fmean(100.0 / n for n in sizes) if sizes else None

    def first_records(self, protocol: str, model: str, groups: Iterable[str]) -> list[Record] | None:
        """The records of ``model`` in the first of ``groups`` it has any in (for its row label)."""
        return next((rs for g in groups for rs in [self.values(protocol, model, g)[1]] if rs), None)

    def models(self, protocol: str) -> list[str]:
        return sorted({m for (p, m, _) in self.cells if p == protocol} - set(self.ablations))

    def values(self, protocol: str, model: str, group: str, metric: str = "top1") -> tuple[list[float], list[Record]]:
        rs = sorted(self.cells.get((protocol, model, group), []), key=lambda r: (r["stage"], r["eval"]["list"]))
        return [pct(r["metrics"][metric]) for r in rs if metric in r["metrics"]], rs

    def column_settings(self, protocol: str, group: str) -> tuple[set[int], list[str]]:
        """Records of a column measured differently from the rest: settings are compared with the
        column's majority, the list's hash with the majority for that list. Returns
        ``(ids of odd records, notes)``."""
        rs = [r for (p, _, g), v in self.cells.items() if p == protocol and g == group for r in v]
        odd, notes = set(), []

        def majority(values: list[Any]) -> Any:
            return max(set(values), key=lambda v: (values.count(v), v))

        column = {k: majority([record_settings(r)[k] for r in rs]) for k in SETTINGS if k != "list_sha256"}
        per_list = defaultdict(list)
        for r in rs:
            per_list[r["eval"]["list"]].append(record_settings(r)["list_sha256"])
        for r in sorted(rs, key=lambda r: (r["model"]["name"], r["eval"]["list"])):
            mine = record_settings(r)
            diff = [f"{k} {mine[k]} (column: {v})" for k, v in column.items() if mine[k] != v]
            if mine["list_sha256"] != majority(per_list[r["eval"]["list"]]):
                diff.append(f"list {r['eval']['list']} sha256 {mine['list_sha256']}… differs from the other models'")
            if diff:
                odd.add(id(r))
                notes.append(f"† {r['model']['name']}, {group}/{r['eval']['list']}: {'; '.join(diff)}")
        return odd, notes
