"""Optimizer construction that mmengine's ``paramwise_cfg`` cannot express."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor

if TYPE_CHECKING:
    import torch
    from mmengine.optim import OptimWrapper


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class OfficialParamGroupsConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups built by the model's own ``official_param_groups(lr, weight_decay, **paramwise_cfg)``,
    for optimizers whose official rules mmengine's ``custom_keys`` cannot express (X-CLIP's)."""

    def __call__(self, model: torch.nn.Module) -> OptimWrapper:
        model = model.module if is_model_wrapper(model) else model
        optimizer_cfg = copy.deepcopy(self.optimizer_cfg)
        optimizer_cfg["params"] = model.official_param_groups(
            lr=optimizer_cfg["lr"], weight_decay=optimizer_cfg.get("weight_decay", 0.0), **self.paramwise_cfg
        )
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(
            dict(dict(type="OptimWrapper"), **self.optim_wrapper_cfg), default_args=dict(optimizer=optimizer)
        )
