"""Result records: one JSON file per job, written atomically, holding what is needed to trust it."""
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "open_clip_torch", "mmaction2", "mmengine", "mmcv-lite", "numpy", "decord", "av", "ezclip")


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(obj):
    return hashlib.sha256(canonical(obj).encode()).hexdigest()[:16]


def file_sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def git_commit():
    """The harness's commit, with '+dirty' when the work tree has changes; None outside git."""
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True, check=True)  # noqa: E731
        commit = run("rev-parse", "HEAD").stdout.strip()
        dirty = bool(run("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def environment():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    from ezclip.numerics import describe

    return dict(git_commit=git_commit(), packages=versions, python=platform.python_version(),
                machine=platform.machine(), numerics=describe())


def write_json(path, obj):
    """Write through a temporary file and rename, so a kill never leaves a half-written record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def read_records(root):
    """Every record under ``root`` (hidden temporary files are not records)."""
    records = []
    for path in sorted(Path(root).rglob("*.json")):
        if not path.name.startswith("."):
            records.append(dict(json.loads(path.read_text()), _path=str(path)))
    return records


def read_json(path):
    return json.loads(Path(path).read_text())
