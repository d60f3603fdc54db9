"""pytest-benchmark: the harness's evaluation data path on realistic videos, per backend and number of
loader workers (VideoListDataset + ``ezclip.data.pipelines.eval_pipeline``: decode, TSN sampling,
resize, crop, pack), as ``run`` loads data.

    pytest benchmarks/test_decode.py --benchmark-only

The videos are what Kinetics and HMDB hold: lossy H.264 (crf 18, x264's default 250-frame GOP with
B-frames), 340x256, 10 s at 30 fps, in mp4 and AVI containers, written into a temporary folder with
``ezclip.data.video_io.write_mp4`` (``EZCLIP_BENCH_DECODE_VIDEOS`` sets how many, default 8). Each run
also reads every video twice more per backend and records in ``extra_info`` how many reads gave other
frames than the first (decord 0.6 returns another frame now and then on some files, dmlc/decord#195).
"""

import os

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from ezclip.data.pipelines import eval_pipeline
from ezclip.data.video_io import write_mp4
from ezclip.errors import InputError

NUM_VIDEOS = int(os.environ.get("EZCLIP_BENCH_DECODE_VIDEOS", "8"))
WIDTH, HEIGHT, SECONDS, FPS = 340, 256, 10, 30


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("decode_bench")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(NUM_VIDEOS):
        # a textured scene panning right with a square moving across it: every frame differs, as in footage
        scene = np.repeat(np.repeat(rng.integers(0, 256, (HEIGHT // 8, 2 * WIDTH // 4, 3), dtype=np.uint8), 8, 0), 4, 1)
        frames = np.empty((SECONDS * FPS, HEIGHT, WIDTH, 3), np.uint8)
        for t in range(len(frames)):
            shift = (2 * t) % WIDTH
            frames[t] = scene[:, shift : shift + WIDTH]
            x = (4 * t + 40 * i) % (WIDTH - 48)
            frames[t, 100:148, x : x + 48] = (255, 200 - 40 * (i % 5), 40 * (i % 5))
        name = f"video_{i}.{'mp4' if i % 2 == 0 else 'avi'}"
        write_mp4(root / name, frames, fps=FPS, crf=18)
        lines.append(f"{name} {i % 2}")
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    (root / "classes.csv").write_text("id,name\n0,class a\n1,class b\n")
    return root


def _dataset(root, frames, input_size, crops, backend, ann_file="list.txt", class_file="classes.csv", videos="."):
    return DATASETS.build(
        dict(
            type="VideoListDataset",
            ann_file=str(root / ann_file),
            class_file=str(root / class_file),
            data_prefix=dict(video=str(root / videos)),
            pipeline=eval_pipeline(frames, input_size=input_size, crops=crops, backends=(backend,)),
            test_mode=True,
        )
    )


def _rereads_differing(dataset, reads=2):
    first = [dataset[i]["inputs"] for i in range(len(dataset))]
    return sum(not torch.equal(dataset[i]["inputs"], first[i]) for _ in range(reads) for i in range(len(dataset)))


@pytest.mark.parametrize("workers", [0, 1, 2])
@pytest.mark.parametrize("backend", ["decord", "pyav", "torchcodec"])
@pytest.mark.parametrize(
    "frames,input_size,crops", [(8, 224, 1), (32, 224, 1), (8, 224, 3)], ids=["8x224", "32x224", "8x224-3crop"]
)
def test_decode_eval_pipeline(benchmark, videos, backend, workers, frames, input_size, crops):
    dataset = _dataset(videos, frames, input_size, crops, backend)
    try:
        first = dataset[0]
    except InputError as e:  # torchcodec needs a torch build of its own and FFmpeg's libraries
        if backend == "torchcodec":
            pytest.skip(str(e))
        raise
    assert tuple(first["inputs"].shape) == (frames * crops, 3, input_size, input_size)
    # as ``run`` loads: persistent workers, started in the warm-up pass, so the timed passes are the steady state
    loader = DataLoader(
        dataset,
        batch_size=1,
        num_workers=workers,
        persistent_workers=workers > 0,
        multiprocessing_context="forkserver" if workers else None,
        collate_fn=pseudo_collate,
    )

    def decode_all():
        return sum(len(batch["inputs"]) for batch in loader)

    benchmark.group = f"decode {frames}x{input_size} crops={crops}"
    benchmark.extra_info.update(
        measures="decode",  # what `plan` estimates a job's data loading from (ezclip.profiling.costs)
        videos_of="full-size",
        frames=frames,
        crops=crops,
        videos=len(dataset),
        video=f"H.264 crf 18, {WIDTH}x{HEIGHT}, {SECONDS} s at {FPS} fps, mp4 and avi",
        backend=backend,
        workers=workers,
        note="one round decodes every video once; videos/s = videos / mean",
    )
    if workers == 0:
        benchmark.extra_info["rereads_with_other_frames"] = f"{_rereads_differing(dataset)} of {2 * len(dataset)}"
    assert benchmark.pedantic(decode_all, rounds=3, iterations=1, warmup_rounds=1) == NUM_VIDEOS


def test_decode_mini_world(benchmark):
    """The mini benchmark's own videos (its HMDB-51 role's test split 1) through its pipeline (4 frames at
    32 px), in the process as its runs load them: what `plan` estimates mini jobs' loading from."""
    from ezclip.benchmark import default_cache
    from ezclip.mini.generate import NUM_FRAMES, ensure_mini

    root = ensure_mini(default_cache(), log=lambda *a: None)
    dataset = _dataset(
        root, NUM_FRAMES, 32, 1, "decord", "splits/hmdb51/test_split1.txt", "splits/hmdb51/classes.csv", "videos/hmdb51"
    )
    benchmark.group = f"decode mini {NUM_FRAMES}x32"
    benchmark.extra_info.update(
        measures="decode",
        videos_of="mini",
        frames=NUM_FRAMES,
        crops=1,
        videos=len(dataset),
        video="the mini benchmark's generated mp4 files",
        backend="decord",
        workers=0,
    )
    decoded = benchmark.pedantic(
        lambda: sum(len(dataset[i]["inputs"]) > 0 for i in range(len(dataset))), rounds=3, warmup_rounds=1
    )
    assert decoded == len(dataset) > 0
