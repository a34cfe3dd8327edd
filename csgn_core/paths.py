"""Where the project finds data, caches and bundled resources."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = REPO_ROOT / "resources"


def data_root() -> Path:
    """The motion-capture data folder: $CSGN_DATA, else ../shared/data beside the project."""
    env = os.environ.get("CSGN_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def cache_root() -> Path:
    """Where built datasets go: $CSGN_CACHE, else the user's cache folder."""
    env = os.environ.get("CSGN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("LOCALAPPDATA") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "csgn-studio"


def model_location(name: str | Path) -> Path:
    """A bundled model's folder (``dance``, ``actions``: ``resources/models/NAME``) or the given path.

    Raises CSGNError when it is neither; whether the folder holds a usable model is the loader's
    question.
    """
    from csgn_core.errors import CSGNError

    bundled = RESOURCES / "models" / str(name)
    if bundled.is_dir():
        return bundled
    p = Path(name)
    if p.exists():
        return p
    known = sorted(d.name for d in (RESOURCES / "models").iterdir() if d.is_dir()) if (RESOURCES / "models").is_dir() else []
    raise CSGNError(f"no model {str(name)!r}: not a bundled model ({', '.join(known) or 'none'}) nor a folder")
