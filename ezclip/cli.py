"""``ezclip-bench``: the harness's command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ezclip.files import atomic_path, write_text


def cmd_ls(args: argparse.Namespace) -> int | None:
    from ezclip.zoo import list_models, load_model_config

    if args.what == "models":
        rows = []
        for name, path in list_models(ablations=True).items():
            cfg = load_model_config(name)
            ablation = cfg.get("ablation")
            rows.append(
                [
                    name,
                    cfg.model.type,
                    cfg.model.clip.arch,
                    cfg.model.get("num_frames", ""),
                    f"{ablation['of']}: {ablation['change']}" if ablation else "",
                    str(path),
                ]
            )
        print(tabulate(rows, headers=["model", "class", "arch", "frames", "ablation of", "config"]))


def cmd_profile(args: argparse.Namespace) -> int | None:
    from ezclip import profiling
    from ezclip.models import count_parameters
    from ezclip.tables import efficiency_table
    from ezclip.zoo import build_model, list_models

    names = args.models.split(",") if args.models else list(list_models())
    if args.params_only:
        rows = []
        for name in names:
            model = build_model(name, arch=args.arch, frames=args.frames, pretrained=None)
            total, trainable = count_parameters(model)
            rows.append([name, model.arch, model.num_frames, f"{total:,}", f"{trainable:,}"])
            del model
        print(
            tabulate(
                rows,
                headers=["model", "arch", "frames", "params total", "params trainable"],
                colalign=("left", "left", "right", "right", "right"),
            )
        )
        return

    rows = profiling.profile(
        names,
        arch=args.arch,
        frames=args.frames,
        input_size=args.input_size,
        classes=args.classes,
        throughput=not args.no_throughput,
        batch=args.batch,
        iters=args.iters,
        warmup=args.warmup,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        reference=profiling.reference_by_model(args.reference),
    )
    print(efficiency_table(profiling.record(rows, args, args.device), "this run").markdown())
    if args.json:
        path = profiling.write_record(args.json, rows, args, args.device)
        print(f"wrote {path}")


def cmd_convert(args: argparse.Namespace) -> int | None:
    import torch
    from mmaction.registry import MODELS

    from ezclip.checkpoints import load_official
    from ezclip.zoo import load_model_config

    # the converter is the recognizer class's own (a config names its class)
    recognizer = MODELS.get(load_model_config(args.model).model.type)
    checkpoint = load_official(args.official)  # a download: opened without running any of its code
    converted, from_base = recognizer.from_official_checkpoint(checkpoint)
    meta = dict(converted_from=os.path.abspath(args.official), model=args.model, from_base_clip=list(from_base))
    with atomic_path(args.output) as tmp:  # never leave a half-written checkpoint
        torch.save(dict(state_dict=converted, meta=meta), tmp)
    print(f"wrote {args.output}: {len(converted)} tensors; load it with load_from= or --checkpoint")


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """What ``run`` and ``paper`` both pass to ``run_protocol``; under torchrun only rank 0 speaks."""
    from ezclip.engine import main_rank

    return dict(
        log=print if main_rank() else lambda *a: None,
        subset=args.subset,
        on_error=args.on_error,
        precision=args.precision,
        released=args.released,
        cache=args.cache,
        workers=args.workers,
        without=split_names(args.without),
    )


def split_names(text: str | None) -> list[str]:
    return [name for name in (text or "").split(",") if name]


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """How each model's recipe is applied: ``run``, ``paper`` and ``plan`` take the same."""
    from ezclip.recipes import PARTS

    parser.add_argument(
        "--precision",
        choices=["recipe", "fp32", "fp16", "bf16"],
        default="recipe",
        help="autocast for training (GPU) and evaluation (fp16 on GPU, bf16 on CPU); 'recipe': each recipe's "
        "mixed precision on a GPU (fp16 for the four originals), fp32 on a CPU; recorded",
    )
    parser.add_argument(
        "--without",
        metavar="PART[,PART]",
        help="switch recipe parts off, recorded in the recipe: "
        + "; ".join(f"{name} ({off})" for name, (_, off) in PARTS.items()),
    )


def cmd_run(args: argparse.Namespace) -> int | None:
    from ezclip.benchmark import resolve
    from ezclip.engine import main_rank
    from ezclip.harness import load_protocol, run_protocol
    from ezclip.tables import write_tables
    from ezclip.zoo import list_models

    protocol = load_protocol(args.protocol, args.variant)
    benchmark = resolve(args.data_root, args.splits, args.descriptions, args.cache, clip_weights=args.clip_weights)
    models = args.models.split(",") if args.models else list(list_models())
    if main_rank():
        print(
            benchmark.title(
                f"{protocol.title} (protocol {args.protocol} v{protocol.version}"
                f"{', variant ' + args.variant if args.variant else ''}): {', '.join(models)}"
            )
        )
    run_protocol(
        protocol,
        models,
        benchmark,
        args.results,
        args.work_dir,
        recipe_kind=args.recipe,
        seed=args.seed,
        stages=args.stage.split(",") if args.stage else None,
        force=args.force,
        per_device_batch=args.per_device_batch,
        **run_options(args),
    )
    if not main_rank():  # one process writes the profile and the tables (the records, too)
        return None
    if benchmark.profiles_runs:  # the models' cost as they ran, for the accuracy-against-cost figures
        from ezclip.profiling import profile_as_run

        profile_as_run(models, benchmark, Path(args.results) / "efficiency" / "mini.json")
    written, _ = write_tables(args.results)
    print(f"tables: {len(written)} files under {args.results}/tables")


def cmd_paper(args: argparse.Namespace) -> int | None:
    """Every protocol a released checkpoint stands for, from the released checkpoints, then the tables."""
    from ezclip import released
    from ezclip.benchmark import resolve
    from ezclip.engine import main_rank
    from ezclip.harness import load_protocol, run_protocol
    from ezclip.tables import write_tables
    from ezclip.zoo import list_models

    benchmark = resolve(args.data_root, args.splits, args.descriptions, args.cache, clip_weights=args.clip_weights)
    for pid in released.protocols():
        name, _, variant = pid.partition("+")
        protocol = load_protocol(name, variant or None)
        # a variant is run for the models released under it; a protocol for every model (CLIP needs no weights,
        # a model without a release gets records saying so)
        models = released.models_for(pid) if variant else list(list_models())
        print(benchmark.title(f"{protocol.title} ({pid}) from released checkpoints: {', '.join(models)}"))
        run_protocol(protocol, models, benchmark, args.results, args.work_dir, **run_options(args))
    if not main_rank():
        return None
    written, _ = write_tables(args.results)
    print(f"tables: {len(written)} files under {args.results}/tables")


def cmd_rehearsal(args: argparse.Namespace) -> int | None:
    from ezclip.rehearsal import rehearse

    summaries = rehearse(
        args.out, args.official_list, args.models.split(","), args.classes, args.per_class, args.workers
    )
    print(
        tabulate(
            [
                [
                    s["model"],
                    f"{s['arch']} {s['frames']}f x{s['crops']}",
                    s["videos"],
                    f"{s['parity_max_abs']:.1e}",
                    f"{s['decode_videos_per_s']:.1f}",
                    f"{s['model_videos_per_s']:.2f}",
                    "yes" if s["reread_same_frames"] else "no (dmlc/decord#195)",
                ]
                for s in summaries
            ],
            headers=[
                "model",
                "checkpoint",
                "videos",
                "parity max |Δ|",
                "decode videos/s",
                "model videos/s",
                "same frames on a 2nd read",
            ],
        )
    )
    print(f"rehearsal passed; summary in {Path(args.out) / 'rehearsal.json'}")


def cmd_mini_search(args: argparse.Namespace) -> int | None:
    from ezclip.benchmark import default_cache, resolve
    from ezclip.minisearch import search
    from ezclip.recipes import MINI_RECIPES
    from ezclip.zoo import list_models, load_model_config

    benchmark = resolve(cache=args.cache)  # the mini benchmark: no data root
    models = (
        args.models.split(",")
        if args.models
        else [m for m in list_models() if load_model_config(m).get("recipe", {}).get("epochs", 0)]
    )
    work = Path(args.work or Path(args.cache or default_cache()) / "mini-search")
    search(models, benchmark, work, args.out or MINI_RECIPES)
    print(f"wrote {args.out or MINI_RECIPES}; commit it with the change that made the search necessary")


def cmd_released_ls(args: argparse.Namespace) -> int | None:
    from ezclip.released import listing

    rows = listing(args.released, args.models.split(",") if args.models else None)
    headers = [
        "model",
        "stands for",
        "file",
        "trained at",
        "in " + args.released if args.released else "",
        "published at",
    ]
    print(tabulate(rows, headers=headers))
    print("* the link gives no file name: save the download under this one (its origin: ezclip/registry/released/)")
    if args.released:
        found = sum(r[4] == "found" for r in rows)
        print(f"{found} of {len(rows)} released checkpoints found in {args.released}")


def cmd_tables(args: argparse.Namespace) -> int | None:
    from ezclip.tables import write_tables

    written, built = write_tables(args.results, args.out)
    if args.print:
        for tables in built.values():
            for table in tables.values():
                print(table.markdown())
    print(f"wrote {len(written)} files under {args.out or args.results + '/tables'}")


def cmd_regression(args: argparse.Namespace) -> int | None:
    from ezclip import regression
    from ezclip.benchmark import ENV
    from ezclip.zoo import list_models

    if os.environ.get(ENV["data_root"]):
        raise SystemExit(f"ezclip-bench regression runs on the mini benchmark: unset {ENV['data_root']}")
    models = args.models.split(",") if args.models else list(list_models())
    if args.output:  # one spread run of --update: not compared
        regression.spread_run(models, args.cache, args.output)
    elif args.update:
        regression.update(models, cache=args.cache)
    else:
        return 1 if regression.regression(models, cache=args.cache) else 0
    return 0


def cmd_plan(args: argparse.Namespace) -> int | None:
    from ezclip.benchmark import resolve
    from ezclip.harness import job_command, load_protocol, plan_jobs, slurm_script
    from ezclip.zoo import list_models

    protocol = load_protocol(args.protocol, args.variant)
    benchmark = resolve(args.data_root, args.splits, args.descriptions, args.cache, clip_weights=args.clip_weights)
    models = args.models.split(",") if args.models else list(list_models())
    jobs = plan_jobs(
        protocol,
        models,
        benchmark,
        args.results,
        args.subset,
        without=split_names(args.without),
        precision=args.precision,
    )
    pending = [j for j in jobs if not j["done"]]
    rows = [[j["model"], j["stage"], "done" if j["done"] else f"pending: {j['why']}"] for j in jobs]
    headers = ["model", "stage", "status"]
    default_costs = Path(args.results) / BENCHMARKS_JSON
    costs = args.costs or ([str(default_costs)] if default_costs.is_file() else [])
    if costs:
        estimate = plan_costs(jobs, costs, protocol.name, benchmark, args)
        headers += ["train videos x epochs", "test videos x views", "estimate (wall)"]
        for row, job in zip(rows, jobs, strict=True):
            c = job["cost"]
            train = f"{c['train_videos']} x {c['epochs']}" if c["epochs"] else "–"
            row += [
                train,
                f"{c['eval_videos']} x {c['views']}",
                duration(c["seconds"]) or "? " + "; ".join(c["missing"]),
            ]
    print(tabulate(rows, headers=headers))
    print(f"{len(pending)} of {len(jobs)} jobs pending")
    if costs:
        print(estimate)
    else:
        print(f"(no estimates of each job's time: `tox -e bench` writes {default_costs}; or pass --costs FILE)")
    extra = "".join(
        f" --{k.replace('_', '-')} {v}"
        for k, v in (
            ("data_root", args.data_root),
            ("splits", args.splits),
            ("descriptions", args.descriptions),
            ("subset", args.subset),
            ("without", args.without),
            ("precision", None if args.precision == "recipe" else args.precision),
            ("workers", args.workers),
        )
        if v is not None and v != ""
    )
    if args.slurm and pending:
        write_text(args.slurm, slurm_script(args.protocol, args.variant, pending, extra, args.gpus_per_job, args.nodes))
        print(f"wrote {args.slurm}: sbatch it to run {len(pending)} array tasks")
    if args.jobs:
        write_text(args.jobs, "".join(job_command(args.protocol, args.variant, j, extra) + "\n" for j in pending))


BENCHMARKS_JSON = "efficiency/benchmarks.json"  # under --results: what `tox -e bench` writes


def plan_costs(
    jobs: list[dict[str, Any]], costs: Sequence[str], protocol: str, benchmark: Any, args: argparse.Namespace
) -> str:
    """Give every job of ``plan`` its ``cost`` (``ezclip.profiling.costs``); returns what they rest on."""
    from ezclip.engine import default_workers
    from ezclip.profiling.costs import job_cost, read_rates

    rates = read_rates(costs)
    processes = args.gpus_per_job * args.nodes
    workers = args.workers
    if workers is None:  # as `run` chooses
        workers = 0 if benchmark.in_process_loading else default_workers(processes)
    for job in jobs:
        job["cost"] = job_cost(rates, job["setup"], job["spec"], protocol, benchmark, args.subset, processes, workers)
    known = [j["cost"]["seconds"] for j in jobs if not j["done"] and j["cost"]["seconds"] is not None]
    pending = sum(not j["done"] for j in jobs)
    lines = [
        f"estimates from the benchmarks, at {processes} process(es) per job and {workers} loader worker(s) per "
        "process (what they leave out: ezclip.profiling.costs):",
        *(f"  {line}" for line in rates.basis),
    ]
    if known:
        lines.append(
            f"pending: {duration(sum(known))} wall for {len(known)} of {pending} jobs one after another, "
            f"{duration(sum(known) * processes)} of process time"
        )
    return "\n".join(lines)


def duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def cmd_data(args: argparse.Namespace) -> int | None:
    from ezclip.benchmark import resolve
    from ezclip.datacheck import check_data, missing_class_files

    benchmark = resolve(args.data_root, args.splits, args.descriptions, args.cache, clip_weights=args.clip_weights)
    datasets = args.datasets.split(",") if args.datasets else None
    sample = None if args.frames_sample == "all" else int(args.frames_sample)
    rows = check_data(benchmark, datasets, probe=not args.no_probe, frames_sample=sample, work_dir=args.work_dir)
    print(
        tabulate(
            [
                [
                    r["dataset"],
                    r["list"],
                    r["listed"],
                    r["found"],
                    "–" if r["decodable"] is None else r["decodable"],
                    r["frames_checked"],
                    ", ".join(r["missing"] + r["undecodable"]),
                ]
                for r in rows
            ],
            headers=[
                "dataset",
                "list",
                "listed",
                "found",
                "decodable",
                "frames checked",
                "missing or undecodable (first)",
            ],
        )
    )
    for r in rows:  # what a backend got wrong, and who reads the file instead
        for w in r["wrong_frames"]:
            # a backend EXACT trusts on this kind, wrong on this file: runs read the file with another
            then = f"{w['backend']} is trusted on this kind, so runs read it" if w["trusted"] else "read"
            print(
                f"data check: {r['dataset']}/{r['list']}: {w['video']} ({w['kind']}): {w['backend']} returned "
                f"other frames than asked ({w['wrong']} of {w['asked']}); {then} by {w['read_by']}"
            )
    problems = [f"class file missing: {c}" for c in missing_class_files(benchmark, datasets)]
    for r in rows:
        where = f"{r['dataset']}/{r['list']}"
        if r["missing_count"]:
            problems.append(
                f"{where}: {r['missing_count']} of {r['listed']} listed videos not found "
                f"(first: {', '.join(r['missing'])})"
            )
        if r["decodable"] is not None and r["decodable"] < r["found"]:
            problems.append(
                f"{where}: {r['undecodable_count']} of {r['found']} videos found cannot be decoded "
                f"(first: {', '.join(r['undecodable'])})"
            )
    for line in problems:
        print(f"data check: {line}", file=sys.stderr)
    return 1 if problems else 0


def cmd_predict(args: argparse.Namespace) -> int | None:
    from ezclip.predict import predict

    pretrained = None if args.pretrained == "none" else args.pretrained
    ranked = predict(args.video, args.labels.split(","), args.model, args.checkpoint, args.arch, pretrained)
    print(
        tabulate(
            [[i + 1, label, f"{p:.3f}"] for i, (label, p) in enumerate(ranked)],
            headers=["rank", "label", "probability"],
        )
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-root",
        help="real videos: <root>/<dataset>/... (env EZCLIP_DATA_ROOT); without one, the embedded mini benchmark runs",
    )
    parser.add_argument("--splits", help="imported split lists (env EZCLIP_SPLITS)")
    parser.add_argument("--descriptions", help="EZ-CLIP's GPT_discription folder (env EZCLIP_DESCRIPTIONS)")
    parser.add_argument("--cache", help="cache for the mini benchmark and tiny CLIP (env EZCLIP_CACHE)")
    parser.add_argument(
        "--clip-weights",
        help="a local CLIP weights file every model loads instead of its config's pretrained tag, e.g. OpenAI's "
        "ViT-B-16.pt (env EZCLIP_CLIP_WEIGHTS)",
    )


def cmd_splits_import(args: argparse.Namespace) -> int | None:
    from ezclip.benchmark import default_splits
    from ezclip.errors import EzclipError
    from ezclip.splits import DATASETS, import_splits, print_report
    from ezclip.splits.manifest import load_manifest
    from ezclip.splits.verify import find_checkouts, unused_files

    out = Path(args.out) if args.out else default_splits()
    rows, missing = import_splits(args.source, out, args.datasets, allow_overlap=args.allow_overlap)
    checkouts = find_checkouts(args.source, [load_manifest(d) for d in DATASETS])
    print_report(rows, missing, out, unused_files(checkouts))
    rejected = [r for r in rows if not r.ok]
    if rejected:
        raise EzclipError(f"{len(rejected)} file(s) rejected: {', '.join(str(r.file) for r in rejected)}")


def cmd_splits_make(args: argparse.Namespace) -> int | None:
    from ezclip.benchmark import default_splits
    from ezclip.splits import draw_splits

    note = draw_splits(
        args.dataset,
        args.train_list,
        args.classes,
        args.out,
        args.shots,
        args.seeds,
        args.base_shots,
        args.test_list,
        args.force,
    )
    folder = Path(args.out or default_splits()) / args.dataset
    print(f"{folder}: {len(note['train_counts'])} classes, {len(note['base'])} base, {len(note['novel'])} novel")
    for name, info in note["lists"].items():
        seed = f", seed {info['seed']}" if "seed" in info else ""
        print(f"  {name}.txt: {info['lines']} videos ({info['class_set']}{seed})")


OUT_HELP = "where to write (default: $EZCLIP_SPLITS, else $EZCLIP_CACHE/splits, else ~/.cache/ezclip/splits)"


def add_splits_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ezclip-bench splits import|make``."""
    from ezclip.splits import DATASETS

    splits = subparsers.add_parser("splits", help="import official split files or draw new ones")
    sub = splits.add_subparsers(dest="splits_command", required=True)

    imp = sub.add_parser(
        "import",
        help="verify and import the official lists of a ViFi-CLIP / EZ-CLIP checkout",
        description="Verify every official list found in SOURCE against the manifests "
        "(sha256, lines, classes, labels) and write the accepted ones, re-labelled "
        "into the harness's class sets.",
    )
    imp.add_argument("source", help="a checkout of ViFi-CLIP or EZ-CLIP, or a folder holding such checkouts")
    imp.add_argument("--out", help=OUT_HELP)
    imp.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        metavar="D",
        help=f"only these datasets ({', '.join(DATASETS)})",
    )
    imp.add_argument(
        "--allow-overlap",
        action="store_true",
        help="import an unverified training list that shares videos with an evaluation list (recorded)",
    )
    imp.set_defaults(func=cmd_splits_import)

    make = sub.add_parser(
        "make",
        help="draw seeded few-shot and base-to-novel lists from a full train list",
        description="Base = the most frequent half of classes by train count (ties by name); "
        "K videos per class drawn with a seeded RNG. fewshot_K uses the first seed, "
        "base_train_s<i> the i-th.",
    )
    make.add_argument("--dataset", required=True, help="folder name under --out, e.g. hmdb51")
    make.add_argument("--train-list", required=True, help="the full train list ('path label' lines)")
    make.add_argument("--classes", required=True, help="the train list's class CSV ('id,name')")
    make.add_argument("--test-list", help="also write base_test / novel_test from this list (same class CSV)")
    make.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8, 16], metavar="K")
    make.add_argument("--base-shots", type=int, default=16, help="videos per base class in base_train_s* (16)")
    make.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], metavar="S")
    make.add_argument("--out", help=OUT_HELP)
    make.add_argument("--force", action="store_true", help="overwrite existing lists")
    make.set_defaults(func=cmd_splits_make)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ezclip-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("ls", help="list registered things")
    ls.add_argument("what", choices=["models"])
    ls.set_defaults(func=cmd_ls)

    profile = sub.add_parser("profile", help="parameters, FLOPs and throughput per model and the CLIP image tower")
    profile.add_argument("--models", help="comma-separated model names (default: all registered)")
    profile.add_argument("--arch", help="override the CLIP architecture, e.g. ViT-B-16, ViT-L-14, ezclip-tiny")
    profile.add_argument("--frames", type=int, help="override the number of frames")
    profile.add_argument(
        "--input-size", type=int, help="input side in pixels (default: the architecture's own; it must match it)"
    )
    profile.add_argument("--params-only", action="store_true", help="count parameters only")
    profile.add_argument("--no-throughput", action="store_true", help="parameters and FLOPs, no timing")
    profile.add_argument(
        "--classes",
        type=int,
        default=400,
        help="K classes scored per video (class-side FLOPs and timed step; default 400)",
    )
    profile.add_argument("--batch", type=int, default=8, help="batch of the throughput measurement (default 8)")
    profile.add_argument("--iters", type=int, help="timed forwards (default 6 on CPU, 30 on CUDA)")
    profile.add_argument("--warmup", type=int, help="untimed forwards first (default 1 on CPU, 50 on CUDA)")
    profile.add_argument("--device", default="cpu", help="torch device for the timing (default cpu)")
    profile.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default 1 on CPU: reproducible on a shared machine, where "
        "per-operator OpenMP stalls swamp the comparison; 0: torch's default, all cores)",
    )
    profile.add_argument(
        "--dtype",
        default="fp32",
        choices=["fp32", "fp16", "bf16"],
        help="fp32, or fp16/bf16 autocast, for the timing (default fp32)",
    )
    profile.add_argument(
        "--reference", help="reported numbers to compare with (default ezclip/registry/reference/efficiency.json)"
    )
    profile.add_argument("--json", metavar="OUT", help="also write the rows and the environment to this JSON file")
    profile.set_defaults(func=cmd_profile)

    convert = sub.add_parser("convert", help="convert an official checkpoint to this harness's model")
    convert.add_argument("model", choices=["ezclip", "actionclip", "xclip", "vificlip"])
    convert.add_argument("official", help="official checkpoint file (EZ-CLIP/ActionCLIP .pt, X-CLIP/ViFi-CLIP .pth)")
    convert.add_argument("output", help="where to write the converted checkpoint")
    convert.set_defaults(func=cmd_convert)

    run = sub.add_parser("run", help="run a protocol for models, write records and tables")
    run.add_argument("protocol", help="zeroshot, base2novel, fewshot (ezclip/registry/protocols)")
    run.add_argument("--models", help="comma-separated model names (default: every registered model)")
    run.add_argument("--variant", help="a variant the protocol defines, e.g. zeroshot's ezclip_repo")
    add_run_arguments(run)
    run.add_argument("--results", default="results", help="where records and tables go")
    run.add_argument("--work-dir", default="work_dirs", help="checkpoints and logs")
    run.add_argument("--subset", type=int, help="the first N videos of each class of every list (regression)")
    run.add_argument(
        "--on-error",
        choices=["raise", "skip"],
        default="raise",
        help="a missing or undecodable video: stop with its name, or skip it (counted, recorded)",
    )
    run.add_argument(
        "--recipe",
        choices=["native", "common"],
        default="native",
        help="each model's own recipe, or the harness's common one (8 frames, 1 view, CLIP norm)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--stage", help="comma-separated stage names of the protocol (default: all); see `plan`")
    run.add_argument("--force", action="store_true", help="re-run stages whose records already exist")
    add_recipe_arguments(run)
    run.add_argument(
        "--workers",
        type=int,
        help="data-loader worker processes per process that decode videos (default: the CPUs per process less "
        "one, at most 8, on real data; 0, in the running process, on the mini benchmark)",
    )
    run.add_argument(
        "--per-device-batch",
        type=int,
        help="videos per process and step; the recipe's batch is the global batch the original trained with, "
        "reached by gradient accumulation (default: 128 frames' worth, e.g. 4 videos of 32 frames)",
    )
    run.add_argument(
        "--released",
        metavar="DIR",
        help="evaluate the checkpoints the official repositories published (found in DIR by their names; "
        "see `released ls`) instead of training",
    )
    run.set_defaults(func=cmd_run)

    paper = sub.add_parser(
        "paper",
        help="regenerate the papers' tables from the released checkpoints (every protocol one stands for)",
    )
    paper.add_argument("--released", metavar="DIR", required=True, help="the downloaded checkpoints (`released ls`)")
    add_run_arguments(paper)
    paper.add_argument("--results", default="results", help="where records and tables go")
    paper.add_argument("--work-dir", default="work_dirs")
    paper.add_argument("--subset", type=int, help="the first N videos of each class of every list")
    paper.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    add_recipe_arguments(paper)
    paper.add_argument("--workers", type=int, help="data-loader worker processes per process (as for run)")
    paper.set_defaults(func=cmd_paper)

    rehearsal = sub.add_parser(
        "rehearsal",
        help="run the released-weights path at full size on random official-layout checkpoints and generated videos",
    )
    rehearsal.add_argument("--out", default=".cache/rehearsal", help="where its data, checkpoints and records go")
    rehearsal.add_argument(
        "--official-list", help="HMDB-51 test split 1 of a ViFi-CLIP checkout (else a generated list in its format)"
    )
    rehearsal.add_argument("--models", default="ezclip,actionclip,vificlip,xclip")
    rehearsal.add_argument("--classes", type=int, default=8, help="classes of the list with videos (default 8)")
    rehearsal.add_argument("--per-class", type=int, default=2, help="videos per class (default 2)")
    rehearsal.add_argument("--workers", type=int, default=2, help="data-loader worker processes (default 2)")
    rehearsal.set_defaults(func=cmd_rehearsal)

    mini_search = sub.add_parser(
        "mini-search",
        help="choose each model's mini-benchmark learning rate and epochs by one rule (run when a model or the "
        "mini world changes)",
    )
    mini_search.add_argument("--models", help="comma-separated (default: every registered model that trains)")
    mini_search.add_argument("--cache", help="the mini benchmark's cache (env EZCLIP_CACHE)")
    mini_search.add_argument("--work", help="trial checkpoints and records (default <cache>/mini-search)")
    mini_search.add_argument("--out", help="results file (default ezclip/registry/mini_recipes.json)")
    mini_search.set_defaults(func=cmd_mini_search)

    released = sub.add_parser("released", help="the checkpoints the official repositories publish")
    released_sub = released.add_subparsers(dest="released_command", required=True)
    released_ls = released_sub.add_parser("ls", help="per model and protocol stage, the file expected and its source")
    released_ls.add_argument("--released", metavar="DIR", help="also say which of them DIR holds")
    released_ls.add_argument("--models", help="comma-separated model names (default: all with releases)")
    released_ls.set_defaults(func=cmd_released_ls)

    plan = sub.add_parser("plan", help="list a protocol's jobs; emit a Slurm array script of the pending ones")
    plan.add_argument("protocol")
    plan.add_argument("--models", help="comma-separated model names (default: every registered model)")
    plan.add_argument("--variant")
    add_run_arguments(plan)
    plan.add_argument("--results", default="results")
    plan.add_argument("--subset", type=int)
    add_recipe_arguments(plan)
    plan.add_argument("--slurm", metavar="FILE", help="write a Slurm array script, one task per pending job")
    plan.add_argument("--gpus-per-job", type=int, default=1, help="GPUs per job: one process each, via torchrun")
    plan.add_argument("--nodes", type=int, default=1, help="nodes per job (torchrun on each)")
    plan.add_argument("--jobs", metavar="FILE", help="write the pending jobs' commands, one per line")
    plan.add_argument(
        "--costs",
        metavar="FILE",
        action="append",
        help="pytest-benchmark JSON file(s) to estimate each job's time from (default: RESULTS/"
        f"{BENCHMARKS_JSON}, which `tox -e bench` writes, if present)",
    )
    plan.add_argument(
        "--workers", type=int, help="loader workers per process, as `run --workers` (passed on to the jobs)"
    )
    plan.set_defaults(func=cmd_plan)

    data = sub.add_parser("data", help="check the data a benchmark reads")
    data.add_argument("action", choices=["check"])
    data.add_argument("--datasets", help="comma-separated (default: all five)")
    data.add_argument("--no-probe", action="store_true", help="only check that files exist; do not open them")
    data.add_argument(
        "--frames-sample",
        default="20",
        help="videos per list whose frames every backend reads and is compared on (default 20; 'all')",
    )
    data.add_argument("--work-dir", default="work_dirs", help="where run keeps its probe answers, shared")
    add_run_arguments(data)
    data.set_defaults(func=cmd_data)

    predict = sub.add_parser("predict", help="rank your labels for your video")
    predict.add_argument("video")
    predict.add_argument("--labels", required=True, help='comma-separated, e.g. "jumping,running,swimming"')
    predict.add_argument("--model", default="ezclip")
    predict.add_argument("--checkpoint", help="weights from a run (or converted from an official checkpoint)")
    predict.add_argument("--arch", help="override the CLIP architecture")
    predict.add_argument("--pretrained", default="keep", help="override the CLIP weights: a tag, a file or 'none'")
    predict.set_defaults(func=cmd_predict)

    tables = sub.add_parser("tables", help="rebuild every table from the records")
    tables.add_argument("--results", default="results")
    tables.add_argument("--out", help="default: <results>/tables")
    tables.add_argument("--print", action="store_true", help="also print the tables")
    tables.set_defaults(func=cmd_tables)

    regression = sub.add_parser("regression", help="reproduce the mini benchmark's golden results")
    regression.add_argument("--models", help="comma-separated model names (default: every registered model)")
    regression.add_argument(
        "--update",
        action="store_true",
        help="rewrite ezclip/registry/golden/mini.json from this run and the spread runs (each a process)",
    )
    regression.add_argument("--cache", help="cache for the mini benchmark and tiny CLIP (env EZCLIP_CACHE)")
    regression.add_argument(
        "--output", metavar="FILE", help="write this run's pretraining, results and fingerprint; no comparison"
    )
    regression.set_defaults(func=cmd_regression)

    add_splits_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import ezclip  # noqa: F401  (stack fixes, registries)
    from ezclip.errors import EzclipError

    try:
        return args.func(args) or 0
    except EzclipError as exc:
        print(f"ezclip-bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
