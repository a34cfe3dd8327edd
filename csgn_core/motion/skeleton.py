"""Skeletons: joint names, a parent tree in topological order, rest offsets, left/right pairs.

Inside the project every skeleton is in centimetres, y up, right-handed. A joint's rest offset is
its position relative to its parent in the parent's rest frame (the root's offset is zero; root
motion lives in the motion's root track). End sites (BVH leaf markers) are kept so that a BVH
round trip is exact, but they are not joints.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csgn_core.paths import RESOURCES


@dataclass(frozen=True, eq=False)
class Skeleton:
    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root; parents[j] < j
    offsets: np.ndarray  # (J, 3) cm
    lr_pairs: tuple[tuple[int, int], ...] = ()
    end_sites: dict[int, tuple[float, float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "joints", tuple(str(j) for j in self.joints))
        object.__setattr__(self, "parents", tuple(int(p) for p in self.parents))
        offsets = np.asarray(self.offsets, dtype=np.float64).reshape(-1, 3)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "lr_pairs", tuple((int(a), int(b)) for a, b in self.lr_pairs))
        object.__setattr__(
            self, "end_sites", {int(k): tuple(float(x) for x in v) for k, v in self.end_sites.items()}
        )
        n = len(self.joints)
        if n == 0:
            raise ValueError("a skeleton needs at least one joint")
        if len(self.parents) != n or offsets.shape[0] != n:
            raise ValueError(
                f"skeleton {self.name!r}: {n} joints but {len(self.parents)} parents and {offsets.shape[0]} offsets"
            )
        if self.parents[0] != -1 or any(p == -1 for p in self.parents[1:]):
            raise ValueError(f"skeleton {self.name!r}: joint 0 must be the only root")
        for j, p in enumerate(self.parents[1:], start=1):
            if not 0 <= p < j:
                raise ValueError(f"skeleton {self.name!r}: parent of joint {j} ({self.joints[j]}) must come before it")
        if len(set(self.joints)) != n:
            raise ValueError(f"skeleton {self.name!r}: joint names must be unique")

    # --- structure -------------------------------------------------------------------------
    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"skeleton {self.name!r} has no joint {joint!r}") from None

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) pairs, one per non-root joint."""
        return [(p, j) for j, p in enumerate(self.parents) if p >= 0]

    def children(self, j: int) -> list[int]:
        return [c for c, p in enumerate(self.parents) if p == j]

    @property
    def bone_lengths(self) -> np.ndarray:
        """(J,) rest length of the bone ending at each joint (0 for the root)."""
        return np.linalg.norm(self.offsets, axis=-1)

    def adjacency(self) -> np.ndarray:
        """(J, J) symmetric 0/1 adjacency of the bone graph."""
        a = np.zeros((self.n_joints, self.n_joints), dtype=np.float32)
        for p, c in self.bones:
            a[p, c] = a[c, p] = 1.0
        return a

    def mirror_map(self) -> np.ndarray:
        """(J,) index of each joint's left/right counterpart (itself when unpaired)."""
        m = np.arange(self.n_joints)
        for a, b in self.lr_pairs:
            m[a], m[b] = b, a
        return m

    def side(self) -> np.ndarray:
        """(J,) -1 for left joints, +1 for right joints, 0 for the centre line."""
        s = np.zeros(self.n_joints, dtype=np.int8)
        for left, right in self.lr_pairs:
            s[left], s[right] = -1, 1
        return s

    def rest_positions(self) -> np.ndarray:
        """(J, 3) global joint positions of the rest pose with the root at the origin."""
        pos = np.zeros((self.n_joints, 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.offsets[j]
        return pos

    def with_offsets(self, offsets: np.ndarray, name: str | None = None) -> "Skeleton":
        return Skeleton(
            name or self.name, self.joints, self.parents, np.asarray(offsets), self.lr_pairs, self.end_sites
        )

    def same_topology(self, other: "Skeleton") -> bool:
        return self.joints == other.joints and self.parents == other.parents

    # --- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "joints": list(self.joints),
            "parents": list(self.parents),
            "offsets": self.offsets.round(6).tolist(),
            "lr_pairs": [list(p) for p in self.lr_pairs],
            "end_sites": {str(k): list(v) for k, v in self.end_sites.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Skeleton":
        joints = d["joints"]
        parents = d["parents"]
        # Parents may be given by name, which keeps hand-written definitions readable.
        parents = [p if isinstance(p, int) else (-1 if p is None else joints.index(p)) for p in parents]
        pairs = [[joints.index(x) if isinstance(x, str) else x for x in pair] for pair in d.get("lr_pairs", [])]
        return cls(
            name=d.get("name", "custom"),
            joints=joints,
            parents=parents,
            offsets=np.asarray(d["offsets"], dtype=np.float64),
            lr_pairs=pairs,
            end_sites={int(k): v for k, v in d.get("end_sites", {}).items()},
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Skeleton":
        return cls.from_dict(json.loads(text))



def skeleton_dir() -> Path:
    return RESOURCES / "skeletons"


def named_skeletons() -> list[str]:
    return sorted(p.stem for p in skeleton_dir().glob("*.json"))


def load_named(name: str) -> Skeleton:
    """A bundled skeleton definition from resources/skeletons/NAME.json."""
    path = skeleton_dir() / f"{name}.json"
    if not path.is_file():
        known = ", ".join(named_skeletons()) or "none"
        raise KeyError(f"unknown skeleton {name!r} (known: {known})")
    d = json.loads(path.read_text(encoding="utf-8"))
    d.setdefault("name", name)
    return Skeleton.from_dict(d)
