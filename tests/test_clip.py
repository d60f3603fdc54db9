import pytest
import torch

from ezclip.clip import build_clip
from ezclip.errors import UnknownNameError, WeightsError
from ezclip.records import file_sha256 as sha256_of


def test_vit_b16_without_weights_is_the_standard_tower():
    model, weights = build_clip("ViT-B-16", pretrained=None)
    assert sum(p.numel() for p in model.parameters()) == 149_620_737
    assert weights == dict(source="random-init", sha256=None)


def test_tiny_architecture_is_registered_with_open_clip():
    import open_clip

    model = open_clip.create_model("ezclip-tiny")
    assert model.visual.transformer.width == 64 and model.transformer.width == 64


def test_weights_from_a_local_file_with_sha256(tmp_path):
    source, _ = build_clip("ezclip-tiny")
    path = tmp_path / "tiny.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    model, weights = build_clip("ezclip-tiny", pretrained=str(path), sha256=sha256_of(path))
    assert weights == dict(source=str(path), sha256=sha256_of(path))
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_openai_torchscript_files_are_read(tmp_path):
    source, _ = build_clip("ezclip-tiny")
    path = tmp_path / "openai.pt"
    torch.jit.script(source).save(str(path))  # OpenAI's .pt files are TorchScript archives
    model, _ = build_clip("ezclip-tiny", pretrained=str(path))
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_missing_weight_file_names_it(tmp_path):
    with pytest.raises(WeightsError, match=r"nowhere\.pt .*ViT-B-16.* not found"):
        build_clip("ViT-B-16", pretrained=str(tmp_path / "nowhere.pt"))


def test_sha256_mismatch_is_refused(tmp_path):
    source, _ = build_clip("ezclip-tiny")
    path = tmp_path / "tiny.pt"
    torch.save(source.state_dict(), path)
    with pytest.raises(WeightsError, match="does not match the expected 00ff"):
        build_clip("ezclip-tiny", pretrained=str(path), sha256="00ff")


def test_weights_for_another_architecture_are_refused(tmp_path):
    source, _ = build_clip("ezclip-tiny")
    path = tmp_path / "tiny.pt"
    torch.save(source.state_dict(), path)
    with pytest.raises(WeightsError, match="does not fit architecture ViT-B-32"):
        build_clip("ViT-B-32", pretrained=str(path))


def test_unreachable_tag_offline_gives_one_clear_error():
    with pytest.raises(WeightsError, match=r"ViT-B-16/openai \(HF_HUB_OFFLINE=1 is set\).*network"):
        build_clip("ViT-B-16", pretrained="openai")


def test_unknown_tag_and_architecture_suggest_names():
    with pytest.raises(WeightsError, match="no pretrained tag 'opneai'"):
        build_clip("ViT-B-16", pretrained="opneai")
    with pytest.raises(UnknownNameError, match="did you mean ViT-B-16"):
        build_clip("ViT-B16")
