"""``ezclip-bench data check``: per dataset and list, videos listed, found and decodable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ezclip.benchmark import DATASETS, Benchmark
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.data.probe import probe_video


def check_data(
    benchmark: Benchmark, datasets: Iterable[str] | None = None, probe: bool = True, show: int = 5
) -> list[dict[str, Any]]:
    """Rows ``dict(dataset, list, listed, found, decodable, missing=[...], undecodable=[...])`` for every
    list file the benchmark has; lists are read with their class CSV when one names them."""
    rows = []
    for dataset in datasets or DATASETS:
        folder = benchmark.splits_root / dataset
        for list_file in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            num_classes = max((len(read_class_csv(c)) for c in folder.glob("*.csv")), default=10**6)
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
                )
            )
    return rows
