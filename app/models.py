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


def bundled_models() -> list[str]:
    """Names of the model folders under resources/models that hold weights."""
    models = RESOURCES / "models"
    return sorted(p.name for p in models.iterdir() if (p / "model.safetensors").is_file()) if models.is_dir() else []


def model_header(folder: str | Path):
    """(skeleton, fps) a model folder declares, read from its config.json (no torch needed)."""
    import json

    from csgn_core.errors import CSGNError
    from csgn_core.motion.skeleton import Skeleton

    folder = Path(folder)
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))["model"]
        return Skeleton.from_dict(cfg["skeleton"]), float(cfg["fps"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CSGNError(f"{folder}: no readable CSGN model config ({e})") from None


def model_card(folder: str | Path) -> dict[str, str]:
    """The rows of a model's MODEL.md table ("data", "licence", ...) and its title ("title")."""
    text = (Path(folder) / "MODEL.md").read_text(encoding="utf-8")
    card = {}
    for line in text.splitlines():
        if line.startswith("# ") and "title" not in card:
            card["title"] = line[2:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0] and not set(cells[0]) <= set("-: "):
            card[cells[0].lower()] = " | ".join(cells[1:])
    return card
