"""The mini benchmark's recipe search (``ezclip-bench mini-search``): each model's learning rate and
epochs on the mini world, chosen by one rule for every model (``ezclip.recipes.MINI_SEARCH``) on a part
of the Kinetics-400 role's train list held out from training, never on an evaluation list. Run it when a
model or the mini world changes; its results file is committed, so runs and CI do not repeat it."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmengine.config import Config

from ezclip import records
from ezclip.data.lists import read_class_csv, read_video_list
from ezclip.files import write_text
from ezclip.harness import model_setup, run_stage
from ezclip.recipes import MINI_RECIPES, MINI_SEARCH, override

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ezclip.benchmark import Benchmark

SEARCH_LISTS = ("search_train", "search_val")


def search_lists(benchmark: Benchmark, folder: Path, holdout_every: int = MINI_SEARCH["holdout_every"]) -> Benchmark:
    """The search's benchmark: the same videos, with a splits folder holding the source role's train list
    split in two (every ``holdout_every``-th video of each class, in list order, held out)."""
    dataset = MINI_SEARCH["dataset"]
    train = benchmark.list_file(dataset, MINI_SEARCH["list"])
    names = read_class_csv(benchmark.class_file(dataset, "classes"))
    seen, parts = defaultdict(int), {name: [] for name in SEARCH_LISTS}
    for entry in read_video_list(train, len(names)):
        seen[entry.label] += 1
        parts["search_val" if seen[entry.label] % holdout_every == 0 else "search_train"].append(entry)
    out = folder / "splits" / dataset
    for name, entries in parts.items():
        write_text(out / f"{name}.txt", "".join(f"{e.path} {e.label}\n" for e in entries))
    write_text(out / "classes.csv", benchmark.class_file(dataset, "classes").read_text())
    # the world's description beside the splits, as in the world itself (its version names the lists)
    write_text(folder / "mini.json", (benchmark.splits_root.parent / "mini.json").read_text())
    return dataclasses.replace(benchmark, splits_root=folder / "splits")


def search_protocol() -> Config:
    dataset = MINI_SEARCH["dataset"]
    return Config(
        dict(
            name="mini_search",
            variant=None,
            version=1,
            title="Mini recipe search (held-out part of the source role's train list)",
            report=dict(table="accuracy"),
            stages=[
                dict(
                    name="search",
                    train=dict(dataset=dataset, list="search_train", classes="classes"),
                    evaluate=[dict(dataset=dataset, list="search_val", classes="classes", group=dataset)],
                )
            ],
        )
    )


def search(
    models: Sequence[str],
    benchmark: Benchmark,
    work: str | Path,
    out: str | Path = MINI_RECIPES,
    log: Callable[..., Any] = print,
) -> dict[str, Any]:
    """Train each model at every (lr, epochs) of ``MINI_SEARCH`` on the search train list, score the
    held-out list, write the choices into ``out`` (other models' entries kept); returns them."""
    work = Path(work)
    bench = search_lists(benchmark, work)
    protocol = search_protocol()
    stage = protocol.stages[0]
    path = Path(out)
    doc = json.loads(path.read_text()) if path.is_file() else dict(models={})
    for name in models:
        base = model_setup(name, bench)
        base["recipe"] = {k: v for k, v in base["recipe"].items() if k != "search"}
        trials = []
        for lr in MINI_SEARCH["lrs"]:
            for epochs in MINI_SEARCH["epochs"]:
                setup = dict(base, recipe=override(base["recipe"], dict(optimizer=dict(lr=lr), epochs=epochs)))
                (record_file,) = run_stage(
                    protocol,
                    stage,
                    setup,
                    bench,
                    work / "results" / f"lr{lr}-e{epochs}",  # one record per trial
                    work / "work" / f"lr{lr}-e{epochs}",
                    log=lambda *a: None,
                )
                top1 = records.read_record(record_file)["metrics"]["top1"]
                trials.append(dict(lr=lr, epochs=epochs, val_top1=round(top1, 4)))
                log(f"[{name}] lr {lr:g}, {epochs} epochs: held-out top-1 {top1:.3f}")
        best = max(trials, key=lambda t: (t["val_top1"], -t["lr"], -t["epochs"]))
        doc["models"][name] = dict(
            best,
            trials=trials,
            config_hash=records.config_hash(base["model"]),
            world=bench.fingerprint.get("world", {}).get("files") if bench.fingerprint else None,
        )
        log(f"[{name}] chosen: lr {best['lr']:g}, {best['epochs']} epochs (held-out top-1 {best['val_top1']:.3f})")
    doc.update(
        rule=MINI_SEARCH,
        description="Each model's mini-benchmark learning rate and epochs, chosen by ezclip.recipes.MINI_SEARCH on a "
        "held-out part of the Kinetics-400 role's train list (ezclip-bench mini-search); no evaluation list is read.",
    )
    write_text(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc
