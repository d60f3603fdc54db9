"""Checkpoints from outside opened without running their code.

A pickle can name any function to call while it loads (``os.system`` through an object's
``__reduce__``), and the released checkpoints come from Google Drive, OneDrive and Baidu links with no
published sha256. ``load_official`` reads them through an unpickler that resolves only the globals such
files hold: torch's own tensor and storage rebuilders (torch's ``weights_only`` list), X-CLIP's and
ViFi-CLIP's yacs ``CfgNode`` configs (a dict subclass, which torch's ``weights_only`` loader refuses to
fill), numpy scalars and arrays, and torch's version object; any other global refuses the file by name
before anything from it runs."""

from __future__ import annotations

import _compat_pickle
import pickle
from pathlib import Path
from typing import Any

from ezclip.errors import InputError

# besides torch's weights_only globals: what the official layouts (and numbers saved from numpy) pickle
OFFICIAL_GLOBALS = frozenset(
    {
        "yacs.config.CfgNode",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "torch.torch_version.TorchVersion",
    }
)


class RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def _allowed() -> frozenset[str]:
    from torch._weights_only_unpickler import _get_allowed_globals  # torch's list for weights_only=True

    return frozenset(_get_allowed_globals()) | OFFICIAL_GLOBALS


class _Unpickler(pickle.Unpickler):
    allowed: frozenset[str] = frozenset()

    def find_class(self, module: str, name: str) -> Any:
        # protocol 2 pickles name Python 2's modules (__builtin__.set); pickle maps them, so map first
        py3 = _compat_pickle.NAME_MAPPING.get((module, name)) or (
            _compat_pickle.IMPORT_MAPPING.get(module, module),
            name,
        )
        if ".".join(py3) not in self.allowed:
            raise RefusedGlobal(".".join(py3))
        return super().find_class(module, name)


class _RestrictedPickle:
    """A ``pickle_module`` for ``torch.load``: pickle with ``_Unpickler``."""

    Unpickler = _Unpickler
    UnpicklingError = pickle.UnpicklingError
    load = staticmethod(lambda f, **kw: _Unpickler(f, **kw).load())


def load_official(path: str | Path) -> Any:
    """The content of a checkpoint from outside, on the CPU; an ``InputError`` naming the file (and the
    global it tried to load, if that is why) when it cannot be read safely."""
    import torch

    _Unpickler.allowed = _allowed()
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_RestrictedPickle)
    except RefusedGlobal as exc:
        raise InputError(path, f"refused: the file would load {exc.name}, which no checkpoint needs") from None
    except Exception as exc:  # torch and pickle raise many kinds for a file that is not a checkpoint
        raise InputError(path, f"not a readable checkpoint ({type(exc).__name__}: {str(exc)[:200]})") from None


def load_run_checkpoint(path: str | Path, map_location: Any = "cpu") -> Any:
    """A checkpoint this harness's Runner wrote (or converted), through torch's ``weights_only`` loader
    with the few types mmengine's message hub pickles (its loader calls only allowed functions, so
    ``getattr`` there reaches nothing else); other globals refuse the file by name."""
    import pathlib

    import numpy as np
    import torch
    from mmengine.logging.history_buffer import HistoryBuffer

    multiarray = getattr(np, "_core", np.core).multiarray
    allowed = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, getattr]
    allowed += [pathlib.PosixPath, pathlib.WindowsPath, *(t for t in vars(np.dtypes).values() if isinstance(t, type))]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        known = {f"{t.__module__}.{t.__qualname__}" for t in allowed}
        unsafe = [g for g in torch.serialization.get_unsafe_globals_in_checkpoint(path) if g not in known]
        why = f"the file would load {', '.join(unsafe)}" if unsafe else str(exc).splitlines()[0][:200]
        raise InputError(path, f"refused: {why}, which no checkpoint of a run needs") from None
