"""Rank a user's labels for a user's video with a registered model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from mmengine.dataset import Compose, pseudo_collate

from ezclip.checkpoints import load_run_checkpoint
from ezclip.data.pipelines import eval_pipeline
from ezclip.errors import InputError
from ezclip.zoo import build_model

if TYPE_CHECKING:
    from pathlib import Path


def load_checkpoint(model: torch.nn.Module, path: str | Path) -> None:
    """Weights from an mmengine checkpoint or a converted official one (``ezclip-bench convert``).
    Keys a converted checkpoint leaves to the base CLIP (ViFi-CLIP's never-trained token table) stay
    as the model's config loaded them; any other missing or unexpected key is an error."""
    checkpoint = load_run_checkpoint(path)  # runs none of its code
    state = checkpoint.get("state_dict", checkpoint)
    from_base = set(checkpoint.get("meta", {}).get("from_base_clip", []))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - from_base:
        raise InputError(
            path,
            f"does not fit this model: missing {sorted(set(missing) - from_base)[:5]}, unexpected {unexpected[:5]}",
        )


def predict(
    video: str | Path,
    labels: Sequence[str],
    model_name: str,
    checkpoint: str | Path | None = None,
    arch: str | None = None,
    pretrained: str | None = "keep",
    input_size: int | None = None,
    crops: int = 1,
) -> list[tuple[str, float]]:
    """``[(label, probability), ...]`` best first."""
    from pathlib import Path

    if not Path(video).is_file():
        raise InputError(video, "video not found")
    labels = [label.strip() for label in labels if label.strip()]
    if len(labels) < 2:
        raise InputError(video, "give at least two labels to choose from")
    model = build_model(model_name, arch=arch, pretrained=pretrained).eval()
    if checkpoint:
        load_checkpoint(model, checkpoint)
    model.set_classes(labels)
    size = input_size or model.clip.visual.image_size[0]
    pipeline = Compose(eval_pipeline(model.num_frames, size, crops=crops))
    sample = pipeline(dict(filename=str(video), label=-1, start_index=0, modality="RGB"))
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([sample]))
        scores = model(**data, mode="predict")[0].pred_score
    order = scores.argsort(descending=True).tolist()
    return [(labels[i], float(scores[i])) for i in order]
