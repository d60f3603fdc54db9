"""pytest-benchmark: tiny-CLIP pretraining steps per second alone and beside one busy process, at one
thread (what the mini benchmark pins, ``ezclip.numerics``) and at two (torch's default on 2 cores).

    pytest benchmarks/test_mini_contention.py --benchmark-only

The tiny model's operators are too small to share across threads: with two, each synchronisation waits
for a thread the busy process has descheduled. One thread slows in proportion to the CPU it loses.
The steps per second are in each result's ``extra_info``.
"""

import subprocess
import sys

import pytest
import torch

from ezclip.mini.pretrain import SETTINGS, pretrain

STEPS = 40


@pytest.fixture
def busy_processes(request):
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(request.param)]
    yield request.param
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("busy_processes", [0, 1], indirect=True, ids=["alone", "beside-1-busy"])
def test_tiny_clip_pretraining_steps_per_second(benchmark, threads, busy_processes):
    settings = dict(SETTINGS, steps=STEPS, threads=threads)
    before = torch.get_num_threads()
    benchmark.pedantic(lambda: pretrain(0, settings, log=lambda *a: None), rounds=1, iterations=1)
    torch.set_num_threads(before)
    benchmark.extra_info.update(
        threads=threads, busy_processes=busy_processes, steps_per_s=round(STEPS / benchmark.stats.stats.mean, 2)
    )
