"""ActionCLIP (arXiv 2109.08472) as its official code (sallymmx/ActionCLIP @ 31c34df) computes it.

Both CLIP towers train, frame features go through a post-network temporal fusion head (the official
``network.sim_header``), the text side uses the 16 ActionCLIP templates (one sampled per video in
training, softmax averaged over all 16 at test), and the loss is the symmetric KL against the
same-class target matrix. 168,574,465 trainable parameters at ViT-B/16 with the default ``Transf``
head (149,620,737 with ``meanP``).

Fusion heads (``fusion=``), on ``(B, T, D)`` frame embeddings:

- ``meanP``: the temporal mean; no parameters.
- ``Conv_1D``: a depthwise ``Conv1d(D, D, 3, padding=1, groups=D, bias=False)`` initialised as a
  fixed channel shift (first quarter of channels from the previous step, middle half identity, last
  quarter from the next step), plus the input, then the mean. The official code feeds the conv
  ``x.view(B, D, T)`` of the contiguous ``(B, T, D)`` tensor, a reinterpretation of memory and not
  a transpose; this code does the same so that released checkpoints compute what they were trained
  to compute.
- ``LSTM``: a 1-layer ``LSTM(D, D)``, plus the input, then the mean.
- ``Transf`` (paper default): a learned frame position embedding (``nn.Embedding(77, D)``, rows
  ``0..T-1`` used), 6 pre-norm residual attention blocks of width D with ``text_width // 64`` heads
  (LayerNorm eps 1e-12, QuickGELU MLP), plus the input (without the position embedding), then the mean.
- ``Transf_cls``: a CLS token and a ``(T+1, D)`` position embedding, torch's post-norm
  ``nn.TransformerEncoder`` (6 layers, 8 heads, feed-forward 2048, ReLU, dropout 0.1) with a final
  LayerNorm; the CLS output is the video feature.

``Conv_1D``, ``LSTM`` and ``Transf_cls`` also carry the official ``frame_position_embeddings`` that
they never use: the official optimizer trains it, so it counts (and it is in their checkpoints).

Test-time scores use a fixed scale of 100 as the official ``test.py`` does; training uses
``exp(logit_scale)``, and the logit scale trains with the text tower (as in the official AdamW groups).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from ezclip.models.base import VideoCLIP
from ezclip.models.text import ACTIONCLIP_TEMPLATES

FUSION_HEADS = ("meanP", "Conv_1D", "LSTM", "Transf", "Transf_cls")
_FUSION_ALIASES = {"Conv1D": "Conv_1D", "mean": "meanP"}


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def _normal_fmod2_(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """The official "trunc_normal_" of ``Transf_cls``: a standard normal folded into (-2, 2) by
    ``fmod``, then scaled (not a truncated normal in the usual sense)."""
    with torch.no_grad():
        return tensor.normal_().fmod_(2.0).mul_(std)


class TemporalBlock(nn.Module):
    """Pre-norm residual self-attention block over the T frame embeddings (batch first)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=1e-12)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width, eps=1e-12)
        self.mlp = nn.Sequential(
            OrderedDict(
                [("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width))]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class TemporalTransformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*(TemporalBlock(width, heads) for _ in range(layers)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class ClsAggregator(nn.Module):
    """``Transf_cls``: CLS token + position embedding + torch's TransformerEncoder; returns the CLS."""

    def __init__(self, num_frames: int, width: int, layers: int = 6, heads: int = 8) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=width, nhead=heads)
        self.transformer_enc = nn.TransformerEncoder(
            layer, num_layers=layers, norm=nn.LayerNorm(width), enable_nested_tensor=False
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_frames + 1, width))
        self.pos_drop = nn.Dropout(0.0)  # declared but not applied, as in the official module
        _normal_fmod2_(self.pos_embed, 0.02)
        _normal_fmod2_(self.cls_token, 0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):  # includes the attention output projections
                _normal_fmod2_(module.weight, 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] + 1 != self.pos_embed.shape[1]:
            raise ValueError(f"Transf_cls was built for {self.pos_embed.shape[1] - 1} frames, got {x.shape[1]}")
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.transformer_enc(x.transpose(0, 1))[0]  # (T+1, B, D), sequence first


class TemporalFusion(nn.Module):
    """ActionCLIP's post-network fusion of ``(B, T, D)`` frame embeddings into ``(B, D)``.

    Submodule names follow the official ``visual_prompt`` so its state dicts load unchanged."""

    def __init__(
        self, head: str, embed_dim: int, heads: int, num_frames: int, context_length: int = 77, layers: int = 6
    ) -> None:
        super().__init__()
        head = _FUSION_ALIASES.get(head, head)
        if head not in FUSION_HEADS:
            raise ValueError(f"fusion must be one of {FUSION_HEADS}, got {head!r}")
        self.head = head
        if head != "meanP":
            self.frame_position_embeddings = nn.Embedding(context_length, embed_dim)
        if head == "Transf":
            if heads < 1:
                raise ValueError(f"Transf fusion needs a text width >= 64 (heads = text_width // 64), got {heads}")
            self.transformer = TemporalTransformer(embed_dim, layers, heads)
        elif head == "LSTM":
            self.lstm_visual = nn.LSTM(embed_dim, embed_dim, num_layers=1, batch_first=True)
        for module in self.modules():  # BERT-style init, before Transf_cls / Conv_1D are added
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if head == "Transf_cls":
            self.transformer = ClsAggregator(num_frames, embed_dim, layers, heads=8)
        elif head == "Conv_1D":
            self.shift = nn.Conv1d(embed_dim, embed_dim, 3, padding=1, groups=embed_dim, bias=False)
            quarter = embed_dim // 4
            shift = torch.zeros(embed_dim, 1, 3)
            shift[:quarter, 0, 0] = 1.0
            shift[quarter : quarter + embed_dim // 2, 0, 1] = 1.0
            shift[embed_dim - quarter :, 0, 2] = 1.0
            with torch.no_grad():
                self.shift.weight.copy_(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        if self.head == "meanP":
            return x.mean(dim=1)
        if self.head == "Transf_cls":
            return self.transformer(x)
        if self.head == "Conv_1D":
            # memory reinterpretation (B, T, D) -> (B, D, T), as the official x.view(-1, c, t)
            y = self.shift(x.contiguous().view(b, d, t)).permute(0, 2, 1)
        elif self.head == "LSTM":
            y, _ = self.lstm_visual(x)
        else:  # Transf
            if t > self.frame_position_embeddings.num_embeddings:
                positions = self.frame_position_embeddings.num_embeddings
                raise ValueError(f"Transf fusion has {positions} frame positions, got {t}")
            y = self.transformer(x + self.frame_position_embeddings.weight[:t])
        return (y + x).mean(dim=1)


@MODELS.register_module()
class ActionCLIP(VideoCLIP):
    """ActionCLIP; ``fusion`` is the official ``sim_header`` (``'meanP'``, ``'Conv_1D'``, ``'LSTM'``,
    ``'Transf'``, ``'Transf_cls'``), ``fusion_layers`` the depth of the two transformer heads (6).

    ``test_logit_scale``: the fixed scale of the class scores (100 in the official test); ``None``
    uses the learned ``exp(logit_scale)`` there too.
    """

    def __init__(
        self,
        clip: dict[str, Any],
        num_frames: int = 8,
        fusion: str = "Transf",
        fusion_layers: int = 6,
        templates: Sequence[str] = ACTIONCLIP_TEMPLATES,
        trainable: Sequence[str] = ("clip.*", "fusion.*"),
        test_logit_scale: float | None = 100.0,
        loss: dict[str, Any] = dict(type="symmetric_kl"),
        **kwargs: Any,
    ) -> None:
        self.fusion_head = _FUSION_ALIASES.get(fusion, fusion)
        if self.fusion_head not in FUSION_HEADS:
            raise ValueError(f"fusion must be one of {FUSION_HEADS}, got {fusion!r}")
        self.fusion_layers = fusion_layers
        self.test_logit_scale = test_logit_scale
        super().__init__(clip, num_frames=num_frames, templates=templates, trainable=trainable, loss=loss, **kwargs)

    def build_extra_modules(self) -> None:
        clip = self.clip
        embed_dim = clip.text_projection.shape[1]  # as the official visual_prompt reads it
        heads = clip.transformer.width // 64  # the *text* width, as the official code computes it
        self.fusion = TemporalFusion(
            self.fusion_head,
            embed_dim,
            heads,
            self.num_frames,
            context_length=clip.positional_embedding.shape[0],
            layers=self.fusion_layers,
        )

    def pool(self, frame_embeddings: torch.Tensor) -> torch.Tensor:
        return self.fusion(frame_embeddings)

    def class_logits(self, video: Mapping[str, torch.Tensor], text_features: torch.Tensor) -> torch.Tensor:
        if self.test_logit_scale is None:
            return super().class_logits(video, text_features)
        v, t = F.normalize(video["video"], dim=-1), F.normalize(text_features, dim=-1)
        return self.test_logit_scale * torch.einsum("bd,pkd->pbk", v, t)

    # -- released checkpoints ----------------------------------------------------------------------
    @classmethod
    def from_official_checkpoint(cls, checkpoint: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], list[str]]:
        """``(state dict, keys left to the base CLIP)`` from a loaded official checkpoint (the CLIP and
        the fusion head are saved side by side)."""
        state = checkpoint.get("model_state_dict", checkpoint)
        return cls.from_official_state_dict(state, checkpoint.get("fusion_model_state_dict")), []

    def to_official_checkpoint(self) -> dict[str, Any]:
        """The inverse of ``from_official_checkpoint``: the CLIP and the fusion head side by side, as
        ``utils/saving.py`` writes them."""
        model, fusion = {}, {}
        for key, value in self.state_dict().items():
            if key.startswith("clip."):
                model[key.removeprefix("clip.")] = value
            elif key.startswith("fusion."):
                fusion[key.removeprefix("fusion.")] = value
            else:
                raise ValueError(f"{key!r} has no place in an official ActionCLIP checkpoint")
        return dict(model_state_dict=model, fusion_model_state_dict=fusion)

    @staticmethod
    def from_official_state_dict(
        state: Mapping[str, Any], fusion_state: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """Map an official ActionCLIP checkpoint to this model's names.

        ``state`` is either a whole official checkpoint (``{'model_state_dict', 'fusion_model_state_dict',
        ...}`` as ``utils/saving.py`` writes it) or its ``model_state_dict`` alone, with the fusion
        head's ``fusion_model_state_dict`` passed as ``fusion_state`` (their key sets overlap, so they
        cannot be merged into one dict). ``module.`` prefixes (DataParallel) are dropped and fp16
        tensors become fp32. Checkpoints of the ``tsm`` / ``joint`` variants are refused.
        """
        if "model_state_dict" in state or "fusion_model_state_dict" in state:
            if fusion_state is None:
                fusion_state = state.get("fusion_model_state_dict")
            state = state.get("model_state_dict", {})

        def clean(d: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k.removeprefix("module."): (v.float() if v.is_floating_point() else v) for k, v in d.items()}

        converted = {}
        for key, value in clean(state).items():
            if key in ("input_resolution", "context_length", "vocab_size"):
                continue
            if key == "visual.time_embedding" or (key.startswith("visual.") and ".net." in key):
                raise ValueError(
                    f"official checkpoint key {key!r} belongs to the joint/TSM variants, which "
                    "this model does not implement"
                )
            converted[f"clip.{key}"] = value
        for key, value in clean(fusion_state or {}).items():
            converted[f"fusion.{key}"] = value
        return converted
