"""``ezclip-bench data check``: per dataset and list, videos listed, found and decodable (each distinct
file probed once, in parallel, through the cache ``run`` keeps); for a sample of each list, whether
every backend returns the frames asked for (``verify_frames``); and every class file a protocol reads
beside a list that is there."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ezclip.benchmark import DATASETS, Benchmark
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.data.probe import probe_videos, read_frame_checks, write_frame_checks
from ezclip.data.transforms import default_backends, exact_backends, verify_frames, video_kind
from ezclip.files import file_state
from ezclip.harness import frame_checks_file, list_protocols, load_protocol, probe_cache


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
    benchmark: Benchmark,
    datasets: Iterable[str] | None = None,
    probe: bool = True,
    show: int = 5,
    frames_sample: int | None = 20,
    work_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Rows ``dict(dataset, list, listed, found, decodable, missing=[...], undecodable=[...],
    frames_checked, wrong_frames=[...])`` for every list file the benchmark has; labels are checked
    against the list's class file (the one a protocol names, else the full class set).

    ``frames_sample``: that many decodable videos of each list (spread over it; ``None``: all) are read
    by every backend of the chain and compared with PyAV decoding forward; ``wrong_frames`` names each
    file a backend got wrong, with the backend, the kind of file, and the backend a run reads it with.
    ``work_dir``: where ``run`` keeps its probe answers (by file size and mtime), shared with it."""
    rows, classes_of, backends = [], protocol_lists(), default_backends()
    for dataset in datasets or DATASETS:
        folder = benchmark.splits_root / dataset
        for list_file in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            # its own class file (the full class set for a list no protocol reads); when that is
            # absent labels go unchecked here, and missing_class_files names it
            class_file = benchmark.class_file(dataset, classes_of.get((dataset, list_file.stem), "classes"))
            num_classes = len(read_class_csv(class_file)) if class_file.is_file() else 10**6
            entries = read_video_list(list_file, num_classes)
            root = benchmark.video_root(dataset)
            paths = list(dict.fromkeys(e.path for e in entries))  # each distinct file once
            exists = {p: (root / p).exists() for p in paths}
            present = [p for p in paths if exists[p]]
            answers = {}
            if probe:
                cache = probe_cache(work_dir, list_file) if work_dir else None
                answers = probe_videos([str(root / p) for p in present], backends, cache)
            bad = {p for p in present if answers.get(str(root / p))}
            good = [p for p in present if p not in bad and not (root / p).is_dir()]  # a folder's frames are files
            if not probe or frames_sample == 0:
                sample = []
            elif frames_sample is None:
                sample = good
            else:
                sample = good[:: max(1, len(good) // frames_sample)][:frames_sample]
            wrong = check_frames(sample, root, backends, frame_checks_file(work_dir, list_file) if work_dir else None)
            listed_missing = [e.path for e in entries if not exists[e.path]]
            rows.append(
                dict(
                    dataset=dataset,
                    list=list_file.stem,
                    listed=len(entries),
                    found=len(entries) - len(listed_missing),
                    decodable=sum(1 for e in entries if exists[e.path] and e.path not in bad) if probe else None,
                    missing=list(dict.fromkeys(listed_missing))[:show],
                    missing_count=len(listed_missing),
                    undecodable=[p for p in present if p in bad][:show],
                    undecodable_count=sum(1 for e in entries if e.path in bad),
                    frames_checked=len(sample),
                    wrong_frames=wrong,
                )
            )
    return rows


def check_frames(
    videos: Sequence[str], root: Path, backends: Sequence[str], checks_file: Path | None
) -> list[dict[str, Any]]:
    """``verify_frames`` on each of ``videos`` (under ``root``), in parallel threads (the decoders run
    outside the GIL); the findings are kept in ``checks_file`` by file size and mtime, where ``run``
    reads which backend to avoid on a file, and a file checked before and unchanged is not read again."""
    known = read_frame_checks(checks_file) if checks_file else {}

    def check(path: str) -> dict[str, Any]:
        filename, state = str(root / path), file_state(str(root / path))
        if known.get(filename, {}).get("state") == state:
            return known[filename]
        found = verify_frames(filename, backends)
        avoid = [w["backend"] for w in found if w["trusted"]]  # EXACT trusts it here, and it is wrong
        read_by = exact_backends(video_kind(filename), [b for b in backends if b not in avoid])[0]
        return dict(state=state, wrong=avoid, found=found, read_by=read_by)

    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        checked = dict(zip(videos, pool.map(check, videos)))
    fresh = {str(root / p): c for p, c in checked.items() if str(root / p) not in known or known[str(root / p)] != c}
    if checks_file and fresh:
        write_frame_checks(checks_file, fresh)
    return [dict(w, video=p, read_by=c["read_by"]) for p, c in checked.items() for w in c["found"]]


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
