"""Open a video once to learn whether it can be read, without decoding all of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def probe_video(filename: str, backends: Iterable[str] = ("decord", "pyav")) -> str | None:
    """``None`` if a backend opens the video and finds frames, else the reasons it could not; a folder
    of pre-extracted frames must hold its first one."""
    import os.path as osp

    if osp.isdir(filename):
        from ezclip.data.transforms import FRAME_TEMPLATE

        return None if osp.isfile(osp.join(filename, FRAME_TEMPLATE.format(1))) else "a folder without frames"
    reasons = []
    for backend in backends:
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
    import av

    with av.open(filename) as container:
        return sum(1 for _ in container.decode(video=0))
