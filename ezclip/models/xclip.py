"""X-CLIP (Ni et al., ECCV 2022, arXiv 2208.02816) as its official code (microsoft/VideoX, X-CLIP/
@ 1744b21: models/xclip.py, cct.py, mit.py, prompt.py) computes it, on open_clip's CLIP towers.

Three additions to CLIP, all trainable with the whole vision tower (131,501,056 parameters at
ViT-B/16 and 8 frames); the text tower and the logit scale stay frozen, so class texts are encoded
once per class set:

- cross-frame communication (``cct``), in every vision layer: each frame's CLS token goes through
  ``message_fc`` to a message token; the T message tokens of a video attend to each other
  (pre-LN ``message_ln``, ``message_attn``, residual); each frame's message token is appended to its
  frame's tokens for the layer's own CLIP attention and dropped before the MLP;
- the multi-frame integration transformer (``mit``): frame CLS features plus a temporal position
  embedding (1, T, D), one 512-wide residual attention block, residual, mean over T;
- the video-specific prompt generator (``prompts_*``): patch tokens (before ``ln_post``) go through
  ``prompts_visual_ln`` and ``prompts_visual_proj`` and are averaged over frames; each class text
  feature cross-attends to them through two layers, and ``alpha * result`` (alpha per channel, init
  0.1) is added to it. The logits are therefore video-conditioned:
  ``s * cos(v_b, t_k + alpha * PG(t_k, visual_b))``.

The text is the bare class name and the loss cross-entropy with label smoothing 0.1 (mixup/cutmix
give soft targets). ``from_official_state_dict`` reads official checkpoints (``state['model']``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from open_clip.transformer import QuickGELU, ResidualAttentionBlock

from ezclip.clip import attend
from ezclip.models.base import VideoCLIP

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# Substrings that mark X-CLIP's new modules; the official optimizer gives them 10x the learning rate.
NEW_MODULE_KEYS = ("message_", "mit", "prompts")


def _heads(width: int) -> int:
    """The official ``width // 64`` heads, at least one (tiny test widths below 64 would give 0)."""
    return max(1, width // 64)


class TokenDropPath(nn.Module):
    """Stochastic depth as the official code applies it: its ``drop_path`` draws one keep/drop per
    index of dim 0, and its tensors are sequence-first, so whole token (or, for the message
    attention, frame) positions are dropped for every sample at once. Here tensors are batch-first,
    so the mask runs over dim 1. The official configs all use rate 0 (``MODEL.DROP_PATH_RATE``)."""

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = (keep + torch.rand(1, x.shape[1], *(1,) * (x.ndim - 2), dtype=x.dtype, device=x.device)).floor_()
        return x.div(keep) * mask

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class MessageBlock(nn.Module):
    """One layer's cross-frame communication: CLS tokens ``(B, T, W)`` -> message tokens ``(B, T, W)``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.message_fc = nn.Linear(width, width)
        self.message_ln = nn.LayerNorm(width)
        self.message_attn = nn.MultiheadAttention(width, heads, batch_first=True)

    def forward(self, cls: torch.Tensor, drop_path: TokenDropPath) -> torch.Tensor:
        msg = self.message_fc(cls)
        y = self.message_ln(msg)
        return msg + drop_path(self.message_attn(y, y, y, need_weights=False)[0])


class MultiframeIntegrationTransformer(nn.Module):
    """Frame features ``(B, T, D)`` -> video feature ``(B, D)``."""

    def __init__(self, num_frames: int, width: int, layers: int = 1) -> None:
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.empty(1, num_frames, width))
        self.resblocks = nn.ModuleList(
            ResidualAttentionBlock(width, _heads(width), act_layer=QuickGELU, norm_layer=nn.LayerNorm)
            for _ in range(layers)
        )
        nn.init.trunc_normal_(self.positional_embedding, std=0.02)
        for module in self.resblocks.modules():  # official init: trunc-normal Linear weights, zero biases
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames + self.positional_embedding
        for block in self.resblocks:
            x = block(x)
        return (x + frames).mean(dim=1)


class CrossAttention(nn.Module):
    """Multi-head attention of queries ``(B, N, C)`` to ``(B, M, C)``; q/k/v without bias."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width, bias=False)
        self.k_proj = nn.Linear(width, width, bias=False)
        self.v_proj = nn.Linear(width, width, bias=False)
        self.proj = nn.Linear(width, width)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        def split(x: torch.Tensor) -> torch.Tensor:
            return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

        q, k, v = split(self.q_proj(query)), split(self.k_proj(context)), split(self.v_proj(context))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).flatten(2))


class PromptGeneratorLayer(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.cross_attn = CrossAttention(width, heads)
        self.norm1 = nn.LayerNorm(width)
        self.norm3 = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.mlp = nn.Sequential(
            nn.Linear(width, width * 4), QuickGELU(), nn.Dropout(dropout), nn.Linear(width * 4, width)
        )

    def forward(self, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        text = text + self.cross_attn(self.norm1(text), visual)
        return text + self.dropout(self.mlp(self.norm3(text)))


class VideoSpecificPrompt(nn.Module):
    """``alpha * PG(text, visual)``: text ``(B, K, D)`` attends to visual tokens ``(B, N, D)``."""

    def __init__(self, width: int, layers: int = 2, alpha: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.decoder = nn.ModuleList(PromptGeneratorLayer(width, _heads(width)) for _ in range(layers))
        self.alpha = nn.Parameter(torch.full((width,), float(alpha)))
        for module in self.decoder.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        visual = self.norm(visual)
        for layer in self.decoder:
            text = layer(text, visual)
        return self.alpha * text


@MODELS.register_module()
class XCLIP(VideoCLIP):
    """X-CLIP. ``mit_layers`` (official default 1), ``prompt_layers`` (2) and ``prompt_alpha`` (0.1) are
    the values ``xclip.load`` passes; ``drop_path`` is ``MODEL.DROP_PATH_RATE`` (0 in every official
    config), ``linspace(0, rate, layers)`` over the vision layers. ``num_frames`` is fixed by the MIT's
    temporal position embedding."""

    def __init__(
        self,
        clip: dict[str, Any],
        num_frames: int = 8,
        mit_layers: int = 1,
        prompt_layers: int = 2,
        prompt_alpha: float = 0.1,
        drop_path: float = 0.0,
        templates: Sequence[str] = ("{}",),
        trainable: Sequence[str] = ("clip.visual.*", "cct.*", "mit.*", "prompts_*"),
        loss: dict[str, Any] = dict(type="cross_entropy", label_smoothing=0.1),
        **kwargs: Any,
    ) -> None:
        self.mit_layers, self.prompt_layers, self.prompt_alpha = mit_layers, prompt_layers, prompt_alpha
        self.drop_path_rate = drop_path
        super().__init__(clip, num_frames=num_frames, templates=templates, trainable=trainable, loss=loss, **kwargs)

    def build_extra_modules(self) -> None:
        visual = self.clip.visual
        blocks = visual.transformer.resblocks
        width, embed_dim = visual.transformer.width, visual.output_dim
        self.cct = nn.ModuleList(MessageBlock(width, block.attn.num_heads) for block in blocks)
        rates = torch.linspace(0, self.drop_path_rate, len(blocks)).tolist()
        self.cct_drop_paths = nn.ModuleList(TokenDropPath(rate) for rate in rates)
        self.mit = MultiframeIntegrationTransformer(self.num_frames, embed_dim, self.mit_layers)
        self.prompts_generator = VideoSpecificPrompt(embed_dim, self.prompt_layers, self.prompt_alpha)
        self.prompts_visual_ln = nn.LayerNorm(width)
        self.prompts_visual_proj = nn.Parameter(torch.randn(width, embed_dim))  # official: randn, std 1

    # -- vision tower with cross-frame communication ------------------------------------------------
    def encode_tokens(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, C, H, W)`` -> frame features ``(B, T, D)`` (CLS, ``ln_post``, ``proj``) and the
        patch tokens ``(B*T, N, W)`` of the last layer, before ``ln_post`` (as official)."""
        b, t = frames.shape[:2]
        if t != self.num_frames:
            raise ValueError(f"X-CLIP's MIT position embedding is tied to {self.num_frames} frames, got {t}")
        visual = self.clip.visual
        x = visual._embeds(frames.flatten(0, 1))  # (b*t, L, W): patches, CLS, positions, ln_pre
        tokens = x.shape[1]
        for block, message, drop in zip(visual.transformer.resblocks, self.cct, self.cct_drop_paths):
            cls = x[:, 0].view(b, t, -1)
            msg = message(cls, drop).reshape(b * t, 1, -1)
            y = attend(block, torch.cat([x, msg], dim=1))
            x = x + drop(y)[:, :tokens]  # the message token is dropped after attention
            x = x + drop(block.ls_2(block.mlp(block.ln_2(x))))
        frame_features = visual.ln_post(x[:, 0]) @ visual.proj
        return frame_features.view(b, t, -1), x[:, 1:]

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        return self.encode_tokens(frames)[0]

    def pool(self, frame_embeddings: torch.Tensor) -> torch.Tensor:
        return self.mit(frame_embeddings)

    def encode_video(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """``dict(frames=(B, T, D), video=(B, D), prompt_context=(B, N, D))``: the last is the visual
        context of the prompt generator, projected patch tokens averaged over frames."""
        b, t = frames.shape[:2]
        frame_features, patches = self.encode_tokens(frames)
        context = self.prompts_visual_ln(patches) @ self.prompts_visual_proj
        context = context.view(b, t, *context.shape[1:]).mean(dim=1)
        return dict(frames=frame_features, video=self.pool(frame_features), prompt_context=context)

    # -- video-conditioned class scores -------------------------------------------------------------
    def conditioned_text_features(self, video: dict[str, torch.Tensor], text_features: torch.Tensor) -> torch.Tensor:
        """Unnormalised ``(P, B, K, D)``: each video's own text features ``t + alpha * PG(t, video)``."""
        context = video["prompt_context"]
        b = context.shape[0]
        p, k, d = text_features.shape
        text = text_features.unsqueeze(1).expand(p, b, k, d).reshape(p * b, k, d)
        context = context.unsqueeze(0).expand(p, *context.shape).reshape(p * b, *context.shape[1:])
        return (text + self.prompts_generator(text, context)).view(p, b, k, d)

    def class_logits(self, video: dict[str, torch.Tensor], text_features: torch.Tensor) -> torch.Tensor:
        v = F.normalize(video["video"], dim=-1)
        t = F.normalize(self.conditioned_text_features(video, text_features), dim=-1)
        return self.clip.logit_scale.exp() * torch.einsum("bd,pbkd->pbk", v, t)

    # -- training recipe ----------------------------------------------------------------------------
    def official_param_groups(
        self, lr: float = 8e-6, weight_decay: float = 0.001, new_module_lr_mult: float = 10.0
    ) -> list[dict[str, Any]]:
        """Optimizer parameter groups as ``utils/optimizer.py:build_optimizer`` makes them: CLIP's
        trainable weights at ``lr``, names containing ``message_``, ``mit`` or ``prompts`` at
        ``lr * 10``; no weight decay on 1-D parameters, biases and ``positional_embedding``."""
        groups = {}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            new = any(key in name for key in NEW_MODULE_KEYS)
            no_decay = param.ndim == 1 or name.endswith(".bias") or "positional_embedding" in name
            key = (new, no_decay)
            if key not in groups:
                groups[key] = dict(
                    params=[],
                    lr=lr * (new_module_lr_mult if new else 1.0),
                    weight_decay=0.0 if no_decay else weight_decay,
                )
            groups[key]["params"].append(param)
        return list(groups.values())

    # -- released checkpoints ----------------------------------------------------------------------
    @classmethod
    def from_official_checkpoint(cls, checkpoint: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``(state dict, keys left to the base CLIP)`` from a loaded official checkpoint."""
        return cls.from_official_state_dict(checkpoint.get("model", checkpoint)), []

    def to_official_checkpoint(self) -> dict[str, Any]:
        """The inverse of ``from_official_checkpoint``: ``{'model': ...}`` in the official names."""
        official = {}
        for key, value in self.state_dict().items():
            match = re.fullmatch(r"cct\.(\d+)\.(message_(?:fc|ln|attn)\..+)", key)
            if match:
                official[f"visual.transformer.resblocks.{match[1]}.{match[2]}"] = value
            elif key.startswith(("mit.", "prompts_")):
                official[key] = value
            elif key.startswith("clip."):
                official[key.removeprefix("clip.")] = value
            else:
                raise ValueError(f"{key!r} has no place in an official X-CLIP checkpoint")
        return dict(model=official)

    @staticmethod
    def from_official_state_dict(state: Mapping[str, Any]) -> dict[str, Any]:
        """Map an official X-CLIP state dict (``state['model']`` of its checkpoints) to this model's names:
        ``visual.transformer.resblocks.{i}.message_*`` -> ``cct.{i}.message_*``; ``mit.*``,
        ``prompts_generator.*``, ``prompts_visual_*`` unchanged; every other key (the CLIP towers)
        under ``clip.``."""
        state = {k.removeprefix("module."): v for k, v in state.items()}
        converted = {}
        for key, value in state.items():
            if key in ("input_resolution", "context_length", "vocab_size"):
                continue
            match = re.fullmatch(r"visual\.transformer\.resblocks\.(\d+)\.(message_(?:fc|ln|attn)\..+)", key)
            if match:
                converted[f"cct.{match[1]}.{match[2]}"] = value
            elif key.startswith(("mit.", "prompts_")):
                converted[key] = value
            else:
                converted[f"clip.{key}"] = value
        return converted
