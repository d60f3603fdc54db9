import os

import pytest

THREADS = int(os.environ.get("EZCLIP_BENCH_THREADS", "1"))
VITB16 = pytest.mark.skipif(
    not os.environ.get("EZCLIP_BENCH_VITB16"), reason="set EZCLIP_BENCH_VITB16=1 for the ViT-B/16 benchmarks"
)


def pytest_generate_tests(metafunc):
    """A benchmark taking ``arch_size`` runs at (architecture, input size): the mini benchmark's tiny tower
    (``ezclip-mini``) always,
    ViT-B/16 (seconds a call on CPU) when asked."""
    if "arch_size" in metafunc.fixturenames:
        metafunc.parametrize(
            "arch_size",
            [
                pytest.param(("ezclip-mini", 32), id="ezclip-mini"),
                pytest.param(("ViT-B-16", 224), id="ViT-B-16", marks=VITB16),
            ],
        )


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
