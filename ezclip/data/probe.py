"""Open a video once to learn whether it can be read, without decoding all of it; many videos at
once, in parallel, remembering each answer by the file's size and modification time."""

from __future__ import annotations

import json
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ezclip.data.transforms import FRAME_TEMPLATE, VideoDecode, VideoInit, default_backends
from ezclip.errors import InputError
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
    """``None`` if the video opens with a backend that reads its kind of file exactly and its frames
    decode, else why not; a folder of pre-extracted frames must hold its first one. decord and
    torchcodec decode the last frame (a truncated file often opens but fails at the end); PyAV has
    counted the packets the file holds and decodes the first."""
    if osp.isdir(filename):
        return None if osp.isfile(osp.join(filename, FRAME_TEMPLATE.format(1))) else "a folder without frames"
    try:
        results = VideoInit(None if backends is None else tuple(backends))(dict(filename=filename, start_index=0))
        last = 0 if results["video_backend"] == "pyav" else results["total_frames"] - 1
        VideoDecode()(dict(results, frame_inds=np.array([last])))
    except InputError as exc:
        return exc.message
    return None


def read_frame_checks(path: str | Path) -> dict[str, dict[str, Any]]:
    """``data check``'s frame comparisons of a list's videos: ``{filename: dict(state, wrong)}``, the
    file's size and mtime when checked and the backends that returned other frames than asked."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {}


def write_frame_checks(path: str | Path, checks: dict[str, dict[str, Any]]) -> None:
    write_text(path, json.dumps(read_frame_checks(path) | checks, indent=1, sort_keys=True) + "\n")
