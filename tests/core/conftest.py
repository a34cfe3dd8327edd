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


@pytest.fixture(scope="session")
def tang_subset(tmp_path_factory):
    """``tang_subset(limit)`` -> (Dataset, saved .npz path) of the first ``limit`` real Tang dances,
    built once per session and limit (skips when the data is absent)."""
    from csgn_core.io.datasets import build_dataset
    from tests.conftest import require_data

    built = {}

    def get(limit: int):
        if limit not in built:
            require_data("tang2018-dance", "dances.zip")
            ds = build_dataset("tang-dance", limit=limit)
            path = tmp_path_factory.mktemp(f"tang{limit}") / "tang-dance.npz"
            ds.save(path)
            built[limit] = (ds, path)
        return built[limit]

    return get


@pytest.fixture(scope="module")
def dance_held_out():
    """(the bundled dance model, four held-out dances on it): skips without the model or the data."""
    from pathlib import Path

    from csgn_core.editing.completion import conform
    from csgn_core.evaluation.infill import _held_out
    from csgn_core.model.inference import load_model
    from tests.conftest import require_data

    folder = Path(__file__).resolve().parents[2] / "resources" / "models" / "dance"
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"bundled model missing at {folder}")
    require_data()
    model = load_model(folder)
    return model, [conform(c, model) for c in _held_out("tang-dance", 4)]
