"""Split manifests, the importer of the official split files and the drawer of new splits."""

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from ezclip import splits
from ezclip.cli import main
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.datasets import base_novel

REFERENCE = Path(os.environ["EZCLIP_SHARED_REFERENCE"]).resolve()  # set by the root conftest.py
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "ViFi-CLIP").is_dir() or not (REFERENCE / "EZ-CLIP").is_dir(),
    reason=f"the official ViFi-CLIP / EZ-CLIP split files are not at {REFERENCE}",
)

MANIFESTS = {d: splits.load_manifest(d) for d in splits.DATASETS}

# (dataset, list, official file, lines, classes), from the notes (baselines-and-splits.md C.3, H)
REFERENCE_LISTS = [
    ("hmdb51", "test_split1", "datasets_splits/hmdb_splits/val1.txt", 1530, 51),
    ("hmdb51", "test_split3", "datasets_splits/hmdb_splits/val3.txt", 1530, 51),
    ("hmdb51", "fewshot_2", "datasets_splits/hmdb_splits/train1_few_shot_2.txt", 102, 51),
    ("hmdb51", "fewshot_16", "datasets_splits/hmdb_splits/train1_few_shot_16.txt", 816, 51),
    ("hmdb51", "base_train_s2", "datasets_splits/base2novel_splits/hmdb_splits/fs_base_s2_train.txt", 416, 26),
    ("hmdb51", "base_test", "datasets_splits/base2novel_splits/hmdb_splits/base_val.txt", 780, 26),
    ("hmdb51", "novel_test", "datasets_splits/base2novel_splits/hmdb_splits/novel_val.txt", 750, 25),
    ("ucf101", "test_split1", "datasets_splits/ucf_splits/val1.txt", 3783, 101),
    ("ucf101", "test_split2", "datasets_splits/ucf_splits/val2.txt", 3734, 101),
    ("ucf101", "test_split3", "datasets_splits/ucf_splits/val3.txt", 3696, 101),
    ("ucf101", "fewshot_8", "datasets_splits/ucf_splits/train1_few_shot_8.txt", 808, 101),
    ("ucf101", "base_train_s1", "datasets_splits/base2novel_splits/ucf_splits/fs_base_s1_train.txt", 816, 51),
    ("ucf101", "base_test", "datasets_splits/base2novel_splits/ucf_splits/base_val.txt", 2088, 51),
    ("ucf101", "novel_test", "datasets_splits/base2novel_splits/ucf_splits/novel_val.txt", 1695, 50),
    ("k400", "base_train_s3", "datasets_splits/base2novel_splits/k400_splits/fs_base_s3_train.txt", 3200, 200),
    ("ssv2", "fewshot_4", "datasets_splits/ssv2_splits/train1_few_shot_4.txt", 696, 174),
    ("ssv2", "base_train_s1", "datasets_splits/base2novel_splits/ssv2_splits/fs_base_s1_train.txt", 1392, 87),
]


@pytest.fixture(scope="module")
def reference_import(tmp_path_factory):
    out = tmp_path_factory.mktemp("splits")
    # the two checkouts the manifests name (shared/reference also holds TC-CLIP's copy of ViFi-CLIP's
    # lists, which a folder of checkouts may hold only once)
    both = tmp_path_factory.mktemp("checkouts")
    for repo in ("ViFi-CLIP", "EZ-CLIP"):
        (both / repo).symlink_to(REFERENCE / repo)
    rows, missing = splits.import_splits(both, out)
    return rows, missing, out


def row_for(rows, dataset, list_name, repo="ViFi-CLIP"):
    return next(r for r in rows if (r.dataset, r.list_name, r.repo) == (dataset, list_name, repo))


def vifi_copy(tmp_path):
    """A writable copy of the ViFi-CLIP reference files (never committed: it lives in tmp)."""
    return Path(shutil.copytree(REFERENCE / "ViFi-CLIP", tmp_path / "ViFi-CLIP"))


# ---------------------------------------------------------------- manifests (no reference files needed)


@pytest.mark.parametrize("dataset", splits.DATASETS)
def test_manifest_is_self_consistent(dataset):
    m = MANIFESTS[dataset]
    assert m["version"] == 1 and m["dataset"] == dataset
    if dataset != "k600":
        assert sorted(m["base"] + m["novel"]) == sorted(m["classes"]) and not set(m["base"]) & set(m["novel"])
    for name, spec in m["lists"].items():
        assert spec["class_set"] in splits.class_sets(m), name
        for src in spec["sources"]:
            assert src["repo"] in splits.REPOS and src["labels"] in ("index", "name")
            if src["sha256"] is None:
                assert "not verified: sha256 unknown" in src["note"]
            else:
                assert re.fullmatch("[0-9a-f]{64}", src["sha256"])
            assert src["classes"] <= len(m[spec["class_set"]])
            if spec.get("per_class") and src["lines"] is not None:
                assert src["lines"] == spec["per_class"] * src["classes"]
            if src["labels"] == "name":  # the CSV it is re-labelled through is a checked class file
                assert any(cf["repo"] == src["repo"] and cf["path"] == src["class_csv"] for cf in m["class_files"])


def test_every_harness_list_has_a_manifest_entry():
    expected = {
        "hmdb51": [f"test_split{i}" for i in (1, 2, 3)] + [f"fewshot_{k}" for k in (2, 4, 8, 16)],
        "ucf101": [f"test_split{i}" for i in (1, 2, 3)] + [f"fewshot_{k}" for k in (2, 4, 8, 16)],
        "k400": ["val"],
        "ssv2": ["val"] + [f"fewshot_{k}" for k in (2, 4, 8, 16)],
        "k600": ["zeroshot_split1", "zeroshot_split2", "zeroshot_split3", "zeroshot_232"],
    }
    for dataset, names in expected.items():
        if dataset != "k600":
            names = names + ["base_train_s1", "base_train_s2", "base_train_s3", "base_test", "novel_test"]
        assert set(names) <= set(MANIFESTS[dataset]["lists"]), dataset
    k600 = MANIFESTS["k600"]["lists"]
    assert [k600[f"zeroshot_split{i}"]["class_set"] for i in (1, 2, 3)] == [
        "novel_split1",
        "novel_split2",
        "novel_split3",
    ]
    assert k600["zeroshot_232"]["class_set"] == "novel232"


def test_k600_novel_class_variants():
    k600, k400 = MANIFESTS["k600"], set(MANIFESTS["k400"]["classes"])
    assert [len(k600[f"novel_split{i}"]) for i in (1, 2, 3)] == [160, 160, 160]
    assert len(k600["novel220"]) == 220 and len(k600["novel232"]) == 232 and len(k600["classes"]) == 600
    renamed = k600["renamed_from_k400"]
    assert len(renamed) == 12 and set(renamed.values()) <= k400  # renamed K400 classes, e.g. 'dying hair'
    assert not set(k600["novel220"]) & (k400 | set(renamed))  # none of the 220 is a K400 class
    assert set(k600["novel232"]) == set(k600["novel220"]) | set(renamed)
    assert set(k600["novel232"]) == set(k600["classes"]) - k400
    drawn = set().union(*(k600[f"novel_split{i}"] for i in (1, 2, 3)))
    assert len(drawn) == 217 and drawn <= set(k600["novel220"])


def test_hmdb_names_follow_the_video_file_names():
    hmdb = MANIFESTS["hmdb51"]
    assert hmdb["classes"][20:22] == ["kick", "kick ball"] and hmdb["classes"][44:46] == ["sword", "sword exercise"]
    assert hmdb["novel"] == hmdb["classes"][:25] and hmdb["base"] == hmdb["classes"][25:]  # the alphabetical rule
    names = hmdb["classes"]
    assert splits.class_in_path("hmdb51", "Tatehiza_draw_sword_f_nm_np1_fr_med_0.avi", names) == "draw sword"
    assert splits.class_in_path("hmdb51", "x_kick_ball_f_cm_np1_ba_bad_0.avi", names) == "kick ball"
    assert (
        splits.class_in_path("ucf101", "v_HandStandPushups_g01_c01.avi", MANIFESTS["ucf101"]["classes"])
        == "HandstandPushups"
    )


# ---------------------------------------------------------------- importing the reference files


@needs_reference
def test_import_of_the_vifi_reference(reference_import):
    rows, missing, out = reference_import
    assert all(r.ok for r in rows), [p for r in rows for p in r.problems]
    for dataset, name, path, lines, classes in REFERENCE_LISTS:
        row = row_for(rows, dataset, name)
        assert (row.relpath, row.lines, row.classes, row.sha256, row.status) == (path, lines, classes, "yes", "written")
        entries = read_video_list(out / dataset / f"{name}.txt", classes)
        assert len(entries) == lines and len({e.label for e in entries}) == classes
    lists = [r for r in rows if r.list_name]
    assert len(lists) == 34 and all(r.repo == "ViFi-CLIP" and r.sha256 == "yes" for r in lists)
    assert missing["k600"] == ["zeroshot_split1", "zeroshot_split2", "zeroshot_split3", "zeroshot_232"]
    assert "val" in missing["k400"] and "val" in missing["ssv2"]
    for dataset in ("k400", "hmdb51", "ucf101", "ssv2"):  # class CSVs written from the manifest
        for set_name in ("classes", "base", "novel"):
            assert read_class_csv(out / dataset / f"{set_name}.csv") == MANIFESTS[dataset][set_name]
    record = json.loads((out / "hmdb51" / "provenance.json").read_text())["lists"]["test_split1"]
    assert (record["sha256_match"], record["kind"]) == ("yes", "official")
    assert record["path"] == "datasets_splits/hmdb_splits/val1.txt"
    assert record["label"] == "official ViFi-CLIP:datasets_splits/hmdb_splits/val1.txt@ba5a9187"


@needs_reference
def test_imported_lists_equal_the_official_ones(reference_import):
    """ViFi's labels already index the harness class sets: the written lists are the official lines."""
    _, _, out = reference_import
    for dataset, name, path, _, _ in REFERENCE_LISTS:
        assert (out / dataset / f"{name}.txt").read_bytes() == (REFERENCE / "ViFi-CLIP" / path).read_bytes()


@needs_reference
def test_class_csvs_of_both_repos_are_checked(reference_import, tmp_path):
    rows, _, _ = reference_import
    csvs = {(r.repo, r.relpath): r for r in rows if r.list_name is None}
    assert len(csvs) == 16 + 3 and all(r.sha256 == "yes" and r.status == "checked" for r in csvs.values())
    assert csvs[("EZ-CLIP", "lists/kinetics_600_labels_exclusive.csv")].classes == 232
    hmdb = csvs[("ViFi-CLIP", "labels/hmdb_51_labels.csv")]
    assert any("kick / kick ball; sword / sword exercise" in w for w in hmdb.warnings)

    rows, missing = splits.import_splits(REFERENCE / "EZ-CLIP", tmp_path)  # the EZ-CLIP folder alone
    assert [(r.dataset, r.classes, r.sha256, r.status) for r in rows] == [
        ("k600", 232, "yes", "checked"),
        ("hmdb51", 26, "yes", "checked"),
        ("hmdb51", 25, "yes", "checked"),
    ]
    assert "zeroshot_232" in missing["k600"] and not any(tmp_path.iterdir())


@needs_reference
def test_cli_import_prints_the_report(tmp_path, capsys):
    assert main(["splits", "import", str(REFERENCE / "ViFi-CLIP"), "--out", str(tmp_path), "--datasets", "hmdb51"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "hmdb_splits/val2.txt" in row)
    assert line.split()[:2] == ["hmdb51", "test_split2"] and line.split()[-4:] == ["1530", "51", "yes", "written"]
    assert "not in SOURCE: hmdb51: base_train_full" in out and f"12 list(s) written under {tmp_path}" in out


@needs_reference
def test_hmdb_reference_lists_agree_with_the_names_in_the_file_names():
    hmdb, checked = MANIFESTS["hmdb51"], 0
    for spec in hmdb["lists"].values():
        names = hmdb[spec["class_set"]]
        for src in spec["sources"]:
            file = REFERENCE / src["repo"] / src["path"]
            if not file.is_file():
                continue
            for e in read_video_list(file, len(names)):
                assert splits.class_in_path("hmdb51", e.path, names) == names[e.label], f"{file}:{e.line}"
                checked += 1
    assert checked == 3 * 1530 + 102 + 204 + 408 + 816 + 3 * 416 + 780 + 750


# ---------------------------------------------------------------- corrupted copies


@needs_reference
def test_a_removed_line_is_rejected_naming_the_file(tmp_path):
    vifi = vifi_copy(tmp_path)
    file = vifi / "datasets_splits/hmdb_splits/val1.txt"
    lines = file.read_text().splitlines(keepends=True)
    file.write_text("".join(lines[:6] + lines[7:]))
    out = tmp_path / "out"
    rows, _ = splits.import_splits(vifi, out, ["hmdb51"])
    row = row_for(rows, "hmdb51", "test_split1")
    assert row.status == "REJECTED" and row.sha256 == "no" and row.lines == 1529
    assert f"{file}: 1529 lines instead of 1530" in row.problems
    assert any(p.startswith(f"{file}: sha256 mismatch") for p in row.problems)
    assert not (out / "hmdb51" / "test_split1.txt").exists() and (out / "hmdb51" / "test_split2.txt").exists()
    assert main(["splits", "import", str(vifi), "--out", str(out), "--datasets", "hmdb51"]) == 2


@needs_reference
@pytest.mark.parametrize(
    "change, why",
    [
        (lambda b: b.replace(b"\n", b"\r\n"), "CRLF line endings (a checkout with git's core.autocrlf?"),
        (lambda b: b"\xef\xbb\xbf" + b, "a UTF-8 byte-order mark: without them it is the official file"),
        (
            lambda b: b.replace(b"\n", b" \n", 3),
            "trailing whitespace on 3 line(s), first at line 1: without them it is",
        ),
    ],
)
def test_a_list_that_is_the_official_one_but_for_its_bytes_says_why(tmp_path, change, why):
    vifi = vifi_copy(tmp_path)
    file = vifi / "datasets_splits/hmdb_splits/val1.txt"
    file.write_bytes(change(file.read_bytes()))
    rows, _ = splits.import_splits(vifi, tmp_path / "out", ["hmdb51"])
    [problem] = [p for p in row_for(rows, "hmdb51", "test_split1").problems if "sha256 mismatch" in p]
    assert why in problem and "without them it is the official file" in problem


@needs_reference
def test_a_list_with_other_content_says_where(tmp_path):
    """The manifest's line-block digests place a difference: the run of 100 lines it starts in."""
    vifi = vifi_copy(tmp_path)
    file = vifi / "datasets_splits/hmdb_splits/val1.txt"
    lines = file.read_bytes().split(b"\n")

    def problem_after(data):
        file.write_bytes(data)
        rows, _ = splits.import_splits(vifi, tmp_path / "out", ["hmdb51"])
        return next(p for p in row_for(rows, "hmdb51", "test_split1").problems if "sha256 mismatch" in p)

    swapped = lines[:741] + [lines[742], lines[741]] + lines[743:]  # two lines in the middle swap places
    assert problem_after(b"\n".join(swapped)).endswith(
        "(not the official file: its content differs from the official file's in lines 701-800)"
    )
    assert problem_after(b"\r\n".join(lines[:6] + lines[7:])).endswith(  # CRLF, and a line removed
        "core.autocrlf=false`): and besides, its content differs from the official file's in lines 1-100)"
    )
    assert problem_after(b"\n".join(lines[:1200]) + b"\n").endswith(  # cut short after line 1200
        "(not the official file: its content differs from the official file's in lines 1201-1300)"
    )


@needs_reference
def test_a_changed_label_is_rejected_naming_the_file_and_line(tmp_path, capsys):
    vifi = vifi_copy(tmp_path)
    file = vifi / "datasets_splits/hmdb_splits/val1.txt"
    lines = file.read_text().splitlines(keepends=True)
    path, label = lines[4].split()
    lines[4] = f"{path} {int(label) + 1}\n"
    file.write_text("".join(lines))
    assert main(["splits", "import", str(vifi), "--out", str(tmp_path / "out"), "--datasets", "hmdb51"]) == 2
    captured = capsys.readouterr()
    assert f"rejected: {file}:5: {path} is 'brush hair' by its file name but labelled 1 (= 'cartwheel')" in captured.out
    assert f"rejected: {file}: sha256 mismatch" in captured.out
    assert "1 file(s) rejected" in captured.err and str(file) in captured.err


@needs_reference
def test_a_changed_label_without_a_name_in_the_path_is_caught(tmp_path):
    """SSv2 file names carry no class: the hash and the exact K per class catch the change."""
    vifi = vifi_copy(tmp_path)
    file = vifi / "datasets_splits/ssv2_splits/train1_few_shot_2.txt"
    lines = file.read_text().splitlines(keepends=True)
    path, label = lines[0].split()
    lines[0] = f"{path} {(int(label) + 1) % 174}\n"
    file.write_text("".join(lines))
    rows, _ = splits.import_splits(vifi, tmp_path / "out", ["ssv2"])
    row = row_for(rows, "ssv2", "fewshot_2")
    assert row.status == "REJECTED" and row.sha256 == "no"
    assert any(p.startswith(f"{file}: class ") and "has 1 videos instead of 2 (lines " in p for p in row.problems)


@needs_reference
def test_a_label_outside_the_class_set_is_rejected_with_its_line(tmp_path):
    vifi = vifi_copy(tmp_path)
    file = vifi / "datasets_splits/base2novel_splits/ucf_splits/novel_val.txt"
    lines = file.read_text().splitlines(keepends=True)
    lines[2] = lines[2].split()[0] + " 50\n"
    file.write_text("".join(lines))
    rows, _ = splits.import_splits(vifi, tmp_path / "out", ["ucf101"])
    row = row_for(rows, "ucf101", "novel_test")
    assert row.problems == [f"{file}:3: label 50 is outside the class list (0..49)"]


# ---------------------------------------------------------------- sources without a known hash; EZ-CLIP's rule


def test_a_source_without_a_known_hash_is_accepted_with_a_warning(tmp_path):
    classes = MANIFESTS["k400"]["classes"]
    train = tmp_path / "ViFi-CLIP" / "datasets_splits" / "k400_splits" / "train.txt"
    train.parent.mkdir(parents=True)
    train.write_text("".join(f"train/video{i}.mp4 {i}\n" for i in range(len(classes))))
    rows, _ = splits.import_splits(tmp_path, tmp_path / "out", ["k400"])
    (row,) = rows
    assert (row.list_name, row.sha256, row.status) == ("train", "unknown", "written")
    assert row.warnings == [f"{train}: not verified: sha256 unknown"]
    record = json.loads((tmp_path / "out" / "k400" / "provenance.json").read_text())["lists"]["train"]
    assert record["warnings"] == ["not verified: sha256 unknown"] and record["kind"] == "unverified"


def test_an_unverified_train_list_sharing_videos_with_an_evaluation_list_is_refused(tmp_path, capsys):
    """A copy of the validation list imported as the train list: every video is an evaluation video."""
    classes = MANIFESTS["k400"]["classes"]
    folder = tmp_path / "ViFi-CLIP" / "datasets_splits" / "k400_splits"
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("".join(f"val/video{i}.mp4 {i}\n" for i in range(len(classes))))
    out = tmp_path / "out" / "k400"
    out.mkdir(parents=True)  # the evaluation list, imported before
    (out / "val.txt").write_text("".join(f"video{i}.mp4 {i}\n" for i in range(0, len(classes), 50)))
    args = ["splits", "import", str(tmp_path / "ViFi-CLIP"), "--out", str(tmp_path / "out"), "--datasets", "k400"]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert f"rejected: {folder / 'train.txt'}: 8 of its videos are in the evaluation list val (e.g. video0.mp4)" in (
        captured.out
    )
    assert "pass --allow-overlap" in captured.out and "1 file(s) rejected" in captured.err
    assert not (out / "train.txt").exists()
    assert main(args + ["--allow-overlap"]) == 0
    record = json.loads((out / "provenance.json").read_text())["lists"]["train"]
    assert record["warnings"][-1] == (
        "8 of its videos are in the evaluation list val (e.g. video0.mp4); accepted (--allow-overlap)"
    )


@needs_reference
def test_the_report_lists_the_files_no_manifest_names(tmp_path, capsys):
    vifi = vifi_copy(tmp_path)
    (vifi / "datasets_splits" / "hmdb_splits" / "my_notes.txt").write_text("x\n")
    assert main(["splits", "import", str(vifi), "--out", str(tmp_path / "out"), "--datasets", "hmdb51"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("not used: ViFi-CLIP"))
    assert "datasets_splits/hmdb_splits/my_notes.txt" in line or "more)" in line
    unused = splits.verify.unused_files({"ViFi-CLIP": vifi})["ViFi-CLIP"]
    assert "datasets_splits/hmdb_splits/my_notes.txt" in unused
    assert "datasets_splits/hmdb_splits/val1.txt" not in unused and "labels/hmdb_51_labels.csv" not in unused


@needs_reference
def test_ez_clip_lists_are_relabelled_by_name(tmp_path):
    """EZ-CLIP's HMDB lists index its own CSV (20 = 'kick ball'): mapped by name to the harness's 21."""
    hmdb = MANIFESTS["hmdb51"]
    source = dict(next(s for s in hmdb["lists"]["test_split1"]["sources"] if s["repo"] == "EZ-CLIP"))
    ez_names = read_class_csv(REFERENCE / "ViFi-CLIP" / "labels/hmdb_51_labels.csv")  # = EZ's lists/hmdb51_labels.csv
    ez_csv = tmp_path / "hmdb51_labels.csv"
    shutil.copy(REFERENCE / "ViFi-CLIP" / "labels/hmdb_51_labels.csv", ez_csv)
    official = read_video_list(REFERENCE / "ViFi-CLIP" / "datasets_splits/hmdb_splits/val1.txt", 51)
    ez_list = tmp_path / "test.txt"  # EZ-CLIP's format: absolute path, frame count, label by its CSV
    ez_list.write_text(
        "".join(f"/cluster/data/hmdb/{e.path} 60 {ez_names.index(hmdb['classes'][e.label])}\n" for e in official)
    )
    result = splits.check_list(hmdb, "test_split1", dict(source, sha256=None, lines=1530), ez_list, ez_csv)
    assert result.ok and result.sha256 == "unknown"
    assert result.entries == [(e.path, 60, e.label) for e in official]
    assert Counter(label for *_, label in result.entries)[21] == 30  # 'kick ball'


# ---------------------------------------------------------------- drawing new splits


def make_train_list(tmp_path, counts):
    names = [f"class {i:02d}" for i in range(len(counts))]
    (tmp_path / "classes.csv").write_text("id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names)))
    (tmp_path / "train.txt").write_text(
        "".join(f"c{label}/v{j}.mp4 {label}\n" for j in range(max(counts)) for label, n in enumerate(counts) if j < n)
    )
    (tmp_path / "test.txt").write_text(
        "".join(f"t{label}/v{j}.mp4 {label}\n" for label in range(len(counts)) for j in range(3))
    )
    return names


def draw(tmp_path, out, seeds=(1, 2, 3), **kw):
    return splits.draw_splits(
        "mine",
        tmp_path / "train.txt",
        tmp_path / "classes.csv",
        out,
        shots=(2, 4),
        seeds=seeds,
        base_shots=5,
        test_list=tmp_path / "test.txt",
        **kw,
    )


def test_make_draws_k_per_class_and_the_most_frequent_half_as_base(tmp_path):
    counts = [9, 12, 7, 12, 20, 6, 9, 30, 12]  # 'class 01', 'class 03', 'class 08' tie at 12
    names = make_train_list(tmp_path, counts)
    note = draw(tmp_path, tmp_path / "out")
    folder = tmp_path / "out" / "mine"
    # ascending (count, name): 05 02 00 06 | 01 03 08 04 07 -> novel the first 4, base the other 5
    assert read_class_csv(folder / "base.csv") == ["class 01", "class 03", "class 08", "class 04", "class 07"]
    assert read_class_csv(folder / "novel.csv") == ["class 05", "class 02", "class 00", "class 06"]
    assert note["base"] == read_class_csv(folder / "base.csv")
    train = {e.path: e.label for e in read_video_list(tmp_path / "train.txt", len(names))}
    for k in (2, 4):
        entries = read_video_list(folder / f"fewshot_{k}.txt", len(names))
        assert Counter(e.label for e in entries) == {label: k for label in range(len(names))}
        assert all(train[e.path] == e.label for e in entries) and len({e.path for e in entries}) == len(entries)
    base = read_class_csv(folder / "base.csv")
    for s in (1, 2, 3):
        entries = read_video_list(folder / f"base_train_s{s}.txt", len(base))
        assert Counter(e.label for e in entries) == {label: 5 for label in range(len(base))}
        assert all(names[train[e.path]] == base[e.label] for e in entries)  # re-labelled into the base set
    test_base = read_video_list(folder / "base_test.txt", len(base))
    assert len(test_base) == 3 * 5 and all(e.path.startswith(f"t{names.index(base[e.label])}/") for e in test_base)
    assert len(read_video_list(folder / "novel_test.txt", 4)) == 3 * 4
    recorded = json.loads((folder / "drawn.json").read_text())
    assert recorded["lists"]["base_train_s2"] == dict(class_set="base", per_class=5, seed=2, lines=25)
    provenance = json.loads((folder / "provenance.json").read_text())["lists"]
    sha = recorded["train_sha256"][:8]
    assert provenance["base_train_s2"]["label"] == f"custom: drawn by `splits make` with seed 2 from train.txt@{sha}"
    assert provenance["novel_test"]["kind"] == "custom"


@needs_reference
def test_provenance_follows_a_list_from_import_to_replacement(tmp_path):
    """Imported: official. Edited by hand: custom, saying so. Overwritten by `splits make`: custom, drawn."""
    from ezclip.benchmark import Benchmark

    out = tmp_path / "out"
    splits.import_splits(REFERENCE / "ViFi-CLIP", out, ["hmdb51"])
    bench = Benchmark("full", tmp_path / "videos", out)
    assert bench.provenance("hmdb51", "fewshot_2") == dict(
        kind="official", label="official ViFi-CLIP:datasets_splits/hmdb_splits/train1_few_shot_2.txt@3b2e45f4"
    )
    (out / "hmdb51" / "hand_made.txt").write_text("a.avi 0\n")
    assert bench.provenance("hmdb51", "hand_made") == dict(
        kind="custom", label="custom: user-supplied (hand_made.txt has no provenance entry)"
    )
    with open(out / "hmdb51" / "test_split2.txt", "a") as f:
        f.write("extra.avi 0\n")
    assert bench.provenance("hmdb51", "test_split2")["label"].startswith(
        "custom: test_split2.txt changed since it was written (official ViFi-CLIP:"
    )
    splits.draw_splits(
        "hmdb51", out / "hmdb51" / "test_split1.txt", out / "hmdb51" / "classes.csv", out, shots=(2,), force=True
    )
    assert bench.provenance("hmdb51", "fewshot_2")["label"].startswith("custom: drawn by `splits make` with seed 1")


def test_make_is_deterministic_per_seed(tmp_path):
    make_train_list(tmp_path, [10, 11, 12, 13, 14, 15])
    draw(tmp_path, tmp_path / "a")
    draw(tmp_path, tmp_path / "b")
    draw(tmp_path, tmp_path / "c", seeds=(4, 5, 6))

    def read(run, name):
        return (tmp_path / run / "mine" / name).read_text()

    for name in ("fewshot_2.txt", "fewshot_4.txt", "base_train_s1.txt", "base_train_s2.txt", "base_train_s3.txt"):
        assert read("a", name) == read("b", name)
        assert read("a", name) != read("c", name)
    assert read("a", "base_train_s1.txt") != read("a", "base_train_s2.txt")


def test_hmdb_like_ties_put_the_alphabetically_last_half_in_base():
    names = ["brush hair", "cartwheel", "pour", "wave", "catch"]
    base, novel = base_novel(names, [70] * 5)
    assert [names[i] for i in base] == ["catch", "pour", "wave"]  # the larger half when odd
    assert [names[i] for i in novel] == ["brush hair", "cartwheel"]


def test_make_errors_name_the_problem(tmp_path, capsys):
    make_train_list(tmp_path, [3, 8, 8])
    args = [
        "splits",
        "make",
        "--dataset",
        "mine",
        "--train-list",
        str(tmp_path / "train.txt"),
        "--classes",
        str(tmp_path / "classes.csv"),
        "--out",
        str(tmp_path / "out"),
        "--seeds",
        "7",
    ]
    assert main(args + ["--shots", "4"]) == 2
    assert f"{tmp_path / 'train.txt'}: class 'class 00' has 3 videos, fewer than 4" in capsys.readouterr().err
    assert main(args + ["--shots", "2", "--base-shots", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 classes, 2 base, 1 novel" in out and "base_train_s1.txt: 4 videos (base, seed 7)" in out
    assert main(args + ["--shots", "2", "--base-shots", "2"]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(args + ["--shots", "2", "--base-shots", "2", "--force"]) == 0
