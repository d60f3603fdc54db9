"""Released checkpoints: what each official repository publishes (``ezclip/registry/released/<model>.json``),
finding those files in a user's folder, converting each once (cached by its sha256) and loading it.

A manifest entry names the published file, where it is published, the architecture, frames, input size
and normalisation it was trained with, and the protocol stage it stands for. Where a link gives no file
name (Google Drive, OneDrive, Baidu) the entry names one and says so: the user saves the download under
it. No sha256 is published for any of them, so the first one seen of each name is recorded in the cache
and a later file under the same name with other bytes is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezclip import registry
from ezclip.checkpoints import load_official
from ezclip.errors import InputError, UnknownNameError
from ezclip.files import atomic_path, write_text
from ezclip.records import file_sha256

if TYPE_CHECKING:
    import torch


def manifests() -> dict[str, dict[str, Any]]:
    """{model: manifest}, for every model whose official repository publishes checkpoints; each
    checkpoint entry carries its model's name."""
    out = {}
    for path in sorted(registry.RELEASED.glob("*.json")):
        manifest = json.loads(path.read_text())
        manifest["checkpoints"] = [dict(c, model=manifest["model"]) for c in manifest["checkpoints"]]
        out[manifest["model"]] = manifest
    return out


def checkpoint_for(model: str, protocol: str, stage: str) -> dict[str, Any] | None:
    """The released checkpoint that stands for ``protocol`` (its id, with any variant) / ``stage``."""
    manifest = manifests().get(model, {})
    return next((c for c in manifest.get("checkpoints", []) if (c["protocol"], c["stage"]) == (protocol, stage)), None)


def protocols() -> list[str]:
    """The protocol ids (with variants) some released checkpoint stands for, in the papers' order."""
    ids = {c["protocol"] for m in manifests().values() for c in m["checkpoints"] if c["protocol"]}
    order = ("zeroshot", "base2novel", "fewshot")
    return sorted(ids, key=lambda pid: (order.index(pid.split("+")[0]) if pid.split("+")[0] in order else 9, pid))


def models_for(protocol: str) -> list[str]:
    """The models with a released checkpoint for ``protocol``."""
    return [m for m, d in manifests().items() if any(c["protocol"] == protocol for c in d["checkpoints"])]


def not_released(model: str) -> str:
    manifest = manifests().get(model)
    if manifest is None:
        return f"{model}'s official repository publishes no checkpoint this harness knows"
    return manifest.get("not_released", "")


def find(checkpoint: dict[str, Any], folder: str | Path) -> Path | None:
    """The file of ``checkpoint`` in ``folder`` (or its sub-folder named after the model), by its name."""
    for candidate in (Path(folder) / checkpoint["file"], Path(folder) / checkpoint["model"] / checkpoint["file"]):
        if candidate.is_file():
            return candidate
    return None


def expected(checkpoint: dict[str, Any], folder: str | Path) -> str:
    """Why a stage has no weights: the file expected, and where it is published."""
    how = "" if checkpoint["file_name"] == "published" else f" ({checkpoint['file_name']})"
    return f"released checkpoint {Path(folder) / checkpoint['file']} not found{how}; published at {checkpoint['url']}"


def check_first_use(path: Path, sha256: str, cache: Path) -> None:
    """Record the sha256 of the first file seen under each published name; refuse other bytes later."""
    index_path = cache / "released" / "sha256.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    seen = index.get(path.name)
    if seen is None:
        index[path.name] = sha256
        write_text(index_path, json.dumps(index, indent=1, sort_keys=True) + "\n")
    elif seen != sha256:
        raise InputError(
            path,
            f"sha256 {sha256[:12]}… differs from {seen[:12]}… recorded at its first use ({index_path}): another "
            "file under the published name; remove that entry to accept it",
        )


def converted(
    path: Path, recognizer: type, cache: Path, sha256: str | None = None
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``(state dict, keys left to the base CLIP)`` of an official checkpoint, converted by the
    recognizer's own converter once and cached by its sha256 (given, or computed here). A file that is
    not a checkpoint, or not one of this method, is an ``InputError`` naming it."""
    import torch

    sha256 = sha256 or file_sha256(path)
    check_first_use(path, sha256, cache)
    cached = cache / "released" / f"{sha256}.pt"
    if cached.is_file():
        done = torch.load(cached, map_location="cpu", weights_only=True)
        return done["state_dict"], done["from_base"]
    checkpoint = load_official(path)  # runs none of its code: it comes from a download
    if not isinstance(checkpoint, dict):
        raise InputError(path, f"not a checkpoint: holds a {type(checkpoint).__name__}, not a dict")
    try:
        state, from_base = recognizer.from_official_checkpoint(checkpoint)
    except (ValueError, KeyError, AttributeError) as exc:
        raise InputError(path, f"not an official {recognizer.__name__} checkpoint: {exc}") from None
    with atomic_path(cached) as tmp:
        torch.save(dict(state_dict=state, from_base=list(from_base)), tmp)
    return state, list(from_base)


def load(model: torch.nn.Module, path: Path, state: dict[str, torch.Tensor], from_base: list[str]) -> None:
    """Load converted weights; every key of the model but ``from_base`` must come from the file."""
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes: another architecture or frame count
        detail = next((line.strip() for line in str(exc).splitlines() if "size mismatch" in line), str(exc)[:200])
        raise InputError(
            path, f"does not fit {type(model).__name__} ({model.arch}, {model.num_frames} frames): {detail}"
        ) from None
    missing = sorted(set(missing) - set(from_base))
    if missing or unexpected:
        raise InputError(
            path,
            f"does not fit {type(model).__name__} ({model.arch}): missing {missing[:4]}, "
            f"unexpected {sorted(unexpected)[:4]}",
        )


def listing(folder: str | Path | None = None, models: list[str] | None = None) -> list[list[str]]:
    """Rows for ``ezclip-bench released ls``: per checkpoint, what it stands for, its file, and whether
    ``folder`` holds it."""
    rows = []
    known = manifests()
    for model in models or list(known):
        if model not in known:
            raise UnknownNameError("model with released checkpoints", model, known)
        for c in known[model]["checkpoints"]:
            stands = f"{c['protocol']}/{c['stage']}" if c["protocol"] else "(no protocol stage)"
            found = "" if folder is None else ("found" if find(c, folder) else "missing")
            name = c["file"] + ("" if c["file_name"] == "published" else " *")
            rows.append([model, stands, name, f"{c['arch']} {c['frames']}f {c['input_size']}px", found, c["url"]])
    return rows
