"""The train and test pipelines every model shares (mmaction2 transforms; decoding by ``default_backends``).

Frames are sampled TSN-style, one per segment (``clip_len=1, num_clips=T``), and packed as
``NCHW`` so a batch arrives as ``(N, views * T, C, H, W)``; the recognizer splits views and frames.
Sizes scale with ``input_size`` so the tiny CLIP (32 px) uses the same steps as ViT-B/16 (224 px).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ezclip.data.transforms import default_backends

if TYPE_CHECKING:
    from collections.abc import Sequence

MULTI_SCALES = (1, 0.875, 0.75, 0.66)
# mmaction2's meta keys, and the backend that decoded the video (counted per list in the records)
PACKED_META = ("img_shape", "img_key", "video_id", "timestamp", "video_backend")
# Test preprocessing, by whose code it is (a model config's ``recipe.test_preprocessing``): mmaction2's
# test pipeline (X-CLIP's and ViFi-CLIP's code runs it) or ActionCLIP's (EZ-CLIP's code shares it;
# ``ezclip.data.actionclip``)
TEST_PREPROCESSING = ("mmaction2", "actionclip")


def resize_for(input_size: int) -> int:
    return round(input_size * 256 / 224)  # 256 for 224, the field's short-side resize


def train_pipeline(
    num_frames: int,
    input_size: int = 224,
    backends: Sequence[str] | None = None,
    flip: bool = True,
    color_jitter: bool = True,
    randaugment: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Segment sampling with a random offset, multi-scale crop, flip and colour jitter per clip.

    ``flip=False`` for datasets whose labels name a direction (SSv2: "from left to right").
    ``randaugment=dict(num_ops, magnitude)``: RandAugment on every decoded frame first (ActionCLIP)."""
    steps = [
        dict(type="VideoInit", backends=default_backends() if backends is None else tuple(backends)),
        dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=num_frames),
        dict(type="VideoDecode"),
        *([dict(type="FrameRandAugment", **randaugment)] if randaugment else []),
        dict(type="Resize", scale=(-1, resize_for(input_size))),
        dict(type="MultiScaleCrop", input_size=input_size, scales=MULTI_SCALES, random_crop=False, max_wh_scale_gap=1),
        dict(type="Resize", scale=(input_size, input_size), keep_ratio=False),
    ]
    if flip:
        steps.append(dict(type="Flip", flip_ratio=0.5))
    if color_jitter:
        # EZ-CLIP/X-CLIP's strengths; one set of factors per clip (mmaction2's semantics)
        steps.append(dict(type="ColorJitter", brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1))
    return steps + [dict(type="FormatShape", input_format="NCHW"), dict(type="PackActionInputs", meta_keys=PACKED_META)]


def eval_pipeline(
    num_frames: int,
    input_size: int = 224,
    crops: int = 1,
    backends: Sequence[str] | None = None,
    clips: int = 1,
    preprocessing: str = "mmaction2",
) -> list[dict[str, Any]]:
    """Centre frame of each segment; short side to 256/224 of the input and a centre crop, or
    (``crops=3``) short side to the input and three crops, the multi-view test of X-CLIP/ViFi-CLIP.
    ``clips > 1``: that many clips of ``num_frames`` (X-CLIP's multi-clip test, ``MultiClipSampleFrames``),
    each in every crop, so ``clips * crops`` views. The recognizer averages the softmax scores of the views.
    ``preprocessing='actionclip'``: ActionCLIP's and EZ-CLIP's own frame choice, resize and crop (1 view)."""
    if preprocessing not in TEST_PREPROCESSING:
        raise ValueError(f"test preprocessing must be one of {TEST_PREPROCESSING}, got {preprocessing!r}")
    if crops not in (1, 3):
        raise ValueError(f"crops must be 1 or 3, got {crops}")
    init = dict(type="VideoInit", backends=default_backends() if backends is None else tuple(backends))
    pack = [dict(type="FormatShape", input_format="NCHW"), dict(type="PackActionInputs", meta_keys=PACKED_META)]
    if preprocessing == "actionclip":
        if crops != 1 or clips != 1:
            raise ValueError(f"ActionCLIP's test preprocessing takes 1 clip x 1 crop, not {clips} x {crops}")
        return [
            init,
            dict(type="ActionCLIPSampleFrames", num_frames=num_frames),
            dict(type="VideoDecode"),
            dict(type="ActionCLIPResizeCrop", input_size=input_size),
            *pack,
        ]
    crop = dict(type="CenterCrop", crop_size=input_size) if crops == 1 else dict(type="ThreeCrop", crop_size=input_size)
    sample = dict(clip_len=1, frame_interval=1, num_clips=num_frames)
    return [
        init,
        dict(type="SampleFrames", **sample, test_mode=True)
        if clips == 1
        else dict(type="MultiClipSampleFrames", views=clips, **sample),
        dict(type="VideoDecode"),
        dict(type="Resize", scale=(-1, resize_for(input_size) if crops == 1 else input_size)),
        crop,
        *pack,
    ]
