"""What gets counted and timed: the plain CLIP image tower, and the vision, scored and text paths of a
recognizer, with their inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from ezclip.errors import EzclipError

if TYPE_CHECKING:
    from ezclip.models.base import VideoCLIP

TOWER = "clip-image-tower"
DEFAULT_CLASSES = 400
TEXT_PROMPT = "a video of a person doing something."
DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


# -- what gets counted and timed ------------------------------------------------------------------
class ImageTower(nn.Module):
    """The plain CLIP image tower: frozen open_clip visual tower per frame, frame features averaged.
    Takes ``(B, T, C, H, W)``; the reference every model is compared with."""

    def __init__(self, arch: str) -> None:
        super().__init__()
        from ezclip.clip import build_clip

        clip, _ = build_clip(arch, pretrained=None)
        self.visual = clip.visual
        self.arch = arch
        self.requires_grad_(False)
        del clip

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        return self.visual(frames.flatten(0, 1)).view(b, t, -1).mean(dim=1)


class VisionPath(nn.Module):
    def __init__(self, model: VideoCLIP) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model.extract_feat(inputs)


class ScoredPath(nn.Module):
    """What a test step computes per video, given cached text features ``(P, K, D)``."""

    def __init__(self, model: VideoCLIP) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        frames, _ = self.model.split_views(inputs)
        return self.model.class_logits(self.model.encode_video(frames), text_features)


class TextPath(nn.Module):
    def __init__(self, model: VideoCLIP) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokens)


def image_size_of(visual: nn.Module) -> int:
    size = visual.image_size
    return size[0] if isinstance(size, (tuple, list)) else int(size)


def check_input_size(visual: nn.Module, arch: str, input_size: int | None) -> int:
    native = image_size_of(visual)
    if input_size not in (None, native):
        raise EzclipError(
            f"{arch} is built for {native}px inputs (its position embedding is fixed); "
            f"--input-size {input_size} needs an architecture config of that size"
        )
    return native


def text_embed_dim(model: VideoCLIP) -> int:
    return model.clip.text_projection.shape[-1]


def random_text_features(model: VideoCLIP, classes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Stand-ins for the cached class text features: ``(P, K, D)``, P the model's templates."""
    return torch.randn(len(model.templates), classes, text_embed_dim(model), generator=generator)
