"""Video decoding with decord and PyAV as a fallback, and folders of pre-extracted frames (EZ-CLIP's and
ActionCLIP's ``img_00001.jpg`` layout), failing with the name of the file.

Frames come out upright whichever backend decodes them: decord turns a video by its rotation flag (the
display matrix phones write), mmaction2's PyAV decoding does not, so ``UprightPyAVDecode`` does."""

from __future__ import annotations

import os.path as osp
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mmaction.datasets.transforms import DecordDecode, DecordInit, PyAVDecode, PyAVInit, RawFrameDecode
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ezclip.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence


class UprightPyAVDecode(PyAVDecode):
    """mmaction2's PyAV decoding (its default, accurate mode: every frame up to the last sampled one),
    each frame turned by its rotation flag (counter-clockwise degrees), as decord turns them."""

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        inds = np.atleast_1d(np.squeeze(results["frame_inds"]))
        imgs = []
        for frame in results["video_reader"].decode(video=0):
            imgs.append(np.rot90(frame.to_rgb().to_ndarray(), round(frame.rotation / 90) % 4))
            if len(imgs) > inds.max() + 1:
                break
        results["imgs"] = [np.ascontiguousarray(imgs[i % len(imgs)]) for i in inds]  # too few frames: loop
        results["original_shape"] = results["img_shape"] = results["imgs"][0].shape[:2]
        results["video_reader"] = None
        return results


_BACKENDS = {"decord": (DecordInit, DecordDecode), "pyav": (PyAVInit, UprightPyAVDecode)}
FRAME_TEMPLATE = "img_{:05d}.jpg"  # the official EZ-CLIP / ActionCLIP extraction (first frame img_00001.jpg)


def count_frames(folder: str | Path, template: str = FRAME_TEMPLATE) -> int:
    """Frames in a folder of pre-extracted ones: the consecutive files of ``template`` from 1."""
    count = 0
    while osp.isfile(osp.join(folder, template.format(count + 1))):
        count += 1
    return count


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open a video with the first backend that can, e.g. ``backends=('decord', 'pyav')``.

    decord fails on some codecs and containers (AV1, some SSv2 webm files) that PyAV reads;
    the backend used is kept in the results for ``VideoDecode``. A video that no backend can
    open raises an ``InputError`` naming the file and every backend's reason.

    A folder instead of a file holds pre-extracted frames named ``frame_template`` from 1: its frame
    count is the list's (``path num_frames label``) or the files there, and its frames are sampled
    exactly as a video's (frame i of the video is file i + 1).
    """

    def __init__(self, backends: Sequence[str] = ("decord", "pyav"), frame_template: str = FRAME_TEMPLATE) -> None:
        unknown = set(backends) - set(_BACKENDS)
        if not backends or unknown:
            raise ValueError(f"unknown video backend(s) {sorted(unknown)}; choose from {sorted(_BACKENDS)}")
        self.backends, self.frame_template = tuple(backends), frame_template
        self._init = {name: _BACKENDS[name][0]() for name in self.backends}

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        if osp.isdir(results["filename"]):
            return self._frames(results)
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

    def _frames(self, results: dict[str, Any]) -> dict[str, Any]:
        folder = results["filename"]
        total = results.get("listed_frames") or count_frames(folder, self.frame_template)
        if total <= 0:
            raise InputError(folder, f"a folder without frames named like {self.frame_template.format(1)}")
        results.update(
            frame_dir=folder,
            total_frames=total,
            filename_tmpl=self.frame_template,
            start_index=1,  # SampleFrames adds it: the video's frame i is file i + 1
            video_backend="frames",
            video_backends=("frames",),
        )
        return results


@TRANSFORMS.register_module()
class VideoDecode(BaseTransform):
    """Decode the sampled frames with the backend ``VideoInit`` chose, falling back to the next
    configured backend if it fails (decord 0.6.0, for one, fails on some frame sizes that PyAV reads)."""

    def __init__(self) -> None:
        self._init = {name: init() for name, (init, _) in _BACKENDS.items()}
        self._decode = {name: decode() for name, (_, decode) in _BACKENDS.items()}
        self._frames = RawFrameDecode()

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        chosen = results["video_backend"]
        if chosen == "frames":
            try:
                return self._frames(results)
            except Exception as exc:  # a missing or unreadable frame file
                raise InputError(results["filename"], f"cannot read the sampled frames ({_first_line(exc)})") from None
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
