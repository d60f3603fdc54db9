"""Runner hooks: hand each loop's class set (and descriptions) from its dataset to the recognizer;
re-seed per epoch; keep a training's wall time across resumes; show progress."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

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


@HOOKS.register_module()
class TrainTimeHook(Hook):
    """A training's wall time over every attempt: each checkpoint stores the time trained up to it, a
    resumed run starts from that (time spent after the last checkpoint of a killed attempt is lost
    with its work) and says which epoch it continued from."""

    META_KEY = "ezclip_train_wall_s"

    def __init__(self) -> None:
        self.start, self.end = time.time(), None
        self.before_s = 0.0  # trained before this process, up to the checkpoint it resumed from
        self.resumed_from_epoch = None

    def before_run(self, runner: Runner) -> None:
        self.start = time.time()

    def after_train(self, runner: Runner) -> None:
        self.end = time.time()

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get("meta", {})
        self.before_s = float(meta.get(self.META_KEY, 0.0))
        self.resumed_from_epoch = int(meta.get("epoch", 0))

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict[str, Any]) -> None:
        checkpoint.setdefault("meta", {})[self.META_KEY] = self.total_s

    @property
    def this_process_s(self) -> float:
        return (self.end or time.time()) - self.start

    @property
    def total_s(self) -> float:
        return self.before_s + self.this_process_s


@HOOKS.register_module()
class ProgressHook(Hook):
    """A progress bar with rate and time left for training and evaluation (tqdm), on the main process:
    redrawn on a terminal, one line every ``interval_s`` seconds in a log file (a Slurm job's)."""

    priority = "LOW"

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s, self.bar = interval_s, None

    def _open(self, total: int, what: str) -> None:
        from mmengine.dist import is_main_process
        from tqdm import tqdm

        if is_main_process():
            tty = sys.stderr.isatty()
            self.bar = tqdm(total=total, desc=what, unit="batch", mininterval=1.0 if tty else self.interval_s)

    def _step(self, **postfix: Any) -> None:
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def before_train(self, runner: Runner) -> None:
        self._open(runner.max_iters - runner.iter, f"training ({getattr(runner, 'max_epochs', 1)} epochs)")

    def after_train_iter(self, runner: Runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else None
        if hasattr(loss, "detach"):  # a training step's loss tensor, still in its graph
            loss = loss.detach()
        self._step(**({"loss": f"{float(loss):.3f}"} if loss is not None else {}), epoch=runner.epoch + 1)

    def after_train(self, runner: Runner) -> None:
        self._close()

    def before_test_epoch(self, runner: Runner) -> None:
        self._open(len(runner.test_dataloader), "evaluating")

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self._step()

    def after_test_epoch(self, runner: Runner, metrics: Any = None) -> None:
        self._close()
