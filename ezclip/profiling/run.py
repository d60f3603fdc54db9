"""One profiling run over models, and its record."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ezclip.errors import EzclipError
from ezclip.models.base import count_parameters
from ezclip.profiling.flops import FLOP_CONVENTION, FLOP_HANDLES, model_flops, tower_flops
from ezclip.profiling.paths import DEFAULT_CLASSES, DTYPES, TOWER, ImageTower, check_input_size, random_text_features
from ezclip.profiling.reference import reference_by_model, reference_for
from ezclip.profiling.timing import measure_against_tower, measure_throughput, model_step, video_inputs

if TYPE_CHECKING:
    import argparse

    from ezclip.benchmark import Benchmark
    from ezclip.models.base import VideoCLIP


# -- one run ----------------------------------------------------------------------------------------
def _resolve_runs(device: str | torch.device, iters: int | None, warmup: int | None) -> tuple[int, int]:
    cuda = torch.device(device).type == "cuda"
    return (iters if iters is not None else (30 if cuda else 6), warmup if warmup is not None else (50 if cuda else 1))


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run with ``threads`` intra-op threads (``None`` or 0: leave torch's choice), restored afterwards."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def profile(
    models: Iterable[str],
    arch: str | None = None,
    frames: int | None = None,
    input_size: int | None = None,
    classes: int = DEFAULT_CLASSES,
    flops: bool = True,
    throughput: bool = True,
    batch: int = 8,
    iters: int | None = None,
    warmup: int | None = None,
    device: str | torch.device = "cpu",
    dtype: str = "fp32",
    threads: int | None = None,
    reference: dict[str, list[dict[str, Any]]] | None = None,
    build: Callable[[str, str | None, int | None], VideoCLIP] | None = None,
) -> list[dict[str, Any]]:
    """Profile registered models; returns rows, one ``clip-image-tower`` row first per distinct
    (architecture, frames, input size) among the models, then one row per model.

    ``iters``/``warmup`` default to 6/1 on CPU and 30/50 (the field's) on CUDA. ``threads`` sets
    torch's intra-op threads while profiling; ``None`` means 1 on CPU and torch's choice elsewhere, 0
    torch's choice (all cores). One thread is the reproducible choice on a CPU that other work shares:
    with every core as an OpenMP thread, each parallel operator waits for a descheduled thread (8 ms
    for a LayerNorm of 136x64 on a busy 2-core machine, against microseconds), which penalises models
    with many small operators far beyond their FLOPs. ``reference`` is a ``reference_by_model()`` result
    (read from ``ezclip/registry/reference/efficiency.json`` when ``None``); ``build(name, arch, frames)``
    builds a model (default: ``ezclip.zoo.build_model`` with ``pretrained=None``)."""
    if threads is None:
        threads = 1 if torch.device(device).type == "cpu" else 0
    with torch_threads(threads):
        return _profile(
            models,
            arch,
            frames,
            input_size,
            classes,
            flops,
            throughput,
            batch,
            iters,
            warmup,
            device,
            dtype,
            reference,
            build,
        )


def _profile(
    models: Iterable[str],
    arch: str | None,
    frames: int | None,
    input_size: int | None,
    classes: int,
    flops: bool,
    throughput: bool,
    batch: int,
    iters: int | None,
    warmup: int | None,
    device: str | torch.device,
    dtype: str,
    reference: dict[str, list[dict[str, Any]]] | None,
    build: Callable[[str, str | None, int | None], VideoCLIP] | None,
) -> list[dict[str, Any]]:
    from ezclip.zoo import build_model

    if dtype not in DTYPES:
        raise EzclipError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    build = build or (lambda name, arch, frames: build_model(name, arch=arch, frames=frames, pretrained=None))
    iters, warmup = _resolve_runs(device, iters, warmup)
    reference = reference_by_model() if reference is None else reference
    towers, tower_modules, rows = {}, {}, []
    setup = dict(batch=batch, dtype=dtype, device=str(device), threads=torch.get_num_threads())

    def load() -> dict[str, float]:
        return dict(load_average_1min=os.getloadavg()[0]) if hasattr(os, "getloadavg") else {}

    def tower_row(key: tuple[str, int, int]) -> dict[str, Any]:
        if key in towers:
            return towers[key]
        t_arch, t_frames, t_size = key
        tower = ImageTower(t_arch).eval()
        total, trainable = count_parameters(tower)
        row = dict(
            model=TOWER,
            type="open_clip VisionTransformer",
            arch=t_arch,
            frames=t_frames,
            input_size=t_size,
            params_total=total,
            params_trainable=trainable,
        )
        if flops:
            row.update(tower_flops(tower, t_frames, t_size))
            row["vision_gmac_ratio_vs_tower"] = 1.0
        if throughput:
            tower_modules[key] = tower.to(device)  # kept: each model is timed in alternation with it
            row.update(load())
            row.update(
                measure_throughput(
                    tower_modules[key],
                    video_inputs(t_frames, t_size, device),
                    t_frames,
                    batch,
                    iters,
                    warmup,
                    device,
                    dtype,
                )
            )
            row.update(latency_ratio_vs_tower=1.0, throughput_ratio_vs_tower=1.0, **setup)
        row.update(reference_for(reference, TOWER, row))
        towers[key] = row
        rows.append(row)
        return row

    pending = []
    for name in models:
        model = build(name, arch, frames).eval()
        size = check_input_size(model.clip.visual, model.arch, input_size)
        tower = tower_row((model.arch, model.num_frames, size))
        total, trainable = count_parameters(model)
        row = dict(
            model=name,
            type=type(model).__name__,
            arch=model.arch,
            frames=model.num_frames,
            input_size=size,
            params_total=total,
            params_trainable=trainable,
            params_added_vs_clip=total - sum(p.numel() for p in model.clip.parameters()),
        )
        if flops:
            row.update(model_flops(model, model.num_frames, size, classes))
            row["classes"] = classes
            row["vision_gmac_ratio_vs_tower"] = row["vision_gmac"] / tower["vision_gmac"]
            row["total_gmac_ratio_vs_tower"] = row["total_per_video_gmac"] / tower["vision_gmac"]
        if throughput:
            model.to(device)
            text = random_text_features(model, classes, torch.Generator().manual_seed(0)).to(device)
            row.update(load())
            key = (model.arch, model.num_frames, size)
            row.update(
                measure_against_tower(
                    model_step(model, text),
                    tower_modules[key],
                    video_inputs(model.num_frames, size, device),
                    model.num_frames,
                    batch,
                    iters,
                    warmup,
                    device,
                    dtype,
                )
            )
            row.update(classes=classes, **setup)
            if flops:  # 1.0: as fast as its FLOPs say; below: slower than its FLOPs say
                row["speed_vs_flops"] = row["throughput_ratio_vs_tower"] * row["total_gmac_ratio_vs_tower"]
        row.update(reference_for(reference, name, row))
        pending.append(row)
        del model
    return rows + pending


# -- records ----------------------------------------------------------------------------------------
def record(rows: list[dict[str, Any]], args: argparse.Namespace | None = None, device: str = "cpu") -> dict[str, Any]:
    """A JSON-ready record: what ran where (``ezclip.records.environment`` with the timing device),
    the counting conventions, and the rows."""
    from ezclip.records import environment

    meta = dict(
        kind="efficiency",
        flop_convention=FLOP_CONVENTION,
        flop_handles=sorted(FLOP_HANDLES),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        machine=environment(device),
    )
    if args is not None:
        meta["args"] = {k: v for k, v in vars(args).items() if k != "func"}
    return dict(meta=meta, rows=rows)


def write_record(
    path: str | Path, rows: list[dict[str, Any]], args: argparse.Namespace | None = None, device: str = "cpu"
) -> Path:
    """Write ``record(rows, ...)`` to ``path`` atomically."""
    from ezclip.records import write_json

    return write_json(path, record(rows, args, device))


def profile_as_run(
    models: Sequence[str], benchmark: Benchmark, path: str | Path, log: Callable[[str], object] = print
) -> Path:
    """Profile ``models`` as ``benchmark`` runs them (its architecture, frames and input size) into the
    efficiency record ``path``, replacing their earlier rows there; the accuracy-against-cost figures
    next to the tables read it. One thread, so the numbers do not depend on what else the machine runs."""
    path = Path(path)
    kept = [
        r
        for r in (json.loads(path.read_text())["rows"] if path.is_file() else [])
        if r["model"] not in set(models) | {TOWER}
    ]
    log(f"profiling {', '.join(models)} as the {benchmark.name} benchmark runs them ...")
    rows = profile(
        models, arch=benchmark.clip["arch"], frames=benchmark.num_frames, input_size=benchmark.input_size, threads=1
    )
    return write_record(path, rows[:1] + kept + rows[1:])
