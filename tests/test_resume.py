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


def record(results):
    return json.loads(next(results.rglob("*.json")).read_text())


def metrics(results):
    return record(results)["metrics"]


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
    # the pointer, not the checkpoint: mmengine writes epoch_1.pth a moment before last_checkpoint, and a
    # kill in between leaves nothing to resume from (the run then starts again, as it should)
    while not list((tmp_path / "killed" / "work").rglob("last_checkpoint")):
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
    whole, resumed = record(tmp_path / "whole" / "results")["train"], record(tmp_path / "killed" / "results")["train"]
    assert whole["resumed_from_epoch"] is None and whole["wall_s"] == whole["wall_s_this_process"]
    assert resumed["resumed_from_epoch"] >= 1 and resumed["wall_s"] > resumed["wall_s_this_process"]


def test_the_training_clock_adds_the_time_before_the_checkpoint_it_resumed_from():
    from ezclip.models.hooks import TrainTimeHook

    first = TrainTimeHook()
    first.start -= 30  # 30 s trained, then a checkpoint
    checkpoint = dict(meta=dict(epoch=2))
    first.before_save_checkpoint(None, checkpoint)
    resumed = TrainTimeHook()
    resumed.after_load_checkpoint(None, checkpoint)
    resumed.start -= 10
    resumed.after_train(None)
    assert resumed.resumed_from_epoch == 2 and first.resumed_from_epoch is None
    assert 40 <= resumed.total_s < 41 and 10 <= resumed.this_process_s < 11


def test_resume_reuses_a_record_only_while_what_it_was_computed_from_is_unchanged(mini, tmp_path):
    import shutil

    from ezclip.benchmark import MiniBenchmark
    from ezclip.harness import load_protocol, model_setup, run_protocol, stage_changes
    from ezclip.records import read_records
    from ezclip.tables import build_tables

    root = Path(shutil.copytree(mini.data_root.parent, tmp_path / "world"))
    bench = MiniBenchmark(
        "mini", root / "videos", root / "splits", root / "descriptions", clip=mini.clip, num_frames=4, input_size=32
    )
    protocol = load_protocol("zeroshot")
    results, work = tmp_path / "results", tmp_path / "work"
    lines = []

    def run(on_error="raise"):
        lines.clear()
        run_protocol(protocol, ["clip"], bench, results, work, subset=1, on_error=on_error, log=lines.append)
        return "\n".join(lines)

    def why(on_error="raise"):
        setup = model_setup("clip", bench)
        return stage_changes(results, bench, protocol, setup, protocol.stages[0], 1, on_error=on_error)

    run()
    assert "done (its records stand" in run() and why() is None
    test_list = bench.list_file("hmdb51", "test_split1")
    first = test_list.read_text().splitlines()[0]
    test_list.write_text(test_list.read_text() + first + "\n")  # the list grew (by a duplicate line)
    out = run()
    assert "[clip] zeroshot/k400: redoing (hmdb51/test_split1: changed since its record: list_sha256 " in out
    assert len(out.splitlines()) == 11  # that line, and one per list of the stage

    # a listed video that is missing: skipped when the user chose skipping, and said so everywhere
    test_list.write_text(f"missing_clip.mp4 {first.split()[-1]}\n" + test_list.read_text())
    out = run("skip")
    assert "hmdb51/test_split1: top-1 " in out and "(11 of 12 listed videos; 1 skipped" in out
    record = next(
        r for r in read_records(results) if r["eval"]["list"] == "test_split1" and r["eval"]["dataset"] == "hmdb51"
    )
    assert record["eval"]["skipped"][0]["file_state"] is None and record["eval"]["videos_evaluated"] == 11
    table = build_tables(read_records(results))["mini-subset1"]["zeroshot"]
    assert "‡" in table.markdown() and "1 of 12 listed videos skipped" in table.markdown()
    assert why("skip") is None
    assert why("raise").endswith("its record skipped 1 video(s) and this run skips none (--on-error raise)")
    shutil.copy(bench.video_root("hmdb51") / first.split()[0], bench.video_root("hmdb51") / "missing_clip.mp4")
    assert why("skip") == (
        "hmdb51/test_split1: 1 of the 1 video(s) its record skipped changed on disk (e.g. "
        f"{bench.video_root('hmdb51') / 'missing_clip.mp4'})"
    )
