"""Data path: list readers, the video dataset, decoding transforms and the shared pipelines."""

from ezclip.data import actionclip, augment, transforms  # noqa: F401  (registers the transforms)
from ezclip.data.dataset import VideoListDataset
from ezclip.data.lists import VideoEntry, read_class_csv, read_descriptions, read_video_list
from ezclip.data.pipelines import eval_pipeline, train_pipeline

__all__ = [
    "VideoListDataset",
    "VideoEntry",
    "read_class_csv",
    "read_descriptions",
    "read_video_list",
    "eval_pipeline",
    "train_pipeline",
]
