"""Converters from official checkpoint formats to ``VideoCLIP`` state dicts.

ViFi-CLIP (muzairkhattak/ViFi-CLIP @ e2d1948). ``utils/tools.py`` saves ``{'model': state_dict,
'optimizer', 'lr_scheduler', 'max_accuracy', 'epoch', 'config'}``, the state dict of the
DistributedDataParallel-wrapped ``trainers/vificlip.py:ViFiCLIP`` (keys start with ``module.``). Its
modules are views of one OpenAI CLIP, so the mapping is by prefix:

=============================================  ===============================================
official (after ``module.``)                   ``VideoCLIP``
=============================================  ===============================================
``image_encoder.*`` (``clip_model.visual``)    ``clip.visual.*``
``text_encoder.transformer.*``                 ``clip.transformer.*``
``text_encoder.positional_embedding``          ``clip.positional_embedding``
``text_encoder.ln_final.*``                    ``clip.ln_final.*``
``text_encoder.text_projection``               ``clip.text_projection``
``logit_scale``                                ``clip.logit_scale``
``prompt_learner.complete_text_embeddings``    dropped (see below)
(absent)                                       ``clip.token_embedding.weight``, from the base CLIP
=============================================  ===============================================

``ViFiCLIP`` keeps no token embedding: the prompt learner runs ``clip_model.token_embedding`` once
over ``"a photo of a {c}."`` of the *training* classes and stores the result as the buffer
``complete_text_embeddings``, so the token table is the base CLIP's, never trained. The official
loader deletes that buffer and recomputes it from the current class names with the freshly loaded
OpenAI CLIP; here the base CLIP named by the config supplies ``clip.token_embedding.weight`` and
``VideoCLIP`` tokenises its own class prompts (template ``"a photo of a {}."``), which is the same.

The fine-tuning modes (``PROMPT_MODEL=False``, ``USE`` both/image/text, and ``ZS_EVAL``) have no
learned context: ``ctx`` exists only with ``PROMPT_MODEL=True`` (the "prompting" configs), where
it is an ``nn.Parameter`` of learned text context vectors (``prompt_learner.ctx`` between the
``token_prefix``/``token_suffix`` buffers) together with learned deep prompts (``image_encoder.VPT``,
``*.resblocks.{i}.VPT_shallow``). No text template can express learned vectors, and ``VideoCLIP``
has no prompt tokens, so such checkpoints are refused with a ``ValueError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

    import torch

    ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)

VIFICLIP_PREFIXES = (("image_encoder.", "clip.visual."), ("text_encoder.", "clip."))  # official -> ours
VIFICLIP_DROPPED = ("prompt_learner.complete_text_embeddings",)
VIFICLIP_FROM_BASE_CLIP = ("clip.token_embedding.weight",)


def vificlip_from_official_state_dict(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Map an official ViFi-CLIP checkpoint (whole, or its ``'model'`` state dict) to ``VideoCLIP`` names.

    Returns ``(converted, from_base)``: the converted tensors (floating ones as fp32) and the keys of
    ours that the checkpoint does not hold and must come from the base CLIP (the token embedding).
    Prompting-mode checkpoints (learned ``ctx`` / ``VPT`` prompts) and unknown keys raise ``ValueError``.
    """
    if isinstance(state.get("model"), dict):
        state = state["model"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    prompting = sorted(
        k
        for k in state
        if (k.startswith("prompt_learner.") and k not in VIFICLIP_DROPPED)
        or k.rsplit(".", 1)[-1] in ("VPT", "VPT_shallow")
    )
    if prompting:
        raise ValueError(
            "this is a ViFi-CLIP prompting checkpoint (PROMPT_MODEL=True): it holds learned prompt vectors "
            f"{prompting[:4]}{' ...' if len(prompting) > 4 else ''}, which a text template cannot express and "
            "VideoCLIP does not implement; only fine-tuned (PROMPT_MODEL=False) ViFi-CLIP checkpoints convert"
        )
    converted = {}
    for key, value in state.items():
        if key in VIFICLIP_DROPPED:
            continue
        new = (
            "clip.logit_scale"
            if key == "logit_scale"
            else next(
                (ours + key[len(official) :] for official, ours in VIFICLIP_PREFIXES if key.startswith(official)), None
            )
        )
        if new is None:
            raise ValueError(f"unknown key {key!r} in the official ViFi-CLIP checkpoint")
        converted[new] = value.float() if value.is_floating_point() else value
    return converted, list(VIFICLIP_FROM_BASE_CLIP)


def vificlip_to_official_checkpoint(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The inverse of ``vificlip_from_official_state_dict``: ``{'model': ...}`` with DDP's ``module.``
    names; the token table stays out (the official model keeps none), as does the class-dependent
    ``complete_text_embeddings`` buffer, which the official loader deletes and recomputes."""
    official = {}
    for key, value in state.items():
        if key in VIFICLIP_FROM_BASE_CLIP:
            continue
        if key == "clip.logit_scale":
            name = "logit_scale"
        else:
            name = next((theirs + key[len(ours) :] for theirs, ours in VIFICLIP_PREFIXES if key.startswith(ours)), None)
            if name is None:
                raise ValueError(f"{key!r} has no place in an official ViFi-CLIP checkpoint")
        official[f"module.{name}"] = value
    return dict(model=official)


def load_official_vificlip(model: ModuleT, state: Mapping[str, Any]) -> ModuleT:
    """Load an official ViFi-CLIP checkpoint into ``model`` (a ``VideoCLIP`` already holding its base CLIP).

    Every key of the model but the base-CLIP ones must come from the checkpoint, and nothing else."""
    converted, from_base = vificlip_from_official_state_dict(state)
    missing, unexpected = model.load_state_dict(converted, strict=False)
    if unexpected or set(missing) != set(from_base):
        raise ValueError(
            f"official ViFi-CLIP checkpoint does not fit the model: missing "
            f"{sorted(set(missing) - set(from_base))}, unexpected {sorted(unexpected)}"
        )
    return model
