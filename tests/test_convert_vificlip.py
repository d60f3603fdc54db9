"""Official ViFi-CLIP checkpoints (muzairkhattak/ViFi-CLIP @ e2d1948) -> the ``vificlip`` VideoCLIP config."""

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import ezclip  # noqa: F401  (registers the models)
from ezclip.models.convert import load_official_vificlip, vificlip_from_official_state_dict
from ezclip.zoo import build_model

FIXTURES = Path(__file__).parent / "fixtures"
CLASSES = ["archery", "playing guitar", "riding a bike"]
BLOCK = (
    "attn.in_proj_weight",
    "attn.in_proj_bias",
    "attn.out_proj.weight",
    "attn.out_proj.bias",
    "ln_1.weight",
    "ln_1.bias",
    "mlp.c_fc.weight",
    "mlp.c_fc.bias",
    "mlp.c_proj.weight",
    "mlp.c_proj.bias",
    "ln_2.weight",
    "ln_2.bias",
)
# state_dict() keys of the official ViFiCLIP(PROMPT_MODEL=False) on the tiny CLIP (2 vision and 2 text
# layers), as listed by instantiating trainers/vificlip.py outside this repository.
OFFICIAL_KEYS = {
    "logit_scale",
    "prompt_learner.complete_text_embeddings",
    *(
        f"image_encoder.{k}"
        for k in (
            "class_embedding",
            "positional_embedding",
            "proj",
            "conv1.weight",
            "ln_pre.weight",
            "ln_pre.bias",
            "ln_post.weight",
            "ln_post.bias",
        )
    ),
    *(f"text_encoder.{k}" for k in ("positional_embedding", "text_projection", "ln_final.weight", "ln_final.bias")),
    *(
        f"{tower}.transformer.resblocks.{i}.{k}"
        for tower in ("image_encoder", "text_encoder")
        for i in range(2)
        for k in BLOCK
    ),
}


def tiny():
    return build_model("vificlip", arch="ezclip-tiny", frames=4, pretrained=None)


def official_checkpoint(clip_state, prompt_tokens):
    """What ``utils/tools.py:epoch_saving`` writes for a DDP-wrapped ``ViFiCLIP(PROMPT_MODEL=False)`` on a CLIP
    with these OpenAI-named weights: ``image_encoder`` is ``clip.visual``; ``text_encoder`` holds the text
    ``transformer``, ``positional_embedding``, ``ln_final``, ``text_projection``; ``logit_scale``; and the
    prompt learner's buffer of the training prompts' token embeddings (the token table itself is not kept)."""
    prompt_embeddings = F.embedding(prompt_tokens, clip_state["token_embedding.weight"])
    model = {"logit_scale": clip_state["logit_scale"], "prompt_learner.complete_text_embeddings": prompt_embeddings}
    for key, value in clip_state.items():
        if key.startswith("visual."):
            model["image_encoder." + key.removeprefix("visual.")] = value
        elif key.startswith(("transformer.", "positional_embedding", "ln_final.", "text_projection")):
            model["text_encoder." + key] = value
    return {"model": {f"module.{k}": v.clone() for k, v in model.items()}, "epoch": 9, "max_accuracy": 50.0}


def logits(model, video, classes=CLASSES):
    model.set_classes(classes)
    model.eval()
    with torch.no_grad():
        return model.class_logits(model.encode_video(video), model.class_text_features())[0]


def test_round_trip_through_the_official_format_keeps_weights_and_logits():
    torch.manual_seed(0)
    base = tiny()  # stands for the base CLIP the config names
    tuned = copy.deepcopy(base)
    with torch.no_grad():  # fine-tune everything but the token table, as the official "both" mode does
        for name, param in tuned.named_parameters():
            if name != "clip.token_embedding.weight":
                param.add_(0.05 * torch.randn_like(param))
    training_prompts = tuned.tokenize([f"a photo of a {c}." for c in ("bowling", "surfing")])  # not CLASSES
    checkpoint = official_checkpoint(tuned.clip.state_dict(), training_prompts)
    assert {k.removeprefix("module.") for k in checkpoint["model"]} == OFFICIAL_KEYS

    converted, from_base = vificlip_from_official_state_dict(checkpoint)
    assert from_base == ["clip.token_embedding.weight"]
    assert set(converted) | set(from_base) == set(tuned.state_dict())
    model = load_official_vificlip(base, checkpoint)
    for key, value in tuned.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    video = torch.randn(2, 4, 3, 32, 32)
    torch.testing.assert_close(logits(model, video), logits(tuned, video), rtol=0, atol=0)


def test_converted_checkpoint_reproduces_the_official_vificlip_forward():
    weights = torch.load(FIXTURES / "actionclip_official_tiny.pt", weights_only=True)
    ref = torch.load(FIXTURES / "vificlip_official_tiny.pt", weights_only=True)["outputs"]["vificlip"]
    token = torch.zeros(weights["vocab_size"], weights["token_embedding_rows"].shape[1])
    token[weights["token_rows"]] = weights["token_embedding_rows"]
    clip_state = {**weights["clip_state"], "token_embedding.weight": token}
    base = tiny()  # random towers; only the token table comes from the "base CLIP"
    with torch.no_grad():
        base.clip.token_embedding.weight.copy_(token)
    model = load_official_vificlip(base, official_checkpoint(clip_state, ref["tokenized_prompts"]))
    torch.testing.assert_close(logits(model, weights["video"]), ref["logits"], rtol=0, atol=1e-4)


def test_prompting_checkpoints_with_learned_context_are_refused():
    state = official_checkpoint(tiny().clip.state_dict(), torch.zeros(3, 77, dtype=torch.long))["model"]
    del state["module.prompt_learner.complete_text_embeddings"]
    state.update(
        {
            "module.prompt_learner.ctx": torch.zeros(4, 64),  # PROMPT_MODEL=True: learned nn.Parameter
            "module.prompt_learner.token_prefix": torch.zeros(3, 1, 64),
            "module.prompt_learner.token_suffix": torch.zeros(3, 72, 64),
            "module.image_encoder.VPT": torch.zeros(4, 64),
            "module.text_encoder.transformer.resblocks.1.VPT_shallow": torch.zeros(4, 64),
        }
    )
    with pytest.raises(ValueError, match=r"PROMPT_MODEL=True.*prompt_learner\.ctx"):
        vificlip_from_official_state_dict(state)


def test_unknown_and_missing_keys_are_errors():
    state = official_checkpoint(tiny().clip.state_dict(), torch.zeros(3, 77, dtype=torch.long))["model"]
    with pytest.raises(ValueError, match="unknown key 'mit.weight'"):
        vificlip_from_official_state_dict({**state, "module.mit.weight": torch.zeros(1)})
    del state["module.text_encoder.ln_final.bias"]
    with pytest.raises(ValueError, match=r"missing \['clip.ln_final.bias'\]"):
        load_official_vificlip(tiny(), state)


def test_convert_command_and_predict_load_a_vificlip_checkpoint(tmp_path, capsys):
    import numpy as np
    import torch

    from ezclip.cli import main
    from ezclip.data.video_io import write_mp4
    from ezclip.zoo import build_model

    model = build_model("vificlip", arch="ezclip-tiny", frames=4, pretrained=None)
    official = {
        "module.image_encoder." + k[len("clip.visual.") :]: v
        for k, v in model.state_dict().items()
        if k.startswith("clip.visual.")
    }
    official.update(
        {
            "module.text_encoder." + k[len("clip.") :]: v
            for k, v in model.state_dict().items()
            if k.startswith("clip.") and not k.startswith(("clip.visual.", "clip.token_embedding", "clip.logit_scale"))
        }
    )
    official["module.logit_scale"] = model.state_dict()["clip.logit_scale"]
    torch.save({"model": official, "epoch": 1}, tmp_path / "vifi.pth")
    assert main(["convert", "vificlip", str(tmp_path / "vifi.pth"), str(tmp_path / "ours.pth")]) == 0
    write_mp4(tmp_path / "v.mp4", np.random.default_rng(0).integers(0, 255, (8, 64, 64, 3), dtype=np.uint8))
    assert (
        main(
            [
                "predict",
                str(tmp_path / "v.mp4"),
                "--labels",
                "a,b",
                "--model",
                "vificlip",
                "--arch",
                "ezclip-tiny",
                "--pretrained",
                "none",
                "--checkpoint",
                str(tmp_path / "ours.pth"),
            ]
        )
        == 0
    )
    assert "probability" in capsys.readouterr().out


def test_export_to_the_official_layout_is_the_converter_inverse():
    torch.manual_seed(0)
    model = tiny()
    exported = model.to_official_checkpoint()
    assert {k.removeprefix("module.") for k in exported["model"]} == OFFICIAL_KEYS - {
        "prompt_learner.complete_text_embeddings"  # class-dependent: the official loader recomputes it
    }
    converted, from_base = vificlip_from_official_state_dict(exported)
    assert set(converted) | set(from_base) == set(model.state_dict())
    assert all(torch.equal(converted[k], model.state_dict()[k]) for k in converted)
