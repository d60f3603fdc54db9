import subprocess
import sys
import textwrap

from ezclip.cli import main


def test_ls_models_lists_each_registered_model_and_its_config(capsys):
    assert main(["ls", "models"]) == 0
    out = capsys.readouterr().out
    for name in ("ezclip", "clip", "vificlip"):
        assert f"ezclip/registry/models/{name}.py" in out


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "ezclip.cli", "ls", "models"], capture_output=True, text=True)
    assert result.returncode == 0 and "EZCLIP" in result.stdout


def test_profile_params_only_reports_total_and_trainable(capsys):
    assert main(["profile", "--models", "ezclip,clip", "--arch", "ezclip-tiny", "--frames", "4", "--params-only"]) == 0
    out = capsys.readouterr().out.splitlines()
    ezclip_row = next(line for line in out if line.startswith("ezclip"))
    clip_row = next(line for line in out if line.startswith("clip"))
    # tiny: 2 layers x 4 frames x 64 prompts + 2 x (64*16+16+16*64+64) per tower
    assert ezclip_row.split()[-1] == f"{2 * 4 * 64 + 4 * (64 * 16 + 16 + 16 * 64 + 64):,}"
    assert clip_row.split()[-1] == "0"


def test_unknown_model_gets_the_closest_names(capsys):
    assert main(["profile", "--models", "ezclp", "--params-only"]) == 2
    assert "unknown model 'ezclp'; did you mean ezclip" in capsys.readouterr().err


def test_a_model_added_by_a_config_file_outside_the_package(tmp_path, monkeypatch, capsys):
    (tmp_path / "mymodel.py").write_text(
        textwrap.dedent("""
        custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)
        model = dict(type="VideoCLIP", clip=dict(arch="ezclip-tiny"), num_frames=4,
                     templates=["a clip of {}"], trainable=[])
    """)
    )
    monkeypatch.setenv("EZCLIP_MODEL_PATH", str(tmp_path))
    assert main(["ls", "models"]) == 0
    assert f"{tmp_path}/mymodel.py" in capsys.readouterr().out


def test_predict_ranks_the_users_labels(tmp_path, capsys):
    import numpy as np

    from ezclip.data.video_io import write_mp4

    write_mp4(tmp_path / "mine.mp4", np.random.default_rng(0).integers(0, 255, (16, 64, 64, 3), dtype=np.uint8))
    assert (
        main(
            [
                "predict",
                str(tmp_path / "mine.mp4"),
                "--labels",
                "jumping, running,swimming",
                "--model",
                "clip",
                "--arch",
                "ezclip-mini",
                "--pretrained",
                "none",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert all(label in out for label in ("jumping", "running", "swimming"))
    assert main(["predict", str(tmp_path / "other.mp4"), "--labels", "a,b", "--model", "clip"]) == 2
    assert "other.mp4: video not found" in capsys.readouterr().err


def test_unknown_protocol_gets_the_closest_names(capsys):
    assert main(["run", "zeroshto"]) == 2
    assert "unknown protocol 'zeroshto'; did you mean zeroshot" in capsys.readouterr().err


def test_ablations_are_listed_and_run_only_when_named(capsys):
    from ezclip.zoo import list_models, load_model_config

    assert "ezclip-prompts-none" not in list_models() and "ezclip-prompts-none" in list_models(ablations=True)
    cfg = load_model_config("ezclip-prompts-none")
    assert cfg.model.prompts == "none" and cfg.model.type == "EZCLIP" and cfg.ablation.of == "ezclip"
    assert cfg.mini.model.drop_path == 0.0  # the base config's recipes come with it
    assert main(["ls", "models"]) == 0
    assert "ezclip: no temporal prompts" in capsys.readouterr().out
