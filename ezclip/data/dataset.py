"""One dataset class for every list format, with checked labels and counted skips."""

from __future__ import annotations

import os.path as osp
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS

from ezclip.data.lists import first_per_class, read_class_csv, read_descriptions, read_video_list
from ezclip.data.probe import probe_videos, read_frame_checks
from ezclip.data.transforms import default_backends
from ezclip.errors import InputError
from ezclip.files import file_state

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

ON_ERROR = ("raise", "skip")


@DATASETS.register_module()
class VideoListDataset(BaseActionDataset):
    """Videos from a list file (``relpath label`` or ``path num_frames label``) and an ``id,name`` CSV.

    ``on_error='raise'`` (default): a listed video that does not exist raises an ``InputError`` naming
    the list file and line; a video that cannot be decoded raises one naming the video when it is read.
    ``on_error='skip'``: every listed video is opened once at load time, in parallel threads, each answer
    remembered in ``probe_cache`` (a JSON file) by the file's size and modification time, so a list of
    240k videos is probed once; those that are missing or undecodable are left out, counted and recorded
    in ``self.skipped`` (list file, line, video, reason), so a result can say how many videos it did not see.
    ``frame_checks``: ``data check``'s answers for this list (``probe.read_frame_checks``); a video on
    which it found a backend returning other frames than asked is read by another (``avoid_backends``),
    and listed in ``self.switched`` (list file, line, video, the backends avoided), so a record says so.
    ``subset=N`` keeps the first N videos of each class in list order (deterministic regression runs).
    The class names go into ``metainfo['classes']`` (and a description CSV, checked to describe every
    class, into ``metainfo['description_file']``), where ``ClassTextHook`` hands them to the model.
    """

    def __init__(
        self,
        ann_file: str,
        class_file: str | Path,
        pipeline: list[dict[str, Any] | Callable[..., Any]],
        data_prefix: dict[str, str] = dict(video=""),
        description_file: str | Path | None = None,
        on_error: str = "raise",
        backends: Sequence[str] | None = None,
        subset: int | None = None,
        probe_cache: str | Path | None = None,
        frame_checks: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        self.class_file, self.on_error = class_file, on_error
        self.backends = default_backends() if backends is None else tuple(backends)
        self.subset, self.probe_cache, self.frame_checks = subset, probe_cache, frame_checks
        self.skipped, self.switched = [], []
        classes = tuple(read_class_csv(class_file))
        metainfo = dict(classes=classes)
        if description_file is not None:
            read_descriptions(description_file, classes)  # fail now, naming the file, if a class lacks one
            # a Path, not a str: mmengine reads str metainfo values that name a file as a list of lines
            metainfo["description_file"] = Path(description_file)
        # mmengine serialises the list for worker processes and calls gc.collect() (0.25 s) to do it;
        # lists are small and loaders run in-process unless told otherwise
        kwargs.setdefault("serialize_data", False)
        super().__init__(
            ann_file, pipeline=pipeline, data_prefix=data_prefix, num_classes=len(classes), metainfo=metainfo, **kwargs
        )

    def load_data_list(self) -> list[dict[str, Any]]:
        root = self.data_prefix.get("video") or ""
        listed = read_video_list(self.ann_file, len(self.metainfo["classes"]))
        entries = [(entry, osp.join(root, entry.path)) for entry in first_per_class(listed, self.subset)]
        checked = read_frame_checks(self.frame_checks) if self.frame_checks else {}
        probed = {}
        if self.on_error == "skip":
            present = [filename for _, filename in entries if osp.exists(filename)]
            probed = probe_videos(present, self.backends, self.probe_cache)
        data_list = []
        for entry, filename in entries:
            reason = probed.get(filename) if osp.exists(filename) else "video not found"
            if reason is None:
                info = dict(filename=filename, label=entry.label, list_line=entry.line)
                if entry.num_frames:  # a frame folder's count, as the list gives it
                    info["listed_frames"] = entry.num_frames
                check = checked.get(filename)
                if check and check["wrong"] and check["state"] == file_state(filename):
                    info["avoid_backends"] = tuple(check["wrong"])
                    self.switched.append(
                        dict(list_file=str(self.ann_file), line=entry.line, video=filename, avoided=check["wrong"])
                    )
                data_list.append(info)
            elif self.on_error == "skip":
                self.skipped.append(
                    dict(
                        list_file=str(self.ann_file),
                        line=entry.line,
                        video=filename,
                        reason=reason,
                        file_state=file_state(filename),  # a resumed run redoes the list if this changes
                    )
                )
            else:
                raise InputError(self.ann_file, f"{reason}: {filename}", entry.line)
        if not data_list:
            raise InputError(self.ann_file, f"no usable video: all {len(self.skipped)} listed videos were skipped")
        return data_list
