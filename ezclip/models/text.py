"""What the text tower reads for a class set: templates filled with class names, or descriptions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import ModuleType

# ActionCLIP's 16 templates (modules/Text_Prompt.py), also EZ-CLIP's fallback without descriptions.
ACTIONCLIP_TEMPLATES = (
    "a photo of action {}",
    "a picture of action {}",
    "Human action of {}",
    "{}, an action",
    "{} this is an action",
    "{}, a video of action",
    "Playing action of {}",
    "{}",
    "Playing a kind of action, {}",
    "Doing a kind of action, {}",
    "Look, the human is {}",
    "Can you recognize the action of {}?",
    "Video classification of {}",
    "A video of {}",
    "The man is {}",
    "The woman is {}",
)


@dataclass(frozen=True)
class ClassPrompts:
    """``prompts[p][k]``: prompt ``p`` of class ``k``. Test scores average the softmax over ``p``;
    training reads one prompt per sample (``sample_prompt``)."""

    classes: tuple[str, ...]
    prompts: tuple[tuple[str, ...], ...]  # (P, K) strings
    source: str  # 'descriptions' or 'templates:<n>', for result records

    def sample_prompt(self, label: int, rng: random.Random | ModuleType = random) -> str:
        return self.prompts[rng.randrange(len(self.prompts))][label]


def class_prompts(
    classes: Iterable[str], templates: Sequence[str] = ("{}",), descriptions: Sequence[str] | None = None
) -> ClassPrompts:
    """Descriptions, one per class and used alone, when given (EZ-CLIP); else every template."""
    classes = tuple(classes)
    if descriptions is not None:
        if len(descriptions) != len(classes):
            raise ValueError(f"{len(descriptions)} descriptions for {len(classes)} classes")
        return ClassPrompts(classes, (tuple(descriptions),), "descriptions")
    return ClassPrompts(
        classes, tuple(tuple(t.format(c) for c in classes) for t in templates), f"templates:{len(templates)}"
    )
