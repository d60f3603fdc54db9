"""``ezclip-bench data check``: per dataset and list, videos listed, found and decodable (each distinct
file probed once, in parallel, through the cache ``run`` keeps); for a sample of each list, whether
every backend returns the frames asked for (``verify_frames``); and every class file a protocol reads
beside a list that is there."""

from __future__ import annotations

from collections.abc import Iterable
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
            missing = [p for p in paths if not (root / p).exists()]
            present = [p for p in paths if (root / p).exists()]
            answers = {}
            if probe:
                cache = probe_cache(work_dir, list_file) if work_dir else None
                answers = probe_videos([str(root / p) for p in present], backends, cache)
            bad = [p for p in present if answers.get(str(root / p))]
            good = [p for p in present if p not in set(bad)]
            if not probe or frames_sample == 0:
                sample = []
            elif frames_sample is None:
                sample = good
            else:
                sample = good[:: max(1, len(good) // frames_sample)][:frames_sample]
            wrong, checks = [], {}
            known = read_frame_checks(frame_checks_file(work_dir, list_file)) if work_dir else {}
            for path in sample:
                filename = str(root / path)
                if (root / path).is_dir():
                    continue  # frame folders: every frame is its own file
                state = file_state(filename)
                check = known.get(filename)
                if not check or check["state"] != state:  # not checked yet, or replaced since
                    found = verify_frames(filename, backends)
                    avoid = [w["backend"] for w in found if w["trusted"]]
                    read_by = exact_backends(video_kind(filename), [b for b in backends if b not in avoid])[0]
                    check = checks[filename] = dict(state=state, wrong=avoid, found=found, read_by=read_by)
                wrong += [dict(w, video=path, read_by=check["read_by"]) for w in check["found"]]
            if work_dir and checks:  # run reads these: a video a trusted backend got wrong goes to another
                write_frame_checks(frame_checks_file(work_dir, list_file), checks)
            rows.append(
                dict(
                    dataset=dataset,
                    list=list_file.stem,
                    listed=len(entries),
                    found=sum(1 for e in entries if (root / e.path).exists()),
                    decodable=sum(1 for e in entries if (root / e.path).exists() and e.path not in set(bad))
                    if probe
                    else None,
                    missing=missing[:show],
                    missing_count=len(missing),
                    undecodable=bad[:show],
                    undecodable_count=len(bad),
                    frames_checked=len(sample),
                    wrong_frames=wrong,
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
