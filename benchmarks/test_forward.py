"""pytest-benchmark: the image path (``extract_feat``) of every registered model, and the plain CLIP
image tower, on one synthetic view.

    pytest benchmarks --benchmark-only                      # the mini benchmark's tiny tower ('ezclip-mini', 32 px)
    EZCLIP_BENCH_VITB16=1 pytest benchmarks --benchmark-only  # also ViT-B/16 at 224 px (2-4 s a call on 2 cores)

``EZCLIP_BENCH_FRAMES`` (default 8) sets T, ``EZCLIP_BENCH_THREADS`` (default 1; 0 for torch's default)
the torch CPU threads. ``ezclip-bench profile`` gives the same forward with FLOP
counts and the ratio to the CLIP tower; this suite is for tracking a forward's time across commits
(``--benchmark-autosave`` / ``--benchmark-compare``).
"""

import os

import pytest
import torch

from ezclip.profiling import TOWER, ImageTower
from ezclip.zoo import build_model, list_models

FRAMES = int(os.environ.get("EZCLIP_BENCH_FRAMES", "8"))


def _run(benchmark, forward, x, arch, model):
    # ``measures``: what `plan` estimates a test view's time from (ezclip.profiling.costs)
    benchmark.extra_info.update(
        measures="forward",
        model=model,
        arch=arch,
        frames=FRAMES,
        input_shape=list(x.shape),
        device="cpu",
        threads=torch.get_num_threads(),
    )
    with torch.no_grad():
        forward(x)  # first call outside the timing (allocations, lazy init)
        if arch == "ViT-B-16":  # seconds per call on CPU: a few fixed rounds instead of calibration
            benchmark.pedantic(forward, args=(x,), rounds=3, iterations=1, warmup_rounds=1)
        else:
            benchmark(forward, x)


@pytest.mark.parametrize("name", list(list_models()))
def test_extract_feat(benchmark, name, arch_size):
    arch, size = arch_size
    model = build_model(name, arch=arch, frames=FRAMES, pretrained=None).eval()
    benchmark.group = f"extract_feat {arch} {FRAMES}x{size}"
    _run(benchmark, model.extract_feat, torch.randn(1, FRAMES, 3, size, size), arch, name)


def test_clip_image_tower(benchmark, arch_size):
    arch, size = arch_size
    tower = ImageTower(arch).eval()
    benchmark.group = f"extract_feat {arch} {FRAMES}x{size}"
    _run(benchmark, tower, torch.randn(1, FRAMES, 3, size, size), arch, TOWER)
