"""Throughput: batch-1 latency and batch-N videos/s, each model timed in alternation with the CLIP
image tower so that load changes on a shared machine cancel."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ezclip.profiling.paths import DTYPES

if TYPE_CHECKING:
    from ezclip.models.base import VideoCLIP


# -- throughput -------------------------------------------------------------------------------------
def _sync(device: str | torch.device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device: str | torch.device, dtype: str) -> contextlib.AbstractContextManager[Any]:
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[dtype])


def time_forward(
    step: Callable[..., object],
    inputs: Sequence[torch.Tensor],
    iters: int,
    warmup: int,
    device: str | torch.device = "cpu",
    dtype: str = "fp32",
) -> list[float]:
    """Per-call seconds of ``step(*inputs)`` (no grad, after ``warmup`` untimed calls)."""
    times: list[float] = []
    with torch.no_grad(), _autocast(device, dtype):
        for _ in range(warmup):
            step(*inputs)
        _sync(device)
        for _ in range(iters):
            start = time.perf_counter()
            step(*inputs)
            _sync(device)
            times.append(time.perf_counter() - start)
    return times


def time_paired(
    step: Callable[..., object],
    reference: Callable[..., object],
    inputs: Sequence[torch.Tensor],
    iters: int,
    warmup: int,
    device: str | torch.device = "cpu",
    dtype: str = "fp32",
) -> tuple[list[float], list[float]]:
    """Per-call seconds of ``step`` and ``reference`` timed alternately (AB BA AB ...), so that a change
    in the machine's load hits both alike; returns the two lists, pair by pair."""
    times: tuple[list[float], list[float]] = ([], [])
    with torch.no_grad(), _autocast(device, dtype):
        for _ in range(warmup):
            step(*inputs)
            reference(*inputs)
        _sync(device)
        for i in range(iters):
            order = ((0, step), (1, reference)) if i % 2 == 0 else ((1, reference), (0, step))
            for which, fn in order:
                start = time.perf_counter()
                fn(*inputs)
                _sync(device)
                times[which].append(time.perf_counter() - start)
    return times


def measure_throughput(
    step: Callable[..., object],
    make_inputs: Callable[[int], Sequence[torch.Tensor]],
    frames: int,
    batch: int,
    iters: int,
    warmup: int,
    device: str | torch.device = "cpu",
    dtype: str = "fp32",
) -> dict[str, Any]:
    """Batch-1 latency and batch-``batch`` throughput of ``step`` on ``make_inputs(b)``."""
    one = time_forward(step, make_inputs(1), iters, warmup, device, dtype)
    many = one if batch == 1 else time_forward(step, make_inputs(batch), iters, warmup, device, dtype)
    latency = statistics.median(one)
    videos = batch / statistics.median(many)
    return dict(
        latency_ms=1000 * latency,
        latency_ms_min=1000 * min(one),
        videos_per_s=videos,
        frames_per_s=videos * frames,
        batch=batch,
        iters=iters,
        warmup=warmup,
    )


def measure_against_tower(
    step: Callable[..., object],
    tower: Callable[..., object],
    make_inputs: Callable[[int], Sequence[torch.Tensor]],
    frames: int,
    batch: int,
    iters: int,
    warmup: int,
    device: str | torch.device = "cpu",
    dtype: str = "fp32",
) -> dict[str, Any]:
    """``measure_throughput`` of ``step`` with the tower timed in alternation on the same inputs: the
    ratios are medians of the per-pair ratios (model over tower for latency, tower over model for
    throughput), and ``tower_*`` are this pairing's own tower numbers."""
    one = time_paired(step, tower, make_inputs(1), iters, warmup, device, dtype)
    many = one if batch == 1 else time_paired(step, tower, make_inputs(batch), iters, warmup, device, dtype)
    videos, tower_videos = batch / statistics.median(many[0]), batch / statistics.median(many[1])
    return dict(
        latency_ms=1000 * statistics.median(one[0]),
        latency_ms_min=1000 * min(one[0]),
        videos_per_s=videos,
        frames_per_s=videos * frames,
        batch=batch,
        iters=iters,
        warmup=warmup,
        tower_latency_ms=1000 * statistics.median(one[1]),
        tower_videos_per_s=tower_videos,
        latency_ratio_vs_tower=statistics.median(m / t for m, t in zip(*one)),
        throughput_ratio_vs_tower=statistics.median(t / m for m, t in zip(*many)),
        ratio_method="median of per-pair ratios, model and tower timed alternately",
    )


def video_inputs(
    frames: int, input_size: int, device: str | torch.device, seed: int = 0
) -> Callable[[int], tuple[torch.Tensor]]:
    def make(b: int) -> tuple[torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        return (torch.randn(b, frames, 3, input_size, input_size, generator=gen).to(device),)

    return make


def model_step(model: VideoCLIP, text_features: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """One test step per batch with cached text: scores ``(B, K)``."""

    def step(frames: torch.Tensor) -> torch.Tensor:
        logits = model.class_logits(model.encode_video(frames), text_features)
        return logits.softmax(dim=-1).mean(dim=0)

    return step
