"""A procedural video world: coloured shapes that move, for the embedded mini benchmark.

A class is a composition of appearance (colour, shape) and motion, named in words the tiny CLIP
learns from captions ("a red square") plus motion words it can only learn from video. Every clip is
drawn from a seed, so the same seed always gives the same pixels.
"""

from __future__ import annotations

import numpy as np

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 220, 50),
    "purple": (150, 60, 200),
    "cyan": (60, 210, 220),
    "white": (235, 235, 235),
    "orange": (245, 140, 30),
}
SHAPES = ("square", "circle", "triangle", "cross")
# motion -> its exact time reversal
MOTIONS = {
    "moving left": "moving right",
    "moving right": "moving left",
    "moving up": "moving down",
    "moving down": "moving up",
    "growing": "shrinking",
    "shrinking": "growing",
}

FRAME_SIZE = 40  # decord reads 40x40 H.264 reliably; the pipelines resize to the model's input
BACKGROUND = 70


def shape_mask(shape: str, size: float, cy: float, cx: float, canvas: int = FRAME_SIZE) -> np.ndarray:
    """Boolean mask of ``shape`` with side ``size`` centred at (cy, cx)."""
    y, x = np.mgrid[:canvas, :canvas].astype(np.float32)
    dy, dx, r = y - cy, x - cx, size / 2
    if shape == "square":
        return (np.abs(dy) <= r) & (np.abs(dx) <= r)
    if shape == "circle":
        return dy**2 + dx**2 <= r**2
    if shape == "triangle":  # apex up
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
    if shape == "cross":
        arm = max(size / 6, 1.0)
        return ((np.abs(dy) <= r) & (np.abs(dx) <= arm)) | ((np.abs(dx) <= r) & (np.abs(dy) <= arm))
    raise ValueError(f"unknown shape {shape!r}")


def background(rng: np.random.Generator, canvas: int = FRAME_SIZE) -> np.ndarray:
    """A faint static texture, so frames are not trivially flat."""
    noise = rng.normal(0, 6, (canvas // 4, canvas // 4, 1))
    tile = np.kron(noise, np.ones((4, 4, 1)))
    return np.clip(BACKGROUND + tile, 0, 255).repeat(3, axis=2)


def render_image(
    color: str,
    shape: str,
    rng: np.random.Generator,
    size: float | None = None,
    center: tuple[float, float] | None = None,
) -> np.ndarray:
    """One still image of a shape (for caption pretraining)."""
    size = size if size is not None else rng.uniform(8, 16)
    lo, hi = size / 2 + 2, FRAME_SIZE - size / 2 - 2
    cy, cx = center if center is not None else rng.uniform(lo, hi, 2)
    image = background(rng)
    jitter = rng.normal(0, 12, 3)
    image[shape_mask(shape, size, cy, cx)] = np.clip(np.array(COLORS[color]) + jitter, 0, 255)
    return image.astype(np.uint8)


def render_clip(
    color: str, shape: str, motion: str, rng: np.random.Generator, num_frames: int, end_color: str | None = None
) -> np.ndarray:
    """``num_frames x H x W x 3`` uint8 frames of a shape performing ``motion``; with ``end_color`` its
    colour also changes, from ``color`` to ``end_color`` over the middle third of the clip."""
    bg = background(rng)
    jitter = rng.normal(0, 12, 3)
    first_rgb = np.clip(np.array(COLORS[color]) + jitter, 0, 255)
    last_rgb = np.clip(np.array(COLORS[end_color or color]) + jitter, 0, 255)
    third = num_frames / 3
    mix = np.clip((np.arange(num_frames) + 0.5 - third) / third, 0, 1)
    if motion in ("growing", "shrinking"):
        sizes = np.linspace(5, 18, num_frames)
        sizes = sizes if motion == "growing" else sizes[::-1]
        cy, cx = rng.uniform(15, 25, 2)
        path = [(s, cy, cx) for s in sizes]
    else:
        size = rng.uniform(8, 12)
        travel = rng.uniform(14, 20)
        lo, hi = size / 2 + 2, FRAME_SIZE - size / 2 - 2 - travel
        start, across = rng.uniform(lo, hi), rng.uniform(14, 26)
        steps = np.linspace(0, travel, num_frames)
        along = {
            "moving right": start + steps,
            "moving left": start + travel - steps,
            "moving down": start + steps,
            "moving up": start + travel - steps,
        }[motion]
        path = [(size, across, a) if motion in ("moving left", "moving right") else (size, a, across) for a in along]
    frames = np.empty((num_frames, FRAME_SIZE, FRAME_SIZE, 3), np.uint8)
    for t, (size, cy, cx) in enumerate(path):
        frame = bg.copy()
        frame[shape_mask(shape, size, cy, cx)] = (1 - mix[t]) * first_rgb + mix[t] * last_rgb
        frames[t] = frame
    return frames
