"""The registry's data, shipped inside the package (open_clip's ``model_configs/`` is the precedent),
so an installed wheel finds its own models, protocols, split manifests, reference numbers and golden
results wherever it runs:

- ``models/``: one mmengine config per model; ``models/ablations/`` configs inherit one and change one
  setting (``EZCLIP_MODEL_PATH`` adds folders of the user's, searched first);
- ``protocols/``: one versioned config per protocol;
- ``splits/``: per dataset, the manifest of the official split files (sha256, lines, classes);
- ``released/``: per model, the checkpoints its official repository publishes, and the protocol stage
  each stands for (``ezclip-bench run --released``);
- ``reference/``: published numbers with their sources (accuracy, efficiency);
- ``golden/``: the mini benchmark's golden results and backbone (``ezclip-bench regression``).
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MODELS = ROOT / "models"
PROTOCOLS = ROOT / "protocols"
SPLITS = ROOT / "splits"
REFERENCE = ROOT / "reference"
RELEASED = ROOT / "released"
GOLDEN = ROOT / "golden"


def load_reference(name: str, path: str | Path | None = None) -> tuple[list[dict], dict]:
    """Published numbers: ``reference/<name>.json`` (``accuracy``, ``efficiency``) or ``path``, as
    ``(entries, sources)``, each entry with its source's citation as ``source_text`` and its confidence.
    The one reader of reference files; tables and profiles index the entries as they need."""
    doc = json.loads(Path(path or REFERENCE / f"{name}.json").read_text())
    sources = doc.get("sources", {})
    entries = [
        dict(e, source_text=sources.get(e.get("source"), {}).get("where", e.get("source")))
        for e in doc.get("entries", [])
    ]
    return entries, sources
