"""Pretrain the tiny CLIP on generated image-caption pairs ("a photo of a red square").

It learns colour and shape words from still images; motion words it can only learn later from
video, which is what the mini benchmark's protocols then measure. Deterministic for a seed, and
cached by a key that changes with the seed, the settings or this code.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ezclip import clip
from ezclip.clip import NORMALIZATION, build_clip, get_tokenizer
from ezclip.files import atomic_path
from ezclip.mini import world
from ezclip.numerics import describe
from ezclip.records import file_sha256

ARCH = "ezclip-mini"  # context 32: captions and mini class prompts are short
# threads: the pretraining's own thread count, None for the process's (1 under the pinned numerics);
# 2 gives the weights another machine's kernels would (the regression tests' perturbed backbone)
SETTINGS = dict(steps=600, batch_size=128, lr=3e-3, weight_decay=0.1, input_size=32, threads=None)
CAPTION = "a photo of a {} {}"


def cache_key(seed: int, settings: Mapping[str, Any] = SETTINGS) -> str:
    """Changes with the seed, the settings, this code, the towers' (``ezclip.clip``: how attention is
    computed) and the CPU numerics in force (the weights depend on them), but not with the CPU model (the
    pinned numerics are the same on every one)."""
    numerics = {k: v for k, v in describe().items() if k not in ("cpu", "machine")}
    digest = hashlib.sha256(f"{ARCH}:{seed}:{sorted(settings.items())}:{sorted(numerics.items())}".encode())
    for module in (world, clip, __import__(__name__, fromlist=["_"])):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def to_input(images: Iterable[np.ndarray], size: int) -> torch.Tensor:
    """Resize the short side to 256/224 of the input and centre-crop, as the eval pipeline does."""
    resize = round(size * 256 / 224)
    out = []
    for image in images:
        image = cv2.resize(image, (resize, resize), interpolation=cv2.INTER_LINEAR)
        off = (resize - size) // 2
        out.append(image[off : off + size, off : off + size])
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float()
    mean = torch.tensor(NORMALIZATION["clip"]["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(NORMALIZATION["clip"]["std"]).view(1, 3, 1, 1)
    return (x - mean) / std


def concepts() -> list[tuple[str, str]]:
    return list(itertools.product(world.COLORS, world.SHAPES))


def batch(rng: np.random.Generator, size: int, input_size: int) -> tuple[torch.Tensor, np.ndarray]:
    pairs = concepts()
    picks = rng.integers(0, len(pairs), size)
    images = [world.render_image(*pairs[i], rng) for i in picks]
    return to_input(images, input_size), picks


def zero_shot_accuracy(
    model: torch.nn.Module,
    tokenizer: Callable[..., torch.Tensor],
    seed: int = 12345,
    n: int = 256,
    input_size: int = 32,
) -> float:
    """Still-image zero-shot accuracy over all colour-shape captions (chance: 1/32)."""
    pairs = concepts()
    images, labels = batch(np.random.default_rng(seed), n, input_size)
    with torch.no_grad():
        text = F.normalize(model.encode_text(tokenizer([CAPTION.format(*p) for p in pairs])), dim=-1)
        image = F.normalize(model.encode_image(images), dim=-1)
    return float(((image @ text.t()).argmax(1).numpy() == labels).mean())


def pretrain(
    seed: int = 0, settings: Mapping[str, Any] = SETTINGS, log: Callable[..., Any] = print
) -> tuple[torch.nn.Module, float]:
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.get("threads") or threads)
    try:
        return _pretrain(seed, settings, log)
    finally:
        torch.set_num_threads(threads)


def _pretrain(seed: int, settings: Mapping[str, Any], log: Callable[..., Any]) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model, _ = build_clip(ARCH)
    tokenizer = get_tokenizer(ARCH)
    captions = tokenizer([CAPTION.format(*p) for p in concepts()])
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW(
        [dict(params=decay, weight_decay=settings["weight_decay"]), dict(params=rest, weight_decay=0.0)],
        lr=settings["lr"],
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, settings["lr"], total_steps=settings["steps"], pct_start=0.1
    )
    start = time.time()
    for step in range(1, settings["steps"] + 1):
        images, picks = batch(rng, settings["batch_size"], settings["input_size"])
        # unique captions in the batch, so the contrastive targets are unambiguous
        classes, targets = np.unique(picks, return_inverse=True)
        image = F.normalize(model.encode_image(images), dim=-1)
        text = F.normalize(model.encode_text(captions[classes]), dim=-1)
        logits = model.logit_scale.exp() * image @ text.t()
        loss = F.cross_entropy(logits, torch.from_numpy(targets))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 200 == 0 or step == settings["steps"]:
            log(
                f"  tiny CLIP pretraining: step {step}/{settings['steps']}  loss {loss.item():.3f}  "
                f"({time.time() - start:.0f} s)"
            )
    model.eval()
    return model, zero_shot_accuracy(model, tokenizer, input_size=settings["input_size"])


def ensure_tiny_clip(
    cache_dir: str | Path, seed: int = 0, settings: Mapping[str, Any] = SETTINGS, log: Callable[..., Any] = print
) -> tuple[Path, str]:
    """Path and sha256 of the pretrained tiny CLIP weights, pretraining them on first use."""
    path = Path(cache_dir) / f"tiny-clip-{cache_key(seed, settings)}.pt"
    if not path.is_file():
        log(f"pretraining the tiny CLIP ({ARCH}, seed {seed}) on generated image-caption pairs ...")
        model, accuracy = pretrain(seed, settings, log=log)
        log(f"tiny CLIP ready: still-image zero-shot accuracy {accuracy:.3f} (chance {1 / len(concepts()):.3f})")
        with atomic_path(path) as tmp:
            torch.save(model.state_dict(), tmp)
    return path, file_sha256(path)


def weights_sha256(weights: str | Path) -> str:
    """A hash of the tensors in a weights file (the file's own bytes also depend on its name)."""
    digest = hashlib.sha256()
    for name, tensor in torch.load(weights, map_location="cpu", weights_only=True).items():
        digest.update(name.encode() + b"\0" + tensor.numpy().tobytes())
    return digest.hexdigest()


def still_image_accuracy(weights: str | Path) -> float:
    """The still-image zero-shot accuracy of tiny CLIP weights (a pretraining's quality in one number)."""
    model, _ = build_clip(ARCH)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return zero_shot_accuracy(model.eval(), get_tokenizer(ARCH), input_size=SETTINGS["input_size"])
