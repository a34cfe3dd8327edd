"""Reading files in place, including members of zip archives.

A path may run through a zip archive: ``data/bvh.zip/cmu-iclone/002_03.bvh`` names the member
``cmu-iclone/002_03.bvh`` of ``data/bvh.zip``. Datasets are read this way, never extracted into the
repository.
"""
from __future__ import annotations

import fnmatch
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from csgn_core.errors import MotionFileError

MAX_FILE_BYTES = 2 * 1024**3  # refuse absurd sizes before reading them into memory


def split_archive_path(path: str | Path) -> tuple[Path, str | None]:
    """Split ``a/b.zip/c/d.bvh`` into (``a/b.zip``, ``c/d.bvh``); plain paths give (path, None)."""
    p = Path(path)
    if p.exists():
        return p, None
    parts = p.parts
    for i in range(len(parts) - 1, 0, -1):
        head = Path(*parts[:i])
        if head.suffix.lower() == ".zip" and head.is_file():
            return head, str(PurePosixPath(*parts[i:]))
    return p, None


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file or of a zip member; MotionFileError when missing or absurdly large."""
    archive, member = split_archive_path(path)
    if member is None:
        if not archive.is_file():
            raise MotionFileError(path, "no such file")
        size = archive.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MotionFileError(path, f"file is {size / 1e9:.1f} GB, larger than the 2 GB limit")
        return archive.read_bytes()
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(member)
            if info.file_size > MAX_FILE_BYTES:
                raise MotionFileError(path, f"member is {info.file_size / 1e9:.1f} GB, larger than the 2 GB limit")
            return zf.read(info)
    except KeyError:
        raise MotionFileError(path, f"archive {archive.name} has no member {member}") from None
    except zipfile.BadZipFile as e:
        raise MotionFileError(archive, f"not a readable zip archive ({e})") from None


def read_text(path: str | Path) -> str:
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old exporters write Latin-1 or Shift-JIS names; numbers and keywords are ASCII either way.
        return data.decode("latin-1")


def zip_member_names(archive: str | Path) -> list[str]:
    """The file members of a zip archive, sorted; MotionFileError when the zip cannot be read."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        raise MotionFileError(archive, f"not a readable zip archive ({e})") from None
    return sorted(n for n in names if not n.endswith("/"))


def iter_files(root: str | Path, pattern: str) -> Iterator[Path]:
    """Paths matching a glob-style pattern below a folder or inside a zip archive, sorted.

    For an archive the yielded paths run through it (``x.zip/member``) and can be passed to read_bytes.
    """
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".zip":
        for n in zip_member_names(root):
            if fnmatch.fnmatch(n, pattern):
                yield root / n
    else:
        yield from sorted(p for p in root.glob(pattern) if p.is_file())


def archive_members(archive: str | Path, suffixes: tuple[str, ...]) -> list[str]:
    """Members of a zip whose names end with one of ``suffixes`` (case-insensitive); for a browser
    that lets the user pick one."""
    ends = tuple(x.lower() for x in suffixes)
    return [n for n in zip_member_names(archive) if n.lower().endswith(ends)]
