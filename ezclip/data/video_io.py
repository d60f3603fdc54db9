"""Write real mp4 files (H.264 through PyAV's bundled FFmpeg), for tests and the mini benchmark.

The files are made to decode to the same pixels on every machine: the RGB to YUV conversion is done
here in integer arithmetic (not by swscale, whose SIMD paths differ from CPU to CPU and read row
padding), and x264 encodes losslessly by default (``crf=0``), so the decoded frames are exactly the YUV planes
given, whatever motion search, rate control or SIMD kernels the encoder chose on this CPU. Encoding is
single-threaded, so the bytes are the same from one process to the next as well.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

from ezclip.files import atomic_path

# libx264 options besides the quality: one thread, no slices, no lookahead threads
X264_OPTIONS = {"preset": "veryfast", "threads": "1", "x264-params": "lookahead-threads=1:sliced-threads=0"}


def rgb_to_yuv420p(rgb: np.ndarray) -> list[np.ndarray]:
    """BT.601 limited-range Y, U, V planes of an ``H x W x 3`` uint8 RGB frame (even H and W), in the
    integer arithmetic of the standard's 8-bit approximation; chroma is the rounded mean of 2x2 blocks."""
    r, g, b = (rgb[..., c].astype(np.int32) for c in range(3))
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16

    def block_mean(c: np.ndarray) -> np.ndarray:
        return (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2] + 2) >> 2

    r, g, b = block_mean(r), block_mean(g), block_mean(b)
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    return [np.clip(p, 0, 255).astype(np.uint8) for p in (y, u, v)]


def yuv_frame(rgb: np.ndarray) -> av.VideoFrame:
    """``rgb`` as a yuv420p frame whose row padding repeats the last pixel: FFmpeg leaves the padding
    uninitialised, and x264's SIMD copy reads it when the width is not a multiple of 16 (40 here)."""
    frame = av.VideoFrame(rgb.shape[1], rgb.shape[0], "yuv420p")
    for values, plane in zip(rgb_to_yuv420p(rgb), frame.planes):
        plane.update(np.pad(values, ((0, 0), (0, plane.line_size - values.shape[1])), mode="edge").tobytes())
    return frame


def write_mp4(path: str | Path, frames: np.ndarray, fps: int = 25, crf: int = 0, rotation: int = 0) -> Path:
    """Write ``frames`` (``T x H x W x 3`` uint8 RGB, even H and W) to ``path`` atomically; ``crf=0`` is
    lossless, a higher value (18: visually lossless) gives the lossy files real datasets hold.
    ``rotation``: a display rotation flag (counter-clockwise degrees), as phones write."""
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(f"frames must be T x H x W x 3 with even H and W, got {frames.shape}")
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = dict(X264_OPTIONS, crf=str(crf))
        if rotation:
            stream.set_display_rotation(rotation)
        for frame in frames:
            container.mux(stream.encode(yuv_frame(frame)))
        container.mux(stream.encode())
    return Path(path)


# Videos whose frames carry their own index, to tell which frame a decoder returned: the index in
# binary as INDEX_BITS black or white squares along the top, over a texture that moves a few pixels a
# frame (so encoders predict from other frames and B-frames carry real motion).
INDEX_BITS, INDEX_CELL = 12, 20


def indexed_frames(count: int, height: int = 256, width: int = 340, seed: int = 0) -> np.ndarray:
    """``count x height x width x 3`` uint8 RGB frames; frame i shows the index i (``read_frame_index``)."""
    if count > 2**INDEX_BITS or width < INDEX_BITS * INDEX_CELL or height < 2 * INDEX_CELL:
        raise ValueError(f"at most {2**INDEX_BITS} frames of at least {INDEX_BITS * INDEX_CELL} x {2 * INDEX_CELL}")
    rng = np.random.default_rng(seed)
    texture = np.kron(rng.integers(40, 200, (height // 8 + 1, (width + 4 * count) // 8 + 1, 3)), np.ones((8, 8, 1)))
    frames = np.empty((count, height, width, 3), np.uint8)
    for i in range(count):
        frames[i] = texture[:height, 4 * i : 4 * i + width]
        for bit in range(INDEX_BITS):
            frames[i, :INDEX_CELL, bit * INDEX_CELL : (bit + 1) * INDEX_CELL] = 255 if i >> bit & 1 else 0
    return frames


def read_frame_index(rgb: np.ndarray) -> int:
    """The index ``indexed_frames`` drew into a decoded frame (each square's centre, thresholded)."""
    q = INDEX_CELL // 4
    centres = [rgb[q : INDEX_CELL - q, b * INDEX_CELL + q : (b + 1) * INDEX_CELL - q].mean() for b in range(INDEX_BITS)]
    return sum(1 << bit for bit, value in enumerate(centres) if value > 127)


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    codec: str = "libx264",
    fps: int = 30,
    gop: int = 12,
    bframes: int = 0,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """``frames`` in any container PyAV writes (by the suffix of ``path``: .mp4, .avi, .mkv, .webm) and
    codec (libx264, mpeg4, libvpx, libvpx-vp9, mjpeg, ...), with a key frame every ``gop`` frames and up
    to ``bframes`` B-frames between references, as datasets hold them (lossy, through swscale).
    ``container_options``: the muxer's (``{"movflags": "faststart"}``: an MP4's index at the front).
    ``frames``: ``H x W x 3`` uint8 RGB arrays (a generator keeps a long 4K video out of memory)."""
    frames = iter(frames)
    first = np.asarray(next(frames), dtype=np.uint8)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = first.shape[1], first.shape[0], pix_fmt
        stream.codec_context.gop_size, stream.codec_context.max_b_frames = gop, bframes
        stream.options = dict(options or {})
        if codec == "libx264":
            stream.options.update({"x264-params": f"keyint={gop}:min-keyint={gop}:bframes={bframes}:scenecut=0"})
        for frame in itertools.chain([first], frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.asarray(frame, np.uint8), format="rgb24")))
        container.mux(stream.encode())
    return Path(path)
