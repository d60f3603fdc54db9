"""`plan`'s estimate of each job's time, from pytest-benchmark files (ezclip.profiling.costs): the
arithmetic against hand-computed values, on a real-data layout at its native recipes."""

import json

import pytest

from ezclip.benchmark import Benchmark
from ezclip.cli import main
from ezclip.errors import InputError
from ezclip.harness import load_protocol, plan_jobs
from ezclip.profiling.costs import job_cost, read_rates


def _bench(model, arch, measures, mean, **info):
    return dict(
        name=f"test_{measures}",
        stats=dict(mean=mean),
        extra_info=dict(measures=measures, model=model, arch=arch, **info),
    )


def _decode(frames, crops, workers, seconds_per_video, backend="decord", kind="full-size"):
    info = dict(frames=frames, crops=crops, workers=workers, backend=backend, videos=8, video="H.264 340x256")
    info["videos_of"] = kind
    return dict(name="test_decode", stats=dict(mean=8 * seconds_per_video), extra_info=dict(measures="decode", **info))


@pytest.fixture
def costs(tmp_path):
    """Rates in round numbers: X-CLIP trains at 2 s a step of 2 x 8 frames (0.125 s a video-frame) and
    evaluates at 0.1 s a frame; EZ-CLIP 0.05 and 0.02; decoding 0.5 s a 32-frame video without workers,
    0.25 with 2 (0.2 and 0.1 at 8 frames); PyAV rows (another backend) and the mini benchmark's videos
    (another kind) are not used for a full-size benchmark."""
    benchmarks = [
        _bench("xclip", "ViT-B-16", "train_step", 2.0, batch=2, frames=8, threads=2),
        _bench("xclip", "ViT-B-16", "forward", 0.8, frames=8, threads=2),
        _bench("ezclip", "ViT-B-16", "train_step", 0.8, batch=2, frames=8, threads=2),
        _bench("ezclip", "ViT-B-16", "forward", 0.16, frames=8, threads=2),
        _bench("ezclip", "ViT-B-16", "official_train_step", 9.0, batch=2, frames=8),  # stands for no model
        _decode(32, 1, 0, 0.5),
        _decode(32, 1, 2, 0.25),
        _decode(8, 1, 0, 0.2),
        _decode(8, 1, 2, 0.1),
        _decode(8, 3, 2, 0.12),
        _decode(8, 1, 2, 9.9, backend="pyav"),
        _decode(4, 1, 0, 0.001, kind="mini"),
    ]
    path = tmp_path / "benchmarks.json"
    machine = dict(cpu=dict(brand_raw="Test CPU", count=16))
    path.write_text(json.dumps(dict(machine_info=machine, datetime="2026-11-29T10:00:00", benchmarks=benchmarks)))
    return path


@pytest.fixture
def full(tmp_path):
    """A real-data layout with every list of the zero-shot protocol: K400 train 10 videos of 2 classes,
    each evaluation list 3 videos."""
    splits = tmp_path / "splits"
    lists = dict(k400=["train", "val"], hmdb51=[f"test_split{s}" for s in (1, 2, 3)])
    lists["ucf101"] = list(lists["hmdb51"])
    lists["k600"] = [f"zeroshot_split{s}" for s in (1, 2, 3)]
    for dataset, names in lists.items():
        (splits / dataset).mkdir(parents=True)
        classes = ["classes"] if dataset != "k600" else [f"novel_split{s}" for s in (1, 2, 3)]
        for c in classes:
            (splits / dataset / f"{c}.csv").write_text("id,name\n0,a\n1,b\n")
        for name in names:
            n = 10 if name == "train" else 3
            (splits / dataset / f"{name}.txt").write_text("".join(f"v{i}.mp4 {i % 2}\n" for i in range(n)))
    return Benchmark("full", tmp_path / "videos", splits)


def test_a_jobs_estimate_is_its_videos_times_the_benchmarks_rates(costs, full, tmp_path):
    protocol = load_protocol("zeroshot")
    jobs = {j["model"]: j for j in plan_jobs(protocol, ["xclip", "ezclip", "clip"], full, tmp_path / "results")}
    rates = read_rates([costs])

    # X-CLIP, native: 32 frames, 30 epochs, 4 clips x 3 crops; 2 processes with 2 loader workers each
    x = job_cost(rates, jobs["xclip"]["setup"], jobs["xclip"]["spec"], "zeroshot", full, processes=2, workers=2)
    assert (x["train_videos"], x["epochs"], x["eval_videos"], x["views"]) == (10, 30, 30, 12)
    # training: 32 frames x 0.125 s = 4 s a video, decoding (0.25 s) overlapped; 300 videos over 2 processes
    assert x["train_s"] == pytest.approx(10 * 30 * 4.0 / 2)
    # testing: 12 views x 32 frames x 0.1 s = 38.4 s a video; the nearest decode is 32 x 1 (0.25 s)
    assert x["eval_s"] == pytest.approx(30 * 38.4 / 2)
    assert x["seconds"] == pytest.approx(600 + 576) and x["missing"] == []

    # EZ-CLIP, native: 8 frames, 1 view; no workers, so decoding adds to the model's time
    e = job_cost(rates, jobs["ezclip"]["setup"], jobs["ezclip"]["spec"], "zeroshot", full, workers=0)
    epochs = e["epochs"]
    assert e["train_s"] == pytest.approx(10 * epochs * (8 * 0.05 + 0.2))
    assert e["eval_s"] == pytest.approx(30 * (8 * 0.02 + 0.2))

    # a subset of 1 video per class; CLIP trains nothing and has no benchmark: the estimate says so
    s = job_cost(rates, jobs["xclip"]["setup"], jobs["xclip"]["spec"], "zeroshot", full, subset=1, workers=2)
    assert (s["train_videos"], s["eval_videos"]) == (2, 20)
    c = job_cost(rates, jobs["clip"]["setup"], jobs["clip"]["spec"], "zeroshot", full)
    assert c["epochs"] == 0 and c["seconds"] is None and c["missing"] == ["no forward benchmark of clip at ViT-B-16"]

    # videos of another kind than the benchmark's are not decoded at the rate of these
    full.video_kind = "small"
    k = job_cost(rates, jobs["ezclip"]["setup"], jobs["ezclip"]["spec"], "zeroshot", full, workers=0)
    assert k["seconds"] is None and k["missing"] == ["no decode benchmark of small videos"]


def test_more_workers_than_measured_scale_from_the_most_measured(costs):
    rates = read_rates([costs])
    assert rates.decode_seconds("full-size", 32, 1, 8) == pytest.approx(0.25 * 2 / 8)
    assert rates.decode_seconds("full-size", 8, 3, 2) == pytest.approx(0.12)
    assert rates.decode_seconds("full-size", 8, 3, 0) == pytest.approx(0.12)  # 8x3 was measured with 2 workers only
    assert rates.decode_seconds("full-size", 16, 1, 0) == pytest.approx(
        0.2
    )  # as far from 8 frames as from 32: the fewer
    assert rates.decode_seconds("mini", 8, 3, 2) == pytest.approx(0.001)  # the only pipeline of its kind


def test_plan_prints_each_jobs_estimate_and_what_it_rests_on(costs, full, tmp_path, capsys):
    args = ["plan", "zeroshot", "--models", "xclip,ezclip", "--results", str(tmp_path / "results")]
    args += ["--data-root", str(full.data_root), "--splits", str(full.splits_root), "--costs", str(costs)]
    assert main(args + ["--gpus-per-job", "2", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "10 x 30" in out and "30 x 12" in out and "19.6 min" in out  # 1,176 s, as above
    assert "at 2 process(es) per job and 2 loader worker(s) per process" in out
    assert f"{costs}: 12 benchmarks of 2026-11-29 on Test CPU (16 CPUs), device cpu, torch threads 2" in out
    # the estimate's workers are the jobs' too
    assert main(args + ["--workers", "2", "--jobs", str(tmp_path / "jobs.txt")]) == 0
    assert all(line.endswith("--workers 2") for line in (tmp_path / "jobs.txt").read_text().splitlines())


def test_plan_without_benchmarks_says_how_to_get_them(full, tmp_path, capsys):
    args = ["plan", "zeroshot", "--models", "xclip", "--results", str(tmp_path / "results")]
    assert main(args + ["--data-root", str(full.data_root), "--splits", str(full.splits_root)]) == 0
    assert "`tox -e bench` writes" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    with pytest.raises(InputError, match=r"bad.json: cannot read it \(No such file or directory\)"):
        read_rates([bad])
    bad.write_text("{}")
    with pytest.raises(InputError, match="bad.json.*not a pytest-benchmark JSON file"):
        read_rates([bad])
    old = _decode(8, 1, 0, 0.2)
    del old["extra_info"]["videos_of"]  # written before the benchmarks said which videos they decoded
    bad.write_text(json.dumps(dict(benchmarks=[old])))
    with pytest.raises(InputError, match="bad.json.*benchmark test_decode: no 'videos_of' in its extra_info"):
        read_rates([bad])
