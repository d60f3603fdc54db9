"""The bad-input catalogue: each case gives one clear error naming the file (and line), or, where the
user chose skipping, a counted and recorded skip. (Lists, class and description CSVs: test_data.py;
unknown names: test_cli.py; weights: test_clip.py; split hashes: test_splits.py.)"""

import shutil

import numpy as np
import pytest
from mmaction.registry import DATASETS

from ezclip.data import eval_pipeline
from ezclip.data.video_io import write_mp4
from ezclip.errors import InputError
from ezclip.harness import load_protocol, run_protocol
from ezclip.records import read_records


def dataset(info, **kwargs):
    return DATASETS.build(
        dict(
            type="VideoListDataset",
            ann_file=info["ann_file"],
            class_file=info["class_file"],
            data_prefix=dict(video=info["root"]),
            pipeline=eval_pipeline(4, input_size=32),
            test_mode=True,
            **kwargs,
        )
    )


def test_truncated_mp4_is_named_or_skipped(video_dataset):
    path = video_dataset["tmp"] / "videos" / "clip_2.mp4"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # cut mid-stream: the container index is gone
    with pytest.raises(InputError, match=r"clip_2\.mp4: cannot decode"):
        dataset(video_dataset)[2]
    skipping = dataset(video_dataset, on_error="skip")
    assert len(skipping) == 5 and skipping.skipped[0]["video"].endswith("clip_2.mp4")


def test_fewer_frames_than_sampled_repeat_frames(video_dataset):
    write_mp4(video_dataset["tmp"] / "videos" / "clip_0.mp4", np.full((2, 64, 64, 3), 128, np.uint8))
    item = dataset(video_dataset)[0]  # 2 frames, 4 sampled: TSN sampling repeats, as the originals do
    assert item["inputs"].shape == (4, 3, 32, 32)


def test_skips_are_counted_in_the_records(mini, tmp_path):
    from ezclip.benchmark import MiniBenchmark

    videos = tmp_path / "videos"
    shutil.copytree(mini.video_root("hmdb51"), videos / "hmdb51")
    first = mini.list_file("hmdb51", "test_split1").read_text().split()[0]
    (videos / "hmdb51" / first).unlink()
    bench = MiniBenchmark("mini", videos, mini.splits_root, None, clip=mini.clip, num_frames=4, input_size=32)
    protocol = load_protocol("zeroshot")
    protocol.stages[0]["evaluate"] = protocol.stages[0]["evaluate"][:1]
    with pytest.raises(InputError, match=rf"test_split1\.txt:1: video not found: .*{first}"):
        run_protocol(protocol, ["clip"], bench, tmp_path / "r1", tmp_path / "w", log=lambda *a: None)
    run_protocol(protocol, ["clip"], bench, tmp_path / "r2", tmp_path / "w", on_error="skip", log=lambda *a: None)
    (record,) = read_records(tmp_path / "r2" / "records")
    assert record["eval"]["videos_listed"] == 72 and record["eval"]["videos_evaluated"] == 71
    assert record["eval"]["skipped"] == [
        dict(
            list_file=str(mini.list_file("hmdb51", "test_split1")),
            line=1,
            video=str(videos / "hmdb51" / first),
            reason="video not found",
            file_state=None,
        )
    ]


def test_the_command_line_prints_one_line_for_bad_input(mini, tmp_path, capsys, monkeypatch):
    from ezclip.cli import main

    splits = tmp_path / "splits"
    shutil.copytree(mini.splits_root, splits)
    bad = splits / "hmdb51" / "test_split1.txt"
    bad.write_text(bad.read_text().replace(" 3\n", " 99\n", 1))
    monkeypatch.setenv("EZCLIP_MODEL_PATH", str(tmp_path))
    (tmp_path / "tinyclip.py").write_text(
        'model = dict(type="VideoCLIP", clip=dict(arch="ezclip-mini"), num_frames=4)\n'
        "recipe = dict(epochs=0, input_size=32)\n"
    )
    code = main(
        [
            "run",
            "zeroshot",
            "--models",
            "tinyclip",
            "--data-root",
            str(mini.data_root),
            "--splits",
            str(splits),
            "--results",
            str(tmp_path / "results"),
            "--work-dir",
            str(tmp_path / "work"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "test_split1.txt:" in err[0] and "label 99 is outside the class list" in err[0]
