"""Where a run's data, splits, descriptions and CLIP weights come from: the real benchmark, or the
embedded mini benchmark when no data root is configured.

Real data: videos under ``<data_root>/<dataset>/`` (paths in the lists are relative to it), imported
split lists and class CSVs under ``<splits>/<dataset>/`` (``ezclip-bench splits import``), EZ-CLIP's
description CSVs (its ``GPT_discription`` folder) under ``<descriptions>/``. The mini benchmark has
the same layout, generated, with a tiny CLIP pretrained for it; every run on it says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezclip import registry
from ezclip.datasets import DATASETS, SSV2_REVERSAL_PAIRS
from ezclip.errors import UnknownNameError
from ezclip.recipes import mini_recipe, native_recipe

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mmengine.config import Config

ENV = dict(
    data_root="EZCLIP_DATA_ROOT",
    splits="EZCLIP_SPLITS",
    descriptions="EZCLIP_DESCRIPTIONS",
    cache="EZCLIP_CACHE",
    clip_weights="EZCLIP_CLIP_WEIGHTS",
)


# where each list of a splits folder came from, written by `splits import` and `splits make`
PROVENANCE_FILE = "provenance.json"


def default_cache() -> Path:
    return Path(os.environ.get(ENV["cache"]) or Path.home() / ".cache" / "ezclip")


def default_splits() -> Path:
    """Where imported splits are read and written: $EZCLIP_SPLITS, else <cache>/splits."""
    return Path(os.environ.get(ENV["splits"]) or default_cache() / "splits")


@dataclass
class Benchmark:
    name: str  # 'mini' or 'full'
    data_root: Path
    splits_root: Path
    descriptions: Path | None = None
    clip: dict | None = None  # replaces every model's clip=dict(...) (the mini benchmark's tiny CLIP)
    clip_weights: Path | None = None  # a local CLIP weights file for every model's pretrained= (real data)
    num_frames: int | None = None  # replaces every model's frame count (mini)
    input_size: int | None = None  # None: each model's own (released checkpoint, recipe, architecture)
    reversal_pairs: dict = field(default_factory=dict)  # dataset -> [(class a, class b)]
    # what the numbers of a run depend on beyond the code (mini: the world's content hashes, the tiny
    # CLIP's sha256 and the CPU numerics in force), so that two machines' results can be compared
    fingerprint: dict = field(default_factory=dict)

    log_level = "WARNING"  # mmengine's, for the runs on this benchmark: the harness prints its own lines
    progress = True  # a progress bar with rate and time left during training and evaluation
    profiles_runs = False  # whether `run` profiles the models as they ran (cost figures need it)
    in_process_loading = False  # decode in the running process by default (no loader workers)
    video_kind = "full-size"  # which of the decode benchmarks' videos its own are like (ezclip.profiling.costs)

    def title(self, text: str) -> str:
        return text

    def recipe(self, cfg: Config, recipe_kind: str = "native") -> tuple[dict[str, Any], dict[str, Any]]:
        """``(model changes, recipe)`` of a model config on this benchmark."""
        return native_recipe(cfg, recipe_kind)

    def check_dataset(self, dataset: str) -> None:
        if dataset not in DATASETS:
            raise UnknownNameError("dataset", dataset, DATASETS)

    def video_root(self, dataset: str) -> Path:
        self.check_dataset(dataset)
        return self.data_root / dataset

    def list_file(self, dataset: str, name: str) -> Path:
        self.check_dataset(dataset)
        return self.splits_root / dataset / f"{name}.txt"

    def class_file(self, dataset: str, classes: str) -> Path:
        return self.splits_root / dataset / f"{classes}.csv"

    def description_file(self, dataset: str) -> Path | None:
        if self.descriptions is None:
            return None
        path = self.descriptions / DATASETS[dataset]["descriptions"]
        return path if path.is_file() else None

    def split_version(self, dataset: str) -> str | None:
        """Which split definitions a list comes from: the manifest's version."""
        manifest = registry.SPLITS / f"{dataset}.json"
        return f"splits/{dataset}.json v{json.loads(manifest.read_text())['version']}" if manifest.is_file() else None

    def provenance(self, dataset: str, list_name: str) -> dict[str, str]:
        """Where a list came from (``records.Provenance``), from its folder's provenance file: the entry
        holds the sha256 of the file as written, so a list edited or replaced since is 'custom'."""
        from ezclip.records import file_sha256

        list_file = self.list_file(dataset, list_name)
        index = list_file.parent / PROVENANCE_FILE
        entry = json.loads(index.read_text()).get("lists", {}).get(list_name) if index.is_file() else None
        if entry is None:
            return dict(kind="custom", label=f"custom: user-supplied ({list_file.name} has no provenance entry)")
        if entry["written_sha256"] != file_sha256(list_file):
            return dict(
                kind="custom", label=f"custom: {list_file.name} changed since it was written ({entry['label']})"
            )
        return dict(kind=entry["kind"], label=entry["label"])

    def hflip(self, dataset: str) -> bool:
        """Whether a horizontal flip keeps the label (not for SSv2: its labels name directions)."""
        return DATASETS[dataset]["hflip"]


@dataclass
class MiniBenchmark(Benchmark):
    """The embedded mini benchmark: the same layout, generated, with a tiny CLIP; every title says so,
    every model runs the common mini recipe, and no class may be flipped (they name directions)."""

    progress = False  # seconds-long jobs: one line each is enough
    profiles_runs = True
    in_process_loading = True  # one pinned thread, reproducible; tiny videos decode in microseconds
    video_kind = "mini"

    def title(self, text: str) -> str:
        return f"{text} [mini benchmark: generated videos, tiny CLIP]"

    def recipe(self, cfg: Config, recipe_kind: str = "native") -> tuple[dict[str, Any], dict[str, Any]]:
        return mini_recipe(cfg)

    def split_version(self, dataset: str) -> str | None:
        """The generated world's version and cache key."""
        info = json.loads((self.splits_root.parent / "mini.json").read_text())
        return f"mini v{info['version']} ({self.splits_root.parent.name})"

    def provenance(self, dataset: str, list_name: str) -> dict[str, str]:
        return dict(kind="generated", label=f"generated: {self.split_version(dataset)}")

    def hflip(self, dataset: str) -> bool:
        return False


def resolve(
    data_root: str | Path | None = None,
    splits: str | Path | None = None,
    descriptions: str | Path | None = None,
    cache: str | Path | None = None,
    tiny_clip_settings: Mapping[str, Any] | None = None,
    tiny_clip: str | Path | None = None,
    log: Callable[..., Any] = print,
    clip_weights: str | Path | None = None,
) -> Benchmark:
    """The benchmark for these settings (arguments first, then environment variables); with no data
    root anywhere, the mini benchmark, generated (and its tiny CLIP pretrained) on first use, with the
    process's CPU numerics pinned (``ezclip.numerics``) so that its numbers are the same on every
    x86-64 machine with AVX2. ``tiny_clip_settings`` changes the tiny CLIP's pretraining settings;
    ``tiny_clip`` (a weights file) replaces the pretrained tiny CLIP (the regression's golden backbone).
    ``clip_weights`` (real data) is a local CLIP weights file every model loads instead of its config's
    ``pretrained`` tag (OpenAI's ``ViT-B-16.pt`` on a machine without network)."""
    data_root = data_root or os.environ.get(ENV["data_root"])
    descriptions = descriptions or os.environ.get(ENV["descriptions"])
    clip_weights = clip_weights or os.environ.get(ENV["clip_weights"])
    if data_root:
        splits = Path(splits) if splits else default_splits()
        pairs = {"ssv2": [list(p) for p in SSV2_REVERSAL_PAIRS]}
        return Benchmark(
            "full",
            Path(data_root),
            splits,
            Path(descriptions) if descriptions else None,
            reversal_pairs=pairs,
            clip_weights=Path(clip_weights) if clip_weights else None,
        )
    from ezclip.mini.generate import NUM_FRAMES, ensure_mini
    from ezclip.mini.pretrain import ARCH, SETTINGS, ensure_tiny_clip
    from ezclip.numerics import pin_cpu_numerics
    from ezclip.records import file_sha256

    numerics = pin_cpu_numerics()
    cache = Path(cache) if cache else default_cache()
    log(
        "No data root configured (--data-root or EZCLIP_DATA_ROOT): running the embedded mini benchmark "
        "(generated videos, tiny CLIP)."
    )
    root = ensure_mini(cache, log=log)
    settings = dict(SETTINGS, **(tiny_clip_settings or {}))
    if tiny_clip is not None:
        weights, sha256 = Path(tiny_clip), file_sha256(tiny_clip)
    else:
        weights, sha256 = ensure_tiny_clip(cache, settings=settings, log=log)
    info = json.loads((root / "mini.json").read_text())
    pairs = {d: v["reversal_pairs"] for d, v in info["datasets"].items() if "reversal_pairs" in v}
    fingerprint = dict(world=info["content"], tiny_clip=sha256, numerics=numerics)
    return MiniBenchmark(
        "mini",
        root / "videos",
        root / "splits",
        root / "descriptions",
        clip=dict(arch=ARCH, pretrained=str(weights), sha256=sha256),
        num_frames=NUM_FRAMES,
        input_size=settings["input_size"],
        reversal_pairs=pairs,
        fingerprint=fingerprint,
    )
