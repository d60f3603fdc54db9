"""pytest-benchmark: decoding real mp4 files through the harness's eval pipeline (VideoListDataset +
``ezclip.data.pipelines.eval_pipeline``: decord or PyAV, TSN sampling, resize, centre crop, pack).

    pytest benchmarks --benchmark-only

The videos are written into a temporary folder with ``ezclip.data.video_io.write_mp4``: a few
short lossy H.264 clips, 320x240 (``EZCLIP_BENCH_DECODE_SIZE=WxH`` changes it).
"""

import os

import numpy as np
import pytest
from mmaction.registry import DATASETS

from ezclip.data.pipelines import eval_pipeline
from ezclip.data.video_io import write_mp4

NUM_VIDEOS = 4
VIDEO_FRAMES = 64
WIDTH, HEIGHT = (int(v) for v in os.environ.get("EZCLIP_BENCH_DECODE_SIZE", "320x240").split("x"))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("decode_bench")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(NUM_VIDEOS):
        # a moving bright square on noise, so the encoder cannot collapse frames to nothing
        frames = rng.integers(0, 64, (VIDEO_FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
        for t in range(VIDEO_FRAMES):
            x = (4 * t + 16 * i) % (WIDTH - 32)
            frames[t, 40:72, x : x + 32] = (255, 200 - 40 * i, 40 * i)
        write_mp4(root / f"video_{i}.mp4", frames, crf=18)  # lossy, as real datasets are
        lines.append(f"video_{i}.mp4 {i % 2}")
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    (root / "classes.csv").write_text("id,name\n0,class a\n1,class b\n")
    return root


def _dataset(root, frames, input_size, crops, backend):
    return DATASETS.build(
        dict(
            type="VideoListDataset",
            ann_file=str(root / "list.txt"),
            class_file=str(root / "classes.csv"),
            data_prefix=dict(video=str(root)),
            pipeline=eval_pipeline(frames, input_size=input_size, crops=crops, backends=(backend,)),
            test_mode=True,
        )
    )


@pytest.mark.parametrize("backend", ["decord", "pyav"])
@pytest.mark.parametrize(
    "frames,input_size,crops", [(8, 224, 1), (8, 224, 3), (8, 32, 1)], ids=["8x224", "8x224-3crop", "8x32"]
)
def test_decode_eval_pipeline(benchmark, videos, backend, frames, input_size, crops):
    dataset = _dataset(videos, frames, input_size, crops, backend)
    first = dataset[0]
    assert tuple(first["inputs"].shape) == (frames * crops, 3, input_size, input_size)

    def decode_all():
        return [dataset[i]["inputs"] for i in range(len(dataset))]

    benchmark.group = f"decode {frames}x{input_size} crops={crops}"
    benchmark.extra_info.update(
        videos=len(dataset),
        video_size=f"{WIDTH}x{HEIGHT}",
        video_frames=VIDEO_FRAMES,
        backend=backend,
        note="one round decodes every video once; divide by videos",
    )
    out = benchmark(decode_all)
    assert len(out) == NUM_VIDEOS
