"""ActionCLIP's test preprocessing, which EZ-CLIP's code shares (their ``transforms_ss.py`` is the same
file, their ``datasets.py`` differ only in comments), written from its semantics: which frame of each
segment it takes, and PIL's bicubic resize with its rounding. Checked against the official code's
output on committed frames (``tests/fixtures/official_test_preprocessing.md``).

What differs from mmaction2's test pipeline, which X-CLIP and ViFi-CLIP run:
- the frame of each of ``T`` segments of an ``n``-frame video is ``floor((i + 0.5) * n / T - 0.5)``,
  half a frame before mmaction2's ``floor((i + 0.5) * n / T)`` (the frame before it in 4 of 8 segments);
  a video of at most ``T`` frames gives ``floor(i * n / T)``;
- the short side goes to ``input_size * 256 // 224`` (256 at 224) with PIL's bicubic filter (cv2's
  bilinear in mmaction2), the long side to that times long / short, truncated;
- the centre crop's offsets are rounded half to even (Python's ``round``), not floored."""

from __future__ import annotations

from typing import Any

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image


def segment_frames(total: int, num_segments: int) -> np.ndarray:
    """ActionCLIP's test frame indices (0-based; its files are 1-based): one per segment."""
    i = np.arange(num_segments)
    if total <= num_segments:
        return i * total // num_segments
    # int(i * n / T + (n / T - 1) / 2) in the original; in integers, so no rounding can tip it
    return ((2 * i + 1) * total - num_segments) // (2 * num_segments)


@TRANSFORMS.register_module()
class ActionCLIPSampleFrames(BaseTransform):
    """``frame_inds`` for ``num_frames`` segments by ``segment_frames`` (one clip, as the original tests)."""

    def __init__(self, num_frames: int) -> None:
        self.num_frames = num_frames

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        results["frame_inds"] = segment_frames(results["total_frames"], self.num_frames) + results.get("start_index", 0)
        results.update(clip_len=1, frame_interval=1, num_clips=self.num_frames)
        return results


@TRANSFORMS.register_module()
class ActionCLIPResizeCrop(BaseTransform):
    """Short side to ``input_size * 256 // 224`` with PIL's bicubic filter, then the centre
    ``input_size`` square, as ActionCLIP's ``GroupScale`` and ``GroupCenterCrop`` (torchvision's
    ``Resize`` and ``CenterCrop`` on PIL images) do."""

    def __init__(self, input_size: int) -> None:
        self.input_size, self.short = input_size, input_size * 256 // 224

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        height, width = results["imgs"][0].shape[:2]
        if width <= height:
            size = (self.short, int(self.short * height / width))
        else:
            size = (int(self.short * width / height), self.short)
        top = int(round((size[1] - self.input_size) / 2))
        left = int(round((size[0] - self.input_size) / 2))
        box = (left, top, left + self.input_size, top + self.input_size)
        imgs = []
        for img in results["imgs"]:
            image = Image.fromarray(img)
            if image.size != size:  # torchvision's Resize returns an image of the size unchanged
                image = image.resize(size, Image.BICUBIC)
            imgs.append(np.asarray(image.crop(box)))
        results["imgs"] = imgs
        results["img_shape"] = (self.input_size, self.input_size)
        return results
