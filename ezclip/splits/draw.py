"""Drawing new seeded few-shot and base-to-novel lists from a full train list, by the originals' rule."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezclip.benchmark import default_splits
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.datasets import base_novel
from ezclip.errors import InputError
from ezclip.files import write_text
from ezclip.records import file_sha256
from ezclip.splits.manifest import class_csv_text, list_text, write_provenance

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ezclip.data.lists import VideoEntry

# ---------------------------------------------------------------- drawing new splits


def sample_per_class(
    by_class: Mapping[int, Sequence[VideoEntry]],
    labels: Iterable[int],
    k: int,
    seed: int,
    what: str,
    names: Sequence[str],
    train_list: str | Path,
) -> list[list[VideoEntry]]:
    """``k`` entries of each class in ``labels`` (in list order), drawn with a seeded RNG."""
    rng = random.Random(f"{what}:{k}:{seed}")  # a str seed is hashed with sha512: the same on every machine
    picked = []
    for label in labels:
        entries = by_class[label]
        if len(entries) < k:
            raise InputError(train_list, f"class {names[label]!r} has {len(entries)} videos, fewer than {k}")
        picked.append(sorted(rng.sample(entries, k), key=lambda e: e.line))
    return picked


def draw_splits(
    dataset: str,
    train_list: str | Path,
    classes_csv: str | Path,
    out: str | Path | None = None,
    shots: Iterable[int] = (2, 4, 8, 16),
    seeds: Sequence[int] = (1, 2, 3),
    base_shots: int = 16,
    test_list: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write fewshot_K (first seed), base_train_s1.. (one per seed), base/novel class sets and, with a test
    list, base_test/novel_test into ``<out>/<dataset>/``; returns the note written next to them."""
    names = read_class_csv(classes_csv)
    train = read_video_list(train_list, len(names))
    by_class = defaultdict(list)
    for e in train:
        by_class[e.label].append(e)
    counts = [len(by_class[i]) for i in range(len(names))]
    base, novel = base_novel(names, counts)
    position = {label: i for i, label in enumerate(base)} | {label: i for i, label in enumerate(novel)}

    def lines(groups: Iterable[Iterable[VideoEntry]], relabel: Mapping[int, int] | Sequence[int]) -> str:
        return list_text((e.path, e.num_frames, relabel[e.label]) for group in groups for e in group)

    files = {
        "classes.csv": class_csv_text(names),
        "base.csv": class_csv_text([names[i] for i in base]),
        "novel.csv": class_csv_text([names[i] for i in novel]),
    }
    drawn = {}
    for k in shots:
        files[f"fewshot_{k}.txt"] = lines(
            sample_per_class(by_class, range(len(names)), k, seeds[0], "fewshot", names, train_list), range(len(names))
        )
        drawn[f"fewshot_{k}"] = dict(class_set="classes", per_class=k, seed=seeds[0], lines=k * len(names))
    for s, seed in enumerate(seeds, start=1):
        files[f"base_train_s{s}.txt"] = lines(
            sample_per_class(by_class, base, base_shots, seed, "base_train", names, train_list), position
        )
        drawn[f"base_train_s{s}"] = dict(
            class_set="base", per_class=base_shots, seed=seed, lines=base_shots * len(base)
        )
    if test_list:
        test = read_video_list(test_list, len(names))
        for name, part in (("base_test", set(base)), ("novel_test", set(novel))):
            chosen = [e for e in test if e.label in part]
            files[f"{name}.txt"] = lines([chosen], position)
            drawn[name] = dict(class_set=name.split("_")[0], lines=len(chosen))

    folder = Path(out or default_splits()) / dataset
    clash = [folder / name for name in files if (folder / name).exists()]
    if clash and not force:
        raise InputError(clash[0], "already exists; pass --force to overwrite, or another --out / --dataset")
    note = dict(
        dataset=dataset,
        train_list=str(Path(train_list).resolve()),
        train_sha256=file_sha256(train_list),
        classes_csv=str(Path(classes_csv).resolve()),
        test_list=str(Path(test_list).resolve()) if test_list else None,
        rule=(
            "base = the most frequent half of classes by train count (the larger half when odd), ties broken by "
            "name: classes sorted by (count, name) ascending, the first floor(C/2) novel, the rest base, both "
            "listed in that order; K videos per class drawn with random.Random('<list kind>:<K>:<seed>') from "
            "each class's train videos in list order (kinds 'fewshot', 'base_train'); few-shot lists use the "
            "first seed, base_train_s<i> the i-th"
        ),
        train_counts={names[i]: counts[i] for i in range(len(names))},
        base=[names[i] for i in base],
        novel=[names[i] for i in novel],
        lists=drawn,
    )
    files["drawn.json"] = json.dumps(note, indent=1) + "\n"
    for name, text in files.items():
        write_text(folder / name, text)
    train_id = f"{Path(train_list).name}@{note['train_sha256'][:8]}"
    write_provenance(  # replaces the entries of the lists overwritten (an official import's among them)
        folder,
        {
            name: dict(
                kind="custom",
                label=f"custom: drawn by `splits make` with seed {info['seed']} from {train_id}"
                if "seed" in info
                else f"custom: the {info['class_set']} classes of {Path(test_list).name}@{file_sha256(test_list)[:8]}",
                **info,
            )
            for name, info in drawn.items()
        },
    )
    return note
