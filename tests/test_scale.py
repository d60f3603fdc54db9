"""Real-scale semantics: the recipe's batch is the global batch the original trained with, made of a
per-process batch, processes and gradient accumulation; the learning-rate floor; loader workers; the
input size of the model on real data."""

from pathlib import Path

import pytest

from ezclip.engine import batch_plan, data_split, runner_config
from ezclip.harness import load_protocol, run_protocol
from ezclip.records import read_records


@pytest.mark.parametrize(
    "global_batch, frames, per_device, processes, expected",
    [
        (256, 32, None, 8, (4, 8, 256)),  # X-CLIP / ViFi-CLIP: 4 per GPU x 8 accumulation x 8 GPUs
        (256, 32, None, 1, (4, 64, 256)),  # the same recipe on one GPU: 64 accumulated steps, not 256 at once
        (80, 8, None, 1, (16, 5, 80)),  # EZ-CLIP's 80 at 8 frames
        (128, 8, None, 8, (16, 1, 128)),  # ActionCLIP's 128 on 8 GPUs: 16 each, no accumulation
        (80, 8, 12, 1, (12, 7, 84)),  # a per-device batch that does not divide: rounded up, and said
        (16, 4, None, 1, (16, 1, 16)),  # the mini recipe: unchanged
    ],
)
def test_the_global_batch_is_per_device_times_processes_times_accumulation(
    global_batch, frames, per_device, processes, expected
):
    plan = batch_plan(global_batch, frames, per_device, processes)
    assert (plan["per_device"], plan["accumulation"], plan["effective"]) == expected
    assert plan["recipe"] == global_batch and plan["processes"] == processes


def test_runner_config_accumulates_and_floors_the_cosine(mini):
    split = data_split(mini.list_file("hmdb51", "fewshot_2"), mini.class_file("hmdb51", "classes"))
    model = dict(type="VideoCLIP", clip=dict(arch="ezclip-mini"), num_frames=4)
    cfg = runner_config(model, "/tmp/unused", train=split, max_epochs=4, accumulation=3, min_lr_ratio=0.01)
    assert cfg["optim_wrapper"]["accumulative_counts"] == 3
    cosine = cfg["param_scheduler"][-1]
    assert cosine["type"] == "CosineAnnealingLR" and cosine["eta_min_ratio"] == 0.01 and "eta_min" not in cosine
    plain = runner_config(model, "/tmp/unused", train=split, max_epochs=4)
    assert "accumulative_counts" not in plain["optim_wrapper"] and plain["param_scheduler"][-1]["eta_min"] == 0.0


def test_a_run_records_the_batch_it_trained_with_and_evaluates_the_same_through_workers(mini, tmp_path):
    protocol = load_protocol("fewshot")
    kw = dict(subset=2, stages=["hmdb51_k2"], log=lambda *a: None)
    run_protocol(protocol, ["vificlip"], mini, tmp_path / "a", tmp_path / "wa", **kw)
    run_protocol(protocol, ["vificlip"], mini, tmp_path / "b", tmp_path / "wb", per_device_batch=8, workers=2, **kw)
    (a,), (b,) = read_records(tmp_path / "a"), read_records(tmp_path / "b")
    assert (a["train"]["batch_size_per_process"], a["train"]["accumulation"], a["train"]["batch_size_global"]) == (
        16,
        1,
        16,
    )
    assert (b["train"]["batch_size_per_process"], b["train"]["accumulation"], b["train"]["batch_size_global"]) == (
        8,
        2,
        16,
    )
    assert a["train"]["workers"] == 0 and b["train"]["workers"] == 2
    assert b["train"]["batch_size_recipe"] == 16 and b["eval"]["videos_evaluated"] == a["eval"]["videos_evaluated"]
    # another way to make the global batch is another training: resume does not reuse the record
    from ezclip.harness import model_setup, stage_changes

    stage = next(s for s in protocol.stages if s["name"] == "hmdb51_k2")
    why = stage_changes(tmp_path / "a", mini, protocol, model_setup("vificlip", mini), stage, 2, per_device_batch=8)
    assert why.startswith("hmdb51/test_split1: changed since its record: train_batch [16, 1, 1] -> [8, 1, 2]")


def test_plan_writes_multi_gpu_multi_node_tasks_through_torchrun(mini, tmp_path):
    import subprocess

    from ezclip.harness import plan_jobs, slurm_script

    jobs = plan_jobs(load_protocol("zeroshot"), ["ezclip", "xclip"], mini, tmp_path / "results")
    script = tmp_path / "zeroshot.sh"
    script.write_text(slurm_script("zeroshot", None, jobs, " --data-root /data", gpus_per_job=4, nodes=2))
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "#SBATCH --nodes=2" in text and "#SBATCH --gres=gpu:4" in text and "#SBATCH --ntasks-per-node=1" in text
    assert text.count("srun torchrun --nnodes 2 --nproc-per-node 4 ") == 2
    assert "$(command -v ezclip-bench) run zeroshot --models xclip --stage k400 --data-root /data" in text
    single = slurm_script("zeroshot", None, jobs)
    assert "torchrun" not in single and "'ezclip-bench run zeroshot --models ezclip --stage k400'" in single


TINY_MODEL = """
custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)
model = dict(type="VideoCLIP", clip=dict(arch="ezclip-mini", pretrained=None), num_frames=4,
             trainable=["clip.visual.*"], data_preprocessor=dict(type="VideoTextPreprocessor", normalization="clip"))
recipe = dict(epochs=1, batch_size=8, input_size=32, optimizer=dict(type="AdamW", lr=1e-4, weight_decay=0.2))
"""


def test_torchrun_runs_a_job_on_two_processes(mini, tmp_path):
    """`torchrun --nproc-per-node 2 ezclip-bench run ...` (gloo on CPU): one job, two processes, the global
    batch split between them, every video of the list evaluated once."""
    import os
    import shutil
    import socket
    import subprocess
    import sys

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tinyvid.py").write_text(TINY_MODEL)
    env = dict(os.environ, EZCLIP_MODEL_PATH=str(tmp_path / "models"), OMP_NUM_THREADS="1")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = str(free.getsockname()[1])
    bench_cmd = shutil.which("ezclip-bench") or str(Path(sys.executable).parent / "ezclip-bench")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        port,
        bench_cmd,
        "run",
        "fewshot",
        "--stage",
        "hmdb51_k2",
        "--models",
        "tinyvid",
        "--subset",
        "2",
        "--workers",
        "0",
        "--data-root",
        str(mini.data_root),
        "--splits",
        str(mini.splits_root),
        "--results",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (record,) = read_records(tmp_path / "results" / "records")
    assert record["status"] == "ok" and record["train"]["processes"] == 2
    assert (record["train"]["batch_size_per_process"], record["train"]["batch_size_global"]) == (4, 8)
    assert record["eval"]["videos_evaluated"] == record["eval"]["videos_listed"] == 24
    # one process speaks and writes the tables (two writing them raced over their temporary files)
    assert done.stdout.count("hmdb51/test_split1: top-1") == 1 and done.stdout.count("Few-shot (protocol") == 1
    assert (tmp_path / "results" / "tables" / "full-subset2" / "fewshot.md").is_file()


def test_on_real_data_the_input_size_is_the_models_own(mini, tmp_path, monkeypatch):
    """No benchmark-wide 224: a model evaluates at its recipe's input size, else its architecture's
    (a 336-pixel configuration no longer meets a 224 pipeline)."""
    from ezclip.benchmark import Benchmark

    (tmp_path / "models").mkdir()
    config = TINY_MODEL.replace("input_size=32, ", "")  # the tiny tower's own image size is 32
    (tmp_path / "models" / "tinyvid.py").write_text(config)
    monkeypatch.setenv("EZCLIP_MODEL_PATH", str(tmp_path / "models"))
    real = Benchmark("full", mini.data_root, mini.splits_root)
    assert real.input_size is None
    protocol = load_protocol("zeroshot")
    protocol.stages[0]["evaluate"] = protocol.stages[0]["evaluate"][:1]
    protocol.stages[0].pop("train")
    run_protocol(protocol, ["tinyvid"], real, tmp_path / "r", tmp_path / "w", subset=1, log=lambda *a: None)
    (record,) = read_records(tmp_path / "r")
    assert record["eval"]["input_size"] == 32 and record["status"] == "ok"


def test_the_console_shows_progress_and_none_of_the_harmless_library_messages(
    mini, tmp_path, monkeypatch, capfd, recwarn
):
    import time

    from ezclip._compat import HARMLESS_LOG_MESSAGES
    from ezclip.benchmark import Benchmark

    # every Runner in the same second, as on a fast machine: mmengine names a Runner's logger, visualizer
    # and scope by its start time, and warned three times for each Runner that reused a name
    frozen = time.localtime()
    monkeypatch.setattr(time, "localtime", lambda *a: frozen)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tinyvid.py").write_text(TINY_MODEL)
    monkeypatch.setenv("EZCLIP_MODEL_PATH", str(tmp_path / "models"))
    real = Benchmark("full", mini.data_root, mini.splits_root)
    lines = []
    kw = dict(subset=2, stages=["hmdb51_k2"], workers=0, log=lines.append)
    run_protocol(load_protocol("fewshot"), ["tinyvid"], real, tmp_path / "r", tmp_path / "w", **kw)
    out, err = capfd.readouterr()
    assert "training (1 epochs)" in err and "evaluating" in err and "batch/s" in err  # tqdm: rate and time left
    for message in HARMLESS_LOG_MESSAGES + ("kl_div",):
        assert message not in out + err
    assert any("global batch 8 = 8 per process x 1 process(es) x 1 accumulated" in line for line in lines)
    assert [str(w.message) for w in recwarn if "get_instance" in str(w.message)] == []


def test_importing_the_stack_prints_nothing():
    """mmcv-lite's warning about its missing compiled ops (nothing here uses them) is filtered in one place."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import ezclip, mmaction.models, mmcv.cnn.bricks.transformer"],
        capture_output=True,
        text=True,
        env={k: v for k, v in __import__("os").environ.items() if k != "PYTHONWARNINGS"},
    )
    assert done.returncode == 0 and done.stderr == "" and done.stdout == ""
