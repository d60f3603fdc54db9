"""Video decoding through a chain of backends, and folders of pre-extracted frames (EZ-CLIP's and
ActionCLIP's ``img_00001.jpg`` layout), failing with the name of the file.

The chain (``default_backends``): torchcodec where it loads (1.6-1.8x decord's speed on the decode
benchmark; it needs a torch of its own release line and FFmpeg's libraries), then decord, then PyAV.
Frames come out upright whichever backend decodes them: decord and torchcodec turn a video by its
rotation flag (the display matrix phones write), mmaction2's PyAV decoding does not, so
``UprightPyAVDecode`` does."""

from __future__ import annotations

import functools
import os.path as osp
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mmaction.datasets.transforms import DecordDecode, DecordInit, PyAVDecode, PyAVInit, RawFrameDecode
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ezclip.data.video_io import write_mp4
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


class TorchCodecInit(BaseTransform):
    """Open a video with torchcodec (PyTorch's FFmpeg decoder, on the CPU), in exact seek mode: the file
    is scanned once for its frame count and key frames, so any frame decodes by index, as decord does.

    It declines AVI files (the next backend takes them): AVI stores no presentation timestamps, and
    torchcodec 0.17 then orders frames by the decoding timestamps, which B-frames shift (on a test file,
    frame 5 came back as frame 3; meta-pytorch/torchcodec#1363)."""

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        if results["filename"].lower().endswith(".avi"):
            raise ValueError("AVI holds no presentation timestamps, which torchcodec needs with B-frames")
        from torchcodec.decoders import VideoDecoder  # optional: a torch build of its own and FFmpeg 4-9

        reader = VideoDecoder(results["filename"], seek_mode="exact", dimension_order="NHWC", device="cpu")
        results["video_reader"], results["total_frames"] = reader, reader.metadata.num_frames
        return results


class TorchCodecDecode(BaseTransform):
    """The sampled frames from torchcodec, in one call (as mmaction2's ``DecordDecode`` takes them)."""

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        inds = np.atleast_1d(np.squeeze(results["frame_inds"]))
        results["imgs"] = list(results["video_reader"].get_frames_at(indices=inds.tolist()).data.numpy())
        results["original_shape"] = results["img_shape"] = results["imgs"][0].shape[:2]
        results["video_reader"] = None
        return results


_BACKENDS = {
    "decord": (DecordInit, DecordDecode),
    "pyav": (PyAVInit, UprightPyAVDecode),
    "torchcodec": (TorchCodecInit, TorchCodecDecode),
}


@functools.cache
def default_backends() -> tuple[str, ...]:
    """The decoding chain: torchcodec first where it decodes here (a video written and read back once
    per process), then decord, then PyAV."""
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, "probe.mp4")
        write_mp4(path, np.zeros((2, 16, 16, 3), np.uint8))
        try:
            TorchCodecDecode()(TorchCodecInit()(dict(filename=path, frame_inds=np.array([1]))))
        except Exception:  # not installed, no FFmpeg libraries, or built for another torch
            return ("decord", "pyav")
    return ("torchcodec", "decord", "pyav")


FRAME_TEMPLATE = "img_{:05d}.jpg"  # the official EZ-CLIP / ActionCLIP extraction (first frame img_00001.jpg)


def count_frames(folder: str | Path, template: str = FRAME_TEMPLATE) -> int:
    """Frames in a folder of pre-extracted ones: the consecutive files of ``template`` from 1."""
    count = 0
    while osp.isfile(osp.join(folder, template.format(count + 1))):
        count += 1
    return count


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open a video with the first backend that can (default: ``default_backends()``).

    decord fails on some codecs and containers (AV1, some SSv2 webm files) that PyAV reads;
    the backend used is kept in the results for ``VideoDecode``. A video that no backend can
    open raises an ``InputError`` naming the file and every backend's reason.

    A folder instead of a file holds pre-extracted frames named ``frame_template`` from 1: its frame
    count is the list's (``path num_frames label``) or the files there, and its frames are sampled
    exactly as a video's (frame i of the video is file i + 1).
    """

    def __init__(self, backends: Sequence[str] | None = None, frame_template: str = FRAME_TEMPLATE) -> None:
        backends = default_backends() if backends is None else backends
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
