"""``ezclip-bench data check``: per dataset and list, videos listed, found and decodable; and every
class file a protocol reads beside a list that is there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ezclip.benchmark import DATASETS, Benchmark
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.data.probe import probe_video
from ezclip.harness import list_protocols, load_protocol


def protocol_lists() -> dict[tuple[str, str], str]:
    """``{(dataset, list): class set}`` of every list a protocol (any variant) reads."""
    lists = {}
    for name in list_protocols():
        protocol = load_protocol(name)
        for cfg in [protocol] + [load_protocol(name, v) for v in protocol.get("variants", {})]:
            for stage in cfg.stages:
                for spec in [stage.get("train")] + list(stage["evaluate"]):
                    if spec:
                        lists[(spec["dataset"], spec["list"])] = spec["classes"]
    return lists


def check_data(
    benchmark: Benchmark, datasets: Iterable[str] | None = None, probe: bool = True, show: int = 5
) -> list[dict[str, Any]]:
    """Rows ``dict(dataset, list, listed, found, decodable, missing=[...], undecodable=[...])`` for every
    list file the benchmark has; labels are checked against the list's class file (the one a protocol
    names, else the full class set)."""
    rows, classes_of = [], protocol_lists()
    for dataset in datasets or DATASETS:
        folder = benchmark.splits_root / dataset
        for list_file in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            # its own class file (the full class set for a list no protocol reads); when that is
            # absent labels go unchecked here, and missing_class_files names it
            class_file = benchmark.class_file(dataset, classes_of.get((dataset, list_file.stem), "classes"))
            num_classes = len(read_class_csv(class_file)) if class_file.is_file() else 10**6
            entries = read_video_list(list_file, num_classes)
            root = benchmark.video_root(dataset)
            missing = [e.path for e in entries if not (root / e.path).is_file()]
            present = [e.path for e in entries if (root / e.path).is_file()]
            bad = [p for p in present if probe and probe_video(str(root / p)) is not None]
            rows.append(
                dict(
                    dataset=dataset,
                    list=list_file.stem,
                    listed=len(entries),
                    found=len(present),
                    decodable=len(present) - len(bad) if probe else None,
                    missing=missing[:show],
                    missing_count=len(missing),
                    undecodable=bad[:show],
                    undecodable_count=len(bad),
                )
            )
    return rows


def missing_class_files(benchmark: Benchmark, datasets: Iterable[str] | None = None) -> list[str]:
    """Class files that a protocol reads beside a list that is there, but that are not."""
    wanted = set(datasets or DATASETS)
    missing = set()
    for (dataset, list_name), classes in protocol_lists().items():
        list_file = benchmark.list_file(dataset, list_name)
        class_file = benchmark.class_file(dataset, classes)
        if dataset in wanted and list_file.is_file() and not class_file.is_file():
            missing.add(f"{class_file} (read with {list_file.name})")
    return sorted(missing)
