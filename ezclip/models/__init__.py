"""Video-text recognizers, registered in mmaction2's MODELS registry (and the optimizer constructor
X-CLIP's official parameter groups need)."""

from ezclip.models.actionclip import ActionCLIP
from ezclip.models.base import VideoCLIP, VideoTextPreprocessor, count_parameters
from ezclip.models.ezclip import EZCLIP
from ezclip.models.hooks import ClassTextHook
from ezclip.models.optim import OfficialParamGroupsConstructor
from ezclip.models.xclip import XCLIP

__all__ = [
    "ActionCLIP",
    "VideoCLIP",
    "VideoTextPreprocessor",
    "EZCLIP",
    "ClassTextHook",
    "XCLIP",
    "OfficialParamGroupsConstructor",
    "count_parameters",
]
