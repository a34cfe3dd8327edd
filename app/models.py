"""Which model folder the editor uses."""
from __future__ import annotations

from pathlib import Path

from csgn_core.paths import RESOURCES


def default_model_dir(setting: str | None = None) -> Path:
    """The model folder: the setting (a name under resources/models or a path), else "dance" when
    bundled, else "actions"."""
    models = RESOURCES / "models"
    if setting:
        p = Path(setting)
        if not p.is_absolute() and (models / setting).is_dir():
            return models / setting
        return p
    for name in ("dance", "actions"):
        if (models / name / "model.safetensors").is_file():
            return models / name
    return models / "actions"
