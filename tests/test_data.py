import pytest
import torch
from mmaction.registry import DATASETS

from ezclip.data import eval_pipeline, read_class_csv, read_descriptions, read_video_list, train_pipeline
from ezclip.errors import InputError


def write(path, text):
    path.write_text(text)
    return path


def test_both_list_formats_are_read(tmp_path):
    vifi = read_video_list(write(tmp_path / "a.txt", "x/v1.mp4 0\n\ny/v2.avi 2\n"), num_classes=3)
    assert [(e.path, e.label, e.line) for e in vifi] == [("x/v1.mp4", 0, 1), ("y/v2.avi", 2, 3)]
    ez = read_video_list(write(tmp_path / "b.txt", "/data/HMDB/v1 117 1\n"), num_classes=3)
    assert (ez[0].path, ez[0].num_frames, ez[0].label) == ("/data/HMDB/v1", 117, 1)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("a.mp4 0\nb.mp4 7\n", 2, "label 7 is outside the class list"),
        ("a.mp4 0\nb.mp4 x\n", 2, "expected 'path label'"),
        ("a.mp4 0 1 2 3\n", 1, "expected 'path label'"),
        ("\n\n", None, "the list is empty"),
    ],
)
def test_bad_list_lines_name_the_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path / "list.txt", text)
    with pytest.raises(InputError, match=message) as err:
        read_video_list(path, num_classes=3)
    assert err.value.path == str(path) and err.value.line == line


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("id,name\n0,a\n1,a\n", 3, "duplicate class name 'a' \\(also on line 2\\)"),
        ("id,name\n0,a\n2,b\n", 3, "out of order: expected 1"),
        ("id,name\n0,a\n1,\n", 3, "empty name"),
        ("name\na\n", 1, "expected the header"),
    ],
)
def test_bad_class_csvs_name_the_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path / "classes.csv", text)
    with pytest.raises(InputError, match=message) as err:
        read_class_csv(path)
    assert err.value.line == line


def test_class_csv_with_quotes_and_crlf(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b'id,name\r\n0,"Approaching something, fast"\r\n1,b\r\n')
    assert read_class_csv(path) == ["Approaching something, fast", "b"]


def test_descriptions_in_the_official_format(tmp_path):
    path = write(tmp_path / "d.csv", 'SNo,Class Name,GPT3 discription\n0,b,"\n\nB is done\nslowly."\n1,a,A.\n')
    assert read_descriptions(path, ["a", "b"]) == ["A.", "B is done slowly."]
    with pytest.raises(InputError, match="no description for 1 class\\(es\\): c"):
        read_descriptions(path, ["a", "b", "c"])


def build_dataset(info, **kwargs):
    cfg = dict(
        type="VideoListDataset",
        ann_file=info["ann_file"],
        class_file=info["class_file"],
        data_prefix=dict(video=info["root"]),
        pipeline=eval_pipeline(4, input_size=32),
        test_mode=True,
    )
    return DATASETS.build({**cfg, **kwargs})


def test_real_mp4_through_the_eval_pipeline(video_dataset):
    dataset = build_dataset(video_dataset)
    assert len(dataset) == 6 and dataset.metainfo["classes"] == ("red square", "blue square")
    item = dataset[1]
    assert item["inputs"].shape == (4, 3, 32, 32) and item["inputs"].dtype == torch.uint8
    assert item["data_samples"].gt_label.item() == 1


def test_three_crop_test_views(video_dataset):
    item = build_dataset(video_dataset, pipeline=eval_pipeline(4, input_size=32, crops=3))[0]
    assert item["inputs"].shape == (12, 3, 32, 32)


def test_train_pipeline_and_pyav_backend(video_dataset):
    dataset = build_dataset(
        video_dataset, pipeline=train_pipeline(4, input_size=32, backends=("pyav",)), test_mode=False
    )
    assert dataset[0]["inputs"].shape == (4, 3, 32, 32)


def test_missing_video_names_list_line_or_is_a_counted_skip(video_dataset):
    ann = video_dataset["tmp"] / "list.txt"
    ann.write_text(ann.read_text() + "gone.mp4 1\n")
    with pytest.raises(InputError, match=r"list\.txt:7: video not found: .*gone\.mp4"):
        build_dataset(video_dataset)
    dataset = build_dataset(video_dataset, on_error="skip")
    assert len(dataset) == 6
    assert [(s["line"], s["reason"]) for s in dataset.skipped] == [(7, "video not found")]


def test_a_file_that_is_not_a_video(video_dataset):
    (video_dataset["tmp"] / "videos" / "clip_3.mp4").write_bytes(b"this is not a video")
    dataset = build_dataset(video_dataset)
    # PyAV cannot read its headers, so no backend can be trusted with it (transforms.video_kind)
    with pytest.raises(InputError, match=r"clip_3\.mp4: cannot decode video \(pyav: InvalidDataError: "):
        dataset[3]
    dataset = build_dataset(video_dataset, on_error="skip")
    assert len(dataset) == 5
    assert dataset.skipped[0]["line"] == 4 and dataset.skipped[0]["reason"].startswith("cannot decode video")


def test_label_outside_class_list_names_the_list_line(video_dataset):
    ann = video_dataset["tmp"] / "list.txt"
    ann.write_text(ann.read_text().replace("clip_4.mp4 0", "clip_4.mp4 5"))
    with pytest.raises(InputError, match=r"list\.txt:5: label 5 is outside the class list \(0\.\.1\)"):
        build_dataset(video_dataset)


def test_pyav_takes_over_where_decord_fails(tmp_path):
    import numpy as np

    from ezclip.data.video_io import write_mp4

    # decord 0.6.0 opens 48x48 H.264 but fails to copy its frames out; PyAV reads them
    write_mp4(tmp_path / "v.mp4", np.full((8, 48, 48, 3), 200, np.uint8))
    write(tmp_path / "l.txt", "v.mp4 0\n")
    write(tmp_path / "c.csv", "id,name\n0,grey\n")
    info = dict(ann_file=str(tmp_path / "l.txt"), class_file=str(tmp_path / "c.csv"), root=str(tmp_path))
    assert build_dataset(info)[0]["inputs"].shape == (4, 3, 32, 32)
    with pytest.raises(InputError, match=r"v\.mp4: cannot decode the sampled frames \(decord: DECORDError"):
        build_dataset(info, pipeline=eval_pipeline(4, input_size=32, backends=("decord",)))[0]


def decode_or_skip(pipeline, results, backend):
    """``pipeline(results)``; a skip where torchcodec (optional: a torch build of its own and FFmpeg's
    libraries) cannot load here."""
    try:
        return pipeline(results)
    except InputError as e:
        if backend == "torchcodec":
            pytest.skip(f"torchcodec does not load here ({e})")
        raise


@pytest.mark.parametrize("backend", ["decord", "pyav", "torchcodec"])
@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_a_rotated_video_gives_the_same_upright_frames_through_every_backend(tmp_path, rotation, backend):
    import numpy as np
    from mmengine.dataset import Compose

    from ezclip.data.video_io import write_mp4

    frames = np.zeros((12, 64, 96, 3), np.uint8)  # landscape, a white block in the top-left corner
    frames[:, :16, :32] = 255
    for t in range(12):
        frames[t, 40:48, 8 * t : 8 * t + 8] = (255, 0, 0)  # and a red square moving right
    write_mp4(tmp_path / "r.mp4", frames, rotation=rotation)
    steps = [
        dict(type="VideoInit", backends=(backend,)),
        dict(type="SampleFrames", clip_len=1, num_clips=4, test_mode=True),
    ]
    results = dict(filename=str(tmp_path / "r.mp4"), start_index=0, modality="RGB")
    imgs = decode_or_skip(Compose([*steps, dict(type="VideoDecode")]), results, backend)["imgs"]
    upright = [np.rot90(frames[i], rotation // 90 % 4) for i in (1, 4, 7, 10)]  # counter-clockwise degrees
    assert len(imgs) == 4 and imgs[0].shape == upright[0].shape
    # lossless, but through yuv420p: colour edges blur a little
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(imgs, upright)) < 3


def lossy_video(path):
    """Lossy H.264 with B-frames and a long GOP, as in Kinetics: a textured scene panning, every frame differs."""
    import numpy as np

    from ezclip.data.video_io import write_mp4

    scene = np.random.default_rng(0).integers(0, 256, (48, 160, 3), dtype=np.uint8)
    write_mp4(path, np.stack([scene[:, t : t + 64] for t in range(90)]), fps=30, crf=18)
    return str(path)


def test_torchcodec_decodes_the_frames_decord_does(tmp_path):
    """The same sampled frames, bit for bit, from either backend (FFmpeg's H.264 decoder and RGB
    conversion in both), and torchcodec first in the default chain wherever it decodes."""
    from mmengine.dataset import Compose

    from ezclip.data.transforms import default_backends

    video = lossy_video(tmp_path / "v.mp4")
    read = {}
    for backend in ("decord", "torchcodec"):
        pipeline = Compose(eval_pipeline(8, input_size=32, backends=(backend,)))
        results = dict(filename=video, start_index=0, modality="RGB", label=0)
        read[backend] = decode_or_skip(pipeline, results, backend)["inputs"]
    assert torch.equal(read["decord"], read["torchcodec"])
    assert default_backends() == ("torchcodec", "decord", "pyav")


def test_an_h264_avi_file_is_read_by_pyav(tmp_path):
    """AVI stores no presentation timestamps: torchcodec 0.17 then returns B-frame videos' frames shifted
    (frame 5 as frame 3) and declines AVI, and decord returns other frames on H.264 in AVI
    (test_frame_accuracy), so PyAV reads it; a chain without PyAV refuses it by name."""
    from mmengine.dataset import Compose

    from ezclip.data.transforms import TorchCodecInit

    video = lossy_video(tmp_path / "v.avi")
    results = dict(filename=video, start_index=0, modality="RGB", label=0)
    opened = Compose([dict(type="VideoInit", backends=("torchcodec", "decord", "pyav"))])(dict(results))
    assert opened["video_backend"] == "pyav" and opened["video_backends"] == ("pyav",)
    with pytest.raises(InputError, match="torchcodec and decord return other frames than asked on h264 .*in avi"):
        Compose(eval_pipeline(8, input_size=32, backends=("torchcodec", "decord")))(dict(results))
    with pytest.raises(ValueError, match="AVI holds no presentation timestamps"):
        TorchCodecInit()(dict(results))


def test_frame_folders_are_sampled_exactly_as_videos(tmp_path):
    """EZ-CLIP's and ActionCLIP's layout: a folder of img_00001.jpg... listed as ``dir num_frames label``.
    The same clip as a video and as frames gives the same frame indices (frame i is file i + 1) and,
    up to JPEG, the same pixels."""
    import cv2
    import numpy as np

    from conftest import moving_square_frames
    from ezclip.data.video_io import write_mp4

    frames = moving_square_frames(0, num_frames=24)
    write_mp4(tmp_path / "clip.mp4", frames)  # lossless
    for i, frame in enumerate(frames, start=1):
        (tmp_path / "clip_frames").mkdir(exist_ok=True)
        cv2.imwrite(
            str(tmp_path / "clip_frames" / f"img_{i:05d}.jpg"), frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100]
        )
    (tmp_path / "classes.csv").write_text("id,name\n0,red square\n")
    (tmp_path / "videos.txt").write_text("clip.mp4 0\n")
    (tmp_path / "frames.txt").write_text("clip_frames 24 0\n")

    def sample(list_name):
        dataset = DATASETS.build(
            dict(
                type="VideoListDataset",
                ann_file=str(tmp_path / list_name),
                class_file=str(tmp_path / "classes.csv"),
                data_prefix=dict(video=str(tmp_path)),
                pipeline=eval_pipeline(8, 32)[:3],  # init, sample, decode
                test_mode=True,
            )
        )
        return dataset[0]

    video, folder = sample("videos.txt"), sample("frames.txt")
    assert folder["video_backend"] == "frames" and folder["total_frames"] == video["total_frames"] == 24
    np.testing.assert_array_equal(folder["frame_inds"], video["frame_inds"] + 1)
    difference = np.abs(np.stack(folder["imgs"]).astype(int) - np.stack(video["imgs"]).astype(int)).mean()
    assert difference < 2.0
    missing = tmp_path / "clip_frames" / f"img_{folder['frame_inds'][3]:05d}.jpg"
    missing.unlink()  # a sampled frame missing: one error naming the folder
    with pytest.raises(InputError, match=rf"^{tmp_path / 'clip_frames'}: cannot read the sampled frames"):
        sample("frames.txt")


def test_probes_run_in_parallel_once_per_file_state(video_dataset, tmp_path, monkeypatch):
    """--on-error skip opens every listed video; the answers are kept by size and mtime, so a second run
    over 240k videos opens none, and a file replaced since is opened again."""
    import os

    from ezclip.data import probe

    root = video_dataset["root"]
    good = os.path.join(root, "clip_0.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    cache = tmp_path / "probes.json"
    first = probe.probe_videos([good, str(bad)], cache=cache)
    assert first[good] is None and first[str(bad)].startswith("cannot decode video")

    opened = []
    real = probe.probe_video
    monkeypatch.setattr(probe, "probe_video", lambda f, b: opened.append(f) or real(f, b))
    assert probe.probe_videos([good, str(bad)], cache=cache) == first and opened == []
    bad.write_bytes(open(good, "rb").read())  # fixed: another size, another answer
    assert probe.probe_videos([good, str(bad)], cache=cache) == {good: None, str(bad): None}
    assert opened == [str(bad)]
