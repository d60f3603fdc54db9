"""Every frame a backend returns is the frame the sampler asked for: videos whose frames carry their
own index (``indexed_frames``), written with PyAV across containers, codecs and key-frame spacings,
read through the eval pipeline at 8 and 32 frames and through the train sampler, by every backend the
harness would use for that file. ``EXACT`` is the measurement these tests hold the harness to."""

import av
import numpy as np
import pytest
from mmengine.dataset import Compose

from ezclip.data import eval_pipeline, train_pipeline
from ezclip.data.transforms import VideoInit, default_backends, exact_backends, reads_exactly, video_kind
from ezclip.data.video_io import indexed_frames, read_frame_index, write_video
from ezclip.errors import InputError

FRAMES = 300  # 10 s at 30 fps, 340 x 256: the size of the field's videos after the usual rescale

# (suffix, codec, key-frame interval, B-frames): H.264 short and long GOP; MPEG-4 Part 2 (HMDB-51's and
# UCF-101's xvid/DivX) with and without B-frames; H.264 in AVI; VP8 and VP9 (SSv2's WebM); MJPEG
KINDS = [
    ("mp4", "libx264", 12, 2),
    ("mp4", "libx264", 250, 3),
    ("mp4", "mpeg4", 12, 0),
    ("mp4", "mpeg4", 12, 2),
    ("avi", "mpeg4", 12, 0),
    ("avi", "mpeg4", 12, 2),
    ("avi", "mpeg4", 250, 2),
    ("avi", "libx264", 30, 0),
    ("avi", "mjpeg", 1, 0),
    ("mkv", "libx264", 250, 3),
    ("mkv", "mpeg4", 12, 2),
    ("mkv", "libvpx-vp9", 120, 0),
    ("webm", "libvpx", 12, 0),
    ("webm", "libvpx", 120, 0),
    ("webm", "libvpx-vp9", 120, 0),
]


def kind_id(kind):
    return "{}-{}-gop{}-b{}".format(*kind)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder, frames = tmp_path_factory.mktemp("indexed"), indexed_frames(FRAMES)
    paths = {}
    for kind in KINDS:
        suffix, codec, gop, bframes = kind
        pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        paths[kind] = str(write_video(folder / f"{kind_id(kind)}.{suffix}", frames, codec, 30, gop, bframes, pix_fmt))
    return paths


def test_the_index_survives_lossy_coding(videos):
    with av.open(videos[("avi", "mpeg4", 12, 2)]) as container:
        assert [read_frame_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)] == list(
            range(FRAMES)
        )


def decoded(pipeline, filename):
    results = Compose(pipeline)(dict(filename=filename, label=0, start_index=0, modality="RGB"))
    return results, [read_frame_index(img) for img in results["imgs"]]


@pytest.mark.parametrize("kind", KINDS, ids=kind_id)
@pytest.mark.parametrize("num_frames", [8, 32])
def test_every_backend_the_harness_uses_returns_the_frames_asked_for(videos, kind, num_frames):
    kind_found = video_kind(videos[kind])
    used = exact_backends(kind_found, default_backends())
    assert used[-1] == "pyav"  # the reference ends every chain
    for backend in used:
        results, got = decoded(eval_pipeline(num_frames, input_size=32, backends=(backend,))[:3], videos[kind])
        assert results["video_backend"] == backend and results["total_frames"] == FRAMES
        assert got == list(results["frame_inds"]), f"{backend} on {kind_found}"
        np.random.seed(num_frames)  # the train sampler's random offsets
        results, got = decoded(train_pipeline(num_frames, input_size=32, backends=(backend,))[:3], videos[kind])
        assert got == list(results["frame_inds"]), f"{backend} (train sampler) on {kind_found}"
    # the default chain reads it with the first of them
    results, got = decoded(eval_pipeline(num_frames, input_size=32)[:3], videos[kind])
    assert results["video_backend"] == used[0] and got == list(results["frame_inds"])


@pytest.mark.parametrize("kind", KINDS, ids=kind_id)
def test_a_backend_left_out_on_a_kind_does_return_other_frames_there(videos, kind):
    """The other half of the measurement: decord is kept off a kind only where it is wrong there, so a
    fixed decord shows up here (and EXACT can then trust it again)."""
    import decord

    if reads_exactly("decord", video_kind(videos[kind])):
        pytest.skip("decord reads this kind")
    inds = [int(FRAMES / 8 * (i + 0.5)) for i in range(8)]
    batch = decord.VideoReader(videos[kind], num_threads=1).get_batch(inds).asnumpy()
    assert [read_frame_index(img) for img in batch] != inds


def test_the_kinds_decord_gets_wrong(videos):
    wrong = {kind for kind in KINDS if not reads_exactly("decord", video_kind(videos[kind]))}
    assert wrong == {k for k in KINDS if k[1] == "mpeg4" and k[3]} | {("avi", "libx264", 30, 0)}


@pytest.mark.parametrize("kind", [("mkv", "libvpx-vp9", 120, 0), ("webm", "libvpx", 120, 0)], ids=kind_id)
def test_webm_and_mkv_through_pyav_alone(videos, kind):
    """Their containers store no frame count: PyAV counts the packets."""
    results, got = decoded(eval_pipeline(8, input_size=32, backends=("pyav",))[:3], videos[kind])
    assert results["total_frames"] == FRAMES and got == list(results["frame_inds"])


@pytest.fixture(scope="module")
def truncated_mp4(tmp_path_factory):
    """An MP4 with its index at the front, the second half of the file cut off: the header promises 300
    frames, the file holds fewer."""
    path = tmp_path_factory.mktemp("cut") / "full.mp4"
    write_video(path, indexed_frames(FRAMES), gop=250, bframes=3, container_options={"movflags": "faststart"})
    data = path.read_bytes()
    (path.parent / "cut.mp4").write_bytes(data[: len(data) // 2])
    return str(path.parent / "cut.mp4")


@pytest.mark.parametrize("backends", [None, ("pyav",)], ids=["default chain", "pyav"])
def test_a_truncated_mp4_is_read_with_the_frames_it_holds(truncated_mp4, backends):
    results, got = decoded(eval_pipeline(32, input_size=32, backends=backends)[:3], truncated_mp4)
    assert results["video_backend"] == "pyav"  # decord refuses it
    assert 100 < results["total_frames"] < FRAMES  # the sampler saw the frames there are
    assert got == list(results["frame_inds"]) and max(got) < results["total_frames"]


def test_a_file_without_video_is_said_plainly(tmp_path):
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(InputError, match="no video stream") as err:
        VideoInit()(dict(filename=str(path)))
    assert err.value.path == str(path)


def test_a_chain_without_an_exact_backend_is_refused_by_name(videos):
    path = videos[("avi", "mpeg4", 12, 2)]
    with pytest.raises(
        InputError, match="decord return other frames than asked on mpeg4 with B-frames in avi; add pyav"
    ):
        VideoInit(backends=("decord",))(dict(filename=path))


def test_data_check_names_a_file_a_backend_gets_wrong_and_who_reads_it(videos, tmp_path, capsys):
    import shutil

    from ezclip.cli import main

    (tmp_path / "videos" / "hmdb51").mkdir(parents=True)
    shutil.copy(videos[("avi", "mpeg4", 12, 2)], tmp_path / "videos" / "hmdb51" / "brush_hair_1.avi")
    shutil.copy(videos[("mp4", "libx264", 250, 3)], tmp_path / "videos" / "hmdb51" / "cartwheel_1.mp4")
    (tmp_path / "splits" / "hmdb51").mkdir(parents=True)
    (tmp_path / "splits" / "hmdb51" / "test_split1.txt").write_text("brush_hair_1.avi 0\ncartwheel_1.mp4 1\n")
    (tmp_path / "splits" / "hmdb51" / "classes.csv").write_text("id,name\n0,brush hair\n1,cartwheel\n")
    args = ["data", "check", "--datasets", "hmdb51", "--data-root", str(tmp_path / "videos")]
    args += ["--splits", str(tmp_path / "splits"), "--work-dir", str(tmp_path / "work")]
    assert main(args) == 0  # the harness reads it right: a note, not a problem
    out = capsys.readouterr().out
    assert (
        "data check: hmdb51/test_split1: brush_hair_1.avi (mpeg4 with B-frames in avi): decord returned "
        "other frames than asked (8 of 8); read by pyav" in out
    )
    assert "cartwheel_1.mp4" not in out.split("-\n")[-1]  # decord reads the H.264 MP4 right
    assert list((tmp_path / "work" / "probes").glob("*.json"))  # the probe answers, kept for run


def test_a_file_data_check_finds_a_trusted_backend_wrong_on_is_read_by_another_in_runs(videos, tmp_path, monkeypatch):
    """Where EXACT has a gap (here made by trusting decord on MPEG-4 with B-frames), data check's finding
    on the file itself reaches the run: the dataset reads it with the next exact backend and says so."""
    import shutil

    from mmaction.registry import DATASETS

    from ezclip.benchmark import Benchmark
    from ezclip.data import transforms
    from ezclip.datacheck import check_data
    from ezclip.harness import frame_checks_file

    monkeypatch.setitem(transforms.EXACT, "decord", transforms.EXACT["decord"] + (transforms.Exact("mpeg4"),))
    (tmp_path / "videos" / "hmdb51").mkdir(parents=True)
    shutil.copy(videos[("avi", "mpeg4", 12, 2)], tmp_path / "videos" / "hmdb51" / "v.avi")
    (tmp_path / "splits" / "hmdb51").mkdir(parents=True)
    list_file = tmp_path / "splits" / "hmdb51" / "test_split1.txt"
    list_file.write_text("v.avi 0\n")
    (tmp_path / "splits" / "hmdb51" / "classes.csv").write_text("id,name\n0,brush hair\n")
    bench = Benchmark("full", tmp_path / "videos", tmp_path / "splits")

    def dataset():
        return DATASETS.build(
            dict(
                type="VideoListDataset",
                ann_file=str(list_file),
                class_file=str(list_file.with_name("classes.csv")),
                data_prefix=dict(video=str(tmp_path / "videos" / "hmdb51")),
                pipeline=eval_pipeline(8, input_size=32),
                frame_checks=str(frame_checks_file(tmp_path / "work", list_file)),
                test_mode=True,
            )
        )

    before = dataset()
    assert before[0]["data_samples"].metainfo["video_backend"] == "decord" and before.switched == []
    (row,) = check_data(bench, ["hmdb51"], work_dir=tmp_path / "work")
    (found,) = row["wrong_frames"]
    assert (found["backend"], found["trusted"], found["read_by"], found["video"]) == ("decord", True, "pyav", "v.avi")
    after = dataset()
    sample = after[0]
    assert sample["data_samples"].metainfo["video_backend"] == "pyav"
    assert [(s["line"], s["avoided"]) for s in after.switched] == [(1, ["decord"])]
    # a second data check reuses the comparison of the unchanged file, and says the same
    assert check_data(bench, ["hmdb51"], work_dir=tmp_path / "work")[0]["wrong_frames"] == row["wrong_frames"]
