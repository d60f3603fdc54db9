"""Write real mp4 files (H.264 through PyAV's bundled FFmpeg), for tests and the mini benchmark."""
from pathlib import Path

import av
import numpy as np


def yuv_frame(rgb):
    """``rgb`` as a yuv420p frame whose row padding repeats the last pixel. FFmpeg leaves the padding
    uninitialised, and x264 reads it when the width is not a multiple of 16 (40 here): the encoded
    bytes, and a few decoded pixel levels near the edge, then change from one process to the next."""
    converted = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    frame = av.VideoFrame(converted.width, converted.height, "yuv420p")
    for source, plane in zip(converted.planes, frame.planes):
        rows = np.frombuffer(source, np.uint8).reshape(source.height, source.line_size)[:, :source.width]
        plane.update(np.pad(rows, ((0, 0), (0, plane.line_size - source.width)), mode="edge").tobytes())
    return frame


def write_mp4(path, frames, fps=25):
    """Write ``frames`` (``T x H x W x 3`` uint8 RGB, even H and W) to ``path`` atomically."""
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be T x H x W x 3, got {frames.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
        for frame in frames:
            container.mux(stream.encode(yuv_frame(frame)))
        container.mux(stream.encode())
    tmp.replace(path)
    return path
