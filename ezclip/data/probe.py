"""Open a video once to learn whether it can be read, without decoding all of it; many videos at
once, in parallel, remembering each answer by the file's size and modification time."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ezclip.data.transforms import FRAME_TEMPLATE, TorchCodecDecode, TorchCodecInit, default_backends
from ezclip.files import file_state, write_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


def probe_videos(
    filenames: Sequence[str],
    backends: Iterable[str] | None = None,
    cache: str | Path | None = None,
    workers: int | None = None,
) -> dict[str, str | None]:
    """{filename: why it cannot be read, or None} for every file, probed by ``workers`` threads (decord
    and PyAV decode outside the GIL); with ``cache`` (a JSON file), a file whose size and modification
    time are those of an earlier probe keeps that probe's answer."""
    backends = default_backends() if backends is None else tuple(backends)
    known = json.loads(Path(cache).read_text()) if cache and Path(cache).is_file() else {}
    states = {f: file_state(f) for f in filenames}
    answers = {f: known[f][1] for f in filenames if f in known and known[f][0] == states[f]}
    todo = [f for f in filenames if f not in answers]
    with ThreadPoolExecutor(max_workers=workers or min(16, os.cpu_count() or 1)) as pool:
        for filename, reason in zip(todo, pool.map(lambda f: probe_video(f, backends), todo)):
            answers[filename] = reason
    if cache and todo:
        known.update({f: [states[f], answers[f]] for f in todo})
        write_text(cache, json.dumps(known) + "\n")
    return answers


def probe_video(filename: str, backends: Iterable[str] | None = None) -> str | None:
    """``None`` if a backend opens the video and finds frames, else the reasons it could not; a folder
    of pre-extracted frames must hold its first one."""
    import os.path as osp

    if osp.isdir(filename):
        return None if osp.isfile(osp.join(filename, FRAME_TEMPLATE.format(1))) else "a folder without frames"
    reasons = []
    for backend in default_backends() if backends is None else backends:
        try:
            frames = _count_frames(filename, backend)
        except Exception as exc:  # decord and av raise their own error types
            reasons.append(f"{backend}: {type(exc).__name__}")
            continue
        if frames > 0:
            return None
        reasons.append(f"{backend}: no frames")
    return "cannot decode video (" + "; ".join(reasons) + ")"


def _count_frames(filename: str, backend: str) -> int:
    if backend == "decord":
        import decord

        reader = decord.VideoReader(filename, num_threads=1)
        if len(reader):
            reader[len(reader) - 1]  # a truncated file often opens but fails at the end
        return len(reader)
    if backend == "torchcodec":
        results = TorchCodecInit()(dict(filename=filename))
        if results["total_frames"]:  # the last frame, as for decord
            TorchCodecDecode()(dict(results, frame_inds=np.array([results["total_frames"] - 1])))
        return results["total_frames"]
    import av

    with av.open(filename) as container:
        return sum(1 for _ in container.decode(video=0))
