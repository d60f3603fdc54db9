"""Readers for the list formats of the field, each failing with the file and line at fault.

- class lists: CSV ``id,name`` with a header, ids 0..C-1 in order (ViFi-CLIP, EZ-CLIP, X-CLIP);
- video lists: ``relpath label`` (mmaction2 VideoDataset, ViFi-CLIP) or ``path num_frames label``
  (EZ-CLIP / ActionCLIP frame lists, mmaction2 RawframeDataset);
- class descriptions: CSV ``SNo,Class Name,GPT3 discription`` (EZ-CLIP's GPT_discription files).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ezclip.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class VideoEntry:
    path: str  # as written in the list (relative to the data root, or absolute)
    label: int
    line: int  # 1-based line in the list file
    num_frames: int | None = None


def _read_text(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        return path.read_text(encoding="utf-8-sig")  # tolerate a BOM
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _csv_rows(path: str | Path) -> list[tuple[int, list[str]]]:
    """(line number where the row ends, row) pairs; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {exc}", reader.line_num) from None


def read_class_csv(path: str | Path) -> list[str]:
    """Class names of an ``id,name`` CSV, in id order."""
    rows = _csv_rows(path)
    if not rows or [c.strip().lower() for c in rows[0][1]] != ["id", "name"]:
        raise InputError(path, "expected the header 'id,name'", line=1)
    names, seen = [], {}
    for line, row in rows[1:]:
        if not "".join(row).strip():
            continue  # blank lines carry no class
        if len(row) != 2:
            raise InputError(path, f"expected 2 fields 'id,name', got {len(row)}: {','.join(row)!r}", line)
        ident, name = row[0].strip(), row[1].strip()
        if not ident.isdigit() or int(ident) != len(names):
            raise InputError(path, f"class id {ident!r} out of order: expected {len(names)}", line)
        if not name:
            raise InputError(path, f"class {ident} has an empty name", line)
        if name in seen:
            raise InputError(path, f"duplicate class name {name!r} (also on line {seen[name]})", line)
        seen[name] = line
        names.append(name)
    if not names:
        raise InputError(path, "no classes listed")
    return names


def read_video_list(path: str | Path, num_classes: int) -> list[VideoEntry]:
    """Entries of a video list in either format; every label must index the class list."""
    entries = []
    for line, text in enumerate(_read_text(path).splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue  # blank lines (a trailing newline) carry no entry
        if len(fields) not in (2, 3) or not all(f.lstrip("-").isdigit() for f in fields[1:]):
            raise InputError(path, f"expected 'path label' or 'path num_frames label', got {text.strip()!r}", line)
        label = int(fields[-1])
        if not 0 <= label < num_classes:
            raise InputError(path, f"label {label} is outside the class list (0..{num_classes - 1})", line)
        num_frames = int(fields[1]) if len(fields) == 3 else None
        entries.append(VideoEntry(fields[0], label, line, num_frames))
    if not entries:
        raise InputError(path, "the list is empty")
    return entries


def first_per_class(entries: Sequence[VideoEntry], subset: int | None) -> list[VideoEntry]:
    """The first ``subset`` entries of each class, in list order (``--subset``); all where None."""
    if subset is None:
        return list(entries)
    seen: dict[int, int] = {}
    kept = []
    for entry in entries:
        seen[entry.label] = seen.get(entry.label, 0) + 1
        if seen[entry.label] <= subset:
            kept.append(entry)
    return kept


def read_descriptions(path: str | Path, class_names: Sequence[str]) -> list[str]:
    """One description per class from an EZ-CLIP description CSV, in class-list order."""
    rows = _csv_rows(path)
    header = [c.strip().lower() for c in rows[0][1]] if rows else []
    if header[:2] != ["sno", "class name"] or len(header) < 3:
        raise InputError(path, "expected the header 'SNo,Class Name,GPT3 discription'", line=1)
    described = {}
    for line, row in rows[1:]:
        if len(row) < 3:
            raise InputError(path, f"expected 3 fields, got {len(row)}", line)
        # the official files start each description with "\n\n"; EZ-CLIP strips newlines
        described[row[1].strip()] = " ".join(row[2].split())
    missing = [name for name in class_names if not described.get(name)]
    if missing:
        raise InputError(path, f"no description for {len(missing)} class(es): {', '.join(missing[:5])}")
    return [described[name] for name in class_names]
