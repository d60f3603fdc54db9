# Tests never touch the network, and the stack fixes must run before anything imports open_clip.
import os

os.environ["HF_HUB_OFFLINE"] = "1"
# the official split files, read-only beside the project (tests that need them skip without them)
os.environ.setdefault(
    "EZCLIP_SHARED_REFERENCE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared", "reference")
)

import ezclip  # noqa: F401
from ezclip.numerics import pin_cpu_numerics

# the mini benchmark's numerics (one thread, AVX2 code paths), before any test computes anything
pin_cpu_numerics()


def pytest_configure(config):
    """The libraries' known-harmless warnings, filtered where the package filters them
    (``ezclip._compat.HARMLESS_WARNINGS``): pytest resets the filters around each test."""
    import re

    from ezclip._compat import HARMLESS_WARNINGS

    for message in HARMLESS_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:.*{re.escape(message)}")
