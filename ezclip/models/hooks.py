"""Hand each loop's class set (and descriptions) from its dataset to the recognizer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import set_random_seed

from ezclip.data.lists import read_descriptions

if TYPE_CHECKING:
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader


@HOOKS.register_module()
class ClassTextHook(Hook):
    """Before each train, val and test epoch, set the model's class set to the dataset's
    ``metainfo['classes']`` (and descriptions from ``metainfo['description_file']`` if present).
    The model keeps text features per class set, so switching back and forth re-encodes only when
    the set really changes."""

    priority = "VERY_HIGH"

    def _apply(self, runner: Runner, loader: DataLoader) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        meta = loader.dataset.metainfo
        classes = list(meta["classes"])
        descriptions = meta.get("description_file")
        model.set_classes(classes, read_descriptions(descriptions, classes) if descriptions else None)

    def before_train_epoch(self, runner: Runner) -> None:
        self._apply(runner, runner.train_dataloader)

    def before_val_epoch(self, runner: Runner) -> None:
        self._apply(runner, runner.val_dataloader)

    def before_test_epoch(self, runner: Runner) -> None:
        self._apply(runner, runner.test_dataloader)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed every random generator at the start of each training epoch from (seed, epoch), so a run
    resumed from an epoch checkpoint draws the same augmentations and templates as an uninterrupted one
    (mmengine restores weights, optimizer and schedule, but not the generators' states)."""

    priority = "VERY_HIGH"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def before_train_epoch(self, runner: Runner) -> None:
        set_random_seed(self.seed * 100_003 + runner.epoch)
