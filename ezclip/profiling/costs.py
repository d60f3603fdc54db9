"""What a job costs, estimated from the benchmarks (``benchmarks/``, pytest-benchmark JSON files:
``tox -e bench`` writes ``results/efficiency/benchmarks.json``), for ``ezclip-bench plan``.

Each benchmark says what it measured in its ``extra_info`` (``measures``):

- ``train_step``: one training step of a model (forward, loss, backward, AdamW) at an architecture,
  ``batch`` videos of ``frames`` frames: seconds per video-frame;
- ``forward``: ``extract_feat`` of one view of ``frames`` frames: seconds per frame of a test view;
- ``decode``: the evaluation pipeline (decode, sample, resize, crop) with a backend and a number of
  loader workers, on videos of a kind (``videos_of``): ``full-size`` (H.264, 340x256, 10 s, as in
  Kinetics and HMDB) or ``mini`` (the mini benchmark's own): seconds per video.

A job's estimate, per process (its lists are sharded over ``processes``):

- training: videos x epochs x (frames x train seconds per frame, or the decode time per video where
  the loader workers cannot keep up);
- evaluation: per list, videos x (views x frames x forward seconds per frame, or decode, likewise),
  the decode measured for the pipeline nearest the job's (frames x clips, crops) on videos of the
  benchmark's kind (``Benchmark.video_kind``).

With loader workers, decoding overlaps the model, so a video costs the larger of the two; without,
their sum. Workers beyond those measured are taken to scale linearly from the most measured. The
estimate leaves out what the benchmarks do not measure: text features (once per class set), X-CLIP's
per-class prompt generator, checkpoints, and start-up. It is as good as the machine the benchmarks ran
on is like the one the jobs will run on: the basis line names it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ezclip.benchmark import Benchmark
from ezclip.data.lists import first_per_class, read_class_csv, read_video_list
from ezclip.errors import InputError
from ezclip.recipes import stage_recipe

# decord reads every container; torchcodec, first where it loads, declines AVI and decodes mp4 faster than
# this estimate says (ezclip.data.transforms.default_backends)
DECODE_BACKEND = "decord"


@dataclass
class Rates:
    """Seconds per unit of work, read from benchmark files; keys as in the module docstring."""

    train: dict[tuple[str, str], float] = field(default_factory=dict)  # (model, arch) -> s per video-frame
    forward: dict[tuple[str, str], float] = field(default_factory=dict)  # (model, arch) -> s per frame
    # (videos of, frames, crops, workers) -> s per video
    decode: dict[tuple[str, int, int, int], float] = field(default_factory=dict)
    basis: list[str] = field(default_factory=list)  # one line per file: what ran where

    def decode_seconds(self, kind: str, frames: int, crops: int, workers: int) -> float | None:
        """Seconds per video of ``kind`` for the measured pipeline nearest ``frames`` x ``crops``, at
        ``workers`` (scaled linearly from the most workers measured where more are asked for)."""
        pipelines = {(f, c) for k, f, c, _ in self.decode if k == kind}
        if not pipelines:
            return None
        f, c = min(pipelines, key=lambda p: (abs(math.log(p[0] / frames)) + abs(math.log(p[1] / crops)), p))
        measured = sorted(w for k, pf, pc, w in self.decode if (k, pf, pc) == (kind, f, c))
        if workers in measured:
            return self.decode[kind, f, c, workers]
        below = [w for w in measured if 0 < w < workers]
        if not below:
            return self.decode[kind, f, c, measured[0]]
        return self.decode[kind, f, c, below[-1]] * below[-1] / workers


def read_rates(paths: Iterable[str | Path]) -> Rates:
    """The rates in pytest-benchmark JSON files (later files win where two measured the same)."""
    rates = Rates()
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise InputError(path, f"cannot read it ({e.strerror}); `tox -e bench` writes one") from None
        try:
            data = json.loads(text)
            runs = data["benchmarks"]
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(path, f"not a pytest-benchmark JSON file ({e})") from None
        devices, threads, videos = set(), set(), set()
        for run in runs:
            info = run.get("extra_info", {})
            try:
                if not _add(rates, info, run["stats"]["mean"]):
                    continue
            except KeyError as e:
                raise InputError(path, f"benchmark {run.get('name')}: no {e} in its extra_info or stats") from None
            devices.add(info.get("device", "cpu"))
            threads.update([info["threads"]] if "threads" in info else [])
            videos.update([f"{info['videos_of']}: {info.get('video', '?')}"] if "videos_of" in info else [])
        cpu = data.get("machine_info", {}).get("cpu", {})
        rates.basis.append(
            f"{path}: {len(runs)} benchmarks of {data.get('datetime', '?')[:10]} on "
            f"{cpu.get('brand_raw', '?')} ({cpu.get('count', '?')} CPUs), device {', '.join(sorted(devices)) or '?'}, "
            f"torch threads {', '.join(map(str, sorted(threads))) or '?'}"
            + (f"; decoding {'; '.join(sorted(videos))}" if videos else "")
        )
    return rates


def _add(rates: Rates, info: Mapping[str, Any], seconds: float) -> bool:
    """Add one benchmark's rate; False for one that measures nothing a job's estimate uses."""
    measures = info.get("measures")
    if measures == "train_step":
        rates.train[info["model"], info["arch"]] = seconds / (info["batch"] * info["frames"])
    elif measures == "forward":
        rates.forward[info["model"], info["arch"]] = seconds / info["frames"]
    elif measures == "decode" and info["backend"] == DECODE_BACKEND:
        rates.decode[info["videos_of"], info["frames"], info["crops"], info["workers"]] = seconds / info["videos"]
    else:
        return False
    return True


def list_size(benchmark: Benchmark, spec: Mapping[str, Any], subset: int | None) -> int | None:
    """Videos a list gives (the first ``subset`` of each class where set); None where it is missing."""
    path, classes = (
        benchmark.list_file(spec["dataset"], spec["list"]),
        benchmark.class_file(spec["dataset"], spec["classes"]),
    )
    if not (path.is_file() and classes.is_file()):
        return None
    return len(first_per_class(read_video_list(path, len(read_class_csv(classes))), subset))


def job_cost(
    rates: Rates,
    setup: Mapping[str, Any],
    stage: Mapping[str, Any],
    protocol: str,
    benchmark: Benchmark,
    subset: int | None = None,
    processes: int = 1,
    workers: int = 0,
) -> dict[str, Any]:
    """The estimate for one job: ``train_videos`` (x epochs), ``eval_videos`` (x views), ``train_s``,
    ``eval_s`` and ``seconds`` (wall time, each process taking its share), or ``missing``: why not."""
    model, recipe = setup["model"], stage_recipe(setup["recipe"], stage, protocol)
    name, arch, frames = setup["name"], model["clip"]["arch"], model["num_frames"]
    out: dict[str, Any] = dict(train_videos=0, epochs=0, eval_videos=0, views=1, train_s=0.0, eval_s=0.0, missing=[])

    def per_video(model_s: float, decode_s: float | None) -> float:
        if decode_s is None:
            out["missing"].append(f"no decode benchmark of {benchmark.video_kind} videos")
            return model_s
        return max(model_s, decode_s) if workers > 0 else model_s + decode_s

    epochs = recipe.get("epochs", 0)
    if stage.get("train") and epochs > 0 and model.get("trainable", True) != []:
        videos, rate = list_size(benchmark, stage["train"], subset), rates.train.get((name, arch))
        out["epochs"] = epochs
        if videos is None:
            out["missing"].append(f"no list {stage['train']['dataset']}/{stage['train']['list']}")
        else:
            out["train_videos"] = videos
            if rate is None:
                out["missing"].append(f"no train-step benchmark of {name} at {arch}")
            else:
                decode = rates.decode_seconds(benchmark.video_kind, frames, 1, workers)
                out["train_s"] = videos * epochs * per_video(frames * rate, decode) / processes
    clips, crops = recipe.get("test_clips", 1), recipe.get("test_crops", 1)
    out["views"] = clips * crops
    rate = rates.forward.get((name, arch))
    if rate is None:
        out["missing"].append(f"no forward benchmark of {name} at {arch}")
    decode = rates.decode_seconds(benchmark.video_kind, frames * clips, crops, workers)
    for ev in stage["evaluate"]:
        videos = list_size(benchmark, ev, subset)
        if videos is None:
            out["missing"].append(f"no list {ev['dataset']}/{ev['list']}")
            continue
        out["eval_videos"] += videos
        if rate is not None:
            out["eval_s"] += videos * per_video(clips * crops * frames * rate, decode) / processes
    out["missing"] = sorted(set(out["missing"]))
    out["seconds"] = None if out["missing"] else out["train_s"] + out["eval_s"]
    return out
