"""The full-size rehearsal of the released-weights path, on any machine, without downloads.

What real users run (``ezclip-bench paper``) has parts the mini benchmark never exercises: ViT-B/16
checkpoints in the four official layouts, real list files, full-size videos, data-loader workers. This
builds all of them and runs that path once:

- per model, an official-layout checkpoint at its published architecture and frames, every tensor
  random (adapters and prompts non-zero), saved under its published file name;
- a data root of H.264 videos (320x240, 3 s at 25 fps) at the paths of HMDB-51's official test split 1
  (read from a ViFi-CLIP checkout when given, else a list generated in the same format): the first
  ``per_class`` videos of the first ``classes`` classes, scored against all 51 classes, with an
  EZ-CLIP description file for the 51;
- ``run zeroshot --released`` restricted to that list, with data-loader workers.

Then it checks that every record is complete and that the harness's scores (converted file, loaded as
``run --released`` loads it) equal the forward of the model the file was exported from, and measures
decoding and the model apart (videos/s).

Both forwards of the parity check take the same decoded batch: decord 0.6 can return another frame when
the same file is read again (dmlc/decord#195, seen here on AVI files near their last frames), and a check
of the weights must not measure that; whether a second read gave the same frames is reported apart.

X-CLIP is tested with 1 clip x 3 crops (``without multiclip``): its 4 clips x 3 crops would take about
30 minutes of the rehearsal's 30 on 2 cores; the 12-view test runs on the mini benchmark's tests.
"""

from __future__ import annotations

import gc
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ezclip import released
from ezclip.benchmark import Benchmark
from ezclip.data.video_io import write_mp4
from ezclip.datasets import DATASETS
from ezclip.files import write_text
from ezclip.harness import load_protocol, model_setup, run_protocol
from ezclip.records import file_sha256, read_records
from ezclip.splits.manifest import class_csv_text, load_manifest, write_provenance

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

MODELS = ("ezclip", "actionclip", "vificlip", "xclip")
VIDEO = dict(width=320, height=240, seconds=3, fps=25)
PARITY_TOLERANCE = 1e-4
WITHOUT = ("multiclip",)  # X-CLIP's 4 test clips (see the module docstring)


def random_official_checkpoint(name: str, benchmark: Benchmark, seed: int) -> tuple[torch.nn.Module, dict]:
    """The model of ``name`` at its released zero-shot checkpoint's architecture and frames, every tensor
    drawn at random (layer-norm gains near 1, the logit scale near CLIP's), and its official-layout export."""
    from mmaction.registry import MODELS as REGISTRY

    checkpoint = released.checkpoint_for(name, "zeroshot", "k400")
    setup = model_setup(name, benchmark, checkpoint=checkpoint, without=WITHOUT)
    model = REGISTRY.build(dict(setup["model"], clip=dict(setup["model"]["clip"], pretrained=None))).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=generator) * 0.02
            if key.endswith("logit_scale"):
                tensor.copy_(math.log(100.0) + noise)
            elif tensor.ndim == 1 and key.endswith("weight") and ("ln" in key or "norm" in key):
                tensor.copy_(1.0 + noise)
            else:
                tensor.copy_(noise)
    return model, dict(model.to_official_checkpoint(), epoch=0)


def hmdb_list(official_list: Path | None, classes: int, per_class: int) -> tuple[list[tuple[str, int]], str]:
    """``[(path, label)]``: the first ``per_class`` videos of the first ``classes`` classes of HMDB-51 test
    split 1 (the official file when given, else generated names in its format), and where they came from."""
    names = load_manifest("hmdb51")["classes"]
    if official_list is not None and official_list.is_file():
        lines = [line.split() for line in official_list.read_text().splitlines() if line.strip()]
        entries, source = (
            [(path, int(label)) for path, label in lines],
            f"{official_list.name}@{file_sha256(official_list)[:8]}",
        )
    else:
        entries = [
            (f"Rehearsal_{names[c].replace(' ', '_')}_{names[c].replace(' ', '_')}_u_nm_np1_fr_med_{i}.avi", c)
            for c in range(len(names))
            for i in range(3)
        ]
        source = "generated in the format of HMDB-51 test split 1 (no official list given)"
    chosen, count = [], {}
    for path, label in entries:
        if label < classes and count.get(label, 0) < per_class:
            count[label] = count.get(label, 0) + 1
            chosen.append((path, label))
    return chosen, source


def write_world(root: Path, entries: Sequence[tuple[str, int]], source: str, log: Callable[..., Any]) -> Benchmark:
    """Videos at the list's paths, the list, the 51-class CSV, descriptions and provenance, under ``root``."""
    names = load_manifest("hmdb51")["classes"]
    rng = np.random.default_rng(0)
    frames = VIDEO["seconds"] * VIDEO["fps"]
    for i, (path, label) in enumerate(entries):
        target = root / "videos" / "hmdb51" / path
        if target.is_file():
            continue
        # a textured background and a square moving across it, different per video
        background = rng.integers(0, 256, (VIDEO["height"] // 8, VIDEO["width"] // 8, 3), dtype=np.uint8)
        video = np.repeat(np.repeat(background, 8, 0), 8, 1)[None].repeat(frames, 0)
        for t in range(frames):
            x = (i * 37 + t * 4) % (VIDEO["width"] - 40)
            video[t, 100:140, x : x + 40] = (label * 5) % 256
        write_mp4(target, video, fps=VIDEO["fps"], crf=23)
    folder = root / "splits" / "hmdb51"
    write_text(folder / "test_split1.txt", "".join(f"{path} {label}\n" for path, label in entries))
    write_text(folder / "classes.csv", class_csv_text(names))
    label = f"custom: rehearsal, {len(entries)} lines of {source}"
    write_provenance(folder, {"test_split1": dict(kind="custom", label=label)})
    descriptions = "SNo,Class Name,GPT3 discription\n" + "".join(
        f'{i},{n},"\n\nA person is doing {n}: a rehearsal description."\n' for i, n in enumerate(names)
    )
    write_text(root / "descriptions" / DATASETS["hmdb51"]["descriptions"], descriptions)
    log(f"rehearsal data: {len(entries)} videos of {VIDEO['width']}x{VIDEO['height']}, {frames} frames, under {root}")
    return Benchmark("full", root / "videos", root / "splits", root / "descriptions")


def parity_batch(
    benchmark: Benchmark, entries: Sequence[tuple[str, int]], frames: int, input_size: int, crops: int
) -> dict:
    """The first videos of the list through the evaluation pipeline, as one batch."""
    from mmengine.dataset import Compose, pseudo_collate

    from ezclip.data.pipelines import eval_pipeline

    pipeline = Compose(eval_pipeline(frames, input_size, crops=crops))
    root = benchmark.video_root("hmdb51")
    return pseudo_collate(
        [
            pipeline(dict(filename=str(root / path), label=label, start_index=0, modality="RGB"))
            for path, label in entries
        ]
    )


def same_batch(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a["inputs"], b["inputs"]))


def timed_scores(model: torch.nn.Module, batch: dict[str, Any], classes: Sequence[str]) -> tuple[torch.Tensor, float]:
    """The model's class scores for ``batch``, and its videos/s (text features computed before timing)."""
    model.set_classes(classes)
    with torch.no_grad():
        model.class_text_features()
        start = time.perf_counter()
        data = model.data_preprocessor(batch)
        scores = torch.stack([s.pred_score for s in model(**data, mode="predict")])
    return scores, len(batch["inputs"]) / (time.perf_counter() - start)


def decode_rate(benchmark: Benchmark, frames: int, input_size: int, crops: int, workers: int) -> float:
    """Videos/s of the evaluation pipeline alone (decode, sample, resize, crop) through a loader with
    ``workers`` persistent worker processes, as ``run`` loads: a first pass starts them, the second is timed."""
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    from ezclip.data.dataset import VideoListDataset
    from ezclip.data.pipelines import eval_pipeline

    dataset = VideoListDataset(
        str(benchmark.list_file("hmdb51", "test_split1")),
        benchmark.class_file("hmdb51", "classes"),
        eval_pipeline(frames, input_size, crops=crops),
        data_prefix=dict(video=str(benchmark.video_root("hmdb51"))),
        test_mode=True,
    )
    loader = DataLoader(
        dataset,
        batch_size=1,
        num_workers=workers,
        multiprocessing_context="forkserver" if workers else None,  # as run's loaders (ezclip.engine.loader)
        persistent_workers=workers > 0,
        collate_fn=pseudo_collate,
    )
    sum(len(batch["inputs"]) for batch in loader)
    start = time.perf_counter()
    count = sum(len(batch["inputs"]) for batch in loader)
    return count / (time.perf_counter() - start)


def rehearse(
    out: str | Path,
    official_list: str | Path | None = None,
    models: Sequence[str] = MODELS,
    classes: int = 8,
    per_class: int = 2,
    workers: int = 2,
    parity_videos: int = 2,
    log: Callable[..., Any] = print,
) -> list[dict[str, Any]]:
    """Run the rehearsal under ``out``; returns one summary per model (raises if a check fails)."""
    from mmaction.registry import MODELS as REGISTRY

    from ezclip.errors import EzclipError

    out = Path(out)
    entries, source = hmdb_list(Path(official_list) if official_list else None, classes, per_class)
    benchmark = write_world(out, entries, source, log)
    names = load_manifest("hmdb51")["classes"]
    parity_classes, parity_entries = names[: max(classes, 2)], entries[:parity_videos]
    folder, exported_scores, batches = out / "released", {}, {}
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(models):  # one full-size model in memory at a time
        start = time.perf_counter()
        checkpoint = released.checkpoint_for(name, "zeroshot", "k400")
        model, official = random_official_checkpoint(name, benchmark, seed=i)
        torch.save(official, folder / checkpoint["file"])
        del official
        if name == "vificlip":  # its layout keeps no token table: the base CLIP it came from supplies it
            torch.save(model.clip.state_dict(), out / "base-clip.pt")
        crops = model_setup(name, benchmark, checkpoint=checkpoint, without=WITHOUT)["recipe"].get("test_crops", 1)
        batches[name] = parity_batch(benchmark, parity_entries, checkpoint["frames"], checkpoint["input_size"], crops)
        exported_scores[name] = timed_scores(model, batches[name], parity_classes)[0]
        del model
        gc.collect()
        log(
            f"[{name}] random {checkpoint['arch']} {checkpoint['frames']}f checkpoint in the official layout: "
            f"{folder / checkpoint['file']} ({(folder / checkpoint['file']).stat().st_size / 2**20:.0f} MiB, "
            f"{time.perf_counter() - start:.0f} s)"
        )
    benchmark.clip_weights = out / "base-clip.pt" if "vificlip" in models else None

    protocol = load_protocol("zeroshot")
    protocol.stages = [
        dict(
            stage,
            evaluate=[ev for ev in stage["evaluate"] if (ev["dataset"], ev["list"]) == ("hmdb51", "test_split1")],
        )
        for stage in protocol.stages
    ]
    start = time.perf_counter()
    run_protocol(
        protocol,
        models,
        benchmark,
        out / "results",
        out / "work",
        released=folder,
        cache=out / "cache",
        workers=workers,
        force=True,
        log=log,
        without=WITHOUT,
    )
    log(
        f"run zeroshot --released on {len(entries)} videos, {workers} loader workers: "
        f"{time.perf_counter() - start:.0f} s"
    )

    by_model = {r["model"]["name"]: r for r in read_records(out / "results")}
    summaries, problems = [], []
    for name in models:
        record = by_model.get(name)
        if record is None or record["status"] != "ok" or record["eval"]["videos_evaluated"] != len(entries):
            problems.append(f"{name}: record {'missing' if record is None else record['status']}")
            continue
        checkpoint = released.checkpoint_for(name, "zeroshot", "k400")
        setup = model_setup(name, benchmark, checkpoint=checkpoint, without=WITHOUT)
        # the harness's path: the file converted (from the cache) and loaded as `run --released` does
        recognizer = REGISTRY.get(setup["model"]["type"])
        state, from_base = released.converted(folder / checkpoint["file"], recognizer, out / "cache")
        clip = setup["model"]["clip"] if from_base else dict(setup["model"]["clip"], pretrained=None)
        harness_model = REGISTRY.build(dict(setup["model"], clip=clip)).eval()
        released.load(harness_model, folder / checkpoint["file"], state, from_base)
        del state
        crops = record["eval"]["crops"]
        batch = batches.pop(name)  # what the exported model saw (see the module docstring)
        reread = same_batch(
            batch, parity_batch(benchmark, parity_entries, checkpoint["frames"], checkpoint["input_size"], crops)
        )
        ours, model_rate = timed_scores(harness_model, batch, parity_classes)
        del harness_model
        gc.collect()
        parity = float((ours - exported_scores[name]).abs().max())
        decode = decode_rate(benchmark, checkpoint["frames"], checkpoint["input_size"], crops, workers)
        summary = dict(
            model=name,
            file=checkpoint["file"],
            arch=checkpoint["arch"],
            frames=checkpoint["frames"],
            crops=crops,
            videos=record["eval"]["videos_evaluated"],
            top1=record["metrics"]["top1"],
            parity_max_abs=parity,
            reread_same_frames=reread,
            decode_videos_per_s=decode,
            model_videos_per_s=model_rate,
            eval_wall_s=record["wall_s"],
        )
        summaries.append(summary)
        log(
            f"[{name}] {summary['videos']} videos evaluated in {record['wall_s']:.0f} s; parity with the exported "
            f"model: max |Δ score| {parity:.1e} (tolerance {PARITY_TOLERANCE:.0e}); decode {decode:.1f} videos/s "
            f"({workers} workers), model {model_rate:.2f} videos/s ({checkpoint['frames']}f x {crops} crop(s)); "
            f"a second read of its parity videos gave {'the same' if reread else 'other'} frames"
        )
        if parity > PARITY_TOLERANCE:
            problems.append(f"{name}: harness scores differ from the exported model's by {parity:.1e}")
    write_text(out / "rehearsal.json", json.dumps(summaries, indent=1) + "\n")
    if problems:
        raise EzclipError("rehearsal failed: " + "; ".join(problems))
    return summaries
