"""The model registry: one mmengine config file per model, found by name.

Built-in models live in ``ezclip/registry/models/``; every folder on ``EZCLIP_MODEL_PATH`` (separated
like ``PATH``) is searched too, before the built-in one, so a user adds a baseline by writing one
config file in a folder of their own and naming that folder, with no change to the harness.
A model config defines ``model`` (an mmengine model dict) and may define ``recipe`` (its native
training recipe), ``mini`` (its recipe on the mini benchmark) and ``reference`` (where the method
comes from). Ablations live in an ``ablations/`` subfolder: configs that inherit a model's
(``_base_``), change one thing and say so in ``ablation = dict(of=..., change=...)``. They run only
when named, and the ablation table compares them with the model they ablate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmengine.config import Config

from ezclip import registry
from ezclip.errors import UnknownNameError

if TYPE_CHECKING:
    from torch import nn

BUILTIN_MODEL_DIR = registry.MODELS
MODEL_PATH_ENV = "EZCLIP_MODEL_PATH"


def model_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p]
    return extra + [BUILTIN_MODEL_DIR]


ABLATION_DIR = "ablations"


def list_models(ablations: bool = False) -> dict[str, Path]:
    """``{name: config path}`` of the models (and, if asked, the ablations); a user's folder shadows
    a built-in config of the same name."""
    found = {}
    for folder in reversed(model_dirs()):
        paths = sorted(folder.glob("*.py")) + (sorted((folder / ABLATION_DIR).glob("*.py")) if ablations else [])
        for path in paths:
            if not path.name.startswith("_"):
                found[path.stem] = path
    return dict(sorted(found.items()))


def load_model_config(
    name: str, arch: str | None = None, frames: int | None = None, pretrained: str | None = "keep"
) -> Config:
    """The config of model ``name`` with the architecture, frame count and weights overridden.

    ``pretrained='keep'`` leaves the config's weights; ``None`` builds with random init (counts)."""
    models = list_models(ablations=True)
    if name not in models:
        raise UnknownNameError("model", name, models)
    cfg = Config.fromfile(models[name])
    if "model" not in cfg:
        raise ValueError(f"{models[name]}: a model config must define `model`")
    if arch is not None:
        cfg.model.clip.arch = arch
    if frames is not None:
        cfg.model.num_frames = frames
    if pretrained != "keep":
        cfg.model.clip.pretrained = pretrained
    return cfg


def build_model(name: str, **overrides: Any) -> nn.Module:
    from mmaction.registry import MODELS

    return MODELS.build(load_model_config(name, **overrides).model)
