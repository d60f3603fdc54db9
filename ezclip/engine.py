"""mmengine Runner configs for the harness's jobs: one place that turns a model and data lists into
what the Runner needs, so training and evaluation always take the same path."""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from mmengine.runner import Runner

from ezclip.data.pipelines import eval_pipeline, train_pipeline
from ezclip.recipes import DEFAULT_OPTIMIZER

PRECISIONS = ("fp32", "fp16", "bf16")


def data_split(
    ann_file: str | Path,
    class_file: str | Path,
    data_root: str | Path = "",
    description_file: str | Path | None = None,
    on_error: str = "raise",
    subset: int | None = None,
    probe_cache: str | Path | None = None,
    frame_checks: str | Path | None = None,
) -> dict[str, Any]:
    """The dataset part of a loader: a list file and its class CSV (and descriptions)."""
    return dict(
        probe_cache=str(probe_cache) if probe_cache else None,
        frame_checks=str(frame_checks) if frame_checks else None,
        type="VideoListDataset",
        ann_file=str(ann_file),
        class_file=str(class_file),
        data_prefix=dict(video=str(data_root)),
        on_error=on_error,
        subset=subset,
        description_file=str(description_file) if description_file else None,
    )


def loader(
    dataset: Mapping[str, Any],
    pipeline: list[dict[str, Any]],
    batch_size: int,
    train: bool,
    num_workers: int = 0,
) -> dict[str, Any]:
    # evaluation: no shuffling and no padding, so every listed video is seen exactly once
    sampler = (
        dict(type="DefaultSampler", shuffle=True)
        if train
        else dict(type="DefaultSampler", shuffle=False, round_up=False)
    )
    return dict(
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        # workers start from a clean server process, not a fork of this one: a fork inherits the state of
        # FFmpeg's threads wherever this process decoded before (probing, a fallback), and such workers
        # hung or crashed (benchmarks/test_decode.py, PyAV with 1 worker)
        **({"multiprocessing_context": "forkserver"} if num_workers > 0 else {}),
        pin_memory=torch.cuda.is_available(),
        sampler=sampler,
        drop_last=False,
        dataset=dict(dataset, pipeline=pipeline, test_mode=not train),
    )


def runner_config(
    model: dict[str, Any] | torch.nn.Module,
    work_dir: str | Path,
    train: Mapping[str, Any] | None = None,
    val: Mapping[str, Any] | None = None,
    test: Mapping[str, Any] | None = None,
    input_size: int = 224,
    test_crops: int = 1,
    test_clips: int = 1,
    test_preprocessing: str = "mmaction2",
    flip: bool = True,
    randaugment: Mapping[str, int] | None = None,
    blending: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
    max_epochs: int = 1,
    max_iters: int | None = None,
    optimizer: Mapping[str, Any] = DEFAULT_OPTIMIZER,
    paramwise_cfg: Mapping[str, Any] | None = None,
    optim_constructor: str | None = None,
    warmup_epochs: int = 0,
    min_lr_ratio: float = 0.0,
    accumulation: int = 1,
    seed: int = 0,
    log_interval: int = 10,
    log_level: str = "WARNING",
    reversal_pairs: Iterable[Sequence[int]] = (),
    checkpoint: bool = False,
    checkpoint_interval: int = 1,
    resume: bool = False,
    precision: str = "fp32",
    progress: bool = False,
) -> dict[str, Any]:
    """A complete mmengine config dict; ``train``/``val``/``test`` are ``data_split`` dicts or None.

    ``batch_size`` is per process; ``accumulation`` optimizer steps are taken every that many batches
    (mmengine's ``accumulative_counts``). ``min_lr_ratio``: the cosine schedule's floor, a fraction of
    the learning rate (X-CLIP's ``lr_min = lr / 100``). ``randaugment`` (train pipeline) and ``blending``
    (mixup/cutmix in the model's preprocessor, ``ezclip.recipes.blending``) apply to training;
    ``test_clips`` x ``test_crops`` views, by ``test_preprocessing`` (``pipelines.TEST_PREPROCESSING``), to evaluation.
    ``precision``: 'fp32', or 'fp16'/'bf16' autocast: training through mmengine's AmpOptimWrapper (GPUs
    only), evaluation through the loops' autocast (fp16 on a GPU, bf16 on a CPU; see ``eval_dtype``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if isinstance(model, dict):  # a built model is used as it is: evaluations follow its training
        model = copy.deepcopy(model)
    frames = model["num_frames"] if isinstance(model, dict) else model.num_frames
    eval_batch_size = eval_batch_size or batch_size
    cfg = dict(
        default_scope="mmaction",
        custom_imports=dict(imports=["ezclip"], allow_failed_imports=False),
        model=model,
        work_dir=str(work_dir),
        randomness=dict(seed=seed, deterministic=False),
        env_cfg=dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork"), dist_cfg=dict(backend="gloo")),
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=log_interval),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(type="CheckpointHook", interval=checkpoint_interval, save_last=True, max_keep_ckpts=1)
            if checkpoint
            else None,
            sampler_seed=dict(type="DistSamplerSeedHook"),
        ),
        custom_hooks=[dict(type="ClassTextHook"), dict(type="EpochSeedHook", seed=seed)]
        + ([dict(type="ProgressHook")] if progress else []),
        resume=resume,  # continue from the work dir's last checkpoint, if there is one
        log_processor=dict(type="LogProcessor", window_size=10, by_epoch=max_iters is None),
        log_level=log_level,
        launcher="none",
    )
    if train is not None:
        _set_blending(cfg["model"], blending)
        cfg["custom_hooks"].append(dict(type="TrainTimeHook"))
        cfg["train_dataloader"] = loader(
            train,
            train_pipeline(frames, input_size, flip=flip, randaugment=dict(randaugment) if randaugment else None),
            batch_size,
            True,
            num_workers,
        )
        if max_iters is not None:
            cfg["train_cfg"] = dict(
                type="IterBasedTrainLoop",
                max_iters=max_iters,
                val_interval=max_iters if val is not None else max_iters + 1,
            )
        else:
            cfg["train_cfg"] = dict(
                type="EpochBasedTrainLoop",
                max_epochs=max_epochs,
                val_interval=max_epochs if val is not None else max_epochs + 1,
            )
        cfg["optim_wrapper"] = dict(
            optimizer=dict(optimizer),
            **({"accumulative_counts": accumulation} if accumulation > 1 else {}),
            **({"paramwise_cfg": paramwise_cfg} if paramwise_cfg else {}),
            **({"constructor": optim_constructor} if optim_constructor else {}),
        )
        if precision != "fp32":
            if not torch.cuda.is_available():
                raise ValueError(
                    f"{precision} mixed-precision training needs a GPU (mmengine's AmpOptimWrapper); "
                    "train in fp32 on a CPU"
                )
            cfg["optim_wrapper"].update(
                type="AmpOptimWrapper", dtype={"fp16": "float16", "bf16": "bfloat16"}[precision]
            )
        cfg["param_scheduler"] = _schedule(max_epochs, warmup_epochs, min_lr_ratio) if max_iters is None else []
    for name, split in (("val", val), ("test", test)):
        if split is not None:
            cfg[f"{name}_dataloader"] = loader(
                split,
                eval_pipeline(frames, input_size, crops=test_crops, clips=test_clips, preprocessing=test_preprocessing),
                eval_batch_size,
                False,
                num_workers,
            )
            cfg[f"{name}_evaluator"] = dict(type="VideoAccMetric", reversal_pairs=[list(p) for p in reversal_pairs])
            cfg[f"{name}_cfg"] = dict(type=f"{name.capitalize()}Loop", fp16=precision != "fp32")
    return cfg


def _set_blending(model: dict[str, Any] | torch.nn.Module, blending: Mapping[str, Any] | None) -> None:
    """Give the model's preprocessor the batch blending (or none) training is to use."""
    if isinstance(model, dict):
        if blending:
            preprocessor = model.get("data_preprocessor", dict(type="VideoTextPreprocessor"))
            model["data_preprocessor"] = dict(preprocessor, blending=dict(blending))
    else:
        from mmaction.registry import MODELS

        model.data_preprocessor.blending = MODELS.build(dict(blending)) if blending else None


def eval_dtype(precision: str) -> str:
    """The dtype evaluation actually computes in: mmengine's loop autocast is fp16 on GPUs, bf16 on CPUs."""
    if precision == "fp32":
        return "float32"
    return "float16" if torch.cuda.is_available() else "bfloat16"


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def main_rank() -> bool:
    """Whether this is the process that speaks and writes (rank 0 under torchrun/Slurm, or alone); known
    from the environment before the process group exists."""
    return int(os.environ.get("RANK", "0")) == 0


FRAMES_PER_DEVICE = 128  # X-CLIP's and ViFi-CLIP's 4 videos x 32 frames per GPU


def batch_plan(global_batch: int, frames: int, per_device: int | None = None, processes: int = 1) -> dict[str, int]:
    """How a recipe's global batch (what the original trained with) is made on ``processes`` processes:
    ``per_device`` videos per step (default: ``FRAMES_PER_DEVICE`` frames' worth, at most the global batch's
    share), accumulated over ``accumulation`` steps; ``global`` is what that gives (the recipe's batch,
    rounded up when it does not divide)."""
    share = max(1, global_batch // processes)
    per_device = min(per_device or max(1, FRAMES_PER_DEVICE // frames), share)
    accumulation = max(1, -(-global_batch // (per_device * processes)))
    return dict(
        recipe=global_batch,
        per_device=per_device,
        processes=processes,
        accumulation=accumulation,
        effective=per_device * processes * accumulation,
    )


def default_workers(processes: int = 1) -> int:
    """Data-loader workers per process: the CPUs per process less one for the process itself, at most 8."""
    return min(8, max(1, (os.cpu_count() or 1) // processes - 1))


def init_distributed() -> bool:
    """Under torchrun/Slurm (WORLD_SIZE > 1), join the process group once: NCCL on GPUs, gloo on CPUs.
    Evaluation then shards its list across processes and gathers every result; only training wraps
    the model in DDP (a frozen model has nothing to synchronise)."""
    if world_size() > 1 and not torch.distributed.is_initialized():
        from mmengine.dist import init_dist

        init_dist("pytorch", backend="nccl" if torch.cuda.is_available() else "gloo")
    return world_size() > 1


_RUNNER_NUMBERS = itertools.count()  # the same sequence in every process of a job


def make_runner(cfg: dict[str, Any]) -> Runner:
    """A Runner for ``cfg``; ``cfg['model']`` may be a config dict or a built model (reused across the
    evaluations of one trained model)."""
    from mmengine.config import Config

    if init_distributed() and "train_dataloader" in cfg:
        cfg = dict(cfg, launcher="pytorch")
        if not torch.cuda.is_available():  # DDP on CPU takes no device ids
            cfg["model_wrapper_cfg"] = dict(type="MMDistributedDataParallel", device_ids=None, broadcast_buffers=False)
    # mmengine names a Runner's logger, visualizer and scope by its start second unless given a name, and
    # warns (three times) for every Runner started in a second another one started in
    cfg = dict(cfg, experiment_name=cfg.get("experiment_name") or f"ezclip{next(_RUNNER_NUMBERS)}")
    if isinstance(cfg["model"], dict):
        return Runner.from_cfg(Config(cfg))
    kwargs = {k: v for k, v in cfg.items() if k not in ("custom_imports", "model_wrapper_cfg")}
    if "model_wrapper_cfg" in cfg:  # the Runner reads it from its full config, not from an argument
        kwargs["cfg"] = dict(model_wrapper_cfg=cfg["model_wrapper_cfg"])
    return Runner(**kwargs)


def _schedule(max_epochs: int, warmup_epochs: int, min_lr_ratio: float = 0.0) -> list[dict[str, Any]]:
    """Linear warm-up from (almost) 0, then cosine to ``min_lr_ratio`` of the learning rate (0: EZ-CLIP's
    and ActionCLIP's shape), stepped per iteration."""
    steps = []
    if warmup_epochs:
        steps.append(
            dict(
                type="LinearLR",
                start_factor=1e-3,
                by_epoch=True,
                begin=0,
                end=warmup_epochs,
                convert_to_iter_based=True,
            )
        )
    if max_epochs > warmup_epochs:
        steps.append(
            dict(
                type="CosineAnnealingLR",
                **({"eta_min_ratio": min_lr_ratio} if min_lr_ratio else {"eta_min": 0.0}),
                by_epoch=True,
                begin=warmup_epochs,
                end=max_epochs,
                T_max=max_epochs - warmup_epochs,
                convert_to_iter_based=True,
            )
        )
    return steps
