"""Protocols end to end on the generated mini benchmark, and the arithmetic of their summaries."""

import json
import math

import pytest

from ezclip import records
from ezclip.benchmark import Benchmark, MiniBenchmark
from ezclip.engine import data_split, make_runner, runner_config
from ezclip.harness import load_protocol, run_protocol
from ezclip.records import read_records
from ezclip.summary import harmonic_mean, mean_std
from ezclip.tables import build_tables, write_tables


def test_mini_world_roles(mini):
    info = json.loads((mini.data_root.parent / "mini.json").read_text())["datasets"]
    assert len(info["k600"]["class_sets"]["novel_split1"]) == 8
    assert not set(info["k600"]["class_sets"]["novel220"]) & set(info["k400"]["class_sets"]["classes"])
    assert len(info["hmdb51"]["class_sets"]["classes"]) == 12 and len(info["ucf101"]["class_sets"]["classes"]) == 18
    # SSv2's role: each 'turning blue' clip is the exact time reversal of a 'turning red' clip
    import decord

    assert info["ssv2"]["reversal_pairs"][0] == ["something turning red", "something turning blue"]
    forward = decord.VideoReader(str(mini.video_root("ssv2") / "something_turning_red_000.mp4"))
    backward = decord.VideoReader(str(mini.video_root("ssv2") / "something_turning_blue_000.mp4"))
    a, b = forward.get_batch(range(len(forward))).asnumpy(), backward.get_batch(range(len(backward))).asnumpy()
    assert abs(a[::-1].astype(int) - b.astype(int)).mean() < 3  # equal up to H.264 noise


def test_a_built_model_is_trained_and_evaluated_in_place(mini):
    from mmaction.registry import MODELS

    model = MODELS.build(dict(type="VideoCLIP", clip=dict(arch="ezclip-mini"), num_frames=4))
    split = data_split(
        mini.list_file("hmdb51", "test_split1"), mini.class_file("hmdb51", "classes"), mini.video_root("hmdb51")
    )
    runner = make_runner(runner_config(model, "/tmp/unused", test=split, input_size=32))
    assert runner.model is model  # evaluations must see the weights the training changed


def test_eval_counts_every_video_once_whatever_the_batch_size(mini, tmp_path):
    from mmaction.registry import MODELS

    model = MODELS.build(dict(type="VideoCLIP", clip=dict(arch="ezclip-mini"), num_frames=4))
    split = data_split(
        mini.list_file("hmdb51", "test_split1"), mini.class_file("hmdb51", "classes"), mini.video_root("hmdb51")
    )
    metrics = make_runner(runner_config(model, tmp_path, test=split, input_size=32, batch_size=5)).test()
    assert metrics["acc/count"] == 72  # 72 = 14 batches of 5 and one of 2


def test_zeroshot_protocol_end_to_end(mini, tmp_path):
    protocol = load_protocol("zeroshot")
    run_protocol(
        protocol, ["clip", "ezclip"], mini, tmp_path / "results", tmp_path / "work", subset=2, log=lambda *a: None
    )
    records = read_records(tmp_path / "results" / "records")
    assert len(records) == 2 * 10 and all(r["status"] == "ok" for r in records)
    hmdb = [r for r in records if r["eval"]["dataset"] == "hmdb51"]
    assert all(r["eval"]["videos_evaluated"] == 2 * 12 for r in hmdb)
    ez = next(r for r in records if r["model"]["name"] == "ezclip")
    assert ez["train"]["videos"] == 2 * 24 and ez["model"]["text_source"] == "descriptions"
    assert ez["subset"] == 2 and ez["benchmark"] == "mini"
    tables = build_tables(records)["mini-subset2"]
    assert "zeroshot" in tables and "mini benchmark" in tables["zeroshot"].title


def test_fewshot_and_base2novel_end_to_end_with_order_diagnostic(mini, tmp_path):
    for name in ("fewshot", "base2novel"):
        protocol = load_protocol(name)
        protocol.stages = [s for s in protocol.stages if s["name"] in ("ssv2_k2", "ssv2_s1")]
        run_protocol(
            protocol, ["vificlip"], mini, tmp_path / "results", tmp_path / "work", subset=2, log=lambda *a: None
        )
    records = read_records(tmp_path / "results" / "records")
    assert {r["protocol"]["name"] for r in records} == {"fewshot", "base2novel"}
    fewshot = next(r for r in records if r["protocol"]["name"] == "fewshot")
    assert fewshot["metrics"]["pair_count"] == 2 * 6 and fewshot["train"]["videos"] == 2 * 6
    written, built = write_tables(tmp_path / "results")
    assert {"fewshot", "base2novel", "order"} <= set(built["mini-subset2"])


def fake_record(protocol, model, group, list_name, top1, stage="s", crops=1, num_classes=10, benchmark="full"):
    """A complete, valid record (``ezclip.records.Record``) of one evaluation."""
    kind = "base_novel" if protocol == "base2novel" else "accuracy"
    return dict(
        schema=records.SCHEMA,
        status="ok",
        benchmark=benchmark,
        subset=None,
        stage=stage,
        seed=0,
        train=None,
        protocol=dict(name=protocol, variant=None, version=1, title=protocol, report=dict(table=kind)),
        model=dict(
            name=model,
            config_path=f"{model}.py",
            config={},
            config_hash="c" * 16,
            recipe={},
            recipe_hash="r" * 16,
            type="VideoCLIP",
            arch="ViT-B-16",
            frames=8,
            weights={},
            params_total=1,
            params_trainable=0,
            normalization="clip",
        ),
        eval=dict(
            dataset=group.split("/")[0],
            list=list_name,
            classes="classes",
            group=group,
            crops=crops,
            input_size=224,
            list_sha256=list_name * 4,
            class_file_sha256="f" * 64,
            videos_listed=10,
            videos_evaluated=10,
            skipped=[],
            num_classes=num_classes,
            provenance=dict(kind="official", label=f"official ViFi-CLIP:{list_name}.txt@{list_name[:8]}"),
        ),
        inputs=dict(list_sha256=list_name * 4),
        metrics=dict(top1=top1),
        env={},
        wall_s=1.0,
    )


def test_mean_std_and_harmonic_mean_by_hand():
    mean, std = mean_std([50.0, 52.0, 57.0])
    assert mean == pytest.approx(53.0)
    assert std == pytest.approx(math.sqrt(((50 - 53) ** 2 + (52 - 53) ** 2 + (57 - 53) ** 2) / 2))
    assert harmonic_mean(76.4, 61.1) == pytest.approx(2 * 76.4 * 61.1 / 137.5)


def test_tables_from_records(tmp_path):
    records = [
        fake_record("zeroshot", "m", "hmdb51", f"test_split{i}", v) for i, v in ((1, 0.50), (2, 0.52), (3, 0.57))
    ]
    records += [
        fake_record("base2novel", "m", f"ucf101/{part}", f"{part}_test", v, stage=f"ucf101_s{s}")
        for part, vals in (("base", (0.90, 0.92, 0.94)), ("novel", (0.60, 0.62, 0.64)))
        for s, v in zip((1, 2, 3), vals)
    ]
    records.append(fake_record("zeroshot", "other", "hmdb51", "test_split1", 0.40, crops=3))
    tables = build_tables(records)["full"]
    zs = tables["zeroshot"].markdown()
    assert "53.0 ± 3.6" in zs  # mean and sample std of 50, 52, 57
    assert "40.0†" in zs and "not directly comparable" in zs  # a 3-crop number is marked in a 1-crop column
    assert "views 3 (column: 1)" in zs and "other (ViT-B-16, 8f, 3 crops)" in zs and "m (ViT-B-16, 8f) " in zs
    b2n = tables["base2novel"].markdown()
    assert "92.0 ± 2.0" in b2n and "62.0 ± 2.0" in b2n and f"{2 * 92 * 62 / 154:.1f}" in b2n


def test_tables_regenerate_identically_and_drop_deleted_records(tmp_path):
    from ezclip.records import write_json

    root = tmp_path / "results"
    for i, v in ((1, 0.50), (2, 0.52)):
        write_json(root / "records" / f"r{i}.json", fake_record("zeroshot", "m", "hmdb51", f"test_split{i}", v))
    write_json(root / "records" / "u.json", fake_record("zeroshot", "m", "ucf101", "test_split1", 0.7))
    first = {p: p.read_bytes() for p in write_tables(root)[0]}
    assert {p: p.read_bytes() for p in write_tables(root)[0]} == first
    (root / "records" / "u.json").unlink()
    write_tables(root)
    text = (root / "tables" / "full" / "zeroshot.md").read_text()
    assert "ucf101" not in text and "51.0 ± 1.4" in text


def test_tables_stand_beside_pytest_benchmark_output_and_name_a_foreign_file(tmp_path):
    """`tox -e bench` writes pytest-benchmark JSON into results/efficiency (for `plan`): the tables are
    written from the same records as without it; a file of another kind is one error naming it."""
    import subprocess
    import sys

    from ezclip.errors import InputError
    from ezclip.records import write_json

    root = tmp_path / "results"
    write_json(root / "records" / "r.json", fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5))
    alone = {p.name: p.read_bytes() for p in write_tables(root)[0]}
    (tmp_path / "test_tiny.py").write_text("def test_tiny(benchmark):\n    benchmark(sum, range(10))\n")
    bench = root / "efficiency" / "benchmarks.json"
    bench.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_tiny.py")]
    subprocess.run(cmd + ["--benchmark-only", f"--benchmark-json={bench}"], check=True, capture_output=True)
    assert "machine_info" in json.loads(bench.read_text())
    assert {p.name: p.read_bytes() for p in write_tables(root)[0]} == alone
    (root / "efficiency" / "notes.json").write_text('{"what": "something else"}')
    with pytest.raises(InputError, match=r"notes\.json: neither an efficiency profile"):
        write_tables(root)


def test_plan_emits_a_valid_slurm_array_with_one_task_per_pending_job(mini, tmp_path):
    import subprocess

    from ezclip.harness import plan_jobs, slurm_script

    protocol = load_protocol("zeroshot")
    jobs = plan_jobs(protocol, ["clip", "ezclip", "xclip"], mini, tmp_path / "results")
    assert [j["done"] for j in jobs] == [False] * 3
    script = tmp_path / "zeroshot.sh"
    script.write_text(slurm_script("zeroshot", None, jobs))
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "#SBATCH --array=0-2" in text and text.count("ezclip-bench run zeroshot --models") == 3
    # a job whose records all exist is done and left out of the next plan
    run_protocol(protocol, ["clip"], mini, tmp_path / "results", tmp_path / "work", log=lambda *a: None)
    assert [j["done"] for j in plan_jobs(protocol, ["clip", "ezclip"], mini, tmp_path / "results")] == [True, False]


def test_data_check_counts_listed_found_and_decodable(mini, tmp_path):
    import shutil

    from ezclip.datacheck import check_data

    copy = tmp_path / "videos"
    shutil.copytree(mini.video_root("k600"), copy / "k600")
    (copy / "k600" / "purple_cross_growing_000.mp4").unlink(missing_ok=True)
    victim = sorted((copy / "k600").glob("*.mp4"))[0]
    victim.write_bytes(b"not a video")
    bench = Benchmark("full", copy, mini.splits_root)
    rows = {r["list"]: r for r in check_data(bench, ["k600"])}
    row = rows["zeroshot_232"]
    assert row["listed"] == 84 and row["found"] + row["missing_count"] == 84
    assert victim.name in row["undecodable"] and row["decodable"] == row["found"] - 1


def test_data_check_fails_when_nothing_decodes_or_a_class_file_is_absent(mini, tmp_path, capsys):
    """Exit 1 and one line per problem when no listed video decodes, or a protocol's class file is
    absent beside its list; exit 0 on a complete data root."""
    import shutil

    from ezclip.cli import main

    splits, videos = tmp_path / "splits", tmp_path / "videos"
    shutil.copytree(mini.splits_root / "hmdb51", splits / "hmdb51")
    shutil.copytree(mini.video_root("hmdb51"), videos / "hmdb51")
    args = ["data", "check", "--datasets", "hmdb51", "--data-root", str(videos), "--splits", str(splits)]
    args += ["--work-dir", str(tmp_path / "work")]
    assert main(args) == 0
    for video in (videos / "hmdb51").glob("*.mp4"):
        video.write_bytes(b"not a video")
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    listed = len((splits / "hmdb51" / "test_split1.txt").read_text().splitlines())
    assert f"data check: hmdb51/test_split1: {listed} of {listed} videos found cannot be decoded (first: " in err
    shutil.rmtree(videos / "hmdb51")
    shutil.copytree(mini.video_root("hmdb51"), videos / "hmdb51")
    (splits / "hmdb51" / "classes.csv").unlink()
    assert main(args) == 1
    assert f"data check: class file missing: {splits / 'hmdb51' / 'classes.csv'} (read with " in capsys.readouterr().err


def test_run_refuses_a_list_without_its_class_file(mini, tmp_path):
    """A list imported without its class file is a broken import: one error naming the class file,
    not a skipped record that calls it an evaluation list."""
    import dataclasses
    import shutil

    from ezclip.errors import InputError

    splits = tmp_path / "splits"
    shutil.copytree(mini.splits_root, splits)
    (splits / "hmdb51" / "classes.csv").unlink()
    bench = dataclasses.replace(mini, splits_root=splits)
    with pytest.raises(InputError, match=r"hmdb51/classes.csv: class file of test_split1.txt not found"):
        run_protocol(
            load_protocol("zeroshot"),
            ["clip"],
            bench,
            tmp_path / "results",
            tmp_path / "work",
            subset=1,
            log=lambda *a: None,
        )


def test_a_baseline_added_by_a_config_file_outside_the_package_runs(mini, tmp_path, monkeypatch):
    import textwrap

    from ezclip.zoo import list_models

    folder = tmp_path / "my_models"
    folder.mkdir()
    (folder / "mybaseline.py").write_text(
        textwrap.dedent("""
        custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)
        model = dict(type="VideoCLIP", clip=dict(arch="ViT-B-16", pretrained="openai"), num_frames=8,
                     templates=["a video of {}"], trainable=[])
    """)
    )
    monkeypatch.setenv("EZCLIP_MODEL_PATH", str(folder))
    assert list_models()["mybaseline"] == folder / "mybaseline.py"
    protocol = load_protocol("zeroshot")
    run_protocol(protocol, ["mybaseline"], mini, tmp_path / "results", tmp_path / "work", subset=1, log=lambda *a: None)
    records = read_records(tmp_path / "results" / "records")
    assert len(records) == 10 and all(r["status"] == "ok" for r in records)
    assert records[0]["model"]["config_path"] == str(folder / "mybaseline.py")


def test_the_tiny_ezclip_config_runs_with_mmengine_alone(mini, tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from ezclip.records import REPO_ROOT

    monkeypatch.setenv("EZCLIP_MINI_ROOT", str(mini.data_root.parent))
    cfg = Config.fromfile(REPO_ROOT / "benchmarks" / "configs" / "ezclip_tiny_mini-k400.py")
    cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=1, val_interval=1)
    cfg.param_scheduler, cfg.work_dir = [], str(tmp_path)
    cfg.train_dataloader.dataset.subset = cfg.val_dataloader.dataset.subset = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.val_loop.run()["acc/count"] == 24


def test_mixed_precision_evaluation_is_recorded(mini, tmp_path):
    protocol = load_protocol("zeroshot")
    protocol.stages[0]["evaluate"] = protocol.stages[0]["evaluate"][:1]
    run_protocol(
        protocol,
        ["clip"],
        mini,
        tmp_path / "results",
        tmp_path / "work",
        subset=1,
        precision="bf16",
        log=lambda *a: None,
    )
    (record,) = read_records(tmp_path / "results" / "records")
    assert record["precision"] == "bf16" and record["dtype"] == "bfloat16" and record["eval"]["videos_evaluated"] == 12
    with pytest.raises(ValueError, match="mixed-precision training needs a GPU"):
        runner_config(dict(num_frames=4), tmp_path, train=dict(), precision="fp16")


def test_ablation_table_compares_each_ablation_with_the_full_model():
    records = [fake_record("zeroshot", "ez", "hmdb51", f"test_split{i}", v) for i, v in ((1, 0.50), (2, 0.54))]
    for r, pair in zip(records, (0.75, 0.85)):
        r["metrics"]["pair_acc"] = pair
    ablated = [fake_record("zeroshot", "ez-none", "hmdb51", "test_split1", 0.40)]
    ablated[0]["model"]["ablation"] = dict(of="ez", change="no prompts")
    ablated[0]["metrics"]["pair_acc"] = 0.5
    tables = build_tables(records + ablated)["full"]
    text = tables["ablation-ez"].markdown()
    assert "| ez (full)" in text and "52.0 ± 2.8" in text and "80.0 ± 7.1" in text
    assert "ez-none: no prompts" in text and "40.0 (-12.0)" in text and "50.0 (-30.0)" in text
    assert "ez-none" not in tables["zeroshot"].markdown()  # ablations stay out of the comparison tables


def test_figures_sit_next_to_the_tables_and_regenerate_identically(tmp_path):
    from ezclip.records import write_json

    root = tmp_path / "results"
    for model, v, trainable in (("m", 0.50, 1000), ("n", 0.60, 5000), ("uncosted", 0.55, 10)):
        r = fake_record("zeroshot", model, "hmdb51", "test_split1", v)
        r["model"]["params_trainable"] = trainable
        write_json(root / "records" / f"{model}.json", r)
        for part, acc in (("base", 0.9), ("novel", 0.6)):
            write_json(
                root / "records" / f"{model}-{part}.json",
                fake_record("base2novel", model, f"ucf101/{part}", f"{part}_test", acc, stage="ucf101_s1"),
            )
    rows = [
        dict(model=m, arch="ViT-B-16", frames=8, vision_gflops=g, videos_per_s=s, params_total=1, params_trainable=1)
        for m, g, s in (("m", 281.0, 2.0), ("n", 290.0, 1.5))
    ]
    write_json(root / "efficiency" / "ViT-B-16_8f.json", dict(rows=rows, meta={}))
    first = {p: p.read_bytes() for p in write_tables(root)[0] if p.suffix == ".png"}
    assert {p.name for p in first} == {"zeroshot_cost.png", "base2novel_bars.png"}
    assert all(p.parent.name == "full" and len(data) > 10_000 for p, data in first.items())
    assert {p: p.read_bytes() for p in write_tables(root)[0] if p.suffix == ".png"} == first

    from ezclip import plots
    from ezclip.summary import Cells

    figure, missing = plots.cost_figure(
        Cells(read_records(root / "records")), "zeroshot", "t", plots.cost_rows([dict(rows=rows)])
    )
    assert missing == ["uncosted"]  # no efficiency row at its arch and frames: left out, and named
    plots.save(figure, tmp_path / "f.png")


def test_stage_recipes_take_the_overrides_of_their_protocol_and_dataset():
    from ezclip.harness import model_setup
    from ezclip.recipes import MINI_RECIPE, stage_recipe

    recipe = dict(MINI_RECIPE, datasets=dict(ssv2=dict(epochs=60)))
    assert stage_recipe(recipe, dict(train=dict(dataset="ssv2")))["epochs"] == 60
    assert stage_recipe(recipe, dict(train=dict(dataset="k400")))["epochs"] == MINI_RECIPE["epochs"]
    assert "datasets" not in stage_recipe(recipe, dict(evaluate=[]))
    native = dict(
        epochs=10,
        batch_size=256,
        protocols=dict(fewshot=dict(epochs=50, batch_size=64, datasets=dict(ssv2=dict(epochs=70)))),
        datasets=dict(ssv2=dict(epochs=30)),
    )
    assert stage_recipe(native, dict(train=dict(dataset="hmdb51")), "fewshot") == dict(epochs=50, batch_size=64)
    assert stage_recipe(native, dict(train=dict(dataset="ssv2")), "fewshot")["epochs"] == 70  # the protocol's first
    assert stage_recipe(native, dict(train=dict(dataset="ssv2")), "zeroshot")["epochs"] == 30
    adamw = dict(type="AdamW", lr=1e-4, weight_decay=0.2)  # an optimizer change keeps the keys it does not name
    assert stage_recipe(
        dict(optimizer=adamw, protocols=dict(fewshot=dict(optimizer=dict(lr=2e-6)))),
        dict(train=dict(dataset="hmdb51")),
        "fewshot",
    )["optimizer"] == dict(adamw, lr=2e-6)
    mini = MiniBenchmark(name="mini", data_root=None, splits_root=None)
    setup = model_setup("ezclip", mini)
    assert setup["model"]["drop_path"] == 0.0 and "model" not in setup["recipe"]  # the mini's model override
