"""X-CLIP against its official implementation: counts, parity, temporal order, video-conditioned
class scores, the text cache and where gradients go."""

from pathlib import Path

import pytest
import torch
from mmaction.structures import ActionDataSample

from ezclip.models import XCLIP
from ezclip.zoo import build_model

FIXTURE = Path(__file__).parent / "fixtures" / "xclip_official_tiny.pt"
CLASSES = ["jump", "wave", "roll"]


def tiny(**kwargs):
    return XCLIP(clip=dict(arch="ezclip-tiny"), num_frames=4, classes=kwargs.pop("classes", CLASSES), **kwargs)


def trainable(model):
    return {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}


def load_fixture():
    fixture = torch.load(FIXTURE, weights_only=False)
    state = dict(fixture["state"])
    rows = fixture["token_embedding_rows"]
    table = torch.zeros(fixture["vocab_size"], rows.shape[1])
    table[fixture["token_rows"]] = rows
    state["token_embedding.weight"] = table
    return fixture, state


@pytest.fixture(scope="module")
def official():
    """The tiny model with the fixture's official weights, in eval mode, and the fixture."""
    fixture, state = load_fixture()
    model = tiny(classes=fixture["classes"])
    model.load_state_dict(XCLIP.from_official_state_dict(state), strict=True)
    return model.eval(), fixture


@pytest.mark.parametrize("frames, expected", [(8, 131_501_056), (32, 131_513_344)])
def test_trainable_parameters_at_vit_b16(frames, expected):
    counts = trainable(build_model("xclip", arch="ViT-B-16", frames=frames, pretrained=None))
    assert sum(v for k, v in counts.items() if k.startswith("clip.visual.")) == 86_192_640
    assert sum(v for k, v in counts.items() if k.startswith("cct.")) == 35_453_952
    assert sum(v for k, v in counts.items() if k.startswith("mit.")) == 3_152_384 + frames * 512
    assert sum(v for k, v in counts.items() if k.startswith("prompts_generator.")) == 6_303_232
    assert sum(v for k, v in counts.items() if k.startswith("prompts_visual_")) == 394_752
    assert sum(counts.values()) == expected


def test_matches_official_logits(official):
    model, fixture = official
    assert torch.equal(model.tokenize(fixture["classes"]).cpu(), fixture["tokens"])
    with torch.no_grad():
        video = model.encode_video(fixture["video"])
        text = model.class_text_features()
        logits = model.class_logits(video, text)
    assert text.shape == (1, 3, 32) and logits.shape == (1, 2, 3)
    assert torch.allclose(video["frames"], fixture["frame_features"], atol=1e-5)
    assert torch.allclose(video["video"], fixture["video_features"], atol=1e-5)
    assert torch.allclose(video["prompt_context"], fixture["prompt_context"], atol=1e-5)
    assert torch.allclose(text[0], fixture["text_features"], atol=1e-5)
    assert (logits[0] - fixture["logits"]).abs().max() < 1e-4


def test_reversing_frame_order_changes_the_video_feature(official):
    model, fixture = official
    frames = fixture["video"]
    with torch.no_grad():
        forward = model.encode_video(frames)["video"]
        backward = model.encode_video(frames.flip(1))["video"]
    assert (forward - backward).abs().max() > 1e-3


def test_class_scores_are_conditioned_on_the_video(official):
    model, fixture = official
    with torch.no_grad():
        video = model.encode_video(fixture["video"])
        text = model.class_text_features()
        conditioned = model.conditioned_text_features(video, text)  # (1, 2 videos, 3 classes, D)
        logits = model.class_logits(video, text)
    assert (conditioned[0, 0] - conditioned[0, 1]).abs().max() > 1e-3  # each video has its own class texts
    assert torch.allclose(conditioned[0, 1], fixture["conditioned_text_features"][1], atol=1e-5)
    # the scores are not those of the video feature against one shared set of class features
    shared = (
        model.clip.logit_scale.exp()
        * torch.nn.functional.normalize(video["video"], dim=-1)
        @ torch.nn.functional.normalize(text[0], dim=-1).t()
    )
    assert (logits[0] - shared).abs().max() > 1e-2
    alpha = model.prompts_generator.alpha
    saved = alpha.detach().clone()
    try:
        with torch.no_grad():
            alpha.zero_()  # without the prompt generator the scores are the shared ones
            assert torch.allclose(model.class_logits(video, text)[0], shared, atol=1e-4)
    finally:
        with torch.no_grad():
            alpha.copy_(saved)


def test_text_is_encoded_once_per_class_set():
    model = tiny().eval()
    calls = []
    original = model.encode_text

    def counted(tokens):
        calls.append(tokens.shape[0])
        return original(tokens)

    model.encode_text = counted
    inputs = torch.randn(2, 8, 3, 32, 32)  # 2 videos x 2 views x 4 frames
    with torch.no_grad():
        for _ in range(3):
            samples = model(inputs, [ActionDataSample() for _ in range(2)], mode="predict")
    assert calls == [3]
    scores = torch.stack([s.pred_score for s in samples])
    assert scores.shape == (2, 3) and torch.allclose(scores.sum(1), torch.ones(2))
    model.set_classes(["one", "two"])
    with torch.no_grad():
        model(inputs, [ActionDataSample() for _ in range(2)], mode="predict")
        model(inputs, [ActionDataSample() for _ in range(2)], mode="predict")
    assert calls == [3, 2]
    model.train()  # the text tower is frozen, so training reuses the cache too
    model(inputs[:, :4], [ActionDataSample().set_gt_label(torch.tensor(i)) for i in (0, 1)], mode="loss")
    assert calls == [3, 2]


def test_gradients_reach_only_the_trainable_parameters():
    model = tiny().train()
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in (0, 2)]
    losses = model(torch.randn(2, 4, 3, 32, 32), samples, mode="loss")
    assert set(losses) == {"loss_cls"}
    losses["loss_cls"].backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    expected = set(trainable(model))
    assert with_grad == expected
    assert not any(n.startswith("clip.") and not n.startswith("clip.visual.") for n in expected)
    assert any(n.startswith("cct.1.message_attn") for n in expected) and "prompts_generator.alpha" in expected


def test_official_param_groups_and_frame_count():
    model = tiny()
    groups = model.official_param_groups(lr=1e-5, weight_decay=0.001)
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(trainable(model).values())
    names = {id(p): n for n, p in model.named_parameters()}
    for group in groups:
        for param in group["params"]:
            name = names[id(param)]
            new = name.startswith(("cct.", "mit.", "prompts_"))
            assert group["lr"] == pytest.approx(1e-4 if new else 1e-5), name
            decays = param.ndim > 1 and "positional_embedding" not in name
            assert group["weight_decay"] == (0.001 if decays else 0.0), name
    with pytest.raises(ValueError, match="tied to 4 frames"):
        model.encode_video(torch.randn(1, 8, 3, 32, 32))


def test_official_key_mapping():
    converted = XCLIP.from_official_state_dict(
        {
            "module.visual.transformer.resblocks.11.message_attn.in_proj_weight": 1,
            "visual.transformer.resblocks.3.attn.out_proj.bias": 2,
            "mit.resblocks.0.mlp.c_fc.weight": 3,
            "prompts_generator.alpha": 4,
            "prompts_visual_proj": 5,
            "token_embedding.weight": 6,
            "logit_scale": 7,
            "context_length": 8,
        }
    )
    assert converted == {
        "cct.11.message_attn.in_proj_weight": 1,
        "clip.visual.transformer.resblocks.3.attn.out_proj.bias": 2,
        "mit.resblocks.0.mlp.c_fc.weight": 3,
        "prompts_generator.alpha": 4,
        "prompts_visual_proj": 5,
        "clip.token_embedding.weight": 6,
        "clip.logit_scale": 7,
    }
    # what `ezclip-bench convert xclip` calls: the official file keeps the weights under 'model'
    assert XCLIP.from_official_checkpoint(dict(model={"prompts_generator.alpha": 4}, epoch=3)) == (
        {"prompts_generator.alpha": 4},
        [],
    )


def test_the_harness_optimizer_uses_the_official_groups():
    from mmengine.optim import build_optim_wrapper

    model = tiny()
    wrapper = build_optim_wrapper(
        model,
        dict(
            constructor="OfficialParamGroupsConstructor",
            paramwise_cfg=dict(new_module_lr_mult=10.0),
            optimizer=dict(type="AdamW", lr=3e-4, weight_decay=0.001),
        ),
    )
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        new = {names[id(p)].startswith(("cct.", "mit.", "prompts_")) for p in group["params"]}
        assert len(new) == 1 and group["lr"] == pytest.approx(3e-3 if new.pop() else 3e-4)
    assert sum(p.numel() for g in wrapper.optimizer.param_groups for p in g["params"]) == sum(trainable(model).values())


def test_export_to_the_official_layout_is_the_converter_inverse(official):
    model, _ = official
    _, state = load_fixture()
    exported = model.to_official_checkpoint()["model"]
    assert set(exported) == set(state) - {"input_resolution", "context_length", "vocab_size"}
    for key, value in exported.items():
        assert torch.equal(value, state[key]), key
