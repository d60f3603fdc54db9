"""Verifying official split files against the manifests, and importing the accepted ones."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezclip.benchmark import default_splits
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.errors import InputError
from ezclip.files import write_text
from ezclip.records import file_sha256
from ezclip.splits.manifest import (
    DATASETS,
    class_csv_text,
    class_in_path,
    class_sets,
    is_training_list,
    list_text,
    load_manifest,
    write_provenance,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MAX_PROBLEMS = 10  # per file, in the report
# a manifest source's ``blocks``: the sha256 prefixes (8 hex each, concatenated) of every run of 100 lines
# of the official file, so that a list with other content can be told where it differs
BLOCK_LINES = 100


def line_blocks(data: bytes, size: int = BLOCK_LINES) -> str:
    lines = data.split(b"\n")
    return "".join(hashlib.sha256(b"\n".join(lines[i : i + size])).hexdigest()[:8] for i in range(0, len(lines), size))


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
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str, line: int | None = None) -> None:
        self.problems.append(f"{self.file}:{line}: {message}" if line is not None else f"{self.file}: {message}")


def check_hash_and_count(result: Checked, spec: Mapping[str, Any], count: int, what: str = "lines") -> None:
    if spec.get("sha256") is None:
        result.sha256 = "unknown"
        result.warnings.append(f"{result.file}: not verified: sha256 unknown")
    else:
        actual = file_sha256(result.file)
        result.sha256 = "yes" if actual == spec["sha256"] else "no"
        if actual != spec["sha256"]:
            result.problem(
                f"sha256 mismatch: {actual[:12]}... instead of {spec['sha256'][:12]}... "
                f"({why_not_official(result.file, spec['sha256'], spec.get('blocks'))})"
            )
    if spec.get(what) is not None and count != spec[what]:
        result.problem(f"{count} {what} instead of {spec[what]}")


def why_not_official(file: Path, sha256: str, blocks: str | None = None) -> str:
    """Why a file is not the official one, where its bytes say: CRLF line endings (a checkout with
    git's core.autocrlf), a UTF-8 BOM or trailing whitespace, and whether undoing exactly that gives the
    official file; else, from the manifest's ``blocks``, the first run of lines whose content differs."""
    data = file.read_bytes()
    lines = data.split(b"\n")
    found = []
    if b"\r\n" in data:
        found.append(
            "CRLF line endings (a checkout with git's core.autocrlf? re-clone with `git -c core.autocrlf=false`)"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        found.append("a UTF-8 byte-order mark")
    trailing = [i + 1 for i, line in enumerate(lines) if line.rstrip(b"\r") != line.rstrip(b"\r").rstrip(b" \t")]
    if trailing:
        found.append(f"trailing whitespace on {len(trailing)} line(s), first at line {trailing[0]}")
    if not found:
        return f"not the official file: {first_difference(data, blocks)}"
    normalised = b"\n".join(line.rstrip(b"\r").rstrip(b" \t") for line in lines).removeprefix(b"\xef\xbb\xbf")
    verdict = (
        "without them it is the official file"
        if hashlib.sha256(normalised).hexdigest() == sha256
        else f"and besides, {first_difference(normalised, blocks)}"
    )
    return f"{'; '.join(found)}: {verdict}"


def first_difference(data: bytes, blocks: str | None) -> str:
    """Where a file's content first differs from the official file's, by runs of ``BLOCK_LINES`` lines."""
    if not blocks:
        return "its content differs"
    ours, blocks = ([digests[i : i + 8] for i in range(0, len(digests), 8)] for digests in (line_blocks(data), blocks))
    for i, (mine, official) in enumerate(zip(ours, blocks)):
        if mine != official:
            return (
                f"its content differs from the official file's in lines {i * BLOCK_LINES + 1}-{(i + 1) * BLOCK_LINES}"
            )
    end = min(len(ours), len(blocks)) * BLOCK_LINES
    return f"its first {end} lines are the official file's; it {'ends early' if len(ours) < len(blocks) else 'goes on'}"


def check_class_file(manifest: Mapping[str, Any], spec: Mapping[str, Any], file: Path) -> Checked:
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


def check_list(
    manifest: Mapping[str, Any], list_name: str, source: Mapping[str, Any], file: Path, class_csv: Path | None = None
) -> Checked:
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


def manifest_paths(manifests: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """{repo: every file path in it that a manifest names} (lists, class files, the CSVs lists index)."""
    paths = defaultdict(set)
    for manifest in manifests:
        for spec in manifest.get("class_files", []):
            paths[spec["repo"]].add(spec["path"])
        for spec in manifest["lists"].values():
            for src in spec["sources"]:
                paths[src["repo"]].add(src["path"])
                if src.get("class_csv"):
                    paths[src["repo"]].add(src["class_csv"])
    return paths


def unused_files(checkouts: Mapping[str, Path]) -> dict[str, list[str]]:
    """{repo: files under its split and label folders (the top folders of the paths the manifests name)
    that no manifest names}: official files the importer does not know, reported instead of ignored."""
    known = manifest_paths(load_manifest(d) for d in DATASETS)
    out = {}
    for repo, folder in sorted(checkouts.items()):
        tops = sorted({rel.split("/")[0] for rel in known[repo]})
        files = [
            p.relative_to(folder).as_posix() for top in tops for p in sorted((folder / top).rglob("*")) if p.is_file()
        ]
        out[repo] = [rel for rel in files if rel not in known[repo]]
    return out


def find_checkouts(source: str | Path, manifests: Iterable[Mapping[str, Any]]) -> dict[str, Path]:
    """{repo: folder}: SOURCE itself or its immediate sub-folders, recognised by the manifests' file paths."""
    source = Path(source)
    if not source.is_dir():
        raise InputError(source, "not a folder (expected a checkout of ViFi-CLIP or EZ-CLIP, or a folder of them)")
    paths = manifest_paths(manifests)
    found = defaultdict(list)
    for folder in [source] + sorted(p for p in source.iterdir() if p.is_dir()):
        for repo, rels in paths.items():
            if any((folder / rel).is_file() for rel in rels):
                found[repo].append(folder)
    for repo, folders in found.items():
        if len(folders) > 1:
            raise InputError(source, f"several checkouts of {repo}: {', '.join(map(str, folders))}; pass one")
    return {repo: folders[0] for repo, folders in found.items()}


def provenance_label(result: Checked, spec: Mapping[str, Any]) -> str:
    source = next(s for s in spec["sources"] if s["repo"] == result.repo and s["path"] == result.relpath)
    if result.sha256 == "yes":
        return f"official {result.repo}:{result.relpath}@{source['sha256'][:8]}"
    return f"unverified {result.repo}:{result.relpath} (no known sha256; format, labels and counts checked)"


def check_overlap(manifest: Mapping[str, Any], written: dict[str, Checked], folder: Path, allow_overlap: bool) -> None:
    """An unverified training list sharing videos (by file name) with an evaluation list of its dataset,
    imported now or before, is rejected (with ``allow_overlap``: accepted, the overlap recorded)."""
    evaluation = {}
    for name in sorted(set(written) | {n for n in manifest["lists"] if (folder / f"{n}.txt").is_file()}):
        if is_training_list(name):
            continue
        if name in written:
            evaluation[name] = {os.path.basename(e[0]) for e in written[name].entries}
        else:
            size = len(manifest[manifest["lists"][name]["class_set"]])
            evaluation[name] = {os.path.basename(e.path) for e in read_video_list(folder / f"{name}.txt", size)}
    for name, result in list(written.items()):
        if result.sha256 != "unknown" or not is_training_list(name):
            continue
        videos = {os.path.basename(e[0]) for e in result.entries}
        for other, paths in sorted(evaluation.items()):
            shared = sorted(videos & paths)
            if not shared:
                continue
            message = f"{len(shared)} of its videos are in the evaluation list {other} (e.g. {shared[0]})"
            if allow_overlap:
                result.warnings.append(f"{result.file}: {message}; accepted (--allow-overlap)")
            else:
                result.problem(f"{message}; pass --allow-overlap to import it anyway")
                result.status = "REJECTED"
                del written[name]
                break


def import_dataset(
    manifest: Mapping[str, Any], checkouts: Mapping[str, Path], out: str | Path, allow_overlap: bool = False
) -> tuple[list[Checked], list[str]]:
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
    check_overlap(manifest, written, Path(out) / manifest["dataset"], allow_overlap)
    if written:
        folder = Path(out) / manifest["dataset"]
        for set_name, names in class_sets(manifest).items():
            write_text(folder / f"{set_name}.csv", class_csv_text(names))
        for list_name, result in written.items():
            write_text(folder / f"{list_name}.txt", list_text(result.entries))
        write_provenance(
            folder,
            {
                name: dict(
                    kind="official" if result.sha256 == "yes" else "unverified",
                    label=provenance_label(result, manifest["lists"][name]),
                    class_set=manifest["lists"][name]["class_set"],
                    manifest_version=manifest["version"],
                    repo=result.repo,
                    path=result.relpath,
                    file=str(result.file),
                    lines=result.lines,
                    classes=result.classes,
                    sha256_match=result.sha256,
                    warnings=[w.split(": ", 1)[1] for w in result.warnings],
                )
                for name, result in written.items()
            },
        )
    return rows, missing


def import_splits(
    source: str | Path,
    out: str | Path | None = None,
    datasets: Iterable[str] = DATASETS,
    manifest_dir: str | Path | None = None,
    allow_overlap: bool = False,
) -> tuple[list[Checked], dict[str, list[str]]]:
    """Import every official list found under ``source`` into ``out``.

    Returns the report rows (rejected files included) and {dataset: names of the lists not found}."""
    manifests = [load_manifest(d, manifest_dir) for d in datasets]
    checkouts = find_checkouts(source, manifests)
    if not checkouts:
        raise InputError(source, "no file of ViFi-CLIP or EZ-CLIP that a manifest names is here")
    out = Path(out) if out else default_splits()
    rows, missing = [], {}
    for manifest in manifests:
        dataset_rows, missing[manifest["dataset"]] = import_dataset(manifest, checkouts, out, allow_overlap)
        rows += dataset_rows
    return rows, missing


def print_report(
    rows: Sequence[Checked],
    missing: Mapping[str, Sequence[str]],
    out: str | Path,
    unused: Mapping[str, Sequence[str]] | None = None,
) -> None:
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
    for repo, files in (unused or {}).items():
        if files:
            shown = ", ".join(files[:MAX_PROBLEMS]) + (
                f", ... ({len(files) - MAX_PROBLEMS} more)" if len(files) > MAX_PROBLEMS else ""
            )
            print(f"not used: {repo}: {len(files)} file(s) no manifest names: {shown}")
    written = sum(r.status == "written" for r in rows)
    print(f"{written} list(s) written under {out}" if written else "no list written")
