"""EZ-CLIP against its official implementation: counts, gradients, invariances, losses, parity."""

import math
from pathlib import Path

import pytest
import torch

from ezclip.models import EZCLIP, VideoCLIP
from ezclip.models.losses import motion_loss, symmetric_kl_loss
from ezclip.zoo import build_model

FIXTURE = Path(__file__).parent / "fixtures" / "ezclip_official_tiny.pt"


def tiny(**kwargs):
    return EZCLIP(clip=dict(arch="ezclip-tiny"), num_frames=4, classes=["jump", "wave", "roll"], **kwargs)


def trainable(model):
    return {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}


def test_trainable_parameters_at_vit_b16_8_frames():
    counts = trainable(build_model("ezclip", arch="ViT-B-16", frames=8, pretrained=None))
    assert counts["temporal_prompts"] == 73_728
    assert sum(v for k, v in counts.items() if k.startswith("visual_adapters.")) == 3_550_464
    assert sum(v for k, v in counts.items() if k.startswith("text_adapters.")) == 1_580_544
    assert sum(counts.values()) == 5_204_736


def test_trainable_parameters_at_vit_l14_8_frames():
    assert sum(trainable(build_model("ezclip", arch="ViT-L-14", frames=8, pretrained=None)).values()) == 16_360_704


def test_ablation_switches_change_what_trains():
    assert tiny(prompts="first").temporal_prompts.shape == (1, 4, 64)
    assert tiny(prompts="none").temporal_prompts is None
    assert not any("adapters" in n for n in trainable(tiny(adapters=False)))
    with pytest.raises(ValueError, match="prompts must be one of"):
        tiny(prompts="deep")


def test_gradients_reach_only_prompts_and_adapters():
    model = tiny(motion_loss_weight=1.0)
    for module in list(model.visual_adapters) + list(model.text_adapters):
        torch.nn.init.normal_(module.up.weight, std=0.1)  # zero-init would block gradients to `down`
    model.train()
    frames = torch.randn(2, 4, 3, 32, 32)
    losses = model.loss_terms(model.encode_video(frames), torch.tensor([[0], [2]]))
    assert set(losses) == {"loss_kl", "loss_motion"}
    sum(losses.values()).backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert with_grad == set(trainable(model))


def test_without_prompts_and_adapters_it_is_frozen_clip():
    model = tiny(prompts="none", adapters=False).eval()
    reference = VideoCLIP(
        clip=dict(arch="ezclip-tiny"),
        num_frames=4,
        templates=model.templates,
        logit_scale=100.0,
        classes=["jump", "wave", "roll"],
    ).eval()
    reference.clip.load_state_dict(model.clip.state_dict())
    frames = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        ours = model.class_logits(model.encode_video(frames), model.class_text_features())
        clip = reference.class_logits(reference.encode_video(frames), reference.class_text_features())
    torch.testing.assert_close(ours, clip, rtol=0, atol=1e-5)


def test_reversing_the_frames_changes_the_video_feature():
    model = tiny().eval()
    frames = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        forward = model.encode_video(frames)["video"]
        backward = model.encode_video(frames.flip(1))["video"]
    assert (forward - backward).abs().max() > 1e-3


def test_motion_loss_by_hand():
    e = torch.tensor([[[0.0], [1.0], [3.0]]])  # one video, three frames, one channel
    central = (abs(1 - 0) + abs(3 - 0) + abs(3 - 1)) / 2 / 3  # one-sided at the ends, halved, mean
    variance = ((0 - 4 / 3) ** 2 + (1 - 4 / 3) ** 2 + (3 - 4 / 3) ** 2) / 2  # unbiased
    assert motion_loss(e).item() == pytest.approx(1 / (central + variance + 1), rel=1e-6)


def test_symmetric_kl_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    q = [math.exp(10) / (math.exp(10) + 1), 1 / (math.exp(10) + 1)]  # softmax(10 * [1, 0])

    def kl_row(target, row):
        log_p = [x - math.log(sum(math.exp(y) for y in row)) for x in row]
        return sum(t * (math.log(t) - lp) for t, lp in zip(target, log_p))

    v2t = (kl_row(q, [2, 0]) + kl_row(q[::-1], [1, 1])) / 2
    t2v = (kl_row(q, [2, 1]) + kl_row(q[::-1], [0, 1])) / 2
    assert symmetric_kl_loss(logits, torch.tensor([0, 1])).item() == pytest.approx((v2t + t2v) / 2, rel=1e-5)
    # items of the same class share the target mass equally
    same = symmetric_kl_loss(torch.zeros(2, 2), torch.tensor([1, 1]))
    assert same.item() == pytest.approx(0.0, abs=1e-6)


def load_fixture():
    fixture = torch.load(FIXTURE, weights_only=False)
    state = {k: v.clone() for k, v in fixture["state_dict"].items()}
    embedding = torch.zeros(fixture["vocab_size"], fixture["token_embedding_rows"].shape[1])
    embedding[fixture["token_rows"]] = fixture["token_embedding_rows"]
    state["token_embedding.weight"] = embedding
    return fixture, state


def test_parity_with_the_official_implementation():
    fixture, state = load_fixture()
    model = tiny()
    missing, unexpected = model.load_state_dict(EZCLIP.from_official_state_dict(state), strict=False)
    assert not unexpected and not missing
    model.eval()
    with torch.no_grad():
        video = model.encode_video(fixture["video"])
        text = model.encode_text(fixture["tokens"])
        logits = model.class_logits(video, text[None])[0]
    torch.testing.assert_close(video["frames"], fixture["frame_embeddings"], rtol=0, atol=1e-4)
    torch.testing.assert_close(logits, fixture["logits"], rtol=0, atol=1e-4)
    train_logits = fixture["train_logits_per_image"]
    assert symmetric_kl_loss(train_logits, torch.tensor(fixture["labels"])).item() == pytest.approx(
        fixture["kl_loss_total"], abs=1e-5
    )
    assert motion_loss(video["frames"]).item() == pytest.approx(fixture["motion_loss"], abs=1e-5)


def test_converter_checks_the_frozen_temporal_embedding():
    _, state = load_fixture()
    state["visual.temporal_embedding"] = torch.ones_like(state["visual.temporal_embedding"])
    with pytest.raises(ValueError, match="non-zero visual.temporal_embedding"):
        EZCLIP.from_official_state_dict(state)


def test_convert_command_writes_a_loadable_checkpoint(tmp_path):
    from ezclip.cli import main

    _, state = load_fixture()
    official = tmp_path / "ezclip_official.pt"
    torch.save({"epoch": 3, "model_state_dict": {f"module.{k}": v for k, v in state.items()}}, official)
    assert main(["convert", "ezclip", str(official), str(tmp_path / "converted.pth")]) == 0
    converted = torch.load(tmp_path / "converted.pth", weights_only=False)["state_dict"]
    model = tiny()
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.temporal_prompts, state["visual.transformer.T_prompt_embeddings"])


def test_descriptions_are_used_alone_and_templates_otherwise(tmp_path):
    model = tiny()
    assert model.text_source == "templates:16"
    model.set_classes(["jump", "wave"], ["A person jumps.", "A hand waves."])
    assert model.prompts.prompts == (("A person jumps.", "A hand waves."),)
    assert model.text_source == "descriptions"


def test_prompts_are_tied_to_the_frame_count():
    with pytest.raises(ValueError, match="tied to 4 frame positions, got 8"):
        tiny().encode_video(torch.randn(1, 8, 3, 32, 32))


def test_export_to_the_official_layout_is_the_converter_inverse():
    """Exported keys are exactly the official model's (the fixture's, from the official code); read back,
    every tensor is the same."""
    fixture, state = load_fixture()
    model = tiny()
    model.load_state_dict(EZCLIP.from_official_state_dict(state), strict=True)
    exported = model.to_official_checkpoint()["model_state_dict"]
    skipped = {"input_resolution", "context_length", "vocab_size"}
    assert set(exported) == set(state) - skipped
    for key, value in exported.items():
        assert torch.equal(value, state[key]), key
    converted, from_base = EZCLIP.from_official_checkpoint(model.to_official_checkpoint())
    assert from_base == [] and converted.keys() == model.state_dict().keys()
