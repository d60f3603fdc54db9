"""Result records: the one contract between what runs (``ezclip.harness`` writes one JSON file per
evaluation, atomically) and what reports (tables, figures and the regression read nothing else).

A record is a JSON object typed by ``Record`` below, with a schema version. Writing and reading both
validate it: a missing field, a field of the wrong type or an unknown schema is a ``RecordError``
naming the file and the field. Schema 1 records (before this contract) are read, with the one field
they lack derived (``upgrade``). The ids that name records (protocol, benchmark with its subset, job) are built here
and nowhere else.
"""

import hashlib
import json
import os
import platform
import subprocess
import types
import typing
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from ezclip.errors import EzclipError
from ezclip.files import write_text

SCHEMA = 3  # 3: inputs, eval.provenance, train resume facts; 2: the typed contract, protocol.report; 1: untyped
READABLE_SCHEMAS = (1, 2, 3)


class Report(TypedDict):
    table: str  # a kind in ezclip.tables.TABLE_KINDS


class ProtocolInfo(TypedDict):
    name: str
    variant: str | None
    version: int
    title: str
    report: Report  # how the protocol is reported (declared by its config); schema 1: derived on reading


class ModelInfo(TypedDict):
    name: str
    config_path: str
    config: dict
    config_hash: str
    recipe: dict
    recipe_hash: str
    type: str
    arch: str
    frames: int
    weights: dict
    params_total: int
    params_trainable: int
    normalization: str | None
    ablation: NotRequired[dict]
    text_source: NotRequired[str | None]
    released: NotRequired[dict]  # evaluated from a released checkpoint: file, sha256, url, published_at


class Augmentation(TypedDict):
    """The recipe parts a training applied (``ezclip.recipes.PARTS``)."""

    blending: dict | None  # mmaction2's RandomBatchAugment config (mixup/cutmix), or none
    randaugment: dict | None  # FrameRandAugment's num_ops and magnitude, or none
    lr_floor: float  # the cosine schedule's floor, a fraction of the learning rate
    precision: str  # fp32, or the autocast dtype


class TrainInfo(TypedDict):
    dataset: str
    list: str
    classes: str
    list_sha256: str
    videos: int
    skipped: list
    epochs: int
    precision: str
    batch_size_per_process: int
    batch_size_global: int  # per process x processes x accumulation: what each optimizer step saw
    processes: int
    batch_size_recipe: NotRequired[int]  # the global batch the original trained with (schema 3)
    accumulation: NotRequired[int]  # batches per optimizer step
    workers: NotRequired[int]  # data-loader worker processes
    optimizer: dict
    wall_s: float  # the whole training, over every attempt that reached a checkpoint (schema 3)
    wall_s_this_process: NotRequired[float]  # the part this process ran (less than wall_s after a resume)
    resumed_from_epoch: NotRequired[int | None]  # the checkpoint's epoch this process continued from
    augmentation: NotRequired[Augmentation]


class Provenance(TypedDict):
    """Where a list came from: 'official' (verified against a manifest's sha256), 'unverified' (an
    official file whose sha256 no manifest knows), 'custom' (drawn by ``splits make``, or supplied or
    edited by the user) or 'generated' (the mini benchmark)."""

    kind: Literal["official", "unverified", "custom", "generated"]
    label: str


class EvalInfo(TypedDict):
    dataset: str
    list: str
    classes: str
    group: str
    # the rest once the list was evaluated (status ok)
    list_sha256: NotRequired[str]
    class_file_sha256: NotRequired[str]
    videos_listed: NotRequired[int]
    videos_evaluated: NotRequired[int]
    skipped: NotRequired[list]
    num_classes: NotRequired[int]
    frames: NotRequired[int]
    input_size: NotRequired[int]
    crops: NotRequired[int]
    clips: NotRequired[int]  # test clips per video (X-CLIP's multi-clip test)
    views: NotRequired[int]  # clips x crops, whose softmax scores were averaged
    decoders: NotRequired[list[str]]  # the video backends allowed, in turn (ezclip.data.transforms.default_backends)
    decoded_by: NotRequired[dict]  # {backend: videos it decoded}: the first exact one per file (transforms.EXACT)
    switched: NotRequired[list]  # videos data check found a backend wrong on, read by another (list file, line, ...)
    test_preprocessing: NotRequired[str]  # whose test pipeline (ezclip.data.pipelines.TEST_PREPROCESSING)
    split_version: NotRequired[str | None]
    provenance: NotRequired[Provenance]


class Record(TypedDict):
    schema: int
    status: Literal["ok", "skipped"]
    benchmark: str
    subset: int | None
    protocol: ProtocolInfo
    stage: str
    model: ModelInfo
    seed: int
    train: TrainInfo | None
    eval: EvalInfo
    benchmark_fingerprint: NotRequired[dict]
    # what the record was computed from (schema 3): a resumed run reuses it only if all of it is unchanged
    inputs: NotRequired[dict[str, Any]]
    reason: NotRequired[str]  # status skipped
    # status ok
    metrics: NotRequired[dict[str, float]]
    device: NotRequired[str]
    precision: NotRequired[str]
    dtype: NotRequired[str]
    weights_dtype: NotRequired[str]
    wall_s: NotRequired[float]
    env: NotRequired[dict]


REQUIRED_WHEN = {"ok": ("metrics", "env", "wall_s"), "skipped": ("reason",)}
REQUIRED_EVAL_WHEN_OK = ("list_sha256", "class_file_sha256", "videos_listed", "videos_evaluated", "num_classes")
REQUIRED_FROM_SCHEMA_3 = ("inputs",)
REQUIRED_EVAL_WHEN_OK_FROM_SCHEMA_3 = ("provenance",)


class RecordError(EzclipError, ValueError):
    """A record that does not follow the contract; names the file and the field."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(f"{path}: not a valid result record: {message}")


# -- ids ----------------------------------------------------------------------------------------------
def protocol_id(name: str, variant: str | None = None) -> str:
    """``zeroshot`` or ``zeroshot+ezclip_repo``: a protocol under a variant is another protocol."""
    return name + (f"+{variant}" if variant else "")


def benchmark_id(name: str, subset: int | None = None) -> str:
    """``mini``, ``full`` or ``full-subset4``: tables never mix these."""
    return name + (f"-subset{subset}" if subset else "")


def record_protocol_id(record: Record) -> str:
    return protocol_id(record["protocol"]["name"], record["protocol"].get("variant"))


def record_benchmark_id(record: Record) -> str:
    return benchmark_id(record["benchmark"], record.get("subset"))


def model_id(name: str, released: bool = False, without: Sequence[str] = ()) -> str:
    """``xclip``; ``xclip@released`` for the released checkpoints; ``xclip~without-mixup`` for a recipe with
    parts switched off: each kept apart in records and tables, never averaged with the others."""
    return name + ("@released" if released else "") + "".join(f"~without-{part}" for part in without)


def model_key(record: Record) -> str:
    """The model as tables and ids know it (``model_id``)."""
    model = record["model"]
    return model_id(model["name"], "released" in model, (model.get("recipe") or {}).get("without", ()))


def job_id(record: Record) -> str:
    """protocol/model/stage/dataset/list: one evaluation of one model."""
    return "/".join(
        [
            record["protocol"]["name"],
            model_key(record),
            record["stage"],
            record["eval"]["dataset"],
            record["eval"]["list"],
        ]
    )


# -- validation -----------------------------------------------------------------------------------------
def _problems(value: Any, kind: Any, where: str) -> list[str]:
    """What is wrong with ``value`` as a ``kind`` (a TypedDict, a union, a generic or a plain type)."""
    if kind is Any:
        return []
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        return (
            []
            if any(not _problems(value, option, where) for option in options)
            else [f"{where} is {type(value).__name__}, expected {' or '.join(_name(o) for o in options)}"]
        )
    if origin is Literal:
        return (
            [] if value in typing.get_args(kind) else [f"{where} is {value!r}, expected one of {typing.get_args(kind)}"]
        )
    if typing.is_typeddict(kind):
        if not isinstance(value, dict):
            return [f"{where} is {type(value).__name__}, expected an object"]
        hints = typing.get_type_hints(kind)
        out = [f"{where}.{key} is missing" for key in sorted(kind.__required_keys__) if key not in value]
        for key, hint in hints.items():
            if key in value:
                out += _problems(value[key], hint, f"{where}.{key}")
        return out
    if origin is list:
        if not isinstance(value, list):
            return [f"{where} is {type(value).__name__}, expected a list"]
        (item,) = typing.get_args(kind)
        return [p for i, v in enumerate(value) for p in _problems(v, item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where} is {type(value).__name__}, expected an object"]
        _, item = typing.get_args(kind)
        return [p for k, v in value.items() for p in _problems(v, item, f"{where}.{k}")]
    if kind is type(None):
        return [] if value is None else [f"{where} is {type(value).__name__}, expected null"]
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    return [] if ok else [f"{where} is {type(value).__name__}, expected {_name(kind)}"]


def _name(kind: Any) -> str:
    return "null" if kind is type(None) else getattr(kind, "__name__", str(kind))


def validate(record: Any, path: str | Path = "<record>") -> Record:
    """``record`` if it follows the contract, else a ``RecordError`` naming ``path`` and the fields."""
    if not isinstance(record, dict):
        raise RecordError(path, f"expected a JSON object, got {type(record).__name__}")
    schema = record.get("schema")
    if schema not in READABLE_SCHEMAS:
        raise RecordError(
            path,
            f"schema {schema!r} is not one this harness reads ({', '.join(map(str, READABLE_SCHEMAS))}); "
            "it was written by another version of ezclip",
        )
    problems = _problems(record, Record, "record")
    status = record.get("status")
    problems += [
        f"record.{key} is missing (status {status})" for key in REQUIRED_WHEN.get(status, ()) if key not in record
    ]
    if schema >= 3:
        problems += [
            f"record.{key} is missing (schema {schema})" for key in REQUIRED_FROM_SCHEMA_3 if key not in record
        ]
    if status == "ok":
        required = REQUIRED_EVAL_WHEN_OK + (REQUIRED_EVAL_WHEN_OK_FROM_SCHEMA_3 if schema >= 3 else ())
        problems += [
            f"record.eval.{key} is missing (status ok)" for key in required if key not in record.get("eval", {})
        ]
    if problems:
        raise RecordError(
            path, "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )
    return typing.cast(Record, record)


# -- hashes, environment, files ------------------------------------------------------------------
REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "torch",
    "open_clip_torch",
    "mmaction2",
    "mmengine",
    "mmcv-lite",
    "numpy",
    "decord",
    "av",
    "torchcodec",
    "fvcore",
    "ezclip",
)


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode()).hexdigest()[:16]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def git_commit() -> str | None:
    """The harness's commit, with '+dirty' when the work tree has changes; None outside git."""
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True, check=True)  # noqa: E731
        commit = run("rev-parse", "HEAD").stdout.strip()
        dirty = bool(run("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def environment(device: str | None = None) -> dict:
    """What ran where, one description for records, profiles and golden files: the harness's commit,
    package versions, Python, the CPU numerics in force and, for timings (``device``), the device, its
    name, the threads and the machine's load (other work skews CPU timings)."""
    import torch

    from ezclip.numerics import cpu_model, describe

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    env = dict(
        git_commit=git_commit(),
        packages=versions,
        python=platform.python_version(),
        machine=platform.machine(),
        numerics=describe(),
        cpu_count=os.cpu_count(),
    )
    if device is not None:
        cuda = torch.device(device).type == "cuda"
        env.update(
            device=str(device),
            device_name=torch.cuda.get_device_name(device) if cuda else cpu_model(),
            threads=torch.get_num_threads(),
            torch=torch.__version__,
        )
        if hasattr(os, "getloadavg"):
            env["load_average_1min"] = os.getloadavg()[0]
    return env


def write_json(path: str | Path, obj: Any) -> Path:
    """Write whole or not at all (``ezclip.files``), so a kill never leaves a half-written record."""
    return write_text(path, json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")


def write_record(path: str | Path, record: Record) -> Path:
    """Validate ``record`` and write it atomically."""
    return write_json(path, validate(record, path))


def read_record(path: str | Path) -> Record:
    try:
        record = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise RecordError(path, f"not JSON ({exc})") from None
    return validate(upgrade(record), path)


# schema 1 records did not say how their protocol is reported; the three protocols of that time did
SCHEMA_1_REPORTS = {"zeroshot": "accuracy", "fewshot": "accuracy", "base2novel": "base_novel"}


def upgrade(record: Any) -> Any:
    """A schema 1 record as schema 2 reads it (the one field it lacked, from its protocol's name)."""
    if isinstance(record, dict) and record.get("schema") == 1 and isinstance(record.get("protocol"), dict):
        name = record["protocol"].get("name")
        if "report" not in record["protocol"] and name in SCHEMA_1_REPORTS:
            record = dict(record, protocol=dict(record["protocol"], report=dict(table=SCHEMA_1_REPORTS[name])))
    return record


def read_records(root: str | Path) -> list[Record]:
    """Every record under ``root``, validated (hidden temporary files are not records)."""
    return [read_record(path) for path in sorted(Path(root).rglob("*.json")) if not path.name.startswith(".")]
