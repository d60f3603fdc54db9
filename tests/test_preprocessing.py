"""Each model's own test preprocessing: EZ-CLIP's and ActionCLIP's (``ezclip.data.actionclip``)
against the output of their official code on committed frames (``fixtures/official_test_preprocessing.md``),
and the choice carried from the model config into the pipeline and the records."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from PIL import Image

from ezclip.data import eval_pipeline
from ezclip.data.actionclip import segment_frames
from ezclip.models.base import VideoTextPreprocessor

FIXTURE = Path(__file__).parent / "fixtures" / "official_test_preprocessing.npz"


@pytest.fixture(scope="module")
def official():
    return np.load(FIXTURE)


def frame_folder(official, case, folder):
    jpeg, offsets = official[f"frames_{case}_jpeg"], official[f"frames_{case}_offsets"]
    for k, name in enumerate(official[f"frames_{case}_names"]):
        (folder / str(name)).write_bytes(jpeg[offsets[k] : offsets[k + 1]].tobytes())
    return folder


@pytest.mark.parametrize("model", ["ezclip", "actionclip"])
@pytest.mark.parametrize("case", ["a", "b"])
def test_official_test_preprocessing_is_reproduced(official, tmp_path, model, case):
    folder = frame_folder(official, case, tmp_path)
    total = len(official[f"frames_{case}_names"])
    expected_inds = official[f"{model}_indices_{case}_0based"]
    assert segment_frames(total, 8).tolist() == expected_inds.tolist()  # the index rule, identical

    *steps, pack = eval_pipeline(8, input_size=224, preprocessing="actionclip")
    results = Compose(steps)(dict(filename=str(folder), label=0, listed_frames=total, modality="RGB"))
    assert (np.asarray(results["frame_inds"]) - 1).tolist() == expected_inds.tolist()  # files are 1-based
    results = Compose([pack])(results)
    assert results["data_samples"].metainfo["video_backend"] == "frames"

    crop = np.asarray(Image.open(io.BytesIO(official[f"{model}_crop_{case}_png"].tobytes())))
    crop = crop.reshape(tuple(official[f"{model}_crop_{case}_shape"]))  # T x 224 x 224 x 3, uint8
    mine = results["inputs"].permute(0, 2, 3, 1).numpy()  # T x C x H x W -> T x H x W x C
    assert mine.shape == crop.shape
    assert np.abs(mine.astype(int) - crop.astype(int)).max() <= 1  # at most 1 intensity level apart

    # normalised as the official tensor (ToTensor / 255, then CLIP's mean and std), within float rounding
    lut = official[f"{model}_normalise_lut"]
    want = np.stack([lut[c][crop[t, :, :, c]] for t in range(8) for c in range(3)])
    pre = VideoTextPreprocessor(normalization="clip")
    got = pre(dict(inputs=[results["inputs"]], data_samples=[results["data_samples"]]))["inputs"]
    assert torch.allclose(got.reshape(24, 224, 224), torch.from_numpy(want), atol=1e-5)


def test_the_official_index_rule_is_half_a_frame_before_mmaction2s():
    # 45 frames, 8 segments: floor((i + 0.5) * 45 / 8 - 0.5) against floor((i + 0.5) * 45 / 8)
    assert segment_frames(45, 8).tolist() == [2, 7, 13, 19, 24, 30, 36, 41]
    mmaction = [int((i + 0.5) * 45 / 8) for i in range(8)]
    assert sum(a != b for a, b in zip(segment_frames(45, 8), mmaction)) == 4
    assert segment_frames(7, 8).tolist() == [0, 0, 1, 2, 3, 4, 5, 6]  # fewer frames than segments
    assert segment_frames(300, 8).tolist() == [int(i * 300 / 8 + (300 / 8 - 1) / 2) for i in range(8)]


def test_the_model_configs_choose_their_own():
    from ezclip.recipes import mini_recipe, native_recipe
    from ezclip.zoo import load_model_config

    for name, own in [("ezclip", "actionclip"), ("actionclip", "actionclip"), ("xclip", None), ("vificlip", None)]:
        cfg = load_model_config(name)
        assert native_recipe(cfg)[1].get("test_preprocessing") == own
        assert mini_recipe(cfg)[1].get("test_preprocessing") == own
        assert "test_preprocessing" not in native_recipe(cfg, "common")[1]  # one shared pipeline


def test_actionclip_preprocessing_takes_one_view():
    with pytest.raises(ValueError, match="1 clip x 1 crop, not 1 x 3"):
        eval_pipeline(8, crops=3, preprocessing="actionclip")
    with pytest.raises(ValueError, match="test preprocessing must be one of"):
        eval_pipeline(8, preprocessing="pil")
