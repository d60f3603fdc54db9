"""Split manifests (``splits/<dataset>.json``), the importer of official split files and the drawer of new ones.

The project ships no per-video list. It ships, per dataset, a manifest holding the class sets (names in the
harness's label order) and, for every list a protocol reads, the official file(s) it may be imported from with
their sha256, line count and class count. ``ezclip-bench splits import`` verifies a user's checkout of ViFi-CLIP
or EZ-CLIP against the manifests and writes the layout every protocol reads::

    <out>/<dataset>/<list>.txt        'path label' (or 'path num_frames label'), labels index the list's class set
    <out>/<dataset>/<classset>.csv    'id,name', written from the manifest
    <out>/<dataset>/imported.json     where each list came from and how it was verified

``ezclip-bench splits make`` draws new seeded few-shot and base-to-novel lists from a full train list by the
originals' rule, in the same layout.

Label mapping rules of a source file (manifest key ``labels``):

- ``index``: labels already index the harness class set (ViFi-CLIP; its HMDB files follow the video file names,
  which is why the harness's HMDB names swap ``kick``/``kick ball`` and ``sword``/``sword exercise`` relative to
  ViFi's label CSVs);
- ``name``: labels index the repo's own class CSV (``class_csv``) and are re-labelled by class name (EZ-CLIP).
  EZ-CLIP's paths are absolute paths on its authors' machines; only the file name is kept (``paths: basename``).
"""

import csv
import io
import json
import os
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ezclip import datasets, registry
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.datasets import base_novel
from ezclip.errors import EzclipError, InputError, UnknownNameError
from ezclip.files import write_text
from ezclip.records import file_sha256

MANIFEST_DIR = registry.SPLITS
DATASETS = tuple(datasets.DATASETS)
REPOS = ("ViFi-CLIP", "EZ-CLIP")
MAX_PROBLEMS = 10  # per file, in the report


def default_out():
    """Where the benchmark looks for imported splits (``ezclip.benchmark.default_splits``)."""
    from ezclip.benchmark import default_splits

    return default_splits()


# ---------------------------------------------------------------- manifests


def load_manifest(dataset, manifest_dir=None):
    path = Path(manifest_dir or MANIFEST_DIR) / f"{dataset}.json"
    if not path.is_file():
        raise UnknownNameError("dataset", dataset, DATASETS)
    manifest = json.loads(path.read_text())
    if manifest.get("dataset") != dataset:
        raise InputError(path, f"manifest is for dataset {manifest.get('dataset')!r}, not {dataset!r}")
    return manifest


CLASS_SETS = ("classes", "base", "novel", "novel_split1", "novel_split2", "novel_split3", "novel220", "novel232")


def class_sets(manifest):
    """Every class set of a manifest: name -> class names in label order."""
    return {name: manifest[name] for name in CLASS_SETS if name in manifest}


# ---------------------------------------------------------------- class names embedded in video file names

# HMDB51: <title>_<class words>_<visible body>_<camera motion>_np<people>_<view>_<quality>_<n>.avi
HMDB_SUFFIX = re.compile(r"_[a-z]_(?:cm|nm)_np\d+_(?:ba|fr|le|ri)_(?:bad|med|goo)_\d+(?:\.avi)?$")
UCF_NAME = re.compile(r"^v_(?P<cls>[A-Za-z]+)_g\d+_c\d+")


def class_in_path(rule, path, names):
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


# ---------------------------------------------------------------- checking one official file


@dataclass
class Checked:
    """One official file checked against its manifest entry (a list, or a class CSV when ``list_name`` is None)."""

    dataset: str
    list_name: str | None
    repo: str
    relpath: str
    file: Path
    lines: int = 0
    classes: int = 0
    sha256: str = "unknown"  # 'yes', 'no' or 'unknown' (the manifest has no hash)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    entries: list = field(default_factory=list)  # (path, num_frames, harness label), relabelled
    status: str = ""

    @property
    def ok(self):
        return not self.problems

    def problem(self, message, line=None):
        self.problems.append(f"{self.file}:{line}: {message}" if line is not None else f"{self.file}: {message}")


def check_hash_and_count(result, spec, count, what="lines"):
    if spec.get("sha256") is None:
        result.sha256 = "unknown"
        result.warnings.append(f"{result.file}: not verified: sha256 unknown")
    else:
        actual = file_sha256(result.file)
        result.sha256 = "yes" if actual == spec["sha256"] else "no"
        if actual != spec["sha256"]:
            result.problem(
                f"sha256 mismatch: {actual[:12]}... instead of {spec['sha256'][:12]}... (not the official file)"
            )
    if spec.get(what) is not None and count != spec[what]:
        result.problem(f"{count} {what} instead of {spec[what]}")


def check_class_file(manifest, spec, file):
    """An official class CSV: its hash, and its names against the manifest's class set (``renamed`` allowed)."""
    result = Checked(manifest["dataset"], None, spec["repo"], spec["path"], file)
    try:
        names = read_class_csv(file)
    except InputError as exc:
        result.problems.append(str(exc))
        return result
    result.lines = result.classes = len(names)
    check_hash_and_count(result, spec, len(names), "classes")
    expected = manifest[spec["class_set"]]
    renamed = [spec.get("renamed", {}).get(n, n) for n in names]
    same = renamed == expected if spec.get("order", "index") == "index" else sorted(renamed) == sorted(expected)
    if not same:
        result.problem(f"class names differ from the manifest's {spec['class_set']!r} set")
    elif spec.get("renamed"):
        swaps = sorted({" / ".join(sorted(pair)) for pair in spec["renamed"].items()})
        result.warnings.append(
            f"{file}: names swapped relative to the video file names ({'; '.join(swaps)}); "
            "the imported class CSVs use the names the videos carry"
        )
    return result


def check_list(manifest, list_name, source, file, class_csv=None):
    """An official video list: hash, line and class counts, labels, and the class names in its file names."""
    spec = manifest["lists"][list_name]
    names = manifest[spec["class_set"]]
    result = Checked(manifest["dataset"], list_name, source["repo"], source["path"], file)
    try:
        if source["labels"] == "index":
            entries = read_video_list(file, len(names))
            relabel = list(range(len(names)))
        else:  # 'name': labels index the repo's own CSV; map them by name
            own = read_class_csv(class_csv)
            entries = read_video_list(file, len(own))
            index = {n: i for i, n in enumerate(names)}
            relabel = [index.get(n) for n in own]
    except InputError as exc:
        result.problems.append(str(exc))
        return result
    result.lines = len(entries)
    check_hash_and_count(result, source, len(entries))

    seen, per_class = {}, defaultdict(list)
    for e in entries:
        label = relabel[e.label]
        if label is None:
            result.problem(f"label {e.label} = {own[e.label]!r} is not a class of {spec['class_set']!r}", e.line)
            continue
        path = os.path.basename(e.path) if source.get("paths") == "basename" else e.path
        if path in seen:
            result.problem(f"{path} listed twice (also line {seen[path]})", e.line)
        seen[path] = e.line
        named = class_in_path(manifest.get("path_class_rule"), path, names)
        if manifest.get("path_class_rule") and named != names[label]:
            result.problem(f"{path} is {named!r} by its file name but labelled {e.label} (= {names[label]!r})", e.line)
        per_class[label].append(e.line)
        result.entries.append((path, e.num_frames, label))
    result.classes = len(per_class)
    if source.get("classes") is not None and result.classes != source["classes"]:
        result.problem(f"{result.classes} classes present instead of {source['classes']}")
    if spec.get("per_class"):
        for label, lines in sorted(per_class.items()):
            if len(lines) != spec["per_class"]:
                result.problem(
                    f"class {names[label]!r} has {len(lines)} videos instead of {spec['per_class']} "
                    f"(lines {', '.join(map(str, lines[:20]))})"
                )
    return result


# ---------------------------------------------------------------- import


def find_checkouts(source, manifests):
    """{repo: folder}: SOURCE itself or its immediate sub-folders, recognised by the manifests' file paths."""
    source = Path(source)
    if not source.is_dir():
        raise InputError(source, "not a folder (expected a checkout of ViFi-CLIP or EZ-CLIP, or a folder of them)")
    paths = defaultdict(set)
    for manifest in manifests:
        for spec in manifest.get("class_files", []):
            paths[spec["repo"]].add(spec["path"])
        for spec in manifest["lists"].values():
            for src in spec["sources"]:
                paths[src["repo"]].add(src["path"])
    found = defaultdict(list)
    for folder in [source] + sorted(p for p in source.iterdir() if p.is_dir()):
        for repo, rels in paths.items():
            if any((folder / rel).is_file() for rel in rels):
                found[repo].append(folder)
    for repo, folders in found.items():
        if len(folders) > 1:
            raise InputError(source, f"several checkouts of {repo}: {', '.join(map(str, folders))}; pass one")
    return {repo: folders[0] for repo, folders in found.items()}


def class_csv_text(names):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "name"])
    writer.writerows(enumerate(names))
    return buf.getvalue()


def list_text(entries):
    return "".join(
        f"{path} {label}\n" if frames is None else f"{path} {frames} {label}\n" for path, frames, label in entries
    )


def import_dataset(manifest, checkouts, out):
    """Check every official file of one dataset found in ``checkouts``; write the accepted lists.

    Returns the report rows and the names of the lists none of whose sources is there."""
    rows, by_path, missing = [], {}, []
    for spec in manifest.get("class_files", []):
        if spec["repo"] in checkouts and (checkouts[spec["repo"]] / spec["path"]).is_file():
            result = check_class_file(manifest, spec, checkouts[spec["repo"]] / spec["path"])
            result.status = "checked" if result.ok else "REJECTED"
            by_path[(spec["repo"], spec["path"])] = result
            rows.append(result)
    written = {}
    for list_name, spec in manifest["lists"].items():
        present = [
            s for s in spec["sources"] if s["repo"] in checkouts and (checkouts[s["repo"]] / s["path"]).is_file()
        ]
        if not present:
            missing.append(list_name)
        for source in present:
            folder = checkouts[source["repo"]]
            class_csv = None
            if source["labels"] == "name":
                class_csv = folder / source["class_csv"]
                csv_check = by_path.get((source["repo"], source["class_csv"]))
                if csv_check is not None and not csv_check.ok:
                    result = Checked(
                        manifest["dataset"], list_name, source["repo"], source["path"], folder / source["path"]
                    )
                    result.problem(f"its class CSV {class_csv} was rejected")
                    result.status = "REJECTED"
                    rows.append(result)
                    continue
            result = check_list(manifest, list_name, source, folder / source["path"], class_csv)
            if not result.ok:
                result.status = "REJECTED"
            elif list_name in written:
                result.status = f"ok (not written: {written[list_name].repo}'s copy taken)"
            else:
                written[list_name] = result
                result.status = "written"
            rows.append(result)
    if written:
        folder = Path(out) / manifest["dataset"]
        for set_name, names in class_sets(manifest).items():
            write_text(folder / f"{set_name}.csv", class_csv_text(names))
        for list_name, result in written.items():
            write_text(folder / f"{list_name}.txt", list_text(result.entries))
        record_path = folder / "imported.json"
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        record.update(dataset=manifest["dataset"], manifest_version=manifest["version"])
        record.setdefault("lists", {})
        for list_name, result in written.items():
            record["lists"][list_name] = dict(
                class_set=manifest["lists"][list_name]["class_set"],
                repo=result.repo,
                path=result.relpath,
                file=str(result.file),
                lines=result.lines,
                classes=result.classes,
                sha256_match=result.sha256,
                warnings=[w.split(": ", 1)[1] for w in result.warnings],
            )
        write_text(record_path, json.dumps(record, indent=1) + "\n")
    return rows, missing


def import_splits(source, out=None, datasets=DATASETS, manifest_dir=None):
    """Import every official list found under ``source`` into ``out``.

    Returns the report rows (rejected files included) and {dataset: names of the lists not found}."""
    manifests = [load_manifest(d, manifest_dir) for d in datasets]
    checkouts = find_checkouts(source, manifests)
    if not checkouts:
        raise InputError(source, "no file of ViFi-CLIP or EZ-CLIP that a manifest names is here")
    out = Path(out) if out else default_out()
    rows, missing = [], {}
    for manifest in manifests:
        dataset_rows, missing[manifest["dataset"]] = import_dataset(manifest, checkouts, out)
        rows += dataset_rows
    return rows, missing


def print_report(rows, missing, out):
    from tabulate import tabulate

    table = [
        [r.dataset, r.list_name or "(class CSV)", f"{r.repo}:{r.relpath}", r.lines, r.classes, r.sha256, r.status]
        for r in rows
    ]
    print(
        tabulate(
            table,
            headers=["dataset", "list", "official file", "lines", "classes", "sha256 match", "status"],
            colalign=("left", "left", "left", "right", "right"),
        )
    )
    for r in rows:
        for message in r.problems[:MAX_PROBLEMS]:
            print(f"rejected: {message}")
        if len(r.problems) > MAX_PROBLEMS:
            print(f"rejected: {r.file}: ... and {len(r.problems) - MAX_PROBLEMS} more problem(s)")
        for message in r.warnings:
            print(f"warning: {message}")
    for dataset, names in missing.items():
        if names:
            print(f"not in SOURCE: {dataset}: {', '.join(names)}")
    written = sum(r.status == "written" for r in rows)
    print(f"{written} list(s) written under {out}" if written else "no list written")


def cmd_import(args):
    out = Path(args.out) if args.out else default_out()
    rows, missing = import_splits(args.source, out, args.datasets)
    print_report(rows, missing, out)
    rejected = [r for r in rows if not r.ok]
    if rejected:
        raise EzclipError(f"{len(rejected)} file(s) rejected: {', '.join(str(r.file) for r in rejected)}")


# ---------------------------------------------------------------- drawing new splits


def sample_per_class(by_class, labels, k, seed, what, names, train_list):
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
    dataset,
    train_list,
    classes_csv,
    out=None,
    shots=(2, 4, 8, 16),
    seeds=(1, 2, 3),
    base_shots=16,
    test_list=None,
    force=False,
):
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

    def lines(groups, relabel):
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

    folder = Path(out or default_out()) / dataset
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
    return note


def cmd_make(args):
    note = draw_splits(
        args.dataset,
        args.train_list,
        args.classes,
        args.out,
        args.shots,
        args.seeds,
        args.base_shots,
        args.test_list,
        args.force,
    )
    folder = Path(args.out or default_out()) / args.dataset
    print(f"{folder}: {len(note['train_counts'])} classes, {len(note['base'])} base, {len(note['novel'])} novel")
    for name, info in note["lists"].items():
        seed = f", seed {info['seed']}" if "seed" in info else ""
        print(f"  {name}.txt: {info['lines']} videos ({info['class_set']}{seed})")


# ---------------------------------------------------------------- command line

OUT_HELP = "where to write (default: $EZCLIP_SPLITS, else $EZCLIP_CACHE/splits, else ~/.cache/ezclip/splits)"


def add_commands(subparsers):
    """Register ``ezclip-bench splits ...``."""
    splits = subparsers.add_parser("splits", help="import official split files or draw new ones")
    sub = splits.add_subparsers(dest="splits_command", required=True)

    imp = sub.add_parser(
        "import",
        help="verify and import the official lists of a ViFi-CLIP / EZ-CLIP checkout",
        description="Verify every official list found in SOURCE against the manifests "
        "(sha256, lines, classes, labels) and write the accepted ones, re-labelled "
        "into the harness's class sets.",
    )
    imp.add_argument("source", help="a checkout of ViFi-CLIP or EZ-CLIP, or a folder holding such checkouts")
    imp.add_argument("--out", help=OUT_HELP)
    imp.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        metavar="D",
        help=f"only these datasets ({', '.join(DATASETS)})",
    )
    imp.set_defaults(func=cmd_import)

    make = sub.add_parser(
        "make",
        help="draw seeded few-shot and base-to-novel lists from a full train list",
        description="Base = the most frequent half of classes by train count (ties by name); "
        "K videos per class drawn with a seeded RNG. fewshot_K uses the first seed, "
        "base_train_s<i> the i-th.",
    )
    make.add_argument("--dataset", required=True, help="folder name under --out, e.g. hmdb51")
    make.add_argument("--train-list", required=True, help="the full train list ('path label' lines)")
    make.add_argument("--classes", required=True, help="the train list's class CSV ('id,name')")
    make.add_argument("--test-list", help="also write base_test / novel_test from this list (same class CSV)")
    make.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8, 16], metavar="K")
    make.add_argument("--base-shots", type=int, default=16, help="videos per base class in base_train_s* (16)")
    make.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], metavar="S")
    make.add_argument("--out", help=OUT_HELP)
    make.add_argument("--force", action="store_true", help="overwrite existing lists")
    make.set_defaults(func=cmd_make)
