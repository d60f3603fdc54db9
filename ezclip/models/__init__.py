"""Video-text recognizers, registered in mmaction2's MODELS registry."""
from ezclip.models.actionclip import ActionCLIP
from ezclip.models.base import VideoCLIP, VideoTextPreprocessor
from ezclip.models.ezclip import EZCLIP
from ezclip.models.hooks import ClassTextHook
from ezclip.models.xclip import XCLIP

__all__ = ["ActionCLIP", "VideoCLIP", "VideoTextPreprocessor", "EZCLIP", "ClassTextHook", "XCLIP"]
