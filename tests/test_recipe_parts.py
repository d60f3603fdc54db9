"""The recipe parts beyond the optimizer, applied as the originals did and switchable by name: batch
blending (X-CLIP's and ViFi-CLIP's mixup/cutmix), ActionCLIP's RandAugment, X-CLIP's 4 clips x 3 crops
test, the learning-rate floor and mixed precision per recipe."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ezclip import recipes
from ezclip.data.lists import read_class_csv
from ezclip.data.pipelines import eval_pipeline, train_pipeline
from ezclip.data.transforms import default_backends
from ezclip.errors import UnknownNameError
from ezclip.harness import load_protocol, run_protocol
from ezclip.records import model_key, read_records
from ezclip.tables import model_label
from ezclip.zoo import load_model_config

NATIVE = {name: dict(load_model_config(name)["recipe"]) for name in ("ezclip", "actionclip", "vificlip", "xclip")}


def test_xclips_blending_is_cutmix_or_mixup_by_the_switch_probability():
    assert recipes.blending(NATIVE["xclip"], 400) == dict(
        type="RandomBatchAugment",
        augments=[
            dict(type="CutmixBlending", num_classes=400, alpha=1.0),
            dict(type="MixupBlending", num_classes=400, alpha=0.8),
        ],
        probs=[0.5, 0.5],
    )
    assert recipes.blending(NATIVE["vificlip"], 51)["probs"] == [0.5, 0.5]
    assert recipes.blending(NATIVE["ezclip"], 400) is None and recipes.blending(NATIVE["actionclip"], 400) is None
    assert recipes.blending(dict(mixup_alpha=0.2), 5)["probs"] == [1.0]  # mixup alone: always mixup


def test_mixup_gives_soft_targets_and_the_loss_they_should_give():
    """Mixed inputs are lam*x + (1-lam)*x[perm], targets the same mix of one-hots, and the smoothed soft
    cross-entropy equals lam*CE(a) + (1-lam)*CE(b), each with label smoothing 0.1 (X-CLIP smooths the
    one-hots before mixing; smoothing is affine, so it is the same)."""
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample

    from ezclip.models.losses import soft_cross_entropy

    mixup = MODELS.build(dict(type="MixupBlending", num_classes=5, alpha=0.8))
    x = torch.randn(4, 8, 3, 6, 6)
    labels = torch.tensor([0, 1, 2, 3])
    samples = [ActionDataSample().set_gt_label(int(y)) for y in labels]
    torch.manual_seed(2)
    mixed, samples = mixup(x.clone(), samples)
    torch.manual_seed(2)  # the same draws again: the mixing weight, then the partners
    lam, partner = torch.distributions.Beta(0.8, 0.8).sample().item(), torch.randperm(4)
    assert (partner != torch.arange(4)).all()  # (seed 2 pairs every video with another)
    targets = torch.stack([s.gt_label for s in samples])
    assert targets.shape == (4, 5) and torch.allclose(targets.sum(1), torch.ones(4)) and 0 < lam < 1
    assert torch.allclose(targets, lam * F.one_hot(labels, 5) + (1 - lam) * F.one_hot(labels[partner], 5))
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[partner], atol=1e-6)
    logits = torch.randn(4, 5)
    expected = lam * F.cross_entropy(logits, labels, label_smoothing=0.1) + (1 - lam) * F.cross_entropy(
        logits, labels[partner], label_smoothing=0.1
    )
    assert soft_cross_entropy(logits, targets, 0.1).item() == pytest.approx(expected.item(), rel=1e-6)
    assert soft_cross_entropy(logits, targets, 0.1).item() != pytest.approx(
        F.cross_entropy(logits, labels, label_smoothing=0.1).item(), rel=1e-3
    )


def test_cutmix_pastes_a_box_and_weighs_the_targets_by_its_area():
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample

    torch.manual_seed(7)  # (seed 7 pairs the two videos and pastes a box of 20% of the frame)
    cutmix = MODELS.build(dict(type="CutmixBlending", num_classes=3, alpha=1.0))
    x = torch.arange(2.0).view(2, 1, 1, 1, 1).expand(2, 4, 3, 10, 10).clone()  # video 0 all 0s, video 1 all 1s
    mixed, samples = cutmix(x.clone(), [ActionDataSample().set_gt_label(i) for i in (0, 1)])
    targets = torch.stack([s.gt_label for s in samples])
    pasted = (mixed[0] != x[0]).float().mean().item()  # video 0's share that came from video 1
    assert 0 < pasted < 1 and targets[0].tolist() == pytest.approx([1 - pasted, pasted, 0.0])


def test_randaugment_draws_its_operations_for_every_frame():
    from mmaction.registry import TRANSFORMS

    steps = train_pipeline(8, 32, randaugment=dict(num_ops=2, magnitude=9))
    assert [s["type"] for s in steps].index("FrameRandAugment") == 3  # on the decoded frames, before the crops
    assert "FrameRandAugment" not in [s["type"] for s in train_pipeline(8, 32)]
    augment = TRANSFORMS.build(dict(type="FrameRandAugment", num_ops=2, magnitude=9))
    torch.manual_seed(0)
    frame = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    out = augment(dict(imgs=[frame.copy() for _ in range(8)]))["imgs"]
    assert all(o.shape == frame.shape and o.dtype == np.uint8 for o in out)
    assert sum(not np.array_equal(o, frame) for o in out) >= 4  # most frames changed...
    assert len({o.tobytes() for o in out}) >= 4  # ...and not all alike: the draws are per frame


def test_xclips_test_is_four_clips_in_three_crops_each_a_view(mini):
    from mmengine.dataset import Compose

    first = mini.list_file("hmdb51", "test_split1").read_text().split()[0]
    video = str(mini.video_root("hmdb51") / first)
    pipeline = Compose(eval_pipeline(4, 32, crops=3, clips=4))
    out = pipeline(dict(filename=video, label=0, start_index=0, modality="RGB"))
    assert out["inputs"].shape == (3 * 4 * 4, 3, 32, 32)  # crops x clips x frames
    again = pipeline(dict(filename=video, label=0, start_index=0, modality="RGB"))
    assert torch.equal(out["inputs"], again["inputs"])  # the clips are drawn per video, the same every time
    inds = Compose(eval_pipeline(4, 32, clips=4)[:2])(dict(filename=video, label=0, start_index=0, modality="RGB"))
    clips = inds["frame_inds"].reshape(4, 4)
    segment = inds["total_frames"] // 4
    assert all(((clip // segment) == np.arange(4)).all() for clip in clips)  # one frame of every segment
    assert len({tuple(c) for c in clips}) > 1  # at random offsets, as X-CLIP's SampleFrames(multiview=4)


def test_the_recognizer_averages_the_softmax_of_every_view():
    from mmaction.registry import MODELS

    model = MODELS.build(
        dict(type="VideoCLIP", clip=dict(arch="ezclip-mini", pretrained=None), num_frames=2, classes=["a", "b", "c"])
    ).eval()
    views = torch.randn(2, 12 * 2, 3, 32, 32)
    with torch.no_grad():
        together = model(views, mode="tensor")
        apart = torch.stack([model(views[:, 2 * v : 2 * v + 2], mode="tensor") for v in range(12)]).mean(0)
    assert together.shape == (2, 3) and torch.allclose(together, apart, atol=1e-6)


def test_parts_switch_off_by_name_and_say_so():
    xclip = recipes.without(NATIVE["xclip"], ["mixup", "multiclip", "lr-floor"])
    assert "mixup_alpha" not in xclip and "cutmix_alpha" not in xclip and "test_clips" not in xclip
    assert (
        "min_lr_ratio" not in xclip
        and xclip["test_crops"] == 3
        and xclip["without"] == ["lr-floor", "mixup", "multiclip"]
    )
    assert recipes.without(NATIVE["ezclip"], ["randaugment"]) == NATIVE["ezclip"]  # nothing to switch off
    assert recipes.without(NATIVE["ezclip"], ["multicrop", "multiclip"]) == NATIVE["ezclip"]  # 1 crop, 1 clip: off
    with pytest.raises(UnknownNameError, match="unknown recipe part 'mixupp'; did you mean mixup"):
        recipes.without(NATIVE["xclip"], ["mixupp"])


def test_precision_follows_the_recipe_on_a_gpu_and_is_fp32_on_a_cpu():
    for recipe in NATIVE.values():
        assert recipes.precision_for("recipe", recipe, gpu=True) == "fp16"
        assert recipes.precision_for("recipe", recipe, gpu=False) == "fp32"
        assert recipes.precision_for("bf16", recipe, gpu=True) == "bf16"
    assert recipes.precision_for("recipe", recipes.MINI_RECIPE, gpu=True) == "fp32"


RECIPE_MODEL = """
custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)
model = dict(type="VideoCLIP", clip=dict(arch="ezclip-mini", pretrained=None), num_frames=4,
             trainable=["clip.visual.*"], loss=dict(type="cross_entropy", label_smoothing=0.1),
             data_preprocessor=dict(type="VideoTextPreprocessor", normalization="imagenet"))
recipe = dict(epochs=1, batch_size=8, input_size=32, optimizer=dict(type="AdamW", lr=1e-4, weight_decay=0.2),
              min_lr_ratio=0.01, mixup_alpha=0.8, cutmix_alpha=1.0, mixup_switch_prob=0.5,
              randaugment=dict(num_ops=2, magnitude=9), test_clips=2, test_crops=3, amp="apex O1", precision="fp16")
"""


def test_a_native_run_applies_and_records_every_part_and_without_switches_them_off(mini, tmp_path, monkeypatch):
    from ezclip.benchmark import Benchmark

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tinyrecipe.py").write_text(RECIPE_MODEL)
    monkeypatch.setenv("EZCLIP_MODEL_PATH", str(tmp_path / "models"))
    real = Benchmark("full", mini.data_root, mini.splits_root)
    protocol = load_protocol("fewshot")
    kw = dict(subset=1, stages=["hmdb51_k2"], log=lambda *a: None, workers=0, precision="recipe")
    run_protocol(protocol, ["tinyrecipe"], real, tmp_path / "a", tmp_path / "wa", **kw)
    run_protocol(protocol, ["tinyrecipe"], real, tmp_path / "b", tmp_path / "wb", without=["mixup", "multiclip"], **kw)
    (a,), (b,) = read_records(tmp_path / "a"), read_records(tmp_path / "b")
    blending = a["train"]["augmentation"]["blending"]
    classes = len(read_class_csv(mini.class_file("hmdb51", "classes")))
    assert blending["type"] == "RandomBatchAugment" and blending["augments"][0]["num_classes"] == classes
    assert a["train"]["augmentation"]["randaugment"] == dict(num_ops=2, magnitude=9)
    assert a["train"]["augmentation"]["lr_floor"] == 0.01
    assert a["train"]["precision"] == a["precision"] == "fp32"  # 'recipe' on a CPU
    assert (a["eval"]["clips"], a["eval"]["crops"], a["eval"]["views"]) == (2, 3, 6)
    assert a["eval"]["decoders"] == list(default_backends()) and a["eval"]["decoders"][-2:] == ["decord", "pyav"]
    # the mini world's H.264 mp4 files: every one read by the first backend, and said so
    assert a["eval"]["decoded_by"] == {default_backends()[0]: a["eval"]["videos_evaluated"]}
    assert b["train"]["augmentation"]["blending"] is None and (b["eval"]["clips"], b["eval"]["views"]) == (1, 3)
    assert b["model"]["recipe"]["without"] == ["mixup", "multiclip"] and "without" not in a["model"]["recipe"]
    # kept apart from the native run, in files and in tables, never averaged with it
    (path,) = (tmp_path / "b").rglob("*.json")
    assert "tinyrecipe~without-mixup~without-multiclip" in str(path)
    assert model_key(b) == "tinyrecipe~without-mixup~without-multiclip" and model_key(a) == "tinyrecipe"
    assert model_label([b]) == "tinyrecipe (ezclip-mini, 4f, 3 crops) [without mixup, multiclip]"
    assert model_label([a]) == "tinyrecipe (ezclip-mini, 4f, 2 clips x 3 crops)"


def test_training_gets_the_blending_whether_the_model_is_a_config_or_built(mini):
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample

    from ezclip.engine import data_split, runner_config

    split = data_split(mini.list_file("hmdb51", "fewshot_2"), mini.class_file("hmdb51", "classes"))
    blending = recipes.blending(NATIVE["xclip"], 12)
    config = dict(type="VideoCLIP", clip=dict(arch="ezclip-mini", pretrained=None), num_frames=4)
    cfg = runner_config(config, "/tmp/unused", train=split, blending=blending)
    assert cfg["model"]["data_preprocessor"]["blending"] == blending and "data_preprocessor" not in config
    built = MODELS.build(config)
    runner_config(built, "/tmp/unused", train=split, blending=blending)
    data = dict(
        inputs=[torch.randint(0, 255, (4, 3, 8, 8), dtype=torch.uint8) for _ in range(4)],
        data_samples=[ActionDataSample().set_gt_label(i) for i in range(4)],
    )
    np.random.seed(0)
    torch.manual_seed(0)
    out = built.data_preprocessor(data, training=True)
    assert all(s.gt_label.shape == (12,) for s in out["data_samples"])  # soft targets over the 12 classes
    runner_config(built, "/tmp/unused", train=split)  # a training without blending takes it away again
    assert built.data_preprocessor.blending is None
