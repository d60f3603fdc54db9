# Tests never touch the network, and the stack fixes must run before anything imports open_clip.
import os

os.environ["HF_HUB_OFFLINE"] = "1"

import ezclip  # noqa: E402,F401
from ezclip.numerics import pin_cpu_numerics  # noqa: E402

# the mini benchmark's numerics (one thread, AVX2 code paths), before any test computes anything
pin_cpu_numerics()
