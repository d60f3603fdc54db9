"""The mini benchmark's generators are deterministic and produce what the protocols read."""

import json

import numpy as np
import torch

from ezclip.mini import world
from ezclip.mini.pretrain import SETTINGS, pretrain


def test_clips_are_deterministic_per_seed():
    a = world.render_clip("red", "square", "moving left", np.random.default_rng(3), 12)
    b = world.render_clip("red", "square", "moving left", np.random.default_rng(3), 12)
    assert np.array_equal(a, b)


def test_motion_is_what_the_class_says():
    frames = world.render_clip("red", "square", "moving right", np.random.default_rng(0), 12)
    red = (frames[..., 0] > 180) & (frames[..., 1] < 100)
    xs = [np.nonzero(f)[1].mean() for f in red]
    assert xs[-1] - xs[0] > 10 and all(b >= a for a, b in zip(xs, xs[1:]))


def test_colour_change_runs_over_the_middle_third():
    frames = world.render_clip("blue", "square", "moving right", np.random.default_rng(0), 12, end_color="red")
    shape = np.abs(frames.astype(int) - world.BACKGROUND).sum(-1) > 90  # the object's pixels, frame by frame
    red, blue = ([int(f[..., c][m].mean()) for f, m in zip(frames, shape)] for c in (0, 2))
    assert blue[0] > 180 > red[0] and red[-1] > 180 > blue[-1]
    assert red[:4] == [red[0]] * 4 and red[-4:] == [red[-1]] * 4  # pure colours in the first and last thirds
    assert all(b >= a for a, b in zip(red, red[1:]))


def test_pretraining_is_deterministic():
    settings = dict(SETTINGS, steps=2, batch_size=8)
    first, _ = pretrain(seed=1, settings=settings, log=lambda *a: None)
    second, _ = pretrain(seed=1, settings=settings, log=lambda *a: None)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


def test_two_generations_at_once_on_a_busy_machine_are_byte_identical(tmp_path):
    """Two processes generate the world at the same time beside a third that keeps a core busy: every
    file is the same, and so are the content hashes the regression check compares."""
    import subprocess
    import sys

    code = (
        "import json, sys; from ezclip.mini.generate import MiniWorld, content_hashes; "
        "MiniWorld(0).write(sys.argv[1]); print(json.dumps(content_hashes(sys.argv[1])))"
    )
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        runs = [
            subprocess.Popen([sys.executable, "-c", code, str(tmp_path / name)], stdout=subprocess.PIPE, text=True)
            for name in ("a", "b")
        ]
        hashes = [json.loads(run.communicate()[0].splitlines()[-1]) for run in runs]
    finally:
        busy.kill()
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len([f for f in files if f.suffix == ".mp4"]) > 1000
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert [f for f in files if (tmp_path / "a" / f).read_bytes() != (tmp_path / "b" / f).read_bytes()] == []
    assert hashes[0] == hashes[1]


def test_mp4_pixels_and_bytes_do_not_depend_on_the_cpus_simd(tmp_path, monkeypatch):
    """Lossless x264 writes the same bytes with its SIMD kernels and with its plain C code (a CPU
    without them), and the frames decode to exactly the YUV planes given. (Lossy crf 18 files differ
    between the two in 39 of 40 clips: x264's rate control uses approximate float SIMD.)"""
    from ezclip.data import video_io

    clips = [
        world.render_clip("blue", shape, motion, np.random.default_rng(i), 12, end_color="red")
        for i, (shape, motion) in enumerate(zip(world.SHAPES, world.MOTIONS))
    ]
    written = {}
    for asm in ("auto", "0"):
        monkeypatch.setitem(video_io.X264_OPTIONS, "x264-params", f"lookahead-threads=1:sliced-threads=0:asm={asm}")
        written[asm] = [video_io.write_mp4(tmp_path / f"{asm}_{i}.mp4", c).read_bytes() for i, c in enumerate(clips)]
    assert written["auto"] == written["0"]
    import av

    with av.open(str(tmp_path / "auto_0.mp4")) as container:
        decoded = [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]  # Y, then U and V rows
    assert len(decoded) == 12
    for frame, planes in zip(clips[0], decoded):
        assert np.array_equal(planes, np.concatenate([p.reshape(-1, 40) for p in video_io.rgb_to_yuv420p(frame)]))


def test_mp4_bytes_do_not_depend_on_the_process(tmp_path):
    # FFmpeg leaves frame padding uninitialised and x264 reads it at widths that are not multiples of 16
    import subprocess
    import sys

    from ezclip.data.video_io import write_mp4

    code = (
        "import numpy as np, sys; from ezclip.mini import world; from ezclip.data.video_io import write_mp4; "
        "write_mp4(sys.argv[1], world.render_clip('blue', 'cross', 'moving up', np.random.default_rng(7), 12))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "other.mp4")], check=True)
    mine = write_mp4(
        tmp_path / "mine.mp4", world.render_clip("blue", "cross", "moving up", np.random.default_rng(7), 12)
    )
    assert mine.read_bytes() == (tmp_path / "other.mp4").read_bytes()


def test_an_interrupted_generation_leaves_nothing_behind(tmp_path):
    """The temporary folder of a generation killed mid-way is removed by the next one; the folder of
    a generation still running (its process alive) is not."""
    import os
    import subprocess
    import sys

    from ezclip.mini.generate import remove_interrupted

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"mini-0123456789abcdef.tmp{int(gone.stdout)}"
    running = tmp_path / f"mini-0123456789abcdef.tmp{os.getpid()}"
    for folder in (dead, running):
        (folder / "videos").mkdir(parents=True)
    assert remove_interrupted(tmp_path, log=lambda *a: None) == [dead]
    assert not dead.exists() and running.is_dir()
