"""Evaluation over two CPU processes (gloo) sees every video once and agrees with one process."""
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(nproc, tmp_path, ann, classes, root):
    out = tmp_path / f"np{nproc}"
    out.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), OMP_NUM_THREADS="1")
    procs = []
    for rank in range(nproc):
        penv = dict(env, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc)) if nproc > 1 else env
        procs.append(subprocess.Popen([sys.executable, str(script), ann, classes, root, str(out)], env=penv,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        output = p.communicate(timeout=300)[0]
        assert p.returncode == 0, output[-3000:]
    return json.loads((out / "metrics.json").read_text())


def test_two_gloo_processes_evaluate_every_video_once_and_agree(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "videos"
    lines = []
    for i in range(11):  # 11 videos, batch 3, two processes: nothing divides evenly
        write_mp4(root / f"v{i}.mp4", rng.integers(0, 255, (8, 40, 40, 3), dtype=np.uint8))
        lines.append(f"v{i}.mp4 {i % 3}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "classes.csv").write_text("id,name\n0,noise\n1,static\n2,snow\n")
    args = (str(tmp_path / "list.txt"), str(tmp_path / "classes.csv"), str(root))
    one, two = run(1, tmp_path, *args), run(2, tmp_path, *args)
    assert one["acc/count"] == two["acc/count"] == 11
    assert one == two
