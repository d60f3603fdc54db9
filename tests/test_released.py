"""Released checkpoints: the manifests, `released ls`, and `run --released` on the mini benchmark with
official-layout files exported from models trained here."""

import json
from pathlib import Path

import pytest
import torch

from ezclip import released
from ezclip.cli import main
from ezclip.errors import InputError
from ezclip.harness import load_protocol, model_setup, run_protocol
from ezclip.records import read_records
from ezclip.tables import build_tables

PROTOCOLS = {"zeroshot": None, "fewshot": None, "base2novel": None, "base2novel+full_base": "full_base"}


def test_every_manifest_entry_names_a_file_a_source_and_a_protocol_stage_that_exists():
    manifests = released.manifests()
    assert set(manifests) == {"ezclip", "xclip", "vificlip", "actionclip"}
    counts = {m: len(d["checkpoints"]) for m, d in manifests.items()}
    assert counts == {"ezclip": 5, "xclip": 9, "vificlip": 25, "actionclip": 4}
    stages = {}
    for pid, variant in PROTOCOLS.items():
        protocol = load_protocol(pid.split("+")[0], variant)
        stages[pid] = {s["name"] for s in protocol.stages}
    for model, manifest in manifests.items():
        files = [c["file"] for c in manifest["checkpoints"]]
        assert len(files) == len(set(files)), model
        for c in manifest["checkpoints"]:
            assert c["url"].startswith("https://") and "@" in c["published_at"], c
            assert c["normalization"] in ("clip", "imagenet") and c["input_size"] == 224
            if c["protocol"] is not None:
                assert c["stage"] in stages[c["protocol"]], c
                assert released.checkpoint_for(model, c["protocol"], c["stage"]) == c
    # every protocol stage a model's code could have released is covered where the authors released it
    assert {c["stage"] for c in manifests["xclip"]["checkpoints"] if c["protocol"] == "fewshot"} == {
        f"{d}_k{k}" for d in ("hmdb51", "ucf101") for k in (2, 4, 8, 16)
    }
    assert {c["stage"] for c in manifests["vificlip"]["checkpoints"] if c["protocol"] == "base2novel"} == {
        f"{d}_s{s}" for d in ("k400", "hmdb51", "ucf101", "ssv2") for s in (1, 2, 3)
    }


def test_released_ls_lists_every_file_and_marks_the_ones_found(tmp_path, capsys):
    (tmp_path / "zero.pth").write_bytes(b"x")
    (tmp_path / "vificlip").mkdir()
    (tmp_path / "vificlip" / "vifi_clip_10_epochs_k400_full_finetuned.pth").write_bytes(b"x")
    assert main(["released", "ls"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") > 43 and "few_ucf_16.pth" in out and "vit-b-16-32f.pt" in out
    assert "https://github.com/nbl97/X-CLIP_Model_Zoo/releases/download/v1.0/zero.pth" in out
    assert main(["released", "ls", "--released", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    found = [line.split()[0] for line in out.splitlines() if " found " in line and " of " not in line]
    assert found == ["vificlip", "xclip"] and f"2 of 43 released checkpoints found in {tmp_path}" in out


def last_weights(work, model_name):
    pointer = next(p for p in work.rglob("last_checkpoint") if f"/{model_name}/" in str(p))
    return torch.load(pointer.read_text().strip(), map_location="cpu", weights_only=False)["state_dict"]


@pytest.fixture(scope="module")
def trained_and_released(mini, tmp_path_factory):
    """xclip and vificlip trained here on one few-shot stage; their weights exported in the official
    layouts under the published names; then `run --released` on the same stage."""
    from mmaction.registry import MODELS

    tmp = tmp_path_factory.mktemp("released")
    protocol = load_protocol("fewshot")
    kw = dict(subset=2, stages=["hmdb51_k2"], log=lambda *a: None)
    run_protocol(protocol, ["xclip", "vificlip"], mini, tmp / "trained", tmp / "work", **kw)
    folder = tmp / "released"
    folder.mkdir()
    for name in ("xclip", "vificlip"):
        model = MODELS.build(model_setup(name, mini)["model"])
        model.load_state_dict(last_weights(tmp / "work", name))
        checkpoint = released.checkpoint_for(name, "fewshot", "hmdb51_k2")
        torch.save(dict(model.to_official_checkpoint(), epoch=3), folder / checkpoint["file"])
    lines = []
    kw["log"] = lines.append
    run_protocol(
        protocol,
        ["xclip", "vificlip", "ezclip"],
        mini,
        tmp / "results",
        tmp / "work2",
        released=folder,
        cache=tmp / "cache",
        **kw,
    )
    return tmp, folder, lines


def test_released_weights_evaluate_to_the_top1_of_the_models_they_came_from(trained_and_released):
    tmp, folder, lines = trained_and_released
    trained = {r["model"]["name"]: r for r in read_records(tmp / "trained")}
    ours = {r["model"]["name"]: r for r in read_records(tmp / "results")}
    for name in ("xclip", "vificlip"):
        record = ours[name]
        assert record["status"] == "ok" and record["train"] is None
        assert record["model"]["released"]["file"] == released.checkpoint_for(name, "fewshot", "hmdb51_k2")["file"]
        assert len(record["model"]["released"]["sha256"]) == 64
        assert record["metrics"]["top1"] == trained[name]["metrics"]["top1"]
        assert record["eval"]["videos_evaluated"] == trained[name]["eval"]["videos_evaluated"] == 24
    # EZ-CLIP released no few-shot checkpoint: its stage is skipped, saying so
    assert ours["ezclip"]["status"] == "skipped"
    assert ours["ezclip"]["reason"] == (
        "no released ezclip checkpoint stands for fewshot/hmdb51_k2 (few-shot: no checkpoint is linked in the README)"
    )
    assert any("released weights" in line and "few_hmdb_2.pth" in line for line in lines)
    assert json.loads((tmp / "cache" / "released" / "sha256.json").read_text()).keys() == {
        "few_hmdb_2.pth",
        "vifi_clip_hmdb51_2_shot.pth",
    }


def test_tables_keep_released_weights_apart_from_trained_ones(trained_and_released):
    tmp, _, _ = trained_and_released
    table = build_tables(read_records(tmp / "trained") + read_records(tmp / "results"))["mini-subset2"]["fewshot"]
    rows = {row[0]: row[1] for row in table.rows}
    trained = next(label for label in rows if label.startswith("xclip") and "released" not in label)
    assert f"{trained} [released weights]" in rows  # two rows: never one cell averaging both
    assert rows[trained] == rows[f"{trained} [released weights]"]  # the same weights, the same top-1
    assert any("never averaged" in note and "few_hmdb_2.pth" in note for note in table.notes)


def test_a_missing_file_is_a_skipped_record_naming_it(mini, trained_and_released):
    tmp, folder, _ = trained_and_released
    empty = tmp / "empty"
    empty.mkdir()
    run_protocol(
        load_protocol("fewshot"),
        ["xclip"],
        mini,
        tmp / "r-missing",
        tmp / "w",
        subset=2,
        stages=["hmdb51_k2"],
        released=empty,
        cache=tmp / "cache",
        log=lambda *a: None,
    )
    (record,) = read_records(tmp / "r-missing")
    assert record["status"] == "skipped"
    assert record["reason"] == (
        f"released checkpoint {empty / 'few_hmdb_2.pth'} not found; published at "
        "https://github.com/nbl97/X-CLIP_Model_Zoo/releases/download/v1.0/few_hmdb_2.pth"
    )


@pytest.mark.parametrize("content", ["corrupt", "wrong architecture"])
def test_a_corrupt_or_foreign_file_is_one_error_naming_it(mini, trained_and_released, content, capsys):
    tmp, folder, _ = trained_and_released
    bad = tmp / content.replace(" ", "_")
    bad.mkdir()
    if content == "corrupt":
        (bad / "few_hmdb_2.pth").write_bytes((folder / "few_hmdb_2.pth").read_bytes()[:5000])
        expected = "not a readable checkpoint"
    else:  # the ViFi-CLIP file under X-CLIP's name: another method's layout and modules
        (bad / "few_hmdb_2.pth").write_bytes((folder / "vifi_clip_hmdb51_2_shot.pth").read_bytes())
        expected = "does not fit XCLIP"
    with pytest.raises(InputError, match=rf"^{bad / 'few_hmdb_2.pth'}: .*{expected}"):
        run_protocol(
            load_protocol("fewshot"),
            ["xclip"],
            mini,
            tmp / f"r-{bad.name}",
            tmp / "w",
            subset=2,
            stages=["hmdb51_k2"],
            released=bad,
            cache=tmp / f"cache-{bad.name}",
            log=lambda *a: None,
        )
    assert not (tmp / f"r-{bad.name}").exists()


def test_paper_runs_every_protocol_a_release_stands_for(mini, tmp_path, monkeypatch, capsys):
    """`ezclip-bench paper`: with no file downloaded yet, CLIP (which needs none) is evaluated on every
    protocol, every other job is a skipped record naming the file it expects, and tables are written."""
    import ezclip.benchmark

    monkeypatch.setattr(ezclip.benchmark, "resolve", lambda *a, **k: mini)
    (tmp_path / "downloads").mkdir()
    args = ["paper", "--released", str(tmp_path / "downloads"), "--results", str(tmp_path / "results")]
    assert main(args + ["--subset", "1", "--work-dir", str(tmp_path / "work")]) == 0
    assert released.protocols() == ["zeroshot", "base2novel", "base2novel+full_base", "fewshot"]
    records = read_records(tmp_path / "results")
    ok = {r["model"]["name"] for r in records if r["status"] == "ok"}
    assert ok == {"clip"}
    variant = [r for r in records if r["protocol"]["variant"] == "full_base"]
    assert {r["model"]["name"] for r in variant} == {"ezclip"} and len(variant) == 4 * 2
    reasons = {r["reason"] for r in records if r["model"]["name"] == "xclip" and r["protocol"]["name"] == "fewshot"}
    assert any("few_ucf_16.pth not found; published at https://github.com/nbl97/" in x for x in reasons)
    assert "Jobs not reported above" in (tmp_path / "results" / "tables" / "mini-subset1" / "status.md").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:  # argparse: the folder is required
        main(["paper"])
    assert exit_.value.code == 2 and "--released" in capsys.readouterr().err


class _WritesAFile:
    """What a malicious checkpoint holds: an object whose unpickling calls a function of its choice."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_a_checkpoint_that_would_run_code_is_refused_by_name_and_runs_nothing(mini, trained_and_released, capsys):
    from ezclip.predict import load_checkpoint

    tmp, folder, _ = trained_and_released
    bad, written = tmp / "malicious", tmp / "written-by-the-checkpoint"
    bad.mkdir()
    state = torch.load(folder / "few_hmdb_2.pth", map_location="cpu", weights_only=True)
    torch.save(dict(state, payload=_WritesAFile(written)), bad / "few_hmdb_2.pth")  # X-CLIP's published name
    # Path.touch pickles as getattr(Path, 'touch'): the first global no checkpoint needs
    refused = rf"^{bad / 'few_hmdb_2.pth'}: refused: the file would load builtins.getattr"
    with pytest.raises(InputError, match=refused):
        run_protocol(
            load_protocol("fewshot"), ["xclip"], mini, tmp / "r-malicious", tmp / "w", subset=2,
            stages=["hmdb51_k2"], released=bad, cache=tmp / "cache-malicious", log=lambda *a: None,
        )  # fmt: skip
    assert main(["convert", "xclip", str(bad / "few_hmdb_2.pth"), str(tmp / "converted.pth")]) == 2
    assert "refused: the file would load builtins.getattr" in capsys.readouterr().err
    with pytest.raises(InputError, match=rf"^{bad / 'few_hmdb_2.pth'}: refused: the file would load pathlib.Path"):
        load_checkpoint(torch.nn.Linear(1, 1), bad / "few_hmdb_2.pth")  # predict --checkpoint
    assert not written.exists() and not (tmp / "converted.pth").exists()
