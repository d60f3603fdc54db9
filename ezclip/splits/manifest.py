"""The split manifests (``ezclip/registry/splits/<dataset>.json``): class sets, the official files each
list may come from, and the class names that official video file names carry."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezclip import datasets, registry
from ezclip.benchmark import PROVENANCE_FILE
from ezclip.errors import InputError, UnknownNameError
from ezclip.files import write_text
from ezclip.records import file_sha256

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MANIFEST_DIR = registry.SPLITS
DATASETS = tuple(datasets.DATASETS)
REPOS = ("ViFi-CLIP", "EZ-CLIP")


# ---------------------------------------------------------------- manifests


def load_manifest(dataset: str, manifest_dir: str | Path | None = None) -> dict[str, Any]:
    path = Path(manifest_dir or MANIFEST_DIR) / f"{dataset}.json"
    if not path.is_file():
        raise UnknownNameError("dataset", dataset, DATASETS)
    manifest = json.loads(path.read_text())
    if manifest.get("dataset") != dataset:
        raise InputError(path, f"manifest is for dataset {manifest.get('dataset')!r}, not {dataset!r}")
    return manifest


def is_training_list(name: str) -> bool:
    """Training lists (``train``, ``base_train_*``, ``fewshot_K``); every other list is evaluated."""
    return "train" in name or name.startswith("fewshot")


CLASS_SETS = ("classes", "base", "novel", "novel_split1", "novel_split2", "novel_split3", "novel220", "novel232")


def class_sets(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every class set of a manifest: name -> class names in label order."""
    return {name: manifest[name] for name in CLASS_SETS if name in manifest}


# ---------------------------------------------------------------- class names embedded in video file names

# HMDB51: <title>_<class words>_<visible body>_<camera motion>_np<people>_<view>_<quality>_<n>.avi
HMDB_SUFFIX = re.compile(r"_[a-z]_(?:cm|nm)_np\d+_(?:ba|fr|le|ri)_(?:bad|med|goo)_\d+(?:\.avi)?$")
UCF_NAME = re.compile(r"^v_(?P<cls>[A-Za-z]+)_g\d+_c\d+")


def class_in_path(rule: str | None, path: str, names: Iterable[str]) -> str | None:
    """The class a video's file name names (one of ``names``), or None where the name says nothing."""
    stem = os.path.basename(path)
    if rule == "hmdb51":
        match = HMDB_SUFFIX.search(stem)
        if not match:
            return None
        title = stem[: match.start()]
        # the longest class the title ends with: 'draw_sword' beats 'sword', 'kick_ball' is never 'kick'
        hits = [n for n in names if title == n.replace(" ", "_") or title.endswith("_" + n.replace(" ", "_"))]
        return max(hits, key=len) if hits else None
    if rule == "ucf101":
        match = UCF_NAME.match(stem)
        if not match:
            return None
        # 'HandstandPushups' is spelled 'HandStandPushups' in the file names
        by_lower = {n.lower(): n for n in names}
        return by_lower.get(match["cls"].lower())
    return None


# ---------------------------------------------------------------- the layout protocols read


def class_csv_text(names: Iterable[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "name"])
    writer.writerows(enumerate(names))
    return buf.getvalue()


def list_text(entries: Iterable[tuple[str, int | None, int]]) -> str:
    return "".join(
        f"{path} {label}\n" if frames is None else f"{path} {frames} {label}\n" for path, frames, label in entries
    )


def write_provenance(folder: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Record where the lists just written into ``folder`` came from (``Benchmark.provenance`` reads it):
    each entry replaces the list's old one and holds the sha256 of the file as written."""
    path = folder / PROVENANCE_FILE
    index = json.loads(path.read_text()) if path.is_file() else {}
    index.setdefault("lists", {})
    for name, entry in entries.items():
        index["lists"][name] = dict(entry, written_sha256=file_sha256(folder / f"{name}.txt"))
    write_text(path, json.dumps(index, indent=1, sort_keys=True) + "\n")
