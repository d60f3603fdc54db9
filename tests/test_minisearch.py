"""The mini recipe search: one rule for every model, on a held-out part of the source role's train list,
never on an evaluation list; its choices reach every mini record."""

import json

from ezclip import minisearch, recipes
from ezclip.data.lists import read_video_list
from ezclip.harness import list_protocols, load_protocol, model_setup
from ezclip.records import read_records


def evaluation_videos(bench):
    """Every video any protocol (or variant) evaluates on the mini world."""
    videos = set()
    for name in list_protocols():
        protocol = load_protocol(name)
        for variant in [None, *protocol.get("variants", {})]:
            for stage in load_protocol(name, variant).stages:
                for ev in stage["evaluate"]:
                    path = bench.list_file(ev["dataset"], ev["list"])
                    videos |= {(ev["dataset"], e.path) for e in read_video_list(path, 10_000)}
    return videos


def test_the_search_trains_and_scores_on_the_source_train_list_only(mini, tmp_path, monkeypatch):
    monkeypatch.setitem(recipes.MINI_SEARCH, "lrs", (1e-3, 3e-3))
    monkeypatch.setitem(recipes.MINI_SEARCH, "epochs", (1,))
    out = tmp_path / "mini_recipes.json"
    doc = minisearch.search(["vificlip"], mini, tmp_path / "work", out, log=lambda *a: None)

    bench = minisearch.search_lists(mini, tmp_path / "lists")
    train = read_video_list(bench.list_file("k400", "search_train"), 10_000)
    val = read_video_list(bench.list_file("k400", "search_val"), 10_000)
    source = read_video_list(mini.list_file("k400", "train"), 10_000)
    assert sorted(e.path for e in train + val) == sorted(e.path for e in source)
    assert not {e.path for e in train} & {e.path for e in val}
    assert len(val) == sum(n // 4 for n in _per_class(source).values())
    assert not {("k400", e.path) for e in train + val} & evaluation_videos(mini)

    trials = read_records(tmp_path / "work" / "results")
    assert len(trials) == 2 and {r["eval"]["list"] for r in trials} == {"search_val"}
    assert {r["train"]["list"] for r in trials} == {"search_train"}
    chosen = doc["models"]["vificlip"]
    best = max(chosen["trials"], key=lambda t: (t["val_top1"], -t["lr"]))
    assert (chosen["lr"], chosen["epochs"]) == (best["lr"], 1)
    assert json.loads(out.read_text())["models"]["vificlip"] == chosen


def _per_class(entries):
    counts = {}
    for e in entries:
        counts[e.label] = counts.get(e.label, 0) + 1
    return counts


def test_every_trained_model_runs_its_searched_recipe_and_records_it(mini):
    searched = recipes.searched_mini_recipes()
    for name in ("ezclip", "xclip", "vificlip", "actionclip"):
        recipe = model_setup(name, mini)["recipe"]
        assert recipe["search"] == dict(
            rule="MINI_SEARCH",
            lr=searched[name]["lr"],
            epochs=searched[name]["epochs"],
            val_top1=searched[name]["val_top1"],
            of=name,
        )
        assert recipe["optimizer"]["lr"] == searched[name]["lr"] and recipe["epochs"] == searched[name]["epochs"]
        assert len(searched[name]["trials"]) == len(recipes.MINI_SEARCH["lrs"]) * len(recipes.MINI_SEARCH["epochs"])
    # an ablation keeps the recipe of the model it ablates
    assert model_setup("ezclip-no-adapters", mini)["recipe"]["search"]["of"] == "ezclip"
    assert "search" not in model_setup("clip", mini)["recipe"]  # nothing to train, nothing searched
