"""pytest-benchmark: one training step (loss forward, backward, AdamW step on the trainable parameters)
of every registered model that trains, 8 frames, batch 2, random weights, on the CPU: at the mini
benchmark's tiny architecture, and at ViT-B/16 with ``EZCLIP_BENCH_VITB16=1`` (about 10 s a step on 2 cores).

    EZCLIP_BENCH_VITB16=1 pytest benchmarks/test_train_step.py --benchmark-only

``plan`` estimates a training job's time from these (``extra_info``: ``measures``, ``model``, ``arch``,
``batch``, ``frames``; ``ezclip.profiling.costs``). With ``EZCLIP_OFFICIAL_EZCLIP`` naming a checkout of
Shahzadnit/EZ-CLIP, the official code's EZ-CLIP step (its ``clip/model.py`` at ViT-B/16, prompts and
adapters trainable as its ``train.py`` sets them, the same loss terms) runs on the same input in the
same group, so the table gives the ratio.
"""

import importlib.util
import os
import types
from pathlib import Path

import pytest
import torch
from mmaction.structures import ActionDataSample

from ezclip.models.losses import motion_loss, symmetric_kl_loss
from ezclip.zoo import build_model, list_models, load_model_config

BATCH, FRAMES = 2, 8
OFFICIAL = os.environ.get("EZCLIP_OFFICIAL_EZCLIP")


TRAINING = [name for name in list_models() if load_model_config(name).model.get("trainable") != []]


def _inputs(size=224):
    torch.manual_seed(0)
    return torch.randn(BATCH, FRAMES, 3, size, size), [ActionDataSample().set_gt_label(i) for i in range(BATCH)]


def _timed(benchmark, group, step, arch, **info):
    benchmark.group = group
    # ``measures``: what `plan` estimates a training job's time from (ezclip.profiling.costs)
    benchmark.extra_info.update(
        measures="train_step", arch=arch, batch=BATCH, frames=FRAMES, device="cpu", threads=torch.get_num_threads()
    )
    benchmark.extra_info.update(info)
    benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("name", TRAINING)
def test_train_step(benchmark, name, arch_size):
    arch, size = arch_size
    model = build_model(name, arch=arch, frames=FRAMES, pretrained=None).train()
    model.set_classes([f"action {i}" for i in range(10)])
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5)
    videos, samples = _inputs(size)

    def step():
        optimizer.zero_grad()
        sum(model.loss(videos, samples).values()).backward()
        optimizer.step()

    _timed(benchmark, f"train step {name} {arch}", step, arch, model=name, trainable=sum(p.numel() for p in trainable))


@pytest.mark.skipif(not OFFICIAL, reason="EZCLIP_OFFICIAL_EZCLIP (a checkout of Shahzadnit/EZ-CLIP) not set")
def test_train_step_official_ezclip(benchmark):
    spec = importlib.util.spec_from_file_location("official_ezclip_model", Path(OFFICIAL) / "clip" / "model.py")
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    ns = types.SimpleNamespace  # the fields of its configs/K-400/k400_train.yaml the model reads
    config = ns(prompt=ns(use=True, INITIATION="random", DEEP=True, DROPOUT=0.1, num_of_token=1), T_Adapter=False)
    # CLIP(embed, config, image size, vision layers, width, patch, frames, context, vocab, text width, heads, layers)
    model = official.CLIP(512, config, 224, 12, 768, 16, FRAMES, 77, 49408, 512, 8, 12, dropout=0.1).train()
    for name, p in model.named_parameters():
        p.requires_grad = "prompt" in name or "Adapter" in name  # its train.py
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5)
    videos, _ = _inputs()
    texts = torch.randint(1, 49407, (BATCH, 77))
    labels = torch.arange(BATCH)

    def step():  # its train.py: frame features, motion loss, mean pooling, the batch's texts, symmetric KL
        optimizer.zero_grad()
        frames = model.encode_image(videos.flatten(0, 1)).view(BATCH, FRAMES, -1)
        video = frames.mean(1)
        text = model.encode_text(texts)
        video, text = video / video.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
        loss = symmetric_kl_loss(model.logit_scale.exp() * video @ text.t(), labels) + motion_loss(frames)
        loss.backward()
        optimizer.step()

    trainable = sum(p.numel() for p in trainable)
    _timed(
        benchmark, "train step ezclip ViT-B-16", step, "ViT-B-16", measures="official_train_step", trainable=trainable
    )
