"""The papers' efficiency numbers next to the measured ones."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ezclip import registry


# -- reported numbers -------------------------------------------------------------------------------
def reference_by_model(path: str | Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """The reported efficiency numbers (``ezclip/registry/reference/efficiency.json``, or a file of
    the user's): ``{model: [entry]}`` with each entry's value, frames, source and confidence. A missing
    file gives ``{}``."""
    if path is not None and not Path(path).is_file():
        return {}
    by_model = {}
    for entry in registry.load_reference("efficiency", path)[0]:
        by_model.setdefault(entry["model"], []).append(entry)
    return by_model


def reference_for(
    reference: Mapping[str, list[dict[str, Any]]], name: str, row: Mapping[str, Any], tolerance: float = 0.05
) -> dict[str, Any]:
    """Reported GFLOPs next to a measured row: the primary entry (the T2L efficiency figure), per-frame
    agreement with the measurement, and a same-frames entry if one exists. ``{}`` when nothing is on
    file for ``name``."""
    entries = [
        e
        for e in reference.get(name, [])
        if e.get("metric") == "gflops_per_view" and e.get("arch", row["arch"]) == row["arch"]
    ]
    if not entries:
        return {}
    primary = next((e for e in entries if e.get("primary")), entries[0])
    out = dict(
        reported_gflops=primary["value"],
        reported_frames=primary.get("frames"),
        reported_source=primary.get("source"),
        reported_confidence=primary.get("confidence"),
    )
    if "vision_gmac" not in row:
        return out
    notes = []
    frames = primary.get("frames")
    if frames:
        measured = row["vision_gmac"] / row["frames"]
        reported = primary["value"] / frames
        diff = measured / reported - 1.0
        out["reported_vs_measured_per_frame"] = diff
        scaled = "" if frames == row["frames"] else f" (reported at {frames}f)"
        if str(primary.get("frames_confidence", "")).startswith("calc"):
            scaled += "; the reported frame count is inferred from this value"
        if abs(diff) > tolerance:
            notes.append(
                f"disagrees: measured {measured:.2f} GMAC/frame, reported {reported:.2f}{scaled}; "
                f"measured is {diff:+.0%}"
            )
            if "vision_gmac_without_attention_handles" in row:
                notes.append(
                    "fvcore/mmengine without the attention handles (eval, no_grad: fused attention "
                    f"uncounted) would give {row['vision_gmac_without_attention_handles']:.1f}"
                )
        else:
            notes.append(f"agrees per frame within {abs(diff):.1%}{scaled}")
    same = [e for e in entries if e is not primary and e.get("frames") == row["frames"]]
    for e in same:
        notes.append(f"{e['source']}: {e['value']:g} at {e['frames']}f")
    out["reference_note"] = "; ".join(notes)
    return out
