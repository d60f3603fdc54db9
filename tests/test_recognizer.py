"""The shared video-text recognizer through mmengine's registry and Runner, on real mp4 files."""

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from ezclip.engine import data_split, make_runner, runner_config

TINY_CLIP = dict(
    type="VideoCLIP",
    clip=dict(arch="ezclip-tiny"),
    num_frames=4,
    templates=["a video of {}"],
    trainable=["clip.visual.*"],
    logit_scale=100.0,
)


def count_calls(obj, name):
    calls = []
    original = getattr(obj, name)

    def wrapped(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    setattr(obj, name, wrapped)
    return calls


def test_build_from_config_dict_and_modes():
    model = MODELS.build(dict(TINY_CLIP, classes=["jump", "run", "swim"]))
    inputs = torch.randint(0, 255, (2, 8, 3, 32, 32), dtype=torch.uint8)  # 2 videos x 2 views x 4 frames
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in (0, 2)]
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples))
    model.eval()
    with torch.no_grad():
        predicted = model(**data, mode="predict")
        scores = model(data["inputs"], mode="tensor")
    assert torch.allclose(torch.stack([s.pred_score for s in predicted]), scores)
    assert scores.shape == (2, 3) and torch.allclose(scores.sum(1), torch.ones(2))
    model.train()
    losses = model(**dict(data, inputs=data["inputs"][:, :4]), mode="loss")
    assert set(losses) == {"loss_cls"} and losses["loss_cls"].requires_grad
    with pytest.raises(ValueError, match="invalid mode 'bogus'"):
        model(data["inputs"], mode="bogus")


def test_normalization_is_a_config_field():
    clip_pre = MODELS.build(dict(type="VideoTextPreprocessor"))
    imagenet_pre = MODELS.build(dict(type="VideoTextPreprocessor", normalization="imagenet"))
    assert clip_pre.mean.flatten().tolist() == pytest.approx([122.770938, 116.7460125, 104.09373615])
    assert imagenet_pre.mean.flatten().tolist() == pytest.approx([123.675, 116.28, 103.53])
    with pytest.raises(ValueError, match="normalization must be one of"):
        MODELS.build(dict(type="VideoTextPreprocessor", normalization="bogus"))


def test_runner_trains_one_iteration_and_evaluates_with_accmetric(video_dataset, tmp_path):
    split = data_split(video_dataset["ann_file"], video_dataset["class_file"], video_dataset["root"])
    cfg = runner_config(TINY_CLIP, tmp_path / "work", train=split, val=split, input_size=32, batch_size=4, max_iters=1)
    runner = make_runner(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("clip.visual.") for k in changed)  # only what is trainable moved
    metrics = runner.val_loop.run()
    assert set(metrics) >= {"acc/top1", "acc/top5", "acc/mean1", "acc/count"} and metrics["acc/count"] == 6
    assert 0.0 <= metrics["acc/top1"] <= 1.0


def test_frozen_text_is_encoded_once_per_class_set(video_dataset, tmp_path):
    split = data_split(video_dataset["ann_file"], video_dataset["class_file"], video_dataset["root"])
    cfg = runner_config(TINY_CLIP, tmp_path / "work", test=split, input_size=32, batch_size=4, eval_batch_size=2)
    runner = make_runner(cfg)
    calls = count_calls(runner.model, "encode_text")
    runner.test()  # 6 videos in 3 batches
    runner.test()
    assert len(calls) == 1 and calls[0][0].shape[0] == 2  # one call, both classes at once
    runner.model.set_classes(["one", "two", "three"])
    runner.model.class_text_features()
    assert len(calls) == 2  # a new class set is encoded once more


def test_trainable_text_is_reencoded_after_training_steps():
    model = MODELS.build(dict(TINY_CLIP, trainable=["clip.*"], classes=["a", "b"]))
    calls = count_calls(model, "encode_text")
    model.eval()
    model.class_text_features()
    model.class_text_features()
    assert len(calls) == 1
    model.train()  # weights may change from here on
    model.eval()
    model.class_text_features()
    assert len(calls) == 2
