"""Recipes: what a run trains with. A model config's ``recipe`` is its native recipe on real data;
the mini benchmark runs every model on ``MINI_RECIPE``, which a config's ``mini = dict(...)`` overrides
in part. A recipe's ``model`` entries override the model config, its ``protocols`` and ``datasets``
entries the recipe in that protocol and when training on that dataset (``stage_recipe``); an
``optimizer`` entry changes only the keys it names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmengine.config import Config

DEFAULT_OPTIMIZER = dict(type="AdamW", lr=1e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.2)

# The SSv2 role trains longer: its sets are small (12-96 clips) and
# time order is learnt only after a few hundred steps; a checkpoint (to resume from) every 10 epochs.
MINI_RECIPE = dict(
    epochs=4,
    batch_size=16,
    eval_batch_size=32,
    optimizer=DEFAULT_OPTIMIZER,
    warmup_epochs=0,
    test_crops=1,
    datasets=dict(ssv2=dict(epochs=100, checkpoint_interval=10)),
)


def override(recipe: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``recipe`` with ``changes``; an ``optimizer`` change keeps the optimizer keys it does not name."""
    out = dict(recipe, **changes)
    if "optimizer" in changes and "optimizer" in recipe:
        out["optimizer"] = dict(recipe["optimizer"], **changes["optimizer"])
    return out


def stage_recipe(recipe: Mapping[str, Any], stage: Mapping[str, Any], protocol: str | None = None) -> dict[str, Any]:
    """The recipe for one stage: the model's, overridden by its entries for the protocol
    (``protocols``), then for the dataset the stage trains on (``datasets``, the protocol's own first)."""
    by_protocol = dict(recipe.get("protocols", {}).get(protocol, {}))
    dataset = (stage.get("train") or {}).get("dataset")
    out = {k: v for k, v in recipe.items() if k not in ("protocols", "datasets")}
    out = override(out, {k: v for k, v in by_protocol.items() if k != "datasets"})
    out = override(out, recipe.get("datasets", {}).get(dataset, {}))
    return override(out, by_protocol.get("datasets", {}).get(dataset, {}))


def native_recipe(cfg: Config, recipe_kind: str = "native") -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model changes, recipe)`` on real data: the config's own recipe, or (``common``) the same
    frames, views and normalisation for every model."""
    recipe = dict(cfg.get("recipe", {}))
    if recipe_kind != "common":
        return {}, recipe
    changes = dict(num_frames=8, data_preprocessor=dict(type="VideoTextPreprocessor", normalization="clip"))
    return changes, dict(recipe, test_crops=1)


def mini_recipe(cfg: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model changes, recipe)`` on the mini benchmark: ``MINI_RECIPE`` with the config's ``mini``."""
    recipe = override(MINI_RECIPE, cfg.get("mini", {}))
    return recipe.pop("model", {}), recipe
