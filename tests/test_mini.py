"""The mini benchmark's generators are deterministic and produce what the protocols read."""
import json

import numpy as np
import torch

from ezclip.mini import world
from ezclip.mini.generate import MiniWorld
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


def test_generation_is_deterministic(tmp_path):
    info_a = MiniWorld(0).write(tmp_path / "a")
    MiniWorld(0).write(tmp_path / "b")
    for rel in ("splits/k400/train.txt", "splits/ssv2/fewshot_16.txt", "splits/hmdb51/base.csv"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    clip = "videos/ucf101/" + (tmp_path / "a" / "splits/ucf101/test_split1.txt").read_text().split()[0]
    assert (tmp_path / "a" / clip).read_bytes() == (tmp_path / "b" / clip).read_bytes()
    assert json.loads((tmp_path / "a" / "mini.json").read_text())["videos"] == info_a["videos"] > 1000


def test_mp4_bytes_do_not_depend_on_the_process(tmp_path):
    # FFmpeg leaves frame padding uninitialised and x264 reads it at widths that are not multiples of 16
    import subprocess
    import sys

    from ezclip.data.video_io import write_mp4

    code = ("import numpy as np, sys; from ezclip.mini import world; from ezclip.data.video_io import write_mp4; "
            "write_mp4(sys.argv[1], world.render_clip('blue', 'cross', 'moving up', np.random.default_rng(7), 12))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "other.mp4")], check=True)
    mine = write_mp4(tmp_path / "mine.mp4", world.render_clip("blue", "cross", "moving up", np.random.default_rng(7), 12))
    assert mine.read_bytes() == (tmp_path / "other.mp4").read_bytes()
