"""The recipe parts of the originals' data paths that mmaction2 has no transform for: ActionCLIP's
RandAugment on every frame, and X-CLIP's multi-clip test sampling."""

from __future__ import annotations

import hashlib
import os.path as osp
from typing import Any

import numpy as np
import torch
from mmaction.datasets.transforms import SampleFrames
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from torchvision.transforms import v2


@TRANSFORMS.register_module()
class FrameRandAugment(BaseTransform):
    """RandAugment (``num_ops`` operations at ``magnitude`` of 30) drawn anew for every frame, as
    ActionCLIP's ``GroupTransform(RandAugment(N, M))`` does (its first train transform, before the
    multi-scale crop); torchvision's operations, on the decoded uint8 frames."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9) -> None:
        self.augment = v2.RandAugment(num_ops=num_ops, magnitude=magnitude, num_magnitude_bins=31)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        results["imgs"] = [
            self.augment(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)).permute(1, 2, 0).numpy()
            for img in results["imgs"]
        ]
        return results


@TRANSFORMS.register_module()
class MultiClipSampleFrames(SampleFrames):
    """``views`` clips of ``num_clips`` segments each, concatenated: X-CLIP's multi-clip test. Its
    ``SampleFrames(multiview=4)`` runs outside test mode, so each clip takes a random frame of every
    segment; here the draws come from a generator seeded by the video's file name, so a video gets the
    same clips in every run, loader worker and process."""

    def __init__(self, views: int, **kwargs: Any) -> None:
        super().__init__(**kwargs, test_mode=False)
        self.views = views

    def _sample_clips(self, num_frames: int, ori_clip_len: float) -> np.ndarray:
        return np.concatenate([self._get_train_clips(num_frames, ori_clip_len) for _ in range(self.views)])

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        name = osp.basename(osp.normpath(str(results["filename"])))
        state = np.random.get_state()  # mmaction2 draws the offsets from numpy's global generator
        np.random.seed(int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little"))
        try:
            return super().transform(results)
        finally:
            np.random.set_state(state)
