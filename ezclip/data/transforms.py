"""Video decoding through a chain of backends, and folders of pre-extracted frames (EZ-CLIP's and
ActionCLIP's ``img_00001.jpg`` layout), failing with the name of the file.

The chain (``default_backends``): torchcodec where it loads (1.6-1.8x decord's speed on the decode
benchmark; it needs a torch of its own release line and FFmpeg's libraries), then decord, then PyAV.
Each file is read only by the backends that return exactly the frames asked for on its kind of file
(``EXACT``, measured); PyAV decoding forward (``PyAVForwardDecode``) is exact on every kind and ends
every chain. Frames come out upright whichever backend decodes them: decord and torchcodec turn a video
by its rotation flag (the display matrix phones write), and ``PyAVForwardDecode`` does the same."""

from __future__ import annotations

import dataclasses
import functools
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from mmaction.datasets.transforms import DecordDecode, DecordInit, RawFrameDecode
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ezclip.data.video_io import write_mp4
from ezclip.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence


class PyAVForwardInit(BaseTransform):
    """Open a video with PyAV and count the frames it holds: its video packets, demuxed without decoding
    them. WebM and MKV store no frame count, and a truncated file's header promises frames it does not
    hold; the sampler sees the frames there are."""

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        with av.open(results["filename"]) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            results["total_frames"] = sum(1 for p in container.demux(stream) if p.size and not p.is_corrupt)
        return results


class PyAVForwardDecode(BaseTransform):
    """The sampled frames, decoded forward from the first one without ever seeking, so each is the
    frame of that index whatever the container and its index say (exact by construction: the reference
    every other backend is measured against). Only the sampled frames are converted and kept, and
    decoding stops after the last, so memory is bounded by the frames asked for, on 4K and long videos
    too. Each frame is turned by its rotation flag, as decord and torchcodec turn them."""

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        inds = np.atleast_1d(np.squeeze(results["frame_inds"])).astype(int)
        wanted, last = set(inds.tolist()), int(inds.max())
        kept, decoded = {}, 0
        with av.open(results["filename"]) as container:
            stream = container.streams.video[0]
            if stream.width * stream.height > 1280 * 720:
                stream.thread_type = "AUTO"  # frame threads pay off on large frames only
            try:
                for frame in container.decode(stream):
                    if decoded in wanted:
                        kept[decoded] = np.ascontiguousarray(
                            np.rot90(frame.to_rgb().to_ndarray(), round(frame.rotation / 90) % 4)
                        )
                    decoded += 1
                    if decoded > last:
                        break
            except av.error.InvalidDataError:  # a truncated file's last packet: the frames before it stand
                pass
        if decoded <= last:
            raise ValueError(f"frame {last} asked for, {decoded} decode")
        results["imgs"] = [kept[i] for i in inds]
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


@dataclasses.dataclass(frozen=True)
class VideoKind:
    """What decides whether a backend returns the frames asked for: the container (PyAV's first name
    for it: ``avi``, ``mov`` for MP4, ``matroska`` for MKV and WebM), the codec, and whether the codec
    reorders frames (B-frames)."""

    container: str
    codec: str
    b_frames: bool

    def __str__(self) -> str:
        return f"{self.codec}{' with B-frames' if self.b_frames else ''} in {self.container}"


def video_kind(filename: str) -> VideoKind:
    """The kind of a video file, from its headers (PyAV probes the first packets, decodes nothing more)."""
    with av.open(filename) as container:
        if not container.streams.video:
            raise InputError(filename, "no video stream")
        context = container.streams.video[0].codec_context
        return VideoKind(container.format.name.split(",")[0], context.name, bool(context.has_b_frames))


@dataclasses.dataclass(frozen=True)
class Exact:
    """A kind of file a backend reads exactly: ``codec``, with B-frames too unless ``b_frames`` is
    False, in any container but those ``not_in``."""

    codec: str
    b_frames: bool = True
    not_in: tuple[str, ...] = ()

    def covers(self, kind: VideoKind) -> bool:
        return kind.codec == self.codec and (self.b_frames or not kind.b_frames) and kind.container not in self.not_in


# Where decord 0.6.0 and torchcodec return exactly the frames asked for, as measured on videos whose
# frames carry their own index (tests/test_frame_accuracy.py holds every kind here to it); PyAV, which
# decodes forward, is exact on every kind and reads all the others. decord seeks to the wrong frame on
# MPEG-4 Part 2 with B-frames in every container (0 of 8 test frames right in AVI, 6 of 8 in MP4 and
# MKV) and on H.264 in AVI (1 of 8); torchcodec declines AVI (TorchCodecInit) and was measured on H.264
# only. A record's inputs hold these rules (``decoding_rules``): records read under others are redone.
EXACT = {
    "decord": (
        Exact("h264", not_in=("avi",)),
        Exact("mpeg4", b_frames=False),
        Exact("vp8"),
        Exact("vp9"),
        Exact("mjpeg"),
    ),
    "torchcodec": (Exact("h264", not_in=("avi",)),),
}


def reads_exactly(backend: str, kind: VideoKind) -> bool:
    return backend == "pyav" or any(rule.covers(kind) for rule in EXACT.get(backend, ()))


def decoding_rules() -> dict[str, Any]:
    """The chain and the rules that decide which backend reads a file, as a record's inputs keep them."""
    return dict(chain=list(default_backends()), exact={k: [dataclasses.asdict(r) for r in v] for k, v in EXACT.items()})


def exact_backends(kind: VideoKind, backends: Sequence[str]) -> tuple[str, ...]:
    """Those of ``backends`` (in their order) that return the frames asked for on a file of ``kind``."""
    return tuple(name for name in backends if reads_exactly(name, kind))


_BACKENDS = {
    "decord": (DecordInit, DecordDecode),
    "pyav": (PyAVForwardInit, PyAVForwardDecode),
    "torchcodec": (TorchCodecInit, TorchCodecDecode),
}


@functools.cache
def default_backends() -> tuple[str, ...]:
    """The decoding chain: ``EZCLIP_DECODERS`` (comma-separated) where set, else torchcodec first where
    it decodes here (a video written and read back once per process), then decord, then PyAV."""
    chosen = os.environ.get("EZCLIP_DECODERS")
    if chosen:
        names = tuple(name.strip() for name in chosen.split(","))
        if not set(names) <= set(_BACKENDS):
            raise ValueError(f"EZCLIP_DECODERS={chosen!r}: choose from {', '.join(sorted(_BACKENDS))}")
        return names
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, "probe.mp4")
        write_mp4(path, np.zeros((2, 16, 16, 3), np.uint8))
        try:
            TorchCodecDecode()(TorchCodecInit()(dict(filename=path, frame_inds=np.array([1]))))
        except Exception:  # not installed, no FFmpeg libraries, or built for another torch
            return ("decord", "pyav")
    return ("torchcodec", "decord", "pyav")


def verify_frames(filename: str, backends: Sequence[str], num_frames: int = 8) -> list[dict[str, Any]]:
    """The test frames (segment centres) each of ``backends`` returns, against PyAV decoding forward;
    one entry per backend that opens the file and returns other frames: ``dict(backend, wrong, asked,
    kind, trusted)``, ``trusted`` where ``EXACT`` has it read this kind (so a run would use it).
    Frames match within a mean of 1 intensity level (backends bundle other FFmpeg builds)."""
    kind = video_kind(filename)
    results = PyAVForwardInit()(dict(filename=filename, start_index=0))
    total = results["total_frames"]
    inds = np.array([int((i + 0.5) * total / num_frames) for i in range(num_frames)])
    reference = PyAVForwardDecode()(dict(results, frame_inds=inds))["imgs"]
    wrong = []
    for name in backends:
        if name == "pyav":
            continue
        init, decode = _BACKENDS[name]
        try:
            imgs = decode()(init()(dict(filename=filename, frame_inds=inds, start_index=0)))["imgs"]
        except Exception:  # a backend that cannot read the file returns no frames to be wrong
            continue
        count = sum(np.abs(a.astype(np.int16) - b).mean() > 1 for a, b in zip(imgs, reference))
        if count:
            wrong.append(
                dict(
                    backend=name, wrong=int(count), asked=num_frames, kind=str(kind), trusted=reads_exactly(name, kind)
                )
            )
    return wrong


FRAME_TEMPLATE = "img_{:05d}.jpg"  # the official EZ-CLIP / ActionCLIP extraction (first frame img_00001.jpg)


def count_frames(folder: str | Path, template: str = FRAME_TEMPLATE) -> int:
    """Frames in a folder of pre-extracted ones: the consecutive files of ``template`` from 1."""
    count = 0
    while osp.isfile(osp.join(folder, template.format(count + 1))):
        count += 1
    return count


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open a video with the first of ``backends`` (default: ``default_backends()``) that returns
    exactly the frames asked for on a file of its kind (``video_kind``, ``EXACT``) and can open it.

    decord fails on some codecs and containers (AV1, some SSv2 webm files) that PyAV reads, and returns
    wrong frames on others (``EXACT``); the backends kept for the file and the one that opened it go in
    the results for ``VideoDecode`` (and, through ``PackActionInputs``, into the records' counts of
    which backend read each list's videos). A video that no backend can open raises an ``InputError``
    naming the file and every backend's reason.

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
        filename = results["filename"]
        if osp.isdir(filename):
            return self._frames(results)
        try:
            kind = video_kind(filename)
        except InputError:
            raise
        except Exception as exc:  # not a container FFmpeg knows, or cut before its headers
            raise InputError(
                filename, f"cannot decode video (pyav: {type(exc).__name__}: {_first_line(exc)})"
            ) from None
        # a backend data check found returning other frames on this very file reads it no more
        avoid = results.get("avoid_backends", ())
        chain = exact_backends(kind, [name for name in self.backends if name not in avoid])
        if not chain:
            raise InputError(
                filename, f"{' and '.join(self.backends)} return other frames than asked on {kind}; add pyav"
            )
        reasons = []
        for name in chain:
            try:
                results = self._init[name](results)
            except Exception as exc:  # decord and av raise their own error types
                reasons.append(f"{name}: {type(exc).__name__}: {_first_line(exc)}")
                continue
            if results["total_frames"] <= 0:
                reasons.append(f"{name}: no frames")
                continue
            results.update(video_backend=name, video_backends=chain, video_kind=str(kind))
            return results
        raise InputError(filename, "cannot decode video (" + "; ".join(reasons) + ")")

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
