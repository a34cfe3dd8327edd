"""Fixtures shared by the core tests."""
import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small networks run faster on one thread, and the suite shares two cores with itself."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
