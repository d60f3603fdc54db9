"""Video decoding with decord and PyAV as a fallback, failing with the name of the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmaction.datasets.transforms import DecordDecode, DecordInit, PyAVDecode, PyAVInit
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ezclip.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

_BACKENDS = {"decord": (DecordInit, DecordDecode), "pyav": (PyAVInit, PyAVDecode)}


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open a video with the first backend that can, e.g. ``backends=('decord', 'pyav')``.

    decord fails on some codecs and containers (AV1, some SSv2 webm files) that PyAV reads;
    the backend used is kept in the results for ``VideoDecode``. A video that no backend can
    open raises an ``InputError`` naming the file and every backend's reason.
    """

    def __init__(self, backends: Sequence[str] = ("decord", "pyav")) -> None:
        unknown = set(backends) - set(_BACKENDS)
        if not backends or unknown:
            raise ValueError(f"unknown video backend(s) {sorted(unknown)}; choose from {sorted(_BACKENDS)}")
        self.backends = tuple(backends)
        self._init = {name: _BACKENDS[name][0]() for name in self.backends}

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        reasons = []
        for name in self.backends:
            try:
                results = self._init[name](results)
            except Exception as exc:  # decord and av raise their own error types
                reasons.append(f"{name}: {type(exc).__name__}: {_first_line(exc)}")
                continue
            if results["total_frames"] <= 0:
                reasons.append(f"{name}: no frames")
                continue
            results["video_backend"], results["video_backends"] = name, self.backends
            return results
        raise InputError(results["filename"], "cannot decode video (" + "; ".join(reasons) + ")")


@TRANSFORMS.register_module()
class VideoDecode(BaseTransform):
    """Decode the sampled frames with the backend ``VideoInit`` chose, falling back to the next
    configured backend if it fails (decord 0.6.0, for one, fails on some frame sizes that PyAV reads)."""

    def __init__(self) -> None:
        self._init = {name: init() for name, (init, _) in _BACKENDS.items()}
        self._decode = {name: decode() for name, (_, decode) in _BACKENDS.items()}

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        chosen = results["video_backend"]
        reasons = []
        for name in results["video_backends"][results["video_backends"].index(chosen) :]:
            try:
                if name != chosen:
                    results = self._init[name](results)
                results = self._decode[name](results)
                results["video_backend"] = name
                return results
            except Exception as exc:  # decord and av raise their own error types
                reasons.append(f"{name}: {type(exc).__name__}: {_first_line(exc)}")
        raise InputError(results["filename"], "cannot decode the sampled frames (" + "; ".join(reasons) + ")")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
