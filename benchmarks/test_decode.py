"""pytest-benchmark: the harness's evaluation data path on realistic videos, per backend and number of
loader workers (VideoListDataset + ``ezclip.data.pipelines.eval_pipeline``: decode, TSN sampling,
resize, crop, pack), as ``run`` loads data.

    pytest benchmarks/test_decode.py --benchmark-only

The videos are what Kinetics and HMDB hold, 340x256, 10 s at 30 fps, in turn: lossy H.264 in mp4
(crf 18, x264's default 250-frame GOP with B-frames), H.264 in AVI, and MPEG-4 Part 2 with 2 B-frames
in AVI (HMDB-51's and UCF-101's xvid), written into a temporary folder (``EZCLIP_BENCH_DECODE_VIDEOS``
sets how many, default 9). A backend is benchmarked as the first of a chain that ends with PyAV: it
reads the files it reads exactly (``transforms.EXACT``), PyAV the others (``extra_info`` counts them);
``default`` is ``default_backends()``. Each run also reads every video twice more and records in
``extra_info`` how many reads gave other frames than the first (decord 0.6 returns another frame now
and then on some files, dmlc/decord#195).

``test_decode_large_video`` (``EZCLIP_BENCH_LARGE=1``): one 10-s 3840x2160 video, 8 frames, time and
peak memory per backend, each read in a fresh process.
"""

import os

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from ezclip.data.pipelines import eval_pipeline
from ezclip.data.transforms import default_backends
from ezclip.data.video_io import write_video

NUM_VIDEOS = int(os.environ.get("EZCLIP_BENCH_DECODE_VIDEOS", "9"))
KINDS = (("mp4", "libx264", 250, 3), ("avi", "libx264", 250, 0), ("avi", "mpeg4", 12, 2))
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
        suffix, codec, gop, bframes = KINDS[i % len(KINDS)]
        name = f"video_{i}.{suffix}"
        options = {"crf": "18"} if codec == "libx264" else {"qscale": "4"}
        write_video(root / name, frames, codec, FPS, gop, bframes, options=options)
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
            pipeline=eval_pipeline(frames, input_size=input_size, crops=crops, backends=chain(backend)),
            test_mode=True,
        )
    )


def chain(backend):
    return default_backends() if backend == "default" else tuple(dict.fromkeys((backend, "pyav")))


def _rereads_differing(dataset, reads=2):
    first = [dataset[i]["inputs"] for i in range(len(dataset))]
    return sum(not torch.equal(dataset[i]["inputs"], first[i]) for _ in range(reads) for i in range(len(dataset)))


@pytest.mark.parametrize("workers", [0, 1, 2])
@pytest.mark.parametrize("backend", ["default", "decord", "pyav", "torchcodec"])
@pytest.mark.parametrize(
    "frames,input_size,crops", [(8, 224, 1), (32, 224, 1), (8, 224, 3)], ids=["8x224", "32x224", "8x224-3crop"]
)
def test_decode_eval_pipeline(benchmark, videos, backend, workers, frames, input_size, crops):
    dataset = _dataset(videos, frames, input_size, crops, backend)
    if backend == "torchcodec" and "torchcodec" not in default_backends():
        pytest.skip("torchcodec does not decode here (it needs a torch build of its own and FFmpeg's libraries)")
    first = dataset[0]
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
        video=f"{WIDTH}x{HEIGHT}, {SECONDS} s at {FPS} fps: H.264 crf 18 in mp4 and avi, MPEG-4 with B-frames in avi",
        backend=backend,
        decoded_by=_decoded_by(dataset),
        workers=workers,
        note="one round decodes every video once; videos/s = videos / mean",
    )
    if workers == 0:
        benchmark.extra_info["rereads_with_other_frames"] = f"{_rereads_differing(dataset)} of {2 * len(dataset)}"
    assert benchmark.pedantic(decode_all, rounds=3, iterations=1, warmup_rounds=1) == NUM_VIDEOS


def _decoded_by(dataset):
    counts = {}
    for i in range(len(dataset)):
        name = dataset[i]["data_samples"].metainfo["video_backend"]
        counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.skipif(not os.environ.get("EZCLIP_BENCH_LARGE"), reason="EZCLIP_BENCH_LARGE=1: a 4K video")
@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_decode_large_video(benchmark, tmp_path_factory, backend):
    """One 10-s 3840x2160 H.264 video, 8 test frames: seconds and peak memory (ru_maxrss of a fresh
    process that reads it once), per backend."""
    import json
    import subprocess
    import sys

    path = tmp_path_factory.getbasetemp() / "large.mp4"
    if not path.exists():
        frames = np.random.default_rng(0).integers(0, 256, (1, 2160 // 8, 3840 // 8, 3), dtype=np.uint8)
        scene = np.kron(frames[0], np.ones((8, 8, 1), np.uint8))
        write_video(path, (np.roll(scene, 8 * t, axis=1) for t in range(SECONDS * FPS)), gop=250, bframes=3)
    code = (
        "import json, resource, sys, time; import ezclip; from mmengine.dataset import Compose; "
        "from ezclip.data.pipelines import eval_pipeline; "
        f"p = Compose(eval_pipeline(8, backends={(backend,)!r})[:3]); t = time.time(); "
        "p(dict(filename=sys.argv[1], start_index=0, modality='RGB')); "
        "print(json.dumps(dict(s=time.time() - t, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))"
    )

    def read():
        return json.loads(
            subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
        )

    benchmark.group = "decode 4K 8 frames"
    result = benchmark.pedantic(read, rounds=1, iterations=1)
    benchmark.extra_info.update(measures="large video", backend=backend, **result)


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
