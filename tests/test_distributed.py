"""Two CPU processes (gloo): evaluation sees every video once and agrees with one process; training
keeps the replicas identical (DDP) and moves them from where they started."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

from ezclip.data.video_io import write_mp4

WORKER = textwrap.dedent("""
    import json, os, sys
    import ezclip
    from ezclip.engine import data_split, make_runner, runner_config

    ann, classes, root, out = sys.argv[1:5]
    model = dict(type="VideoCLIP", clip=dict(arch="ezclip-tiny"), num_frames=4, templates=["a video of {}"])
    cfg = runner_config(model, out + "/work", test=data_split(ann, classes, root), input_size=32, batch_size=3)
    runner = make_runner(cfg)  # same seed in every process: the same random tiny CLIP
    metrics = runner.test()
    if int(os.environ.get("RANK", 0)) == 0:
        json.dump({k: float(v) for k, v in metrics.items()}, open(out + "/metrics.json", "w"))
""")


TRAIN_WORKER = textwrap.dedent("""
    import json, os, sys
    import torch
    import ezclip
    from ezclip.engine import data_split, make_runner, runner_config

    ann, classes, root, out = sys.argv[1:5]
    model = dict(type="VideoCLIP", clip=dict(arch="ezclip-tiny"), num_frames=4, templates=["a video of {}"],
                 trainable=["clip.visual.*"])
    cfg = runner_config(model, out + "/work", train=data_split(ann, classes, root), input_size=32, batch_size=2,
                        max_epochs=2, optimizer=dict(type="AdamW", lr=1e-2))
    runner = make_runner(cfg)
    start = {k: v.clone() for k, v in runner.model.state_dict().items()}  # DDP-wrapped: 'module.' names
    runner.train()
    state = {k.removeprefix("module."): v for k, v in runner.model.state_dict().items()}
    json.dump(dict(wrapped=type(runner.model).__name__,
                   moved=sum(float((state[k.removeprefix("module.")] - v).abs().sum()) for k, v in start.items()),
                   weights=[float(v.double().sum()) for k, v in sorted(state.items())]),
              open(out + f"/rank{os.environ.get('RANK', 0)}.json", "w"))
""")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(nproc, tmp_path, ann, classes, root, worker=WORKER, name="np"):
    out = tmp_path / f"{name}{nproc}"
    out.mkdir()
    script = tmp_path / f"{name}_worker.py"
    script.write_text(worker)
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), OMP_NUM_THREADS="1")
    procs = []
    for rank in range(nproc):
        penv = dict(env, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc)) if nproc > 1 else env
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), ann, classes, root, str(out)],
                env=penv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for p in procs:
        output = p.communicate(timeout=300)[0]
        assert p.returncode == 0, output[-3000:]
    return out


def videos(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "videos"
    lines = []
    for i in range(11):  # 11 videos, batch 3, two processes: nothing divides evenly
        write_mp4(root / f"v{i}.mp4", rng.integers(0, 255, (8, 40, 40, 3), dtype=np.uint8))
        lines.append(f"v{i}.mp4 {i % 3}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "classes.csv").write_text("id,name\n0,noise\n1,static\n2,snow\n")
    return str(tmp_path / "list.txt"), str(tmp_path / "classes.csv"), str(root)


def test_two_gloo_processes_evaluate_every_video_once_and_agree(tmp_path):
    args = videos(tmp_path)
    one, two = (json.loads((run(n, tmp_path, *args) / "metrics.json").read_text()) for n in (1, 2))
    assert one["acc/count"] == two["acc/count"] == 11
    assert one == two


def test_two_gloo_processes_train_in_step(tmp_path):
    out = run(2, tmp_path, *videos(tmp_path), worker=TRAIN_WORKER, name="train")
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["wrapped"] == "MMDistributedDataParallel" for r in ranks)
    assert ranks[0]["moved"] > 1.0 and ranks[0]["weights"] == ranks[1]["weights"]  # trained, and still replicas
