"""Split manifests (``splits/<dataset>.json``), the importer of official split files and the drawer of new ones.

The project ships no per-video list. It ships, per dataset, a manifest holding the class sets (names in the
harness's label order) and, for every list a protocol reads, the official file(s) it may be imported from with
their sha256, line count and class count. ``ezclip-bench splits import`` verifies a user's checkout of ViFi-CLIP
or EZ-CLIP against the manifests and writes the layout every protocol reads::

    <out>/<dataset>/<list>.txt        'path label' (or 'path num_frames label'), labels index the list's class set
    <out>/<dataset>/<classset>.csv    'id,name', written from the manifest
    <out>/<dataset>/provenance.json   where each list came from: official (verified), unverified or custom

``ezclip-bench splits make`` draws new seeded few-shot and base-to-novel lists from a full train list by the
originals' rule, in the same layout.

Label mapping rules of a source file (manifest key ``labels``):

- ``index``: labels already index the harness class set (ViFi-CLIP; its HMDB files follow the video file names,
  which is why the harness's HMDB names swap ``kick``/``kick ball`` and ``sword``/``sword exercise`` relative to
  ViFi's label CSVs);
- ``name``: labels index the repo's own class CSV (``class_csv``) and are re-labelled by class name (EZ-CLIP).
  EZ-CLIP's paths are absolute paths on its authors' machines; only the file name is kept (``paths: basename``).

Modules: ``manifest`` (the manifests and the names in official file names), ``verify`` (checking and
importing official files), ``draw`` (new seeded lists). The commands are in ``ezclip.cli``.
"""

from ezclip.splits.draw import draw_splits
from ezclip.splits.manifest import DATASETS, REPOS, class_in_path, class_sets, load_manifest
from ezclip.splits.verify import check_list, import_splits, print_report

__all__ = [
    "DATASETS",
    "REPOS",
    "check_list",
    "class_in_path",
    "class_sets",
    "draw_splits",
    "import_splits",
    "load_manifest",
    "print_report",
]
