# Tests never touch the network, and the stack fixes must run before anything imports open_clip.
import os

os.environ["HF_HUB_OFFLINE"] = "1"

import ezclip  # noqa: E402,F401
