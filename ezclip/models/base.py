"""The shared video-text recognizer: CLIP towers, class texts, scores and losses.

``VideoCLIP`` is itself a complete model, frame-mean-pooled CLIP, configured by which parameters
train, which texts describe a class and which loss is used; vanilla zero-shot CLIP and ViFi-CLIP are
just configs of it. Methods that change a tower (EZ-CLIP, X-CLIP) or the pooling (ActionCLIP)
override ``encode_frames``, ``encode_text``, ``pool`` or ``class_logits``.

Inputs arrive from the data preprocessor as ``(N, views * T, C, H, W)``; views are folded into the
batch and their softmax scores averaged in ``predict``.
"""

from __future__ import annotations

import fnmatch
import math
import random
from typing import TYPE_CHECKING, Any, Self

import torch
import torch.nn.functional as F
from mmaction.models import ActionDataPreprocessor
from mmaction.registry import MODELS
from mmengine.model import BaseModel

from ezclip.clip import NORMALIZATION, build_clip, get_tokenizer
from ezclip.data.lists import read_class_csv, read_descriptions
from ezclip.models.losses import soft_cross_entropy, symmetric_kl_loss
from ezclip.models.text import class_prompts

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from os import PathLike

    from mmaction.structures import ActionDataSample


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """``(total, trainable)`` parameter counts of any module."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


LOSSES = ("cross_entropy", "symmetric_kl")


@MODELS.register_module()
class VideoTextPreprocessor(ActionDataPreprocessor):
    """mmaction2's preprocessor with the normalisation named: ``'clip'`` (OpenAI CLIP's statistics,
    used by ActionCLIP and EZ-CLIP) or ``'imagenet'`` (what X-CLIP and ViFi-CLIP applied)."""

    def __init__(self, normalization: str = "clip", **kwargs: Any) -> None:
        if normalization not in NORMALIZATION:
            raise ValueError(f"normalization must be one of {sorted(NORMALIZATION)}, got {normalization!r}")
        self.normalization = normalization
        super().__init__(**NORMALIZATION[normalization], format_shape="NCHW", **kwargs)


@MODELS.register_module()
class VideoCLIP(BaseModel):
    """Frame-mean-pooled CLIP video recognizer.

    Args:
        clip: ``dict(arch, pretrained=None, sha256=None, quick_gelu=True)`` for ``ezclip.clip.build_clip``.
        num_frames: frames per clip (T).
        templates: text templates filled with the class name (test scores average their softmax;
            training samples one per video).
        use_descriptions: read one description per class when the class set comes with them.
        trainable: ``fnmatch`` patterns of parameter names that train; everything else is frozen.
        frozen: patterns frozen even when ``trainable`` matches them.
        logit_scale: ``None`` keeps CLIP's (learned) scale; a number fixes it there, frozen.
        loss: ``dict(type='cross_entropy', label_smoothing=0.)`` over the class set, or
            ``dict(type='symmetric_kl')`` (ActionCLIP/EZ-CLIP) over the batch's own texts.
        classes: a class list (names, or an ``id,name`` CSV) to start with; a dataset's classes
            replace it through ``ClassTextHook``.
        descriptions: an EZ-CLIP description CSV for ``classes``.
    """

    def __init__(
        self,
        clip: dict[str, Any],
        num_frames: int = 8,
        templates: Sequence[str] = ("{}",),
        use_descriptions: bool = False,
        trainable: Sequence[str] = (),
        frozen: Sequence[str] = (),
        logit_scale: float | None = None,
        loss: dict[str, Any] = dict(type="cross_entropy"),
        classes: str | Iterable[str] | None = None,
        descriptions: str | PathLike[str] | None = None,
        data_preprocessor: dict[str, Any] | torch.nn.Module = dict(type="VideoTextPreprocessor"),
        init_cfg: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(data_preprocessor, dict):  # build in mmaction's scope, also outside a Runner
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.clip, self.weights = build_clip(**clip)
        self.arch = clip["arch"]
        self.tokenizer = get_tokenizer(self.arch)
        self.num_frames = num_frames
        self.templates = tuple(templates)
        self.use_descriptions = use_descriptions
        self.loss_cfg = dict(loss)
        if self.loss_cfg.get("type") not in LOSSES:
            raise ValueError(f"loss type must be one of {LOSSES}, got {self.loss_cfg.get('type')!r}")
        if logit_scale is not None:
            with torch.no_grad():
                self.clip.logit_scale.fill_(math.log(logit_scale))
        self._trainable, self._frozen = tuple(trainable), tuple(frozen)
        self.prompts = None
        self._text_cache = {}
        self.build_extra_modules()
        self.set_trainable()
        if classes is not None:
            names = read_class_csv(classes) if isinstance(classes, str) else list(classes)
            self.set_classes(names, read_descriptions(descriptions, names) if descriptions else None)

    # -- construction ---------------------------------------------------------------------------
    def build_extra_modules(self) -> None:
        """Subclasses add their modules here, before trainable parameters are chosen."""

    def set_trainable(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = any(fnmatch.fnmatchcase(name, p) for p in self._trainable) and not any(
                fnmatch.fnmatchcase(name, p) for p in self._frozen
            )

    def init_weights(self) -> None:
        """Nothing to do: CLIP weights are loaded and new modules initialised on construction, and
        mmengine's Runner must not re-initialise them."""

    # -- released checkpoints --------------------------------------------------------------------
    @classmethod
    def from_official_checkpoint(cls, checkpoint: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``(state dict, keys left to the base CLIP)`` from a loaded official checkpoint. The shared
        recognizer's official checkpoints are ViFi-CLIP's (``ezclip.models.convert``); a subclass
        reads its own method's."""
        from ezclip.models.convert import vificlip_from_official_state_dict

        return vificlip_from_official_state_dict(checkpoint)

    def to_official_checkpoint(self) -> dict[str, Any]:
        """This model's weights in its method's official checkpoint layout (what ``from_official_checkpoint``
        reads): released-weight rehearsals and tests export trained models with it."""
        from ezclip.models.convert import vificlip_to_official_checkpoint

        return vificlip_to_official_checkpoint(self.state_dict())

    # -- class set and text features ------------------------------------------------------------
    def set_classes(self, classes: Iterable[str], descriptions: Sequence[str] | None = None) -> None:
        """The class set that ``predict`` scores and the loss trains on."""
        self.prompts = class_prompts(classes, self.templates, descriptions if self.use_descriptions else None)

    @property
    def text_source(self) -> str | None:
        return self.prompts.source if self.prompts else None

    @property
    def text_is_frozen(self) -> bool:
        return not any(p.requires_grad for n, p in self.named_parameters() if self.is_text_parameter(n))

    def is_text_parameter(self, name: str) -> bool:
        return name.startswith("clip.") and not name.startswith(("clip.visual.", "clip.logit_scale"))

    def train(self, mode: bool = True) -> Self:
        if mode and not self.text_is_frozen:
            self._text_cache.clear()  # weights are about to change
        return super().train(mode)

    def tokenize(self, texts: Iterable[str]) -> torch.Tensor:
        return self.tokenizer(list(texts)).to(self.clip.logit_scale.device)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Unnormalised text embeddings ``(K, D)`` of token ids."""
        return self.clip.encode_text(tokens)

    def class_text_features(self) -> torch.Tensor:
        """Unnormalised ``(P, K, D)`` text features of the current class prompts.

        Computed once per class set and reused while they cannot change: always in eval mode, and in
        training too when the text tower is frozen."""
        if self.prompts is None:
            raise RuntimeError(
                f"{type(self).__name__} has no class set: call set_classes() or give the "
                "dataset a class list (ClassTextHook passes it on)"
            )
        reuse = not self.training or self.text_is_frozen
        key = self.prompts.prompts
        if reuse and key in self._text_cache:
            return self._text_cache[key]
        flat = [text for per_template in key for text in per_template]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.text_is_frozen):
            features = self.encode_text(self.tokenize(flat))
        features = features.view(len(key), len(self.prompts.classes), -1)
        if reuse:
            self._text_cache = {key: features}
        return features

    # -- video side ------------------------------------------------------------------------------
    def split_views(self, inputs: torch.Tensor) -> tuple[torch.Tensor, int]:
        """``(N, V*T, C, H, W)`` -> ``(N*V, T, C, H, W)`` and V."""
        n, vt = inputs.shape[:2]
        if vt % self.num_frames:
            raise ValueError(f"{vt} frames per sample is not a multiple of num_frames={self.num_frames}")
        views = vt // self.num_frames
        return inputs.reshape(n * views, self.num_frames, *inputs.shape[2:]), views

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Unnormalised per-frame embeddings ``(B, T, D)`` of ``(B, T, C, H, W)`` frames."""
        b, t = frames.shape[:2]
        return self.clip.encode_image(frames.flatten(0, 1)).view(b, t, -1)

    def pool(self, frame_embeddings: torch.Tensor) -> torch.Tensor:
        """Video embedding from frame embeddings: the temporal mean."""
        return frame_embeddings.mean(dim=1)

    def encode_video(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """``dict(frames=(B, T, D), video=(B, D))``, both unnormalised."""
        frame_embeddings = self.encode_frames(frames)
        return dict(frames=frame_embeddings, video=self.pool(frame_embeddings))

    def extract_feat(self, inputs: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Normalised video features ``(N*V, D)``; the image path that FLOP counters measure."""
        frames, _ = self.split_views(inputs)
        return F.normalize(self.encode_video(frames)["video"], dim=-1)

    def class_logits(self, video: dict[str, torch.Tensor], text_features: torch.Tensor) -> torch.Tensor:
        """``(P, B, K)`` logits of videos against each prompt set (unnormalised features in)."""
        v, t = F.normalize(video["video"], dim=-1), F.normalize(text_features, dim=-1)
        return self.clip.logit_scale.exp() * torch.einsum("bd,pkd->pbk", v, t)

    # -- modes -----------------------------------------------------------------------------------
    def forward(
        self, inputs: torch.Tensor, data_samples: list[ActionDataSample] | None = None, mode: str = "tensor"
    ) -> dict[str, torch.Tensor] | list[ActionDataSample] | torch.Tensor:
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            frames, views = self.split_views(inputs)
            return self.scores(frames, views)
        raise ValueError(f"invalid mode {mode!r}: use 'loss', 'predict' or 'tensor'")

    def scores(self, frames: torch.Tensor, views: int) -> torch.Tensor:
        """Class probabilities ``(N, K)``: softmax per prompt set and view, averaged."""
        logits = self.class_logits(self.encode_video(frames), self.class_text_features())
        probs = logits.softmax(dim=-1).mean(dim=0)
        return probs.view(-1, views, probs.shape[-1]).mean(dim=1)

    def predict(self, inputs: torch.Tensor, data_samples: list[ActionDataSample]) -> list[ActionDataSample]:
        frames, views = self.split_views(inputs)
        scores = self.scores(frames, views)
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score.float())  # autocast may compute in fp16/bf16; metrics read fp32
        return data_samples

    def loss(self, inputs: torch.Tensor, data_samples: list[ActionDataSample]) -> dict[str, torch.Tensor]:
        frames, views = self.split_views(inputs)
        if views != 1:
            raise ValueError("training takes one view per video")
        video = self.encode_video(frames)
        labels = torch.stack([s.gt_label for s in data_samples]).to(inputs.device)
        return self.loss_terms(video, labels)

    def loss_terms(self, video: dict[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.loss_cfg["type"] == "symmetric_kl":
            if labels.ndim != 2 or labels.shape[1] != 1:
                raise ValueError("symmetric_kl needs hard labels; switch off mixup/cutmix blending")
            labels = labels[:, 0]
            texts = [self.prompts.sample_prompt(int(y), random) for y in labels]
            text = F.normalize(self.encode_text(self.tokenize(texts)), dim=-1)
            logits = self.clip.logit_scale.exp() * F.normalize(video["video"], dim=-1) @ text.t()
            return dict(loss_kl=symmetric_kl_loss(logits, labels))
        targets = labels[:, 0] if labels.shape[1] == 1 else labels  # hard labels, or blended soft ones
        text = self.class_text_features()
        prompt = random.randrange(text.shape[0])  # one template per step
        logits = self.class_logits(video, text[prompt : prompt + 1])[0]
        return dict(loss_cls=soft_cross_entropy(logits, targets, self.loss_cfg.get("label_smoothing", 0.0)))
