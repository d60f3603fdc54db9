import json
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ezclip import profiling
from ezclip.cli import main
from ezclip.errors import EzclipError
from ezclip.zoo import build_model


class ToySDPA(nn.Module):
    """Attention through F.scaled_dot_product_attention, no parameters: only the attention matmuls."""

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_sdpa_handle_counts_the_two_attention_matmuls():
    b, h, length, source, e, ev = 2, 4, 10, 12, 16, 8
    q, k, v = torch.randn(b, h, length, e), torch.randn(b, h, source, e), torch.randn(b, h, source, ev)
    expected = b * h * length * source * e + b * h * length * source * ev  # Q K^T, then softmax(.) V
    counted = profiling.count_macs(ToySDPA(), (q, k, v))
    assert counted["macs"] == expected == counted["attention_macs"]
    assert counted["uncounted_ops"] == {}
    # fvcore alone drops it, and says so
    bare = profiling.count_macs(ToySDPA(), (q, k, v), handles={})
    assert bare["macs"] == 0 and "aten::scaled_dot_product_attention" in bare["uncounted_ops"]


@pytest.mark.parametrize("fused", [True, False])
def test_multihead_attention_counts_the_analytic_formula_on_both_paths(fused):
    b, length, width, heads = 3, 9, 32, 2
    attn = nn.MultiheadAttention(width, heads, batch_first=True)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = attn

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)[0]

    block = Block().train(not fused)  # eval + no_grad takes the fused _native_multi_head_attention path
    counted = profiling.count_macs(block, torch.randn(b, length, width))
    assert counted["macs"] == b * (4 * length * width**2 + 2 * length**2 * width)
    op = "_native_multi_head_attention" if fused else "scaled_dot_product_attention"
    assert counted["by_operator"].get(op, 0) > 0


def test_image_tower_count_is_the_vit_formula_plus_layer_norm():
    tower = profiling.ImageTower("ezclip-tiny").eval()
    counted = profiling.count_macs(tower, torch.zeros(1, 4, 3, 32, 32))
    analytic = profiling.vit_analytic_macs(tower.visual, frames=4)
    # tiny: 16 patches + CLS, width 64, MLP 256, 2 layers, 64 -> 32 projection
    tokens, width = 17, 64
    per_frame = (
        16 * 3 * 8 * 8 * width
        + 2 * (4 * tokens * width**2 + 2 * tokens**2 * width + 2 * tokens * width * 256)
        + width * 32
    )
    assert analytic == 4 * per_frame
    assert counted["macs"] - counted["by_operator"]["layer_norm"] == analytic


@pytest.fixture(scope="module")
def tiny_rows():
    return profiling.profile(
        ["clip", "ezclip", "xclip"],
        arch="ezclip-tiny",
        frames=4,
        classes=10,
        batch=2,
        iters=2,
        warmup=1,
        threads=1,
        reference={},
    )


def test_params_match_zoo_built_models(tiny_rows):
    rows = {row["model"]: row for row in tiny_rows}
    for name in ("clip", "ezclip", "xclip"):
        model = build_model(name, arch="ezclip-tiny", frames=4, pretrained=None)
        assert rows[name]["params_total"] == sum(p.numel() for p in model.parameters())
        assert rows[name]["params_trainable"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert rows["ezclip"]["params_trainable"] == 2 * 4 * 64 + 4 * (64 * 16 + 16 + 16 * 64 + 64)
    assert rows["clip"]["params_trainable"] == 0
    tower = rows[profiling.TOWER]
    assert tower["params_trainable"] == 0 and tower["params_total"] < rows["clip"]["params_total"]


def test_gflops_are_twice_the_gmacs(tiny_rows):
    for row in tiny_rows:
        keys = [k for k in row if k.endswith("_gmac") and k.replace("_gmac", "_gflops") in row]
        assert keys
        for key in keys:
            assert row[key.replace("_gmac", "_gflops")] == pytest.approx(2 * row[key], rel=1e-12)


def test_flop_parts(tiny_rows):
    rows = {row["model"]: row for row in tiny_rows}
    tower, clip, xclip = rows[profiling.TOWER], rows["clip"], rows["xclip"]
    assert tower["frames"] == 4 and tower["vision_vs_analytic"] > 0  # LayerNorm only
    # the plain recognizer's image path is the tower's; its class side is one dot product per class
    assert clip["vision_gmac"] == pytest.approx(tower["vision_gmac"])
    assert clip["class_side_per_video_gmac"] * 1e9 == pytest.approx(10 * 32, abs=1)
    # X-CLIP's prompt generator runs per video over every class: far more than a dot product
    assert xclip["class_side_per_video_gmac"] > 100 * clip["class_side_per_video_gmac"]
    assert all(not row["uncounted_ops"] for row in tiny_rows)


def test_ratios_use_the_tower_measured_in_the_same_run(tiny_rows):
    tower = next(row for row in tiny_rows if row["model"] == profiling.TOWER)
    assert sum(row["model"] == profiling.TOWER for row in tiny_rows) == 1
    for row in tiny_rows:
        assert row["device"] == "cpu" and row["dtype"] == "fp32" and row["batch"] == 2 and row["threads"] == 1
        assert row["vision_gmac_ratio_vs_tower"] == pytest.approx(row["vision_gmac"] / tower["vision_gmac"])
        assert row["frames_per_s"] == pytest.approx(4 * row["videos_per_s"])
        if row is not tower:  # timed in alternation with this run's tower
            assert row["tower_videos_per_s"] > 0 and row["tower_latency_ms"] > 0
            assert row["throughput_ratio_vs_tower"] > 0 and row["latency_ratio_vs_tower"] > 0


def test_ratio_is_against_the_tower_timed_alongside(monkeypatch):
    timed = []

    def fake_pair(step, reference, inputs, iters, warmup, device="cpu", dtype="fp32"):
        timed.append((step, reference, inputs[0].shape[0]))
        b = inputs[0].shape[0]
        return [0.2 * b, 0.4 * b, 0.3 * b], [0.1 * b, 0.1 * b, 0.2 * b]  # model, tower; pair ratios 2, 4, 1.5

    monkeypatch.setattr(profiling.timing, "time_paired", fake_pair)
    rows = profiling.profile(
        ["clip"], arch="ezclip-tiny", frames=4, flops=False, batch=2, iters=3, warmup=0, threads=1, reference={}
    )
    assert [row["model"] for row in rows] == [profiling.TOWER, "clip"]
    tower_module = timed[0][1]
    assert isinstance(tower_module, profiling.ImageTower) and [t[2] for t in timed] == [1, 2]
    assert all(t[1] is tower_module for t in timed)
    clip = rows[1]
    assert clip["latency_ratio_vs_tower"] == 2.0  # median of 2, 4, 1.5
    assert clip["throughput_ratio_vs_tower"] == 0.5  # median of 1/2, 1/4, 1/1.5
    assert clip["latency_ms"] == pytest.approx(300) and clip["tower_latency_ms"] == pytest.approx(100)
    assert clip["videos_per_s"] == pytest.approx(2 / 0.6) and clip["tower_videos_per_s"] == pytest.approx(2 / 0.2)


def test_reference_numbers_come_from_the_data_file():
    reference = profiling.reference_by_model()
    ez = next(e for e in reference["ezclip"] if e["metric"] == "gflops_per_view" and e.get("primary"))
    assert ez["value"] == 102 and ez["frames"] == 8 and ez["confidence"] == "fig" and ez["source_text"]
    row = dict(model="ezclip", arch="ViT-B-16", frames=8, vision_gmac=146.8, vision_gmac_without_attention_handles=95.9)
    out = profiling.reference_for(reference, "ezclip", row)
    assert out["reported_gflops"] == 102 and out["reference_note"].startswith("disagrees")
    assert out["reported_vs_measured_per_frame"] == pytest.approx(146.8 / 102 - 1)
    vifi = profiling.reference_for(
        reference, "vificlip", dict(model="vificlip", arch="ViT-B-16", frames=8, vision_gmac=140.66)
    )
    assert "agrees" in vifi["reference_note"] and vifi["reported_frames"] == 16
    assert profiling.reference_for(reference, "ezclip", dict(row, arch="ezclip-tiny")) == {}


def test_input_size_must_match_the_architecture():
    tower = profiling.ImageTower("ezclip-tiny")
    assert profiling.check_input_size(tower.visual, "ezclip-tiny", None) == 32
    with pytest.raises(EzclipError, match="32px"):
        profiling.check_input_size(tower.visual, "ezclip-tiny", 224)


def test_cli_profile_table_and_json(tmp_path, capsys):
    out = tmp_path / "efficiency.json"
    assert (
        main(
            [
                "profile",
                "--models",
                "ezclip",
                "--arch",
                "ezclip-tiny",
                "--frames",
                "4",
                "--no-throughput",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    # the efficiency table, as `ezclip-bench tables` writes it from the same record
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}
    assert rows["model"][:5] == ["model", "arch", "frames", "params total", "params trainable"]
    assert "ms/video (b1)" not in rows["model"]  # --no-throughput: no timing columns
    assert profiling.TOWER in rows
    assert rows["ezclip"][4] == f"{2 * 4 * 64 + 4 * (64 * 16 + 16 + 16 * 64 + 64):,}"
    record = json.loads(out.read_text())
    assert [r["model"] for r in record["rows"]] == [profiling.TOWER, "ezclip"]
    assert record["meta"]["flop_convention"].startswith("fvcore") and "latency_ms" not in record["rows"][1]
    assert math.isclose(record["rows"][1]["vision_gflops"], 2 * record["rows"][1]["vision_gmac"])
