"""VMD (MikuMikuDance motion) files: read every section, write them back byte for byte.

The layout (little-endian, packed; see docs/export.md and ../shared/formats/VMD.md):

    char[30] "Vocaloid Motion Data 0002" + NULs     (old files: "Vocaloid Motion Data file")
    char[20] model name                             (old files: 10 bytes)
    u32 n, n x bone key   111 bytes  name[15] frame u32, position 3f, rotation x y z w 4f, interp u8[64]
    u32 n, n x morph key   23 bytes  name[15] frame u32, weight f
    u32 n, n x camera key  61 bytes  frame, distance, position 3f, euler 3f (rad), interp u8[24], fov u32, persp u8
    u32 n, n x light key   28 bytes  frame, rgb 3f, direction 3f
    u32 n, n x shadow key   9 bytes  frame, mode u8, distance f
    u32 n, n x IK key      frame u32, show u8, u32 m, m x (IK bone name[20], enabled u8)

Files may end cleanly after any section (old writers stop after the morphs or the cameras); a file
that ends inside a section, or whose counts promise more than the file holds, is an error. Bytes
after the IK section are kept in ``VmdMotion.trailing`` and written back.

Fixed-size records live in numpy structured arrays whose memory layout is the file's, so reading
is one ``frombuffer`` per section and writing one ``tobytes``: a file read and written again is
identical byte for byte (bone and morph names keep their raw bytes, garbage after the NUL included).

Names are Shift-JIS (cp932), NUL-padded. Writing a name that does not fit its field is an error
(a name cut inside a two-byte character would address no bone in MMD). Values are MMD's own:
left-handed, 1 unit ~ 8 cm, rotations as local quaternions relative to the bind pose in
world-aligned bone frames; ``csgn_core.io.mmd`` converts to and from the project's conventions.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.archive import read_bytes
from csgn_core.io.atomic import write_bytes_atomic

ENCODING = "cp932"
MAGIC_V2 = b"Vocaloid Motion Data 0002"
MAGIC_V1 = b"Vocaloid Motion Data file"
HEADER_BYTES = 30
BONE_NAME_BYTES = 15
MORPH_NAME_BYTES = 15
IK_NAME_BYTES = 20
FPS = 30.0

BONE_DTYPE = np.dtype(
    [("name", "S15"), ("frame", "<u4"), ("position", "<f4", (3,)), ("rotation", "<f4", (4,)), ("interpolation", "u1", (64,))]
)
MORPH_DTYPE = np.dtype([("name", "S15"), ("frame", "<u4"), ("weight", "<f4")])
CAMERA_DTYPE = np.dtype(
    [("frame", "<u4"), ("distance", "<f4"), ("position", "<f4", (3,)), ("rotation", "<f4", (3,)),
     ("interpolation", "u1", (24,)), ("fov", "<u4"), ("perspective", "u1")]
)
LIGHT_DTYPE = np.dtype([("frame", "<u4"), ("color", "<f4", (3,)), ("direction", "<f4", (3,))])
SHADOW_DTYPE = np.dtype([("frame", "<u4"), ("mode", "u1"), ("distance", "<f4")])
assert (BONE_DTYPE.itemsize, MORPH_DTYPE.itemsize, CAMERA_DTYPE.itemsize, LIGHT_DTYPE.itemsize,
        SHADOW_DTYPE.itemsize) == (111, 23, 61, 28, 9)

IK_BONES = ("左足ＩＫ", "右足ＩＫ", "左つま先ＩＫ", "右つま先ＩＫ")


def linear_interpolation() -> np.ndarray:
    """The 64 interpolation bytes of a straight line for all four channels (X, Y, Z, rotation).

    Row 0 holds x1 of X, Y, Z, R, then y1, x2, y2 (control points (20, 20) and (107, 107) on
    MMD's 0..127 grid); row k is row 0 shifted left by k bytes, zero-filled, as MMD writes it.
    """
    row = np.array([20] * 8 + [107] * 8, dtype=np.uint8)
    return np.concatenate([np.concatenate([row[k:], np.zeros(k, np.uint8)]) for k in range(4)])


LINEAR = linear_interpolation()


def bezier_points(interpolation: np.ndarray) -> np.ndarray:
    """(..., 4, 4) control points (x1, y1, x2, y2) on 0..127 for channels X, Y, Z, R of bone keys.

    Channel c reads bytes 16c, 16c+4, 16c+8, 16c+12: row c starts with that channel's x1, which
    avoids the physics flag MMD writes into row 0's bytes 2 and 3.
    """
    interp = np.asarray(interpolation, dtype=np.uint8)
    idx = np.array([[16 * c + 4 * k for k in range(4)] for c in range(4)])
    return interp[..., idx]


@dataclass
class IkKey:
    """One key of the IK / visibility section: frame, model shown, and (IK bone name, enabled) pairs."""

    frame: int
    show: bool = True
    states: list[tuple[str, bool]] = field(default_factory=list)


@dataclass(eq=False)
class VmdMotion:
    """Everything in a VMD file, in MMD's own units and axes.

    bones, morphs, cameras, lights, shadows: structured arrays (BONE_DTYPE ...), one row per key,
    in file order. ik: the IK / visibility keys. version: 2 (20-byte model name) or 1 (10 bytes).
    trailing: bytes after the last section, written back unchanged.
    """

    model_name: str = ""
    bones: np.ndarray = field(default_factory=lambda: np.zeros(0, BONE_DTYPE))
    morphs: np.ndarray = field(default_factory=lambda: np.zeros(0, MORPH_DTYPE))
    cameras: np.ndarray = field(default_factory=lambda: np.zeros(0, CAMERA_DTYPE))
    lights: np.ndarray = field(default_factory=lambda: np.zeros(0, LIGHT_DTYPE))
    shadows: np.ndarray = field(default_factory=lambda: np.zeros(0, SHADOW_DTYPE))
    ik: list[IkKey] = field(default_factory=list)
    version: int = 2
    trailing: bytes = b""
    model_name_raw: bytes | None = None  # the field as read, kept so that a re-write is exact

    # --- building -----------------------------------------------------------------------------
    def add_bone_keys(
        self,
        name: str,
        frames: np.ndarray,
        positions: np.ndarray | None = None,
        rotations: np.ndarray | None = None,
        interpolation: np.ndarray | None = None,
    ) -> None:
        """Append keys for one bone: frames (K,), positions (K, 3), rotations (K, 4) x y z w (MMD axes).

        Missing positions are zero, missing rotations identity, interpolation linear. The name must
        fit 15 bytes of Shift-JIS (CSGNError otherwise).
        """
        raw = encode_name(name, BONE_NAME_BYTES, "bone")
        frames = np.asarray(frames).reshape(-1)
        if frames.size and (frames.min() < 0 or frames.max() > 0xFFFFFFFF):
            raise CSGNError(f"bone {name!r}: frame numbers must lie in 0..4294967295")
        recs = np.zeros(len(frames), BONE_DTYPE)
        recs["name"] = raw
        recs["frame"] = frames
        if positions is not None:
            recs["position"] = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        recs["rotation"] = (0.0, 0.0, 0.0, 1.0) if rotations is None else np.asarray(rotations, dtype=np.float64).reshape(-1, 4)
        recs["interpolation"] = LINEAR if interpolation is None else interpolation
        self.bones = np.concatenate([self.bones, recs])

    def add_morph_keys(self, name: str, frames: np.ndarray, weights: np.ndarray) -> None:
        raw = encode_name(name, MORPH_NAME_BYTES, "morph")
        frames = np.asarray(frames).reshape(-1)
        recs = np.zeros(len(frames), MORPH_DTYPE)
        recs["name"], recs["frame"], recs["weight"] = raw, frames, np.asarray(weights).reshape(-1)
        self.morphs = np.concatenate([self.morphs, recs])

    # --- reading ------------------------------------------------------------------------------
    def bone_names(self) -> list[str]:
        """Distinct bone names in order of first appearance."""
        return _distinct_names(self.bones["name"])

    def morph_names(self) -> list[str]:
        return _distinct_names(self.morphs["name"])

    def bone_tracks(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Every bone's keys by name (see bone_track), names in order of first appearance."""
        if len(self.bones) == 0:
            return {}
        uniq, inverse = np.unique(self.bones["name"], return_inverse=True)
        decoded = [decode_name(u) for u in uniq]
        name_of_row = np.array(decoded, dtype=object)[inverse.reshape(-1)]
        first: dict[str, None] = {}
        for n in name_of_row:
            first.setdefault(n)
        return {name: _track(self.bones[name_of_row == name]) for name in first}

    def bone_track(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One bone's keys sorted by frame: frames (K,), positions (K, 3), rotations (K, 4) x y z w,
        interpolation (K, 64). A frame keyed twice keeps its last key. No keys: empty arrays."""
        return self.bone_tracks().get(name) or _track(self.bones[:0])

    def ik_enabled(self, ik_name: str, frame: int = 0) -> bool:
        """Whether an IK bone is on at a frame: the last IK key at or before it decides (default on)."""
        state = True
        for key in sorted(self.ik, key=lambda k: k.frame):
            if key.frame > frame:
                break
            for n, on in key.states:
                if n == ik_name:
                    state = on
        return state

    @property
    def n_frames(self) -> int:
        """Last keyed bone frame + 1 (0 for no bone keys)."""
        return int(self.bones["frame"].max()) + 1 if len(self.bones) else 0


def _track(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if len(sel):
        sel = sel[np.argsort(sel["frame"], kind="stable")]
        last = np.r_[sel["frame"][1:] != sel["frame"][:-1], True]  # of keys on one frame the last wins
        sel = sel[last]
    return (sel["frame"].astype(np.int64), sel["position"].astype(np.float64),
            sel["rotation"].astype(np.float64), sel["interpolation"].copy())


def decode_name(raw: bytes) -> str:
    """A fixed-size name field as text: up to the first NUL; a lead byte cut off at the end is dropped."""
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode(ENCODING)
    except UnicodeDecodeError:
        return raw.decode(ENCODING, errors="ignore")


def _distinct_names(names: np.ndarray) -> list[str]:
    seen: dict[bytes, None] = {}
    for n in names:
        seen.setdefault(n.split(b"\x00", 1)[0])
    return [decode_name(n) for n in seen]


def encode_name(name: str, size: int, what: str = "name") -> bytes:
    """The Shift-JIS bytes of a name for a field of ``size`` bytes; CSGNError when it does not fit."""
    try:
        raw = name.encode(ENCODING)
    except UnicodeEncodeError as e:
        raise CSGNError(f"{what} name {name!r} has a character Shift-JIS cannot encode ({name[e.start]!r})") from None
    if b"\x00" in raw:
        raise CSGNError(f"{what} name {name!r} contains a NUL character")
    if len(raw) > size:
        raise CSGNError(f"{what} name {name!r} is {len(raw)} bytes in Shift-JIS; VMD allows {size}")
    return raw


# --- reading -------------------------------------------------------------------------------------
class _Cursor:
    def __init__(self, data: bytes, src: str):
        self.data = data
        self.pos = 0
        self.src = src

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def fail(self, message: str, at: int | None = None) -> MotionFileError:
        return MotionFileError(self.src, f"byte {self.pos if at is None else at}: {message}")

    def take(self, n: int, what: str) -> bytes:
        if n > self.left:
            raise self.fail(f"file ends inside {what} ({n} bytes needed, {self.left} left)")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def records(self, dtype: np.dtype, what: str) -> np.ndarray | None:
        """A count and its fixed-size records, or None at a clean end of file."""
        if self.left == 0:
            return None
        at = self.pos
        n = self.u32(f"the {what} count")
        need = n * dtype.itemsize
        if need > self.left:
            raise self.fail(
                f"the {what} count says {n} keys ({need} bytes) but only {self.left} bytes remain", at
            )
        arr = np.frombuffer(self.data, dtype=dtype, count=n, offset=self.pos).copy()
        self.pos += need
        return arr


def read_vmd(path: str | Path) -> VmdMotion:
    """Read a VMD file (also from inside a zip) into a VmdMotion; MotionFileError for a bad file."""
    return parse_vmd(read_bytes(path), source=str(path))


def parse_vmd(data: bytes, *, source: str = "<bytes>") -> VmdMotion:
    """Parse VMD bytes; ``source`` names the file in errors."""
    cur = _Cursor(bytes(data), source)
    if len(data) == 0:
        raise MotionFileError(source, "empty file")
    header = cur.take(HEADER_BYTES, "the header")
    if header.startswith(MAGIC_V2):
        version, name_size = 2, 20
    elif header.startswith(MAGIC_V1):
        version, name_size = 1, 10
    else:
        shown = header.split(b"\x00", 1)[0][:30].decode("latin-1")
        raise MotionFileError(source, f"byte 0: not a VMD file (header {shown!r}, expected 'Vocaloid Motion Data 0002')")
    name_raw = cur.take(name_size, "the model name")
    vmd = VmdMotion(model_name=decode_name(name_raw), version=version, model_name_raw=name_raw)

    sections = (("bones", BONE_DTYPE, "bone key"), ("morphs", MORPH_DTYPE, "morph key"),
                ("cameras", CAMERA_DTYPE, "camera key"), ("lights", LIGHT_DTYPE, "light key"),
                ("shadows", SHADOW_DTYPE, "shadow key"))
    for attr, dtype, what in sections:
        start = cur.pos
        arr = cur.records(dtype, what)
        if arr is None:
            return vmd
        _check_finite(cur, arr, what, start)
        setattr(vmd, attr, arr)
    if cur.left == 0:
        return vmd
    vmd.ik = _read_ik(cur)
    vmd.trailing = cur.data[cur.pos :]
    return vmd


def _check_finite(cur: _Cursor, arr: np.ndarray, what: str, start: int) -> None:
    if len(arr) == 0:
        return
    floats = [n for n in arr.dtype.names if arr.dtype[n].base.kind == "f"]
    for n in floats:
        col = arr[n].reshape(len(arr), -1)
        bad = ~np.isfinite(col).all(axis=1)
        if bad.any():
            i = int(np.nonzero(bad)[0][0])
            at = start + 4 + i * arr.dtype.itemsize + arr.dtype.fields[n][1]
            raise cur.fail(f"{what} {i} has a non-finite {n} (NaN or infinity)", at)


def _read_ik(cur: _Cursor) -> list[IkKey]:
    at = cur.pos
    n = cur.u32("the IK key count")
    if n * 9 > cur.left:  # every key is at least 9 bytes
        raise cur.fail(f"the IK key count says {n} keys but only {cur.left} bytes remain", at)
    keys = []
    for k in range(n):
        frame = cur.u32(f"IK key {k}")
        show = cur.take(1, f"IK key {k}")[0] != 0
        at = cur.pos
        m = cur.u32(f"IK key {k}")
        if m * (IK_NAME_BYTES + 1) > cur.left:
            raise cur.fail(f"IK key {k} lists {m} IK bones but only {cur.left} bytes remain", at)
        states = []
        for _ in range(m):
            name = decode_name(cur.take(IK_NAME_BYTES, f"IK key {k}"))
            states.append((name, cur.take(1, f"IK key {k}")[0] != 0))
        keys.append(IkKey(frame, show, states))
    return keys


# --- writing -------------------------------------------------------------------------------------
def vmd_bytes(vmd: VmdMotion) -> bytes:
    """The file bytes of a VmdMotion (every section written, empty ones as a zero count)."""
    if vmd.version not in (1, 2):
        raise CSGNError(f"VMD version must be 1 or 2, got {vmd.version}")
    magic, name_size = (MAGIC_V2, 20) if vmd.version == 2 else (MAGIC_V1, 10)
    parts = [magic + b"\x00" * (HEADER_BYTES - len(magic))]
    if vmd.model_name_raw is not None and len(vmd.model_name_raw) == name_size and decode_name(vmd.model_name_raw) == vmd.model_name:
        parts.append(vmd.model_name_raw)
    else:
        raw = encode_name(vmd.model_name, name_size, "model")
        parts.append(raw + b"\x00" * (name_size - len(raw)))
    for arr, dtype in ((vmd.bones, BONE_DTYPE), (vmd.morphs, MORPH_DTYPE), (vmd.cameras, CAMERA_DTYPE),
                       (vmd.lights, LIGHT_DTYPE), (vmd.shadows, SHADOW_DTYPE)):
        arr = np.ascontiguousarray(arr, dtype=dtype)
        parts.append(struct.pack("<I", len(arr)))
        parts.append(arr.tobytes())
    parts.append(struct.pack("<I", len(vmd.ik)))
    for key in vmd.ik:
        parts.append(struct.pack("<IBI", int(key.frame), 1 if key.show else 0, len(key.states)))
        for name, on in key.states:
            raw = encode_name(name, IK_NAME_BYTES, "IK bone")
            parts.append(raw + b"\x00" * (IK_NAME_BYTES - len(raw)) + (b"\x01" if on else b"\x00"))
    parts.append(bytes(vmd.trailing))
    return b"".join(parts)


def write_vmd(vmd: VmdMotion, path: str | Path) -> Path:
    """Write a VmdMotion to ``path`` atomically; returns the path."""
    return write_bytes_atomic(Path(path), vmd_bytes(vmd))


def ik_off_key(frame: int = 0, names: tuple[str, ...] = IK_BONES) -> IkKey:
    """An IK key that turns the given IK bones off (MMD's leg IK would override written leg rotations)."""
    return IkKey(frame, True, [(n, False) for n in names])
