"""Comparison tables built from result records alone (plus the cited reference numbers).

One table per benchmark (mini, full, full-subsetN: never mixed) and protocol, in Markdown, CSV and
LaTeX. A cell is the mean (and std, sample std over splits or seeds) of the records in it; a column
whose records were measured under different protocol settings marks the odd ones out with a dagger
and says how they differ. Reported numbers carry a source letter, explained below the table.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from ezclip import registry
from ezclip.errors import InputError
from ezclip.files import atomic_path
from ezclip.records import model_key, read_records, record_protocol_id
from ezclip.summary import (
    Cells,
    group_order,
    harmonic_mean,
    mean_std,
    pct,
    records_by_benchmark,
    views_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ezclip.records import Record

    # the published accuracies as ``reference_by_cell`` returns them: entries by (protocol, model, group),
    # and their sources by name
    ReferenceEntries = dict[tuple[str, str, str], dict[str, Any]]
    Reference = tuple[ReferenceEntries, dict[str, dict[str, Any]]]


def fmt(mean: float | None, std: float | None = None, n: int | None = None, mark: str = "") -> str:
    if mean is None:
        return "–"
    text = f"{mean:.1f}" + (f" ± {std:.1f}" if std is not None else "")
    return text + mark


def reference_by_cell() -> Reference:
    """The published accuracies by (protocol, model, group), and their sources."""
    entries, sources = registry.load_reference("accuracy")
    return {(e["protocol"], e["model"], e["group"]): e for e in entries}, sources


class Footnotes:
    def __init__(self, sources: Mapping[str, Mapping[str, Any]]) -> None:
        self.sources, self.letters, self.notes = sources, {}, []

    def source(self, name: str) -> str:
        if name not in self.letters:
            self.letters[name] = chr(ord("a") + len(self.letters))
        return self.letters[name]

    def lines(self) -> list[str]:
        out = [
            f"[{letter}] {self.sources[name]['where']} (confidence: {self.sources[name]['confidence']})"
            for name, letter in self.letters.items()
        ]
        return out + self.notes


def model_label(rs: Sequence[Record]) -> str:
    """``name (arch, frames[, test views])`` and whether it ran from released weights or without parts
    of its recipe; the views of its first record (a column whose records differ is marked †)."""
    r = rs[0]["model"]
    without = (r.get("recipe") or {}).get("without")
    clips, crops = views_of(rs[0])
    views = " x ".join(f"{n} {what}s" for n, what in ((clips, "clip"), (crops, "crop")) if n > 1)
    return (
        f"{r['name']} ({r['arch']}, {r['frames']}f{', ' + views if views else ''})"
        + (" [released weights]" if "released" in r else "")
        + (f" [without {', '.join(without)}]" if without else "")
    )


class Table:
    def __init__(self, title: str, headers: list[str], rows: list[list[Any]], notes: list[str]) -> None:
        self.title, self.headers, self.rows, self.notes = title, headers, rows, notes

    def markdown(self) -> str:
        body = tabulate(self.rows, headers=self.headers, tablefmt="github", disable_numparse=True)
        notes = "".join(f"\n- {n}" for n in self.notes)
        return f"### {self.title}\n\n{body}\n{notes}\n"

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.headers)
        writer.writerows(self.rows)
        return out.getvalue()

    def latex(self) -> str:
        body = tabulate(self.rows, headers=self.headers, tablefmt="latex_booktabs", disable_numparse=True)
        notes = "".join(f"% {n}\n" for n in self.notes)
        return f"% {self.title}\n{notes}{body}\n"


def cell_text(
    cells: Cells, protocol: str, model: str, group: str, odd: set[int], metric: str = "top1"
) -> tuple[str, float | None]:
    values, rs = cells.values(protocol, model, group, metric)
    if not values:
        return "–", None
    mean, std = mean_std(values)
    mark = ("†" if any(id(r) in odd for r in rs) else "") + ("‡" if any(r["eval"].get("skipped") for r in rs) else "")
    return fmt(mean, std, mark=mark), mean


def settings_note(cells: Cells, protocol: str, groups: Iterable[str]) -> list[str]:
    groups = list(groups)
    notes = [n for g in groups for n in cells.column_settings(protocol, g)[1]]
    if notes:
        notes.append(
            "† marks numbers measured under other protocol settings than the rest of their column: "
            "not directly comparable"
        )
    skips = [
        f"‡ {r['model']['name']}, {g}/{r['eval']['list']}: {len(r['eval']['skipped'])} of "
        f"{r['eval']['videos_listed']} listed videos skipped (missing or undecodable), accuracy over the rest"
        for g in groups
        for (p, _, group), rs in sorted(cells.cells.items())
        if p == protocol and group == g
        for r in rs
        if r["eval"].get("skipped")
    ]
    return notes + skips + provenance_notes(cells, protocol) + weights_note(cells, protocol)


def weights_note(cells: Cells, protocol: str) -> list[str]:
    released = [r for r in cells.ok if record_protocol_id(r) == protocol and "released" in r["model"]]
    if not released:
        return []
    files = sorted({f"{r['model']['released']['file']} ({r['model']['released']['sha256'][:12]}…)" for r in released})
    return [
        "Rows marked [released weights] evaluate the checkpoints the authors published, without training "
        f"({', '.join(files)}); the other rows were trained here. The two are never averaged."
    ]


def provenance_notes(cells: Cells, protocol: str) -> list[str]:
    """Which lists of a protocol's records are not official (custom, unverified or of unknown origin)."""
    lists = {}
    for r in cells.ok:
        if record_protocol_id(r) == protocol:
            provenance = r["eval"].get("provenance", dict(kind="unknown", label="origin not recorded (schema < 3)"))
            if provenance["kind"] not in ("official", "generated"):
                lists.setdefault(f"{r['eval']['dataset']}/{r['eval']['list']}", set()).add(provenance["label"])
    return [f"split list {name}: {'; '.join(sorted(labels))}" for name, labels in sorted(lists.items())]


def splits_kind(cells: Cells, protocol: str) -> str:
    """'official splits' when every list of the protocol's records was verified against a manifest."""
    kinds = {r["eval"].get("provenance", {}).get("kind") for r in cells.ok if record_protocol_id(r) == protocol}
    if kinds == {"official"}:
        return "official splits"
    return "" if kinds == {"generated"} else "not only official splits: see the notes"


def reported_cells(
    reference: ReferenceEntries, foot: Footnotes, protocol: str, model: str, group: str
) -> tuple[str, float | None]:
    entry = reference.get((protocol, model, group))
    if entry is None:
        return "–", None
    letter = foot.source(entry["source"])
    std = entry.get("std")
    mark = "*" if entry.get("confidence") == "recalled" or entry.get("std_confidence") == "recalled" else ""
    return fmt(entry["value"], std) + f" [{letter}]{mark}", entry["value"]


def accuracy_table(
    cells: Cells,
    benchmark: str,
    protocol: str,
    title: str,
    groups: Sequence[str],
    reference: Reference,
    with_reported: bool = True,
    metric: str = "top1",
) -> Table:
    foot = Footnotes(reference[1])
    headers = ["model"]
    for g in groups:
        headers += [f"{g} reproduced", f"{g} reported", f"{g} Δ"] if with_reported else [g]
    odd_by_group = {g: cells.column_settings(protocol, g)[0] for g in groups}
    rows = []
    for model in cells.models(protocol):
        rs = cells.first_records(protocol, model, groups)
        if rs is None:
            continue
        row = [model_label(rs)]
        for g in groups:
            text, ours = cell_text(cells, protocol, model, g, odd_by_group[g], metric)
            row.append(text)
            if with_reported:
                ref_text, ref = reported_cells(reference[0], foot, protocol.split("+")[0], model, g)
                row += [ref_text, f"{ours - ref:+.1f}" if ours is not None and ref is not None else "–"]
        rows.append(row)
    rows.append(
        ["chance"] + [x for g in groups for x in [fmt(cells.chance(protocol, g))] + (["", ""] if with_reported else [])]
    )
    notes = [
        f"Top-1 accuracy (%) from {sum(len(v) for (p, _, _), v in cells.cells.items() if p == protocol)} "
        "records; mean ± sample std over splits/seeds; chance is 100 / number of classes."
    ]
    notes += settings_note(cells, protocol, groups)
    if with_reported:
        notes += foot.lines() + ["* the reported number (or its std) is recalled, not verified against the source"]
    return Table(benchmark_title(benchmark, title, splits_kind(cells, protocol)), headers, rows, notes)


def benchmark_title(benchmark: str, title: str, splits: str = "") -> str:
    if benchmark.startswith("mini"):
        return f"{title} [mini benchmark: generated videos, tiny CLIP; not comparable with published numbers]"
    return f"{title} [{benchmark}{', ' + splits if splits else ''}]"


def base2novel_table(
    cells: Cells,
    benchmark: str,
    protocol: str,
    title: str,
    groups: Sequence[str],
    reference: Reference,
    with_reported: bool = True,
) -> Table:
    datasets = sorted({g.split("/")[0] for g in groups}, key=group_order)
    foot = Footnotes(reference[1])
    headers, rows = ["model"], []
    for d in datasets:
        headers += [f"{d} base", f"{d} novel", f"{d} HM"] + ([f"{d} HM reported"] if with_reported else [])
    groups = [f"{d}/{part}" for d in datasets for part in ("base", "novel")]
    odd = {g: cells.column_settings(protocol, g)[0] for g in groups}
    for model in cells.models(protocol):
        rs = cells.first_records(protocol, model, groups)
        if rs is None:
            continue
        row = [model_label(rs)]
        for d in datasets:
            b_text, b = cell_text(cells, protocol, model, f"{d}/base", odd[f"{d}/base"])
            n_text, n = cell_text(cells, protocol, model, f"{d}/novel", odd[f"{d}/novel"])
            row += [b_text, n_text, fmt(harmonic_mean(b, n)) if b is not None and n is not None else "–"]
            if with_reported:
                row.append(reported_cells(reference[0], foot, protocol.split("+")[0], model, f"{d}/hm")[0])
        rows.append(row)
    notes = [
        "Top-1 (%): base test videos against base classes, novel against novel; mean ± sample std over "
        "seeds; HM = 2BN/(B+N) of the seed means."
    ] + settings_note(cells, protocol, groups)
    if with_reported:
        notes += foot.lines() + ["* recalled, not verified against the source"]
    return Table(benchmark_title(benchmark, title, splits_kind(cells, protocol)), headers, rows, notes)


# the table kinds a protocol config can declare (``report = dict(table=...)``)
TABLE_KINDS = {"accuracy": accuracy_table, "base_novel": base2novel_table}


def order_table(cells: Cells, benchmark: str) -> Table | None:
    """Time-order diagnostic: accuracy between classes that are time reversals of each other."""
    rows, groups = [], set()
    found = defaultdict(dict)
    for (protocol, model, group), rs in cells.cells.items():
        if model in cells.ablations:
            continue
        values = [pct(r["metrics"]["pair_acc"]) for r in rs if r["metrics"].get("pair_count")]
        if values:
            key = (protocol, group)
            found[model][key] = mean_std(values)
            groups.add(key)
    groups = sorted(groups, key=lambda k: (k[0], group_order(k[1])))
    for model in sorted(found):
        rows.append([model] + [fmt(*found[model][g]) if g in found[model] else "–" for g in groups])
    if not rows:
        return None
    notes = [
        "Reversal-pair accuracy (%): among test videos of classes that are exact time reversals of each "
        "other, how often the true class scores above its reversed partner. Chance (and any order-blind "
        "model) is 50."
    ]
    return Table(
        benchmark_title(benchmark, "Time-order diagnostic"), ["model"] + [f"{p}: {g}" for p, g in groups], rows, notes
    )


def ablation_table(cells: Cells, benchmark: str, base: str) -> Table | None:
    """``base`` (the full model) and its ablations, on every protocol group where the full model and at
    least one ablation have records: top-1, and reversal-pair accuracy where the group has pairs."""
    changes = {name: a["change"] for name, a in cells.ablations.items() if a["of"] == base}
    columns = []
    for protocol, model, group in sorted(cells.cells, key=lambda k: (k[0], group_order(k[2]))):
        if model != base:
            continue
        for metric in ("top1", "pair_acc"):
            if cells.values(protocol, base, group, metric)[0] and any(
                cells.values(protocol, m, group, metric)[0] for m in changes
            ):
                columns.append((protocol, group, metric))
    if not columns:
        return None

    def cell(model: str, column: tuple[str, str, str]) -> str:
        values = cells.values(column[0], model, column[1], column[2])[0]
        if not values:
            return "–"
        mean, std = mean_std(values)
        full = statistics.fmean(cells.values(column[0], base, column[1], column[2])[0])
        return fmt(mean, std) + ("" if model == base else f" ({mean - full:+.1f})")

    rows = [[f"{base} (full)"] + [cell(base, c) for c in columns]]
    rows += [[f"{name}: {change}"] + [cell(name, c) for c in columns] for name, change in sorted(changes.items())]
    headers = ["model"] + [f"{p}: {g}" + (" pair acc" if m == "pair_acc" else "") for p, g, m in columns]
    notes = [
        f"Top-1 (%), and reversal-pair accuracy (%) where noted; mean ± sample std over splits/seeds; in "
        f"brackets the difference from the full {base}. Each ablation changes one setting of {base}'s config "
        "(ezclip/registry/models/ablations/) and keeps its recipe."
    ]
    return Table(benchmark_title(benchmark, f"Ablations of {base}"), headers, rows, notes)


def build_tables(records: Iterable[Record]) -> dict[str, dict[str, Table]]:
    """{benchmark: {name: Table}} from records."""
    reference = reference_by_cell()
    out = {}
    for bench, rs in sorted(records_by_benchmark(records).items()):
        cells = Cells(rs)
        with_reported = bench == "full"
        protocols = sorted({record_protocol_id(r) for r in cells.ok})
        tables = {}
        for protocol in protocols:
            groups = sorted({g for (p, _, g) in cells.cells if p == protocol}, key=group_order)
            # how a protocol is reported is declared by its config and carried by its records
            info = next(r["protocol"] for r in cells.ok if record_protocol_id(r) == protocol)
            title = info["title"] + (f" (variant {info['variant']})" if info.get("variant") else "")
            table = TABLE_KINDS[info["report"]["table"]]
            tables[protocol] = table(cells, bench, protocol, title, groups, reference, with_reported)
        order = order_table(cells, bench)
        if order:
            tables["order"] = order
        for base in sorted({a["of"] for a in cells.ablations.values()}):
            ablation = ablation_table(cells, bench, base)
            if ablation:
                tables[f"ablation-{base}"] = ablation
        if cells.other:
            tables["status"] = Table(
                benchmark_title(bench, "Jobs not reported above"),
                ["protocol", "model", "stage", "list", "status", "reason"],
                sorted(
                    [
                        record_protocol_id(r),
                        model_key(r),
                        r["stage"],
                        f"{r['eval']['dataset']}/{r['eval']['list']}",
                        r["status"],
                        r.get("reason", ""),
                    ]
                    for r in cells.other
                ),
                [],
            )
        out[bench] = tables
    return out


def _num(value: float | None, fmt: str) -> str:
    if value is None:
        return "–"
    return format(value, fmt) if abs(value) >= 1 else format(value, ".3g")


def efficiency_table(doc: Mapping[str, Any], name: str) -> Table:
    """Parameters, FLOPs and throughput of an ``ezclip-bench profile`` run (its ``--json`` file, or
    the record ``profile`` prints): the one way these rows are shown, as a table and on the console."""
    rows = doc["rows"]
    timed = any("latency_ms" in row for row in rows)
    classes = next((row["classes"] for row in rows if "classes" in row), None)
    batch = next((row["batch"] for row in rows if "batch" in row), None)
    headers = [
        "model",
        "arch",
        "frames",
        "params total",
        "params trainable",
        "GMAC/view",
        "GFLOPs/view",
        "x tower",
        "text GMAC/prompt",
        f"class side GMAC (K={classes})",
    ]
    if timed:
        headers += ["ms/video (b1)", f"videos/s (b{batch})", "frames/s", "x tower speed", "speed/FLOPs"]
    headers += ["reported GFLOPs [source]"]
    table, notes = [], []
    for row in rows:
        line = [
            row["model"],
            row["arch"],
            row["frames"],
            f"{row['params_total']:,}",
            f"{row['params_trainable']:,}",
            _num(row.get("vision_gmac"), ".2f"),
            _num(row.get("vision_gflops"), ".2f"),
            _num(row.get("vision_gmac_ratio_vs_tower"), ".3f"),
            _num(row.get("text_per_prompt_gmac"), ".2f"),
            _num(row.get("class_side_per_video_gmac"), ".3f"),
        ]
        if timed:
            line += [
                _num(row.get("latency_ms"), ".1f"),
                _num(row.get("videos_per_s"), ".2f"),
                _num(row.get("frames_per_s"), ".1f"),
                _num(row.get("throughput_ratio_vs_tower"), ".3f"),
                _num(row.get("speed_vs_flops"), ".3f"),
            ]
        reported = "–"
        if "reported_gflops" in row:
            reported = (
                f"{row['reported_gflops']:g} ({row.get('reported_frames', '?')}f) "
                f"[{row.get('reported_source')}, {row.get('reported_confidence')}]"
            )
        table.append(line + [reported])
        if "vision_gmac_analytic" in row:
            notes.append(
                f"{row['model']} ({row['arch']}, {row['frames']}f): {row['vision_gmac_per_frame']:.3f} "
                f"GMAC/frame; analytic {row['vision_gmac_analytic']:.2f} GMAC, counted "
                f"{row['vision_vs_analytic']:+.2%} (LayerNorm)"
            )
        if row.get("reference_note"):
            notes.append(
                f"{row['model']}: reported {row['reported_gflops']:g} GFLOPs at {row['reported_frames']}f "
                f"({row.get('reported_source', '')}, as reported) vs measured {row['vision_gmac']:.1f} GMAC "
                f"at {row['frames']}f: {row['reference_note']}"
            )
        if row.get("uncounted_ops"):
            notes.append(f"{row['model']}: operators left uncounted: {row['uncounted_ops']}")
    notes.insert(
        0,
        "GMAC = fvcore count of one view's image path, attention included (1 multiply-add = 1 FLOP, the "
        "papers' 'GFLOPs'); GFLOPs = 2 x GMAC; x tower = GMAC over the plain CLIP image tower's; class side "
        "= per-video cost of scoring K cached class texts.",
    )
    if timed:
        machine, first = doc["meta"].get("machine", {}), next(row for row in rows if "latency_ms" in row)
        notes.append(
            f"Timing: {first.get('device')} ({machine.get('device_name', '')}, {first.get('threads')} of "
            f"{machine.get('cpu_count', '?')} cores as torch threads, 1-min load "
            f"{first.get('load_average_1min', float('nan')):.1f} at the start), {first.get('dtype')}, no_grad, "
            f"eval, warm-up {first.get('warmup')}, {first.get('iters')} timed forwards, median; text features "
            "precomputed; x tower speed = throughput over the plain CLIP image tower's, timed in alternation "
            "with it in the same run (median of per-pair ratios); speed/FLOPs = x tower speed times the "
            "model's per-video GMAC over the tower's (1 = as fast as its FLOPs say)."
        )
        busy = first.get("load_average_1min", 0) - (machine.get("cpu_count") or 1)
        if first.get("device") == "cpu" and busy > -1:
            advice = (
                ""
                if first.get("threads") == 1
                else (
                    "; with more than one thread, models with many small operators lose more than their FLOPs say: "
                    "use --threads 1"
                )
            )
            notes.append(
                f"The CPU was busy (1-min load {first['load_average_1min']:.1f} on "
                f"{machine.get('cpu_count')} cores): absolute timings are slowed{advice}."
            )
    return Table(f"Efficiency ({name})", headers, table, notes)


def read_profiles(folder: Path) -> dict[str, dict[str, Any]]:
    """The efficiency profiles in ``folder`` (``ezclip-bench profile``: a JSON object with ``rows``) by
    name. pytest-benchmark's files (``tox -e bench`` writes ``benchmarks.json`` there, for ``plan``) are
    not profiles and are left to ``plan``; any other file is an ``InputError`` naming it."""
    profiles = {}
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except ValueError as exc:
            raise InputError(path, f"not JSON ({exc})") from None
        if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
            profiles[path.stem] = doc
        elif not (isinstance(doc, dict) and "benchmarks" in doc and "machine_info" in doc):
            raise InputError(path, "neither an efficiency profile (rows) nor pytest-benchmark output")
    return profiles


def write_tables(
    results_dir: str | Path, out_dir: str | Path | None = None
) -> tuple[list[Path], dict[str, dict[str, Table]]]:
    """Regenerate every table (and figure, see ``plots``) under ``<results>/tables/<benchmark>/`` from
    ``<results>/records`` and ``<results>/efficiency``. Files of a benchmark whose records are gone
    are removed, so no stale number survives."""
    from ezclip import plots  # matplotlib: only when writing

    results_dir = Path(results_dir)
    out_dir = Path(out_dir) if out_dir else results_dir / "tables"
    records = read_records(results_dir / "records")
    built = build_tables(records)
    efficiency = read_profiles(results_dir / "efficiency")
    for name, doc in efficiency.items():
        built.setdefault("efficiency", {})[name] = efficiency_table(doc, name)
    written = []
    for old in sorted(out_dir.glob("*/*")) if out_dir.exists() else []:
        old.unlink()

    def atomic(path: Path, write: Callable[[Path], object]) -> None:
        with atomic_path(path) as tmp:
            write(tmp)
        written.append(path)

    for bench, tables in built.items():
        for name, table in tables.items():
            for ext, text in (("md", table.markdown()), ("csv", table.csv()), ("tex", table.latex())):
                atomic(out_dir / bench / f"{name}.{ext}", lambda tmp, text=text: tmp.write_text(text))
    for bench, rs in sorted(records_by_benchmark(records).items()):
        figures = plots.build_figures(
            Cells(rs), lambda title, bench=bench: benchmark_title(bench, title), list(efficiency.values())
        )
        for name, figure in figures.items():
            atomic(out_dir / bench / f"{name}.png", lambda tmp, figure=figure: plots.save(figure, tmp))
    return written, built
