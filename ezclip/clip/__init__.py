"""CLIP towers through open_clip: any open_clip architecture, weights from a tag, a file or none.

The tiny architectures in ``model_configs/`` (for tests and the embedded benchmark) are
registered with open_clip on import, so ``open_clip.create_model('ezclip-tiny')`` works too.
Tiny widths are multiples of 64 so that OpenAI-style code (heads = width // 64) builds the same
towers, which the parity fixtures rely on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import open_clip
import torch
import torch.nn.functional as F

from ezclip.errors import UnknownNameError, WeightsError
from ezclip.records import file_sha256

if TYPE_CHECKING:
    from collections.abc import Callable

MODEL_CONFIG_DIR = Path(__file__).parent / "model_configs"
open_clip.add_model_config(MODEL_CONFIG_DIR)

# Normalisation statistics on the 0-255 scale, as mmaction2's data preprocessor takes them.
NORMALIZATION = {
    "clip": dict(mean=[122.770938, 116.7460125, 104.09373615], std=[68.5005327, 66.6321579, 70.32316305]),
    "imagenet": dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
}

_WEIGHT_FILE_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


def _is_file_spec(pretrained: str) -> bool:
    return os.sep in pretrained or pretrained.endswith(_WEIGHT_FILE_SUFFIXES)


def read_clip_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A CLIP state dict from an OpenAI TorchScript ``.pt`` or an open_clip / plain state-dict file."""
    path = str(path)
    try:
        state = torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:  # not a TorchScript archive
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    for key in ("input_resolution", "context_length", "vocab_size", "attn_mask"):  # constants, not weights
        state.pop(key, None)
    return state


def attend(block: torch.nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
    """An open_clip block's pre-norm self-attention without the residual, for models that run a tower's
    blocks themselves (EZ-CLIP's prompts, X-CLIP's messages): ``(N, L, D)`` batch-first.

    The block's own ``nn.MultiheadAttention`` weights, computed as one in-projection GEMM on the
    contiguous input and ``F.scaled_dot_product_attention``. Called as a module, batch-first
    ``nn.MultiheadAttention`` hands its in-projection a transposed view; with frozen weights torch then
    runs one small GEMM per token, and an EZ-CLIP training step at ViT-B/16 took 1.08x the official
    code's time on a CPU (``benchmarks/test_train_step.py``); on GPUs the fused call is flash attention."""
    mha = block.attn
    n, length, width = x.shape
    qkv = F.linear(block.ln_1(x), mha.in_proj_weight, mha.in_proj_bias)
    q, k, v = qkv.view(n, length, 3, mha.num_heads, width // mha.num_heads).permute(2, 0, 3, 1, 4)
    mask = attn_mask.to(q.dtype) if attn_mask is not None else None
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=mha.dropout if mha.training else 0.0)
    return block.ls_1(mha.out_proj(out.transpose(1, 2).reshape(n, length, width)))


def build_clip(
    arch: str, pretrained: str | Path | None = None, sha256: str | None = None, quick_gelu: bool = True
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Build an open_clip CLIP tower pair and report where its weights came from.

    ``pretrained`` is ``None`` (random init), an open_clip pretrained tag such as ``'openai'``
    (downloaded on the user's machine), or the path of a weights file (OpenAI ``.pt`` or an
    open_clip state dict), optionally checked against ``sha256``.
    ``quick_gelu`` (default on) uses OpenAI CLIP's QuickGELU, which all four methods were trained
    with; open_clip's plain ``ViT-B-16`` config uses nn.GELU, which would not match OpenAI weights.
    Returns ``(model, weights)`` where ``weights`` is a dict for result records.
    """
    create = dict(force_quick_gelu=bool(quick_gelu))
    known = open_clip.list_models()
    if arch not in known:
        raise UnknownNameError("CLIP architecture", arch, known)
    if pretrained in (None, "", "none"):
        return open_clip.create_model(arch, pretrained=None, **create), dict(source="random-init", sha256=None)

    pretrained = str(pretrained)
    if _is_file_spec(pretrained):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise WeightsError(
                f"CLIP weights file {path} (for {arch}) not found. Download it on a machine with network, e.g. "
                f"OpenAI's ViT-B-16.pt, or run `python -c \"import open_clip; open_clip.create_model('{arch}', "
                f"pretrained='openai')\"` there, and pass the file's path."
            )
        digest = file_sha256(path)
        if sha256 and digest != sha256.lower():
            raise WeightsError(f"CLIP weights file {path}: sha256 {digest} does not match the expected {sha256}")
        model = open_clip.create_model(arch, pretrained=None, **create)
        state = read_clip_state_dict(path)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatches
            raise WeightsError(
                f"CLIP weights file {path} does not fit architecture {arch}: {str(exc).splitlines()[1].strip()} ..."
            ) from None
        if missing or unexpected:
            raise WeightsError(
                f"CLIP weights file {path} does not fit architecture {arch}: "
                f"{len(missing)} missing keys (e.g. {missing[:3]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})"
            )
        return model, dict(source=str(path), sha256=digest)

    tags = open_clip.list_pretrained_tags_by_model(arch)
    if pretrained not in tags:
        raise WeightsError(
            f"open_clip has no pretrained tag {pretrained!r} for {arch} (tags: {', '.join(tags) or 'none'})"
        )
    try:
        model = open_clip.create_model(arch, pretrained=pretrained, **create)
    except Exception as exc:  # hub errors come in many types; all mean the same to the user
        offline = " (HF_HUB_OFFLINE=1 is set)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise WeightsError(
            f"could not load open_clip weights {arch}/{pretrained}{offline}: {type(exc).__name__}: {exc}. "
            f"Run once with network access so open_clip caches them, or download the file and pass its path "
            f"as pretrained="
        ) from None
    return model, dict(source=f"open_clip:{arch}/{pretrained}", sha256=None)


def get_tokenizer(arch: str) -> Callable[..., torch.Tensor]:
    return open_clip.get_tokenizer(arch)
