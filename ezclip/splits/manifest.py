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
from ezclip.errors import InputError, UnknownNameError

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
