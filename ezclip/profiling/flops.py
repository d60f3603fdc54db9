"""FLOPs: fvcore's counter with handles for the attention operators it misses, the analytic ViT
count it is checked against, and the rows of a tower and of a model."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from ezclip.profiling.paths import DEFAULT_CLASSES, TEXT_PROMPT, ScoredPath, TextPath, VisionPath, random_text_features

if TYPE_CHECKING:
    from fvcore.nn.jit_handles import Handle

    from ezclip.models.base import VideoCLIP
    from ezclip.profiling.paths import ImageTower

FLOP_CONVENTION = "fvcore: 1 multiply-add = 1 FLOP (GMAC); gflops = 2 x gmac"

# Operator names that carry real arithmetic: if one of them is left uncounted the total is wrong.
_HEAVY_OP_KEYS = (
    "attention",
    "transformer",
    "matmul",
    "mm",
    "conv",
    "linear",
    "lstm",
    "gru",
    "rnn",
    "einsum",
    "baddbmm",
    "addmm",
    "bmm",
    "_fwd",
)
GIGA = 1e9


# -- FLOP handles ---------------------------------------------------------------------------------
def _shape(value: Any) -> list[int]:
    from fvcore.nn.jit_handles import get_shape

    return get_shape(value)


def sdpa_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """MACs of ``aten::scaled_dot_product_attention``: ``Q K^T`` and ``softmax(.) V``.

    q ``(..., L, E)``, k ``(..., S, E)``, v ``(..., S, Ev)``: ``prod(...) * L * S * (E + Ev)``."""
    q, k, v = (_shape(x) for x in inputs[:3])
    return math.prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def native_mha_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """MACs of ``aten::_native_multi_head_attention``, the fused path ``nn.MultiheadAttention`` takes
    in eval without grad: the q/k/v in-projections, the two attention matmuls and the output
    projection (the same MACs as the unfused path's ``linear`` + sdpa + ``linear``).

    query ``(B, L, E)``, key/value ``(B, S, E)`` (the fast path needs one embedding size)."""
    q, k = _shape(inputs[0]), _shape(inputs[1])
    lead, length, source, embed = math.prod(q[:-2]), q[-2], k[-2], q[-1]
    projections = lead * (2 * length + 2 * source) * embed * embed  # q, out (L rows); k, v (S rows)
    attention = lead * length * source * 2 * embed
    return projections + attention


FLOP_HANDLES = {
    "aten::scaled_dot_product_attention": sdpa_flop_jit,
    "aten::_native_multi_head_attention": native_mha_flop_jit,
}


def _short(op: str) -> str:
    return op.split("::")[-1]


def count_macs(
    module: nn.Module, inputs: torch.Tensor | tuple[torch.Tensor, ...], handles: Mapping[str, Handle] | None = None
) -> dict[str, Any]:
    """Trace ``module(*inputs)`` with fvcore (no grad) and count multiply-accumulates.

    Returns ``dict(macs, by_operator, uncounted_ops, attention_macs)``: ``uncounted_ops`` are the
    unsupported operators that are not element-wise (``{op: calls}``); ``attention_macs`` what the
    attention handles added (what an un-patched fvcore/mmengine would miss)."""
    from fvcore.nn import FlopCountAnalysis

    handles = FLOP_HANDLES if handles is None else handles
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(module, inputs)
        for op, handle in handles.items():
            analysis.set_op_handle(op, handle)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        total = int(analysis.total())
        by_operator = {k: int(v) for k, v in analysis.by_operator().items()}
        unsupported = dict(analysis.unsupported_ops())
    uncounted = {op: n for op, n in unsupported.items() if any(key in _short(op) for key in _HEAVY_OP_KEYS)}
    attention = sum(by_operator.get(_short(op), 0) for op in handles)
    return dict(macs=total, by_operator=by_operator, uncounted_ops=uncounted, attention_macs=attention)


def vit_analytic_macs(visual: nn.Module, frames: int = 1) -> int | None:
    """Closed-form MACs of an open_clip ``VisionTransformer`` on ``frames`` images: patch embedding,
    per layer ``4 N D^2`` (attention projections) ``+ 2 N^2 D`` (attention) ``+ 2 N D M`` (MLP, M its
    hidden width), and the output projection of the pooled token. Norms and element-wise ops are left
    out (fvcore adds about 0.1% for LayerNorm). ``None`` for towers that are not a plain ViT."""
    if not all(hasattr(visual, a) for a in ("conv1", "grid_size", "transformer", "proj")):
        return None
    conv = visual.conv1
    grid = math.prod(visual.grid_size)
    width = visual.transformer.width
    tokens = grid + 1  # CLS
    patch = conv.in_channels * math.prod(conv.kernel_size) * width * grid
    per_layer = 0
    for block in visual.transformer.resblocks:
        hidden = block.mlp.c_fc.out_features
        per_layer += 4 * tokens * width * width + 2 * tokens * tokens * width + 2 * tokens * width * hidden
    proj = math.prod(visual.proj.shape) if visual.proj is not None else 0
    return frames * (patch + per_layer + proj)


# -- FLOPs ------------------------------------------------------------------------------------------
def _gmac_fields(prefix: str, macs: float) -> dict[str, float]:
    return {f"{prefix}_gmac": macs / GIGA, f"{prefix}_gflops": 2 * macs / GIGA}


def tower_flops(tower: ImageTower, frames: int, input_size: int) -> dict[str, Any]:
    x = torch.zeros(1, frames, 3, input_size, input_size)
    count = count_macs(tower.eval(), x)
    analytic = vit_analytic_macs(tower.visual, frames)
    row = dict(
        **_gmac_fields("vision", count["macs"]),
        vision_gmac_per_frame=count["macs"] / frames / GIGA,
        vision_gmac_without_attention_handles=(count["macs"] - count["attention_macs"]) / GIGA,
        uncounted_ops=count["uncounted_ops"],
    )
    if analytic:
        row.update(vision_gmac_analytic=analytic / GIGA, vision_vs_analytic=count["macs"] / analytic - 1.0)
    return row


def model_flops(model: VideoCLIP, frames: int, input_size: int, classes: int = DEFAULT_CLASSES) -> dict[str, Any]:
    """FLOP fields of one model (eval mode): vision per view, text per prompt, class side per video."""
    model.eval()
    x = torch.zeros(1, frames, 3, input_size, input_size)
    vision = count_macs(VisionPath(model).eval(), x)
    text_features = random_text_features(model, classes, torch.Generator().manual_seed(0))
    scored = count_macs(ScoredPath(model).eval(), (x, text_features))
    tokens = model.tokenize([TEXT_PROMPT]).cpu()
    text = count_macs(TextPath(model).eval(), tokens)
    class_side = scored["macs"] - vision["macs"]
    prompts = len(model.templates)
    uncounted = {}
    for part in (vision, scored, text):
        uncounted.update(part["uncounted_ops"])
    return dict(
        **_gmac_fields("vision", vision["macs"]),
        vision_gmac_per_frame=vision["macs"] / frames / GIGA,
        vision_gmac_without_attention_handles=(vision["macs"] - vision["attention_macs"]) / GIGA,
        **_gmac_fields("text_per_prompt", text["macs"]),
        text_context_length=int(tokens.shape[1]),
        text_prompts_per_class=prompts,
        text_gmac_class_set=text["macs"] * prompts * classes / GIGA,
        **_gmac_fields("class_side_per_video", class_side),
        **_gmac_fields("total_per_video", scored["macs"]),
        uncounted_ops=uncounted,
    )
