"""Run a protocol: per model and stage, train (if the model trains) and evaluate, one record per job.

Data flows one way: model config (zoo) and protocol config -> mmengine Runner -> result record
(``records``) -> tables, which read nothing but records.
"""

from __future__ import annotations

import copy
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.runner import set_random_seed

from ezclip import recipes, records, registry
from ezclip.data.lists import read_class_csv
from ezclip.data.transforms import VideoInit, decoding_rules
from ezclip.engine import (
    batch_plan,
    data_split,
    default_workers,
    eval_dtype,
    make_runner,
    runner_config,
    world_size,
)
from ezclip.errors import InputError, UnknownNameError
from ezclip.files import file_state
from ezclip.models import count_parameters
from ezclip.recipes import DEFAULT_OPTIMIZER, stage_recipe
from ezclip.zoo import load_model_config

if TYPE_CHECKING:
    from torch import nn

    from ezclip.benchmark import Benchmark

PROTOCOL_DIR = registry.PROTOCOLS
DECODED_BY = "acc/decoded_by/"  # VideoAccMetric's count of the videos each backend decoded


def list_protocols() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PROTOCOL_DIR.glob("*.py")) if not p.name.startswith("_")}


def load_protocol(name: str, variant: str | None = None) -> Config:
    protocols = list_protocols()
    if name not in protocols:
        raise UnknownNameError("protocol", name, protocols)
    cfg = Config.fromfile(protocols[name])
    cfg.name, cfg.variant = name, variant
    if variant is not None:
        variants = cfg.get("variants", {})
        if variant not in variants:
            raise UnknownNameError(f"variant of protocol {name}", variant, variants)
        cfg.merge_from_dict(copy.deepcopy(variants[variant]).to_dict())
    return cfg


def protocol_id(protocol: Config) -> str:
    return records.protocol_id(protocol.name, protocol.variant)


def model_setup(
    name: str,
    benchmark: Benchmark,
    recipe_kind: str = "native",
    checkpoint: Mapping[str, Any] | None = None,
    without: Sequence[str] = (),
) -> dict[str, Any]:
    """The model dict and training recipe of ``name`` on ``benchmark``; with a released ``checkpoint``
    (a manifest entry), at the architecture, frames and normalisation it was trained with (the mini
    benchmark's tiny CLIP and frame count still replace them); ``without``: recipe parts switched off
    (``ezclip.recipes.PARTS``)."""
    cfg = load_model_config(name)
    model = cfg.model.to_dict()
    if checkpoint is not None:
        model["clip"] = dict(model["clip"], arch=checkpoint["arch"])
        model["num_frames"] = checkpoint["frames"]
        model["data_preprocessor"] = dict(model["data_preprocessor"], normalization=checkpoint["normalization"])
    if benchmark.clip_weights is not None:
        model["clip"] = dict(model["clip"], pretrained=str(benchmark.clip_weights))
    if benchmark.clip is not None:
        model["clip"] = dict(model["clip"], **benchmark.clip)
    if benchmark.num_frames is not None:
        model["num_frames"] = benchmark.num_frames
    changes, recipe = benchmark.recipe(cfg, recipe_kind)
    recipe = recipes.without(recipe, without)
    model.update(changes)
    return dict(name=name, path=str(cfg.filename), model=model, recipe=recipe, ablation=cfg.get("ablation"))


def select_stages(protocol: Config, names: Sequence[str] | None = None) -> list[Mapping[str, Any]]:
    if not names:
        return list(protocol.stages)
    known = {s["name"]: s for s in protocol.stages}
    for name in names:
        if name not in known:
            raise UnknownNameError(f"stage of protocol {protocol_id(protocol)}", name, known)
    return [known[n] for n in names]


def job_inputs(
    benchmark: Benchmark,
    setup: Mapping[str, Any],
    recipe: Mapping[str, Any],
    stage: Mapping[str, Any],
    ev: Mapping[str, Any],
    subset: int | None,
    precision: str,
    seed: int,
    weights_sha256: str | None = None,
    per_device_batch: int | None = None,
) -> dict[str, Any]:
    """What one evaluation record is computed from: a resumed run reuses a record only when all of this
    is unchanged (``reuse_problem``). Files count by content (sha256), videos by their root; a training
    by its data and how its global batch is made (per process, processes, accumulation)."""

    def files(spec: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        list_file = benchmark.list_file(spec["dataset"], spec["list"])
        class_file = benchmark.class_file(spec["dataset"], spec["classes"])
        return {
            f"{prefix}list_sha256": records.file_sha256(list_file) if list_file.is_file() else None,
            f"{prefix}class_file_sha256": records.file_sha256(class_file) if class_file.is_file() else None,
            f"{prefix}video_root": str(benchmark.video_root(spec["dataset"])),
        }

    descriptions = benchmark.description_file(ev["dataset"])
    inputs = dict(
        schema=records.SCHEMA,
        benchmark=records.config_hash(benchmark.fingerprint) if benchmark.fingerprint else None,
        **files(ev, ""),
        descriptions_sha256=records.file_sha256(descriptions) if descriptions else None,
        subset=subset,
        model=records.config_hash(setup["model"]),
        recipe=records.config_hash(recipe),
        precision=precision,
        seed=seed,
        decoding=records.config_hash(decoding_rules()),  # which backend reads which kind of file
    )
    if weights_sha256 is not None:  # released weights: nothing is trained
        inputs["released_sha256"] = weights_sha256
    elif stage.get("train") and recipe.get("epochs", 0) > 0:
        inputs.update(files(stage["train"], "train_"))
        plan = batch_plan(recipe.get("batch_size", 8), setup["model"]["num_frames"], per_device_batch, world_size())
        inputs["train_batch"] = [plan["per_device"], plan["processes"], plan["accumulation"]]
    return inputs


def reuse_problem(record: records.Record, inputs: Mapping[str, Any], on_error: str) -> str | None:
    """Why an existing record cannot stand for this run (None: it can): it was skipped, it predates input
    tracking, something it was computed from changed, or videos it skipped may now be readable."""
    if record["status"] != "ok":
        return f"its record is {record['status']}"
    if "inputs" not in record:
        return f"its record (schema {record['schema']}) does not say what it was computed from"
    changed = [k for k in sorted(set(inputs) | set(record["inputs"])) if record["inputs"].get(k) != inputs.get(k)]
    if changed:
        return "changed since its record: " + ", ".join(
            f"{k} {short(record['inputs'].get(k))} -> {short(inputs.get(k))}" for k in changed
        )
    skipped = record["eval"].get("skipped", [])
    if skipped and on_error == "raise":
        return f"its record skipped {len(skipped)} video(s) and this run skips none (--on-error raise)"
    moved = [s["video"] for s in skipped if file_state(s["video"]) != s.get("file_state")]
    if moved:
        return f"{len(moved)} of the {len(skipped)} video(s) its record skipped changed on disk (e.g. {moved[0]})"
    return None


def short(value: Any) -> str:
    text = str(value)
    return text[:12] + "…" if len(text) > 16 and " " not in text and "/" not in text else text


def stage_changes(
    results_dir: str | Path,
    benchmark: Benchmark,
    protocol: Config,
    setup: Mapping[str, Any],
    stage: Mapping[str, Any],
    subset: int | None,
    precision: str = "fp32",
    seed: int = 0,
    on_error: str = "raise",
    weights: Mapping[str, Any] | None = None,
    per_device_batch: int | None = None,
) -> str | None:
    """Why a stage must run (None when every record it writes exists and may be reused)."""
    recipe = stage_recipe(setup["recipe"], stage, protocol.name)
    sha256 = weights.get("sha256") if weights else None
    for ev in stage["evaluate"]:
        path = record_path(Path(results_dir), benchmark, protocol, model_key(setup, weights), stage["name"], ev, subset)
        if not path.is_file():
            return f"{ev['dataset']}/{ev['list']}: no record yet"
        inputs = job_inputs(benchmark, setup, recipe, stage, ev, subset, precision, seed, sha256, per_device_batch)
        problem = reuse_problem(records.read_record(path), inputs, on_error)
        if problem:
            return f"{ev['dataset']}/{ev['list']}: {problem}"
    return None


def run_protocol(
    protocol: Config,
    model_names: Iterable[str],
    benchmark: Benchmark,
    results_dir: str | Path,
    work_dir: str | Path,
    subset: int | None = None,
    on_error: str = "raise",
    recipe_kind: str = "native",
    seed: int = 0,
    stages: Sequence[str] | None = None,
    force: bool = False,
    precision: str = "fp32",
    log: Callable[..., Any] = print,
    released: str | Path | None = None,
    cache: str | Path | None = None,
    workers: int | None = None,
    per_device_batch: int | None = None,
    without: Sequence[str] = (),
) -> list[Path]:
    """Run the stages (default: all) of ``protocol`` for each model; returns the records written.

    ``precision``: 'fp32', 'fp16' or 'bf16', or 'recipe': each recipe's mixed precision on a GPU, fp32
    on a CPU. ``without``: recipe parts switched off (``ezclip.recipes.PARTS``).

    With ``released`` (a folder of the checkpoints the official repositories publish), a model that
    trains is not trained: each stage evaluates the released file that stands for it (found by its
    published name, converted once and cached by its sha256 under ``cache``), at its own architecture,
    frames and normalisation; a stage without one gets skipped records that say which file is expected
    and where it is published. Models that train nothing (CLIP) run as usual.

    A stage whose records all exist and were computed from what this run would use (``job_inputs``) is
    not run again unless ``force``, so an interrupted sweep resumes where it stopped; one that differs
    is redone, saying why in one line. An interrupted training resumes from its last epoch checkpoint."""
    if workers is None:
        workers = 0 if benchmark.in_process_loading else default_workers(world_size())
    written = []
    for name in model_names:
        plain = model_setup(name, benchmark, recipe_kind, without=without)
        for stage in select_stages(protocol, stages):
            weights = released_weights(name, plain, protocol, stage, released, cache)
            setup = (
                model_setup(name, benchmark, recipe_kind, weights["checkpoint"], without)
                if weights and weights.get("path")
                else plain
            )
            job = f"[{name}] {protocol_id(protocol)}/{stage['name']}"
            job_precision = stage_precision(precision, setup, stage, protocol)
            if not force:
                why = stage_changes(
                    results_dir,
                    benchmark,
                    protocol,
                    setup,
                    stage,
                    subset,
                    job_precision,
                    seed,
                    on_error,
                    weights,
                    per_device_batch,
                )
                if why is None:
                    log(f"{job}: done (its records stand: nothing they were computed from changed)")
                    continue
                if "no record yet" not in why:
                    log(f"{job}: redoing ({why})")
            written += run_stage(
                protocol,
                stage,
                setup,
                benchmark,
                Path(results_dir),
                Path(work_dir),
                subset=subset,
                on_error=on_error,
                seed=seed,
                precision=job_precision,
                log=log,
                weights=weights,
                workers=workers,
                per_device_batch=per_device_batch,
            )
    return written


def stage_precision(requested: str, setup: Mapping[str, Any], stage: Mapping[str, Any], protocol: Config) -> str:
    """The precision one stage runs in (``recipes.precision_for`` on this machine)."""
    import torch

    recipe = stage_recipe(setup["recipe"], stage, protocol.name)
    return recipes.precision_for(requested, recipe, torch.cuda.is_available())


def released_weights(
    name: str,
    setup: Mapping[str, Any],
    protocol: Config,
    stage: Mapping[str, Any],
    folder: str | Path | None,
    cache: str | Path | None,
) -> dict[str, Any] | None:
    """With a released-weights ``folder``, the manifest entry standing for this stage with the file's
    ``path`` in the folder, or a ``reason`` why there is none; None for a run that trains (no folder) or a
    model that trains nothing."""
    # a model whose own recipe trains nothing (CLIP) needs no released checkpoint
    if folder is None or not stage.get("train") or not load_model_config(name).get("recipe", {}).get("epochs", 0):
        return None
    from ezclip import released
    from ezclip.benchmark import default_cache

    base = dict(folder=str(folder), cache=str(cache or default_cache()))
    checkpoint = released.checkpoint_for(name, protocol_id(protocol), stage["name"])
    if checkpoint is None:
        why = released.not_released(name)
        return dict(
            base,
            path=None,
            reason=f"no released {name} checkpoint stands for {protocol_id(protocol)}/{stage['name']}"
            + (f" ({why})" if why else ""),
        )
    path = released.find(checkpoint, folder)
    if path is None:
        return dict(base, checkpoint=checkpoint, path=None, reason=released.expected(checkpoint, folder))
    # hashed once per stage: the file is hundreds of MB, and its sha256 keys the records and the cache
    return dict(base, checkpoint=checkpoint, path=path, sha256=records.file_sha256(path), reason=None)


def model_key(setup: Mapping[str, Any], weights: Mapping[str, Any] | None) -> str:
    """Where a model's records go (``records.model_id``): released weights, and a recipe with parts switched
    off, apart from the native runs (never averaged)."""
    return records.model_id(setup["name"], weights is not None, setup["recipe"].get("without", ()))


def record_path(
    results_dir: Path,
    benchmark: Benchmark,
    protocol: Config,
    model_name: str,
    stage_name: str,
    ev: Mapping[str, Any],
    subset: int | None,
) -> Path:
    return (
        results_dir
        / "records"
        / records.benchmark_id(benchmark.name, subset)
        / protocol_id(protocol)
        / model_name
        / stage_name
        / f"{ev['dataset']}__{ev['list']}.json"
    )


def run_stage(
    protocol: Config,
    stage: Mapping[str, Any],
    setup: Mapping[str, Any],
    benchmark: Benchmark,
    results_dir: Path,
    work_dir: Path,
    subset: int | None = None,
    on_error: str = "raise",
    seed: int = 0,
    precision: str = "fp32",
    log: Callable[..., Any] = print,
    weights: Mapping[str, Any] | None = None,
    workers: int = 0,
    per_device_batch: int | None = None,
) -> list[Path]:
    recipe, name = stage_recipe(setup["recipe"], stage, protocol.name), setup["name"]
    sha256 = weights.get("sha256") if weights else None
    inputs = {
        (ev["dataset"], ev["list"]): job_inputs(
            benchmark, setup, recipe, stage, ev, subset, precision, seed, sha256, per_device_batch
        )
        for ev in stage["evaluate"]
    }
    # the work dir (checkpoints to resume from) is tied to the exact model, recipe, training data and subset
    train_inputs = {k: v for k, v in next(iter(inputs.values())).items() if k.startswith("train_")}
    key = records.config_hash(
        dict(
            model=setup["model"], recipe=setup["recipe"], subset=subset, seed=seed, precision=precision, **train_inputs
        )
    )
    stage_dir = work_dir / benchmark.name / protocol_id(protocol) / name / stage["name"] / key
    set_random_seed(seed)
    from mmaction.registry import MODELS

    model_dict = copy.deepcopy(setup["model"])
    loaded = None
    if weights is not None and weights.get("path"):
        from ezclip import released

        recognizer = MODELS.get(model_dict["type"])
        state, from_base = released.converted(Path(weights["path"]), recognizer, Path(weights["cache"]), sha256)
        if not from_base and benchmark.clip is None:  # every tensor comes from the file: no base CLIP to load
            model_dict["clip"] = dict(model_dict["clip"], pretrained=None)
        loaded = (state, from_base)
    model = MODELS.build(model_dict)
    if loaded is not None:
        released.load(model, Path(weights["path"]), *loaded)
        log(f"[{name}] {protocol_id(protocol)}/{stage['name']}: released weights {weights['path']} ({sha256[:12]}…)")
    input_size = (
        benchmark.input_size
        or (weights["checkpoint"]["input_size"] if loaded is not None else recipe.get("input_size"))
        or model.clip.visual.image_size[0]
    )
    # the recipe's batch is the global batch the original trained with: per process, and accumulated
    batch = batch_plan(recipe.get("batch_size", 8), model.num_frames, per_device_batch, world_size())
    common = dict(
        input_size=input_size,
        batch_size=batch["per_device"],
        eval_batch_size=recipe.get("eval_batch_size") or batch["per_device"],
        seed=seed,
        precision=precision,
        log_level=benchmark.log_level,
        num_workers=workers,
        progress=benchmark.progress,
    )
    base = dict(
        schema=records.SCHEMA,
        benchmark=benchmark.name,
        subset=subset,
        protocol=dict(
            name=protocol.name,
            variant=protocol.variant,
            version=protocol.version,
            title=protocol.title,
            report=dict(protocol.report),
        ),
        stage=stage["name"],
        model=model_info(setup, model, weights, sha256),
        seed=seed,
        **({"benchmark_fingerprint": benchmark.fingerprint} if benchmark.fingerprint else {}),
    )

    def split(dataset: str, list_name: str, classes: str) -> dict[str, Any]:
        return data_split(
            benchmark.list_file(dataset, list_name),
            benchmark.class_file(dataset, classes),
            benchmark.video_root(dataset),
            benchmark.description_file(dataset),
            on_error,
            subset,
            probe_cache(work_dir, benchmark.list_file(dataset, list_name)),
            frame_checks_file(work_dir, benchmark.list_file(dataset, list_name)),
        )

    train_info, skip_reason = None, weights["reason"] if weights else None
    epochs = recipe.get("epochs", 0)
    if weights is None and stage.get("train") and epochs > 0 and any(p.requires_grad for p in model.parameters()):
        t = stage["train"]
        skip_reason = missing_list(benchmark, t, "training")
        if not skip_reason:
            log(
                f"[{name}] {protocol_id(protocol)}/{stage['name']}: training on {t['dataset']}/{t['list']} "
                f"for {epochs} epochs, global batch {batch['effective']} = {batch['per_device']} per process x "
                f"{batch['processes']} process(es) x {batch['accumulation']} accumulated"
                + (f" (the recipe's {batch['recipe']}, rounded up)" if batch["effective"] != batch["recipe"] else "")
            )
            train_classes = len(read_class_csv(benchmark.class_file(t["dataset"], t["classes"])))
            augmentation = dict(
                blending=recipes.blending(recipe, train_classes),
                randaugment=recipe.get("randaugment"),
                lr_floor=recipe.get("min_lr_ratio", 0.0),
                precision=precision,
            )
            cfg = runner_config(
                model,
                stage_dir,
                train=split(t["dataset"], t["list"], t["classes"]),
                randaugment=augmentation["randaugment"],
                blending=augmentation["blending"],
                max_epochs=epochs,
                optimizer=recipe.get("optimizer", DEFAULT_OPTIMIZER),
                paramwise_cfg=recipe.get("paramwise_cfg"),
                optim_constructor=recipe.get("optim_constructor"),
                warmup_epochs=recipe.get("warmup_epochs", 0),
                min_lr_ratio=augmentation["lr_floor"],
                accumulation=batch["accumulation"],
                flip=benchmark.hflip(t["dataset"]),
                checkpoint=True,
                checkpoint_interval=recipe.get("checkpoint_interval", 1),
                resume=True,
                **common,
            )
            runner = make_runner(cfg)
            runner.train()
            clock = next(h for h in runner.hooks if type(h).__name__ == "TrainTimeHook")
            dataset = runner.train_dataloader.dataset
            train_info = dict(
                dataset=t["dataset"],
                list=t["list"],
                classes=t["classes"],
                list_sha256=records.file_sha256(dataset.ann_file),
                videos=len(dataset),
                skipped=dataset.skipped,
                epochs=epochs,
                precision=precision,
                batch_size_per_process=batch["per_device"],
                batch_size_global=batch["effective"],
                batch_size_recipe=batch["recipe"],
                accumulation=batch["accumulation"],
                processes=batch["processes"],
                workers=workers,
                optimizer=cfg["optim_wrapper"]["optimizer"],
                augmentation=augmentation,  # the recipe parts applied (``recipes.PARTS``; none on --without)
                wall_s=round(clock.total_s, 1),
                wall_s_this_process=round(clock.this_process_s, 1),
                resumed_from_epoch=clock.resumed_from_epoch,
            )
            resumed = (
                f"; resumed from epoch {clock.resumed_from_epoch}, {clock.this_process_s:.0f} s in this run"
                if clock.resumed_from_epoch is not None
                else ""
            )
            log(f"[{name}]   trained in {train_info['wall_s']:.0f} s ({len(dataset)} videos{resumed})")

    written = []
    for ev in stage["evaluate"]:
        path = record_path(results_dir, benchmark, protocol, model_key(setup, weights), stage["name"], ev, subset)
        record = dict(base, train=train_info, eval=dict(ev), inputs=inputs[(ev["dataset"], ev["list"])])
        reason = skip_reason or missing_list(benchmark, ev, "evaluation")
        if reason:
            if is_main_process():
                written.append(records.write_record(path, dict(record, status="skipped", reason=reason)))
            log(f"[{name}]   {ev['dataset']}/{ev['list']}: skipped ({reason})")
            continue
        start = time.time()
        classes = read_class_csv(benchmark.class_file(ev["dataset"], ev["classes"]))
        pairs = [
            (classes.index(a), classes.index(b))
            for a, b in benchmark.reversal_pairs.get(ev["dataset"], [])
            if a in classes and b in classes
        ]
        cfg = runner_config(
            model,
            stage_dir,
            test=split(ev["dataset"], ev["list"], ev["classes"]),
            test_crops=recipe.get("test_crops", 1),
            test_clips=recipe.get("test_clips", 1),
            test_preprocessing=recipe.get("test_preprocessing", "mmaction2"),
            reversal_pairs=pairs,
            **common,
        )
        runner = make_runner(cfg)
        metrics = runner.test()
        dataset = runner.test_dataloader.dataset
        if metrics["acc/count"] != len(dataset):
            raise RuntimeError(f"evaluated {metrics['acc/count']} videos of {len(dataset)} in {dataset.ann_file}")
        record["eval"].update(
            list_sha256=records.file_sha256(dataset.ann_file),
            class_file_sha256=records.file_sha256(dataset.class_file),
            videos_listed=len(dataset) + len(dataset.skipped),  # after --subset, before skipping
            videos_evaluated=metrics["acc/count"],
            skipped=dataset.skipped,
            num_classes=len(classes),
            frames=model.num_frames,
            input_size=input_size,
            crops=recipe.get("test_crops", 1),
            clips=recipe.get("test_clips", 1),
            views=recipe.get("test_crops", 1) * recipe.get("test_clips", 1),
            # the chain each video could be read through, and which backend read how many of them
            decoders=next(list(t.backends) for t in dataset.pipeline.transforms if isinstance(t, VideoInit)),
            decoded_by={k.rsplit("/", 1)[1]: int(v) for k, v in metrics.items() if k.startswith(DECODED_BY)},
            switched=dataset.switched,
            test_preprocessing=recipe.get("test_preprocessing", "mmaction2"),
            split_version=benchmark.split_version(ev["dataset"]),
            provenance=benchmark.provenance(ev["dataset"], ev["list"]),
        )
        record["model"]["text_source"] = model.text_source
        record["metrics"] = {
            k.split("/", 1)[1]: v for k, v in metrics.items() if k != "acc/count" and not k.startswith(DECODED_BY)
        }
        record.update(
            status="ok",
            device=str(next(model.parameters()).device),
            precision=precision,
            dtype=eval_dtype(precision),
            weights_dtype=str(next(model.parameters()).dtype),
            wall_s=round(time.time() - start, 1),
            env=records.environment(),
        )
        if is_main_process():  # every process holds the gathered metrics; one writes the record
            written.append(records.write_record(path, record))
        extra = f", pair acc {metrics['acc/pair_acc']:.3f}" if "acc/pair_acc" in metrics else ""
        listed = record["eval"]["videos_listed"]
        seen = (
            f"{metrics['acc/count']} of {listed} listed videos; {len(dataset.skipped)} skipped"
            if dataset.skipped
            else f"{metrics['acc/count']} videos"
        )
        log(
            f"[{name}]   {ev['dataset']}/{ev['list']}: top-1 {metrics['acc/top1']:.3f}{extra} "
            f"({seen}, {record['wall_s']:.0f} s)"
        )
    return written


def probe_cache(work_dir: str | Path, list_file: str | Path) -> Path:
    """Where the answers of probing a list's videos are kept (by file size and mtime), for ``run
    --on-error skip`` and ``data check`` alike."""
    return Path(work_dir) / "probes" / f"{records.config_hash(str(list_file))}.json"


def frame_checks_file(work_dir: str | Path, list_file: str | Path) -> Path:
    """Where ``data check`` keeps its frame comparisons of a list's videos, which ``run`` reads."""
    return probe_cache(work_dir, list_file).with_suffix(".frames.json")


def missing_list(benchmark: Benchmark, spec: Mapping[str, Any], what: str) -> str | None:
    """Why a stage's list cannot be read: a list not imported is a reason to skip (returned); a list
    imported without its class file is a broken import, an error naming the class file."""
    list_file = benchmark.list_file(spec["dataset"], spec["list"])
    if not list_file.is_file():
        return f"{what} list missing: {list_file} (import it with `ezclip-bench splits import`)"
    class_file = benchmark.class_file(spec["dataset"], spec["classes"])
    if not class_file.is_file():
        raise InputError(
            class_file, f"class file of {list_file.name} not found (re-import with `ezclip-bench splits import`)"
        )
    return None


def model_info(
    setup: Mapping[str, Any],
    model: nn.Module,
    weights: Mapping[str, Any] | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    total, trainable = count_parameters(model)
    if weights is not None:  # released weights: which file, and where it is published
        checkpoint = weights.get("checkpoint") or {}
        released = dict(
            file=Path(weights["path"]).name if weights.get("path") else checkpoint.get("file"),
            sha256=sha256,
            url=checkpoint.get("url"),
            published_at=checkpoint.get("published_at"),
        )
    return dict(
        name=setup["name"],
        config_path=setup["path"],
        config=setup["model"],
        config_hash=records.config_hash(setup["model"]),
        recipe=setup["recipe"],
        recipe_hash=records.config_hash(setup["recipe"]),
        type=type(model).__name__,
        arch=model.arch,
        frames=model.num_frames,
        weights=model.weights,
        params_total=total,
        params_trainable=trainable,
        normalization=getattr(model.data_preprocessor, "normalization", None),
        **({"ablation": dict(setup["ablation"])} if setup.get("ablation") else {}),
        **({"released": released} if weights is not None else {}),
    )


def plan_jobs(
    protocol: Config,
    model_names: Iterable[str],
    benchmark: Benchmark,
    results_dir: str | Path,
    subset: int | None = None,
    recipe_kind: str = "native",
    without: Sequence[str] = (),
    precision: str = "recipe",
) -> list[dict[str, Any]]:
    """The jobs of a protocol, one per (model, stage), each with why it must run (None: its records
    stand, as ``run_protocol`` with the same settings would decide), the model's setup and the stage."""
    jobs = []
    for name in model_names:
        setup = model_setup(name, benchmark, recipe_kind, without=without)  # unknown names fail here
        for stage in protocol.stages:
            why = stage_changes(
                results_dir,
                benchmark,
                protocol,
                setup,
                stage,
                subset,
                stage_precision(precision, setup, stage, protocol),
            )
            jobs.append(dict(model=name, stage=stage["name"], done=why is None, why=why, setup=setup, spec=stage))
    return jobs


def job_command(
    protocol_name: str,
    variant: str | None,
    job: Mapping[str, Any],
    extra_args: str = "",
    launcher: str = "ezclip-bench",
) -> str:
    """The ``ezclip-bench run`` call of one job (a model and a stage of a protocol)."""
    variant_arg = f" --variant {variant}" if variant else ""
    return f"{launcher} run {protocol_name}{variant_arg} --models {job['model']} --stage {job['stage']}{extra_args}"


def slurm_script(
    protocol_name: str,
    variant: str | None,
    jobs: Iterable[Mapping[str, Any]],
    extra_args: str = "",
    gpus_per_job: int = 1,
    nodes: int = 1,
) -> str:
    """A Slurm array script running each pending job as one ``ezclip-bench run`` call; a job on several
    GPUs (or nodes) runs as one process per GPU through torchrun (one launcher task per node), which
    the harness joins as mmengine's ``pytorch`` launcher."""
    variant_arg = f" --variant {variant}" if variant else ""
    launcher = "ezclip-bench"
    if gpus_per_job * nodes > 1:
        launcher = (
            f"srun torchrun --nnodes {nodes} --nproc-per-node {gpus_per_job} --rdzv-id $SLURM_JOB_ID "
            "--rdzv-backend c10d --rdzv-endpoint $MASTER_ADDR:29500 $(command -v ezclip-bench)"
        )
    lines = [job_command(protocol_name, variant, j, extra_args, launcher) for j in jobs]
    body = "\n".join(f"  {shlex.quote(line)}" for line in lines)
    return f"""#!/usr/bin/env bash
#SBATCH --job-name=ezclip-{protocol_name}
#SBATCH --array=0-{len(lines) - 1}
#SBATCH --nodes={nodes}
#SBATCH --ntasks-per-node=1
#SBATCH --gres=gpu:{gpus_per_job}
#SBATCH --output=logs/%x-%A_%a.out
# One array task per job of protocol {protocol_name}{variant_arg}, each on {nodes} node(s) x {gpus_per_job} GPU(s);
# finished jobs were left out.
set -euo pipefail
MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export MASTER_ADDR
JOBS=(
{body}
)
eval "${{JOBS[$SLURM_ARRAY_TASK_ID]}}"
"""
