"""Golden results of the mini benchmark: re-run a fixed set of jobs and compare with the committed
numbers (``ezclip/registry/golden/mini.json``), which come from the same command with ``--update``.

Each stage is checked from the golden input to it. The tiny CLIP pretrained on this machine is
compared with the golden one (identical weights, or the same still-image accuracy within the spread of
pretrainings under perturbed numerics: pretraining is chaotic, and any change of numerics gives other
weights). The jobs then run on the golden backbone (``ezclip/registry/golden/tiny-clip.pt``), and are placed by
their fingerprint: the generated world (its files, and its frames as decoded), the backbone and the CPU
numerics in force, against the golden run's.

- **Identity check.** Where everything matches, CPU model included, every job must reproduce its
  golden numbers exactly (the mini benchmark is deterministic on one machine).
- **Statistical check.** Elsewhere, single predictions may flip, so single jobs are not compared. The
  check is on aggregates a real regression moves (per protocol and model, the mean over its lists of
  each metric, and the order-probe gap), each within a tolerance derived from the spread measured
  over re-runs under perturbed numerics (``PERTURBATIONS``, stored in the golden file) and at least
  ``TOLERANCE_VIDEOS`` videos' worth, and on every job's status and video count, exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ezclip import registry
from ezclip.benchmark import resolve
from ezclip.harness import load_protocol, run_protocol
from ezclip.mini.pretrain import still_image_accuracy, weights_sha256
from ezclip.numerics import PINNED_ENV
from ezclip.records import environment, job_id, read_records, write_json

if TYPE_CHECKING:
    from ezclip.benchmark import Benchmark

GOLDEN = registry.GOLDEN / "mini.json"
GOLDEN_SCHEMA = 2
# What the golden run covers, on the first 4 videos of each class: the zero-shot protocol, and the
# SSv2 role's 16-shot stage (its longer schedule and the reversal-pair accuracy).
JOBS = (dict(protocol="zeroshot", subset=4), dict(protocol="fewshot", stages=["ssv2_k16"], subset=4))
METRICS = ("top1", "top5", "mean1", "pair_acc")
# The models that learn time order on the mini benchmark's SSv2 role (README, order table); the
# order-probe gap is their mean reversal-pair accuracy minus that of the others.
ORDER_AWARE = ("ezclip", "xclip")
# Re-runs that perturb the numerics the way another machine would, each in a fresh process (the
# libraries read these variables once): their spread sets the statistical tolerances. The tests hold
# out one more (the tiny CLIP pretrained on 2 threads) to show that the tolerances carry over.
PERTURBATIONS = {
    "AVX-512 kernels": dict(ATEN_CPU_CAPABILITY="avx512"),
    "default (non-vector) kernels": dict(ATEN_CPU_CAPABILITY="default"),
    "MKL compatible code path": dict(MKL_CBWR="COMPATIBLE"),
    "oneDNN SSE4.1": dict(ONEDNN_MAX_CPU_ISA="SSE41"),
    "library defaults, 2 threads": dict(EZCLIP_NUMERICS="native"),
}
TOLERANCE_STDS = 4  # tolerance = this many standard deviations of the measured spread, and at least
TOLERANCE_VIDEOS = 2  # this many videos' worth of the aggregate (two predictions flipped in its smallest list)
PRETRAINING_FLOOR = 0.01  # the still-image accuracy's tolerance is at least one point


def run_golden_jobs(
    benchmark: Benchmark, models: Sequence[str], work: Path, log: Callable[..., Any] = print
) -> dict[str, dict[str, Any]]:
    for job in JOBS:
        run_protocol(
            load_protocol(job["protocol"]),
            models,
            benchmark,
            work / "results",
            work / "work",
            subset=job["subset"],
            stages=job.get("stages"),
            log=log,
        )
    records = read_records(work / "results" / "records")
    return {
        job_id(r): dict(
            status=r["status"],
            videos=r["eval"].get("videos_evaluated"),
            **{m: r["metrics"][m] for m in METRICS if m in r.get("metrics", {})},
        )
        for r in records
    }


def groups(results: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The jobs behind each aggregate: per protocol, model and metric; and the order-probe gap's."""
    out = {}
    for key, job in sorted(results.items()):
        protocol, model = key.split("/")[:2]
        for metric in METRICS:
            if metric in job:
                out.setdefault(f"{protocol}/{model}/{metric}", []).append(job)
    pairs = {k.split("/")[1]: k for k in out if k.startswith("fewshot/") and k.endswith("/pair_acc")}
    if {m for m in pairs if m in ORDER_AWARE} and {m for m in pairs if m not in ORDER_AWARE}:
        out["fewshot/order_gap"] = [job for k in pairs.values() for job in out[k]]
    return out


def aggregates(results: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Per protocol and model, the mean over its lists of each metric; and the order-probe gap (mean
    reversal-pair accuracy of the ``ORDER_AWARE`` models minus that of the others)."""
    out = {
        name: float(np.mean([job[name.rsplit("/", 1)[1]] for job in jobs]))
        for name, jobs in groups(results).items()
        if name != "fewshot/order_gap"
    }
    pairs = {k.split("/")[1]: v for k, v in out.items() if k.startswith("fewshot/") and k.endswith("/pair_acc")}
    aware = [v for m, v in pairs.items() if m in ORDER_AWARE]
    blind = [v for m, v in pairs.items() if m not in ORDER_AWARE]
    if aware and blind:
        out["fewshot/order_gap"] = float(np.mean(aware) - np.mean(blind))
    return out


def video_floor(jobs: Sequence[Mapping[str, Any]]) -> float:
    """``TOLERANCE_VIDEOS`` predictions' worth of a mean over ``jobs``, in its smallest list."""
    return TOLERANCE_VIDEOS / (len(jobs) * min(max(job.get("videos") or 1, 1) for job in jobs))


def tolerances(
    golden_results: Mapping[str, Mapping[str, Any]], runs: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per aggregate: ``TOLERANCE_STDS`` standard deviations over the golden run and the perturbed
    ``runs`` (their results), at least ``video_floor``, with the spread they come from."""
    golden = aggregates(golden_results)
    spread = [aggregates(r["results"]) for r in runs]
    out = {}
    for name, jobs in groups(golden_results).items():
        values = [golden[name]] + [agg[name] for agg in spread if name in agg]
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        floor = video_floor(jobs)
        out[name] = dict(
            tolerance=max(TOLERANCE_STDS * std, floor),
            std=std,
            floor=floor,
            max_deviation=max(abs(v - golden[name]) for v in values),
            runs=len(values),
        )
    return out


# -- fingerprints ---------------------------------------------------------------------------------
def fingerprint_lines(golden: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """One line per component of the fingerprint, saying whether this run's matches the golden one."""
    lines, g, f = [], golden, fresh
    for label, a, b in (
        ("world files (mp4 bytes, lists)", g["world"]["files"], f["world"]["files"]),
        ("world frames (decoded pixels)", g["world"]["frames"], f["world"]["frames"]),
        ("tiny CLIP weights", g["tiny_clip"], f["tiny_clip"]),
    ):
        lines.append(f"  {label}: " + ("match" if a == b else f"DIFFER (golden {a[:12]}, here {b[:12]})"))
    differ = {k: (g["numerics"].get(k), v) for k, v in f["numerics"].items() if g["numerics"].get(k) != v}
    lines.append(
        "  CPU numerics: "
        + (
            "match"
            if not differ
            else "differ: "
            + ", ".join(f"{k} {a!r} in the golden run, {b!r} here" for k, (a, b) in sorted(differ.items()))
        )
    )
    return lines


def explain_fingerprint(golden: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """What a developer should know before reading the differences, or nothing."""
    hints = []
    if golden["world"]["frames"] != fresh["world"]["frames"]:
        hints.append(
            "the decoded videos differ from the golden world's: the generator (ezclip/mini, "
            "ezclip/data/video_io.py) or the video libraries changed; if that is intended, regenerate "
            "the golden file with `ezclip-bench regression --update`"
        )
    elif golden["world"]["files"] != fresh["world"]["files"]:
        hints.append("the mp4 bytes differ but decode to the same frames (another encoder build): harmless")
    if golden["tiny_clip"] != fresh["tiny_clip"]:
        hints.append(
            "the jobs ran on another backbone than the golden run's: ezclip/registry/golden/tiny-clip.pt "
            "changed without `ezclip-bench regression --update`"
        )
    return hints


# -- comparison -------------------------------------------------------------------------------------
def compare_exact(golden: Mapping[str, Mapping[str, Any]], fresh: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Lines naming every job that is not reproduced exactly (empty when all are)."""
    problems = []
    for key in sorted(set(golden) | set(fresh)):
        if key not in fresh or key not in golden:
            problems.append(f"{key}: {'missing from the fresh run' if key not in fresh else 'not in the golden file'}")
        elif golden[key] != fresh[key]:
            changed = {
                m: (golden[key].get(m), fresh[key].get(m))
                for m in set(golden[key]) | set(fresh[key])
                if golden[key].get(m) != fresh[key].get(m)
            }
            problems.append(f"{key}: " + ", ".join(f"{m} {b} vs golden {a}" for m, (a, b) in sorted(changed.items())))
    return problems


def compare_statistical(
    golden: Mapping[str, Mapping[str, Any]],
    fresh: Mapping[str, Mapping[str, Any]],
    tolerance: Mapping[str, Mapping[str, float]],
) -> list[str]:
    """Lines naming every job whose status or video count changed, and every aggregate beyond its
    tolerance (``tolerances``)."""
    problems = []
    for key in sorted(set(golden) | set(fresh)):
        if key not in fresh or key not in golden:
            problems.append(f"{key}: {'missing from the fresh run' if key not in fresh else 'not in the golden file'}")
        elif (golden[key]["status"], golden[key].get("videos")) != (fresh[key]["status"], fresh[key].get("videos")):
            problems.append(
                f"{key}: status/videos {fresh[key]['status']}/{fresh[key].get('videos')} "
                f"!= golden {golden[key]['status']}/{golden[key].get('videos')}"
            )
    expected, mine = aggregates(golden), aggregates(fresh)
    for name in sorted(set(expected) | set(mine)):
        if name not in mine or name not in expected:
            problems.append(f"{name}: {'missing from the fresh run' if name not in mine else 'not in the golden file'}")
            continue
        tol = tolerance[name]
        delta = mine[name] - expected[name]
        if not abs(delta) <= tol["tolerance"]:
            problems.append(
                f"{name}: {mine[name]:.4f} vs golden {expected[name]:.4f} (change {delta:+.4f}, "
                f"tolerance {tol['tolerance']:.4f}: {TOLERANCE_STDS} x std {tol['std']:.4f} over "
                f"{tol['runs']} runs, at least {TOLERANCE_VIDEOS} videos' worth {tol['floor']:.4f})"
            )
    return problems


def check(
    golden: Mapping[str, Any],
    fresh: Mapping[str, Mapping[str, Any]],
    fingerprint: Mapping[str, Any],
    models: Container[str] | None = None,
    log: Callable[..., Any] = print,
) -> list[str]:
    """Compare a fresh run (job results and fingerprint) with the golden file's content; returns the
    problems (empty: reproduced). ``models`` restricts the golden jobs to those models."""
    expected = golden["results"]
    if models is not None:
        expected = {k: v for k, v in expected.items() if k.split("/")[1] in models}
    log(
        f"regression: golden results made on {golden['fingerprint']['numerics'].get('cpu')}; this run on "
        f"{fingerprint['numerics'].get('cpu')}"
    )
    for line in fingerprint_lines(golden["fingerprint"], fingerprint):
        log(line)
    for hint in explain_fingerprint(golden["fingerprint"], fingerprint):
        log(f"  note: {hint}")
    identical = sum(1 for k, v in fresh.items() if expected.get(k) == v)
    if golden["fingerprint"] == fingerprint:  # world, backbone, numerics and CPU model
        log(f"  -> identity check (same world, tiny CLIP, numerics and CPU): {len(fresh)} jobs, {identical} identical")
        problems = compare_exact(expected, fresh)
    else:
        spread = [dict(results={k: v for k, v in run["results"].items() if k in expected}) for run in golden["spread"]]
        tolerance = tolerances(expected, spread)  # over the same models as the fresh run
        log(
            f"  -> statistical check: {len(tolerance)} aggregates within {TOLERANCE_STDS} std of their spread over "
            f"{len(spread) + 1} runs (golden; {', '.join(r['perturbation'] for r in golden['spread'])}) or "
            f"{TOLERANCE_VIDEOS} videos' worth; status and videos of {len(expected)} jobs exactly "
            f"({identical} jobs identical)"
        )
        problems = compare_statistical(expected, fresh, tolerance)
    return problems


def report(problems: Sequence[str], log: Callable[..., Any] = print) -> None:
    log(f"regression: {'FAILED, ' + str(len(problems)) + ' problem(s)' if problems else 'reproduced'}")
    for line in problems:
        log("  " + line)


def read_golden(path: str | Path = GOLDEN) -> dict[str, Any]:
    golden = json.loads(Path(path).read_text())
    if golden.get("schema") != GOLDEN_SCHEMA:
        raise SystemExit(
            f"{path}: golden schema {golden.get('schema')!r}, this harness reads {GOLDEN_SCHEMA}: "
            "regenerate it with `ezclip-bench regression --update`"
        )
    return golden


def golden_backbone(golden_path: str | Path = GOLDEN) -> Path:
    return Path(golden_path).with_name("tiny-clip.pt")


def pretraining(
    cache: str | Path | None, tiny_clip_settings: Mapping[str, Any] | None = None, log: Callable[..., Any] = print
) -> dict[str, Any]:
    """This machine's own tiny CLIP: its sha256 and still-image zero-shot accuracy."""
    benchmark = resolve(cache=cache, tiny_clip_settings=tiny_clip_settings, log=log)
    weights = benchmark.clip["pretrained"]
    return dict(weights_sha256=weights_sha256(weights), accuracy=still_image_accuracy(weights))


def check_pretraining(golden: Mapping[str, Any], mine: Mapping[str, Any], log: Callable[..., Any] = print) -> list[str]:
    """The tiny CLIP pretrained here against the golden one: identical, or of the same quality (still-image
    accuracy within the spread of the perturbed pretrainings)."""
    ref = golden["pretraining"]
    if mine["weights_sha256"] == ref["weights_sha256"]:
        log("  tiny CLIP pretraining: reproduced exactly (same weights)")
        return []
    values = [ref["accuracy"]] + [r["pretraining"]["accuracy"] for r in golden["spread"]]
    tolerance = max(TOLERANCE_STDS * float(np.std(values, ddof=1)), PRETRAINING_FLOOR)
    delta = mine["accuracy"] - ref["accuracy"]
    log(
        f"  tiny CLIP pretraining: other weights (golden {ref['weights_sha256'][:12]}, "
        f"here {mine['weights_sha256'][:12]}): "
        f"still-image accuracy {mine['accuracy']:.3f} vs golden {ref['accuracy']:.3f}, tolerance {tolerance:.3f} "
        f"({TOLERANCE_STDS} std over {len(values)} pretrainings)"
    )
    if abs(delta) <= tolerance:
        return []
    return [
        f"tiny CLIP pretraining: still-image accuracy {mine['accuracy']:.3f} vs golden {ref['accuracy']:.3f} "
        f"(change {delta:+.3f}, tolerance {tolerance:.3f}): look at ezclip/mini/pretrain.py and ezclip/mini/world.py"
    ]


def fresh_run(
    benchmark: Benchmark, models: Sequence[str], log: Callable[..., Any] = print
) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        return run_golden_jobs(benchmark, models, Path(tmp), log=log)


def regression(
    models: Sequence[str],
    cache: str | Path | None = None,
    golden_path: str | Path = GOLDEN,
    tiny_clip_settings: Mapping[str, Any] | None = None,
    log: Callable[..., Any] = print,
) -> list[str]:
    """Check this machine's tiny CLIP pretraining, then run the golden jobs on the golden backbone and
    check them against the golden file; returns the problems (empty: reproduced).

    The jobs run on the golden tiny CLIP (committed beside the golden file) whatever this machine's own
    pretraining gave: pretraining on other numerics is a different backbone, which moves every number
    by far more than a real regression would, so each stage is checked from the golden input to it."""
    golden = read_golden(golden_path)
    problems = check_pretraining(golden, pretraining(cache, tiny_clip_settings, log=log), log=log)
    benchmark = resolve(cache=cache, tiny_clip=golden_backbone(golden_path), log=log)
    fresh = fresh_run(benchmark, models, log=log)
    problems += check(golden, fresh, benchmark.fingerprint, models=models, log=log)
    report(problems, log=log)
    return problems


def spread_run(
    models: Sequence[str], cache: str | Path | None, out: str | Path, log: Callable[..., Any] = print
) -> None:
    """One run of the golden jobs, not compared, with this process's numerics: its pretraining, and the
    jobs on the golden backbone, written to ``out`` (``--update`` runs one per perturbation)."""
    mine = pretraining(cache, log=log)
    benchmark = resolve(cache=cache, tiny_clip=golden_backbone(), log=log)
    write_json(
        out, dict(pretraining=mine, results=fresh_run(benchmark, models, log=log), fingerprint=benchmark.fingerprint)
    )


def perturbed_run(
    name: str, models: Sequence[str], cache: str | Path | None, out: str | Path, log: Callable[..., Any] = print
) -> dict[str, Any]:
    """``spread_run`` in a fresh process under perturbation ``name``."""
    env = {k: v for k, v in os.environ.items() if k not in PINNED_ENV}  # only the perturbation's own
    env.update(PERTURBATIONS[name])
    cmd = [sys.executable, "-m", "ezclip.cli", "regression", "--output", str(out), "--models", ",".join(models)]
    log(f"regression: spread run '{name}' ...")
    subprocess.run(cmd + (["--cache", str(cache)] if cache else []), env=env, check=True, stdout=subprocess.DEVNULL)
    return dict(perturbation=name, **json.loads(Path(out).read_text()))


def runnable(perturbation: str) -> bool:
    """Whether this CPU can run a perturbation: AVX-512 kernels need AVX-512 (torch dies of SIGILL)."""
    if PERTURBATIONS[perturbation].get("ATEN_CPU_CAPABILITY") != "avx512":
        return True
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: let torch decide
        return True


def update(
    models: Sequence[str],
    cache: str | Path | None = None,
    golden_path: str | Path = GOLDEN,
    perturbations: Sequence[str] = tuple(PERTURBATIONS),
    log: Callable[..., Any] = print,
) -> dict[str, dict[str, Any]]:
    """Rewrite the golden file (and its backbone) from this machine: its tiny CLIP, the golden jobs on
    it, and the spread runs under ``perturbations`` (those this CPU can run: ``runnable``)."""
    left_out = [p for p in perturbations if not runnable(p)]
    if left_out:
        log(f"regression: spread runs left out, this CPU cannot run them: {', '.join(left_out)}")
        perturbations = [p for p in perturbations if p not in left_out]
    mine = pretraining(cache, log=log)
    benchmark = resolve(cache=cache, log=log)
    backbone = golden_backbone(golden_path)
    # the same tensors keep the committed file (its bytes also depend on the name it was saved under)
    if not backbone.is_file() or weights_sha256(backbone) != weights_sha256(benchmark.clip["pretrained"]):
        shutil.copyfile(benchmark.clip["pretrained"], backbone)
    benchmark = resolve(cache=cache, tiny_clip=backbone, log=log)
    fresh = fresh_run(benchmark, models, log=log)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        # one process per core: every perturbation but the native one runs single-threaded
        spread = list(
            pool.map(
                lambda i: perturbed_run(perturbations[i], models, cache, Path(tmp) / f"{i}.json", log),
                range(len(perturbations)),
            )
        )
    agg, tol = aggregates(fresh), tolerances(fresh, spread)
    write_json(
        golden_path,
        dict(
            schema=GOLDEN_SCHEMA,
            jobs=JOBS,
            models=models,
            env=environment(),
            fingerprint=benchmark.fingerprint,
            pretraining=mine,
            results=fresh,
            tolerance_stds=TOLERANCE_STDS,
            tolerance_videos=TOLERANCE_VIDEOS,
            spread=spread,
        ),
    )
    log(
        f"wrote {golden_path} and {backbone}: {len(fresh)} jobs, {len(agg)} aggregates, "
        f"spread over {len(spread) + 1} runs"
    )
    accuracies = [mine["accuracy"]] + [r["pretraining"]["accuracy"] for r in spread]
    log(
        f"  tiny CLIP still-image accuracy: {mine['accuracy']:.3f}, over the runs {min(accuracies):.3f}-"
        f"{max(accuracies):.3f}, std {np.std(accuracies, ddof=1):.3f}"
    )
    identical = [sum(r["results"].get(k) == v for k, v in fresh.items()) for r in spread]
    log(f"  jobs identical to this run's, per spread run: {identical} of {len(fresh)}")
    for name, t in tol.items():
        log(
            f"  {name}: {agg[name]:.4f}, std {t['std']:.4f}, max deviation {t['max_deviation']:.4f}, "
            f"tolerance {t['tolerance']:.4f}"
        )
    return fresh
