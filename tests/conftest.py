import json

import numpy as np
import pytest

from ezclip.data.video_io import write_mp4


def moving_square_frames(seed, num_frames=16, size=64, color=(255, 0, 0), direction=1):
    """A square of one colour moving left or right on a grey background."""
    rng = np.random.default_rng(seed)
    frames = np.full((num_frames, size, size, 3), 96, np.uint8)
    start = int(rng.integers(0, size // 4))
    for t in range(num_frames):
        x = start + t * 2 if direction > 0 else size - 12 - start - t * 2
        frames[t, 16:28, max(x, 0) : max(x, 0) + 12] = color
    return frames


@pytest.fixture
def video_dataset(tmp_path):
    """Six tiny real mp4 files in two classes (red / blue squares), a list and a class CSV."""
    root = tmp_path / "videos"
    lines = []
    for i in range(6):
        label = i % 2
        name = f"clip_{i}.mp4"
        write_mp4(root / name, moving_square_frames(i, color=(255, 0, 0) if label == 0 else (0, 0, 255)))
        lines.append(f"{name} {label}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "classes.csv").write_text("id,name\n0,red square\n1,blue square\n")
    return dict(
        root=str(root), ann_file=str(tmp_path / "list.txt"), class_file=str(tmp_path / "classes.csv"), tmp=tmp_path
    )


@pytest.fixture(scope="session")
def mini(tmp_path_factory):
    """The mini benchmark's data (generated once per session), with an untrained tiny CLIP: the
    protocols' code paths, not their numbers, are under test here."""
    from ezclip.benchmark import MiniBenchmark
    from ezclip.mini.generate import NUM_FRAMES, ensure_mini

    root = ensure_mini(tmp_path_factory.mktemp("cache"), log=lambda *a: None)
    info = json.loads((root / "mini.json").read_text())
    return MiniBenchmark(
        "mini",
        root / "videos",
        root / "splits",
        root / "descriptions",
        clip=dict(arch="ezclip-mini", pretrained=None),
        num_frames=NUM_FRAMES,
        input_size=32,
        reversal_pairs={"ssv2": info["datasets"]["ssv2"]["reversal_pairs"]},
    )
