"""ActionCLIP against its official implementation (counts, parity, optimizer groups, checkpoints), and
ViFi-CLIP / vanilla CLIP configs of VideoCLIP against the official ViFi-CLIP forward."""

from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ezclip.models import ActionCLIP
from ezclip.models.actionclip import FUSION_HEADS, TemporalFusion
from ezclip.models.text import ACTIONCLIP_TEMPLATES, ClassPrompts
from ezclip.zoo import build_model, load_model_config

FIXTURES = Path(__file__).parent / "fixtures"
HEADS = list(FUSION_HEADS)


@pytest.fixture(scope="module")
def official():
    return torch.load(FIXTURES / "actionclip_official_tiny.pt", weights_only=True)


@pytest.fixture(scope="module")
def official_vifi():
    return torch.load(FIXTURES / "vificlip_official_tiny.pt", weights_only=True)


def official_clip_state(fx):
    """The fixture's CLIP weights in OpenAI names, with the token embedding table rebuilt."""
    token = torch.zeros(fx["vocab_size"], fx["token_embedding_rows"].shape[1])
    token[fx["token_rows"]] = fx["token_embedding_rows"]
    return {**fx["clip_state"], "token_embedding.weight": token}


def tiny(fusion="Transf", **kwargs):
    kwargs.setdefault("classes", ["archery", "playing guitar", "riding a bike"])
    return ActionCLIP(clip=dict(arch="ezclip-tiny"), num_frames=4, fusion=fusion, **kwargs)


def tiny_official(fx, fusion, **kwargs):
    model = tiny(fusion, classes=fx["class_names"], **kwargs)
    checkpoint = dict(
        model_state_dict=official_clip_state(fx),  # as utils/saving.py writes it, fusion under
        fusion_model_state_dict={f"module.{k}": v for k, v in fx["fusion_states"][fusion].items()},
    )
    model.load_state_dict(ActionCLIP.from_official_state_dict(checkpoint), strict=True)
    return model.eval()


def trainable_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -- construction -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fusion", HEADS)
def test_trainable_parameters_at_vit_b16_match_official(fusion, official):
    cfg = load_model_config("actionclip", arch="ViT-B-16", frames=8, pretrained=None)
    if fusion == "Transf":
        assert cfg.model.fusion == "Transf"  # the registry default
        model = build_model("actionclip", arch="ViT-B-16", frames=8, pretrained=None)
    else:
        cfg.model.fusion = fusion
        model = MODELS.build(cfg.model)
    counts = official["official_param_counts_b16"]
    assert trainable_count(model) == counts["clip"] + counts[fusion]
    assert trainable_count(model) == sum(p.numel() for p in model.parameters())  # everything trains
    expected = {"Transf": 168_574_465, "meanP": 149_620_737}
    if fusion in expected:
        assert trainable_count(model) == expected[fusion]


def test_defaults_follow_the_official_code():
    model = tiny()
    assert model.templates == ACTIONCLIP_TEMPLATES and len(model.templates) == 16
    assert model.loss_cfg == dict(type="symmetric_kl") and model.test_logit_scale == 100.0
    assert not hasattr(tiny("meanP").fusion, "frame_position_embeddings")
    for fusion in ("Conv_1D", "LSTM", "Transf_cls"):  # declared by the official module, never used
        assert tiny(fusion).fusion.frame_position_embeddings.weight.shape == (77, 32)
    assert len(model.fusion.transformer.resblocks) == 6
    assert model.fusion.transformer.resblocks[0].attn.num_heads == 1  # text width 64 // 64, as official
    with pytest.raises(ValueError, match="fusion must be one of"):
        tiny("Transformer")


def test_conv1d_starts_as_the_official_channel_shift(official):
    fusion = TemporalFusion("Conv_1D", embed_dim=32, heads=1, num_frames=4)
    torch.testing.assert_close(
        fusion.shift.weight.detach(), official["official_init"]["Conv_1D"]["shift.weight"], rtol=0, atol=0
    )


# -- parity with the official code ------------------------------------------------------------------
@pytest.mark.parametrize("fusion", HEADS)
def test_parity_with_official_code(fusion, official, monkeypatch):
    fx, ref = official, official["outputs"]["heads"][fusion]
    model = tiny_official(fx, fusion)
    tokens = model.tokenize([p for per_template in model.prompts.prompts for p in per_template])
    assert torch.equal(tokens, fx["class_tokens"])  # open_clip's tokenizer == the official clip.tokenize
    with torch.no_grad():
        video = model.encode_video(fx["video"])
        scores = model(fx["video"], mode="tensor")  # 16 templates, softmax each at scale 100, averaged
    torch.testing.assert_close(video["frames"], fx["frame_embeddings"], rtol=0, atol=1e-4)
    torch.testing.assert_close(video["video"], ref["video_embedding"], rtol=0, atol=1e-4)
    torch.testing.assert_close(scores, ref["scores"], rtol=0, atol=1e-4)
    for case in ("distinct", "same"):  # train.py's loss, templates fixed to the official draw
        train = ref["train"][case]
        picks = iter(train["template_ids"])
        monkeypatch.setattr(
            ClassPrompts, "sample_prompt", lambda self, label, rng=None, picks=picks: self.prompts[next(picks)][label]
        )
        with torch.no_grad():
            loss = model.loss_terms(video, torch.tensor(train["labels"])[:, None])["loss_kl"]
        torch.testing.assert_close(loss, train["total_loss"], rtol=0, atol=1e-4)


def test_official_checkpoint_formats(official):
    model_state, fusion_state = official_clip_state(official), official["fusion_states"]["Transf"]
    whole = ActionCLIP.from_official_state_dict(
        dict(model_state_dict=model_state, fusion_model_state_dict=fusion_state, epoch=3, optimizer_state_dict={})
    )
    half = {k: v.half() for k, v in model_state.items()}
    split = ActionCLIP.from_official_state_dict(half, {f"module.{k}": v for k, v in fusion_state.items()})
    assert set(whole) == set(split) == set(tiny().state_dict())
    # what `ezclip-bench convert actionclip` calls: the saved file as the official code writes it
    converted, from_base = ActionCLIP.from_official_checkpoint(
        dict(model_state_dict=model_state, fusion_model_state_dict=fusion_state, epoch=3)
    )
    assert from_base == [] and all(torch.equal(converted[k], whole[k]) for k in whole) and set(converted) == set(whole)
    assert all(v.dtype == torch.float32 for v in split.values())
    with pytest.raises(ValueError, match="joint/TSM"):
        ActionCLIP.from_official_state_dict({**model_state, "visual.time_embedding": torch.zeros(4, 64)})


def test_recipe_optimizer_groups_match_official(official):
    from mmengine.optim import build_optim_wrapper

    recipe = load_model_config("actionclip").recipe
    model = tiny_official(official, "Transf")
    wrapper = build_optim_wrapper(model, dict(optimizer=recipe.optimizer, paramwise_cfg=recipe.paramwise_cfg))
    names = {id(p): n for n, p in model.named_parameters()}
    ours = {names[id(p)]: (g["lr"], g["weight_decay"]) for g in wrapper.optimizer.param_groups for p in g["params"]}
    expected = {
        n: (pytest.approx(lr), pytest.approx(wd)) for n, (lr, wd) in official["official_lr_weight_decay_transf"].items()
    }
    assert ours == expected


# -- temporal behaviour and gradients ---------------------------------------------------------------
def test_reversing_the_frames_changes_the_transf_video_feature(official):
    model = tiny_official(official, "Transf")
    frames = official["video"]
    with torch.no_grad():
        forward, backward = model.extract_feat(frames), model.extract_feat(frames.flip(1))
    assert (forward - backward).abs().max() > 1e-3


@pytest.mark.parametrize("name", ["vificlip", "clip"])
def test_mean_pooled_baselines_ignore_frame_order(name):
    cfg = load_model_config(name, arch="ezclip-tiny", frames=4, pretrained=None)
    model = MODELS.build(cfg.model).eval()
    frames = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        forward, backward = model.extract_feat(frames), model.extract_feat(frames.flip(1))
    torch.testing.assert_close(forward, backward, rtol=0, atol=1e-6)


@pytest.mark.parametrize("fusion", ["Transf", "Conv_1D"])
def test_gradients_reach_only_trainable_parameters(fusion, official):
    # one vision block frozen on top of the defaults, to see the gate work
    model = tiny_official(official, fusion, frozen=("clip.visual.transformer.resblocks.0.*",)).train()
    samples = [ActionDataSample().set_gt_label(label) for label in (0, 2)]
    losses = model(official["video"], samples, mode="loss")
    assert set(losses) == {"loss_kl"}
    losses["loss_kl"].backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    frozen = {n for n, _ in model.named_parameters()} - trainable
    assert frozen and all(n.startswith("clip.visual.transformer.resblocks.0.") for n in frozen)
    unused = {"fusion.frame_position_embeddings.weight"} if fusion == "Conv_1D" else set()  # as official
    assert with_grad == trainable - unused


# -- ViFi-CLIP and vanilla CLIP against the official ViFi-CLIP forward --------------------------------
@pytest.mark.parametrize("name,key", [("vificlip", "vificlip"), ("clip", "clip_zero_shot")])
def test_vificlip_and_clip_configs_match_official_vificlip(name, key, official, official_vifi):
    ref = official_vifi["outputs"][key]
    cfg = load_model_config(name, arch="ezclip-tiny", frames=4, pretrained=None)
    model = MODELS.build(cfg.model)
    model.clip.load_state_dict(official_clip_state(official), strict=True)
    model.set_classes(official_vifi["class_names"])
    model.eval()
    tokens = model.tokenize(model.prompts.prompts[0])
    assert torch.equal(tokens, ref["tokenized_prompts"])
    with torch.no_grad():
        video = model.encode_video(official["video"])
        logits = model.class_logits(video, model.class_text_features())
    assert logits.shape == (1, 2, 3)  # one prompt set
    torch.testing.assert_close(video["frames"], ref["frame_embeddings"], rtol=0, atol=1e-4)
    torch.testing.assert_close(logits[0], ref["logits"], rtol=0, atol=1e-4)
    if name == "vificlip":  # the official "both" setting trains all but the (buffered) token embedding
        assert trainable_count(model) == ref["learnable_params"]


def test_runner_trains_with_the_recipe_and_evaluates(video_dataset, tmp_path):
    from ezclip.engine import data_split, make_runner, runner_config

    cfg = load_model_config("actionclip", arch="ezclip-tiny", frames=4, pretrained=None)
    split = data_split(video_dataset["ann_file"], video_dataset["class_file"], video_dataset["root"])
    optimizer = dict(cfg.recipe.optimizer, lr=1e-3)  # big enough to see every group move in one step
    runner = make_runner(
        runner_config(
            cfg.model,
            tmp_path / "work",
            train=split,
            val=split,
            input_size=32,
            batch_size=4,
            max_iters=1,
            optimizer=optimizer,
            paramwise_cfg=cfg.recipe.paramwise_cfg,
        )
    )
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    names = {id(p): n for n, p in runner.model.named_parameters()}
    lrs = {}
    for group in runner.optim_wrapper.optimizer.param_groups:
        for p in group["params"]:
            lrs.setdefault(names[id(p)].split(".")[0], set()).add(round(group["lr"], 12))
    assert lrs == {"clip": {1e-3}, "fusion": {1e-2}}  # the fusion head at x10
    after = runner.model.state_dict()
    changed = {k.split(".")[0] + "." + k.split(".")[1] for k in before if not torch.equal(before[k], after[k])}
    assert {"clip.visual", "clip.transformer", "clip.token_embedding", "fusion.transformer"} <= changed
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics["acc/top1"] <= 1.0


def test_export_to_the_official_layout_is_the_converter_inverse(official):
    model = tiny_official(official, "Transf")
    exported = model.to_official_checkpoint()
    clip_state = official_clip_state(official)
    assert set(exported["model_state_dict"]) == set(clip_state) - {"input_resolution", "context_length", "vocab_size"}
    assert set(exported["fusion_model_state_dict"]) == set(official["fusion_states"]["Transf"])
    for key, value in exported["fusion_model_state_dict"].items():
        assert torch.equal(value, official["fusion_states"]["Transf"][key]), key
    converted, _ = ActionCLIP.from_official_checkpoint(exported)
    assert all(torch.equal(converted[k], v) for k, v in model.state_dict().items())
