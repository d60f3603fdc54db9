"""A training job killed part way (SIGKILL) resumes from its last checkpoint and ends where an
uninterrupted run ends; a finished sweep is not run again."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

WORKER = textwrap.dedent("""
    import json, sys
    import ezclip
    from ezclip.benchmark import MiniBenchmark
    from ezclip.harness import load_protocol, run_protocol
    from pathlib import Path

    root, results, work = (Path(a) for a in sys.argv[1:4])
    bench = MiniBenchmark("mini", root / "videos", root / "splits", root / "descriptions",
                      clip=dict(arch="ezclip-mini", pretrained=None), num_frames=4, input_size=32)
    protocol = load_protocol("fewshot")
    run_protocol(protocol, ["ezk"], bench, results, work, stages=["hmdb51_k4"], log=lambda *a: None)
""")

MODEL = textwrap.dedent("""
    custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)
    model = dict(type="EZCLIP", clip=dict(arch="ViT-B-16"), num_frames=8,
                 data_preprocessor=dict(type="VideoTextPreprocessor", normalization="clip"))
    mini = dict(epochs=4, batch_size=8, optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.2))
""")


def metrics(results):
    record = next(results.rglob("*.json"))
    return json.loads(record.read_text())["metrics"]


def test_killed_training_resumes_to_the_same_metrics(mini, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ezk.py").write_text(MODEL)
    (tmp_path / "worker.py").write_text(WORKER)
    env = dict(os.environ, EZCLIP_MODEL_PATH=str(tmp_path / "models"))
    root = str(mini.data_root.parent)

    def start(name):
        return subprocess.Popen(
            [
                sys.executable,
                str(tmp_path / "worker.py"),
                root,
                str(tmp_path / name / "results"),
                str(tmp_path / name / "work"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    whole = start("whole")
    assert whole.wait(timeout=600) == 0, whole.stdout.read()[-3000:]

    killed = start("killed")
    deadline = time.time() + 600
    while not list((tmp_path / "killed" / "work").rglob("epoch_1.pth")):
        assert killed.poll() is None and time.time() < deadline, "training ended before it could be killed"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not list((tmp_path / "killed" / "results").rglob("*.json"))  # nothing reported yet
    for pointer in (tmp_path / "killed" / "work").rglob("last_checkpoint"):  # written atomically: whole or absent
        assert Path(pointer.read_text().strip()).is_file()

    resumed = start("killed")
    out = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, out[-3000:]
    assert metrics(tmp_path / "killed" / "results") == metrics(tmp_path / "whole" / "results")
