"""Errors a user sees as one clear line."""
from __future__ import annotations

from pathlib import Path


class CSGNError(Exception):
    """Base class for errors that the command line and the editor show as one line, no traceback."""


class MotionFileError(CSGNError, ValueError):
    """A motion file cannot be read: names the file and, where known, the line."""

    def __init__(self, path: str | Path | None, message: str, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")
