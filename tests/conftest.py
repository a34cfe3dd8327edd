"""Shared fixtures: the real data in ../shared/data, skipped with a reason where a clone lacks it."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_data(*parts: str) -> Path:
    """The path below ../shared/data, or skip the test when this checkout has no copy of the data."""
    return need(DATA.joinpath(*parts))


def need(path: Path) -> Path:
    """``path`` (somewhere below DATA), or skip the test when this checkout has no copy of the data."""
    if not path.exists():
        pytest.skip(f"real motion data not found at {path} (CI and developer machines have ../shared/data; a plain clone does not)")
    return path


@pytest.fixture
def data_dir() -> Path:
    return require_data()
