"""Accuracy that also says how many videos it saw, and a time-order diagnostic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mmaction.evaluation import AccMetric
from mmaction.registry import METRICS

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


@METRICS.register_module()
class VideoAccMetric(AccMetric):
    """mmaction2's top-1/top-5/mean-class accuracy plus ``count``, the number of videos evaluated
    (every listed video exactly once, across processes), and, given ``reversal_pairs`` (pairs of class
    indices that are time reversals of each other), ``pair_acc``: how often the true class scores
    above its reversed partner. An order-blind model scores 0.5 there. ``decoded_by/<backend>``: how
    many of the videos each backend decoded (``VideoDecode``'s choice, per file)."""

    def __init__(self, reversal_pairs: Iterable[Sequence[int]] = (), **kwargs: Any) -> None:
        kwargs.setdefault("metric_list", ("top_k_accuracy", "mean_class_accuracy"))
        super().__init__(**kwargs)
        self.partner = {}
        for a, b in reversal_pairs:
            self.partner[a], self.partner[b] = b, a

    def process(self, data_batch: Sequence[Any], data_samples: Sequence[dict[str, Any]]) -> None:
        super().process(data_batch, data_samples)
        for result, sample in zip(self.results[-len(data_samples) :], data_samples):
            result["video_backend"] = sample.get("video_backend", "unknown")

    def compute_metrics(self, results: list[dict[str, Any]]) -> dict[str, float]:
        metrics = super().compute_metrics(results)
        metrics["count"] = len(results)
        for backend in sorted({r["video_backend"] for r in results}):
            metrics[f"decoded_by/{backend}"] = sum(r["video_backend"] == backend for r in results)
        if self.partner:
            wins = [
                float(r["pred"][r["label"]] > r["pred"][self.partner[r["label"]]])
                + 0.5 * float(r["pred"][r["label"]] == r["pred"][self.partner[r["label"]]])
                for r in results
                if r["label"] in self.partner
            ]
            metrics["pair_acc"] = float(np.mean(wins)) if wins else float("nan")
            metrics["pair_count"] = len(wins)
        return metrics
