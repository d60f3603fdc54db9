import os

import pytest

THREADS = int(os.environ.get("EZCLIP_BENCH_THREADS", "1"))


@pytest.fixture(autouse=True)
def torch_threads():
    """One torch thread unless ``EZCLIP_BENCH_THREADS`` says otherwise (0: torch's default, all cores):
    on a shared CPU, OpenMP threads waiting for descheduled partners cost every parallel operator a
    scheduler slice (a tiny forward took 216 ms with 2 threads and 2.7 ms with 1 on a busy 2-core box)."""
    import torch

    before = torch.get_num_threads()
    if THREADS:
        torch.set_num_threads(THREADS)
    yield torch.get_num_threads()
    torch.set_num_threads(before)
