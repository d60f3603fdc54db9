"""The golden regression: its identity and statistical checks, and end to end on the committed golden
file: a backbone perturbed as another CPU would perturb it passes, real regressions fail."""

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ezclip import regression
from ezclip.regression import aggregates, check, compare_exact, compare_statistical, tolerances

FINGERPRINT = dict(
    world=dict(files="f" * 64, frames="a" * 64),
    tiny_clip="c" * 64,
    numerics=dict(threads=1, cpu_capability="AVX2", cpu="CPU one", machine="x86_64"),
)


def job(top1, videos=40, **extra):
    return dict(status="ok", videos=videos, top1=top1, **extra)


def test_aggregates_are_means_per_protocol_and_model_and_the_order_gap():
    results = {
        "zeroshot/clip/s/hmdb51/a": job(0.5),
        "zeroshot/clip/s/hmdb51/b": job(0.7),
        "fewshot/clip/k16/ssv2/val": job(0.4, pair_acc=0.5),
        "fewshot/xclip/k16/ssv2/val": job(0.9, pair_acc=1.0),
        "fewshot/ezclip/k16/ssv2/val": job(0.8, pair_acc=0.8),
    }
    agg = aggregates(results)
    assert agg["zeroshot/clip/top1"] == pytest.approx(0.6)
    assert agg["fewshot/xclip/pair_acc"] == 1.0
    assert agg["fewshot/order_gap"] == pytest.approx((1.0 + 0.8) / 2 - 0.5)


def test_tolerance_is_four_standard_deviations_of_the_spread_or_two_videos():
    golden = {"zeroshot/clip/s/d/a": job(0.50, videos=50), "zeroshot/clip/s/d/b": job(0.30, videos=25)}
    runs = [
        dict(results={"zeroshot/clip/s/d/a": job(a, videos=50), "zeroshot/clip/s/d/b": job(0.30, videos=25)})
        for a in (0.60, 0.40, 0.50)
    ]
    tol = tolerances(golden, runs)["zeroshot/clip/top1"]
    assert tol["std"] == pytest.approx(np.std([0.40, 0.45, 0.35, 0.40], ddof=1))
    assert tol["tolerance"] == pytest.approx(4 * tol["std"]) and tol["runs"] == 4
    assert tol["max_deviation"] == pytest.approx(0.05)
    # no spread: two videos of the smallest list, as a change of the mean over the two lists
    tol = tolerances(golden, [dict(results=golden)])["zeroshot/clip/top1"]
    assert tol["std"] == 0 and tol["tolerance"] == pytest.approx(2 / (2 * 25))


def test_statistical_check_compares_aggregates_and_every_job_count():
    golden = {"zeroshot/clip/s/d/a": job(0.50), "zeroshot/clip/s/d/b": job(0.70)}
    tol = {"zeroshot/clip/top1": dict(tolerance=0.02, std=0.005, runs=6, floor=0.0125)}
    # single jobs move in opposite directions (flipped predictions): the mean holds
    assert compare_statistical(golden, {"zeroshot/clip/s/d/a": job(0.55), "zeroshot/clip/s/d/b": job(0.66)}, tol) == []
    [line] = compare_statistical(golden, {"zeroshot/clip/s/d/a": job(0.45), "zeroshot/clip/s/d/b": job(0.70)}, tol)
    assert line.startswith("zeroshot/clip/top1: 0.5750 vs golden 0.6000 (change -0.0250, tolerance 0.0200")
    [line] = compare_statistical(
        golden, {"zeroshot/clip/s/d/a": job(0.50, videos=39), "zeroshot/clip/s/d/b": job(0.70)}, tol
    )
    assert "status/videos ok/39 != golden ok/40" in line
    assert "missing from the fresh run" in compare_statistical(golden, {"zeroshot/clip/s/d/a": job(0.5)}, tol)[0]


def test_identity_check_on_the_golden_machine_and_statistical_elsewhere():
    results = {f"zeroshot/clip/s/d/{i}": job(0.5) for i in range(3)}
    golden = dict(
        results=results,
        fingerprint=FINGERPRINT,
        spread=[
            dict(perturbation=f"p{i}", results={k: job(0.5 + d) for k in results})
            for i, d in enumerate((0.02, -0.02, 0.01))
        ],
    )
    flipped = dict(results, **{"zeroshot/clip/s/d/0": job(0.525)})  # one prediction of 40 flipped
    lines = []
    assert check(golden, flipped, FINGERPRINT, log=lines.append)  # same machine: must be identical
    assert any("identity check" in line for line in lines)
    assert compare_exact(results, flipped) == ["zeroshot/clip/s/d/0: top1 0.525 vs golden 0.5"]
    other_cpu = dict(FINGERPRINT, numerics=dict(FINGERPRINT["numerics"], cpu="CPU two"))
    lines = []
    assert check(golden, flipped, other_cpu, log=lines.append) == []
    assert "  CPU numerics: differ: cpu 'CPU one' in the golden run, 'CPU two' here" in lines
    assert any("statistical check" in line for line in lines)


def test_the_first_lines_name_what_differs():
    other = dict(FINGERPRINT, tiny_clip="d" * 64, world=dict(FINGERPRINT["world"], frames="b" * 64))
    lines = []
    check(dict(results={}, fingerprint=FINGERPRINT, spread=[]), {}, other, log=lines.append)
    assert "  world files (mp4 bytes, lists): match" in lines
    assert f"  world frames (decoded pixels): DIFFER (golden {'a' * 12}, here {'b' * 12})" in lines
    assert f"  tiny CLIP weights: DIFFER (golden {'c' * 12}, here {'d' * 12})" in lines
    assert any(line.startswith("  note: the decoded videos differ") for line in lines)


def test_pretraining_is_checked_on_its_own():
    golden = dict(
        pretraining=dict(weights_sha256="w" * 64, accuracy=0.74),
        spread=[dict(pretraining=dict(accuracy=a)) for a in (0.72, 0.61, 0.76, 0.59, 0.69)],
    )
    lines = []
    assert regression.check_pretraining(golden, dict(weights_sha256="w" * 64, accuracy=0.74), log=lines.append) == []
    assert lines == ["  tiny CLIP pretraining: reproduced exactly (same weights)"]
    tolerance = 4 * np.std([0.74, 0.72, 0.61, 0.76, 0.59, 0.69], ddof=1)
    assert regression.check_pretraining(golden, dict(weights_sha256="v" * 64, accuracy=0.74 - tolerance + 0.01)) == []
    [problem] = regression.check_pretraining(golden, dict(weights_sha256="v" * 64, accuracy=0.74 - tolerance - 0.01))
    assert problem.startswith("tiny CLIP pretraining: still-image accuracy") and "ezclip/mini/pretrain.py" in problem


# -- end to end, on the committed golden file ---------------------------------------------------------
@TRANSFORMS.register_module(force=True)
class DropOneFrame(BaseTransform):
    """A bug: the last sampled frame is lost (the one before it is repeated in its place)."""

    def transform(self, results):
        results["frame_inds"] = np.concatenate([results["frame_inds"][:-1], results["frame_inds"][-2:-1]])
        return results


def run_check(models, log_lines, **kwargs):
    from ezclip.benchmark import default_cache

    problems = regression.regression(models, cache=default_cache(), log=log_lines.append, **kwargs)
    print("\n".join(log_lines))
    return problems


def test_a_perturbed_pretraining_passes():
    """The tiny CLIP pretrained on 2 threads (other weights, as another CPU's kernels give; a
    perturbation the golden file's spread runs do not include) passes: its quality is checked, and the
    jobs run on the golden backbone."""
    lines = []
    assert run_check(["clip", "vificlip"], lines, tiny_clip_settings=dict(threads=2)) == []
    assert any(line.startswith("  tiny CLIP pretraining: other weights") for line in lines)


@pytest.fixture
def another_cpu(monkeypatch):
    """This run as if on another CPU: the check is then the statistical one, whatever machine runs it."""
    from ezclip import numerics

    monkeypatch.setattr(numerics, "cpu_model", lambda: "another CPU")


def test_a_dropped_frame_fails_the_statistical_check(another_cpu, monkeypatch):
    from ezclip import engine

    def dropping(*args, **kwargs):
        steps = eval_pipeline(*args, **kwargs)
        at = next(i for i, s in enumerate(steps) if s["type"] == "SampleFrames") + 1
        return steps[:at] + [dict(type="DropOneFrame")] + steps[at:]

    eval_pipeline = engine.eval_pipeline
    monkeypatch.setattr(engine, "eval_pipeline", dropping)
    lines = []
    problems = run_check(["clip"], lines)
    assert any("statistical check" in line for line in lines)
    assert any(p.startswith("zeroshot/clip/top1:") for p in problems), problems


def test_a_stale_text_cache_fails_the_statistical_check(another_cpu, monkeypatch):
    from ezclip.models.base import VideoCLIP

    original = VideoCLIP.class_text_features

    def stale(self):  # the bug: text features cached by the number of classes, not by their names
        cache = self.__dict__.setdefault("_by_size", {})
        return cache.setdefault(len(self.prompts.classes), original(self))

    monkeypatch.setattr(VideoCLIP, "class_text_features", stale)
    lines = []
    problems = run_check(["clip"], lines)
    assert any("statistical check" in line for line in lines)
    assert any(p.startswith("zeroshot/clip/top1:") for p in problems), problems
