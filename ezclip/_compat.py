"""Runtime fixes for the pinned stack (constraints.txt), applied once on ``import ezclip``.

Each fix is a no-op where the problem is absent, so a CUDA install with matching
torch/torchvision and a fixed mmaction2 pass through untouched. The breaks and why
these are the smallest fixes are written up in docs/architecture.md ("Dependency stack").
Must run before anything imports torchvision (open_clip and timm do).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

_TORCHVISION_OPS: torch.library.Library | None = None


def _declare_torchvision_ops() -> None:
    """PyPI's torchvision 0.28 is a CUDA build: its _C.so needs libtorch_cuda and does not load
    beside the CPU torch, and then ``import torchvision`` dies in register_fake('torchvision::nms').
    Declaring the op schemas lets torchvision import (transforms and models work; ops.nms raises)."""
    global _TORCHVISION_OPS
    if "torchvision" in sys.modules or _TORCHVISION_OPS is not None:
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    pkg = spec.submodule_search_locations[0]
    for name in os.listdir(pkg):
        if name.startswith("_C") and name.endswith(".so"):
            try:
                torch.ops.load_library(os.path.join(pkg, name))
                return  # a torchvision that matches this torch
            except OSError:
                break
    _TORCHVISION_OPS = torch.library.Library("torchvision", "DEF")
    _TORCHVISION_OPS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _TORCHVISION_OPS.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


def _stub_missing_mmaction_drn() -> None:
    """mmaction2 1.2.0's wheel lacks models/localizers/drn/ (no __init__.py, so setuptools skipped
    it) while localizers/__init__.py imports it. DRN is a localizer this project never uses."""
    name = "mmaction.models.localizers.drn"
    spec = importlib.util.find_spec("mmaction")
    if name in sys.modules or spec is None or not spec.submodule_search_locations:
        return
    if os.path.exists(os.path.join(spec.submodule_search_locations[0], "models", "localizers", "drn", "drn.py")):
        return
    pkg, mod = types.ModuleType(name), types.ModuleType(name + ".drn")
    pkg.__path__ = []

    class DRN:  # deliberately not registered
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError("DRN is missing from the mmaction2 1.2.0 distribution on PyPI")

    mod.DRN, pkg.drn = DRN, mod
    sys.modules[name], sys.modules[name + ".drn"] = pkg, mod


def _numpy2_aliases() -> None:
    """mmaction2 1.2.0 still calls np.Inf, np.trapz and np.in1d, which numpy 2.x removed."""
    for old, new in (("Inf", "inf"), ("trapz", "trapezoid"), ("in1d", "isin")):
        if old not in np.__dict__ and hasattr(np, new):
            setattr(np, old, getattr(np, new))


def _colorjitter_hue_numpy2() -> None:
    """mmaction2's ColorJitter.adjust_hue adds a negative Python int to a uint8 array, which numpy 2
    (NEP 50) rejects with OverflowError for every negative hue shift. Same arithmetic, in int16."""
    import cv2
    from mmaction.datasets.transforms.processing import ColorJitter

    def adjust_hue(img: np.ndarray, factor: float) -> np.ndarray:
        img = np.clip(img, 0, 255).astype(np.uint8)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + int(factor * 255)) % 180).astype(np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)

    ColorJitter.adjust_hue = staticmethod(adjust_hue)


def _load_own_checkpoints() -> None:
    """torch>=2.6 loads with weights_only=True, but mmengine 0.10.7 checkpoints carry message-hub
    state (HistoryBuffer, numpy scalars), so Runner(load_from=...)/resume fail to unpickle.
    Re-register mmengine's local-file loader with those types allowed (``load_run_checkpoint``)."""
    import os.path as osp

    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename: str, map_location: Any) -> Any:
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f"checkpoint {filename} not found")
        from ezclip.checkpoints import load_run_checkpoint  # the few types mmengine's message hub pickles

        return load_run_checkpoint(filename, map_location)

    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local, force=True)


def _cpu_pytorch_launcher() -> None:
    """mmengine 0.10.7's pytorch launcher calls torch.cuda.set_device unconditionally, so torchrun on
    CPU-only machines (gloo) fails before the process group exists. Without CUDA, initialise the
    process group directly; with CUDA, mmengine's own function runs unchanged."""
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils

    original = dist_utils._init_dist_pytorch
    if getattr(original, "_ezclip_cpu", False):
        return

    def init_dist_pytorch(backend: str = "nccl", init_backend: str = "torch", **kwargs: Any) -> None:
        if torch.cuda.is_available() or init_backend != "torch":
            return original(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(backend="gloo", **kwargs)

    init_dist_pytorch._ezclip_cpu = True
    dist_utils._init_dist_pytorch = init_dist_pytorch


def _atomic_local_writes() -> None:
    """mmengine writes checkpoints and the ``last_checkpoint`` pointer straight to their final names, so
    a kill mid-write leaves a truncated checkpoint or an empty pointer that resume then trusts. Local
    writes go through a temporary file and a rename instead (one mechanism for every mmengine write)."""
    from mmengine.fileio.backends.local_backend import LocalBackend

    if getattr(LocalBackend.put, "_ezclip_atomic", False):
        return

    from ezclip.files import atomic_path

    def replace_atomically(filepath: str | Path, data: bytes | str, mode: str, **kwargs: Any) -> None:
        with atomic_path(filepath) as tmp, open(tmp, mode, **kwargs) as f:
            f.write(data)

    def put(self: LocalBackend, obj: bytes, filepath: str | Path) -> None:
        replace_atomically(filepath, obj, "wb")

    def put_text(self: LocalBackend, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        replace_atomically(filepath, obj, "w", encoding=encoding)

    put._ezclip_atomic = True
    LocalBackend.put, LocalBackend.put_text = put, put_text


# Messages of the libraries that say nothing about a run here; silenced in this one place.
HARMLESS_WARNINGS = (
    "Fail to import ``MultiScaleDeformableAttention``",  # mmcv-lite has no compiled ops; nothing here uses them
    # torch's own modules script functions on import (torch.distributed.optim, through mmengine's optimizers)
    "`torch.jit.script` is deprecated",
    "`torch.jit.interface` is deprecated",
    "`torch.jit.load` is deprecated",  # reading OpenAI's TorchScript CLIP files (ezclip.clip)
    # with gradient accumulation mmengine steps the schedule every micro-batch (its steps count micro-batches,
    # as X-CLIP's step_update(epoch * num_steps + idx) does), so the first ones step it before the optimizer
    "Detected call of `scheduler.step()` before `optimizer.step()`",
)
HARMLESS_LOG_MESSAGES = (
    '"FileClient" will be deprecated',  # mmengine's own hooks still build one
    '"HardDiskBackend" is the alias of "LocalBackend"',
    "Did not find last_checkpoint to be resumed",  # a fresh training; the harness says when it resumes
    "No pretrained weights loaded for model",  # open_clip on every random init; records name the weights
)


def _quiet_harmless_messages() -> None:
    """Filter the known-harmless warnings (``HARMLESS_WARNINGS``) and log lines of mmengine's and
    open_clip's loggers (``HARMLESS_LOG_MESSAGES``); everything else still shows."""
    import logging
    import warnings

    for message in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{message}")

    def harmless(record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(message in text for message in HARMLESS_LOG_MESSAGES)

    if getattr(logging.getLogger(), "_ezclip_quiet", False):
        return
    logging.getLogger()._ezclip_quiet = True
    logging.getLogger().addFilter(harmless)  # open_clip logs on the root logger

    from mmengine.logging import MMLogger

    for logger in MMLogger._instance_dict.values():  # those made before (mmengine's own, on import)
        logger.addFilter(harmless)
    import mmengine.runner.checkpoint as checkpoint

    print_log = checkpoint.print_log  # it prints its "no checkpoint to resume" with print()

    def quiet_print_log(msg: Any, *args: Any, **kwargs: Any) -> None:
        if not any(message in str(msg) for message in HARMLESS_LOG_MESSAGES):
            print_log(msg, *args, **kwargs)

    checkpoint.print_log = quiet_print_log
    init = MMLogger.__init__

    def quiet_init(self: MMLogger, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.addFilter(harmless)

    MMLogger.__init__ = quiet_init


def _pyav_before_decord() -> None:
    """PyAV's FFmpeg libraries load before decord's: decord 0.6 bundles an FFmpeg 4 whose symbols,
    loaded first, shadow PyAV's, and PyAV's libvpx encoder then fails to open (EINVAL)."""
    import av  # noqa: F401


def apply() -> None:
    _pyav_before_decord()
    _declare_torchvision_ops()
    _quiet_harmless_messages()
    _numpy2_aliases()
    _stub_missing_mmaction_drn()
    _colorjitter_hue_numpy2()
    _load_own_checkpoints()
    _cpu_pytorch_launcher()
    _atomic_local_writes()
