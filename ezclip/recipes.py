"""Recipes: what a run trains with. A model config's ``recipe`` is its native recipe on real data;
the mini benchmark runs every model on ``MINI_RECIPE``, which a config's ``mini = dict(...)`` overrides
in part (only where the official code differs, such as X-CLIP's parameter groups, or the tiny tower
needs it), with the learning rate and epochs chosen for each model by one rule: ``MINI_SEARCH``
(``ezclip-bench mini-search``, results committed in ``ezclip/registry/mini_recipes.json``).
A recipe's ``model`` entries override the model config, its ``protocols`` and ``datasets`` entries
the recipe in that protocol and when training on that dataset (``stage_recipe``); an ``optimizer``
entry changes only the keys it names.

The parts of a native recipe beyond the optimizer are applied as the original did, and each can be
switched off by name (``PARTS``, ``run --without``): batch blending (mixup/cutmix), RandAugment, the
test views (clips, crops), the learning-rate floor and mixed precision."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezclip import registry
from ezclip.errors import UnknownNameError

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


# The one rule that sets each model's mini learning rate and epochs: train on the mini Kinetics-400
# role's train list less a held-out part (every ``holdout_every``-th video of each class, in list order),
# score the held-out part, take the best (ties: the smaller lr, then fewer epochs). No evaluation list
# of any protocol is read. The SSv2 role's 100 epochs (``MINI_RECIPE``) are not searched.
MINI_SEARCH = dict(lrs=(1e-4, 3e-4, 1e-3, 3e-3), epochs=(4, 8), holdout_every=4, dataset="k400", list="train")
MINI_RECIPES = registry.ROOT / "mini_recipes.json"


def searched_mini_recipes(path: str | Path = MINI_RECIPES) -> dict[str, Any]:
    """The committed search results: {model: {lr, epochs, val_top1, trials, ...}}."""
    path = Path(path)
    return json.loads(path.read_text())["models"] if path.is_file() else {}


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


# name -> the recipe keys that part reads, and what switching it off leaves (``amp`` is what the original
# did, ``precision`` the harness's autocast for it)
PARTS = {
    "mixup": (("mixup_alpha", "cutmix_alpha", "mixup_switch_prob"), "no batch blending"),
    "randaugment": (("randaugment",), "no RandAugment"),
    "multiclip": (("test_clips",), "1 test clip"),
    "multicrop": (("test_crops",), "1 centre crop"),
    "lr-floor": (("min_lr_ratio",), "a cosine schedule to 0"),
    "amp": (("amp", "precision"), "fp32"),
}


def _on(recipe: Mapping[str, Any], key: str) -> bool:
    """Whether the recipe's ``key`` does something (1 test clip or crop, a floor of 0, fp32 do not)."""
    return recipe.get(key) not in (None, 0, False, "fp32") and not (key.startswith("test_") and recipe[key] == 1)


def without(recipe: Mapping[str, Any], parts: Sequence[str]) -> dict[str, Any]:
    """``recipe`` with the named ``PARTS`` switched off; those that were on are listed in its ``without``."""
    for part in parts:
        if part not in PARTS:
            raise UnknownNameError("recipe part", part, PARTS)
    dropped = sorted(p for p in parts if any(_on(recipe, key) for key in PARTS[p][0]))
    out = {k: v for k, v in recipe.items() if not any(k in PARTS[p][0] for p in dropped)}
    return dict(out, without=sorted(set(out.get("without", ())) | set(dropped))) if dropped else out


def blending(recipe: Mapping[str, Any], num_classes: int) -> dict[str, Any] | None:
    """mmaction2's batch blending for the recipe's mixup/cutmix: X-CLIP's ``CutmixMixupBlending`` (and
    ViFi-CLIP's, the same code) takes cutmix with probability ``mixup_switch_prob``, else mixup. Its label
    smoothing of the one-hot targets before mixing equals smoothing the mixed targets (it is affine), which
    the cross-entropy loss does."""
    mixup, cutmix = recipe.get("mixup_alpha", 0), recipe.get("cutmix_alpha", 0)
    if not (mixup or cutmix):
        return None
    switch = recipe.get("mixup_switch_prob", 0.5) if mixup and cutmix else float(bool(cutmix))
    augments, probs = [], []
    if cutmix:
        augments.append(dict(type="CutmixBlending", num_classes=num_classes, alpha=cutmix))
        probs.append(switch)
    if mixup:
        augments.append(dict(type="MixupBlending", num_classes=num_classes, alpha=mixup))
        probs.append(1 - switch)
    return dict(type="RandomBatchAugment", augments=augments, probs=probs)


def precision_for(requested: str, recipe: Mapping[str, Any], gpu: bool) -> str:
    """The precision a job runs in: ``requested``, or for ``'recipe'`` the recipe's mixed precision on a
    GPU (every original trained and tested in fp16) and fp32 on a CPU (mmengine's AMP needs a GPU)."""
    if requested != "recipe":
        return requested
    return recipe.get("precision", "fp32") if gpu else "fp32"


def native_recipe(cfg: Config, recipe_kind: str = "native") -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model changes, recipe)`` on real data: the config's own recipe, or (``common``) the same
    frames, views, normalisation and augmentations for every model (each keeps its optimizer and
    schedule)."""
    recipe = dict(cfg.get("recipe", {}))
    if recipe_kind != "common":
        return {}, recipe
    changes = dict(num_frames=8, data_preprocessor=dict(type="VideoTextPreprocessor", normalization="clip"))
    common = without(recipe, ("mixup", "randaugment", "multiclip", "multicrop", "amp"))
    common.pop("test_preprocessing", None)  # mmaction2's, the default
    return changes, dict(common, test_crops=1)


def mini_recipe(cfg: Config, searched: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model changes, recipe)`` on the mini benchmark: ``MINI_RECIPE`` with the config's ``mini``,
    and the learning rate and epochs ``MINI_SEARCH`` chose for the model (an ablation keeps the one of
    the model it ablates); the choice and its held-out accuracy go into the recipe, so into every record."""
    recipe = override(MINI_RECIPE, cfg.get("mini", {}))
    # a model's own test preprocessing is its code path, on the mini benchmark as on real data
    if "test_preprocessing" in cfg.get("recipe", {}):
        recipe.setdefault("test_preprocessing", cfg["recipe"]["test_preprocessing"])
    name = (cfg.get("ablation") or {}).get("of") or (Path(cfg.filename).stem if cfg.filename else None)
    found = searched_mini_recipes().get(name) if searched else None
    if found is not None:
        recipe = override(recipe, dict(optimizer=dict(lr=found["lr"]), epochs=found["epochs"]))
        recipe["search"] = dict(
            rule="MINI_SEARCH", lr=found["lr"], epochs=found["epochs"], val_top1=found["val_top1"], of=name
        )
    return recipe.pop("model", {}), recipe
