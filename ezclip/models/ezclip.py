"""EZ-CLIP (arXiv 2312.08010) as its official code (Shahzadnit/EZ-CLIP, clip/model.py) computes it.

Frozen CLIP plus three trainable groups, 5,204,736 parameters at ViT-B/16 and 8 frames:

- temporal visual prompts, one per frame per vision layer: at layer l the prompt of frame t is
  ``P_l[t]`` plus the mean of that frame's tokens (CLS included); the T prompts of a video attend to
  each other with the layer's own frozen ``ln_1``/``attn`` and no residual; each frame's result is
  appended as one extra token to its spatial attention and dropped after it;
- adapters after attention in every block of both towers: ``x + up(GELU(down(x)))``, width/4 hidden,
  the up-projection zero-initialised so training starts from CLIP;
- the loss: ActionCLIP's symmetric KL plus the motion loss ``1 / (C + V + 1)``.

The logit scale is fixed at 100 and the video feature is the mean of the frame features.
Where the official code carries no-ops (a zero, frozen ``temporal_embedding``) this code leaves them
out; ``from_official_state_dict`` checks they are still no-ops in a checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from open_clip.transformer import text_global_pool
from timm.layers import DropPath

from ezclip.clip import attend
from ezclip.models.base import VideoCLIP
from ezclip.models.losses import motion_loss
from ezclip.models.text import ACTIONCLIP_TEMPLATES

PROMPT_MODES = ("all", "first", "none")


class Adapter(nn.Module):
    """``x + up(GELU(down(x)))``; zero-initialised ``up`` makes it the identity at the start."""

    def __init__(self, width: int, ratio: float = 0.25) -> None:
        super().__init__()
        hidden = int(width * ratio)
        self.down = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.up = nn.Linear(hidden, width)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.act(self.down(x)))


@MODELS.register_module()
class EZCLIP(VideoCLIP):
    """EZ-CLIP; the ablation switches are ``prompts`` ('all' layers, 'first' layer, 'none'),
    ``adapters``, ``motion_loss_weight`` (0 switches the motion loss off) and ``num_frames``.

    ``drop_path`` is the official ``network.drop_out``: stochastic depth ``linspace(0, p, layers)``
    on the prompt, attention and MLP branches, and the same per-layer rate as attention dropout.
    """

    def __init__(
        self,
        clip: dict[str, Any],
        num_frames: int = 8,
        prompts: str = "all",
        adapters: bool = True,
        adapter_ratio: float = 0.25,
        motion_loss_weight: float = 1.0,
        prompt_dropout: float = 0.1,
        drop_path: float = 0.1,
        templates: Sequence[str] = ACTIONCLIP_TEMPLATES,
        use_descriptions: bool = True,
        trainable: Sequence[str] = ("temporal_prompts", "visual_adapters.*", "text_adapters.*"),
        logit_scale: float | None = 100.0,
        loss: dict[str, Any] = dict(type="symmetric_kl"),
        **kwargs: Any,
    ) -> None:
        if prompts not in PROMPT_MODES:
            raise ValueError(f"prompts must be one of {PROMPT_MODES}, got {prompts!r}")
        self.prompt_mode, self.use_adapters, self.adapter_ratio = prompts, adapters, adapter_ratio
        self.prompt_dropout_rate, self.drop_path_rate = prompt_dropout, drop_path
        self.motion_loss_weight = motion_loss_weight
        super().__init__(
            clip,
            num_frames=num_frames,
            templates=templates,
            use_descriptions=use_descriptions,
            trainable=trainable,
            logit_scale=logit_scale,
            loss=loss,
            **kwargs,
        )

    def build_extra_modules(self) -> None:
        visual, text = self.clip.visual, self.clip.transformer
        v_width, v_layers = visual.transformer.width, len(visual.transformer.resblocks)
        prompted = {"all": v_layers, "first": 1, "none": 0}[self.prompt_mode]
        if prompted:
            # official init: U(-v, v), v = sqrt(6 / (3 * patch_h * patch_w + width))
            patch = visual.conv1.kernel_size
            bound = math.sqrt(6.0 / (3 * patch[0] * patch[1] + v_width))
            self.temporal_prompts = nn.Parameter(
                torch.empty(prompted, self.num_frames, v_width).uniform_(-bound, bound)
            )
        else:
            self.temporal_prompts = None
        self.prompt_dropout = nn.Dropout(self.prompt_dropout_rate)
        if self.use_adapters:
            self.visual_adapters = nn.ModuleList(Adapter(v_width, self.adapter_ratio) for _ in range(v_layers))
            self.text_adapters = nn.ModuleList(Adapter(text.width, self.adapter_ratio) for _ in text.resblocks)
        self.visual_drop_paths = self._drop_paths(visual.transformer.resblocks)
        self.text_drop_paths = self._drop_paths(text.resblocks)

    def _drop_paths(self, blocks: nn.ModuleList) -> nn.ModuleList:
        rates = torch.linspace(0, self.drop_path_rate, len(blocks)).tolist()
        for block, rate in zip(blocks, rates):
            block.attn.dropout = rate  # attention dropout, read at call time (training only), as official
        return nn.ModuleList(DropPath(rate) if rate > 0 else nn.Identity() for rate in rates)

    # -- vision tower with temporal prompts --------------------------------------------------------
    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        if t != self.num_frames and self.temporal_prompts is not None:
            raise ValueError(f"EZ-CLIP's prompts are tied to {self.num_frames} frame positions, got {t} frames")
        visual = self.clip.visual
        x = visual._embeds(frames.flatten(0, 1))  # (b*t, tokens, width): patches, CLS, positions, ln_pre
        for i, block in enumerate(visual.transformer.resblocks):
            drop = self.visual_drop_paths[i]
            if self.temporal_prompts is not None and i < len(self.temporal_prompts):
                tokens, width = x.shape[1:]
                prompt = self.prompt_dropout(self.temporal_prompts[i]) + x.view(b, t, tokens, width).mean(dim=2)
                prompt = drop(attend(block, prompt))  # attention across the T frames; no residual
                spatial = attend(block, torch.cat([x, prompt.reshape(b * t, 1, width)], dim=1))
                x = x + drop(spatial[:, :tokens])  # the prompt token is dropped after attention
            else:
                x = x + drop(attend(block, x))
            if self.use_adapters:
                x = self.visual_adapters[i](x)
            x = x + drop(block.ls_2(block.mlp(block.ln_2(x))))
        pooled, _ = visual._pool(x)
        return (pooled @ visual.proj).view(b, t, -1)

    # -- text tower with adapters ----------------------------------------------------------------
    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        clip = self.clip
        x = clip.token_embedding(tokens) + clip.positional_embedding
        mask = clip.attn_mask[: tokens.shape[1], : tokens.shape[1]]
        for i, block in enumerate(clip.transformer.resblocks):
            drop = self.text_drop_paths[i]
            x = x + drop(attend(block, x, attn_mask=mask))
            if self.use_adapters:
                x = self.text_adapters[i](x)
            x = x + drop(block.ls_2(block.mlp(block.ln_2(x))))
        x = text_global_pool(clip.ln_final(x), tokens, clip.text_pool_type)
        return x @ clip.text_projection

    def is_text_parameter(self, name: str) -> bool:
        return name.startswith("text_adapters.") or super().is_text_parameter(name)

    def loss_terms(self, video: Mapping[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        losses = super().loss_terms(video, labels)
        if self.motion_loss_weight:
            losses["loss_motion"] = self.motion_loss_weight * motion_loss(video["frames"])
        return losses

    # -- released checkpoints ----------------------------------------------------------------------
    @classmethod
    def from_official_checkpoint(cls, checkpoint: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], list[str]]:
        """``(state dict, keys left to the base CLIP)`` from a loaded official checkpoint."""
        return cls.from_official_state_dict(checkpoint.get("model_state_dict", checkpoint)), []

    def to_official_checkpoint(self) -> dict[str, Any]:
        """The inverse of ``from_official_checkpoint``: ``{'model_state_dict': ...}`` in the official names,
        with the zero ``visual.temporal_embedding`` the official model carries."""
        official = {}
        for key, value in self.state_dict().items():
            if key == "temporal_prompts":
                official["visual.transformer.T_prompt_embeddings"] = value
            elif key.startswith(("visual_adapters.", "text_adapters.")):
                tower, index, layer, leaf = key.split(".")
                prefix = "visual.transformer" if tower == "visual_adapters" else "transformer"
                fc = {"down": "D_fc1", "up": "D_fc2"}[layer]
                official[f"{prefix}.resblocks.{index}.Adapter.{fc}.{leaf}"] = value
            elif key.startswith("clip."):
                official[key.removeprefix("clip.")] = value
            else:
                raise ValueError(f"{key!r} has no place in an official EZ-CLIP checkpoint")
        width = self.clip.visual.transformer.width
        official["visual.temporal_embedding"] = torch.zeros(1, self.num_frames, width)
        return dict(model_state_dict=official)

    @staticmethod
    def from_official_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map an official EZ-CLIP state dict (``model_state_dict`` of its checkpoints) to this model's names."""
        state = {k.removeprefix("module."): v for k, v in state.items()}
        converted = {}
        for key, value in state.items():
            if key == "visual.temporal_embedding":
                if value.abs().max() > 0:
                    raise ValueError(
                        "official checkpoint has a non-zero visual.temporal_embedding; the official "
                        "code freezes it at zero and this model leaves it out"
                    )
                continue
            if key == "visual.transformer.T_prompt_embeddings":
                converted["temporal_prompts"] = value
                continue
            if ".Adapter." in key:
                tower = "visual_adapters" if key.startswith("visual.") else "text_adapters"
                index = key.split("resblocks.")[1].split(".")[0]
                layer = {"D_fc1": "down", "D_fc2": "up"}[key.split(".Adapter.")[1].split(".")[0]]
                converted[f"{tower}.{index}.{layer}.{key.rsplit('.', 1)[1]}"] = value
                continue
            if key in ("input_resolution", "context_length", "vocab_size"):
                continue
            converted[f"clip.{key}"] = value
        return converted
