"""pytest-benchmark: ``data check`` on a 100,000-line list naming a few distinct files (each distinct
file is probed once, in parallel, and its frames compared once per sampled file), as a user's check of
a Kinetics-size list costs on top of its videos.

    pytest benchmarks/test_datacheck.py --benchmark-only
"""

import numpy as np

from ezclip.benchmark import Benchmark
from ezclip.data.video_io import indexed_frames, write_video
from ezclip.datacheck import check_data

LINES, DISTINCT = 100_000, 2


def test_data_check_100k_lines(benchmark, tmp_path):
    videos, splits = tmp_path / "videos" / "k400", tmp_path / "splits" / "k400"
    videos.mkdir(parents=True)
    splits.mkdir(parents=True)
    frames = indexed_frames(90)
    for i in range(DISTINCT):
        write_video(videos / f"v{i}.mp4", frames, gop=30, bframes=2)
    (splits / "big.txt").write_text("".join(f"v{i % DISTINCT}.mp4 {i % 2}\n" for i in range(LINES)))
    (splits / "classes.csv").write_text("id,name\n0,a\n1,b\n")
    bench = Benchmark("full", tmp_path / "videos", tmp_path / "splits")

    def check():
        return check_data(bench, ["k400"], work_dir=tmp_path / "work")  # the probe cache: warm after round 1

    benchmark.group = "data check"
    benchmark.extra_info.update(lines=LINES, distinct_files=DISTINCT, frames_sample=20)
    rows = benchmark.pedantic(check, rounds=3, iterations=1)
    assert rows[0]["listed"] == LINES and rows[0]["decodable"] == LINES and not rows[0]["wrong_frames"]
    assert np.isfinite(benchmark.stats.stats.mean)
