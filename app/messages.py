"""What the editor and the model worker process say to each other: small typed records.

Both sides import this module (it is Qt-free and imports nothing heavy), so a field added on one
side is a field the other reads. Everything here pickles through a multiprocessing pipe.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    """Editor -> worker: run ``kind`` with ``args`` (a document travels as a pickled Timeline)."""

    id: int
    kind: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ready:
    """Worker -> editor: the model loaded; ``info`` holds fps, skeleton, name and device."""

    info: dict


@dataclass(frozen=True)
class LoadError:
    """Worker -> editor: the model could not be loaded."""

    message: str


@dataclass(frozen=True)
class Progress:
    job: int
    fraction: float
    text: str = ""


@dataclass(frozen=True)
class Result:
    job: int
    value: object


@dataclass(frozen=True)
class JobError:
    """Worker -> editor: a job failed. ``message`` is the one line a user reads; ``details`` the
    traceback for the log and the error dialog's details (empty for the project's own errors)."""

    job: int
    message: str
    details: str = ""
