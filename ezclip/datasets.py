"""Facts about the five datasets, in one leaf module that everything else reads: names (in the order
manifests and commands list them), titles, EZ-CLIP's description file per dataset, whether a
horizontal flip keeps the label, the order tables show them in, SSv2's time-reversal class pairs,
and the rule that splits classes into base and novel."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

DATASETS = {
    "k400": dict(title="Kinetics-400", descriptions="Kinetic_400_gpt_Class_discription_new.csv", hflip=True),
    "k600": dict(title="Kinetics-600", descriptions="kinetics_600_labels_exclusive_discription_new.csv", hflip=True),
    "hmdb51": dict(title="HMDB-51", descriptions="HMDB_gpt_Class_discription_new.csv", hflip=True),
    "ucf101": dict(title="UCF-101", descriptions="UCF_101_gpt_Class_discription_new.csv", hflip=True),
    # SSv2 labels name directions ("from left to right"): a horizontal flip would change the class
    "ssv2": dict(title="Something-Something v2", descriptions="Something_gpt_Class_discription_new.csv", hflip=False),
}

# Pairs of SSv2 classes that are time reversals of each other (facts of the label set), for the
# order diagnostic.
SSV2_REVERSAL_PAIRS = (
    ("Pushing something from left to right", "Pushing something from right to left"),
    ("Moving something up", "Moving something down"),
    ("Moving something closer to something", "Moving something away from something"),
    ("Opening something", "Closing something"),
    ("Folding something", "Unfolding something"),
    ("Putting something into something", "Taking something out of something"),
    ("Lifting something up completely without letting it drop down", "Putting something on a surface"),
    ("Turning the camera left while filming something", "Turning the camera right while filming something"),
    ("Turning the camera upwards while filming something", "Turning the camera downwards while filming something"),
    ("Approaching something with your camera", "Moving away from something with your camera"),
)

# Tables show the zero-shot targets first, then the sources, then SSv2
TABLE_ORDER = ("hmdb51", "ucf101", "k600", "k400", "ssv2")


def base_novel(names: Sequence[str], counts: Sequence[int]) -> tuple[list[int], list[int]]:
    """The originals' base-to-novel rule (and ``splits make``'s and the mini world's): base = the most
    frequent half (the larger half when odd), ties broken by name. Classes sorted by (train count,
    name) ascending; the first floor(C/2) are novel, the rest base, both listed in that ascending order
    (as ViFi-CLIP's UCF, SSv2 and HMDB base/novel CSVs are). Returns ``(base, novel)`` indices."""
    ranked = sorted(range(len(names)), key=lambda i: (counts[i], names[i]))
    half = len(names) // 2
    return ranked[half:], ranked[:half]
