"""Split manifests (splits/*.json), the importer of official split files and the drawer of new ones.

Placeholder: ``add_commands`` registers the ``splits`` command group of ``ezclip-bench``.
"""


def add_commands(subparsers):
    """Register ``ezclip-bench splits ...``."""
