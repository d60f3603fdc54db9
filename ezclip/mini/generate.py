"""Generate the mini benchmark: five small datasets in the real datasets' roles and formats.

Layout (the same the real data and imported splits use, so every protocol runs unchanged)::

    <root>/videos/<dataset>/<clip>.mp4          real H.264 mp4 files
    <root>/splits/<dataset>/<list>.txt          'relpath label' lists (ViFi-CLIP/mmaction2 format)
    <root>/splits/<dataset>/<classset>.csv      'id,name' class lists
    <root>/descriptions/<EZ-CLIP file name>.csv  one sentence per class, EZ-CLIP's description format
    <root>/mini.json                            class sets, reversal pairs, counts, seed, cache key

Roles: ``k400`` a source with many classes; ``k600`` the source plus novel classes and three
160-style novel splits; ``hmdb51`` and ``ucf101`` targets with their own classes and three splits;
``ssv2`` motion only, appearance shared by all classes, and each 'right' clip the exact time reversal
of a 'left' clip (likewise up/down, growing/shrinking).
Clips have 3*T frames so that centre-of-segment sampling of a reversed clip picks the same frames.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ezclip.data import video_io
from ezclip.data.video_io import write_mp4
from ezclip.datasets import DATASETS, base_novel
from ezclip.mini import world

MINI_VERSION = 2  # 2: lossless, machine-independent video pixels
NUM_FRAMES = 4  # T of the mini benchmark
CLIP_FRAMES = 3 * NUM_FRAMES
SOURCE_COLORS = ("red", "green", "blue", "yellow", "white", "orange")
SOURCE_SHAPES = ("square", "circle", "triangle")
FEW_SHOTS = (2, 4, 8, 16)
# The SSv2 role's reversal pairs: a thing turning from one colour to the other, and the same clip backwards
ORDER_PAIRS = (("blue", "red"), ("yellow", "green"), ("purple", "white"))


def cache_key(seed: int) -> str:
    """Changes whenever the seed or the generating code changes."""
    digest = hashlib.sha256(f"{MINI_VERSION}:{seed}".encode())
    for module in (world, video_io, __import__(__name__, fromlist=["_"])):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def ensure_mini(cache_dir: str | Path, seed: int = 0, log: Callable[..., Any] = print) -> Path:
    """The mini benchmark's root, generated on first use and reused while its cache key holds."""
    root = Path(cache_dir) / f"mini-{cache_key(seed)}"
    if (root / "mini.json").is_file():
        return root
    log(f"generating the mini benchmark (seed {seed}) in {root} ...")
    remove_interrupted(Path(cache_dir), log=log)
    tmp = root.with_name(f"{root.name}.tmp{os.getpid()}")  # one per process: two runs may start at once
    shutil.rmtree(tmp, ignore_errors=True)
    info = MiniWorld(seed).write(tmp)
    info["content"] = content_hashes(tmp)
    (tmp / "mini.json").write_text(json.dumps(info, indent=1) + "\n")
    try:
        tmp.rename(root)
    except OSError:  # another process finished first; its copy is the same
        shutil.rmtree(tmp)
    log(f"mini benchmark ready: {info['videos']} videos")
    return root


def remove_interrupted(cache_dir: Path, log: Callable[..., Any] = print) -> list[Path]:
    """Remove the temporary folders of generations whose process is gone (killed mid-way); a running
    generation's folder (its process alive) is left alone."""
    removed = []
    for folder in sorted(cache_dir.glob("mini-*.tmp*")):
        pid = folder.name.rsplit(".tmp", 1)[1]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
        log(f"removed {folder}: left by an interrupted generation (process {pid} is gone)")
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def content_hashes(root: str | Path) -> dict[str, str]:
    """What a run on the mini world depends on, hashed so that a difference between two machines is
    named at its source: ``files``, every file but mini.json (the mp4 bytes, lists, class files and
    descriptions), and ``frames``, every video's frames as decord decodes them (the pixels the
    models see, which stay the same even where an encoder writes different bytes)."""
    import decord

    root = Path(root)
    files, frames = hashlib.sha256(), hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "mini.json"):
        rel = path.relative_to(root).as_posix()
        files.update(f"{rel}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
        if path.suffix == ".mp4":
            reader = decord.VideoReader(str(path), num_threads=1)
            frames.update(rel.encode() + b"\0" + reader.get_batch(range(len(reader))).asnumpy().tobytes())
    return dict(files=files.hexdigest(), frames=frames.hexdigest())


def name(color: str, shape: str, motion: str) -> str:
    return f"{color} {shape} {motion}"


class MiniWorld:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.videos = 0

    # -- class sets -----------------------------------------------------------------------------
    def draw_classes(
        self, colors: Iterable[str], shapes: Iterable[str], per_motion: int, exclude: Container[str] = ()
    ) -> list[str]:
        classes = []
        for motion in world.MOTIONS:
            combos = [c for c in itertools.product(colors, shapes) if name(*c, motion) not in exclude]
            picks = self.rng.choice(len(combos), per_motion, replace=False)
            classes += [name(*combos[i], motion) for i in sorted(picks)]
        return classes

    # -- clips ----------------------------------------------------------------------------------
    def clip(self, root: Path, dataset: str, class_name: str, index: int) -> str:
        words = class_name.split(" ", 2)
        frames = world.render_clip(words[0], words[1], words[2], self.rng, CLIP_FRAMES)
        return self.save(root, dataset, class_name, index, frames)

    def save(self, root: Path, dataset: str, class_name: str, index: int, frames: np.ndarray) -> str:
        rel = f"{class_name.replace(' ', '_')}_{index:03d}.mp4"
        write_mp4(root / "videos" / dataset / rel, frames)
        self.videos += 1
        return rel

    # -- writing --------------------------------------------------------------------------------
    def write(self, root: str | Path) -> dict[str, Any]:
        root = Path(root)
        info = dict(
            version=MINI_VERSION,
            seed=self.seed,
            num_frames=NUM_FRAMES,
            clip_frames=CLIP_FRAMES,
            frame_size=world.FRAME_SIZE,
            datasets={},
        )
        source = self.draw_classes(SOURCE_COLORS, SOURCE_SHAPES, per_motion=4)
        info["datasets"]["k400"] = self.write_source(root, source)
        info["datasets"]["k600"] = self.write_superset(root, source)
        taken = set(source)
        for dataset, per_motion in (("hmdb51", 2), ("ucf101", 3)):  # 12 and 18 classes
            classes = self.draw_classes(tuple(world.COLORS), world.SHAPES, per_motion, exclude=taken)
            taken |= set(classes)
            info["datasets"][dataset] = self.write_target(root, dataset, classes)
        info["datasets"]["ssv2"] = self.write_motion_only(root)
        self.write_descriptions(root, info["datasets"])
        info["videos"] = self.videos
        (root / "mini.json").write_text(json.dumps(info, indent=1) + "\n")
        return info

    def write_descriptions(self, root: Path, datasets: Mapping[str, Mapping[str, Any]]) -> None:
        """EZ-CLIP reads one description per class; the mini world's are plain sentences in the words
        the tiny CLIP was pretrained on, written in the official CSV format."""
        folder = root / "descriptions"
        folder.mkdir(parents=True, exist_ok=True)
        for dataset, info in datasets.items():
            names = info["class_sets"]["classes"]
            rows = "".join(
                f'{i},{c},"\n\na photo of {"" if c.startswith("something") else "a "}{c}"\n'
                for i, c in enumerate(names)
            )
            (folder / DATASETS[dataset]["descriptions"]).write_text("SNo,Class Name,GPT3 discription\n" + rows)

    def write_lists(
        self,
        root: Path,
        dataset: str,
        class_sets: Mapping[str, Sequence[str]],
        lists: Mapping[str, tuple[str, Sequence[tuple[str, str]]]],
    ) -> dict[str, Any]:
        folder = root / "splits" / dataset
        folder.mkdir(parents=True, exist_ok=True)
        for set_name, classes in class_sets.items():
            (folder / f"{set_name}.csv").write_text("id,name\n" + "".join(f"{i},{c}\n" for i, c in enumerate(classes)))
        for list_name, (set_name, items) in lists.items():
            index = {c: i for i, c in enumerate(class_sets[set_name])}
            (folder / f"{list_name}.txt").write_text("".join(f"{rel} {index[c]}\n" for rel, c in items))
        return dict(
            class_sets={k: list(v) for k, v in class_sets.items()},
            lists={k: dict(classes=v[0], videos=len(v[1])) for k, v in lists.items()},
        )

    def per_class_counts(self, classes: Sequence[str], low: int, high: int) -> dict[str, int]:
        """Unequal class sizes, so 'base = the most frequent half' means something."""
        return {c: int(n) for c, n in zip(classes, self.rng.integers(low, high + 1, len(classes)))}

    def partition(self, classes: Sequence[str], counts: Mapping[str, int]) -> tuple[list[str], list[str]]:
        """Base and novel classes (names, sorted) by the originals' rule (``datasets.base_novel``)."""
        base, novel = base_novel(classes, [counts[c] for c in classes])
        return sorted(classes[i] for i in base), sorted(classes[i] for i in novel)

    def base_to_novel_lists(
        self,
        train: Sequence[tuple[str, str]],
        test: Sequence[tuple[str, str]],
        base: Collection[str],
        novel: Collection[str],
        shots: int = 16,
    ) -> dict[str, tuple[str, list[tuple[str, str]]]]:
        lists = {}
        by_class = {c: [item for item in train if item[1] == c] for c in base}
        for s in (1, 2, 3):
            rng = np.random.default_rng([self.seed, s])
            picked = [
                items[i]
                for c, items in by_class.items()
                for i in sorted(rng.choice(len(items), min(shots, len(items)), replace=False))
            ]
            lists[f"base_train_s{s}"] = ("base", picked)
        lists["base_test"] = ("base", [item for item in test if item[1] in base])
        lists["novel_test"] = ("novel", [item for item in test if item[1] in novel])
        lists["base_train_full"] = ("base", [item for item in train if item[1] in base])
        return lists

    def few_shot_lists(
        self, train: Sequence[tuple[str, str]], classes: Sequence[str]
    ) -> dict[str, tuple[str, list[tuple[str, str]]]]:
        lists = {}
        for k in FEW_SHOTS:
            rng = np.random.default_rng([self.seed, k])
            lists[f"fewshot_{k}"] = (
                "classes",
                [
                    items[i]
                    for c in classes
                    for items in [[it for it in train if it[1] == c]]
                    for i in sorted(rng.choice(len(items), k, replace=False))
                ],
            )
        return lists

    def write_source(self, root: Path, classes: Sequence[str]) -> dict[str, Any]:
        counts = self.per_class_counts(classes, 16, 24)
        train = [(self.clip(root, "k400", c, i), c) for c in classes for i in range(counts[c])]
        val = [(self.clip(root, "k400", c, 100 + i), c) for c in classes for i in range(6)]
        base, novel = self.partition(classes, counts)
        lists = dict(train=("classes", train), val=("classes", val))
        lists.update(self.base_to_novel_lists(train, val, base, novel))
        return self.write_lists(root, "k400", dict(classes=classes, base=base, novel=novel), lists)

    def write_superset(self, root: Path, source: Sequence[str]) -> dict[str, Any]:
        novel = self.draw_classes(tuple(world.COLORS), world.SHAPES, per_motion=2, exclude=set(source))
        videos = {c: [(self.clip(root, "k600", c, i), c) for i in range(6)] for c in novel}
        # two source classes under new names: the analogue of the 12 renamed K400 classes in K600
        renamed = {c: c.replace("moving", "going") for c in sorted(source)[:2]}
        for old, new in renamed.items():
            words = old.split(" ", 2)
            videos[new] = [
                (self.save(root, "k600", new, i, world.render_clip(*words, self.rng, CLIP_FRAMES)), new)
                for i in range(6)
            ]
        class_sets = dict(
            classes=list(source) + novel + list(renamed.values()),
            novel220=novel,
            novel232=novel + list(renamed.values()),
        )
        lists = {}
        for s in (1, 2, 3):
            rng = np.random.default_rng([self.seed, 600, s])
            split = sorted(novel[i] for i in rng.choice(len(novel), 8, replace=False))
            class_sets[f"novel_split{s}"] = split
            lists[f"zeroshot_split{s}"] = (f"novel_split{s}", [v for c in split for v in videos[c]])
        lists["zeroshot_232"] = ("novel232", [v for c in class_sets["novel232"] for v in videos[c]])
        return self.write_lists(root, "k600", class_sets, lists)

    def write_target(self, root: Path, dataset: str, classes: Sequence[str]) -> dict[str, Any]:
        counts = self.per_class_counts(classes, 22, 28)
        videos = {c: [self.clip(root, dataset, c, i) for i in range(counts[c])] for c in classes}
        lists, splits = {}, {}
        for s in (1, 2, 3):  # three train/test partitions of the same clips, six test clips per class
            rng = np.random.default_rng([self.seed, len(classes), s])
            test = {c: set(rng.choice(len(v), 6, replace=False).tolist()) for c, v in videos.items()}
            splits[s] = (
                [(v[i], c) for c, v in videos.items() for i in range(len(v)) if i not in test[c]],
                [(v[i], c) for c, v in videos.items() for i in sorted(test[c])],
            )
            lists[f"test_split{s}"] = ("classes", splits[s][1])
        train, test = splits[1]
        lists["train_split1"] = ("classes", train)
        train_counts = {c: sum(1 for it in train if it[1] == c) for c in classes}
        base, novel = self.partition(classes, train_counts)
        lists.update(self.few_shot_lists(train, classes))
        lists.update(self.base_to_novel_lists(train, test, base, novel))
        return self.write_lists(root, dataset, dict(classes=classes, base=base, novel=novel), lists)

    def write_motion_only(self, root: Path) -> dict[str, Any]:
        pairs = [(f"something turning {b}", f"something turning {a}") for a, b in ORDER_PAIRS]
        classes = [c for pair in pairs for c in pair]
        train, val = [], []
        for (a, b), (first, second), (n_train, n_val) in zip(ORDER_PAIRS, pairs, ((24, 8), (22, 8), (20, 8))):
            for i in range(n_train + n_val):
                shape = self.rng.choice(world.SHAPES)
                motion = self.rng.choice(list(world.MOTIONS))
                frames = world.render_clip(a, shape, motion, self.rng, CLIP_FRAMES, end_color=b)
                items = [
                    (self.save(root, "ssv2", first, i, frames), first),
                    (self.save(root, "ssv2", second, i, frames[::-1]), second),
                ]
                (train if i < n_train else val).extend(items)
        counts = {c: sum(1 for it in train if it[1] == c) for c in classes}
        base, novel = self.partition(classes, counts)
        lists = dict(train=("classes", train), val=("classes", val))
        lists.update(self.few_shot_lists(train, classes))
        lists.update(self.base_to_novel_lists(train, val, base, novel))
        out = self.write_lists(root, "ssv2", dict(classes=classes, base=base, novel=novel), lists)
        out["reversal_pairs"] = [list(pair) for pair in pairs]
        return out
