"""Shared fixtures: the real data ($CSGN_DATA, else ../shared/data), skipped with a reason where a clone
lacks it."""
from __future__ import annotations

from pathlib import Path

import pytest

from csgn_core.paths import data_root

DATA = data_root()  # the same rule the product follows (README: CSGN_DATA works everywhere)


def require_data(*parts: str) -> Path:
    """The path below ../shared/data, or skip the test when this checkout has no copy of the data."""
    return need(DATA.joinpath(*parts))


def need(path: Path) -> Path:
    """``path`` (somewhere below DATA), or skip the test when this checkout has no copy of the data."""
    if not path.exists():
        pytest.skip(f"real motion data not found at {path} (CI and developer machines have ../shared/data; a plain "
                    "clone does not: set CSGN_DATA to a copy)")
    return path


@pytest.fixture
def data_dir() -> Path:
    return require_data()
