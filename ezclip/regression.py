"""Golden results of the mini benchmark: re-run a fixed set of jobs and compare with the committed
numbers (``results/golden/mini.json``), which come from the same command with ``--update``."""
import json
import tempfile
from pathlib import Path

from ezclip.harness import load_protocol, run_protocol
from ezclip.records import REPO_ROOT, environment, read_records, write_json

GOLDEN = REPO_ROOT / "results" / "golden" / "mini.json"
# What the golden run covers, on the first 4 videos of each class: the zero-shot protocol, and the
# SSv2 role's 16-shot stage (its longer schedule and the reversal-pair accuracy).
JOBS = (dict(protocol="zeroshot", subset=4), dict(protocol="fewshot", stages=["ssv2_k16"], subset=4))
# On one machine a re-run is identical; across machines, floating-point order may flip a prediction or
# two, so each accuracy may move by at most this many videos' worth (2 / videos evaluated).
TOLERANCE_VIDEOS = 2
METRICS = ("top1", "top5", "mean1", "pair_acc")


def job_key(record):
    return "/".join([record["protocol"]["name"], record["model"]["name"], record["stage"], record["eval"]["dataset"],
                     record["eval"]["list"]])


def run_golden_jobs(benchmark, models, work, log=print):
    for job in JOBS:
        run_protocol(load_protocol(job["protocol"]), models, benchmark, work / "results", work / "work",
                     subset=job["subset"], stages=job.get("stages"), log=log)
    records = read_records(work / "results" / "records")
    return {job_key(r): dict(status=r["status"], videos=r["eval"].get("videos_evaluated"),
                             **{m: r["metrics"][m] for m in METRICS if m in r.get("metrics", {})}) for r in records}


def compare(golden, fresh, tolerance_videos=TOLERANCE_VIDEOS):
    """Lines describing every difference beyond the tolerance (empty when reproduced)."""
    problems = []
    for key in sorted(set(golden) | set(fresh)):
        if key not in fresh or key not in golden:
            problems.append(f"{key}: {'missing from the fresh run' if key not in fresh else 'not in the golden file'}")
            continue
        g, f = golden[key], fresh[key]
        if g["status"] != f["status"] or g.get("videos") != f.get("videos"):
            problems.append(f"{key}: status/videos {f['status']}/{f.get('videos')} != golden {g['status']}/{g.get('videos')}")
        tolerance = tolerance_videos / max(g.get("videos") or 1, 1) + 1e-9
        for m in METRICS:
            if m in g and abs(g[m] - f.get(m, float("nan"))) > tolerance or (m in g) != (m in f):
                problems.append(f"{key}: {m} {f.get(m)} vs golden {g.get(m)} (tolerance {tolerance:.3f})")
    return problems


def regression(benchmark, models, update=False, golden_path=GOLDEN, log=print):
    with tempfile.TemporaryDirectory() as tmp:
        fresh = run_golden_jobs(benchmark, models, Path(tmp), log=log)
    if update:
        write_json(golden_path, dict(jobs=JOBS, tolerance_videos=TOLERANCE_VIDEOS, models=models, env=environment(),
                                     results=fresh))
        log(f"wrote {golden_path} ({len(fresh)} jobs)")
        return []
    golden = json.loads(Path(golden_path).read_text())
    problems = compare(golden["results"], fresh, golden["tolerance_videos"])
    identical = sum(1 for k, v in fresh.items() if golden["results"].get(k) == v)
    log(f"regression: {len(fresh)} jobs, {identical} identical to the golden results, "
        f"{len(problems)} beyond the tolerance of {golden['tolerance_videos']} videos per job")
    for line in problems:
        log("  " + line)
    return problems
